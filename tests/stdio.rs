//! End to end: the built binary over stdio, and its CLI.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn sandbox_binary_serves_both_handshakes() {
    for lc in LIFECYCLES {
        let (transport, _stderr) = TokioChildProcess::builder(Command::new(BIN).configure(|c| {
            clean_env(c);
            c.arg("--sandbox");
        }))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let c = handshake(TestClient::plain(), transport, lc).await;
        let tools = c.list_all_tools().await.unwrap();
        assert!(tools.len() >= 6, "{lc:?}");
        for t in &tools {
            assert_eq!(t.input_schema.get("type"), Some(&json!("object")));
        }
        let r = c
            .call_tool(
                CallToolRequestParams::new("list_pipelines")
                    .with_arguments(json!({"project": "stone-devops"}).as_object().cloned().unwrap()),
            )
            .await
            .unwrap();
        assert_eq!(r.is_error, Some(false), "{lc:?}: {}", text(&r));
        c.cancel().await.unwrap();
    }
}

async fn read_json_line(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>) -> Value {
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("answer in time")
        .unwrap()
        .expect("a line");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout carries only JSON-RPC, got {line:?}: {e}"))
}

#[tokio::test]
async fn raw_protocol_unknown_method_and_clean_exit() {
    // A real KubeSphere URL that is never contacted: start-up and the
    // handshake make no network call.
    let sim = sim().await;
    let mut cmd = Command::new(BIN);
    clean_env(&mut cmd);
    cmd.env("KUBESPHERE_URL", sim.url())
        .env("KUBESPHERE_USERNAME", "tenant")
        .env("KUBESPHERE_PASSWORD", "P@88w0rd")
        .env("KS_DEVOPS_MCP_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        // Not read here: a piped stderr nobody drains would block the
        // server once debug logs fill the pipe.
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();

    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}});
    stdin.write_all(format!("{init}\n").as_bytes()).await.unwrap();
    let resp = read_json_line(&mut lines).await;
    assert_eq!(resp["id"], 1);
    assert!(resp["result"]["capabilities"]["tools"].is_object(), "{resp}");
    assert_eq!(resp["result"]["serverInfo"]["name"], "ks-devops-mcp");
    stdin
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
        .await
        .unwrap();
    stdin
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"no/such_method\",\"params\":{}}\n")
        .await
        .unwrap();
    let resp = read_json_line(&mut lines).await;
    assert_eq!(resp["id"], 2);
    assert_eq!(resp["error"]["code"], -32601, "{resp}");
    stdin
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\",\"params\":{}}\n")
        .await
        .unwrap();
    let resp = read_json_line(&mut lines).await;
    assert!(
        resp["result"]["tools"].as_array().is_some_and(|t| !t.is_empty()),
        "{resp}"
    );
    assert!(
        sim.requests().is_empty(),
        "no KubeSphere call before a tool needs one: {:?}",
        sim.requests()
    );

    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits when stdin closes")
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(lines.next_line().await.unwrap().is_none(), "nothing else on stdout");
}

async fn run_cli(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    clean_env(&mut cmd);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    output(cmd).await
}

#[tokio::test]
async fn cli_call_matches_the_done_when() {
    let (code, out, _) = run_cli(
        &[
            "--sandbox",
            "call",
            "resolve_devops_project",
            r#"{"name":"devopstest","workspace":"stone"}"#,
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "ambiguous");

    let (code, out, _) = run_cli(
        &[
            "--sandbox",
            "call",
            "resolve_devops_project",
            r#"{"name":"devopstestc2nj7","workspace":"stone"}"#,
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["project"]["cluster"], "member-1");

    let (code, out, _) = run_cli(
        &["--sandbox", "call", "list_pipelines", r#"{"project":"stone-devops"}"#],
        &[],
    )
    .await;
    assert_eq!(code, 0);
    assert!(out.contains("\"hello\"") && out.contains("\"echo-pipeline\""), "{out}");

    let (code, out, err) = run_cli(&["call", "list_workspaces", "--sandbox"], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("stone") && !out.contains("\"demo\""), "{out}");

    let (code, out, err) = run_cli(
        &["--sandbox", "call", "list_devops_projects", r#"{"workspace":"demo"}"#],
        &[],
    )
    .await;
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["isError"], true);
    assert_eq!(v["kind"], "forbidden");
    assert!(err.contains("forbidden"));
}

#[tokio::test]
async fn bad_settings_fail_with_one_line() {
    let (code, _, err) = run_cli(&["call", "whoami"], &[]).await;
    assert_eq!(code, 2);
    assert!(err.contains("KUBESPHERE_URL") && err.contains("--sandbox"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let (code, _, err) = run_cli(
        &["call", "whoami"],
        &[("KUBESPHERE_URL", "http://127.0.0.1:9"), ("KUBESPHERE_USERNAME", "u")],
    )
    .await;
    assert_eq!(code, 2);
    assert!(err.contains("KUBESPHERE_PASSWORD"), "{err}");

    let (code, _, err) = run_cli(
        &["call", "whoami"],
        &[
            ("KUBESPHERE_URL", "http://127.0.0.1:9"),
            ("KUBESPHERE_USERNAME", "u"),
            ("KUBESPHERE_PASSWORD", "p"),
            ("KUBESPHERE_TOKEN", "t"),
        ],
    )
    .await;
    assert_eq!(code, 2);
    assert!(err.contains("not both"), "{err}");

    let (code, _, err) = run_cli(&["--sandbox", "--toolsets", "nope", "call", "whoami"], &[]).await;
    assert_eq!(code, 2);
    assert!(err.contains("unknown toolset"), "{err}");

    let (code, _, err) = run_cli(&["--sandbox", "call", "whoami", "[1]"], &[]).await;
    assert_eq!(code, 2);
    assert!(err.contains("JSON object"), "{err}");
}

#[tokio::test]
async fn trace_logs_carry_no_secret() {
    let sim = sim().await;
    let url = sim.url();
    let (code, out, err) = run_cli(
        &["call", "list_pipelines", r#"{"project":"stone-devops"}"#],
        &[
            ("KUBESPHERE_URL", url.as_str()),
            ("KUBESPHERE_USERNAME", "tenant"),
            ("KUBESPHERE_PASSWORD", "P@88w0rd"),
            ("RUST_LOG", "trace"),
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(err.lines().count() > 5, "trace logging is on");
    for text in [&out, &err] {
        assert!(
            !text.contains("P@88w0rd") && !text.contains("P%4088w0rd"),
            "password leaked"
        );
        // KubeSphere tokens are JWTs: a JSON header starts `eyJ`.
        assert!(!text.contains("eyJ"), "token leaked");
    }
}
