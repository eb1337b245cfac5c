//! Toolset `credentials`: list, create, rotate project credentials (deleting one is in `cleanup`).
//! What the tools share: the credential view and kinds, and the secret
//! values of a credential type.

use schemars::JsonSchema;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::kubesphere::Cluster;
use crate::kubesphere::creds::{Credential, CredentialData, CredentialType};
use crate::mcp::confirm::Target;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::ToolEntry;
use crate::mcp::resolve::ProjectRef;
use crate::mcp::secret::SecretArg;
use crate::mcp::syncview::SyncStatus;

pub mod create_credential;
pub mod list_credentials;
pub mod update_credential;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<list_credentials::ListCredentials>(),
        ToolEntry::of::<create_credential::CreateCredential>(),
        ToolEntry::of::<update_credential::UpdateCredential>(),
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

/// The value fields of create_credential's and update_credential's inputs,
/// written once (the type says which are needed).
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct CredentialValueArgs {
    /// basic-auth, ssh-auth: the user name (not secret).
    #[serde(default)]
    pub username: Option<String>,
    /// basic-auth: the password or, better, an access token. From the user only.
    #[serde(default)]
    pub password: Option<SecretArg>,
    /// ssh-auth: the private key text (PEM or OpenSSH), not the public key. From the user only.
    #[serde(default)]
    pub private_key: Option<SecretArg>,
    /// ssh-auth: passphrase of the private key, only if it has one.
    #[serde(default)]
    pub passphrase: Option<SecretArg>,
    /// secret-text: the secret, e.g. an API token. From the user only.
    #[serde(default)]
    pub secret: Option<SecretArg>,
    /// kubeconfig: the whole kubeconfig file. From the user only.
    #[serde(default)]
    pub content: Option<SecretArg>,
}

impl CredentialValueArgs {
    pub(crate) fn view(&self) -> CredentialValues<'_> {
        CredentialValues {
            username: self.username.as_deref(),
            password: self.password.as_ref(),
            private_key: self.private_key.as_ref(),
            passphrase: self.passphrase.as_ref(),
            secret: self.secret.as_ref(),
            content: self.content.as_ref(),
        }
    }
}

/// The value fields, borrowed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CredentialValues<'a> {
    pub username: Option<&'a str>,
    pub password: Option<&'a SecretArg>,
    pub private_key: Option<&'a SecretArg>,
    pub passphrase: Option<&'a SecretArg>,
    pub secret: Option<&'a SecretArg>,
    pub content: Option<&'a SecretArg>,
}

/// Checks that exactly the fields of the type are given and builds the data.
/// Errors name fields, never values.
pub(crate) fn credential_data(kind: CredentialKind, input: CredentialValues<'_>) -> Result<CredentialData, ToolError> {
    let type_name = match kind {
        CredentialKind::BasicAuth => "basic-auth",
        CredentialKind::SshAuth => "ssh-auth",
        CredentialKind::SecretText => "secret-text",
        CredentialKind::Kubeconfig => "kubeconfig",
    };
    let given: [(&str, bool); 6] = [
        ("username", input.username.is_some()),
        ("password", input.password.is_some()),
        ("private_key", input.private_key.is_some()),
        ("passphrase", input.passphrase.is_some()),
        ("secret", input.secret.is_some()),
        ("content", input.content.is_some()),
    ];
    let allowed: &[&str] = match kind {
        CredentialKind::BasicAuth => &["username", "password"],
        CredentialKind::SshAuth => &["username", "private_key", "passphrase"],
        CredentialKind::SecretText => &["secret"],
        CredentialKind::Kubeconfig => &["content"],
    };
    let extra: Vec<&str> = given
        .iter()
        .filter(|(k, g)| *g && !allowed.contains(k))
        .map(|(k, _)| *k)
        .collect();
    if !extra.is_empty() {
        return Err(ToolError::InvalidInput(format!(
            "{} not used by type {type_name} (it takes {}); remove {} or change `type`",
            extra.join(", "),
            allowed.join(", "),
            if extra.len() == 1 { "it" } else { "them" }
        )));
    }
    let missing = |field: &str, what: &str| {
        ToolError::InvalidInput(format!(
            "type {type_name} needs `{field}` ({what}); ask the user for it, never make one up"
        ))
    };
    let secret = |v: Option<&SecretArg>, field: &str, what: &str| -> Result<secrecy::SecretString, ToolError> {
        match v {
            Some(s) if !s.is_blank() => Ok(s.secret().clone()),
            _ => Err(missing(field, what)),
        }
    };
    let username = || -> Result<String, ToolError> {
        let u = input.username.map(str::trim).unwrap_or_default();
        if u.is_empty() {
            return Err(missing("username", "the account name"));
        }
        if u.contains(['\n', '\r']) {
            return Err(ToolError::InvalidInput(
                "username must be one line; pass only the account name".into(),
            ));
        }
        Ok(u.to_string())
    };
    Ok(match kind {
        CredentialKind::BasicAuth => CredentialData::BasicAuth {
            username: username()?,
            password: secret(input.password, "password", "the password or access token")?,
        },
        CredentialKind::SshAuth => {
            let username = username()?;
            let private_key = secret(input.private_key, "private_key", "the private key text")?;
            let key = private_key.expose_secret().trim_start();
            if ["ssh-rsa ", "ssh-ed25519 ", "ssh-dss ", "ecdsa-sha2-"]
                .iter()
                .any(|p| key.starts_with(p))
            {
                return Err(ToolError::InvalidInput(
                    "private_key holds a PUBLIC key (it starts like an authorized_keys line); the credential needs the private key, e.g. the content of ~/.ssh/id_ed25519. Ask the user for it".into(),
                ));
            }
            if !key.contains("PRIVATE KEY") {
                return Err(ToolError::InvalidInput(
                    "private_key does not look like a private key (no \"PRIVATE KEY\" header); pass the whole key file text including the BEGIN/END lines".into(),
                ));
            }
            let passphrase = input
                .passphrase
                .filter(|p| !p.secret().expose_secret().is_empty())
                .map(|p| p.secret().clone());
            CredentialData::SshAuth {
                username,
                private_key,
                passphrase,
            }
        }
        CredentialKind::SecretText => CredentialData::SecretText {
            secret: secret(input.secret, "secret", "the secret text, e.g. an API token")?,
        },
        CredentialKind::Kubeconfig => {
            let content = secret(input.content, "content", "the kubeconfig file content")?;
            if !content.expose_secret().contains("clusters") {
                return Err(ToolError::InvalidInput(
                    "content does not look like a kubeconfig (it has no `clusters` section); pass the whole kubeconfig file".into(),
                ));
            }
            CredentialData::Kubeconfig { content }
        }
    })
}

/// The pipelines recorded as using a credential (`None`: not known).
/// Upstream answers every Jenkins-side failure of the usage route with 500
/// (U5); a credential Jenkins does not have yet is a 404. Used by the
/// confirmation questions of update_credential and delete_credential.
pub async fn credential_users(ctx: &ToolCtx, cluster: &Cluster, namespace: &str, id: &str) -> Option<Vec<String>> {
    match ctx.client.credential_usage(cluster, namespace, id).await {
        Ok(u) => Some(u),
        Err(e) => {
            tracing::debug!(error = %e, "credential usage unknown");
            None
        }
    }
}

/// What a confirmation about a credential names, and what must not have
/// changed between the question and the write.
pub fn credential_target(c: &Credential, project: &ProjectRef) -> Target {
    Target {
        description: format!(
            "credential {} ({}) in {}",
            c.metadata.name,
            c.kind.short_name(),
            project.describe()
        ),
        // The sync status annotation changes on its own: not part of it.
        fingerprint: format!(
            "uid {}, type {}",
            c.metadata.uid.as_deref().unwrap_or("?"),
            c.kind.short_name()
        ),
    }
}
