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

use super::context::ToolCtx;
use super::error::ToolError;
use super::registry::{Registry, ToolEntry, ToolFilter, Toolset};

/// One line per toolset, for `list_toolsets` (written for a model).
pub fn describe(t: Toolset) -> &'static str {
    match t {
        Toolset::Context => "who the user is, workspaces, DevOps projects, resolving a typed project name",
        Toolset::Pipelines => {
            "list, inspect and create pipelines (regular, or multi-branch over a private or public repository); branches and branch scans"
        }
        Toolset::Runs => "trigger, list, follow and rerun runs; approve input steps",
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
        Toolset::Cleanup => "stop and delete runs, delete pipelines and credentials (destructive, confirmed by the user)",
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
    /// From `--toolsets` as parsed (`None`: not given) and `--read-only`.
    pub fn from_list(named: Option<&[Toolset]>, read_only: bool) -> DynamicConfig {
        match named {
            None => DynamicConfig {
                offered: Toolset::ALL.to_vec(),
                initial: Toolset::ALL.into_iter().filter(|t| t.is_default()).collect(),
                read_only,
            },
            Some(named) => DynamicConfig {
                offered: named.to_vec(),
                initial: named.to_vec(),
                read_only,
            },
        }
    }

    /// From `--toolsets` text (`None`: not given) and `--read-only`. The
    /// error is the one of [`Toolset::parse_list`].
    pub fn from_spec(spec: Option<&str>, read_only: bool) -> Result<DynamicConfig, String> {
        let named = spec.map(Toolset::parse_list).transpose()?;
        Ok(DynamicConfig::from_list(named.as_deref(), read_only))
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
    pub(crate) fn enable(&self, t: Toolset) -> bool {
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
    /// A view with a session of its own and no client to notify (tests
    /// and in-process callers): what `config` starts with is on.
    pub fn standalone(config: DynamicConfig) -> Toolsets {
        Toolsets {
            registry: Registry::filtered(&config.filter()),
            session: Arc::new(Session::new(&config.initial)),
            config: Arc::new(config),
            notify: Notify::Listeners,
            persistent: true,
        }
    }

    pub(crate) fn tools_of(&self, t: Toolset) -> Vec<String> {
        self.registry
            .entries()
            .iter()
            .filter(|e| e.toolset == t)
            .map(|e| e.name().to_string())
            .collect()
    }

    /// Sends `notifications/tools/list_changed`; the number of streams it
    /// went to (1 for an `initialize` connection).
    pub(crate) async fn announce(&self) -> usize {
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

/// The dynamic view of a tool call, or why there is none.
pub(crate) fn view(ctx: &ToolCtx) -> Result<&Toolsets, ToolError> {
    ctx.toolsets.as_ref().ok_or_else(|| {
        ToolError::Refused(
            "toolsets are fixed here: dynamic toolsets are off (--dynamic-toolsets false) or this is the `call` CLI; the served toolsets are set with --toolsets".into(),
        )
    })
}

/// Name of the tool that lists the toolsets.
pub const LIST_TOOLSETS: &str = "list_toolsets";
/// Name of the tool that opens a toolset.
pub const ENABLE_TOOLSET: &str = "enable_toolset";

/// The two dynamic tools, in catalog order (taken from the catalog).
pub fn entries() -> &'static [ToolEntry] {
    static ENTRIES: OnceLock<Vec<ToolEntry>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        Registry::all()
            .entries()
            .iter()
            .filter(|e| is_dynamic_tool(e.name()))
            .cloned()
            .collect()
    })
}

/// Whether `name` is one of the dynamic tools.
pub fn is_dynamic_tool(name: &str) -> bool {
    name == LIST_TOOLSETS || name == ENABLE_TOOLSET
}

/// The tools a connection sees now: the dynamic tools, then the offered
/// tools whose toolset is on, in catalog order.
pub fn visible<'a>(registry: &'a Registry, session: &Session) -> Vec<&'a ToolEntry> {
    let on = locked(&session.on).clone();
    entries()
        .iter()
        .chain(
            registry
                .entries()
                .iter()
                .filter(|e| on.contains(&e.toolset) && !is_dynamic_tool(e.name())),
        )
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
