//! The routes beside `/mcp`: `/healthz`, `/readyz` and the OAuth
//! protected-resource metadata (RFC 9728), with the base URL and the
//! `WWW-Authenticate` challenge that point clients at it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::callers::Authenticator;
use super::guard::HostGuard;
use super::{App, PRM_PATH, REALM, plain};

impl App {
    /// The base URL clients use: the public URL, else `http://{Host}`.
    pub(super) fn base_url(&self, headers: &HeaderMap) -> String {
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

    pub(super) fn www_authenticate(&self, headers: &HeaderMap, error: Option<(&str, &str)>) -> String {
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

pub(super) async fn healthz() -> Response {
    plain(StatusCode::OK, "ok")
}

pub(super) async fn readyz(State(app): State<Arc<App>>) -> Response {
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

pub(super) async fn protected_resource(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
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
