//! Malformed JSON-RPC through the built binary (stdio) and the streamable
//! HTTP transport: every message gets an answer. Not JSON (too deep, a lone
//! surrogate, invalid UTF-8, a syntax error): `-32700` with `id: null`.
//! JSON that is not a request the server takes: an error carrying the
//! request's `id` when it has one. The session goes on afterwards.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use ks_devops_mcp::http::callers::AuthMode;
use ks_devops_mcp::http::{HttpConfig, HttpServer};
use ks_devops_mcp::mcp::{Registry, ServerOptions, ToolFilter};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Lines that must be answered, with the `id` and `code` of the answer.
fn malformed() -> Vec<(Vec<u8>, Value, i64)> {
    let deep = |n: usize| {
        format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":41,\"method\":\"tools/call\",\"params\":{{\"name\":\"whoami\",\"arguments\":{{\"x\":{}{}}}}}}}",
            "[".repeat(n),
            "]".repeat(n)
        )
        .into_bytes()
    };
    let s = |t: &str| t.as_bytes().to_vec();
    vec![
        (deep(200), Value::Null, -32700),
        (deep(100_000), Value::Null, -32700),
        (
            s(
                r#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"whoami","arguments":{"x":"\ud800"}}}"#,
            ),
            Value::Null,
            -32700,
        ),
        (
            s(
                r#"{"jsonrpc":"2.0","id":43,"method":"tools/call","params":{"name":"whoami","arguments":{"x":"\udc00\ud800"}}}"#,
            ),
            Value::Null,
            -32700,
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":44,\"method\":\"ping\",\"params\":{\"x\":\"\xff\xfe\"}}".to_vec(),
            Value::Null,
            -32700,
        ),
        (s("{not json"), Value::Null, -32700),
        (s(r#"{"jsonrpc":"2.0","id":45,"method":"ping""#), Value::Null, -32700),
        (s(r#"{"jsonrpc":"2.0","id":46,"method":"ping"}}"#), Value::Null, -32700),
        (s("\u{0}\u{1b}[2J"), Value::Null, -32700),
        (
            s(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":[1,2]}"#),
            json!(7),
            -32602,
        ),
        (
            s(r#"{"jsonrpc":"2.0","id":"eight","method":"tools/call","params":"whoami"}"#),
            json!("eight"),
            -32602,
        ),
        (
            s(r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":5}"#),
            json!(9),
            -32602,
        ),
        (
            s(r#"{"jsonrpc":"2.0","id":10,"method":"tools/call","params":null}"#),
            json!(10),
            -32602,
        ),
        (
            s(r#"{"jsonrpc":"2.0","id":11,"method":"tools/call"}"#),
            json!(11),
            -32602,
        ),
        (
            s(r#"{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":["whoami"]}}"#),
            json!(12),
            -32602,
        ),
        (
            s(r#"{"jsonrpc":"2.0","id":13,"method":"tools/list","params":[]}"#),
            json!(13),
            -32602,
        ),
        (s(r#"{"jsonrpc":"1.0","id":14,"method":"ping"}"#), json!(14), -32600),
        (s(r#"{"id":15,"method":"ping"}"#), json!(15), -32600),
        (s(r#"{"jsonrpc":"2.0","id":16,"method":16}"#), json!(16), -32600),
        (
            s(r#"{"jsonrpc":"2.0","id":17,"method":"ping","result":{}}"#),
            json!(17),
            -32600,
        ),
        (s(r#"{"jsonrpc":"2.0","id":17.5,"method":"ping"}"#), json!(17.5), -32600),
        (
            s(r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#),
            Value::Null,
            -32600,
        ),
        (s(r#"{"jsonrpc":"2.0","id":[18],"method":"ping"}"#), Value::Null, -32600),
        (s(r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#), Value::Null, -32600),
        (s(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#), Value::Null, -32600),
        (s(r#"{"jsonrpc":"2.0","id":19}"#), json!(19), -32600),
        (s("[]"), Value::Null, -32600),
        (s(r#"[{"jsonrpc":"2.0","id":20,"method":"ping"}]"#), Value::Null, -32600),
        (s("42"), Value::Null, -32600),
        (s(r#""a string""#), Value::Null, -32600),
        (s("null"), Value::Null, -32600),
    ]
}

struct Stdio_ {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Stdio_ {
    async fn spawn() -> Stdio_ {
        let mut cmd = Command::new(BIN);
        clean_env(&mut cmd);
        cmd.arg("--sandbox")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Stdio_ { child, stdin, lines }
    }

    async fn send(&mut self, line: &[u8]) {
        self.stdin.write_all(line).await.unwrap();
        self.stdin.write_all(b"\n").await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(20), self.lines.next_line())
            .await
            .expect("an answer in time")
            .unwrap()
            .expect("a line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout carries only JSON-RPC, got {line:?}: {e}"))
    }

    async fn initialize(&mut self) {
        self.send(
            json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}})
            .to_string()
            .as_bytes(),
        )
        .await;
        let r = self.recv().await;
        assert_eq!(r["id"], 1, "{r}");
        self.send(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            .await;
    }
}

fn assert_answer(what: &str, got: &Value, id: &Value, code: i64) {
    assert_eq!(got["jsonrpc"], "2.0", "{what}: {got}");
    assert_eq!(&got["id"], id, "{what}: {got}");
    assert_eq!(got["error"]["code"], code, "{what}: {got}");
    let msg = got["error"]["message"].as_str().unwrap_or_default();
    assert!(!msg.is_empty() && msg.len() < 400, "{what}: {got}");
    assert!(!msg.chars().any(char::is_control), "{what}: {got}");
}

fn label(line: &[u8]) -> String {
    String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned()
}

#[tokio::test]
async fn stdio_answers_every_malformed_line() {
    let mut s = Stdio_::spawn().await;
    // Before the handshake too.
    s.send(b"{not json").await;
    assert_answer("before initialize", &s.recv().await, &Value::Null, -32700);
    s.initialize().await;
    for (line, id, code) in malformed() {
        let started = Instant::now();
        s.send(&line).await;
        let got = s.recv().await;
        assert_answer(&label(&line), &got, &id, code);
        assert!(started.elapsed() < Duration::from_secs(5), "{}", label(&line));
    }
    // Names the server has not: quoted cut and escaped, never echoed whole.
    let long = format!("x\u{202e}{}", "m".repeat(100_000));
    for (method, params, code) in [
        (long.as_str(), json!({}), -32601),
        ("tools/call", json!({"name": long}), -32602),
        ("prompts/get", json!({"name": long}), -32602),
    ] {
        s.send(
            json!({"jsonrpc": "2.0", "id": "long", "method": method, "params": params})
                .to_string()
                .as_bytes(),
        )
        .await;
        let got = s.recv().await;
        assert_answer(
            &format!("long name in {}", &method[..method.len().min(20)]),
            &got,
            &json!("long"),
            code,
        );
        assert!(!got.to_string().contains(&"m".repeat(1000)), "echoed whole");
        assert!(!got["error"]["message"].as_str().unwrap().contains('\u{202e}'));
    }
    // A notification that does not fit gets no answer (JSON-RPC): the next
    // line answered is the ping after it.
    s.send(br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":[1]}"#)
        .await;
    s.send(br#"{"jsonrpc":"2.0","id":"after","method":"ping"}"#).await;
    assert_eq!(s.recv().await["id"], "after");
    // The session still works.
    s.send(
        json!({"jsonrpc":"2.0","id":99,"method":"tools/call","params":{"name":"list_pipelines","arguments":{"project":"stone-devops"}}})
            .to_string()
            .as_bytes(),
    )
    .await;
    let r = s.recv().await;
    assert_eq!(r["id"], 99);
    assert_eq!(r["result"]["isError"], false, "{r}");
    drop(s.stdin);
    let status = tokio::time::timeout(Duration::from_secs(10), s.child.wait())
        .await
        .expect("exits when stdin closes")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

/// Random requests with a usable id and a random method and params: each
/// gets exactly one answer, carrying its id.
#[test]
fn stdio_answers_every_request_with_its_id() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = tokio::sync::Mutex::new(rt.block_on(async {
        let mut s = Stdio_::spawn().await;
        s.initialize().await;
        s
    }));
    let params = prop_oneof![
        Just(None),
        Just(Some(json!([1, 2]))),
        Just(Some(json!("x"))),
        Just(Some(json!(null))),
        Just(Some(json!({"name": "whoami"}))),
        Just(Some(json!({"name": 5}))),
        Just(Some(json!({"name": "no_such_tool", "arguments": []}))),
        "\\PC{0,16}".prop_map(|k| Some(json!({ k: "v" }))),
    ];
    let method = prop_oneof![
        Just("tools/call".to_string()),
        Just("tools/list".to_string()),
        Just("ping".to_string()),
        Just("initialize".to_string()),
        "\\PC{0,24}",
    ];
    let id = prop_oneof![
        (1i64..1_000_000).prop_map(Value::from),
        "[a-z0-9-]{1,12}".prop_map(Value::from),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(id, method, params), |(id, method, params)| {
            let mut msg = json!({"jsonrpc": "2.0", "id": id, "method": method});
            if let Some(p) = params {
                msg["params"] = p;
            }
            let got = rt.block_on(async {
                let mut s = s.lock().await;
                s.send(msg.to_string().as_bytes()).await;
                s.recv().await
            });
            prop_assert_eq!(&got["id"], &id, "{} -> {}", msg, got);
            prop_assert!(
                got.get("result").is_some() != got.get("error").is_some(),
                "{} -> {}",
                msg,
                got
            );
            if let Some(m) = got["error"]["message"].as_str()
                && (m.len() >= 2048 || m.chars().any(char::is_control))
            {
                return Err(TestCaseError::fail(format!("{msg} -> {got}")));
            }
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn http_answers_every_malformed_body() {
    let sim = sim().await;
    let server = HttpServer::start(
        HttpConfig::new("127.0.0.1:0".parse().unwrap(), AuthMode::None),
        Registry::filtered(&ToolFilter::default()),
        ServerOptions::default(),
        client(&sim, "tenant"),
    )
    .await
    .unwrap();
    let url = format!("http://{}/mcp", server.local_addr());
    let http = reqwest::Client::new();
    let post = |body: Vec<u8>, session: Option<String>| {
        let mut r = http
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body);
        if let Some(s) = session {
            r = r.header("mcp-session-id", s);
        }
        r.send()
    };
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}});
    let r = post(init.to_string().into_bytes(), None).await.unwrap();
    assert!(r.status().is_success());
    let session = r
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let _ = r.bytes().await;
    let r = post(
        br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_vec(),
        session.clone(),
    )
    .await
    .unwrap();
    assert!(r.status().is_success());
    for (body, id, code) in malformed() {
        if body.len() > 1024 * 1024 {
            continue; // Over the body cap: 413 (tests/http.rs).
        }
        let what = label(&body);
        let r = post(body, session.clone()).await.unwrap();
        let status = r.status().as_u16();
        assert_eq!(
            r.headers().get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{what}"
        );
        let got: Value = r.json().await.unwrap();
        assert_answer(&what, &got, &id, code);
        // A parse error (no id) is a 400; an answer the client can match
        // to its request is a 200.
        assert_eq!(status, if id.is_null() { 400 } else { 200 }, "{what}: {got}");
    }
    server.begin_shutdown();
    server.stopped().await;
}
