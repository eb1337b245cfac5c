//! `ks-devops-mcp`: CLI entry point and transports.
//!
//! stdout is the MCP protocol in stdio mode: everything else, logs
//! included, goes to stderr.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use rmcp::ServiceExt;
use secrecy::SecretString;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::prelude::*;

use ks_devops_mcp::catalog;
use ks_devops_mcp::config::{Cli, Command, Settings, Target};
use ks_devops_mcp::http::HttpServer;
use ks_devops_mcp::kubesphere::{ClientSettings, Credentials, KsClient};
use ks_devops_mcp::mcp::server::DevopsServer;
use ks_devops_mcp::mcp::{Registry, ToolCtx};

/// The demo tenant `--sandbox` logs in as.
const SANDBOX_USER: &str = "tenant";
const SANDBOX_PASSWORD: &str = "P@88w0rd";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| EnvFilter::try_new(&cli.global.log))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // rmcp logs whole JSON-RPC messages at debug and trace, tool arguments
    // included (passwords, tokens, keys given to create_credential): its
    // events are capped at info whatever the filter asks for.
    let no_message_dumps = filter_fn(|m| !(m.target().starts_with("rmcp") && *m.level() > tracing::Level::INFO));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .with_filter(filter.and(no_message_dumps)),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ks-devops-mcp: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(cli))
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("ks-devops-mcp: {msg}");
    ExitCode::from(2)
}

async fn run(cli: Cli) -> ExitCode {
    let command = cli.command.unwrap_or(Command::Serve);
    match command {
        Command::Tools { write, examples } => {
            let registry = Registry::all();
            if examples {
                return match ks_devops_mcp::mcp::examples::export(&registry) {
                    Ok(v) => {
                        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(e),
                };
            }
            match write {
                Some(dir) => match catalog::write_dir(&registry, &dir) {
                    Ok(n) => {
                        eprintln!("wrote {n} tool files to {}", dir.display());
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(format!("cannot write the catalog to {}: {e}", dir.display())),
                },
                None => {
                    println!("{}", catalog::to_json_string(&registry));
                    ExitCode::SUCCESS
                }
            }
        }
        Command::Docs { write } => {
            let registry = Registry::all();
            match write {
                None => {
                    print!("{}", catalog::docs_tables(&registry));
                    ExitCode::SUCCESS
                }
                Some(path) => {
                    let text = match std::fs::read_to_string(&path) {
                        Ok(t) => t,
                        Err(e) => return fail(format!("cannot read {}: {e}", path.display())),
                    };
                    let new = match catalog::with_docs(&text, &registry) {
                        Ok(t) => t,
                        Err(e) => return fail(format!("{}: {e}", path.display())),
                    };
                    if let Err(e) = std::fs::write(&path, new) {
                        return fail(format!("cannot write {}: {e}", path.display()));
                    }
                    eprintln!("updated the tool tables in {}", path.display());
                    ExitCode::SUCCESS
                }
            }
        }
        Command::Sandbox { listen, run_phase_secs } => {
            let opts = ks_sim::SimOptions {
                run_phase: Duration::from_secs_f64(run_phase_secs.clamp(0.01, 3600.0)),
                ..Default::default()
            };
            let sim = match ks_sim::Sim::start(opts, listen).await {
                Ok(s) => s,
                Err(e) => return fail(format!("cannot listen on {listen}: {e}")),
            };
            eprintln!(
                "simulated KubeSphere on {} (users tenant and demo-admin, password {SANDBOX_PASSWORD}); Ctrl-C stops it",
                sim.url()
            );
            shutdown_signal().await;
            sim.shutdown().await;
            ExitCode::SUCCESS
        }
        Command::ApiKey { name } => {
            let (key, hex) = ks_devops_mcp::http::keys::generate();
            let name = name.unwrap_or_else(|| "my-agent".into());
            eprintln!("Give the first line to the client (Authorization: Bearer <key>); it is shown only now.");
            eprintln!("Add the entry below to the API key file (KS_DEVOPS_MCP_API_KEYS) and fill in the identity.");
            println!("{key}");
            println!();
            println!("[[keys]]");
            println!("name = {name:?}");
            println!("sha256 = \"{hex}\"");
            println!("username = \"KUBESPHERE-USER\"");
            println!("password_file = \"/path/to/password\"   # or: token_file = \"/path/to/token\"");
            ExitCode::SUCCESS
        }
        Command::Doctor { json, write_check } => {
            let settings = match Settings::from_args(&cli.global) {
                Ok(s) => s,
                Err(e) => return fail(e),
            };
            if settings.caller_auth() {
                return fail(
                    "`doctor` runs as the server's own identity: unset KS_DEVOPS_MCP_HTTP, or use --auth none",
                );
            }
            let (client, sim) = match connect(&settings, false).await {
                Ok(x) => x,
                Err(e) => return fail(e),
            };
            let opts = ks_devops_mcp::doctor::Options {
                write_check,
                ..Default::default()
            };
            let report = ks_devops_mcp::doctor::run(&client, &opts).await;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            } else {
                print!("{}", ks_devops_mcp::doctor::render_text(&report));
            }
            if let Some(sim) = sim {
                sim.shutdown().await;
            }
            if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Command::Serve | Command::Call { .. } => {
            let mut settings = match Settings::from_args(&cli.global) {
                Ok(s) => s,
                Err(e) => return fail(e),
            };
            let http = match command {
                Command::Serve => settings.http.take(),
                _ => None,
            };
            if http.is_none() && settings.caller_auth() {
                return fail("`call` runs as the server's own identity: unset KS_DEVOPS_MCP_HTTP, or use --auth none");
            }
            let caller_auth = http.as_ref().is_some_and(|h| h.caller_auth());
            let (client, sim) = match connect(&settings, caller_auth).await {
                Ok(x) => x,
                Err(e) => return fail(e),
            };
            let registry = Registry::filtered(&settings.filter);
            if let Some(http) = http {
                return serve_http(http, registry, settings.options.clone(), client, sim).await;
            }
            let server = DevopsServer::new(registry, client, settings.options.clone());
            match command {
                Command::Call { tool, args } => call_once(&server, &tool, args.as_deref()).await,
                _ => serve_stdio(server).await,
            }
        }
    }
}

/// Builds the KubeSphere client (starting the simulated one for
/// `--sandbox`). Makes no request to KubeSphere: login happens on first use.
/// With `caller_auth` the client has no identity (each HTTP caller brings
/// its own).
async fn connect(settings: &Settings, caller_auth: bool) -> Result<(KsClient, Option<ks_sim::Sim>), String> {
    match &settings.target {
        Target::Real(cs) => Ok((KsClient::new((**cs).clone()).map_err(|e| e.to_string())?, None)),
        Target::Sandbox => {
            let sim = ks_sim::Sim::start(ks_sim::SimOptions::default(), ([127, 0, 0, 1], 0).into())
                .await
                .map_err(|e| format!("cannot start the simulated KubeSphere: {e}"))?;
            let url = url::Url::parse(&sim.url()).map_err(|e| format!("simulated KubeSphere URL: {e}"))?;
            let credentials = if caller_auth {
                Credentials::None
            } else {
                Credentials::Password {
                    username: SANDBOX_USER.into(),
                    password: SecretString::from(SANDBOX_PASSWORD),
                }
            };
            let mut cs = ClientSettings::new(url, credentials);
            cs.default_cluster = settings.default_cluster.clone();
            cs.search_clusters = settings.search_clusters.clone();
            if caller_auth {
                tracing::info!(url = %sim.url(), "using the simulated KubeSphere; callers log in themselves (users tenant and demo-admin)");
            } else {
                tracing::info!(url = %sim.url(), user = SANDBOX_USER, "using the simulated KubeSphere");
            }
            Ok((KsClient::new(cs).map_err(|e| e.to_string())?, Some(sim)))
        }
    }
}

async fn call_once(server: &DevopsServer, tool: &str, args: Option<&str>) -> ExitCode {
    let Some(entry) = server.registry().get(tool) else {
        if ks_devops_mcp::mcp::dynamic::is_dynamic_tool(tool) {
            return fail(format!(
                "{tool} opens toolsets in an MCP session; `call` needs none: it runs every tool of the toolsets --toolsets allows"
            ));
        }
        if let Some(e) = Registry::all().get(tool) {
            return fail(format!(
                "tool {} is not served with these settings (toolset {}{}); add --toolsets default,{} (or all){}",
                ks_devops_mcp::text::quote(tool),
                e.toolset.name(),
                if e.hints.read_only { "" } else { ", changes state" },
                e.toolset.name(),
                if e.hints.read_only {
                    ""
                } else {
                    " and leave out --read-only"
                }
            ));
        }
        let names: Vec<&str> = server.registry().entries().iter().map(|e| e.name()).collect();
        return fail(format!(
            "unknown tool {}; available: {}",
            ks_devops_mcp::text::quote(tool),
            names.join(", ")
        ));
    };
    let args = match args.map(str::trim).filter(|a| !a.is_empty()) {
        None => serde_json::Map::new(),
        Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(o)) => o,
            Ok(_) => return fail("arguments must be a JSON object, e.g. '{\"project\":\"stone-devops\"}'"),
            Err(e) => return fail(format!("arguments are not valid JSON: {e}")),
        },
    };
    let Some(ctx): Option<ToolCtx> = server.detached_ctx() else {
        return fail("`call` needs the server's own KubeSphere identity");
    };
    match entry.run(ctx, args).await {
        Ok(value) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string())
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            let message = ks_devops_mcp::text::bound(&e.to_string());
            let out = serde_json::json!({"isError": true, "kind": e.kind(), "message": message});
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            eprintln!("ks-devops-mcp: {tool} failed: {}", e.agent_text());
            ExitCode::from(1)
        }
    }
}

async fn serve_stdio(server: DevopsServer) -> ExitCode {
    let tools = server.visible_tools().len();
    tracing::info!(tools, dynamic_toolsets = server.is_dynamic(), "serving MCP on stdio");
    let running = match server.serve(ks_devops_mcp::stdio::stdio()).await {
        Ok(r) => r,
        Err(e) => {
            // stdin closed before a handshake, or the handshake was malformed.
            tracing::info!(error = %e, "MCP session did not start");
            return ExitCode::SUCCESS;
        }
    };
    let cancel = running.cancellation_token();
    let stop = tokio::spawn(async move {
        shutdown_signal().await;
        cancel.cancel();
    });
    let result = running.waiting().await;
    stop.abort();
    match result {
        Ok(reason) => {
            tracing::info!(?reason, "MCP session ended");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "MCP session failed");
            ExitCode::from(1)
        }
    }
}

async fn serve_http(
    cfg: ks_devops_mcp::http::HttpConfig,
    registry: Registry,
    options: ks_devops_mcp::mcp::ServerOptions,
    client: KsClient,
    sim: Option<ks_sim::Sim>,
) -> ExitCode {
    let mode = cfg.auth.name();
    let stateless = cfg.stateless;
    let caller_auth = cfg.caller_auth();
    let keys = cfg.api_keys.len();
    let tools = registry.entries().len();
    let server = match HttpServer::start(cfg, registry, options, client).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let addr = server.local_addr();
    tracing::info!(%addr, auth = mode, api_keys = keys, stateless, tools, "serving MCP on http://{addr}/mcp");
    if let Some(sim) = &sim
        && caller_auth
    {
        eprintln!(
            "sandbox: get a token with\n  curl -s -d grant_type=password -d username=tenant -d password={SANDBOX_PASSWORD} -d client_id=kubesphere -d client_secret=kubesphere {}/oauth/token\nthen send Authorization: Bearer <access_token> to http://{addr}/mcp (user demo-admin sees workspace demo)",
            sim.url()
        );
    }
    shutdown_signal().await;
    server.begin_shutdown();
    server.stopped().await;
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
