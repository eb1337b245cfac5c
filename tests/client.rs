//! The KubeSphere client against the simulated KubeSphere over real HTTP:
//! login, renewal, re-login, retries, error mapping and the allowlist.

use std::time::Duration;

use ks_devops_mcp::kubesphere::{ApiPath, ClientSettings, Cluster, Credentials, KsClient, KsError, path::gv};
use ks_sim::{Fault, FaultKind, Sim, SimOptions};
use reqwest::Method;
use secrecy::SecretString;

async fn sim(opts: SimOptions) -> Sim {
    Sim::start(opts, ([127, 0, 0, 1], 0).into()).await.expect("sim starts")
}

fn settings(sim: &Sim, user: &str, password: &str) -> ClientSettings {
    let mut s = ClientSettings::new(
        url::Url::parse(&sim.url()).unwrap(),
        Credentials::Password {
            username: user.into(),
            password: SecretString::from(password),
        },
    );
    s.retry_backoff = Duration::from_millis(10);
    s.timeout = Duration::from_secs(3);
    s
}

fn client(sim: &Sim) -> KsClient {
    KsClient::new(settings(sim, "tenant", "P@88w0rd")).unwrap()
}

fn count(sim: &Sim, method: &str, needle: &str) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.method == method && r.path.contains(needle))
        .count()
}

fn fault(method: &str, path: &str, kind: FaultKind, times: u32) -> Fault {
    Fault {
        method: Some(method.into()),
        path_contains: path.into(),
        kind,
        times,
    }
}

#[tokio::test]
async fn logs_in_lazily_and_once() {
    let sim = sim(SimOptions::default()).await;
    let c = client(&sim);
    assert!(sim.requests().is_empty(), "building a client makes no request");
    c.list_workspaces().await.unwrap();
    c.list_workspaces().await.unwrap();
    assert_eq!(count(&sim, "POST", "/oauth/token"), 1);
}

#[tokio::test]
async fn wrong_password_says_what_to_fix() {
    let sim = sim(SimOptions::default()).await;
    let c = KsClient::new(settings(&sim, "tenant", "wrong-password")).unwrap();
    let err = c.list_workspaces().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, KsError::Login { .. }), "{err:?}");
    assert!(
        text.contains("invalid_grant") && text.contains("KUBESPHERE_PASSWORD"),
        "{text}"
    );
    assert!(!text.contains("wrong-password"));
}

#[tokio::test]
async fn renews_before_expiry() {
    let sim = sim(SimOptions {
        token_ttl: Duration::from_secs(2),
        ..Default::default()
    })
    .await;
    let c = client(&sim);
    c.list_workspaces().await.unwrap();
    let first = c.identity().await.unwrap().token_expires_at.unwrap();
    tokio::time::sleep(Duration::from_millis(1900)).await;
    c.list_workspaces().await.unwrap();
    let second = c.identity().await.unwrap().token_expires_at.unwrap();
    assert!(second > first, "token renewed before it expired");
    assert_eq!(count(&sim, "POST", "/oauth/token"), 2);
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.path == "/oauth/token" || !r.path.is_empty()),
        "only allowed paths"
    );
}

#[tokio::test]
async fn relogs_once_on_401() {
    let sim = sim(SimOptions::default()).await;
    let c = client(&sim);
    c.list_workspaces().await.unwrap();
    sim.revoke_tokens();
    let ws = c.list_workspaces().await.unwrap();
    assert_eq!(ws.len(), 1);
    assert_eq!(count(&sim, "POST", "/oauth/token"), 2);
}

#[tokio::test]
async fn persistent_401_is_reported_as_bad_credentials() {
    let sim = sim(SimOptions::default()).await;
    let c = client(&sim);
    let body = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"token is expired","reason":"Unauthorized","code":401}"#;
    sim.inject(fault(
        "GET",
        "/workspaces",
        FaultKind::Status {
            code: 401,
            body: body.into(),
            content_type: "application/json".into(),
        },
        10,
    ));
    let err = c.list_workspaces().await.unwrap_err();
    assert!(matches!(err, KsError::Unauthorized { .. }), "{err:?}");
    assert!(err.to_string().contains("credentials are wrong"), "{err}");
    assert_eq!(count(&sim, "GET", "/workspaces"), 2, "exactly one re-login and retry");
}

#[tokio::test]
async fn reads_retry_transient_failures() {
    let sim = sim(SimOptions::default()).await;
    let c = client(&sim);
    sim.inject(fault(
        "GET",
        "/workspaces",
        FaultKind::Status {
            code: 503,
            body: "<html><title>503 Service Unavailable</title></html>".into(),
            content_type: "text/html".into(),
        },
        2,
    ));
    assert_eq!(c.list_workspaces().await.unwrap().len(), 1);
    assert_eq!(count(&sim, "GET", "/workspaces"), 3);

    sim.inject(fault(
        "GET",
        "/workspaces",
        FaultKind::Status {
            code: 502,
            body: String::new(),
            content_type: "text/plain".into(),
        },
        10,
    ));
    let err = c.list_workspaces().await.unwrap_err();
    assert!(matches!(err, KsError::Upstream { status: 502, .. }), "{err:?}");
    assert!(err.to_string().contains("retry later"), "{err}");
}

#[tokio::test]
async fn garbage_bodies_are_typed_errors() {
    let sim = sim(SimOptions::default()).await;
    let c = client(&sim);
    sim.inject(fault("GET", "/workspaces", FaultKind::Garbage, 1));
    let err = c.list_workspaces().await.unwrap_err();
    assert!(matches!(err, KsError::InvalidResponse { .. }), "{err:?}");
}

#[tokio::test]
async fn a_read_whose_body_breaks_off_is_retried_within_the_budget() {
    let sim = sim(SimOptions::default()).await;
    let c = client(&sim);
    sim.inject(fault("GET", "/workspaces", FaultKind::BreakMidBody, 1));
    assert_eq!(c.list_workspaces().await.unwrap().len(), 1);
    assert_eq!(count(&sim, "GET", "/workspaces"), 2);

    sim.clear_requests();
    sim.inject(fault("GET", "/workspaces", FaultKind::BreakMidBody, 10));
    let err = c.list_workspaces().await.unwrap_err();
    assert!(matches!(err, KsError::Network { .. }), "{err:?}");
    assert!(err.to_string().contains("retry later"), "{err}");
    assert_eq!(
        count(&sim, "GET", "/workspaces"),
        3,
        "the read budget (3 attempts), not more"
    );
}

#[tokio::test]
async fn writes_with_unreadable_answers_have_an_unknown_outcome() {
    let sim = sim(SimOptions::default()).await;
    let c = client(&sim);
    let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
        .lit("namespaces")
        .seg("stone-devops")
        .lit("pipelines");
    let body = |name: &str| {
        serde_json::json!({
            "apiVersion": "devops.kubesphere.io/v1alpha3", "kind": "Pipeline",
            "metadata": {"name": name, "namespace": "stone-devops"},
            "spec": {"type": "pipeline", "pipeline": {"name": name, "jenkinsfile": "pipeline { agent any\n stages { stage('a') { steps { echo 'a' } } } }"}}
        })
    };
    let html = FaultKind::Status {
        code: 200,
        body: "<html><head><title>Console</title></head><body>KubeSphere</body></html>".into(),
        content_type: "text/html".into(),
    };
    for (i, kind) in [FaultKind::Garbage, html, FaultKind::BreakMidBody]
        .into_iter()
        .enumerate()
    {
        sim.clear_requests();
        sim.inject(fault("POST", "/pipelines", kind.clone(), 1));
        let err = c
            .send_json::<_, serde_json::Value>(Method::POST, &Cluster::Host, &path, &[], &body(&format!("p{i}")))
            .await
            .unwrap_err();
        assert!(matches!(err, KsError::OutcomeUnknown { .. }), "{kind:?}: {err:?}");
        assert!(err.outcome_unknown());
        let text = err.to_string();
        assert!(text.contains("outcome unknown: check before retrying"), "{text}");
        assert!(!text.contains("retry later"), "{text}");
        assert_eq!(count(&sim, "POST", "/namespaces/stone-devops/pipelines"), 1, "{kind:?}");
    }
    // The broken answer came after the pipeline was made.
    assert!(sim.pipeline_names("host", "stone-devops").contains(&"p2".to_string()));
}

#[tokio::test]
async fn a_read_that_cannot_log_in_does_not_claim_to_change_state() {
    let sim = sim(SimOptions::default()).await;
    let c = client(&sim);
    sim.inject(fault(
        "POST",
        "/oauth/token",
        FaultKind::Status {
            code: 503,
            body: "<html><title>503 Service Unavailable</title></html>".into(),
            content_type: "text/html".into(),
        },
        10,
    ));
    let err = c.list_workspaces().await.unwrap_err();
    let text = err.to_string();
    assert!(!err.outcome_unknown(), "{err:?}");
    assert!(
        !text.contains("changes state") && !text.contains("NOT retried"),
        "{text}"
    );
    assert!(text.contains("retry later"), "{text}");
    assert_eq!(count(&sim, "POST", "/oauth/token"), 3, "logins are retried like reads");

    sim.clear_faults();
    sim.inject(fault("POST", "/oauth/token", FaultKind::DropAfterProcessing, 10));
    let err = c.list_workspaces().await.unwrap_err();
    assert!(matches!(err, KsError::Network { .. }), "{err:?}");
    assert!(!err.to_string().contains("changes state"), "{err}");
}

#[tokio::test]
async fn writes_are_never_retried() {
    let sim = sim(SimOptions::default()).await;
    let c = client(&sim);
    let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
        .lit("namespaces")
        .seg("stone-devops")
        .lit("pipelines");
    let body = serde_json::json!({
        "apiVersion": "devops.kubesphere.io/v1alpha3", "kind": "Pipeline",
        "metadata": {"name": "once", "namespace": "stone-devops"},
        "spec": {"type": "pipeline", "pipeline": {"name": "once", "jenkinsfile": "pipeline { agent any\n stages { stage('a') { steps { echo 'a' } } } }"}}
    });
    sim.inject(fault("POST", "/pipelines", FaultKind::DropAfterProcessing, 1));
    let err = c
        .send_json::<_, serde_json::Value>(Method::POST, &Cluster::Host, &path, &[], &body)
        .await
        .unwrap_err();
    assert!(matches!(err, KsError::Network { .. }), "{err:?}");
    assert!(err.to_string().contains("NOT retried"), "{err}");
    assert_eq!(count(&sim, "POST", "/namespaces/stone-devops/pipelines"), 1);
    assert!(sim.pipeline_names("host", "stone-devops").contains(&"once".to_string()));

    sim.inject(fault(
        "POST",
        "/pipelines",
        FaultKind::Status {
            code: 503,
            body: "upstream busy".into(),
            content_type: "text/plain".into(),
        },
        1,
    ));
    let err = c
        .send_json::<_, serde_json::Value>(Method::POST, &Cluster::Host, &path, &[], &body)
        .await
        .unwrap_err();
    assert!(matches!(err, KsError::Upstream { status: 503, .. }), "{err:?}");
    assert_eq!(count(&sim, "POST", "/namespaces/stone-devops/pipelines"), 2);
}

#[tokio::test]
async fn status_and_text_errors_are_mapped() {
    let sim = sim(SimOptions::default()).await;
    let c = client(&sim);
    // 403 Status JSON from RBAC.
    let err = c.list_devops_projects(&Cluster::Host, "demo").await.unwrap_err();
    assert!(matches!(err, KsError::Forbidden { .. }), "{err:?}");
    assert!(err.to_string().contains("is forbidden"), "{err}");
    // 404 plain text from a ks-devops handler.
    let err = c
        .get_pipeline(&Cluster::Host, "stone-devops", "missing")
        .await
        .unwrap_err();
    assert!(matches!(err, KsError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("\"missing\" not found"), "{err}");
    // 400 Status for an unknown cluster.
    let err = c
        .list_devops_projects(&Cluster::Member("nowhere".into()), "stone")
        .await
        .unwrap_err();
    assert!(matches!(err, KsError::UnknownCluster { .. }), "{err:?}");
}

#[tokio::test]
async fn allowlist_refuses_before_sending() {
    let sim = sim(SimOptions::default()).await;
    let c = client(&sim);
    c.list_workspaces().await.unwrap();
    sim.clear_requests();
    for cluster in [Cluster::Host, Cluster::Member("member-1".into())] {
        let err = c
            .list_pipelines(&cluster, "kubesphere-devops-system", &Default::default())
            .await
            .unwrap_err();
        assert!(matches!(err, KsError::NotAllowed { .. }), "{err:?}");
        let jenkins = ApiPath::kapi(gv::DEVOPS_V1ALPHA2)
            .lit("namespaces")
            .seg("stone-devops")
            .lit("jenkins/job");
        let err = c
            .get_json::<serde_json::Value>(&cluster, &jenkins, &[])
            .await
            .unwrap_err();
        assert!(matches!(err, KsError::NotAllowed { .. }), "{err:?}");
    }
    let err = c
        .get_pipeline(&Cluster::Host, "stone-devops", "a/../../x")
        .await
        .unwrap_err();
    assert!(matches!(err, KsError::InvalidName { .. }), "{err:?}");
    assert!(
        sim.requests().is_empty(),
        "nothing reached KubeSphere: {:?}",
        sim.requests()
    );
}

#[tokio::test]
async fn fixed_token_is_used_as_is() {
    let sim = sim(SimOptions::default()).await;
    let token = sim.issue_token("tenant").unwrap();
    let mut s = settings(&sim, "x", "y");
    s.credentials = Credentials::Token(SecretString::from(token));
    let c = KsClient::new(s).unwrap();
    assert_eq!(c.identity().await.unwrap().username.as_deref(), Some("tenant"));
    c.list_workspaces().await.unwrap();
    assert_eq!(count(&sim, "POST", "/oauth/token"), 0);
    sim.revoke_tokens();
    let err = c.list_workspaces().await.unwrap_err();
    assert!(matches!(err, KsError::Unauthorized { .. }), "{err:?}");
}

#[tokio::test]
async fn slow_answers_time_out_with_a_typed_error() {
    let sim = sim(SimOptions::default()).await;
    let mut s = settings(&sim, "tenant", "P@88w0rd");
    s.timeout = Duration::from_millis(300);
    s.read_attempts = 2;
    let c = KsClient::new(s).unwrap();
    c.list_workspaces().await.unwrap();
    sim.inject(fault(
        "GET",
        "/workspaces",
        FaultKind::Latency(Duration::from_secs(2)),
        1,
    ));
    // The first attempt times out, the retry answers.
    assert_eq!(c.list_workspaces().await.unwrap().len(), 1);
    sim.inject(fault(
        "GET",
        "/workspaces",
        FaultKind::Latency(Duration::from_secs(2)),
        2,
    ));
    let err = c.list_workspaces().await.unwrap_err();
    assert!(matches!(err, KsError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("did not answer"), "{err}");
}
