//! MCP prompts that pre-fetch data, and argument completion, over both
//! handshakes (`initialize` and `server/discover`).

mod common;

use std::collections::HashMap;

use common::{Client, LIFECYCLES, TestClient, connect, server};
use rmcp::model::{CompletionContext, GetPromptRequestParams, GetPromptResult};
use serde_json::json;

async fn get(c: &Client, name: &str, args: serde_json::Value) -> GetPromptResult {
    c.get_prompt(GetPromptRequestParams::new(name).with_arguments(args.as_object().cloned().unwrap()))
        .await
        .expect("prompts/get answered")
}

fn text(r: &GetPromptResult) -> String {
    r.messages
        .iter()
        .filter_map(|m| m.content.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn prompts_listed_fetched_and_completed_with_both_handshakes() {
    let sim = common::sim().await;
    for lifecycle in LIFECYCLES {
        let c = connect(server(&sim), TestClient::plain(), lifecycle).await;
        let caps = c.peer_info().map(|i| i.capabilities.clone()).expect("server info");
        assert!(
            caps.prompts.is_some() && caps.completions.is_some(),
            "{lifecycle:?}: {caps:?}"
        );
        let prompts = c.list_all_prompts().await.expect("prompts/list");
        let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["debug_failed_run", "set_up_ci", "deploy_with_gitops"],
            "{lifecycle:?}"
        );

        // debug_failed_run finds the newest failed run and brings its diagnosis.
        let r = get(
            &c,
            "debug_failed_run",
            json!({"project": "stone-devops", "pipeline": "broken-build"}),
        )
        .await;
        let t = text(&r);
        assert!(t.contains("run 1") && t.contains("\"failing_stage\""), "{t}");
        assert!(t.contains("Tests run: 12, Failures: 2"), "{t}");
        assert!(t.contains("How to proceed"), "{t}");

        let r = get(
            &c,
            "set_up_ci",
            json!({"project": "stone", "repository": "https://github.com/acme/app.git"}),
        )
        .await;
        let t = text(&r);
        for want in [
            "github-token",
            "\"base\"",
            "Golang",
            "hello",
            "private",
            "create_multibranch_pipeline",
        ] {
            assert!(t.contains(want), "set_up_ci lacks {want}: {t}");
        }
        assert!(!t.contains("ghp_simulatedTokenValue123"), "no secret values");

        let r = get(
            &c,
            "deploy_with_gitops",
            json!({"project": "stone-devops", "repository": "https://github.com/acme/deploy"}),
        )
        .await;
        let t = text(&r);
        for want in ["in-cluster", "guestbook", "broken-app", "create_application"] {
            assert!(t.contains(want), "deploy_with_gitops lacks {want}: {t}");
        }

        // Completion: project by prefix of full or short name; pipeline and
        // branch from the arguments already given.
        let done = c
            .complete_prompt_argument("set_up_ci", "project", "devops", None)
            .await
            .expect("completion/complete");
        assert_eq!(done.values, ["devopstestc2nj7", "devopstestxyz12"], "{lifecycle:?}");
        let done = c
            .complete_prompt_argument("debug_failed_run", "project", "my-", None)
            .await
            .unwrap();
        assert_eq!(done.values, ["my-devopstest"]);
        let ctx =
            CompletionContext::with_arguments(HashMap::from([("project".to_string(), "stone-devops".to_string())]));
        let done = c
            .complete_prompt_argument("debug_failed_run", "pipeline", "b", Some(ctx))
            .await
            .unwrap();
        assert_eq!(done.values, ["broken-build"]);
        let ctx = CompletionContext::with_arguments(HashMap::from([
            ("project".to_string(), "stone-devops".to_string()),
            ("pipeline".to_string(), "echo-pipeline".to_string()),
        ]));
        let done = c
            .complete_prompt_argument("debug_failed_run", "branch", "fe", Some(ctx))
            .await
            .unwrap();
        assert!(
            done.values.iter().all(|b| b.starts_with("fe")) && done.values.contains(&"feature-branch".to_string()),
            "{done:?}"
        );
        let none = c
            .complete_prompt_argument("debug_failed_run", "pipeline", "", None)
            .await
            .unwrap();
        assert!(none.values.is_empty(), "no project given: no pipeline guesses");
        c.cancel().await.ok();
    }
}

#[tokio::test]
async fn bad_prompt_requests_are_invalid_params() {
    let sim = common::sim().await;
    let c = connect(server(&sim), TestClient::plain(), common::Lifecycle::Initialize).await;
    let e = c
        .get_prompt(
            GetPromptRequestParams::new("set_up_ci")
                .with_arguments(json!({"project": "stone-devops"}).as_object().cloned().unwrap()),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("repository"), "{e}");
    let e = c
        .get_prompt(
            GetPromptRequestParams::new("set_up_ci").with_arguments(
                json!({"project": "stone-devops", "repository": "rm -rf /"})
                    .as_object()
                    .cloned()
                    .unwrap(),
            ),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not a Git URL"), "{e}");
    let e = c.get_prompt(GetPromptRequestParams::new("nope")).await.unwrap_err();
    assert!(e.to_string().contains("unknown prompt"), "{e}");
    // An ambiguous project is not guessed: the prompt says to ask.
    let r = get(
        &c,
        "set_up_ci",
        json!({"project": "devopstest", "repository": "git@github.com:acme/app.git"}),
    )
    .await;
    let t = text(&r);
    assert!(t.contains("ambiguous") && t.contains("never pick one yourself"), "{t}");
    // Only reads were made by prompts and completions.
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.method == "GET" || r.path == "/oauth/token")
    );
}
