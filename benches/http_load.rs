//! Load benchmark of the streamable HTTP transport: concurrent callers,
//! each with its own KubeSphere token and session, invoking a cheap tool
//! (`whoami`: one request to the simulated KubeSphere) on the release
//! binary serving `--sandbox --http` on loopback.
//!
//!   cargo bench --bench http_load                      # 1, 16, 256 callers, 5 s each
//!   cargo bench --bench http_load -- --stateless       # the stateless mode
//!   BENCH_SECS=10 BENCH_LEVELS=1,64 cargo bench --bench http_load
//!
//! Reports calls/s, p50/p99 latency (client side) and the server's peak
//! RSS during each level (VmHWM, reset before each level; it includes the
//! in-process simulated KubeSphere). Load generator and server share the
//! machine's cores, so the figures are a floor, not a capacity claim.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ks-devops-mcp");

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn reset_peak_rss(pid: u32) {
    // "5" resets the peak RSS counter (Linux >= 4.0); ignored elsewhere.
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

async fn token(issuer: &str, user: &str) -> String {
    let v: Value = reqwest::Client::new()
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
        .expect("token request")
        .json()
        .await
        .expect("token JSON");
    v["access_token"].as_str().expect("access_token").to_string()
}

struct Level {
    callers: usize,
    calls: usize,
    errors: usize,
    secs: f64,
    p50: Duration,
    p99: Duration,
    rss_kib: Option<u64>,
}

async fn run_level(url: &str, tokens: &[String], callers: usize, secs: f64, pid: u32) -> Level {
    // Connect every caller first (initialize + one warm-up call).
    let mut clients = Vec::with_capacity(callers);
    for chunk in tokens[..callers].chunks(32) {
        let batch = chunk.iter().map(|t| async move {
            let transport = StreamableHttpClientTransport::from_config(
                StreamableHttpClientTransportConfig::with_uri(url.to_string()).auth_header(t.clone()),
            );
            let c = ().serve(transport).await.expect("initialize");
            c.call_tool(CallToolRequestParams::new("whoami"))
                .await
                .expect("warm-up call");
            c
        });
        clients.extend(futures::future::join_all(batch).await);
    }
    reset_peak_rss(pid);
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let clients: Vec<Arc<_>> = clients.into_iter().map(Arc::new).collect();
    let tasks = clients.iter().cloned().map(|c| {
        tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let t = Instant::now();
                match c.call_tool(CallToolRequestParams::new("whoami")).await {
                    Ok(r) if r.is_error != Some(true) => lat.push(t.elapsed()),
                    _ => errors += 1,
                }
            }
            (lat, errors)
        })
    });
    let mut all = Vec::new();
    let mut errors = 0;
    for r in futures::future::join_all(tasks).await {
        let (lat, e) = r.expect("caller task");
        all.extend(lat);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rss_kib = peak_rss_kib(pid);
    for c in clients {
        if let Ok(c) = Arc::try_unwrap(c) {
            let _ = c.cancel().await;
        }
    }
    all.sort();
    let pct = |p: f64| -> Duration {
        if all.is_empty() {
            return Duration::ZERO;
        }
        let i = ((all.len() as f64 - 1.0) * p).round() as usize;
        all[i.min(all.len() - 1)]
    };
    Level {
        callers,
        calls: all.len(),
        errors,
        secs: elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        rss_kib,
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let stateless = args.iter().any(|a| a == "--stateless");
    let secs: f64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let levels: Vec<usize> = std::env::var("BENCH_LEVELS")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 16, 256]);
    let max = levels.iter().copied().max().unwrap_or(1);

    let port = free_port();
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args([
        "--sandbox",
        "--http",
        &format!("127.0.0.1:{port}"),
        "--max-sessions",
        "10000",
        "--max-sessions-per-caller",
        "10000",
    ])
    .env_remove("RUST_LOG")
    .env("KS_DEVOPS_MCP_LOG", "info")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .kill_on_drop(true);
    if stateless {
        cmd.arg("--stateless");
    }
    let mut child = cmd.spawn().expect("server binary starts");
    let pid = child.id().expect("pid");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "server did not become ready");
    let prm: Value = http
        .get(format!("{base}/.well-known/oauth-protected-resource/mcp"))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("metadata JSON");
    let issuer = prm["authorization_servers"][0].as_str().expect("issuer").to_string();
    // One token per caller (tenant and demo-admin alternating): every caller
    // is its own entry in the server's per-identity token cache.
    let mut tokens = Vec::with_capacity(max);
    for i in 0..max {
        tokens.push(token(&issuer, if i % 2 == 0 { "tenant" } else { "demo-admin" }).await);
    }

    let url = format!("{base}/mcp");
    println!(
        "ks-devops-mcp HTTP load ({} mode, tool whoami, {secs} s per level, {} cores)",
        if stateless { "stateless" } else { "session" },
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    println!("| callers | calls | calls/s | p50 ms | p99 ms | peak RSS MiB | errors |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &levels {
        let l = run_level(&url, &tokens, n, secs, pid).await;
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} |",
            l.callers,
            l.calls,
            l.calls as f64 / l.secs,
            l.p50.as_secs_f64() * 1000.0,
            l.p99.as_secs_f64() * 1000.0,
            l.rss_kib
                .map(|k| format!("{:.1}", k as f64 / 1024.0))
                .unwrap_or_else(|| "-".into()),
            l.errors
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _ = child.start_kill();
    let _ = child.wait().await;
}
