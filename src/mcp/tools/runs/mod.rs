//! Toolset `runs`: trigger, follow, stop, approve.

use crate::mcp::registry::ToolEntry;

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
