//! Toolset `repos`: GitRepository resources, for the private-repository
//! flow where a repository is registered with the credential that reads it.

use schemars::JsonSchema;
use serde::Serialize;

use crate::kubesphere::models::keys;
use crate::kubesphere::repos::GitRepository;
use crate::kubesphere::{Cluster, ListQuery};
use crate::mcp::context::ToolCtx;
use crate::mcp::registry::ToolEntry;

pub mod create_git_repository;
pub mod delete_git_repository;
pub mod get_git_repository;
pub mod list_git_repositories;
pub mod read_repository_file;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<create_git_repository::CreateGitRepository>(),
        ToolEntry::of::<list_git_repositories::ListGitRepositories>(),
        ToolEntry::of::<get_git_repository::GetGitRepository>(),
        ToolEntry::of::<read_repository_file::ReadRepositoryFile>(),
        ToolEntry::of::<delete_git_repository::DeleteGitRepository>(),
    ]
}

/// A GitRepository, compact.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GitRepositoryView {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Credential (Secret) the repository is read with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Connection status reported by KubeSphere, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

impl GitRepositoryView {
    pub(super) fn of(r: &GitRepository) -> GitRepositoryView {
        GitRepositoryView {
            name: r.metadata.name.clone(),
            provider: r.spec.provider.clone().filter(|s| !s.is_empty()),
            url: r.spec.url.clone().filter(|s| !s.is_empty()),
            credential_id: r.spec.secret.as_ref().map(|s| s.name.clone()).filter(|s| !s.is_empty()),
            description: r.metadata.annotation(keys::DESCRIPTION).map(str::to_string),
            connection: r
                .status
                .as_ref()
                .and_then(|s| s.connection.clone())
                .filter(|s| !s.is_empty()),
            created: r.metadata.creation_timestamp.clone(),
        }
    }
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
