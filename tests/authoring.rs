//! Issue 14's pipeline authoring flow through an rmcp client, in-process,
//! against the simulated KubeSphere: an invalid Jenkinsfile is rejected with
//! its line and never written; a valid one is written and the next run uses
//! it; update_pipeline changes only the given field; a pipeline created from
//! a template runs.

mod common;

use common::*;
use serde_json::{Value, json};

async fn finished(c: &rmcp::service::RunningService<rmcp::RoleClient, TestClient>, pipeline: &str) -> Value {
    let mut started = None;
    for _ in 0..50 {
        let r = call(
            c,
            "trigger_run",
            json!({"project": "stone-devops", "pipeline": pipeline}),
        )
        .await;
        if r.is_error != Some(true) {
            started = r.structured_content;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let name = started.expect("run started")["run"]["name"]
        .as_str()
        .expect("run name")
        .to_string();
    let r = call(
        c,
        "wait_for_run",
        json!({"project": "stone-devops", "name": name, "timeout_seconds": 30, "poll_seconds": 1}),
    )
    .await;
    let mut out = r.structured_content.expect("wait result");
    out["name"] = json!(name);
    out
}

#[tokio::test]
async fn jenkinsfile_is_validated_written_and_used() {
    let sim = sim().await;
    let c = connect(
        server(&sim),
        TestClient::new(false, Reply::Decline),
        Lifecycle::Initialize,
    )
    .await;
    let bad =
        "pipeline {\n  agent any\n  stages {\n    stage('Hello') {\n      steps {\n        echo 'hi'\n      }\n    }\n";
    let r = call(
        &c,
        "validate_jenkinsfile",
        json!({"project": "stone-devops", "jenkinsfile": bad}),
    )
    .await;
    let out = r.structured_content.expect("structured");
    assert_eq!(out["valid"], false);
    assert_eq!(out["jenkinsfile"]["line"], 9);

    let r = call(
        &c,
        "set_jenkinsfile",
        json!({"project": "stone-devops", "pipeline": "hello", "jenkinsfile": bad}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("line 9"), "{}", text(&r));
    assert!(!sim.requests().iter().any(|q| q.method == "PUT"), "nothing written");

    let good = "pipeline {\n  agent any\n  stages {\n    stage('Hello') {\n      steps {\n        echo 'hello'\n      }\n    }\n    stage('Lint') {\n      steps {\n        sh 'echo linting done'\n      }\n    }\n  }\n}\n";
    let r = call(
        &c,
        "set_jenkinsfile",
        json!({"project": "stone-devops", "pipeline": "hello", "jenkinsfile": good}),
    )
    .await;
    let out = r.structured_content.expect("structured");
    assert_eq!(out["written"], true);
    assert_eq!(out["stages_added"], json!(["Lint"]));
    let done = finished(&c, "hello").await;
    assert_eq!(done["run"]["result"], "SUCCESS", "{done}");
    let r = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "name": done["name"], "node": "Lint"}),
    )
    .await;
    assert!(text(&r).contains("linting done"), "{}", text(&r));
}

#[tokio::test]
async fn settings_change_alone_and_templates_make_runnable_pipelines() {
    let sim = sim().await;
    let c = connect(
        server(&sim),
        TestClient::new(false, Reply::Decline),
        Lifecycle::Discover,
    )
    .await;
    let kc = client(&sim, "tenant");
    let host = ks_devops_mcp::kubesphere::Cluster::Host;
    let before = kc
        .get_pipeline_object(&host, "stone-devops", "broken-build")
        .await
        .unwrap();
    let r = call(
        &c,
        "update_pipeline",
        json!({"project": "stone-devops", "pipeline": "broken-build", "description": "known failure"}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let mut after = kc
        .get_pipeline_object(&host, "stone-devops", "broken-build")
        .await
        .unwrap();
    let mut expected = before.clone();
    expected["spec"]["pipeline"]["description"] = json!("known failure");
    for v in [&mut after, &mut expected] {
        let m = v["metadata"].as_object_mut().unwrap();
        m.remove("resourceVersion");
        m.remove("generation");
    }
    assert_eq!(after, expected);

    let r = call(
        &c,
        "create_pipeline_from_template",
        json!({"project": "stone-devops", "template": "golang", "name": "go-service",
               "values": {"cloneURL": "https://github.com/example/go-service.git"}}),
    )
    .await;
    let out = r.structured_content.expect("structured");
    assert_eq!(out["values"]["revision"], "main");
    assert_eq!(out["validation"]["valid"], true);
    let done = finished(&c, "go-service").await;
    assert_eq!(done["run"]["result"], "SUCCESS", "{done}");
}
