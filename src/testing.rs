//! Test helpers shared by the unit tests of the tools: a simulated
//! KubeSphere on loopback and a client logged in to it.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::kubesphere::{ClientSettings, Credentials, KsClient};
use crate::mcp::{ServerOptions, ToolCtx};

pub const PASSWORD: &str = "P@88w0rd";

/// Starts a simulated KubeSphere with fast runs.
pub async fn sim() -> ks_sim::Sim {
    sim_with(ks_sim::SimOptions {
        run_phase: Duration::from_millis(50),
        ..Default::default()
    })
    .await
}

pub async fn sim_with(opts: ks_sim::SimOptions) -> ks_sim::Sim {
    ks_sim::Sim::start(opts, ([127, 0, 0, 1], 0).into())
        .await
        .expect("simulated KubeSphere starts")
}

/// Client settings for `user` against `sim`, with quick retries.
pub fn settings(sim: &ks_sim::Sim, user: &str) -> ClientSettings {
    let mut s = ClientSettings::new(
        url::Url::parse(&sim.url()).expect("sim url"),
        Credentials::Password {
            username: user.into(),
            password: SecretString::from(PASSWORD),
        },
    );
    s.retry_backoff = Duration::from_millis(10);
    s.timeout = Duration::from_secs(5);
    s
}

pub fn client(sim: &ks_sim::Sim, user: &str) -> KsClient {
    KsClient::new(settings(sim, user)).expect("client")
}

/// A detached tool context (nobody can be asked) for the demo tenant.
pub fn ctx(sim: &ks_sim::Sim) -> ToolCtx {
    ToolCtx::detached(client(sim, "tenant"), Arc::new(ServerOptions::default()))
}

/// A detached context for the demo tenant on a server started with
/// `--allow-unconfirmed-destructive`.
pub fn ctx_unconfirmed(sim: &ks_sim::Sim) -> ToolCtx {
    ToolCtx::detached(
        client(sim, "tenant"),
        Arc::new(ServerOptions {
            allow_unconfirmed_destructive: true,
            ..Default::default()
        }),
    )
}

/// True when the simulated KubeSphere saw nothing but reads (and logins).
pub fn only_reads(sim: &ks_sim::Sim) -> bool {
    sim.requests()
        .iter()
        .all(|r| r.method == "GET" || r.path == "/oauth/token")
}

/// Runs a tool by name with JSON arguments, through the registry path.
pub async fn call(ctx: &ToolCtx, tool: &str, args: serde_json::Value) -> crate::mcp::registry::ToolOutcome {
    let registry = crate::mcp::Registry::all();
    let entry = registry.get(tool).expect("tool exists");
    let args = match args {
        serde_json::Value::Object(o) => o,
        _ => panic!("args must be an object"),
    };
    entry.run(ctx.clone(), args).await
}
