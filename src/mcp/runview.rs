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
    /// `jenkins_only`: Jenkins has the run but KubeSphere has no PipelineRun for it (started by a webhook, a branch scan or a replay; it may be imported later): address it by `pipeline` + `run_id` (+ `branch`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<RunSource>,
}

/// Where a run is known from, when not from a PipelineRun.
#[derive(Clone, Copy, Debug, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunSource {
    JenkinsOnly,
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

/// One time format whatever the source: Kubernetes and the PipelineRun
/// status annotation use RFC 3339 (U12), Blue Ocean (v1alpha2) uses
/// `2026-03-19T02:50:12.747+0000`. Unparseable text is kept as it is.
fn rfc3339_utc(s: Option<String>) -> Option<String> {
    let s = nonempty(s)?;
    let t = s.trim();
    let parsed = chrono::DateTime::parse_from_rfc3339(t)
        .or_else(|_| chrono::DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z"));
    Some(match parsed {
        Ok(d) => d
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        Err(_) => s,
    })
}

impl RunView {
    pub fn from_pipelinerun(pr: &PipelineRun) -> RunView {
        let blue = pr.blue_status().unwrap_or_default();
        let mut v = RunView::from_blue(&blue, pr.pipeline());
        v.name = Some(pr.metadata.name.clone());
        v.run_id = pr.jenkins_id().map(str::to_string).or(v.run_id);
        v.branch = pr.branch().or(v.branch);
        v.phase = nonempty(pr.status.phase.clone());
        v.started = rfc3339_utc(pr.status.start_time.clone()).or(v.started);
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
            started: rfc3339_utc(run.start_time.clone()),
            duration_ms: run.duration_in_millis.filter(|d| *d > 0),
            cause: run
                .causes
                .as_ref()
                .and_then(|c| c.iter().find_map(|c| nonempty(c.short_description.clone()))),
            source: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_come_out_as_rfc3339_utc() {
        assert_eq!(
            rfc3339_utc(Some("2026-03-19T02:50:12.747+0000".into())).as_deref(),
            Some("2026-03-19T02:50:12Z")
        );
        assert_eq!(
            rfc3339_utc(Some("2026-03-19T10:50:12+08:00".into())).as_deref(),
            Some("2026-03-19T02:50:12Z")
        );
        assert_eq!(rfc3339_utc(Some(" ".into())), None);
        assert_eq!(rfc3339_utc(Some("soon".into())).as_deref(), Some("soon"));
    }

    /// U12: the status annotation as jenkins-client marshals it: RFC 3339
    /// times, unset ones as explicit null, a numeric duration.
    #[test]
    fn status_annotation_with_nulls() {
        let queued: BlueRun = serde_json::from_str(
            r#"{"causes":[{"_class":"hudson.model.Cause$UserIdCause","shortDescription":"Started by user tenant"}],"durationInMillis":0,"enQueueTime":"2026-03-19T02:50:11Z","endTime":null,"startTime":null,"estimatedDurationInMillis":1000,"id":"4","organization":"jenkins","pipeline":"hello","replayable":true,"result":"UNKNOWN","state":"QUEUED","type":"WorkflowRun","queueId":"17"}"#,
        )
        .unwrap();
        let v = RunView::from_blue(&queued, None);
        assert_eq!(v.state.as_deref(), Some("QUEUED"));
        assert_eq!(v.started, None);
        assert_eq!(v.duration_ms, None);
        assert!(!v.finished);
        let done: BlueRun = serde_json::from_str(
            r#"{"durationInMillis":15110,"enQueueTime":"2026-03-19T02:50:11Z","endTime":"2026-03-19T02:50:27Z","startTime":"2026-03-19T02:50:12Z","id":"4","result":"SUCCESS","state":"FINISHED"}"#,
        )
        .unwrap();
        let v = RunView::from_blue(&done, None);
        assert_eq!(v.started.as_deref(), Some("2026-03-19T02:50:12Z"));
        assert_eq!(v.duration_ms, Some(15110));
        assert!(v.finished);
    }
}
