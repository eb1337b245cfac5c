//! Benchmark (not a test): peak RSS and throughput of `get_run_log` over a
//! huge simulated log.
//!
//! ```sh
//! cargo bench --bench log_bench                     # 1 GiB log, one run per case
//! LOG_BENCH_BYTES=200000000 cargo bench --bench log_bench
//! cargo bench --bench log_bench -- --markdown PATH  # 5 runs per case, Markdown table
//! cargo bench --bench log_bench -- --quick          # 128 MiB, 2 runs per case
//! ```
//!
//! Every run of a case is a fresh process: the bench re-executes itself with
//! `--case NAME --bytes N`. That child starts the simulated KubeSphere in
//! process (it generates the log while streaming it, never holding it in
//! memory), seeds a finished run with that log, makes a warm-up call (login,
//! project resolution, connection), resets the peak RSS counter (Linux
//! `VmHWM`, through `/proc/self/clear_refs`) and measures the case. So the
//! peak RSS of a run is that process over that case alone, simulator
//! included; elsewhere than Linux only timings are reported.
//!
//! Upstream cannot relay a run log that large through the run log route
//! (ks-devops buffers it whole with a 30 s limit, API reference §16 U8).
//! The run log cases lift the simulator's relay limit
//! (`SimOptions::log_relay_limit`) to measure the tool's own streaming; the
//! `per-step` case keeps the default limit (failing at once, no delay) and
//! seeds the log as 32 MiB steps, so `get_run_log` takes the path it takes
//! on a real KubeSphere: the run log fails, the step logs are read one
//! after the other.

#[path = "support/stat.rs"]
mod stat;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::{Value, json};

use ks_devops_mcp::kubesphere::{ClientSettings, Credentials, KsClient};
use ks_devops_mcp::mcp::{Registry, ServerOptions, ToolCtx};

use stat::Stat;

/// The cases, in order: key (the child's `--case`), label, and the
/// `get_run_log` arguments besides project and run name (None: the raw
/// stream, read and discarded without the tool).
const CASES: &[(&str, &str, Option<&str>)] = &[
    ("raw", "raw stream, discarded", None),
    ("tail", "tail (defaults)", Some("{}")),
    ("grep-rare", "grep rare literal", Some(r#"{"grep": "line +1234567 "}"#)),
    (
        "grep-many",
        "grep regex, many matches",
        Some(r#"{"grep": "line +[0-9]*000 ", "max_matches": 500, "max_bytes": 65536}"#),
    ),
    ("grep-none", "grep (?i) no match", Some(r#"{"grep": "(?i)exception"}"#)),
    ("per-step", "tail, read per step (U8)", Some("{}")),
];

/// Size of one step of the `per-step` case's log.
const STEP_BYTES: u64 = 32 << 20;

const PROJECT: &str = "stone-devops";
const PIPELINE: &str = "hello";

struct Opts {
    quick: bool,
    markdown: Option<PathBuf>,
    case: Option<String>,
    bytes: Option<u64>,
}

impl Opts {
    fn parse() -> Result<Opts, String> {
        let mut o = Opts {
            quick: false,
            markdown: None,
            case: None,
            bytes: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => o.quick = true,
                "--markdown" => o.markdown = Some(args.next().ok_or("--markdown needs a path")?.into()),
                "--case" => o.case = Some(args.next().ok_or("--case needs a name")?),
                "--bytes" => {
                    o.bytes = Some(
                        args.next()
                            .and_then(|b| b.parse().ok())
                            .ok_or("--bytes needs a number")?,
                    )
                }
                "--bench" => {} // passed by `cargo bench`
                other => return Err(format!("unknown argument {other:?}; use [--quick] [--markdown PATH]")),
            }
        }
        Ok(o)
    }

    /// Without flags: one run per case, printed as lines (the original
    /// behaviour). With `--markdown`: the published repetitions.
    fn reps(&self) -> usize {
        if self.quick {
            2
        } else if self.markdown.is_some() {
            5
        } else {
            1
        }
    }

    fn log_bytes(&self) -> u64 {
        std::env::var("LOG_BENCH_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if self.quick { 128 << 20 } else { 1 << 30 })
    }
}

fn main() {
    let opts = match Opts::parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("log_bench: {e}");
            std::process::exit(2);
        }
    };
    if let Some(case) = &opts.case {
        let bytes = opts.bytes.unwrap_or_else(|| opts.log_bytes());
        match child(case, bytes) {
            Ok(r) => println!("RESULT {r}"),
            Err(e) => {
                eprintln!("log_bench child {case}: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if let Err(e) = parent(&opts) {
        eprintln!("log_bench: {e}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------
// Parent: runs every case in fresh child processes, aggregates.

#[derive(Default)]
struct Samples {
    secs: Vec<f64>,
    mib_s: Vec<f64>,
    peak_mib: Vec<f64>,
    before_mib: Vec<f64>,
    returned: Vec<f64>,
    reset: bool,
}

fn parent(opts: &Opts) -> Result<(), String> {
    let reps = opts.reps();
    let bytes = opts.log_bytes();
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own executable: {e}"))?;
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let table = opts.markdown.is_some() || opts.quick;
    println!(
        "get_run_log over a {:.0} MiB simulated log, {reps} run(s) per case, each in a fresh process, {cpus} CPUs",
        mib(bytes)
    );
    let mut samples: Vec<Samples> = CASES.iter().map(|_| Samples::default()).collect();
    // Repetition-major, so drift in the machine's load spreads over all cases.
    for rep in 0..reps {
        for (i, (key, label, _)) in CASES.iter().enumerate() {
            let out = Command::new(&exe)
                .args(["--case", key, "--bytes", &bytes.to_string()])
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()
                .map_err(|e| format!("cannot run case {key}: {e}"))?;
            let line = String::from_utf8_lossy(&out.stdout)
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("RESULT ").map(str::to_string));
            let r: Value = match (out.status.success(), line) {
                (true, Some(l)) => {
                    serde_json::from_str(&l).map_err(|e| format!("case {key}: bad result {l:?}: {e}"))?
                }
                _ => return Err(format!("case {key} (run {}) failed: {}", rep + 1, out.status)),
            };
            let secs = r["secs"].as_f64().unwrap_or(f64::NAN);
            // Absent when the call stopped before the end of the log.
            let read = r["bytes_read"].as_u64();
            let rate = read.map(|b| mib(b) / secs.max(1e-9));
            let peak = r["peak_kib"].as_u64();
            let before = r["before_kib"].as_u64();
            let reset = r["reset"].as_bool().unwrap_or(false);
            let returned = r["returned"].as_u64().unwrap_or(0);
            let s = &mut samples[i];
            s.secs.push(secs);
            s.mib_s.extend(rate);
            s.peak_mib.extend(peak.map(kib_to_mib));
            s.before_mib.extend(before.map(kib_to_mib));
            s.returned.push(returned as f64);
            s.reset = reset;
            let line = format!(
                "{label:<28} {secs:>7.2} s  {}  peak RSS {}  (RSS before {})  returned {returned} bytes, log {} bytes",
                rate.map(|r| format!("{r:>8.1} MiB/s"))
                    .unwrap_or_else(|| "   (stopped early)".into()),
                match (peak, reset) {
                    (Some(p), true) => format!("{:>6.1} MiB", kib_to_mib(p)),
                    (Some(p), false) => format!("{:>6.1} MiB (process peak, not reset)", kib_to_mib(p)),
                    _ => "n/a".into(),
                },
                before
                    .map(|b| format!("{:.1} MiB", kib_to_mib(b)))
                    .unwrap_or_else(|| "n/a".into()),
                read.map(|b| b.to_string()).unwrap_or_else(|| "?".into()),
            );
            if table {
                eprintln!("log_bench: run {}/{reps}: {line}", rep + 1);
            } else {
                println!("{line}");
            }
        }
    }
    if !table {
        return Ok(());
    }
    let md = markdown(opts, reps, bytes, &samples);
    match &opts.markdown {
        Some(path) => {
            std::fs::write(path, &md).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!("log_bench: wrote {}", path.display());
        }
        None => print!("{md}"),
    }
    Ok(())
}

fn markdown(opts: &Opts, reps: usize, bytes: u64, samples: &[Samples]) -> String {
    let mut md = String::new();
    writeln!(md, "### `get_run_log` over a {:.0} MiB log\n", mib(bytes)).ok();
    writeln!(
        md,
        "From `cargo bench --bench log_bench` (`benches/log_bench.rs`): the `get_run_log` tool handler with its \
         KubeSphere client, called in process (no MCP transport), against the simulated KubeSphere on loopback, \
         which generates the run log ({bytes} bytes of numbered lines) while streaming it and never holds it whole. \
         Every run is a fresh process: it starts the simulator, seeds the run, makes a warm-up call \
         (`head_lines: 10`: login, project resolution, connection), resets the peak RSS counter and runs the case. \
         {reps} runs per case{}. Upstream cannot relay a run log this large (ks-devops buffers it with a 30 s \
         limit, §16 U8): the run log cases lift the simulator's relay limit to measure the tool's own streaming; \
         the per-step case keeps it (failing at once) and seeds the log as 32 MiB steps, which `get_run_log` \
         then reads one after the other, as on a real KubeSphere.\n",
        if opts.quick {
            " (`--quick`: a smaller log and too few runs for publishing)"
        } else {
            ""
        }
    )
    .ok();
    writeln!(
        md,
        "- *time*: wall time of the call (the raw stream: reading the whole log body and discarding it, without \
         the tool: the simulator's own ceiling); *throughput*: log size over that time (n/a if the call stopped \
         before the end of the log).\n\
         - *peak RSS*: VmHWM of the process during the case{}. It includes the simulated KubeSphere generating \
         and serving the log, its HTTP server and the tokio runtime, not only the tool; *RSS before* is the same \
         process just before the case.\n\
         - *bytes returned*: the length of the tool's text result.\n",
        if samples.iter().all(|s| s.reset) {
            " (reset right before it)"
        } else {
            " (**not reset**: the process's lifetime peak)"
        }
    )
    .ok();
    writeln!(
        md,
        "| case | arguments | time (s) | throughput (MiB/s) | peak RSS (MiB) | RSS before (MiB) | bytes returned |"
    )
    .ok();
    writeln!(md, "|---|---|---|---|---|---|---|").ok();
    for ((_, label, args), s) in CASES.iter().zip(samples) {
        writeln!(
            md,
            "| {label} | {} | {} | {} | {} | {} | {} |",
            args.map(|a| format!("`{a}`")).unwrap_or_else(|| "—".into()),
            Stat::of(&s.secs).fmt(2),
            Stat::of(&s.mib_s).fmt(0),
            Stat::of(&s.peak_mib).fmt(1),
            Stat::of(&s.before_mib).fmt(1),
            Stat::of(&s.returned).fmt(0),
        )
        .ok();
    }
    md
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

// ---------------------------------------------------------------------------
// Child: one case in this fresh process.

fn status_kb(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn reset_peak() -> bool {
    // "5" resets the peak RSS counter (Linux >= 4.0).
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn child(key: &str, bytes: u64) -> Result<Value, String> {
    let Some((_, _, extra)) = CASES.iter().find(|(k, _, _)| *k == key) else {
        return Err(format!("unknown case {key:?}"));
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    let per_step = key == "per-step";
    let opts = if per_step {
        ks_sim::SimOptions {
            log_relay_delay: Duration::ZERO,
            ..Default::default()
        }
    } else {
        ks_sim::SimOptions {
            log_relay_limit: u64::MAX,
            ..Default::default()
        }
    };
    rt.block_on(async move {
        let sim = ks_sim::Sim::start(opts, ([127, 0, 0, 1], 0).into())
            .await
            .map_err(|e| format!("cannot start the simulated KubeSphere: {e}"))?;
        let result = measure(&sim, *extra, bytes, per_step).await;
        sim.shutdown().await;
        result
    })
}

async fn measure(sim: &ks_sim::Sim, extra: Option<&str>, bytes: u64, per_step: bool) -> Result<Value, String> {
    let steps = if per_step {
        u32::try_from(bytes.div_ceil(STEP_BYTES)).map_err(|_| "log too large")?
    } else {
        1
    };
    let run = sim
        .add_split_log_run("host", PROJECT, PIPELINE, None, bytes, steps)
        .ok_or("cannot seed the run")?;
    let url = url::Url::parse(&sim.url()).map_err(|e| e.to_string())?;
    let mut settings = ClientSettings::new(
        url,
        Credentials::Password {
            username: "tenant".into(),
            password: SecretString::from("P@88w0rd"),
        },
    );
    settings.timeout = Duration::from_secs(120);
    let client = KsClient::new(settings).map_err(|e| e.to_string())?;
    let ctx = ToolCtx::detached(client, Arc::new(ServerOptions::default()));
    let registry = Registry::all();
    let tool = registry.get("get_run_log").ok_or("get_run_log is not registered")?;
    let call = |extra: &str| -> Result<serde_json::Map<String, Value>, String> {
        let mut args: serde_json::Map<String, Value> =
            serde_json::from_str(extra).map_err(|e| format!("bad case arguments: {e}"))?;
        args.insert("project".into(), json!(PROJECT));
        args.insert("name".into(), json!(run.pipelinerun));
        Ok(args)
    };
    // Warm up: login, project resolution, connection.
    tool.run(ctx.clone(), call(r#"{"head_lines": 10}"#)?)
        .await
        .map_err(|e| format!("warm-up call failed: {e}"))?;

    let reset = reset_peak();
    let before = status_kb("VmRSS:");
    let started = Instant::now();
    let (read, returned) = match extra {
        None => {
            // The ceiling: stream the run log and throw it away (the simulated
            // KubeSphere generates it on the fly, which costs CPU too).
            let blue = ks_devops_mcp::kubesphere::logs::BlueRunRef {
                namespace: PROJECT.into(),
                pipeline: PIPELINE.into(),
                branch: None,
                run_id: run.run_id.clone(),
            };
            let mut body = ctx
                .client
                .run_log(&ks_devops_mcp::kubesphere::Cluster::Host, &blue, 0)
                .await
                .map_err(|e| format!("raw stream failed: {e}"))?;
            let mut n = 0u64;
            while let Some(c) = body.next_chunk().await.map_err(|e| format!("raw stream failed: {e}"))? {
                n += c.len() as u64;
            }
            (Some(n), 0)
        }
        Some(extra) => {
            let v = tool
                .run(ctx.clone(), call(extra)?)
                .await
                .map_err(|e| format!("call failed: {e}"))?;
            if per_step && v["per_step"] != json!(true) {
                return Err(format!("the per-step case did not read per step: {}", v["note"]));
            }
            // log_bytes is absent when the tool stopped before the end.
            (v["log_bytes"].as_u64(), v["text"].as_str().map(str::len).unwrap_or(0))
        }
    };
    let secs = started.elapsed().as_secs_f64();
    let peak = status_kb("VmHWM:");
    Ok(json!({
        "secs": secs,
        "bytes_read": read,
        "returned": returned,
        "peak_kib": peak,
        "before_kib": before,
        "reset": reset,
    }))
}
