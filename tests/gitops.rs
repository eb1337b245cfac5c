//! GitOps applications and credentials through an rmcp client against the
//! simulated KubeSphere: status progression, failures, confirmation of
//! deletes, tenant boundaries.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ks_devops_mcp::kubesphere::{Cluster, KsError, ListQuery};
use ks_devops_mcp::mcp::{Registry, ToolFilter, Toolset};
use serde_json::{Value, json};

fn ok(r: &rmcp::model::CallToolResult) -> Value {
    assert_eq!(r.is_error, Some(false), "{}", text(r));
    r.structured_content.clone().expect("structured result")
}

/// Polls get_application_status until `done` or 15 s; returns every state seen.
async fn poll_until(
    c: &rmcp::service::RunningService<rmcp::RoleClient, TestClient>,
    app: &str,
    done: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let started = Instant::now();
    let mut seen = Vec::new();
    loop {
        let out = ok(&call(
            c,
            "get_application_status",
            json!({"project": "stone-devops", "application": app, "detail": true}),
        )
        .await);
        let finished = done(&out);
        seen.push(out);
        if finished {
            return seen;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{app} never reached the state; seen: {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn healthy(v: &Value) -> bool {
    v["application"]["health"] == "Healthy" && v["application"]["sync"] == "Synced"
}

#[tokio::test]
async fn create_then_status_progresses_to_synced_and_healthy() {
    // One phase of the simulated Argo CD: long enough to see it progress.
    let sim = sim_with_phase(Duration::from_millis(1000)).await;
    let c = session(&sim).await;
    let created = ok(&call(
        &c,
        "create_application",
        json!({"project": "stone-devops", "name": "web", "repo_url": "https://github.com/argoproj/argocd-example-apps",
               "path": "guestbook", "revision": "HEAD", "auto_sync": true, "prune": true, "self_heal": true,
               "sync_options": ["CreateNamespace=true"], "description": "demo web"}),
    )
    .await);
    assert_eq!(created["application"]["destination_namespace"], "stone-devops");
    assert_eq!(created["application"]["destination_cluster"], "host");
    assert!(created["next"].as_str().unwrap().contains("get_application_status"));

    let seen = poll_until(&c, "web", healthy).await;
    let first = &seen[0];
    assert!(
        first["application"]["health"] == "Progressing" && first["application"]["sync"] == "OutOfSync",
        "it starts out progressing: {first:#}"
    );
    assert_eq!(first["application"]["operation_running"], true);
    assert!(first["next"].as_str().unwrap().contains("again"), "{first:#}");
    assert_eq!(first["detail"]["last_operation"]["phase"], "Running");

    let last = seen.last().unwrap();
    assert_eq!(last["application"]["operation_running"], false);
    assert_eq!(last["next"], "Deployed and healthy.");
    let d = &last["detail"];
    assert_eq!(d["last_operation"]["phase"], "Succeeded");
    assert!(d["synced_revision"].as_str().is_some_and(|r| r.len() >= 7), "{d:#}");
    assert_eq!(d["images"][0], "gcr.io/google-samples/gb-frontend:v5");
    let kinds: Vec<&str> = d["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Deployment", "Service"]);
    assert!(
        d["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "Synced" && r["health"] == "Healthy")
    );
    // What was created is what the upstream object holds.
    let listed = ok(&call(
        &c,
        "list_applications",
        json!({"project": "stone-devops", "name_contains": "web"}),
    )
    .await);
    let app = &listed["applications"][0];
    assert_eq!(app["name"], "web");
    assert_eq!(app["description"], "demo web");
    assert_eq!(
        (app["auto_sync"].clone(), app["prune"].clone(), app["self_heal"].clone()),
        (json!(true), json!(true), json!(true))
    );
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn manual_application_deploys_on_sync() {
    let sim = sim_with_phase(Duration::from_millis(1000)).await;
    let c = connect(server(&sim), TestClient::plain(), Lifecycle::Discover).await;
    ok(&call(
        &c,
        "create_application",
        json!({"project": "stone-devops", "name": "manual", "repo_url": "git@github.com:org/apps.git", "path": "apps/manual"}),
    )
    .await);
    let before = ok(&call(
        &c,
        "get_application_status",
        json!({"project": "stone-devops", "application": "manual"}),
    )
    .await);
    assert_eq!(before["application"]["auto_sync"], false);
    assert_eq!(before["application"]["health"], "Missing");
    assert!(
        before["next"].as_str().unwrap().contains("sync_application"),
        "{before:#}"
    );

    let synced = ok(&call(
        &c,
        "sync_application",
        json!({"project": "stone-devops", "application": "manual", "revision": "main"}),
    )
    .await);
    assert_eq!(synced["application"]["operation_running"], true);
    let post = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/applications/manual/sync"))
        .count();
    assert_eq!(post, 1);
    poll_until(&c, "manual", healthy).await;
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn a_failing_application_reports_its_operation_message() {
    let sim = sim_with_phase(Duration::from_millis(100)).await;
    let c = session(&sim).await;
    // The seeded failing application.
    let out = ok(&call(
        &c,
        "get_application_status",
        json!({"project": "stone-devops", "application": "broken-app"}),
    )
    .await);
    assert_eq!(out["application"]["health"], "Degraded");
    let msg = out["message"].as_str().unwrap();
    assert!(
        msg.contains("failed to apply") && msg.contains("image pull failed"),
        "{msg}"
    );
    assert!(out.get("detail").is_none());

    // A new one that fails the same way, followed until it does.
    ok(&call(
        &c,
        "create_application",
        json!({"project": "stone-devops", "name": "bad", "repo_url": "https://github.com/org/apps", "path": "broken", "auto_sync": true}),
    )
    .await);
    let seen = poll_until(&c, "bad", |v| v["application"]["health"] == "Degraded").await;
    let last = seen.last().unwrap();
    assert!(
        last["message"].as_str().unwrap().starts_with("last sync Failed:"),
        "{last:#}"
    );
    assert_eq!(last["detail"]["last_operation"]["phase"], "Failed");
    let deploy = &last["detail"]["resources"][0];
    assert_eq!(deploy["health"], "Degraded");
    assert!(deploy["health_message"].as_str().unwrap().contains("image pull failed"));

    let degraded = ok(&call(
        &c,
        "list_applications",
        json!({"project": "stone-devops", "health": "Degraded"}),
    )
    .await);
    let names: Vec<&str> = degraded["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bad", "broken-app"]);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn another_workspaces_project_is_forbidden() {
    let sim = sim().await;
    let c = connect(
        server(&sim),
        TestClient::new(true, Reply::Accept(json!({"confirm": true}))),
        Lifecycle::Initialize,
    )
    .await;
    let scope = json!({"project": "demo-project", "workspace": "demo", "cluster": "host"});
    let with = |extra: Value| {
        let mut v = scope.clone();
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    for (tool, args) in [
        ("list_credentials", scope.clone()),
        (
            "create_credential",
            with(json!({"id": "x", "type": "secret-text", "secret": "forbidden-secret-1"})),
        ),
        ("delete_credential", with(json!({"id": "x"}))),
        ("list_applications", scope.clone()),
        ("get_application_status", with(json!({"application": "x"}))),
        (
            "create_application",
            with(json!({"name": "x", "repo_url": "https://github.com/org/apps"})),
        ),
        ("sync_application", with(json!({"application": "x"}))),
        ("delete_application", with(json!({"application": "x"}))),
    ] {
        let r = call(&c, tool, args).await;
        assert_eq!(r.is_error, Some(true), "{tool}");
        let t = text(&r);
        assert!(t.contains("forbidden") && t.contains("(forbidden)"), "{tool}: {t}");
        assert!(!t.contains("forbidden-secret-1"));
    }
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.method == "GET" || r.path == "/oauth/token"),
        "nothing was written: {:?}",
        sim.requests()
    );
    c.cancel().await.unwrap();

    // The API itself refuses the project's routes (not only the resolution).
    let tenant = client(&sim, "tenant");
    let q = ListQuery::default();
    for e in [
        tenant
            .list_applications(&Cluster::Host, "demo-project", &q)
            .await
            .unwrap_err(),
        tenant
            .get_application(&Cluster::Host, "demo-project", "x")
            .await
            .unwrap_err(),
        tenant
            .list_credentials(&Cluster::Host, "demo-project", &q)
            .await
            .unwrap_err(),
        tenant
            .get_credential(&Cluster::Host, "demo-project", "x")
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(e, KsError::Forbidden { .. }), "{e}");
        assert!(e.to_string().contains("User \"tenant\""), "{e}");
    }
    // Its own members get in.
    let admin = client(&sim, "demo-admin");
    assert!(
        admin
            .list_applications(&Cluster::Host, "demo-project", &q)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn deletes_need_the_users_yes_in_both_handshake_styles() {
    for lc in LIFECYCLES {
        let sim = sim().await;
        // Declined: nothing is deleted.
        let no = connect(server(&sim), TestClient::new(true, Reply::Decline), lc).await;
        for (tool, args) in [
            (
                "delete_application",
                json!({"project": "stone-devops", "application": "guestbook", "cascade": true}),
            ),
            (
                "delete_credential",
                json!({"project": "stone-devops", "id": "github-token"}),
            ),
        ] {
            let r = call(&no, tool, args).await;
            assert_eq!(r.is_error, Some(true), "{lc:?} {tool}");
            assert!(text(&r).contains("declined"), "{lc:?} {tool}: {}", text(&r));
        }
        assert!(sim.requests().iter().all(|r| r.method != "DELETE"), "{lc:?}");
        no.cancel().await.unwrap();

        // Accepted: deleted, and the question named the exact target.
        let yes_client = TestClient::new(true, Reply::Accept(json!({"confirm": true})));
        let yes = connect(server(&sim), yes_client.clone(), lc).await;
        let r = ok(&call(
            &yes,
            "delete_application",
            json!({"project": "stone-devops", "application": "guestbook", "cascade": true}),
        )
        .await);
        assert_eq!(
            (r["deleted"].clone(), r["cascade"].clone(), r["confirmed_by"].clone()),
            (json!(true), json!(true), json!("user"))
        );
        let schema = yes_client.last_schema.lock().unwrap().clone().unwrap();
        let asked = schema.to_string();
        assert!(
            asked.contains("GitOps application guestbook") && asked.contains("every resource it deployed"),
            "{asked}"
        );
        let del = sim.requests().into_iter().find(|r| r.method == "DELETE").unwrap();
        assert_eq!(del.query.as_deref(), Some("cascade=true"));

        let r = ok(&call(
            &yes,
            "delete_credential",
            json!({"project": "stone-devops", "id": "github-token"}),
        )
        .await);
        assert_eq!(r["type"], "basic-auth");
        assert!(
            !sim.secret_names("host", "stone-devops")
                .contains(&"github-token".to_string())
        );
        yes.cancel().await.unwrap();
    }
}

#[test]
fn gitops_is_opt_in_and_credentials_are_default() {
    let default = Registry::filtered(&ToolFilter::default());
    for t in ["list_credentials", "create_credential"] {
        assert!(default.get(t).is_some(), "{t} is in the default toolsets");
    }
    // Deleting is opt-in (toolset `cleanup`), like the other destructive removals.
    assert!(default.get("delete_credential").is_none());
    for t in [
        "list_applications",
        "get_application_status",
        "create_application",
        "sync_application",
        "delete_application",
    ] {
        assert!(default.get(t).is_none(), "{t} is opt-in");
    }
    let with_gitops = Registry::filtered(&ToolFilter {
        toolsets: Toolset::parse_list("default,gitops").unwrap(),
        read_only: false,
    });
    assert!(with_gitops.get("create_application").is_some());
    assert!(!Toolset::parse_list("default").unwrap().contains(&Toolset::Repos));
    assert!(Toolset::parse_list("all").unwrap().contains(&Toolset::Repos));
}
