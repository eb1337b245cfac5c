//! Load benchmark of the streamable HTTP transport: concurrent callers,
//! each with its own KubeSphere token and session, invoking a cheap tool
//! (`whoami`: one request to the simulated KubeSphere) on the release
//! binary serving `--sandbox --http` on loopback.
//!
//!   cargo bench --bench http_load                      # 1, 16, 256 callers, 5 s each
//!   cargo bench --bench http_load -- --stateless       # the stateless mode
//!   BENCH_SECS=10 BENCH_LEVELS=1,64 cargo bench --bench http_load
//!   cargo bench --bench http_load -- --markdown PATH   # both modes, 5 runs each, Markdown
//!   cargo bench --bench http_load -- --quick           # both modes, 2 runs of 1 s each
//!
//! Reports calls/s, p50/p99 latency (client side) and the server's peak
//! RSS during each level (VmHWM, reset once every caller has connected; it
//! includes the in-process simulated KubeSphere). Every run of a level gets
//! a fresh server process, so one level's memory does not carry into the
//! next. Load generator and server share the machine's cores, so the
//! figures are a floor, not a capacity claim.

#[path = "support/stat.rs"]
mod stat;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::Value;

use stat::Stat;

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

struct Opts {
    quick: bool,
    markdown: Option<PathBuf>,
    stateless: bool,
}

impl Opts {
    fn parse() -> Result<Opts, String> {
        let mut o = Opts {
            quick: false,
            markdown: None,
            stateless: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => o.quick = true,
                "--markdown" => o.markdown = Some(args.next().ok_or("--markdown needs a path")?.into()),
                "--stateless" => o.stateless = true,
                "--bench" => {} // passed by `cargo bench`
                other => {
                    return Err(format!(
                        "unknown argument {other:?}; use [--stateless] or [--quick] [--markdown PATH]"
                    ));
                }
            }
        }
        Ok(o)
    }

    /// The table modes (`--markdown`, `--quick`) measure both modes with
    /// repetitions; without them, one run per level of one mode, as lines.
    fn table(&self) -> bool {
        self.markdown.is_some() || self.quick
    }
}

/// A server process serving `--sandbox --http` on a free loopback port.
struct Server {
    child: tokio::process::Child,
    pid: u32,
    base: String,
}

impl Server {
    async fn start(stateless: bool) -> Server {
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
        let child = cmd.spawn().expect("server binary starts");
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
        Server { child, pid, base }
    }

    /// One token per caller (tenant and demo-admin alternating): every
    /// caller is its own entry in the server's per-identity token cache.
    async fn tokens(&self, n: usize) -> Vec<String> {
        let prm: Value = reqwest::Client::new()
            .get(format!("{}/.well-known/oauth-protected-resource/mcp", self.base))
            .send()
            .await
            .expect("metadata")
            .json()
            .await
            .expect("metadata JSON");
        let issuer = prm["authorization_servers"][0].as_str().expect("issuer").to_string();
        let mut tokens = Vec::with_capacity(n);
        for i in 0..n {
            tokens.push(token(&issuer, if i % 2 == 0 { "tenant" } else { "demo-admin" }).await);
        }
        tokens
    }

    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// One run of one level on a fresh server.
async fn fresh_run(stateless: bool, callers: usize, secs: f64) -> Level {
    let server = Server::start(stateless).await;
    let tokens = server.tokens(callers).await;
    let url = format!("{}/mcp", server.base);
    let level = run_level(&url, &tokens, callers, secs, server.pid).await;
    server.stop().await;
    level
}

fn mode_name(stateless: bool) -> &'static str {
    if stateless { "stateless" } else { "session" }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let opts = match Opts::parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("http_load: {e}");
            std::process::exit(2);
        }
    };
    let secs: f64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if opts.quick { 1.0 } else { 5.0 });
    let levels: Vec<usize> = std::env::var("BENCH_LEVELS")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 16, 256]);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);

    if !opts.table() {
        println!(
            "ks-devops-mcp HTTP load ({} mode, tool whoami, {secs} s per level, a fresh server per level, {cores} cores)",
            mode_name(opts.stateless),
        );
        println!("| callers | calls | calls/s | p50 ms | p99 ms | peak RSS MiB | errors |");
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        for &n in &levels {
            let l = fresh_run(opts.stateless, n, secs).await;
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
        }
        return;
    }

    let reps = if opts.quick { 2 } else { 5 };
    let modes = [false, true];
    // Per (mode, level): the runs. Repetition-major, so drift in the
    // machine's load spreads over every level and mode.
    let mut runs: Vec<Vec<Level>> = (0..modes.len() * levels.len()).map(|_| Vec::new()).collect();
    for rep in 0..reps {
        for (mi, &stateless) in modes.iter().enumerate() {
            for (li, &n) in levels.iter().enumerate() {
                let l = fresh_run(stateless, n, secs).await;
                eprintln!(
                    "http_load: run {}/{reps} {} {n} callers: {:.0} calls/s, p50 {:.2} ms, p99 {:.2} ms, peak RSS {} KiB, {} errors",
                    rep + 1,
                    mode_name(stateless),
                    l.calls as f64 / l.secs,
                    l.p50.as_secs_f64() * 1000.0,
                    l.p99.as_secs_f64() * 1000.0,
                    l.rss_kib.map(|k| k.to_string()).unwrap_or_else(|| "?".into()),
                    l.errors
                );
                runs[mi * levels.len() + li].push(l);
            }
        }
    }

    let mut md = String::new();
    writeln!(
        md,
        "### Concurrent callers over streamable HTTP
"
    )
    .ok();
    writeln!(
        md,
        "From `cargo bench --bench http_load` (`benches/http_load.rs`): the release binary serving \
         `--sandbox --http` on loopback (the simulated KubeSphere runs inside the server process), driven by \
         concurrent callers in the bench process, each with its own KubeSphere token (tenant and demo-admin \
         alternating, so each is its own identity in the server) and its own rmcp streamable HTTP client, calling \
         `whoami` (one KubeSphere request) back to back for {secs} s. *session*: stateful sessions \
         (`initialize` once per caller); *stateless*: `--stateless`. Every run of a level starts a fresh server; \
         {reps} runs per level{}. Load generator and server share the machine's {cores} cores, so these figures \
         are a floor, not a capacity claim.\n",
        if opts.quick {
            " (`--quick`: too short and too few for publishing)"
        } else {
            ""
        }
    )
    .ok();
    writeln!(
        md,
        "- *calls/s*: successful calls over the run; *p50*/*p99*: client-side latency of one call in that run \
         (the table gives their median, min and max over the runs).\n\
         - *server peak RSS*: VmHWM of the server process during the run, reset once every caller had connected \
         and made one warm-up call, so it covers the load with all sessions open. It includes the in-process \
         simulated KubeSphere (its state, HTTP server and token table), not only the MCP server.\n\
         - *errors*: failed calls summed over all runs.\n"
    )
    .ok();
    writeln!(
        md,
        "| mode | callers | calls/s | p50 (ms) | p99 (ms) | server peak RSS (MiB) | errors |"
    )
    .ok();
    writeln!(md, "|---|---:|---|---|---|---|---:|").ok();
    for (mi, &stateless) in modes.iter().enumerate() {
        for (li, &n) in levels.iter().enumerate() {
            let rs = &runs[mi * levels.len() + li];
            let rate: Vec<f64> = rs.iter().map(|l| l.calls as f64 / l.secs).collect();
            let p50: Vec<f64> = rs.iter().map(|l| l.p50.as_secs_f64() * 1000.0).collect();
            let p99: Vec<f64> = rs.iter().map(|l| l.p99.as_secs_f64() * 1000.0).collect();
            let rss: Vec<f64> = rs.iter().filter_map(|l| l.rss_kib).map(|k| k as f64 / 1024.0).collect();
            let errors: usize = rs.iter().map(|l| l.errors).sum();
            writeln!(
                md,
                "| {} | {n} | {} | {} | {} | {} | {errors} |",
                mode_name(stateless),
                Stat::of(&rate).fmt(0),
                Stat::of(&p50).fmt(2),
                Stat::of(&p99).fmt(2),
                Stat::of(&rss).fmt(1),
            )
            .ok();
        }
    }
    match &opts.markdown {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &md) {
                eprintln!("http_load: cannot write {}: {e}", path.display());
                std::process::exit(1);
            }
            eprintln!("http_load: wrote {}", path.display());
        }
        None => print!("{md}"),
    }
}
