//! `wait_for_run`: poll a run until it finishes, with progress.

use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runview::RunView;

use super::{PendingInput, pending_inputs};
use crate::kubesphere::logs::BlueRunRef;
use crate::mcp::nodes::nodes_of;
use crate::mcp::runlocate::find_run;

pub struct WaitForRun;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct WaitForRunInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// PipelineRun name.
    pub name: String,
    /// Give up after (default 300).
    #[serde(default)]
    #[schemars(range(min = 1, max = 1800))]
    pub timeout_seconds: Option<u64>,
    /// Poll interval (default 3).
    #[serde(default)]
    #[schemars(range(min = 1, max = 60))]
    pub poll_seconds: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WaitForRunOutput {
    pub project: ProjectRef,
    pub run: RunView,
    /// The run finished; `run.result` says how.
    pub finished: bool,
    /// The run is paused at an `input` step and waits for a human answer; it will not finish on its own.
    pub paused: bool,
    /// The inputs it waits on (id, question, stage, allowed submitters), when `paused`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting_for: Vec<PendingInput>,
    /// The wait ended at `timeout_seconds` with the run still going.
    pub timed_out: bool,
    pub waited_seconds: u64,
    /// What to do next, when the run needs someone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl ToolDef for WaitForRun {
    const NAME: &'static str = "wait_for_run";
    const TITLE: &'static str = "Wait for a run to finish";
    const DESCRIPTION: &'static str = "Waits for a run to finish or pause at an `input` step (approve_input answers it with the user's decision), with progress notifications. Cancelling stops the wait only.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "name": {"$from": "list_runs", "pointer": "/runs/0/name"}, "timeout_seconds": 10}"#;
    const TOOLSET: Toolset = Toolset::Runs;
    const HINTS: Hints = Hints::READ;
    type Input = WaitForRunInput;
    type Output = WaitForRunOutput;

    async fn call(ctx: ToolCtx, input: WaitForRunInput) -> Result<WaitForRunOutput, ToolError> {
        let timeout = Duration::from_secs(input.timeout_seconds.unwrap_or(300).clamp(1, 1800));
        let poll = Duration::from_secs(input.poll_seconds.unwrap_or(3).clamp(1, 60));
        let project = resolve_input(&ctx, &input.scope).await?;
        let started = Instant::now();
        let mut polls = 0u64;
        loop {
            let run = find_run(&ctx, &project, Some(&input.name), None, None).await?;
            polls += 1;
            let paused = !run.finished && run.state.as_deref() == Some("PAUSED");
            let waiting_for = if paused {
                paused_inputs(&ctx, &project, &run).await
            } else {
                Vec::new()
            };
            let waited = started.elapsed();
            // A paused run is reported once its input is known (the stored
            // stages can lag the run state by a sync), or at the timeout.
            if run.finished || !waiting_for.is_empty() || waited >= timeout {
                let next = paused.then(|| next_for_paused(&input.name, &waiting_for));
                return Ok(WaitForRunOutput {
                    finished: run.finished,
                    paused,
                    waiting_for,
                    timed_out: !run.finished && !paused,
                    waited_seconds: waited.as_secs(),
                    next,
                    run,
                    project,
                });
            }
            let status = format!(
                "{} {}",
                run.phase.as_deref().unwrap_or("Pending"),
                run.state.as_deref().unwrap_or("")
            );
            ctx.progress(polls as f64, None, format!("run {}: {}", input.name, status.trim()))
                .await;
            let rest = timeout.saturating_sub(waited).min(poll);
            tokio::select! {
                _ = tokio::time::sleep(rest) => {}
                _ = ctx.cancel.cancelled() => return Err(ToolError::Cancelled),
            }
        }
    }
}

/// The inputs a paused run waits on; empty when they cannot be read yet.
async fn paused_inputs(ctx: &ToolCtx, project: &ProjectRef, run: &RunView) -> Vec<PendingInput> {
    let (Some(pipeline), Some(run_id)) = (run.pipeline.clone(), run.run_id.clone()) else {
        return Vec::new();
    };
    let blue = BlueRunRef {
        namespace: project.name.clone(),
        pipeline,
        branch: run.branch.clone(),
        run_id,
    };
    match nodes_of(ctx, &project.cluster(), &blue, run.name.as_deref()).await {
        Ok(nodes) => pending_inputs(&nodes),
        Err(e) => {
            tracing::debug!(error = %e, "stages of a paused run unreadable");
            Vec::new()
        }
    }
}

fn next_for_paused(name: &str, inputs: &[PendingInput]) -> String {
    let what = match inputs {
        [] => "an input step".to_string(),
        [one] => format!("input {} ({:?})", one.input_id, one.message.as_deref().unwrap_or("?")),
        many => format!(
            "{} inputs ({})",
            many.len(),
            many.iter().map(|p| p.input_id.as_str()).collect::<Vec<_>>().join(", ")
        ),
    };
    let pick = if inputs.len() > 1 { " and input_id" } else { "" };
    format!(
        "The run waits at {what} for a human answer and will not finish on its own. Ask the user whether to proceed or abort, then call approve_input with name {name:?}{pick} and that action; call wait_for_run again afterwards."
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn waits_until_success() {
        let sim = sim().await;
        let c = ctx(&sim);
        let started = call(
            &c,
            "trigger_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline", "branch": "main"}),
        )
        .await
        .unwrap();
        let name = started["run"]["name"].as_str().unwrap().to_string();
        let out = call(
            &c,
            "wait_for_run",
            serde_json::json!({"project": "stone-devops", "name": name, "poll_seconds": 1, "timeout_seconds": 60}),
        )
        .await
        .unwrap();
        assert_eq!(out["finished"], true, "{out}");
        assert_eq!(out["run"]["result"], "SUCCESS", "{out}");
        assert_eq!(out["run"]["phase"], "Succeeded", "{out}");
        assert!(out["run"]["run_id"].is_string());
        let got = call(
            &c,
            "get_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline", "run_id": out["run"]["run_id"]}),
        )
        .await
        .unwrap();
        assert_eq!(got["run"]["name"].as_str(), Some(name.as_str()));
    }

    #[tokio::test]
    async fn returns_as_soon_as_the_run_pauses_at_an_input() {
        let sim = sim().await;
        let c = ctx(&sim);
        let runs = call(
            &c,
            "list_runs",
            serde_json::json!({"project": "stone-devops", "pipeline": "release-gate"}),
        )
        .await
        .unwrap();
        let name = runs["runs"][0]["name"].as_str().unwrap().to_string();
        let started = std::time::Instant::now();
        let out = call(
            &c,
            "wait_for_run",
            serde_json::json!({"project": "stone-devops", "name": name, "poll_seconds": 1, "timeout_seconds": 20}),
        )
        .await
        .unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{out}");
        assert_eq!(out["paused"], true, "{out}");
        assert_eq!(out["finished"], false);
        assert_eq!(out["timed_out"], false);
        assert_eq!(out["run"]["state"], "PAUSED");
        let input = &out["waiting_for"][0];
        assert_eq!(input["message"], "Release 1.4.2 to production?");
        assert_eq!(input["stage"], "Approve");
        let id = input["input_id"].as_str().unwrap();
        let next = out["next"].as_str().unwrap();
        assert!(next.contains("approve_input") && next.contains(id), "{next}");
    }

    #[tokio::test]
    async fn stops_at_the_timeout() {
        let sim = crate::testing::sim_with(ks_sim::SimOptions {
            run_phase: std::time::Duration::from_secs(30),
            ..Default::default()
        })
        .await;
        let c = ctx(&sim);
        let started = call(
            &c,
            "trigger_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello"}),
        )
        .await
        .unwrap();
        let out = call(
            &c,
            "wait_for_run",
            serde_json::json!({"project": "stone-devops", "name": started["run"]["name"], "poll_seconds": 1, "timeout_seconds": 1}),
        )
        .await
        .unwrap();
        assert_eq!(out["finished"], false);
        assert_eq!(out["timed_out"], true);
    }
}
