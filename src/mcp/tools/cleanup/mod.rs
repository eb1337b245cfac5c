//! Toolset `cleanup`: stopping runs and deleting runs, pipelines and
//! credentials. Every tool here is destructive and goes through the
//! confirmation rule (`crate::mcp::confirm`); off by default, one
//! `enable_toolset` away.

use crate::mcp::registry::ToolEntry;

pub mod delete_credential;
pub mod delete_pipeline;
pub mod delete_run;
pub mod stop_run;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<stop_run::StopRun>(),
        ToolEntry::of::<delete_run::DeleteRun>(),
        ToolEntry::of::<delete_pipeline::DeletePipeline>(),
        ToolEntry::of::<delete_credential::DeleteCredential>(),
    ]
}
