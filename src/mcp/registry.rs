//! The tool registry: every tool is a [`ToolDef`] (name, description,
//! schemas, annotations and handler in one place); the registry erases the
//! types so the MCP server, the `call` CLI and the catalog share one path.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::args::unknown_arguments;
use super::context::ToolCtx;
use super::error::ToolError;
use super::schema::{input_schema, output_schema};

/// Groups of tools that can be switched on and off (`--toolsets`; the
/// value names are [`Toolset::name`], a test checks they agree).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Toolset {
    /// Identity, workspaces, DevOps projects.
    Context,
    /// Pipelines (list, inspect, create, delete).
    Pipelines,
    /// Runs (trigger, follow, approve).
    Runs,
    /// Logs and failure diagnosis.
    Logs,
    /// Credentials.
    Credentials,
    /// GitOps applications.
    Gitops,
    /// GitRepository resources.
    Repos,
    /// Access diagnosis (opt-in: the default catalog is at its budget).
    Access,
    /// Editing pipelines: Jenkinsfile validation and replacement, settings, agent labels.
    Authoring,
    /// Pipeline templates: list, render, create from one.
    Templates,
    /// Code quality (SonarQube gates).
    Quality,
    /// DevOps project management (workspace admins).
    Projects,
    /// Artifacts a run archived: list and download.
    Artifacts,
    /// Stopping runs, deleting pipelines and credentials (destructive, confirmed).
    Cleanup,
}

impl Toolset {
    pub const ALL: [Toolset; 14] = [
        Toolset::Context,
        Toolset::Pipelines,
        Toolset::Runs,
        Toolset::Logs,
        Toolset::Credentials,
        Toolset::Gitops,
        Toolset::Repos,
        Toolset::Access,
        Toolset::Authoring,
        Toolset::Templates,
        Toolset::Quality,
        Toolset::Projects,
        Toolset::Artifacts,
        Toolset::Cleanup,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Toolset::Context => "context",
            Toolset::Pipelines => "pipelines",
            Toolset::Runs => "runs",
            Toolset::Logs => "logs",
            Toolset::Credentials => "credentials",
            Toolset::Gitops => "gitops",
            Toolset::Repos => "repos",
            Toolset::Access => "access",
            Toolset::Authoring => "authoring",
            Toolset::Templates => "templates",
            Toolset::Quality => "quality",
            Toolset::Projects => "projects",
            Toolset::Artifacts => "artifacts",
            Toolset::Cleanup => "cleanup",
        }
    }

    /// Toolsets on when `--toolsets` is not given.
    pub fn is_default(self) -> bool {
        matches!(
            self,
            Toolset::Context | Toolset::Pipelines | Toolset::Runs | Toolset::Logs | Toolset::Credentials
        )
    }

    /// Parses a comma-separated list; `all` and `default` are shorthands.
    pub fn parse_list(s: &str) -> Result<Vec<Toolset>, String> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "all" => out.extend(Toolset::ALL),
                "default" => out.extend(Toolset::ALL.into_iter().filter(|t| t.is_default())),
                _ => match <Toolset as clap::ValueEnum>::from_str(part, false) {
                    Ok(t) => out.push(t),
                    Err(_) => {
                        return Err(format!(
                            "unknown toolset {part:?}; known: {}, all, default",
                            Toolset::ALL.map(Toolset::name).join(", ")
                        ));
                    }
                },
            }
        }
        out.sort();
        out.dedup();
        if out.is_empty() {
            return Err("--toolsets names no toolset".into());
        }
        Ok(out)
    }
}

/// Behaviour hints, always set explicitly on every tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hints {
    /// Changes nothing (only these are served with `--read-only`).
    pub read_only: bool,
    /// May delete or irreversibly change something.
    pub destructive: bool,
    /// Calling twice with the same arguments has no further effect.
    pub idempotent: bool,
    /// Talks to systems beyond KubeSphere (e.g. a Git host).
    pub open_world: bool,
}

impl Hints {
    /// A read-only tool.
    pub const READ: Hints = Hints {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    };
    /// Creates something new each call (create, trigger): never retried.
    pub const CREATE: Hints = Hints {
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: false,
    };
    /// Deletes or irreversibly ends something; repeating it changes nothing
    /// more (delete, stop). Needs the confirmation rule.
    pub const DESTROY: Hints = Hints {
        read_only: false,
        destructive: true,
        idempotent: true,
        open_world: false,
    };
}

/// One tool: everything about it in one place.
pub trait ToolDef: Send + Sync + 'static {
    const NAME: &'static str;
    const TITLE: &'static str;
    /// Written for a model: what it does, when to use it, what to ask first.
    const DESCRIPTION: &'static str;
    const TOOLSET: Toolset;
    const HINTS: Hints;
    /// For a tool that changes state: the read-only tool that shows whether
    /// a call took effect, named when the outcome of a call is unknown (the
    /// request was sent, its answer lost). Empty for read-only tools.
    const CHECK: &'static str = "";
    /// Example arguments (JSON) against the sandbox demo data, exported by
    /// `ks-devops-mcp tools --examples` for the real-client checks and the
    /// benchmarks, and called by `cargo test` for every read-only tool. A
    /// value `{"$from": TOOL, "pointer": JSON_POINTER}` is taken from the
    /// result of TOOL's own example call (for names the sandbox generates).
    const EXAMPLE: &'static str = "";
    type Input: DeserializeOwned + JsonSchema + Send + 'static;
    type Output: Serialize + JsonSchema + Send + 'static;

    fn call(ctx: ToolCtx, input: Self::Input) -> impl Future<Output = Result<Self::Output, ToolError>> + Send;
}

/// What running a tool gives: its structured output, or why it failed.
pub type ToolOutcome = Result<serde_json::Value, ToolError>;

type Runner = fn(ToolCtx, Arc<JsonObject>, JsonObject) -> BoxFuture<'static, ToolOutcome>;

/// A type-erased tool.
#[derive(Clone)]
pub struct ToolEntry {
    pub tool: Tool,
    pub toolset: Toolset,
    pub hints: Hints,
    /// [`ToolDef::CHECK`].
    pub check: &'static str,
    /// [`ToolDef::EXAMPLE`].
    pub example: &'static str,
    run: Runner,
}

impl ToolEntry {
    pub fn of<T: ToolDef>() -> ToolEntry {
        let mut annotations = ToolAnnotations::default();
        annotations.title = Some(T::TITLE.to_string());
        annotations.read_only_hint = Some(T::HINTS.read_only);
        annotations.destructive_hint = Some(T::HINTS.destructive);
        annotations.idempotent_hint = Some(T::HINTS.idempotent);
        annotations.open_world_hint = Some(T::HINTS.open_world);
        let mut tool = Tool::new(
            Cow::Borrowed(T::NAME),
            Cow::Borrowed(T::DESCRIPTION),
            input_schema::<T::Input>(),
        );
        tool.title = Some(T::TITLE.to_string());
        tool.output_schema = Some(output_schema::<T::Output>());
        tool.annotations = Some(annotations);
        ToolEntry {
            tool,
            toolset: T::TOOLSET,
            hints: T::HINTS,
            check: T::CHECK,
            example: T::EXAMPLE,
            run: run_tool::<T>,
        }
    }

    pub fn name(&self) -> &str {
        &self.tool.name
    }

    /// Runs the tool with raw JSON arguments.
    pub fn run(&self, ctx: ToolCtx, args: JsonObject) -> BoxFuture<'static, ToolOutcome> {
        (self.run)(ctx, self.tool.input_schema.clone(), args)
    }
}

fn run_tool<T: ToolDef>(ctx: ToolCtx, schema: Arc<JsonObject>, args: JsonObject) -> BoxFuture<'static, ToolOutcome> {
    Box::pin(async move {
        // Inputs embed shared arguments with `flatten`, which cannot deny
        // unknown fields: refuse them here, against the schema.
        if let Some(e) = unknown_arguments(T::NAME, &schema, &args) {
            return Err(e);
        }
        let input: T::Input = serde_json::from_value(serde_json::Value::Object(args)).map_err(|e| {
            ToolError::InvalidInput(format!(
                "{e}. Fix the arguments to match the inputSchema of {} and call again",
                T::NAME
            ))
        })?;
        let cancel = ctx.cancel.clone();
        let output = tokio::select! {
            r = T::call(ctx, input) => r.map_err(ToolError::with_check::<T>)?,
            _ = cancel.cancelled() => return Err(ToolError::Cancelled),
        };
        serde_json::to_value(output).map_err(|e| ToolError::Internal(format!("cannot encode result: {e}")))
    })
}

/// Which tools a server offers.
#[derive(Clone, Debug)]
pub struct ToolFilter {
    pub toolsets: Vec<Toolset>,
    pub read_only: bool,
}

impl Default for ToolFilter {
    fn default() -> Self {
        ToolFilter {
            toolsets: Toolset::ALL.into_iter().filter(|t| t.is_default()).collect(),
            read_only: false,
        }
    }
}

/// The tools a server offers, in catalog order. The registry knows no
/// tool: the tool list (`mcp::tools`) builds it, and defines
/// `Registry::all()` and `Registry::filtered()` on top of [`Registry::from_entries`].
#[derive(Clone)]
pub struct Registry {
    entries: Arc<Vec<ToolEntry>>,
}

impl Registry {
    /// A registry of `entries`, in the order given (the catalog order).
    pub fn from_entries(entries: Vec<ToolEntry>) -> Registry {
        Registry {
            entries: Arc::new(entries),
        }
    }

    /// The tools `filter` allows; `--read-only` keeps exactly the tools
    /// annotated read-only.
    pub fn only(&self, filter: &ToolFilter) -> Registry {
        let entries = self
            .entries
            .iter()
            .filter(|e| filter.toolsets.contains(&e.toolset))
            .filter(|e| !filter.read_only || e.hints.read_only)
            .cloned()
            .collect();
        Registry::from_entries(entries)
    }

    pub fn entries(&self) -> &[ToolEntry] {
        &self.entries
    }

    pub fn get(&self, name: &str) -> Option<&ToolEntry> {
        self.entries.iter().find(|e| e.name() == name)
    }

    pub fn tools(&self) -> Vec<Tool> {
        self.entries.iter().map(|e| e.tool.clone()).collect()
    }
}
