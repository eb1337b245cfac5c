//! Toolset `projects`: DevOps project management (workspace admins).

use crate::mcp::registry::ToolEntry;

pub mod create_devops_project;
pub mod delete_devops_project;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<create_devops_project::CreateDevopsProject>(),
        ToolEntry::of::<delete_devops_project::DeleteDevopsProject>(),
    ]
}
