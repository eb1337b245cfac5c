//! Repository browsing of GitRepositories, DevOps project management by
//! workspace admins, and the GitOps application update (§16.1).

mod common;

use base64::Engine;
use common::*;
use serde_json::json;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

const REPO: &str = "/kapis/devops.kubesphere.io/v1alpha3/namespaces/stone-devops/gitrepositories/demo-echo";

#[tokio::test]
async fn branches_list_shows_tags_and_pages() {
    let t = start().await;
    let (c, v) = t.get_json(&format!("{REPO}/branches")).await;
    assert_eq!(c, 200, "{v}");
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    // main first, then by name; the tag is listed as if it were a branch.
    assert_eq!(names, ["main", "docs", "feature-branch", "feature/login", "v1.0.0"]);
    assert_eq!(v["totalItems"], 5);
    assert_eq!(v["options"], json!({"page": 1, "limit": 10}));
    let login = &v["items"][3];
    assert_eq!(login["ref"], "refs/heads/feature/login");
    assert_eq!(login["commit"]["Hash"], "5e6f7a8b9c0d1e2f3a4b5c6d7e8f90a1b2c3d4e5");
    assert!(login["commit"]["Author"]["When"].is_string());
    let (_, v) = t
        .get_json(&format!("{REPO}/branches?withHead=true&limit=2&page=4"))
        .await;
    assert_eq!(v["totalItems"], 6);
    assert!(v["items"].is_null(), "a page past the end is null: {v}");
}

#[tokio::test]
async fn raw_file_by_branch_and_by_commit() {
    let t = start().await;
    let (c, body) = t
        .get(&format!("{REPO}/branches/main/rawfiles/{}", b64("Jenkinsfile")))
        .await;
    assert_eq!(c, 200);
    assert!(body.contains("checkout main"), "{body}");
    let r = t
        .http
        .get(t.url(&format!("{REPO}/branches/main/rawfiles/{}", b64("Jenkinsfile"))))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"Jenkinsfile\""
    );
    // One leading '/' is trimmed by the handler.
    let (c, _) = t
        .get(&format!("{REPO}/branches/main/rawfiles/{}", b64("/Jenkinsfile")))
        .await;
    assert_eq!(c, 200);
    // By commit: the login branch's head.
    let (c, body) = t
        .get(&format!(
            "{REPO}/commits/5e6f7a8b9c0d1e2f3a4b5c6d7e8f90a1b2c3d4e5/rawfiles/{}",
            b64("Jenkinsfile")
        ))
        .await;
    assert_eq!(c, 200);
    assert!(body.contains("checkout feature/login"), "{body}");
    // The JSON form without and with content.
    let (c, v) = t
        .get_json(&format!("{REPO}/branches/main/files/{}", b64("assets/logo.png")))
        .await;
    assert_eq!(c, 200);
    assert_eq!(v["name"], "logo.png");
    assert_eq!(v["isBinary"], true);
    assert!(v["data"].is_null());
    let (_, v) = t
        .get_json(&format!(
            "{REPO}/branches/main/files/{}?withContent=true",
            b64("README.md")
        ))
        .await;
    assert_eq!(
        v["data"],
        b64("# demo-echo\n\nAn echo service for KubeSphere DevOps demos.\n")
    );
}

#[tokio::test]
async fn branch_with_slash_cannot_be_addressed() {
    let t = start().await;
    let f = b64("Jenkinsfile");
    // %2F: two segments, no route.
    let (c, _) = t.get(&format!("{REPO}/branches/feature%2Flogin/rawfiles/{f}")).await;
    assert_eq!(c, 404);
    // %252F reaches the handler as the literal name `feature%2Flogin`.
    let (c, body) = t.get(&format!("{REPO}/branches/feature%252Flogin/rawfiles/{f}")).await;
    assert_eq!(c, 500);
    assert_eq!(
        body,
        "fetch origin failed: couldn't find remote ref \"refs/heads/feature%2Flogin\"\n"
    );
}

#[tokio::test]
async fn git_errors_are_500_text() {
    let t = start().await;
    let cases = [
        (
            format!("{REPO}/branches/main/rawfiles/{}", b64("nope.txt")),
            500,
            "file not found\n",
        ),
        (
            format!("{REPO}/branches/main/rawfiles/{}", b64("deploy")),
            500,
            "file not found\n",
        ),
        (
            format!("{REPO}/branches/main/rawfiles/@@@"),
            400,
            "illegal base64 data at input byte 0\n",
        ),
        (
            format!("{REPO}/commits/f946a1c/rawfiles/{}", b64("Jenkinsfile")),
            500,
            "object not found\n",
        ),
        (format!("{REPO}/branches/nope"), 500, "branch not found\n"),
        (
            "/kapis/devops.kubesphere.io/v1alpha3/namespaces/stone-devops/gitrepositories/nope/branches".into(),
            404,
            "gitrepositories.devops.kubesphere.io \"nope\" not found\n",
        ),
    ];
    for (path, code, text) in cases {
        let (c, body) = t.get(&path).await;
        assert_eq!((c, body.as_str()), (code, text), "{path}");
    }
    // A base64 path holding '/' is two segments: no route. The handler
    // trims one leading '/', whose base64 form differs.
    assert_eq!(b64("docs/über.md"), "ZG9jcy/DvGJlci5tZA==");
    let (c, _) = t
        .get(&format!("{REPO}/branches/main/rawfiles/{}", b64("docs/über.md")))
        .await;
    assert_eq!(c, 404);
    let (c, body) = t
        .get(&format!("{REPO}/branches/main/rawfiles/{}", b64("/docs/über.md")))
        .await;
    assert_eq!((c, body.as_str()), (200, "# Über\n"));
}

#[tokio::test]
async fn a_repository_without_secret_cannot_be_browsed() {
    let t = start().await;
    let (c, _) = t
        .send_json(
            "POST",
            "/kapis/devops.kubesphere.io/v1alpha3/namespaces/stone-devops/gitrepositories",
            Some(json!({"metadata": {"name": "public"}, "spec": {"provider": "github", "url": "https://github.com/org/public.git"}})),
        )
        .await;
    assert_eq!(c, 200);
    let (c, body) = t
        .get("/kapis/devops.kubesphere.io/v1alpha3/namespaces/stone-devops/gitrepositories/public/branches")
        .await;
    assert_eq!((c, body.as_str()), (500, "git repository secret is not specified\n"));
}

#[tokio::test]
async fn only_workspace_admins_create_and_delete_devops_projects() {
    let mut t = start().await;
    // tenant is no member of `demo`: the authorizer refuses at the workspace.
    let body = json!({"metadata": {"generateName": "x"}});
    let (c, v) = t
        .send_json("POST", &format!("{DV3}/workspaces/demo/namespaces"), Some(body.clone()))
        .await;
    assert_eq!(c, 403, "{v}");
    assert_eq!(
        v["message"],
        "namespaces.devops.kubesphere.io is forbidden: User \"tenant\" cannot create resource \"namespaces\" in API group \"devops.kubesphere.io\" at the cluster scope"
    );
    // lab-tenant is a plain member of `lab`: refused too.
    t.token = login(&t.sim, &t.http, "lab-tenant").await;
    let (c, _) = t
        .send_json("POST", &format!("{DV3}/workspaces/lab/namespaces"), Some(body.clone()))
        .await;
    assert_eq!(c, 403);
    // demo-admin manages `demo`.
    t.token = login(&t.sim, &t.http, "demo-admin").await;
    let (c, v) = t
        .send_json(
            "POST",
            &format!("{DV3}/workspaces/demo/namespaces"),
            Some(json!({"metadata": {}})),
        )
        .await;
    assert_eq!(c, 400);
    assert!(
        v.as_str().unwrap().contains("metadata.generateName: Required value"),
        "{v}"
    );
    let (c, v) = t
        .send_json("POST", &format!("{DV3}/workspaces/demo/namespaces"), Some(body.clone()))
        .await;
    assert_eq!(c, 200, "{v}");
    let name = v["metadata"]["name"].as_str().unwrap().to_string();
    assert!(name.starts_with('x') && name.len() == 6, "{name}");
    let (c, v) = t
        .send_json("POST", &format!("{DV3}/workspaces/demo/namespaces"), Some(body))
        .await;
    assert_eq!(c, 409);
    assert_eq!(
        v,
        "Operation cannot be fulfilled on devopsproject.devops.kubesphere.io \"x\": x%!(EXTRA *errors.errorString=a devops project named x already exists in the workspace)\n"
    );
    let (c, v) = t
        .get_json(&format!("{DV3}/workspaces/demo/namespaces/x?check=true"))
        .await;
    assert_eq!((c, v), (400, json!("generateNameFlag can not be false\n")));
    let (_, v) = t
        .get_json(&format!(
            "{DV3}/workspaces/demo/namespaces/x?generateName=true&check=true"
        ))
        .await;
    assert_eq!(v, json!({"exist": true}));
    // tenant may not delete it (no role in that namespace).
    t.token = login(&t.sim, &t.http, "tenant").await;
    let (c, v) = t
        .send_json("DELETE", &format!("{DV3}/workspaces/demo/namespaces/{name}"), None)
        .await;
    assert_eq!(c, 403);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .ends_with(&format!("in the namespace \"{name}\"")),
        "{v}"
    );
    t.token = login(&t.sim, &t.http, "demo-admin").await;
    let (c, v) = t
        .send_json("DELETE", &format!("{DV3}/workspaces/demo/namespaces/{name}"), None)
        .await;
    assert_eq!((c, v), (200, json!({"message": "success"})));
}

#[tokio::test]
async fn application_update_copies_the_latest_resource_version() {
    let t = start().await;
    let p = format!("{GO1}/namespaces/stone-devops/applications/guestbook");
    let (_, mut app) = t.get_json(&p).await;
    app["metadata"]["resourceVersion"] = json!("1");
    app["spec"]["argoApp"]["spec"]["source"]["targetRevision"] = json!("v2");
    let (c, v) = t.send_json("PUT", &p, Some(app.clone())).await;
    assert_eq!(c, 200, "{v}");
    let (_, now) = t.get_json(&p).await;
    assert_eq!(now["spec"]["argoApp"]["spec"]["source"]["targetRevision"], "v2");
    // Without a namespace in the body the update goes nowhere.
    app["metadata"].as_object_mut().unwrap().remove("namespace");
    let (c, _) = t.send_json("PUT", &p, Some(app)).await;
    assert_eq!(c, 404);
}
