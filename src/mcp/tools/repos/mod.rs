//! Toolset `repos`: GitRepository resources, for the private-repository
//! flow where a repository is registered with the credential that reads it.

use schemars::JsonSchema;
use serde::Serialize;

use crate::kubesphere::models::keys;
use crate::kubesphere::repos::GitRepository;
use crate::mcp::registry::ToolEntry;

pub mod create_git_repository;
pub mod list_git_repositories;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<create_git_repository::CreateGitRepository>(),
        ToolEntry::of::<list_git_repositories::ListGitRepositories>(),
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
