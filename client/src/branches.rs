//! Branch lists of a multi-branch pipeline, fresh after a scan (U10).
//!
//! The v1alpha3 list (`DV3/.../pipelines/{p}/branches`) is read from the
//! Pipeline's `jenkins-branches` annotation, which a controller refreshes
//! on a 10 s requeue: right after a scan (or a build) it can miss a branch
//! or show an old latest run. The v1alpha2 list
//! (`DV2/.../pipelines/{p}/branches`) asks Jenkins (Blue Ocean) live.

use serde::Deserialize;

use super::client::KsClient;
use super::error::{KsError, KsResult};
use super::models::{BlueRun, Branch};
use super::path::{ApiPath, Cluster, gv, validate_label, validate_subdomain};

/// How many branches one live read asks for: what ks-devops' own metadata
/// controller asks Blue Ocean for (`pipeline_metadata_controller.go`).
const LIVE_LIMIT: u32 = 100_000;

/// One item of the live list, as ks-devops re-encodes it
/// (`devops.PipelineBranchItem`): `latestRun` and `pullRequest` are always
/// present, as near-empty objects when Jenkins had none.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LiveBranch {
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    latest_run: Option<BlueRun>,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

impl LiveBranch {
    fn into_branch(self) -> Branch {
        let pull_request = self
            .pull_request
            .filter(|p| p.get("id").and_then(|id| id.as_str()).is_some_and(|id| !id.is_empty()));
        let latest_run = self
            .latest_run
            .filter(|r| r.id.as_deref().is_some_and(|id| !id.is_empty()));
        Branch {
            name: self.name,
            raw_name: self.display_name.filter(|d| !d.is_empty()),
            disabled: self.disabled,
            latest_run,
            pull_request,
        }
    }
}

/// Where a branch list came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BranchSource {
    /// Jenkins, live (v1alpha2).
    Live,
    /// KubeSphere's copy (v1alpha3 annotation), which lags a scan by up to
    /// about 10 s.
    Cached,
}

/// A whole branch list and where it came from.
#[derive(Debug)]
pub struct BranchList {
    pub items: Vec<Branch>,
    pub source: BranchSource,
    /// Why the live list was not used (an error kind), when it was not.
    pub live_error: Option<&'static str>,
}

impl KsClient {
    /// `GET DV2/namespaces/{ns}/pipelines/{p}/branches?filter=origin&start=0&limit=N`:
    /// the branches Jenkins knows now (a bare JSON array).
    pub async fn list_branches_live(
        &self,
        cluster: &Cluster,
        namespace: &str,
        pipeline: &str,
        include_pull_requests: bool,
    ) -> KsResult<Vec<Branch>> {
        validate_label("project (namespace) name", namespace)?;
        validate_subdomain("pipeline name", pipeline)?;
        let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA2)
            .lit("namespaces")
            .seg(namespace)
            .lit("pipelines")
            .seg(pipeline)
            .lit("branches");
        let mut q: Vec<(&str, String)> = Vec::new();
        if !include_pull_requests {
            q.push(("filter", "origin".into()));
        }
        q.push(("start", "0".into()));
        q.push(("limit", LIVE_LIMIT.to_string()));
        let items: Option<Vec<LiveBranch>> = self.get_json(cluster, &path, &q).await?;
        Ok(items
            .unwrap_or_default()
            .into_iter()
            .filter(|b| !b.name.is_empty())
            .map(LiveBranch::into_branch)
            .collect())
    }

    /// The whole branch list, fresh: Jenkins' live list, else (it could not
    /// be read) KubeSphere's copy, which may lag a scan. An error of the
    /// copy (no such pipeline, not multi-branch, forbidden) is the answer.
    pub async fn list_branches_fresh(
        &self,
        cluster: &Cluster,
        namespace: &str,
        pipeline: &str,
        include_pull_requests: bool,
    ) -> KsResult<BranchList> {
        match self
            .list_branches_live(cluster, namespace, pipeline, include_pull_requests)
            .await
        {
            Ok(items) => Ok(BranchList {
                items,
                source: BranchSource::Live,
                live_error: None,
            }),
            // Nothing the copy could answer better.
            Err(
                e @ (KsError::InvalidName { .. }
                | KsError::NotAllowed { .. }
                | KsError::Login { .. }
                | KsError::Unauthorized { .. }
                | KsError::UnknownCluster { .. }),
            ) => Err(e),
            Err(e) => {
                tracing::debug!(error = %e, "live branch list unreadable; reading KubeSphere's copy");
                let page = self
                    .list_branches(cluster, namespace, pipeline, include_pull_requests, None)
                    .await?;
                Ok(BranchList {
                    items: page.items,
                    source: BranchSource::Cached,
                    live_error: Some(e.kind()),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_structs_mean_none() {
        let raw = r#"[{"name":"feature%2Fx","displayName":"feature/x","latestRun":{"_links":{"self":{}}},"pullRequest":{},"branch":{}},
                     {"name":"PR-3","displayName":"PR-3","latestRun":{"id":"2","state":"FINISHED","result":"SUCCESS","startTime":"2026-03-19T02:50:12.747+0000"},"pullRequest":{"id":"3","title":"t"}}]"#;
        let items: Vec<LiveBranch> = serde_json::from_str(raw).unwrap();
        let b: Vec<Branch> = items.into_iter().map(LiveBranch::into_branch).collect();
        assert_eq!(b[0].display_name(), "feature/x");
        assert!(b[0].latest_run.is_none() && b[0].pull_request.is_none());
        assert_eq!(b[1].latest_run.as_ref().and_then(|r| r.id.as_deref()), Some("2"));
        assert!(b[1].pull_request.is_some());
    }
}
