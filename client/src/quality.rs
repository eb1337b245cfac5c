//! SonarQube quality status of a pipeline or branch (§16.1):
//! `GET DV2/namespaces/{ns}/pipelines/{p}[/branches/{b}]/sonarstatus`.
//!
//! ks-devops reads the SonarQube tasks named by the `SonarAnalysisAction`s
//! of Jenkins' last build (else the last completed one) and answers a list
//! of `sonarqube.SonarStatus` (`task`, `measures`, `issues`): `[]` when no
//! build ran an analysis, `null` when no build has completed yet, HTTP 500
//! when the job has no build at all (ks-devops
//! `pkg/models/devops/project_pipeline_sonar_handler.go`).

use serde::Deserialize;
use serde_json::Value;

use crate::client::KsClient;
use crate::error::KsResult;
use crate::path::{ApiPath, BranchName, Cluster, gv, validate_label, validate_subdomain};

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SonarStatus {
    #[serde(default)]
    pub measures: Option<SonarMeasures>,
    #[serde(default)]
    pub issues: Option<SonarIssues>,
    #[serde(default)]
    pub task: Option<SonarTaskWrap>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SonarMeasures {
    #[serde(default)]
    pub component: Option<SonarComponent>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SonarComponent {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub measures: Vec<SonarMeasure>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SonarMeasure {
    #[serde(default)]
    pub metric: String,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SonarIssues {
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub issues: Vec<SonarIssue>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SonarIssue {
    #[serde(default)]
    pub severity: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub component: String,
    #[serde(default)]
    pub line: Option<u64>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub rule: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SonarTaskWrap {
    #[serde(default)]
    pub task: Option<SonarTask>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SonarTask {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, rename = "submittedAt")]
    pub submitted_at: Option<String>,
    #[serde(default, rename = "executedAt")]
    pub executed_at: Option<String>,
}

impl SonarStatus {
    /// A measure's value by metric key.
    pub fn measure(&self, metric: &str) -> Option<&str> {
        self.measures
            .as_ref()?
            .component
            .as_ref()?
            .measures
            .iter()
            .find(|m| m.metric == metric)?
            .value
            .as_deref()
    }

    /// `quality_gate_details` decoded (it is a JSON string in SonarQube).
    pub fn gate_details(&self) -> Option<Value> {
        serde_json::from_str(self.measure("quality_gate_details")?).ok()
    }
}

impl KsClient {
    /// `GET DV2/…/sonarstatus`; `None` when upstream answered `null` (no
    /// completed build yet).
    pub async fn sonar_status(
        &self,
        cluster: &Cluster,
        namespace: &str,
        pipeline: &str,
        branch: Option<&BranchName>,
    ) -> KsResult<Option<Vec<SonarStatus>>> {
        validate_label("project (namespace) name", namespace)?;
        validate_subdomain("pipeline name", pipeline)?;
        let mut path = ApiPath::kapi(gv::DEVOPS_V1ALPHA2)
            .lit("namespaces")
            .seg(namespace)
            .lit("pipelines")
            .seg(pipeline);
        if let Some(b) = branch {
            path = path.lit("branches").branch(b);
        }
        self.get_json(cluster, &path.lit("sonarstatus"), &[]).await
    }
}
