//! Settings of a [`KsClient`](super::KsClient).

use std::time::Duration;

use url::Url;

use crate::auth::{Credentials, OAuthClient};
use crate::path::Cluster;

/// Settings of a [`KsClient`](super::KsClient).
#[derive(Clone, Debug)]
pub struct ClientSettings {
    /// KubeSphere console/API base URL (ks-apiserver), e.g. `https://ks.example.com`.
    pub base_url: Url,
    pub credentials: Credentials,
    pub oauth_client: OAuthClient,
    /// Cluster used when a tool gets none.
    pub default_cluster: Cluster,
    /// Clusters searched when a tool gets none; `None` = discover on first use.
    pub search_clusters: Option<Vec<Cluster>>,
    /// Timeout of one HTTP request.
    pub timeout: Duration,
    /// Attempts for idempotent reads (1 = no retry).
    pub read_attempts: u32,
    /// First backoff between read attempts (doubles each time).
    pub retry_backoff: Duration,
    /// What a 401 tells the agent to do; `None` = derived from the
    /// credentials (operator settings). Set for tokens callers bring.
    pub unauthorized_hint: Option<&'static str>,
}

impl ClientSettings {
    pub fn new(base_url: Url, credentials: Credentials) -> ClientSettings {
        ClientSettings {
            base_url,
            credentials,
            oauth_client: OAuthClient::default(),
            default_cluster: Cluster::Host,
            search_clusters: None,
            timeout: Duration::from_secs(30),
            read_attempts: 3,
            retry_backoff: Duration::from_millis(200),
            unauthorized_hint: None,
        }
    }

    /// The same settings acting as another identity.
    pub fn with_credentials(&self, credentials: Credentials) -> ClientSettings {
        ClientSettings {
            credentials,
            ..self.clone()
        }
    }

    pub(super) fn unauthorized_hint(&self) -> &'static str {
        if let Some(h) = self.unauthorized_hint {
            return h;
        }
        match self.credentials {
            Credentials::Password { .. } => {
                "A fresh login did not help: the configured credentials are wrong, disabled or expired; ask the operator to fix KUBESPHERE_USERNAME/KUBESPHERE_PASSWORD"
            }
            Credentials::Token(_) => {
                "The configured KUBESPHERE_TOKEN is wrong, revoked or expired and this server cannot renew it; ask the operator for a fresh token"
            }
            Credentials::None => "This server has no KubeSphere identity of its own; every caller must bring its own",
        }
    }
}
