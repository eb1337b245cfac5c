//! tail, head, grep, cursors, stage and step logs.

use crate::testing::{call, ctx, sim, sim_with};
use serde_json::json;

async fn big_run(sim: &ks_sim::Sim, bytes: u64) -> ks_sim::SeededRun {
    sim.add_big_log_run("host", "stone-devops", "hello", None, bytes)
        .expect("seeded run")
}

#[tokio::test]
async fn default_tail_is_bounded_and_says_what_was_left_out() {
    let sim = sim().await;
    let run = big_run(&sim, 2_000_000).await;
    let out = call(
        &ctx(&sim),
        "get_run_log",
        json!({"project": "stone-devops", "name": run.pipelinerun}),
    )
    .await
    .unwrap();
    let text = out["text"].as_str().unwrap();
    assert!(text.len() <= 16 * 1024, "{}", text.len());
    assert_eq!(out["ready"], true);
    assert_eq!(out["still_writing"], false);
    assert_eq!(out["mode"], "tail");
    assert!(text.ends_with("Finished: SUCCESS\n"), "{text}");
    let total = out["log_bytes"].as_u64().unwrap();
    assert!(total > 2_000_000);
    let ret = &out["returned"];
    assert!(ret["lines"].as_u64().unwrap() <= 200);
    assert_eq!(ret["end_byte"].as_u64(), Some(total));
    assert_eq!(
        out["omitted_before"]["bytes"].as_u64().unwrap() + text.len() as u64,
        total
    );
    assert_eq!(
        out["omitted_before"]["lines"].as_u64().unwrap() + ret["lines"].as_u64().unwrap(),
        out["log_lines"].as_u64().unwrap()
    );
    assert!(out["note"].as_str().unwrap().contains("Left out before"));
}

#[tokio::test]
async fn tail_head_and_max_bytes() {
    let sim = sim().await;
    let run = big_run(&sim, 50_000).await;
    let c = ctx(&sim);
    let tail = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "pipeline": "hello", "run_id": run.run_id, "tail_lines": 3}),
    )
    .await
    .unwrap();
    assert_eq!(tail["returned"]["lines"], 3);
    let lines: Vec<&str> = tail["text"].as_str().unwrap().lines().collect();
    assert_eq!(lines.last(), Some(&"Finished: SUCCESS"));
    let head = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "name": run.pipelinerun, "head_lines": 2}),
    )
    .await
    .unwrap();
    assert_eq!(head["mode"], "head");
    assert_eq!(head["returned"]["first_line"], 1);
    assert_eq!(head["returned"]["lines"], 2);
    assert!(head["text"].as_str().unwrap().starts_with("Started by user tenant\n"));
    // A head read stops early: the run log route reports no size.
    assert!(head.get("log_bytes").is_none());
    assert!(head["note"].as_str().unwrap().contains("cursor"));
    let small = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "name": run.pipelinerun, "tail_lines": 5000, "max_bytes": 1024}),
    )
    .await
    .unwrap();
    assert!(small["text"].as_str().unwrap().len() <= 1024);
    let bad = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "name": run.pipelinerun, "max_bytes": 10}),
    )
    .await
    .unwrap_err();
    assert_eq!(bad.kind(), "invalid_input");
}

#[tokio::test]
async fn head_then_cursor_reads_the_whole_log_without_gaps() {
    let sim = sim().await;
    let run = big_run(&sim, 30_000).await;
    let c = ctx(&sim);
    let mut all = String::new();
    let mut cursor: Option<String> = None;
    let mut next_line = 1;
    for _ in 0..100 {
        let mut args = json!({"project": "stone-devops", "head_lines": 37});
        match &cursor {
            Some(cur) => args["cursor"] = json!(cur),
            None => args["name"] = json!(run.pipelinerun),
        }
        let out = call(&c, "get_run_log", args).await.unwrap();
        let Some(ret) = out.get("returned") else {
            break;
        };
        assert_eq!(ret["first_line"], next_line);
        next_line = ret["last_line"].as_u64().unwrap() + 1;
        all.push_str(out["text"].as_str().unwrap());
        cursor = out["cursor"].as_str().map(str::to_string);
    }
    let full = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "name": run.pipelinerun, "tail_lines": 5000, "max_bytes": 65536}),
    )
    .await
    .unwrap();
    assert_eq!(all, full["text"].as_str().unwrap());
    assert_eq!(all.len() as u64, full["log_bytes"].as_u64().unwrap());
}

#[tokio::test]
async fn grep_with_context_limit_and_cursor() {
    let sim = sim().await;
    let run = big_run(&sim, 100_000).await;
    let c = ctx(&sim);
    // Generated lines are numbered: match every line number ending in 00.
    let out = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "name": run.pipelinerun, "grep": "line +[0-9]*00 ", "context": 1, "max_matches": 3}),
    )
    .await
    .unwrap();
    assert_eq!(out["mode"], "grep");
    // Lines 100, 200, ..., 900 of the generated part.
    assert_eq!(out["matches"]["total"], 9);
    assert_eq!(out["matches"]["returned"], 3);
    assert_eq!(out["matches"]["not_returned"], 6);
    let text = out["text"].as_str().unwrap();
    assert_eq!(text.lines().filter(|l| l.contains("--")).count(), 2, "{text}");
    assert_eq!(text.lines().count(), 3 * 3 + 2, "{text}");
    // Continue the search from the cursor: the next matches follow.
    let more = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "cursor": out["cursor"], "grep": "line +[0-9]*00 ", "context": 0, "max_matches": 100}),
    )
    .await
    .unwrap();
    assert_eq!(more["matches"]["total"], 6);
    assert_eq!(more["matches"]["returned"], 6);
    let first_new = more["returned"]["first_line"].as_u64().unwrap();
    assert!(first_new > out["returned"]["last_line"].as_u64().unwrap());
    let none = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "name": run.pipelinerun, "grep": "(?i)no such text"}),
    )
    .await
    .unwrap();
    assert_eq!(none["matches"]["total"], 0);
    assert!(none.get("returned").is_none());
}

#[tokio::test]
async fn step_and_stage_logs() {
    let sim = sim().await;
    let c = ctx(&sim);
    // Stage and step ids come from diagnose_run.
    let d = call(
        &c,
        "diagnose_run",
        json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
    )
    .await
    .unwrap();
    let node = d["failing_stage"]["id"].as_str().unwrap().to_string();
    let step_id = d["failing_step"]["id"].as_str().unwrap().to_string();
    let out = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1", "step": step_id}),
    )
    .await
    .unwrap();
    assert_eq!(out["log"], "step");
    assert_eq!(out["node"], node);
    let text = out["text"].as_str().unwrap();
    assert!(text.contains("[ERROR] Tests run: 12, Failures: 2"), "{text}");
    assert!(text.contains("script returned exit code 1"), "{text}");
    assert_eq!(out["log_bytes"].as_u64(), Some(text.len() as u64));
    // The stage by name: every step of it.
    let stage = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1", "node": "build"}),
    )
    .await
    .unwrap();
    assert_eq!(stage["log"], "stage");
    assert_eq!(stage["stage_name"], "Build");
    let t = stage["text"].as_str().unwrap();
    assert!(t.contains("compiling") && t.contains("Archiving artifacts"), "{t}");
    // The stage's cursor continues the stage (finished: nothing new) ...
    let next = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "cursor": stage["cursor"]}),
    )
    .await
    .unwrap();
    assert_eq!(next["log"], "stage");
    assert_eq!(next["mode"], "continue");
    assert!(next.get("returned").is_none(), "{next}");
    // ... and is refused for another run or another part of the log.
    for other in [
        json!({"project": "stone-devops", "cursor": stage["cursor"], "pipeline": "hello", "run_id": "1"}),
        json!({"project": "stone-devops", "cursor": stage["cursor"], "step": step_id}),
        json!({"project": "stone-devops", "cursor": out["cursor"], "node": "Build"}),
    ] {
        let e = call(&c, "get_run_log", other).await.unwrap_err();
        assert!(e.to_string().contains("cursor belongs to another"), "{e}");
    }
    let bad = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1", "node": "Nope"}),
    )
    .await
    .unwrap_err();
    assert!(bad.to_string().contains("Checkout"), "{bad}");
}

#[tokio::test]
async fn a_run_without_pipelinerun_is_read_through_jenkins() {
    // A v1alpha2 trigger creates no PipelineRun (API reference §6.3).
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
    assert_eq!(id, "2");
    let c = ctx(&sim);
    let mut out = json!(null);
    for _ in 0..100 {
        out = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": id}),
        )
        .await
        .unwrap();
        if out["still_writing"] == false {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    assert!(out["run"].get("name").is_none(), "{out}");
    assert!(out["text"].as_str().unwrap().ends_with("Finished: FAILURE\n"), "{out}");
    let d = call(
        &c,
        "diagnose_run",
        json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": id}),
    )
    .await
    .unwrap();
    assert_eq!(d["failing_stage"]["name"], "Test");
    // Downloads need a PipelineRun: refused with the reason.
    let e = call(
        &c,
        "download_artifact",
        json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": id, "path": "target/build-report.txt"}),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("no PipelineRun"), "{e}");
    let missing = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "99"}),
    )
    .await
    .unwrap_err();
    assert_eq!(missing.kind(), "not_found");
    assert!(missing.to_string().contains("has no run 99"), "{missing}");
}

#[tokio::test]
async fn not_ready_then_growing_log_read_with_cursor_has_no_gaps_or_repeats() {
    // Slow runs: unsynced, then queued, then running for 1.2 s each.
    let sim = sim_with(ks_sim::SimOptions {
        run_phase: std::time::Duration::from_millis(1200),
        ..Default::default()
    })
    .await;
    assert!(sim.add_pipeline(
        "host",
        "stone-devops",
        "grow",
        "pipeline { agent any\n stages { stage('Gen') { steps { simBigLog(300000) } } } }"
    ));
    let c = ctx(&sim);
    let pr = c
        .client
        .create_pipelinerun(&crate::kubesphere::Cluster::Host, "stone-devops", "grow", None, &[])
        .await
        .unwrap();
    let name = pr.metadata.name.clone();
    let first = call(&c, "get_run_log", json!({"project": "stone-devops", "name": name}))
        .await
        .unwrap();
    assert_eq!(first["ready"], false, "{first}");
    assert_eq!(first["text"], "");
    assert!(first["note"].as_str().unwrap().starts_with("No log yet"));
    // Follow the log: first call without cursor (tail), then with it.
    let mut text = String::new();
    let mut cursor: Option<String> = None;
    let mut saw_writing = false;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        assert!(std::time::Instant::now() < deadline, "log never finished");
        let mut args = json!({"project": "stone-devops", "max_bytes": 65536, "head_lines": 5000});
        match &cursor {
            Some(cur) => args["cursor"] = json!(cur),
            None => {
                args["name"] = json!(name);
            }
        }
        let out = call(&c, "get_run_log", args).await.unwrap();
        if out["ready"] == false {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        }
        saw_writing |= out["still_writing"] == true && out.get("returned").is_some();
        text.push_str(out["text"].as_str().unwrap());
        cursor = out["cursor"].as_str().map(str::to_string);
        if out["still_writing"] == false && out.get("returned").is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
    assert!(saw_writing, "the log was never read while it grew");
    let full = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "name": name, "head_lines": 5000, "max_bytes": 65536}),
    )
    .await
    .unwrap();
    let mut whole = full["text"].as_str().unwrap().to_string();
    let mut cur = full["cursor"].as_str().map(str::to_string);
    while full["log_bytes"].as_u64().is_none_or(|b| b > whole.len() as u64) {
        let more = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "cursor": cur, "head_lines": 5000, "max_bytes": 65536}),
        )
        .await
        .unwrap();
        if more.get("returned").is_none() {
            break;
        }
        whole.push_str(more["text"].as_str().unwrap());
        cur = more["cursor"].as_str().map(str::to_string);
    }
    assert_eq!(text, whole, "followed text differs from the finished log");
    // The generated lines are numbered: every number exactly once, in order.
    let nums: Vec<u64> = text
        .lines()
        .filter_map(|l| l.split(" line ").nth(1))
        .filter_map(|r| r.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(nums.len(), 3000);
    assert!(nums.iter().enumerate().all(|(i, n)| *n == i as u64));
}
