//! Secret values given to the credential tools never show up anywhere: not
//! in a tool result, not in an error, not in one line of the server's own
//! log at trace level. The server is the built binary (MCP over stdio and
//! the `call` CLI), with stderr captured.

mod common;

use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use common::*;
use rmcp::ServiceExt;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ks-devops-mcp");

const PASSWORD: &str = "Pw-basic-4f9a1c77e2";
const PRIVATE_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ7Qx\nc2VjcmV0LWtleS1tYXRlcmlhbC1saW5lLXR3bzk3MzE=\n-----END OPENSSH PRIVATE KEY-----\n";
const PASSPHRASE: &str = "Pass-phrase-81d0b3";
const SECRET_TEXT: &str = "tok_secrettext_5be2e09c41";
const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster: {server: 'https://10.0.0.1:6443'}\nusers:\n- name: deployer\n  user: {token: kubetoken-7c1d9e2f66a0}\n";
/// Values used only in calls that fail.
const DUP_SECRET: &str = "dup-secret-a81f3e0d";
const MISPLACED: &str = "misplaced-pw-39cd7a";
const QUOTED: &str = "quoted-by-upstream-d7e4a9";
const NUMERIC: i64 = 918_273_645_501;

/// Every way a secret could be written down: raw, base64, JSON-escaped,
/// URL-encoded, and each longer line of a multi-line value.
fn forms(secret: &str) -> Vec<String> {
    let mut v = vec![
        secret.to_string(),
        base64::engine::general_purpose::STANDARD.encode(secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        serde_json::to_string(secret).unwrap().trim_matches('"').to_string(),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
    ];
    // Key material lines (the kubeconfig's structure lines are not secret).
    for line in secret.lines().map(str::trim) {
        if line.len() >= 12 && !line.starts_with("-----") && !line.contains(':') {
            v.push(line.to_string());
        }
    }
    v
}

fn all_forms() -> Vec<String> {
    let mut out = Vec::new();
    for s in [
        PASSWORD,
        PRIVATE_KEY,
        PASSPHRASE,
        SECRET_TEXT,
        KUBECONFIG,
        DUP_SECRET,
        MISPLACED,
        QUOTED,
        &NUMERIC.to_string(),
        // The secret inside the kubeconfig.
        "kubetoken-7c1d9e2f66a0",
    ] {
        out.extend(forms(s));
    }
    out.sort();
    out.dedup();
    out
}

fn assert_clean(what: &str, text: &str) {
    for f in all_forms() {
        assert!(!text.contains(&f), "a secret ({} chars) appears in {what}", f.len());
    }
}

fn clean_env(cmd: &mut Command) {
    for (k, _) in std::env::vars() {
        if k.starts_with("KUBESPHERE_") || k.starts_with("KS_DEVOPS_MCP_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
}

#[tokio::test]
async fn full_credential_flow_at_trace_level_leaks_nothing() {
    let sim = sim().await;
    let url = sim.url();
    let (transport, stderr) = TokioChildProcess::builder(Command::new(BIN).configure(|c| {
        clean_env(c);
        c.env("KUBESPHERE_URL", &url)
            .env("KUBESPHERE_USERNAME", "tenant")
            .env("KUBESPHERE_PASSWORD", "P@88w0rd")
            .env("RUST_LOG", "trace")
            .args(["--toolsets", "all"]);
    }))
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stderr = stderr.expect("stderr piped");
    let log = tokio::spawn(async move {
        let mut buf = String::new();
        let _ = stderr.read_to_string(&mut buf).await;
        buf
    });
    // Elicitation-capable, and says yes to the delete confirmation.
    let c = TestClient::new(true, Reply::Accept(json!({"confirm": true})))
        .serve(transport)
        .await
        .unwrap();
    let mut seen: Vec<(String, Value)> = Vec::new();
    let mut run = async |tool: &str, args: Value| -> rmcp::model::CallToolResult {
        let r = call(&c, tool, args.clone()).await;
        seen.push((format!("{tool} result"), serde_json::to_value(&r).unwrap()));
        r
    };
    let p = "stone-devops";

    // Create one of each type.
    for args in [
        json!({"project": p, "id": "ci-basic", "type": "basic-auth", "username": "ci-bot", "password": PASSWORD}),
        json!({"project": p, "id": "ci-ssh", "type": "ssh-auth", "username": "git", "private_key": PRIVATE_KEY, "passphrase": PASSPHRASE}),
        json!({"project": p, "id": "ci-text", "type": "secret-text", "secret": SECRET_TEXT, "description": "CI token"}),
        json!({"project": p, "id": "ci-kube", "type": "kubeconfig", "content": KUBECONFIG}),
    ] {
        let r = run("create_credential", args).await;
        assert_eq!(r.is_error, Some(false), "{}", text(&r));
    }
    // Listed, with no data.
    let r = run("list_credentials", json!({"project": p})).await;
    let listed = r.structured_content.unwrap();
    let mut ids: Vec<(String, String)> = listed["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap().into(), c["type"].as_str().unwrap().into()))
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            ("ci-basic".into(), "basic-auth".into()),
            ("ci-kube".into(), "kubeconfig".into()),
            ("ci-ssh".into(), "ssh-auth".into()),
            ("ci-text".into(), "secret-text".into()),
            ("github-token".into(), "basic-auth".into()),
        ]
    );
    // Failures: an id that exists, a field of another type, a value of the
    // wrong JSON type, an upstream error that quotes the request.
    let r = run(
        "create_credential",
        json!({"project": p, "id": "ci-text", "type": "secret-text", "secret": DUP_SECRET}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("already exists"), "{}", text(&r));
    let r = run(
        "create_credential",
        json!({"project": p, "id": "x1", "type": "secret-text", "secret": SECRET_TEXT, "password": MISPLACED}),
    )
    .await;
    assert!(
        text(&r).contains("password not used by type secret-text"),
        "{}",
        text(&r)
    );
    let r = run(
        "create_credential",
        json!({"project": p, "id": "x2", "type": "secret-text", "secret": NUMERIC}),
    )
    .await;
    assert!(text(&r).contains("must be JSON strings"), "{}", text(&r));
    let b64 = base64::engine::general_purpose::STANDARD.encode(QUOTED);
    sim.inject(ks_sim::Fault {
        method: Some("POST".into()),
        path_contains: "/credentials".into(),
        kind: ks_sim::FaultKind::Status {
            code: 400,
            body: format!("Secret \"x3\" is invalid: data[password]: Invalid value: \"{b64}\": {QUOTED} rejected\n"),
            content_type: "text/plain; charset=utf-8".into(),
        },
        times: 1,
    });
    let r = run(
        "create_credential",
        json!({"project": p, "id": "x3", "type": "basic-auth", "username": "u", "password": QUOTED}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("[REDACTED]"), "{}", text(&r));
    // Reading a non-credential Secret by name gives nothing of it.
    let r = run("delete_credential", json!({"project": p, "id": "app-config"})).await;
    assert!(text(&r).contains("not a DevOps credential"), "{}", text(&r));
    // Delete one, confirmed by the user.
    let r = run("delete_credential", json!({"project": p, "id": "ci-text"})).await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let r = run("list_credentials", json!({"project": p})).await;
    assert_eq!(r.structured_content.unwrap()["total"], 4);

    c.cancel().await.unwrap();
    let log = tokio::time::timeout(Duration::from_secs(20), log)
        .await
        .expect("the server exits when the client goes")
        .unwrap();

    assert!(
        log.lines().filter(|l| l.contains("TRACE")).count() > 20,
        "trace logging is on"
    );
    assert!(
        log.contains("tool=create_credential") && log.contains("tool=delete_credential"),
        "the calls were logged"
    );
    for (what, v) in &seen {
        assert_clean(what, &v.to_string());
    }
    for (i, line) in log.lines().enumerate() {
        assert_clean(&format!("stderr line {}", i + 1), line);
    }
    // The seeded values of the other Secrets of the namespace stay out too.
    for (what, v) in &seen {
        let t = v.to_string();
        assert!(!t.contains("sim-api-key") && !t.contains("ghp_simulated"), "{what}");
    }
}

async fn cli(url: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    clean_env(&mut cmd);
    cmd.env("KUBESPHERE_URL", url)
        .env("KUBESPHERE_USERNAME", "tenant")
        .env("KUBESPHERE_PASSWORD", "P@88w0rd")
        .env("RUST_LOG", "trace")
        .args(args);
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

/// The done-when check as a test: one `call` per type, then a list, each
/// a separate process at trace level against the same KubeSphere.
#[tokio::test]
async fn cli_calls_at_trace_level_leak_nothing() {
    let sim = sim().await;
    let url = sim.url();
    let creates = [
        json!({"project": "stone-devops", "id": "cli-basic", "type": "basic-auth", "username": "bot", "password": PASSWORD}),
        json!({"project": "stone-devops", "id": "cli-ssh", "type": "ssh-auth", "username": "git", "private_key": PRIVATE_KEY, "passphrase": PASSPHRASE}),
        json!({"project": "stone-devops", "id": "cli-text", "type": "secret-text", "secret": SECRET_TEXT}),
        json!({"project": "stone-devops", "id": "cli-kube", "type": "kubeconfig", "content": KUBECONFIG}),
    ];
    for args in &creates {
        let (code, out, err) = cli(&url, &["call", "create_credential", &args.to_string()]).await;
        assert_eq!(code, 0, "{out}");
        assert!(err.contains("TRACE"), "trace logging is on");
        assert_clean("call stdout", &out);
        assert_clean("call stderr", &err);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["credential"]["type"], args["type"]);
    }
    let (code, out, err) = cli(&url, &["call", "list_credentials", r#"{"project":"stone-devops"}"#]).await;
    assert_eq!(code, 0, "{err}");
    assert_clean("list stdout", &out);
    let v: Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = v["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["cli-basic", "cli-kube", "cli-ssh", "cli-text", "github-token"]);
    for c in v["credentials"].as_array().unwrap() {
        let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
        assert!(
            keys.iter().all(|k| [
                "id",
                "type",
                "description",
                "creator",
                "sync_status",
                "sync_message",
                "sync_time",
                "created"
            ]
            .contains(&k.as_str())),
            "{keys:?}"
        );
    }
}
