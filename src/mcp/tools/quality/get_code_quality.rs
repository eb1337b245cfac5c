//! `get_code_quality`: the SonarQube quality gate of a pipeline (or of a
//! branch of a multi-branch pipeline), from the analysis of its last run
//! (`GET DV2/…/sonarstatus`, read-only).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kubesphere::KsError;
use crate::kubesphere::models::PIPELINE_TYPE_MULTI_BRANCH;
use crate::kubesphere::path::validate_subdomain;
use crate::kubesphere::quality::SonarStatus;
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runlocate::parse_branch;

pub struct GetCodeQuality;

/// Metrics reported (SonarQube keys).
const METRICS: [&str; 6] = [
    "bugs",
    "vulnerabilities",
    "code_smells",
    "coverage",
    "duplicated_lines_density",
    "ncloc",
];
/// Issues listed at most per analysis.
const MAX_ISSUES: usize = 10;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct GetCodeQualityInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Pipeline name.
    pub pipeline: String,
    /// Multi-branch only: the branch, e.g. feature/login.
    #[serde(default)]
    pub branch: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum QualityStatus {
    /// The quality gate passed.
    Passed,
    /// The quality gate failed.
    Failed,
    /// The gate reported a warning.
    Warning,
    /// No run of this pipeline ran a SonarQube analysis.
    NotConfigured,
    /// A run is going but none has completed yet.
    NoCompletedRun,
    /// The pipeline (branch) has no run.
    NoRuns,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GateCondition {
    pub metric: String,
    /// LT (less than) or GT (greater than): the condition fails when `actual` is on that side of `threshold`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// OK, WARN or ERROR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct IssueView {
    pub severity: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub message: String,
    pub rule: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Analysis {
    /// SonarQube project key.
    pub component: String,
    /// The gate as SonarQube says it: OK, WARN or ERROR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    pub conditions: Vec<GateCondition>,
    /// bugs, vulnerabilities, code_smells, coverage (%), duplicated_lines_density (%), ncloc.
    pub metrics: BTreeMap<String, String>,
    pub open_issues: u64,
    /// The first open issues (at most 10).
    pub issues: Vec<IssueView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysed_at: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GetCodeQualityOutput {
    pub project: ProjectRef,
    pub pipeline: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    pub status: QualityStatus,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub analyses: Vec<Analysis>,
    pub summary: String,
}

fn analysis(s: &SonarStatus) -> Analysis {
    let component = s
        .measures
        .as_ref()
        .and_then(|m| m.component.as_ref())
        .map(|c| c.key.clone())
        .unwrap_or_default();
    let conditions = s
        .gate_details()
        .and_then(|d| d.get("conditions").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
            GateCondition {
                metric: s("metric").unwrap_or_default(),
                operator: s("op"),
                threshold: s("error"),
                actual: s("actual"),
                status: s("level"),
            }
        })
        .collect();
    let metrics = METRICS
        .iter()
        .filter_map(|m| s.measure(m).map(|v| (m.to_string(), v.to_string())))
        .collect();
    let issues = s.issues.as_ref();
    Analysis {
        component,
        gate: s.measure("alert_status").map(str::to_string),
        conditions,
        metrics,
        open_issues: issues.map(|i| i.total).unwrap_or(0),
        issues: issues
            .map(|i| {
                i.issues
                    .iter()
                    .take(MAX_ISSUES)
                    .map(|x| IssueView {
                        severity: x.severity.clone(),
                        kind: x.kind.clone(),
                        file: x.component.rsplit(':').next().unwrap_or(&x.component).to_string(),
                        line: x.line,
                        message: crate::text::cut(&x.message, 300),
                        rule: x.rule.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        analysed_at: s
            .task
            .as_ref()
            .and_then(|t| t.task.as_ref())
            .and_then(|t| t.executed_at.clone().or_else(|| t.submitted_at.clone())),
    }
}

/// ks-devops' answer for a job without any build: HTTP 500 whose text is
/// Jenkins' status (`errors.New("404")`, `[ServiceError:404] …`).
fn is_no_build(e: &KsError) -> bool {
    matches!(e, KsError::Upstream { status: 500, message, .. }
        if message.trim() == "404" || message.contains("[ServiceError:404]"))
}

impl ToolDef for GetCodeQuality {
    const NAME: &'static str = "get_code_quality";
    const TITLE: &'static str = "Get the code quality gate";
    const DESCRIPTION: &'static str = "SonarQube quality gate of a pipeline (or a multi-branch pipeline's branch) from its last analysed run: passed/failed, failing conditions, metrics, first issues; not_configured when no run ran an analysis.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "pipeline": "quality-check"}"#;
    const TOOLSET: Toolset = Toolset::Quality;
    const HINTS: Hints = Hints::READ;
    type Input = GetCodeQualityInput;
    type Output = GetCodeQualityOutput;

    async fn call(ctx: ToolCtx, input: GetCodeQualityInput) -> Result<GetCodeQualityOutput, ToolError> {
        validate_subdomain("pipeline name", &input.pipeline)?;
        let branch = parse_branch(input.branch.as_deref())?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let p = ctx
            .client
            .get_pipeline(&cluster, &project.name, &input.pipeline)
            .await?;
        let multi = p.spec.kind == PIPELINE_TYPE_MULTI_BRANCH;
        if multi && branch.is_none() {
            return Err(ToolError::InvalidInput(format!(
                "{:?} is a multi-branch pipeline: pass `branch` (list_branches shows them)",
                input.pipeline
            )));
        }
        if !multi && branch.is_some() {
            return Err(ToolError::InvalidInput(format!(
                "{:?} is a regular pipeline: omit `branch`",
                input.pipeline
            )));
        }
        let answer = ctx
            .client
            .sonar_status(&cluster, &project.name, &input.pipeline, branch.as_ref())
            .await;
        let branch_name = branch.as_ref().map(|b| b.raw().to_string());
        let (status, analyses, summary) = match answer {
            Err(e) if is_no_build(&e) => (
                QualityStatus::NoRuns,
                Vec::new(),
                "No run yet, so no quality gate: trigger_run, then ask again once it finished.".to_string(),
            ),
            Err(e) => return Err(e.into()),
            Ok(None) => (
                QualityStatus::NoCompletedRun,
                Vec::new(),
                "No run has completed yet; ask again when the current one finished (wait_for_run).".to_string(),
            ),
            Ok(Some(list)) if list.is_empty() => (
                QualityStatus::NotConfigured,
                Vec::new(),
                "Not configured: no run of this pipeline ran a SonarQube analysis (a Jenkinsfile step inside withSonarQubeEnv).".to_string(),
            ),
            Ok(Some(list)) => {
                let analyses: Vec<Analysis> = list.iter().map(analysis).collect();
                let gates: Vec<&str> = analyses.iter().filter_map(|a| a.gate.as_deref()).collect();
                let status = if gates.contains(&"ERROR") {
                    QualityStatus::Failed
                } else if gates.contains(&"WARN") {
                    QualityStatus::Warning
                } else {
                    QualityStatus::Passed
                };
                let failing: Vec<String> = analyses
                    .iter()
                    .flat_map(|a| &a.conditions)
                    .filter(|c| c.status.as_deref() == Some("ERROR"))
                    .map(|c| {
                        format!(
                            "{} is {} ({} {})",
                            c.metric,
                            c.actual.as_deref().unwrap_or("?"),
                            match c.operator.as_deref() {
                                Some("LT") => "must be at least",
                                Some("GT") => "must be at most",
                                _ => "threshold",
                            },
                            c.threshold.as_deref().unwrap_or("?")
                        )
                    })
                    .collect();
                let summary = match status {
                    QualityStatus::Failed => format!("Quality gate FAILED: {}.", failing.join("; ")),
                    QualityStatus::Warning => "Quality gate passed with warnings.".into(),
                    _ => "Quality gate passed.".into(),
                };
                (status, analyses, summary)
            }
        };
        Ok(GetCodeQualityOutput {
            project,
            pipeline: input.pipeline,
            branch: branch_name,
            status,
            analyses,
            summary,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn gate_not_configured_and_no_runs() {
        let sim = sim().await;
        let c = ctx(&sim);
        let out = call(
            &c,
            "get_code_quality",
            json!({"project": "stone-devops", "pipeline": "quality-check"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "failed", "{out}");
        assert_eq!(out["analyses"][0]["gate"], "ERROR");
        assert_eq!(out["analyses"][0]["metrics"]["coverage"], "62.5");
        assert!(
            out["summary"].as_str().unwrap().contains("new_coverage is 62.5"),
            "{out}"
        );
        assert_eq!(out["analyses"][0]["issues"][0]["file"], "src/main/java/app/Cart.java");
        let out = call(
            &c,
            "get_code_quality",
            json!({"project": "stone-devops", "pipeline": "hello"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "not_configured");
        // A pipeline without any run.
        call(
            &c,
            "create_pipeline",
            json!({"project": "stone-devops", "name": "fresh", "jenkinsfile": "pipeline { agent any\n stages { stage('A') { steps { echo 'a' } } } }"}),
        )
        .await
        .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let out = call(
            &c,
            "get_code_quality",
            json!({"project": "stone-devops", "pipeline": "fresh"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "no_runs", "{out}");
        // Multi-branch needs a branch; a branch with a `/` works (U3/U4).
        let err = call(
            &c,
            "get_code_quality",
            json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("branch"), "{err}");
        let out = call(
            &c,
            "get_code_quality",
            json!({"project": "stone-devops", "pipeline": "echo-pipeline", "branch": "main"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "not_configured", "{out}");
        let out = call(
            &c,
            "get_code_quality",
            json!({"project": "stone-devops", "pipeline": "echo-pipeline", "branch": "feature/login"}),
        )
        .await;
        // Indexed but never built: Jenkins has the job and no build.
        assert_eq!(out.unwrap()["status"], "no_runs");
    }
}
