//! The KubeSphere HTTP client: one send path with the allowlist, auth,
//! timeouts, retries for reads only, and error mapping.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use reqwest::{Method, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use url::Url;

use super::auth::{Credentials, OAuthClient, OAuthError, Session, TokenResponse, oauth_hint};
use super::error::{KsError, KsResult, RETRY_LATER_HINT, UNKNOWN_OUTCOME_HINT};
use super::path::{ApiPath, Cluster, check_allowed};
use super::redact::{Redactor, Scrubber, WITHHELD};

/// Largest JSON body read into memory.
const MAX_JSON_BODY: usize = 64 * 1024 * 1024;
/// Largest error body looked at.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Upper bound of one streamed answer (logs, artifacts): the caller reads it
/// chunk by chunk with its own idle timeout, so the per-request timeout only
/// bounds the wait for the response headers.
pub const STREAM_MAX_DURATION: Duration = Duration::from_secs(3600);

/// Settings of a [`KsClient`].
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

    fn unauthorized_hint(&self) -> &'static str {
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

/// The attempts of one request: made so far, and allowed.
pub(crate) struct Attempts {
    made: u32,
    max: u32,
}

impl Attempts {
    fn at_most(max: u32) -> Attempts {
        Attempts { made: 0, max }
    }

    /// Whether another attempt is allowed.
    fn left(&self) -> bool {
        self.made < self.max
    }
}

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
        let resp = self
            .send_once(
                &Method::GET,
                &Cluster::Host,
                &path,
                &[],
                &Body::None,
                None,
                "*/*",
                false,
                true,
            )
            .await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = read_capped(resp, MAX_ERROR_BODY, path.as_str(), false)
            .await
            .unwrap_or_default();
        Err(self.map_error(status, &body, path.as_str(), true, &[]))
    }

    // ---------------------------------------------------------------- auth

    async fn session(&self) -> KsResult<Session> {
        let mut guard = self.inner.session.lock().await;
        if let Some(s) = guard.as_ref()
            && !s.needs_renewal(SystemTime::now())
        {
            return Ok(s.clone());
        }
        let fresh = self.renew(guard.as_ref()).await?;
        *guard = Some(fresh.clone());
        Ok(fresh)
    }

    /// Forgets the token that got a 401, unless it was already replaced.
    async fn invalidate(&self, generation: u64) {
        let mut guard = self.inner.session.lock().await;
        if guard.as_ref().map(|s| s.generation) == Some(generation)
            && let Some(s) = guard.as_mut()
        {
            // Keep the refresh token for the next renewal; drop the access token.
            s.expires_at = Some(SystemTime::UNIX_EPOCH);
        }
    }

    async fn renew(&self, current: Option<&Session>) -> KsResult<Session> {
        let settings = &self.inner.settings;
        let (username, password) = match &settings.credentials {
            Credentials::Password { username, password } => (username, password),
            Credentials::Token(t) => {
                // A ready token cannot be renewed: keep using it until KubeSphere refuses.
                let s = current.cloned().unwrap_or_else(|| Session::from_static(t.clone()));
                if s.expires_at.is_some_and(|e| e <= SystemTime::now()) {
                    return Err(KsError::Unauthorized {
                        path: "/oauth/token".into(),
                        message: "the bearer token has expired or was refused".into(),
                        hint: settings.unauthorized_hint(),
                    });
                }
                return Ok(s);
            }
            Credentials::None => {
                return Err(KsError::Unauthorized {
                    path: "/oauth/token".into(),
                    message: "no identity".into(),
                    hint: settings.unauthorized_hint(),
                });
            }
        };
        if let Some(refresh) = current.and_then(|s| s.refresh.as_ref()) {
            let form = vec![
                ("grant_type", "refresh_token".to_string()),
                ("refresh_token", refresh.expose_secret().to_string()),
                ("client_id", settings.oauth_client.id.clone()),
                (
                    "client_secret",
                    settings.oauth_client.secret.expose_secret().to_string(),
                ),
            ];
            match self.token_request(form).await {
                Ok(s) => {
                    tracing::debug!("renewed KubeSphere token with the refresh grant");
                    return Ok(s);
                }
                Err(e) => tracing::debug!(error = %e, "refresh grant failed; logging in again"),
            }
        }
        let form = vec![
            ("grant_type", "password".to_string()),
            ("username", username.clone()),
            ("password", password.expose_secret().to_string()),
            ("client_id", settings.oauth_client.id.clone()),
            (
                "client_secret",
                settings.oauth_client.secret.expose_secret().to_string(),
            ),
        ];
        let s = self.token_request(form).await?;
        tracing::info!(user = %username, "logged in to KubeSphere");
        Ok(s)
    }

    async fn token_request(&self, form: Vec<(&'static str, String)>) -> KsResult<Session> {
        let path = ApiPath::oauth_token();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let res = self
                .send_once(
                    &Method::POST,
                    &Cluster::Host,
                    &path,
                    &[],
                    &Body::Form(form.clone()),
                    None,
                    "*/*",
                    false,
                    // Issuing a token changes nothing a user can see: it is
                    // retried like a read, and failures say so.
                    true,
                )
                .await;
            let resp = match res {
                // Issuing a token changes nothing a user can see: safe to retry.
                Err(e) if e.is_transient() && attempt < self.inner.settings.read_attempts => {
                    tokio::time::sleep(self.backoff(attempt)).await;
                    continue;
                }
                Err(e) => return Err(e),
                Ok(r) => r,
            };
            let status = resp.status();
            let body = read_capped(resp, MAX_JSON_BODY, path.as_str(), false).await?;
            if status.is_success() {
                let tr: TokenResponse = serde_json::from_slice(&body).map_err(|e| KsError::InvalidResponse {
                    path: path.as_str().into(),
                    reason: format!("token response is not the OAuth JSON shape ({:?})", e.classify()),
                })?;
                let generation = self.inner.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let session = Session::from_response(tr, generation);
                self.inner.redactor.add(&session.access);
                if let Some(r) = &session.refresh {
                    self.inner.redactor.add(r);
                }
                return Ok(session);
            }
            // The answer may quote the form (password, client secret,
            // refresh token, URL-encoded): scrubbed whole, then cut.
            let scrubbed = self.inner.redactor.redact(&String::from_utf8_lossy(&body));
            if let Ok(err) = serde_json::from_str::<OAuthError>(&scrubbed) {
                return Err(KsError::Login {
                    hint: oauth_hint(&err.error, status.as_u16()),
                    description: crate::text::cut(err.error_description.trim(), crate::text::MAX_MESSAGE_CHARS),
                    error: crate::text::cut(&err.error, crate::text::MAX_VALUE_CHARS),
                });
            }
            let err = self.map_error(status, &body, path.as_str(), true, &[]);
            if err.is_transient() && attempt < self.inner.settings.read_attempts {
                tokio::time::sleep(self.backoff(attempt)).await;
                continue;
            }
            return Err(err);
        }
    }

    // ---------------------------------------------------------------- send

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.inner.settings.retry_backoff;
        let exp = base.saturating_mul(1 << (attempt.saturating_sub(1)).min(6));
        let jitter = Duration::from_millis(rand::random_range(0..=base.as_millis().max(1) as u64 / 2));
        exp + jitter
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_once(
        &self,
        method: &Method,
        cluster: &Cluster,
        path: &ApiPath,
        query: &[(&str, String)],
        body: &Body<'_>,
        token: Option<&SecretString>,
        accept: &str,
        streaming: bool,
        idempotent: bool,
    ) -> KsResult<reqwest::Response> {
        let full = path.for_cluster(cluster);
        check_allowed(&full)?;
        let mut url = self.inner.settings.base_url.clone();
        {
            let base_path = url.path().trim_end_matches('/').to_string();
            url.set_path(&format!("{base_path}{full}"));
        }
        if !query.is_empty() {
            let mut qp = url.query_pairs_mut();
            for (k, v) in query {
                qp.append_pair(k, v);
            }
        }
        let mut req = self
            .inner
            .http
            .request(method.clone(), url)
            .header(header::ACCEPT, accept);
        if let Some(t) = token {
            req = req.bearer_auth(t.expose_secret());
        }
        req = match body {
            Body::None => req,
            Body::Json(v) => {
                let value = v
                    .to_json()
                    .map_err(|e| KsError::Invalid(format!("cannot encode request body: {e}")))?;
                req.json(&value)
            }
            Body::Form(f) => req.form(f),
        };
        let started = Instant::now();
        let result = if streaming {
            // The body may take long to arrive in full; the headers may not.
            req = req.timeout(STREAM_MAX_DURATION);
            match tokio::time::timeout(self.inner.settings.timeout, req.send()).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(KsError::Timeout {
                        path: full,
                        timeout: self.inner.settings.timeout,
                        hint: if idempotent {
                            RETRY_LATER_HINT
                        } else {
                            UNKNOWN_OUTCOME_HINT
                        },
                    });
                }
            }
        } else {
            req.send().await
        };
        let elapsed = started.elapsed();
        match result {
            Ok(r) => {
                tracing::debug!(%method, path = %full, status = r.status().as_u16(), ms = elapsed.as_millis() as u64, "kubesphere");
                Ok(r)
            }
            Err(e) => {
                let hint = if idempotent {
                    RETRY_LATER_HINT
                } else {
                    UNKNOWN_OUTCOME_HINT
                };
                tracing::debug!(%method, path = %full, ms = elapsed.as_millis() as u64, error = %e, "kubesphere request failed");
                if e.is_timeout() {
                    Err(KsError::Timeout {
                        path: full,
                        timeout: self.inner.settings.timeout,
                        hint,
                    })
                } else {
                    let reason = network_reason(&e);
                    Err(KsError::Network {
                        path: full,
                        reason,
                        hint,
                    })
                }
            }
        }
    }

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
        let mut attempts = self.attempts(method == Method::GET);
        self.execute_with(method, cluster, path, query, body, accept, false, &[], &mut attempts)
            .await
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
        let mut attempts = self.attempts(true);
        self.execute_with(
            Method::GET,
            cluster,
            path,
            query,
            Body::None,
            accept,
            true,
            &[],
            &mut attempts,
        )
        .await
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
        self.execute_with(
            Method::GET,
            cluster,
            path,
            query,
            Body::None,
            accept,
            true,
            &[],
            &mut Attempts::at_most(1),
        )
        .await
    }

    /// The send loop. `secrets`: values the request carries (scrubbed from
    /// any answer before it is cut). `attempts`: the attempts of this read
    /// made so far and allowed (a caller that retries a broken body goes on
    /// counting: one budget); a write gets one, whatever it says.
    #[allow(clippy::too_many_arguments)]
    async fn execute_with(
        &self,
        method: Method,
        cluster: &Cluster,
        path: &ApiPath,
        query: &[(&str, String)],
        body: Body<'_>,
        accept: &str,
        streaming: bool,
        secrets: &[&SecretString],
        attempts: &mut Attempts,
    ) -> KsResult<RawResponse> {
        let idempotent = method == Method::GET;
        let max_attempts = if idempotent { attempts.max.max(1) } else { 1 };
        let attempt = &mut attempts.made;
        let full = path.for_cluster(cluster);
        let mut relogged = false;
        loop {
            *attempt += 1;
            let session = self.session().await?;
            let result = self
                .send_once(
                    &method,
                    cluster,
                    path,
                    query,
                    &body,
                    Some(&session.access),
                    accept,
                    streaming,
                    idempotent,
                )
                .await;
            let resp = match result {
                Err(e) if idempotent && e.is_transient() && *attempt < max_attempts => {
                    tokio::time::sleep(self.backoff(*attempt)).await;
                    continue;
                }
                Err(e) => return Err(e),
                Ok(r) => r,
            };
            let status = resp.status();
            if status.is_success() {
                return Ok(RawResponse {
                    status,
                    headers: resp.headers().clone(),
                    response: resp,
                });
            }
            if status == StatusCode::UNAUTHORIZED && !relogged {
                relogged = true;
                *attempt -= 1;
                self.invalidate(session.generation).await;
                tracing::debug!(path = %full, "401 from KubeSphere; logging in again");
                continue;
            }
            let body = read_capped(resp, MAX_ERROR_BODY, &full, false)
                .await
                .unwrap_or_default();
            let err = self.map_error(status, &body, &full, idempotent, secrets);
            if idempotent && err.is_transient() && *attempt < max_attempts {
                tokio::time::sleep(self.backoff(*attempt)).await;
                continue;
            }
            return Err(err);
        }
    }

    /// The attempts budget of one request: the settings' `read_attempts`
    /// for a read, one for a write.
    fn attempts(&self, idempotent: bool) -> Attempts {
        Attempts::at_most(if idempotent {
            self.inner.settings.read_attempts.max(1)
        } else {
            1
        })
    }

    /// GET a JSON document.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        cluster: &Cluster,
        path: &ApiPath,
        query: &[(&str, String)],
    ) -> KsResult<T> {
        let full = path.for_cluster(cluster);
        let mut attempts = self.attempts(true);
        loop {
            let r = self
                .execute_with(
                    Method::GET,
                    cluster,
                    path,
                    query,
                    Body::None,
                    "application/json",
                    false,
                    &[],
                    &mut attempts,
                )
                .await?;
            match self.decode(r, &full, false, &[]).await {
                // The body broke off mid-answer: a transient read failure
                // like a reset before the answer, retried within the budget.
                Err(e) if e.is_transient() && attempts.left() => {
                    tokio::time::sleep(self.backoff(attempts.made)).await;
                }
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
        let r = self
            .execute_with(
                method,
                cluster,
                path,
                query,
                Body::Json(body),
                "application/json",
                false,
                secrets,
                &mut self.attempts(!write),
            )
            .await?;
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
        let full = path.for_cluster(cluster);
        let mut attempts = self.attempts(true);
        loop {
            let r = self
                .execute_with(
                    Method::GET,
                    cluster,
                    path,
                    &[],
                    Body::None,
                    accept,
                    false,
                    &[],
                    &mut attempts,
                )
                .await?;
            match read_tail(r, keep, &full, false).await {
                Err(e) if e.is_transient() && attempts.left() => {
                    tokio::time::sleep(self.backoff(attempts.made)).await;
                }
                other => return other,
            }
        }
    }

    /// Decodes a 2xx JSON answer. A body that cannot be read or decoded is
    /// [`KsError::InvalidResponse`] for a read, and for a write
    /// [`KsError::OutcomeUnknown`] (it was sent; whether it took effect is
    /// unknown). The reason is scrubbed of secrets before it is cut.
    pub(crate) async fn decode<T: DeserializeOwned>(
        &self,
        r: RawResponse,
        path: &str,
        write: bool,
        secrets: &[&SecretString],
    ) -> KsResult<T> {
        let body = read_capped(r.response, MAX_JSON_BODY, path, write).await?;
        let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &body
        };
        serde_json::from_slice(body).map_err(|e| {
            let reason = if body.first().is_some_and(|b| *b == b'<') {
                "expected JSON but got an HTML page (is the URL ks-apiserver, not the console?)".to_string()
            } else if e.classify() == serde_json::error::Category::Eof {
                "the JSON answer is truncated".to_string()
            } else {
                let detail = self.scrub(&e.to_string(), secrets);
                format!(
                    "the JSON does not have the expected shape: {}",
                    crate::text::cut(&detail, 240)
                )
            };
            if write {
                KsError::OutcomeUnknown {
                    path: path.into(),
                    reason,
                }
            } else {
                KsError::InvalidResponse {
                    path: path.into(),
                    reason,
                }
            }
        })
    }

    // ---------------------------------------------------------------- errors

    /// `text` without this client's secrets nor `secrets` (a text quoting
    /// a secret too short to scrub is withheld whole).
    fn scrub(&self, text: &str, secrets: &[&SecretString]) -> String {
        let text = self.inner.redactor.redact(text);
        if secrets.is_empty() {
            return text;
        }
        let extra = Scrubber::of(secrets);
        if extra.quotes_short(&text) {
            return WITHHELD.to_string();
        }
        extra.scrub(&text).into_owned()
    }

    /// The error of a non-2xx answer: the body is scrubbed of every secret
    /// (the client's and the request's `secrets`) *before* it is classified,
    /// summarised and cut.
    fn map_error(
        &self,
        status: StatusCode,
        body: &[u8],
        path: &str,
        idempotent: bool,
        secrets: &[&SecretString],
    ) -> KsError {
        let scrubbed = self.scrub(&String::from_utf8_lossy(body), secrets);
        // ks-devops answers Jenkins' 404/400/409 as 500 with Jenkins' body (U5).
        if status == StatusCode::INTERNAL_SERVER_ERROR
            && let Some(e) = KsError::from_jenkins_500(path, scrubbed.as_bytes())
        {
            return e;
        }
        let message = summarize_body(status, scrubbed.as_bytes());
        let path = path.to_string();
        match status.as_u16() {
            401 => KsError::Unauthorized {
                path,
                message,
                hint: self.inner.settings.unauthorized_hint(),
            },
            403 => KsError::Forbidden { path, message },
            404 => KsError::NotFound { path, message },
            409 => KsError::Conflict { path, message },
            400 if message.starts_with("cluster ") && message.contains("not exists") => {
                let cluster = message.split_whitespace().nth(1).unwrap_or_default().to_string();
                KsError::UnknownCluster { cluster, message }
            }
            s @ 400..=499 => KsError::BadRequest {
                path,
                status: s,
                message,
            },
            s => KsError::Upstream {
                path,
                status: s,
                message,
                hint: if idempotent {
                    RETRY_LATER_HINT
                } else {
                    UNKNOWN_OUTCOME_HINT
                },
            },
        }
    }
}

/// Why a request got no answer, from the error's source chain: a TLS
/// failure (untrusted certificate, plain HTTP on an https URL), a name that
/// does not resolve, a refused connection, or a broken one. The text never
/// holds request data (only the underlying library's error kinds).
fn network_reason(e: &reqwest::Error) -> String {
    let mut chain = String::new();
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        chain.push_str(&s.to_string().to_ascii_lowercase());
        chain.push(' ');
        src = s.source();
    }
    if chain.contains("certificate") || chain.contains("unknownissuer") || chain.contains("invalid peer certificate") {
        "TLS: the server's certificate is not trusted (self-signed, private CA, expired or for another host name)"
            .into()
    } else if chain.contains("invalidcontenttype")
        || chain.contains("wrong version number")
        || chain.contains("corrupt message")
        || chain.contains("received corrupt")
    {
        "TLS handshake failed: the server does not speak TLS on this port (is the URL http://, not https://?)".into()
    } else if chain.contains("tls") || chain.contains("handshake") {
        "TLS handshake failed".into()
    } else if chain.contains("dns error")
        || chain.contains("failed to lookup address")
        || chain.contains("name or service not known")
    {
        "the host name does not resolve (DNS)".into()
    } else if e.is_connect() {
        "connection refused or host unreachable".into()
    } else {
        "the connection broke before a complete answer arrived".into()
    }
}

/// Reads a whole text answer (scan log, input reply), keeping only the
/// last `keep` bytes; returns the total size and the tail. `write`: the
/// request changed state (a broken answer leaves its outcome unknown).
pub(crate) async fn read_tail(r: RawResponse, keep: usize, path: &str, write: bool) -> KsResult<(u64, Vec<u8>)> {
    let mut resp = r.response;
    let mut total: u64 = 0;
    let mut tail: std::collections::VecDeque<u8> = std::collections::VecDeque::with_capacity(keep.min(1 << 20));
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                total += chunk.len() as u64;
                let chunk: &[u8] = if chunk.len() > keep {
                    &chunk[chunk.len() - keep..]
                } else {
                    &chunk
                };
                let overflow = (tail.len() + chunk.len()).saturating_sub(keep);
                tail.drain(..overflow.min(tail.len()));
                tail.extend(chunk.iter().copied());
            }
            Ok(None) => return Ok((total, tail.into_iter().collect())),
            Err(e) => return Err(broken_body(path, write, e.is_timeout())),
        }
    }
}

/// The error of an answer whose body stopped or broke off after a 2xx
/// status: transient for a read (retried), outcome unknown for a write.
fn broken_body(path: &str, write: bool, timeout: bool) -> KsError {
    let reason = if timeout {
        "the answer stopped arriving"
    } else {
        "the connection broke while the answer was arriving"
    };
    if write {
        return KsError::OutcomeUnknown {
            path: path.into(),
            reason: reason.into(),
        };
    }
    if timeout {
        KsError::Timeout {
            path: path.into(),
            timeout: Duration::ZERO,
            hint: RETRY_LATER_HINT,
        }
    } else {
        KsError::Network {
            path: path.into(),
            reason: reason.into(),
            hint: RETRY_LATER_HINT,
        }
    }
}

async fn read_capped(mut resp: reqwest::Response, cap: usize, path: &str, write: bool) -> KsResult<Bytes> {
    let mut buf = bytes::BytesMut::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if buf.len() + chunk.len() > cap {
                    let reason = format!("the answer is larger than {} MiB", cap / (1024 * 1024));
                    return Err(if write {
                        KsError::OutcomeUnknown {
                            path: path.into(),
                            reason,
                        }
                    } else {
                        KsError::InvalidResponse {
                            path: path.into(),
                            reason,
                        }
                    });
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(buf.freeze()),
            Err(e) => return Err(broken_body(path, write, e.is_timeout())),
        }
    }
}

/// One readable line out of an upstream error body, whatever its format:
/// Kubernetes `Status` JSON, Blue Ocean/Jenkins JSON, OAuth JSON, plain
/// text, HTML or nothing.
pub fn summarize_body(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return format!("HTTP {} with an empty body", status.as_u16());
    }
    if trimmed.starts_with('{')
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(trimmed)
    {
        for key in ["message", "error_description", "error"] {
            if let Some(m) = v.get(key).and_then(|m| m.as_str()).filter(|m| !m.is_empty()) {
                return clip(m);
            }
        }
    }
    if trimmed.starts_with('"')
        && let Ok(s) = serde_json::from_str::<String>(trimmed)
    {
        return clip(&s);
    }
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("<!doctype") || lower.starts_with("<html") || lower.contains("<body") {
        let title = lower
            .find("<title>")
            .and_then(|s| {
                lower[s + 7..]
                    .find("</title>")
                    .map(|e| trimmed[s + 7..s + 7 + e].trim().to_string())
            })
            .filter(|t| !t.is_empty());
        return match title {
            Some(t) => format!("HTTP {} with an HTML page titled {:?}", status.as_u16(), clip(&t)),
            None => format!("HTTP {} with an HTML page", status.as_u16()),
        };
    }
    clip(trimmed.lines().next().unwrap_or(trimmed))
}

/// A message cut to [`crate::text::MAX_MESSAGE_CHARS`] and cleaned.
fn clip(s: &str) -> String {
    crate::text::cut(s.trim(), crate::text::MAX_MESSAGE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        let st = StatusCode::FORBIDDEN;
        assert_eq!(
            summarize_body(
                st,
                br#"{"kind":"Status","message":"workspaces \"demo\" is forbidden","code":403}"#
            ),
            "workspaces \"demo\" is forbidden"
        );
        assert_eq!(
            summarize_body(
                StatusCode::NOT_FOUND,
                b"pipelines.devops.kubesphere.io \"p\" not found\n"
            ),
            "pipelines.devops.kubesphere.io \"p\" not found"
        );
        assert_eq!(
            summarize_body(StatusCode::BAD_GATEWAY, b""),
            "HTTP 502 with an empty body"
        );
        assert_eq!(
            summarize_body(
                StatusCode::BAD_GATEWAY,
                b"<html><head><title>502 Bad Gateway</title></head></html>"
            ),
            "HTTP 502 with an HTML page titled \"502 Bad Gateway\""
        );
        assert_eq!(
            summarize_body(StatusCode::UNAUTHORIZED, b"\"login_required\""),
            "login_required"
        );
        assert!(
            summarize_body(StatusCode::BAD_REQUEST, "x".repeat(1000).as_bytes())
                .chars()
                .count()
                <= 401
        );
    }
}
