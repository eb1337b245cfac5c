//! Toolset `gitops`: GitOps applications.

use crate::mcp::registry::ToolEntry;

pub mod create_application;
pub mod delete_application;
pub mod get_application_status;
pub mod list_applications;
pub mod sync_application;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<list_applications::ListApplications>(),
        ToolEntry::of::<get_application_status::GetApplicationStatus>(),
        ToolEntry::of::<create_application::CreateApplication>(),
        ToolEntry::of::<sync_application::SyncApplication>(),
        ToolEntry::of::<delete_application::DeleteApplication>(),
    ]
}
