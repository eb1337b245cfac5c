//! The OAuth session: a token got, renewed (refresh grant, then the
//! password grant) and forgotten after a 401.

use std::time::SystemTime;

use reqwest::Method;
use secrecy::ExposeSecret;

use super::send::Request;
use super::{Body, KsClient, MAX_JSON_BODY, body::read_capped};
use crate::auth::{Credentials, OAuthError, Session, TokenResponse, oauth_hint};
use crate::error::{KsError, KsResult};
use crate::path::{ApiPath, Cluster};

impl KsClient {
    pub(super) async fn session(&self) -> KsResult<Session> {
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
    pub(super) async fn invalidate(&self, generation: u64) {
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
        let body = Body::Form(form);
        // Issuing a token changes nothing a user can see: it is retried
        // like a read, and failures say so.
        let req = Request::new(Method::POST, &Cluster::Host, &path, &body, "*/*").idempotent();
        let mut attempts = self.attempts(&req);
        loop {
            attempts.begin();
            let resp = match self.send_once(&req, None).await {
                Err(e) if attempts.again(&req, &e) => {
                    self.pause(&attempts).await;
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
            if attempts.again(&req, &err) {
                self.pause(&attempts).await;
                continue;
            }
            return Err(err);
        }
    }
}
