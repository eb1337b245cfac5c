//! Diagnoses against the simulated KubeSphere.

use crate::testing::{call, ctx, sim};
use serde_json::json;

#[tokio::test]
async fn failing_pipeline_yields_stage_step_and_error_line() {
    let sim = sim().await;
    let out = call(
        &ctx(&sim),
        "diagnose_run",
        json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
    )
    .await
    .unwrap();
    assert_eq!(out["run"]["result"], "FAILURE");
    assert_eq!(out["failing_stage"]["name"], "Test");
    assert_eq!(out["failing_stage"]["result"], "FAILURE");
    assert_eq!(out["failing_step"]["name"], "Shell Script");
    assert_eq!(out["failing_step"]["result"], "FAILURE");
    assert_eq!(
        out["error_line"],
        "[ERROR] Tests run: 12, Failures: 2, Errors: 0, Skipped: 0"
    );
    let summary = out["summary"].as_str().unwrap();
    assert!(
        summary.contains("\"Test\"") && summary.contains("Shell Script") && summary.contains("[ERROR] Tests run"),
        "{summary}"
    );
    let tail = out["failing_step_log"]["text"].as_str().unwrap();
    assert!(tail.contains("expected:<3> but was:<2>"), "{tail}");
    let lines: Vec<&str> = out["error_lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["text"].as_str())
        .collect();
    assert!(lines.contains(&"ERROR: script returned exit code 1"), "{lines:?}");
    assert!(lines.iter().all(|l| !l.starts_with("+ ")), "{lines:?}");
    // Stages: Deploy never ran.
    let stages = out["stages"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["Checkout", "Build", "Test", "Deploy"]);
    assert_eq!(stages[1]["result"], "SUCCESS");
    assert!(stages[3].get("result").is_none() || stages[3]["result"] != "FAILURE");
    // The whole answer stays compact.
    assert!(out.to_string().len() < 12 * 1024);
}

#[tokio::test]
async fn successful_run_has_nothing_to_diagnose() {
    let sim = sim().await;
    let out = call(
        &ctx(&sim),
        "diagnose_run",
        json!({"project": "stone-devops", "pipeline": "hello", "run_id": "1"}),
    )
    .await
    .unwrap();
    assert_eq!(out["summary"], "The run succeeded: nothing failed.");
    assert!(out.get("failing_stage").is_none());
    assert_eq!(out["stages"][0]["name"], "Hello");
}

fn hang_nodesdetail(sim: &ks_sim::Sim) {
    sim.inject(ks_sim::Fault {
        method: Some("GET".into()),
        path_contains: "/nodesdetail".into(),
        kind: ks_sim::FaultKind::Hang,
        times: u32::MAX,
    });
}

/// U7: a run with a PipelineRun reads the stored stages, never the
/// Jenkins `nodesdetail` that can hang.
#[tokio::test]
async fn stages_come_from_the_stored_nodedetails() {
    let sim = sim().await;
    hang_nodesdetail(&sim);
    let c = ctx(&sim);
    let started = std::time::Instant::now();
    let out = call(
        &c,
        "diagnose_run",
        json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
    )
    .await
    .unwrap();
    assert_eq!(out["failing_stage"]["name"], "Test");
    assert_eq!(out["failing_step"]["name"], "Shell Script");
    let step = out["failing_step"]["id"].as_str().unwrap().to_string();
    let log = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1", "node": "Test"}),
    )
    .await
    .unwrap();
    assert!(log["text"].as_str().unwrap().contains("[ERROR] CartTest"), "{log}");
    let log = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1", "step": step}),
    )
    .await
    .unwrap();
    assert!(log["text"].as_str().unwrap().contains("exit 1"), "{log}");
    // A hang would cost the request timeout (5 s here) at least.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let paths: Vec<String> = sim.requests().into_iter().map(|r| r.path).collect();
    assert!(paths.iter().any(|p| p.ends_with("/nodedetails")), "{paths:?}");
    assert!(!paths.iter().any(|p| p.ends_with("/nodesdetail")), "{paths:?}");
}

/// U7: a run without a PipelineRun still gets its stages, in bounded
/// time, when `nodesdetail` hangs.
#[tokio::test]
async fn a_hanging_nodesdetail_costs_a_bounded_wait() {
    let sim = sim().await;
    let token = sim.issue_token("tenant").unwrap();
    let r: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{}/kapis/devops.kubesphere.io/v1alpha2/namespaces/stone-devops/pipelines/broken-build/runs",
            sim.url()
        ))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = r["id"].as_str().unwrap().to_string();
    let c = ctx(&sim);
    for _ in 0..200 {
        let log = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": id, "tail_lines": 1}),
        )
        .await
        .unwrap();
        if log["still_writing"] == false {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    hang_nodesdetail(&sim);
    let started = std::time::Instant::now();
    let out = call(
        &c,
        "diagnose_run",
        json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": id}),
    )
    .await
    .unwrap();
    // The test client's request timeout (5 s) bounds the nodesdetail wait.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out["failing_stage"]["name"], "Test", "{out}");
    assert_eq!(out["failing_step"]["name"], "Shell Script", "{out}");
    let paths: Vec<String> = sim.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.iter().any(|p| p.ends_with(&format!("/runs/{id}/nodes"))),
        "{paths:?}"
    );
}

/// U5: Jenkins' "no such run" arrives as a 500; it is answered as not
/// found, never "retry later".
#[tokio::test]
async fn a_run_that_does_not_exist_is_not_found() {
    let sim = sim().await;
    let c = ctx(&sim);
    for tool in ["get_run_log", "diagnose_run", "get_run", "list_artifacts"] {
        for args in [
            json!({"project": "stone-devops", "pipeline": "hello", "run_id": "99"}),
            json!({"project": "stone-devops", "pipeline": "echo-pipeline", "run_id": "7", "branch": "main"}),
            json!({"project": "stone-devops", "name": "hello-nope1"}),
        ] {
            let e = call(&c, tool, args.clone()).await.unwrap_err();
            let text = e.to_string();
            assert_eq!(e.kind(), "not_found", "{tool} {args}: {text}");
            assert!(!text.contains("retry later"), "{tool} {args}: {text}");
            assert!(
                text.contains("has no run") || text.contains("not found") || text.contains("no run of"),
                "{tool} {args}: {text}"
            );
        }
    }
}

#[tokio::test]
async fn multi_branch_run_by_branch() {
    let sim = sim().await;
    let out = call(
        &ctx(&sim),
        "diagnose_run",
        json!({"project": "stone-devops", "pipeline": "echo-pipeline", "run_id": "1", "branch": "main"}),
    )
    .await
    .unwrap();
    assert_eq!(out["run"]["branch"], "main");
    assert_eq!(out["stages"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_console_too_large_to_relay_is_searched_per_step() {
    let sim = crate::testing::sim_with(ks_sim::SimOptions {
        run_phase: std::time::Duration::from_millis(50),
        log_relay_limit: 100_000,
        log_relay_delay: std::time::Duration::from_millis(20),
        ..Default::default()
    })
    .await;
    assert!(sim.add_pipeline(
        "host",
        "stone-devops",
        "big-and-broken",
        "pipeline { agent any\n stages {\n stage('Gen') { steps { simBigLog(80000) } }\n stage('More') { steps { simBigLog(80000) } }\n stage('Test') { steps { sh 'echo \"[ERROR] 3 tests failed\" && exit 2' } }\n } }"
    ));
    let c = ctx(&sim);
    let pr = c
        .client
        .create_pipelinerun(
            &crate::kubesphere::Cluster::Host,
            "stone-devops",
            "big-and-broken",
            None,
            &[],
        )
        .await
        .unwrap();
    let args = json!({"project": "stone-devops", "name": pr.metadata.name});
    let mut out = json!(null);
    for _ in 0..100 {
        out = call(&c, "diagnose_run", args.clone()).await.unwrap();
        if out["run"]["finished"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(out["run"]["result"], "FAILURE", "{out}");
    assert_eq!(out["failing_stage"]["name"], "Test");
    assert_eq!(out["per_step"], true, "{out}");
    let lines: Vec<&str> = out["error_lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["text"].as_str())
        .collect();
    assert!(lines.contains(&"[ERROR] 3 tests failed"), "{lines:?}");
    assert_eq!(out["error_line"], "[ERROR] 3 tests failed");
    assert!(out["log_lines"].as_u64().unwrap() > 1_600, "{out}");
}
