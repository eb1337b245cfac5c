//! `scan_repository`: start branch indexing of a multi-branch pipeline.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::models::PIPELINE_TYPE_MULTI_BRANCH;
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct ScanRepository;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ScanRepositoryInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Multi-branch pipeline to scan.
    pub pipeline: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ScanRepositoryOutput {
    pub project: ProjectRef,
    pub pipeline: String,
    /// True: Jenkins accepted the scan request.
    pub started: bool,
    pub next: String,
}

impl ToolDef for ScanRepository {
    const NAME: &'static str = "scan_repository";
    const TITLE: &'static str = "Scan a repository for branches";
    const DESCRIPTION: &'static str = "Starts branch indexing of a multi-branch pipeline (Jenkins finds branches with a Jenkinsfile and builds new ones). Use after create_multibranch_pipeline or when a pushed branch is missing. Then read get_scan_log until finished, then list_branches.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "pipeline": "echo-pipeline"}"#;
    const TOOLSET: Toolset = Toolset::Pipelines;
    const HINTS: Hints = Hints {
        read_only: false,
        destructive: false,
        idempotent: true,
        open_world: false,
    };
    const CHECK: &'static str = "get_scan_log";
    type Input = ScanRepositoryInput;
    type Output = ScanRepositoryOutput;

    async fn call(ctx: ToolCtx, input: ScanRepositoryInput) -> Result<ScanRepositoryOutput, ToolError> {
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let p = ctx
            .client
            .get_pipeline(&cluster, &project.name, &input.pipeline)
            .await?;
        if p.spec.kind != PIPELINE_TYPE_MULTI_BRANCH {
            return Err(ToolError::InvalidInput(format!(
                "{} is a regular pipeline: only multi-branch pipelines have branches to scan. Start it with trigger_run.",
                input.pipeline
            )));
        }
        ctx.client
            .scan_pipeline(&cluster, &project.name, &input.pipeline)
            .await?;
        Ok(ScanRepositoryOutput {
            next: format!(
                "Indexing runs in Jenkins: read get_scan_log (pipeline {:?}) until it is finished to see which branches have a Jenkinsfile, then list_branches (read live from Jenkins; KubeSphere's own copy of the list lags a scan by about 10 s).",
                input.pipeline
            ),
            pipeline: input.pipeline,
            project,
            started: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn scan_then_log_then_branches() {
        let sim = sim().await;
        let c = ctx(&sim);
        assert!(sim.add_repo_branch(
            "host",
            "stone-devops",
            "echo-pipeline",
            "release-1",
            Some("pipeline { agent any\n stages { stage('x') { steps { echo 'r' } } } }")
        ));
        let out = call(
            &c,
            "scan_repository",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
        )
        .await
        .unwrap();
        assert_eq!(out["started"], true);
        let log = call(
            &c,
            "get_scan_log",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
        )
        .await
        .unwrap();
        let text = log["log"].as_str().unwrap();
        assert!(
            text.contains("release-1") && text.contains("Does not meet criteria"),
            "{text}"
        );
        assert_eq!(log["finished"], true);
        let br = call(
            &c,
            "list_branches",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
        )
        .await
        .unwrap();
        let names: Vec<&str> = br["branches"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["name"].as_str())
            .collect();
        assert!(names.contains(&"release-1") && !names.contains(&"docs"), "{names:?}");
    }

    #[tokio::test]
    async fn a_regular_pipeline_is_not_scanned() {
        let sim = sim().await;
        let err = call(
            &ctx(&sim),
            "scan_repository",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "invalid_input");
        assert!(crate::testing::only_reads(&sim));
    }
}
