//! `get_run`: one run, by PipelineRun name or Jenkins run id.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runlocate::{find_run_on_branch, parse_branch};
use crate::mcp::runview::RunView;

crate::project_scoped!(GetRunInput);

pub struct GetRun;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetRunInput {
    /// DevOps project as the user named it (full or short name); an ambiguous name is never guessed.
    pub project: String,
    /// PipelineRun name, as trigger_run or list_runs return it.
    #[serde(default)]
    pub name: Option<String>,
    /// Or: the pipeline and the Jenkins run id.
    #[serde(default)]
    pub pipeline: Option<String>,
    #[serde(default)]
    pub run_id: Option<String>,
    /// With `run_id` of a multi-branch pipeline: the branch as Git names it, e.g. `feature/login` (run ids repeat per branch; the encoded `feature%2Flogin` means the same branch).
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub workspace: Option<String>,
    #[serde(default)]
    pub cluster: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GetRunOutput {
    pub project: ProjectRef,
    pub run: RunView,
}

impl ToolDef for GetRun {
    const NAME: &'static str = "get_run";
    const TITLE: &'static str = "Get a pipeline run";
    const DESCRIPTION: &'static str = "Shows one run: phase, Jenkins state and result, branch, start, duration, cause. Identify it by PipelineRun `name`, or by `pipeline` + `run_id` (the Jenkins build number) + `branch` for a multi-branch pipeline.";
    const TOOLSET: Toolset = Toolset::Runs;
    const HINTS: Hints = Hints::READ;
    type Input = GetRunInput;
    type Output = GetRunOutput;

    async fn call(ctx: ToolCtx, input: GetRunInput) -> Result<GetRunOutput, ToolError> {
        let branch = parse_branch(input.branch.as_deref())?;
        let project = resolve_input(&ctx, &input).await?;
        let run = find_run_on_branch(
            &ctx,
            &project,
            input.name.as_deref(),
            input.pipeline.as_deref(),
            input.run_id.as_deref(),
            branch.as_ref(),
        )
        .await?;
        Ok(GetRunOutput { project, run })
    }
}
