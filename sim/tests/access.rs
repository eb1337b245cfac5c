//! Access rules that `doctor` and `diagnose_access` explain: the namespace
//! label through which workspace roles reach a DevOps project, and a
//! DevOps/GitOps extension that is not installed.

mod common;

use common::*;
use ks_sim::SimOptions;

#[tokio::test]
async fn namespace_without_workspace_label_hides_the_project() {
    let mut t = start().await;
    t.token = login(&t.sim, &t.http, "lab-tenant").await;
    // The DevOpsProject is labelled for `lab`, so the list selects it, but
    // the per-project check fails: items null, total 0 (not a null body).
    let (code, body) = t.get(&format!("{DV3}/workspaces/lab/namespaces")).await;
    assert_eq!(code, 200);
    assert_eq!(body.trim(), r#"{"items":null,"totalItems":0}"#);
    let (code, body) = t.get(&format!("{DV3}/namespaces/lab-ci/pipelines")).await;
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("lab-tenant"), "{body}");
    // The tenant's own workspace is unaffected, and lab-tenant reaches no
    // other workspace.
    let (code, _) = t.get(&format!("{DV3}/workspaces/stone/namespaces")).await;
    assert_eq!(code, 403);
    t.token = login(&t.sim, &t.http, "tenant").await;
    let (code, v) = t.get_json(&format!("{DV3}/workspaces/stone/namespaces")).await;
    assert_eq!(code, 200);
    assert_eq!(v["totalItems"], 1, "{v}");
}

#[tokio::test]
async fn uninstalled_extension_answers_restful_404() {
    let t = start_with(SimOptions {
        uninstalled_groups: vec!["devops.kubesphere.io".into()],
        ..SimOptions::default()
    })
    .await;
    for p in [
        format!("{DV3}/workspaces/stone/namespaces"),
        format!("{DV2}/namespaces/stone-devops/pipelines/hello/runs"),
        format!("/clusters/member-1{DV3}/workspaces/stone/namespaces"),
    ] {
        let (code, body) = t.get(&p).await;
        assert_eq!((code, body.as_str()), (404, "404: Page Not Found"), "{p}");
    }
    // Other groups still answer.
    let (code, _) = t.get(&format!("{TN}/workspaces")).await;
    assert_eq!(code, 200);
    let (code, _) = t.get(&format!("{GO1}/clusters")).await;
    assert_eq!(code, 200);
    // Authentication still comes first.
    let r = t
        .http
        .get(t.url(&format!("{DV3}/workspaces/stone/namespaces")))
        .bearer_auth("bad")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
