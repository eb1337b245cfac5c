//! Authentication: OAuth password grant, refresh, renewal before expiry, and
//! ready-made bearer tokens. Secrets stay in `secrecy` types; nothing here
//! implements `Display` for them and `Debug` prints them redacted.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// How this client proves who it is.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// OAuth password grant with a KubeSphere user.
    Password { username: String, password: SecretString },
    /// A bearer token obtained elsewhere (cannot be renewed by this server).
    Token(SecretString),
    /// No identity at all: only anonymous requests (the health probe) work;
    /// every authenticated call fails. The HTTP transport's template client
    /// in caller-authentication mode, so the server never has an identity
    /// of its own to fall back to.
    None,
}

impl Credentials {
    /// The user name when it is known without a network call.
    pub fn username(&self) -> Option<String> {
        match self {
            Credentials::Password { username, .. } => Some(username.clone()),
            Credentials::Token(t) => jwt_claims(t.expose_secret()).and_then(|c| c.username()),
            Credentials::None => None,
        }
    }
}

/// The OAuth client this server logs in through.
#[derive(Clone, Debug)]
pub struct OAuthClient {
    pub id: String,
    pub secret: SecretString,
}

impl Default for OAuthClient {
    fn default() -> Self {
        OAuthClient {
            id: "kubesphere".into(),
            secret: SecretString::from("kubesphere"),
        }
    }
}

/// Claims KubeSphere puts in its HS256 JWTs (read, never verified: the
/// server verifies; the client only uses them for display and expiry).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct JwtClaims {
    pub sub: Option<String>,
    pub username: Option<String>,
    pub exp: Option<i64>,
    pub token_type: Option<String>,
}

impl JwtClaims {
    fn username(&self) -> Option<String> {
        self.username.clone().or_else(|| self.sub.clone())
    }
}

/// Decodes the payload of a JWT without verifying it.
pub fn jwt_claims(token: &str) -> Option<JwtClaims> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The OAuth token response (`/oauth/token`).
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: SecretString,
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// The OAuth error answer.
#[derive(Deserialize, Debug)]
pub(crate) struct OAuthError {
    pub error: String,
    #[serde(default)]
    pub error_description: String,
}

/// A token in use, with what is known of its lifetime.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub access: SecretString,
    pub refresh: Option<SecretString>,
    pub issued_at: SystemTime,
    pub expires_at: Option<SystemTime>,
    /// Bumped on every new token, so a 401 only invalidates the token that got it.
    pub generation: u64,
}

impl Session {
    pub fn from_response(r: TokenResponse, generation: u64) -> Session {
        let now = SystemTime::now();
        let expires_at = r
            .expires_in
            .filter(|s| *s > 0)
            .map(|s| now + Duration::from_secs(s))
            .or_else(|| jwt_expiry(r.access_token.expose_secret()));
        Session {
            access: r.access_token,
            refresh: r.refresh_token,
            issued_at: now,
            expires_at,
            generation,
        }
    }

    pub fn from_static(token: SecretString) -> Session {
        let expires_at = jwt_expiry(token.expose_secret());
        Session {
            access: token,
            refresh: None,
            issued_at: SystemTime::now(),
            expires_at,
            generation: 0,
        }
    }

    /// True once the token is within its renewal margin (a tenth of its
    /// lifetime, at most five minutes) of expiring.
    pub fn needs_renewal(&self, now: SystemTime) -> bool {
        let Some(exp) = self.expires_at else {
            return false;
        };
        let lifetime = exp.duration_since(self.issued_at).unwrap_or_default();
        let margin = (lifetime / 10).min(Duration::from_secs(300));
        now + margin >= exp
    }
}

fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let exp = jwt_claims(token)?.exp?;
    let secs = u64::try_from(exp).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Hint for an OAuth error code, telling the operator what to fix.
pub(crate) fn oauth_hint(error: &str, status: u16) -> &'static str {
    match (error, status) {
        (_, 429) => "Too many failed logins: wait a few minutes before trying again",
        ("invalid_client", _) | ("unauthorized_client", _) => {
            "Check KUBESPHERE_CLIENT_ID and KUBESPHERE_CLIENT_SECRET (default kubesphere/kubesphere, the trusted client the ks-core chart installs)"
        }
        ("invalid_grant", _) => "Check KUBESPHERE_USERNAME and KUBESPHERE_PASSWORD; the account may also be disabled",
        ("unsupported_grant_type", _) => {
            "The OAuth client is not trusted for the password grant: use a trusted client or set KUBESPHERE_TOKEN instead"
        }
        _ => "Check the KubeSphere URL and the login settings",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}.sig", e.encode(r#"{"alg":"HS256"}"#), e.encode(payload))
    }

    #[test]
    fn claims() {
        let t = jwt(r#"{"sub":"alice","username":"alice","exp":4102444800,"token_type":"access_token"}"#);
        let c = jwt_claims(&t).unwrap();
        assert_eq!(c.username().as_deref(), Some("alice"));
        assert_eq!(jwt_expiry(&t), Some(UNIX_EPOCH + Duration::from_secs(4102444800)));
        assert!(jwt_claims("not-a-jwt").is_none());
        assert!(jwt_claims("a.%%%.c").is_none());
    }

    #[test]
    fn renewal_margin() {
        let now = SystemTime::now();
        let s = Session {
            access: SecretString::from("x"),
            refresh: None,
            issued_at: now,
            expires_at: Some(now + Duration::from_secs(7200)),
            generation: 1,
        };
        assert!(!s.needs_renewal(now));
        assert!(!s.needs_renewal(now + Duration::from_secs(6800)));
        assert!(s.needs_renewal(now + Duration::from_secs(6901)));
    }

    #[test]
    fn debug_hides_secrets() {
        let c = Credentials::Password {
            username: "u".into(),
            password: SecretString::from("hunter2"),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        let t = Credentials::Token(SecretString::from("tok-123"));
        assert!(!format!("{t:?}").contains("tok-123"));
    }
}
