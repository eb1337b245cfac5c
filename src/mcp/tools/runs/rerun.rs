//! `rerun`: replay a run (Jenkins replay: same Jenkinsfile, same
//! parameters). Non-idempotent: sent once, never retried.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::args::{ProjectArgs, RunArgs};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runlocate::{locate_run, parse_branch};
use crate::mcp::runview::{RunSource, RunView};

pub struct Rerun;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct RerunInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    #[serde(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RerunOutput {
    pub project: ProjectRef,
    /// The run that was replayed.
    pub replayed: RunView,
    /// The new run as Jenkins queued it (`run_id` is its build number).
    pub run: RunView,
    /// The new run's PipelineRun name, once KubeSphere has one (it imports replays a few seconds later, if at all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_run: Option<String>,
    /// How to follow the new run.
    pub next: String,
}

impl ToolDef for Rerun {
    const NAME: &'static str = "rerun";
    const TITLE: &'static str = "Re-run a run";
    const DESCRIPTION: &'static str = "Replays a run as a new run: the Jenkinsfile and parameters that run used (trigger_run uses the current ones). Never retried: after an error check list_runs.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}"#;
    const TOOLSET: Toolset = Toolset::Runs;
    const HINTS: Hints = Hints::CREATE;
    const CHECK: &'static str = "list_runs";
    type Input = RerunInput;
    type Output = RerunOutput;

    async fn call(ctx: ToolCtx, input: RerunInput) -> Result<RerunOutput, ToolError> {
        parse_branch(input.run.branch.as_deref())?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let found = locate_run(&ctx, &project, input.run.selector()).await?;
        let Some(blue) = found.blue else {
            return Err(ToolError::InvalidInput(format!(
                "run {} has no Jenkins run id yet (it is still queued), so there is nothing to replay; wait for it (get_run) or start a new one with trigger_run",
                found.view.name.as_deref().unwrap_or("?")
            )));
        };
        let new = ctx.client.replay_run(&cluster, &blue).await?;
        let mut run = RunView::from_blue(&new, Some(blue.pipeline.clone()));
        run.branch = blue.branch.clone();
        run.source = Some(RunSource::JenkinsOnly);
        let new_id = run.run_id.clone().unwrap_or_default();
        // ks-devops creates no PipelineRun for a replay; its Jenkins event
        // receiver may import it a few seconds later. One look, no wait.
        let pipeline_run = match ctx
            .client
            .list_pipelineruns(&cluster, &project.name, &blue.pipeline, blue.branch.as_ref(), (1, 20))
            .await
        {
            Ok(page) => page
                .items
                .iter()
                .find(|pr| pr.jenkins_id() == Some(new_id.as_str()))
                .map(|pr| pr.metadata.name.clone()),
            Err(e) => {
                tracing::debug!(error = %e, "PipelineRun of the replay not looked up");
                None
            }
        };
        if pipeline_run.is_some() {
            run.source = None;
            run.name = pipeline_run.clone();
        }
        let branch_arg = blue
            .branch
            .as_ref()
            .map(|b| format!(", \"branch\": {:?}", b.to_string()))
            .unwrap_or_default();
        let next = match &pipeline_run {
            Some(n) => format!("Follow it with wait_for_run {{\"name\": {n:?}}}."),
            None => format!(
                "Jenkins queued run #{new_id}; KubeSphere has no PipelineRun for it yet. Follow it with get_run {{\"pipeline\": {:?}, \"run_id\": {new_id:?}{branch_arg}}} (list_runs shows it too, marked jenkins_only); its log with get_run_log the same way.",
                blue.pipeline
            ),
        };
        Ok(RerunOutput {
            project,
            replayed: found.view,
            run,
            pipeline_run,
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    fn replays(sim: &ks_sim::Sim) -> Vec<String> {
        sim.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/replay"))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    #[tokio::test]
    async fn replays_once_and_returns_the_new_run() {
        let sim = sim().await;
        let c = ctx(&sim);
        let out = call(
            &c,
            "rerun",
            serde_json::json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
        )
        .await
        .unwrap();
        assert_eq!(out["run"]["run_id"], "2", "{out}");
        assert_eq!(out["run"]["state"], "QUEUED");
        assert_eq!(out["run"]["source"], "jenkins_only");
        assert_eq!(out["replayed"]["run_id"], "1");
        assert!(out["next"].as_str().unwrap().contains("\"run_id\": \"2\""), "{out}");
        assert_eq!(
            replays(&sim),
            ["POST /kapis/devops.kubesphere.io/v1alpha2/namespaces/stone-devops/pipelines/broken-build/runs/1/replay"]
        );
        // The new run is readable by pipeline + run id although it has no PipelineRun.
        let got = call(
            &c,
            "get_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "2"}),
        )
        .await
        .unwrap();
        assert_eq!(got["run"]["run_id"], "2");
        assert_eq!(got["run"]["source"], "jenkins_only");
    }

    #[tokio::test]
    async fn a_branch_run_is_replayed_through_its_branch_job() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "rerun",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline", "branch": "main", "run_id": "1"}),
        )
        .await
        .unwrap();
        assert_eq!(out["run"]["branch"], "main");
        assert_eq!(out["run"]["run_id"], "2");
        assert_eq!(
            replays(&sim),
            [
                "POST /kapis/devops.kubesphere.io/v1alpha2/namespaces/stone-devops/pipelines/echo-pipeline/branches/main/runs/1/replay"
            ]
        );
    }

    #[tokio::test]
    async fn a_lost_answer_is_not_retried_and_names_list_runs() {
        let sim = sim().await;
        sim.inject(ks_sim::Fault {
            method: Some("POST".into()),
            path_contains: "/replay".into(),
            kind: ks_sim::FaultKind::Status {
                code: 200,
                body: "{\"id\":".into(),
                content_type: "application/json".into(),
            },
            times: 1,
        });
        let err = call(
            &ctx(&sim),
            "rerun",
            serde_json::json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "outcome_unknown", "{err}");
        assert!(err.to_string().contains("list_runs"), "{err}");
        assert_eq!(replays(&sim).len(), 1, "never retried");
    }

    /// U5: Blue Ocean's 400 (`PipelineRunImpl.replay`: "This run does not
    /// support replay") reaches the caller as a 500 with Jenkins' body; it
    /// is a refusal to report, not a failure to retry.
    #[tokio::test]
    async fn a_replay_jenkins_refuses_is_reported_not_retried() {
        let sim = sim().await;
        sim.inject(ks_sim::Fault {
            method: Some("POST".into()),
            path_contains: "/replay".into(),
            kind: ks_sim::FaultKind::Status {
                code: 500,
                body:
                    "{\n  \"message\" : \"This run does not support replay\",\n  \"code\" : 400,\n  \"errors\" : [ ]\n}"
                        .into(),
                content_type: "text/plain; charset=utf-8".into(),
            },
            times: 1,
        });
        let err = call(
            &ctx(&sim),
            "rerun",
            serde_json::json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "bad_request", "{err}");
        assert!(err.to_string().contains("This run does not support replay"), "{err}");
        assert_eq!(replays(&sim).len(), 1);
    }

    #[tokio::test]
    async fn an_unknown_run_is_not_found_from_the_jenkins_500() {
        let sim = sim().await;
        let err = call(
            &ctx(&sim),
            "rerun",
            serde_json::json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "42"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "not_found", "{err}");
        assert!(replays(&sim).is_empty());
    }
}
