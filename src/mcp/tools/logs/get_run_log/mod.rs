//! `get_run_log`: a bounded part of a run's console log, or of one stage or
//! step, streamed from upstream so only the returned part is kept.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::args::{ProjectArgs, RunArgs};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runlocate::locate_run;
use crate::mcp::runview::RunView;

use cursor::{Cursor, Target};
use mode::Mode;
use read::read;

pub const DEFAULT_LINES: u32 = 200;
pub const MAX_LINES: u32 = 5000;
pub const DEFAULT_MAX_BYTES: u32 = 16 * 1024;
pub const MIN_MAX_BYTES: u32 = 1024;
pub const MAX_MAX_BYTES: u32 = 64 * 1024;

pub struct GetRunLog;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct GetRunLogInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    #[serde(flatten)]
    pub run: RunArgs,
    /// A stage: its id or name (diagnose_run lists them). Alone: the logs of the stage's steps one after the other.
    #[serde(default)]
    pub node: Option<String>,
    /// A step id (diagnose_run lists them): only that step's log.
    #[serde(default)]
    pub step: Option<String>,
    /// Last N lines. The default without cursor or grep: 200.
    #[serde(default)]
    #[schemars(range(min = 1, max = 5000))]
    pub tail_lines: Option<u32>,
    /// First N lines from the start, or from `cursor`.
    #[serde(default)]
    #[schemars(range(min = 1, max = 5000))]
    pub head_lines: Option<u32>,
    /// Regular expression (Rust syntax, `(?i)` for case-insensitive): only matching lines, with context.
    #[serde(default)]
    pub grep: Option<String>,
    /// grep: lines of context before and after each match (default 2).
    #[serde(default)]
    #[schemars(range(max = 10))]
    pub context: Option<u32>,
    /// grep: matches returned at most (default 50); the rest are counted.
    #[serde(default)]
    #[schemars(range(min = 1, max = 500))]
    pub max_matches: Option<u32>,
    /// Upper bound of the returned text in bytes (default 16384).
    #[serde(default)]
    #[schemars(range(min = 1024, max = 65536))]
    pub max_bytes: Option<u32>,
    /// `cursor` of an earlier result: read on from where it stopped (new output of a running log, or the rest after a head/grep limit). Identifies the run by itself.
    #[serde(default)]
    pub cursor: Option<String>,
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
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}"#;
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
        let project = resolve_input(&ctx, &input.scope).await?;
        let target = Target::of(&input, cursor.as_ref(), &project)?;
        let located = locate_run(&ctx, &project, target.selector()).await?;
        read(&ctx, project, located, &target, cursor.map(|c| c.pos), mode, max_bytes).await
    }
}

mod choose;
mod cursor;
mod mode;
mod note;
mod read;
#[cfg(test)]
mod tests;
