//! Toolset `context`: identity, workspaces, DevOps projects.

use crate::mcp::registry::ToolEntry;

pub mod list_devops_projects;
pub mod list_workspaces;
pub mod resolve_devops_project;
pub mod whoami;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<whoami::Whoami>(),
        ToolEntry::of::<list_workspaces::ListWorkspaces>(),
        ToolEntry::of::<list_devops_projects::ListDevopsProjects>(),
        ToolEntry::of::<resolve_devops_project::ResolveDevopsProject>(),
    ]
}
