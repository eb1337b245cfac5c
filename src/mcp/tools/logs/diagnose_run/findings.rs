//! What a diagnosis reports: stage and step views, the first failing
//! stage and step, error-looking lines, the one-sentence summary.

use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::kubesphere::models::{BlueNode, BlueStep};
use crate::mcp::logread::Kept;
use crate::mcp::runview::RunView;

use super::{ERROR_LINE_CAP, StageRef, StageView, StepView};

/// Lines that look like errors: compiler errors, test failures, `ERROR`,
/// exceptions, non-zero exit codes.
pub(super) static ERROR_RE: LazyLock<Regex> = LazyLock::new(|| {
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
pub(super) static NOT_ERROR_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:\+ |\[Pipeline\] |Finished: [A-Z_]+$)").expect("the skip pattern compiles"));

pub(super) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// A multi-line script as one line: `a; b; c`.
pub(super) fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

pub(super) fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

pub(super) fn step_view(s: &BlueStep) -> StepView {
    StepView {
        id: s.id.clone(),
        name: nonempty(&s.display_name),
        description: nonempty(&s.display_description).map(|d| clip(&one_line(&d), 200)),
        state: nonempty(&s.state),
        result: nonempty(&s.result),
        duration_ms: s.duration_in_millis.filter(|d| *d > 0),
    }
}

pub(super) fn stage_view(n: &BlueNode) -> StageView {
    StageView {
        id: n.id.clone(),
        name: nonempty(&n.display_name),
        state: nonempty(&n.state),
        result: nonempty(&n.result),
        duration_ms: n.duration_in_millis.filter(|d| *d > 0),
        steps: n.steps.as_deref().unwrap_or_default().iter().map(step_view).collect(),
    }
}

pub(super) fn bad_result(r: Option<&str>) -> bool {
    matches!(r, Some("FAILURE") | Some("UNSTABLE") | Some("ABORTED"))
}

/// The first stage that failed (or is unstable/aborted) and its failing step.
pub(super) fn first_failing(nodes: &[BlueNode]) -> Option<(&BlueNode, Option<&BlueStep>)> {
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

pub(super) fn first_error(lines: &[Kept]) -> Option<String> {
    lines
        .iter()
        .find(|k| ERROR_RE.is_match(&k.text) && !NOT_ERROR_RE.is_match(&k.text))
        .map(|k| clip(&k.render(), ERROR_LINE_CAP))
}

pub(super) fn summary(
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
}
