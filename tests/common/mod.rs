//! Shared helpers of the integration tests: a simulated KubeSphere, the
//! server wired to it, and an rmcp client that can answer elicitation.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ks_devops_mcp::kubesphere::{ClientSettings, Credentials, KsClient};
use ks_devops_mcp::mcp::server::DevopsServer;
use ks_devops_mcp::mcp::{Registry, ServerOptions};
use ks_sim::{Sim, SimOptions};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult,
    ElicitationAction, ElicitationCapability, FormElicitationCapability, Implementation, ProtocolVersion,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RequestContext, RunningService};
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use secrecy::SecretString;
use serde_json::Value;

/// The server binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_ks-devops-mcp");

/// The variables of this environment the binary would read as its settings.
fn inherited_settings() -> impl Iterator<Item = String> {
    std::env::vars()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("KUBESPHERE_") || k.starts_with("KS_DEVOPS_MCP_") || k == "RUST_LOG")
}

/// Keeps the test's own environment from configuring the binary.
pub fn clean_env(cmd: &mut tokio::process::Command) {
    for k in inherited_settings() {
        cmd.env_remove(k);
    }
}

/// [`clean_env`] for a `std::process::Command`.
pub fn clean_std_env(cmd: &mut std::process::Command) {
    for k in inherited_settings() {
        cmd.env_remove(k);
    }
}

/// Runs a command to its end (at most 30 s): exit code, stdout, stderr.
pub async fn output(mut cmd: tokio::process::Command) -> (i32, String, String) {
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .unwrap()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Reads a child's stderr to its end in the background.
pub fn read_all(mut stderr: tokio::process::ChildStderr) -> tokio::task::JoinHandle<String> {
    use tokio::io::AsyncReadExt;
    tokio::spawn(async move {
        let mut buf = String::new();
        let _ = stderr.read_to_string(&mut buf).await;
        buf
    })
}

pub async fn sim() -> Sim {
    sim_with_phase(Duration::from_millis(50)).await
}

/// A simulated KubeSphere whose runs stay QUEUED, then RUNNING, for `phase`.
pub async fn sim_with_phase(phase: Duration) -> Sim {
    Sim::start(
        SimOptions {
            run_phase: phase,
            ..Default::default()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .expect("sim starts")
}

pub fn client(sim: &Sim, user: &str) -> KsClient {
    let mut s = ClientSettings::new(
        url::Url::parse(&sim.url()).unwrap(),
        Credentials::Password {
            username: user.into(),
            password: SecretString::from("P@88w0rd"),
        },
    );
    s.retry_backoff = Duration::from_millis(10);
    KsClient::new(s).unwrap()
}

pub fn server(sim: &Sim) -> DevopsServer {
    DevopsServer::new(Registry::all(), client(sim, "tenant"), ServerOptions::default())
}

/// How the test client answers an elicitation.
#[derive(Clone, Debug)]
pub enum Reply {
    Accept(Value),
    /// Accept, picking the first option of the first enum-like field.
    AcceptFirst,
    Decline,
    Cancel,
}

/// Runs before the client answers an elicitation (e.g. to change the
/// target behind the human's back).
pub type Hook = Arc<dyn Fn() -> futures::future::BoxFuture<'static, ()> + Send + Sync>;

#[derive(Clone)]
pub struct TestClient {
    pub elicitation: bool,
    pub reply: Reply,
    pub asked: Arc<AtomicUsize>,
    pub last_schema: Arc<std::sync::Mutex<Option<Value>>>,
    pub last_message: Arc<std::sync::Mutex<Option<String>>>,
    pub progress: Arc<AtomicUsize>,
    pub before_reply: Option<Hook>,
}

impl TestClient {
    pub fn new(elicitation: bool, reply: Reply) -> TestClient {
        TestClient {
            elicitation,
            reply,
            asked: Default::default(),
            last_schema: Default::default(),
            last_message: Default::default(),
            progress: Default::default(),
            before_reply: None,
        }
    }

    /// A client without elicitation (nobody can be asked).
    pub fn plain() -> TestClient {
        TestClient::new(false, Reply::Decline)
    }

    pub fn with_hook(mut self, hook: Hook) -> TestClient {
        self.before_reply = Some(hook);
        self
    }

    pub fn progress_seen(&self) -> usize {
        self.progress.load(Ordering::SeqCst)
    }

    pub fn last_message(&self) -> String {
        self.last_message.lock().unwrap().clone().unwrap_or_default()
    }

    pub fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

impl ClientHandler for TestClient {
    fn get_info(&self) -> ClientConfig {
        let caps = if self.elicitation {
            ClientCapabilities::builder()
                .enable_elicitation_with(ElicitationCapability::new().with_form(FormElicitationCapability::new()))
                .build()
        } else {
            ClientCapabilities::default()
        };
        ClientConfig::new(caps, Implementation::new("ks-devops-mcp-tests", "0.1.0"))
            .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
    }

    async fn on_progress(
        &self,
        _params: rmcp::model::ProgressNotificationParam,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        self.count_progress();
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let ElicitRequestParams::FormElicitationParams {
            requested_schema,
            message,
            ..
        } = request
        else {
            return Err(ErrorData::invalid_params("only form mode", None));
        };
        *self.last_message.lock().unwrap() = Some(message);
        if let Some(hook) = &self.before_reply {
            hook().await;
        }
        let schema = serde_json::to_value(&requested_schema).unwrap_or_default();
        *self.last_schema.lock().unwrap() = Some(schema.clone());
        Ok(match &self.reply {
            Reply::Accept(v) => ElicitResult::new(ElicitationAction::Accept).with_content(v.clone()),
            Reply::AcceptFirst => {
                let props = schema["properties"].as_object().cloned().unwrap_or_default();
                let (key, prop) = props.iter().next().expect("a field");
                let first = prop["oneOf"][0]["const"].clone();
                ElicitResult::new(ElicitationAction::Accept).with_content(serde_json::json!({ key: first }))
            }
            Reply::Decline => ElicitResult::new(ElicitationAction::Decline),
            Reply::Cancel => ElicitResult::new(ElicitationAction::Cancel),
        })
    }
}

impl TestClient {
    fn count_progress(&self) {
        self.progress.fetch_add(1, Ordering::SeqCst);
    }
}

/// The two handshake styles real clients use.
#[derive(Clone, Copy, Debug)]
pub enum Lifecycle {
    /// `initialize` (2025-11-25 and older: TypeScript SDK, Inspector).
    Initialize,
    /// `server/discover` (2026-07-28: Python SDK 2.x, Claude Code).
    Discover,
}

pub const LIFECYCLES: [Lifecycle; 2] = [Lifecycle::Initialize, Lifecycle::Discover];

/// The test client's end of a session.
pub type Client = RunningService<RoleClient, TestClient>;

/// Serves `server` on an in-memory pipe and connects `client` to it.
pub async fn connect(server: DevopsServer, client: TestClient, lifecycle: Lifecycle) -> Client {
    let (server_io, client_io) = tokio::io::duplex(256 * 1024);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    handshake(client, client_io, lifecycle).await
}

/// The most common session: the default server (every tool, user
/// `tenant`) and a client that cannot be asked, over `initialize`.
pub async fn session(sim: &Sim) -> Client {
    connect(server(sim), TestClient::plain(), Lifecycle::Initialize).await
}

/// Starts `client` on any transport (in-memory, child process, HTTP) with
/// the given lifecycle.
pub async fn handshake<T, E, A>(client: TestClient, transport: T, lifecycle: Lifecycle) -> Client
where
    T: rmcp::transport::IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    match lifecycle {
        Lifecycle::Initialize => client.serve(transport).await.expect("initialize"),
        Lifecycle::Discover => client
            .serve_with_lifecycle(
                transport,
                ClientLifecycleMode::Discover {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                },
            )
            .await
            .expect("discover"),
    }
}

pub async fn call(c: &RunningService<RoleClient, TestClient>, tool: &str, args: Value) -> CallToolResult {
    let params =
        CallToolRequestParams::new(tool.to_string()).with_arguments(args.as_object().cloned().unwrap_or_default());
    c.call_tool(params).await.expect("tools/call answered")
}

pub fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}
