//! `list_git_repositories`: the GitRepository resources of a project
//! (toolset `repos`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::GitRepositoryView;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::paging::{PageInfo, PageRequest};
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

crate::project_scoped!(ListGitRepositoriesInput);

pub struct ListGitRepositories;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListGitRepositoriesInput {
    /// DevOps project as the user named it (full or short name); an ambiguous name is never guessed.
    pub project: String,
    /// Page size (default 50, at most 500).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `continue` from the previous page.
    #[serde(default, rename = "continue")]
    pub continue_token: Option<String>,
    #[serde(default)]
    pub workspace: Option<String>,
    #[serde(default)]
    pub cluster: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListGitRepositoriesOutput {
    pub project: ProjectRef,
    pub repositories: Vec<GitRepositoryView>,
    #[serde(flatten)]
    pub page: PageInfo,
}

impl ToolDef for ListGitRepositories {
    const NAME: &'static str = "list_git_repositories";
    const TITLE: &'static str = "List Git repositories";
    const DESCRIPTION: &'static str = "Lists the GitRepository resources of a DevOps project: name, provider, URL, the credential that reads it, connection status. Paged.";
    const TOOLSET: Toolset = Toolset::Repos;
    const HINTS: Hints = Hints::READ;
    type Input = ListGitRepositoriesInput;
    type Output = ListGitRepositoriesOutput;

    async fn call(ctx: ToolCtx, input: ListGitRepositoriesInput) -> Result<ListGitRepositoriesOutput, ToolError> {
        let page = PageRequest::parse(input.limit, input.continue_token.as_deref())?;
        let project = resolve_input(&ctx, &input).await?;
        let cluster = project.cluster();
        let (items, info) = page
            .fetch(|p| ctx.client.list_git_repositories(&cluster, &project.name, p))
            .await?;
        Ok(ListGitRepositoriesOutput {
            repositories: items.iter().map(GitRepositoryView::of).collect(),
            project,
            page: info,
        })
    }
}
