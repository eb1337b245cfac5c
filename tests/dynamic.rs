//! Dynamic toolsets over MCP with rmcp's client: `enable_toolset` makes a
//! toolset's tools appear (after `notifications/tools/list_changed`) and
//! callable, per connection; `--toolsets` and `--read-only` bound what can
//! be opened. In-process (as over stdio) in both handshake styles, and over
//! streamable HTTP (per session; refused without a session).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use ks_devops_mcp::http::callers::AuthMode;
use ks_devops_mcp::http::{HttpConfig, HttpServer};
use ks_devops_mcp::kubesphere::{ClientSettings, Credentials, KsClient};
use ks_devops_mcp::mcp::dynamic::DynamicConfig;
use ks_devops_mcp::mcp::server::DevopsServer;
use ks_devops_mcp::mcp::{Registry, ServerOptions};
use ks_sim::Sim;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation, ProtocolVersion,
    ServerNotification, SubscriptionFilter,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, NotificationContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// A client that counts `notifications/tools/list_changed` delivered to
/// its handler (an `initialize` connection).
#[derive(Clone, Default)]
struct Watcher {
    changed: Arc<AtomicUsize>,
    wake: Arc<Notify>,
}

impl Watcher {
    fn changes(&self) -> usize {
        self.changed.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` notifications arrived (5 s at most).
    async fn wait_for(&self, n: usize) -> bool {
        tokio::time::timeout(Duration::from_secs(5), async {
            while self.changes() < n {
                let notified = self.wake.notified();
                if self.changes() >= n {
                    break;
                }
                notified.await;
            }
        })
        .await
        .is_ok()
    }
}

impl ClientHandler for Watcher {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("ks-devops-mcp-dynamic-tests", "0.1.0"),
        )
        .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changed.fetch_add(1, Ordering::SeqCst);
        self.wake.notify_waiters();
    }
}

type Client = RunningService<RoleClient, Watcher>;

fn dynamic_options(spec: Option<&str>, read_only: bool) -> (Registry, ServerOptions) {
    let config = DynamicConfig::from_spec(spec, read_only).expect("valid --toolsets");
    let registry = Registry::filtered(&config.filter());
    let options = ServerOptions {
        dynamic: Some(config),
        ..Default::default()
    };
    (registry, options)
}

fn dynamic_server(sim: &Sim, spec: Option<&str>, read_only: bool) -> DevopsServer {
    let (registry, options) = dynamic_options(spec, read_only);
    DevopsServer::new(registry, client(sim, "tenant"), options)
}

async fn connect_watcher(server: DevopsServer, watcher: Watcher, lc: Lifecycle) -> Client {
    let (server_io, client_io) = tokio::io::duplex(256 * 1024);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    start_client(watcher, client_io, lc).await
}

async fn start_client<T, E, A>(watcher: Watcher, transport: T, lc: Lifecycle) -> Client
where
    T: rmcp::transport::IntoTransport<RoleClient, E, A> + Send + 'static,
    E: std::error::Error + Send + Sync + 'static,
{
    match lc {
        Lifecycle::Initialize => watcher.serve(transport).await.expect("initialize"),
        Lifecycle::Discover => watcher
            .serve_with_lifecycle(
                transport,
                ClientLifecycleMode::Discover {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                },
            )
            .await
            .expect("discover"),
    }
}

async fn names(c: &Client) -> Vec<String> {
    c.list_all_tools()
        .await
        .expect("tools/list")
        .iter()
        .map(|t| t.name.to_string())
        .collect()
}

async fn call_tool(c: &Client, tool: &str, args: Value) -> Result<CallToolResult, rmcp::ServiceError> {
    let params =
        CallToolRequestParams::new(tool.to_string()).with_arguments(args.as_object().cloned().unwrap_or_default());
    c.call_tool(params).await
}

async fn ok(c: &Client, tool: &str, args: Value) -> Value {
    let r = call_tool(c, tool, args).await.expect("tools/call answered");
    assert_eq!(r.is_error, Some(false), "{tool}: {}", text(&r));
    r.structured_content.expect("structured result")
}

async fn tool_error(c: &Client, tool: &str, args: Value) -> String {
    let r = call_tool(c, tool, args).await.expect("tools/call answered");
    assert_eq!(r.is_error, Some(true), "{tool} should fail: {:?}", r.structured_content);
    text(&r)
}

/// Opens a 2026-07-28 listen stream for tools/list_changed.
async fn listen(c: &Client) -> rmcp::service::Subscription {
    c.listen(SubscriptionFilter::builder().tools_list_changed().build())
        .await
        .expect("subscriptions/listen accepted")
}

async fn next_is_tools_changed(sub: &mut rmcp::service::Subscription) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(5), sub.next()).await,
        Ok(Ok(Some(ServerNotification::ToolListChangedNotification(_))))
    )
}

#[tokio::test]
async fn enabling_a_toolset_announces_it_and_serves_its_tools_in_both_styles() {
    let sim = sim().await;
    for lc in LIFECYCLES {
        let watcher = Watcher::default();
        let c = connect_watcher(dynamic_server(&sim, None, false), watcher.clone(), lc).await;
        let caps = c.peer_info().expect("server info").capabilities.tools.clone();
        assert_eq!(
            caps.and_then(|t| t.list_changed),
            Some(true),
            "{lc:?}: tools.listChanged declared"
        );
        let mut sub = match lc {
            Lifecycle::Discover => Some(listen(&c).await),
            Lifecycle::Initialize => None,
        };

        let before = names(&c).await;
        assert!(before.len() <= 25, "{lc:?}: {} tools at the start", before.len());
        for want in [
            "list_toolsets",
            "enable_toolset",
            "list_pipelines",
            "trigger_run",
            "get_run_log",
        ] {
            assert!(
                before.iter().any(|n| n == want),
                "{lc:?}: {want} missing from {before:?}"
            );
        }
        assert!(
            !before.iter().any(|n| n == "list_applications"),
            "{lc:?}: gitops is off"
        );

        // A tool of a closed toolset: a protocol error naming the way in.
        let err = call_tool(&c, "list_applications", json!({"project": "stone-devops"}))
            .await
            .expect_err("not callable yet")
            .to_string();
        assert!(err.contains("enable_toolset") && err.contains("gitops"), "{err}");

        let listed = ok(&c, "list_toolsets", json!({})).await;
        let gitops = listed["toolsets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "gitops")
            .unwrap()
            .clone();
        assert_eq!(gitops["on"], false);
        assert_eq!(gitops["available"], true);
        assert!(
            gitops["tools"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "list_applications")
        );
        assert_eq!(listed["can_enable"], true);

        let out = ok(&c, "enable_toolset", json!({"toolset": "gitops"})).await;
        assert_eq!(out["status"], "enabled", "{lc:?}: {out}");
        assert_eq!(out["notified"], true, "{lc:?}: {out}");
        match &mut sub {
            Some(sub) => assert!(
                next_is_tools_changed(sub).await,
                "{lc:?}: list_changed on the listen stream"
            ),
            None => assert!(watcher.wait_for(1).await, "{lc:?}: list_changed delivered"),
        }

        let after = names(&c).await;
        for want in ["list_applications", "get_application_status", "create_application"] {
            assert!(after.iter().any(|n| n == want), "{lc:?}: {want} missing after enabling");
        }
        let added = out["tools"].as_array().unwrap().len();
        assert!(added >= 5, "{out}");
        assert_eq!(after.len(), before.len() + added, "{lc:?}: gitops adds its tools");
        let apps = ok(&c, "list_applications", json!({"project": "stone-devops"})).await;
        assert!(apps.get("applications").is_some(), "{apps}");
        let listed = ok(&c, "list_toolsets", json!({})).await;
        assert!(
            listed["toolsets"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["name"] == "gitops" && t["on"] == true)
        );

        // Enabling twice is harmless: nothing changes, nothing is announced.
        let again = ok(&c, "enable_toolset", json!({"toolset": "gitops"})).await;
        assert_eq!(again["status"], "already_on");
        assert_eq!(again["notified"], false);
        assert_eq!(names(&c).await, after);
        if matches!(lc, Lifecycle::Initialize) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert_eq!(watcher.changes(), 1, "no second notification");
        }

        // Unknown names: a clear error listing what exists.
        let e = tool_error(&c, "enable_toolset", json!({"toolset": "gitopz"})).await;
        assert!(e.contains("no toolset is named") && e.contains("artifacts"), "{e}");
        let e = tool_error(&c, "enable_toolset", json!({"toolset": "gitops", "extra": 1})).await;
        assert!(e.contains("unknown field"), "{e}");
        c.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn each_connection_starts_with_the_default_toolsets() {
    let sim = sim().await;
    let server = dynamic_server(&sim, None, false);
    let a = connect_watcher(server.for_connection(), Watcher::default(), Lifecycle::Initialize).await;
    let b = connect_watcher(server.for_connection(), Watcher::default(), Lifecycle::Initialize).await;
    ok(&a, "enable_toolset", json!({"toolset": "artifacts"})).await;
    assert!(names(&a).await.iter().any(|n| n == "list_artifacts"));
    assert!(!names(&b).await.iter().any(|n| n == "list_artifacts"));
    assert!(call_tool(&b, "list_artifacts", json!({})).await.is_err());
    a.cancel().await.unwrap();
    b.cancel().await.unwrap();
}

#[tokio::test]
async fn toolsets_and_read_only_bound_what_can_be_enabled() {
    let sim = sim().await;

    // --toolsets default: exactly those are served; nothing else opens.
    let c = connect_watcher(
        dynamic_server(&sim, Some("default"), false),
        Watcher::default(),
        Lifecycle::Initialize,
    )
    .await;
    let e = tool_error(&c, "enable_toolset", json!({"toolset": "gitops"})).await;
    assert!(
        e.contains("not offered by this server") && e.contains("--toolsets"),
        "{e}"
    );
    assert!(!names(&c).await.iter().any(|n| n == "list_applications"));
    let listed = ok(&c, "list_toolsets", json!({})).await;
    let gitops = listed["toolsets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "gitops")
        .unwrap()
        .clone();
    assert_eq!(gitops["available"], false);
    let out = ok(&c, "enable_toolset", json!({"toolset": "pipelines"})).await;
    assert_eq!(out["status"], "already_on");
    c.cancel().await.unwrap();

    // --toolsets default,gitops: gitops served from the start, as before.
    let c = connect_watcher(
        dynamic_server(&sim, Some("default,gitops"), false),
        Watcher::default(),
        Lifecycle::Initialize,
    )
    .await;
    assert!(names(&c).await.iter().any(|n| n == "create_application"));
    c.cancel().await.unwrap();

    // --read-only: an opened toolset shows only its read-only tools; one
    // with none cannot be opened.
    let watcher = Watcher::default();
    let c = connect_watcher(dynamic_server(&sim, None, true), watcher.clone(), Lifecycle::Initialize).await;
    let before = names(&c).await;
    assert!(!before.iter().any(|n| n == "trigger_run"), "read-only: {before:?}");
    let out = ok(&c, "enable_toolset", json!({"toolset": "gitops"})).await;
    let tools: Vec<&str> = out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(tools, ["list_applications", "get_application_status"]);
    assert!(watcher.wait_for(1).await);
    let after = names(&c).await;
    assert!(after.iter().any(|n| n == "get_application_status"));
    assert!(
        !after
            .iter()
            .any(|n| n == "create_application" || n == "sync_application")
    );
    let e = tool_error(&c, "enable_toolset", json!({"toolset": "cleanup"})).await;
    assert!(e.contains("read-only"), "{e}");
    c.cancel().await.unwrap();
}

// ------------------------------------------------------------------ HTTP

fn upstream(sim: &Sim) -> KsClient {
    let mut s = ClientSettings::new(url::Url::parse(&sim.url()).unwrap(), Credentials::None);
    s.retry_backoff = Duration::from_millis(10);
    s.timeout = Duration::from_secs(10);
    KsClient::new(s).unwrap()
}

async fn http_server(sim: &Sim, stateless: bool) -> HttpServer {
    let mut cfg = HttpConfig::new("127.0.0.1:0".parse().unwrap(), AuthMode::KubeSphere);
    cfg.stateless = stateless;
    let (registry, options) = dynamic_options(None, false);
    HttpServer::start(cfg, registry, options, upstream(sim))
        .await
        .expect("HTTP server starts")
}

async fn http_connect(server: &HttpServer, token: &str, watcher: Watcher, lc: Lifecycle) -> Client {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(format!("http://{}/mcp", server.local_addr()))
            .auth_header(token.to_string()),
    );
    start_client(watcher, transport, lc).await
}

#[tokio::test]
async fn over_http_enabling_is_per_session() {
    let sim = sim().await;
    let server = http_server(&sim, false).await;
    let token = sim.issue_token("tenant").unwrap();
    let wa = Watcher::default();
    let a = http_connect(&server, &token, wa.clone(), Lifecycle::Initialize).await;
    let b = http_connect(&server, &token, Watcher::default(), Lifecycle::Initialize).await;
    assert_eq!(
        a.peer_info()
            .unwrap()
            .capabilities
            .tools
            .clone()
            .and_then(|t| t.list_changed),
        Some(true)
    );

    let out = ok(&a, "enable_toolset", json!({"toolset": "gitops"})).await;
    assert_eq!(out["status"], "enabled");
    assert!(wa.wait_for(1).await, "session A hears tools/list_changed");
    assert!(names(&a).await.iter().any(|n| n == "list_applications"));
    let apps = ok(&a, "list_applications", json!({"project": "stone-devops"})).await;
    assert!(apps.get("applications").is_some());

    // Session B (same user) sees nothing of it.
    assert!(!names(&b).await.iter().any(|n| n == "list_applications"));
    let err = call_tool(&b, "list_applications", json!({"project": "stone-devops"}))
        .await
        .expect_err("closed in session B")
        .to_string();
    assert!(err.contains("enable_toolset"), "{err}");
    let listed = ok(&b, "list_toolsets", json!({})).await;
    assert!(
        listed["toolsets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "gitops" && t["on"] == false)
    );

    // A new session starts from the defaults again.
    a.cancel().await.unwrap();
    let a2 = http_connect(&server, &token, Watcher::default(), Lifecycle::Initialize).await;
    assert!(!names(&a2).await.iter().any(|n| n == "list_applications"));
    a2.cancel().await.unwrap();
    b.cancel().await.unwrap();
}

#[tokio::test]
async fn over_http_without_a_session_enable_is_refused_clearly() {
    let sim = sim().await;
    let token = sim.issue_token("tenant").unwrap();

    // 2026-07-28 has no sessions: nothing could remember the toolset.
    let server = http_server(&sim, false).await;
    let c = http_connect(&server, &token, Watcher::default(), Lifecycle::Discover).await;
    let listed = ok(&c, "list_toolsets", json!({})).await;
    assert_eq!(listed["can_enable"], false);
    let e = tool_error(&c, "enable_toolset", json!({"toolset": "gitops"})).await;
    assert!(
        e.contains("no session") && e.contains("--toolsets default,gitops"),
        "{e}"
    );
    assert!(!names(&c).await.iter().any(|n| n == "list_applications"));
    // What is on already stays callable, and opening it again is harmless.
    assert_eq!(
        ok(&c, "enable_toolset", json!({"toolset": "runs"})).await["status"],
        "already_on"
    );
    c.cancel().await.unwrap();

    // --stateless: the same for an initialize-style client.
    let server = http_server(&sim, true).await;
    let c = http_connect(&server, &token, Watcher::default(), Lifecycle::Initialize).await;
    let e = tool_error(&c, "enable_toolset", json!({"toolset": "artifacts"})).await;
    assert!(e.contains("no session") && e.contains("--stateless"), "{e}");
    c.cancel().await.unwrap();
}
