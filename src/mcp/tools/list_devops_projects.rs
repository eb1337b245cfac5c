//! `list_devops_projects`: DevOps projects of workspaces on clusters.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::paging::{PageInfo, PageRequest};
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, Searched, gather};

pub struct ListDevopsProjects;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListDevopsProjectsInput {
    /// Workspace to list; omit for every workspace of the user.
    #[serde(default)]
    pub workspace: Option<String>,
    /// Cluster to list (`host` or a member cluster); omit for all configured clusters.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Page size (1-500, default 50).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `continue` value of the previous page.
    #[serde(default, rename = "continue")]
    pub continue_token: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListDevopsProjectsOutput {
    /// Projects; `name` is the full name every other tool takes.
    pub projects: Vec<ProjectRef>,
    #[serde(flatten)]
    pub page: PageInfo,
    pub searched: Searched,
}

impl ToolDef for ListDevopsProjects {
    const NAME: &'static str = "list_devops_projects";
    const TITLE: &'static str = "List DevOps projects";
    const DESCRIPTION: &'static str = "Lists the DevOps projects (namespaces) this user can reach, with full name, short name (generateName), workspace, cluster and creation time. Without workspace/cluster it searches every workspace of the user on every configured cluster. Full names are what other tools take as `project`.";
    const TOOLSET: Toolset = Toolset::Context;
    const HINTS: Hints = Hints::READ;
    type Input = ListDevopsProjectsInput;
    type Output = ListDevopsProjectsOutput;

    async fn call(ctx: ToolCtx, input: ListDevopsProjectsInput) -> Result<ListDevopsProjectsOutput, ToolError> {
        let page = PageRequest::parse(input.limit, input.continue_token.as_deref())?;
        // A listing is what the user asked for: always fresh.
        let (projects, searched) = gather(&ctx.client, input.workspace.as_deref(), input.cluster.as_deref(), true).await?;
        let (items, info) = page.slice(projects);
        Ok(ListDevopsProjectsOutput {
            projects: items,
            page: info,
            searched,
        })
    }
}
