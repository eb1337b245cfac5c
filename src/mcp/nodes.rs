//! The stages and steps of a run: read once (stored by the PipelineRun
//! controller, else through Jenkins), and found by id or name.

use crate::kubesphere::KsError;
use crate::kubesphere::models::{BlueNode, BlueStep};

use super::context::ToolCtx;
use super::error::ToolError;

/// Stages of the run with their steps. Read from what the PipelineRun
/// controller stored (`DV3 .../pipelineruns/{pipelinerun}/nodedetails`) when
/// the run has a PipelineRun; through Jenkins (`nodesdetail`, with a bounded
/// wait, U7) only when it has none, or nothing is stored for it yet, or it
/// was deleted meanwhile. The stored stages lag Jenkins by the controller's
/// sync interval.
pub async fn nodes_of(
    ctx: &ToolCtx,
    cluster: &crate::kubesphere::Cluster,
    run: &crate::kubesphere::logs::BlueRunRef,
    pipelinerun: Option<&str>,
) -> Result<Vec<BlueNode>, ToolError> {
    if let Some(name) = pipelinerun.map(str::trim).filter(|n| !n.is_empty()) {
        match ctx.client.pipelinerun_node_details(cluster, &run.namespace, name).await {
            Ok(Some(nodes)) => return Ok(nodes),
            Ok(None) | Err(KsError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(ctx.client.run_nodes_detail(cluster, run).await?)
}

/// Whether a stage will not change any more.
pub fn stage_finished(n: &BlueNode) -> bool {
    matches!(
        n.state.as_deref(),
        Some("FINISHED") | Some("SKIPPED") | Some("NOT_BUILT")
    )
}

fn stage_list(nodes: &[BlueNode]) -> String {
    let v: Vec<String> = nodes
        .iter()
        .map(|n| format!("{} ({})", n.display_name.as_deref().unwrap_or("?"), n.id))
        .collect();
    if v.is_empty() { "none yet".into() } else { v.join(", ") }
}

/// A stage by id, else by name (case-insensitive). `Ok(None)`: no stages
/// exist yet.
pub fn find_stage<'a>(nodes: &'a [BlueNode], node: &str) -> Result<Option<&'a BlueNode>, ToolError> {
    if nodes.is_empty() {
        return Ok(None);
    }
    let node = node.trim();
    if let Some(n) = nodes.iter().find(|n| n.id == node).or_else(|| {
        nodes
            .iter()
            .find(|n| n.display_name.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(node)))
    }) {
        return Ok(Some(n));
    }
    Err(ToolError::InvalidInput(format!(
        "no stage {node:?} in this run; stages (name (id)): {}",
        stage_list(nodes)
    )))
}

/// A step by id, within `node` when given. `Ok(None)`: it has not
/// started yet (no such step, while stages exist but are not all done).
pub fn find_step<'a>(
    nodes: &'a [BlueNode],
    node: Option<&str>,
    step: &str,
) -> Result<Option<(&'a BlueNode, &'a BlueStep)>, ToolError> {
    let step = step.trim();
    let scope: Vec<&BlueNode> = match node {
        Some(n) => match find_stage(nodes, n)? {
            Some(s) => vec![s],
            None => return Ok(None),
        },
        None => nodes.iter().collect(),
    };
    for s in &scope {
        if let Some(st) = s.steps.as_deref().unwrap_or_default().iter().find(|st| st.id == step) {
            return Ok(Some((s, st)));
        }
    }
    if scope.is_empty() || scope.iter().any(|s| !stage_finished(s)) {
        return Ok(None);
    }
    let ids: Vec<String> = scope
        .iter()
        .flat_map(|s| s.steps.as_deref().unwrap_or_default().iter())
        .map(|st| format!("{} ({})", st.id, st.display_name.as_deref().unwrap_or("?")))
        .collect();
    Err(ToolError::InvalidInput(format!(
        "no step {step:?} in {}; step ids: {}. diagnose_run lists stages and steps",
        node.map(|n| format!("stage {n:?}"))
            .unwrap_or_else(|| "this run".into()),
        if ids.is_empty() { "none".into() } else { ids.join(", ") }
    )))
}
