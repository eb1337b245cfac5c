//! Issue 14 (projects, repositories, GitOps update) through an MCP client:
//! the confirmation questions of the destructive tools, and a project's
//! whole life as a workspace admin.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn a_workspace_admin_creates_then_deletes_a_project_after_confirming() {
    let sim = sim().await;
    // `tenant` manages workspace `stone`.
    let c = connect(
        server(&sim),
        TestClient::new(true, Reply::Accept(json!({"confirm": true}))),
        Lifecycle::Initialize,
    )
    .await;
    let r = call(
        &c,
        "create_devops_project",
        json!({"workspace": "stone", "name": "scratch"}),
    )
    .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let full = r.structured_content.unwrap()["project"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(full.starts_with("scratch"), "{full}");
    let r = call(
        &c,
        "create_credential",
        json!({"project": "scratch", "workspace": "stone", "id": "t", "type": "secret-text", "secret": "s3cr3t-value-123"}),
    )
    .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    c.cancel().await.unwrap();

    // Declined: nothing deleted; the question named the project and counted.
    let client = TestClient::new(true, Reply::Decline);
    let c = connect(server(&sim), client.clone(), Lifecycle::Initialize).await;
    let r = call(
        &c,
        "delete_devops_project",
        json!({"project": full, "workspace": "stone"}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    let q = client.last_message();
    assert!(
        q.contains(&format!(
            "DevOps project {full} (workspace stone, cluster host) with 0 pipelines and 1 credential"
        )),
        "{q}"
    );
    assert!(sim.project_names("host").contains(&full));
    c.cancel().await.unwrap();

    let client = TestClient::new(true, Reply::Accept(json!({"confirm": true})));
    let c = connect(server(&sim), client.clone(), Lifecycle::Initialize).await;
    let r = call(
        &c,
        "delete_devops_project",
        json!({"project": full, "workspace": "stone"}),
    )
    .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(r.structured_content.unwrap()["confirmed_by"], "user");
    assert!(!sim.project_names("host").contains(&full));
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn deleting_a_repository_names_its_users() {
    let sim = sim().await;
    let client = TestClient::new(true, Reply::Decline);
    let c = connect(server(&sim), client.clone(), Lifecycle::Initialize).await;
    let r = call(
        &c,
        "delete_git_repository",
        json!({"project": "stone-devops", "repository": "demo-echo"}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    let q = client.last_message();
    assert!(
        q.contains("git repository demo-echo") && q.contains("pipeline echo-pipeline uses its URL"),
        "{q}"
    );
    // Still there, and readable.
    let r = call(
        &c,
        "read_repository_file",
        json!({"project": "stone-devops", "repository": "demo-echo", "branch": "feature/login"}),
    )
    .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert!(
        r.structured_content.unwrap()["content"]
            .as_str()
            .unwrap()
            .contains("feature/login")
    );
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn retargeting_an_application_is_followed_by_argo() {
    let sim = sim().await;
    let c = connect(
        server(&sim),
        TestClient::new(false, Reply::Decline),
        Lifecycle::Initialize,
    )
    .await;
    let r = call(
        &c,
        "update_application",
        json!({"project": "stone-devops", "application": "guestbook", "target_revision": "v2", "path": "guestbook-v2"}),
    )
    .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let r = call(
        &c,
        "get_application_status",
        json!({"project": "stone-devops", "application": "guestbook", "detail": true}),
    )
    .await;
    let out = r.structured_content.unwrap();
    assert_eq!(out["application"]["target_revision"], "v2", "{out:#}");
    assert_eq!(out["application"]["path"], "guestbook-v2", "{out:#}");
    let r = call(&c, "list_applications", json!({"project": "stone-devops"})).await;
    assert_eq!(r.structured_content.unwrap()["summary"]["total"], 2);
    c.cancel().await.unwrap();
}
