//! Re-running and deleting runs over MCP: a replay is sent once and shows
//! up in list_runs as a Jenkins-only run; a delete is asked with a question
//! naming the run, and a running run is refused before anyone is asked.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn structured(r: &rmcp::model::CallToolResult) -> Value {
    r.structured_content.clone().unwrap_or(Value::Null)
}

fn count(sim: &ks_sim::Sim, method: &str, suffix: &str) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.method == method && r.path.ends_with(suffix))
        .count()
}

#[tokio::test]
async fn rerun_then_delete_the_replayed_run() {
    for lc in LIFECYCLES {
        let sim = sim_with_phase(Duration::from_millis(200)).await;
        let client = TestClient::new(true, Reply::Accept(json!({"confirm": true})));
        let c = connect(server(&sim), client.clone(), lc).await;
        let r = call(
            &c,
            "rerun",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
        )
        .await;
        assert_eq!(r.is_error, Some(false), "{lc:?}: {}", text(&r));
        assert_eq!(structured(&r)["run"]["run_id"], "2");
        assert_eq!(count(&sim, "POST", "/runs/1/replay"), 1);
        // Listed at once, marked; the original keeps its PipelineRun.
        let r = call(
            &c,
            "list_runs",
            json!({"project": "stone-devops", "pipeline": "broken-build"}),
        )
        .await;
        let runs = structured(&r)["runs"].clone();
        assert_eq!(runs[0]["run_id"], "2", "{runs}");
        assert_eq!(runs[0]["source"], "jenkins_only");
        assert_eq!(runs[1]["run_id"], "1");
        assert!(runs[1]["name"].is_string());
        // The replay runs the same Jenkinsfile: it fails the same way.
        let mut last = Value::Null;
        for _ in 0..100 {
            let r = call(
                &c,
                "get_run",
                json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "2"}),
            )
            .await;
            last = structured(&r);
            if last["run"]["finished"] == true {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(last["run"]["result"], "FAILURE", "{last}");
        // Delete run 1, confirmed by the user: its PipelineRun and its build go.
        let r = call(
            &c,
            "delete_run",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
        )
        .await;
        assert_eq!(r.is_error, Some(false), "{}", text(&r));
        assert_eq!(structured(&r)["confirmed_by"], "user");
        let asked = client.last_message();
        assert!(
            asked.contains("Delete run #1 of pipeline broken-build")
                && asked.contains("stone-devops")
                && asked.contains("cannot be undone"),
            "{asked}"
        );
        let deletes: Vec<String> = sim
            .requests()
            .into_iter()
            .filter(|r| r.method == "DELETE")
            .map(|r| r.path)
            .collect();
        assert_eq!(deletes.len(), 1, "{deletes:?}");
        assert!(
            deletes[0].contains("/namespaces/stone-devops/pipelineruns/broken-build-"),
            "{deletes:?}"
        );
        let mut ids: Vec<Value> = Vec::new();
        for _ in 0..40 {
            let r = call(
                &c,
                "list_runs",
                json!({"project": "stone-devops", "pipeline": "broken-build"}),
            )
            .await;
            ids = structured(&r)["runs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["run_id"].clone())
                .collect();
            if ids.len() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(ids, [json!("2")]);
        c.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn a_running_run_is_refused_before_the_user_is_asked() {
    let sim = sim_with_phase(Duration::from_secs(30)).await;
    let client = TestClient::new(true, Reply::Accept(json!({"confirm": true})));
    let c = connect(server(&sim), client.clone(), Lifecycle::Initialize).await;
    let r = call(
        &c,
        "trigger_run",
        json!({"project": "stone-devops", "pipeline": "hello"}),
    )
    .await;
    let name = structured(&r)["run"]["name"].as_str().unwrap().to_string();
    let r = call(&c, "delete_run", json!({"project": "stone-devops", "name": name})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("stop_run"), "{}", text(&r));
    assert_eq!(client.asked(), 0);
    assert!(sim.requests().iter().all(|r| r.method != "DELETE"));
}
