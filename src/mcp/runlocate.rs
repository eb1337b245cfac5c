//! Finds a run the way `get_run` does (PipelineRun name, or pipeline +
//! Jenkins run id + branch) and adds what the log and artifact routes need:
//! the v1alpha2 address of the Jenkins run.

use crate::kubesphere::KsError;
use crate::kubesphere::logs::{BlueRunRef, validate_run_id};

use super::context::ToolCtx;
use super::error::ToolError;
use super::resolve::ProjectRef;
use super::runview::RunView;
use super::tools::runs::get_run::{find_run_on_branch, parse_branch};

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
