//! `get_git_repository`: one registered GitRepository, and what in its
//! project refers to it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{GitRepositoryView, RepositoryUsers, repository_users};
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct GetGitRepository;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct GetGitRepositoryInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// GitRepository name (list_git_repositories shows them).
    pub repository: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GetGitRepositoryOutput {
    pub project: ProjectRef,
    pub repository: GitRepositoryView,
    /// Namespace of the credential, when it is not the project's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_namespace: Option<String>,
    /// Status message reported by KubeSphere, when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub used_by: RepositoryUsers,
}

impl ToolDef for GetGitRepository {
    const NAME: &'static str = "get_git_repository";
    const TITLE: &'static str = "Get a Git repository";
    const DESCRIPTION: &'static str = "One registered Git repository (GitRepository resource) of a DevOps project: provider, URL, the credential that reads it, connection status, and the multi-branch pipelines and GitOps applications of the project that use its URL. read_repository_file reads its files.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "repository": "demo-echo"}"#;
    const TOOLSET: Toolset = Toolset::Repos;
    const HINTS: Hints = Hints::READ;
    type Input = GetGitRepositoryInput;
    type Output = GetGitRepositoryOutput;

    async fn call(ctx: ToolCtx, input: GetGitRepositoryInput) -> Result<GetGitRepositoryOutput, ToolError> {
        let name = input.repository.trim().to_string();
        crate::kubesphere::path::validate_subdomain("git repository name", &name)?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let repo = ctx.client.get_git_repository(&cluster, &project.name, &name).await?;
        let used_by = repository_users(&ctx, &cluster, &project.name, repo.spec.url.as_deref().unwrap_or("")).await;
        Ok(GetGitRepositoryOutput {
            credential_namespace: repo
                .spec
                .secret
                .as_ref()
                .and_then(|s| s.namespace.clone())
                .filter(|n| !n.is_empty() && *n != project.name),
            message: repo
                .status
                .as_ref()
                .and_then(|s| s.message.clone())
                .filter(|m| !m.is_empty()),
            repository: GitRepositoryView::of(&repo),
            used_by,
            project,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[test]
    fn urls_match_across_spellings() {
        use super::super::url_key;
        let k = url_key("https://github.com/kubesphere-sigs/demo-echo.git");
        assert_eq!(k, "github.com/kubesphere-sigs/demo-echo");
        assert_eq!(url_key("git@github.com:kubesphere-sigs/demo-echo.git"), k);
        assert_eq!(url_key("https://GitHub.com/kubesphere-sigs/demo-echo/"), k);
    }

    #[tokio::test]
    async fn shows_the_repository_and_its_pipeline() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "get_git_repository",
            serde_json::json!({"project": "stone-devops", "repository": "demo-echo"}),
        )
        .await
        .unwrap();
        assert_eq!(out["repository"]["credential_id"], "github-token");
        assert_eq!(out["used_by"]["pipelines"], serde_json::json!(["echo-pipeline"]));
        assert_eq!(out["used_by"]["complete"], true);
        let err = call(
            &ctx(&sim),
            "get_git_repository",
            serde_json::json!({"project": "stone-devops", "repository": "nope"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "not_found");
    }
}
