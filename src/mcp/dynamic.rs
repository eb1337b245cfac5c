//! Dynamic toolsets: a model sees the default tools plus two small ones,
//! `list_toolsets` and `enable_toolset`, and opens another toolset when the
//! user's task needs it. The server then sends
//! `notifications/tools/list_changed` and serves that toolset's tools
//! (tools/list and tools/call) for the rest of the connection.
//!
//! What is on belongs to one connection ([`Session`]): the stdio process,
//! or one streamable HTTP session (the HTTP layer makes a fresh server per
//! session with [`crate::mcp::server::DevopsServer::for_connection`]). An
//! HTTP request without a session (`--stateless`, or protocol 2026-07-28,
//! which has no sessions) cannot keep anything: `enable_toolset` is refused
//! there with what to do instead, and such requests see the toolsets that
//! are on at the start.
//!
//! Bounds: without `--toolsets` the default toolsets start on and every
//! other toolset can be opened. `--toolsets` keeps working as without
//! dynamic mode: exactly the toolsets it names are served, from the start,
//! and no other can be opened (a clear error says so). `--read-only` keeps
//! only the read-only tools of any toolset, opened or not.
//!
//! How the client hears of a change: a 2025-11-25 (`initialize`) connection
//! gets the notification directly; a 2026-07-28 connection gets it on each
//! `subscriptions/listen` stream that asked for `toolsListChanged`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use rmcp::service::{Peer, RoleServer, SubscriptionSink};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::context::ToolCtx;
use super::error::ToolError;
use super::registry::{Hints, Registry, ToolDef, ToolEntry, ToolFilter, Toolset};

/// One line per toolset, for `list_toolsets` (written for a model).
pub fn describe(t: Toolset) -> &'static str {
    match t {
        Toolset::Context => "who the user is, workspaces, DevOps projects, resolving a typed project name",
        Toolset::Pipelines => {
            "list, inspect and create pipelines (regular, or multi-branch over a private or public repository); branches and branch scans"
        }
        Toolset::Runs => "trigger, list, follow, rerun and delete runs; approve input steps",
        Toolset::Logs => "run logs (bounded, grep) and why a run failed",
        Toolset::Credentials => "list, create and rotate credentials (secret values never shown)",
        Toolset::Gitops => "GitOps (Argo CD) applications: list, status, create, sync, update, delete",
        Toolset::Repos => "GitRepository resources: register, list, inspect, read a file, delete",
        Toolset::Access => "why a workspace, project or pipeline is missing or refused for this user",
        Toolset::Authoring => "edit pipelines: validate and replace a Jenkinsfile, change settings, agent labels",
        Toolset::Templates => "pipeline templates: list, render, create a pipeline from one",
        Toolset::Quality => "SonarQube quality gates of a pipeline or branch",
        Toolset::Projects => "create and delete DevOps projects (workspace admins)",
        Toolset::Artifacts => "files a run archived: list and download",
        Toolset::Cleanup => "stop runs, delete pipelines and credentials (destructive, confirmed by the user)",
    }
}

/// Dynamic mode as decided at start-up (part of [`super::ServerOptions`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamicConfig {
    /// Toolsets that may be on: `--toolsets`, or all when it is not given.
    pub offered: Vec<Toolset>,
    /// Toolsets on when a connection starts.
    pub initial: Vec<Toolset>,
    /// `--read-only`: only read-only tools of a toolset are served.
    pub read_only: bool,
}

impl DynamicConfig {
    /// From `--toolsets` (`None`: not given) and `--read-only`. The error
    /// is the one of [`Toolset::parse_list`].
    pub fn from_spec(spec: Option<&str>, read_only: bool) -> Result<DynamicConfig, String> {
        Ok(match spec {
            None => DynamicConfig {
                offered: Toolset::ALL.to_vec(),
                initial: Toolset::ALL.into_iter().filter(|t| t.is_default()).collect(),
                read_only,
            },
            Some(s) => {
                let named = Toolset::parse_list(s)?;
                DynamicConfig {
                    offered: named.clone(),
                    initial: named,
                    read_only,
                }
            }
        })
    }

    /// The tools this server may serve at all (the bound).
    pub fn filter(&self) -> ToolFilter {
        ToolFilter {
            toolsets: self.offered.clone(),
            read_only: self.read_only,
        }
    }
}

/// What one connection has on, and its listen streams.
#[derive(Debug, Default)]
pub struct Session {
    on: Mutex<BTreeSet<Toolset>>,
    listeners: Mutex<Vec<(u64, SubscriptionSink)>>,
    next_listener: std::sync::atomic::AtomicU64,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Session {
    pub fn new(initial: &[Toolset]) -> Session {
        Session {
            on: Mutex::new(initial.iter().copied().collect()),
            ..Default::default()
        }
    }

    pub fn is_on(&self, t: Toolset) -> bool {
        locked(&self.on).contains(&t)
    }

    /// Turns `t` on; false when it was on already.
    fn enable(&self, t: Toolset) -> bool {
        locked(&self.on).insert(t)
    }

    /// Registers a `subscriptions/listen` stream; dropping the guard
    /// removes it.
    pub fn listen(self: &Arc<Self>, sink: SubscriptionSink) -> ListenGuard {
        let id = self.next_listener.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        locked(&self.listeners).push((id, sink));
        ListenGuard {
            session: self.clone(),
            id,
        }
    }

    fn sinks(&self) -> Vec<SubscriptionSink> {
        locked(&self.listeners).iter().map(|(_, s)| s.clone()).collect()
    }
}

/// Keeps a listen stream registered while it lives.
pub struct ListenGuard {
    session: Arc<Session>,
    id: u64,
}

impl Drop for ListenGuard {
    fn drop(&mut self) {
        locked(&self.session.listeners).retain(|(id, _)| *id != self.id);
    }
}

/// How the client of this request hears of a change.
#[derive(Clone)]
pub(crate) enum Notify {
    /// An `initialize` connection: the notification goes to the peer.
    Peer(Peer<RoleServer>),
    /// A 2026-07-28 connection: on its listen streams.
    Listeners,
}

/// The dynamic-toolset view of one tool call ([`ToolCtx::toolsets`]).
#[derive(Clone)]
pub struct Toolsets {
    pub(crate) config: Arc<DynamicConfig>,
    pub(crate) session: Arc<Session>,
    /// The tools of the offered toolsets ([`DynamicConfig::filter`]).
    pub(crate) registry: Registry,
    pub(crate) notify: Notify,
    /// Whether what is enabled outlives this request (false: an HTTP
    /// request without a session).
    pub(crate) persistent: bool,
}

impl Toolsets {
    fn tools_of(&self, t: Toolset) -> Vec<String> {
        self.registry
            .entries()
            .iter()
            .filter(|e| e.toolset == t)
            .map(|e| e.name().to_string())
            .collect()
    }

    /// Sends `notifications/tools/list_changed`; the number of streams it
    /// went to (1 for an `initialize` connection).
    async fn announce(&self) -> usize {
        match &self.notify {
            Notify::Peer(peer) => match peer.notify_tool_list_changed().await {
                Ok(()) => 1,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot send notifications/tools/list_changed");
                    0
                }
            },
            Notify::Listeners => {
                let mut sent = 0;
                for sink in self.session.sinks() {
                    match sink.notify_tool_list_changed().await {
                        Ok(()) => sent += 1,
                        Err(e) => tracing::debug!(error = %e, "a listen stream did not take tools/list_changed"),
                    }
                }
                sent
            }
        }
    }
}

// ------------------------------------------------------------------ tools

const LIST_DESCRIPTION: &str = "Lists every toolset of this server: a one-line description, its tools, whether it is on in this session and whether it can be opened here. \
The default tools already cover the usual flows: finding a project, creating a pipeline (a multi-branch one over a private repository after creating its credential), branch scans, triggering and following runs, logs and failure diagnosis. \
When the user needs more (archived artifacts, stopping runs, deleting pipelines or credentials, GitOps applications, editing Jenkinsfiles, templates, quality gates, DevOps projects), open that toolset with enable_toolset.";

const ENABLE_DESCRIPTION: &str = "Opens one toolset for the rest of this session: its tools are added to tools/list (the server sends notifications/tools/list_changed) and can be called right away. \
Names: see list_toolsets, e.g. artifacts, cleanup, gitops, repos, access, authoring, templates, quality, projects. Not needed for the usual flows (projects, pipelines incl. multi-branch with a private repository's credential, scans, runs, logs, diagnosis): those tools are on by default. \
Only toolsets the operator allows can be opened; with a read-only server only their read-only tools appear. Opening a toolset that is on changes nothing.";

/// Input of `list_toolsets`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
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
    const NAME: &'static str = "list_toolsets";
    const TITLE: &'static str = "List toolsets";
    const DESCRIPTION: &'static str = LIST_DESCRIPTION;
    /// Listed with the context tools in the catalog; served in dynamic mode
    /// whatever `--toolsets` says.
    const TOOLSET: Toolset = Toolset::Context;
    const HINTS: Hints = Hints::READ;
    type Input = ListToolsetsInput;
    type Output = ListToolsetsOutput;

    async fn call(ctx: ToolCtx, _input: ListToolsetsInput) -> Result<ListToolsetsOutput, ToolError> {
        let ts = dynamic_view(&ctx)?;
        let toolsets: Vec<ToolsetView> = Toolset::ALL
            .into_iter()
            .map(|t| {
                let tools = ts.tools_of(t);
                let available = ts.config.offered.contains(&t) && !tools.is_empty();
                ToolsetView {
                    name: t.name(),
                    description: describe(t),
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

/// Input of `enable_toolset`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
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
    const NAME: &'static str = "enable_toolset";
    const TITLE: &'static str = "Enable a toolset";
    const DESCRIPTION: &'static str = ENABLE_DESCRIPTION;
    /// See [`ListToolsets::TOOLSET`].
    const TOOLSET: Toolset = Toolset::Context;
    /// Changes nothing in KubeSphere, only which tools this session lists;
    /// opening twice is harmless.
    const HINTS: Hints = Hints::READ;
    type Input = EnableToolsetInput;
    type Output = EnableToolsetOutput;

    async fn call(ctx: ToolCtx, input: EnableToolsetInput) -> Result<EnableToolsetOutput, ToolError> {
        let ts = dynamic_view(&ctx)?;
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
        if ts.session.is_on(t) {
            return Ok(EnableToolsetOutput {
                toolset: t.name(),
                status: "already_on",
                tools,
                notified: false,
                next: "This toolset was on already; call its tools.".into(),
            });
        }
        if !ts.persistent {
            return Err(ToolError::Refused(format!(
                "toolset {} cannot be opened: this HTTP request has no session (the server runs --stateless, or the client speaks protocol 2026-07-28, which has none), so nothing would remember it. Use the tools that are on, or tell the user that the operator can serve it from the start with --toolsets default,{}",
                t.name(),
                t.name()
            )));
        }
        ts.session.enable(t);
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

fn dynamic_view(ctx: &ToolCtx) -> Result<&Toolsets, ToolError> {
    ctx.toolsets.as_ref().ok_or_else(|| {
        ToolError::Refused(
            "toolsets are fixed here: dynamic toolsets are off (--dynamic-toolsets false) or this is the `call` CLI; the served toolsets are set with --toolsets".into(),
        )
    })
}

/// The two dynamic tools, in catalog order.
pub fn entries() -> &'static [ToolEntry] {
    static ENTRIES: OnceLock<Vec<ToolEntry>> = OnceLock::new();
    ENTRIES.get_or_init(|| vec![ToolEntry::of::<ListToolsets>(), ToolEntry::of::<EnableToolset>()])
}

/// Whether `name` is one of the dynamic tools.
pub fn is_dynamic_tool(name: &str) -> bool {
    entries().iter().any(|e| e.name() == name)
}

/// The published catalog: every tool of the binary, the dynamic ones
/// included.
pub fn catalog() -> Registry {
    let mut all = Registry::all().entries().to_vec();
    all.extend(entries().iter().cloned());
    Registry::from_entries(all)
}

/// The tools a connection sees now: the dynamic tools, then the offered
/// tools whose toolset is on, in catalog order.
pub fn visible<'a>(registry: &'a Registry, session: &Session) -> Vec<&'a ToolEntry> {
    let on = locked(&session.on).clone();
    entries()
        .iter()
        .chain(registry.entries().iter().filter(|e| on.contains(&e.toolset)))
        .collect()
}

/// Finds a tool this connection may call. `Err` says why an offered tool
/// cannot be called yet (its toolset is off); `Ok(None)`: no such tool.
pub fn find<'a>(registry: &'a Registry, session: &Session, name: &str) -> Result<Option<&'a ToolEntry>, String> {
    if let Some(e) = entries().iter().find(|e| e.name() == name) {
        return Ok(Some(e));
    }
    match registry.get(name) {
        Some(e) if session.is_on(e.toolset) => Ok(Some(e)),
        Some(e) => Err(format!(
            "tool {name} belongs to toolset {}, which is not open in this session: call enable_toolset with {{\"toolset\": \"{}\"}} first",
            e.toolset.name(),
            e.toolset.name()
        )),
        None => Ok(None),
    }
}

/// Any tool this server may serve (the dynamic ones and every offered
/// tool, on or not), e.g. for validating request headers against its
/// input schema.
pub fn any<'a>(registry: &'a Registry, name: &str) -> Option<&'a ToolEntry> {
    entries()
        .iter()
        .find(|e| e.name() == name)
        .or_else(|| registry.get(name))
}

/// The filter of `subscriptions/listen` streams this server accepts in
/// dynamic mode: `notifications/tools/list_changed` only.
pub fn accepted_filter() -> rmcp::model::SubscriptionFilter {
    rmcp::model::SubscriptionFilter::builder().tools_list_changed().build()
}

/// Whether a request of this protocol version speaks 2026-07-28 or later
/// (list-changed notifications go on listen streams).
pub(crate) fn is_modern(version: Option<rmcp::model::ProtocolVersion>) -> bool {
    version.is_some_and(|v| v.as_str() >= rmcp::model::ProtocolVersion::V_2026_07_28.as_str())
}

/// Whether what a request enables outlives it: always on stdio (one
/// connection per process); over HTTP only inside a session (the request
/// carries `Mcp-Session-Id`).
pub(crate) fn has_session(parts: Option<&http::request::Parts>) -> bool {
    parts.is_none_or(|p| p.headers.contains_key("mcp-session-id"))
}
