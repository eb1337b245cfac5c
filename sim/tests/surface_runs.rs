//! Routes of issue 14's run and credential tools, as upstream answers them:
//! replay (Blue Ocean `QueuedBlueRun` through ks-devops' `ReplayPipeline`
//! struct), PipelineRun delete (phase check, `keepJenkinsRecord`,
//! finalizer), credential PUT (body name, immutable type, conflicts) and a
//! Jenkins-only run (demo `webhook-build`).

mod common;

use common::*;
use serde_json::{Value, json};

const NS: &str = "stone-devops";

fn pr_names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn replay_answers_the_queued_item_through_ks_devops_struct() {
    let t = start().await;
    let before = t
        .get_json(&format!("{DV3}/namespaces/{NS}/pipelines/broken-build/pipelineruns"))
        .await
        .1;
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{DV2}/namespaces/{NS}/pipelines/broken-build/runs/1/replay"),
            None,
        )
        .await;
    assert_eq!(c, 200, "{v}");
    assert_eq!(v["_class"], "io.jenkins.blueocean.service.embedded.rest.QueuedBlueRun");
    assert_eq!(v["type"], "QueuedItem");
    assert_eq!((v["id"].as_str(), v["state"].as_str()), (Some("2"), Some("QUEUED")));
    assert_eq!(v["result"], "UNKNOWN");
    assert!(v["queueId"].is_string());
    // omitempty: no times, no false `replayable`, no fields ks-devops' struct lacks.
    for absent in [
        "startTime",
        "enQueueTime",
        "replayable",
        "queuedTime",
        "expectedBuildNumber",
        "name",
    ] {
        assert!(v.get(absent).is_none(), "{absent} in {v}");
    }
    let links: Vec<&String> = v["_links"].as_object().expect("links").keys().collect();
    assert_eq!(links.len(), 7, "{links:?}");
    assert!(
        v["_links"]["self"]["href"]
            .as_str()
            .expect("self")
            .ends_with("/pipelines/broken-build/runs/2/")
    );
    let causes: Vec<&str> = v["causes"]
        .as_array()
        .expect("causes")
        .iter()
        .filter_map(|c| c["shortDescription"].as_str())
        .collect();
    assert_eq!(causes, ["Started by user tenant", "Replayed #1"]);
    // Jenkins has run 2; no PipelineRun was created for it.
    let (c, run) = t
        .get_json(&format!("{DV2}/namespaces/{NS}/pipelines/broken-build/runs/2"))
        .await;
    assert_eq!(c, 200, "{run}");
    let after = t
        .get_json(&format!("{DV3}/namespaces/{NS}/pipelines/broken-build/pipelineruns"))
        .await
        .1;
    assert_eq!(pr_names(&before), pr_names(&after));
    // Replaying a run Jenkins does not have: 500 with Blue Ocean's 404 (U5).
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{DV2}/namespaces/{NS}/pipelines/broken-build/runs/77/replay"),
            None,
        )
        .await;
    assert_eq!(c, 500);
    assert_eq!(v["code"], 404);
    // GET is not a route.
    let (c, _) = t
        .get(&format!("{DV2}/namespaces/{NS}/pipelines/broken-build/runs/1/replay"))
        .await;
    assert_eq!(c, 405);
}

#[tokio::test]
async fn branch_replay_uses_the_encoded_branch_segment() {
    let t = start().await;
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{DV2}/namespaces/{NS}/pipelines/echo-pipeline/branches/main/runs/1/replay"),
            None,
        )
        .await;
    assert_eq!(c, 200, "{v}");
    assert_eq!(v["pipeline"], "main");
    assert_eq!(v["id"], "2");
    assert!(
        v["_links"]["parent"]["href"]
            .as_str()
            .expect("parent")
            .ends_with("/pipelines/echo-pipeline/branches/main/")
    );
}

async fn finished_run(t: &T, pipeline: &str) -> (String, String) {
    let (_, l) = t
        .get_json(&format!(
            "{DV3}/namespaces/{NS}/pipelines/{pipeline}/pipelineruns?backward=false"
        ))
        .await;
    let item = l["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| matches!(i["status"]["phase"].as_str(), Some("Succeeded" | "Failed")))
        .expect("a finished run");
    (
        item["metadata"]["name"].as_str().expect("name").to_string(),
        item["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-id"]
            .as_str()
            .expect("id")
            .to_string(),
    )
}

#[tokio::test]
async fn delete_refuses_a_running_run_then_the_finalizer_deletes_the_build() {
    let t = start_with(ks_sim::SimOptions {
        run_phase: std::time::Duration::from_secs(30),
        ..Default::default()
    })
    .await;
    // A run that has not finished: 400 naming its phase.
    let (_, pr) = t
        .send_json(
            "POST",
            &format!("{DV3}/namespaces/{NS}/pipelines/hello/pipelineruns"),
            None,
        )
        .await;
    let running = pr["metadata"]["name"].as_str().expect("name").to_string();
    let (c, body) = t
        .send("DELETE", &format!("{DV3}/namespaces/{NS}/pipelineruns/{running}"), None)
        .await;
    assert_eq!(c, 400);
    assert!(
        body.starts_with("cannot delete a running PipelineRun, please stop it first, current status is"),
        "{body}"
    );
    // keepJenkinsRecord=false (the default): the CR goes, and the build with it.
    let (name, id) = finished_run(&t, "broken-build").await;
    let (c, body) = t
        .send("DELETE", &format!("{DV3}/namespaces/{NS}/pipelineruns/{name}"), None)
        .await;
    assert_eq!((c, body.as_str()), (200, ""));
    // Until the controller removed the finalizer the CR is still there.
    let (c, v) = t.get_json(&format!("{DV3}/namespaces/{NS}/pipelineruns/{name}")).await;
    if c == 200 {
        assert!(v["metadata"]["deletionTimestamp"].is_string(), "{v}");
    }
    sleep_ms(500).await;
    let (c, _) = t.get(&format!("{DV3}/namespaces/{NS}/pipelineruns/{name}")).await;
    assert_eq!(c, 404);
    let (c, v) = t
        .get_json(&format!("{DV2}/namespaces/{NS}/pipelines/broken-build/runs/{id}"))
        .await;
    assert_eq!((c, &v["code"]), (500, &json!(404)), "{v}");
    // keepJenkinsRecord=True (strconv.ParseBool): the Jenkins build stays.
    let (name, id) = finished_run(&t, "hello").await;
    let (c, _) = t
        .send(
            "DELETE",
            &format!("{DV3}/namespaces/{NS}/pipelineruns/{name}?keepJenkinsRecord=True"),
            None,
        )
        .await;
    assert_eq!(c, 200);
    let (_, v) = t.get_json(&format!("{DV3}/namespaces/{NS}/pipelineruns/{name}")).await;
    assert_eq!(
        v["metadata"]["annotations"]["devops.kubesphere.io/keep-jenkins-record"], "true",
        "{v}"
    );
    sleep_ms(500).await;
    let (c, _) = t.get(&format!("{DV3}/namespaces/{NS}/pipelineruns/{name}")).await;
    assert_eq!(c, 404);
    let (c, v) = t
        .get_json(&format!("{DV2}/namespaces/{NS}/pipelines/hello/runs/{id}"))
        .await;
    assert_eq!((c, &v["state"]), (200, &json!("FINISHED")), "{v}");
}

#[tokio::test]
async fn credential_put_follows_the_body_and_kubernetes_update_rules() {
    let t = start().await;
    let p = format!("{DV3}/namespaces/{NS}/credentials/github-token");
    let (_, cur) = t.get_json(&p).await;
    let rv = cur["metadata"]["resourceVersion"].as_str().expect("rv").to_string();
    let data = json!({"username": "Ym90", "password": "bmV3LXRva2Vu"});
    // No name in the body: client-go refuses before any request.
    let (c, body) = t
        .send(
            "PUT",
            &p,
            Some(json!({"metadata": {}, "type": "credential.devops.kubesphere.io/basic-auth", "data": data})),
        )
        .await;
    assert_eq!((c, body.trim()), (400, "resource name may not be empty"));
    // No type: defaulted to Opaque, and the type is immutable.
    let (c, body) = t
        .send(
            "PUT",
            &p,
            Some(json!({"metadata": {"name": "github-token"}, "data": data})),
        )
        .await;
    assert_eq!(c, 400);
    assert!(
        body.contains("type: Invalid value: \"Opaque\": field is immutable"),
        "{body}"
    );
    // A stale resourceVersion: conflict, made 400 by the handler.
    let (c, body) = t
        .send(
            "PUT",
            &p,
            Some(json!({"metadata": {"name": "github-token", "resourceVersion": "999999"}, "type": "credential.devops.kubesphere.io/basic-auth", "data": data})),
        )
        .await;
    assert_eq!(c, 400);
    assert!(body.contains("the object has been modified"), "{body}");
    // The Secret updated is the one the body names, not the path's.
    let (c, _) = t
        .send(
            "PUT",
            &format!("{DV3}/namespaces/{NS}/credentials/other-name"),
            Some(json!({"metadata": {"name": "github-token", "resourceVersion": rv, "annotations": {"kubesphere.io/description": "rotated"}}, "type": "credential.devops.kubesphere.io/basic-auth", "data": data})),
        )
        .await;
    assert_eq!(c, 200);
    let (_, now) = t.get_json(&p).await;
    assert_eq!(now["data"]["password"], "", "masked");
    assert_eq!(now["data"]["username"], "Ym90");
    assert_eq!(
        now["metadata"]["annotations"]["credential.devops.kubesphere.io/syncstatus"],
        "pending"
    );
    assert_eq!(now["metadata"]["annotations"]["kubesphere.io/description"], "rotated");
    // Annotations not sent are gone (Update replaces the object).
    assert!(now["metadata"]["annotations"].get("kubesphere.io/creator").is_none());
    assert_ne!(now["metadata"]["resourceVersion"], json!(rv));
}

#[tokio::test]
async fn webhook_build_has_a_jenkins_only_run() {
    let t = start().await;
    let (_, prs) = t
        .get_json(&format!(
            "{DV3}/namespaces/{NS}/pipelines/webhook-build/pipelineruns?backward=false"
        ))
        .await;
    assert_eq!(prs["totalItems"], 1);
    let ids: Vec<&str> = prs["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-id"].as_str())
        .collect();
    assert_eq!(ids, ["1"]);
    let (_, runs) = t
        .get_json(&format!(
            "{DV2}/namespaces/{NS}/pipelines/webhook-build/runs?start=0&limit=10"
        ))
        .await;
    assert_eq!(runs["totalItems"], 2);
    assert_eq!(runs["items"][0]["id"], "2");
    assert_eq!(
        runs["items"][0]["causes"][0]["_class"],
        "org.jenkinsci.plugins.gwt.GenericCause"
    );
    assert_eq!(runs["items"][0]["result"], "SUCCESS");
}
