//! Failure texts through MCP: bounded and clean whatever a caller or
//! KubeSphere put in them, and true (a write whose answer was lost says its
//! outcome is unknown and names the tool that checks; a read says nothing
//! of state).

mod common;

use common::*;
use ks_sim::{Fault, FaultKind};
use serde_json::{Value, json};

fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn assert_bounded_and_clean(what: &str, t: &str) {
    assert!(t.len() < 2048, "{what}: {} bytes", t.len());
    assert!(!t.chars().any(unsafe_char), "{what}: {t:?}");
}

fn post_count(sim: &ks_sim::Sim, needle: &str) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.contains(needle))
        .count()
}

#[tokio::test]
async fn huge_and_hostile_values_come_back_cut_and_escaped() {
    let sim = sim().await;
    let c = session(&sim).await;
    let big = "a".repeat(100_000);
    let hostile = format!("stone\u{0}devops\u{202e}\u{2066}{}", "b".repeat(50_000));
    let cases: Vec<(&str, Value)> = vec![
        ("list_pipelines", json!({"project": big})),
        ("list_pipelines", json!({"project": hostile})),
        ("list_pipelines", json!({"project": "stone-devops", "type": big})),
        ("list_pipelines", json!({"project": "stone-devops", "limit": big})),
        ("list_runs", json!({"project": "stone-devops", "pipeline": hostile})),
        (
            "get_pipeline",
            json!({"project": "stone-devops", "name": format!("x\u{1b}[31m{big}")}),
        ),
        (
            "list_credentials",
            json!({"project": "stone-devops", "type": format!("\u{202e}{big}")}),
        ),
        ("list_devops_projects", json!({"workspace": hostile})),
        ("no_such_tool", json!({})),
    ];
    for (tool, args) in cases {
        let params = rmcp::model::CallToolRequestParams::new(tool.to_string())
            .with_arguments(args.as_object().cloned().unwrap_or_default());
        let t = match c.call_tool(params).await {
            Ok(r) => {
                assert_eq!(r.is_error, Some(true), "{tool}");
                text(&r)
            }
            Err(rmcp::ServiceError::McpError(e)) => e.message.to_string(),
            Err(e) => panic!("{tool}: {e}"),
        };
        assert_bounded_and_clean(tool, &t);
        assert!(
            !t.contains(&"a".repeat(1000)) && !t.contains(&"b".repeat(1000)),
            "{tool}: not cut"
        );
    }
    // A result that asks the user quotes the name cut and escaped too.
    let r = call(
        &c,
        "resolve_devops_project",
        json!({"name": hostile, "workspace": "stone"}),
    )
    .await;
    let ask = structured_ask(&r);
    assert!(!ask.is_empty(), "{}", text(&r));
    assert_bounded_and_clean("resolve_devops_project", &ask);
    c.cancel().await.unwrap();
}

fn structured_ask(r: &rmcp::model::CallToolResult) -> String {
    r.structured_content
        .as_ref()
        .and_then(|s| s["ask_user"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_lost_answer_to_a_write_names_the_read_that_checks() {
    let sim = sim().await;
    let c = session(&sim).await;
    let html = FaultKind::Status {
        code: 200,
        body: "<html><head><title>KubeSphere</title></head><body>console</body></html>".into(),
        content_type: "text/html".into(),
    };
    let cases: Vec<(&str, Value, &str, FaultKind, &str)> = vec![
        (
            "trigger_run",
            json!({"project": "stone-devops", "pipeline": "hello"}),
            "/pipelineruns",
            FaultKind::Garbage,
            "list_runs",
        ),
        (
            "create_credential",
            json!({"project": "stone-devops", "id": "lost-1", "type": "secret-text", "secret": "s3cr3t-lost-1"}),
            "/credentials",
            html.clone(),
            "list_credentials",
        ),
        (
            "create_pipeline",
            json!({"project": "stone-devops", "name": "lost-2", "jenkinsfile": "pipeline { agent any\n stages { stage('a') { steps { echo 'a' } } } }"}),
            "/pipelines",
            FaultKind::BreakMidBody,
            "get_pipeline",
        ),
    ];
    for (tool, args, path, fault, check) in cases {
        sim.clear_requests();
        sim.inject(Fault {
            method: Some("POST".into()),
            path_contains: path.into(),
            kind: fault,
            times: 1,
        });
        let r = call(&c, tool, args).await;
        assert_eq!(r.is_error, Some(true), "{tool}");
        let t = text(&r);
        assert!(t.contains("outcome unknown: check before retrying"), "{tool}: {t}");
        assert!(t.contains(&format!("Call {check} ")), "{tool}: {t}");
        assert!(!t.contains("retry later"), "{tool}: {t}");
        assert_eq!(post_count(&sim, path), 1, "{tool}: sent once, never retried");
        assert_bounded_and_clean(tool, &t);
    }
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn a_read_whose_answer_broke_off_is_retried_and_succeeds() {
    let sim = sim().await;
    let c = session(&sim).await;
    // Log in and resolve first, so the fault hits the pipeline list.
    let r = call(&c, "list_pipelines", json!({"project": "stone-devops"})).await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    sim.clear_requests();
    sim.inject(Fault {
        method: Some("GET".into()),
        path_contains: "/namespaces/stone-devops/pipelines".into(),
        kind: FaultKind::BreakMidBody,
        times: 1,
    });
    let r = call(&c, "list_pipelines", json!({"project": "stone-devops"})).await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let gets = sim
        .requests()
        .iter()
        .filter(|q| q.method == "GET" && q.path.ends_with("/namespaces/stone-devops/pipelines"))
        .count();
    assert_eq!(gets, 2);
    c.cancel().await.unwrap();
}
