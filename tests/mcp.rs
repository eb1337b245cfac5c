//! The server through an rmcp client, in-process, in both handshake styles,
//! against the simulated KubeSphere.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn handshake_and_catalog_in_both_styles() {
    let sim = sim().await;
    for lc in LIFECYCLES {
        let c = connect(server(&sim), TestClient::plain(), lc).await;
        let info = c.peer_info().expect("server info");
        assert!(info.capabilities.tools.is_some(), "{lc:?}: tools capability declared");
        let tools = c.list_all_tools().await.unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        for want in [
            "whoami",
            "list_workspaces",
            "list_devops_projects",
            "resolve_devops_project",
            "list_pipelines",
            "get_pipeline",
        ] {
            assert!(names.contains(&want), "{lc:?}: {want} missing from {names:?}");
        }
        let r = call(&c, "whoami", json!({})).await;
        assert_eq!(r.is_error, Some(false), "{lc:?}: {}", text(&r));
        assert_eq!(r.structured_content.as_ref().unwrap()["username"], "tenant");
        c.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn done_when_examples() {
    let sim = sim().await;
    let c = session(&sim).await;
    let r = call(
        &c,
        "resolve_devops_project",
        json!({"name": "devopstest", "workspace": "stone"}),
    )
    .await;
    let out = r.structured_content.unwrap();
    assert_eq!(out["status"], "ambiguous");
    assert_eq!(out["candidates"].as_array().unwrap().len(), 2);

    let r = call(
        &c,
        "resolve_devops_project",
        json!({"name": "devopstestc2nj7", "workspace": "stone"}),
    )
    .await;
    let out = r.structured_content.unwrap();
    assert_eq!(out["status"], "resolved");
    assert_eq!(out["project"]["cluster"], "member-1");

    let r = call(&c, "list_pipelines", json!({"project": "stone-devops"})).await;
    let names: Vec<String> = r.structured_content.unwrap()["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        names.contains(&"hello".into()) && names.contains(&"echo-pipeline".into()),
        "{names:?}"
    );

    let r = call(&c, "list_devops_projects", json!({"workspace": "demo"})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("forbidden"), "{}", text(&r));
    assert!(r.structured_content.is_none());
}

#[tokio::test]
async fn ambiguity_is_elicited_and_only_accept_proceeds() {
    let sim = sim().await;
    for lc in LIFECYCLES {
        // Accept: the chosen project is used.
        let client = TestClient::new(true, Reply::Accept(json!({"project": "member-1/devopstestxyz12"})));
        let c = connect(server(&sim), client.clone(), lc).await;
        let r = call(&c, "list_pipelines", json!({"project": "devopstest"})).await;
        assert_eq!(r.is_error, Some(false), "{lc:?}: {}", text(&r));
        assert_eq!(r.structured_content.unwrap()["project"]["name"], "devopstestxyz12");
        assert_eq!(client.asked(), 1, "{lc:?}: asked once");
        let schema = client.last_schema.lock().unwrap().clone().unwrap();
        let options = schema["properties"]["project"]["oneOf"].as_array().unwrap().len();
        assert_eq!(options, 2, "{lc:?}: both candidates offered");
        c.cancel().await.unwrap();

        // Decline and cancel: nothing is guessed.
        for reply in [Reply::Decline, Reply::Cancel] {
            let client = TestClient::new(true, reply.clone());
            let c = connect(server(&sim), client.clone(), lc).await;
            let r = call(&c, "list_pipelines", json!({"project": "devopstest"})).await;
            assert_eq!(r.is_error, Some(true), "{lc:?} {reply:?}");
            assert!(text(&r).contains("ambiguous"), "{}", text(&r));
            assert_eq!(client.asked(), 1);
            c.cancel().await.unwrap();
        }

        // resolve_devops_project asks as well.
        let client = TestClient::new(true, Reply::AcceptFirst);
        let c = connect(server(&sim), client.clone(), lc).await;
        let r = call(&c, "resolve_devops_project", json!({"name": "devopstest"})).await;
        let out = r.structured_content.unwrap();
        assert_eq!(out["status"], "resolved", "{lc:?}");
        assert_eq!(out["matched_by"], "user_choice");
        c.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn errors_are_tool_results_and_unknown_tools_protocol_errors() {
    let sim = sim().await;
    let c = session(&sim).await;
    let r = call(&c, "list_pipelines", json!({"project": 42})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("invalid arguments"), "{}", text(&r));
    let r = call(&c, "get_pipeline", json!({"project": "stone-devops"})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("missing field `name`"), "{}", text(&r));

    let params = rmcp::model::CallToolRequestParams::new("no_such_tool");
    let err = c.call_tool(params).await.unwrap_err();
    assert!(
        format!("{err:?}").contains("-32602") || format!("{err}").contains("unknown tool"),
        "{err:?}"
    );
}

#[tokio::test]
async fn upstream_failures_reach_the_agent_as_actionable_text() {
    let sim = sim().await;
    let c = connect(server(&sim), TestClient::plain(), Lifecycle::Discover).await;
    sim.inject(ks_sim::Fault {
        method: Some("GET".into()),
        path_contains: "/pipelines".into(),
        kind: ks_sim::FaultKind::Garbage,
        times: 1,
    });
    let r = call(&c, "list_pipelines", json!({"project": "stone-devops"})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("unreadable answer"), "{}", text(&r));
    let r = call(&c, "list_pipelines", json!({"project": "stone-devops"})).await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
}

#[tokio::test]
async fn branch_is_asked_and_only_accept_starts_a_run() {
    let sim = sim().await;
    for lc in LIFECYCLES {
        let before = sim.pipelinerun_names("host", "stone-devops").len();
        for reply in [Reply::Decline, Reply::Cancel] {
            let client = TestClient::new(true, reply);
            let c = connect(server(&sim), client.clone(), lc).await;
            let r = call(
                &c,
                "trigger_run",
                json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
            )
            .await;
            assert_eq!(client.asked(), 1, "{lc:?}");
            assert_eq!(r.structured_content.unwrap()["status"], "needs_branch");
            c.cancel().await.unwrap();
        }
        assert_eq!(
            sim.pipelinerun_names("host", "stone-devops").len(),
            before,
            "{lc:?}: nothing created"
        );

        let client = TestClient::new(true, Reply::Accept(json!({"branch": "feature-branch"})));
        let c = connect(server(&sim), client.clone(), lc).await;
        let r = call(
            &c,
            "trigger_run",
            json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
        )
        .await;
        let out = r.structured_content.unwrap();
        assert_eq!(out["status"], "started", "{lc:?}");
        assert_eq!(out["run"]["branch"], "feature-branch");
        assert_eq!(sim.pipelinerun_names("host", "stone-devops").len(), before + 1);
        c.cancel().await.unwrap();
    }
}
