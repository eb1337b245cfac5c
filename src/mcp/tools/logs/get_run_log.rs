//! `get_run_log`: a bounded part of a run's console log, or of one stage or
//! step, streamed from upstream so only the returned part is kept.

use base64::Engine;
use regex::bytes::{Regex, RegexBuilder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::KsError;
use crate::kubesphere::logs::{BlueRunRef, ByteStream};
use crate::kubesphere::models::BlueNode;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::logread::{
    GrepSink, HeadSink, Kept, LINE_CAP, LogSource, MAX_LINES_PER_ANSWER, Pos, ReadOutcome, Segment, TailSink, read_log,
    render_lines, run_log_undeliverable, step_segments,
};
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runlocate::{LocatedRun, RunSelector, locate_run};
use crate::mcp::runview::RunView;

use crate::mcp::nodes::{find_stage, find_step, nodes_of, stage_finished};

crate::project_scoped!(GetRunLogInput);

pub const DEFAULT_LINES: u32 = 200;
pub const MAX_LINES: u32 = 5000;
pub const DEFAULT_MAX_BYTES: u32 = 16 * 1024;
pub const MIN_MAX_BYTES: u32 = 1024;
pub const MAX_MAX_BYTES: u32 = 64 * 1024;
const DEFAULT_CONTEXT: u32 = 2;
const MAX_CONTEXT: u32 = 10;
const DEFAULT_MATCHES: u32 = 50;
const MAX_MATCHES: u32 = 500;
const MAX_PATTERN: usize = 500;

pub struct GetRunLog;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetRunLogInput {
    /// DevOps project as the user named it (full or short name); an ambiguous name is never guessed.
    pub project: String,
    /// PipelineRun name (from trigger_run or list_runs).
    #[serde(default)]
    pub name: Option<String>,
    /// Or: the pipeline and the Jenkins run id.
    #[serde(default)]
    pub pipeline: Option<String>,
    #[serde(default)]
    pub run_id: Option<String>,
    /// With `run_id` of a multi-branch pipeline: the branch as Git names it, e.g. `feature/login` (the encoded `feature%2Flogin` means the same branch).
    #[serde(default)]
    pub branch: Option<String>,
    /// A stage: its id or name (diagnose_run lists them). Alone: the logs of the stage's steps one after the other.
    #[serde(default)]
    pub node: Option<String>,
    /// A step id (diagnose_run lists them): only that step's log.
    #[serde(default)]
    pub step: Option<String>,
    /// Last N lines (1-5000). The default without cursor or grep: 200.
    #[serde(default)]
    pub tail_lines: Option<u32>,
    /// First N lines (1-5000) from the start, or from `cursor`.
    #[serde(default)]
    pub head_lines: Option<u32>,
    /// Regular expression (Rust syntax, `(?i)` for case-insensitive): only matching lines, with context.
    #[serde(default)]
    pub grep: Option<String>,
    /// grep: lines of context before and after each match (0-10, default 2).
    #[serde(default)]
    pub context: Option<u32>,
    /// grep: matches returned at most (1-500, default 50); the rest are counted.
    #[serde(default)]
    pub max_matches: Option<u32>,
    /// Upper bound of the returned text in bytes (1024-65536, default 16384).
    #[serde(default)]
    pub max_bytes: Option<u32>,
    /// `cursor` of an earlier result: read on from where it stopped (new output of a running log, or the rest after a head/grep limit). Identifies the run by itself.
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub workspace: Option<String>,
    #[serde(default)]
    pub cluster: Option<String>,
}

/// The returned part of the log.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Span {
    /// 1-based number of the first returned line.
    pub first_line: u64,
    pub last_line: u64,
    pub lines: u64,
    /// Byte offset of the first returned line in the whole log (its text with LF line ends; not an upstream offset).
    pub start_byte: u64,
    /// Byte offset right after the last returned line (same count).
    pub end_byte: u64,
}

/// A part of the log that was not returned.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Omitted {
    /// Lines left out (absent when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<u64>,
    /// Bytes left out (absent when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

/// grep counts.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq, Eq)]
pub struct MatchInfo {
    /// Matching lines in the part searched (returned or not).
    pub total: u64,
    pub returned: u64,
    /// Matches after the returned ones: continue with `cursor`.
    pub not_returned: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GetRunLogOutput {
    pub project: ProjectRef,
    pub run: RunView,
    /// Which log: `run` (the whole console log), `stage` or `step`.
    pub log: String,
    /// The run log came as the logs of its steps, one after the other: KubeSphere could not deliver the console log itself (too large for it to relay). Jenkins' `[Pipeline]` lines are missing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub per_step: bool,
    /// Stage id and name, for stage and step logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_name: Option<String>,
    /// False: there is no log yet (run queued or just started); nothing is wrong, call again later.
    pub ready: bool,
    /// More output will follow: call again with `cursor` to get it.
    pub still_writing: bool,
    /// tail, head, continue (from a cursor) or grep.
    pub mode: String,
    /// The returned lines (grep: `N:match`, `N-context`, `--` between groups).
    pub text: String,
    /// Lines returned; absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub returned: Option<Span>,
    /// Size of the whole log in bytes (LF line ends), as far as written; absent when unknown (a head read stops early; Jenkins cut a running log's answer at its per-request line limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_lines: Option<u64>,
    /// Left out before the returned part.
    pub omitted_before: Omitted,
    /// Left out after it (unknown parts absent).
    pub omitted_after: Omitted,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<MatchInfo>,
    /// Pass as `cursor` to read on from the end of this part, without gaps or repeats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// What was returned, what was left out and what to call next.
    pub note: String,
}

impl ToolDef for GetRunLog {
    const NAME: &'static str = "get_run_log";
    const TITLE: &'static str = "Read a run log (bounded)";
    const DESCRIPTION: &'static str = "Reads part of a run's console log, or of one stage (`node`) or step (`step`): by default the last 200 lines and at most 16 KB. Options: `tail_lines`, `head_lines`, `grep` (regex, with `context` lines and `max_matches`), `max_bytes`, and `cursor` (from an earlier result) to read on without gaps or repeats, e.g. to follow a running build. The result says how large the log is, what was returned, what was left out and whether the run is still writing; `ready: false` means no log exists yet; `per_step: true` means KubeSphere could not deliver the console log itself (too large) and its step logs were read instead. For 'why did it fail', call diagnose_run first. Identify the run like get_run.";
    const TOOLSET: Toolset = Toolset::Logs;
    const HINTS: Hints = Hints::READ;
    type Input = GetRunLogInput;
    type Output = GetRunLogOutput;

    async fn call(ctx: ToolCtx, input: GetRunLogInput) -> Result<GetRunLogOutput, ToolError> {
        let mode = Mode::parse(&input)?;
        let max_bytes = input.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
        if !(MIN_MAX_BYTES..=MAX_MAX_BYTES).contains(&max_bytes) {
            return Err(ToolError::InvalidInput(format!(
                "max_bytes must be between {MIN_MAX_BYTES} and {MAX_MAX_BYTES}"
            )));
        }
        let max_bytes = max_bytes as usize;
        let cursor = match input.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => Some(Cursor::decode(c)?),
            None => None,
        };
        let project = resolve_input(&ctx, &input).await?;
        let target = Target::of(&input, cursor.as_ref(), &project)?;
        let located = locate_run(&ctx, &project, target.selector()).await?;
        read(&ctx, project, located, &target, cursor.map(|c| c.pos), mode, max_bytes).await
    }
}

/// How the text is chosen.
#[derive(Debug)]
enum Mode {
    Tail(u32),
    Head(u32),
    /// From a cursor, forward.
    Continue(u32),
    Grep {
        re: Box<Regex>,
        pattern: String,
        context: u32,
        max_matches: u32,
    },
}

impl Mode {
    fn parse(input: &GetRunLogInput) -> Result<Mode, ToolError> {
        let lines = |v: Option<u32>, what: &str| -> Result<Option<u32>, ToolError> {
            match v {
                Some(n) if n == 0 || n > MAX_LINES => Err(ToolError::InvalidInput(format!(
                    "{what} must be between 1 and {MAX_LINES}"
                ))),
                other => Ok(other),
            }
        };
        let tail = lines(input.tail_lines, "tail_lines")?;
        let head = lines(input.head_lines, "head_lines")?;
        let grep = input.grep.as_deref().filter(|g| !g.is_empty());
        if tail.is_some() && head.is_some() {
            return Err(ToolError::InvalidInput(
                "pass tail_lines or head_lines, not both".into(),
            ));
        }
        if grep.is_none() && (input.context.is_some() || input.max_matches.is_some()) {
            return Err(ToolError::InvalidInput(
                "context and max_matches only apply with grep".into(),
            ));
        }
        if let Some(pattern) = grep {
            if tail.is_some() || head.is_some() {
                return Err(ToolError::InvalidInput(
                    "grep searches the whole log (or from `cursor`): do not combine it with tail_lines or head_lines"
                        .into(),
                ));
            }
            if pattern.len() > MAX_PATTERN {
                return Err(ToolError::InvalidInput(format!(
                    "grep pattern is longer than {MAX_PATTERN} characters"
                )));
            }
            let context = input.context.unwrap_or(DEFAULT_CONTEXT);
            if context > MAX_CONTEXT {
                return Err(ToolError::InvalidInput(format!(
                    "context must be between 0 and {MAX_CONTEXT}"
                )));
            }
            let max_matches = input.max_matches.unwrap_or(DEFAULT_MATCHES);
            if max_matches == 0 || max_matches > MAX_MATCHES {
                return Err(ToolError::InvalidInput(format!(
                    "max_matches must be between 1 and {MAX_MATCHES}"
                )));
            }
            let re = RegexBuilder::new(pattern)
                .size_limit(2 * 1024 * 1024)
                .dfa_size_limit(4 * 1024 * 1024)
                .build()
                .map_err(|e| {
                    ToolError::InvalidInput(format!(
                        "grep is not a valid regular expression ({}); escape special characters such as ( [ . * with \\",
                        e.to_string().lines().last().unwrap_or("syntax error").trim()
                    ))
                })?;
            return Ok(Mode::Grep {
                re: Box::new(re),
                pattern: pattern.to_string(),
                context,
                max_matches,
            });
        }
        let has_cursor = input.cursor.as_deref().is_some_and(|c| !c.trim().is_empty());
        Ok(match (tail, head) {
            (Some(n), _) => Mode::Tail(n),
            (_, Some(n)) => Mode::Head(n),
            _ if has_cursor => Mode::Continue(DEFAULT_LINES),
            _ => Mode::Tail(DEFAULT_LINES),
        })
    }

    fn name(&self) -> &'static str {
        match self {
            Mode::Tail(_) => "tail",
            Mode::Head(_) => "head",
            Mode::Continue(_) => "continue",
            Mode::Grep { .. } => "grep",
        }
    }
}

/// What a cursor holds: the log it belongs to and the place to resume.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct Cursor {
    v: u8,
    ns: String,
    p: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    b: Option<String>,
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    step: Option<String>,
    /// The run log is read as its step logs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    ps: bool,
    pos: Pos,
}

/// Cursors of version 1 held byte offsets of the text received, which are
/// not upstream's offsets (§16 U2); they are refused.
const CURSOR_VERSION: u8 = 2;

impl Cursor {
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    fn decode(s: &str) -> Result<Cursor, ToolError> {
        let bad = || {
            ToolError::InvalidInput(
                "cursor is not a cursor this server issued; pass the `cursor` of an earlier get_run_log result unchanged, or omit it"
                    .into(),
            )
        };
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| bad())?;
        let c: Cursor = serde_json::from_slice(&raw).map_err(|_| bad())?;
        if c.v != CURSOR_VERSION {
            return Err(bad());
        }
        Ok(c)
    }
}

/// The run and part of it the call is about, from the arguments and/or the cursor.
struct Target {
    name: Option<String>,
    pipeline: Option<String>,
    run_id: Option<String>,
    branch: Option<String>,
    node: Option<String>,
    step: Option<String>,
    /// The stage id the cursor was issued for (checked once `node` is resolved).
    cursor_node: Option<String>,
    /// The cursor reads the run log as its step logs.
    per_step: bool,
}

fn opt(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl Target {
    fn of(input: &GetRunLogInput, cursor: Option<&Cursor>, project: &ProjectRef) -> Result<Target, ToolError> {
        let mut t = Target {
            name: opt(&input.name),
            pipeline: opt(&input.pipeline),
            run_id: opt(&input.run_id),
            branch: opt(&input.branch),
            node: opt(&input.node),
            step: opt(&input.step),
            cursor_node: None,
            per_step: false,
        };
        let Some(c) = cursor else {
            return Ok(t);
        };
        let mismatch = |what: &str| {
            Err(ToolError::InvalidInput(format!(
                "the cursor belongs to another log ({what} differs); omit the cursor, or pass it with the same run, node and step it came with"
            )))
        };
        if c.ns != project.name {
            return mismatch("project");
        }
        let named_run = t.name.is_some() || t.pipeline.is_some() || t.run_id.is_some();
        if named_run {
            if t.name.is_some() && t.name != c.name && t.run_id.is_none() {
                return mismatch("run name");
            }
            if t.pipeline.as_ref().is_some_and(|p| *p != c.p) || t.run_id.as_ref().is_some_and(|r| *r != c.id) {
                return mismatch("run");
            }
        } else {
            t.pipeline = Some(c.p.clone());
            t.run_id = Some(c.id.clone());
            t.branch = c.b.clone();
        }
        if t.node.is_none() && t.step.is_none() {
            t.node = c.node.clone();
            t.step = c.step.clone();
        } else if t.step != c.step || (t.node.is_some() && c.node.is_none()) {
            return mismatch("node or step");
        }
        t.cursor_node = c.node.clone();
        t.per_step = c.ps && t.node.is_none() && t.step.is_none();
        Ok(t)
    }

    fn selector(&self) -> RunSelector<'_> {
        RunSelector::of(&self.name, &self.pipeline, &self.run_id, &self.branch)
    }
}

/// The log chosen: its segments and names.
struct Chosen {
    kind: &'static str,
    segments: Vec<Segment>,
    node: Option<String>,
    stage_name: Option<String>,
    step: Option<String>,
    step_name: Option<String>,
    stage_done: bool,
    /// Steps (stage id, step id) not finished when the stages were read.
    open_steps: Vec<(String, String)>,
    /// The run log is read as its steps' logs (the run log route cannot
    /// deliver it).
    per_step: bool,
}

fn not_ready(project: ProjectRef, run: RunView, mode: &Mode, why: String) -> GetRunLogOutput {
    GetRunLogOutput {
        project,
        run,
        log: "run".into(),
        per_step: false,
        node: None,
        stage_name: None,
        step: None,
        step_name: None,
        ready: false,
        still_writing: true,
        mode: mode.name().into(),
        text: String::new(),
        returned: None,
        log_bytes: None,
        log_lines: None,
        omitted_before: Omitted {
            lines: Some(0),
            bytes: Some(0),
        },
        omitted_after: Omitted {
            lines: None,
            bytes: None,
        },
        matches: None,
        cursor: None,
        note: why,
    }
}

/// Steps of `nodes` that Jenkins may still write to.
fn open_steps(nodes: &[BlueNode]) -> Vec<(String, String)> {
    nodes
        .iter()
        .flat_map(|n| {
            n.steps
                .as_deref()
                .unwrap_or_default()
                .iter()
                .filter(|s| {
                    !matches!(
                        s.state.as_deref(),
                        Some("FINISHED") | Some("SKIPPED") | Some("NOT_BUILT")
                    )
                })
                .map(|s| (n.id.clone(), s.id.clone()))
        })
        .collect()
}

/// The whole run, read as the logs of its steps one after the other.
fn per_step_run(nodes: &[BlueNode]) -> Chosen {
    Chosen {
        kind: "run",
        segments: step_segments(nodes),
        node: None,
        stage_name: None,
        step: None,
        step_name: None,
        stage_done: false,
        open_steps: open_steps(nodes),
        per_step: true,
    }
}

async fn choose(
    ctx: &ToolCtx,
    project: &ProjectRef,
    blue: &BlueRunRef,
    pipelinerun: Option<&str>,
    target: &Target,
) -> Result<Option<Chosen>, ToolError> {
    let (node, step) = (target.node.as_deref(), target.step.as_deref());
    if node.is_none() && step.is_none() {
        if target.per_step {
            let nodes: Vec<BlueNode> = nodes_of(ctx, &project.cluster(), blue, pipelinerun).await?;
            return Ok(Some(per_step_run(&nodes)));
        }
        return Ok(Some(Chosen {
            kind: "run",
            segments: vec![Segment::Run],
            node: None,
            stage_name: None,
            step: None,
            step_name: None,
            stage_done: false,
            open_steps: vec![],
            per_step: false,
        }));
    }
    let nodes: Vec<BlueNode> = nodes_of(ctx, &project.cluster(), blue, pipelinerun).await?;
    let open = open_steps(&nodes);
    if let Some(step) = step {
        let Some((stage, st)) = find_step(&nodes, node, step)? else {
            return Ok(None);
        };
        return Ok(Some(Chosen {
            kind: "step",
            segments: vec![Segment::Step {
                node: stage.id.clone(),
                step: st.id.clone(),
            }],
            node: Some(stage.id.clone()),
            stage_name: stage.display_name.clone(),
            step: Some(st.id.clone()),
            step_name: st.display_name.clone(),
            stage_done: stage_finished(stage),
            open_steps: open,
            per_step: false,
        }));
    }
    let node = node.unwrap_or_default();
    let Some(stage) = find_stage(&nodes, node)? else {
        return Ok(None);
    };
    let steps = stage.steps.clone().unwrap_or_default();
    if steps.is_empty() {
        return Ok(None);
    }
    Ok(Some(Chosen {
        kind: "stage",
        segments: steps
            .iter()
            .map(|s| Segment::Step {
                node: stage.id.clone(),
                step: s.id.clone(),
            })
            .collect(),
        node: Some(stage.id.clone()),
        stage_name: stage.display_name.clone(),
        step: None,
        step_name: None,
        stage_done: stage_finished(stage),
        open_steps: open,
        per_step: false,
    }))
}

/// One read of the chosen log with the sink of `mode`: what was read, the
/// lines picked, where the next read resumes, and whether the sink stopped
/// before the end.
async fn read_with_mode(
    src: &LogSource<'_>,
    from: Pos,
    cap: usize,
    writing: &(dyn Fn(&Segment, &ByteStream) -> bool + Sync),
    mode: &Mode,
    max_bytes: usize,
) -> Result<(ReadOutcome, Picked, Pos, bool), KsError> {
    match mode {
        Mode::Tail(n) => {
            let mut sink = TailSink::new(*n as usize, max_bytes);
            let o = read_log(src, from, cap, writing, &mut sink).await?;
            let kept = sink.finish();
            let cursor = o.committed;
            Ok((o, Picked::Lines(kept), cursor, false))
        }
        Mode::Head(n) | Mode::Continue(n) => {
            let mut sink = HeadSink::new(*n as usize, max_bytes);
            let o = read_log(src, from, cap, writing, &mut sink).await?;
            let cursor = if sink.full {
                sink.resume.unwrap_or(from)
            } else {
                o.committed
            };
            Ok((o, Picked::Lines(sink.lines), cursor, sink.full))
        }
        Mode::Grep {
            re,
            context,
            max_matches,
            ..
        } => {
            let mut sink = GrepSink::new((**re).clone(), *context as usize, *max_matches as u64, max_bytes);
            let o = read_log(src, from, cap, writing, &mut sink).await?;
            let cursor = if sink.done {
                sink.resume.unwrap_or(from)
            } else {
                o.committed
            };
            let stopped = sink.done;
            Ok((o, Picked::Grep(Box::new(sink)), cursor, stopped))
        }
    }
}

async fn read(
    ctx: &ToolCtx,
    project: ProjectRef,
    located: LocatedRun,
    target: &Target,
    from: Option<Pos>,
    mode: Mode,
    max_bytes: usize,
) -> Result<GetRunLogOutput, ToolError> {
    let run = located.view;
    let Some(blue) = located.blue else {
        let why = "No log yet: Jenkins has not started this run (it is queued). Call again in a few seconds, or wait_for_run first.".to_string();
        return Ok(not_ready(project, run, &mode, why));
    };
    let mut chosen = match choose(ctx, &project, &blue, run.name.as_deref(), target).await? {
        Some(c) => c,
        None => {
            let why = format!(
                "No log yet: the {} has not started. Call again in a few seconds.",
                if target.step.is_some() { "step" } else { "stage" }
            );
            return Ok(not_ready(project, run, &mode, why));
        }
    };
    if from.is_some() && target.cursor_node.is_some() && chosen.node != target.cursor_node {
        return Err(ToolError::InvalidInput(
            "the cursor belongs to another stage; omit the cursor, or pass it with the same node and step it came with"
                .into(),
        ));
    }
    let resumed = from.is_some();
    let from = from.unwrap_or_default();
    if from.seg as usize >= chosen.segments.len().max(1) {
        return Err(ToolError::InvalidInput(
            "the cursor points past the steps of this log; omit it to read the log again".into(),
        ));
    }
    let run_finished = run.finished;
    let cap = LINE_CAP.min(max_bytes.saturating_sub(64)).max(64);
    let cluster = project.cluster();
    let mut attempt = {
        let open = chosen.open_steps.clone();
        let writing = move |seg: &Segment, body: &ByteStream| segment_writing(seg, body, run_finished, &open);
        let src = LogSource {
            client: &ctx.client,
            cluster: &cluster,
            run: &blue,
            segments: &chosen.segments,
        };
        read_with_mode(&src, from, cap, &writing, &mode, max_bytes).await
    };
    // §16 U8: a run log too large for ks-devops to relay fails (500 or a
    // timeout), or comes back empty when Jenkins' answer outlasted the
    // relay's timeout after its headers (pure_request.go:88 ignores that
    // error). A finished run always has a log: read its steps instead.
    let undeliverable = chosen.kind == "run"
        && !chosen.per_step
        && match &attempt {
            Err(e) => run_log_undeliverable(e),
            Ok((o, ..)) => run_finished && o.bytes_read == 0 && from == Pos::default(),
        };
    if undeliverable {
        if resumed {
            return Err(ToolError::InvalidInput(
                "KubeSphere can no longer deliver this run's log through its run log route (the log has grown too large for it to relay), and this cursor reads that route line by line. Read on per stage or step (get_run_log with `node`/`step`; diagnose_run lists them), or call again without `cursor` to read the whole run as its step logs."
                    .into(),
            ));
        }
        let nodes: Vec<BlueNode> = nodes_of(ctx, &cluster, &blue, run.name.as_deref()).await?;
        chosen = per_step_run(&nodes);
        let open = chosen.open_steps.clone();
        let writing = move |seg: &Segment, body: &ByteStream| segment_writing(seg, body, run_finished, &open);
        let src = LogSource {
            client: &ctx.client,
            cluster: &cluster,
            run: &blue,
            segments: &chosen.segments,
        };
        attempt = read_with_mode(&src, from, cap, &writing, &mode, max_bytes).await;
    }
    let (outcome, picked, resume, stopped_early) = match attempt {
        Ok(x) => x,
        Err(KsError::NotFound { .. }) if !run.finished => {
            let why = "No log yet: Jenkins does not have this run's log (the run is queued or just starting). Call again in a few seconds.".to_string();
            return Ok(not_ready(project, run, &mode, why));
        }
        Err(e) => return Err(e.into()),
    };
    let still_writing = match chosen.kind {
        "run" => !run.finished,
        "step" => !run.finished && (outcome.more_data || step_open(&chosen)),
        _ => !run.finished && (!chosen.stage_done || outcome.more_data),
    };
    let cursor = Cursor {
        v: CURSOR_VERSION,
        ns: project.name.clone(),
        p: blue.pipeline.clone(),
        // The encoded name: it parses back to the same branch whatever it holds.
        b: blue.branch.as_ref().map(|b| b.encoded()),
        id: blue.run_id.clone(),
        name: run.name.clone(),
        node: chosen.node.clone().filter(|_| chosen.kind != "run"),
        step: chosen.step.clone(),
        ps: chosen.per_step,
        pos: resume,
    };
    let log_bytes = outcome.reached_end.then(|| outcome.end.byte());
    let log_lines = outcome.reached_end.then_some(outcome.lines_seen);
    let empty_log = outcome.reached_end && outcome.end.byte() == 0 && outcome.held_back_bytes == 0;
    if empty_log && still_writing && from == Pos::default() {
        let why = format!(
            "No log yet: the {} has not written anything (state {}). Call again in a few seconds.",
            chosen.kind,
            run.state.as_deref().unwrap_or("unknown")
        );
        let mut o = not_ready(project, run, &mode, why);
        o.log = chosen.kind.into();
        o.per_step = chosen.per_step;
        o.node = chosen.node;
        o.stage_name = chosen.stage_name;
        o.step = chosen.step;
        o.step_name = chosen.step_name;
        o.cursor = Some(cursor.encode());
        return Ok(o);
    }
    let (text, kept_span, matches) = match &picked {
        Picked::Lines(lines) => (render_lines(lines), span(lines), None),
        Picked::Grep(g) => {
            let kept: Vec<Kept> = g.out.iter().map(|l| l.kept.clone()).collect();
            (
                g.render(),
                span(&kept),
                Some(MatchInfo {
                    total: g.total,
                    returned: g.returned,
                    not_returned: g.total - g.returned,
                }),
            )
        }
    };
    let text = ctx.client.redactor().redact(&text);
    let (omitted_before, mut omitted_after) = omitted(&kept_span, &from, &resume, log_bytes, log_lines, &mode);
    // An answer cut at Jenkins' per-answer line limit is not the end.
    let capped = outcome.capped && still_writing;
    if capped {
        omitted_after = Omitted {
            lines: None,
            bytes: None,
        };
    }
    let mut note = note(
        &mode,
        &kept_span,
        if capped { None } else { log_bytes },
        if capped { None } else { log_lines },
        &omitted_before,
        &omitted_after,
        matches.as_ref(),
        still_writing,
        stopped_early,
        &outcome,
    );
    if capped {
        note.push_str(&format!(
            " Jenkins sends at most {MAX_LINES_PER_ANSWER} lines of a log still being written per request, so later output may exist already: it comes with later calls (a finished log comes whole){}.",
            if chosen.kind == "run" && !chosen.per_step {
                "; to follow a long running build closely, read the running stage or step (`node`/`step`)"
            } else {
                ""
            }
        ));
    }
    if chosen.per_step {
        note.insert_str(
            0,
            "KubeSphere cannot deliver this run's console log through its run log route (it buffers the whole log with a 30 s limit, and this log is too large): this is the logs of its steps, stage by stage, one after the other, without Jenkins' [Pipeline] lines; line numbers count those step logs. ",
        );
    }
    Ok(GetRunLogOutput {
        project,
        run,
        log: chosen.kind.into(),
        per_step: chosen.per_step,
        node: chosen.node,
        stage_name: chosen.stage_name,
        step: chosen.step,
        step_name: chosen.step_name,
        ready: true,
        still_writing,
        mode: mode.name().into(),
        text,
        returned: kept_span,
        log_bytes: if capped { None } else { log_bytes },
        log_lines: if capped { None } else { log_lines },
        omitted_before,
        omitted_after,
        matches,
        cursor: Some(cursor.encode()),
        note,
    })
}

/// Whether Jenkins may still write to a segment: the run log while the run
/// is not finished; a step log while it says so (`X-More-Data`, which large
/// answers lack) or its step was not finished when the stages were read.
fn segment_writing(seg: &Segment, body: &ByteStream, run_finished: bool, open: &[(String, String)]) -> bool {
    match seg {
        Segment::Run => !run_finished,
        Segment::Step { node, step } => {
            body.more_data || (!run_finished && open.iter().any(|(n, s)| n == node && s == step))
        }
    }
}

/// Whether the chosen single step was still open.
fn step_open(chosen: &Chosen) -> bool {
    match (&chosen.node, &chosen.step) {
        (Some(n), Some(s)) => chosen.open_steps.iter().any(|(a, b)| a == n && b == s),
        _ => false,
    }
}

enum Picked {
    Lines(Vec<Kept>),
    Grep(Box<GrepSink>),
}

fn span(lines: &[Kept]) -> Option<Span> {
    let (first, last) = (lines.first()?, lines.last()?);
    Some(Span {
        first_line: first.no,
        last_line: last.no,
        lines: lines.len() as u64,
        start_byte: first.start,
        end_byte: last.end.byte(),
    })
}

fn omitted(
    span: &Option<Span>,
    from: &Pos,
    resume: &Pos,
    log_bytes: Option<u64>,
    log_lines: Option<u64>,
    mode: &Mode,
) -> (Omitted, Omitted) {
    let (start_byte, start_line, end_byte, end_line) = match span {
        Some(s) => (s.start_byte, s.first_line - 1, s.end_byte, s.last_line),
        None => (resume.byte(), resume.line, resume.byte(), resume.line),
    };
    // grep leaves out non-matching lines in between too; "before" is what
    // precedes the searched part plus the skipped lines up to the first match.
    let _ = (from, mode);
    let before = Omitted {
        lines: Some(start_line),
        bytes: Some(start_byte),
    };
    let after = Omitted {
        lines: log_lines.map(|t| t.saturating_sub(end_line)),
        bytes: log_bytes.map(|t| t.saturating_sub(end_byte)),
    };
    (before, after)
}

/// 1536 -> "1.5 KB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[allow(clippy::too_many_arguments)]
fn note(
    mode: &Mode,
    span: &Option<Span>,
    log_bytes: Option<u64>,
    log_lines: Option<u64>,
    before: &Omitted,
    after: &Omitted,
    matches: Option<&MatchInfo>,
    still_writing: bool,
    stopped_early: bool,
    outcome: &ReadOutcome,
) -> String {
    let size = match (log_lines, log_bytes) {
        (Some(l), Some(b)) => format!("{l} lines ({})", human_bytes(b)),
        (None, Some(b)) => format!("a log of {}", human_bytes(b)),
        _ => "a log of unknown size (read so far; a tail or grep reads it to the end)".to_string(),
    };
    let mut s = match (mode, span) {
        (Mode::Grep { pattern, .. }, _) => {
            let m = matches.cloned().unwrap_or(MatchInfo {
                total: 0,
                returned: 0,
                not_returned: 0,
            });
            let mut s = format!(
                "grep /{pattern}/: {} matching line(s) in the part searched of {size}; returned {}",
                m.total, m.returned
            );
            if m.not_returned > 0 {
                s.push_str(&format!(
                    "; {} more not returned: pass `cursor` to continue the search after the last returned line",
                    m.not_returned
                ));
            }
            s.push('.');
            s
        }
        (_, None) => format!("No new lines; {size}."),
        (_, Some(sp)) => {
            let mut s = format!(
                "Returned lines {}-{} ({}) of {size}.",
                sp.first_line,
                sp.last_line,
                human_bytes(sp.end_byte - sp.start_byte)
            );
            if matches!(mode, Mode::Tail(_)) && before.lines.unwrap_or(0) > 0 {
                s.push_str(&format!(
                    " Left out before: {} line(s) ({}): search them with grep or read them with head_lines.",
                    before.lines.unwrap_or(0),
                    human_bytes(before.bytes.unwrap_or(0))
                ));
            }
            match (after.lines, after.bytes) {
                (Some(l), Some(b)) if l > 0 || b > 0 => s.push_str(&format!(
                    " Left out after: {l} line(s) ({}): pass `cursor` to read on.",
                    human_bytes(b)
                )),
                _ if stopped_early => s.push_str(" More follows: pass `cursor` to read on."),
                _ => {}
            }
            s
        }
    };
    if outcome.held_back_bytes > 0 {
        s.push_str(&format!(
            " A last line still being written ({} bytes) is left for the next call.",
            outcome.held_back_bytes
        ));
    }
    if still_writing {
        s.push_str(" The run is still writing: call again with `cursor` for new output.");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call, ctx, sim, sim_with};
    use serde_json::json;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor {
            v: CURSOR_VERSION,
            ns: "ns".into(),
            p: "p".into(),
            b: None,
            id: "3".into(),
            name: None,
            node: None,
            step: None,
            ps: false,
            pos: Pos {
                seg: 0,
                raw: 0,
                skip: 2,
                text: 10,
                line: 2,
            },
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("not-a-cursor").is_err());
        assert_eq!(human_bytes(1536), "1.5 KB");
        assert_eq!(human_bytes(12), "12 B");
    }

    #[test]
    fn option_conflicts_are_explained() {
        let base = || GetRunLogInput {
            project: "p".into(),
            ..Default::default()
        };
        let mut i = base();
        i.tail_lines = Some(5);
        i.head_lines = Some(5);
        assert!(Mode::parse(&i).is_err());
        let mut i = base();
        i.grep = Some("(".into());
        let e = Mode::parse(&i).unwrap_err().to_string();
        assert!(e.contains("not a valid regular expression"), "{e}");
        let mut i = base();
        i.grep = Some("x".into());
        i.tail_lines = Some(3);
        assert!(Mode::parse(&i).is_err());
        let mut i = base();
        i.context = Some(3);
        assert!(Mode::parse(&i).is_err());
        let mut i = base();
        i.tail_lines = Some(0);
        assert!(Mode::parse(&i).is_err());
        assert!(matches!(Mode::parse(&base()).unwrap(), Mode::Tail(200)));
    }

    async fn big_run(sim: &ks_sim::Sim, bytes: u64) -> ks_sim::SeededRun {
        sim.add_big_log_run("host", "stone-devops", "hello", None, bytes)
            .expect("seeded run")
    }

    #[tokio::test]
    async fn default_tail_is_bounded_and_says_what_was_left_out() {
        let sim = sim().await;
        let run = big_run(&sim, 2_000_000).await;
        let out = call(
            &ctx(&sim),
            "get_run_log",
            json!({"project": "stone-devops", "name": run.pipelinerun}),
        )
        .await
        .unwrap();
        let text = out["text"].as_str().unwrap();
        assert!(text.len() <= 16 * 1024, "{}", text.len());
        assert_eq!(out["ready"], true);
        assert_eq!(out["still_writing"], false);
        assert_eq!(out["mode"], "tail");
        assert!(text.ends_with("Finished: SUCCESS\n"), "{text}");
        let total = out["log_bytes"].as_u64().unwrap();
        assert!(total > 2_000_000);
        let ret = &out["returned"];
        assert!(ret["lines"].as_u64().unwrap() <= 200);
        assert_eq!(ret["end_byte"].as_u64(), Some(total));
        assert_eq!(
            out["omitted_before"]["bytes"].as_u64().unwrap() + text.len() as u64,
            total
        );
        assert_eq!(
            out["omitted_before"]["lines"].as_u64().unwrap() + ret["lines"].as_u64().unwrap(),
            out["log_lines"].as_u64().unwrap()
        );
        assert!(out["note"].as_str().unwrap().contains("Left out before"));
    }

    #[tokio::test]
    async fn tail_head_and_max_bytes() {
        let sim = sim().await;
        let run = big_run(&sim, 50_000).await;
        let c = ctx(&sim);
        let tail = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "pipeline": "hello", "run_id": run.run_id, "tail_lines": 3}),
        )
        .await
        .unwrap();
        assert_eq!(tail["returned"]["lines"], 3);
        let lines: Vec<&str> = tail["text"].as_str().unwrap().lines().collect();
        assert_eq!(lines.last(), Some(&"Finished: SUCCESS"));
        let head = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "name": run.pipelinerun, "head_lines": 2}),
        )
        .await
        .unwrap();
        assert_eq!(head["mode"], "head");
        assert_eq!(head["returned"]["first_line"], 1);
        assert_eq!(head["returned"]["lines"], 2);
        assert!(head["text"].as_str().unwrap().starts_with("Started by user tenant\n"));
        // A head read stops early: the run log route reports no size.
        assert!(head.get("log_bytes").is_none());
        assert!(head["note"].as_str().unwrap().contains("cursor"));
        let small = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "name": run.pipelinerun, "tail_lines": 5000, "max_bytes": 1024}),
        )
        .await
        .unwrap();
        assert!(small["text"].as_str().unwrap().len() <= 1024);
        let bad = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "name": run.pipelinerun, "max_bytes": 10}),
        )
        .await
        .unwrap_err();
        assert_eq!(bad.kind(), "invalid_input");
    }

    #[tokio::test]
    async fn head_then_cursor_reads_the_whole_log_without_gaps() {
        let sim = sim().await;
        let run = big_run(&sim, 30_000).await;
        let c = ctx(&sim);
        let mut all = String::new();
        let mut cursor: Option<String> = None;
        let mut next_line = 1;
        for _ in 0..100 {
            let mut args = json!({"project": "stone-devops", "head_lines": 37});
            match &cursor {
                Some(cur) => args["cursor"] = json!(cur),
                None => args["name"] = json!(run.pipelinerun),
            }
            let out = call(&c, "get_run_log", args).await.unwrap();
            let Some(ret) = out.get("returned") else {
                break;
            };
            assert_eq!(ret["first_line"], next_line);
            next_line = ret["last_line"].as_u64().unwrap() + 1;
            all.push_str(out["text"].as_str().unwrap());
            cursor = out["cursor"].as_str().map(str::to_string);
        }
        let full = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "name": run.pipelinerun, "tail_lines": 5000, "max_bytes": 65536}),
        )
        .await
        .unwrap();
        assert_eq!(all, full["text"].as_str().unwrap());
        assert_eq!(all.len() as u64, full["log_bytes"].as_u64().unwrap());
    }

    #[tokio::test]
    async fn grep_with_context_limit_and_cursor() {
        let sim = sim().await;
        let run = big_run(&sim, 100_000).await;
        let c = ctx(&sim);
        // Generated lines are numbered: match every line number ending in 00.
        let out = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "name": run.pipelinerun, "grep": "line +[0-9]*00 ", "context": 1, "max_matches": 3}),
        )
        .await
        .unwrap();
        assert_eq!(out["mode"], "grep");
        // Lines 100, 200, ..., 900 of the generated part.
        assert_eq!(out["matches"]["total"], 9);
        assert_eq!(out["matches"]["returned"], 3);
        assert_eq!(out["matches"]["not_returned"], 6);
        let text = out["text"].as_str().unwrap();
        assert_eq!(text.lines().filter(|l| l.contains("--")).count(), 2, "{text}");
        assert_eq!(text.lines().count(), 3 * 3 + 2, "{text}");
        // Continue the search from the cursor: the next matches follow.
        let more = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "cursor": out["cursor"], "grep": "line +[0-9]*00 ", "context": 0, "max_matches": 100}),
        )
        .await
        .unwrap();
        assert_eq!(more["matches"]["total"], 6);
        assert_eq!(more["matches"]["returned"], 6);
        let first_new = more["returned"]["first_line"].as_u64().unwrap();
        assert!(first_new > out["returned"]["last_line"].as_u64().unwrap());
        let none = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "name": run.pipelinerun, "grep": "(?i)no such text"}),
        )
        .await
        .unwrap();
        assert_eq!(none["matches"]["total"], 0);
        assert!(none.get("returned").is_none());
    }

    #[tokio::test]
    async fn step_and_stage_logs() {
        let sim = sim().await;
        let c = ctx(&sim);
        // Stage and step ids come from diagnose_run.
        let d = call(
            &c,
            "diagnose_run",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
        )
        .await
        .unwrap();
        let node = d["failing_stage"]["id"].as_str().unwrap().to_string();
        let step_id = d["failing_step"]["id"].as_str().unwrap().to_string();
        let out = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1", "step": step_id}),
        )
        .await
        .unwrap();
        assert_eq!(out["log"], "step");
        assert_eq!(out["node"], node);
        let text = out["text"].as_str().unwrap();
        assert!(text.contains("[ERROR] Tests run: 12, Failures: 2"), "{text}");
        assert!(text.contains("script returned exit code 1"), "{text}");
        assert_eq!(out["log_bytes"].as_u64(), Some(text.len() as u64));
        // The stage by name: every step of it.
        let stage = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1", "node": "build"}),
        )
        .await
        .unwrap();
        assert_eq!(stage["log"], "stage");
        assert_eq!(stage["stage_name"], "Build");
        let t = stage["text"].as_str().unwrap();
        assert!(t.contains("compiling") && t.contains("Archiving artifacts"), "{t}");
        // The stage's cursor continues the stage (finished: nothing new) ...
        let next = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "cursor": stage["cursor"]}),
        )
        .await
        .unwrap();
        assert_eq!(next["log"], "stage");
        assert_eq!(next["mode"], "continue");
        assert!(next.get("returned").is_none(), "{next}");
        // ... and is refused for another run or another part of the log.
        for other in [
            json!({"project": "stone-devops", "cursor": stage["cursor"], "pipeline": "hello", "run_id": "1"}),
            json!({"project": "stone-devops", "cursor": stage["cursor"], "step": step_id}),
            json!({"project": "stone-devops", "cursor": out["cursor"], "node": "Build"}),
        ] {
            let e = call(&c, "get_run_log", other).await.unwrap_err();
            assert!(e.to_string().contains("cursor belongs to another"), "{e}");
        }
        let bad = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1", "node": "Nope"}),
        )
        .await
        .unwrap_err();
        assert!(bad.to_string().contains("Checkout"), "{bad}");
    }

    #[tokio::test]
    async fn a_run_without_pipelinerun_is_read_through_jenkins() {
        // A v1alpha2 trigger creates no PipelineRun (API reference §6.3).
        let sim = sim().await;
        let token = sim.issue_token("tenant").unwrap();
        let r: serde_json::Value = reqwest::Client::new()
            .post(format!(
                "{}/kapis/devops.kubesphere.io/v1alpha2/namespaces/stone-devops/pipelines/broken-build/runs",
                sim.url()
            ))
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = r["id"].as_str().unwrap().to_string();
        assert_eq!(id, "2");
        let c = ctx(&sim);
        let mut out = json!(null);
        for _ in 0..100 {
            out = call(
                &c,
                "get_run_log",
                json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": id}),
            )
            .await
            .unwrap();
            if out["still_writing"] == false {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        }
        assert!(out["run"].get("name").is_none(), "{out}");
        assert!(out["text"].as_str().unwrap().ends_with("Finished: FAILURE\n"), "{out}");
        let d = call(
            &c,
            "diagnose_run",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": id}),
        )
        .await
        .unwrap();
        assert_eq!(d["failing_stage"]["name"], "Test");
        // Downloads need a PipelineRun: refused with the reason.
        let e = call(
            &c,
            "download_artifact",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": id, "path": "target/build-report.txt"}),
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("no PipelineRun"), "{e}");
        let missing = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "99"}),
        )
        .await
        .unwrap_err();
        assert_eq!(missing.kind(), "not_found");
        assert!(missing.to_string().contains("has no run 99"), "{missing}");
    }

    #[tokio::test]
    async fn not_ready_then_growing_log_read_with_cursor_has_no_gaps_or_repeats() {
        // Slow runs: unsynced, then queued, then running for 1.2 s each.
        let sim = sim_with(ks_sim::SimOptions {
            run_phase: std::time::Duration::from_millis(1200),
            ..Default::default()
        })
        .await;
        assert!(sim.add_pipeline(
            "host",
            "stone-devops",
            "grow",
            "pipeline { agent any\n stages { stage('Gen') { steps { simBigLog(300000) } } } }"
        ));
        let c = ctx(&sim);
        let pr = c
            .client
            .create_pipelinerun(&crate::kubesphere::Cluster::Host, "stone-devops", "grow", None, &[])
            .await
            .unwrap();
        let name = pr.metadata.name.clone();
        let first = call(&c, "get_run_log", json!({"project": "stone-devops", "name": name}))
            .await
            .unwrap();
        assert_eq!(first["ready"], false, "{first}");
        assert_eq!(first["text"], "");
        assert!(first["note"].as_str().unwrap().starts_with("No log yet"));
        // Follow the log: first call without cursor (tail), then with it.
        let mut text = String::new();
        let mut cursor: Option<String> = None;
        let mut saw_writing = false;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            assert!(std::time::Instant::now() < deadline, "log never finished");
            let mut args = json!({"project": "stone-devops", "max_bytes": 65536, "head_lines": 5000});
            match &cursor {
                Some(cur) => args["cursor"] = json!(cur),
                None => {
                    args["name"] = json!(name);
                }
            }
            let out = call(&c, "get_run_log", args).await.unwrap();
            if out["ready"] == false {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
            saw_writing |= out["still_writing"] == true && out.get("returned").is_some();
            text.push_str(out["text"].as_str().unwrap());
            cursor = out["cursor"].as_str().map(str::to_string);
            if out["still_writing"] == false && out.get("returned").is_none() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        }
        assert!(saw_writing, "the log was never read while it grew");
        let full = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "name": name, "head_lines": 5000, "max_bytes": 65536}),
        )
        .await
        .unwrap();
        let mut whole = full["text"].as_str().unwrap().to_string();
        let mut cur = full["cursor"].as_str().map(str::to_string);
        while full["log_bytes"].as_u64().is_none_or(|b| b > whole.len() as u64) {
            let more = call(
                &c,
                "get_run_log",
                json!({"project": "stone-devops", "cursor": cur, "head_lines": 5000, "max_bytes": 65536}),
            )
            .await
            .unwrap();
            if more.get("returned").is_none() {
                break;
            }
            whole.push_str(more["text"].as_str().unwrap());
            cur = more["cursor"].as_str().map(str::to_string);
        }
        assert_eq!(text, whole, "followed text differs from the finished log");
        // The generated lines are numbered: every number exactly once, in order.
        let nums: Vec<u64> = text
            .lines()
            .filter_map(|l| l.split(" line ").nth(1))
            .filter_map(|r| r.split_whitespace().next()?.parse().ok())
            .collect();
        assert_eq!(nums.len(), 3000);
        assert!(nums.iter().enumerate().all(|(i, n)| *n == i as u64));
    }

    // ---------------------------------------- upstream log rules (§16 U2, U8)

    /// Reads a log to its end in pages: a first call with `first` (run or
    /// node/step arguments), then `cursor` calls. Returns the joined text.
    async fn pages(c: &ToolCtx, first: serde_json::Value, head: u32) -> String {
        let mut args = first.clone();
        args["head_lines"] = json!(head);
        let mut all = String::new();
        let mut next_line = 1;
        for _ in 0..10_000 {
            let out = call(c, "get_run_log", args.clone()).await.unwrap();
            let Some(ret) = out.get("returned") else {
                break;
            };
            assert_eq!(ret["first_line"], next_line, "{out}");
            next_line = ret["last_line"].as_u64().unwrap() + 1;
            all.push_str(out["text"].as_str().unwrap());
            args = json!({"project": "stone-devops", "cursor": out["cursor"], "head_lines": head});
        }
        all
    }

    /// Line numbers of the generated lines in `text`, in order.
    fn generated_numbers(text: &str) -> Vec<u64> {
        text.lines()
            .filter_map(|l| l.split(" line ").nth(1))
            .filter_map(|r| r.split_whitespace().next()?.parse().ok())
            .collect()
    }

    #[tokio::test]
    async fn done_when_head_then_cursor_pages_of_broken_build_join_to_one_long_read() {
        let sim = sim().await;
        let c = ctx(&sim);
        let run = json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"});
        let mut long = run.clone();
        long["head_lines"] = json!(5000);
        long["max_bytes"] = json!(65536);
        let one = call(&c, "get_run_log", long).await.unwrap();
        let whole = one["text"].as_str().unwrap();
        // LF line ends, no hidden console notes, every line once.
        assert!(!whole.contains('\r') && !whole.contains('\u{1b}'), "{whole:?}");
        assert!(
            whole.starts_with("Started by user tenant\n[Pipeline] Start of Pipeline\n"),
            "{whole}"
        );
        assert!(
            whole.ends_with("ERROR: script returned exit code 1\nFinished: FAILURE\n"),
            "{whole}"
        );
        assert_eq!(one["log_bytes"].as_u64(), Some(whole.len() as u64));
        for head in [1, 3, 7] {
            assert_eq!(pages(&c, run.clone(), head).await, whole, "pages of {head} lines");
        }
        // A cursor from the end reads nothing new, without error.
        let again = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "cursor": one["cursor"]}),
        )
        .await
        .unwrap();
        assert!(again.get("returned").is_none(), "{again}");
    }

    #[tokio::test]
    async fn a_finished_failed_step_reads_on_to_its_end_without_errors() {
        // Its X-Text-Size counts the error Blue Ocean appends: reading from
        // there fails upstream.
        let sim = sim().await;
        let c = ctx(&sim);
        let d = call(
            &c,
            "diagnose_run",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
        )
        .await
        .unwrap();
        let step = d["failing_step"]["id"].as_str().unwrap().to_string();
        let first = json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1", "step": step});
        let whole = call(&c, "get_run_log", first.clone()).await.unwrap();
        let text = whole["text"].as_str().unwrap();
        assert!(text.ends_with("+ exit 1\nscript returned exit code 1\n"), "{text:?}");
        assert_eq!(pages(&c, first, 2).await, text);
        let end = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "cursor": whole["cursor"]}),
        )
        .await
        .unwrap();
        assert!(end.get("returned").is_none(), "{end}");
        assert_eq!(end["still_writing"], false);
    }

    /// Follows a log with `cursor` until the run has finished and nothing
    /// new comes; returns the text read.
    async fn follow(c: &ToolCtx, first: serde_json::Value) -> String {
        let mut text = String::new();
        let mut cursor: Option<String> = None;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            assert!(std::time::Instant::now() < deadline, "the log never finished");
            let mut args = json!({"project": "stone-devops", "head_lines": 5000, "max_bytes": 65536});
            match &cursor {
                Some(cur) => args["cursor"] = json!(cur),
                None => {
                    for (k, v) in first.as_object().unwrap() {
                        args[k] = v.clone();
                    }
                }
            }
            let out = call(c, "get_run_log", args).await.unwrap();
            if out["ready"] == false {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
            text.push_str(out["text"].as_str().unwrap());
            cursor = out["cursor"].as_str().map(str::to_string);
            if out["still_writing"] == false && out.get("returned").is_none() {
                return text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(120)).await;
        }
    }

    async fn running_build(sim: &ks_sim::Sim, c: &ToolCtx, name: &str, lines: u64) -> String {
        assert!(sim.add_pipeline(
            "host",
            "stone-devops",
            name,
            &format!(
                "pipeline {{ agent any\n stages {{ stage('Gen') {{ steps {{ simBigLog({}) }} }} }} }}",
                lines * 100
            )
        ));
        c.client
            .create_pipelinerun(&crate::kubesphere::Cluster::Host, "stone-devops", name, None, &[])
            .await
            .unwrap()
            .metadata
            .name
    }

    #[tokio::test]
    async fn following_a_running_build_past_10000_lines_yields_every_line_once() {
        // Running answers carry at most 10,000 lines; offsets are raw.
        let sim = sim_with(ks_sim::SimOptions {
            run_phase: std::time::Duration::from_millis(1500),
            ..Default::default()
        })
        .await;
        let c = ctx(&sim);
        let run_log = running_build(&sim, &c, "follow-run", 12_000).await;
        let stage_log = running_build(&sim, &c, "follow-stage", 12_000).await;
        let (a, b) = tokio::join!(
            follow(&c, json!({"name": run_log})),
            follow(&c, json!({"name": stage_log, "node": "Gen"}))
        );
        let want: Vec<u64> = (0..12_000).collect();
        assert_eq!(generated_numbers(&a), want, "run log");
        assert!(a.ends_with("Finished: SUCCESS\n"));
        assert_eq!(generated_numbers(&b), want, "stage log");
        assert!(b.starts_with("+ generate-log --bytes 1200000\n"), "{}", &b[..80]);
    }

    #[tokio::test]
    async fn an_answer_cut_at_10000_lines_of_a_running_build_is_not_taken_for_its_end() {
        let sim = sim_with(ks_sim::SimOptions {
            run_phase: std::time::Duration::from_secs(6),
            ..Default::default()
        })
        .await;
        let c = ctx(&sim);
        assert!(sim.add_pipeline(
            "host",
            "stone-devops",
            "fast-writer",
            "pipeline { agent any\n stages { stage('Gen') { steps { simBigLog(10000000) } } } }"
        ));
        // A v1alpha2 trigger: queued at once, then running for 6 s.
        let blue = crate::kubesphere::logs::BlueRunRef {
            namespace: "stone-devops".into(),
            pipeline: "fast-writer".into(),
            branch: None,
            run_id: "1".into(),
        };
        let token = sim.issue_token("tenant").unwrap();
        let r = reqwest::Client::new()
            .post(format!(
                "{}/kapis/devops.kubesphere.io/v1alpha2/namespaces/stone-devops/pipelines/fast-writer/runs",
                sim.url()
            ))
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            assert!(std::time::Instant::now() < deadline);
            let b = c
                .client
                .get_blue_run(&crate::kubesphere::Cluster::Host, &blue)
                .await
                .unwrap();
            if b.state.as_deref() == Some("RUNNING") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        // 100,000 lines over 6 s: past 10,000 within a second.
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let run = json!({"project": "stone-devops", "pipeline": "fast-writer", "run_id": "1"});
        let tail = call(&c, "get_run_log", run.clone()).await.unwrap();
        assert_eq!(tail["still_writing"], true, "{tail}");
        let note = tail["note"].as_str().unwrap();
        assert!(note.contains("at most 10000 lines"), "{note}");
        assert!(
            tail.get("log_lines").is_none() && tail["omitted_after"].get("lines").is_none(),
            "{tail}"
        );
        // Reading on from line 10,000 while it runs: nothing new yet, and
        // the cursor stays put rather than skipping ahead.
        let mut head = run.clone();
        head["head_lines"] = json!(5000);
        head["max_bytes"] = json!(65536);
        let first = call(&c, "get_run_log", head).await.unwrap();
        let mut cursor = first["cursor"].clone();
        let mut last = first["returned"]["last_line"].as_u64().unwrap();
        let mut stalled = false;
        for _ in 0..40 {
            let out = call(
                &c,
                "get_run_log",
                json!({"project": "stone-devops", "cursor": cursor, "head_lines": 5000, "max_bytes": 65536}),
            )
            .await
            .unwrap();
            match out.get("returned") {
                Some(r) => {
                    assert_eq!(r["first_line"].as_u64(), Some(last + 1));
                    last = r["last_line"].as_u64().unwrap();
                }
                None if out["still_writing"] == true => {
                    stalled = true;
                    assert!(out["note"].as_str().unwrap().contains("at most 10000 lines"), "{out}");
                    break;
                }
                None => break,
            }
            cursor = out["cursor"].clone();
        }
        assert!(stalled, "never met the cut");
        assert!(last >= 10_000);
    }

    #[tokio::test]
    async fn a_run_log_too_large_to_relay_is_read_per_step_and_says_so() {
        let sim = sim_with(ks_sim::SimOptions {
            run_phase: std::time::Duration::from_millis(50),
            log_relay_limit: 200_000,
            log_relay_delay: std::time::Duration::from_millis(50),
            ..Default::default()
        })
        .await;
        let c = ctx(&sim);
        let run = json!({"project": "stone-devops", "pipeline": "oversized-log", "run_id": "1"});
        let tail = call(&c, "get_run_log", run.clone()).await.unwrap();
        assert_eq!(tail["log"], "run");
        assert_eq!(tail["per_step"], true, "{tail}");
        assert_eq!(tail["still_writing"], false);
        assert!(tail["text"].as_str().unwrap().ends_with("\nreport written\n"), "{tail}");
        let note = tail["note"].as_str().unwrap();
        assert!(note.contains("cannot deliver") && note.contains("step"), "{note}");
        // Asked once: the failure is not retried.
        let asked = sim
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/pipelines/oversized-log/runs/1/log"))
            .count();
        assert_eq!(asked, 1);
        // Pages join to one long read, which covers every step in order.
        let mut long = run.clone();
        long["head_lines"] = json!(5000);
        long["max_bytes"] = json!(65536);
        let mut whole = String::new();
        let mut out = call(&c, "get_run_log", long).await.unwrap();
        loop {
            assert_eq!(out["per_step"], true);
            let Some(_) = out.get("returned") else { break };
            whole.push_str(out["text"].as_str().unwrap());
            out = call(
                &c,
                "get_run_log",
                json!({"project": "stone-devops", "cursor": out["cursor"], "head_lines": 5000, "max_bytes": 65536}),
            )
            .await
            .unwrap();
        }
        assert_eq!(pages(&c, run, 1999).await, whole);
        assert_eq!(
            whole.matches("+ generate-log --bytes 80000\n").count(),
            3,
            "three steps"
        );
        assert_eq!(generated_numbers(&whole).len(), 3 * 800);
        assert!(!whole.contains("[Pipeline]"));
    }

    #[tokio::test]
    async fn a_run_log_that_times_out_or_comes_back_empty_is_read_per_step() {
        let sim = sim().await;
        let mut s = crate::testing::settings(&sim, "tenant");
        s.timeout = std::time::Duration::from_millis(300);
        let c = ToolCtx::detached(
            crate::kubesphere::KsClient::new(s).unwrap(),
            std::sync::Arc::new(crate::mcp::ServerOptions::default()),
        );
        let log_path = "/pipelines/broken-build/runs/1/log";
        sim.inject(ks_sim::Fault {
            method: None,
            path_contains: log_path.into(),
            kind: ks_sim::FaultKind::Latency(std::time::Duration::from_secs(2)),
            times: 5,
        });
        let run = json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"});
        let out = call(&c, "get_run_log", run.clone()).await.unwrap();
        assert_eq!(out["per_step"], true, "{out}");
        assert!(out["text"].as_str().unwrap().contains("[ERROR] Tests run: 12"), "{out}");
        let asked = sim.requests().iter().filter(|r| r.path.ends_with(log_path)).count();
        assert_eq!(asked, 1, "a timed-out run log is asked for once");
        // ks-devops ignores a body read timeout and answers 200 with nothing
        // (pure_request.go:88): a finished run has a log, so that is a failure too.
        sim.clear_faults();
        sim.inject(ks_sim::Fault {
            method: None,
            path_contains: log_path.into(),
            kind: ks_sim::FaultKind::Status {
                code: 200,
                body: String::new(),
                content_type: "text/plain; charset=utf-8".into(),
            },
            times: 1,
        });
        let out = call(&ctx(&sim), "get_run_log", run).await.unwrap();
        assert_eq!(out["per_step"], true, "{out}");
        assert!(
            out["text"].as_str().unwrap().contains("compiling 42 source files"),
            "{out}"
        );
    }
}
