//! The streamable HTTP transport: rmcp's streamable HTTP service at `/mcp`,
//! `/healthz`, `/readyz`, the OAuth protected-resource metadata (RFC 9728),
//! and the gate every `/mcp` request passes first:
//!
//! 1. refused with 503 while draining (SIGTERM);
//! 2. `Host`/`Origin` checked against the allow-lists (403);
//! 3. the caller authenticated (401 with `WWW-Authenticate` naming the
//!    metadata; the `Authorization` header is then removed so nothing
//!    downstream can see or log it);
//! 4. a session id presented by another identity refused (403);
//! 5. the body read with a size cap (413);
//! 6. a new session counted against the caps (503 total, 429 per caller);
//! 7. the caller attached to the request for the tools, an access-log line
//!    written (caller, JSON-RPC method, tool, status, time; never a token).

pub mod callers;
pub mod guard;
pub mod keys;
pub mod sessions;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Args;
use http_body_util::BodyExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::kubesphere::{Credentials, KsClient};
use crate::mcp::server::DevopsServer;
use crate::mcp::{Registry, ServerOptions};
use callers::{AuthError, AuthMode, Authenticator};
use guard::{HostGuard, Refusal};
use sessions::{Full, OwnedSessions, SessionBook};

const SESSION_HEADER: &str = "mcp-session-id";
const REALM: &str = "ks-devops-mcp";
/// Where the protected-resource metadata of `/mcp` lives (RFC 9728 §3.1:
/// the well-known path inserted before the resource's path).
pub const PRM_PATH: &str = "/.well-known/oauth-protected-resource/mcp";
const PRM_ROOT: &str = "/.well-known/oauth-protected-resource";

/// Command-line settings of the HTTP transport.
#[derive(Debug, Args, Clone)]
pub struct HttpArgs {
    /// Serve MCP over streamable HTTP on this address (e.g. 127.0.0.1:8080) instead of stdio.
    #[arg(long = "http", env = "KS_DEVOPS_MCP_HTTP", value_name = "ADDR", global = true)]
    pub listen: Option<SocketAddr>,

    /// Caller authentication: kubesphere (callers send their own KubeSphere token, or an API key), api-keys (API keys only), none (the server's own identity; loopback only).
    #[arg(long, env = "KS_DEVOPS_MCP_AUTH", default_value = "kubesphere", global = true)]
    pub auth: String,

    /// TOML file of client API keys (sha256) and the KubeSphere identity each acts as.
    #[arg(long, env = "KS_DEVOPS_MCP_API_KEYS", global = true)]
    pub api_keys: Option<PathBuf>,

    /// External base URL of this server (e.g. https://mcp.example.com), used in the OAuth metadata; default: from the request's Host.
    #[arg(long, env = "KS_DEVOPS_MCP_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// KubeSphere's OAuth issuer (authentication.issuer.url, usually the console address); default: KUBESPHERE_URL.
    #[arg(long, env = "KS_DEVOPS_MCP_OAUTH_ISSUER", global = true)]
    pub oauth_issuer: Option<String>,

    /// OAuth scopes clients should request (space or comma list; must be in the KubeSphere OAuth client's scopeRestrictions).
    #[arg(long, env = "KS_DEVOPS_MCP_OAUTH_SCOPES", default_value = "openid", global = true)]
    pub oauth_scopes: String,

    /// Allowed Host headers (comma list of host or host:port; `*` = any). Default: loopback names, the bind address and the public URL's host.
    #[arg(long, env = "KS_DEVOPS_MCP_ALLOWED_HOSTS", global = true)]
    pub allowed_hosts: Option<String>,

    /// Allowed browser Origins (comma list of scheme://host[:port|:*]). Default: http(s) on any port of the allowed hosts.
    #[arg(long, env = "KS_DEVOPS_MCP_ALLOWED_ORIGINS", global = true)]
    pub allowed_origins: Option<String>,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "KS_DEVOPS_MCP_MAX_BODY_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Most open sessions in total.
    #[arg(long, env = "KS_DEVOPS_MCP_MAX_SESSIONS", default_value_t = 1000, global = true)]
    pub max_sessions: usize,

    /// Most open sessions of one identity.
    #[arg(
        long,
        env = "KS_DEVOPS_MCP_MAX_SESSIONS_PER_CALLER",
        default_value_t = 50,
        global = true
    )]
    pub max_sessions_per_caller: usize,

    /// A session with no request for this many seconds is closed.
    #[arg(long, env = "KS_DEVOPS_MCP_SESSION_IDLE_SECS", default_value_t = 600, global = true)]
    pub session_idle_secs: u64,

    /// No server-side sessions (any replica answers any request); for replicas behind a load balancer.
    #[arg(long, env = "KS_DEVOPS_MCP_STATELESS", global = true)]
    pub stateless: bool,

    /// On SIGTERM, wait at most this many seconds for requests in flight.
    #[arg(long, env = "KS_DEVOPS_MCP_DRAIN_SECS", default_value_t = 30, global = true)]
    pub drain_secs: u64,

    /// On SIGTERM, first keep serving this many seconds while /readyz says 503 (so a load balancer stops routing here), then drain.
    #[arg(long, env = "KS_DEVOPS_MCP_SHUTDOWN_DELAY_SECS", default_value_t = 0, global = true)]
    pub shutdown_delay_secs: u64,

    /// Re-check a caller's KubeSphere token with KubeSphere after this many seconds.
    #[arg(long, env = "KS_DEVOPS_MCP_TOKEN_RECHECK_SECS", default_value_t = 60, global = true)]
    pub token_recheck_secs: u64,
}

/// The checked HTTP settings.
#[derive(Debug)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    pub auth: AuthMode,
    pub api_keys: Vec<keys::ApiKey>,
    pub guard: HostGuard,
    pub public_url: Option<Url>,
    /// `None` = the KubeSphere URL.
    pub oauth_issuer: Option<Url>,
    pub oauth_scopes: Vec<String>,
    pub max_body_bytes: usize,
    pub max_sessions: usize,
    pub max_sessions_per_caller: usize,
    pub session_idle: Duration,
    pub stateless: bool,
    pub drain_timeout: Duration,
    /// Time between SIGTERM and the drain, serving but not ready.
    pub shutdown_delay: Duration,
    pub token_recheck: Duration,
}

fn list(s: &str) -> Vec<String> {
    s.split([',', ' '])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

fn http_url(what: &str, s: &str) -> Result<Url, String> {
    let u = Url::parse(s.trim()).map_err(|e| format!("{what} {s:?} is not a URL: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(format!("{what} {s:?} must be an http:// or https:// address"));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(format!("{what} {s:?} must not carry a query or fragment"));
    }
    Ok(u)
}

impl HttpConfig {
    /// Settings for tests and embedding: loopback defaults for `listen`.
    pub fn new(listen: SocketAddr, auth: AuthMode) -> HttpConfig {
        HttpConfig {
            listen,
            auth,
            api_keys: Vec::new(),
            guard: HostGuard::defaults(listen, None),
            public_url: None,
            oauth_issuer: None,
            oauth_scopes: vec!["openid".into()],
            max_body_bytes: 1024 * 1024,
            max_sessions: 1000,
            max_sessions_per_caller: 50,
            session_idle: Duration::from_secs(600),
            stateless: false,
            drain_timeout: Duration::from_secs(30),
            shutdown_delay: Duration::ZERO,
            token_recheck: Duration::from_secs(60),
        }
    }

    /// Whether callers bring their own identity.
    pub fn caller_auth(&self) -> bool {
        self.auth != AuthMode::None
    }
}

impl HttpArgs {
    /// Checks the settings; `None` when `--http` is not set. The error is
    /// one line saying what to change.
    pub fn to_config(&self) -> Result<Option<HttpConfig>, String> {
        let Some(listen) = self.listen else {
            return Ok(None);
        };
        let auth = AuthMode::parse(&self.auth)?;
        if auth == AuthMode::None && !listen.ip().is_loopback() {
            return Err(format!(
                "--http {listen} with KS_DEVOPS_MCP_AUTH=none would let anyone who can reach that address act as this server's KubeSphere user: bind a loopback address (127.0.0.1) or use --auth kubesphere / api-keys"
            ));
        }
        let api_keys = match &self.api_keys {
            Some(p) => {
                if auth == AuthMode::None {
                    return Err("KS_DEVOPS_MCP_API_KEYS is set but KS_DEVOPS_MCP_AUTH=none ignores callers: use --auth api-keys or kubesphere".into());
                }
                keys::load(p)?
            }
            None if auth == AuthMode::ApiKeys => {
                return Err("--auth api-keys needs KS_DEVOPS_MCP_API_KEYS (--api-keys FILE); `ks-devops-mcp api-key` prints a new key and its entry".into());
            }
            None => Vec::new(),
        };
        let public_url = self
            .public_url
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| http_url("KS_DEVOPS_MCP_PUBLIC_URL", s))
            .transpose()?;
        let oauth_issuer = self
            .oauth_issuer
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| http_url("KS_DEVOPS_MCP_OAUTH_ISSUER", s))
            .transpose()?;
        let public_host = public_url.as_ref().and_then(|u| {
            let h = u.host_str()?.trim_matches(|c| c == '[' || c == ']').to_string();
            Some(h)
        });
        let mut guard = HostGuard::defaults(listen, public_host.as_deref());
        if let Some(h) = self.allowed_hosts.as_deref().filter(|s| !s.trim().is_empty()) {
            guard.hosts = list(h);
            guard.origins = HostGuard::origins_for(&guard.hosts);
        }
        if let Some(o) = self.allowed_origins.as_deref().filter(|s| !s.trim().is_empty()) {
            guard.origins = list(o);
        }
        for o in &guard.origins {
            if o != "null" && !o.contains("://") {
                return Err(format!(
                    "KS_DEVOPS_MCP_ALLOWED_ORIGINS entry {o:?} needs a scheme, e.g. https://{o}"
                ));
            }
        }
        if self.max_body_bytes < 1024 {
            return Err("KS_DEVOPS_MCP_MAX_BODY_BYTES must be at least 1024".into());
        }
        if self.max_sessions == 0 || self.max_sessions_per_caller == 0 {
            return Err(
                "KS_DEVOPS_MCP_MAX_SESSIONS and KS_DEVOPS_MCP_MAX_SESSIONS_PER_CALLER must be at least 1".into(),
            );
        }
        if self.session_idle_secs == 0 {
            return Err("KS_DEVOPS_MCP_SESSION_IDLE_SECS must be at least 1".into());
        }
        if self.token_recheck_secs == 0 || self.token_recheck_secs > 3600 {
            return Err("KS_DEVOPS_MCP_TOKEN_RECHECK_SECS must be between 1 and 3600".into());
        }
        Ok(Some(HttpConfig {
            listen,
            auth,
            api_keys,
            guard,
            public_url,
            oauth_issuer,
            oauth_scopes: list(&self.oauth_scopes),
            max_body_bytes: self.max_body_bytes,
            max_sessions: self.max_sessions,
            max_sessions_per_caller: self.max_sessions_per_caller,
            session_idle: Duration::from_secs(self.session_idle_secs),
            stateless: self.stateless,
            drain_timeout: Duration::from_secs(self.drain_secs.min(3600)),
            shutdown_delay: Duration::from_secs(self.shutdown_delay_secs.min(300)),
            token_recheck: Duration::from_secs(self.token_recheck_secs),
        }))
    }
}

// ------------------------------------------------------------------ state

struct App {
    auth: Option<Authenticator>,
    guard: HostGuard,
    public_url: Option<Url>,
    issuer: String,
    scopes: Vec<String>,
    max_body: usize,
    stateless: bool,
    book: Arc<SessionBook>,
    probe: KsClient,
    ready: Mutex<Option<(Instant, Result<(), String>)>>,
    /// SIGTERM received: not ready, still serving (the shutdown delay).
    terminating: AtomicBool,
    /// Not accepting new requests; finishing those in flight.
    draining: AtomicBool,
    inflight: AtomicUsize,
}

/// Counts a request in flight until its response body is finished.
struct InFlight(Arc<App>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl App {
    fn enter(self: &Arc<Self>) -> InFlight {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// The base URL clients use: the public URL, else `http://{Host}`.
    fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(u) = &self.public_url {
            return u.as_str().trim_end_matches('/').to_string();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && self.guard.check_host_only(h))
            .unwrap_or("localhost");
        format!("http://{host}")
    }

    fn www_authenticate(&self, headers: &HeaderMap, error: Option<(&str, &str)>) -> String {
        let mut v = format!("Bearer realm=\"{REALM}\"");
        if self.auth.as_ref().is_some_and(Authenticator::accepts_kubesphere_tokens) {
            v.push_str(&format!(", resource_metadata=\"{}{PRM_PATH}\"", self.base_url(headers)));
            if !self.scopes.is_empty() {
                v.push_str(&format!(", scope=\"{}\"", self.scopes.join(" ")));
            }
        }
        if let Some((code, description)) = error {
            v.push_str(&format!(
                ", error=\"{code}\", error_description=\"{}\"",
                description.replace(['"', '\\'], "'")
            ));
        }
        v
    }
}

impl HostGuard {
    fn check_host_only(&self, host: &str) -> bool {
        let mut h = HeaderMap::new();
        match HeaderValue::from_str(host) {
            Ok(v) => {
                h.insert(header::HOST, v);
                self.check(&h).is_ok()
            }
            Err(_) => false,
        }
    }
}

fn plain(status: StatusCode, text: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.into(),
    )
        .into_response()
}

fn json_error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = serde_json::json!({"error": code, "error_description": description});
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// The answer to a JSON body that is not a message rmcp can take
/// ([`crate::jsonrpc::check`]): a parse error (or anything without a usable
/// id) is `400` with a JSON-RPC error whose `id` is null; an invalid request
/// with an id is a `200` JSON-RPC error carrying that id, so the client can
/// match it. Other content types are left to rmcp (415).
fn malformed(headers: &HeaderMap, body: &[u8]) -> Option<Response> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if !json {
        return None;
    }
    let answer = match crate::jsonrpc::check(body) {
        crate::jsonrpc::Verdict::Pass(_) => return None,
        crate::jsonrpc::Verdict::Answer(v) => v,
        crate::jsonrpc::Verdict::Ignore(why) => crate::jsonrpc::error_response(
            serde_json::Value::Null,
            crate::jsonrpc::INVALID_REQUEST,
            &format!("Invalid Request: {why}"),
        ),
    };
    let status = if answer["id"].is_null() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Some((status, [(header::CONTENT_TYPE, "application/json")], answer.to_string()).into_response())
}

/// What the gate reads from a JSON-RPC body for routing and the access log.
#[derive(Deserialize, Default)]
struct Peek {
    method: Option<String>,
    params: Option<PeekParams>,
}

#[derive(Deserialize, Default)]
struct PeekParams {
    name: Option<serde_json::Value>,
}

impl Peek {
    fn tool(&self) -> Option<String> {
        if self.method.as_deref() != Some("tools/call") {
            return None;
        }
        let name = self.params.as_ref()?.name.as_ref()?.as_str()?;
        Some(name.chars().take(64).collect())
    }
}

#[allow(clippy::too_many_arguments)]
fn access(method: &Method, status: StatusCode, caller: &str, via: &str, peek: &Peek, started: Instant, note: &str) {
    let ms = started.elapsed().as_millis() as u64;
    let rpc = peek.method.as_deref().map(|m| m.chars().take(64).collect::<String>());
    tracing::info!(
        target: "ks_devops_mcp::access",
        method = %method,
        status = status.as_u16(),
        caller,
        via,
        rpc = rpc.as_deref().unwrap_or("-"),
        tool = peek.tool().as_deref().unwrap_or("-"),
        ms,
        note,
        "mcp request"
    );
}

async fn gate(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let none = Peek::default();
    if app.draining.load(Ordering::SeqCst) {
        access(
            &method,
            StatusCode::SERVICE_UNAVAILABLE,
            "-",
            "-",
            &none,
            started,
            "draining",
        );
        let mut r = plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down; retry (another replica will answer)",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return r;
    }
    if let Err(refusal) = app.guard.check(req.headers()) {
        let (status, text) = match refusal {
            Refusal::BadHost => (StatusCode::BAD_REQUEST, "Bad Request: missing or malformed Host header"),
            Refusal::Host => (
                StatusCode::FORBIDDEN,
                "Forbidden: Host header is not allowed (see KS_DEVOPS_MCP_ALLOWED_HOSTS)",
            ),
            Refusal::Origin => (
                StatusCode::FORBIDDEN,
                "Forbidden: Origin header is not allowed (see KS_DEVOPS_MCP_ALLOWED_ORIGINS)",
            ),
        };
        access(&method, status, "-", "-", &none, started, "host/origin refused");
        return plain(status, text);
    }

    let caller = match &app.auth {
        None => None,
        Some(auth) => {
            let value = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            match auth.authenticate(value).await {
                Ok(c) => Some(c),
                Err(e) => return refuse_auth(&app, req.headers(), &method, e, started),
            }
        }
    };
    let (owner, via): (Arc<str>, Arc<str>) = match &caller {
        Some(c) => (c.user.clone(), c.via.clone()),
        None => (Arc::from("local"), Arc::from("none")),
    };

    let (mut parts, body) = req.into_parts();
    // Nothing after the gate (rmcp, the tools, their logs) sees the credential.
    parts.headers.remove(header::AUTHORIZATION);

    let session = parts
        .headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(id) = &session
        && let Some(o) = app.book.owner(id)
        && o != owner
    {
        tracing::warn!(caller = %owner, session_owner = %o, "session id presented by another identity refused");
        access(
            &method,
            StatusCode::FORBIDDEN,
            &owner,
            &via,
            &none,
            started,
            "session of another identity",
        );
        return plain(
            StatusCode::FORBIDDEN,
            "Forbidden: this session belongs to another identity; open your own session (initialize without Mcp-Session-Id)",
        );
    }

    let (body, peek) = if method == Method::POST {
        match http_body_util::Limited::new(body, app.max_body).collect().await {
            Ok(c) => {
                let bytes = c.to_bytes();
                if let Some(r) = malformed(&parts.headers, &bytes) {
                    access(
                        &method,
                        r.status(),
                        &owner,
                        &via,
                        &none,
                        started,
                        "malformed JSON-RPC answered",
                    );
                    return r;
                }
                let peek: Peek = serde_json::from_slice(&bytes).unwrap_or_default();
                (Body::from(bytes), peek)
            }
            Err(e) => {
                let (status, text) = if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                    (
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("Payload Too Large: the request body exceeds {} bytes", app.max_body),
                    )
                } else {
                    (
                        StatusCode::BAD_REQUEST,
                        "Bad Request: the request body could not be read".into(),
                    )
                };
                access(&method, status, &owner, &via, &none, started, "body refused");
                return plain(status, text);
            }
        }
    } else {
        (body, Peek::default())
    };

    let reservation = if !app.stateless
        && method == Method::POST
        && session.is_none()
        && peek.method.as_deref() == Some("initialize")
    {
        match app.book.reserve(owner.clone()) {
            Ok(r) => Some(r),
            Err(full) => {
                let (status, text) = match full {
                    Full::Total(n) => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("the server holds its maximum of {n} sessions; retry later"),
                    ),
                    Full::Owner(n) => (
                        StatusCode::TOO_MANY_REQUESTS,
                        format!(
                            "this identity already has {n} open sessions; close one (HTTP DELETE with its Mcp-Session-Id) or let it expire"
                        ),
                    ),
                };
                access(&method, status, &owner, &via, &peek, started, "session cap");
                let mut r = plain(status, text);
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                return r;
            }
        }
    } else {
        None
    };

    if let Some(c) = caller {
        parts.extensions.insert(c);
    }
    let inflight = (method == Method::POST).then(|| app.enter());
    let response = next.run(Request::from_parts(parts, body)).await;

    if let Some(r) = reservation {
        match response.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
            Some(id) => r.confirm(id),
            None => drop(r),
        }
    }
    access(&method, response.status(), &owner, &via, &peek, started, "");
    match inflight {
        None => response,
        Some(guard) => {
            let (p, b) = response.into_parts();
            let b = b.map_frame(move |f| {
                let _still_in_flight = &guard;
                f
            });
            Response::from_parts(p, Body::new(b))
        }
    }
}

fn refuse_auth(app: &App, headers: &HeaderMap, method: &Method, e: AuthError, started: Instant) -> Response {
    let none = Peek::default();
    let (status, www, code, text): (StatusCode, Option<(&str, &str)>, &str, String) = match &e {
        AuthError::Missing => (
            StatusCode::UNAUTHORIZED,
            None,
            "invalid_request",
            "send Authorization: Bearer <your KubeSphere access token or API key>".into(),
        ),
        AuthError::Malformed => (
            StatusCode::UNAUTHORIZED,
            Some((
                "invalid_request",
                "the Authorization header must be: Bearer <credential>",
            )),
            "invalid_request",
            "the Authorization header must be: Bearer <credential>".into(),
        ),
        AuthError::Invalid(why) => (
            StatusCode::UNAUTHORIZED,
            Some(("invalid_token", why)),
            "invalid_token",
            format!("{why}; log in to KubeSphere again and send the new token"),
        ),
        AuthError::Unavailable(why) => {
            tracing::warn!(error = %why, "cannot check a caller's credentials with KubeSphere");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "temporarily_unavailable",
                "KubeSphere cannot be reached to check the credentials; retry later".into(),
            )
        }
        AuthError::KeyBroken { key, reason } => {
            tracing::error!(key = %key, error = %reason, "the KubeSphere identity of an API key does not work");
            (
                StatusCode::BAD_GATEWAY,
                None,
                "server_error",
                "the KubeSphere identity configured for this API key does not work; ask the operator".into(),
            )
        }
    };
    access(method, status, "-", "-", &none, started, code);
    let mut r = json_error(status, code, &text);
    if status == StatusCode::UNAUTHORIZED {
        let value = app.www_authenticate(headers, www);
        if let Ok(v) = HeaderValue::from_str(&value) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
    } else if status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    r
}

async fn healthz() -> Response {
    plain(StatusCode::OK, "ok")
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    if app.terminating.load(Ordering::SeqCst) {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    let cached = app
        .ready
        .lock()
        .ok()
        .and_then(|g| g.clone())
        .filter(|(at, _)| at.elapsed() < Duration::from_secs(2));
    let result = match cached {
        Some((_, r)) => r,
        None => {
            let r = match tokio::time::timeout(Duration::from_secs(5), app.probe.healthz()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("no answer within 5 s".to_string()),
            };
            if let Ok(mut g) = app.ready.lock() {
                *g = Some((Instant::now(), r.clone()));
            }
            r
        }
    };
    match result {
        Ok(()) => plain(StatusCode::OK, "ready"),
        Err(e) => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("KubeSphere at {} is not reachable: {e}", app.probe.settings().base_url),
        ),
    }
}

async fn protected_resource(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if !app.auth.as_ref().is_some_and(Authenticator::accepts_kubesphere_tokens) {
        return plain(
            StatusCode::NOT_FOUND,
            "this server does not accept KubeSphere OAuth tokens (API keys only, or no caller authentication)",
        );
    }
    let base = app.base_url(&headers);
    let doc = serde_json::json!({
        "resource": format!("{base}/mcp"),
        "authorization_servers": [app.issuer],
        "bearer_methods_supported": ["header"],
        "scopes_supported": app.scopes,
        "resource_name": "KubeSphere DevOps (ks-devops-mcp)",
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        doc.to_string(),
    )
        .into_response()
}

// ------------------------------------------------------------------ server

/// A running HTTP server.
pub struct HttpServer {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    drain_timeout: Duration,
    app: Arc<App>,
}

impl HttpServer {
    /// Binds and starts serving. `upstream` is the server's KubeSphere
    /// client: its own identity with `--auth none`, otherwise a client
    /// without identity (`Credentials::None`) whose settings each caller's
    /// client copies and which only runs the readiness probe.
    pub async fn start(
        cfg: HttpConfig,
        registry: Registry,
        options: ServerOptions,
        upstream: KsClient,
    ) -> Result<HttpServer, String> {
        let caller_auth = cfg.caller_auth();
        let has_identity = !matches!(upstream.settings().credentials, Credentials::None);
        if caller_auth && has_identity {
            return Err("with caller authentication the server must have no KubeSphere identity of its own: unset KUBESPHERE_USERNAME/KUBESPHERE_PASSWORD/KUBESPHERE_TOKEN".into());
        }
        if !caller_auth && !has_identity {
            return Err("KS_DEVOPS_MCP_AUTH=none acts as the server's own identity: set KUBESPHERE_USERNAME + KUBESPHERE_PASSWORD or KUBESPHERE_TOKEN".into());
        }
        let server = if caller_auth {
            DevopsServer::per_caller(registry, options)
        } else {
            DevopsServer::new(registry, upstream.clone(), options)
        };
        let auth = if caller_auth {
            Some(Authenticator::new(
                cfg.auth,
                upstream.clone(),
                cfg.api_keys,
                cfg.token_recheck,
                10_000,
            )?)
        } else {
            None
        };
        let issuer = cfg
            .oauth_issuer
            .as_ref()
            .unwrap_or(&upstream.settings().base_url)
            .as_str()
            .trim_end_matches('/')
            .to_string();
        let book = SessionBook::new(cfg.max_sessions, cfg.max_sessions_per_caller);
        let app = Arc::new(App {
            auth,
            guard: cfg.guard.clone(),
            public_url: cfg.public_url.clone(),
            issuer,
            scopes: cfg.oauth_scopes.clone(),
            max_body: cfg.max_body_bytes,
            stateless: cfg.stateless,
            book: book.clone(),
            probe: upstream,
            ready: Mutex::new(None),
            terminating: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            inflight: AtomicUsize::new(0),
        });

        let rmcp_ct = CancellationToken::new();
        let mut rc = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(!cfg.stateless)
            .with_json_response(cfg.stateless)
            .with_cancellation_token(rmcp_ct.clone())
            // The gate enforces the cap first (with the same number), so
            // rmcp's own check never fires on a body the gate let through.
            .with_max_request_body_bytes(cfg.max_body_bytes);
        rc = if cfg.guard.any_host() {
            rc.disable_allowed_hosts()
        } else {
            rc.with_allowed_hosts(cfg.guard.hosts.clone())
        };
        rc = rc
            .with_allowed_origins(cfg.guard.origins.clone())
            .enforce_origin_validation();
        let mut local = LocalSessionManager::default();
        local.session_config.keep_alive = Some(cfg.session_idle);
        let sessions = Arc::new(OwnedSessions::new(local, book));
        // One server per session (or per request when there is none): in
        // dynamic mode each starts with the configured toolsets on.
        let mcp = StreamableHttpService::new(move || Ok(server.for_connection()), sessions, rc);

        let router = Router::new()
            .route_service("/mcp", mcp)
            .route_layer(middleware::from_fn_with_state(app.clone(), gate))
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route(PRM_ROOT, get(protected_resource))
            .route(PRM_PATH, get(protected_resource))
            .with_state(app.clone());

        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let shutdown = CancellationToken::new();
        let stop_accepting = CancellationToken::new();

        // Shutdown: not ready (still serving) for the delay; then stop
        // accepting, let requests in flight finish (bounded), and end the
        // sessions and their streams.
        {
            let shutdown = shutdown.clone();
            let stop_accepting = stop_accepting.clone();
            let app = app.clone();
            let drain = cfg.drain_timeout;
            let delay = cfg.shutdown_delay;
            tokio::spawn(async move {
                shutdown.cancelled().await;
                app.terminating.store(true, Ordering::SeqCst);
                if !delay.is_zero() {
                    tracing::info!(secs = delay.as_secs_f64(), "shutting down: not ready, still serving");
                    tokio::time::sleep(delay).await;
                }
                app.draining.store(true, Ordering::SeqCst);
                stop_accepting.cancel();
                let n = app.inflight.load(Ordering::SeqCst);
                tracing::info!(in_flight = n, "shutting down: draining requests in flight");
                let deadline = Instant::now() + drain;
                while app.inflight.load(Ordering::SeqCst) > 0 {
                    if Instant::now() >= deadline {
                        tracing::warn!(
                            in_flight = app.inflight.load(Ordering::SeqCst),
                            "drain timeout: ending the remaining requests"
                        );
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                rmcp_ct.cancel();
            });
        }
        if let Some(auth) = app.auth.as_ref().map(|_| app.clone()) {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_secs(60)) => {
                            if let Some(a) = &auth.auth { a.purge(); }
                        }
                    }
                }
            });
        }
        let serve = axum::serve(listener, router).with_graceful_shutdown(stop_accepting.cancelled_owned());
        let task = tokio::spawn(async move {
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "HTTP server failed");
            }
        });
        Ok(HttpServer {
            addr,
            shutdown,
            task,
            drain_timeout: cfg.drain_timeout + cfg.shutdown_delay,
            app,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests in flight right now.
    pub fn in_flight(&self) -> usize {
        self.app.inflight.load(Ordering::SeqCst)
    }

    /// Open sessions right now.
    pub fn open_sessions(&self) -> usize {
        self.app.book.open()
    }

    /// Starts the graceful shutdown (what SIGTERM does).
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Waits until the server has stopped (at most the drain timeout plus
    /// a few seconds after the shutdown began).
    pub async fn stopped(self) {
        let shutdown = self.shutdown.clone();
        let limit = self.drain_timeout + Duration::from_secs(5);
        let mut task = self.task;
        tokio::select! {
            _ = &mut task => {}
            _ = async { shutdown.cancelled().await; tokio::time::sleep(limit).await } => {
                tracing::warn!("connections still open after the drain; closing them");
                task.abort();
            }
        }
    }
}
