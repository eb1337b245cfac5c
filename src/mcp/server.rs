//! The MCP server handler: lists the registry's tools and runs them.
//! Transport-agnostic; `main.rs` puts it on stdio, `crate::http` on
//! streamable HTTP.
//!
//! Who a tool acts as is decided per request: either the one identity the
//! server was configured with ([`Acting::Fixed`]: stdio, the `call` CLI,
//! HTTP without caller authentication on loopback), or the authenticated
//! caller the HTTP layer attached to the request ([`Acting::PerCaller`]),
//! with no fallback: a request without a caller is refused.

use std::sync::Arc;
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams, CompleteResult, ContentBlock,
    CustomRequest, CustomResult, ErrorCode, GetPromptRequestParams, GetPromptResponse, Implementation,
    ListPromptsResult, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, SubscriptionFilter,
    Tool,
};
use rmcp::service::{RequestContext, RoleServer, SubscriptionContext};
use rmcp::{ErrorData, ServerHandler};

use super::context::{Channel, ServerOptions, ToolCtx, collect_answers};
use super::dynamic::{self, Session};
use super::error::ToolError;
use super::registry::{Registry, ToolOutcome};
use crate::kubesphere::KsClient;

const INSTRUCTIONS: &str = "Operates KubeSphere DevOps as one tenant user (the configured one, or over HTTP the calling user), through KubeSphere's tenant API only. \
Start with whoami or list_devops_projects. Every tool that takes `project` accepts the name the user typed; when it matches several projects the tool asks or returns the candidates: ask the user, never pick one yourself. \
Results are compact summaries; failures come back as tool errors whose text says what to do next.";

/// The authenticated caller of one HTTP request, put into the request's
/// extensions by the HTTP layer. Holds the caller's own KubeSphere client
/// (its token cache); never shared between identities.
#[derive(Clone)]
pub struct Caller {
    /// The KubeSphere user, as KubeSphere confirmed it (for logs and
    /// session ownership).
    pub user: Arc<str>,
    /// How the caller proved it: `token` (its own KubeSphere token) or
    /// `key:<name>` (an operator-managed API key).
    pub via: Arc<str>,
    pub client: KsClient,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("user", &self.user)
            .field("via", &self.via)
            .finish_non_exhaustive()
    }
}

/// Whose KubeSphere identity tools use.
#[derive(Clone)]
pub enum Acting {
    /// The one configured identity.
    Fixed(KsClient),
    /// The request's authenticated [`Caller`]; no fallback.
    PerCaller,
}

/// The ks-devops MCP server. Cheap to clone (one per session).
#[derive(Clone)]
pub struct DevopsServer {
    registry: Registry,
    acting: Acting,
    options: Arc<ServerOptions>,
    /// The toolsets this connection has on (dynamic mode); shared by
    /// clones, fresh per [`DevopsServer::for_connection`].
    session: Arc<Session>,
}

impl DevopsServer {
    /// A server acting as one configured identity.
    pub fn new(registry: Registry, client: KsClient, options: ServerOptions) -> DevopsServer {
        DevopsServer {
            session: Arc::new(new_session(&options)),
            registry,
            acting: Acting::Fixed(client),
            options: Arc::new(options),
        }
    }

    /// A server acting as each request's authenticated caller.
    pub fn per_caller(registry: Registry, options: ServerOptions) -> DevopsServer {
        DevopsServer {
            session: Arc::new(new_session(&options)),
            registry,
            acting: Acting::PerCaller,
            options: Arc::new(options),
        }
    }

    /// The same server for a new connection (an HTTP session): the
    /// toolsets on start again from the configured ones.
    pub fn for_connection(&self) -> DevopsServer {
        DevopsServer {
            session: Arc::new(new_session(&self.options)),
            ..self.clone()
        }
    }

    /// Whether toolsets can be opened at run time (`--dynamic-toolsets`).
    pub fn is_dynamic(&self) -> bool {
        self.options.dynamic.is_some()
    }

    /// The tools this connection sees now.
    pub fn visible_tools(&self) -> Vec<Tool> {
        if self.is_dynamic() {
            dynamic::visible(&self.registry, &self.session)
                .into_iter()
                .map(|e| e.tool.clone())
                .collect()
        } else {
            self.static_entries().map(|e| e.tool.clone()).collect()
        }
    }

    /// Without dynamic mode: the registry's tools, never the two dynamic
    /// ones (a registry of every tool holds them).
    fn static_entries(&self) -> impl Iterator<Item = &super::registry::ToolEntry> {
        self.registry
            .entries()
            .iter()
            .filter(|e| !dynamic::is_dynamic_tool(e.name()))
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn acting(&self) -> &Acting {
        &self.acting
    }

    /// A context for a call outside MCP (the `call` CLI): nobody can be
    /// asked. `None` for a per-caller server (there is nobody to act as).
    pub fn detached_ctx(&self) -> Option<ToolCtx> {
        match &self.acting {
            Acting::Fixed(client) => Some(ToolCtx::detached(client.clone(), self.options.clone())),
            Acting::PerCaller => None,
        }
    }

    /// The client of this request and the user name for the access log.
    fn client_for(&self, rc: &RequestContext<RoleServer>) -> Result<(KsClient, Arc<str>), ErrorData> {
        let caller = rc
            .extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<Caller>());
        match (&self.acting, caller) {
            (_, Some(c)) => Ok((c.client.clone(), c.user.clone())),
            (Acting::Fixed(client), None) => {
                let user = client.settings().credentials.username().unwrap_or_default();
                Ok((client.clone(), Arc::from(user)))
            }
            (Acting::PerCaller, None) => Err(ErrorData::invalid_request(
                "this request carries no authenticated caller; send Authorization: Bearer <KubeSphere token or API key>",
                None,
            )),
        }
    }

    /// The server's advertised configuration (`dynamic`: the tool list
    /// can change, `tools.listChanged`).
    pub fn config(dynamic: bool) -> ServerConfig {
        let caps = ServerCapabilities::builder()
            .enable_completions()
            .enable_prompts()
            .enable_tools();
        let caps = if dynamic {
            caps.enable_tool_list_changed().build()
        } else {
            caps.build()
        };
        ServerConfig::new(caps)
            .with_server_info(
                Implementation::new("ks-devops-mcp", env!("CARGO_PKG_VERSION"))
                    .with_title("KubeSphere DevOps (tenant)"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    fn ctx_for(&self, client: KsClient, rc: &RequestContext<RoleServer>, params: &CallToolRequestParams) -> ToolCtx {
        let can_elicit = rc
            .client_capabilities()
            .and_then(|c| c.elicitation)
            .is_some_and(|e| e.form.is_some() || e.url.is_none());
        let mrtr = rc
            .protocol_version()
            .is_some_and(|v| v.as_str() >= rmcp::model::ProtocolVersion::V_2026_07_28.as_str());
        let channel = match (can_elicit, mrtr) {
            (false, _) => Channel::None,
            (true, false) => Channel::Request(rc.peer.clone()),
            (true, true) => Channel::Mrtr {
                answers: collect_answers(params.request_state.as_deref(), params.input_responses.as_ref()),
            },
        };
        let toolsets = self.options.dynamic.as_ref().map(|config| dynamic::Toolsets {
            config: Arc::new(config.clone()),
            session: self.session.clone(),
            registry: self.registry.clone(),
            notify: if dynamic::is_modern(rc.protocol_version()) {
                dynamic::Notify::Listeners
            } else {
                dynamic::Notify::Peer(rc.peer.clone())
            },
            persistent: dynamic::has_session(rc.extensions.get::<http::request::Parts>()),
        });
        ToolCtx {
            client,
            options: self.options.clone(),
            cancel: rc.ct.clone(),
            channel,
            progress: rc.meta.get_progress_token().map(|t| (rc.peer.clone(), t)),
            toolsets,
        }
    }
}

fn new_session(options: &ServerOptions) -> Session {
    Session::new(options.dynamic.as_ref().map_or(&[][..], |d| &d.initial))
}

/// Turns a tool outcome into the MCP answer.
pub fn to_response(outcome: ToolOutcome) -> CallToolResponse {
    match outcome {
        Ok(value) => CallToolResult::structured(value).into(),
        Err(ToolError::InputRequired(r)) => CallToolResponse::InputRequired(*r),
        Err(e) => CallToolResult::error(vec![ContentBlock::text(e.agent_text())]).into(),
    }
}

impl ServerHandler for DevopsServer {
    fn get_info(&self) -> ServerConfig {
        DevopsServer::config(self.is_dynamic())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.visible_tools()))
    }

    fn accepted_subscription_filter(&self, _requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        self.is_dynamic().then(dynamic::accepted_filter)
    }

    /// A 2026-07-28 client's listen stream: it gets
    /// `notifications/tools/list_changed` when a toolset is opened.
    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let _registered = self.session.listen(context.sink().clone());
        tracing::info!("listen stream opened (notifications/tools/list_changed)");
        context.cancelled().await;
        tracing::debug!("listen stream closed");
        Ok(())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(super::prompts::list()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let (client, caller) = self.client_for(&context)?;
        let mut ctx = ToolCtx::detached(client, self.options.clone());
        ctx.cancel = context.ct.clone();
        let args = request.arguments.unwrap_or_default();
        let started = Instant::now();
        let result = super::prompts::get(&ctx, &self.registry, &request.name, &args).await;
        let ms = started.elapsed().as_millis() as u64;
        let prompt = crate::text::cut(&request.name, 64);
        tracing::info!(%caller, %prompt, ms, ok = result.is_ok(), "prompt");
        result
            .map(GetPromptResponse::from)
            .map_err(|e| ErrorData::invalid_params(crate::text::bound(&e.to_string()), None))
    }

    /// Methods this server does not have: the name is quoted cut and
    /// escaped (rmcp's default echoes it whole).
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        Err(ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("method not found: {}", crate::text::quote(&request.method)),
            None,
        ))
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let (client, _) = self.client_for(&context)?;
        let mut ctx = ToolCtx::detached(client, self.options.clone());
        ctx.cancel = context.ct.clone();
        let known = request.context.as_ref().and_then(|c| c.arguments.as_ref());
        Ok(super::prompts::complete(&ctx, &request.r#ref, &request.argument, known).await)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        if self.is_dynamic() {
            return dynamic::any(&self.registry, name).map(|e| e.tool.clone());
        }
        self.static_entries().find(|e| e.name() == name).map(|e| e.tool.clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let found = if self.is_dynamic() {
            dynamic::find(&self.registry, &self.session, &request.name)
                .map_err(|why| ErrorData::invalid_params(crate::text::bound(&why), None))?
        } else {
            self.static_entries().find(|e| e.name() == request.name)
        };
        let Some(entry) = found else {
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool {}; call tools/list for the available tools",
                    crate::text::quote(&request.name)
                ),
                None,
            ));
        };
        let (client, caller) = self.client_for(&context)?;
        let ctx = self.ctx_for(client, &context, &request);
        let started = Instant::now();
        let outcome = entry.run(ctx, request.arguments.clone().unwrap_or_default()).await;
        let ms = started.elapsed().as_millis() as u64;
        // The access log of tool calls: never arguments or results (they
        // may hold secrets), never a token.
        match &outcome {
            Ok(_) => tracing::info!(%caller, tool = %request.name, ms, outcome = "ok", "tool call"),
            Err(e) => tracing::info!(%caller, tool = %request.name, ms, outcome = e.kind(), "tool call"),
        }
        Ok(to_response(outcome))
    }
}
