//! `get_run`: one run, by PipelineRun name or Jenkins run id.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::args::{ProjectArgs, RunArgs};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runlocate::{find_run_on_branch, parse_branch};
use crate::mcp::runview::RunView;

pub struct GetRun;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct GetRunInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    #[serde(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GetRunOutput {
    pub project: ProjectRef,
    pub run: RunView,
}

impl ToolDef for GetRun {
    const NAME: &'static str = "get_run";
    const TITLE: &'static str = "Get a pipeline run";
    const DESCRIPTION: &'static str = "Shows one run: phase, Jenkins state and result, branch, start, duration, cause.";
    const EXAMPLE: &'static str =
        r#"{"project": "stone-devops", "name": {"$from": "list_runs", "pointer": "/runs/0/name"}}"#;
    const TOOLSET: Toolset = Toolset::Runs;
    const HINTS: Hints = Hints::READ;
    type Input = GetRunInput;
    type Output = GetRunOutput;

    async fn call(ctx: ToolCtx, input: GetRunInput) -> Result<GetRunOutput, ToolError> {
        let branch = parse_branch(input.run.branch.as_deref())?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let run = find_run_on_branch(
            &ctx,
            &project,
            input.run.name.as_deref(),
            input.run.pipeline.as_deref(),
            input.run.run_id.as_deref(),
            branch.as_ref(),
        )
        .await?;
        Ok(GetRunOutput { project, run })
    }
}
