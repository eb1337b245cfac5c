//! The tools, one file each: name, description, input/output types,
//! handler and tests together.

use super::registry::ToolEntry;

pub mod get_pipeline;
pub mod list_devops_projects;
pub mod list_pipelines;
pub mod list_workspaces;
pub mod resolve_devops_project;
pub mod whoami;

/// Every tool of the binary, in catalog order.
pub fn all() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<whoami::Whoami>(),
        ToolEntry::of::<list_workspaces::ListWorkspaces>(),
        ToolEntry::of::<list_devops_projects::ListDevopsProjects>(),
        ToolEntry::of::<resolve_devops_project::ResolveDevopsProject>(),
        ToolEntry::of::<list_pipelines::ListPipelines>(),
        ToolEntry::of::<get_pipeline::GetPipeline>(),
    ]
}

/// Description text shared by every `project` input.
pub const PROJECT_DOC: &str = "DevOps project as the user named it: full name (e.g. devopstestc2nj7) or short name (e.g. devopstest). Resolved like resolve_devops_project; an ambiguous name is never guessed.";
