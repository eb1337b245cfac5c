//! Tool failures. Each becomes an `isError: true` result whose text names
//! the next step; none is a protocol error.

use rmcp::model::InputRequiredResult;
use serde::Serialize;

use crate::kubesphere::runs::NODES_DETAIL_HINT;
use crate::kubesphere::{IdKind, KsError};

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
    /// The client says what failed; [`ks_text`] adds the tool to call next.
    #[error("{}", ks_text(.0))]
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
    #[error(
        "{}. Call {check} to see whether it took effect before calling again.",
        ks_text(error)
    )]
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

/// What the agent reads for a client error. The client (crate `ks-client`)
/// says what failed and knows no tool; this adds which tool to call next
/// where one helps. The texts are those the client used to write itself.
pub fn ks_text(e: &KsError) -> String {
    match e {
        KsError::InvalidBranch { value, reason } => format!(
            "invalid branch name {value:?}: {reason}. Pass the branch as Git names it, e.g. feature/login (list_branches shows them); KubeSphere's encoded form feature%2Flogin means the same branch"
        ),
        KsError::Forbidden { message, .. } => format!(
            "forbidden: {message}. Tenants only reach the workspaces and DevOps projects they are members of; check the workspace and project names (list_workspaces, list_devops_projects) or ask a workspace admin for access"
        ),
        KsError::UnknownCluster { cluster, message } => {
            format!(
                "unknown cluster {cluster:?}: {message}. Use a cluster name listed by whoami or list_devops_projects"
            )
        }
        KsError::InvalidId {
            what: IdKind::RunId, ..
        } => format!("{e}; list_runs shows the run ids"),
        KsError::InvalidId {
            what: IdKind::Node | IdKind::Step,
            ..
        } => format!("{e}; diagnose_run lists the stage and step ids"),
        KsError::InvalidId {
            what: IdKind::ArtifactPath,
            ..
        } => "artifact path must be the non-empty `path` list_artifacts shows".into(),
        KsError::Timeout { path, timeout, hint } if *hint == NODES_DETAIL_HINT => format!(
            "KubeSphere did not answer {path} within {timeout:?}. Jenkins did not list the run's stages in time (upstream's nodesdetail hangs when one stage's steps cannot be read); read the console log with get_run_log instead, or try again later"
        ),
        other => other.to_string(),
    }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The string literals of a Rust source, test modules left out
    /// (everything from the first `#[cfg(test)]`), comments skipped.
    fn string_literals(src: &str) -> Vec<String> {
        let src = src.split("#[cfg(test)]").next().unwrap_or_default();
        let b = src.as_bytes();
        let (mut i, mut out) = (0, Vec::new());
        while i < b.len() {
            if b[i..].starts_with(b"//") {
                i += b[i..].iter().position(|c| *c == b'\n').unwrap_or(b.len() - i);
            } else if b[i..].starts_with(b"/*") {
                i += b[i..]
                    .windows(2)
                    .position(|w| w == b"*/")
                    .map_or(b.len() - i, |p| p + 2);
            } else if b[i..].starts_with(b"'\"'") {
                i += 3;
            } else if b[i..].starts_with(b"r#\"") {
                let end = b[i + 3..]
                    .windows(2)
                    .position(|w| w == b"\"#")
                    .unwrap_or(b.len() - i - 3);
                out.push(src[i + 3..i + 3 + end].to_string());
                i += 3 + end + 2;
            } else if b[i] == b'"' {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                out.push(src[i + 1..j.min(b.len())].to_string());
                i = j + 1;
            } else {
                i += 1;
            }
        }
        out
    }

    /// The layer rule for texts: no string the client crate writes names an
    /// MCP tool (the advice lives in [`ks_text`] and the tools). Fails on
    /// the client as it was, whose errors named list_branches, list_runs,
    /// diagnose_run, get_run_log, list_artifacts, whoami, list_workspaces
    /// and list_devops_projects.
    #[test]
    fn client_texts_name_no_tool() {
        let names: Vec<String> = crate::mcp::registry::Registry::all()
            .entries()
            .iter()
            .map(|e| e.name().to_string())
            .collect();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("client/src");
        let mut files = vec![dir.clone()];
        let mut seen = 0;
        while let Some(p) = files.pop() {
            if p.is_dir() {
                files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            seen += 1;
            let src = std::fs::read_to_string(&p).unwrap();
            for lit in string_literals(&src) {
                for name in &names {
                    let hit = lit.match_indices(name.as_str()).any(|(at, _)| {
                        let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
                        !word(lit[..at].chars().next_back()) && !word(lit[at + name.len()..].chars().next())
                    });
                    assert!(!hit, "{} names the tool {name} in {lit:?}", p.display());
                }
            }
        }
        assert!(seen > 10, "client sources not found under {}", dir.display());
    }

    /// What the agent reads did not change when the advice moved here.
    #[test]
    fn agent_texts_keep_their_next_step() {
        let text = |e: KsError| ToolError::Ks(e).to_string();
        assert_eq!(
            text(KsError::InvalidBranch {
                value: "a..b".into(),
                reason: "it contains \"..\""
            }),
            "invalid branch name \"a..b\": it contains \"..\". Pass the branch as Git names it, e.g. feature/login (list_branches shows them); KubeSphere's encoded form feature%2Flogin means the same branch"
        );
        assert_eq!(
            text(KsError::Forbidden {
                path: "/p".into(),
                message: "no".into()
            }),
            "forbidden: no. Tenants only reach the workspaces and DevOps projects they are members of; check the workspace and project names (list_workspaces, list_devops_projects) or ask a workspace admin for access"
        );
        assert_eq!(
            text(KsError::UnknownCluster {
                cluster: "c9".into(),
                message: "cluster c9 not exists".into()
            }),
            "unknown cluster \"c9\": cluster c9 not exists. Use a cluster name listed by whoami or list_devops_projects"
        );
        assert_eq!(
            text(KsError::InvalidId {
                what: IdKind::RunId,
                value: "x".into()
            }),
            "run_id \"x\" is not a Jenkins run id (a build number such as \"3\"); list_runs shows the run ids"
        );
        assert_eq!(
            text(KsError::InvalidId {
                what: IdKind::Step,
                value: "..".into()
            }),
            "step \"..\" is not a Blue Ocean step id; diagnose_run lists the stage and step ids"
        );
        assert_eq!(
            text(KsError::InvalidId {
                what: IdKind::ArtifactPath,
                value: String::new()
            }),
            "artifact path must be the non-empty `path` list_artifacts shows"
        );
        assert_eq!(
            text(KsError::Timeout {
                path: "/r".into(),
                timeout: Duration::from_secs(30),
                hint: NODES_DETAIL_HINT
            }),
            "KubeSphere did not answer /r within 30s. Jenkins did not list the run's stages in time (upstream's nodesdetail hangs when one stage's steps cannot be read); read the console log with get_run_log instead, or try again later"
        );
        // A write whose outcome is unknown keeps the advice too.
        let e = ToolError::OutcomeUnknown {
            error: KsError::Forbidden {
                path: "/p".into(),
                message: "no".into(),
            },
            check: "get_run",
        };
        assert!(e.to_string().contains("(list_workspaces, list_devops_projects)"), "{e}");
        // Everything else reads as the client wrote it.
        let e = KsError::NotFound {
            path: "/p".into(),
            message: "gone".into(),
        };
        assert_eq!(
            text(KsError::NotFound {
                path: "/p".into(),
                message: "gone".into()
            }),
            e.to_string()
        );
    }
}
