//! `get_run`: one run, by PipelineRun name or Jenkins run id.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::BranchName;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
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

/// A tool's optional `branch` argument: blank is none; anything else must
/// be a valid branch name (see [`BranchName::parse`]).
pub fn parse_branch(input: Option<&str>) -> Result<Option<BranchName>, ToolError> {
    Ok(input
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(BranchName::parse)
        .transpose()?)
}

/// Finds a run by name, or by pipeline + Jenkins run id.
pub async fn find_run(
    ctx: &ToolCtx,
    project: &ProjectRef,
    name: Option<&str>,
    pipeline: Option<&str>,
    run_id: Option<&str>,
) -> Result<RunView, ToolError> {
    find_run_on_branch(ctx, project, name, pipeline, run_id, None).await
}

/// Finds a run by name, or by pipeline + Jenkins run id, restricted to
/// `branch` when given (run ids of a multi-branch pipeline repeat per branch).
pub async fn find_run_on_branch(
    ctx: &ToolCtx,
    project: &ProjectRef,
    name: Option<&str>,
    pipeline: Option<&str>,
    run_id: Option<&str>,
    branch: Option<&BranchName>,
) -> Result<RunView, ToolError> {
    let cluster = project.cluster();
    if let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) {
        let pr = ctx.client.get_pipelinerun(&cluster, &project.name, name).await?;
        return Ok(RunView::from_pipelinerun(&pr));
    }
    let (Some(pipeline), Some(run_id)) = (pipeline, run_id.map(str::trim).filter(|r| !r.is_empty())) else {
        return Err(ToolError::InvalidInput(
            "pass the PipelineRun `name`, or both `pipeline` and `run_id`".into(),
        ));
    };
    let mut page = 1;
    loop {
        let up = ctx
            .client
            .list_pipelineruns(&cluster, &project.name, pipeline, branch, (page, 100))
            .await?;
        if let Some(pr) = up.items.iter().find(|pr| pr.jenkins_id() == Some(run_id)) {
            return Ok(RunView::from_pipelinerun(pr));
        }
        if up.items.is_empty() || (page as u64) * 100 >= up.total || page >= 20 {
            return Err(ToolError::Ks(crate::kubesphere::KsError::NotFound {
                path: String::new(),
                message: match branch {
                    Some(b) => format!("no run of {pipeline} on branch {b} has Jenkins run id {run_id}"),
                    None => format!("no run of {pipeline} has Jenkins run id {run_id}"),
                },
            }));
        }
        page += 1;
    }
}
