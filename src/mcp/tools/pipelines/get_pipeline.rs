//! `get_pipeline`: one pipeline in detail, compact.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::models::keys;
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::syncview::SyncStatus;

pub struct GetPipeline;

/// Longest Jenkinsfile returned inline.
const MAX_JENKINSFILE: usize = 8000;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct GetPipelineInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Pipeline name.
    pub name: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ParameterSummary {
    pub name: String,
    /// string, text, boolean, choice, file or password.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SyncState {
    /// successful (Jenkins has it) or pending (not yet).
    pub status: SyncStatus,
    /// What pending means and when to worry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GetPipelineOutput {
    pub project: ProjectRef,
    pub name: String,
    /// `pipeline` or `multi-branch-pipeline`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    pub sync: SyncState,
    /// Regular pipeline: the Jenkinsfile (cut at 8000 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jenkinsfile: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub jenkinsfile_truncated: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ParameterSummary>,
    /// Multi-branch: git, github, gitlab, bitbucket_server, svn or single_svn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_path: Option<String>,
    /// Multi-branch: id of the credential used to reach the repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// Multi-branch: branch names as Git names them, from KubeSphere's copy of Jenkins' data, which lags a scan by about 10 s (list_branches reads Jenkins live).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch_names: Option<Vec<String>>,
}

impl ToolDef for GetPipeline {
    const NAME: &'static str = "get_pipeline";
    const TITLE: &'static str = "Get a pipeline";
    const DESCRIPTION: &'static str = "Shows one pipeline of a DevOps project: type, description, sync status, parameters, the Jenkinsfile of a regular pipeline, and the repository, script path, credential and known branches of a multi-branch pipeline.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "name": "hello"}"#;
    const TOOLSET: Toolset = Toolset::Pipelines;
    const HINTS: Hints = Hints::READ;
    type Input = GetPipelineInput;
    type Output = GetPipelineOutput;

    async fn call(ctx: ToolCtx, input: GetPipelineInput) -> Result<GetPipelineOutput, ToolError> {
        let project = resolve_input(&ctx, &input.scope).await?;
        let p = ctx
            .client
            .get_pipeline(&project.cluster(), &project.name, &input.name)
            .await?;
        let meta = &p.metadata;
        let plain = p.spec.pipeline.as_ref();
        let mb = p.spec.multi_branch_pipeline.as_ref();
        let (jenkinsfile, truncated) = match plain.and_then(|x| x.jenkinsfile.clone()) {
            Some(j) if j.chars().count() > MAX_JENKINSFILE => (Some(j.chars().take(MAX_JENKINSFILE).collect()), true),
            other => (other, false),
        };
        let metadata: Option<serde_json::Value> = meta
            .annotation(keys::PIPELINE_JENKINS_METADATA)
            .and_then(|s| serde_json::from_str(s).ok());
        let branch_names = metadata
            .as_ref()
            .and_then(|m| m.get("branchNames"))
            .and_then(|b| b.as_array())
            // Jenkins job names (`feature%2Flogin`), shown as Git names.
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .map(|n| {
                        crate::kubesphere::BranchName::from_encoded(n)
                            .map(|b| b.raw().to_string())
                            .unwrap_or_else(|_| n.to_string())
                    })
                    .collect()
            });
        Ok(GetPipelineOutput {
            name: meta.name.clone(),
            kind: p.spec.kind.clone(),
            description: p.description(),
            created: meta.creation_timestamp.clone(),
            creator: meta.annotation(keys::CREATOR).map(str::to_string),
            sync: {
                let status = SyncStatus::of(meta.annotation(keys::PIPELINE_SYNC_STATUS));
                SyncState {
                    status,
                    note: (status == SyncStatus::Pending).then(|| SyncStatus::pending_hint("pipeline")),
                }
            },
            jenkinsfile,
            jenkinsfile_truncated: truncated,
            parameters: plain
                .map(|x| {
                    x.parameters
                        .iter()
                        .map(|d| ParameterSummary {
                            name: d.name.clone(),
                            kind: d.kind.clone(),
                            default_value: d.default_value.clone(),
                            description: d.description.clone().filter(|s| !s.is_empty()),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            source_type: mb.map(|m| m.source_type.clone()).filter(|s| !s.is_empty()),
            repository_url: mb.and_then(|m| m.repository_url()),
            script_path: mb.and_then(|m| m.script_path.clone()).filter(|s| !s.is_empty()),
            credential_id: mb.and_then(|m| m.credential_id()),
            branch_names,
            project,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn regular_and_multibranch() {
        let sim = sim().await;
        let hello = call(
            &ctx(&sim),
            "get_pipeline",
            serde_json::json!({"project": "stone-devops", "name": "hello"}),
        )
        .await
        .unwrap();
        assert_eq!(hello["type"], "pipeline");
        assert!(hello["jenkinsfile"].as_str().unwrap().contains("echo"));
        let echo = call(
            &ctx(&sim),
            "get_pipeline",
            serde_json::json!({"project": "stone-devops", "name": "echo-pipeline"}),
        )
        .await
        .unwrap();
        assert_eq!(echo["type"], "multi-branch-pipeline");
        assert_eq!(echo["source_type"], "git");
        assert!(echo.get("jenkinsfile").is_none());
        // Jenkins' encoded job names come back as Git names.
        let names: Vec<&str> = echo["branch_names"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n.as_str())
            .collect();
        assert!(names.contains(&"feature/login"), "{names:?}");
    }

    /// U11: a new pipeline carries no sync annotation until Jenkins has it,
    /// then only `successful`; absent means pending, never "failed".
    #[tokio::test]
    async fn sync_status_of_a_new_pipeline() {
        let sim = crate::testing::sim_with(ks_sim::SimOptions {
            run_phase: std::time::Duration::from_millis(800),
            ..Default::default()
        })
        .await;
        let c = ctx(&sim);
        let created = call(
            &c,
            "create_pipeline",
            serde_json::json!({"project": "stone-devops", "name": "fresh", "jenkinsfile": "pipeline { agent any\n stages { stage('a') { steps { echo 'a' } } } }"}),
        )
        .await
        .unwrap();
        assert_eq!(created["sync_status"], "pending", "{created:#}");
        let get = || {
            call(
                &c,
                "get_pipeline",
                serde_json::json!({"project": "stone-devops", "name": "fresh"}),
            )
        };
        let out = get().await.unwrap();
        assert_eq!(out["sync"]["status"], "pending", "{out:#}");
        assert!(
            out["sync"]["note"]
                .as_str()
                .unwrap()
                .contains("never reports a failed sync")
        );
        let listed = call(
            &c,
            "list_pipelines",
            serde_json::json!({"project": "stone-devops", "name_contains": "fresh"}),
        )
        .await
        .unwrap();
        assert_eq!(listed["pipelines"][0]["sync_status"], "pending", "{listed:#}");
        tokio::time::sleep(std::time::Duration::from_millis(900)).await;
        let out = get().await.unwrap();
        assert_eq!(out["sync"], serde_json::json!({"status": "successful"}), "{out:#}");
    }

    #[tokio::test]
    async fn missing_and_invalid_names() {
        let sim = sim().await;
        let err = call(
            &ctx(&sim),
            "get_pipeline",
            serde_json::json!({"project": "stone-devops", "name": "nope"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "not_found", "{err}");
        sim.clear_requests();
        let err = call(
            &ctx(&sim),
            "get_pipeline",
            serde_json::json!({"project": "stone-devops", "name": "../../apis"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "invalid_name", "{err}");
        assert!(
            sim.requests().iter().all(|r| !r.path.contains("pipelines/")),
            "{:?}",
            sim.requests()
        );
    }
}
