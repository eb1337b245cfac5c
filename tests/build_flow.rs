//! The tenant build flow over MCP: guardrails both ways (no elicitation:
//! structured answer, nothing written; elicitation: only accept proceeds),
//! the destructive-confirmation rule, progress and cancellation, and the
//! whole flow in-process, through the binary over stdio, and from the CLI.

mod common;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use rmcp::model::{CallToolRequest, CallToolRequestParams, ClientRequest};
use rmcp::service::PeerRequestOptions;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn structured(r: &rmcp::model::CallToolResult) -> Value {
    r.structured_content.clone().unwrap_or(Value::Null)
}

fn writes(sim: &ks_sim::Sim) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.path != "/oauth/token")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn has_pipeline(sim: &ks_sim::Sim, name: &str) -> bool {
    sim.pipeline_names("host", "stone-devops").iter().any(|p| p == name)
}

#[tokio::test]
async fn delete_needs_an_accepted_confirmation_naming_the_target() {
    for lc in LIFECYCLES {
        let sim = sim().await;
        for reply in [Reply::Decline, Reply::Cancel, Reply::Accept(json!({"confirm": false}))] {
            let client = TestClient::new(true, reply.clone());
            let c = connect(server(&sim), client.clone(), lc).await;
            let r = call(
                &c,
                "delete_pipeline",
                json!({"project": "stone-devops", "pipeline": "hello"}),
            )
            .await;
            assert_eq!(r.is_error, Some(true), "{lc:?} {reply:?}");
            assert!(text(&r).contains("not_confirmed"), "{}", text(&r));
            assert_eq!(client.asked(), 1);
            assert!(has_pipeline(&sim, "hello"));
            c.cancel().await.unwrap();
        }
        assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));

        let client = TestClient::new(true, Reply::Accept(json!({"confirm": true})));
        let c = connect(server(&sim), client.clone(), lc).await;
        let r = call(
            &c,
            "delete_pipeline",
            json!({"project": "stone-devops", "pipeline": "hello"}),
        )
        .await;
        assert_eq!(r.is_error, Some(false), "{lc:?}: {}", text(&r));
        assert_eq!(structured(&r)["confirmed_by"], "user");
        let asked = client.last_message();
        assert!(
            asked.contains("pipeline hello") && asked.contains("stone-devops") && asked.contains("cannot be undone"),
            "{asked}"
        );
        assert!(!has_pipeline(&sim, "hello"));
        c.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn without_elicitation_destructive_tools_refuse_and_write_nothing() {
    let sim = sim().await;
    let c = session(&sim).await;
    let r = call(
        &c,
        "delete_pipeline",
        json!({"project": "stone-devops", "pipeline": "hello"}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    let t = text(&r);
    assert!(
        t.contains("confirmation_required") && t.contains("--allow-unconfirmed-destructive"),
        "{t}"
    );
    assert!(has_pipeline(&sim, "hello"));
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
}

/// Changes the `hello` pipeline (a new resourceVersion) the first time the
/// human is asked.
fn change_hello_once(sim: &ks_sim::Sim) -> Hook {
    let url = format!(
        "{}/kapis/devops.kubesphere.io/v1alpha3/namespaces/stone-devops/pipelines/hello/jenkinsfile?mode=raw",
        sim.url()
    );
    let token = sim.issue_token("tenant").expect("token");
    let done = Arc::new(AtomicBool::new(false));
    Arc::new(move || {
        let (url, token, done) = (url.clone(), token.clone(), done.clone());
        Box::pin(async move {
            if done.swap(true, Ordering::SeqCst) {
                return;
            }
            let r = reqwest::Client::new()
                .put(url)
                .bearer_auth(token)
                .json(&json!({"data": "pipeline { agent any\n stages { stage('x') { steps { echo 'changed' } } } }"}))
                .send()
                .await
                .expect("PUT jenkinsfile");
            assert!(r.status().is_success(), "{}", r.status());
        })
    })
}

#[tokio::test]
async fn a_target_changed_after_confirmation_is_not_touched() {
    // Legacy elicitation: the confirmation is for the old state; the
    // re-read sees the change and refuses.
    let sim = sim().await;
    let client = TestClient::new(true, Reply::Accept(json!({"confirm": true}))).with_hook(change_hello_once(&sim));
    let c = connect(server(&sim), client.clone(), Lifecycle::Initialize).await;
    let r = call(
        &c,
        "delete_pipeline",
        json!({"project": "stone-devops", "pipeline": "hello"}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("target_changed"), "{}", text(&r));
    assert!(has_pipeline(&sim, "hello"));
    assert!(!writes(&sim).iter().any(|w| w.starts_with("DELETE")));

    // MRTR: the answer was given for the old state, so the changed target
    // is asked about again before anything happens.
    let sim = common::sim().await;
    let client = TestClient::new(true, Reply::Accept(json!({"confirm": true}))).with_hook(change_hello_once(&sim));
    let c = connect(server(&sim), client.clone(), Lifecycle::Discover).await;
    let r = call(
        &c,
        "delete_pipeline",
        json!({"project": "stone-devops", "pipeline": "hello"}),
    )
    .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(client.asked(), 2, "asked again about the changed pipeline");
    assert!(!has_pipeline(&sim, "hello"));
}

#[tokio::test]
async fn private_repo_question_both_ways() {
    let url = "https://github.com/org/app.git";
    let args = json!({"project": "stone-devops", "name": "app", "repository_url": url});
    // No elicitation: a structured question, nothing written.
    let sim = sim().await;
    let c = session(&sim).await;
    let r = call(&c, "create_multibranch_pipeline", args.clone()).await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let out = structured(&r);
    assert_eq!(out["status"], "needs_user_input");
    assert!(out["ask_user"].as_str().unwrap().contains("private or public"));
    assert_eq!(out["credentials"][0]["id"], "github-token");
    assert!(writes(&sim).is_empty());
    assert!(!has_pipeline(&sim, "app"));

    for lc in LIFECYCLES {
        // Decline and cancel: nothing created.
        let sim = common::sim().await;
        for reply in [Reply::Decline, Reply::Cancel] {
            let client = TestClient::new(true, reply);
            let c = connect(server(&sim), client.clone(), lc).await;
            let r = call(&c, "create_multibranch_pipeline", args.clone()).await;
            assert_eq!(structured(&r)["status"], "needs_user_input", "{lc:?} {}", text(&r));
            assert_eq!(client.asked(), 1);
            c.cancel().await.unwrap();
        }
        assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
        // Private without a credential: asked for one, none given, refused.
        let client = TestClient::new(true, Reply::Accept(json!({"visibility": "private"})));
        let c = connect(server(&sim), client.clone(), lc).await;
        let r = call(&c, "create_multibranch_pipeline", args.clone()).await;
        assert_eq!(r.is_error, Some(true));
        assert!(text(&r).contains("create_credential"), "{}", text(&r));
        assert_eq!(client.asked(), 2);
        assert!(writes(&sim).is_empty());
        // Private, "a new credential must be made first": refused at once.
        let client = TestClient::new(
            true,
            Reply::Accept(json!({"visibility": "private", "credential": "(new)"})),
        );
        let c = connect(server(&sim), client.clone(), lc).await;
        let r = call(&c, "create_multibranch_pipeline", args.clone()).await;
        assert!(text(&r).contains("create_credential"), "{}", text(&r));
        assert_eq!(client.asked(), 1);
        assert!(writes(&sim).is_empty());
        // Accept private + credential: created with it.
        let client = TestClient::new(
            true,
            Reply::Accept(json!({"visibility": "private", "credential": "github-token"})),
        );
        let c = connect(server(&sim), client.clone(), lc).await;
        let r = call(&c, "create_multibranch_pipeline", args.clone()).await;
        assert_eq!(r.is_error, Some(false), "{}", text(&r));
        assert_eq!(structured(&r)["credential_id"], "github-token");
        assert!(client.last_message().contains(url));
        assert!(has_pipeline(&sim, "app"));
        // Accept public: created with an empty credential.
        let client = TestClient::new(true, Reply::Accept(json!({"visibility": "public"})));
        let c = connect(server(&sim), client.clone(), lc).await;
        let mut a = args.clone();
        a["name"] = "app-public".into();
        let r = call(&c, "create_multibranch_pipeline", a).await;
        assert_eq!(structured(&r)["credential_id"], "", "{}", text(&r));
        assert!(has_pipeline(&sim, "app-public"));
    }
}

/// Triggers a run and waits until Jenkins gave it an id.
async fn started_run(c: &rmcp::service::RunningService<rmcp::RoleClient, TestClient>, branch: &str) -> String {
    let r = call(
        c,
        "trigger_run",
        json!({"project": "stone-devops", "pipeline": "echo-pipeline", "branch": branch}),
    )
    .await;
    let name = structured(&r)["run"]["name"].as_str().expect("run name").to_string();
    for _ in 0..100 {
        let g = call(c, "get_run", json!({"project": "stone-devops", "name": name})).await;
        if structured(&g)["run"]["run_id"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    name
}

#[tokio::test]
async fn stop_run_only_on_accept() {
    let sim = sim_with_phase(Duration::from_secs(2)).await;
    let declines = TestClient::new(true, Reply::Decline);
    let c = connect(server(&sim), declines.clone(), Lifecycle::Initialize).await;
    let name = started_run(&c, "main").await;
    let r = call(&c, "stop_run", json!({"project": "stone-devops", "name": name})).await;
    assert!(text(&r).contains("not_confirmed"), "{}", text(&r));
    assert!(!sim.requests().iter().any(|r| r.path.ends_with("/stop")));

    let accepts = TestClient::new(true, Reply::Accept(json!({"confirm": true})));
    let c = connect(server(&sim), accepts.clone(), Lifecycle::Discover).await;
    let r = call(&c, "stop_run", json!({"project": "stone-devops", "name": name})).await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert!(
        accepts.last_message().contains("echo-pipeline (branch main)"),
        "{}",
        accepts.last_message()
    );
    let w = call(
        &c,
        "wait_for_run",
        json!({"project": "stone-devops", "name": name, "poll_seconds": 1}),
    )
    .await;
    assert_eq!(structured(&w)["run"]["result"], "ABORTED", "{}", text(&w));
    assert_eq!(structured(&w)["run"]["phase"], "Failed");
}

#[tokio::test]
async fn wait_for_run_reports_progress_and_stops_when_cancelled() {
    let sim = sim_with_phase(Duration::from_millis(1500)).await;
    let client = TestClient::plain();
    let c = connect(server(&sim), client.clone(), Lifecycle::Initialize).await;
    let name = started_run(&c, "main").await;
    let r = call(
        &c,
        "wait_for_run",
        json!({"project": "stone-devops", "name": name, "poll_seconds": 1}),
    )
    .await;
    assert_eq!(structured(&r)["finished"], true, "{}", text(&r));
    assert!(client.progress_seen() >= 1, "progress notifications while waiting");

    // Cancel a wait: the server stops polling promptly.
    let name = started_run(&c, "feature-branch").await;
    let params = CallToolRequestParams::new("wait_for_run").with_arguments(
        json!({"project": "stone-devops", "name": name, "poll_seconds": 1})
            .as_object()
            .cloned()
            .unwrap(),
    );
    let handle = c
        .peer()
        .send_cancellable_request(
            ClientRequest::CallToolRequest(CallToolRequest::new(params)),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let polls = |sim: &ks_sim::Sim| sim.requests().iter().filter(|r| r.path.ends_with(&name)).count();
    let before = polls(&sim);
    assert!(before >= 1, "it was polling");
    handle.cancel(Some("user gave up".into())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at_cancel = polls(&sim);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(polls(&sim), at_cancel, "no polling after the client cancelled");
}

/// The whole flow: private repository with a credential -> scan -> list
/// branches -> trigger on main -> wait -> status.
async fn whole_flow(c: &rmcp::service::RunningService<rmcp::RoleClient, TestClient>) {
    let r = call(
        c,
        "create_multibranch_pipeline",
        json!({"project": "stone-devops", "name": "shop", "repository_url": "https://github.com/org/shop.git",
               "repository_visibility": "private", "credential_id": "github-token"}),
    )
    .await;
    assert_eq!(structured(&r)["status"], "created", "{}", text(&r));
    let r = call(
        c,
        "scan_repository",
        json!({"project": "stone-devops", "pipeline": "shop"}),
    )
    .await;
    assert_eq!(structured(&r)["started"], true, "{}", text(&r));
    let r = call(
        c,
        "get_scan_log",
        json!({"project": "stone-devops", "pipeline": "shop"}),
    )
    .await;
    assert!(
        structured(&r)["log"].as_str().unwrap_or_default().contains("main"),
        "{}",
        text(&r)
    );
    let r = call(
        c,
        "list_branches",
        json!({"project": "stone-devops", "pipeline": "shop"}),
    )
    .await;
    let branches: Vec<String> = structured(&r)["branches"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["name"].as_str().map(str::to_string))
        .collect();
    assert!(branches.contains(&"main".to_string()), "{branches:?}");
    let r = call(
        c,
        "trigger_run",
        json!({"project": "stone-devops", "pipeline": "shop", "branch": "main"}),
    )
    .await;
    assert_eq!(structured(&r)["status"], "started", "{}", text(&r));
    let name = structured(&r)["run"]["name"].as_str().unwrap().to_string();
    let r = call(
        c,
        "wait_for_run",
        json!({"project": "stone-devops", "name": name, "poll_seconds": 1}),
    )
    .await;
    let out = structured(&r);
    assert_eq!(out["finished"], true, "{}", text(&r));
    assert_eq!(out["run"]["result"], "SUCCESS", "{}", text(&r));
    let r = call(c, "get_run", json!({"project": "stone-devops", "name": name})).await;
    assert_eq!(structured(&r)["run"]["phase"], "Succeeded", "{}", text(&r));
    assert_eq!(structured(&r)["run"]["branch"], "main");
}

#[tokio::test]
async fn whole_flow_in_process() {
    for lc in LIFECYCLES {
        let sim = sim().await;
        let c = connect(server(&sim), TestClient::new(true, Reply::Decline), lc).await;
        whole_flow(&c).await;
        // Exactly the expected writes: one pipeline, one scan, one run.
        let w = writes(&sim);
        assert_eq!(
            w.iter()
                .filter(|w| w.starts_with("POST") && w.ends_with("/pipelines"))
                .count(),
            1
        );
        assert_eq!(w.iter().filter(|w| w.ends_with("/pipelineruns")).count(), 1, "{w:?}");
    }
}

#[tokio::test]
async fn whole_flow_through_the_binary() {
    let (transport, _stderr) = TokioChildProcess::builder(Command::new(BIN).configure(|c| {
        clean_env(c);
        c.arg("--sandbox");
    }))
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let c = handshake(TestClient::plain(), transport, Lifecycle::Discover).await;
    whole_flow(&c).await;
    c.cancel().await.unwrap();
}

/// Starts `ks-devops-mcp sandbox --listen 127.0.0.1:0` and returns it with
/// its URL.
async fn sandbox_server() -> (tokio::process::Child, String) {
    let mut child = Command::new(BIN)
        .args(["sandbox", "--listen", "127.0.0.1:0", "--run-phase-secs", "0.2"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("sandbox starts")
        .unwrap()
        .expect("a line");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("URL in the first line")
        .to_string();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

async fn cli(url: &str, tool: &str, args: Value) -> (i32, Value) {
    let out = Command::new(BIN)
        .env_clear()
        .env("KUBESPHERE_URL", url)
        .env("KUBESPHERE_USERNAME", "tenant")
        .env("KUBESPHERE_PASSWORD", "P@88w0rd")
        .args(["call", tool, &args.to_string()])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let v = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{tool}: not JSON: {stdout}"));
    (out.status.code().unwrap_or(-1), v)
}

#[tokio::test]
async fn done_when_from_the_shell() {
    let (_sandbox, url) = sandbox_server().await;
    let names = |v: &Value| -> Vec<String> {
        v["pipelines"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect()
    };
    let mb =
        json!({"project": "stone-devops", "name": "my-app", "repository_url": "https://github.com/org/my-app.git"});
    let (code, out) = cli(&url, "create_multibranch_pipeline", mb.clone()).await;
    assert_eq!((code, out["status"].as_str()), (0, Some("needs_user_input")), "{out}");
    assert!(out["ask_user"].as_str().unwrap().contains("private or public"));
    let (_, list) = cli(&url, "list_pipelines", json!({"project": "stone-devops"})).await;
    assert!(!names(&list).contains(&"my-app".to_string()));

    let mut public = mb.clone();
    public["repository_visibility"] = "public".into();
    let (code, out) = cli(&url, "create_multibranch_pipeline", public).await;
    assert_eq!((code, out["status"].as_str()), (0, Some("created")), "{out}");
    let (_, list) = cli(&url, "list_pipelines", json!({"project": "stone-devops"})).await;
    assert!(names(&list).contains(&"my-app".to_string()));

    let (_, before) = cli(
        &url,
        "list_runs",
        json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
    )
    .await;
    let count = |v: &Value| v["runs"].as_array().map(Vec::len).unwrap_or(0);
    let (code, out) = cli(
        &url,
        "trigger_run",
        json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
    )
    .await;
    assert_eq!((code, out["status"].as_str()), (0, Some("needs_branch")), "{out}");
    let branches = out["branches"].to_string();
    assert!(
        branches.contains("\"main\"") && branches.contains("\"feature-branch\""),
        "{branches}"
    );
    let (_, after) = cli(
        &url,
        "list_runs",
        json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
    )
    .await;
    assert_eq!(count(&after), count(&before), "no run created");

    let (code, out) = cli(
        &url,
        "trigger_run",
        json!({"project": "stone-devops", "pipeline": "echo-pipeline", "branch": "main"}),
    )
    .await;
    assert_eq!((code, out["status"].as_str()), (0, Some("started")), "{out}");
    let name = out["run"]["name"].as_str().unwrap().to_string();
    let (_, after) = cli(
        &url,
        "list_runs",
        json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
    )
    .await;
    assert_eq!(count(&after), count(&before) + 1, "exactly one run");
    let (code, out) = cli(
        &url,
        "wait_for_run",
        json!({"project": "stone-devops", "name": name, "poll_seconds": 1}),
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["finished"], true, "{out}");
    assert_eq!(out["run"]["result"], "SUCCESS", "{out}");

    let (code, out) = cli(
        &url,
        "delete_pipeline",
        json!({"project": "stone-devops", "pipeline": "hello"}),
    )
    .await;
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["kind"], "confirmation_required", "{out}");
    let (_, list) = cli(&url, "list_pipelines", json!({"project": "stone-devops"})).await;
    assert!(names(&list).contains(&"hello".to_string()), "nothing deleted");
}
