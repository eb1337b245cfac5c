mod common;

use common::*;
use serde_json::{Value, json};

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

async fn wait_v2_state(t: &T, path: &str, want: &str) -> Value {
    for _ in 0..200 {
        let (_, v) = t.get_json(path).await;
        if v["state"] == want {
            return v;
        }
        sleep_ms(10).await;
    }
    panic!("{path} never reached {want}");
}

async fn create_pipeline(t: &T, name: &str, jf: &str) {
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{DV3}/namespaces/{NS}/pipelines"),
            Some(
                json!({"metadata": {"name": name, "annotations": {"kubesphere.io/creator": "tenant"}},
                "spec": {"type": "pipeline", "pipeline": {"name": name, "jenkinsfile": jf}}}),
            ),
        )
        .await;
    assert_eq!(c, 200, "{v}");
}

#[tokio::test]
async fn v3_run_lifecycle() {
    let t = start().await;
    let (c, pr) = t
        .send_json(
            "POST",
            &format!("{DV3}/namespaces/{NS}/pipelines/hello/pipelineruns"),
            Some(json!({"parameters": [{"name": "A", "value": 1}, {"name": "", "value": "x"}]})),
        )
        .await;
    assert_eq!(c, 200, "{pr}");
    let name = pr["metadata"]["name"].as_str().expect("name").to_string();
    assert!(name.starts_with("hello-") && name.len() == 11);
    assert_eq!(pr["metadata"]["annotations"]["devops.kubesphere.io/creator"], "tenant");
    assert_eq!(pr["spec"]["parameters"], json!([{"name": "A", "value": "1"}]));
    // before the first sync
    let (_, v) = t.get_json(&format!("{DV3}/namespaces/{NS}/pipelineruns/{name}")).await;
    assert_eq!(
        v["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-status"],
        ""
    );
    assert_eq!(
        v["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-stages-status"],
        ""
    );
    assert!(
        v["metadata"]["annotations"]
            .get("devops.kubesphere.io/jenkins-pipelinerun-id")
            .is_none()
    );
    let (c, body) = t
        .get(&format!("{DV3}/namespaces/{NS}/pipelineruns/{name}/nodedetails"))
        .await;
    assert_eq!((c, body.as_str()), (500, "unexpected end of JSON input\n"));
    // backward quirk
    let (_, l) = t
        .get_json(&format!(
            "{DV3}/namespaces/{NS}/pipelines/hello/pipelineruns?page=1&limit=10"
        ))
        .await;
    assert_eq!(l["totalItems"], 2);
    let (_, l) = t
        .get_json(&format!(
            "{DV3}/namespaces/{NS}/pipelines/hello/pipelineruns?page=1&limit=10&backward=true"
        ))
        .await;
    assert_eq!(l["totalItems"], 1);
    let (c, d) = t
        .send("DELETE", &format!("{DV3}/namespaces/{NS}/pipelineruns/{name}"), None)
        .await;
    assert_eq!(c, 400, "{d}");
    let v = wait_phase(&t, &name, "Running").await;
    let id = v["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(id, "2");
    let v = wait_phase(&t, &name, "Succeeded").await;
    assert_eq!(v["status"]["conditions"][0]["reason"], "FINISHED");
    assert!(v["status"]["completionTime"].is_string());
    let st: Value = serde_json::from_str(
        v["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-status"]
            .as_str()
            .expect("s"),
    )
    .expect("json");
    assert_eq!(st["result"], "SUCCESS");
    let (c, nd) = t
        .get_json(&format!("{DV3}/namespaces/{NS}/pipelineruns/{name}/nodedetails"))
        .await;
    assert_eq!(c, 200);
    assert_eq!(nd[0]["displayName"], "Hello");
    assert_eq!(nd[0]["steps"][0]["approvable"], true);
    // backward=false fills the status annotation, sorted newest first
    let (_, l) = t
        .get_json(&format!(
            "{DV3}/namespaces/{NS}/pipelines/hello/pipelineruns?backward=false"
        ))
        .await;
    assert_eq!(l["items"][0]["metadata"]["name"], name.as_str());
    assert!(l["items"][0]["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-status"].is_string());
    // v2 view of the same build
    let (_, r) = t
        .get_json(&format!("{DV2}/namespaces/{NS}/pipelines/hello/runs/{id}"))
        .await;
    assert_eq!(r["result"], "SUCCESS");
    assert_eq!(r["parameters"][0]["value"], "1");
    let (c, _) = t
        .send("DELETE", &format!("{DV3}/namespaces/{NS}/pipelineruns/{name}"), None)
        .await;
    assert_eq!(c, 200);
    // The finalizer keeps the CR until the controller has handled it.
    let mut c = 0;
    for _ in 0..40 {
        c = t.get(&format!("{DV3}/namespaces/{NS}/pipelineruns/{name}")).await.0;
        if c == 404 {
            break;
        }
        sleep_ms(50).await;
    }
    assert_eq!(c, 404);
    // no namespace-wide list
    let (c, _) = t.get(&format!("{DV3}/namespaces/{NS}/pipelineruns")).await;
    assert_eq!(c, 404);
}

/// A sim whose pipeline metadata controller copies branches every 100 ms
/// (U10: the v1alpha3 branch list lags Jenkins by up to one period).
async fn start_fast_branches() -> T {
    start_with(ks_sim::SimOptions {
        run_phase: std::time::Duration::from_millis(50),
        branch_refresh: std::time::Duration::from_millis(100),
        ..ks_sim::SimOptions::default()
    })
    .await
}

#[tokio::test]
async fn multibranch_runs_branches_artifacts() {
    let t = start_fast_branches().await;
    let base = format!("{DV3}/namespaces/{NS}/pipelines/echo-pipeline");
    let (c, b) = t.send("POST", &format!("{base}/pipelineruns"), None).await;
    assert_eq!(
        (c, b.as_str()),
        (400, "missing branch name for running a multi-branch Pipeline\n")
    );
    let (c, pr) = t
        .send_json("POST", &format!("{base}/pipelineruns?branch=refs/heads/main"), None)
        .await;
    assert_eq!(c, 200);
    assert_eq!(pr["spec"]["scm"]["refName"], "main");
    let name = pr["metadata"]["name"].as_str().expect("n").to_string();
    let (_, l) = t.get_json(&format!("{base}/pipelineruns?branch=main")).await;
    assert_eq!(l["totalItems"], 1, "the new run is hidden until synced");
    let v = wait_phase(&t, &name, "Succeeded").await;
    let id = v["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-id"]
        .as_str()
        .expect("id")
        .to_string();
    // branches v3 (after the metadata controller copied the new run)
    sleep_ms(150).await;
    let (c, br) = t
        .get_json(&format!("{base}/branches?filter=origin&page=1&limit=10"))
        .await;
    assert_eq!(c, 200);
    // main, feature-branch and feature/login (demo data).
    assert_eq!(br["totalItems"], 3);
    assert_eq!(br["items"][0]["name"], "main");
    assert_eq!(br["items"][0]["latestRun"]["id"], id.as_str());
    assert!(br["items"][1].get("latestRun").is_none());
    assert_eq!(br["items"][2]["name"], "feature%2Flogin");
    assert_eq!(br["items"][2]["rawName"], "feature/login");
    let (_, br) = t.get_json(&format!("{base}/branches?filter=pull-requests")).await;
    assert_eq!(br, json!({"items": [], "totalItems": 0}));
    let (c, b) = t.get(&format!("{base}/branches/nope")).await;
    assert_eq!((c, b.as_str()), (404, "Branch nope was not found\n"));
    let (c, b) = t.get(&format!("{DV3}/namespaces/{NS}/pipelines/hello/branches")).await;
    assert_eq!((c, b.as_str()), (400, "invalid multi-branch Pipeline provided\n"));
    // v2 branches: bare array
    let (_, arr) = t
        .get_json(&format!(
            "{DV2}/namespaces/{NS}/pipelines/echo-pipeline/branches?filter=origin&start=0&limit=100"
        ))
        .await;
    assert_eq!(arr.as_array().expect("arr").len(), 3);
    // artifacts
    let rb = format!("{DV2}/namespaces/{NS}/pipelines/echo-pipeline/branches/main/runs/{id}");
    let (_, arts) = t.get_json(&format!("{rb}/artifacts?start=0&limit=100")).await;
    assert_eq!(arts[0]["path"], "target/demo-echo.jar");
    assert_eq!(
        arts[0]["url"],
        format!("/job/{NS}/job/echo-pipeline/job/main/{id}/artifact/target/demo-echo.jar")
    );
    let size = arts[0]["size"].as_u64().expect("size");
    let dl = format!("{DV3}/namespaces/{NS}/pipelineruns/{name}/artifacts/download?filename=target%252Fdemo-echo.jar");
    let r = t.http.get(t.url(&dl)).bearer_auth(&t.token).send().await.expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert_eq!(r.bytes().await.expect("b").len() as u64, size);
    let r = t
        .http
        .get(t.url(&dl))
        .bearer_auth(&t.token)
        .header("accept", "application/octet-stream")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 406);
    let (c, b) = t
        .get(&format!(
            "{DV3}/namespaces/{NS}/pipelineruns/{name}/artifacts/download?filename=nope"
        ))
        .await;
    assert_eq!(
        (c, b.as_str()),
        (500, "failed to get artifact. the HTTP status code is 404\n")
    );
    // RB/runs has no GET list
    let (c, _) = t
        .get(&format!(
            "{DV2}/namespaces/{NS}/pipelines/echo-pipeline/branches/main/runs"
        ))
        .await;
    assert_eq!(c, 405);
}

#[tokio::test]
async fn failing_run_and_logs() {
    let t = start().await;
    create_pipeline(&t, "failing", "pipeline { stages {\n stage('Build') { steps { echo 'compiling' } }\n stage('Test') { steps { sh 'exit 1' } }\n stage('Deploy') { steps { echo 'never' } } } }").await;
    let (c, run) = t
        .send_json(
            "POST",
            &format!("{DV2}/namespaces/{NS}/pipelines/failing/runs"),
            Some(json!({})),
        )
        .await;
    assert_eq!(c, 200);
    assert_eq!(run["state"], "QUEUED");
    assert_eq!(run["type"], "QueuedBlueRun");
    let id = run["id"].as_str().expect("id").to_string();
    assert!(
        t.sim
            .pipelinerun_names("host", NS)
            .iter()
            .all(|n| !n.starts_with("failing"))
    );
    let r = format!("{DV2}/namespaces/{NS}/pipelines/failing/runs/{id}");
    let v = wait_v2_state(&t, &r, "FINISHED").await;
    assert_eq!(v["result"], "FAILURE");
    let (_, nodes) = t.get_json(&format!("{r}/nodes")).await;
    assert_eq!(nodes[1]["result"], "FAILURE");
    assert_eq!(nodes[2]["state"], "SKIPPED");
    let test_stage = nodes[1]["id"].as_str().expect("id").to_string();
    let (_, steps) = t.get_json(&format!("{r}/nodes/{test_stage}/steps")).await;
    assert_eq!(steps[0]["result"], "FAILURE");
    let step = steps[0]["id"].as_str().expect("sid").to_string();
    let resp = t
        .http
        .get(t.url(&format!("{r}/nodes/{test_stage}/steps/{step}/log?start=0")))
        .bearer_auth(&t.token)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let size: u64 = resp.headers()["x-text-size"].to_str().expect("s").parse().expect("n");
    assert!(resp.headers().get("x-more-data").is_none());
    let text = resp.text().await.expect("t");
    // §16 U2: the text has CRLF line ends; X-Text-Size counts the raw log
    // (LF) plus the block error Blue Ocean appends (as it is).
    assert_eq!(text.replace("\r\n", "\n").len() as u64, size);
    assert!(text.ends_with("\r\nscript returned exit code 1\n"), "{text:?}");
    // run log: no X- headers, text/plain, 406 cases, start offset
    let resp = t
        .http
        .get(t.url(&format!("{r}/log?start=0")))
        .bearer_auth(&t.token)
        .send()
        .await
        .expect("send");
    assert!(resp.headers().get("x-text-size").is_none());
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/plain")
    );
    let full = resp.text().await.expect("t");
    assert!(full.ends_with("Finished: FAILURE\r\n"), "{full}");
    assert!(full.contains("ERROR: script returned exit code 1"));
    let resp = t
        .http
        .get(t.url(&format!("{r}/log?start=10")))
        .bearer_auth(&t.token)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.text().await.expect("t"), full[10..]);
    for accept in ["application/json", "text/plain", "text/plain; charset=utf-8"] {
        let resp = t
            .http
            .get(t.url(&format!("{r}/log")))
            .bearer_auth(&t.token)
            .header("accept", accept)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 406, "{accept}");
    }
    // v2 list quirks
    let _ = t
        .send_json("POST", &format!("{DV2}/namespaces/{NS}/pipelines/failing/runs"), None)
        .await;
    let (_, l) = t
        .get_json(&format!("{DV2}/namespaces/{NS}/pipelines/failing/runs"))
        .await;
    assert_eq!(l["totalItems"], 2);
    assert_eq!(l["items"], json!([]));
    let (_, l) = t
        .get_json(&format!("{DV2}/namespaces/{NS}/pipelines/failing/runs?start=0&limit=1"))
        .await;
    assert_eq!(l["items"].as_array().expect("a").len(), 1);
    assert_eq!(l["items"][0]["id"], "2");
    let (_, l) = t
        .get_json(&format!("{DV2}/namespaces/{NS}/pipelines/failing/runs?start=1&limit=1"))
        .await;
    assert_eq!(l["items"].as_array().expect("a").len(), 2);
    // stop run 2 -> ABORTED; replay -> new id
    let (_, s) = t
        .send_json(
            "POST",
            &format!("{DV2}/namespaces/{NS}/pipelines/failing/runs/2/stop"),
            None,
        )
        .await;
    assert_eq!(s["result"], "ABORTED");
    assert_eq!(s["state"], "FINISHED");
    let (_, rp) = t
        .send_json(
            "POST",
            &format!("{DV2}/namespaces/{NS}/pipelines/failing/runs/2/replay"),
            None,
        )
        .await;
    assert_eq!(rp["id"], "3");
    // U5: a Jenkins 404 reaches the caller as a 500 carrying Blue Ocean's body.
    let (c, v) = t
        .get_json(&format!("{DV2}/namespaces/{NS}/pipelines/failing/runs/99"))
        .await;
    assert_eq!(c, 500);
    assert_eq!(v["code"], 404);
}

#[tokio::test]
async fn input_step_and_stop_v3() {
    let t = start().await;
    create_pipeline(&t, "gated", "pipeline { stages {\n stage('Approve') { steps { input(id: 'Go', message: 'Deploy?', submitter: 'admin') } }\n stage('Deploy') { steps { echo 'deployed' } } } }").await;
    let (_, pr) = t
        .send_json(
            "POST",
            &format!("{DV3}/namespaces/{NS}/pipelines/gated/pipelineruns"),
            None,
        )
        .await;
    let name = pr["metadata"]["name"].as_str().expect("n").to_string();
    let v = wait_phase(&t, &name, "Pending").await;
    let id = v["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = format!("{DV2}/namespaces/{NS}/pipelines/gated/runs/{id}");
    let (_, run) = t.get_json(&r).await;
    assert_eq!(run["state"], "PAUSED");
    let (_, nd) = t.get_json(&format!("{r}/nodesdetail")).await;
    let step = &nd[0]["steps"][0];
    assert_eq!(step["input"]["id"], "Go");
    // the pipeline creator (tenant) may approve although not in submitter
    assert_eq!(step["aprovable"], true);
    let (node, sid) = (
        nd[0]["id"].as_str().expect("n").to_string(),
        step["id"].as_str().expect("s").to_string(),
    );
    let demo = login(&t.sim, &t.http, "demo-admin").await;
    let _ = demo;
    let (c, body) = t
        .send(
            "POST",
            &format!("{r}/nodes/{node}/steps/{sid}"),
            Some(json!({"id": "Go"})),
        )
        .await;
    assert_eq!((c, body.as_str()), (200, ""));
    let v = wait_phase(&t, &name, "Succeeded").await;
    assert_eq!(v["status"]["conditions"][0]["status"], "True");
    // second run: abort the input -> Failed / ABORTED
    let (_, pr) = t
        .send_json(
            "POST",
            &format!("{DV3}/namespaces/{NS}/pipelines/gated/pipelineruns"),
            None,
        )
        .await;
    let name = pr["metadata"]["name"].as_str().expect("n").to_string();
    let v = wait_phase(&t, &name, "Pending").await;
    let id = v["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = format!("{DV2}/namespaces/{NS}/pipelines/gated/runs/{id}");
    let (_, body) = t
        .send(
            "POST",
            &format!("{r}/nodes/{node}/steps/{sid}"),
            Some(json!({"id": "Go", "abort": true})),
        )
        .await;
    assert_eq!(body, "");
    let v = wait_phase(&t, &name, "Failed").await;
    let st: Value = serde_json::from_str(
        v["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-status"]
            .as_str()
            .expect("s"),
    )
    .expect("j");
    assert_eq!(st["result"], "ABORTED");
    // a step that is not waiting (its `input` is gone): 200 refusal
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{r}/nodes/{node}/steps/{sid}"),
            Some(json!({"id": "Go"})),
        )
        .await;
    assert_eq!(c, 200);
    assert_eq!(
        v,
        json!({"allow": "false", "message": "the step 'Wait for interactive input' is not approvable"})
    );
    // a step id that is not in the run: "no permission"
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{r}/nodes/{node}/steps/999"),
            Some(json!({"id": "Go"})),
        )
        .await;
    assert_eq!(c, 200);
    assert_eq!(
        v,
        json!({"allow": "false", "message": "you have no permission to approve this step"})
    );
}

#[tokio::test]
async fn scan_and_consolelog() {
    let t = start_fast_branches().await;
    assert!(t.sim.add_repo_branch(
        "host",
        NS,
        "echo-pipeline",
        "PR-7",
        Some("pipeline { stages { stage('PR') { steps { echo 'pr' } } } }")
    ));
    assert!(t.sim.add_repo_branch("host", NS, "echo-pipeline", "no-jf", None));
    let r = t
        .http
        .post(t.url(&format!("{DV2}/namespaces/{NS}/pipelines/echo-pipeline/scan?delay=0")))
        .bearer_auth(&t.token)
        .send()
        .await
        .expect("s");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/html")
    );
    let (_, log) = t
        .get(&format!("{DV2}/namespaces/{NS}/pipelines/echo-pipeline/consolelog"))
        .await;
    assert!(log.contains("Checking branch PR-7"));
    assert!(log.contains("Finished: SUCCESS"));
    sleep_ms(150).await;
    let (_, br) = t
        .get_json(&format!(
            "{DV3}/namespaces/{NS}/pipelines/echo-pipeline/branches?filter=pull-requests"
        ))
        .await;
    assert_eq!(br["totalItems"], 1);
    assert_eq!(br["items"][0]["pullRequest"]["id"], "7");
    let (_, br) = t
        .get_json(&format!("{DV3}/namespaces/{NS}/pipelines/echo-pipeline/branches"))
        .await;
    assert_eq!(br["totalItems"], 4);
    let (_, p) = t
        .get_json(&format!("{DV2}/namespaces/{NS}/pipelines/echo-pipeline"))
        .await;
    assert_eq!(
        p["_class"],
        "io.jenkins.blueocean.rest.impl.pipeline.MultiBranchPipelineImpl"
    );
    assert_eq!(p["totalNumberOfPullRequests"], 1);
}

#[tokio::test]
async fn big_log_streams() {
    let t = start().await;
    let run = t
        .sim
        .add_big_log_run("host", NS, "hello", None, 5_000_000)
        .expect("run");
    let r = format!("{DV2}/namespaces/{NS}/pipelines/hello/runs/{}/log", run.run_id);
    // Without `start`, Blue Ocean sends the last 150 KB of the raw log only.
    let resp = t.http.get(t.url(&r)).bearer_auth(&t.token).send().await.expect("send");
    let last = resp.bytes().await.expect("b");
    assert!(
        last.len() > 150 * 1024 && last.len() < 150 * 1024 + 2000,
        "{}",
        last.len()
    );
    let resp = t
        .http
        .get(t.url(&format!("{r}?start=0")))
        .bearer_auth(&t.token)
        .send()
        .await
        .expect("send");
    let all = resp.bytes().await.expect("b");
    assert!(all.ends_with(&last));
    // 50,000 generated lines of 100 bytes, each sent with CRLF.
    assert!(all.len() > 5_050_000 && all.len() < 5_060_000, "{}", all.len());
    assert!(all.ends_with(b"Finished: SUCCESS\r\n"));
    let resp = t
        .http
        .get(t.url(&format!("{r}?start=4000000")))
        .bearer_auth(&t.token)
        .send()
        .await
        .expect("send");
    let tail = resp.bytes().await.expect("b");
    // `start` is a raw offset: hidden notes and LFs before it are not
    // what was sent, so the suffix is shorter than the bytes sent after
    // byte 4,000,000 of the answer.
    assert!(all.ends_with(&tail));
    assert!(tail.len() < all.len() - 4_000_000, "{}", tail.len());
    let (_, pr) = t
        .get_json(&format!("{DV3}/namespaces/{NS}/pipelineruns/{}", run.pipelinerun))
        .await;
    assert_eq!(pr["status"]["phase"], "Succeeded");
}

#[tokio::test]
async fn credentials() {
    let t = start().await;
    let base = format!("{DV3}/namespaces/{NS}/credentials");
    let (_, l) = t.get_json(&base).await;
    assert_eq!(l["totalItems"], 1);
    assert_eq!(l["items"][0]["data"]["password"], "");
    assert!(!l["items"][0]["data"]["username"].as_str().expect("u").is_empty());
    let (c, s) = t.get_json(&format!("{base}/app-config")).await;
    assert_eq!(c, 200);
    assert_ne!(s["data"]["API_KEY"], "");
    let (c, s) = t
        .send_json("POST", &base, Some(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ssh", "annotations": {"kubesphere.io/description": "key"}},
            "type": "credential.devops.kubesphere.io/ssh-auth", "stringData": {"username": "git", "private_key": "-----BEGIN-----", "passphrase": "pp"}})))
        .await;
    assert_eq!(c, 200, "{s}");
    assert_eq!(s["data"]["private_key"], "");
    assert_eq!(s["data"]["username"], "Z2l0");
    assert!(s.get("stringData").is_none());
    assert_eq!(
        s["metadata"]["annotations"]["credential.devops.kubesphere.io/syncstatus"],
        "pending"
    );
    sleep_ms(120).await;
    let (_, s) = t.get_json(&format!("{base}/ssh")).await;
    assert_eq!(
        s["metadata"]["annotations"]["credential.devops.kubesphere.io/syncstatus"],
        "successful"
    );
    let (c, _) = t
        .send(
            "POST",
            &base,
            Some(json!({"metadata": {"name": "ssh"}, "type": "Opaque"})),
        )
        .await;
    assert_eq!(c, 400);
    let (c, u) = t
        .get_json(&format!("{DV2}/namespaces/{NS}/credentials/github-token/usage"))
        .await;
    assert_eq!(c, 200);
    assert_eq!(u["fingerprint"]["usage"][0]["name"], format!("{NS}/echo-pipeline"));
    let (c, v) = t.send_json("DELETE", &format!("{base}/ssh"), None).await;
    assert_eq!((c, v), (200, json!({"message": "success"})));
    let (c, b) = t.get(&format!("{base}/ssh")).await;
    assert_eq!((c, b.as_str()), (404, "secrets \"ssh\" not found\n"));
    let (_, l) = t
        .get_json(&format!(
            "/clusters/member-1{DV3}/namespaces/devopstestc2nj7/credentials"
        ))
        .await;
    assert_eq!(l, json!({"items": null, "totalItems": 0}));
}

#[tokio::test]
async fn gitrepos_and_applications() {
    // Long enough that the seeded guestbook sync is still running when it
    // is synced again below, however slow the machine.
    let t = start_with(ks_sim::SimOptions {
        run_phase: std::time::Duration::from_secs(2),
        ..ks_sim::SimOptions::default()
    })
    .await;
    let g = format!("{DV3}/namespaces/{NS}/gitrepositories");
    let (_, l) = t.get_json(&g).await;
    assert_eq!(l["totalItems"], 1);
    let (c, v) = t.send_json("POST", &format!("{g}/"), Some(json!({"metadata": {"name": "r2", "namespace": "x"}, "spec": {"provider": "git", "url": "https://e/r.git", "description": "d"}}))).await;
    assert_eq!(c, 200);
    assert_eq!(v["metadata"]["namespace"], NS);
    assert!(v["spec"].get("description").is_none());
    let (c, _) = t.send("POST", &g, Some(json!({"metadata": {"name": "r2"}}))).await;
    assert_eq!(c, 409);
    let (c, v) = t.send_json("DELETE", &format!("{g}/r2"), None).await;
    assert_eq!(c, 200);
    assert_eq!(v["metadata"]["name"], "r2");

    let a = format!("{GO1}/namespaces/{NS}/applications");
    let (_, l) = t.get_json(&format!("{a}?healthStatus=Degraded")).await;
    assert_eq!(l["totalItems"], 1);
    let argo: Value = serde_json::from_str(l["items"][0]["status"]["argoApp"].as_str().expect("s")).expect("j");
    assert_eq!(argo["operationState"]["phase"], "Failed");
    assert!(
        argo["operationState"]["message"]
            .as_str()
            .expect("m")
            .contains("failed")
    );
    // U16: Argo CD's automated sync of guestbook never sets
    // spec.argoApp.operation, so a manual sync is accepted meanwhile; a
    // second one while the first is pending is refused.
    let (c, b) = t.send("POST", &format!("{a}/guestbook/sync"), Some(json!({}))).await;
    assert_eq!(c, 200, "{b}");
    let (c, b) = t.send("POST", &format!("{a}/guestbook/sync"), Some(json!({}))).await;
    assert_eq!(
        (c, b.as_str()),
        (400, "[ServiceError:400] another operation is already in progress\n")
    );
    let mut g1 = Value::Null;
    for _ in 0..100 {
        g1 = t.get_json(&format!("{a}/guestbook")).await.1;
        if g1["metadata"]["labels"]["gitops.kubesphere.io/sync-status"] == "Synced" {
            break;
        }
        sleep_ms(50).await;
    }
    assert_eq!(g1["metadata"]["labels"]["gitops.kubesphere.io/sync-status"], "Synced");
    assert_eq!(
        g1["metadata"]["labels"]["gitops.kubesphere.io/health-status"],
        "Healthy"
    );
    let (_, s) = t.get_json(&format!("{GO1}/namespaces/{NS}/application-summary")).await;
    assert_eq!(s["total"], 2);
    assert_eq!(s["healthStatus"]["Healthy"], 1);
    let (c, b) = t.send("POST", &format!("{a}/guestbook/sync"), None).await;
    assert_eq!(
        (c, b.as_str()),
        (400, "[ServiceError:400] invalid application sync request\n")
    );
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{a}/guestbook/sync"),
            Some(json!({"revision": "main", "prune": true})),
        )
        .await;
    assert_eq!(c, 200);
    assert_eq!(v["spec"]["argoApp"]["operation"]["sync"]["revision"], "main");
    let (c, v) = t
        .send_json("POST", &a, Some(json!({"metadata": {"name": "new-app"}, "spec": {"kind": "argocd", "argoApp": {"spec": {"project": "default",
            "source": {"repoURL": "https://github.com/org/apps", "path": "web", "targetRevision": "HEAD"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": NS}}}}})))
        .await;
    assert_eq!(c, 200, "{v}");
    // U16: the handler adds only the location label; the controller
    // rewrites the project afterwards.
    assert_eq!(v["spec"]["argoApp"]["spec"]["project"], "default");
    assert_eq!(
        v["metadata"]["labels"]["gitops.kubesphere.io/argocd-location"],
        "argocd"
    );
    let (_, v) = t.get_json(&format!("{a}/new-app")).await;
    assert_eq!(v["spec"]["argoApp"]["spec"]["project"], NS);
}

/// Throughput check for huge logs: `cargo test --release -- --ignored huge_log`.
#[tokio::test]
#[ignore]
async fn huge_log_throughput() {
    let t = start().await;
    let run = t
        .sim
        .add_big_log_run("host", NS, "hello", None, 300_000_000)
        .expect("run");
    let r = format!("{DV2}/namespaces/{NS}/pipelines/hello/runs/{}/log", run.run_id);
    let started = std::time::Instant::now();
    let mut resp = t.http.get(t.url(&r)).bearer_auth(&t.token).send().await.expect("send");
    let mut n = 0usize;
    while let Some(chunk) = resp.chunk().await.expect("chunk") {
        n += chunk.len();
    }
    assert!(n > 300_000_000);
    eprintln!("{n} bytes in {:?}", started.elapsed());
}

#[tokio::test]
async fn created_multibranch_is_indexed_after_sync() {
    let t = start().await;
    let (c, _) = t
        .send_json(
            "POST",
            &format!("{DV3}/namespaces/{NS}/pipelines"),
            Some(
                json!({"metadata": {"name": "mb"}, "spec": {"type": "multi-branch-pipeline", "multi_branch_pipeline": {
                "name": "mb", "source_type": "git", "script_path": "Jenkinsfile",
                "git_source": {"url": "https://github.com/org/app.git", "discover_branches": true}}}}),
            ),
        )
        .await;
    assert_eq!(c, 200);
    sleep_ms(120).await;
    let (c, br) = t
        .get_json(&format!("{DV3}/namespaces/{NS}/pipelines/mb/branches"))
        .await;
    assert_eq!(c, 200);
    assert_eq!(br["items"][0]["name"], "main");
    // The default repository of a new multi-branch pipeline has a `/` branch.
    assert_eq!(br["items"][1]["name"], "feature%2Flogin");
    assert_eq!(br["items"][1]["rawName"], "feature/login");
    let (_, p) = t.get_json(&format!("{DV3}/namespaces/{NS}/pipelines/mb")).await;
    assert_eq!(
        p["metadata"]["annotations"]["pipeline.devops.kubesphere.io/syncstatus"],
        "successful"
    );
}
