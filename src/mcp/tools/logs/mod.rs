//! Toolset `logs`: run logs and diagnosis (artifacts are their own toolset).

use crate::mcp::registry::ToolEntry;

pub mod diagnose_run;
pub mod get_run_log;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<get_run_log::GetRunLog>(),
        ToolEntry::of::<diagnose_run::DiagnoseRun>(),
    ]
}
