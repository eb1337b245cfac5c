//! Toolset `runs`: trigger, follow, re-run, approve.

use schemars::JsonSchema;
use serde::Serialize;

use crate::kubesphere::models::BlueNode;
use crate::mcp::registry::ToolEntry;

pub mod approve_input;
pub mod get_run;
pub mod list_runs;
pub mod rerun;
pub mod trigger_run;
pub mod wait_for_run;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<trigger_run::TriggerRun>(),
        ToolEntry::of::<list_runs::ListRuns>(),
        ToolEntry::of::<get_run::GetRun>(),
        ToolEntry::of::<wait_for_run::WaitForRun>(),
        ToolEntry::of::<rerun::Rerun>(),
        ToolEntry::of::<approve_input::ApproveInput>(),
    ]
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
