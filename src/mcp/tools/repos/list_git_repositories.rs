//! `list_git_repositories`: the GitRepository resources of a project
//! (toolset `repos`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::GitRepositoryView;
use crate::mcp::args::{PageArgs, ProjectArgs};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::paging::PageInfo;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct ListGitRepositories;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListGitRepositoriesInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    #[serde(flatten)]
    pub page: PageArgs,
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
    const EXAMPLE: &'static str = r#"{"project": "stone-devops"}"#;
    const TOOLSET: Toolset = Toolset::Repos;
    const HINTS: Hints = Hints::READ;
    type Input = ListGitRepositoriesInput;
    type Output = ListGitRepositoriesOutput;

    async fn call(ctx: ToolCtx, input: ListGitRepositoriesInput) -> Result<ListGitRepositoriesOutput, ToolError> {
        let page = input.page.request()?;
        let project = resolve_input(&ctx, &input.scope).await?;
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
