//! Pipeline authoring checks a tenant runs before saving (§16.1):
//! `POST DV2/namespaces/{ns}/pipelines/{p}/checkScriptCompile` (a Jenkinsfile)
//! and `POST DV2/namespaces/{ns}/checkCron` (a timer trigger spec).
//!
//! Jenkins compiles the script with the pipeline's Groovy shell; the
//! Declarative plugin's compilation customizer validates a `pipeline { }`
//! block during that compile. The simulator has no Groovy: a small,
//! deterministic checker finds the errors a tenant makes most (unbalanced
//! brackets, unterminated strings, missing or unknown declarative sections,
//! stages without steps) and reports the first one with its line and column
//! as Jenkins would.

use axum::response::Response;
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use serde_json::{Value, json};

use crate::pipelines::jenkins_html_404;
use crate::routes::Ctx;
use crate::util;

/// One compile error: 1-based line and column (Groovy `SyntaxException`
/// `getLine()`/`getStartColumn()`), and the original message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompileError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Clone)]
struct Node {
    /// The statement text before its block (or the whole statement).
    header: String,
    line: usize,
    column: usize,
    /// `Some` when the statement has a `{ ... }` block.
    block: Option<Vec<Node>>,
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: usize,
    column: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }
    fn starts(&self, s: &str) -> bool {
        self.src[self.pos..].starts_with(s.as_bytes())
    }
    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        if c == b'\n' {
            self.line += 1;
            self.column = 1;
        } else if c & 0xC0 != 0x80 {
            // Columns count characters, not UTF-8 continuation bytes.
            self.column += 1;
        }
        Some(c)
    }
    fn err(&self, message: impl Into<String>) -> CompileError {
        CompileError {
            line: self.line,
            column: self.column,
            message: message.into(),
        }
    }
    /// Skips a string literal starting at the current position (which is a
    /// quote), appending it to `out`.
    fn string(&mut self, out: &mut String) -> Result<(), CompileError> {
        for q in ["'''", "\"\"\""] {
            if self.starts(q) {
                let start = self.pos;
                for _ in 0..3 {
                    self.bump();
                }
                loop {
                    if self.starts(q) {
                        for _ in 0..3 {
                            self.bump();
                        }
                        out.push_str(&String::from_utf8_lossy(&self.src[start..self.pos]));
                        return Ok(());
                    }
                    match self.bump() {
                        // Groovy 2 lexer (antlr2): end of input inside a
                        // triple-quoted string.
                        None => return Err(self.err("unexpected char: 0xFFFF")),
                        Some(b'\\') => {
                            self.bump();
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        let start = self.pos;
        let quote = self.bump().unwrap_or(b'\'');
        loop {
            match self.peek() {
                // Groovy 2 lexer (antlr2) on a newline or the end of input
                // inside a one-line string literal.
                None | Some(b'\n') => return Err(self.err("expecting anything but ''\\n''; got it anyway")),
                Some(b'\\') => {
                    self.bump();
                    self.bump();
                }
                Some(c) => {
                    self.bump();
                    if c == quote {
                        out.push_str(&String::from_utf8_lossy(&self.src[start..self.pos]));
                        return Ok(());
                    }
                }
            }
        }
    }
    /// Skips blanks, statement separators and comments.
    fn skip_space(&mut self) -> Result<(), CompileError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n' | b';') => {
                    self.bump();
                }
                Some(b'/') if self.starts("//") => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.bump();
                    }
                }
                Some(b'/') if self.starts("/*") => {
                    self.bump();
                    self.bump();
                    loop {
                        if self.starts("*/") {
                            self.bump();
                            self.bump();
                            break;
                        }
                        if self.bump().is_none() {
                            return Err(self.err("unexpected char: 0xFFFF"));
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }
    /// Parses statements until `}` (when `nested`) or the end of input.
    fn block(&mut self, nested: bool) -> Result<Vec<Node>, CompileError> {
        let mut nodes = Vec::new();
        loop {
            self.skip_space()?;
            match self.peek() {
                None if nested => return Err(self.err("expecting '}', found ''")),
                None => return Ok(nodes),
                Some(b'}') if nested => {
                    self.bump();
                    return Ok(nodes);
                }
                Some(b'}') => return Err(self.err("unexpected token: }")),
                _ => nodes.push(self.statement()?),
            }
        }
    }
    /// One statement: text up to a newline, `;`, `}` or its own `{ block }`,
    /// with brackets inside it balanced.
    fn statement(&mut self) -> Result<Node, CompileError> {
        let (line, column) = (self.line, self.column);
        let mut header = String::new();
        let mut open: Vec<(u8, usize, usize)> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return match open.last() {
                    Some((b'(', ..)) => Err(self.err("expecting ')', found ''")),
                    Some(_) => Err(self.err("expecting ']', found ''")),
                    None => Ok(Node {
                        header,
                        line,
                        column,
                        block: None,
                    }),
                };
            };
            match c {
                b'\'' | b'"' => self.string(&mut header)?,
                b'/' if self.starts("//") || self.starts("/*") => {
                    if open.is_empty() && self.starts("//") {
                        self.skip_space()?;
                        return Ok(Node {
                            header,
                            line,
                            column,
                            block: None,
                        });
                    }
                    self.skip_space()?;
                    header.push(' ');
                }
                b'(' | b'[' => {
                    open.push((c, self.line, self.column));
                    header.push(c as char);
                    self.bump();
                }
                b')' | b']' => {
                    let want = if c == b')' { b'(' } else { b'[' };
                    match open.pop() {
                        Some((o, ..)) if o == want => {
                            header.push(c as char);
                            self.bump();
                        }
                        Some((o, ..)) => {
                            let close = if o == b'(' { ')' } else { ']' };
                            return Err(self.err(format!("expecting '{close}', found '{}'", c as char)));
                        }
                        None => return Err(self.err(format!("unexpected token: {}", c as char))),
                    }
                }
                b'{' => {
                    self.bump();
                    if open.is_empty() {
                        let children = self.block(true)?;
                        return Ok(Node {
                            header: header.trim().to_string(),
                            line,
                            column,
                            block: Some(children),
                        });
                    }
                    // A closure inside an argument list: parse and drop it.
                    self.block(true)?;
                    header.push_str("{}");
                }
                b'}' => {
                    if let Some((o, ..)) = open.last() {
                        let close = if *o == b'(' { ')' } else { ']' };
                        return Err(self.err(format!("expecting '{close}', found '}}'")));
                    }
                    return Ok(Node {
                        header: header.trim().to_string(),
                        line,
                        column,
                        block: None,
                    });
                }
                b'\n' | b';' if open.is_empty() => {
                    // A trailing operator or comma continues the statement.
                    let t = header.trim_end();
                    if c == b'\n' && (t.ends_with(',') || t.ends_with('+') || t.ends_with('=') || t.ends_with("->")) {
                        self.bump();
                        header.push(' ');
                        continue;
                    }
                    return Ok(Node {
                        header: header.trim().to_string(),
                        line,
                        column,
                        block: None,
                    });
                }
                _ => {
                    let start = self.pos;
                    self.bump();
                    while self.pos < self.src.len() && self.src[self.pos] & 0xC0 == 0x80 {
                        self.pos += 1;
                    }
                    header.push_str(&String::from_utf8_lossy(&self.src[start..self.pos]));
                }
            }
        }
    }
}

fn keyword(header: &str) -> &str {
    let end = header
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(header.len());
    &header[..end]
}

fn err_at(n: &Node, message: impl Into<String>) -> CompileError {
    CompileError {
        line: n.line,
        column: n.column,
        message: message.into(),
    }
}

/// Sections allowed directly in `pipeline { }`.
/// upstream: pipeline-model-definition `ModelParser.parse` (the `switch` over
/// the pipeline block's method calls) and Messages.properties
/// `ModelParser.UndefinedSection=Undefined section "{0}"`.
const PIPELINE_SECTIONS: &[&str] = &[
    "agent",
    "stages",
    "environment",
    "options",
    "parameters",
    "triggers",
    "tools",
    "post",
    "libraries",
];
/// Sections allowed in a `stage('…') { }` (`ModelParser.parseStage`).
const STAGE_SECTIONS: &[&str] = &[
    "agent",
    "steps",
    "stages",
    "parallel",
    "matrix",
    "environment",
    "options",
    "when",
    "input",
    "post",
    "tools",
    "failFast",
];

fn stage_name(header: &str) -> String {
    let open = header.find(['\'', '"']).map(|i| i + 1).unwrap_or(0);
    let rest = &header[open..];
    rest.find(['\'', '"'])
        .map(|e| rest[..e].to_string())
        .unwrap_or_default()
}

fn check_stages(stages: &Node, errors: &mut Vec<CompileError>) {
    let children = stages.block.as_deref().unwrap_or(&[]);
    if children.is_empty() {
        // upstream: Messages.properties `ModelValidatorImpl.NoStages`.
        errors.push(err_at(stages, "No stages specified"));
        return;
    }
    for st in children {
        if keyword(&st.header) != "stage" || st.block.is_none() {
            // upstream: `ModelParser.parseStages`: anything else than a
            // stage in `stages { }`.
            errors.push(err_at(st, "Expected a stage"));
            continue;
        }
        let name = stage_name(&st.header);
        let body = st.block.as_deref().unwrap_or(&[]);
        for s in body {
            let k = keyword(&s.header);
            if !STAGE_SECTIONS.contains(&k) {
                // upstream: Messages.properties `ModelParser.UnknownStageSection`.
                errors.push(err_at(
                    s,
                    format!(
                        "Unknown stage section \"{k}\". Starting with version 0.5, steps in a stage must be in a ‘steps’ block."
                    ),
                ));
            }
        }
        let runs = |k: &str| body.iter().any(|s| keyword(&s.header) == k && s.block.is_some());
        if !(runs("steps") || runs("stages") || runs("parallel") || runs("matrix")) {
            // upstream: Messages.properties `ModelValidatorImpl.NothingForStage`.
            errors.push(err_at(
                st,
                format!("No \"steps\", \"stages\", or \"parallel\" to execute within stage \"{name}\""),
            ));
        }
        for s in body {
            if keyword(&s.header) == "stages" && s.block.is_some() {
                check_stages(s, errors);
            }
        }
    }
}

fn check_pipeline(p: &Node, errors: &mut Vec<CompileError>) {
    let children = p.block.as_deref().unwrap_or(&[]);
    for required in ["agent", "stages"] {
        if !children.iter().any(|c| keyword(&c.header) == required) {
            // upstream: Messages.properties `ModelValidatorImpl.RequiredSection`.
            errors.push(err_at(p, format!("Missing required section \"{required}\"")));
        }
    }
    for c in children {
        let k = keyword(&c.header);
        if !PIPELINE_SECTIONS.contains(&k) {
            errors.push(err_at(c, format!("Undefined section \"{k}\"")));
            continue;
        }
        if k == "agent" && c.block.is_none() {
            let arg = c.header["agent".len()..].trim();
            if !matches!(arg, "any" | "none") {
                // upstream: Messages.properties `ModelValidatorImpl.InvalidAgent`.
                errors.push(err_at(
                    c,
                    format!("Invalid agent type \"{arg}\" specified. Must be one of [any, docker, dockerfile, kubernetes, label, none]"),
                ));
            }
        }
        if k == "stages" {
            if c.block.is_some() {
                check_stages(c, errors);
            } else {
                errors.push(err_at(c, "Expected a block"));
            }
        }
    }
}

/// Compiles a Jenkinsfile the way `checkScriptCompile` does: a Groovy syntax
/// error stops at the first one; a declarative `pipeline { }` block is then
/// validated (upstream: pipeline-model-definition `GroovyShellDecoratorImpl`
/// adds `ModelParser` as a compilation customizer for scripts parsed from a
/// string, which `doCheckScriptCompile`'s `parseClass(value)` is). Scripted
/// pipelines (no `pipeline` block) only need to compile.
pub(crate) fn check_script(src: &str) -> Vec<CompileError> {
    let mut lx = Lexer {
        src: src.as_bytes(),
        pos: 0,
        line: 1,
        column: 1,
    };
    let nodes = match lx.block(false) {
        Ok(n) => n,
        Err(e) => return vec![e],
    };
    let mut errors = Vec::new();
    for n in &nodes {
        if keyword(&n.header) == "pipeline" && n.header.trim() == "pipeline" && n.block.is_some() {
            check_pipeline(n, &mut errors);
        }
    }
    errors
}

/// The answer of `checkScriptCompile` as ks-devops returns it.
///
/// upstream: workflow-cps `CpsFlowDefinition.DescriptorImpl.doCheckScriptCompile`
/// answers `CheckStatus.SUCCESS.asJSON()` (`{"column":0,"line":0,"message":"",
/// "status":"success"}`) or a JSON array of `CpsFlowDefinitionValidator.toCheckStatus`
/// (`status: "fail"`, line, column, message) for every error; ks-devops
/// `pkg/client/devops/jenkins/pipeline.go:751-772` `CheckScriptCompile`
/// decodes an object, else the array and keeps only `resJson[0]`, and
/// re-encodes it as `devops.CheckScript` whose fields are all `omitempty`
/// (`pkg/client/devops/pipeline.go:713-718`).
fn check_script_answer(src: &str) -> Value {
    match check_script(src).into_iter().next() {
        None => json!({"status": "success"}),
        Some(e) => {
            let mut v = json!({"line": e.line, "message": e.message, "status": "fail"});
            if e.column != 0 {
                v["column"] = json!(e.column);
            }
            v
        }
    }
}

fn is_form(ctx: &Ctx) -> bool {
    ctx.req
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
        .unwrap_or(false)
}

fn check_script_compile(ctx: &mut Ctx, ns: &str, name: &str) -> Response {
    // upstream: ks-devops pkg/kapis/devops/v1alpha2/register.go:616-627: the
    // route `Consumes("application/x-www-form-urlencoded", …)`; go-restful
    // answers 415 to another content type before the handler runs.
    if !is_form(ctx) {
        return util::restful(415);
    }
    let now = ctx.now;
    // The request goes to the pipeline's Jenkins job
    // (`pipeline.go:82` CheckScriptCompileUrl `/job/{ns}/job/{p}/descriptorByName/…`):
    // a pipeline Jenkins does not have (yet) is Jenkins' 404 page, which
    // reaches the caller as 500 (U5).
    let synced = ctx
        .st
        .project(&ctx.cluster, ns)
        .and_then(|p| p.pipelines.get(name))
        .is_some_and(|pl| now >= pl.sync_at);
    if !synced {
        return jenkins_html_404(&format!(
            "/job/{ns}/job/{name}/descriptorByName/org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition/checkScriptCompile"
        ));
    }
    let body = String::from_utf8_lossy(&ctx.req.body).to_string();
    let value = util::parse_pairs(Some(&body))
        .into_iter()
        .find(|(k, _)| k == "value")
        .map(|(_, v)| v)
        .unwrap_or_default();
    util::ok_json(&check_script_answer(&value))
}

// ---------------------------------------------------------------------------
// Cron specs (Jenkins `hudson.scheduler.CronTab`).

#[derive(Debug, Clone)]
struct CronTab {
    /// minute, hour, day of month, month, day of week: allowed values.
    fields: [Vec<bool>; 5],
}

const BOUNDS: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];

fn parse_field(tok: &str, idx: usize, hash: u64, col: usize) -> Result<Vec<bool>, String> {
    let (lo, hi) = BOUNDS[idx];
    let mut set = vec![false; hi as usize + 1];
    for part in tok.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let s: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("line 1:{col}: step must be positive, but found {s}"))?;
                (r, s)
            }
            None => (part, 1),
        };
        let (a, b, hashed) = if range == "*" {
            (lo, hi, false)
        } else if range == "H" {
            (lo, if idx == 2 { 28 } else { hi }, true)
        } else if let Some(inner) = range.strip_prefix("H(").and_then(|r| r.strip_suffix(')')) {
            let (x, y) = inner
                .split_once('-')
                .ok_or_else(|| format!("line 1:{col}: expecting \"-\", found '{inner}'"))?;
            let x: u32 = x.parse().map_err(|_| format!("line 1:{col}: unexpected token: {x}"))?;
            let y: u32 = y.parse().map_err(|_| format!("line 1:{col}: unexpected token: {y}"))?;
            (x, y, true)
        } else if let Some((x, y)) = range.split_once('-') {
            let x: u32 = x.parse().map_err(|_| format!("line 1:{col}: unexpected token: {x}"))?;
            let y: u32 = y.parse().map_err(|_| format!("line 1:{col}: unexpected token: {y}"))?;
            (x, y, false)
        } else {
            let x: u32 = range
                .parse()
                .map_err(|_| format!("line 1:{col}: unexpected token: {range}"))?;
            (x, if part.contains('/') { hi } else { x }, false)
        };
        for v in [a, b] {
            if v < lo || v > hi {
                // upstream: Jenkins `BaseParser.rangeCheck` message.
                return Err(format!(
                    "line 1:{col}: {v} is an invalid value. Must be within {lo} and {hi}"
                ));
            }
        }
        if a > b {
            return Err(format!("line 1:{col}: You mean {b}-{a}"));
        }
        if hashed && step == 1 {
            let v = a + (hash % u64::from(b - a + 1)) as u32;
            set[v as usize] = true;
            continue;
        }
        let start = if hashed { a + (hash % u64::from(step)) as u32 } else { a };
        let mut v = start;
        while v <= b {
            set[v as usize] = true;
            v += step;
        }
    }
    Ok(set)
}

fn parse_cron_line(line: &str, hash: u64) -> Result<CronTab, String> {
    let line = match line.trim() {
        "@yearly" | "@annually" => "H H H H *",
        "@monthly" => "H H H * *",
        "@weekly" => "H H * * H",
        "@daily" | "@midnight" => "H H * * *",
        "@hourly" => "H * * * *",
        other => other,
    };
    let toks: Vec<&str> = line.split_whitespace().collect();
    if toks.len() != 5 {
        let col = line.len() + 1;
        return Err(if toks.len() < 5 {
            format!("line 1:{col}: unexpected token: null")
        } else {
            let at = line.find(toks[5]).unwrap_or(0) + 1;
            format!("line 1:{at}: expecting EOF, found '{}'", toks[5])
        });
    }
    let mut fields: [Vec<bool>; 5] = Default::default();
    let mut col = 1;
    for (i, t) in toks.iter().enumerate() {
        col = line[col - 1..].find(t).map(|p| p + col).unwrap_or(col);
        fields[i] = parse_field(t, i, hash.rotate_left(i as u32 * 7), col)?;
    }
    // Day of week 7 is Sunday as well.
    if fields[4][7] {
        fields[4][0] = true;
    }
    Ok(CronTab { fields })
}

impl CronTab {
    fn matches(&self, t: DateTime<Utc>) -> bool {
        self.fields[0][t.minute() as usize]
            && self.fields[1][t.hour() as usize]
            && self.fields[2][t.day() as usize]
            && self.fields[3][t.month() as usize]
            && self.fields[4][t.weekday().num_days_from_sunday() as usize]
    }
}

fn scan(tabs: &[CronTab], from: DateTime<Utc>, forward: bool) -> Option<DateTime<Utc>> {
    let base = from.with_second(0)?.with_nanosecond(0)?;
    // Jenkins `CronTab.ceil`/`floor` look at most a few years ahead; a
    // year of minutes is enough for the simulator.
    for i in 1..=(366 * 24 * 60) {
        let t = if forward {
            base + Duration::minutes(i)
        } else {
            base - Duration::minutes(i - 1)
        };
        if tabs.iter().any(|c| c.matches(t)) {
            return Some(t);
        }
    }
    None
}

/// Java's `DateFormat.getDateTimeInstance(FULL, FULL)` in English:
/// `Sunday, November 29, 2026 at 6:00:00 PM Coordinated Universal Time`.
fn java_full(t: DateTime<Utc>) -> String {
    format!(
        "{} at {} Coordinated Universal Time",
        t.format("%A, %B %-d, %Y"),
        t.format("%-I:%M:%S %p")
    )
}

/// What Jenkins' `TimerTrigger.DescriptorImpl.doCheckSpec` decides, as
/// ks-devops' `CheckCronRes` (`pkg/client/devops/pipeline.go:726-731`).
///
/// upstream: Jenkins `TimerTrigger.doCheckSpec`: a parse error is
/// `FormValidation.error` (`<div class=error>`), `CronTabList.checkSanity`
/// findings are warnings, else `ok("Would last have run at …; would next run
/// at ….")`; ks-devops `pipeline.go:776-845` `CheckCron` takes the `<div>`
/// class as `result` and its text as `message`, and for `ok` parses the
/// two times into RFC 3339 `lastTime`/`nextTime` (`parseCronJobTime`).
pub(crate) fn check_cron(spec: &str, hash_seed: &str, now: DateTime<Utc>) -> Value {
    let hash = util::fnv(hash_seed);
    let mut tabs = Vec::new();
    for line in spec.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        match parse_cron_line(t, hash) {
            Ok(c) => tabs.push(c),
            Err(e) => {
                return json!({"result": "error", "message": format!("Invalid input: \"{}\": {e}", spec.trim())});
            }
        }
    }
    if tabs.is_empty() {
        return json!({"result": "warning", "message": "No schedules so will never run"});
    }
    for line in spec
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let toks: Vec<&str> = line.split_whitespace().collect();
        if toks.first() == Some(&"*") {
            // upstream: Jenkins `CronTab.checkSanity` (Messages
            // `CronTab.do_you_really_mean_every_minute_when_you`).
            return json!({"result": "warning", "message": format!(
                "Do you really mean \"every minute\" when you say \"{line}\"? Perhaps you meant \"H {}\"",
                toks[1..].join(" ")
            )});
        }
        if toks.len() == 5 && toks[0].chars().all(|c| c.is_ascii_digit()) && toks[1].chars().all(|c| c.is_ascii_digit())
        {
            // upstream: `CronTab.checkSanity` -> `CronTab.spread_load_evenly_by_using_rather_than_`.
            return json!({"result": "warning", "message": format!(
                "Spread load evenly by using ‘H {}’ rather than ‘{line}’",
                toks[1..].join(" ")
            )});
        }
    }
    match (scan(&tabs, now, false), scan(&tabs, now, true)) {
        (Some(last), Some(next)) => json!({
            "result": "ok",
            "message": format!("Would last have run at {}; would next run at {}.", java_full(last), java_full(next)),
            "lastTime": last.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "nextTime": next.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }),
        _ => json!({"result": "warning", "message": "No schedules so will never run"}),
    }
}

fn check_cron_route(ctx: &mut Ctx, ns: &str) -> Response {
    // upstream: ks-devops pkg/client/devops/jenkins/jenkins.go:602-634
    // `CheckCron` decodes the body as `devops.CronData` (`{"cron", "pipelineName"}`);
    // a decode error goes to `parseErr` (500, U5).
    let body: Value = match serde_json::from_slice(&ctx.req.body) {
        Ok(v) => v,
        Err(e) => return util::resp(500, "text/plain; charset=utf-8", format!("json: {e}")),
    };
    let cron = body.get("cron").and_then(Value::as_str).unwrap_or("").to_string();
    let pipeline = body
        .get("pipelineName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let seed = if pipeline.is_empty() {
        ns.to_string()
    } else {
        // `CheckPipelienCronUrl` asks the pipeline's job; a job Jenkins does not
        // have answers 404, which `CheckCron` turns into its fixed
        // `interanlErrorMessage()` with a nil error: HTTP 200
        // (`pipeline.go:806-812,847-852`).
        let known = ctx
            .st
            .project(&ctx.cluster, ns)
            .and_then(|p| p.pipelines.get(&pipeline))
            .is_some_and(|pl| ctx.now >= pl.sync_at);
        if !known {
            return util::ok_json(&json!({
                "result": "error",
                "message": "internal errors happened, get more details by checking ks-apiserver log output",
            }));
        }
        format!("{ns}/{pipeline}")
    };
    util::ok_json(&check_cron(&cron, &seed, ctx.now))
}

/// `DV2` authoring routes.
pub(crate) fn dv2(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    Some(match rest {
        ["namespaces", ns, "pipelines", name, "checkScriptCompile"] => match ctx.method() {
            "POST" => check_script_compile(ctx, ns, name),
            _ => util::restful(405),
        },
        ["namespaces", ns, "checkCron"] => match ctx.method() {
            "POST" => check_cron_route(ctx, ns),
            _ => util::restful(405),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "pipeline {\n  agent any\n  stages {\n    stage('Build') {\n      steps {\n        echo 'hi'\n        sh '''\n          make\n        '''\n      }\n    }\n  }\n}\n";

    fn first(src: &str) -> Option<(usize, usize, String)> {
        check_script(src)
            .into_iter()
            .next()
            .map(|e| (e.line, e.column, e.message))
    }

    #[test]
    fn valid_scripts_compile() {
        assert_eq!(first(GOOD), None);
        assert_eq!(first("node {\n  echo 'scripted'\n}\n"), None);
        assert_eq!(first(""), None);
        assert_eq!(
            first(
                "pipeline {\n  agent { label 'go' }\n  // a comment }\n  stages {\n    stage('A') { steps { container('go') { sh \"go test ${ARGS}\" } } }\n  }\n  post { always { echo 'x' } }\n}\n"
            ),
            None
        );
        for src in [crate::state::HELLO_JENKINSFILE, crate::state::BROKEN_JENKINSFILE] {
            assert_eq!(first(src), None, "{src}");
        }
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let (l, c, m) =
            first("pipeline {\n  agent any\n  stages {\n    stage('A') {\n      steps { echo 'x' }\n    }\n").unwrap();
        assert_eq!((l, c, m.as_str()), (7, 1, "expecting '}', found ''"));
        let (l, c, m) = first("pipeline {\n  agent any\n}\n}\n").unwrap();
        assert_eq!((l, c, m.as_str()), (4, 1, "unexpected token: }"));
        let (l, _, m) =
            first("pipeline {\n  agent any\n  stages {\n    stage('A') { steps { echo 'x } }\n  }\n}\n").unwrap();
        assert_eq!(l, 4);
        assert!(m.contains("got it anyway"), "{m}");
        let (l, c, m) = first("node {\n  sh(\"x\"\n}\n").unwrap();
        assert_eq!((l, c, m.as_str()), (3, 1, "expecting ')', found '}'"));
    }

    #[test]
    fn declarative_errors() {
        let (l, c, m) = first("pipeline {\n  stages {\n    stage('A') { steps { echo 'x' } }\n  }\n}\n").unwrap();
        assert_eq!((l, c, m.as_str()), (1, 1, "Missing required section \"agent\""));
        let (l, c, m) = first("pipeline {\n  agent any\n  stagez {\n  }\n}\n").unwrap();
        assert_eq!((l, c), (1, 1));
        assert_eq!(m, "Missing required section \"stages\"");
        let all =
            check_script("pipeline {\n  agent any\n  stages { stage('A') { steps { echo 'x' } } }\n  wibble { }\n}\n");
        assert_eq!((all[0].line, all[0].column), (4, 3));
        assert_eq!(all[0].message, "Undefined section \"wibble\"");
        let (l, c, m) =
            first("pipeline {\n  agent any\n  stages {\n    stage('A') {\n      echo 'x'\n    }\n  }\n}\n").unwrap();
        assert_eq!((l, c), (5, 7));
        assert!(m.starts_with("Unknown stage section \"echo\""), "{m}");
        let (l, _, m) = first("pipeline {\n  agent any\n  stages {\n  }\n}\n").unwrap();
        assert_eq!((l, m.as_str()), (3, "No stages specified"));
    }

    #[test]
    fn cron_specs() {
        let now = DateTime::parse_from_rfc3339("2026-11-29T18:07:30Z")
            .unwrap()
            .with_timezone(&Utc);
        let ok = check_cron("30 2 * * 1-5", "x", now);
        assert_eq!(ok["result"], "warning", "{ok}");
        let ok = check_cron("H/15 * * * *", "x", now);
        assert_eq!(ok["result"], "ok", "{ok}");
        let ok = check_cron("H 2 * * *", "stone-devops", now);
        assert_eq!(ok["result"], "ok");
        assert!(
            ok["message"].as_str().unwrap().starts_with("Would last have run at "),
            "{ok}"
        );
        assert!(ok["nextTime"].as_str().unwrap().ends_with('Z'));
        let bad = check_cron("61 * * * *", "x", now);
        assert_eq!(bad["result"], "error");
        assert!(
            bad["message"].as_str().unwrap().contains("61 is an invalid value"),
            "{bad}"
        );
        assert_eq!(check_cron("H * *", "x", now)["result"], "error");
        assert_eq!(check_cron("every day", "x", now)["result"], "error");
        assert_eq!(check_cron("@daily", "x", now)["result"], "ok");
        assert_eq!(check_cron("", "x", now)["result"], "warning");
        assert_eq!(check_cron("* * * * *", "x", now)["result"], "warning");
    }
}
