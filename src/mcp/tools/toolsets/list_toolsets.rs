//! `list_toolsets` (dynamic toolsets, see [`crate::mcp::dynamic`]): every
//! toolset with its description, its tools and whether it is on.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::context::ToolCtx;
use crate::mcp::dynamic::{self, view};
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};

/// Input of `list_toolsets`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListToolsetsInput {}

/// One toolset as `list_toolsets` shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ToolsetView {
    /// Name to pass to enable_toolset.
    pub name: &'static str,
    /// What its tools are for.
    pub description: &'static str,
    /// Its tools are served in this session now.
    pub on: bool,
    /// It can be on in this server (within `--toolsets`, and with tools left under `--read-only`).
    pub available: bool,
    /// Its tools as this server serves them (empty when not available).
    pub tools: Vec<String>,
}

/// Output of `list_toolsets`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListToolsetsOutput {
    /// Every toolset of the binary, in catalog order.
    pub toolsets: Vec<ToolsetView>,
    /// Whether enable_toolset can open a toolset for this connection (false:
    /// an HTTP request without a session).
    pub can_enable: bool,
    /// What to do next.
    pub next: String,
}

/// Lists the toolsets.
pub struct ListToolsets;

impl ToolDef for ListToolsets {
    const NAME: &'static str = dynamic::LIST_TOOLSETS;
    const EXAMPLE: &'static str = r#"{}"#;
    const TITLE: &'static str = "List toolsets";
    const DESCRIPTION: &'static str = "Lists every toolset of this server: a one-line description, its tools, whether it is on in this session and whether it can be opened here. \
The default tools already cover the usual flows: finding a project, creating a pipeline (a multi-branch one over a private repository after creating its credential), branch scans, triggering and following runs, logs and failure diagnosis. \
When the user needs more (archived artifacts, stopping runs, deleting pipelines or credentials, GitOps applications, editing Jenkinsfiles, templates, quality gates, DevOps projects), open that toolset with enable_toolset.";
    /// Listed with the context tools in the catalog; served in dynamic mode
    /// whatever `--toolsets` says.
    const TOOLSET: Toolset = Toolset::Context;
    const HINTS: Hints = Hints::READ;
    type Input = ListToolsetsInput;
    type Output = ListToolsetsOutput;

    async fn call(ctx: ToolCtx, _input: ListToolsetsInput) -> Result<ListToolsetsOutput, ToolError> {
        let ts = view(&ctx)?;
        let toolsets: Vec<ToolsetView> = Toolset::ALL
            .into_iter()
            .map(|t| {
                let tools = ts.tools_of(t);
                let available = ts.config.offered.contains(&t) && !tools.is_empty();
                ToolsetView {
                    name: t.name(),
                    description: dynamic::describe(t),
                    on: available && ts.session.is_on(t),
                    available,
                    tools,
                }
            })
            .collect();
        let next = if ts.persistent {
            "Call enable_toolset with {\"toolset\": NAME} to open an available toolset that is off; its tools then appear in tools/list."
        } else {
            "This HTTP request has no session (a --stateless server, or protocol 2026-07-28), so toolsets cannot be opened for it: use the tools that are on, or ask the operator to serve a toolset from the start with --toolsets default,NAME."
        };
        Ok(ListToolsetsOutput {
            toolsets,
            can_enable: ts.persistent,
            next: next.to_string(),
        })
    }
}
