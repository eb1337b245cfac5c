//! Toolset `runs`: trigger, follow, stop, approve.

use schemars::JsonSchema;
use serde::Serialize;

use crate::kubesphere::BranchName;
use crate::kubesphere::models::BlueNode;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::ToolEntry;
use crate::mcp::resolve::ProjectRef;
use crate::mcp::runlocate::find_run_on_branch;
use crate::mcp::runview::RunView;

pub mod approve_input;
pub mod get_run;
pub mod list_runs;
pub mod stop_run;
pub mod trigger_run;
pub mod wait_for_run;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<trigger_run::TriggerRun>(),
        ToolEntry::of::<list_runs::ListRuns>(),
        ToolEntry::of::<get_run::GetRun>(),
        ToolEntry::of::<wait_for_run::WaitForRun>(),
        ToolEntry::of::<stop_run::StopRun>(),
        ToolEntry::of::<approve_input::ApproveInput>(),
    ]
}

/// A run that has not finished and has a Jenkins id.
pub(crate) struct ActiveRun {
    pub run: RunView,
    pub pipeline: String,
    pub run_id: String,
}

impl ActiveRun {
    pub fn describe(&self) -> String {
        let mut s = format!("run #{} of pipeline {}", self.run_id, self.pipeline);
        if let Some(b) = &self.run.branch {
            s.push_str(&format!(" (branch {b})"));
        }
        if let Some(n) = &self.run.name {
            s.push_str(&format!(" [PipelineRun {n}]"));
        }
        if let Some(st) = &self.run.state {
            s.push_str(&format!(", now {st}"));
        }
        s
    }
}

/// Finds the run and checks that it can still be acted on.
pub(crate) async fn active_run(
    ctx: &ToolCtx,
    project: &ProjectRef,
    name: Option<&str>,
    pipeline: Option<&str>,
    run_id: Option<&str>,
    branch: Option<&BranchName>,
    verb: &str,
) -> Result<ActiveRun, ToolError> {
    let run = find_run_on_branch(ctx, project, name, pipeline, run_id, branch).await?;
    if run.finished {
        return Err(ToolError::InvalidInput(format!(
            "run {} has already finished (result {}); there is nothing to {verb}",
            run.name.as_deref().or(run.run_id.as_deref()).unwrap_or("?"),
            run.result.as_deref().unwrap_or("unknown")
        )));
    }
    let (Some(pipeline), Some(run_id)) = (
        run.pipeline.clone().or(pipeline.map(str::to_string)),
        run.run_id.clone(),
    ) else {
        return Err(ToolError::InvalidInput(format!(
            "run {} has no Jenkins run id yet (it is still being queued); wait a few seconds (get_run) and call again",
            run.name.as_deref().unwrap_or("?")
        )));
    };
    Ok(ActiveRun { run, pipeline, run_id })
}

#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq, Eq)]
pub struct PendingInput {
    pub input_id: String,
    /// The question the Jenkinsfile asks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Users/groups allowed to answer (empty: anyone with access).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitter: Option<String>,
    #[serde(skip)]
    node_id: String,
    #[serde(skip)]
    step_id: String,
}

/// The `input` steps of a run that wait for an answer, in stage order.
pub fn pending_inputs(nodes: &[BlueNode]) -> Vec<PendingInput> {
    let mut pending = Vec::new();
    for n in nodes {
        for s in n.steps.iter().flatten() {
            if let Some(i) = s.input.as_ref().filter(|_| s.state.as_deref() == Some("PAUSED")) {
                pending.push(PendingInput {
                    input_id: i.id.clone(),
                    message: i.message.clone(),
                    stage: n.display_name.clone(),
                    submitter: i.submitter.clone().filter(|x| !x.is_empty()),
                    node_id: n.id.clone(),
                    step_id: s.id.clone(),
                });
            }
        }
    }
    pending
}
