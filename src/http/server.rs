//! Starting the HTTP server (the router, rmcp's streamable HTTP service
//! behind the gate) and its graceful shutdown.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::middleware;
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::args::HttpConfig;
use super::callers::Authenticator;
use super::gate::gate;
use super::sessions::{OwnedSessions, SessionBook};
use super::wellknown::{healthz, protected_resource, readyz};
use super::{App, PRM_PATH, PRM_ROOT};
use crate::kubesphere::{Credentials, KsClient};
use crate::mcp::server::DevopsServer;
use crate::mcp::{Registry, ServerOptions};

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
        mut cfg: HttpConfig,
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
                std::mem::take(&mut cfg.api_keys),
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
        let rc = rmcp_config(&cfg, rmcp_ct.clone());
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

        spawn_shutdown(
            app.clone(),
            &shutdown,
            &stop_accepting,
            rmcp_ct,
            cfg.shutdown_delay,
            cfg.drain_timeout,
        );
        spawn_purge(&app, &shutdown);
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

/// rmcp's streamable HTTP settings: the same limits as the gate, so rmcp's
/// own checks agree with it.
fn rmcp_config(cfg: &HttpConfig, cancel: CancellationToken) -> StreamableHttpServerConfig {
    let rc = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(!cfg.stateless)
        .with_json_response(cfg.stateless)
        .with_cancellation_token(cancel)
        // The gate enforces the cap first (with the same number), so
        // rmcp's own check never fires on a body the gate let through.
        .with_max_request_body_bytes(cfg.max_body_bytes);
    let rc = if cfg.guard.any_host() {
        rc.disable_allowed_hosts()
    } else {
        rc.with_allowed_hosts(cfg.guard.hosts.clone())
    };
    rc.with_allowed_origins(cfg.guard.origins.clone())
        .enforce_origin_validation()
}

/// Shutdown: not ready (still serving) for the delay; then stop accepting,
/// let requests in flight finish (bounded), and end the sessions and their
/// streams.
fn spawn_shutdown(
    app: Arc<App>,
    shutdown: &CancellationToken,
    stop_accepting: &CancellationToken,
    rmcp_ct: CancellationToken,
    delay: Duration,
    drain: Duration,
) {
    let shutdown = shutdown.clone();
    let stop_accepting = stop_accepting.clone();
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

/// Forgets tokens past their expiry every minute (with caller
/// authentication only).
fn spawn_purge(app: &Arc<App>, shutdown: &CancellationToken) {
    if app.auth.is_none() {
        return;
    }
    let app = app.clone();
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(60)) => {
                    if let Some(a) = &app.auth { a.purge(); }
                }
            }
        }
    });
}
