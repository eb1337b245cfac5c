//! Branch names with `/` (§16 U3, U4) through MCP, and hostile branch
//! values that must never address anything outside the project's routes
//! as upstream routes them (issue 12, item 1).

mod common;

use std::time::Duration;

use common::*;
use ks_devops_mcp::mcp::server::DevopsServer;
use ks_devops_mcp::mcp::{Registry, ServerOptions};
use serde_json::{Value, json};

const NS: &str = "stone-devops";

fn structured(r: &rmcp::model::CallToolResult) -> Value {
    r.structured_content.clone().unwrap_or(Value::Null)
}

fn server_in(sim: &ks_sim::Sim, dir: &std::path::Path) -> DevopsServer {
    DevopsServer::new(
        Registry::all(),
        client(sim, "tenant"),
        ServerOptions {
            artifact_dir: Some(dir.to_path_buf()),
            ..Default::default()
        },
    )
}

/// Go's `url.PathUnescape` of a request path (what ks-apiserver routes on):
/// `None` for a malformed escape (upstream answers 400 before routing).
fn go_unescape(p: &str) -> Option<String> {
    let b = p.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return None;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Some(percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned())
}

/// Every request the sim received is routed by upstream inside `ns`'s routes
/// (or is a login or a tenant lookup): the path decoded once has no `.`,
/// `..` or empty segment, names no other namespace, and a branch segment
/// decoded once more (as Jenkins does) has no `.`/`..` component either.
fn assert_inside_project(sim: &ks_sim::Sim, ns: &str, ctx: &str) {
    for r in sim.requests() {
        if r.path == "/oauth/token" {
            continue;
        }
        let decoded = go_unescape(&r.path).unwrap_or_else(|| panic!("{ctx}: malformed escape sent: {}", r.path));
        let mut segs: Vec<&str> = decoded.strip_prefix('/').unwrap_or("").split('/').collect();
        if segs.last() == Some(&"") {
            segs.pop();
        }
        assert!(
            segs.iter().all(|s| !s.is_empty() && *s != "." && *s != ".."),
            "{ctx}: {} {} is routed elsewhere upstream (decoded {decoded})",
            r.method,
            r.path
        );
        if segs.first() == Some(&"clusters") {
            segs.drain(..2);
        }
        assert_eq!(segs.first(), Some(&"kapis"), "{ctx}: {} {}", r.method, r.path);
        match segs.get(3) {
            Some(&"namespaces") => {
                assert_eq!(segs.get(4), Some(&ns), "{ctx}: {} {}", r.method, r.path);
            }
            // Project lookups (tenant, iam, DV3 workspaces/{ws}/namespaces).
            _ => assert!(
                matches!(segs.get(1), Some(&"tenant.kubesphere.io") | Some(&"iam.kubesphere.io"))
                    || segs.get(3) == Some(&"workspaces"),
                "{ctx}: {} {} is not a project route",
                r.method,
                r.path
            ),
        }
        if let Some(i) = segs.iter().position(|s| *s == "branches")
            && let Some(b) = segs.get(i + 1)
        {
            let twice = percent_encoding::percent_decode_str(b).decode_utf8_lossy();
            assert!(
                twice.split('/').all(|c| c != "." && c != ".."),
                "{ctx}: branch segment {b} walks out of the job in Jenkins"
            );
        }
    }
}

#[tokio::test]
async fn a_run_on_a_slash_branch_works_through_every_run_tool() {
    let sim = sim_with_phase(Duration::from_millis(100)).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connect(server_in(&sim, dir.path()), TestClient::plain(), Lifecycle::Initialize).await;

    let r = call(&c, "list_branches", json!({"project": NS, "pipeline": "echo-pipeline"})).await;
    let out = structured(&r);
    let names: Vec<&str> = out["branches"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", text(&r)))
        .iter()
        .filter_map(|b| b["name"].as_str())
        .collect();
    assert!(names.contains(&"feature/login"), "{names:?}");

    let r = call(
        &c,
        "trigger_run",
        json!({"project": NS, "pipeline": "echo-pipeline", "branch": "feature/login"}),
    )
    .await;
    assert_eq!(structured(&r)["status"], "started", "{}", text(&r));
    assert_eq!(structured(&r)["run"]["branch"], "feature/login", "{}", text(&r));
    let name = structured(&r)["run"]["name"].as_str().unwrap().to_string();

    let r = call(
        &c,
        "wait_for_run",
        json!({"project": NS, "name": name, "poll_seconds": 1, "timeout_seconds": 30}),
    )
    .await;
    assert_eq!(structured(&r)["finished"], true, "{}", text(&r));
    assert_eq!(structured(&r)["run"]["result"], "SUCCESS", "{}", text(&r));
    assert_eq!(structured(&r)["run"]["branch"], "feature/login", "{}", text(&r));
    let run_id = structured(&r)["run"]["run_id"].as_str().unwrap().to_string();

    // Listed by branch, as typed and in KubeSphere's encoded form.
    for b in ["feature/login", "feature%2Flogin"] {
        let r = call(
            &c,
            "list_runs",
            json!({"project": NS, "pipeline": "echo-pipeline", "branch": b}),
        )
        .await;
        let runs = structured(&r)["runs"].as_array().cloned().unwrap_or_default();
        assert!(runs.iter().any(|x| x["name"] == name.as_str()), "{b}: {}", text(&r));
        assert!(runs.iter().all(|x| x["branch"] == "feature/login"), "{b}: {}", text(&r));
    }
    // Other branches' runs are not listed under it.
    let r = call(
        &c,
        "list_runs",
        json!({"project": NS, "pipeline": "echo-pipeline", "branch": "main"}),
    )
    .await;
    assert!(
        structured(&r)["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["branch"] == "main"),
        "{}",
        text(&r)
    );

    let by_id = json!({"project": NS, "pipeline": "echo-pipeline", "run_id": run_id, "branch": "feature/login"});
    let r = call(&c, "get_run", by_id.clone()).await;
    assert_eq!(structured(&r)["run"]["name"], name.as_str(), "{}", text(&r));

    for args in [json!({"project": NS, "name": name}), by_id.clone()] {
        let r = call(&c, "get_run_log", args.clone()).await;
        assert_eq!(r.is_error, Some(false), "{args}: {}", text(&r));
        assert!(
            structured(&r)["text"]
                .as_str()
                .unwrap_or_default()
                .contains("checkout feature/login"),
            "{args}: {}",
            text(&r)
        );
        let r = call(&c, "diagnose_run", args.clone()).await;
        assert_eq!(r.is_error, Some(false), "{args}: {}", text(&r));
        assert_eq!(structured(&r)["run"]["result"], "SUCCESS", "{}", text(&r));
        assert_eq!(structured(&r)["run"]["branch"], "feature/login", "{}", text(&r));
        let r = call(&c, "list_artifacts", args.clone()).await;
        assert_eq!(
            structured(&r)["artifacts"][0]["path"],
            "target/login.jar",
            "{args}: {}",
            text(&r)
        );
    }
    let mut dl = by_id.clone();
    dl["path"] = "target/login.jar".into();
    let r = call(&c, "download_artifact", dl).await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert!(structured(&r)["size"].as_u64().unwrap_or(0) > 0, "{}", text(&r));

    // The v1alpha2 routes got the encoded name as one segment.
    assert!(
        sim.requests().iter().any(|r| r
            .path
            .contains("/pipelines/echo-pipeline/branches/feature%252Flogin/runs/")),
        "{:?}",
        sim.requests()
    );
    assert_inside_project(&sim, NS, "slash branch flow");
}

const GATED: &str = "pipeline {\n agent any\n stages {\n  stage('Build') { steps { echo 'built' } }\n  stage('Release') { steps {\n   input message: 'Release 1.2?'\n   echo 'released'\n  } }\n }\n}\n";

async fn state_of(c: &rmcp::service::RunningService<rmcp::RoleClient, TestClient>, name: &str, want: &str) {
    for _ in 0..300 {
        let r = call(c, "get_run", json!({"project": NS, "name": name})).await;
        if structured(&r)["run"]["state"] == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("run {name} never reached {want}");
}

#[tokio::test]
async fn approve_input_and_stop_run_on_a_slash_branch() {
    let sim = sim_with_phase(Duration::from_millis(300)).await;
    assert!(sim.add_repo_branch("host", NS, "echo-pipeline", "release/1.2", Some(GATED)));
    let accepts = TestClient::new(true, Reply::Accept(json!({"confirm": true})));
    let c = connect(server(&sim), accepts.clone(), Lifecycle::Initialize).await;
    let r = call(
        &c,
        "scan_repository",
        json!({"project": NS, "pipeline": "echo-pipeline"}),
    )
    .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    // A run on the new branch, answered by pipeline + run id + branch.
    let r = call(
        &c,
        "trigger_run",
        json!({"project": NS, "pipeline": "echo-pipeline", "branch": "release/1.2"}),
    )
    .await;
    let name = structured(&r)["run"]["name"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", text(&r)))
        .to_string();
    state_of(&c, &name, "PAUSED").await;
    let r = call(&c, "get_run", json!({"project": NS, "name": name})).await;
    let run_id = structured(&r)["run"]["run_id"].as_str().unwrap().to_string();
    let r = call(
        &c,
        "approve_input",
        json!({"project": NS, "pipeline": "echo-pipeline", "run_id": run_id, "branch": "release/1.2", "action": "proceed"}),
    )
    .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert!(
        accepts.last_message().contains("release/1.2"),
        "{}",
        accepts.last_message()
    );
    let r = call(
        &c,
        "wait_for_run",
        json!({"project": NS, "name": name, "poll_seconds": 1, "timeout_seconds": 30}),
    )
    .await;
    assert_eq!(structured(&r)["run"]["result"], "SUCCESS", "{}", text(&r));

    // A triggered run on the same branch, stopped while paused.
    let r = call(
        &c,
        "trigger_run",
        json!({"project": NS, "pipeline": "echo-pipeline", "branch": "release/1.2"}),
    )
    .await;
    let name = structured(&r)["run"]["name"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", text(&r)))
        .to_string();
    state_of(&c, &name, "PAUSED").await;
    let r = call(&c, "stop_run", json!({"project": NS, "name": name})).await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let r = call(
        &c,
        "wait_for_run",
        json!({"project": NS, "name": name, "poll_seconds": 1, "timeout_seconds": 30}),
    )
    .await;
    assert_eq!(structured(&r)["run"]["result"], "ABORTED", "{}", text(&r));
    assert!(
        sim.requests().iter().any(|r| r.method == "POST"
            && r.path.contains("/branches/release%252F1.2/runs/")
            && r.path.ends_with("/stop")),
        "{:?}",
        sim.requests()
    );
    assert_inside_project(&sim, NS, "approve and stop");
}

/// Branch values from issue 12 and the git ref rules: none may produce a
/// request outside stone-devops's routes; each gets a short error.
const HOSTILE: &[&str] = &[
    "../../../../kubesphere-devops-system/pipelines/x",
    "/apis/devops.kubesphere.io/v1alpha3/devopsprojects",
    "/api/v1/namespaces/default/secrets",
    "a/b/../../x",
    "..%252F..%252Fkubesphere-devops-system",
    "..%2F..%2F..%2F..%2Fkubesphere-devops-system%2Fpipelines%2Fx",
    "%2e%2e/%2e%2e/x",
    "%2E%2E",
    "x/./y",
    "x//y",
    "x/",
    ".hidden",
    "a.lock",
    "ref@{1}",
    "@",
    "-x",
    "a b",
    "a\u{0}b",
    "a\nb",
    "a~1",
    "a^",
    "a:b",
    "a?b",
    "a*b",
    "a[b",
    "a\\b",
    "x.",
    "%zz",
];

#[tokio::test]
async fn hostile_branches_never_leave_the_project() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let c = connect(server_in(&sim, dir.path()), TestClient::plain(), Lifecycle::Initialize).await;
    for b in HOSTILE {
        for tool in [
            "get_run_log",
            "diagnose_run",
            "list_artifacts",
            "download_artifact",
            "get_run",
            "list_runs",
        ] {
            sim.clear_requests();
            let mut args = json!({"project": NS, "pipeline": "broken-build", "run_id": "1", "branch": b});
            if tool == "download_artifact" {
                args["path"] = "target/build-report.txt".into();
            }
            if tool == "list_runs" {
                args = json!({"project": NS, "pipeline": "echo-pipeline", "branch": b});
            }
            let r = tokio::time::timeout(Duration::from_secs(5), call(&c, tool, args))
                .await
                .unwrap_or_else(|_| panic!("{tool} {b:?} got no answer"));
            let t = text(&r);
            assert_eq!(r.is_error, Some(true), "{tool} {b:?}: {t}");
            assert!(t.len() < 2048, "{tool} {b:?}: {} bytes", t.len());
            assert!(t.contains("branch"), "{tool} {b:?}: {t}");
            assert!(
                !t.chars().any(|ch| ch.is_control() && ch != '\n'),
                "{tool} {b:?}: raw control character in {t:?}"
            );
            assert_inside_project(&sim, NS, &format!("{tool} {b:?}"));
            // The first wall: nothing was sent for the branch at all.
            assert!(
                !sim.requests().iter().any(|r| r.path.contains("/branches/")),
                "{tool} {b:?}: {:?}",
                sim.requests()
            );
        }
        sim.clear_requests();
        let r = call(
            &c,
            "trigger_run",
            json!({"project": NS, "pipeline": "echo-pipeline", "branch": b}),
        )
        .await;
        assert_eq!(r.is_error, Some(true), "trigger_run {b:?}: {}", text(&r));
        assert!(
            !sim.requests().iter().any(|r| r.method == "POST"),
            "trigger_run {b:?}: {:?}",
            sim.requests()
        );
    }
}

/// The second wall on its own: paths built past every validation (raw
/// segments) are refused by the client's single send path, as upstream
/// would route them, and never reach the wire.
#[tokio::test]
async fn the_allowlist_refuses_paths_that_upstream_routes_elsewhere() {
    use ks_devops_mcp::kubesphere::path::gv;
    use ks_devops_mcp::kubesphere::{ApiPath, BranchName, Cluster};

    let sim = sim().await;
    let kc = client(&sim, "tenant");
    let v2_branch = |seg: &str| {
        ApiPath::kapi(gv::DEVOPS_V1ALPHA2)
            .lit("namespaces")
            .seg(NS)
            .lit("pipelines/broken-build/branches")
            .seg(seg)
            .lit("runs/1")
    };
    for seg in [
        "../../../../kubesphere-devops-system/pipelines/x",
        "../../../../other-project/pipelines/x",
        "../../../../../../../../api/v1/namespaces/default/secrets",
        "a/b/../../x",
        "x//y",
        "./x",
        "..%2F..%2Fx",
        "..%2Fx",
        "%2E%2E",
    ] {
        for cluster in [Cluster::Host, Cluster::Member("member-1".into())] {
            let e = kc
                .get_json::<Value>(&cluster, &v2_branch(seg), &[])
                .await
                .expect_err(seg);
            assert_eq!(e.kind(), "not_allowed", "{seg:?}: {e}");
            assert!(e.to_string().len() < 600, "{e}");
        }
    }
    assert!(
        sim.requests().iter().all(|r| r.path == "/oauth/token"),
        "{:?}",
        sim.requests()
    );
    // A branch in upstream's convention passes the same wall.
    let b = BranchName::parse("feature/login").unwrap();
    let ok = ApiPath::kapi(gv::DEVOPS_V1ALPHA2)
        .lit("namespaces")
        .seg(NS)
        .lit("pipelines/echo-pipeline/branches")
        .branch(&b);
    let v: Value = kc.get_json(&Cluster::Host, &ok, &[]).await.expect("the branch is read");
    assert_eq!(v["displayName"], "feature/login");
    assert_inside_project(&sim, NS, "second wall");
}
