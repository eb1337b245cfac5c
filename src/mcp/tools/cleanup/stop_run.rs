//! `stop_run`: abort a running build (v1alpha2 stop with the Jenkins run
//! id). Irreversible; needs the user's confirmation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::args::{ProjectArgs, RunArgs};
use crate::mcp::confirm::{ConfirmedBy, Target, confirm};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runlocate::{find_run_on_branch, parse_branch};
use crate::mcp::runview::RunView;

use crate::mcp::runlocate::{ActiveRun, active_run};

pub struct StopRun;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct StopRunInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    #[serde(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StopRunOutput {
    pub project: ProjectRef,
    /// The run after the stop (a stopped run ends with result ABORTED, phase Failed).
    pub run: RunView,
    pub stopped: bool,
    pub confirmed_by: ConfirmedBy,
}

impl ToolDef for StopRun {
    const NAME: &'static str = "stop_run";
    const TITLE: &'static str = "Stop a running build";
    const DESCRIPTION: &'static str = "Aborts a queued, running or paused run when the user asked to stop it. The user confirms first (MCP elicitation); nothing is stopped without it.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}"#;
    const TOOLSET: Toolset = Toolset::Cleanup;
    const HINTS: Hints = Hints::DESTROY;
    const CHECK: &'static str = "get_run";
    type Input = StopRunInput;
    type Output = StopRunOutput;

    async fn call(ctx: ToolCtx, input: StopRunInput) -> Result<StopRunOutput, ToolError> {
        let branch = parse_branch(input.run.branch.as_deref())?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let read = || async {
            active_run(
                &ctx,
                &project,
                input.run.name.as_deref(),
                input.run.pipeline.as_deref(),
                input.run.run_id.as_deref(),
                branch.as_ref(),
                "stop",
            )
            .await
        };
        let describe = |a: &ActiveRun| Target {
            description: format!("{} in {}", a.describe(), project.describe()),
            fingerprint: format!("run #{} not finished", a.run_id),
        };
        let (target, confirmed_by) = confirm(
            &ctx,
            Self::NAME,
            "Stop",
            "The build is aborted and cannot be resumed; it can only be started again.",
            read,
            describe,
        )
        .await?;
        ctx.client
            .stop_run(
                &project.cluster(),
                &crate::kubesphere::logs::BlueRunRef::new(
                    &project.name,
                    &target.pipeline,
                    target.run.branch.as_ref(),
                    &target.run_id,
                ),
            )
            .await?;
        let run = find_run_on_branch(
            &ctx,
            &project,
            target.run.name.as_deref(),
            Some(&target.pipeline),
            Some(&target.run_id),
            target.run.branch.as_ref(),
        )
        .await
        .unwrap_or(target.run);
        Ok(StopRunOutput {
            project,
            run,
            stopped: true,
            confirmed_by,
        })
    }
}

#[cfg(test)]
mod tests {

    use crate::testing::{call, ctx, sim_with};

    #[tokio::test]
    async fn stop_needs_confirmation_and_aborts_with_the_flag() {
        let sim = sim_with(ks_sim::SimOptions {
            run_phase: std::time::Duration::from_secs(1),
            ..Default::default()
        })
        .await;
        let started = call(
            &ctx(&sim),
            "trigger_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline", "branch": "main"}),
        )
        .await
        .unwrap();
        let name = started["run"]["name"].as_str().unwrap().to_string();
        // Wait for the Jenkins id.
        for _ in 0..100 {
            let r = call(
                &ctx(&sim),
                "get_run",
                serde_json::json!({"project": "stone-devops", "name": name}),
            )
            .await
            .unwrap();
            if r["run"]["run_id"].is_string() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let err = call(
            &ctx(&sim),
            "stop_run",
            serde_json::json!({"project": "stone-devops", "name": name}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "confirmation_required");
        assert!(err.to_string().contains("echo-pipeline (branch main)"), "{err}");
        assert!(!sim.requests().iter().any(|r| r.path.ends_with("/stop")));

        let flag = crate::testing::ctx_unconfirmed(&sim);
        let out = call(
            &flag,
            "stop_run",
            serde_json::json!({"project": "stone-devops", "name": name}),
        )
        .await
        .unwrap();
        assert_eq!(out["stopped"], true);
        assert!(
            sim.requests()
                .iter()
                .any(|r| r.method == "POST" && r.path.contains("/branches/main/runs/") && r.path.ends_with("/stop"))
        );
        // The run ends aborted, phase Failed.
        let mut last = serde_json::Value::Null;
        for _ in 0..100 {
            last = call(
                &flag,
                "get_run",
                serde_json::json!({"project": "stone-devops", "name": name}),
            )
            .await
            .unwrap();
            if last["run"]["finished"] == true {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(last["run"]["result"], "ABORTED", "{last}");
        assert_eq!(last["run"]["phase"], "Failed", "{last}");
        // A finished run is not stopped again.
        let err = call(
            &flag,
            "stop_run",
            serde_json::json!({"project": "stone-devops", "name": name}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("already finished"), "{err}");
    }
}
