//! Toolset `pipelines`: list, inspect, create, delete; branches and scans.

use crate::mcp::registry::ToolEntry;

pub mod create_multibranch_pipeline;
pub mod create_pipeline;
pub mod delete_pipeline;
pub mod get_pipeline;
pub mod get_scan_log;
pub mod list_branches;
pub mod list_pipelines;
pub mod scan_repository;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<list_pipelines::ListPipelines>(),
        ToolEntry::of::<get_pipeline::GetPipeline>(),
        ToolEntry::of::<create_pipeline::CreatePipeline>(),
        ToolEntry::of::<create_multibranch_pipeline::CreateMultibranchPipeline>(),
        ToolEntry::of::<delete_pipeline::DeletePipeline>(),
        ToolEntry::of::<list_branches::ListBranches>(),
        ToolEntry::of::<scan_repository::ScanRepository>(),
        ToolEntry::of::<get_scan_log::GetScanLog>(),
    ]
}
