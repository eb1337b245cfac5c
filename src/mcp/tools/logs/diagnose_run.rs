//! `diagnose_run`: why a run failed, in one compact answer.

use std::sync::LazyLock;

use regex::bytes::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::KsError;
use crate::kubesphere::logs::ByteStream;
use crate::kubesphere::models::{BlueNode, BlueStep};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::logread::{
    FirstLastSink, Kept, LogSource, Pos, Segment, TailSink, read_log, render_lines, run_log_undeliverable,
    step_segments,
};
use crate::mcp::nodes::nodes_of;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runlocate::{RunSelector, locate_run};
use crate::mcp::runview::RunView;

crate::project_scoped!(DiagnoseRunInput);

const DEFAULT_TAIL: u32 = 40;
const MAX_TAIL: u32 = 200;
const DEFAULT_ERROR_LINES: u32 = 20;
const MAX_ERROR_LINES: u32 = 100;
/// Bytes of the failing step's log tail.
const STEP_TAIL_BYTES: usize = 8 * 1024;
/// Longest error line shown.
const ERROR_LINE_CAP: usize = 400;

/// Lines that look like errors: compiler errors, test failures, `ERROR`,
/// exceptions, non-zero exit codes.
static ERROR_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
          \b(?:ERROR|FATAL|FAILED|FAILURE|FAIL)\b
        | \b[Ee]rror(?:\[[A-Za-z0-9]+\])?:
        | \berror\s+(?:TS|CS)\d+
        | \b[A-Z][A-Za-z0-9]*(?:Exception|Error)\b
        | Traceback\ \(most\ recent\ call\ last\)
        | (?i:exit\ (?:code|status)\ [1-9][0-9]*)
        | npm\ ERR!
        | \bpanicked\ at\b
        | (?i:\bbuild\ failed\b|\bcompilation\ failed\b|\btests?\ failed\b)
        | (?:Failures|Errors):\ [1-9]
        | \bfatal:
        ",
    )
    .expect("the error pattern compiles")
});

/// Lines never reported as errors: shell traces (`+ cmd`), pipeline
/// markers and the final status line.
static NOT_ERROR_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:\+ |\[Pipeline\] |Finished: [A-Z_]+$)").expect("the skip pattern compiles"));

pub struct DiagnoseRun;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiagnoseRunInput {
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
    /// Lines of the failing step's log tail (1-200, default 40; at most 8 KB).
    #[serde(default)]
    pub tail_lines: Option<u32>,
    /// Error-looking console lines returned at most (1-100, default 20: the first and the last ones).
    #[serde(default)]
    pub max_error_lines: Option<u32>,
    #[serde(default)]
    pub workspace: Option<String>,
    #[serde(default)]
    pub cluster: Option<String>,
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
        let project = resolve_input(&ctx, &input).await?;
        let located = locate_run(
            &ctx,
            &project,
            RunSelector::of(&input.name, &input.pipeline, &input.run_id, &input.branch),
        )
        .await?;
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

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// A multi-line script as one line: `a; b; c`.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn step_view(s: &BlueStep) -> StepView {
    StepView {
        id: s.id.clone(),
        name: nonempty(&s.display_name),
        description: nonempty(&s.display_description).map(|d| clip(&one_line(&d), 200)),
        state: nonempty(&s.state),
        result: nonempty(&s.result),
        duration_ms: s.duration_in_millis.filter(|d| *d > 0),
    }
}

fn stage_view(n: &BlueNode) -> StageView {
    StageView {
        id: n.id.clone(),
        name: nonempty(&n.display_name),
        state: nonempty(&n.state),
        result: nonempty(&n.result),
        duration_ms: n.duration_in_millis.filter(|d| *d > 0),
        steps: n.steps.as_deref().unwrap_or_default().iter().map(step_view).collect(),
    }
}

fn bad_result(r: Option<&str>) -> bool {
    matches!(r, Some("FAILURE") | Some("UNSTABLE") | Some("ABORTED"))
}

/// The first stage that failed (or is unstable/aborted) and its failing step.
fn first_failing(nodes: &[BlueNode]) -> Option<(&BlueNode, Option<&BlueStep>)> {
    let stage = nodes
        .iter()
        .find(|n| n.result.as_deref() == Some("FAILURE"))
        .or_else(|| nodes.iter().find(|n| bad_result(n.result.as_deref())))?;
    let steps = stage.steps.as_deref().unwrap_or_default();
    let step = steps
        .iter()
        .find(|s| s.result.as_deref() == Some("FAILURE"))
        .or_else(|| steps.iter().find(|s| bad_result(s.result.as_deref())))
        .or_else(|| steps.last());
    Some((stage, step))
}

fn first_error(lines: &[Kept]) -> Option<String> {
    lines
        .iter()
        .find(|k| ERROR_RE.is_match(&k.text) && !NOT_ERROR_RE.is_match(&k.text))
        .map(|k| clip(&k.render(), ERROR_LINE_CAP))
}

fn summary(
    run: &RunView,
    stages: &[StageView],
    stage: &Option<StageRef>,
    step: &Option<StepView>,
    error: Option<&str>,
) -> String {
    let result = run.result.as_deref().unwrap_or("UNKNOWN");
    match (stage, run.finished) {
        (Some(s), _) => {
            let mut out = format!(
                "Stage {:?} {}",
                s.name.as_deref().unwrap_or(&s.id),
                match s.result.as_deref() {
                    Some("UNSTABLE") => "is unstable",
                    Some("ABORTED") => "was aborted",
                    _ => "failed",
                }
            );
            if let Some(st) = step {
                out.push_str(&format!(" at step {:?}", st.name.as_deref().unwrap_or(&st.id)));
                if let Some(d) = &st.description {
                    out.push_str(&format!(" ({})", clip(d, 80)));
                }
            }
            if let Some(e) = error {
                out.push_str(&format!(": {}", clip(e, 200)));
            }
            out.push_str(&format!(". Run result: {result}."));
            out
        }
        (None, false) => {
            let current = stages
                .iter()
                .find(|s| matches!(s.state.as_deref(), Some("RUNNING") | Some("PAUSED")))
                .and_then(|s| s.name.clone());
            match current {
                Some(c) => format!("The run is still going (stage {c:?}); no stage has failed so far."),
                None => "The run is still going; no stage has failed so far.".into(),
            }
        }
        (None, true) if result == "SUCCESS" => "The run succeeded: nothing failed.".into(),
        (None, true) => match error {
            Some(e) => format!(
                "The run ended with result {result} but no stage is marked failed; the first error-looking line: {}",
                clip(e, 200)
            ),
            None => format!(
                "The run ended with result {result}; no stage is marked failed and no error-looking line was found."
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call, ctx, sim};
    use serde_json::json;

    #[test]
    fn error_pattern() {
        for yes in [
            "ERROR: script returned exit code 1",
            "[ERROR] Tests run: 12, Failures: 2, Errors: 0",
            "src/main.rs:3:5: error[E0425]: cannot find value",
            "main.c:12:5: error: expected ';'",
            "java.lang.NullPointerException",
            "AssertionError: expected 3",
            "Traceback (most recent call last):",
            "npm ERR! code ELIFECYCLE",
            "thread 'main' panicked at src/lib.rs:1",
            "--- FAIL: TestX (0.00s)",
            "Process exited with exit code 2",
            "BUILD FAILED in 3s",
            "fatal: repository not found",
        ] {
            assert!(ERROR_RE.is_match(yes.as_bytes()), "{yes}");
        }
        for no in [
            "Tests run: 12, Failures: 0, Errors: 0",
            "all tests passed",
            "exit code 0",
            "[sim-log 0001] line 1 lorem ipsum",
            "errors: none",
        ] {
            assert!(!ERROR_RE.is_match(no.as_bytes()), "{no}");
        }
        assert!(NOT_ERROR_RE.is_match(b"+ echo ERROR"));
        assert!(NOT_ERROR_RE.is_match(b"Finished: FAILURE"));
    }

    #[tokio::test]
    async fn failing_pipeline_yields_stage_step_and_error_line() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "diagnose_run",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
        )
        .await
        .unwrap();
        assert_eq!(out["run"]["result"], "FAILURE");
        assert_eq!(out["failing_stage"]["name"], "Test");
        assert_eq!(out["failing_stage"]["result"], "FAILURE");
        assert_eq!(out["failing_step"]["name"], "Shell Script");
        assert_eq!(out["failing_step"]["result"], "FAILURE");
        assert_eq!(
            out["error_line"],
            "[ERROR] Tests run: 12, Failures: 2, Errors: 0, Skipped: 0"
        );
        let summary = out["summary"].as_str().unwrap();
        assert!(
            summary.contains("\"Test\"") && summary.contains("Shell Script") && summary.contains("[ERROR] Tests run"),
            "{summary}"
        );
        let tail = out["failing_step_log"]["text"].as_str().unwrap();
        assert!(tail.contains("expected:<3> but was:<2>"), "{tail}");
        let lines: Vec<&str> = out["error_lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l["text"].as_str())
            .collect();
        assert!(lines.contains(&"ERROR: script returned exit code 1"), "{lines:?}");
        assert!(lines.iter().all(|l| !l.starts_with("+ ")), "{lines:?}");
        // Stages: Deploy never ran.
        let stages = out["stages"].as_array().unwrap();
        let names: Vec<&str> = stages.iter().filter_map(|s| s["name"].as_str()).collect();
        assert_eq!(names, ["Checkout", "Build", "Test", "Deploy"]);
        assert_eq!(stages[1]["result"], "SUCCESS");
        assert!(stages[3].get("result").is_none() || stages[3]["result"] != "FAILURE");
        // The whole answer stays compact.
        assert!(out.to_string().len() < 12 * 1024);
    }

    #[tokio::test]
    async fn successful_run_has_nothing_to_diagnose() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "diagnose_run",
            json!({"project": "stone-devops", "pipeline": "hello", "run_id": "1"}),
        )
        .await
        .unwrap();
        assert_eq!(out["summary"], "The run succeeded: nothing failed.");
        assert!(out.get("failing_stage").is_none());
        assert_eq!(out["stages"][0]["name"], "Hello");
    }

    fn hang_nodesdetail(sim: &ks_sim::Sim) {
        sim.inject(ks_sim::Fault {
            method: Some("GET".into()),
            path_contains: "/nodesdetail".into(),
            kind: ks_sim::FaultKind::Hang,
            times: u32::MAX,
        });
    }

    /// U7: a run with a PipelineRun reads the stored stages, never the
    /// Jenkins `nodesdetail` that can hang.
    #[tokio::test]
    async fn stages_come_from_the_stored_nodedetails() {
        let sim = sim().await;
        hang_nodesdetail(&sim);
        let c = ctx(&sim);
        let started = std::time::Instant::now();
        let out = call(
            &c,
            "diagnose_run",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
        )
        .await
        .unwrap();
        assert_eq!(out["failing_stage"]["name"], "Test");
        assert_eq!(out["failing_step"]["name"], "Shell Script");
        let step = out["failing_step"]["id"].as_str().unwrap().to_string();
        let log = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1", "node": "Test"}),
        )
        .await
        .unwrap();
        assert!(log["text"].as_str().unwrap().contains("[ERROR] CartTest"), "{log}");
        let log = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1", "step": step}),
        )
        .await
        .unwrap();
        assert!(log["text"].as_str().unwrap().contains("exit 1"), "{log}");
        // A hang would cost the request timeout (5 s here) at least.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let paths: Vec<String> = sim.requests().into_iter().map(|r| r.path).collect();
        assert!(paths.iter().any(|p| p.ends_with("/nodedetails")), "{paths:?}");
        assert!(!paths.iter().any(|p| p.ends_with("/nodesdetail")), "{paths:?}");
    }

    /// U7: a run without a PipelineRun still gets its stages, in bounded
    /// time, when `nodesdetail` hangs.
    #[tokio::test]
    async fn a_hanging_nodesdetail_costs_a_bounded_wait() {
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
        let c = ctx(&sim);
        for _ in 0..200 {
            let log = call(
                &c,
                "get_run_log",
                json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": id, "tail_lines": 1}),
            )
            .await
            .unwrap();
            if log["still_writing"] == false {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        }
        hang_nodesdetail(&sim);
        let started = std::time::Instant::now();
        let out = call(
            &c,
            "diagnose_run",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": id}),
        )
        .await
        .unwrap();
        // The test client's request timeout (5 s) bounds the nodesdetail wait.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(8),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(out["failing_stage"]["name"], "Test", "{out}");
        assert_eq!(out["failing_step"]["name"], "Shell Script", "{out}");
        let paths: Vec<String> = sim.requests().into_iter().map(|r| r.path).collect();
        assert!(
            paths.iter().any(|p| p.ends_with(&format!("/runs/{id}/nodes"))),
            "{paths:?}"
        );
    }

    /// U5: Jenkins' "no such run" arrives as a 500; it is answered as not
    /// found, never "retry later".
    #[tokio::test]
    async fn a_run_that_does_not_exist_is_not_found() {
        let sim = sim().await;
        let c = ctx(&sim);
        for tool in ["get_run_log", "diagnose_run", "get_run", "list_artifacts"] {
            for args in [
                json!({"project": "stone-devops", "pipeline": "hello", "run_id": "99"}),
                json!({"project": "stone-devops", "pipeline": "echo-pipeline", "run_id": "7", "branch": "main"}),
                json!({"project": "stone-devops", "name": "hello-nope1"}),
            ] {
                let e = call(&c, tool, args.clone()).await.unwrap_err();
                let text = e.to_string();
                assert_eq!(e.kind(), "not_found", "{tool} {args}: {text}");
                assert!(!text.contains("retry later"), "{tool} {args}: {text}");
                assert!(
                    text.contains("has no run") || text.contains("not found") || text.contains("no run of"),
                    "{tool} {args}: {text}"
                );
            }
        }
    }

    #[tokio::test]
    async fn multi_branch_run_by_branch() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "diagnose_run",
            json!({"project": "stone-devops", "pipeline": "echo-pipeline", "run_id": "1", "branch": "main"}),
        )
        .await
        .unwrap();
        assert_eq!(out["run"]["branch"], "main");
        assert_eq!(out["stages"].as_array().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_console_too_large_to_relay_is_searched_per_step() {
        let sim = crate::testing::sim_with(ks_sim::SimOptions {
            run_phase: std::time::Duration::from_millis(50),
            log_relay_limit: 100_000,
            log_relay_delay: std::time::Duration::from_millis(20),
            ..Default::default()
        })
        .await;
        assert!(sim.add_pipeline(
            "host",
            "stone-devops",
            "big-and-broken",
            "pipeline { agent any\n stages {\n stage('Gen') { steps { simBigLog(80000) } }\n stage('More') { steps { simBigLog(80000) } }\n stage('Test') { steps { sh 'echo \"[ERROR] 3 tests failed\" && exit 2' } }\n } }"
        ));
        let c = ctx(&sim);
        let pr = c
            .client
            .create_pipelinerun(
                &crate::kubesphere::Cluster::Host,
                "stone-devops",
                "big-and-broken",
                None,
                &[],
            )
            .await
            .unwrap();
        let args = json!({"project": "stone-devops", "name": pr.metadata.name});
        let mut out = json!(null);
        for _ in 0..100 {
            out = call(&c, "diagnose_run", args.clone()).await.unwrap();
            if out["run"]["finished"] == true {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(out["run"]["result"], "FAILURE", "{out}");
        assert_eq!(out["failing_stage"]["name"], "Test");
        assert_eq!(out["per_step"], true, "{out}");
        let lines: Vec<&str> = out["error_lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l["text"].as_str())
            .collect();
        assert!(lines.contains(&"[ERROR] 3 tests failed"), "{lines:?}");
        assert_eq!(out["error_line"], "[ERROR] 3 tests failed");
        assert!(out["log_lines"].as_u64().unwrap() > 1_600, "{out}");
    }
}
