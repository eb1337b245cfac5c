//! `get_run`: one run, by PipelineRun name or Jenkins run id.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::args::{ProjectArgs, RunArgs};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runlocate::{locate_run, parse_branch};
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
        // Checked before anything is sent.
        parse_branch(input.run.branch.as_deref())?;
        let project = resolve_input(&ctx, &input.scope).await?;
        // A run Jenkins has without a PipelineRun (webhook, scan, replay)
        // is read from Jenkins by pipeline + run id.
        let run = locate_run(&ctx, &project, input.run.selector()).await?.view;
        Ok(GetRunOutput { project, run })
    }
}
