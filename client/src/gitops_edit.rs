//! Changing a GitOps Application in place and the per-project summary
//! (`PUT GO1/namespaces/{ns}/applications/{a}`,
//! `GET GO1/namespaces/{ns}/application-summary`, §11, §16.1).
//!
//! The update works on the application's whole JSON, so fields this client
//! does not model (Helm or Kustomize sources, ignore rules, retry
//! policies, annotations) are written back unchanged.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::client::KsClient;
use crate::error::{KsError, KsResult};
use crate::gitops::application_path;
use crate::path::{Cluster, validate_label};

/// `GET .../application-summary`: counts by the health and sync labels
/// (applications without a label are not counted in that map).
/// upstream: ks-devops pkg/kapis/gitops/v1alpha1/argocd/handler.go:61-91.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationsSummary {
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub health_status: BTreeMap<String, u64>,
    #[serde(default)]
    pub sync_status: BTreeMap<String, u64>,
}

impl KsClient {
    /// `GET GO1/namespaces/{ns}/applications/{a}` as raw JSON (for a
    /// read-merge-write that keeps every field).
    pub async fn get_application_json(&self, cluster: &Cluster, namespace: &str, name: &str) -> KsResult<Value> {
        let v: Value = self.get_json(cluster, &application_path(namespace, name)?, &[]).await?;
        if !v.is_object() {
            return Err(KsError::InvalidResponse {
                path: application_path(namespace, name)?.for_cluster(cluster),
                reason: "the application is not a JSON object".into(),
            });
        }
        Ok(v)
    }

    /// `PUT GO1/namespaces/{ns}/applications/{a}` with the whole object.
    /// Upstream copies the stored resourceVersion over the body's
    /// (`gitops/handler.go:118-137`), so a 409 only comes from a write
    /// racing inside the handler. Never retried.
    pub async fn update_application_json(
        &self,
        cluster: &Cluster,
        namespace: &str,
        name: &str,
        body: &Value,
    ) -> KsResult<Value> {
        let path = application_path(namespace, name)?;
        self.send_json(Method::PUT, cluster, &path, &[], body).await
    }

    /// `GET GO1/namespaces/{ns}/application-summary`.
    pub async fn application_summary(&self, cluster: &Cluster, namespace: &str) -> KsResult<ApplicationsSummary> {
        validate_label("project (namespace) name", namespace)?;
        let path = crate::path::ApiPath::kapi(crate::path::gv::GITOPS_V1ALPHA1)
            .lit("namespaces")
            .seg(namespace)
            .lit("application-summary");
        let s: Option<ApplicationsSummary> = self.get_json(cluster, &path, &[]).await?;
        Ok(s.unwrap_or_default())
    }
}
