//! `get_scan_log`: the branch-indexing log of a multi-branch pipeline,
//! bounded to its tail.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::KsError;
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct GetScanLog;

/// Bytes of the log kept at most.
const MAX_BYTES: usize = 16 * 1024;
const DEFAULT_LINES: u32 = 100;
const MAX_LINES: u32 = 1000;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct GetScanLogInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Multi-branch pipeline.
    pub pipeline: String,
    /// Last lines (default 100; at most 16 KB).
    #[serde(default)]
    #[schemars(range(min = 1, max = 1000))]
    pub tail_lines: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GetScanLogOutput {
    pub project: ProjectRef,
    pub pipeline: String,
    /// The returned tail of the log.
    pub log: String,
    /// Size of the whole log in bytes.
    pub total_bytes: u64,
    /// True when earlier lines were left out.
    pub truncated: bool,
    /// True when the log ends with Jenkins' `Finished:` line.
    pub finished: bool,
}

impl ToolDef for GetScanLog {
    const NAME: &'static str = "get_scan_log";
    const TITLE: &'static str = "Read the branch-indexing log";
    const DESCRIPTION: &'static str = "Tail of a multi-branch pipeline's last branch-indexing (scan) log: branches checked and built, errors such as repository authentication failures. Use after scan_repository, or when list_branches lacks a branch.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "pipeline": "echo-pipeline"}"#;
    const TOOLSET: Toolset = Toolset::Pipelines;
    const HINTS: Hints = Hints::READ;
    type Input = GetScanLogInput;
    type Output = GetScanLogOutput;

    async fn call(ctx: ToolCtx, input: GetScanLogInput) -> Result<GetScanLogOutput, ToolError> {
        let lines = input.tail_lines.unwrap_or(DEFAULT_LINES).clamp(1, MAX_LINES) as usize;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        // Tells a missing pipeline (404) from a missing log (404 too).
        ctx.client
            .get_pipeline(&cluster, &project.name, &input.pipeline)
            .await?;
        let tail = match ctx
            .client
            .scan_log(&cluster, &project.name, &input.pipeline, MAX_BYTES)
            .await
        {
            Ok(t) => t,
            Err(KsError::NotFound { .. }) => {
                return Err(ToolError::NeedsUserInput(format!(
                    "{} has no branch-indexing log yet: it has not been scanned. Run scan_repository first.",
                    input.pipeline
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let text = String::from_utf8_lossy(&tail.tail);
        let finished = text.lines().rev().take(3).any(|l| l.starts_with("Finished:"));
        let mut kept: Vec<&str> = text.lines().collect();
        let mut truncated = (tail.total_bytes as usize) > tail.tail.len();
        if truncated && !kept.is_empty() {
            // The first kept line may be cut in the middle.
            kept.remove(0);
        }
        if kept.len() > lines {
            kept.drain(..kept.len() - lines);
            truncated = true;
        }
        Ok(GetScanLogOutput {
            log: kept.join("\n"),
            total_bytes: tail.total_bytes,
            truncated,
            finished,
            pipeline: input.pipeline,
            project,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn not_scanned_yet_says_what_to_do() {
        // Jenkins indexes a new multi-branch pipeline once it has synced it
        // (one sim phase): a long phase keeps "not scanned yet" true for the
        // whole test however loaded the machine is.
        let sim = crate::testing::sim_with(ks_sim::SimOptions {
            run_phase: std::time::Duration::from_secs(30),
            ..Default::default()
        })
        .await;
        let c = ctx(&sim);
        call(
            &c,
            "create_multibranch_pipeline",
            serde_json::json!({"project": "stone-devops", "name": "fresh",
            "repository_url": "https://github.com/org/fresh.git", "repository_visibility": "public"}),
        )
        .await
        .unwrap();
        let err = call(
            &c,
            "get_scan_log",
            serde_json::json!({"project": "stone-devops", "pipeline": "fresh"}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("scan_repository"), "{err}");
        let err = call(
            &c,
            "get_scan_log",
            serde_json::json!({"project": "stone-devops", "pipeline": "nope"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "not_found");
    }

    #[tokio::test]
    async fn tail_lines_bounds_the_answer() {
        let sim = sim().await;
        let c = ctx(&sim);
        call(
            &c,
            "scan_repository",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
        )
        .await
        .unwrap();
        let out = call(
            &c,
            "get_scan_log",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline", "tail_lines": 2}),
        )
        .await
        .unwrap();
        assert_eq!(out["log"].as_str().unwrap().lines().count(), 2);
        assert_eq!(out["truncated"], true);
        assert!(out["log"].as_str().unwrap().ends_with("Finished: SUCCESS"));
        assert!(out["total_bytes"].as_u64().unwrap() > out["log"].as_str().unwrap().len() as u64);
    }
}
