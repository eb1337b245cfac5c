//! `list_runs`: runs of a pipeline, newest first.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::paging::{PageInfo, PageRequest};
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runview::RunView;

pub struct ListRuns;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListRunsInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Pipeline name.
    pub pipeline: String,
    /// Only runs of this branch (multi-branch pipelines), as Git names it, e.g. `feature/login`; KubeSphere's encoded form `feature%2Flogin` means the same branch.
    #[serde(default)]
    pub branch: Option<String>,
    /// Page size (default 20).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    /// `continue` of the previous page.
    #[serde(default, rename = "continue")]
    pub continue_token: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListRunsOutput {
    pub project: ProjectRef,
    pub pipeline: String,
    /// Newest first; includes runs triggered a moment ago.
    pub runs: Vec<RunView>,
    #[serde(flatten)]
    pub page: PageInfo,
}

impl ToolDef for ListRuns {
    const NAME: &'static str = "list_runs";
    const TITLE: &'static str = "List pipeline runs";
    const DESCRIPTION: &'static str = "Lists a pipeline's runs, newest first, including one triggered a moment ago: check it after a failed trigger_run before triggering again.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "pipeline": "hello"}"#;
    const TOOLSET: Toolset = Toolset::Runs;
    const HINTS: Hints = Hints::READ;
    type Input = ListRunsInput;
    type Output = ListRunsOutput;

    async fn call(ctx: ToolCtx, input: ListRunsInput) -> Result<ListRunsOutput, ToolError> {
        let page = PageRequest::parse(
            Some(input.limit.unwrap_or(20).min(100)),
            input.continue_token.as_deref(),
        )?;
        let branch = crate::mcp::runlocate::parse_branch(input.branch.as_deref())?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        // Upstream pages are 1-based and fixed-size: fetch the page holding the offset.
        let upstream_page = (page.offset / page.limit as u64) as u32 + 1;
        let skip = (page.offset % page.limit as u64) as usize;
        let up = ctx
            .client
            .list_pipelineruns(
                &cluster,
                &project.name,
                &input.pipeline,
                branch.as_ref(),
                (upstream_page, page.limit),
            )
            .await?;
        let runs: Vec<RunView> = up.items.iter().skip(skip).map(RunView::from_pipelinerun).collect();
        let info = page.info(runs.len(), up.total);
        Ok(ListRunsOutput {
            runs,
            pipeline: input.pipeline,
            project,
            page: info,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn a_fresh_run_is_listed_first() {
        let sim = sim().await;
        let c = ctx(&sim);
        let started = call(
            &c,
            "trigger_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline", "branch": "feature-branch"}),
        )
        .await
        .unwrap();
        let name = started["run"]["name"].clone();
        let out = call(
            &c,
            "list_runs",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
        )
        .await
        .unwrap();
        let runs = out["runs"].as_array().unwrap();
        assert!(runs.iter().any(|r| r["name"] == name), "{runs:?}");
        let only = call(
            &c,
            "list_runs",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline", "branch": "feature-branch"}),
        )
        .await
        .unwrap();
        assert!(
            only["runs"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["branch"] == "feature-branch")
        );
    }
}
