//! Caller authentication: who an HTTP request acts as.
//!
//! * `Authorization: Bearer <KubeSphere access token>`: the token is checked
//!   with KubeSphere (`GET /oauth/userinfo`, re-checked every
//!   `recheck` and never past its `exp`), then used only for that caller's
//!   upstream requests through a client of its own.
//! * `Authorization: Bearer <API key>`: the key's SHA-256 is looked up in
//!   the operator's key file; the caller acts as the identity configured
//!   there (held server-side, logged in and renewed by the server).
//!
//! Tokens and keys are kept and compared only as SHA-256 digests; the
//! caches are per identity (one client, hence one token cache, per caller
//! token or key). Nothing here logs a token or key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use secrecy::SecretString;

use super::keys::{ApiKey, Digest32, digest};
use crate::kubesphere::auth::jwt_claims;
use crate::kubesphere::{Credentials, KsClient, KsError};
use crate::mcp::server::Caller;

/// Which credentials callers may present (`--auth`, case-insensitive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// KubeSphere tokens, and API keys when a key file is given.
    #[value(name = "kubesphere", alias = "token", alias = "")]
    KubeSphere,
    /// API keys only.
    #[value(name = "api-keys", alias = "apikeys", alias = "keys")]
    ApiKeys,
    /// No caller authentication: the server's own identity (loopback only).
    #[value(name = "none")]
    None,
}

impl AuthMode {
    pub fn name(self) -> &'static str {
        match self {
            AuthMode::KubeSphere => "kubesphere",
            AuthMode::ApiKeys => "api-keys",
            AuthMode::None => "none",
        }
    }
}

/// Why a request is not authenticated.
#[derive(Debug)]
pub enum AuthError {
    /// No `Authorization` header (401, no error code, per RFC 6750 §3.1).
    Missing,
    /// Not `Bearer <credential>` (401 `invalid_request`).
    Malformed,
    /// Unknown key, or KubeSphere refused the token (401 `invalid_token`).
    Invalid(&'static str),
    /// KubeSphere could not be asked (503).
    Unavailable(String),
    /// An API key whose server-side identity does not work (502).
    KeyBroken { key: Arc<str>, reason: String },
}

const CALLER_TOKEN_HINT: &str =
    "KubeSphere refused the caller's token (expired, revoked or logged out): obtain a new token and retry with it";
const KEY_HINT: &str =
    "KubeSphere refused the identity configured for this API key; ask the operator to fix it in the API key file";

struct KeyEntry {
    name: Arc<str>,
    via: Arc<str>,
    client: KsClient,
    /// The user KubeSphere confirmed for this key (asked once).
    user: tokio::sync::OnceCell<Arc<str>>,
}

struct TokenEntry {
    caller: Caller,
    checked: Instant,
    used: Instant,
    expires: Option<SystemTime>,
}

/// Authenticates callers and keeps one client per identity.
pub struct Authenticator {
    mode: AuthMode,
    /// The identity-less client whose settings and connection pool each
    /// caller's client shares.
    template: KsClient,
    keys: HashMap<Digest32, KeyEntry>,
    tokens: Mutex<HashMap<Digest32, TokenEntry>>,
    /// Tokens KubeSphere refused recently (not asked again for a while).
    refused: Mutex<HashMap<Digest32, Instant>>,
    recheck: Duration,
    max_tokens: usize,
}

const REFUSED_TTL: Duration = Duration::from_secs(30);
const IDLE_TOKEN_TTL: Duration = Duration::from_secs(3600);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Authenticator {
    /// `template`: a KubeSphere client without an identity
    /// (`Credentials::None`); each caller gets a sibling with its own.
    pub fn new(
        mode: AuthMode,
        template: KsClient,
        keys: Vec<ApiKey>,
        recheck: Duration,
        max_tokens: usize,
    ) -> Result<Authenticator, String> {
        if !matches!(template.settings().credentials, Credentials::None) {
            return Err("the template client must have no identity".into());
        }
        let mut map = HashMap::new();
        for k in keys {
            let client = template.sibling(k.credentials, KEY_HINT);
            let name: Arc<str> = Arc::from(k.name.as_str());
            map.insert(
                k.digest,
                KeyEntry {
                    via: Arc::from(format!("key:{}", k.name)),
                    name,
                    client,
                    user: tokio::sync::OnceCell::new(),
                },
            );
        }
        Ok(Authenticator {
            mode,
            template,
            keys: map,
            tokens: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
            recheck,
            max_tokens: max_tokens.max(1),
        })
    }

    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    pub fn accepts_kubesphere_tokens(&self) -> bool {
        self.mode == AuthMode::KubeSphere
    }

    /// Number of caller tokens with a client (for tests and metrics).
    pub fn cached_tokens(&self) -> usize {
        lock(&self.tokens).len()
    }

    /// Authenticates the `Authorization` header value.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Caller, AuthError> {
        let header = header
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or(AuthError::Missing)?;
        let (scheme, credential) = header.split_once(' ').ok_or(AuthError::Malformed)?;
        let credential = credential.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || credential.is_empty() || credential.contains(' ') {
            return Err(AuthError::Malformed);
        }
        let d = digest(credential);
        if let Some(key) = self.keys.get(&d) {
            return self.key_caller(key).await;
        }
        if !self.accepts_kubesphere_tokens() {
            return Err(AuthError::Invalid("unknown API key"));
        }
        self.token_caller(d, credential).await
    }

    async fn key_caller(&self, key: &KeyEntry) -> Result<Caller, AuthError> {
        let user = key
            .user
            .get_or_try_init(|| async {
                match key.client.userinfo().await {
                    Ok(info) => Ok(Arc::from(info.username().unwrap_or_default())),
                    Err(e) if e.is_transient() => Err(AuthError::Unavailable(e.to_string())),
                    Err(e) => Err(AuthError::KeyBroken {
                        key: key.name.clone(),
                        reason: e.to_string(),
                    }),
                }
            })
            .await?;
        Ok(Caller {
            user: user.clone(),
            via: key.via.clone(),
            client: key.client.clone(),
        })
    }

    async fn token_caller(&self, d: Digest32, token: &str) -> Result<Caller, AuthError> {
        let now = Instant::now();
        // KubeSphere access tokens are JWTs: anything else is refused
        // without asking KubeSphere (no upstream request per junk token).
        let Some(claims) = jwt_claims(token) else {
            return Err(AuthError::Invalid("neither a KubeSphere token nor a known API key"));
        };
        let expires = claims
            .exp
            .and_then(|e| u64::try_from(e).ok())
            .map(|e| UNIX_EPOCH + Duration::from_secs(e));
        if expires.is_some_and(|e| e <= SystemTime::now()) {
            lock(&self.tokens).remove(&d);
            return Err(AuthError::Invalid("the token has expired"));
        }
        let reuse = {
            let mut tokens = lock(&self.tokens);
            match tokens.get_mut(&d) {
                Some(e) if now.duration_since(e.checked) < self.recheck => {
                    e.used = now;
                    return Ok(e.caller.clone());
                }
                Some(e) => Some(e.caller.client.clone()),
                None => None,
            }
        };
        {
            let mut refused = lock(&self.refused);
            if let Some(at) = refused.get(&d) {
                if now.duration_since(*at) < REFUSED_TTL {
                    return Err(AuthError::Invalid("KubeSphere refused the token"));
                }
                refused.remove(&d);
            }
        }
        // Keep the caller's client (and its caches) across re-checks.
        let client = match reuse {
            Some(c) => c,
            None => self.template.sibling(
                Credentials::Token(SecretString::from(token.to_string())),
                CALLER_TOKEN_HINT,
            ),
        };
        match client.userinfo().await {
            Ok(info) => {
                let caller = Caller {
                    user: Arc::from(info.username().unwrap_or_default()),
                    via: Arc::from("token"),
                    client,
                };
                let mut tokens = lock(&self.tokens);
                if tokens.len() >= self.max_tokens && !tokens.contains_key(&d) {
                    tokens.retain(|_, e| now.duration_since(e.used) < IDLE_TOKEN_TTL);
                    if tokens.len() >= self.max_tokens
                        && let Some(oldest) = tokens.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| *k)
                    {
                        tokens.remove(&oldest);
                    }
                }
                tokens.insert(
                    d,
                    TokenEntry {
                        caller: caller.clone(),
                        checked: now,
                        used: now,
                        expires,
                    },
                );
                Ok(caller)
            }
            Err(KsError::Unauthorized { .. }) | Err(KsError::Forbidden { .. }) => {
                lock(&self.tokens).remove(&d);
                let mut refused = lock(&self.refused);
                if refused.len() >= self.max_tokens {
                    refused.retain(|_, at| now.duration_since(*at) < REFUSED_TTL);
                    if refused.len() >= self.max_tokens {
                        // Only an optimisation: under a flood, start over.
                        refused.clear();
                    }
                }
                refused.insert(d, now);
                Err(AuthError::Invalid("KubeSphere refused the token"))
            }
            Err(e) => Err(AuthError::Unavailable(e.to_string())),
        }
    }

    /// Forgets tokens past their expiry (called now and then).
    pub fn purge(&self) {
        let now = SystemTime::now();
        let idle = Instant::now();
        lock(&self.tokens)
            .retain(|_, e| e.expires.is_none_or(|x| x > now) && idle.duration_since(e.used) < IDLE_TOKEN_TTL);
        lock(&self.refused).retain(|_, at| idle.duration_since(*at) < REFUSED_TTL);
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("mode", &self.mode)
            .field("keys", &self.keys.values().map(|k| k.name.clone()).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
