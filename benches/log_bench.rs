//! Benchmark (not a test): peak RSS and throughput of `get_run_log` over a
//! huge simulated log.
//!
//! ```sh
//! cargo bench --bench log_bench                     # 1 GiB log
//! LOG_BENCH_BYTES=200000000 cargo bench --bench log_bench
//! ```
//!
//! The simulated KubeSphere runs in the same process and generates the log
//! while streaming it (never held in memory), so its buffers are part of
//! the RSS figures. Peak RSS is Linux `VmHWM`, reset before each case
//! through `/proc/self/clear_refs`; elsewhere only timings are printed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::{Value, json};

use ks_devops_mcp::kubesphere::{ClientSettings, Credentials, KsClient};
use ks_devops_mcp::mcp::{Registry, ServerOptions, ToolCtx};

fn status_kb(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

async fn case(name: &str, ctx: &ToolCtx, args: Value, bytes: u64) {
    let registry = Registry::all();
    let Some(tool) = registry.get("get_run_log") else {
        eprintln!("get_run_log is not registered");
        return;
    };
    let Value::Object(args) = args else {
        return;
    };
    let resettable = reset_peak();
    let before = status_kb("VmRSS:");
    let started = Instant::now();
    let out = tool.run(ctx.clone(), args).await;
    let elapsed = started.elapsed();
    let peak = status_kb("VmHWM:");
    match out {
        Ok(v) => {
            let text = v["text"].as_str().map(str::len).unwrap_or(0);
            println!(
                "{name:<28} {:>7.2} s  {:>8.1} MiB/s  peak RSS {}  (RSS before {})  returned {} bytes, log {} bytes",
                elapsed.as_secs_f64(),
                bytes as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64().max(1e-9),
                match (peak, resettable) {
                    (Some(p), true) => format!("{:>6.1} MiB", mib(p)),
                    (Some(p), false) => format!("{:>6.1} MiB (process peak, not reset)", mib(p)),
                    _ => "n/a".into(),
                },
                before
                    .map(|b| format!("{:.1} MiB", mib(b)))
                    .unwrap_or_else(|| "n/a".into()),
                text,
                v["log_bytes"]
            );
        }
        Err(e) => println!("{name}: failed: {e}"),
    }
}

fn main() {
    let bytes: u64 = std::env::var("LOG_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 30);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            return;
        }
    };
    rt.block_on(async move {
        let sim = match ks_sim::Sim::start(ks_sim::SimOptions::default(), ([127, 0, 0, 1], 0).into()).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("cannot start the simulated KubeSphere: {e}");
                return;
            }
        };
        let Some(run) = sim.add_big_log_run("host", "stone-devops", "hello", None, bytes) else {
            eprintln!("cannot seed the run");
            return;
        };
        let Ok(url) = url::Url::parse(&sim.url()) else {
            return;
        };
        let mut settings = ClientSettings::new(
            url,
            Credentials::Password {
                username: "tenant".into(),
                password: SecretString::from("P@88w0rd"),
            },
        );
        settings.timeout = Duration::from_secs(60);
        let Ok(client) = KsClient::new(settings) else {
            return;
        };
        let ctx = ToolCtx::detached(client, Arc::new(ServerOptions::default()));
        println!(
            "get_run_log over a {:.0} MiB simulated log (run {}), {} CPUs",
            bytes as f64 / (1024.0 * 1024.0),
            run.pipelinerun,
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        );
        // The ceiling: stream the run log and throw it away (the simulated
        // KubeSphere generates it on the fly, which costs CPU too).
        {
            let blue = ks_devops_mcp::kubesphere::logs::BlueRunRef {
                namespace: "stone-devops".into(),
                pipeline: "hello".into(),
                branch: None,
                run_id: run.run_id.clone(),
            };
            let resettable = reset_peak();
            let started = Instant::now();
            let mut n = 0u64;
            match ctx.client.run_log(&ks_devops_mcp::kubesphere::Cluster::Host, &blue, 0).await {
                Ok(mut body) => loop {
                    match body.next_chunk().await {
                        Ok(Some(c)) => n += c.len() as u64,
                        Ok(None) => break,
                        Err(e) => {
                            eprintln!("raw stream failed: {e}");
                            break;
                        }
                    }
                },
                Err(e) => eprintln!("raw stream failed: {e}"),
            }
            let el = started.elapsed();
            println!(
                "{:<28} {:>7.2} s  {:>8.1} MiB/s  peak RSS {}  ({n} bytes)",
                "raw stream, discarded",
                el.as_secs_f64(),
                n as f64 / (1024.0 * 1024.0) / el.as_secs_f64().max(1e-9),
                status_kb("VmHWM:")
                    .map(|p| format!("{:>6.1} MiB{}", mib(p), if resettable { "" } else { " (not reset)" }))
                    .unwrap_or_else(|| "n/a".into()),
            );
        }
        // Warm up: login, project resolution, connection.
        case(
            "warm-up (head_lines 10)",
            &ctx,
            json!({"project": "stone-devops", "name": run.pipelinerun, "head_lines": 10}),
            0,
        )
        .await;
        case(
            "tail (defaults)",
            &ctx,
            json!({"project": "stone-devops", "name": run.pipelinerun}),
            bytes,
        )
        .await;
        case(
            "grep rare literal",
            &ctx,
            json!({"project": "stone-devops", "name": run.pipelinerun, "grep": "line +1234567 "}),
            bytes,
        )
        .await;
        case(
            "grep regex, many matches",
            &ctx,
            json!({"project": "stone-devops", "name": run.pipelinerun, "grep": "line +[0-9]*000 ", "max_matches": 500, "max_bytes": 65536}),
            bytes,
        )
        .await;
        case(
            "grep (?i) no match",
            &ctx,
            json!({"project": "stone-devops", "name": run.pipelinerun, "grep": "(?i)exception"}),
            bytes,
        )
        .await;
        sim.shutdown().await;
    });
}
