//! `enable_toolset` (dynamic toolsets, see [`crate::mcp::dynamic`]): opens
//! a toolset for the rest of the session and announces the change.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::context::ToolCtx;
use crate::mcp::dynamic::{self, view};
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};

/// Input of `enable_toolset`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EnableToolsetInput {
    /// Toolset name as list_toolsets shows it, e.g. `gitops`.
    pub toolset: String,
}

/// Output of `enable_toolset`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EnableToolsetOutput {
    /// The toolset's name.
    pub toolset: &'static str,
    /// `enabled` (opened now) or `already_on` (nothing changed).
    pub status: &'static str,
    /// The toolset's tools, now callable.
    pub tools: Vec<String>,
    /// Whether `notifications/tools/list_changed` was sent.
    pub notified: bool,
    /// What to do next.
    pub next: String,
}

/// Opens a toolset for the session.
pub struct EnableToolset;

impl ToolDef for EnableToolset {
    const NAME: &'static str = dynamic::ENABLE_TOOLSET;
    const EXAMPLE: &'static str = r#"{"toolset": "gitops"}"#;
    const TITLE: &'static str = "Enable a toolset";
    const DESCRIPTION: &'static str = "Opens one toolset for the rest of this session: its tools are added to tools/list (the server sends notifications/tools/list_changed) and can be called right away. \
Names: see list_toolsets, e.g. artifacts, cleanup, gitops, repos, access, authoring, templates, quality, projects. Not needed for the usual flows (projects, pipelines incl. multi-branch with a private repository's credential, scans, runs, logs, diagnosis): those tools are on by default. \
Only toolsets the operator allows can be opened; with a read-only server only their read-only tools appear. Opening a toolset that is on changes nothing.";
    /// Listed with the context tools in the catalog; served in dynamic mode
    /// whatever `--toolsets` says.
    const TOOLSET: Toolset = Toolset::Context;
    /// Changes nothing in KubeSphere, only which tools this session lists;
    /// opening twice is harmless.
    const HINTS: Hints = Hints::READ;
    type Input = EnableToolsetInput;
    type Output = EnableToolsetOutput;

    async fn call(ctx: ToolCtx, input: EnableToolsetInput) -> Result<EnableToolsetOutput, ToolError> {
        let ts = view(&ctx)?;
        let offered = || {
            ts.config
                .offered
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let name = input.toolset.trim();
        let Some(t) = Toolset::ALL.into_iter().find(|t| t.name() == name) else {
            return Err(ToolError::InvalidInput(format!(
                "no toolset is named {}; this server offers: {}. Call list_toolsets to see them with their tools",
                crate::text::quote(name),
                offered()
            )));
        };
        if !ts.config.offered.contains(&t) {
            return Err(ToolError::InvalidInput(format!(
                "toolset {} is not offered by this server (it serves only --toolsets {}); tell the user that the operator can add it to --toolsets",
                t.name(),
                offered()
            )));
        }
        let tools = ts.tools_of(t);
        if tools.is_empty() {
            return Err(ToolError::InvalidInput(if ts.config.read_only {
                format!(
                    "toolset {} has only tools that change things, and this server is read-only (--read-only): nothing to open",
                    t.name()
                )
            } else {
                format!(
                    "toolset {} has no tools in this server version: nothing to open",
                    t.name()
                )
            }));
        }
        let already_on = EnableToolsetOutput {
            toolset: t.name(),
            status: "already_on",
            tools: tools.clone(),
            notified: false,
            next: "This toolset was on already; call its tools.".into(),
        };
        if !ts.persistent {
            if ts.session.is_on(t) {
                return Ok(already_on);
            }
            return Err(ToolError::Refused(format!(
                "toolset {} cannot be opened: this HTTP request has no session (the server runs --stateless, or the client speaks protocol 2026-07-28, which has none), so nothing would remember it. Use the tools that are on, or tell the user that the operator can serve it from the start with --toolsets default,{}",
                t.name(),
                t.name()
            )));
        }
        // One check-and-set: of two concurrent calls, one enables and announces.
        if !ts.session.enable(t) {
            return Ok(already_on);
        }
        let sent = ts.announce().await;
        tracing::info!(
            toolset = t.name(),
            tools = tools.len(),
            notified = sent,
            "toolset enabled"
        );
        Ok(EnableToolsetOutput {
            toolset: t.name(),
            status: "enabled",
            tools,
            notified: sent > 0,
            next: "The tools are listed and callable now; if your tool list does not show them yet, call them by name."
                .into(),
        })
    }
}
