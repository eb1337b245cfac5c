//! `delete_git_repository`: destructive; needs the user's confirmation,
//! which names what uses the repository.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::repository_users;
use crate::kubesphere::repos::GitRepository;
use crate::mcp::args::ProjectArgs;
use crate::mcp::confirm::{ConfirmedBy, Target, confirm};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct DeleteGitRepository;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct DeleteGitRepositoryInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// GitRepository to delete.
    pub repository: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeleteGitRepositoryOutput {
    pub project: ProjectRef,
    pub repository: String,
    pub deleted: bool,
    /// `user` (accepted a confirmation naming the repository) or `operator_flag` (--allow-unconfirmed-destructive).
    pub confirmed_by: ConfirmedBy,
}

impl ToolDef for DeleteGitRepository {
    const NAME: &'static str = "delete_git_repository";
    const TITLE: &'static str = "Delete a Git repository registration";
    const DESCRIPTION: &'static str = "Deletes a GitRepository registration of a DevOps project (the repository on the Git host stays). Only when the user asked: the server asks the user to confirm (MCP elicitation), naming the pipelines and applications using its URL, and deletes nothing without it.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "repository": "demo-echo"}"#;
    const TOOLSET: Toolset = Toolset::Repos;
    const HINTS: Hints = Hints::DESTROY;
    const CHECK: &'static str = "list_git_repositories";
    type Input = DeleteGitRepositoryInput;
    type Output = DeleteGitRepositoryOutput;

    async fn call(ctx: ToolCtx, input: DeleteGitRepositoryInput) -> Result<DeleteGitRepositoryOutput, ToolError> {
        let name = input.repository.trim().to_string();
        crate::kubesphere::path::validate_subdomain("git repository name", &name)?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let read = || async {
            Ok::<GitRepository, ToolError>(ctx.client.get_git_repository(&cluster, &project.name, &name).await?)
        };
        let first = read().await?;
        let url = first.spec.url.clone().unwrap_or_default();
        let users = repository_users(&ctx, &cluster, &project.name, &url).await;
        let mut used: Vec<String> = users.pipelines.iter().map(|p| format!("pipeline {p}")).collect();
        used.extend(users.applications.iter().map(|a| format!("application {a}")));
        let consequence = match (used.is_empty(), users.complete) {
            (true, true) => {
                "No pipeline or application of the project uses its URL. This cannot be undone.".to_string()
            }
            (true, false) => {
                "Whether pipelines or applications use it could not be fully checked. This cannot be undone."
                    .to_string()
            }
            (false, complete) => format!(
                "{} use{} its URL{}; they keep their own settings. This cannot be undone.",
                used.join(", "),
                if used.len() == 1 { "s" } else { "" },
                if complete {
                    ""
                } else {
                    " (maybe others: the check was incomplete)"
                }
            ),
        };
        let describe = |r: &GitRepository| Target {
            description: format!(
                "git repository {} ({}) in {}",
                r.metadata.name,
                r.spec.url.as_deref().unwrap_or("no URL"),
                project.describe()
            ),
            fingerprint: format!(
                "uid {}, resourceVersion {}",
                r.metadata.uid.as_deref().unwrap_or("?"),
                r.metadata.resource_version.as_deref().unwrap_or("?")
            ),
        };
        let (_, confirmed_by) = confirm(&ctx, Self::NAME, "Delete", &consequence, read, describe).await?;
        ctx.client.delete_git_repository(&cluster, &project.name, &name).await?;
        Ok(DeleteGitRepositoryOutput {
            repository: name,
            project,
            deleted: true,
            confirmed_by,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, ctx_unconfirmed, only_reads, sim};

    #[tokio::test]
    async fn without_elicitation_nothing_is_deleted() {
        let sim = sim().await;
        let err = call(
            &ctx(&sim),
            "delete_git_repository",
            serde_json::json!({"project": "stone-devops", "repository": "demo-echo"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "confirmation_required");
        assert!(err.to_string().contains("git repository demo-echo"), "{err}");
        assert!(only_reads(&sim));
    }

    #[tokio::test]
    async fn the_operator_flag_deletes() {
        let sim = sim().await;
        let c = ctx_unconfirmed(&sim);
        let out = call(
            &c,
            "delete_git_repository",
            serde_json::json!({"project": "stone-devops", "repository": "demo-echo"}),
        )
        .await
        .unwrap();
        assert_eq!(out["deleted"], true);
        let list = call(
            &c,
            "list_git_repositories",
            serde_json::json!({"project": "stone-devops"}),
        )
        .await
        .unwrap();
        assert_eq!(list["repositories"], serde_json::json!([]));
    }
}
