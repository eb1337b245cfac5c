//! The gate every `/mcp` request passes first, one function per step (see
//! the module documentation of [`super`] for the order and the statuses).
//! Each step either hands on what the next one needs or answers the
//! request itself (with its access-log line).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::Deserialize;

use super::callers::AuthError;
use super::guard::Refusal;
use super::sessions::{Full, Reservation};
use super::{App, SESSION_HEADER, json_error, plain};
use crate::mcp::server::Caller;

/// A step's early answer (boxed: a `Response` is large and most requests
/// pass every step).
type Answered = Box<Response>;

pub(super) async fn gate(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let log = AccessLog::new(req.method().clone());
    match pass(&app, req, next, log).await {
        Ok(r) => r,
        Err(r) => *r,
    }
}

/// The steps in order.
async fn pass(app: &Arc<App>, req: Request, next: Next, mut log: AccessLog) -> Result<Response, Answered> {
    refuse_if_draining(app, &log)?;
    check_host_and_origin(app, req.headers(), &log)?;
    let caller = authenticate(app, req.headers(), &log).await?;
    log.identify(caller.as_ref());
    let (mut parts, body) = req.into_parts();
    // Nothing after the gate (rmcp, the tools, their logs) sees the credential.
    parts.headers.remove(header::AUTHORIZATION);
    let session = check_session_owner(app, &parts.headers, &log)?;
    let (body, peek) = read_body(app, &parts, body, &log).await?;
    let reservation = reserve_session(app, session.as_deref(), &peek, &log)?;
    Ok(forward(app, parts, body, caller, reservation, &peek, &log, next).await)
}

/// Step 1: while draining (SIGTERM), every request is refused with 503.
fn refuse_if_draining(app: &App, log: &AccessLog) -> Result<(), Answered> {
    if !app.draining.load(Ordering::SeqCst) {
        return Ok(());
    }
    log.write(StatusCode::SERVICE_UNAVAILABLE, &Peek::default(), "draining");
    let mut r = plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is shutting down; retry (another replica will answer)",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    Err(Box::new(r))
}

/// Step 2: `Host` and `Origin` against the allow-lists.
fn check_host_and_origin(app: &App, headers: &HeaderMap, log: &AccessLog) -> Result<(), Answered> {
    let Err(refusal) = app.guard.check(headers) else {
        return Ok(());
    };
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
    log.write(status, &Peek::default(), "host/origin refused");
    Err(Box::new(plain(status, text)))
}

/// Step 3: the caller's credential (`None` without caller authentication).
async fn authenticate(app: &App, headers: &HeaderMap, log: &AccessLog) -> Result<Option<Caller>, Answered> {
    let Some(auth) = &app.auth else {
        return Ok(None);
    };
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match auth.authenticate(value).await {
        Ok(c) => Ok(Some(c)),
        Err(e) => Err(Box::new(refuse_auth(app, headers, e, log))),
    }
}

/// Step 4: a session id presented by another identity is refused; returns the
/// session id the request carries.
fn check_session_owner(app: &App, headers: &HeaderMap, log: &AccessLog) -> Result<Option<String>, Answered> {
    let session = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(id) = &session
        && let Some(o) = app.book.owner(id)
        && o != log.caller
    {
        tracing::warn!(caller = %log.caller, session_owner = %o, "session id presented by another identity refused");
        log.write(StatusCode::FORBIDDEN, &Peek::default(), "session of another identity");
        return Err(Box::new(plain(
            StatusCode::FORBIDDEN,
            "Forbidden: this session belongs to another identity; open your own session (initialize without Mcp-Session-Id)",
        )));
    }
    Ok(session)
}

/// Step 5: a POST body is read whole, within the size cap; a body rmcp cannot
/// take is answered here. Returns the body to hand on and what it says.
async fn read_body(app: &App, parts: &Parts, body: Body, log: &AccessLog) -> Result<(Body, Peek), Answered> {
    if log.method != Method::POST {
        return Ok((body, Peek::default()));
    }
    match http_body_util::Limited::new(body, app.max_body).collect().await {
        Ok(c) => {
            let bytes = c.to_bytes();
            if let Some(r) = malformed(&parts.headers, &bytes) {
                log.write(r.status(), &Peek::default(), "malformed JSON-RPC answered");
                return Err(Box::new(r));
            }
            let peek: Peek = serde_json::from_slice(&bytes).unwrap_or_default();
            Ok((Body::from(bytes), peek))
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
            log.write(status, &Peek::default(), "body refused");
            Err(Box::new(plain(status, text)))
        }
    }
}

/// Step 6: an `initialize` without a session id opens a session: counted
/// against the caps (503 in total, 429 per identity).
fn reserve_session(
    app: &Arc<App>,
    session: Option<&str>,
    peek: &Peek,
    log: &AccessLog,
) -> Result<Option<Reservation>, Answered> {
    let opens_session = !app.stateless
        && log.method == Method::POST
        && session.is_none()
        && peek.method.as_deref() == Some("initialize");
    if !opens_session {
        return Ok(None);
    }
    match app.book.reserve(log.caller.clone()) {
        Ok(r) => Ok(Some(r)),
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
            log.write(status, peek, "session cap");
            let mut r = plain(status, text);
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            Err(Box::new(r))
        }
    }
}

/// Step 7: the request goes on with the caller attached for the tools; the
/// session the answer opens is recorded, the access-log line written, and a
/// POST counted in flight until its response body is finished.
#[allow(clippy::too_many_arguments)]
async fn forward(
    app: &Arc<App>,
    mut parts: Parts,
    body: Body,
    caller: Option<Caller>,
    reservation: Option<Reservation>,
    peek: &Peek,
    log: &AccessLog,
    next: Next,
) -> Response {
    if let Some(c) = caller {
        parts.extensions.insert(c);
    }
    let inflight = (log.method == Method::POST).then(|| app.enter());
    let response = next.run(Request::from_parts(parts, body)).await;

    if let Some(r) = reservation {
        match response.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
            Some(id) => r.confirm(id),
            None => drop(r),
        }
    }
    log.write(response.status(), peek, "");
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

fn refuse_auth(app: &App, headers: &HeaderMap, e: AuthError, log: &AccessLog) -> Response {
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
    log.write(status, &Peek::default(), code);
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

/// The access-log line of one request: who (once known), what, the
/// status and the time taken; never a credential.
struct AccessLog {
    method: Method,
    started: Instant,
    /// The KubeSphere user (`-` before authentication, `local` without
    /// caller authentication).
    caller: Arc<str>,
    via: Arc<str>,
}

impl AccessLog {
    fn new(method: Method) -> AccessLog {
        AccessLog {
            method,
            started: Instant::now(),
            caller: Arc::from("-"),
            via: Arc::from("-"),
        }
    }

    /// The request acts as `caller` (or as the server's own identity).
    fn identify(&mut self, caller: Option<&Caller>) {
        (self.caller, self.via) = match caller {
            Some(c) => (c.user.clone(), c.via.clone()),
            None => (Arc::from("local"), Arc::from("none")),
        };
    }

    fn write(&self, status: StatusCode, peek: &Peek, note: &str) {
        let ms = self.started.elapsed().as_millis() as u64;
        let rpc = peek.method.as_deref().map(|m| m.chars().take(64).collect::<String>());
        tracing::info!(
            target: "ks_devops_mcp::access",
            method = %self.method,
            status = status.as_u16(),
            caller = &*self.caller,
            via = &*self.via,
            rpc = rpc.as_deref().unwrap_or("-"),
            tool = peek.tool().as_deref().unwrap_or("-"),
            ms,
            note,
            "mcp request"
        );
    }
}
