//! Command-line settings of the HTTP transport and their checked form.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use url::Url;

use super::callers::AuthMode;
use super::guard::HostGuard;
use super::keys;

/// Command-line settings of the HTTP transport.
#[derive(Debug, Args, Clone)]
pub struct HttpArgs {
    /// Serve MCP over streamable HTTP on this address (e.g. 127.0.0.1:8080) instead of stdio.
    #[arg(long = "http", env = "KS_DEVOPS_MCP_HTTP", value_name = "ADDR", global = true)]
    pub listen: Option<SocketAddr>,

    /// Caller authentication: kubesphere (callers send their own KubeSphere token, or an API key), api-keys (API keys only), none (the server's own identity; loopback only).
    #[arg(
        long,
        env = "KS_DEVOPS_MCP_AUTH",
        value_enum,
        ignore_case = true,
        default_value = "kubesphere",
        global = true
    )]
    pub auth: AuthMode,

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
        let auth = self.auth;
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
