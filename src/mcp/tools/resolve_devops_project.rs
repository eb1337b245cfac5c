//! `resolve_devops_project`: a typed name to exactly one project.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{MatchedBy, ProjectRef, Resolution, Searched, choice_question, chosen, resolve};

pub struct ResolveDevopsProject;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveDevopsProjectInput {
    /// The project name as the user typed it (full or short name).
    pub name: String,
    /// Workspace to search; omit to search all of the user's workspaces.
    #[serde(default)]
    pub workspace: Option<String>,
    /// Cluster to search; omit to search all configured clusters.
    #[serde(default)]
    pub cluster: Option<String>,
}

/// Outcome of a resolution.
#[derive(Clone, Copy, Debug, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResolveStatus {
    /// Exactly one project: use `project`.
    Resolved,
    /// Several projects match: ask the user to pick one of `candidates`.
    Ambiguous,
    /// Nothing matches: `closest` lists similar names.
    NotFound,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ResolveDevopsProjectOutput {
    pub status: ResolveStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<MatchedBy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<ProjectRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub closest: Vec<ProjectRef>,
    /// What to ask the user, when the status is not `resolved`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ask_user: Option<String>,
    pub searched: Searched,
}

impl ToolDef for ResolveDevopsProject {
    const NAME: &'static str = "resolve_devops_project";
    const TITLE: &'static str = "Resolve a DevOps project name";
    const DESCRIPTION: &'static str = "Turns a DevOps project name the user typed into exactly one project (full name + cluster). Exact full name wins; otherwise short name (generateName) or display name, then prefix. Several matches return status `ambiguous` with candidates: ask the user to choose (the server asks by itself when the client supports elicitation); never pick one yourself. `not_found` lists the closest names.";
    const TOOLSET: Toolset = Toolset::Context;
    const HINTS: Hints = Hints::READ;
    type Input = ResolveDevopsProjectInput;
    type Output = ResolveDevopsProjectOutput;

    async fn call(ctx: ToolCtx, input: ResolveDevopsProjectInput) -> Result<ResolveDevopsProjectOutput, ToolError> {
        let (resolution, searched) =
            resolve(&ctx.client, &input.name, input.workspace.as_deref(), input.cluster.as_deref()).await?;
        let mut out = ResolveDevopsProjectOutput {
            status: ResolveStatus::NotFound,
            project: None,
            matched_by: None,
            candidates: Vec::new(),
            closest: Vec::new(),
            ask_user: None,
            searched,
        };
        match resolution {
            Resolution::Resolved { project, matched_by } => {
                out.status = ResolveStatus::Resolved;
                out.project = Some(project);
                out.matched_by = Some(matched_by);
            }
            Resolution::Ambiguous { candidates } => {
                if let Some(answer) = ctx.ask(choice_question(&input.name, &candidates)).await? {
                    if let Some(p) = chosen(&answer, &candidates) {
                        out.status = ResolveStatus::Resolved;
                        out.project = Some(p);
                        out.matched_by = Some(MatchedBy::UserChoice);
                        return Ok(out);
                    }
                }
                out.status = ResolveStatus::Ambiguous;
                out.ask_user = Some(format!(
                    "Several DevOps projects match {:?}: {}. Which one do you mean?",
                    input.name,
                    candidates
                        .iter()
                        .map(|c| c.candidate().to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
                out.candidates = candidates;
            }
            Resolution::NotFound { closest } => {
                out.ask_user = Some(if closest.is_empty() {
                    format!("No DevOps project named {:?} is visible to you. What is the project's exact name?", input.name)
                } else {
                    format!(
                        "No DevOps project named {:?}. Did you mean one of: {}?",
                        input.name,
                        closest.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                    )
                });
                out.closest = closest;
            }
        }
        Ok(out)
    }
}
