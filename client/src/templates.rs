//! Pipeline templates (§16.1): `GET DV3/namespaces/{ns}/templates`,
//! `GET DV3/clustertemplates`, `POST …/{t}/render`.
//!
//! Upstream renders Go `text/template` with `$(` `)` delimiters over
//! `{"params": {name: value}}` and neither checks required parameters nor
//! applies declared defaults (ks-devops
//! `pkg/kapis/devops/v1alpha3/template/render.go`): a missing value renders
//! as `<no value>`. Callers fill defaults and check required ones first.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::KsClient;
use crate::error::{KsError, KsResult};
use crate::models::{List, ObjectMeta};
use crate::path::{ApiPath, Cluster, gv, validate_label, validate_subdomain};

/// Where the render result is written on the returned template.
pub const RENDER_RESULT_ANNOTATION: &str = "devops.kubesphere.io/render-result";

/// A `Template` (one DevOps project) or `ClusterTemplate` (every project).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PipelineTemplate {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: TemplateSpec,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct TemplateSpec {
    #[serde(default)]
    pub parameters: Vec<TemplateParameter>,
    #[serde(default)]
    pub template: String,
}

/// upstream: ks-devops `pkg/api/devops/v1alpha3/template_types.go` `TemplateParameter`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct TemplateParameter {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub required: bool,
    /// Any JSON value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl PipelineTemplate {
    /// English display name, else the name.
    pub fn display(&self) -> String {
        self.metadata
            .annotation("devops.kubesphere.io/displayNameEN")
            .unwrap_or(&self.metadata.name)
            .to_string()
    }

    pub fn description(&self) -> Option<&str> {
        self.metadata.annotation("devops.kubesphere.io/descriptionEN")
    }
}

/// Which kind of template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateScope {
    /// A `Template` of this DevOps project.
    Project(String),
    /// A `ClusterTemplate`.
    Cluster,
}

impl KsClient {
    /// `GET DV3/namespaces/{ns}/templates`.
    pub async fn project_templates(&self, cluster: &Cluster, namespace: &str) -> KsResult<Vec<PipelineTemplate>> {
        validate_label("project (namespace) name", namespace)?;
        let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
            .lit("namespaces")
            .seg(namespace)
            .lit("templates");
        let list: Option<List<PipelineTemplate>> = self.get_json(cluster, &path, &[]).await?;
        Ok(list.and_then(|l| l.items).unwrap_or_default())
    }

    /// `POST …/{template}/render`: the rendered text. Changes nothing;
    /// sent once.
    pub async fn render_template(
        &self,
        cluster: &Cluster,
        scope: &TemplateScope,
        name: &str,
        values: &[(String, Value)],
    ) -> KsResult<String> {
        validate_subdomain("template name", name)?;
        let path = match scope {
            TemplateScope::Project(ns) => {
                validate_label("project (namespace) name", ns)?;
                ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
                    .lit("namespaces")
                    .seg(ns)
                    .lit("templates")
                    .seg(name)
                    .lit("render")
            }
            TemplateScope::Cluster => ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
                .lit("clustertemplates")
                .seg(name)
                .lit("render"),
        };
        let body = serde_json::json!({
            "parameters": values.iter().map(|(n, v)| serde_json::json!({"name": n, "value": v})).collect::<Vec<_>>(),
        });
        let r = self
            .execute(
                Method::POST,
                cluster,
                &path,
                &[],
                crate::client::Body::Json(&body),
                "application/json",
            )
            .await?;
        let t: Option<PipelineTemplate> = self.decode(r, &path.for_cluster(cluster), false, &[]).await?;
        t.and_then(|t| t.metadata.annotations.get(RENDER_RESULT_ANNOTATION).cloned())
            .ok_or_else(|| KsError::InvalidResponse {
                path: path.for_cluster(cluster),
                reason: format!("the answer has no {RENDER_RESULT_ANNOTATION} annotation"),
            })
    }
}
