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

mod args;
pub mod callers;
mod gate;
pub mod guard;
pub mod keys;
mod server;
pub mod sessions;
mod wellknown;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

pub use args::{HttpArgs, HttpConfig};
pub use server::HttpServer;

use crate::kubesphere::KsClient;
use callers::Authenticator;
use guard::HostGuard;
use sessions::SessionBook;

const SESSION_HEADER: &str = "mcp-session-id";
const REALM: &str = "ks-devops-mcp";
/// Where the protected-resource metadata of `/mcp` lives (RFC 9728 §3.1:
/// the well-known path inserted before the resource's path).
pub const PRM_PATH: &str = "/.well-known/oauth-protected-resource/mcp";
const PRM_ROOT: &str = "/.well-known/oauth-protected-resource";

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
