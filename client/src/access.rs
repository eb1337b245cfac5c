//! Tenant reads used to explain access problems (`doctor`,
//! `diagnose_access`): the shapes of upstream answers that other calls fold
//! together are kept apart here.

use serde_json::Value;

use super::client::KsClient;
use super::error::{KsError, KsResult};
use super::models::{ClusterObject, DevOpsProject, List};
use super::path::{ApiPath, Cluster, gv, validate_label};

/// What `DV3/workspaces/{ws}/namespaces` answered on one cluster (§3.3,
/// `ks-devops:pkg/models/devops/devops.go` ListDevOpsProject).
#[derive(Clone, Debug)]
pub enum ProjectListing {
    /// The body was `null`: no DevOpsProject carries the workspace label on
    /// this cluster.
    NoneLabelled,
    /// `{"items":null,"totalItems":0}`: DevOpsProjects labelled for the
    /// workspace exist, but none passed the per-project access check (the
    /// namespace's workspace label is missing or different, or the user has
    /// no role that reaches them).
    AllHidden,
    /// The projects this user may see (never empty).
    Visible(Vec<DevOpsProject>),
}

/// A cluster as the tenant API describes it.
#[derive(Clone, Debug, Default)]
pub struct ClusterSummary {
    pub name: String,
    /// `status.kubeSphereVersion`, when KubeSphere says it.
    pub kubesphere_version: Option<String>,
    /// `status.kubernetesVersion`.
    pub kubernetes_version: Option<String>,
    /// The `Ready` condition is `True` (None when no condition is shown).
    pub ready: Option<bool>,
}

impl ClusterSummary {
    fn from_object(c: ClusterObject) -> ClusterSummary {
        let ready = c
            .status
            .conditions
            .iter()
            .find(|k| k.type_ == "Ready")
            .map(|k| k.status == "True");
        ClusterSummary {
            name: c.metadata.name,
            kubesphere_version: c.status.kube_sphere_version,
            kubernetes_version: c.status.kubernetes_version,
            ready,
        }
    }
}

/// Whether an error is a routing 404 (no such route: the API group is not
/// served), as opposed to a handler's "object not found".
pub fn is_missing_route(e: &KsError) -> bool {
    match e {
        KsError::NotFound { message, .. } => {
            let m = message.trim().to_ascii_lowercase();
            m == "404: page not found" || m == "404 page not found" || m.starts_with("http 404 with")
        }
        _ => false,
    }
}

impl KsClient {
    /// `GET DV3/workspaces/{ws}/namespaces` on one cluster, keeping the
    /// `null` and `items: null` answers apart.
    pub async fn devops_project_listing(&self, cluster: &Cluster, workspace: &str) -> KsResult<ProjectListing> {
        validate_label("workspace name", workspace)?;
        let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
            .lit("workspaces")
            .seg(workspace)
            .lit("namespaces");
        let list: Option<List<DevOpsProject>> = self.get_json(cluster, &path, &[]).await?;
        Ok(match list {
            None => ProjectListing::NoneLabelled,
            Some(l) => match l.items {
                Some(items) if !items.is_empty() => ProjectListing::Visible(items),
                _ => ProjectListing::AllHidden,
            },
        })
    }

    /// The clusters the workspace is placed on (U6), with their versions.
    pub async fn workspace_cluster_summaries(&self, workspace: &str) -> KsResult<Vec<ClusterSummary>> {
        let list = self.list_workspace_clusters(workspace).await?;
        Ok(list.into_iter().map(ClusterSummary::from_object).collect())
    }

    /// The clusters the user was granted (U6, `TN/clusters`), with their
    /// versions.
    pub async fn granted_cluster_summaries(&self) -> KsResult<Vec<ClusterSummary>> {
        let list = self.list_clusters(false).await?;
        Ok(list.into_iter().map(ClusterSummary::from_object).collect())
    }

    /// `GET GO1/clusters`: the Argo CD destination clusters; answers at all
    /// only when the GitOps API is installed.
    pub async fn gitops_destinations(&self) -> KsResult<Vec<String>> {
        let path = ApiPath::kapi(gv::GITOPS_V1ALPHA1).lit("clusters");
        let v: Value = self.get_json(&Cluster::Host, &path, &[]).await?;
        let items = match &v {
            Value::Array(a) => a.clone(),
            other => other
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        };
        Ok(items
            .iter()
            .filter_map(|c| {
                c.get("name")
                    .or_else(|| c.pointer("/metadata/name"))
                    .or_else(|| c.get("server"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_404_is_told_apart_from_object_404() {
        let nf = |m: &str| KsError::NotFound {
            path: "/x".into(),
            message: m.into(),
        };
        assert!(is_missing_route(&nf("404: Page Not Found")));
        assert!(is_missing_route(&nf("404 page not found")));
        assert!(!is_missing_route(&nf(
            "devopsprojects.devops.kubesphere.io \"x\" not found"
        )));
    }

    #[test]
    fn cluster_summary_reads_versions_and_readiness() {
        let v = serde_json::json!({"metadata":{"name":"host"},"status":{"kubeSphereVersion":"v4.1.3","kubernetesVersion":"v1.30.4","conditions":[{"type":"Ready","status":"True"}]}});
        let c = ClusterSummary::from_object(serde_json::from_value(v).unwrap());
        assert_eq!(c.name, "host");
        assert_eq!(c.kubesphere_version.as_deref(), Some("v4.1.3"));
        assert_eq!(c.ready, Some(true));
        let bare = ClusterSummary::from_object(serde_json::from_value(serde_json::json!({"status":{}})).unwrap());
        assert_eq!(bare.ready, None);
    }
}
