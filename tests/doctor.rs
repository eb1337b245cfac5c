//! `ks-devops-mcp doctor` against the simulated KubeSphere and against
//! faults: every failure names its cause and fix; the exit code is 0 only
//! when every check passed.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{BIN, clean_std_env};
use ks_devops_mcp::doctor::{self, Check, Options, Report, Status};
use ks_devops_mcp::kubesphere::{ClientSettings, Credentials, KsClient};
use ks_sim::{Fault, FaultKind, Sim, SimOptions};
use secrecy::SecretString;

fn client_as(url: &str, user: &str, password: &str) -> KsClient {
    let mut s = ClientSettings::new(
        url::Url::parse(url).unwrap(),
        Credentials::Password {
            username: user.into(),
            password: SecretString::from(password.to_string()),
        },
    );
    s.retry_backoff = Duration::from_millis(10);
    s.read_attempts = 1;
    s.timeout = Duration::from_secs(5);
    KsClient::new(s).unwrap()
}

fn failed(r: &Report) -> Vec<&Check> {
    r.checks.iter().filter(|c| c.status == Status::Fail).collect()
}

fn check<'a>(r: &'a Report, id: &str) -> &'a Check {
    r.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}: {r:#?}"))
}

#[tokio::test]
async fn sandbox_passes_every_check() {
    let sim = common::sim().await;
    let r = doctor::run(&common::client(&sim, "tenant"), &Options::default()).await;
    assert!(r.ok, "{}", doctor::render_text(&r));
    assert!(failed(&r).is_empty());
    assert_eq!(r.user.as_deref(), Some("tenant"));
    for id in [
        "reach",
        "login",
        "workspaces",
        "clusters",
        "api devops",
        "api gitops",
        "projects stone@host",
    ] {
        assert_eq!(check(&r, id).status, Status::Pass, "{id}");
    }
    assert!(check(&r, "login").detail.contains("renewed automatically"));
    assert!(check(&r, "projects stone@host").detail.contains("stone-devops"));
    assert!(check(&r, "projects stone@member-1").detail.contains("devopstestc2nj7"));
    let log = check(&r, "runlog stone-devops");
    assert_eq!(log.status, Status::Pass);
    assert!(log.detail.contains("bytes"), "{}", log.detail);
    assert!(doctor::render_text(&r).ends_with("All checks passed.\n"));
}

#[tokio::test]
async fn write_check_creates_runs_and_deletes_a_pipeline() {
    let sim = common::sim().await;
    let before = sim.pipeline_names("host", "stone-devops");
    let opts = Options {
        write_check: Some("stone-devops".into()),
        ..Default::default()
    };
    let r = doctor::run(&common::client(&sim, "tenant"), &opts).await;
    assert!(r.ok, "{}", doctor::render_text(&r));
    for id in [
        "write project",
        "write create",
        "write sync",
        "write run",
        "write delete",
    ] {
        assert_eq!(check(&r, id).status, Status::Pass, "{id}: {}", doctor::render_text(&r));
    }
    assert!(check(&r, "write run").detail.contains("SUCCESS"));
    assert_eq!(
        sim.pipeline_names("host", "stone-devops"),
        before,
        "the throw-away pipeline is gone"
    );
    assert_eq!(
        sim.requests()
            .iter()
            .filter(|q| q.method == "POST" && q.path.ends_with("/namespaces/stone-devops/pipelines"))
            .count(),
        1
    );
    // An ambiguous short name is refused before anything is written.
    let opts = Options {
        write_check: Some("devopstest".into()),
        ..Default::default()
    };
    let r = doctor::run(&common::client(&sim, "tenant"), &opts).await;
    let c = check(&r, "write project");
    assert_eq!(c.status, Status::Fail);
    assert!(c.detail.contains("matches 2 projects"), "{}", c.detail);
    assert!(!r.checks.iter().any(|c| c.id == "write create"));
}

#[tokio::test]
async fn wrong_password_names_the_login() {
    let sim = common::sim().await;
    let r = doctor::run(&client_as(&sim.url(), "tenant", "wrong"), &Options::default()).await;
    assert!(!r.ok);
    let c = check(&r, "login");
    assert_eq!(c.status, Status::Fail);
    assert!(c.meaning.as_deref().unwrap().contains("user name or password"), "{c:?}");
    assert!(c.fix.as_deref().unwrap().contains("KUBESPHERE_PASSWORD"), "{c:?}");
    assert!(!doctor::render_text(&r).contains("wrong"), "the password never appears");
}

#[tokio::test]
async fn dead_url_names_reachability() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let r = doctor::run(
        &client_as(&format!("http://127.0.0.1:{port}"), "tenant", "P@88w0rd"),
        &Options::default(),
    )
    .await;
    assert!(!r.ok);
    let c = check(&r, "reach");
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.meaning.as_deref().unwrap().contains("nothing accepts connections"),
        "{c:?}"
    );
    assert!(c.admin_fix.as_deref().unwrap().contains("ks-apiserver"), "{c:?}");
    assert_eq!(check(&r, "login").status, Status::Skip);
}

#[tokio::test]
async fn console_url_is_recognised() {
    let sim = common::sim().await;
    sim.inject(Fault {
        method: None,
        path_contains: "/healthz".into(),
        kind: FaultKind::Status {
            code: 302,
            body: "<html><body>Redirecting to /login</body></html>".into(),
            content_type: "text/html".into(),
        },
        times: 1,
    });
    let r = doctor::run(&common::client(&sim, "tenant"), &Options::default()).await;
    let c = check(&r, "reach");
    assert_eq!(c.status, Status::Fail);
    assert!(c.meaning.as_deref().unwrap().contains("console"), "{c:?}");
}

#[tokio::test]
async fn namespace_label_mismatch_names_the_admin_command() {
    let sim = common::sim().await;
    let r = doctor::run(&common::client(&sim, "lab-tenant"), &Options::default()).await;
    assert!(!r.ok);
    let c = check(&r, "projects lab@host");
    assert_eq!(c.status, Status::Fail);
    assert!(c.detail.contains("\"items\":null"), "{c:?}");
    assert!(
        c.meaning.as_deref().unwrap().contains("kubesphere.io/workspace"),
        "{c:?}"
    );
    let admin = c.admin_fix.as_deref().unwrap();
    assert!(
        admin.contains("kubectl label ns") && admin.contains("kubesphere.io/workspace=lab --overwrite"),
        "{admin}"
    );
    // Everything else about lab-tenant is fine.
    assert_eq!(failed(&r).len(), 1, "{}", doctor::render_text(&r));
}

#[tokio::test]
async fn forbidden_workspace_cluster_is_explained() {
    let sim = common::sim().await;
    sim.inject(Fault {
        method: Some("GET".into()),
        path_contains: "/clusters/member-1/kapis/devops.kubesphere.io/v1alpha3/workspaces/stone/namespaces".into(),
        kind: FaultKind::Status {
            code: 403,
            body: r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"workspaces.tenant.kubesphere.io \"stone\" is forbidden: User \"tenant\" cannot list resource \"namespaces\" in API group \"\" in the workspace \"stone\"","reason":"Forbidden","code":403}"#.into(),
            content_type: "application/json".into(),
        },
        times: 10,
    });
    let r = doctor::run(&common::client(&sim, "tenant"), &Options::default()).await;
    assert!(!r.ok);
    let c = check(&r, "projects stone@member-1");
    assert_eq!(c.status, Status::Fail);
    assert!(c.meaning.as_deref().unwrap().contains("does not reach it"), "{c:?}");
    assert!(c.admin_fix.is_some());
    assert_eq!(check(&r, "projects stone@host").status, Status::Pass);
}

#[tokio::test]
async fn missing_devops_api_is_named() {
    let sim = Sim::start(
        SimOptions {
            uninstalled_groups: vec!["devops.kubesphere.io".into(), "gitops.kubesphere.io".into()],
            ..Default::default()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .unwrap();
    let r = doctor::run(&common::client(&sim, "tenant"), &Options::default()).await;
    assert!(!r.ok);
    let c = check(&r, "api devops");
    assert_eq!(c.status, Status::Fail);
    assert!(c.meaning.as_deref().unwrap().contains("not installed"), "{c:?}");
    assert!(c.admin_fix.as_deref().unwrap().contains("Extensions Center"), "{c:?}");
    assert_eq!(check(&r, "api gitops").status, Status::Warn);
    assert!(!r.checks.iter().any(|c| c.id.starts_with("projects ")));
}

#[tokio::test]
async fn missing_gitops_alone_only_warns() {
    let sim = Sim::start(
        SimOptions {
            uninstalled_groups: vec!["gitops.kubesphere.io".into()],
            ..Default::default()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .unwrap();
    let r = doctor::run(&common::client(&sim, "tenant"), &Options::default()).await;
    assert!(r.ok, "{}", doctor::render_text(&r));
    assert_eq!(check(&r, "api gitops").status, Status::Warn);
}

fn doctor_cli(url: &str, user: &str, password: &str, json: bool) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    clean_std_env(&mut cmd);
    cmd.env("KUBESPHERE_URL", url)
        .env("KUBESPHERE_USERNAME", user)
        .env("KUBESPHERE_PASSWORD", password)
        .env("KUBESPHERE_TIMEOUT", "5")
        .arg("doctor");
    if json {
        cmd.arg("--json");
    }
    cmd.output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_exit_codes_and_json() {
    let sim = common::sim().await;
    let url = sim.url();
    let ok = tokio::task::spawn_blocking({
        let url = url.clone();
        move || doctor_cli(&url, "tenant", "P@88w0rd", false)
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{text}");
    assert!(text.contains("All checks passed."), "{text}");

    let bad = tokio::task::spawn_blocking({
        let url = url.clone();
        move || doctor_cli(&url, "tenant", "nope-nope", false)
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL") && text.contains("meaning:") && text.contains("fix:"),
        "{text}"
    );
    assert!(!text.contains("nope-nope") && !String::from_utf8_lossy(&bad.stderr).contains("nope-nope"));

    let lab = tokio::task::spawn_blocking({
        let url = url.clone();
        move || doctor_cli(&url, "lab-tenant", "P@88w0rd", true)
    })
    .await
    .unwrap();
    assert_eq!(lab.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&lab.stdout).expect("--json prints JSON");
    assert_eq!(v["ok"], false);
    let failing: Vec<&serde_json::Value> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert_eq!(failing.len(), 1, "{v}");
    assert!(failing[0]["admin_fix"].as_str().unwrap().contains("kubectl label ns"));
}

#[tokio::test]
async fn https_against_a_plain_http_port_names_the_scheme() {
    let sim = common::sim().await;
    let url = sim.url().replacen("http://", "https://", 1);
    let r = doctor::run(&client_as(&url, "tenant", "P@88w0rd"), &Options::default()).await;
    let c = check(&r, "reach");
    assert_eq!(c.status, Status::Fail);
    assert!(c.detail.contains("does not speak TLS"), "{c:?}");
    assert!(c.fix.as_deref().unwrap().contains("use http://127.0.0.1:"), "{c:?}");
}
