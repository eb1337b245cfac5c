//! Tool failures. Each becomes an `isError: true` result whose text names
//! the next step; none is a protocol error.

use rmcp::model::InputRequiredResult;
use serde::Serialize;

use crate::kubesphere::KsError;

/// A project candidate shown when a name is ambiguous or unknown.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema, PartialEq, Eq)]
pub struct Candidate {
    /// Full name (the namespace): what every tool wants in `project`.
    pub name: String,
    /// Short name (`generateName`) the project was created with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_name: Option<String>,
    /// Display name, when one is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    pub workspace: String,
    pub cluster: String,
}

impl std::fmt::Display for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (cluster {}, workspace {}",
            self.name, self.cluster, self.workspace
        )?;
        if let Some(s) = &self.short_name {
            write!(f, ", short name {s}")?;
        }
        f.write_str(")")
    }
}

/// Why a tool call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error(transparent)]
    Ks(#[from] KsError),

    /// The arguments are wrong in a way the agent can fix.
    #[error("invalid arguments: {0}")]
    InvalidInput(String),

    /// A project name matched several projects; nothing was done.
    #[error(
        "the project name {name:?} is ambiguous: it matches {}. Nothing was done. Ask the user which one they mean, then call again with `project` set to that full name (and `cluster`).",
        list(candidates)
    )]
    AmbiguousProject { name: String, candidates: Vec<Candidate> },

    /// A project name matched nothing the user can see.
    #[error(
        "no DevOps project named {name:?} is visible to this user{}. {}",
        scope_text(searched),
        if closest.is_empty() { "Call list_devops_projects to see the projects this user can reach.".to_string() } else { format!("Closest names: {}. Ask the user which one they mean, or call list_devops_projects.", list(closest)) }
    )]
    ProjectNotFound {
        name: String,
        closest: Vec<Candidate>,
        searched: String,
    },

    /// The user must answer something first; nothing was done.
    #[error("needs user input, nothing was done: {0}")]
    NeedsUserInput(String),

    /// A destructive operation needs a human confirmation that this client
    /// cannot give; nothing was done.
    #[error("{0}")]
    ConfirmationRequired(String),

    /// The human declined or cancelled the confirmation; nothing was done.
    #[error("{0}")]
    NotConfirmed(String),

    /// The target changed between the confirmation and the action; nothing
    /// was done.
    #[error("{0}")]
    TargetChanged(String),

    /// KubeSphere answered with success but refused inside the body (e.g.
    /// input approval without permission).
    #[error("{0}")]
    Refused(String),

    /// A write was sent and its outcome is unknown; `check` is the tool
    /// that shows whether it took effect.
    #[error("{error}. Call {check} to see whether it took effect before calling again.")]
    OutcomeUnknown { error: KsError, check: &'static str },

    /// The client cancelled the call.
    #[error("cancelled by the client; nothing further was done")]
    Cancelled,

    /// MRTR: ask the client for input and retry (2026-07-28 clients).
    #[error("input required from the user")]
    InputRequired(Box<InputRequiredResult>),

    /// A bug or an impossible state on our side.
    #[error("internal error: {0}")]
    Internal(String),
}

fn list(c: &[Candidate]) -> String {
    c.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

fn scope_text(s: &str) -> String {
    if s.is_empty() { String::new() } else { format!(" ({s})") }
}

impl ToolError {
    /// The text a client is shown: the message and its kind, bounded and
    /// cleaned ([`crate::text::bound`]) whatever values it quotes. The one
    /// way a tool error leaves the server.
    pub fn agent_text(&self) -> String {
        format!("{} ({})", crate::text::bound(&self.to_string()), self.kind())
    }

    /// Names the read that checks a write whose outcome is unknown.
    pub fn with_check<T: crate::mcp::registry::ToolDef>(self) -> ToolError {
        match self {
            ToolError::Ks(error) if error.outcome_unknown() && !T::CHECK.is_empty() => {
                ToolError::OutcomeUnknown { error, check: T::CHECK }
            }
            other => other,
        }
    }

    /// A short machine-readable kind.
    pub fn kind(&self) -> &'static str {
        match self {
            ToolError::Ks(e) => e.kind(),
            ToolError::OutcomeUnknown { error, .. } => error.kind(),
            ToolError::InvalidInput(_) => "invalid_input",
            ToolError::AmbiguousProject { .. } => "ambiguous_project",
            ToolError::ProjectNotFound { .. } => "project_not_found",
            ToolError::NeedsUserInput(_) => "needs_user_input",
            ToolError::ConfirmationRequired(_) => "confirmation_required",
            ToolError::NotConfirmed(_) => "not_confirmed",
            ToolError::TargetChanged(_) => "target_changed",
            ToolError::Refused(_) => "refused",
            ToolError::Cancelled => "cancelled",
            ToolError::InputRequired(_) => "input_required",
            ToolError::Internal(_) => "internal",
        }
    }
}
