//! The KubeSphere HTTP client: one send path with the allowlist, auth,
//! timeouts, retries for reads only, and error mapping.
//!
//! * [`settings`]: what a client is built from;
//! * [`session`]: the OAuth session (login, renewal, re-login after 401);
//! * [`send`]: one [`Request`](send::Request) description, one send path and
//!   one retry policy ([`Attempts`](send::Attempts));
//! * [`body`]: reading answers (capped, tail, JSON) and error summaries.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use super::auth::{Credentials, Session};
use super::error::{KsError, KsResult};
use super::path::{ApiPath, Cluster};
use super::redact::Redactor;

mod body;
mod send;
mod session;
mod settings;

pub(crate) use body::read_tail;
pub use body::summarize_body;
pub(crate) use send::Request;
pub use settings::ClientSettings;

/// Largest JSON body read into memory.
const MAX_JSON_BODY: usize = 64 * 1024 * 1024;
/// Largest error body looked at.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Upper bound of one streamed answer (logs, artifacts): the caller reads it
/// chunk by chunk with its own idle timeout, so the per-request timeout only
/// bounds the wait for the response headers.
pub const STREAM_MAX_DURATION: Duration = Duration::from_secs(3600);

/// Body of a request.
pub enum Body<'a> {
    None,
    Json(&'a (dyn erased::SerializeJson + Sync)),
    Form(Vec<(&'static str, String)>),
}

/// Object-safe serialisation for request bodies.
pub mod erased {
    /// Anything serialisable to a JSON value.
    pub trait SerializeJson {
        fn to_json(&self) -> serde_json::Result<serde_json::Value>;
    }
    impl<T: serde::Serialize> SerializeJson for T {
        fn to_json(&self) -> serde_json::Result<serde_json::Value> {
            serde_json::to_value(self)
        }
    }
}

/// What the user behind the client is, as far as the client knows.
#[derive(Clone, Debug)]
pub struct Identity {
    pub username: Option<String>,
    pub token_expires_at: Option<SystemTime>,
    pub renewable: bool,
}

/// A KubeSphere API client acting as one identity. Cheap to clone.
#[derive(Clone)]
pub struct KsClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    settings: ClientSettings,
    session: Mutex<Option<Session>>,
    generation: std::sync::atomic::AtomicU64,
    redactor: Redactor,
    caches: super::api::Caches,
}

impl std::fmt::Debug for KsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KsClient")
            .field("base_url", &self.inner.settings.base_url.as_str())
            .field("default_cluster", &self.inner.settings.default_cluster)
            .finish_non_exhaustive()
    }
}

/// A raw response whose status was 2xx.
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub response: reqwest::Response,
}

impl KsClient {
    /// Builds a client. Makes no network call.
    pub fn new(settings: ClientSettings) -> KsResult<KsClient> {
        match settings.base_url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(KsError::Invalid(format!(
                    "KubeSphere URL must be http or https, not {other:?}"
                )));
            }
        }
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ks-devops-mcp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| KsError::Invalid(format!("cannot build HTTP client: {e}")))?;
        Ok(Self::with_http(settings, http))
    }

    /// A client for the same KubeSphere acting as another identity, with
    /// its own token, caches and redactor but this client's connection pool
    /// (requests carry their own `Authorization`; connections hold no
    /// identity). Used for the HTTP transport's callers.
    pub fn sibling(&self, credentials: Credentials, unauthorized_hint: &'static str) -> KsClient {
        let mut settings = self.inner.settings.with_credentials(credentials);
        settings.unauthorized_hint = Some(unauthorized_hint);
        Self::with_http(settings, self.inner.http.clone())
    }

    fn with_http(settings: ClientSettings, http: reqwest::Client) -> KsClient {
        let redactor = Redactor::default();
        // The default client secret `kubesphere` is public (the ks-core chart
        // installs it) and appears in every API group name: not redacted.
        if settings.oauth_client.secret.expose_secret() != "kubesphere" {
            redactor.add(&settings.oauth_client.secret);
        }
        match &settings.credentials {
            Credentials::Password { password, .. } => redactor.add(password),
            Credentials::Token(t) => redactor.add(t),
            Credentials::None => {}
        }
        let session = match &settings.credentials {
            Credentials::Token(t) => Some(Session::from_static(t.clone())),
            Credentials::Password { .. } | Credentials::None => None,
        };
        KsClient {
            inner: Arc::new(Inner {
                http,
                settings,
                session: Mutex::new(session),
                generation: std::sync::atomic::AtomicU64::new(1),
                redactor,
                caches: Default::default(),
            }),
        }
    }

    pub fn settings(&self) -> &ClientSettings {
        &self.inner.settings
    }

    /// The cluster a tool uses when it gets none.
    pub fn default_cluster(&self) -> &Cluster {
        &self.inner.settings.default_cluster
    }

    pub(crate) fn caches(&self) -> &super::api::Caches {
        &self.inner.caches
    }

    /// The redactor that scrubs this client's secrets from text.
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    /// Who this client is, logging in if needed (so the expiry is known).
    pub async fn identity(&self) -> KsResult<Identity> {
        let session = self.session().await?;
        let username = self
            .inner
            .settings
            .credentials
            .username()
            .or_else(|| super::auth::jwt_claims(session.access.expose_secret()).and_then(|c| c.username.or(c.sub)));
        Ok(Identity {
            username,
            token_expires_at: session.expires_at,
            renewable: matches!(self.inner.settings.credentials, Credentials::Password { .. }),
        })
    }

    /// One unauthenticated GET of `/healthz` (no retry: probes repeat anyway).
    pub(crate) async fn probe_health(&self) -> KsResult<()> {
        let path = ApiPath::healthz();
        let req = Request::get(&Cluster::Host, &path, "*/*");
        let resp = self.send_once(&req, None).await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = body::read_capped(resp, MAX_ERROR_BODY, path.as_str(), false)
            .await
            .unwrap_or_default();
        Err(self.map_error(status, &body, path.as_str(), true, &[]))
    }

    // ---------------------------------------------------------------- API

    /// Sends an authenticated request and returns the 2xx response.
    ///
    /// * One transparent re-login on 401 (the request never reached a handler,
    ///   so this is safe for writes too).
    /// * Reads (GET) are retried with backoff on timeouts, broken connections
    ///   and 502/503/504; writes are never retried.
    pub async fn execute(
        &self,
        method: Method,
        cluster: &Cluster,
        path: &ApiPath,
        query: &[(&str, String)],
        body: Body<'_>,
        accept: &str,
    ) -> KsResult<RawResponse> {
        let req = Request::new(method, cluster, path, &body, accept).query(query);
        self.send(&req, &mut self.attempts(&req)).await
    }

    /// Like [`Self::execute`] for a GET whose body is streamed by the
    /// caller (logs, artifacts): the request timeout bounds the wait for the
    /// headers only; the caller applies an idle timeout per chunk
    /// ([`ClientSettings::timeout`]).
    pub async fn execute_streaming(
        &self,
        cluster: &Cluster,
        path: &ApiPath,
        query: &[(&str, String)],
        accept: &str,
    ) -> KsResult<RawResponse> {
        let req = Request::get(cluster, path, accept).query(query).streaming();
        self.send(&req, &mut self.attempts(&req)).await
    }

    /// Like [`Self::execute_streaming`] with a single attempt: for answers
    /// that fail the same way every time (a run log too large for
    /// KubeSphere to relay, §16 U8), where retrying only multiplies the wait.
    pub async fn execute_streaming_once(
        &self,
        cluster: &Cluster,
        path: &ApiPath,
        query: &[(&str, String)],
        accept: &str,
    ) -> KsResult<RawResponse> {
        let req = Request::get(cluster, path, accept)
            .query(query)
            .streaming()
            .single_attempt();
        self.send(&req, &mut self.attempts(&req)).await
    }

    /// GET a JSON document.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        cluster: &Cluster,
        path: &ApiPath,
        query: &[(&str, String)],
    ) -> KsResult<T> {
        let req = Request::get(cluster, path, "application/json").query(query);
        let full = path.for_cluster(cluster);
        let mut attempts = self.attempts(&req);
        loop {
            let r = self.send(&req, &mut attempts).await?;
            match self.decode(r, &full, false, &[]).await {
                // The body broke off mid-answer: a transient read failure
                // like a reset before the answer, retried within the budget.
                Err(e) if attempts.again(&req, &e) => self.pause(&attempts).await,
                other => return other,
            }
        }
    }

    /// Sends JSON with `method` and decodes the JSON answer.
    pub async fn send_json<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        method: Method,
        cluster: &Cluster,
        path: &ApiPath,
        query: &[(&str, String)],
        body: &B,
    ) -> KsResult<T> {
        self.send_json_with_secrets(method, cluster, path, query, body, &[])
            .await
    }

    /// [`Self::send_json`] for a body that carries `secrets`: every answer
    /// quoting them (in any form, even cut) is scrubbed before it is
    /// summarised. Never retried.
    pub async fn send_json_with_secrets<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        method: Method,
        cluster: &Cluster,
        path: &ApiPath,
        query: &[(&str, String)],
        body: &B,
        secrets: &[&SecretString],
    ) -> KsResult<T> {
        let write = method != Method::GET;
        let body = Body::Json(body);
        let req = Request::new(method, cluster, path, &body, "application/json")
            .query(query)
            .secrets(secrets);
        let r = self.send(&req, &mut self.attempts(&req)).await?;
        self.decode(r, &path.for_cluster(cluster), write, secrets).await
    }

    /// Reads a whole text answer of a GET (scan log), keeping only the last
    /// `keep` bytes; a body that breaks off is read again within the read
    /// budget. Returns the total size and the tail.
    pub(crate) async fn get_tail(
        &self,
        cluster: &Cluster,
        path: &ApiPath,
        accept: &str,
        keep: usize,
    ) -> KsResult<(u64, Vec<u8>)> {
        let req = Request::get(cluster, path, accept);
        let full = path.for_cluster(cluster);
        let mut attempts = self.attempts(&req);
        loop {
            let r = self.send(&req, &mut attempts).await?;
            match read_tail(r, keep, &full, false).await {
                Err(e) if attempts.again(&req, &e) => self.pause(&attempts).await,
                other => return other,
            }
        }
    }
}
