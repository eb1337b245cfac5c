//! DevOps credentials: Kubernetes Secrets of four types, through
//! `DV3/namespaces/{ns}/credentials`.
//!
//! Upstream facts this module is built around (API reference §9):
//! * a GET by name returns ANY Secret of the namespace, unmasked, whatever
//!   its type; the list returns only the four credential types, masked;
//! * PUT replaces all `data`.
//!
//! So nothing here keeps a data value of a Secret read back: [`Credential`]
//! holds metadata, the type and the names of the data keys, never a value,
//! and every read refuses Secrets that are not one of the four types.
//! Values going up ([`CredentialData`]) are [`SecretString`]s, and
//! [`scrub_error`] removes them from any upstream error text.

use std::collections::BTreeMap;

use base64::Engine;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::client::{Body, KsClient};
use super::error::{KsError, KsResult};
use super::models::{List, ObjectMeta, Page, keys};
use super::path::{ApiPath, Cluster, gv, validate_label, validate_subdomain};
use super::redact::{Scrubber, WITHHELD};

/// Annotation keys of credentials.
pub mod cred_keys {
    /// `pending` after a change, then `successful` once Jenkins has it;
    /// upstream never writes `failed` or a sync message (U11).
    pub const SYNC_STATUS: &str = "credential.devops.kubesphere.io/syncstatus";
}

/// The four credential types ks-devops syncs to Jenkins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CredentialType {
    BasicAuth,
    SshAuth,
    SecretText,
    Kubeconfig,
}

impl CredentialType {
    pub const ALL: [CredentialType; 4] = [
        CredentialType::BasicAuth,
        CredentialType::SshAuth,
        CredentialType::SecretText,
        CredentialType::Kubeconfig,
    ];

    /// The Secret `type` upstream uses.
    pub fn secret_type(self) -> &'static str {
        match self {
            CredentialType::BasicAuth => "credential.devops.kubesphere.io/basic-auth",
            CredentialType::SshAuth => "credential.devops.kubesphere.io/ssh-auth",
            CredentialType::SecretText => "credential.devops.kubesphere.io/secret-text",
            CredentialType::Kubeconfig => "credential.devops.kubesphere.io/kubeconfig",
        }
    }

    /// The short name (`basic-auth`, ...).
    pub fn short_name(self) -> &'static str {
        self.secret_type()
            .strip_prefix("credential.devops.kubesphere.io/")
            .unwrap_or_default()
    }

    pub fn from_secret_type(t: &str) -> Option<CredentialType> {
        CredentialType::ALL.into_iter().find(|c| c.secret_type() == t)
    }

    /// Every data key of the type.
    pub fn data_keys(self) -> &'static [&'static str] {
        match self {
            CredentialType::BasicAuth => &["username", "password"],
            CredentialType::SshAuth => &["username", "private_key", "passphrase"],
            CredentialType::SecretText => &["secret"],
            CredentialType::Kubeconfig => &["content"],
        }
    }

    /// The data keys upstream blanks in its masked answers.
    pub fn secret_keys(self) -> &'static [&'static str] {
        match self {
            CredentialType::BasicAuth => &["password"],
            CredentialType::SshAuth => &["private_key", "passphrase"],
            CredentialType::SecretText => &["secret"],
            CredentialType::Kubeconfig => &["content"],
        }
    }
}

/// A credential as read back: no data value is kept, ever.
#[derive(Clone, Debug)]
pub struct Credential {
    pub metadata: ObjectMeta,
    pub kind: CredentialType,
    /// Names of the data keys present (values are dropped on reading).
    pub data_keys: Vec<String>,
}

impl Credential {
    pub fn description(&self) -> Option<&str> {
        self.metadata.annotation(keys::DESCRIPTION).filter(|d| !d.is_empty())
    }
    pub fn creator(&self) -> Option<&str> {
        self.metadata.annotation(keys::CREATOR).filter(|d| !d.is_empty())
    }
    /// `pending` or `successful` (sync to Jenkins; U11: never `failed`).
    pub fn sync_status(&self) -> Option<&str> {
        self.metadata
            .annotation(cred_keys::SYNC_STATUS)
            .filter(|d| !d.is_empty())
    }
}

/// What is read of a Secret: metadata, type and key names. The `data`
/// values are skipped by the deserializer (`IgnoredAny`), so an unmasked
/// answer never lands in a typed value.
#[derive(Deserialize)]
struct RawSecret {
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    data: Option<BTreeMap<String, serde::de::IgnoredAny>>,
}

impl RawSecret {
    fn secret_type(&self) -> &str {
        self.kind.as_deref().filter(|t| !t.is_empty()).unwrap_or("Opaque")
    }

    fn into_credential(self) -> Option<Credential> {
        let kind = CredentialType::from_secret_type(self.secret_type())?;
        Some(Credential {
            metadata: self.metadata,
            kind,
            data_keys: self.data.map(|d| d.into_keys().collect()).unwrap_or_default(),
        })
    }
}

/// The Jenkins usage view (only the fields read).
#[derive(Deserialize)]
struct CredentialUsage {
    #[serde(default)]
    fingerprint: Option<UsageFingerprint>,
}

#[derive(Deserialize)]
struct UsageFingerprint {
    #[serde(default)]
    usage: Vec<UsageEntry>,
}

#[derive(Deserialize)]
struct UsageEntry {
    #[serde(default)]
    name: String,
}

/// The data of a new credential. Secret parts are [`SecretString`]s
/// (their `Debug` prints `[REDACTED]`).
#[derive(Debug)]
pub enum CredentialData {
    BasicAuth {
        username: String,
        password: SecretString,
    },
    SshAuth {
        username: String,
        private_key: SecretString,
        passphrase: Option<SecretString>,
    },
    SecretText {
        secret: SecretString,
    },
    Kubeconfig {
        content: SecretString,
    },
}

impl CredentialData {
    pub fn kind(&self) -> CredentialType {
        match self {
            CredentialData::BasicAuth { .. } => CredentialType::BasicAuth,
            CredentialData::SshAuth { .. } => CredentialType::SshAuth,
            CredentialData::SecretText { .. } => CredentialType::SecretText,
            CredentialData::Kubeconfig { .. } => CredentialType::Kubeconfig,
        }
    }

    /// The secret values (for scrubbing).
    pub fn secrets(&self) -> Vec<&SecretString> {
        match self {
            CredentialData::BasicAuth { password, .. } => vec![password],
            CredentialData::SshAuth {
                private_key,
                passphrase,
                ..
            } => std::iter::once(private_key).chain(passphrase.iter()).collect(),
            CredentialData::SecretText { secret } => vec![secret],
            CredentialData::Kubeconfig { content } => vec![content],
        }
    }

    /// `data` of the Secret: every value base64-encoded, as the console sends it.
    fn encoded(&self) -> serde_json::Map<String, serde_json::Value> {
        let b64 = |s: &str| serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(s));
        let mut d = serde_json::Map::new();
        match self {
            CredentialData::BasicAuth { username, password } => {
                d.insert("username".into(), b64(username));
                d.insert("password".into(), b64(password.expose_secret()));
            }
            CredentialData::SshAuth {
                username,
                private_key,
                passphrase,
            } => {
                d.insert("username".into(), b64(username));
                d.insert("private_key".into(), b64(private_key.expose_secret()));
                if let Some(p) = passphrase {
                    d.insert("passphrase".into(), b64(p.expose_secret()));
                }
            }
            CredentialData::SecretText { secret } => {
                d.insert("secret".into(), b64(secret.expose_secret()));
            }
            CredentialData::Kubeconfig { content } => {
                d.insert("content".into(), b64(content.expose_secret()));
            }
        }
        d
    }
}

/// A credential to create.
#[derive(Debug)]
pub struct NewCredential {
    /// The credential id (Secret name) pipelines refer to.
    pub name: String,
    pub description: Option<String>,
    /// Written to `kubesphere.io/creator` (upstream does not add it).
    pub creator: Option<String>,
    pub data: CredentialData,
}

fn credentials_path(namespace: &str) -> KsResult<ApiPath> {
    validate_label("project (namespace) name", namespace)?;
    Ok(ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
        .lit("namespaces")
        .seg(namespace)
        .lit("credentials"))
}

fn credential_path(namespace: &str, name: &str) -> KsResult<ApiPath> {
    validate_subdomain("credential id", name)?;
    Ok(credentials_path(namespace)?.seg(name))
}

impl KsClient {
    /// `GET DV3/namespaces/{ns}/credentials`: the four credential types
    /// only (upstream filters too; this filters again), no data values.
    pub async fn list_credentials(
        &self,
        cluster: &Cluster,
        namespace: &str,
        query: &super::ListQuery,
    ) -> KsResult<Page<Credential>> {
        let path = credentials_path(namespace)?;
        let list: Option<List<RawSecret>> = self.get_json(cluster, &path, &query.params()).await?;
        let page = Page::from_list(list);
        let before = page.items.len();
        let items: Vec<Credential> = page.items.into_iter().filter_map(RawSecret::into_credential).collect();
        let dropped = (before - items.len()) as u64;
        Ok(Page {
            total: page.total.saturating_sub(dropped).max(items.len() as u64),
            items,
        })
    }

    /// `GET DV3/namespaces/{ns}/credentials/{name}`. Upstream answers with
    /// any Secret of that name, unmasked: a Secret that is not a credential
    /// is refused here (`NotFound`) and no data value is kept either way.
    pub async fn get_credential(&self, cluster: &Cluster, namespace: &str, name: &str) -> KsResult<Credential> {
        let path = credential_path(namespace, name)?;
        let raw: RawSecret = self.get_json(cluster, &path, &[]).await?;
        let ty = raw.secret_type().to_string();
        raw.into_credential().ok_or_else(|| KsError::NotFound {
            path: path.for_cluster(cluster),
            message: format!(
                "{name:?} is a Secret of type {ty:?}, not a DevOps credential; this server neither reads nor changes other Secrets"
            ),
        })
    }

    /// `POST DV3/namespaces/{ns}/credentials`. Never retried. Any upstream
    /// error text is scrubbed of the values sent.
    pub async fn create_credential(
        &self,
        cluster: &Cluster,
        namespace: &str,
        new: &NewCredential,
    ) -> KsResult<Credential> {
        let path = credentials_path(namespace)?;
        validate_subdomain("credential id", &new.name)?;
        let mut annotations = serde_json::Map::new();
        if let Some(d) = new.description.as_deref().filter(|d| !d.is_empty()) {
            annotations.insert(keys::DESCRIPTION.into(), json!(d));
        }
        if let Some(c) = new.creator.as_deref().filter(|c| !c.is_empty()) {
            annotations.insert(keys::CREATOR.into(), json!(c));
        }
        let body = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": new.name, "namespace": namespace, "annotations": annotations},
            "type": new.data.kind().secret_type(),
            "data": new.data.encoded(),
        });
        let secrets = new.data.secrets();
        // Upstream answers may quote the body (the values base64-encoded):
        // the client scrubs them before summarising; `scrub_error` is a
        // second pass over whatever text the error ended up with.
        let raw: RawSecret = self
            .send_json_with_secrets(Method::POST, cluster, &path, &[], &body, &secrets)
            .await
            .map_err(|e| scrub_error(e, &secrets))?;
        raw.into_credential().ok_or_else(|| KsError::OutcomeUnknown {
            path: path.for_cluster(cluster),
            reason: "the created Secret came back without a credential type".into(),
        })
    }

    /// `GET DV2/namespaces/{ns}/credentials/{name}/usage`: the pipelines
    /// (`<ns>/<pipeline>`) Jenkins recorded as using the credential.
    pub async fn credential_usage(&self, cluster: &Cluster, namespace: &str, name: &str) -> KsResult<Vec<String>> {
        validate_label("project (namespace) name", namespace)?;
        validate_subdomain("credential id", name)?;
        let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA2)
            .lit("namespaces")
            .seg(namespace)
            .lit("credentials")
            .seg(name)
            .lit("usage");
        let usage: Option<CredentialUsage> = self.get_json(cluster, &path, &[]).await?;
        let mut names: Vec<String> = usage
            .and_then(|u| u.fingerprint)
            .map(|f| f.usage.into_iter().map(|u| u.name).filter(|n| !n.is_empty()).collect())
            .unwrap_or_default();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// `DELETE DV3/namespaces/{ns}/credentials/{name}`. Upstream deletes any
    /// Secret of that name: call [`Self::get_credential`] first.
    pub async fn delete_credential(&self, cluster: &Cluster, namespace: &str, name: &str) -> KsResult<()> {
        let path = credential_path(namespace, name)?;
        // The answer is `{"message":"success"}`: nothing else of use.
        self.execute(Method::DELETE, cluster, &path, &[], Body::None, "application/json")
            .await?;
        Ok(())
    }
}

/// Removes `secrets` from an error's texts in every form (see
/// [`super::redact`]); a text quoting a secret too short to scrub is
/// withheld. Linear in the sizes of the texts and the secrets.
pub fn scrub_error(err: KsError, secrets: &[&SecretString]) -> KsError {
    let scrubber = Scrubber::of(secrets);
    if scrubber.is_empty() {
        return err;
    }
    err.map_messages(|m| {
        if scrubber.quotes_short(&m) {
            WITHHELD.to_string()
        } else {
            scrubber.scrub(&m).into_owned()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        for t in CredentialType::ALL {
            assert_eq!(CredentialType::from_secret_type(t.secret_type()), Some(t));
            assert!(t.secret_keys().iter().all(|k| t.data_keys().contains(k)));
        }
        assert_eq!(CredentialType::SshAuth.short_name(), "ssh-auth");
        assert_eq!(
            CredentialType::from_secret_type("credential.devops.kubesphere.io/ssh"),
            None,
            "the playbook's ssh type is not upstream's"
        );
    }

    #[test]
    fn raw_secret_keeps_no_value() {
        let raw: RawSecret = serde_json::from_str(
            r#"{"metadata":{"name":"x"},"type":"credential.devops.kubesphere.io/basic-auth","data":{"username":"dQ==","password":"aHVudGVyMjI="}}"#,
        )
        .unwrap();
        let c = raw.into_credential().unwrap();
        assert_eq!(c.data_keys, ["password", "username"]);
        assert!(!format!("{c:?}").contains("aHVudGVyMjI="));
        let opaque: RawSecret = serde_json::from_str(r#"{"metadata":{"name":"x"},"data":{"k":"dg=="}}"#).unwrap();
        assert!(opaque.into_credential().is_none());
    }

    #[test]
    fn scrubbing() {
        let pw = SecretString::from("hunter2-very-secret");
        let key = SecretString::from("-----BEGIN KEY-----\nAAAABBBBCCCCDDDD\n-----END KEY-----");
        let e = KsError::BadRequest {
            path: "/p".into(),
            status: 400,
            message: format!(
                "bad data {} {} {} line AAAABBBBCCCCDDDD cut hunter2-ve…",
                "hunter2-very-secret",
                base64::engine::general_purpose::STANDARD.encode("hunter2-very-secret"),
                serde_json::to_string(key.expose_secret()).unwrap()
            ),
        };
        let text = scrub_error(e, &[&pw, &key]).to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("aHVudGVy"), "{text}");
        assert!(!text.contains("AAAABBBB"), "{text}");
        assert!(text.contains("[REDACTED]"), "{text}");
        let short = SecretString::from("ab1");
        let e = KsError::BadRequest {
            path: "/p".into(),
            status: 400,
            message: "value ab1 rejected".into(),
        };
        assert_eq!(
            scrub_error(e, &[&short]).to_string(),
            format!("KubeSphere rejected the request (400): {WITHHELD}")
        );
    }
}
