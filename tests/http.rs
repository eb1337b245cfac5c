//! The streamable HTTP transport over real HTTP on loopback: per-caller
//! identity, session ownership, the 401 discovery header, Host/Origin
//! checks, size and session caps, stateless mode, health, graceful drain
//! of the binary on SIGTERM, and the catalog.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use ks_devops_mcp::http::callers::AuthMode;
use ks_devops_mcp::http::{HttpConfig, HttpServer, PRM_PATH};
use ks_devops_mcp::kubesphere::{ClientSettings, Credentials, KsClient};
use ks_devops_mcp::mcp::{Registry, ServerOptions, ToolFilter};
use ks_sim::Sim;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const ACCEPT: &str = "application/json, text/event-stream";

fn upstream(sim: &Sim) -> KsClient {
    let mut s = ClientSettings::new(url::Url::parse(&sim.url()).unwrap(), Credentials::None);
    s.retry_backoff = Duration::from_millis(10);
    s.timeout = Duration::from_secs(10);
    KsClient::new(s).unwrap()
}

async fn start_with(sim: &Sim, tweak: impl FnOnce(&mut HttpConfig)) -> HttpServer {
    let mut cfg = HttpConfig::new("127.0.0.1:0".parse().unwrap(), AuthMode::KubeSphere);
    tweak(&mut cfg);
    HttpServer::start(
        cfg,
        Registry::filtered(&ToolFilter::default()),
        ServerOptions::default(),
        upstream(sim),
    )
    .await
    .expect("HTTP server starts")
}

async fn start(sim: &Sim) -> HttpServer {
    start_with(sim, |_| {}).await
}

fn mcp_url(s: &HttpServer) -> String {
    format!("http://{}/mcp", s.local_addr())
}

/// An rmcp client over streamable HTTP, authenticated with `credential`.
async fn http_client(url: &str, credential: &str, client: TestClient, lifecycle: Lifecycle) -> Client {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_string()).auth_header(credential.to_string()),
    );
    handshake(client, transport, lifecycle).await
}

fn initialize_body() -> Value {
    json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}})
}

struct Raw {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(String::from)
    }

    /// The JSON-RPC messages of a JSON or SSE answer.
    fn messages(&self) -> Vec<Value> {
        if let Ok(v) = serde_json::from_str::<Value>(&self.body) {
            return vec![v];
        }
        self.body
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str(d.trim()).ok())
            .collect()
    }
}

async fn raw(
    method: reqwest::Method,
    url: &str,
    auth: Option<&str>,
    session: Option<&str>,
    extra: &[(&str, &str)],
    body: Option<String>,
) -> Raw {
    let mut req = reqwest::Client::new()
        .request(method, url)
        .header("accept", ACCEPT)
        .header("content-type", "application/json");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let resp = req.send().await.expect("HTTP answer");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.unwrap_or_default();
    Raw { status, headers, body }
}

async fn post(url: &str, auth: Option<&str>, session: Option<&str>, body: Value) -> Raw {
    raw(reqwest::Method::POST, url, auth, session, &[], Some(body.to_string())).await
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

fn workspaces(r: &rmcp::model::CallToolResult) -> Vec<String> {
    assert_eq!(r.is_error, Some(false), "{}", text(r));
    let out = r.structured_content.clone().expect("structured result");
    out["workspaces"]
        .as_array()
        .expect("workspaces")
        .iter()
        .map(|w| w["name"].as_str().unwrap().to_string())
        .collect()
}

fn assert_discovery_401(r: &Raw, base: &str, error: Option<&str>) {
    assert_eq!(r.status, 401, "{}", r.body);
    let www = r.header("www-authenticate").expect("WWW-Authenticate on 401");
    assert!(www.starts_with("Bearer "), "{www}");
    assert!(
        www.contains(&format!("resource_metadata=\"{base}{PRM_PATH}\"")),
        "{www}"
    );
    match error {
        Some(code) => assert!(www.contains(&format!("error=\"{code}\"")), "{www}"),
        None => assert!(!www.contains("error="), "no error code without credentials: {www}"),
    }
}

#[tokio::test]
async fn two_callers_in_parallel_see_only_their_own_workspaces() {
    let sim = sim().await;
    let server = start(&sim).await;
    let url = mcp_url(&server);
    let tenant = sim.issue_token("tenant").unwrap();
    let admin = sim.issue_token("demo-admin").unwrap();
    for lc in LIFECYCLES {
        let (a, b) = tokio::join!(
            http_client(&url, &tenant, TestClient::plain(), lc),
            http_client(&url, &admin, TestClient::plain(), lc),
        );
        // Interleave many calls of both identities.
        let mut calls = Vec::new();
        for i in 0..8 {
            let (c, want) = if i % 2 == 0 { (&a, "stone") } else { (&b, "demo") };
            calls.push(async move { (want, call(c, "list_workspaces", json!({})).await) });
        }
        for (want, r) in futures::future::join_all(calls).await {
            assert_eq!(workspaces(&r), vec![want.to_string()], "{lc:?}");
        }
        let who = call(&b, "whoami", json!({})).await;
        assert_eq!(who.structured_content.unwrap()["username"], "demo-admin", "{lc:?}");
        // The tenant cannot reach the other workspace's projects either.
        let r = call(&a, "list_devops_projects", json!({"workspace": "demo"})).await;
        assert_eq!(r.is_error, Some(true), "{lc:?}: {}", text(&r));
        a.cancel().await.unwrap();
        b.cancel().await.unwrap();
    }
    server.begin_shutdown();
    server.stopped().await;
}

#[tokio::test]
async fn session_replayed_with_another_identity_is_refused() {
    let sim = sim().await;
    let server = start(&sim).await;
    let url = mcp_url(&server);
    let tenant = bearer(&sim.issue_token("tenant").unwrap());
    let admin = bearer(&sim.issue_token("demo-admin").unwrap());

    let init = post(&url, Some(&tenant), None, initialize_body()).await;
    assert_eq!(init.status, 200, "{}", init.body);
    let sid = init.header("mcp-session-id").expect("session id");
    let r = post(
        &url,
        Some(&tenant),
        Some(&sid),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
    )
    .await;
    assert_eq!(r.status, 202);
    assert_eq!(server.open_sessions(), 1);

    let list = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_workspaces","arguments":{}}});
    // The other identity, with a valid token of its own, on every method.
    let r = post(&url, Some(&admin), Some(&sid), list.clone()).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("another identity"), "{}", r.body);
    for m in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let r = raw(m.clone(), &url, Some(&admin), Some(&sid), &[], None).await;
        assert_eq!(r.status, 403, "{m}: {}", r.body);
    }
    // Without credentials it is a 401 before anything else.
    let r = post(&url, None, Some(&sid), list.clone()).await;
    assert_eq!(r.status, 401);

    // The owner's session still works, and still as the owner.
    let r = post(&url, Some(&tenant), Some(&sid), list).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let msgs = r.messages();
    let result = msgs.iter().find(|m| m["id"] == 2).expect("answer");
    assert_eq!(result["result"]["structuredContent"]["workspaces"][0]["name"], "stone");

    // A second token of the same user is the same identity.
    let tenant2 = bearer(&sim.issue_token("tenant").unwrap());
    let r = raw(reqwest::Method::DELETE, &url, Some(&tenant2), Some(&sid), &[], None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    for _ in 0..50 {
        if server.open_sessions() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.open_sessions(), 0, "closed sessions leave the book");
}

#[tokio::test]
async fn missing_or_invalid_credentials_get_401_with_the_discovery_header() {
    let sim = sim().await;
    let server = start(&sim).await;
    let url = mcp_url(&server);
    let base = format!("http://{}", server.local_addr());

    assert_discovery_401(&post(&url, None, None, initialize_body()).await, &base, None);
    assert_discovery_401(
        &post(&url, Some("Basic dGVuYW50OlBAODh3MHJk"), None, initialize_body()).await,
        &base,
        Some("invalid_request"),
    );
    sim.clear_requests();
    assert_discovery_401(
        &post(&url, Some("Bearer not-a-kubesphere-token"), None, initialize_body()).await,
        &base,
        Some("invalid_token"),
    );
    assert!(
        sim.requests().iter().all(|r| r.path != "/oauth/userinfo"),
        "junk that is not a JWT is refused without asking KubeSphere"
    );
    // A token that worked, then was revoked (logout): refused on the next
    // check (the cache re-checks after token_recheck; here right away,
    // since it was never cached).
    let t = sim.issue_token("tenant").unwrap();
    sim.revoke_tokens();
    let r = post(&url, Some(&bearer(&t)), None, initialize_body()).await;
    assert_discovery_401(&r, &base, Some("invalid_token"));
    assert!(!r.body.contains(&t));

    // The metadata names KubeSphere's OAuth server.
    for path in [PRM_PATH, "/.well-known/oauth-protected-resource"] {
        let doc: Value = reqwest::get(format!("{base}{path}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["resource"], format!("{base}/mcp"));
        assert_eq!(doc["authorization_servers"], json!([sim.url().trim_end_matches('/')]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }
}

#[tokio::test]
async fn a_token_is_checked_with_kubesphere_once_per_interval() {
    let sim = sim().await;
    let server = start(&sim).await;
    let url = mcp_url(&server);
    let t = sim.issue_token("tenant").unwrap();
    sim.clear_requests();
    let c = http_client(&url, &t, TestClient::plain(), Lifecycle::Initialize).await;
    for _ in 0..5 {
        workspaces(&call(&c, "list_workspaces", json!({})).await);
    }
    let checks = sim.requests().iter().filter(|r| r.path == "/oauth/userinfo").count();
    assert_eq!(checks, 1, "one check for initialize, notifications and five calls");
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn revoked_token_is_refused_after_the_recheck_interval() {
    let sim = sim().await;
    let server = start_with(&sim, |c| c.token_recheck = Duration::from_millis(200)).await;
    let url = mcp_url(&server);
    let t = bearer(&sim.issue_token("tenant").unwrap());
    assert_eq!(post(&url, Some(&t), None, initialize_body()).await.status, 200);
    sim.revoke_tokens();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = post(&url, Some(&t), None, initialize_body()).await;
    assert_eq!(r.status, 401, "{}", r.body);
}

#[tokio::test]
async fn bad_host_or_origin_is_forbidden() {
    let sim = sim().await;
    let server = start(&sim).await;
    let url = mcp_url(&server);
    let t = bearer(&sim.issue_token("tenant").unwrap());
    let body = Some(initialize_body().to_string());
    let cases: [(&[(&str, &str)], u16); 5] = [
        (&[("host", "evil.example.com")], 403),
        (
            &[("host", "evil.example.com"), ("origin", "http://evil.example.com")],
            403,
        ),
        (&[("origin", "http://evil.example.com")], 403),
        (&[("origin", "null")], 403),
        (&[("origin", "http://localhost:6274")], 200),
    ];
    for (headers, want) in cases {
        // With valid credentials, and without: the check comes first.
        let r = raw(reqwest::Method::POST, &url, Some(&t), None, headers, body.clone()).await;
        assert_eq!(r.status, want, "{headers:?}: {}", r.body);
        if want == 403 {
            let r = raw(reqwest::Method::POST, &url, None, None, headers, body.clone()).await;
            assert_eq!(r.status, 403, "{headers:?} unauthenticated");
        }
    }
    // A configured public host.
    let server = start_with(&sim, |c| {
        c.guard.hosts = vec!["mcp.example.com".into()];
        c.guard.origins = vec!["https://mcp.example.com".into()];
    })
    .await;
    let url = mcp_url(&server);
    let ok = raw(
        reqwest::Method::POST,
        &url,
        Some(&t),
        None,
        &[("host", "mcp.example.com")],
        body.clone(),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let r = raw(reqwest::Method::POST, &url, Some(&t), None, &[], body.clone()).await;
    assert_eq!(r.status, 403, "127.0.0.1 is not in the configured list");
}

#[tokio::test]
async fn oversized_body_is_413() {
    let sim = sim().await;
    let server = start_with(&sim, |c| c.max_body_bytes = 4096).await;
    let url = mcp_url(&server);
    let t = bearer(&sim.issue_token("tenant").unwrap());
    let big = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x".repeat(5000),"version":"1"}}});
    let r = post(&url, Some(&t), None, big).await;
    assert_eq!(r.status, 413, "{}", r.body);
    // Just under the cap is fine.
    let fits = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x".repeat(3000),"version":"1"}}});
    assert_eq!(post(&url, Some(&t), None, fits).await.status, 200);
}

#[tokio::test]
async fn sessions_are_capped_per_identity_and_in_total() {
    let sim = sim().await;
    let server = start_with(&sim, |c| {
        c.max_sessions_per_caller = 2;
        c.max_sessions = 3;
    })
    .await;
    let url = mcp_url(&server);
    let t = bearer(&sim.issue_token("tenant").unwrap());
    let a = bearer(&sim.issue_token("demo-admin").unwrap());
    let s1 = post(&url, Some(&t), None, initialize_body()).await;
    assert_eq!(s1.status, 200);
    assert_eq!(post(&url, Some(&t), None, initialize_body()).await.status, 200);
    let r = post(&url, Some(&t), None, initialize_body()).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(post(&url, Some(&a), None, initialize_body()).await.status, 200);
    let r = post(&url, Some(&a), None, initialize_body()).await;
    assert_eq!(r.status, 503, "total cap: {}", r.body);
    // Closing a session frees its place.
    let sid = s1.header("mcp-session-id").unwrap();
    let r = raw(reqwest::Method::DELETE, &url, Some(&t), Some(&sid), &[], None).await;
    assert_eq!(r.status, 202);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(post(&url, Some(&t), None, initialize_body()).await.status, 200);
}

#[tokio::test]
async fn idle_sessions_expire() {
    let sim = sim().await;
    let server = start_with(&sim, |c| c.session_idle = Duration::from_millis(300)).await;
    let url = mcp_url(&server);
    let t = bearer(&sim.issue_token("tenant").unwrap());
    let init = post(&url, Some(&t), None, initialize_body()).await;
    let sid = init.header("mcp-session-id").unwrap();
    post(
        &url,
        Some(&t),
        Some(&sid),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
    )
    .await;
    assert_eq!(server.open_sessions(), 1);
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(server.open_sessions(), 0);
    let r = post(
        &url,
        Some(&t),
        Some(&sid),
        json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}),
    )
    .await;
    assert_eq!(r.status, 404, "an expired session is unknown: {}", r.body);
}

#[tokio::test]
async fn api_keys_act_as_the_configured_identity() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (key, hex) = ks_devops_mcp::http::keys::generate();
    std::fs::write(dir.path().join("pw"), "P@88w0rd").unwrap();
    let file = dir.path().join("keys.toml");
    std::fs::write(
        &file,
        format!("[[keys]]\nname = \"ci\"\nsha256 = \"{hex}\"\nusername = \"demo-admin\"\npassword_file = \"pw\"\n"),
    )
    .unwrap();
    let keys = ks_devops_mcp::http::keys::load(&file).unwrap();
    for mode in [AuthMode::ApiKeys, AuthMode::KubeSphere] {
        let keys = ks_devops_mcp::http::keys::load(&file).unwrap();
        let server = start_with(&sim, |c| {
            c.auth = mode;
            c.api_keys = keys;
        })
        .await;
        let url = mcp_url(&server);
        let c = http_client(&url, &key, TestClient::plain(), Lifecycle::Initialize).await;
        assert_eq!(
            workspaces(&call(&c, "list_workspaces", json!({})).await),
            vec!["demo"],
            "{mode:?}"
        );
        c.cancel().await.unwrap();
        let r = post(&url, Some("Bearer ksdm_unknown"), None, initialize_body()).await;
        assert_eq!(r.status, 401, "{mode:?}");
        // API-keys-only mode refuses KubeSphere tokens and has no OAuth metadata.
        let tenant = bearer(&sim.issue_token("tenant").unwrap());
        let r = post(&url, Some(&tenant), None, initialize_body()).await;
        let prm = reqwest::get(format!("http://{}{PRM_PATH}", server.local_addr()))
            .await
            .unwrap();
        if mode == AuthMode::ApiKeys {
            assert_eq!(r.status, 401);
            assert!(!r.header("www-authenticate").unwrap().contains("resource_metadata"));
            assert_eq!(prm.status(), 404);
        } else {
            assert_eq!(r.status, 200);
            assert_eq!(prm.status(), 200);
        }
    }
    assert_eq!(keys.len(), 1);
}

#[tokio::test]
async fn stateless_mode_serves_any_request_and_never_elicits_legacy_clients() {
    let sim = sim().await;
    let server = start_with(&sim, |c| c.stateless = true).await;
    let url = mcp_url(&server);
    let t = sim.issue_token("tenant").unwrap();

    // No session: a tools/call without initialize is answered (JSON).
    let r = post(
        &url,
        Some(&bearer(&t)),
        None,
        json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"list_workspaces","arguments":{}}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("mcp-session-id").is_none());
    assert_eq!(
        r.messages()[0]["result"]["structuredContent"]["workspaces"][0]["name"],
        "stone"
    );

    // An initialize-style client that declares elicitation cannot be asked
    // statelessly (rmcp rebuilds its peer info per request, without its
    // capabilities): the tool returns the candidates instead of guessing.
    let legacy = TestClient::new(true, Reply::AcceptFirst);
    let c = http_client(&url, &t, legacy.clone(), Lifecycle::Initialize).await;
    let r = call(&c, "resolve_devops_project", json!({"name": "devopstest"})).await;
    let out = r.structured_content.unwrap();
    assert_eq!(out["status"], "ambiguous");
    assert_eq!(legacy.asked(), 0);
    c.cancel().await.unwrap();

    // A 2026-07-28 client sends its capabilities with every request: it is
    // asked (input_required round trip), statelessly.
    let modern = TestClient::new(true, Reply::AcceptFirst);
    let c = http_client(&url, &t, modern.clone(), Lifecycle::Discover).await;
    let r = call(&c, "resolve_devops_project", json!({"name": "devopstest"})).await;
    let out = r.structured_content.unwrap();
    assert_eq!(out["status"], "resolved", "{out}");
    assert_eq!(modern.asked(), 1);
    c.cancel().await.unwrap();
    assert_eq!(server.open_sessions(), 0);
}

#[tokio::test]
async fn legacy_session_clients_are_asked_over_http() {
    let sim = sim().await;
    let server = start(&sim).await;
    let t = sim.issue_token("tenant").unwrap();
    let client = TestClient::new(true, Reply::AcceptFirst);
    let c = http_client(&mcp_url(&server), &t, client.clone(), Lifecycle::Initialize).await;
    let r = call(&c, "resolve_devops_project", json!({"name": "devopstest"})).await;
    assert_eq!(r.structured_content.unwrap()["status"], "resolved");
    assert_eq!(client.asked(), 1);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn health_and_readiness() {
    let sim = sim().await;
    let server = start(&sim).await;
    let base = format!("http://{}", server.local_addr());
    let r = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(r.status(), 200);
    sim.shutdown().await;
    tokio::time::sleep(Duration::from_millis(2100)).await; // past the probe cache
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("not reachable"));
    let r = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(r.status(), 200, "the process is still up");
}

#[tokio::test]
async fn tool_catalog_over_http_equals_the_registry() {
    let sim = sim().await;
    let server = start(&sim).await;
    let t = sim.issue_token("tenant").unwrap();
    let want = serde_json::to_value(Registry::filtered(&ToolFilter::default()).tools()).unwrap();
    for lc in LIFECYCLES {
        let c = http_client(&mcp_url(&server), &t, TestClient::plain(), lc).await;
        let got = serde_json::to_value(c.list_all_tools().await.unwrap()).unwrap();
        assert_eq!(got, want, "{lc:?}");
        c.cancel().await.unwrap();
    }
}

// ---------------------------------------------------------------- binary

/// The binary serving HTTP on a free loopback port, and its stderr lines.
struct Binary {
    child: Child,
    base: String,
    log: tokio::sync::mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl Binary {
    async fn spawn(args: &[&str]) -> Binary {
        let mut cmd = Command::new(BIN);
        clean_env(&mut cmd);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("binary starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let (tx, mut log) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(l)) = lines.next_line().await {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        let base = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(l) = log.recv().await {
                seen.push(l.clone());
                if let Some(rest) = l.split("serving MCP on ").nth(1) {
                    return rest
                        .split_whitespace()
                        .next()
                        .unwrap()
                        .trim_end_matches("/mcp")
                        .to_string();
                }
            }
            panic!("the binary ended before serving: {seen:?}");
        })
        .await
        .expect("serving line in time");
        Binary { child, base, log, seen }
    }

    fn drain_log(&mut self) -> String {
        while let Ok(l) = self.log.try_recv() {
            self.seen.push(l);
        }
        self.seen.join("\n")
    }

    fn sigterm(&self) {
        let pid = self.child.id().expect("running").to_string();
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

/// A password-grant token from the authorization server the metadata names.
async fn login_via_metadata(base: &str, user: &str) -> String {
    let doc: Value = reqwest::get(format!("{base}{PRM_PATH}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let issuer = doc["authorization_servers"][0]
        .as_str()
        .expect("authorization server")
        .to_string();
    let token: Value = reqwest::Client::new()
        .post(format!("{issuer}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", "P@88w0rd"),
            ("client_id", "kubesphere"),
            ("client_secret", "kubesphere"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().expect("access token").to_string()
}

/// The "done when" of the HTTP issue, on the shipped binary.
#[tokio::test]
async fn sandbox_binary_serves_two_users_in_parallel_and_401s_the_unauthenticated() {
    let mut bin = Binary::spawn(&["--sandbox", "--http", "127.0.0.1:0"]).await;
    let url = format!("{}/mcp", bin.base);

    let r = post(&url, None, None, initialize_body()).await;
    assert_discovery_401(&r, &bin.base, None);

    let (tenant, admin) = tokio::join!(
        login_via_metadata(&bin.base, "tenant"),
        login_via_metadata(&bin.base, "demo-admin")
    );
    let (a, b) = tokio::join!(
        http_client(&url, &tenant, TestClient::plain(), Lifecycle::Initialize),
        http_client(&url, &admin, TestClient::plain(), Lifecycle::Discover),
    );
    let (ra, rb) = tokio::join!(
        call(&a, "list_workspaces", json!({})),
        call(&b, "list_workspaces", json!({}))
    );
    assert_eq!(workspaces(&ra), vec!["stone"]);
    assert_eq!(workspaces(&rb), vec!["demo"]);
    a.cancel().await.unwrap();
    b.cancel().await.unwrap();

    // The access log names callers and tools, never a token.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = bin.drain_log();
    assert!(log.contains("caller=\"tenant\""), "{log}");
    assert!(log.contains("caller=demo-admin tool=list_workspaces"), "{log}");
    for secret in [&tenant, &admin] {
        assert!(!log.contains(secret.as_str()), "a token reached the log");
    }
    bin.sigterm();
    let status = tokio::time::timeout(Duration::from_secs(15), bin.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn sigterm_mid_request_still_completes_it() {
    let mut bin = Binary::spawn(&["--sandbox", "--http", "127.0.0.1:0"]).await;
    let url = format!("{}/mcp", bin.base);
    let token = login_via_metadata(&bin.base, "tenant").await;
    let c = http_client(&url, &token, TestClient::plain(), Lifecycle::Initialize).await;
    let r = call(
        &c,
        "trigger_run",
        json!({"project": "stone-devops", "pipeline": "hello"}),
    )
    .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let run = r.structured_content.unwrap();
    let name = run["run"]["name"].as_str().expect("PipelineRun name").to_string();
    let args = json!({"project": "stone-devops", "name": name, "timeout_seconds": 60, "poll_seconds": 1});
    // The simulated run takes about two seconds; SIGTERM arrives in the middle.
    let started = std::time::Instant::now();
    let waiting = tokio::spawn(async move {
        let r = call(&c, "wait_for_run", args).await;
        (c, r)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "the call must be in flight at SIGTERM");
    bin.sigterm();
    let (c, r) = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("the call completes")
        .unwrap();
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let out = r.structured_content.unwrap();
    assert_eq!(out["finished"], true, "{out}");
    assert!(started.elapsed() > Duration::from_millis(500));
    drop(c);
    let status = tokio::time::timeout(Duration::from_secs(15), bin.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let log = bin.drain_log();
    assert!(log.contains("draining requests in flight in_flight=1"), "{log}");
}

#[tokio::test]
async fn non_loopback_bind_without_caller_auth_refuses_to_start() {
    let mut cmd = Command::new(BIN);
    clean_env(&mut cmd);
    let out = cmd
        .args(["--sandbox", "--http", "0.0.0.0:0", "--auth", "none"])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loopback"), "{err}");
    // A configured identity plus caller authentication is a mistake too.
    let mut cmd = Command::new(BIN);
    clean_env(&mut cmd);
    let out = cmd
        .args([
            "--http",
            "127.0.0.1:0",
            "--url",
            "http://127.0.0.1:1",
            "--username",
            "u",
        ])
        .env("KUBESPHERE_PASSWORD", "p")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not used with --http"));
}

#[tokio::test]
async fn shutdown_delay_keeps_serving_while_not_ready() {
    let sim = sim().await;
    let server = start_with(&sim, |c| c.shutdown_delay = Duration::from_millis(600)).await;
    let url = mcp_url(&server);
    let base = format!("http://{}", server.local_addr());
    let t = bearer(&sim.issue_token("tenant").unwrap());
    server.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(r.status(), 503, "not ready once SIGTERM arrived");
    assert_eq!(
        post(&url, Some(&t), None, initialize_body()).await.status,
        200,
        "still serving"
    );
    tokio::time::timeout(Duration::from_secs(10), server.stopped())
        .await
        .expect("stops after the delay");
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn no_token_or_key_in_the_log_even_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let (key, hex) = ks_devops_mcp::http::keys::generate();
    let file = dir.path().join("keys.toml");
    std::fs::write(
        &file,
        format!("[[keys]]\nname = \"ci\"\nsha256 = \"{hex}\"\nusername = \"tenant\"\npassword = \"P@88w0rd\"\n"),
    )
    .unwrap();
    let mut bin = Binary::spawn(&[
        "--sandbox",
        "--http",
        "127.0.0.1:0",
        "--log",
        "trace",
        "--api-keys",
        file.to_str().unwrap(),
    ])
    .await;
    let url = format!("{}/mcp", bin.base);
    let token = login_via_metadata(&bin.base, "demo-admin").await;
    for credential in [&token, &key] {
        let c = http_client(&url, credential, TestClient::plain(), Lifecycle::Initialize).await;
        assert_eq!(call(&c, "whoami", json!({})).await.is_error, Some(false));
        c.cancel().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = bin.drain_log();
    assert!(log.contains("via=\"key:ci\""), "the key is named, not shown");
    for secret in [token.as_str(), key.as_str(), hex.as_str()] {
        assert!(!log.contains(secret), "a credential reached the trace log");
    }
    bin.sigterm();
    let _ = tokio::time::timeout(Duration::from_secs(15), bin.child.wait()).await;
}
