//! Replaying and deleting runs, and Jenkins' own run list (runs that have
//! no PipelineRun).

use reqwest::Method;

use super::client::{Body, KsClient};
use super::error::{KsError, KsResult};
use super::models::{BlueRun, List, Page};
use super::path::{ApiPath, BranchName, Cluster, gv, validate_label, validate_subdomain};
use super::runs::BlueRunRef;

/// How many Jenkins runs one list read asks for. ks-devops fetches every
/// run from Jenkins and slices locally (`listPipelineRunsByLocalPaging`),
/// so asking for the whole list costs upstream nothing more; the cap bounds
/// the answer.
pub const BLUE_RUNS_CAP: u32 = 1000;

impl KsClient {
    /// `POST R/runs/{id}/replay` (or `RB/...` through the branch job): a new
    /// build with the same Jenkinsfile and parameters. Returns the queued
    /// run as Jenkins answers it (its `id` is the new build number). Never
    /// retried; an answer that names no run is [`KsError::OutcomeUnknown`].
    pub async fn replay_run(&self, cluster: &Cluster, run: &BlueRunRef) -> KsResult<BlueRun> {
        let path = run.path()?.lit("replay");
        let run: Option<BlueRun> = self
            .send_json(Method::POST, cluster, &path, &[], &serde_json::json!({}))
            .await?;
        match run {
            Some(r) if r.id.as_deref().is_some_and(|id| !id.trim().is_empty()) => Ok(r),
            _ => Err(KsError::OutcomeUnknown {
                path: path.for_cluster(cluster),
                reason: "the replay answer names no new run".into(),
            }),
        }
    }

    /// `DELETE DV3/namespaces/{ns}/pipelineruns/{name}?keepJenkinsRecord=`.
    /// Upstream refuses a run whose phase is not Succeeded, Failed or
    /// Cancelled (400); otherwise the PipelineRun goes once its controller
    /// has handled the finalizer, which also deletes the Jenkins build
    /// unless `keep_jenkins_record`.
    pub async fn delete_pipelinerun(
        &self,
        cluster: &Cluster,
        namespace: &str,
        name: &str,
        keep_jenkins_record: bool,
    ) -> KsResult<()> {
        validate_label("project (namespace) name", namespace)?;
        validate_subdomain("PipelineRun name", name)?;
        let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
            .lit("namespaces")
            .seg(namespace)
            .lit("pipelineruns")
            .seg(name);
        let q = [("keepJenkinsRecord", keep_jenkins_record.to_string())];
        self.execute(Method::DELETE, cluster, &path, &q, Body::None, "application/json")
            .await?;
        Ok(())
    }

    /// `GET DV2/namespaces/{ns}/pipelines/{p}/runs?start=0&limit=N[&branch=]`:
    /// Jenkins' runs, newest first, including those without a PipelineRun
    /// (webhook, scan or replay). There is no branch form of this route;
    /// `branch` filters on the encoded branch job name (§16 U4). Always
    /// from 0 with an explicit limit: upstream returns nothing without
    /// `limit` and the whole list when `start >= total - 1` (§6.3).
    pub async fn list_blue_runs(
        &self,
        cluster: &Cluster,
        namespace: &str,
        pipeline: &str,
        branch: Option<&BranchName>,
    ) -> KsResult<Page<BlueRun>> {
        validate_label("project (namespace) name", namespace)?;
        validate_subdomain("pipeline name", pipeline)?;
        let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA2)
            .lit("namespaces")
            .seg(namespace)
            .lit("pipelines")
            .seg(pipeline)
            .lit("runs");
        let mut q: Vec<(&str, String)> = vec![("start", "0".into()), ("limit", BLUE_RUNS_CAP.to_string())];
        if let Some(b) = branch {
            q.push(("branch", b.encoded()));
        }
        let list: Option<List<BlueRun>> = self.get_json(cluster, &path, &q).await?;
        let mut page = Page::from_list(list);
        page.items.truncate(BLUE_RUNS_CAP as usize);
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_path_takes_the_branch_job_segment() {
        let b = BranchName::parse("feature/login").unwrap();
        let p = BlueRunRef::new("ns", "p", Some(&b), "1").path().unwrap().lit("replay");
        assert_eq!(
            p.for_cluster(&Cluster::Host),
            "/kapis/devops.kubesphere.io/v1alpha2/namespaces/ns/pipelines/p/branches/feature%252Flogin/runs/1/replay"
        );
        assert!(super::super::path::check_allowed(&p.for_cluster(&Cluster::Host)).is_ok());
    }
}
