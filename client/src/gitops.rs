//! GitOps Applications (`gitops.kubesphere.io/v1alpha1`, Argo CD engine)
//! through `GO1/namespaces/{ns}/applications` (API reference §11).
//!
//! Health and sync come from labels the controller copies out of the Argo
//! CD status; the full Argo status is a JSON *string* in
//! `status.argoApp`, parsed by [`Application::argo_status`].

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::client::{Body, KsClient};
use super::error::KsResult;
use super::models::{List, ObjectMeta, Page};
use super::path::{ApiPath, Cluster, gv, validate_label, validate_subdomain};

/// Label and annotation keys of Applications.
pub mod app_keys {
    pub const SYNC_STATUS: &str = "gitops.kubesphere.io/sync-status";
    pub const HEALTH_STATUS: &str = "gitops.kubesphere.io/health-status";
    pub const ARGO_APPLICATION: &str = "gitops.kubesphere.io/argocd-application";
    pub const ARGO_LOCATION: &str = "gitops.kubesphere.io/argocd-location";
    pub const IMAGES: &str = "gitops.kubesphere.io/images";
}

/// The Argo CD destination meaning "the cluster this Argo CD runs in":
/// the cluster the API path routes to.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";

/// `gitops.kubesphere.io/v1alpha1` Application.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Application {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ApplicationSpec,
    #[serde(default, skip_serializing)]
    pub status: ApplicationStatus,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argo_app: Option<ArgoApp>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ArgoApp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ArgoAppSpec>,
    /// Set while an operation (sync) is pending; cleared when it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgoAppSpec {
    /// Overwritten by the controller with the Application's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ArgoSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<ArgoDestination>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<ArgoSyncPolicy>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgoSource {
    #[serde(default, rename = "repoURL")]
    pub repo_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ArgoDestination {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgoSyncPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<ArgoAutomated>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgoAutomated {
    #[serde(default)]
    pub prune: bool,
    #[serde(default)]
    pub self_heal: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationStatus {
    /// The Argo CD Application `.status`, marshalled to a string.
    #[serde(default)]
    pub argo_app: Option<String>,
}

/// The parts of the Argo CD Application status this server reports.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgoStatus {
    #[serde(default)]
    pub sync: Option<ArgoSyncStatus>,
    #[serde(default)]
    pub health: Option<ArgoHealth>,
    #[serde(default)]
    pub resources: Vec<ArgoResource>,
    #[serde(default)]
    pub summary: Option<ArgoSummary>,
    #[serde(default)]
    pub operation_state: Option<ArgoOperationState>,
    #[serde(default)]
    pub reconciled_at: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ArgoSyncStatus {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub revision: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ArgoHealth {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ArgoResource {
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub health: Option<ArgoHealth>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ArgoSummary {
    #[serde(default)]
    pub images: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgoOperationState {
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub sync_result: Option<ArgoSyncResult>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ArgoSyncResult {
    #[serde(default)]
    pub revision: Option<String>,
}

impl Application {
    fn label(&self, key: &str) -> Option<&str> {
        self.metadata
            .labels
            .get(key)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// `gitops.kubesphere.io/sync-status` (Synced, OutOfSync, Unknown).
    pub fn sync_label(&self) -> Option<&str> {
        self.label(app_keys::SYNC_STATUS)
    }

    /// `gitops.kubesphere.io/health-status` (Healthy, Progressing,
    /// Degraded, Suspended, Missing, Unknown).
    pub fn health_label(&self) -> Option<&str> {
        self.label(app_keys::HEALTH_STATUS)
    }

    pub fn argo_spec(&self) -> Option<&ArgoAppSpec> {
        self.spec.argo_app.as_ref().and_then(|a| a.spec.as_ref())
    }

    /// Whether a sync requested through KubeSphere (`/sync`) is pending:
    /// `spec.argoApp.operation` is set only by that route (U16).
    pub fn operation_pending(&self) -> bool {
        self.spec
            .argo_app
            .as_ref()
            .and_then(|a| a.operation.as_ref())
            .is_some_and(|o| !o.is_null())
    }

    /// Whether any sync is under way: a pending `/sync` request, or an
    /// operation Argo CD reports running, which is the only trace of an
    /// automated sync (it never sets `spec.argoApp.operation`, U16).
    pub fn sync_in_progress(&self) -> bool {
        self.operation_pending()
            || self.argo_status().ok().flatten().is_some_and(|s| {
                s.operation_state
                    .as_ref()
                    .and_then(|o| o.phase.as_deref())
                    .is_some_and(|p| matches!(p, "Running" | "Terminating"))
            })
    }

    /// Images from the controller's annotation (comma-separated).
    pub fn images_annotation(&self) -> Vec<String> {
        self.metadata
            .annotation(app_keys::IMAGES)
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The Argo CD status parsed out of its string; `Ok(None)` when the
    /// controller has not written one yet, `Err` with the parse error.
    pub fn argo_status(&self) -> Result<Option<ArgoStatus>, String> {
        match self.status.argo_app.as_deref().map(str::trim) {
            None | Some("") | Some("null") => Ok(None),
            Some(s) => serde_json::from_str(s)
                .map(Some)
                .map_err(|e| format!("status.argoApp is not the Argo CD status JSON: {e}")),
        }
    }
}

/// Body of `POST .../applications/{app}/sync` (all optional upstream).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    pub prune: bool,
    pub dry_run: bool,
}

fn applications_path(namespace: &str) -> KsResult<ApiPath> {
    validate_label("project (namespace) name", namespace)?;
    Ok(ApiPath::kapi(gv::GITOPS_V1ALPHA1)
        .lit("namespaces")
        .seg(namespace)
        .lit("applications"))
}

pub(crate) fn application_path(namespace: &str, name: &str) -> KsResult<ApiPath> {
    validate_subdomain("application name", name)?;
    Ok(applications_path(namespace)?.seg(name))
}

impl KsClient {
    /// `GET GO1/namespaces/{ns}/applications` (`syncStatus`/`healthStatus`
    /// go in `query.extra`).
    pub async fn list_applications(
        &self,
        cluster: &Cluster,
        namespace: &str,
        query: &super::ListQuery,
    ) -> KsResult<Page<Application>> {
        let path = applications_path(namespace)?;
        let list: Option<List<Application>> = self.get_json(cluster, &path, &query.params()).await?;
        Ok(Page::from_list(list))
    }

    /// `GET GO1/namespaces/{ns}/applications/{app}`.
    pub async fn get_application(&self, cluster: &Cluster, namespace: &str, name: &str) -> KsResult<Application> {
        let path = application_path(namespace, name)?;
        self.get_json(cluster, &path, &[]).await
    }

    /// `POST GO1/namespaces/{ns}/applications`. Never retried.
    pub async fn create_application(
        &self,
        cluster: &Cluster,
        namespace: &str,
        app: &Application,
    ) -> KsResult<Application> {
        let path = applications_path(namespace)?;
        validate_subdomain("application name", &app.metadata.name)?;
        let mut body = serde_json::to_value(app).map_err(|e| super::KsError::Invalid(e.to_string()))?;
        if let Some(o) = body.as_object_mut() {
            o.insert("apiVersion".into(), "gitops.kubesphere.io/v1alpha1".into());
            o.insert("kind".into(), "Application".into());
        }
        self.send_json(Method::POST, cluster, &path, &[], &body).await
    }

    /// `POST GO1/namespaces/{ns}/applications/{app}/sync`. The answer may
    /// be `null` upstream, so it is not returned: read the application.
    pub async fn sync_application(
        &self,
        cluster: &Cluster,
        namespace: &str,
        name: &str,
        request: &SyncRequest,
    ) -> KsResult<()> {
        let path = application_path(namespace, name)?.lit("sync");
        let _: Option<serde_json::Value> = self.send_json(Method::POST, cluster, &path, &[], request).await?;
        Ok(())
    }

    /// `DELETE GO1/namespaces/{ns}/applications/{app}?cascade=`; with
    /// `cascade` Argo CD also deletes what the application deployed.
    pub async fn delete_application(
        &self,
        cluster: &Cluster,
        namespace: &str,
        name: &str,
        cascade: bool,
    ) -> KsResult<()> {
        let path = application_path(namespace, name)?;
        self.execute(
            Method::DELETE,
            cluster,
            &path,
            &[("cascade", cascade.to_string())],
            Body::None,
            "application/json",
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_upstream_shape() {
        let v = serde_json::json!({
            "metadata": {"name": "guestbook", "labels": {
                "gitops.kubesphere.io/health-status": "Healthy", "gitops.kubesphere.io/sync-status": "Synced"},
                "annotations": {"gitops.kubesphere.io/images": "a:1,b:2"}},
            "spec": {"kind": "argocd", "argoApp": {"spec": {"project": "ns",
                "source": {"repoURL": "https://g/x", "targetRevision": "HEAD", "path": "guestbook"},
                "destination": {"server": IN_CLUSTER_SERVER, "namespace": "ns"},
                "syncPolicy": {"automated": {"prune": true, "selfHeal": true}, "syncOptions": ["CreateNamespace=true"]}},
                "operation": null}},
            "status": {"argoApp": "{\"sync\":{\"status\":\"Synced\",\"revision\":\"f946\"},\"health\":{\"status\":\"Healthy\"},\"resources\":[{\"kind\":\"Service\",\"name\":\"s\",\"status\":\"Synced\",\"health\":{\"status\":\"Healthy\"}}],\"summary\":{\"images\":[\"a:1\"]},\"operationState\":{\"phase\":\"Succeeded\",\"message\":\"ok\"}}"}
        });
        let a: Application = serde_json::from_value(v).unwrap();
        assert_eq!(a.sync_label(), Some("Synced"));
        assert_eq!(a.health_label(), Some("Healthy"));
        assert!(!a.operation_pending());
        assert_eq!(a.images_annotation(), ["a:1", "b:2"]);
        let s = a.argo_status().unwrap().unwrap();
        assert_eq!(s.sync.unwrap().revision.as_deref(), Some("f946"));
        assert_eq!(s.resources[0].kind, "Service");
        assert_eq!(s.operation_state.unwrap().phase.as_deref(), Some("Succeeded"));
        let spec = a.argo_spec().unwrap();
        assert!(spec.sync_policy.as_ref().unwrap().automated.as_ref().unwrap().self_heal);
        // Serialising for a create keeps upstream field names and drops status.
        let out = serde_json::to_value(&a).unwrap();
        assert_eq!(out["spec"]["argoApp"]["spec"]["source"]["repoURL"], "https://g/x");
        assert_eq!(
            out["spec"]["argoApp"]["spec"]["syncPolicy"]["automated"]["selfHeal"],
            true
        );
        assert!(out.get("status").is_none());
    }

    #[test]
    fn missing_or_bad_status() {
        let a = Application::default();
        assert!(a.argo_status().unwrap().is_none());
        let mut b = Application::default();
        b.status.argo_app = Some("{not json".into());
        assert!(b.argo_status().is_err());
    }
}
