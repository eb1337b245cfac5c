//! Pipeline authoring routes (§16.1): checkScriptCompile, checkCron, the
//! v1alpha3 pipeline/Jenkinsfile PUTs, templates and sonarstatus, with
//! upstream's answer shapes and quirks.

mod common;

use common::*;
use serde_json::{Value, json};

impl T {
    async fn form(&self, p: &str, body: &str, content_type: &str) -> (u16, String) {
        let r = self
            .http
            .post(self.url(p))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await
            .expect("send");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn check_script_compile_answers_like_ks_devops() {
    let t = start().await;
    let p = format!("{DV2}/namespaces/stone-devops/pipelines/hello/checkScriptCompile");
    let good = "pipeline {\n  agent any\n  stages {\n    stage('A') {\n      steps {\n        echo 'a'\n      }\n    }\n  }\n}\n";
    let (c, b) = t
        .form(&p, &format!("value={}", enc(good)), "application/x-www-form-urlencoded")
        .await;
    assert_eq!(c, 200, "{b}");
    assert_eq!(serde_json::from_str::<Value>(&b).unwrap(), json!({"status": "success"}));
    let bad =
        "pipeline {\n  agent any\n  stages {\n    stage('A') {\n      steps {\n        echo 'a'\n      }\n    }\n  }\n";
    let (c, b) = t
        .form(&p, &format!("value={}", enc(bad)), "application/x-www-form-urlencoded")
        .await;
    assert_eq!(c, 200, "{b}");
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["status"], "fail");
    assert_eq!(v["line"], 10);
    assert_eq!(v["column"], 1);
    assert_eq!(v["message"], "expecting '}', found ''");
    let no_agent = "pipeline {\n  stages {\n    stage('A') { steps { echo 'a' } }\n  }\n}\n";
    let (_, b) = t
        .form(
            &p,
            &format!("value={}", enc(no_agent)),
            "application/x-www-form-urlencoded",
        )
        .await;
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(
        v,
        json!({"line": 1, "column": 1, "message": "Missing required section \"agent\"", "status": "fail"})
    );
    // The route consumes forms only.
    let (c, _) = t.send("POST", &p, Some(json!({"value": good}))).await;
    assert_eq!(c, 415);
    // A pipeline Jenkins does not have: Jenkins' 404 page as a 500 (U5).
    let (c, b) = t
        .form(
            &format!("{DV2}/namespaces/stone-devops/pipelines/nope/checkScriptCompile"),
            "value=x",
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(c, 500);
    assert!(b.contains("HTTP ERROR 404"), "{b}");
}

#[tokio::test]
async fn check_cron_answers_like_ks_devops() {
    let t = start().await;
    let p = format!("{DV2}/namespaces/stone-devops/checkCron");
    let (c, b) = t.send("POST", &p, Some(json!({"cron": "H 2 * * *"}))).await;
    assert_eq!(c, 200, "{b}");
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["result"], "ok", "{v}");
    assert!(
        v["lastTime"].as_str().is_some() && v["nextTime"].as_str().is_some(),
        "{v}"
    );
    let (_, b) = t.send("POST", &p, Some(json!({"cron": "0 25 * * *"}))).await;
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["result"], "error", "{v}");
    assert!(v["message"].as_str().unwrap().contains("25 is an invalid value"), "{v}");
    // Naming a pipeline Jenkins does not have: ks-devops' fixed message, 200.
    let (c, b) = t
        .send("POST", &p, Some(json!({"cron": "H 2 * * *", "pipelineName": "nope"})))
        .await;
    assert_eq!(c, 200);
    assert!(b.contains("internal errors happened"), "{b}");
}

#[tokio::test]
async fn pipeline_put_ignores_the_resource_version_and_keeps_the_jenkinsfile() {
    let t = start().await;
    let p = format!("{DV3}/namespaces/stone-devops/pipelines/hello");
    let (_, v) = t.get_json(&p).await;
    let jf = v["spec"]["pipeline"]["jenkinsfile"].clone();
    let mut body = v.clone();
    body["metadata"]["resourceVersion"] = json!("1");
    body["spec"]["pipeline"]["description"] = json!("changed");
    body["spec"]["pipeline"]["jenkinsfile"] = json!("pipeline { }");
    let (c, b) = t.send("PUT", &p, Some(body)).await;
    assert_eq!(c, 200, "{b}");
    let (_, after) = t.get_json(&p).await;
    assert_eq!(after["spec"]["pipeline"]["description"], "changed");
    assert_eq!(after["spec"]["pipeline"]["jenkinsfile"], jf);
    assert_ne!(after["metadata"]["resourceVersion"], v["metadata"]["resourceVersion"]);
    // A pipeline that does not exist: 400 from UpdatePipelineObj's wrapper.
    let mut ghost = v.clone();
    ghost["metadata"]["name"] = json!("ghost");
    let (c, b) = t
        .send(
            "PUT",
            &format!("{DV3}/namespaces/stone-devops/pipelines/ghost"),
            Some(ghost),
        )
        .await;
    assert_eq!(c, 400);
    assert!(b.starts_with("cannot found pipeline stone-devops/ghost"), "{b}");
}

#[tokio::test]
async fn jenkinsfile_put_quirks() {
    let t = start().await;
    // Multi-branch + raw: success, nothing but the edit-mode annotation changes.
    let p = format!("{DV3}/namespaces/stone-devops/pipelines/echo-pipeline/jenkinsfile?mode=raw");
    let (c, b) = t.send("PUT", &p, Some(json!({"data": "pipeline {}"}))).await;
    assert_eq!(c, 200, "{b}");
    assert_eq!(serde_json::from_str::<Value>(&b).unwrap(), json!({"result": "success"}));
    let (_, v) = t
        .get_json(&format!("{DV3}/namespaces/stone-devops/pipelines/echo-pipeline"))
        .await;
    assert!(v["spec"]["pipeline"].is_null());
    let (c, b) = t
        .send(
            "PUT",
            &format!("{DV3}/namespaces/stone-devops/pipelines/hello/jenkinsfile?mode=yaml"),
            Some(json!({"data": "x"})),
        )
        .await;
    assert_eq!((c, b.as_str()), (400, "invalid edit mode: yaml\n"));
}

#[tokio::test]
async fn templates_list_and_render() {
    let t = start().await;
    let (c, v) = t.get_json(&format!("{DV3}/namespaces/stone-devops/templates")).await;
    assert_eq!(c, 200);
    assert_eq!(v["totalItems"], 1);
    assert_eq!(v["items"][0]["metadata"]["name"], "node-ci");
    let (c, v) = t.get_json(&format!("{DV3}/clustertemplates")).await;
    assert_eq!(c, 200);
    assert!(v["totalItems"].as_u64().unwrap() >= 3, "{v}");
    // Render: no defaults applied, a missing parameter prints `<no value>`.
    let (c, b) = t
        .send(
            "POST",
            &format!("{DV3}/clustertemplates/golang/render"),
            Some(json!({"parameters": [{"name": "cloneURL", "value": "https://g/x.git"}]})),
        )
        .await;
    assert_eq!(c, 200, "{b}");
    let v: Value = serde_json::from_str(&b).unwrap();
    let out = v["metadata"]["annotations"]["devops.kubesphere.io/render-result"]
        .as_str()
        .unwrap();
    assert!(out.contains("url: 'https://g/x.git'"), "{out}");
    assert!(out.contains("branch: '<no value>'"), "{out}");
    let (c, b) = t
        .send(
            "POST",
            &format!("{DV3}/namespaces/stone-devops/templates/node-ci/render"),
            Some(json!({"parameters": [{"name": "nodeVersion", "value": "20"}, {"name": "package", "value": true}]})),
        )
        .await;
    assert_eq!(c, 400, "{b}");
    assert!(b.contains("check the parameters"), "{b}");
    let (c, b) = t
        .send("POST", &format!("{DV3}/clustertemplates/nope/render"), Some(json!({})))
        .await;
    assert_eq!(
        (c, b.as_str()),
        (404, "clustertemplates.devops.kubesphere.io \"nope\" not found\n")
    );
}

#[tokio::test]
async fn sonarstatus_shapes() {
    let t = start().await;
    let (c, v) = t
        .get_json(&format!(
            "{DV2}/namespaces/stone-devops/pipelines/quality-check/sonarstatus"
        ))
        .await;
    assert_eq!(c, 200, "{v}");
    let measures = v[0]["measures"]["component"]["measures"].as_array().unwrap();
    let gate = measures.iter().find(|m| m["metric"] == "alert_status").unwrap();
    assert_eq!(gate["value"], "ERROR");
    assert_eq!(v[0]["task"]["task"]["status"], "SUCCESS");
    // No analysis in its builds: an empty list.
    let (c, v) = t
        .get_json(&format!("{DV2}/namespaces/stone-devops/pipelines/hello/sonarstatus"))
        .await;
    assert_eq!((c, v), (200, json!([])));
    // No build at all: 500.
    let (c, _) = t
        .get_json(&format!(
            "{DV2}/namespaces/stone-devops/pipelines/release-gate-x/sonarstatus"
        ))
        .await;
    assert_eq!(c, 500);
}
