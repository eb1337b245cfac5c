//! `delete_run`: delete a finished run's PipelineRun (v1alpha3 DELETE),
//! and its Jenkins build unless `keep_jenkins_record`. Destructive: needs
//! the user's confirmation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::KsError;
use crate::kubesphere::models::PipelineRun;
use crate::mcp::args::{ProjectArgs, RunArgs};
use crate::mcp::confirm::{ConfirmedBy, Target, confirm};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runlocate::{find_run_on_branch, parse_branch};
use crate::mcp::runview::RunView;

pub struct DeleteRun;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct DeleteRunInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    #[serde(flatten)]
    pub run: RunArgs,
    /// Keep the Jenkins build.
    #[serde(default)]
    pub keep_jenkins_record: Option<bool>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeleteRunOutput {
    pub project: ProjectRef,
    /// The run as it was before the delete.
    pub run: RunView,
    pub deleted: bool,
    /// Whether Jenkins keeps the build.
    pub keep_jenkins_record: bool,
    /// `user` (accepted a confirmation naming the run) or `operator_flag` (--allow-unconfirmed-destructive).
    pub confirmed_by: ConfirmedBy,
    pub note: String,
}

impl ToolDef for DeleteRun {
    const NAME: &'static str = "delete_run";
    const TITLE: &'static str = "Delete a finished run";
    const DESCRIPTION: &'static str = "Deletes a finished run; irreversible. Only if the user asked: they confirm (elicitation) or nothing is deleted.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}"#;
    const TOOLSET: Toolset = Toolset::Cleanup;
    const HINTS: Hints = Hints::DESTROY;
    const CHECK: &'static str = "list_runs";
    type Input = DeleteRunInput;
    type Output = DeleteRunOutput;

    async fn call(ctx: ToolCtx, input: DeleteRunInput) -> Result<DeleteRunOutput, ToolError> {
        let branch = parse_branch(input.run.branch.as_deref())?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let keep = input.keep_jenkins_record.unwrap_or(false);
        let read = || async {
            let view = find_run_on_branch(
                &ctx,
                &project,
                input.run.name.as_deref(),
                input.run.pipeline.as_deref(),
                input.run.run_id.as_deref(),
                branch.as_ref(),
            )
            .await
            .map_err(|e| match e {
                ToolError::Ks(KsError::NotFound { path, message }) if input.run.name.is_none() => {
                    ToolError::Ks(KsError::NotFound {
                        path,
                        message: format!(
                            "{message}: KubeSphere has no PipelineRun for it (a run Jenkins started by itself, marked jenkins_only by list_runs, cannot be deleted through KubeSphere)"
                        ),
                    })
                }
                e => e,
            })?;
            let Some(name) = view.name.clone() else {
                return Err(ToolError::Internal("a PipelineRun without a name".into()));
            };
            let pr = ctx.client.get_pipelinerun(&cluster, &project.name, &name).await?;
            let run = RunView::from_pipelinerun(&pr);
            Ok::<(PipelineRun, RunView), ToolError>((pr, run))
        };
        // Upstream refuses anything not finished (400); say what to do
        // before asking the user anything.
        let (pr, first) = read().await?;
        check_finished(&pr, &first)?;
        let describe = |(pr, run): &(PipelineRun, RunView)| Target {
            description: format!("{} in {}", describe_run(run), project.describe()),
            fingerprint: format!(
                "uid {}, phase {}",
                pr.metadata.uid.as_deref().unwrap_or("?"),
                pr.status.phase.as_deref().unwrap_or("")
            ),
        };
        let consequence = if keep {
            "The run disappears from KubeSphere; Jenkins keeps the build (its log stays readable by run id). This cannot be undone."
        } else {
            "The run's record, log and artifacts are deleted from KubeSphere and Jenkins. This cannot be undone."
        };
        let ((pr, run), confirmed_by) = confirm(&ctx, Self::NAME, "Delete", consequence, read, describe).await?;
        check_finished(&pr, &run)?;
        ctx.client
            .delete_pipelinerun(&cluster, &project.name, &pr.metadata.name, keep)
            .await
            .map_err(|e| match e {
                KsError::BadRequest { message, .. } if message.contains("cannot delete a running PipelineRun") => {
                    ToolError::InvalidInput(format!(
                        "KubeSphere refused: {message}. Nothing was deleted; stop the run first (stop_run, with the user's consent), then delete it"
                    ))
                }
                e => e.into(),
            })?;
        Ok(DeleteRunOutput {
            project,
            run,
            deleted: true,
            keep_jenkins_record: keep,
            confirmed_by,
            note: "KubeSphere removes the PipelineRun once its controller has handled it (usually within seconds); list_runs then no longer shows it.".into(),
        })
    }
}

fn describe_run(run: &RunView) -> String {
    let mut s = match (&run.run_id, &run.pipeline) {
        (Some(id), Some(p)) => format!("run #{id} of pipeline {p}"),
        (None, Some(p)) => format!("a run of pipeline {p}"),
        _ => "run".to_string(),
    };
    if let Some(b) = &run.branch {
        s.push_str(&format!(" (branch {b})"));
    }
    if let Some(n) = &run.name {
        s.push_str(&format!(" [PipelineRun {n}]"));
    }
    if let Some(r) = &run.result {
        s.push_str(&format!(" (result {r})"));
    }
    s
}

/// Upstream deletes only runs whose stored phase is final.
fn check_finished(pr: &PipelineRun, run: &RunView) -> Result<(), ToolError> {
    let phase = pr.status.phase.as_deref().unwrap_or("");
    if matches!(phase, "Succeeded" | "Failed" | "Cancelled") {
        return Ok(());
    }
    Err(ToolError::InvalidInput(format!(
        "{} has not finished (phase {}); KubeSphere deletes only finished runs. Nothing was deleted: stop it first with stop_run (only if the user wants it stopped), then call delete_run again",
        describe_run(run),
        if phase.is_empty() { "not set yet" } else { phase }
    )))
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, ctx_unconfirmed, only_reads, sim, sim_with};

    fn deletes(sim: &ks_sim::Sim) -> usize {
        sim.requests().iter().filter(|r| r.method == "DELETE").count()
    }

    #[tokio::test]
    async fn without_elicitation_nothing_is_deleted_and_the_ask_names_the_run() {
        let sim = sim().await;
        let before = sim.pipelinerun_names("host", "stone-devops");
        let err = call(
            &ctx(&sim),
            "delete_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "confirmation_required");
        assert!(err.to_string().contains("run #1 of pipeline broken-build"), "{err}");
        assert!(only_reads(&sim));
        assert_eq!(sim.pipelinerun_names("host", "stone-devops"), before);
    }

    #[tokio::test]
    async fn deletes_the_record_and_the_jenkins_build_unless_kept() {
        let sim = sim().await;
        let c = ctx_unconfirmed(&sim);
        let out = call(
            &c,
            "delete_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
        )
        .await
        .unwrap();
        assert_eq!(out["deleted"], true);
        assert_eq!(out["keep_jenkins_record"], false);
        let req = sim.requests().into_iter().find(|r| r.method == "DELETE").unwrap();
        assert_eq!(req.query.as_deref(), Some("keepJenkinsRecord=false"));
        // The controller deletes the build with the record.
        let mut gone = false;
        for _ in 0..40 {
            let r = call(
                &c,
                "get_run",
                serde_json::json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
            )
            .await;
            if r.as_ref().err().is_some_and(|e| e.kind() == "not_found") {
                gone = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(gone, "run 1 still readable");
        // keep_jenkins_record: Jenkins still has the build, marked jenkins_only.
        call(
            &c,
            "delete_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello", "run_id": "1", "keep_jenkins_record": true}),
        )
        .await
        .unwrap();
        let mut last = serde_json::Value::Null;
        for _ in 0..40 {
            last = call(
                &c,
                "get_run",
                serde_json::json!({"project": "stone-devops", "pipeline": "hello", "run_id": "1"}),
            )
            .await
            .unwrap();
            if last["run"]["source"] == "jenkins_only" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(last["run"]["source"], "jenkins_only", "{last}");
        assert_eq!(last["run"]["result"], "SUCCESS");
    }

    #[tokio::test]
    async fn a_running_run_is_refused_before_asking() {
        let sim = sim_with(ks_sim::SimOptions {
            run_phase: std::time::Duration::from_secs(30),
            ..Default::default()
        })
        .await;
        let c = ctx_unconfirmed(&sim);
        let started = call(
            &c,
            "trigger_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello"}),
        )
        .await
        .unwrap();
        let name = started["run"]["name"].as_str().unwrap().to_string();
        let err = call(
            &c,
            "delete_run",
            serde_json::json!({"project": "stone-devops", "name": name}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "invalid_input", "{err}");
        assert!(err.to_string().contains("stop_run"), "{err}");
        assert_eq!(deletes(&sim), 0);
    }

    #[tokio::test]
    async fn a_jenkins_only_run_cannot_be_deleted_here() {
        let sim = sim().await;
        let err = call(
            &ctx_unconfirmed(&sim),
            "delete_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "webhook-build", "run_id": "2"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "not_found", "{err}");
        assert!(err.to_string().contains("jenkins_only"), "{err}");
        assert_eq!(deletes(&sim), 0);
    }
}
