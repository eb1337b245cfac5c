//! Run models: the v1alpha3 PipelineRun and Blue Ocean's runs, branches,
//! nodes, steps and inputs.

use serde::{Deserialize, Serialize};

use super::ObjectMeta;
use crate::path::BranchName;

/// Annotation keys of PipelineRuns.
pub mod run_keys {
    pub const PIPELINE_LABEL: &str = "devops.kubesphere.io/pipeline";
    pub const JENKINS_ID: &str = "devops.kubesphere.io/jenkins-pipelinerun-id";
    pub const JENKINS_STATUS: &str = "devops.kubesphere.io/jenkins-pipelinerun-status";
    pub const CREATOR: &str = "devops.kubesphere.io/creator";
}

/// `devops.kubesphere.io/v1alpha3` PipelineRun.
#[derive(Clone, Debug, Deserialize)]
pub struct PipelineRun {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PipelineRunSpec,
    #[serde(default)]
    pub status: PipelineRunStatus,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineRunSpec {
    #[serde(default)]
    pub pipeline_ref: Option<PipelineRef>,
    #[serde(default)]
    pub scm: Option<PipelineRunScm>,
    #[serde(default)]
    pub parameters: Option<Vec<NameValue>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct PipelineRef {
    #[serde(default)]
    pub name: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineRunScm {
    #[serde(default)]
    pub ref_name: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineRunStatus {
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub completion_time: Option<String>,
}

impl PipelineRun {
    pub fn jenkins_id(&self) -> Option<&str> {
        self.metadata.annotation(run_keys::JENKINS_ID).filter(|s| !s.is_empty())
    }

    /// The Blue Ocean run stored in the status annotation (filled in by the
    /// kapi GET and the `backward=false` list; `""` before the first sync).
    pub fn blue_status(&self) -> Option<BlueRun> {
        self.metadata
            .annotation(run_keys::JENKINS_STATUS)
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| serde_json::from_str(s).ok())
    }

    pub fn pipeline(&self) -> Option<String> {
        self.metadata
            .labels
            .get(run_keys::PIPELINE_LABEL)
            .cloned()
            .or_else(|| self.spec.pipeline_ref.as_ref().map(|r| r.name.clone()))
            .filter(|s| !s.is_empty())
    }

    /// `spec.scm.refName`: the branch's encoded (Jenkins job) name (§16
    /// U4). A name that is no valid branch is left out.
    pub fn branch(&self) -> Option<BranchName> {
        self.spec
            .scm
            .as_ref()
            .map(|s| s.ref_name.as_str())
            .filter(|s| !s.is_empty())
            .and_then(|s| BranchName::from_encoded(s).ok())
    }
}

/// A Blue Ocean run (v1alpha2), also stored in PipelineRun annotations.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlueRun {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub pipeline: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub duration_in_millis: Option<i64>,
    #[serde(default)]
    pub causes: Option<Vec<BlueCause>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlueCause {
    #[serde(default)]
    pub short_description: Option<String>,
}

/// A branch of a multi-branch pipeline (v1alpha3 view).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Branch {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub raw_name: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub latest_run: Option<BlueRun>,
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
}

impl Branch {
    /// The branch name as Git knows it (`feature/x`, not `feature%2Fx`):
    /// `rawName`, else `name` decoded as Jenkins encodes it.
    pub fn display_name(&self) -> String {
        self.raw_name.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| {
            BranchName::from_encoded(&self.name)
                .map(|b| b.raw().to_string())
                .unwrap_or_else(|_| self.name.clone())
        })
    }

    /// The branch, addressed by upstream's `name` (the encoded job name),
    /// so it matches Jenkins whatever `rawName` says.
    pub fn branch_name(&self) -> Option<BranchName> {
        BranchName::from_encoded(&self.name).ok()
    }
}

/// A stage of a Blue Ocean run (`nodesdetail`), with its steps.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlueNode {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub duration_in_millis: Option<i64>,
    #[serde(default)]
    pub steps: Option<Vec<BlueStep>>,
}

/// A step of a Blue Ocean run.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlueStep {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// E.g. the shell command of an `sh` step.
    #[serde(default)]
    pub display_description: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub duration_in_millis: Option<i64>,
    /// Set while an `input` step waits for an answer.
    #[serde(default)]
    pub input: Option<BlueInput>,
    /// Upstream spells it `aprovable` on v1alpha2 (`approvable` on v1alpha3).
    #[serde(default, alias = "approvable")]
    pub aprovable: Option<bool>,
}

/// The pending input of a paused step.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct BlueInput {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub ok: Option<String>,
    /// Who may answer (comma-separated users/groups); empty = anyone.
    #[serde(default)]
    pub submitter: Option<String>,
}
