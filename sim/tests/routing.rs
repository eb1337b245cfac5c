//! Routing on the decoded path and the branch-name convention (§16 U3,
//! U4): a `%2F` inside a segment is two segments, the encoded branch name
//! travels as `%252F`, dot segments are redirected, bad escapes refused.

mod common;

use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NS: &str = "stone-devops";

async fn wait_phase(t: &T, pr: &str, want: &str) -> Value {
    for _ in 0..200 {
        let (_, v) = t.get_json(&format!("{DV3}/namespaces/{NS}/pipelineruns/{pr}")).await;
        if v["status"]["phase"] == want {
            return v;
        }
        sleep_ms(10).await;
    }
    panic!("run {pr} never reached {want}");
}

/// Sends a request target byte for byte (reqwest's URL parser would
/// resolve `.` and `..` before sending). Returns status, headers, body.
async fn raw_get(t: &T, target: &str) -> (u16, Vec<(String, String)>, String) {
    let mut s = tokio::net::TcpStream::connect(t.sim.addr()).await.expect("connect");
    let req = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        t.sim.addr(),
        t.token
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn a_percent_2f_inside_a_segment_matches_no_route() {
    let t = start().await;
    for p in [
        format!("{DV3}/namespaces/{NS}/pipelines/echo-pipeline/branches/feature%2Flogin"),
        format!("{DV2}/namespaces/{NS}/pipelines/echo-pipeline/branches/feature%2Flogin"),
        format!("{DV2}/namespaces/{NS}/pipelines/echo-pipeline/branches/feature%2Flogin/runs/1"),
        format!("{DV2}/namespaces/{NS}/pipelines/echo-pipeline/branches/feature%2Flogin/runs/1/log"),
    ] {
        let (c, b) = t.get(&p).await;
        assert_eq!((c, b.as_str()), (404, "404: Page Not Found"), "{p}");
    }
}

#[tokio::test]
async fn the_encoded_branch_name_travels_as_one_segment() {
    let t = start().await;
    let (c, b) = t
        .get_json(&format!(
            "{DV3}/namespaces/{NS}/pipelines/echo-pipeline/branches/feature%252Flogin"
        ))
        .await;
    assert_eq!(c, 200, "{b}");
    assert_eq!(b["name"], "feature%2Flogin");
    assert_eq!(b["rawName"], "feature/login");
    let (c, b) = t
        .get_json(&format!(
            "{DV2}/namespaces/{NS}/pipelines/echo-pipeline/branches/feature%252Flogin"
        ))
        .await;
    assert_eq!(c, 200, "{b}");
    assert_eq!(b["name"], "feature%2Flogin");
    assert_eq!(b["displayName"], "feature/login");
    // The raw name decoded from `%2F` is no job; neither is it found by v3.
    let (c, _) = t
        .get(&format!(
            "{DV3}/namespaces/{NS}/pipelines/echo-pipeline/branches/feature%25252Flogin"
        ))
        .await;
    assert_eq!(c, 404);
    let (_, meta) = t
        .get_json(&format!("{DV2}/namespaces/{NS}/pipelines/echo-pipeline"))
        .await;
    assert!(
        meta["branchNames"]
            .as_array()
            .expect("names")
            .contains(&Value::from("feature%2Flogin")),
        "{meta}"
    );
}

#[tokio::test]
async fn a_run_on_a_slash_branch_carries_the_encoded_ref_name() {
    // U10: the v1alpha3 branch list follows Jenkins at the metadata
    // controller's requeue; make it quick here.
    let t = start_with(ks_sim::SimOptions {
        run_phase: std::time::Duration::from_millis(50),
        branch_refresh: std::time::Duration::from_millis(100),
        ..ks_sim::SimOptions::default()
    })
    .await;
    let base = format!("{DV3}/namespaces/{NS}/pipelines/echo-pipeline");
    let (c, pr) = t
        .send_json("POST", &format!("{base}/pipelineruns?branch=feature%252Flogin"), None)
        .await;
    assert_eq!(c, 200, "{pr}");
    assert_eq!(pr["spec"]["scm"]["refName"], "feature%2Flogin");
    let name = pr["metadata"]["name"].as_str().expect("name").to_string();
    let v = wait_phase(&t, &name, "Succeeded").await;
    let id = v["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-id"]
        .as_str()
        .expect("id")
        .to_string();
    let status: Value = serde_json::from_str(
        v["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-status"]
            .as_str()
            .expect("status"),
    )
    .expect("json");
    assert_eq!(status["pipeline"], "feature%2Flogin");
    // The list filter matches `refName`: the encoded name, not the raw one.
    let (_, l) = t
        .get_json(&format!("{base}/pipelineruns?branch=feature%252Flogin"))
        .await;
    assert_eq!(l["totalItems"], 1, "{l}");
    let (_, l) = t.get_json(&format!("{base}/pipelineruns?branch=feature%2Flogin")).await;
    assert_eq!(l["totalItems"], 0, "{l}");
    // The v2 run routes take the encoded name as one segment.
    let rb = format!("{DV2}/namespaces/{NS}/pipelines/echo-pipeline/branches/feature%252Flogin/runs/{id}");
    let (c, run) = t.get_json(&rb).await;
    assert_eq!((c, run["result"].as_str()), (200, Some("SUCCESS")), "{run}");
    let (c, log) = t.get(&format!("{rb}/log?start=0")).await;
    assert_eq!(c, 200);
    assert!(log.contains("checkout feature/login"), "{log}");
    let (_, arts) = t.get_json(&format!("{rb}/artifacts?start=0&limit=100")).await;
    assert_eq!(arts[0]["path"], "target/login.jar");
    assert_eq!(
        arts[0]["url"],
        format!("/job/{NS}/job/echo-pipeline/job/feature%252Flogin/{id}/artifact/target/login.jar")
    );
    // The v3 branch list shows the run on the branch (after the copy).
    sleep_ms(150).await;
    let (_, br) = t.get_json(&format!("{base}/branches/feature%252Flogin")).await;
    assert_eq!(br["latestRun"]["id"], id.as_str());
    // Jenkins' own run list filters by the job name too.
    let (_, l) = t
        .get_json(&format!(
            "{DV2}/namespaces/{NS}/pipelines/echo-pipeline/runs?start=0&limit=10&branch=feature%252Flogin"
        ))
        .await;
    assert_eq!(l["totalItems"], 1, "{l}");
    let (_, l) = t
        .get_json(&format!(
            "{DV2}/namespaces/{NS}/pipelines/echo-pipeline/runs?start=0&limit=10&branch=feature%2Flogin"
        ))
        .await;
    assert_eq!(l["totalItems"], 0, "{l}");
}

#[tokio::test]
async fn a_raw_ref_name_with_a_slash_names_no_job_and_never_starts() {
    let t = start().await;
    let base = format!("{DV3}/namespaces/{NS}/pipelines/echo-pipeline");
    let (c, pr) = t
        .send_json("POST", &format!("{base}/pipelineruns?branch=feature%2Flogin"), None)
        .await;
    assert_eq!(c, 200, "{pr}");
    assert_eq!(pr["spec"]["scm"]["refName"], "feature/login");
    let name = pr["metadata"]["name"].as_str().expect("name").to_string();
    sleep_ms(300).await;
    let (_, v) = t.get_json(&format!("{DV3}/namespaces/{NS}/pipelineruns/{name}")).await;
    assert!(
        v["metadata"]["annotations"]
            .get("devops.kubesphere.io/jenkins-pipelinerun-id")
            .is_none(),
        "{v}"
    );
    assert_eq!(
        t.sim.build_count("host", NS, "echo-pipeline"),
        1,
        "only the seeded main run"
    );
}

#[tokio::test]
async fn dot_segments_are_redirected_to_the_cleaned_path() {
    let t = start().await;
    // Authorized on the project named before the `..`, then the ServeMux
    // behind it answers 301 with the path the dots lead to.
    let escape = format!(
        "{DV2}/namespaces/{NS}/pipelines/broken-build/branches/..%2F..%2F..%2F..%2Fkubesphere-devops-system%2Fpipelines%2Fx/runs/1"
    );
    for target in [escape.clone(), format!("/clusters/host{escape}")] {
        let (c, h, _) = raw_get(&t, &target).await;
        assert_eq!(c, 301, "{target}");
        assert_eq!(
            header(&h, "location"),
            Some("/kapis/devops.kubesphere.io/v1alpha2/namespaces/kubesphere-devops-system/pipelines/x/runs/1"),
            "{target}"
        );
    }
    for (target, to) in [
        (
            format!("{DV3}/namespaces/{NS}/./pipelines"),
            format!("{DV3}/namespaces/{NS}/pipelines"),
        ),
        (
            format!("{DV3}/namespaces/{NS}//pipelines"),
            format!("{DV3}/namespaces/{NS}/pipelines"),
        ),
        (
            format!("{DV3}/namespaces/{NS}/pipelines/%2E%2E/x"),
            format!("{DV3}/namespaces/{NS}/x"),
        ),
        (format!("{DV3}/namespaces/{NS}/pipelines?page=1"), String::new()),
    ] {
        let (c, h, _) = raw_get(&t, &target).await;
        if to.is_empty() {
            assert_eq!(c, 200, "{target}");
        } else {
            assert_eq!((c, header(&h, "location")), (301, Some(to.as_str())), "{target}");
        }
    }
    // Twice encoded: one segment `..%2F` after routing, a branch of the
    // named pipeline (none such), never a redirect.
    let (c, _, _) = raw_get(
        &t,
        &format!("{DV2}/namespaces/{NS}/pipelines/echo-pipeline/branches/..%252F..%252Fx/runs/1"),
    )
    .await;
    assert!(c != 301 && c != 200, "{c}");
    // A foreign namespace before the dots is refused before any redirect.
    let (c, _, _) = raw_get(
        &t,
        &format!("{DV3}/namespaces/demo-project/pipelines/%2E%2E/%2E%2E/{NS}/pipelines"),
    )
    .await;
    assert_eq!(c, 403);
}

#[tokio::test]
async fn a_malformed_escape_is_refused_before_routing() {
    let t = start().await;
    let (c, _, b) = raw_get(&t, &format!("{DV3}/namespaces/{NS}/pipelines/a%zz")).await;
    assert_eq!((c, b.as_str()), (400, "400 Bad Request"));
    let (c, _, _) = raw_get(&t, &format!("{DV3}/namespaces/{NS}/pipelines/a%2")).await;
    assert_eq!(c, 400);
}
