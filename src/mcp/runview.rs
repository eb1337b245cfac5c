//! One compact view of a run, whether it came from a v1alpha3
//! PipelineRun or a v1alpha2 Blue Ocean run.

use schemars::JsonSchema;
use serde::Serialize;

use crate::kubesphere::BranchName;
use crate::kubesphere::models::{BlueRun, PipelineRun};

/// A run, compact.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq)]
pub struct RunView {
    /// PipelineRun name (what get_run and wait_for_run take).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Jenkins run id (build number); appears once Jenkins has the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
    /// Branch of a multi-branch pipeline run, as Git names it (`feature/login`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub branch: Option<BranchName>,
    /// PipelineRun phase: Pending (also: waiting for input), Running, Succeeded, Failed (also: aborted), Unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Jenkins state: QUEUED, RUNNING, PAUSED, SKIPPED, NOT_BUILT, FINISHED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Jenkins result: SUCCESS, UNSTABLE, FAILURE, NOT_BUILT, ABORTED, UNKNOWN (still running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    /// Why it started, e.g. "Started by user alice".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// True once the run will not change any more.
    pub finished: bool,
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

impl RunView {
    pub fn from_pipelinerun(pr: &PipelineRun) -> RunView {
        let blue = pr.blue_status().unwrap_or_default();
        let mut v = RunView::from_blue(&blue, pr.pipeline());
        v.name = Some(pr.metadata.name.clone());
        v.run_id = pr.jenkins_id().map(str::to_string).or(v.run_id);
        v.branch = pr.branch().or(v.branch);
        v.phase = nonempty(pr.status.phase.clone());
        v.started = nonempty(pr.status.start_time.clone()).or(v.started);
        v.finished = v.finished
            || matches!(
                v.phase.as_deref(),
                Some("Succeeded") | Some("Failed") | Some("Cancelled")
            ) && pr.status.completion_time.is_some();
        if v.state.is_none() && v.phase.is_none() {
            v.state = Some("QUEUED".into());
        }
        v
    }

    pub fn from_blue(run: &BlueRun, pipeline: Option<String>) -> RunView {
        let state = nonempty(run.state.clone());
        RunView {
            name: None,
            run_id: nonempty(run.id.clone()),
            pipeline: pipeline.or_else(|| nonempty(run.pipeline.clone())),
            branch: None,
            phase: None,
            finished: matches!(state.as_deref(), Some("FINISHED") | Some("SKIPPED") | Some("NOT_BUILT")),
            state,
            result: nonempty(run.result.clone()),
            started: nonempty(run.start_time.clone()),
            duration_ms: run.duration_in_millis.filter(|d| *d > 0),
            cause: run
                .causes
                .as_ref()
                .and_then(|c| c.iter().find_map(|c| nonempty(c.short_description.clone()))),
        }
    }
}
