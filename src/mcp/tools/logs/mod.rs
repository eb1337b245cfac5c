//! Toolset `logs`: logs, artifacts, diagnosis.

use crate::mcp::registry::ToolEntry;

pub mod diagnose_run;
pub mod download_artifact;
pub mod get_run_log;
pub mod list_artifacts;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<get_run_log::GetRunLog>(),
        ToolEntry::of::<diagnose_run::DiagnoseRun>(),
        ToolEntry::of::<list_artifacts::ListArtifacts>(),
        ToolEntry::of::<download_artifact::DownloadArtifact>(),
    ]
}
