//! `list_branches`: branches of a multi-branch pipeline.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::paging::{PageInfo, PageRequest};
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runview::RunView;

crate::project_scoped!(ListBranchesInput);

pub struct ListBranches;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListBranchesInput {
    /// DevOps project as the user named it (full or short name); an ambiguous name is never guessed.
    pub project: String,
    /// Multi-branch pipeline name.
    pub pipeline: String,
    /// Also list pull/merge requests.
    #[serde(default)]
    pub include_pull_requests: bool,
    #[serde(default)]
    pub workspace: Option<String>,
    #[serde(default)]
    pub cluster: Option<String>,
    /// Page size (1-500, default 50).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `continue` value of the previous page.
    #[serde(default, rename = "continue")]
    pub continue_token: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BranchSummary {
    /// Branch name as Git knows it (pass it to trigger_run).
    pub name: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pull_request: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// The branch's latest run, if it has been built.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_run: Option<RunView>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListBranchesOutput {
    pub project: ProjectRef,
    pub pipeline: String,
    pub branches: Vec<BranchSummary>,
    #[serde(flatten)]
    pub page: PageInfo,
}

impl ToolDef for ListBranches {
    const NAME: &'static str = "list_branches";
    const TITLE: &'static str = "List branches of a multi-branch pipeline";
    const DESCRIPTION: &'static str = "Lists the branches Jenkins discovered for a multi-branch pipeline, each with its latest run id, state and result. Empty or stale after a repository change: run scan_repository first. Use it to let the user pick a branch before trigger_run.";
    const TOOLSET: Toolset = Toolset::Pipelines;
    const HINTS: Hints = Hints::READ;
    type Input = ListBranchesInput;
    type Output = ListBranchesOutput;

    async fn call(ctx: ToolCtx, input: ListBranchesInput) -> Result<ListBranchesOutput, ToolError> {
        let page = PageRequest::parse(input.limit, input.continue_token.as_deref())?;
        let project = resolve_input(&ctx, &input).await?;
        let cluster = project.cluster();
        let (items, info) = page
            .fetch(|p| {
                ctx.client
                    .list_branches(&cluster, &project.name, &input.pipeline, input.include_pull_requests, p)
            })
            .await?;
        Ok(ListBranchesOutput {
            branches: items
                .iter()
                .map(|b| BranchSummary {
                    name: b.display_name(),
                    pull_request: b.pull_request.as_ref().is_some_and(|p| !p.is_null()),
                    disabled: b.disabled.unwrap_or(false),
                    latest_run: b.latest_run.as_ref().map(|r| {
                        let mut v = RunView::from_blue(r, Some(input.pipeline.clone()));
                        v.branch = b.branch_name();
                        v
                    }),
                })
                .collect(),
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
    async fn lists_demo_branches() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "list_branches",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
        )
        .await
        .unwrap();
        let names: Vec<&str> = out["branches"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["name"].as_str())
            .collect();
        assert!(
            names.contains(&"main") && names.contains(&"feature-branch"),
            "{names:?}"
        );
    }

    #[tokio::test]
    async fn regular_pipeline_has_no_branches() {
        let sim = sim().await;
        let err = call(
            &ctx(&sim),
            "list_branches",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "bad_request", "{err}");
        assert!(err.to_string().contains("multi-branch"), "{err}");
    }
}
