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
use tokio::process::Command;

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
    let log = read_all(stderr.expect("stderr piped"));
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
    output(cmd).await
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

// ------------------------------------------------ every encoding, cut text

/// Every form a secret can come back in from upstream: raw, base64
/// (standard, URL-safe, unpadded), JSON-escaped (also with `\/` and
/// `\u` escapes), URL-encoded with `+` and with `%20`, percent-encoded with
/// lower-case hex, and line-wrapped base64 (MIME, 76 columns).
fn encodings(secret: &str) -> Vec<(&'static str, String)> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let json = serde_json::to_string(secret).unwrap();
    let b64 = STANDARD.encode(secret);
    vec![
        ("raw", secret.to_string()),
        ("base64", b64.clone()),
        ("base64 unpadded", STANDARD_NO_PAD.encode(secret)),
        ("base64 url-safe", URL_SAFE_NO_PAD.encode(secret)),
        ("json", json[1..json.len() - 1].to_string()),
        (
            "json \\u and \\/",
            secret
                .chars()
                .map(|c| match c {
                    '/' => "\\/".to_string(),
                    '\n' => "\\u000a".to_string(),
                    c if c.is_ascii_alphanumeric() => c.to_string(),
                    c => c
                        .encode_utf16(&mut [0; 2])
                        .iter()
                        .map(|u| format!("\\u{u:04x}"))
                        .collect(),
                })
                .collect(),
        ),
        ("url +", form.clone()),
        ("url %20", form.replace('+', "%20")),
        (
            "percent lower-case",
            secret
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02x}")
                    }
                })
                .collect(),
        ),
        (
            "base64 wrapped",
            b64.as_bytes()
                .chunks(76)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("\r\n"),
        ),
    ]
}

/// Fails if `text` holds any run of `n` or more bytes of any encoding of
/// `secret` (ignoring the PEM armour lines, which are not secret).
fn assert_no_fragment(what: &str, text: &str, secret: &str, n: usize) {
    for (name, form) in encodings(secret) {
        for piece in form.split(['\n', '\r']) {
            if piece.starts_with("-----") || piece.len() < n {
                continue;
            }
            for w in piece.as_bytes().windows(n) {
                let w = String::from_utf8_lossy(w);
                assert!(
                    !text.contains(w.as_ref()),
                    "{what}: {n} bytes of the secret ({name}) appear: {w:?}"
                );
            }
        }
    }
}

/// A secret with every character that encodes differently: space, `+`,
/// `/`, `=`, quotes, backslash, non-ASCII, newlines.
const AWKWARD: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ+/=\nq \"quoted\" \\back\\slash é界 tail-4f9a1c77e2d0\n-----END OPENSSH PRIVATE KEY-----\n";

async fn stdio_server(url: &str, extra_env: &[(&str, &str)]) -> (Client, tokio::task::JoinHandle<String>) {
    let (transport, stderr) = TokioChildProcess::builder(Command::new(BIN).configure(|c| {
        clean_env(c);
        c.env("KUBESPHERE_URL", url)
            .env("KUBESPHERE_USERNAME", "tenant")
            .env("KUBESPHERE_PASSWORD", "P@88w0rd")
            .env("RUST_LOG", "trace")
            .args(["--toolsets", "all"]);
        for (k, v) in extra_env {
            c.env(k, v);
        }
    }))
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let log = read_all(stderr.expect("stderr piped"));
    let c = TestClient::plain().serve(transport).await.unwrap();
    (c, log)
}

/// Upstream errors quoting a credential value in any encoding, whole or
/// cut, in JSON, plain text or an HTML page: nothing of it reaches the
/// tool result or any log line.
#[tokio::test]
async fn upstream_errors_quoting_a_secret_in_any_encoding_leak_nothing() {
    let sim = sim().await;
    let (c, log) = stdio_server(&sim.url(), &[]).await;
    let mut results = Vec::new();
    let mut n = 0;
    for (name, form) in encodings(AWKWARD) {
        // Whole, cut by upstream (with or without an ellipsis), in a JSON
        // Status, a plain text line and an HTML page.
        let cut_at = form.char_indices().nth(form.chars().count() / 2).map_or(0, |(i, _)| i);
        for quoted in [
            form.clone(),
            format!("{}...", &form[..cut_at]),
            form[..cut_at].to_string(),
        ] {
            let json_body =
                json!({"kind": "Status", "code": 400, "message": format!("Secret is invalid: data: {quoted}")})
                    .to_string();
            let html = format!(
                "<html><head><title>Error 500: {}</title></head><body><pre>{quoted}</pre></body></html>",
                &quoted[..quoted.len().min(350)]
            );
            for (code, body, ct) in [
                (400, json_body, "application/json"),
                (500, format!("cannot create secret: {quoted}"), "text/plain"),
                (500, html, "text/html"),
            ] {
                n += 1;
                sim.inject(ks_sim::Fault {
                    method: Some("POST".into()),
                    path_contains: "/credentials".into(),
                    kind: ks_sim::FaultKind::Status {
                        code,
                        body,
                        content_type: ct.into(),
                    },
                    times: 1,
                });
                let r = call(
                    &c,
                    "create_credential",
                    json!({"project": "stone-devops", "id": format!("enc-{n}"), "type": "ssh-auth", "username": "git", "private_key": AWKWARD}),
                )
                .await;
                assert_eq!(r.is_error, Some(true), "{name}");
                results.push((format!("{name} ({code} {ct})"), text(&r)));
            }
        }
    }
    c.cancel().await.unwrap();
    let log = tokio::time::timeout(Duration::from_secs(20), log)
        .await
        .unwrap()
        .unwrap();
    for (what, t) in &results {
        assert_no_fragment(what, t, AWKWARD, 12);
        assert!(t.len() < 2048, "{what}: {} bytes", t.len());
    }
    assert!(results.iter().any(|(_, t)| t.contains("[REDACTED]")));
    for (i, line) in log.lines().enumerate() {
        assert_no_fragment(&format!("stderr line {}", i + 1), line, AWKWARD, 12);
    }
}

/// An OAuth error that quotes the login form (URL-encoded password and
/// client secret, `+` and `%20` spellings): not in the result, not in the
/// debug log.
#[tokio::test]
async fn an_oauth_error_quoting_the_form_leaks_nothing() {
    let client_secret = "cs Secret/9z+x=Q7";
    let sim = sim().await;
    let form = |pw: &str, cs: &str| -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "password")
            .append_pair("username", "tenant")
            .append_pair("password", pw)
            .append_pair("client_id", "kubesphere")
            .append_pair("client_secret", cs)
            .finish()
    };
    let plus = form("P@88w0rd", client_secret);
    let pct = plus.replace('+', "%20");
    for (code, body, ct) in [
        (
            400,
            json!({"error": "invalid_request", "error_description": format!("malformed form: {plus}")}).to_string(),
            "application/json",
        ),
        (
            400,
            json!({"error": "invalid_client", "error_description": format!("bad client in {pct}")}).to_string(),
            "application/json",
        ),
        (
            500,
            format!("<html><head><title>{pct}</title></head><body>{plus}</body></html>"),
            "text/html",
        ),
        (400, format!("cannot parse {plus} / {pct}"), "text/plain"),
    ] {
        sim.inject(ks_sim::Fault {
            method: Some("POST".into()),
            path_contains: "/oauth/token".into(),
            kind: ks_sim::FaultKind::Status {
                code,
                body,
                content_type: ct.into(),
            },
            times: 10,
        });
        let mut cmd = Command::new(BIN);
        clean_env(&mut cmd);
        cmd.env("KUBESPHERE_URL", sim.url())
            .env("KUBESPHERE_USERNAME", "tenant")
            .env("KUBESPHERE_PASSWORD", "P@88w0rd")
            .env("KUBESPHERE_CLIENT_SECRET", client_secret)
            .env("RUST_LOG", "trace")
            .args(["call", "list_pipelines", r#"{"project":"stone-devops"}"#]);
        let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
            .await
            .unwrap()
            .unwrap();
        sim.clear_faults();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(stderr.contains("TRACE"), "trace logging is on");
        for (what, text) in [("result", stdout.as_ref()), ("log", stderr.as_ref())] {
            for secret in ["P@88w0rd", client_secret] {
                for (name, f) in encodings(secret) {
                    assert!(
                        !text.contains(&f),
                        "{what} ({code} {ct}): the {name} form of a login secret"
                    );
                }
            }
        }
        // Still says what failed.
        assert!(stdout.contains("login") || stdout.contains("KubeSphere"), "{stdout}");
    }
}

/// A megabyte secret on an error path (the id exists), with an answer that
/// quotes part of it: scrubbing stays linear. The watchdog only catches the
/// quadratic scrubber (minutes here); it is not a speed figure, which the
/// benchmarks give, so a loaded machine cannot fail it.
/// Far above a linear scrub of a megabyte on a loaded debug build (under a
/// second), far below the quadratic one (over seven minutes).
const WATCHDOG: Duration = Duration::from_secs(90);

#[tokio::test]
async fn a_megabyte_secret_answers_an_error_path_quickly() {
    let sim = sim().await;
    let (c, log) = stdio_server(&sim.url(), &[]).await;
    let big: String = (0..(1usize << 20))
        .map(|i| char::from(b'!' + ((i.wrapping_mul(2_654_435_761) >> 7) % 90) as u8))
        .collect();
    // Warm up (login).
    let r = call(&c, "list_credentials", json!({"project": "stone-devops"})).await;
    assert_eq!(r.is_error, Some(false));
    let r = tokio::time::timeout(
        WATCHDOG,
        call(
            &c,
            "create_credential",
            json!({"project": "stone-devops", "id": "github-token", "type": "secret-text", "secret": big}),
        ),
    )
    .await
    .expect("the 1 MB error path did not answer within the watchdog: quadratic scrubbing?");
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("already exists"), "{}", text(&r));
    // An answer quoting 8 KB of it, base64-encoded.
    let b64 = base64::engine::general_purpose::STANDARD.encode(&big);
    sim.inject(ks_sim::Fault {
        method: Some("POST".into()),
        path_contains: "/credentials".into(),
        kind: ks_sim::FaultKind::Status {
            code: 400,
            body: format!("Secret \"big\" is invalid: data[secret]: {}", &b64[4096..12288]),
            content_type: "text/plain".into(),
        },
        times: 1,
    });
    let r = tokio::time::timeout(
        WATCHDOG,
        call(
            &c,
            "create_credential",
            json!({"project": "stone-devops", "id": "big", "type": "secret-text", "secret": big}),
        ),
    )
    .await
    .expect("the quoting error path did not answer within the watchdog: quadratic scrubbing?");
    let t = text(&r);
    assert!(t.contains("[REDACTED]") && t.len() < 2048, "{t}");
    assert_no_fragment("result", &t, &big[..4096 * 3], 12);
    c.cancel().await.unwrap();
    let log = tokio::time::timeout(Duration::from_secs(20), log)
        .await
        .unwrap()
        .unwrap();
    assert!(!log.contains(&b64[5000..5040]), "a piece of the secret in the log");
}
