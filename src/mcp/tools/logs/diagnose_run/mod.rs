//! `diagnose_run`: why a run failed, in one compact answer.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::KsError;
use crate::kubesphere::logs::ByteStream;
use crate::mcp::args::{ProjectArgs, RunArgs};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::logread::{
    FirstLastSink, LogSource, Pos, Segment, TailSink, read_log, render_lines, run_log_undeliverable, step_segments,
};
use crate::mcp::nodes::nodes_of;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runlocate::locate_run;
use crate::mcp::runview::RunView;

use findings::{ERROR_RE, NOT_ERROR_RE, first_error, first_failing, nonempty, stage_view, step_view, summary};

const DEFAULT_TAIL: u32 = 40;
const MAX_TAIL: u32 = 200;
const DEFAULT_ERROR_LINES: u32 = 20;
const MAX_ERROR_LINES: u32 = 100;
/// Bytes of the failing step's log tail.
const STEP_TAIL_BYTES: usize = 8 * 1024;
/// Longest error line shown.
const ERROR_LINE_CAP: usize = 400;

pub struct DiagnoseRun;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct DiagnoseRunInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    #[serde(flatten)]
    pub run: RunArgs,
    /// Lines of the failing step's log tail (default 40; at most 8 KB).
    #[serde(default)]
    #[schemars(range(min = 1, max = 200))]
    pub tail_lines: Option<u32>,
    /// Error-looking console lines returned at most (default 20: the first and the last ones).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub max_error_lines: Option<u32>,
}

/// A step of a stage.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq)]
pub struct StepView {
    /// Step id (get_run_log `step`).
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E.g. the shell command, cut at 200 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
}

/// A stage with its steps.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq)]
pub struct StageView {
    /// Stage id (get_run_log `node`).
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Absent: not reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    pub steps: Vec<StepView>,
}

/// A stage, without its steps.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq)]
pub struct StageRef {
    /// Stage id (get_run_log `node`).
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// A numbered log line.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq)]
pub struct LogLine {
    /// 1-based line number in the console log.
    pub line: u64,
    pub text: String,
}

/// The end of the failing step's log.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq)]
pub struct StepLogTail {
    pub text: String,
    /// Lines of the step log left out before `text`.
    pub omitted_lines: u64,
    pub log_bytes: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DiagnoseRunOutput {
    pub project: ProjectRef,
    pub run: RunView,
    /// The answer in one sentence.
    pub summary: String,
    /// Stages in order, with their steps.
    pub stages: Vec<StageView>,
    /// The first stage that did not succeed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_stage: Option<StageRef>,
    /// The step of that stage that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_step: Option<StepView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_step_log: Option<StepLogTail>,
    /// The most telling error line: the first error-looking line of the failing step, else of the console.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_line: Option<String>,
    /// Error-looking console lines (compiler errors, test failures, ERROR, exceptions, exit codes): the first and the last ones.
    pub error_lines: Vec<LogLine>,
    /// All error-looking console lines, including those not returned.
    pub error_lines_total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_lines: Option<u64>,
    /// KubeSphere could not deliver the console log (too large for it to relay): `error_lines`, `log_bytes` and `log_lines` come from the step logs read one after the other (line numbers count those), without Jenkins' `[Pipeline]` lines.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub per_step: bool,
    /// What to call for more.
    pub next: String,
}

impl ToolDef for DiagnoseRun {
    const NAME: &'static str = "diagnose_run";
    const TITLE: &'static str = "Diagnose a failed run";
    const DESCRIPTION: &'static str = "Answers 'why did this run fail?' in one call: stages and steps with results, the first failing stage and step, the end of that step's log, and console lines that look like errors (compiler errors, test failures, ERROR, exceptions, non-zero exit codes), compactly. Use it before reading whole logs; then get_run_log with the `node`/`step` ids it returns, or `grep`, for more. Identify the run like get_run.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}"#;
    const TOOLSET: Toolset = Toolset::Logs;
    const HINTS: Hints = Hints::READ;
    type Input = DiagnoseRunInput;
    type Output = DiagnoseRunOutput;

    async fn call(ctx: ToolCtx, input: DiagnoseRunInput) -> Result<DiagnoseRunOutput, ToolError> {
        let tail = input.tail_lines.unwrap_or(DEFAULT_TAIL);
        if tail == 0 || tail > MAX_TAIL {
            return Err(ToolError::InvalidInput(format!(
                "tail_lines must be between 1 and {MAX_TAIL}"
            )));
        }
        let max_errors = input.max_error_lines.unwrap_or(DEFAULT_ERROR_LINES);
        if max_errors == 0 || max_errors > MAX_ERROR_LINES {
            return Err(ToolError::InvalidInput(format!(
                "max_error_lines must be between 1 and {MAX_ERROR_LINES}"
            )));
        }
        let project = resolve_input(&ctx, &input.scope).await?;
        let located = locate_run(&ctx, &project, input.run.selector()).await?;
        let run = located.view;
        let Some(blue) = located.blue else {
            return Ok(DiagnoseRunOutput {
                summary: "The run has not started in Jenkins yet (queued): nothing to diagnose. Call again later or wait_for_run first.".into(),
                project,
                run,
                stages: vec![],
                failing_stage: None,
                failing_step: None,
                failing_step_log: None,
                error_line: None,
                error_lines: vec![],
                error_lines_total: 0,
                log_bytes: None,
                log_lines: None,
                per_step: false,
                next: "wait_for_run".into(),
            });
        };
        let cluster = project.cluster();
        let nodes = nodes_of(&ctx, &cluster, &blue, run.name.as_deref()).await?;
        let stages: Vec<StageView> = nodes.iter().map(stage_view).collect();
        let failing = first_failing(&nodes);
        let failing_stage = failing.map(|(s, _)| StageRef {
            id: s.id.clone(),
            name: nonempty(&s.display_name),
            result: nonempty(&s.result),
        });
        let failing_step = failing.and_then(|(_, st)| st).map(step_view);

        // The end of the failing step's log.
        let mut step_tail = None;
        let mut error_line = None;
        if let (Some(stage), Some(step)) = (&failing_stage, &failing_step) {
            let mut sink = TailSink::new(tail as usize, STEP_TAIL_BYTES);
            let segs = [Segment::Step {
                node: stage.id.clone(),
                step: step.id.clone(),
            }];
            let writing = |_: &Segment, b: &ByteStream| b.more_data;
            let src = LogSource {
                client: &ctx.client,
                cluster: &cluster,
                run: &blue,
                segments: &segs,
            };
            match read_log(&src, Pos::default(), ERROR_LINE_CAP * 4, &writing, &mut sink).await {
                Ok(o) => {
                    let kept = sink.finish();
                    error_line = first_error(&kept);
                    step_tail = Some(StepLogTail {
                        text: ctx.client.redactor().redact(&render_lines(&kept)),
                        omitted_lines: kept.first().map(|k| k.no - 1).unwrap_or(0),
                        log_bytes: o.end.byte(),
                    });
                }
                Err(KsError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }

        // Error-looking lines of the whole console log (skipped for a clean success).
        let clean = run.result.as_deref() == Some("SUCCESS") && failing.is_none();
        let (mut error_lines, mut error_total, mut log_bytes, mut log_lines) = (vec![], 0, None, None);
        let mut per_step = false;
        if !clean {
            let first = (max_errors as usize).div_ceil(2);
            let mut sink = FirstLastSink::new(
                ERROR_RE.clone(),
                Some(NOT_ERROR_RE.clone()),
                first,
                max_errors as usize - first,
            );
            let finished = run.finished;
            let writing = move |seg: &Segment, b: &ByteStream| match seg {
                Segment::Run => !finished,
                Segment::Step { .. } => b.more_data || !finished,
            };
            let src = LogSource {
                client: &ctx.client,
                cluster: &cluster,
                run: &blue,
                segments: &[Segment::Run],
            };
            let mut read = read_log(&src, Pos::default(), ERROR_LINE_CAP, &writing, &mut sink).await;
            // §16 U8: a console log too large for ks-devops to relay fails
            // (500, timeout) or comes back empty; search the step logs.
            let undeliverable = match &read {
                Err(e) => run_log_undeliverable(e),
                Ok(o) => finished && o.bytes_read == 0,
            };
            if undeliverable {
                per_step = true;
                sink = FirstLastSink::new(
                    ERROR_RE.clone(),
                    Some(NOT_ERROR_RE.clone()),
                    first,
                    max_errors as usize - first,
                );
                let segments = step_segments(&nodes);
                let src = LogSource {
                    client: &ctx.client,
                    cluster: &cluster,
                    run: &blue,
                    segments: &segments,
                };
                read = read_log(&src, Pos::default(), ERROR_LINE_CAP, &writing, &mut sink).await;
            }
            match read {
                Ok(o) => {
                    log_bytes = Some(o.end.byte());
                    log_lines = Some(o.lines_seen);
                    error_total = sink.total;
                    error_lines = sink
                        .finish()
                        .iter()
                        .map(|k| LogLine {
                            line: k.no,
                            text: ctx.client.redactor().redact(&k.render()),
                        })
                        .collect();
                }
                Err(KsError::NotFound { .. }) if !run.finished => {}
                Err(e) => return Err(e.into()),
            }
        }
        if error_line.is_none() {
            error_line = error_lines.first().map(|l| l.text.clone());
        }
        let error_line = error_line.map(|l| ctx.client.redactor().redact(&l));
        let summary = summary(&run, &stages, &failing_stage, &failing_step, error_line.as_deref());
        let next = match (&failing_stage, &failing_step) {
            (Some(s), Some(st)) => format!(
                "get_run_log with node={} step={} for the whole step log; get_run_log with grep to search the console",
                s.id, st.id
            ),
            _ => "get_run_log (tail by default, or grep) to read the console".to_string(),
        };
        Ok(DiagnoseRunOutput {
            project,
            run,
            summary,
            stages,
            failing_stage,
            failing_step,
            failing_step_log: step_tail,
            error_line,
            error_lines,
            error_lines_total: error_total,
            log_bytes,
            log_lines,
            per_step,
            next,
        })
    }
}

mod findings;
#[cfg(test)]
mod tests;
