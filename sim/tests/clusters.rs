//! Clusters, projects and resource shapes under upstream's rules (§16 U6,
//! U9, U10, U11, U12, U13, U14, U16, U17).

mod common;

use std::time::Duration;

use common::*;
use ks_sim::SimOptions;
use serde_json::{Value, json};

fn names(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn rfc3339_utc(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 20 && s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

#[tokio::test]
async fn u6_clusters_are_granted_or_bound_not_inherited_from_workspaces() {
    let t = start().await;
    let (c, v) = t.get_json(&format!("{TN}/clusters")).await;
    assert_eq!(c, 200);
    assert_eq!(v["totalItems"], 0, "{v}");
    assert_eq!(v["items"], json!([]));
    // `tenant` has a RoleBinding in stone-devops (host) only.
    let (c, v) = t.get_json(&format!("{TN}/clusters?roleBindingExists=true")).await;
    assert_eq!(c, 200);
    assert_eq!(names(&v), ["host"]);
    let (c, v) = t.get_json(&format!("{TN}/clusters?roleBindingExists=maybe")).await;
    assert_eq!(c, 500, "{v}");
    // The workspace is placed on both clusters.
    let (c, v) = t.get_json(&format!("{TN}/workspaces/stone/clusters")).await;
    assert_eq!(c, 200);
    assert_eq!(names(&v), ["host", "member-1"]);
    // The project on member-1 is still reachable through the workspace.
    let (c, v) = t
        .get_json(&format!("/clusters/member-1{DV3}/workspaces/stone/namespaces"))
        .await;
    assert_eq!(c, 200);
    assert!(names(&v).contains(&"devopstestc2nj7".to_string()), "{v}");
    // Granting a cluster shows it, with the annotation on the user.
    assert!(t.sim.set_granted_clusters("tenant", &["member-1"]));
    let (_, v) = t.get_json(&format!("{TN}/clusters")).await;
    assert_eq!(names(&v), ["member-1"]);
    let (_, v) = t.get_json(&format!("{IAM}/users/tenant")).await;
    assert_eq!(
        v["metadata"]["annotations"]["iam.kubesphere.io/granted-clusters"],
        "member-1"
    );
    let (_, v) = t.get_json(&format!("{TN}/clusters?roleBindingExists=true")).await;
    let mut n = names(&v);
    n.sort();
    assert_eq!(n, ["host", "member-1"]);
}

#[tokio::test]
async fn u17_the_project_list_is_checked_per_project() {
    let t = start().await;
    let url = format!("/clusters/member-1{DV3}/workspaces/stone/namespaces");
    assert!(t.sim.set_namespace_workspace("member-1", "devopstestxyz12", None));
    let (c, v) = t.get_json(&url).await;
    assert_eq!(c, 200);
    assert_eq!(names(&v).len(), 2, "{v}");
    assert!(!names(&v).contains(&"devopstestxyz12".to_string()));
    assert_eq!(v["totalItems"], 2);
    // Every project hidden: items null.
    for p in ["devopstestc2nj7", "my-devopstest"] {
        assert!(t.sim.set_namespace_workspace("member-1", p, None));
    }
    let (c, v) = t.get_json(&url).await;
    assert_eq!(c, 200);
    assert_eq!(v, json!({"items": null, "totalItems": 0}));
    // And the project's own routes refuse the user.
    let (c, _) = t
        .get(&format!("/clusters/member-1{DV3}/namespaces/devopstestxyz12/pipelines"))
        .await;
    assert_eq!(c, 403);
}

#[tokio::test]
async fn u11_sync_annotations() {
    let t = start().await;
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{DV3}/namespaces/stone-devops/pipelines"),
            Some(json!({"metadata": {"name": "fresh"}, "spec": {"type": "pipeline", "pipeline": {"name": "fresh", "jenkinsfile": "pipeline { agent any\n stages { stage('a') { steps { echo 'a' } } } }"}}})),
        )
        .await;
    assert_eq!(c, 200, "{v}");
    let ann = &v["metadata"]["annotations"];
    assert!(ann.get("pipeline.devops.kubesphere.io/syncstatus").is_none(), "{ann}");
    let (_, v) = t
        .get_json(&format!("{DV3}/namespaces/stone-devops/pipelines/fresh"))
        .await;
    assert!(
        v["metadata"]["annotations"]["pipeline.devops.kubesphere.io/syncstatus"].is_null(),
        "{v}"
    );
    sleep_ms(120).await;
    let (_, v) = t
        .get_json(&format!("{DV3}/namespaces/stone-devops/pipelines/fresh"))
        .await;
    let ann = v["metadata"]["annotations"].as_object().cloned().unwrap_or_default();
    assert_eq!(ann["pipeline.devops.kubesphere.io/syncstatus"], "successful");
    for k in ["synctime", "syncmsg"] {
        assert!(!ann.contains_key(&format!("pipeline.devops.kubesphere.io/{k}")), "{k}");
    }
    // Seeded pipelines look the same.
    let (_, v) = t
        .get_json(&format!("{DV3}/namespaces/stone-devops/pipelines/hello"))
        .await;
    assert!(v["metadata"]["annotations"]["pipeline.devops.kubesphere.io/synctime"].is_null());

    // Credentials: pending (with Go's time.String() sync time), then successful.
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{DV3}/namespaces/stone-devops/credentials"),
            Some(json!({"metadata": {"name": "tok"}, "type": "credential.devops.kubesphere.io/secret-text", "stringData": {"secret": "s3cr3t"}})),
        )
        .await;
    assert_eq!(c, 200, "{v}");
    assert_eq!(
        v["metadata"]["annotations"]["credential.devops.kubesphere.io/syncstatus"],
        "pending"
    );
    let st = v["metadata"]["annotations"]["credential.devops.kubesphere.io/synctime"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(st.ends_with(" +0000 UTC"), "{st}");
    sleep_ms(120).await;
    let (_, v) = t
        .get_json(&format!("{DV3}/namespaces/stone-devops/credentials/tok"))
        .await;
    assert_eq!(
        v["metadata"]["annotations"]["credential.devops.kubesphere.io/syncstatus"],
        "successful"
    );
    assert_eq!(
        v["metadata"]["annotations"]["credential.devops.kubesphere.io/synctime"],
        st.as_str()
    );

    // DevOps projects: pending, then successful.
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{DV3}/workspaces/stone/namespaces"),
            Some(json!({"metadata": {"generateName": "fresh"}})),
        )
        .await;
    assert_eq!(c, 200, "{v}");
    assert_eq!(
        v["metadata"]["annotations"]["devopsproject.devops.kubesphere.io/syncstatus"],
        "pending"
    );
    let name = v["metadata"]["name"].as_str().unwrap_or_default().to_string();
    sleep_ms(120).await;
    let (_, v) = t.get_json(&format!("{DV3}/workspaces/stone/namespaces/{name}")).await;
    assert_eq!(
        v["metadata"]["annotations"]["devopsproject.devops.kubesphere.io/syncstatus"],
        "successful"
    );
}

#[tokio::test]
async fn u12_status_annotation_is_jenkins_client_json() {
    let t = start().await;
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{DV3}/namespaces/stone-devops/pipelines/hello/pipelineruns"),
            Some(json!({})),
        )
        .await;
    assert_eq!(c, 200);
    let pr = v["metadata"]["name"].as_str().unwrap_or_default().to_string();
    // Wait until Jenkins has it queued: start and end times unset, as null.
    let mut queued = None;
    for _ in 0..40 {
        let (_, v) = t
            .get_json(&format!("{DV3}/namespaces/stone-devops/pipelineruns/{pr}"))
            .await;
        let s = v["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-status"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !s.is_empty() {
            queued = Some(s);
            break;
        }
        sleep_ms(10).await;
    }
    let s: Value = serde_json::from_str(&queued.expect("status annotation")).expect("json");
    assert_eq!(s["state"], "QUEUED", "{s}");
    assert!(s.get("startTime").is_some_and(Value::is_null), "{s}");
    assert!(s.get("endTime").is_some_and(Value::is_null), "{s}");
    assert!(rfc3339_utc(&s["enQueueTime"]), "{s}");
    assert!(s["durationInMillis"].is_number());
    for k in ["_class", "_links", "actions"] {
        assert!(s.get(k).is_none(), "{k} in {s}");
    }
    // Finished: every time RFC 3339 UTC.
    sleep_ms(250).await;
    let (_, v) = t
        .get_json(&format!("{DV3}/namespaces/stone-devops/pipelineruns/{pr}"))
        .await;
    let s: Value = serde_json::from_str(
        v["metadata"]["annotations"]["devops.kubesphere.io/jenkins-pipelinerun-status"]
            .as_str()
            .unwrap_or_default(),
    )
    .expect("json");
    assert_eq!(s["state"], "FINISHED", "{s}");
    assert!(rfc3339_utc(&s["startTime"]) && rfc3339_utc(&s["endTime"]), "{s}");
    assert!(s["durationInMillis"].as_i64().is_some_and(|d| d > 0), "{s}");
    // Branch latestRun in the v1alpha3 branch list likewise.
    let (_, v) = t
        .get_json(&format!(
            "{DV3}/namespaces/stone-devops/pipelines/echo-pipeline/branches"
        ))
        .await;
    let main = v["items"]
        .as_array()
        .and_then(|a| a.iter().find(|b| b["name"] == "main"))
        .cloned()
        .expect("main");
    assert!(rfc3339_utc(&main["latestRun"]["startTime"]), "{main}");
    assert!(rfc3339_utc(&main["latestRun"]["endTime"]), "{main}");
    assert!(main["latestRun"].get("_class").is_none());
}

#[tokio::test]
async fn u10_v3_branches_lag_a_scan_v2_is_live() {
    let t = start_with(SimOptions {
        run_phase: Duration::from_millis(50),
        branch_refresh: Duration::from_millis(400),
        ..SimOptions::default()
    })
    .await;
    assert!(t.sim.add_repo_branch(
        "host",
        "stone-devops",
        "echo-pipeline",
        "release-2",
        Some("pipeline { agent any\n stages { stage('r') { steps { echo 'r' } } } }")
    ));
    // Let the controller copy once, so the next copy is a full period away.
    sleep_ms(450).await;
    let _ = t
        .get(&format!(
            "{DV3}/namespaces/stone-devops/pipelines/echo-pipeline/branches"
        ))
        .await;
    let (c, _) = t
        .send(
            "POST",
            &format!("{DV2}/namespaces/stone-devops/pipelines/echo-pipeline/scan?delay=0"),
            None,
        )
        .await;
    assert_eq!(c, 200);
    let v3 = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|b| b["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (_, v) = t
        .get_json(&format!(
            "{DV3}/namespaces/stone-devops/pipelines/echo-pipeline/branches"
        ))
        .await;
    assert!(!v3(&v).contains(&"release-2".to_string()), "v3 must lag: {v}");
    let (c, v) = t
        .get_json(&format!(
            "{DV2}/namespaces/stone-devops/pipelines/echo-pipeline/branches?filter=origin&start=0&limit=100"
        ))
        .await;
    assert_eq!(c, 200);
    let live: Vec<&str> = v
        .as_array()
        .expect("bare array")
        .iter()
        .filter_map(|b| b["name"].as_str())
        .collect();
    assert!(live.contains(&"release-2"), "{v}");
    // ks-devops' struct: pullRequest and latestRun are always there.
    let rel = v
        .as_array()
        .and_then(|a| a.iter().find(|b| b["name"] == "release-2"))
        .expect("release-2");
    assert_eq!(rel["pullRequest"], json!({}));
    assert!(rel["latestRun"].is_object());
    assert_eq!(rel["displayName"], "release-2");
    sleep_ms(450).await;
    let (_, v) = t
        .get_json(&format!(
            "{DV3}/namespaces/stone-devops/pipelines/echo-pipeline/branches"
        ))
        .await;
    assert!(v3(&v).contains(&"release-2".to_string()), "{v}");
}

#[tokio::test]
async fn u13_masking_sets_every_secret_key() {
    let t = start().await;
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{DV3}/namespaces/stone-devops/credentials"),
            Some(
                json!({"metadata": {"name": "key"}, "type": "credential.devops.kubesphere.io/ssh-auth",
                "stringData": {"username": "git", "private_key": "-----BEGIN KEY-----"}}),
            ),
        )
        .await;
    assert_eq!(c, 200, "{v}");
    assert_eq!(v["data"]["private_key"], "");
    assert_eq!(v["data"]["passphrase"], "", "set though it never existed: {v}");
    let (_, v) = t.get_json(&format!("{DV3}/namespaces/stone-devops/credentials")).await;
    let key = v["items"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["metadata"]["name"] == "key"))
        .cloned()
        .expect("listed");
    assert_eq!(key["data"]["passphrase"], "");
}

#[tokio::test]
async fn u14_gitrepository_providers() {
    let t = start().await;
    for (name, provider, url, want) in [
        (
            "gl",
            "gitlab",
            "https://gitlab.com/org/app",
            "https://gitlab.com/org/app.git",
        ),
        ("bb", "bitbucket", "", "https://bitbucket.org/org/app"),
        ("bbs", "bitbucket_server", "", ""),
    ] {
        let (c, v) = t
            .send_json(
                "POST",
                &format!("{DV3}/namespaces/stone-devops/gitrepositories"),
                Some(json!({"metadata": {"name": name}, "spec": {"provider": provider, "url": url, "owner": "org", "repo": "app"}})),
            )
            .await;
        assert_eq!(c, 200, "{v}");
        let (_, v) = t
            .get_json(&format!("{DV3}/namespaces/stone-devops/gitrepositories/{name}"))
            .await;
        assert_eq!(v["spec"]["url"], want, "{provider}: {v}");
    }
}

#[tokio::test]
async fn u16_gitops_create_and_sync() {
    let t = start().await;
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{GO1}/namespaces/stone-devops/applications"),
            Some(json!({"metadata": {"name": "auto"}, "spec": {"kind": "argocd", "argoApp": {"spec": {
                "project": "default",
                "source": {"repoURL": "https://github.com/argoproj/argocd-example-apps", "targetRevision": "HEAD", "path": "guestbook"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "stone-devops"},
                "syncPolicy": {"automated": {"prune": true}, "syncOptions": ["CreateNamespace=true"]}}}}})),
        )
        .await;
    assert_eq!(c, 200, "{v}");
    let labels = v["metadata"]["labels"].as_object().cloned().unwrap_or_default();
    assert_eq!(
        labels.keys().collect::<Vec<_>>(),
        ["gitops.kubesphere.io/argocd-location"]
    );
    assert!(v["spec"]["argoApp"]["operation"].is_null(), "{v}");
    // Automated sync runs without ever setting the operation.
    let (_, v) = t
        .get_json(&format!("{GO1}/namespaces/stone-devops/applications/auto"))
        .await;
    assert!(v["spec"]["argoApp"]["operation"].is_null(), "{v}");
    let status: Value = serde_json::from_str(v["status"]["argoApp"].as_str().unwrap_or("{}")).expect("json");
    assert_eq!(status["operationState"]["phase"], "Running", "{status}");
    // A manual sync is allowed meanwhile; no revision stores none.
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{GO1}/namespaces/stone-devops/applications/auto/sync"),
            Some(json!({})),
        )
        .await;
    assert_eq!(c, 200, "{v}");
    let op = &v["spec"]["argoApp"]["operation"];
    assert_eq!(op["initiatedBy"]["username"], "tenant");
    assert!(op["sync"].get("revision").is_none(), "{op}");
    assert!(op["sync"].get("prune").is_none(), "{op}");
    assert_eq!(op["sync"]["syncOptions"], json!(["CreateNamespace=true"]), "{op}");
    let (c, v) = t
        .send(
            "POST",
            &format!("{GO1}/namespaces/stone-devops/applications/auto/sync"),
            Some(json!({"revision": "main"})),
        )
        .await;
    assert_eq!(c, 400);
    assert!(v.contains("another operation is already in progress"), "{v}");
}

#[tokio::test]
async fn u9_gitlab_server_name_must_name_a_jenkins_server() {
    let t = start().await;
    for (name, server, ok) in [("gl-url", "https://gitlab.com", false), ("gl-name", "default", true)] {
        let (c, v) = t
            .send_json(
                "POST",
                &format!("{DV3}/namespaces/stone-devops/pipelines"),
                Some(json!({"metadata": {"name": name}, "spec": {"type": "multi-branch-pipeline", "multi_branch_pipeline": {
                    "name": name, "source_type": "gitlab", "script_path": "Jenkinsfile",
                    "gitlab_source": {"server_name": server, "owner": "org", "repo": "app", "credential_id": "", "discover_branches": 1}}}})),
            )
            .await;
        assert_eq!(c, 200, "{v}");
        sleep_ms(120).await;
        let (c, _) = t
            .send(
                "POST",
                &format!("{DV2}/namespaces/stone-devops/pipelines/{name}/scan?delay=0"),
                None,
            )
            .await;
        assert_eq!(c, 200);
        let (c, log) = t
            .get(&format!("{DV2}/namespaces/stone-devops/pipelines/{name}/consolelog"))
            .await;
        assert_eq!(c, 200);
        assert_eq!(log.contains("Finished: SUCCESS"), ok, "{log}");
        assert_eq!(log.contains("No server found with the name"), !ok, "{log}");
    }
}
