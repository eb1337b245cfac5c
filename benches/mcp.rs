//! Benchmarks of the released server: cold start, memory, overhead over
//! the upstream, catalog size and output economy.
//!
//! `scripts/bench.sh` runs this and writes `BENCHMARKS.md`; by hand:
//! `cargo bench --bench mcp -- [--quick] [--markdown PATH]`.
//!
//! The server is the release binary (`cargo bench` builds it with the
//! release settings), spawned as a child process and driven over stdio with
//! newline-delimited JSON-RPC written here, so the client adds next to
//! nothing to what is measured. It talks to the simulated KubeSphere
//! (`ks-sim`), which runs in this process on loopback; the same sim serves
//! the direct HTTP requests the overhead is measured against. Every figure
//! is the median with min and max over repeated runs.

#[path = "support/stat.rs"]
mod stat;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ks_sim::{RecordedRequest, Sim, SimOptions};
use serde_json::{Map, Value, json};
use stat::Stat;

const BIN: &str = env!("CARGO_BIN_EXE_ks-devops-mcp");
const MODERN: &str = "2026-07-28";
const LEGACY: &str = "2025-11-25";
/// Longest wait for one answer from the server before the bench gives up.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

type Res<T> = Result<T, String>;

fn main() {
    let opts = match Opts::parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    let watchdog = Watchdog::start();
    match run(&opts, &watchdog) {
        Ok(markdown) => {
            if let Some(path) = &opts.markdown {
                if let Err(e) = std::fs::write(path, &markdown) {
                    eprintln!("bench: cannot write {}: {e}", path.display());
                    std::process::exit(1);
                }
                eprintln!("bench: wrote {}", path.display());
            } else {
                print!("{markdown}");
            }
        }
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(1);
        }
    }
}

struct Opts {
    quick: bool,
    markdown: Option<PathBuf>,
}

impl Opts {
    fn parse() -> Res<Opts> {
        let mut opts = Opts {
            quick: false,
            markdown: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => opts.quick = true,
                "--markdown" => opts.markdown = Some(args.next().ok_or("--markdown needs a path")?.into()),
                "--bench" => {} // passed by `cargo bench`
                other => return Err(format!("unknown argument {other:?}; use [--quick] [--markdown PATH]")),
            }
        }
        Ok(opts)
    }

    /// Repetitions: (cold starts per style, memory runs, samples per tool).
    fn reps(&self) -> (usize, usize, usize) {
        if self.quick { (5, 2, 20) } else { (50, 10, 500) }
    }
}

/// Ends the bench when one step takes far too long (a hung server), so a
/// CI job fails with a message instead of timing out silently. Children
/// exit when their stdin closes with this process.
struct Watchdog {
    deadline: Arc<Mutex<Option<(Instant, String)>>>,
}

impl Watchdog {
    fn start() -> Watchdog {
        let deadline: Arc<Mutex<Option<(Instant, String)>>> = Arc::default();
        let d = deadline.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(200));
                let guard = d.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((at, what)) = guard.as_ref()
                    && Instant::now() > *at
                {
                    eprintln!("bench: gave up: no progress within {ANSWER_TIMEOUT:?} while {what}");
                    std::process::exit(1);
                }
            }
        });
        Watchdog { deadline }
    }

    fn arm(&self, what: &str) {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now() + ANSWER_TIMEOUT, what.into()));
    }

    fn disarm(&self) {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

// ---------------------------------------------------------------------------
// Statistics

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000_000.0
}

// ---------------------------------------------------------------------------
// A minimal MCP client over the child's stdio

#[derive(Clone, Copy, Debug, PartialEq)]
enum Style {
    /// `initialize` + `notifications/initialized` (protocol 2025-11-25).
    Initialize,
    /// `server/discover`, then `_meta` on every request (protocol 2026-07-28).
    Discover,
}

impl Style {
    fn label(self) -> &'static str {
        match self {
            Style::Initialize => "`initialize` (2025-11-25)",
            Style::Discover => "`server/discover` (2026-07-28)",
        }
    }
}

struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    out: BufReader<ChildStdout>,
    next_id: u64,
    style: Style,
    line: String,
}

/// One answer: the `result` and the size of the JSON-RPC line that carried it.
struct Answer {
    result: Value,
    bytes: usize,
}

impl Server {
    fn spawn(sim_url: &str, toolsets: &str) -> Res<Server> {
        let mut cmd = Command::new(BIN);
        for (k, _) in std::env::vars() {
            if k.starts_with("KUBESPHERE_") || k.starts_with("KS_DEVOPS_MCP_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd.env("KUBESPHERE_URL", sim_url)
            .env("KUBESPHERE_USERNAME", "tenant")
            .env("KUBESPHERE_PASSWORD", "P@88w0rd")
            .args(["--toolsets", toolsets, "--log", "error"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().map_err(|e| format!("cannot start {BIN}: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin pipe")?;
        let out = BufReader::new(child.stdout.take().ok_or("no stdout pipe")?);
        Ok(Server {
            child,
            stdin: Some(stdin),
            out,
            next_id: 1,
            style: Style::Initialize,
            line: String::with_capacity(64 * 1024),
        })
    }

    fn send(&mut self, msg: &Value) -> Res<()> {
        let stdin = self.stdin.as_mut().ok_or("stdin already closed")?;
        let mut text = msg.to_string();
        text.push('\n');
        stdin
            .write_all(text.as_bytes())
            .and_then(|_| stdin.flush())
            .map_err(|e| format!("writing to the server: {e}"))
    }

    /// Sends one request and reads lines until its answer (skipping
    /// notifications). A JSON-RPC error is an `Err`.
    fn request(&mut self, method: &str, mut params: Value) -> Res<Answer> {
        let id = self.next_id;
        self.next_id += 1;
        if self.style == Style::Discover
            && let Some(p) = params.as_object_mut()
        {
            p.insert("_meta".into(), modern_meta());
        }
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))?;
        loop {
            self.line.clear();
            let n = self
                .out
                .read_line(&mut self.line)
                .map_err(|e| format!("reading from the server: {e}"))?;
            if n == 0 {
                return Err(format!("the server closed stdout while answering {method}"));
            }
            let msg: Value = serde_json::from_str(&self.line)
                .map_err(|e| format!("stdout carried a non-JSON line ({e}): {:.200}", self.line))?;
            if msg.get("id").and_then(Value::as_u64) != Some(id) || msg.get("method").is_some() {
                continue; // a notification or a request of the server: not ours
            }
            if let Some(err) = msg.get("error") {
                return Err(format!("{method} failed: {err}"));
            }
            return Ok(Answer {
                result: msg.get("result").cloned().unwrap_or(Value::Null),
                bytes: self.line.trim_end().len(),
            });
        }
    }

    fn handshake(&mut self, style: Style) -> Res<Answer> {
        match style {
            Style::Initialize => {
                let a = self.request(
                    "initialize",
                    json!({"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}),
                )?;
                self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
                self.style = Style::Initialize;
                Ok(a)
            }
            Style::Discover => {
                self.style = Style::Discover;
                self.request("server/discover", json!({}))
            }
        }
    }

    fn call(&mut self, tool: &str, args: &Value) -> Res<Answer> {
        let a = self.request("tools/call", json!({"name": tool, "arguments": args}))?;
        if a.result.get("isError") == Some(&Value::Bool(true)) {
            return Err(format!("{tool} {args} returned isError: {:.300}", a.result.to_string()));
        }
        Ok(a)
    }

    /// Resident set size and its peak, in KiB (Linux /proc).
    fn memory_kib(&self) -> Res<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .map_err(|e| format!("cannot read /proc (memory figures need Linux): {e}"))?;
        let field = |name: &str| -> Res<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("no {name} in /proc/{}/status", self.child.id()))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    fn close(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn median_of(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}
    })
}

// ---------------------------------------------------------------------------
// The example calls (`ks-devops-mcp tools --examples`, from the registry)

struct Example {
    tool: String,
    args: Value,
}

/// Example arguments for every read-only tool the server lists, `$from`
/// references resolved by calling the referenced tool first. Fails when a
/// read-only tool has no example, as the real-clients check does.
fn examples(server: &mut Server, tools: &[Value]) -> Res<Vec<Example>> {
    let source = "ks-devops-mcp tools --examples";
    let out = Command::new(BIN)
        .args(["tools", "--examples"])
        .output()
        .map_err(|e| format!("cannot run {source}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{source} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let doc: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("{source}: {e}"))?;
    let table = doc
        .get("examples")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{source}: no `examples` object"))?;
    let read_only: Vec<String> = tools
        .iter()
        .filter(|t| t.pointer("/annotations/readOnlyHint") == Some(&Value::Bool(true)))
        .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let missing: Vec<&str> = read_only
        .iter()
        .filter(|n| !table.contains_key(n.as_str()))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "read-only tools without an example in {source}: {} (give each an EXAMPLE)",
            missing.join(", ")
        ));
    }
    let mut results: BTreeMap<String, Value> = BTreeMap::new();
    let mut out = Vec::new();
    for name in &read_only {
        let args = resolve(server, table, &mut results, &table[name.as_str()], 0)?;
        out.push(Example {
            tool: name.clone(),
            args,
        });
    }
    Ok(out)
}

fn resolve(
    server: &mut Server,
    table: &Map<String, Value>,
    results: &mut BTreeMap<String, Value>,
    value: &Value,
    depth: usize,
) -> Res<Value> {
    if depth > 8 {
        return Err("`$from` references in the examples form a cycle".into());
    }
    match value {
        Value::Object(o) if o.contains_key("$from") => {
            let from = o["$from"].as_str().ok_or("`$from` must name a tool")?.to_string();
            if !results.contains_key(&from) {
                let raw = table
                    .get(&from)
                    .ok_or_else(|| format!("`$from` names {from}, which has no example"))?;
                let args = resolve(server, table, results, raw, depth + 1)?;
                let a = server.call(&from, &args)?;
                results.insert(
                    from.clone(),
                    a.result.get("structuredContent").cloned().unwrap_or(Value::Null),
                );
            }
            let pointer = o.get("pointer").and_then(Value::as_str).unwrap_or("");
            results[&from]
                .pointer(pointer)
                .cloned()
                .ok_or_else(|| format!("the {from} result has nothing at {pointer:?}"))
        }
        Value::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(k.clone(), resolve(server, table, results, v, depth)?);
            }
            Ok(Value::Object(m))
        }
        Value::Array(a) => a
            .iter()
            .map(|v| resolve(server, table, results, v, depth))
            .collect::<Res<Vec<_>>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

// ---------------------------------------------------------------------------
// The measurements

fn run(opts: &Opts, dog: &Watchdog) -> Res<String> {
    let (cold_reps, mem_reps, samples) = opts.reps();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    let sim = rt
        .block_on(Sim::start(SimOptions::default(), ([127, 0, 0, 1], 0).into()))
        .map_err(|e| format!("cannot start the simulated KubeSphere: {e}"))?;
    let url = sim.url();
    let token = sim.issue_token("tenant").ok_or("the sim has no user tenant")?;
    let http = reqwest::Client::builder()
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;

    let mut md = String::new();
    let version = Command::new(BIN)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    writeln!(
        md,
        "Binary: `{version}` (release profile), talking to the simulated KubeSphere on loopback."
    )
    .ok();
    writeln!(
        md,
        "Repetitions: {cold_reps} cold starts per handshake style, {mem_reps} memory runs, {samples} samples per tool{}.\n",
        if opts.quick { " (`--quick`: too few for publishing)" } else { "" }
    )
    .ok();

    // 1. Cold start, and the catalog as served by default.
    eprintln!("bench: cold start ({cold_reps} spawns per handshake style)");
    writeln!(md, "## Cold start\n").ok();
    writeln!(
        md,
        "From spawning the process to the handshake answer, and to the answer of the first `tools/list` \
         sent right after it (default toolsets; no KubeSphere request is made before a tool needs one).\n"
    )
    .ok();
    writeln!(
        md,
        "| handshake | to handshake answer (ms) | to first `tools/list` answer (ms) |"
    )
    .ok();
    writeln!(md, "|---|---|---|").ok();
    let mut default_catalog: Vec<(Style, Vec<f64>)> = Vec::new();
    for style in [Style::Initialize, Style::Discover] {
        let mut catalog = Vec::new();
        let (mut hs, mut tl) = (Vec::new(), Vec::new());
        for _ in 0..cold_reps {
            dog.arm("measuring cold start");
            let t0 = Instant::now();
            let mut s = Server::spawn(&url, "default")?;
            s.handshake(style)?;
            let t1 = t0.elapsed();
            let list = s.request("tools/list", json!({}))?;
            let t2 = t0.elapsed();
            s.close();
            hs.push(ms(t1));
            tl.push(ms(t2));
            catalog.push(list.bytes as f64);
        }
        default_catalog.push((style, catalog));
        writeln!(
            md,
            "| {} | {} | {} |",
            style.label(),
            Stat::of(&hs).fmt(2),
            Stat::of(&tl).fmt(2)
        )
        .ok();
    }
    dog.disarm();

    // 2. Catalog size, per tool (all toolsets).
    eprintln!("bench: catalog size");
    dog.arm("listing the catalog");
    let mut s = Server::spawn(&url, "all")?;
    s.handshake(Style::Initialize)?;
    let all = s.request("tools/list", json!({}))?;
    s.close();
    dog.disarm();
    let tools: Vec<Value> = all
        .result
        .get("tools")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if tools.is_empty() {
        return Err("tools/list returned no tools".into());
    }
    let all_discover = {
        let mut s = Server::spawn(&url, "all")?;
        s.handshake(Style::Discover)?;
        let l = s.request("tools/list", json!({}))?;
        s.close();
        l.bytes
    };
    let default_names: usize = {
        let mut s = Server::spawn(&url, "default")?;
        s.handshake(Style::Initialize)?;
        let l = s.request("tools/list", json!({}))?;
        s.close();
        l.result.get("tools").and_then(Value::as_array).map_or(0, Vec::len)
    };
    writeln!(md, "\n## Catalog size\n").ok();
    writeln!(
        md,
        "Bytes of the `tools/list` answer (the whole JSON-RPC line) as a client receives it. The default-toolset \
         figures come from each cold start above; a 2026-07-28 answer also carries `resultType`, `ttlMs` and \
         `cacheScope`.\n"
    )
    .ok();
    writeln!(md, "| toolsets | tools | handshake | bytes of `tools/list` |").ok();
    writeln!(md, "|---|---|---|---|").ok();
    for (style, bytes) in &default_catalog {
        writeln!(
            md,
            "| default | {default_names} | {} | {} |",
            style.label(),
            Stat::of(bytes).fmt(0)
        )
        .ok();
    }
    writeln!(
        md,
        "| all | {} | {} | {} |",
        tools.len(),
        Style::Initialize.label(),
        all.bytes
    )
    .ok();
    writeln!(
        md,
        "| all | {} | {} | {} |",
        tools.len(),
        Style::Discover.label(),
        all_discover
    )
    .ok();
    writeln!(
        md,
        "\nPer tool (all toolsets), compact JSON bytes of the tool object and its parts:\n"
    )
    .ok();
    writeln!(
        md,
        "| tool | total | description | inputSchema | outputSchema | model-visible (name + description + inputSchema) |"
    )
    .ok();
    writeln!(md, "|---|---|---|---|---|---|").ok();
    let len = |v: Option<&Value>| {
        v.map_or(0, |v| {
            if let Value::String(s) = v {
                s.len()
            } else {
                v.to_string().len()
            }
        })
    };
    // What a model reads of a tool: compact JSON of name, description and
    // inputSchema (the same measure as ks_devops_mcp::catalog::model_visible_bytes,
    // which a test holds under its budget).
    let visible = |t: &Value| {
        json!({"name": t.get("name"), "description": t.get("description"), "inputSchema": t.get("inputSchema")})
            .to_string()
            .len()
    };
    let mut sum = 0;
    let mut visible_sizes = Vec::new();
    for t in &tools {
        let total = t.to_string().len();
        sum += total;
        let v = visible(t);
        visible_sizes.push(v as f64);
        writeln!(
            md,
            "| `{}` | {total} | {} | {} | {} | {v} |",
            t["name"].as_str().unwrap_or("?"),
            len(t.get("description")),
            len(t.get("inputSchema")),
            len(t.get("outputSchema"))
        )
        .ok();
    }
    writeln!(md, "| **all {}** | {sum} | | | | |", tools.len()).ok();
    writeln!(
        md,
        "\nModel-visible bytes per tool: median {:.0} (budget 800), min {:.0}, max {:.0}.",
        median_of(&visible_sizes),
        visible_sizes.iter().copied().fold(f64::INFINITY, f64::min),
        visible_sizes.iter().copied().fold(0.0, f64::max)
    )
    .ok();

    // 3. Memory.
    eprintln!("bench: memory ({mem_reps} runs of 1,000 tool calls)");
    let mut rss_hs = Vec::new();
    let mut rss_after = Vec::new();
    let mut hwm_after = Vec::new();
    let mut call_mix = Vec::new();
    for _ in 0..mem_reps {
        dog.arm("measuring memory");
        let mut s = Server::spawn(&url, "all")?;
        s.handshake(Style::Initialize)?;
        s.request("tools/list", json!({}))?;
        std::thread::sleep(Duration::from_millis(200));
        rss_hs.push(s.memory_kib()?.0 as f64 / 1024.0);
        let ex = examples(&mut s, &tools)?;
        call_mix = ex.iter().map(|e| e.tool.clone()).collect();
        for i in 0..1000 {
            if i % 100 == 0 {
                dog.arm("making 1,000 tool calls");
            }
            let e = &ex[i % ex.len()];
            s.call(&e.tool, &e.args)?;
        }
        std::thread::sleep(Duration::from_millis(200));
        let (rss, hwm) = s.memory_kib()?;
        rss_after.push(rss as f64 / 1024.0);
        hwm_after.push(hwm as f64 / 1024.0);
        s.close();
    }
    dog.disarm();
    writeln!(md, "\n## Memory\n").ok();
    writeln!(
        md,
        "Resident set size (VmRSS) of the server process, all toolsets: after the handshake and a `tools/list`, \
         and after 1,000 more tool calls cycling through the read-only tools' example calls ({}); \
         peak is VmHWM at the end.\n",
        call_mix.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
    )
    .ok();
    writeln!(
        md,
        "| after handshake (MiB) | after 1,000 tool calls (MiB) | peak (MiB) |"
    )
    .ok();
    writeln!(md, "|---|---|---|").ok();
    writeln!(
        md,
        "| {} | {} | {} |",
        Stat::of(&rss_hs).fmt(1),
        Stat::of(&rss_after).fmt(1),
        Stat::of(&hwm_after).fmt(1)
    )
    .ok();

    // 4. Overhead over the upstream, per read-only tool, warm.
    eprintln!("bench: overhead ({samples} samples per tool)");
    dog.arm("preparing the example calls");
    let mut s = Server::spawn(&url, "all")?;
    s.handshake(Style::Initialize)?;
    let ex = examples(&mut s, &tools)?;
    let mut rows = String::new();
    let mut warm_bytes: BTreeMap<String, (usize, Vec<f64>)> = BTreeMap::new();
    for e in &ex {
        dog.arm(&format!("measuring the overhead of {}", e.tool));
        for _ in 0..10 {
            s.call(&e.tool, &e.args)?; // warm: login, connection pool, caches
        }
        sim.clear_requests();
        s.call(&e.tool, &e.args)?;
        // A read-only tool whose upstream check is a POST (validate_jenkinsfile's
        // checkScriptCompile) cannot be replayed: listed, not measured.
        let replay = match upstream_gets(&sim, &e.tool) {
            Ok(r) => r,
            Err(why) => {
                eprintln!("bench: {why}: overhead not measured");
                continue;
            }
        };
        let (mut tool_us, mut direct_us, mut diff_us, mut raw) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..samples {
            let t0 = Instant::now();
            s.call(&e.tool, &e.args)?;
            let t_tool = t0.elapsed();
            let t1 = Instant::now();
            raw.push(rt.block_on(direct(&http, &url, &token, &replay))? as f64);
            let t_direct = t1.elapsed();
            tool_us.push(us(t_tool));
            direct_us.push(us(t_direct));
            diff_us.push(us(t_tool) - us(t_direct));
        }
        warm_bytes.insert(e.tool.clone(), (replay.len(), raw));
        writeln!(
            rows,
            "| `{}` | {} | {} | {} | {} |",
            e.tool,
            if replay.is_empty() {
                "0 (cached)".to_string()
            } else {
                replay.len().to_string()
            },
            Stat::of(&tool_us).fmt(0),
            Stat::of(&direct_us).fmt(0),
            Stat::of(&diff_us).fmt(0)
        )
        .ok();
    }
    s.close();
    dog.disarm();
    writeln!(md, "\n## Overhead over the upstream\n").ok();
    writeln!(
        md,
        "Latency of one `tools/call` over stdio (JSON-RPC in and out, argument checks, project resolution, \
         KubeSphere requests, summarising), warm (logged in, connections pooled, the server's 30 s project \
         cache filled), against the same KubeSphere GET requests that call made, sent directly with an HTTP \
         client (reqwest, keep-alive, one after the other) to the same simulated KubeSphere. Overhead is the \
         difference per sample (call, then its direct requests). \"0 (cached)\": the call needed no request. \
         Microseconds.\n"
    )
    .ok();
    writeln!(
        md,
        "| tool | upstream requests | tool call (µs) | direct requests (µs) | overhead (µs) |"
    )
    .ok();
    writeln!(md, "|---|---|---|---|---|").ok();
    md.push_str(&rows);

    // 5. Output economy, per read-only tool, cold (a fresh server per sample).
    let econ_reps = if opts.quick { 2 } else { 10 };
    eprintln!("bench: output economy ({econ_reps} fresh servers per tool)");
    let mut rows = String::new();
    for e in &ex {
        dog.arm(&format!("measuring the output of {}", e.tool));
        let (mut n_req, mut raw_bytes, mut sc_bytes, mut text_bytes, mut ratio, mut warm_ratio) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (warm_n, warm_raw) = warm_bytes.get(&e.tool).cloned().unwrap_or_default();
        let warm_raw_median = Stat::of(&warm_raw).median;
        for _ in 0..econ_reps {
            let mut s = Server::spawn(&url, "all")?;
            s.handshake(Style::Initialize)?;
            sim.clear_requests();
            let a = s.call(&e.tool, &e.args)?;
            let Ok(replay) = upstream_gets(&sim, &e.tool) else {
                s.close();
                break;
            };
            s.close();
            let raw = rt.block_on(direct(&http, &url, &token, &replay))? as f64;
            let sc = a.result.get("structuredContent").map_or(0, |v| v.to_string().len()) as f64;
            let text: usize = a.result.get("content").and_then(Value::as_array).map_or(0, |c| {
                c.iter()
                    .filter_map(|b| b.get("text").and_then(Value::as_str))
                    .map(str::len)
                    .sum()
            });
            n_req.push(replay.len() as f64);
            raw_bytes.push(raw);
            sc_bytes.push(sc);
            text_bytes.push(text as f64);
            ratio.push(if raw > 0.0 { sc / raw * 100.0 } else { f64::NAN });
            warm_ratio.push(if warm_raw_median > 0.0 {
                sc / warm_raw_median * 100.0
            } else {
                f64::NAN
            });
        }
        writeln!(
            rows,
            "| `{}` | {} | {} | {warm_n} | {} | {} | {} | {} | {} |",
            e.tool,
            Stat::of(&sc_bytes).fmt(0),
            Stat::of(&text_bytes).fmt(0),
            Stat::of(&warm_raw).fmt(0),
            Stat::of(&warm_ratio).fmt(1),
            Stat::of(&n_req).fmt(0),
            Stat::of(&raw_bytes).fmt(0),
            Stat::of(&ratio).fmt(1)
        )
        .ok();
    }
    dog.disarm();
    writeln!(md, "\n## Output economy\n").ok();
    writeln!(
        md,
        "Bytes an agent receives from each read-only tool (its example call) against the raw upstream JSON it \
         summarises: the bodies of the KubeSphere GETs the call made. *Warm*: the requests of the warm calls \
         measured above (a call served from the project cache makes none). *Cold*: every GET of the same \
         call on a fresh server, project resolution included, the OAuth login not ({econ_reps} fresh servers \
         per tool). `structuredContent` is compact JSON; the text block carries the same JSON for clients \
         without structured output.\n"
    )
    .ok();
    writeln!(
        md,
        "| tool | `structuredContent` bytes | text bytes | warm: requests | warm: upstream bytes | warm: % | cold: requests | cold: upstream bytes | cold: % |"
    )
    .ok();
    writeln!(md, "|---|---|---|---|---|---|---|---|---|").ok();
    md.push_str(&rows);

    rt.block_on(sim.shutdown());
    Ok(md)
}

/// The upstream requests the sim saw since its log was last cleared,
/// without the OAuth login; all must be GETs (read-only tools).
fn upstream_gets(sim: &Sim, tool: &str) -> Res<Vec<RecordedRequest>> {
    let reqs: Vec<RecordedRequest> = sim
        .requests()
        .into_iter()
        .filter(|r| !r.path.starts_with("/oauth/"))
        .collect();
    if let Some(r) = reqs.iter().find(|r| r.method != "GET") {
        return Err(format!(
            "{tool} made a {} request ({}); only GETs are replayed",
            r.method, r.path
        ));
    }
    Ok(reqs)
}

/// Sends the recorded requests one after the other; returns the body bytes.
async fn direct(http: &reqwest::Client, base: &str, token: &str, reqs: &[RecordedRequest]) -> Res<usize> {
    let mut total = 0;
    for r in reqs {
        let url = match &r.query {
            Some(q) if !q.is_empty() => format!("{base}{}?{q}", r.path),
            _ => format!("{base}{}", r.path),
        };
        let resp = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("GET {url}: {e}"))?;
        if !status.is_success() {
            return Err(format!("GET {url}: {status}: {:.200}", String::from_utf8_lossy(&body)));
        }
        total += body.len();
    }
    Ok(total)
}
