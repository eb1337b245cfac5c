//! Creation against the simulated KubeSphere.

use super::*;
use crate::kubesphere::Cluster;
use crate::mcp::context::requested_schema;
use crate::testing::{call, client, ctx, sim};

#[test]
fn the_repository_forms_are_as_before() {
    let creds = [CredentialChoice {
        id: "gh".into(),
        kind: "basic-auth".into(),
    }];
    let options = serde_json::json!([
        {"const": "gh", "title": "gh (basic-auth)"},
        {"const": NEW_CREDENTIAL, "title": "None of these: a new credential must be created first"},
    ]);
    let visibility = serde_json::json!({
        "type": "string",
        "title": "Repository visibility",
        "description": "Is https://x/r.git private (needs a credential) or public?",
        "oneOf": [
            {"const": "private", "title": "Private: KubeSphere needs a credential to read it"},
            {"const": "public", "title": "Public: anyone can clone it"},
        ],
    });
    assert_eq!(
        requested_schema(visibility_question("https://x/r.git", &creds)),
        serde_json::json!({"type": "object", "required": ["visibility"], "properties": {
            "visibility": visibility,
            "credential": {
                "type": "string",
                "title": "Credential (private repositories only)",
                "description": "Existing credential of the project that can read the repository. If none fits, create one first.",
                "oneOf": options,
            },
        }})
    );
    assert_eq!(
        requested_schema(visibility_question("https://x/r.git", &[])),
        serde_json::json!({"type": "object", "required": ["visibility"], "properties": {"visibility": visibility}})
    );
    assert_eq!(
        requested_schema(credential_question("https://x/r.git", &creds)),
        serde_json::json!({"type": "object", "required": ["credential"], "properties": {"credential": {
            "type": "string",
            "title": "Credential",
            "description": "Credential that can read https://x/r.git",
            "oneOf": options,
        }}})
    );
}

#[tokio::test]
async fn without_visibility_nothing_is_created_and_the_question_is_given() {
    let sim = sim().await;
    let out = call(
        &ctx(&sim),
        "create_multibranch_pipeline",
        serde_json::json!({"project": "stone-devops", "name": "app", "repository_url": "https://github.com/org/app.git"}),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], "needs_user_input");
    let ask = out["ask_user"].as_str().unwrap();
    assert!(
        ask.contains("private or public") && ask.contains("github-token"),
        "{ask}"
    );
    assert_eq!(out["credentials"][0]["id"], "github-token");
    assert_eq!(out["credentials"][0]["type"], "basic-auth");
    // Only credential-type Secrets are offered.
    assert_eq!(out["credentials"].as_array().unwrap().len(), 1);
    assert!(!sim.pipeline_names("host", "stone-devops").contains(&"app".to_string()));
    assert!(crate::testing::only_reads(&sim));
}

#[tokio::test]
async fn public_creates_with_an_empty_credential() {
    let sim = sim().await;
    let out = call(
        &ctx(&sim),
        "create_multibranch_pipeline",
        serde_json::json!({"project": "stone-devops", "name": "app", "repository_url": "https://github.com/org/app.git",
            "repository_visibility": "public", "script_path": "ci/Jenkinsfile"}),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], "created");
    let p = client(&sim, "tenant")
        .get_pipeline(&Cluster::Host, "stone-devops", "app")
        .await
        .unwrap();
    let mb = p.spec.multi_branch_pipeline.unwrap();
    let git = mb.git_source.unwrap();
    assert_eq!(git.credential_id.as_deref(), Some(""));
    assert_eq!(git.url, "https://github.com/org/app.git");
    assert_eq!(git.discover_branches, Some(true));
    assert_eq!(mb.script_path.as_deref(), Some("ci/Jenkinsfile"));
    assert_eq!(p.spec.kind, "multi-branch-pipeline");
}

#[tokio::test]
async fn private_needs_an_existing_credential() {
    let sim = sim().await;
    let base = serde_json::json!({"project": "stone-devops", "name": "app",
        "repository_url": "https://github.com/org/app.git", "repository_visibility": "private"});
    let err = call(&ctx(&sim), "create_multibranch_pipeline", base.clone())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "needs_user_input");
    assert!(err.to_string().contains("create_credential"), "{err}");
    let mut unknown = base.clone();
    unknown["credential_id"] = "nope".into();
    let err = call(&ctx(&sim), "create_multibranch_pipeline", unknown)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("create_credential"), "{err}");
    // A non-credential Secret of the namespace is not a credential.
    let mut opaque = base.clone();
    opaque["credential_id"] = "app-config".into();
    assert!(call(&ctx(&sim), "create_multibranch_pipeline", opaque).await.is_err());
    assert!(crate::testing::only_reads(&sim));

    let mut ok = base;
    ok["credential_id"] = "github-token".into();
    ok["provider"] = "github".into();
    let out = call(&ctx(&sim), "create_multibranch_pipeline", ok).await.unwrap();
    assert_eq!(out["credential_id"], "github-token");
    let p = client(&sim, "tenant")
        .get_pipeline(&Cluster::Host, "stone-devops", "app")
        .await
        .unwrap();
    let gh = p.spec.multi_branch_pipeline.unwrap().github_source.unwrap();
    assert_eq!(
        (gh.owner.as_deref(), gh.repo.as_deref(), gh.credential_id.as_deref()),
        (Some("org"), Some("app"), Some("github-token"))
    );
    assert_eq!(gh.api_uri, None);
}

#[tokio::test]
async fn contradictions_and_secret_urls_are_refused_without_echo() {
    let sim = sim().await;
    let err = call(
        &ctx(&sim),
        "create_multibranch_pipeline",
        serde_json::json!({"project": "stone-devops", "name": "app", "repository_url": "https://x-token:ghp_leak123@github.com/org/app.git",
            "repository_visibility": "private", "credential_id": "github-token"}),
    )
    .await
    .unwrap_err();
    assert!(!err.to_string().contains("ghp_leak123"), "{err}");
    assert!(err.to_string().contains("create_credential"), "{err}");
    let err = call(
        &ctx(&sim),
        "create_multibranch_pipeline",
        serde_json::json!({"project": "stone-devops", "name": "app", "repository_url": "https://github.com/org/app.git",
            "repository_visibility": "public", "credential_id": "github-token"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "invalid_input");
    assert!(sim.requests().is_empty(), "refused before any request");
}

/// U9: a GitLab source names a GitLab server configured in Jenkins; the
/// simulated Jenkins knows `default` and fails indexing for anything
/// else (a URL included), as the GitLab branch source does.
#[tokio::test]
async fn gitlab_uses_the_jenkins_server_name() {
    let sim = sim().await;
    let c = ctx(&sim);
    let base = serde_json::json!({"project": "stone-devops", "name": "gl-app", "provider": "gitlab",
        "repository_url": "https://gitlab.com/org/app.git", "repository_visibility": "public"});
    let err = call(&c, "create_multibranch_pipeline", base.clone()).await.unwrap_err();
    assert_eq!(err.kind(), "invalid_input");
    assert!(err.to_string().contains("gitlab_server_name"), "{err}");
    let mut url = base.clone();
    url["gitlab_server_name"] = "https://gitlab.com".into();
    let err = call(&c, "create_multibranch_pipeline", url).await.unwrap_err();
    assert!(err.to_string().contains("not a URL"), "{err}");
    assert!(sim.requests().is_empty(), "refused before any request");

    let mut ok = base;
    ok["gitlab_server_name"] = "default".into();
    let out = call(&c, "create_multibranch_pipeline", ok).await.unwrap();
    assert_eq!(out["status"], "created", "{out:#}");
    let p = client(&sim, "tenant")
        .get_pipeline(&Cluster::Host, "stone-devops", "gl-app")
        .await
        .unwrap();
    let mb = p.spec.multi_branch_pipeline.unwrap();
    assert_eq!(mb.source_type, "gitlab");
    assert_eq!(mb.gitlab_source.unwrap().server_name.as_deref(), Some("default"));
    // Jenkins can index it.
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    call(
        &c,
        "scan_repository",
        serde_json::json!({"project": "stone-devops", "pipeline": "gl-app"}),
    )
    .await
    .unwrap();
    let log = call(
        &c,
        "get_scan_log",
        serde_json::json!({"project": "stone-devops", "pipeline": "gl-app"}),
    )
    .await
    .unwrap();
    let text = log["log"].as_str().unwrap();
    assert!(text.ends_with("Finished: SUCCESS"), "{text}");
}

#[tokio::test]
async fn bitbucket_source() {
    let sim = sim().await;
    let out = call(
        &ctx(&sim),
        "create_multibranch_pipeline",
        serde_json::json!({"project": "stone-devops",
        "name": "bb-app", "provider": "bitbucket", "repository_url": "https://bitbucket.org/org/app.git",
        "repository_visibility": "public"}),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], "created");
    let mb = client(&sim, "tenant")
        .get_pipeline(&Cluster::Host, "stone-devops", "bb-app")
        .await
        .unwrap()
        .spec
        .multi_branch_pipeline
        .unwrap();
    assert_eq!(mb.source_type, "bitbucket_server");
    let src = mb.bitbucket_server_source.unwrap();
    assert_eq!(src.api_uri.as_deref(), Some("https://bitbucket.org"));
    assert_eq!((src.owner.as_deref(), src.repo.as_deref()), (Some("org"), Some("app")));
}
