//! Typed calls for branches and runs.

use std::time::Duration;

use reqwest::Method;

use super::client::{Body, KsClient, read_tail};
use super::error::{KsError, KsResult};
use super::logs::validate_run_id;
use super::models::{BlueNode, BlueRun, BlueStep, Branch, List, NameValue, Page, PipelineRun};
use super::path::{ApiPath, BranchName, Cluster, gv, validate_label, validate_subdomain};

fn pipeline_path(namespace: &str, pipeline: &str) -> KsResult<ApiPath> {
    validate_label("project (namespace) name", namespace)?;
    validate_subdomain("pipeline name", pipeline)?;
    Ok(ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
        .lit("namespaces")
        .seg(namespace)
        .lit("pipelines")
        .seg(pipeline))
}

impl KsClient {
    /// `GET DV3/namespaces/{ns}/pipelines/{p}/branches?filter=origin`.
    pub async fn list_branches(
        &self,
        cluster: &Cluster,
        namespace: &str,
        pipeline: &str,
        include_pull_requests: bool,
        page: Option<(u32, u32)>,
    ) -> KsResult<Page<Branch>> {
        let path = pipeline_path(namespace, pipeline)?.lit("branches");
        let mut q: Vec<(&str, String)> = Vec::new();
        if !include_pull_requests {
            q.push(("filter", "origin".into()));
        }
        if let Some((p, l)) = page {
            q.push(("page", p.to_string()));
            q.push(("limit", l.to_string()));
        }
        let list: Option<List<Branch>> = self.get_json(cluster, &path, &q).await?;
        Ok(Page::from_list(list))
    }

    /// `POST DV3/namespaces/{ns}/pipelines/{p}/pipelineruns[?branch=]`.
    /// Never retried (see [`KsClient::execute`]): a lost answer must not
    /// start a second build. The branch goes as its encoded name, which
    /// becomes `spec.scm.refName`: the controller path-escapes it once and
    /// Jenkins finds the branch job by it (§16 U4).
    pub async fn create_pipelinerun(
        &self,
        cluster: &Cluster,
        namespace: &str,
        pipeline: &str,
        branch: Option<&BranchName>,
        parameters: &[NameValue],
    ) -> KsResult<PipelineRun> {
        let path = pipeline_path(namespace, pipeline)?.lit("pipelineruns");
        let q: Vec<(&str, String)> = branch.map(|b| vec![("branch", b.encoded())]).unwrap_or_default();
        let body = serde_json::json!({ "parameters": parameters });
        self.send_json(Method::POST, cluster, &path, &q, &body).await
    }

    /// `GET DV3/namespaces/{ns}/pipelines/{p}/pipelineruns?backward=false`:
    /// every run (including one created a moment ago), newest first, with
    /// the Jenkins status filled in. `branch` filters on `spec.scm.refName`,
    /// the encoded name (§16 U4).
    pub async fn list_pipelineruns(
        &self,
        cluster: &Cluster,
        namespace: &str,
        pipeline: &str,
        branch: Option<&BranchName>,
        page: (u32, u32),
    ) -> KsResult<Page<PipelineRun>> {
        let path = pipeline_path(namespace, pipeline)?.lit("pipelineruns");
        let mut q: Vec<(&str, String)> = vec![
            ("backward", "false".into()),
            ("page", page.0.to_string()),
            ("limit", page.1.to_string()),
        ];
        if let Some(b) = branch {
            q.push(("branch", b.encoded()));
        }
        let list: Option<List<PipelineRun>> = self.get_json(cluster, &path, &q).await?;
        Ok(Page::from_list(list))
    }

    /// `GET DV3/namespaces/{ns}/pipelineruns/{name}`.
    pub async fn get_pipelinerun(&self, cluster: &Cluster, namespace: &str, name: &str) -> KsResult<PipelineRun> {
        validate_label("project (namespace) name", namespace)?;
        validate_subdomain("PipelineRun name", name)?;
        let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
            .lit("namespaces")
            .seg(namespace)
            .lit("pipelineruns")
            .seg(name);
        self.get_json(cluster, &path, &[]).await
    }
}

/// A Jenkins run as the v1alpha2 routes address it: the one address of a
/// run for every client method that talks to a `.../runs/{id}` route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlueRunRef {
    pub namespace: String,
    pub pipeline: String,
    /// Branch of a multi-branch pipeline run.
    pub branch: Option<BranchName>,
    /// Jenkins build number.
    pub run_id: String,
}

impl BlueRunRef {
    pub fn new(namespace: &str, pipeline: &str, branch: Option<&BranchName>, run_id: &str) -> BlueRunRef {
        BlueRunRef {
            namespace: namespace.to_string(),
            pipeline: pipeline.to_string(),
            branch: branch.cloned(),
            run_id: run_id.to_string(),
        }
    }

    /// `DV2/namespaces/{ns}/pipelines/{p}[/branches/{b}]/runs/{id}`: the same
    /// address (and branch encoding) the run tools use.
    pub(crate) fn path(&self) -> KsResult<ApiPath> {
        validate_run_id(&self.run_id)?;
        v2_run_path(&self.namespace, &self.pipeline, self.branch.as_ref(), &self.run_id)
    }
}

/// An input step of a run waiting for an answer.
#[derive(Clone, Copy, Debug)]
pub struct InputStep<'a> {
    /// Blue Ocean id of the stage (node).
    pub node: &'a str,
    /// Blue Ocean id of the step.
    pub step: &'a str,
    /// The input's id (`input(id: ...)`).
    pub input_id: &'a str,
}

/// Where a Jenkins run lives in v1alpha2: `R` for a regular pipeline, `RB`
/// (through the branch job) for a multi-branch one.
fn v2_run_path(namespace: &str, pipeline: &str, branch: Option<&BranchName>, run_id: &str) -> KsResult<ApiPath> {
    validate_label("project (namespace) name", namespace)?;
    validate_subdomain("pipeline name", pipeline)?;
    if run_id.is_empty() || !run_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(KsError::Invalid(format!(
            "Jenkins run id {run_id:?} must be a build number such as \"3\""
        )));
    }
    let mut p = ApiPath::kapi(gv::DEVOPS_V1ALPHA2)
        .lit("namespaces")
        .seg(namespace)
        .lit("pipelines")
        .seg(pipeline);
    if let Some(b) = branch {
        // The encoded name as one segment (§16 U3): `feature%252Flogin`.
        p = p.lit("branches").branch(b);
    }
    Ok(p.lit("runs").seg(run_id))
}

/// Longest wait for upstream's `nodesdetail` (and again for the stage by
/// stage fallback): it can hang forever (U7).
pub const NODES_DETAIL_BUDGET: Duration = Duration::from_secs(15);

/// The hint of the [`KsError::Timeout`] of a run's stages (U7): the
/// caller may offer its own way to the console log instead.
pub const NODES_DETAIL_HINT: &str = "Jenkins did not list the run's stages in time (upstream's nodesdetail hangs when one stage's steps cannot be read); read the run's console log instead, or try again later";

/// What Jenkins said to an input answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputReply {
    Accepted,
    /// HTTP 200 with `{"allow":"false","message":...}`.
    NoPermission(String),
}

impl KsClient {
    /// `POST R/runs/{id}/stop?blocking=true&timeOutInSecs=10` (or `RB/...`).
    /// Returns the run as Jenkins reports it afterwards. Not retried.
    pub async fn stop_run(&self, cluster: &Cluster, run: &BlueRunRef) -> KsResult<BlueRun> {
        let path = run.path()?.lit("stop");
        let q = [("blocking", "true".to_string()), ("timeOutInSecs", "10".to_string())];
        self.send_json(Method::POST, cluster, &path, &q, &serde_json::json!({}))
            .await
    }

    /// `GET DV3/namespaces/{ns}/pipelineruns/{name}/nodedetails`: the stages
    /// and steps the PipelineRun controller stored (no live Jenkins call, so
    /// it cannot hang like `nodesdetail`, U7). `Ok(None)` when nothing usable
    /// is stored yet: upstream answers 500 (`unexpected end of JSON input`)
    /// until the controller has written the stages. Every step carries
    /// `approvable: true` whoever asks (an upstream placeholder).
    pub async fn pipelinerun_node_details(
        &self,
        cluster: &Cluster,
        namespace: &str,
        name: &str,
    ) -> KsResult<Option<Vec<BlueNode>>> {
        validate_label("project (namespace) name", namespace)?;
        validate_subdomain("PipelineRun name", name)?;
        let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
            .lit("namespaces")
            .seg(namespace)
            .lit("pipelineruns")
            .seg(name)
            .lit("nodedetails");
        match self.get_json::<Option<Vec<BlueNode>>>(cluster, &path, &[]).await {
            Ok(nodes) => Ok(Some(nodes.unwrap_or_default())),
            Err(KsError::Upstream { status: 500, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stages with their steps of a Jenkins run through v1alpha2, for runs
    /// that have no PipelineRun (or none with stored stages). Upstream's
    /// `nodesdetail` can hang forever (U7), so it gets a bounded wait
    /// ([`NODES_DETAIL_BUDGET`], at most the request timeout); when it does
    /// not answer in time the stages are read one call at a time (`nodes`,
    /// then `nodes/{id}/steps` per stage, in the same budget). A stage whose
    /// steps cannot be read keeps `steps: None`.
    pub async fn run_nodes_detail(&self, cluster: &Cluster, run: &BlueRunRef) -> KsResult<Vec<BlueNode>> {
        let run = run.path()?;
        let budget = self.settings().timeout.min(NODES_DETAIL_BUDGET);
        let detail = run.clone().lit("nodesdetail");
        match tokio::time::timeout(budget, self.get_json::<Option<Vec<BlueNode>>>(cluster, &detail, &[])).await {
            Ok(r) => return Ok(r?.unwrap_or_default()),
            Err(_) => {
                tracing::debug!(path = %detail.for_cluster(cluster), "nodesdetail did not answer; reading stages one by one")
            }
        }
        let one_by_one = async {
            let nodes_path = run.clone().lit("nodes");
            let mut nodes: Vec<BlueNode> = self
                .get_json::<Option<Vec<BlueNode>>>(cluster, &nodes_path, &[])
                .await?
                .unwrap_or_default();
            for n in nodes.iter_mut() {
                if n.id.is_empty()
                    || !n
                        .id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    continue;
                }
                let steps_path = run.clone().lit("nodes").seg(&n.id).lit("steps");
                match self.get_json::<Option<Vec<BlueStep>>>(cluster, &steps_path, &[]).await {
                    Ok(steps) => n.steps = Some(steps.unwrap_or_default()),
                    Err(e) => tracing::debug!(error = %e, stage = %n.id, "steps of a stage unreadable"),
                }
            }
            Ok::<_, KsError>(nodes)
        };
        match tokio::time::timeout(budget, one_by_one).await {
            Ok(r) => r,
            Err(_) => Err(KsError::Timeout {
                path: detail.for_cluster(cluster),
                timeout: budget * 2,
                hint: NODES_DETAIL_HINT,
            }),
        }
    }

    /// `POST R/runs/{id}/nodes/{node}/steps/{step}`: proceed (with
    /// parameters) or abort a paused input step. Upstream answers a refusal
    /// with HTTP 200, so the body is inspected. Not retried.
    pub async fn submit_input(
        &self,
        cluster: &Cluster,
        run: &BlueRunRef,
        input: InputStep<'_>,
        proceed: bool,
        parameters: &[NameValue],
    ) -> KsResult<InputReply> {
        for (what, v) in [("node id", input.node), ("step id", input.step)] {
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(KsError::Invalid(format!("{what} {v:?} is not valid")));
            }
        }
        let path = run.path()?.lit("nodes").seg(input.node).lit("steps").seg(input.step);
        let body = input_body(input.input_id, proceed, parameters);
        let r = self
            .execute(
                Method::POST,
                cluster,
                &path,
                &[],
                Body::Json(&body),
                "application/json, */*",
            )
            .await?;
        let full = path.for_cluster(cluster);
        let (_, bytes) = read_tail(r, 64 * 1024, &full, true).await?;
        Ok(input_reply(&bytes))
    }
}

/// The answer to an input step. An empty parameter list is left out: ks-devops
/// adds `"parameters":[]` itself only when the field is missing or null, and
/// drops an empty list it was given, after which Blue Ocean answers
/// `parameters is required` (U1).
fn input_body(input_id: &str, proceed: bool, parameters: &[NameValue]) -> serde_json::Value {
    if !proceed {
        serde_json::json!({"id": input_id, "abort": true})
    } else if parameters.is_empty() {
        serde_json::json!({"id": input_id})
    } else {
        serde_json::json!({"id": input_id, "parameters": parameters})
    }
}

fn input_reply(body: &[u8]) -> InputReply {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return InputReply::Accepted;
    };
    let denied = match v.get("allow") {
        Some(serde_json::Value::String(s)) => s.eq_ignore_ascii_case("false"),
        Some(serde_json::Value::Bool(b)) => !b,
        _ => false,
    };
    if denied {
        let msg = v
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or("no permission to approve this step")
            .to_string();
        InputReply::NoPermission(msg)
    } else {
        InputReply::Accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_200_refusal_is_read_as_a_refusal() {
        assert_eq!(
            input_reply(br#"{"allow":"false","message":"you have no permission to approve this step"}"#),
            InputReply::NoPermission("you have no permission to approve this step".into())
        );
        assert_eq!(input_reply(b""), InputReply::Accepted);
        assert_eq!(input_reply(b"<html>ok</html>"), InputReply::Accepted);
        assert_eq!(input_reply(br#"{"allow":true}"#), InputReply::Accepted);
    }

    #[test]
    fn an_input_answer_never_sends_an_empty_parameter_list() {
        assert_eq!(input_body("Go", true, &[]), serde_json::json!({"id": "Go"}));
        assert_eq!(
            input_body("Go", false, &[]),
            serde_json::json!({"id": "Go", "abort": true})
        );
        let p = [NameValue {
            name: "A".into(),
            value: "1".into(),
        }];
        assert_eq!(
            input_body("Go", true, &p),
            serde_json::json!({"id": "Go", "parameters": [{"name": "A", "value": "1"}]})
        );
    }

    #[test]
    fn run_paths_validate_ids_and_encode_branches() {
        let b = BranchName::parse("feature/x").unwrap();
        let p = v2_run_path("ns", "p", Some(&b), "3").unwrap();
        assert_eq!(
            p.for_cluster(&Cluster::Host),
            "/kapis/devops.kubesphere.io/v1alpha2/namespaces/ns/pipelines/p/branches/feature%252Fx/runs/3"
        );
        assert!(super::super::path::check_allowed(&p.for_cluster(&Cluster::Host)).is_ok());
        assert!(v2_run_path("ns", "p", None, "3/../x").is_err());
        assert!(v2_run_path("ns", "p", None, "").is_err());
    }
}
