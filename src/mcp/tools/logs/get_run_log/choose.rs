//! Which log a call reads: the run's, a stage's or a step's, as segments.

use crate::kubesphere::logs::{BlueRunRef, ByteStream};
use crate::kubesphere::models::BlueNode;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::logread::{Segment, step_segments};
use crate::mcp::nodes::{find_stage, find_step, nodes_of, stage_finished};
use crate::mcp::resolve::ProjectRef;

use super::cursor::Target;

/// Which log: the whole run's console log, a stage's or a step's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LogKind {
    Run,
    Stage,
    Step,
}

impl LogKind {
    /// As the output's `log` field says it.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            LogKind::Run => "run",
            LogKind::Stage => "stage",
            LogKind::Step => "step",
        }
    }
}

/// The log chosen: its segments and names.
pub(super) struct Chosen {
    pub(super) kind: LogKind,
    pub(super) segments: Vec<Segment>,
    pub(super) node: Option<String>,
    pub(super) stage_name: Option<String>,
    pub(super) step: Option<String>,
    pub(super) step_name: Option<String>,
    pub(super) stage_done: bool,
    /// Steps (stage id, step id) not finished when the stages were read.
    pub(super) open_steps: Vec<(String, String)>,
    /// The run log is read as its steps' logs (the run log route cannot
    /// deliver it).
    pub(super) per_step: bool,
}

/// Steps of `nodes` that Jenkins may still write to.
pub(super) fn open_steps(nodes: &[BlueNode]) -> Vec<(String, String)> {
    nodes
        .iter()
        .flat_map(|n| {
            n.steps
                .as_deref()
                .unwrap_or_default()
                .iter()
                .filter(|s| {
                    !matches!(
                        s.state.as_deref(),
                        Some("FINISHED") | Some("SKIPPED") | Some("NOT_BUILT")
                    )
                })
                .map(|s| (n.id.clone(), s.id.clone()))
        })
        .collect()
}

/// The whole run, read as the logs of its steps one after the other.
pub(super) fn per_step_run(nodes: &[BlueNode]) -> Chosen {
    Chosen {
        kind: LogKind::Run,
        segments: step_segments(nodes),
        node: None,
        stage_name: None,
        step: None,
        step_name: None,
        stage_done: false,
        open_steps: open_steps(nodes),
        per_step: true,
    }
}

pub(super) async fn choose(
    ctx: &ToolCtx,
    project: &ProjectRef,
    blue: &BlueRunRef,
    pipelinerun: Option<&str>,
    target: &Target,
) -> Result<Option<Chosen>, ToolError> {
    let (node, step) = (target.node.as_deref(), target.step.as_deref());
    if node.is_none() && step.is_none() {
        if target.per_step {
            let nodes: Vec<BlueNode> = nodes_of(ctx, &project.cluster(), blue, pipelinerun).await?;
            return Ok(Some(per_step_run(&nodes)));
        }
        return Ok(Some(Chosen {
            kind: LogKind::Run,
            segments: vec![Segment::Run],
            node: None,
            stage_name: None,
            step: None,
            step_name: None,
            stage_done: false,
            open_steps: vec![],
            per_step: false,
        }));
    }
    let nodes: Vec<BlueNode> = nodes_of(ctx, &project.cluster(), blue, pipelinerun).await?;
    let open = open_steps(&nodes);
    if let Some(step) = step {
        let Some((stage, st)) = find_step(&nodes, node, step)? else {
            return Ok(None);
        };
        return Ok(Some(Chosen {
            kind: LogKind::Step,
            segments: vec![Segment::Step {
                node: stage.id.clone(),
                step: st.id.clone(),
            }],
            node: Some(stage.id.clone()),
            stage_name: stage.display_name.clone(),
            step: Some(st.id.clone()),
            step_name: st.display_name.clone(),
            stage_done: stage_finished(stage),
            open_steps: open,
            per_step: false,
        }));
    }
    let node = node.unwrap_or_default();
    let Some(stage) = find_stage(&nodes, node)? else {
        return Ok(None);
    };
    let steps = stage.steps.clone().unwrap_or_default();
    if steps.is_empty() {
        return Ok(None);
    }
    Ok(Some(Chosen {
        kind: LogKind::Stage,
        segments: steps
            .iter()
            .map(|s| Segment::Step {
                node: stage.id.clone(),
                step: s.id.clone(),
            })
            .collect(),
        node: Some(stage.id.clone()),
        stage_name: stage.display_name.clone(),
        step: None,
        step_name: None,
        stage_done: stage_finished(stage),
        open_steps: open,
        per_step: false,
    }))
}

/// Whether Jenkins may still write to a segment: the run log while the run
/// is not finished; a step log while it says so (`X-More-Data`, which large
/// answers lack) or its step was not finished when the stages were read.
pub(super) fn segment_writing(seg: &Segment, body: &ByteStream, run_finished: bool, open: &[(String, String)]) -> bool {
    match seg {
        Segment::Run => !run_finished,
        Segment::Step { node, step } => {
            body.more_data || (!run_finished && open.iter().any(|(n, s)| n == node && s == step))
        }
    }
}

/// Whether the chosen single step was still open.
pub(super) fn step_open(chosen: &Chosen) -> bool {
    match (&chosen.node, &chosen.step) {
        (Some(n), Some(s)) => chosen.open_steps.iter().any(|(a, b)| a == n && b == s),
        _ => false,
    }
}
