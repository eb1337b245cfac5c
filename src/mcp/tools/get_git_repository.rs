//! `get_git_repository`: one registered GitRepository, and what in its
//! project refers to it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::git_repositories::GitRepositoryView;
use crate::kubesphere::{Cluster, ListQuery};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

crate::project_scoped!(GetGitRepositoryInput);

pub struct GetGitRepository;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetGitRepositoryInput {
    /// DevOps project as the user named it (full or short name); an ambiguous name is never guessed.
    pub project: String,
    /// GitRepository name (list_git_repositories shows them).
    pub repository: String,
    #[serde(default)]
    pub workspace: Option<String>,
    #[serde(default)]
    pub cluster: Option<String>,
}

/// What in the project points at the repository's URL.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct RepositoryUsers {
    /// Multi-branch pipelines whose source is this repository.
    pub pipelines: Vec<String>,
    /// GitOps applications deploying from this repository (empty when GitOps is not installed).
    pub applications: Vec<String>,
    /// False when a list was too long or failed: there may be more.
    pub complete: bool,
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

/// A repository URL reduced to host/path (scheme, `git@`, `.git`, case and a
/// trailing `/` ignored), for matching.
pub(crate) fn url_key(url: &str) -> String {
    let u = url.trim();
    let u = u.split_once("://").map(|(_, r)| r).unwrap_or(u);
    let u = u.rsplit_once('@').map(|(_, r)| r).unwrap_or(u);
    u.replacen(':', "/", 1)
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_ascii_lowercase()
}

/// The pipelines and applications of a project that use `url` (one page
/// of 500 each).
pub(crate) async fn repository_users(ctx: &ToolCtx, cluster: &Cluster, namespace: &str, url: &str) -> RepositoryUsers {
    let key = url_key(url);
    let mut out = RepositoryUsers {
        complete: !key.is_empty(),
        ..Default::default()
    };
    if key.is_empty() {
        return out;
    }
    let q = ListQuery {
        limit: Some(500),
        ..Default::default()
    };
    match ctx.client.list_pipelines(cluster, namespace, &q).await {
        Ok(p) => {
            out.complete &= p.total <= p.items.len() as u64;
            out.pipelines = p
                .items
                .iter()
                .filter(|pl| {
                    pl.spec
                        .multi_branch_pipeline
                        .as_ref()
                        .and_then(|m| m.repository_url())
                        .is_some_and(|u| url_key(&u) == key)
                })
                .map(|pl| pl.metadata.name.clone())
                .collect();
        }
        Err(e) => {
            tracing::debug!(error = %e, "pipelines using the repository unknown");
            out.complete = false;
        }
    }
    match ctx.client.list_applications(cluster, namespace, &q).await {
        Ok(p) => {
            out.complete &= p.total <= p.items.len() as u64;
            out.applications = p
                .items
                .iter()
                .filter(|a| {
                    a.argo_spec()
                        .and_then(|s| s.source.as_ref())
                        .is_some_and(|s| url_key(&s.repo_url) == key)
                })
                .map(|a| a.metadata.name.clone())
                .collect();
        }
        // No GitOps extension: no application can use it.
        Err(crate::kubesphere::KsError::NotFound { .. }) => {}
        Err(e) => {
            tracing::debug!(error = %e, "applications using the repository unknown");
            out.complete = false;
        }
    }
    out
}

impl ToolDef for GetGitRepository {
    const NAME: &'static str = "get_git_repository";
    const TITLE: &'static str = "Get a Git repository";
    const DESCRIPTION: &'static str = "One registered Git repository (GitRepository resource) of a DevOps project: provider, URL, the credential that reads it, connection status, and the multi-branch pipelines and GitOps applications of the project that use its URL. read_repository_file reads its files.";
    const TOOLSET: Toolset = Toolset::Repos;
    const HINTS: Hints = Hints::READ;
    type Input = GetGitRepositoryInput;
    type Output = GetGitRepositoryOutput;

    async fn call(ctx: ToolCtx, input: GetGitRepositoryInput) -> Result<GetGitRepositoryOutput, ToolError> {
        let name = input.repository.trim().to_string();
        crate::kubesphere::path::validate_subdomain("git repository name", &name)?;
        let project = resolve_input(&ctx, &input).await?;
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
        use super::url_key;
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
