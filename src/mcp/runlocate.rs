//! Finds a run the way `get_run` does (PipelineRun name, or pipeline +
//! Jenkins run id + branch) and adds what the log and artifact routes need:
//! the v1alpha2 address of the Jenkins run; and a run that can still be
//! acted on (stop, approve), for the tools of `runs` and `cleanup`.

use crate::kubesphere::logs::{BlueRunRef, validate_run_id};
use crate::kubesphere::{BranchName, KsError};

use super::context::ToolCtx;
use super::error::ToolError;
use super::resolve::ProjectRef;
use super::runview::RunView;

/// How the caller named the run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunSelector<'a> {
    pub name: Option<&'a str>,
    pub pipeline: Option<&'a str>,
    pub run_id: Option<&'a str>,
    pub branch: Option<&'a str>,
}

impl<'a> RunSelector<'a> {
    /// The run named by a tool input's `name`, `pipeline`, `run_id` and
    /// `branch` fields.
    pub fn of(
        name: &'a Option<String>,
        pipeline: &'a Option<String>,
        run_id: &'a Option<String>,
        branch: &'a Option<String>,
    ) -> RunSelector<'a> {
        RunSelector {
            name: name.as_deref(),
            pipeline: pipeline.as_deref(),
            run_id: run_id.as_deref(),
            branch: branch.as_deref(),
        }
    }
}

/// A run, with its Jenkins address once Jenkins has it.
#[derive(Clone, Debug)]
pub struct LocatedRun {
    pub view: RunView,
    /// `None` while the run has no Jenkins run id yet (not started).
    pub blue: Option<BlueRunRef>,
}

fn nonempty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// Finds the run. A run started through the v1alpha2 API has no
/// PipelineRun; given `pipeline` + `run_id` (+ `branch`) it is read from
/// Jenkins directly.
pub async fn locate_run(ctx: &ToolCtx, project: &ProjectRef, sel: RunSelector<'_>) -> Result<LocatedRun, ToolError> {
    let name = nonempty(sel.name);
    let pipeline = nonempty(sel.pipeline);
    let run_id = nonempty(sel.run_id);
    let branch = parse_branch(sel.branch)?;
    let branch = branch.as_ref();
    if let Some(id) = run_id {
        validate_run_id(id)?;
    }
    let found = find_run_on_branch(ctx, project, name, pipeline, run_id, branch).await;
    let view = match found {
        Ok(v) => v,
        Err(ToolError::Ks(KsError::NotFound { .. })) if name.is_none() && pipeline.is_some() && run_id.is_some() => {
            let (Some(p), Some(id)) = (pipeline, run_id) else {
                return Err(ToolError::Internal("run selector lost its pipeline".into()));
            };
            let blue = BlueRunRef {
                namespace: project.name.clone(),
                pipeline: p.to_string(),
                branch: branch.cloned(),
                run_id: id.to_string(),
            };
            match ctx.client.get_blue_run(&project.cluster(), &blue).await {
                Ok(run) => {
                    let mut v = RunView::from_blue(&run, Some(p.to_string()));
                    v.branch = branch.cloned();
                    v.source = Some(super::runview::RunSource::JenkinsOnly);
                    return Ok(LocatedRun {
                        view: v,
                        blue: Some(blue),
                    });
                }
                Err(KsError::NotFound { path, .. }) => {
                    return Err(ToolError::Ks(KsError::NotFound {
                        path,
                        message: format!(
                            "pipeline {p} has no run {id}{}{}",
                            branch.map(|b| format!(" on branch {b}")).unwrap_or_default(),
                            if branch.is_none() {
                                " (for a multi-branch pipeline pass `branch` too)"
                            } else {
                                ""
                            }
                        ),
                    }));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => return Err(e),
    };
    let blue = match (
        view.pipeline.clone().or(pipeline.map(str::to_string)),
        view.run_id.clone(),
    ) {
        (Some(p), Some(id)) if validate_run_id(&id).is_ok() => Some(BlueRunRef {
            namespace: project.name.clone(),
            pipeline: p,
            branch: view.branch.clone().or(branch.cloned()),
            run_id: id,
        }),
        _ => None,
    };
    Ok(LocatedRun { view, blue })
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

/// A run that has not finished and has a Jenkins id.
pub struct ActiveRun {
    pub run: RunView,
    pub pipeline: String,
    pub run_id: String,
}

impl ActiveRun {
    pub fn describe(&self) -> String {
        let mut s = format!("run #{} of pipeline {}", self.run_id, self.pipeline);
        if let Some(b) = &self.run.branch {
            s.push_str(&format!(" (branch {b})"));
        }
        if let Some(n) = &self.run.name {
            s.push_str(&format!(" [PipelineRun {n}]"));
        }
        if let Some(st) = &self.run.state {
            s.push_str(&format!(", now {st}"));
        }
        s
    }
}

/// Finds the run and checks that it can still be acted on.
pub async fn active_run(
    ctx: &ToolCtx,
    project: &ProjectRef,
    name: Option<&str>,
    pipeline: Option<&str>,
    run_id: Option<&str>,
    branch: Option<&BranchName>,
    verb: &str,
) -> Result<ActiveRun, ToolError> {
    let run = find_run_on_branch(ctx, project, name, pipeline, run_id, branch).await?;
    if run.finished {
        return Err(ToolError::InvalidInput(format!(
            "run {} has already finished (result {}); there is nothing to {verb}",
            run.name.as_deref().or(run.run_id.as_deref()).unwrap_or("?"),
            run.result.as_deref().unwrap_or("unknown")
        )));
    }
    let (Some(pipeline), Some(run_id)) = (
        run.pipeline.clone().or(pipeline.map(str::to_string)),
        run.run_id.clone(),
    ) else {
        return Err(ToolError::InvalidInput(format!(
            "run {} has no Jenkins run id yet (it is still being queued); wait a few seconds (get_run) and call again",
            run.name.as_deref().unwrap_or("?")
        )));
    };
    Ok(ActiveRun { run, pipeline, run_id })
}
