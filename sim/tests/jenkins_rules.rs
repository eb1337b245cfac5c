//! Upstream rules of the Jenkins side (kubesphere-devops-api.md §16): U1
//! (input proceed body), U5 (v1alpha2 errors are 500 with Jenkins' body), U7
//! (DV3 nodedetails; nodesdetail can hang).

mod common;

use std::time::Duration;

use common::*;
use ks_sim::{Fault, FaultKind};
use serde_json::{Value, json};

const NS: &str = "stone-devops";

async fn get_full(t: &T, p: &str) -> (u16, String, String, Option<String>) {
    let r = t.http.get(t.url(p)).bearer_auth(&t.token).send().await.expect("send");
    let code = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let nosniff = r
        .headers()
        .get("x-content-type-options")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (code, ct, r.text().await.unwrap_or_default(), nosniff)
}

#[tokio::test]
async fn v2_jenkins_errors_are_500_with_the_jenkins_body() {
    let t = start().await;
    // Blue Ocean routes: Jackson-indented ErrorMessage, sniffed as text.
    let (c, ct, body, _) = get_full(&t, &format!("{DV2}/namespaces/{NS}/pipelines/hello/runs/99")).await;
    assert_eq!(c, 500);
    assert_eq!(ct, "text/plain; charset=utf-8");
    assert_eq!(
        body,
        "{\n  \"message\" : \"Run 99 not found in organization jenkins and pipeline hello\",\n  \"code\" : 404,\n  \"errors\" : [ ]\n}"
    );
    for p in [
        format!("{DV2}/namespaces/{NS}/pipelines/nope"),
        format!("{DV2}/namespaces/{NS}/pipelines/nope/runs/1/log"),
        format!("{DV2}/namespaces/{NS}/pipelines/hello/runs/99/nodesdetail"),
        format!("{DV2}/namespaces/{NS}/pipelines/hello/runs/1/nodes/999/steps"),
        format!("{DV2}/namespaces/{NS}/pipelines/echo-pipeline/branches/nope/runs/1"),
    ] {
        let (c, _, body, _) = get_full(&t, &p).await;
        assert_eq!(c, 500, "{p}");
        let v: Value = serde_json::from_str(&body).expect("Blue Ocean JSON");
        assert_eq!(v["code"], 404, "{p}: {body}");
    }
    // Classic Jenkins routes: Jetty's HTML error page.
    let (c, ct, body, _) = get_full(&t, &format!("{DV2}/namespaces/{NS}/pipelines/hello/consolelog")).await;
    assert_eq!(c, 500);
    assert_eq!(ct, "text/html; charset=utf-8");
    assert!(body.contains("<title>Error 404 Not Found</title>"), "{body}");
    assert!(
        body.contains("/job/stone-devops/job/hello/indexing/consoleText"),
        "{body}"
    );
    let (c, body) = t
        .send(
            "POST",
            &format!("{DV2}/namespaces/{NS}/pipelines/nope/scan?delay=0"),
            None,
        )
        .await;
    assert_eq!(c, 500);
    assert!(body.contains("HTTP ERROR 404"), "{body}");
    // Credential usage: HandleInternalError over the requester's error text.
    let (c, ct, body, nosniff) = get_full(&t, &format!("{DV2}/namespaces/{NS}/credentials/app-config/usage")).await;
    assert_eq!(c, 500);
    assert_eq!(ct, "text/plain; charset=utf-8");
    assert_eq!(nosniff.as_deref(), Some("nosniff"));
    assert!(
        body.starts_with("GET http://ks-jenkins.kubesphere-devops-system.svc:80/job/stone-devops/credentials/store/folder/domain/_/credential/app-config/api/json?depth=2: 404 &lt;html&gt;"),
        "{body}"
    );
    assert!(!body.contains('<'), "HTML is escaped: {body}");
    // A Jenkins error that is not a 404 keeps its code in the body.
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{DV2}/namespaces/{NS}/pipelines/echo-pipeline/runs"),
            None,
        )
        .await;
    assert_eq!(c, 500);
    assert_eq!(v["code"], 400);
    // go-restful routing errors are not Jenkins errors.
    let (c, body) = t
        .get(&format!("{DV2}/namespaces/{NS}/pipelines/hello/runs/1/nope"))
        .await;
    assert_eq!((c, body.as_str()), (404, "404: Page Not Found"));
}

/// The paused input step of a v2 run: (node id, step id, input id).
async fn paused_input(t: &T, run: &str) -> (String, String, String) {
    for _ in 0..300 {
        let (_, nd) = t.get_json(&format!("{run}/nodesdetail")).await;
        for n in nd.as_array().into_iter().flatten() {
            for s in n["steps"].as_array().into_iter().flatten() {
                if s["state"] == "PAUSED" && s["input"]["id"].is_string() {
                    return (
                        n["id"].as_str().expect("node").into(),
                        s["id"].as_str().expect("step").into(),
                        s["input"]["id"].as_str().expect("input").into(),
                    );
                }
            }
        }
        sleep_ms(10).await;
    }
    panic!("{run} never paused at an input");
}

async fn new_gate_run(t: &T) -> String {
    let (c, q) = t
        .send_json(
            "POST",
            &format!("{DV2}/namespaces/{NS}/pipelines/release-gate/runs"),
            None,
        )
        .await;
    assert_eq!(c, 200, "{q}");
    format!(
        "{DV2}/namespaces/{NS}/pipelines/release-gate/runs/{}",
        q["id"].as_str().expect("id")
    )
}

async fn wait_result(t: &T, run: &str, want: &str) {
    for _ in 0..300 {
        let (_, v) = t.get_json(run).await;
        if v["state"] == "FINISHED" {
            assert_eq!(v["result"], want);
            return;
        }
        sleep_ms(10).await;
    }
    panic!("{run} never finished");
}

#[tokio::test]
async fn input_without_parameters_proceeds_only_without_an_empty_list() {
    let t = start().await;
    // The seeded run waits at the input.
    let run1 = format!("{DV2}/namespaces/{NS}/pipelines/release-gate/runs/1");
    let (_, r) = t.get_json(&run1).await;
    assert_eq!(r["state"], "PAUSED");
    let (node, step, id) = paused_input(&t, &run1).await;
    let submit = format!("{run1}/nodes/{node}/steps/{step}");
    // `"parameters":[]` is dropped by ks-devops: Blue Ocean 400 -> 500.
    let (c, v) = t
        .send_json("POST", &submit, Some(json!({"id": id, "parameters": []})))
        .await;
    assert_eq!(c, 500);
    assert_eq!(v["code"], 400);
    assert_eq!(v["message"], "parameters is required");
    // Unknown parameters and a wrong input id are Blue Ocean 400s too.
    let (c, v) = t
        .send_json(
            "POST",
            &submit,
            Some(json!({"id": id, "parameters": [{"name": "x", "value": "y"}]})),
        )
        .await;
    assert_eq!(
        (c, v["message"].as_str()),
        (500, Some("No such parameter definition: x"))
    );
    let (c, v) = t
        .send_json("POST", &submit, Some(json!({"id": "Nope", "parameters": null})))
        .await;
    assert_eq!((c, v["code"].as_i64()), (500, Some(400)));
    let (_, r) = t.get_json(&run1).await;
    assert_eq!(r["state"], "PAUSED", "nothing was answered");
    // `null` works (ks-devops adds `[]` itself).
    let (c, body) = t
        .send("POST", &submit, Some(json!({"id": id, "parameters": null})))
        .await;
    assert_eq!((c, body.as_str()), (200, ""));
    wait_result(&t, &run1, "SUCCESS").await;

    // Omitted works.
    let run = new_gate_run(&t).await;
    let (node, step, id) = paused_input(&t, &run).await;
    let (c, body) = t
        .send(
            "POST",
            &format!("{run}/nodes/{node}/steps/{step}"),
            Some(json!({"id": id})),
        )
        .await;
    assert_eq!((c, body.as_str()), (200, ""));
    wait_result(&t, &run, "SUCCESS").await;

    // Abort works, with or without an empty list.
    let run = new_gate_run(&t).await;
    let (node, step, id) = paused_input(&t, &run).await;
    let (c, body) = t
        .send(
            "POST",
            &format!("{run}/nodes/{node}/steps/{step}"),
            Some(json!({"id": id, "abort": true, "parameters": []})),
        )
        .await;
    assert_eq!((c, body.as_str()), (200, ""));
    wait_result(&t, &run, "ABORTED").await;

    // A run that does not exist: the permission check cannot read it.
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{DV2}/namespaces/{NS}/pipelines/release-gate/runs/99/nodes/{node}/steps/{step}"),
            Some(json!({"id": id})),
        )
        .await;
    assert_eq!(c, 200);
    assert_eq!(
        v,
        json!({"allow": "false", "message": "cannot get the submitters of current step"})
    );
}

fn is_rfc3339_utc_seconds(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
        && s.chars().filter(char::is_ascii_digit).count() == 14
}

#[tokio::test]
async fn dv3_nodedetails_has_jenkins_client_shape() {
    let t = start().await;
    let (_, l) = t
        .get_json(&format!(
            "{DV3}/namespaces/{NS}/pipelines/release-gate/pipelineruns?backward=false"
        ))
        .await;
    let name = l["items"][0]["metadata"]["name"].as_str().expect("name").to_string();
    let (c, nd) = t
        .get_json(&format!("{DV3}/namespaces/{NS}/pipelineruns/{name}/nodedetails"))
        .await;
    assert_eq!(c, 200);
    let stages = nd.as_array().expect("array");
    let names: Vec<&str> = stages.iter().filter_map(|s| s["displayName"].as_str()).collect();
    assert_eq!(names, ["Build", "Approve", "Deploy"]);
    for s in stages {
        for k in ["_class", "_links", "actions"] {
            assert!(s.get(k).is_none(), "{k} in {s}");
        }
        assert!(s.get("input").is_none(), "null input is omitted: {s}");
    }
    // Build finished, Approve waits, Deploy not reached.
    assert_eq!(stages[0]["state"], "FINISHED");
    assert!(
        is_rfc3339_utc_seconds(stages[0]["startTime"].as_str().expect("time")),
        "{}",
        stages[0]
    );
    assert_eq!(stages[1]["state"], "PAUSED");
    assert!(stages[2].get("state").is_none(), "{}", stages[2]);
    assert!(stages[2].get("result").is_none(), "{}", stages[2]);
    assert_eq!(stages[2]["startTime"], Value::Null);
    assert!(stages[2].get("steps").is_none(), "{}", stages[2]);
    let step = &stages[1]["steps"][0];
    assert_eq!(step["approvable"], true);
    assert!(step.get("aprovable").is_none());
    assert_eq!(step["state"], "PAUSED");
    assert_eq!(step["input"]["message"], "Release 1.4.2 to production?");
    assert!(step["input"]["id"].is_string());
    assert!(step["input"].get("parameters").is_none(), "{step}");
    assert!(step["input"].get("submitter").is_none(), "{step}");
    assert!(step.get("_links").is_none());
    // Every step carries approvable: true (upstream's temporary solution).
    assert_eq!(stages[0]["steps"][0]["approvable"], true);
    // The stored annotation has the same shape without approvable.
    let (_, pr) = t.get_json(&format!("{DV3}/namespaces/{NS}/pipelineruns/{name}")).await;
    let stored: Value = serde_json::from_str(
        pr["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-stages-status"]
            .as_str()
            .expect("stages annotation"),
    )
    .expect("json");
    assert!(stored[1]["steps"][0].get("approvable").is_none());
    assert_eq!(stored[1]["steps"][0]["input"], step["input"]);
}

#[tokio::test]
async fn nodesdetail_can_be_made_to_hang() {
    let t = start().await;
    t.sim.inject(Fault {
        method: Some("GET".into()),
        path_contains: "/nodesdetail".into(),
        kind: FaultKind::Hang,
        times: 1,
    });
    let p = format!("{DV2}/namespaces/{NS}/pipelines/hello/runs/1/nodesdetail");
    let r = t
        .http
        .get(t.url(&p))
        .bearer_auth(&t.token)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(r.is_err_and(|e| e.is_timeout()), "no answer");
    // The fault was used up.
    let (c, _) = t.get_json(&p).await;
    assert_eq!(c, 200);
}
