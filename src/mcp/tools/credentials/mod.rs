//! Toolset `credentials`: list, create, delete project credentials.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::creds::{Credential, CredentialType};
use crate::mcp::registry::ToolEntry;
use crate::mcp::syncview::SyncStatus;

pub mod create_credential;
pub mod delete_credential;
pub mod list_credentials;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<list_credentials::ListCredentials>(),
        ToolEntry::of::<create_credential::CreateCredential>(),
        ToolEntry::of::<delete_credential::DeleteCredential>(),
    ]
}

/// The four credential types, by their short names.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum CredentialKind {
    #[serde(rename = "basic-auth")]
    BasicAuth,
    #[serde(rename = "ssh-auth")]
    SshAuth,
    #[serde(rename = "secret-text")]
    SecretText,
    #[serde(rename = "kubeconfig")]
    Kubeconfig,
}

impl CredentialKind {
    pub fn upstream(self) -> CredentialType {
        match self {
            CredentialKind::BasicAuth => CredentialType::BasicAuth,
            CredentialKind::SshAuth => CredentialType::SshAuth,
            CredentialKind::SecretText => CredentialType::SecretText,
            CredentialKind::Kubeconfig => CredentialType::Kubeconfig,
        }
    }

    pub fn of(t: CredentialType) -> CredentialKind {
        match t {
            CredentialType::BasicAuth => CredentialKind::BasicAuth,
            CredentialType::SshAuth => CredentialKind::SshAuth,
            CredentialType::SecretText => CredentialKind::SecretText,
            CredentialType::Kubeconfig => CredentialKind::Kubeconfig,
        }
    }
}

/// One credential: never any secret data.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CredentialSummary {
    /// The credential id pipelines use (e.g. as `credential_id`).
    pub id: String,
    /// basic-auth, ssh-auth, secret-text or kubeconfig.
    #[serde(rename = "type")]
    pub kind: CredentialKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    /// Sync to Jenkins: successful (pipelines can use it) or pending (not yet; KubeSphere never reports a failed sync, so one pending for minutes has failed).
    pub sync_status: SyncStatus,
    /// Creation time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

impl CredentialSummary {
    pub fn of(c: &Credential) -> CredentialSummary {
        CredentialSummary {
            id: c.metadata.name.clone(),
            kind: CredentialKind::of(c.kind),
            description: c.description().map(str::to_string),
            creator: c.creator().map(str::to_string),
            sync_status: SyncStatus::of(c.sync_status()),
            created: c.metadata.creation_timestamp.clone(),
        }
    }
}
