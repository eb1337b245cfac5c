mod common;

use common::*;
use ks_sim::{Fault, FaultKind, SimOptions};
use serde_json::{Value, json};

#[tokio::test]
async fn oauth_token_shapes_and_errors() {
    let t = start().await;
    let url = t.url("/oauth/token");
    let form = |body: &str| {
        t.http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string())
    };
    let r =
        form("grant_type=password&client_id=kubesphere&client_secret=kubesphere&username=tenant&password=P%4088w0rd")
            .send()
            .await
            .expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 7200);
    let access = v["access_token"].as_str().expect("a");
    assert_eq!(access.split('.').count(), 3);
    use base64::Engine;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(access.split('.').nth(1).expect("p"))
        .expect("b64");
    let claims: Value = serde_json::from_slice(&payload).expect("claims");
    assert_eq!(claims["sub"], "tenant");
    assert_eq!(claims["username"], "tenant");
    assert_eq!(claims["token_type"], "access_token");
    assert!(claims["exp"].as_i64().expect("exp") > claims["iat"].as_i64().expect("iat"));

    // refresh grant
    let refresh = v["refresh_token"].as_str().expect("r");
    let r = form(&format!(
        "grant_type=refresh_token&client_id=kubesphere&client_secret=kubesphere&refresh_token={refresh}"
    ))
    .send()
    .await
    .expect("send");
    assert_eq!(r.status(), 200);

    let cases = [
        ("grant_type=password&username=tenant&password=x", 400, "invalid_client"),
        (
            "grant_type=password&client_id=kubesphere&client_secret=no&username=tenant&password=x",
            401,
            "unauthorized_client",
        ),
        (
            "grant_type=password&client_id=kubesphere&client_secret=kubesphere&username=tenant&password=x",
            400,
            "invalid_grant",
        ),
        (
            "grant_type=refresh_token&client_id=kubesphere&client_secret=kubesphere&refresh_token=abc",
            400,
            "invalid_grant",
        ),
        (
            "grant_type=client_credentials&client_id=kubesphere&client_secret=kubesphere",
            400,
            "unsupported_grant_type",
        ),
    ];
    for (body, code, err) in cases {
        let r = form(body).send().await.expect("send");
        assert_eq!(r.status().as_u16(), code, "{body}");
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["error"], err, "{body}");
        assert!(v["error_description"].is_string());
    }
    let r = t
        .http
        .post(&url)
        .json(&json!({"grant_type": "password"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 415);
}

#[tokio::test]
async fn authn_errors() {
    let t = start().await;
    let p = t.url(&format!("{TN}/workspaces"));
    let r = t.http.get(&p).bearer_auth("garbage").send().await.expect("send");
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["kind"], "Status");
    assert_eq!(v["reason"], "Unauthorized");
    assert_eq!(v["code"], 401);
    let r = t.http.get(&p).send().await.expect("send");
    assert_eq!(r.status(), 403);
    let (c, _) = t.get(&format!("{TN}/workspaces")).await;
    assert_eq!(c, 200);
    t.sim.revoke_tokens();
    let (c, v) = t.get_json(&format!("{TN}/workspaces")).await;
    assert_eq!(c, 401);
    assert_eq!(v["reason"], "Unauthorized");
}

#[tokio::test]
async fn token_expiry() {
    let t = start_with(SimOptions {
        token_ttl: std::time::Duration::from_millis(100),
        ..SimOptions::default()
    })
    .await;
    let (c, _) = t.get(&format!("{TN}/workspaces")).await;
    assert_eq!(c, 200);
    sleep_ms(1100).await;
    let (c, _) = t.get(&format!("{TN}/workspaces")).await;
    assert_eq!(c, 401);
}

#[tokio::test]
async fn iam_and_tenant() {
    let t = start().await;
    let (c, v) = t.get_json(&format!("{IAM}/users/tenant")).await;
    assert_eq!(c, 200);
    assert_eq!(v["kind"], "User");
    assert_eq!(v["status"]["state"], "Active");
    let (c, v) = t.get_json(&format!("{IAM}/users/demo-admin")).await;
    assert_eq!(c, 403);
    assert_eq!(v["reason"], "Forbidden");
    let (c, v) = t.get_json(&format!("{TN}/workspaces")).await;
    assert_eq!(c, 200);
    assert_eq!(v["totalItems"], 1);
    assert_eq!(v["items"][0]["metadata"]["name"], "stone");
    let (c, v) = t.get_json(&format!("{TN}/workspaces/stone")).await;
    assert_eq!(c, 200);
    assert_eq!(v["spec"]["manager"], "tenant");
    let (c, v) = t.get_json(&format!("{TN}/workspaces/demo")).await;
    assert_eq!(c, 403);
    assert_eq!(
        v["message"],
        "workspaces.tenant.kubesphere.io \"demo\" is forbidden: User \"tenant\" cannot get resource \"workspaces\" in API group \"tenant.kubesphere.io\" at the cluster scope"
    );
    // U6: `tenant` was granted no cluster, so it sees none, though its
    // workspace is placed on two (see tests/clusters.rs).
    let (c, v) = t.get_json(&format!("{TN}/clusters")).await;
    assert_eq!(c, 200);
    assert_eq!(v["totalItems"], 0);
    let (c, v) = t.get_json(&format!("{TN}/workspaces/stone/clusters")).await;
    assert_eq!(c, 200);
    assert_eq!(v["totalItems"], 2);
}

#[tokio::test]
async fn foreign_workspace_option() {
    let t = start_with(SimOptions {
        foreign_workspace_get_allowed: true,
        ..SimOptions::default()
    })
    .await;
    let (c, v) = t.get_json(&format!("{TN}/workspaces/demo")).await;
    assert_eq!(c, 200);
    assert_eq!(v["metadata"]["name"], "demo");
}

#[tokio::test]
async fn devops_projects() {
    let t = start().await;
    let (c, v) = t
        .get_json(&format!("/clusters/member-1{DV3}/workspaces/stone/namespaces"))
        .await;
    assert_eq!(c, 200);
    assert_eq!(v["totalItems"], 3);
    let (_, v) = t
        .get_json(&format!(
            "/clusters/member-1{DV3}/workspaces/stone/namespaces?name=xyz&labelSelector=foo%3Dbar"
        ))
        .await;
    assert_eq!(v["totalItems"], 1);
    assert_eq!(v["items"][0]["metadata"]["name"], "devopstestxyz12");
    let (_, v) = t
        .get_json(&format!(
            "/clusters/member-1{DV3}/workspaces/stone/namespaces?limit=2&page=2&sortBy=name&ascending=true"
        ))
        .await;
    assert_eq!(v["totalItems"], 3);
    assert_eq!(v["items"][0]["metadata"]["name"], "my-devopstest");
    // name filter matches the alias too, not generateName
    let (_, v) = t
        .get_json(&format!(
            "/clusters/member-1{DV3}/workspaces/stone/namespaces?name=nomatch"
        ))
        .await;
    assert_eq!(v["items"], Value::Null);
    assert_eq!(v["totalItems"], 0);
    // old prefix form
    let (c, v) = t
        .get_json("/kapis/clusters/member-1/devops.kubesphere.io/v1alpha3/workspaces/stone/namespaces")
        .await;
    assert_eq!(c, 200);
    assert_eq!(v["totalItems"], 3);
    // host: only stone-devops
    let (_, v) = t.get_json(&format!("{DV3}/workspaces/stone/namespaces")).await;
    assert_eq!(v["totalItems"], 1);
    let (_, v2) = t
        .get_json(&format!("/clusters/host{DV3}/workspaces/stone/namespaces"))
        .await;
    assert_eq!(v, v2);
    // foreign workspace
    let (c, _) = t.get_json(&format!("{DV3}/workspaces/demo/namespaces")).await;
    assert_eq!(c, 403);
    // unknown cluster
    let (c, v) = t
        .get_json(&format!("/clusters/nope{DV3}/workspaces/stone/namespaces"))
        .await;
    assert_eq!(c, 400);
    assert_eq!(v["message"], "cluster nope not exists");
    // get by name / generateName
    let (c, v) = t
        .get_json(&format!(
            "/clusters/member-1{DV3}/workspaces/stone/namespaces/devopstestc2nj7"
        ))
        .await;
    assert_eq!(c, 200);
    assert_eq!(v["status"]["adminNamespace"], "devopstestc2nj7");
    let (c, v) = t
        .get_json(&format!(
            "/clusters/member-1{DV3}/workspaces/stone/namespaces/my-devopstest?generateName=true"
        ))
        .await;
    assert_eq!(c, 200);
    assert_eq!(v["metadata"]["name"], "my-devopstest");
    let (c, v) = t
        .get(&format!(
            "/clusters/member-1{DV3}/workspaces/stone/namespaces/zzz?generateName=true"
        ))
        .await;
    assert_eq!(c, 400);
    assert_eq!(v, "not found DevOpsProject by workspace: stone and projectName: zzz\n");
    let (_, v) = t
        .get_json(&format!(
            "/clusters/member-1{DV3}/workspaces/stone/namespaces/zzz?generateName=true&check=true"
        ))
        .await;
    assert_eq!(v, json!({"exist": false}));
    // create
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{DV3}/workspaces/stone/namespaces"),
            Some(json!({"metadata": {"generateName": "newproj"}})),
        )
        .await;
    assert_eq!(c, 200);
    let name = v["metadata"]["name"].as_str().expect("name").to_string();
    assert!(name.starts_with("newproj") && name.len() == 12);
    assert_eq!(
        v["metadata"]["annotations"]["devopsproject.devops.kubesphere.io/syncstatus"],
        "pending"
    );
    let (c, _) = t
        .send_json(
            "POST",
            &format!("{DV3}/workspaces/stone/namespaces"),
            Some(json!({"metadata": {"generateName": "newproj"}})),
        )
        .await;
    assert_eq!(c, 409);
    sleep_ms(120).await;
    let (_, v) = t.get_json(&format!("{DV3}/workspaces/stone/namespaces/{name}")).await;
    assert_eq!(
        v["metadata"]["annotations"]["devopsproject.devops.kubesphere.io/syncstatus"],
        "successful"
    );
    // the new namespace is usable
    let (c, v) = t.get_json(&format!("{DV3}/namespaces/{name}/pipelines")).await;
    assert_eq!(c, 200);
    assert_eq!(v, json!({"items": null, "totalItems": 0}));
}

#[tokio::test]
async fn empty_workspace_is_null_body() {
    let t = start().await;
    let token = login(&t.sim, &t.http, "demo-admin").await;
    let r = t
        .http
        .get(t.url(&format!("/clusters/member-1{DV3}/workspaces/demo/namespaces")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.expect("t"), "null");
    let r = t
        .http
        .get(t.url(&format!("{DV3}/namespaces/demo-project/pipelines")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn pipelines_crud() {
    let t = start().await;
    let (c, v) = t.get_json(&format!("{DV3}/namespaces/stone-devops/pipelines")).await;
    assert_eq!(c, 200);
    assert_eq!(v["totalItems"], 8);
    assert_eq!(v["items"][0]["kind"], "Pipeline");
    let (_, v) = t
        .get_json(&format!(
            "{DV3}/namespaces/stone-devops/pipelines?type=multi-branch-pipeline"
        ))
        .await;
    assert_eq!(v["totalItems"], 1);
    assert_eq!(v["items"][0]["metadata"]["name"], "echo-pipeline");
    let (c, v) = t
        .get_json(&format!("{DV3}/namespaces/stone-devops/pipelines/hello"))
        .await;
    assert_eq!(c, 200);
    assert_eq!(v["spec"]["type"], "pipeline");
    assert!(
        v["spec"]["pipeline"]["jenkinsfile"]
            .as_str()
            .expect("jf")
            .contains("hello")
    );
    let (c, v) = t.get(&format!("{DV3}/namespaces/stone-devops/pipelines/nope")).await;
    assert_eq!(c, 404);
    assert_eq!(v, "pipelines.devops.kubesphere.io \"nope\" not found\n");
    // forbidden namespace
    let (c, v) = t.get_json(&format!("{DV3}/namespaces/demo-project/pipelines")).await;
    assert_eq!(c, 403);
    assert_eq!(
        v["message"],
        "pipelines.devops.kubesphere.io is forbidden: User \"tenant\" cannot list resource \"pipelines\" in API group \"devops.kubesphere.io\" in the namespace \"demo-project\""
    );
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{DV3}/namespaces/demo-project/pipelines/p1/pipelineruns"),
            Some(json!({})),
        )
        .await;
    assert_eq!(c, 403);
    assert_eq!(
        v["details"],
        json!({"name": "p1", "group": "devops.kubesphere.io", "kind": "pipelines"})
    );
    assert!(
        v["message"]
            .as_str()
            .expect("m")
            .contains("cannot create resource \"pipelines/pipelineruns\"")
    );
    // nonexistent namespace is 403 too
    let (c, _) = t.get_json(&format!("{DV3}/namespaces/ghost/pipelines")).await;
    assert_eq!(c, 403);
    // create
    let body = json!({"apiVersion": "devops.kubesphere.io/v1alpha3", "kind": "Pipeline",
        "metadata": {"name": "p2", "namespace": "stone-devops"},
        "spec": {"type": "pipeline", "pipeline": {"name": "p2", "jenkinsfile": "pipeline { stages { stage('A') { steps { echo 'a' } } } }"}}});
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{DV3}/namespaces/stone-devops/pipelines"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(c, 200, "{v}");
    assert_eq!(v["metadata"]["name"], "p2");
    let (c, v) = t
        .send(
            "POST",
            &format!("{DV3}/namespaces/stone-devops/pipelines"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(c, 400);
    assert!(v.contains("already exists"));
    // PUT keeps the stored Jenkinsfile, name from body
    let mut upd = body.clone();
    upd["spec"]["pipeline"]["jenkinsfile"] = json!("changed");
    upd["spec"]["pipeline"]["description"] = json!("desc");
    let (c, v) = t
        .send_json(
            "PUT",
            &format!("{DV3}/namespaces/stone-devops/pipelines/ignored"),
            Some(upd),
        )
        .await;
    assert_eq!(c, 200);
    assert_eq!(v["spec"]["pipeline"]["description"], "desc");
    assert!(
        v["spec"]["pipeline"]["jenkinsfile"]
            .as_str()
            .expect("jf")
            .contains("echo 'a'")
    );
    let (c, v) = t
        .send_json(
            "PUT",
            &format!("{DV3}/namespaces/stone-devops/pipelines/p2/jenkinsfile?mode=raw"),
            Some(json!({"data": "new-jf"})),
        )
        .await;
    assert_eq!(c, 200);
    assert_eq!(v, json!({"result": "success"}));
    let (c, _) = t
        .send(
            "PUT",
            &format!("{DV3}/namespaces/stone-devops/pipelines/p2/jenkinsfile?mode=bad"),
            Some(json!({"data": "x"})),
        )
        .await;
    assert_eq!(c, 400);
    let (_, v) = t.get_json(&format!("{DV3}/namespaces/stone-devops/pipelines/p2")).await;
    assert_eq!(v["spec"]["pipeline"]["jenkinsfile"], "new-jf");
    let (c, v) = t
        .send_json("DELETE", &format!("{DV3}/namespaces/stone-devops/pipelines/p2"), None)
        .await;
    assert_eq!(c, 200);
    assert_eq!(v, json!({"message": "success"}));
    let (_, v) = t
        .get_json(&format!("{DV3}/namespaces/stone-devops/pipelines?name=zzz"))
        .await;
    assert_eq!(v, json!({"items": null, "totalItems": 0}));
}

#[tokio::test]
async fn routing_errors_and_apis() {
    let t = start().await;
    let (c, v) = t.get(&format!("{DV2}/namespaces/stone-devops/pipelines")).await;
    assert_eq!(c, 404);
    assert_eq!(v, "404: Page Not Found");
    let (c, _) = t.get(&format!("{DV2}/namespaces/stone-devops/credentials")).await;
    assert_eq!(c, 404);
    let (c, v) = t
        .send("PATCH", &format!("{DV3}/namespaces/stone-devops/pipelines"), None)
        .await;
    assert_eq!(c, 405);
    assert_eq!(v, "405: Method Not Allowed");
    let (c, v) = t.get_json("/apis/devops.kubesphere.io/v1alpha3/devopsprojects").await;
    assert_eq!(c, 403);
    assert!(v["message"].as_str().expect("m").ends_with("at the cluster scope"));
    let (c, _) = t
        .get_json("/clusters/member-1/apis/devops.kubesphere.io/v1alpha3/namespaces/devopstestc2nj7/pipelineruns")
        .await;
    assert_eq!(c, 403);
}

#[tokio::test]
async fn faults_and_request_log() {
    let t = start().await;
    t.sim.inject(Fault {
        method: Some("GET".into()),
        path_contains: "/pipelines".into(),
        kind: FaultKind::Status {
            code: 503,
            body: "busy".into(),
            content_type: "text/plain".into(),
        },
        times: 1,
    });
    let p = format!("/clusters/host{DV3}/namespaces/stone-devops/pipelines");
    let (c, v) = t.get(&p).await;
    assert_eq!((c, v.as_str()), (503, "busy"));
    let (c, _) = t.get(&p).await;
    assert_eq!(c, 200);
    t.sim.inject(Fault {
        method: None,
        path_contains: "/pipelines".into(),
        kind: FaultKind::Garbage,
        times: 1,
    });
    let (c, v) = t.get(&p).await;
    assert_eq!(c, 200);
    assert!(serde_json::from_str::<Value>(&v).is_err());
    t.sim.inject(Fault {
        method: None,
        path_contains: "/pipelines".into(),
        kind: FaultKind::Latency(std::time::Duration::from_millis(150)),
        times: 1,
    });
    let start = std::time::Instant::now();
    let (c, _) = t.get(&p).await;
    assert_eq!(c, 200);
    assert!(start.elapsed() >= std::time::Duration::from_millis(150));
    // Drop after processing: the POST creates the pipeline but the client sees an error.
    t.sim.inject(Fault {
        method: Some("POST".into()),
        path_contains: "/pipelines".into(),
        kind: FaultKind::DropAfterProcessing,
        times: 1,
    });
    let body = json!({"metadata": {"name": "dropped"}, "spec": {"type": "pipeline", "pipeline": {"name": "dropped", "jenkinsfile": ""}}});
    let r = t.http.post(t.url(&p)).bearer_auth(&t.token).json(&body).send().await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.text().await.is_err(),
    };
    assert!(failed, "expected a transport error");
    assert!(
        t.sim
            .pipeline_names("host", "stone-devops")
            .contains(&"dropped".to_string())
    );
    let log = t.sim.requests();
    let last = log.last().expect("log");
    assert_eq!(last.method, "POST");
    assert_eq!(last.path, p);
    t.sim.clear_faults();
    let (c, _) = t.get(&format!("{p}?limit=1")).await;
    assert_eq!(c, 200);
    let log = t.sim.requests();
    assert_eq!(log.last().expect("l").query.as_deref(), Some("limit=1"));
}
