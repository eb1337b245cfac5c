//! Upstream log rules (§16 U2, U8): raw offsets, the 10,000-line cap of
//! running answers, run logs too large to relay.

use crate::mcp::context::ToolCtx;
use crate::testing::{call, ctx, sim, sim_with};
use serde_json::json;

// ---------------------------------------- upstream log rules (§16 U2, U8)

/// Reads a log to its end in pages: a first call with `first` (run or
/// node/step arguments), then `cursor` calls. Returns the joined text.
async fn pages(c: &ToolCtx, first: serde_json::Value, head: u32) -> String {
    let mut args = first.clone();
    args["head_lines"] = json!(head);
    let mut all = String::new();
    let mut next_line = 1;
    for _ in 0..10_000 {
        let out = call(c, "get_run_log", args.clone()).await.unwrap();
        let Some(ret) = out.get("returned") else {
            break;
        };
        assert_eq!(ret["first_line"], next_line, "{out}");
        next_line = ret["last_line"].as_u64().unwrap() + 1;
        all.push_str(out["text"].as_str().unwrap());
        args = json!({"project": "stone-devops", "cursor": out["cursor"], "head_lines": head});
    }
    all
}

/// Line numbers of the generated lines in `text`, in order.
fn generated_numbers(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| l.split(" line ").nth(1))
        .filter_map(|r| r.split_whitespace().next()?.parse().ok())
        .collect()
}

#[tokio::test]
async fn done_when_head_then_cursor_pages_of_broken_build_join_to_one_long_read() {
    let sim = sim().await;
    let c = ctx(&sim);
    let run = json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"});
    let mut long = run.clone();
    long["head_lines"] = json!(5000);
    long["max_bytes"] = json!(65536);
    let one = call(&c, "get_run_log", long).await.unwrap();
    let whole = one["text"].as_str().unwrap();
    // LF line ends, no hidden console notes, every line once.
    assert!(!whole.contains('\r') && !whole.contains('\u{1b}'), "{whole:?}");
    assert!(
        whole.starts_with("Started by user tenant\n[Pipeline] Start of Pipeline\n"),
        "{whole}"
    );
    assert!(
        whole.ends_with("ERROR: script returned exit code 1\nFinished: FAILURE\n"),
        "{whole}"
    );
    assert_eq!(one["log_bytes"].as_u64(), Some(whole.len() as u64));
    for head in [1, 3, 7] {
        assert_eq!(pages(&c, run.clone(), head).await, whole, "pages of {head} lines");
    }
    // A cursor from the end reads nothing new, without error.
    let again = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "cursor": one["cursor"]}),
    )
    .await
    .unwrap();
    assert!(again.get("returned").is_none(), "{again}");
}

#[tokio::test]
async fn a_finished_failed_step_reads_on_to_its_end_without_errors() {
    // Its X-Text-Size counts the error Blue Ocean appends: reading from
    // there fails upstream.
    let sim = sim().await;
    let c = ctx(&sim);
    let d = call(
        &c,
        "diagnose_run",
        json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
    )
    .await
    .unwrap();
    let step = d["failing_step"]["id"].as_str().unwrap().to_string();
    let first = json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1", "step": step});
    let whole = call(&c, "get_run_log", first.clone()).await.unwrap();
    let text = whole["text"].as_str().unwrap();
    assert!(text.ends_with("+ exit 1\nscript returned exit code 1\n"), "{text:?}");
    assert_eq!(pages(&c, first, 2).await, text);
    let end = call(
        &c,
        "get_run_log",
        json!({"project": "stone-devops", "cursor": whole["cursor"]}),
    )
    .await
    .unwrap();
    assert!(end.get("returned").is_none(), "{end}");
    assert_eq!(end["still_writing"], false);
}

/// Follows a log with `cursor` until the run has finished and nothing
/// new comes; returns the text read.
async fn follow(c: &ToolCtx, first: serde_json::Value) -> String {
    let mut text = String::new();
    let mut cursor: Option<String> = None;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        assert!(std::time::Instant::now() < deadline, "the log never finished");
        let mut args = json!({"project": "stone-devops", "head_lines": 5000, "max_bytes": 65536});
        match &cursor {
            Some(cur) => args["cursor"] = json!(cur),
            None => {
                for (k, v) in first.as_object().unwrap() {
                    args[k] = v.clone();
                }
            }
        }
        let out = call(c, "get_run_log", args).await.unwrap();
        if out["ready"] == false {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        }
        text.push_str(out["text"].as_str().unwrap());
        cursor = out["cursor"].as_str().map(str::to_string);
        if out["still_writing"] == false && out.get("returned").is_none() {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    }
}

async fn running_build(sim: &ks_sim::Sim, c: &ToolCtx, name: &str, lines: u64) -> String {
    assert!(sim.add_pipeline(
        "host",
        "stone-devops",
        name,
        &format!(
            "pipeline {{ agent any\n stages {{ stage('Gen') {{ steps {{ simBigLog({}) }} }} }} }}",
            lines * 100
        )
    ));
    c.client
        .create_pipelinerun(&crate::kubesphere::Cluster::Host, "stone-devops", name, None, &[])
        .await
        .unwrap()
        .metadata
        .name
}

#[tokio::test]
async fn following_a_running_build_past_10000_lines_yields_every_line_once() {
    // Running answers carry at most 10,000 lines; offsets are raw.
    let sim = sim_with(ks_sim::SimOptions {
        run_phase: std::time::Duration::from_millis(1500),
        ..Default::default()
    })
    .await;
    let c = ctx(&sim);
    let run_log = running_build(&sim, &c, "follow-run", 12_000).await;
    let stage_log = running_build(&sim, &c, "follow-stage", 12_000).await;
    let (a, b) = tokio::join!(
        follow(&c, json!({"name": run_log})),
        follow(&c, json!({"name": stage_log, "node": "Gen"}))
    );
    let want: Vec<u64> = (0..12_000).collect();
    assert_eq!(generated_numbers(&a), want, "run log");
    assert!(a.ends_with("Finished: SUCCESS\n"));
    assert_eq!(generated_numbers(&b), want, "stage log");
    assert!(b.starts_with("+ generate-log --bytes 1200000\n"), "{}", &b[..80]);
}

#[tokio::test]
async fn an_answer_cut_at_10000_lines_of_a_running_build_is_not_taken_for_its_end() {
    let sim = sim_with(ks_sim::SimOptions {
        run_phase: std::time::Duration::from_secs(6),
        ..Default::default()
    })
    .await;
    let c = ctx(&sim);
    assert!(sim.add_pipeline(
        "host",
        "stone-devops",
        "fast-writer",
        "pipeline { agent any\n stages { stage('Gen') { steps { simBigLog(10000000) } } } }"
    ));
    // A v1alpha2 trigger: queued at once, then running for 6 s.
    let blue = crate::kubesphere::logs::BlueRunRef {
        namespace: "stone-devops".into(),
        pipeline: "fast-writer".into(),
        branch: None,
        run_id: "1".into(),
    };
    let token = sim.issue_token("tenant").unwrap();
    let r = reqwest::Client::new()
        .post(format!(
            "{}/kapis/devops.kubesphere.io/v1alpha2/namespaces/stone-devops/pipelines/fast-writer/runs",
            sim.url()
        ))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        assert!(std::time::Instant::now() < deadline);
        let b = c
            .client
            .get_blue_run(&crate::kubesphere::Cluster::Host, &blue)
            .await
            .unwrap();
        if b.state.as_deref() == Some("RUNNING") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // 100,000 lines over 6 s: past 10,000 within a second.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let run = json!({"project": "stone-devops", "pipeline": "fast-writer", "run_id": "1"});
    let tail = call(&c, "get_run_log", run.clone()).await.unwrap();
    assert_eq!(tail["still_writing"], true, "{tail}");
    let note = tail["note"].as_str().unwrap();
    assert!(note.contains("at most 10000 lines"), "{note}");
    assert!(
        tail.get("log_lines").is_none() && tail["omitted_after"].get("lines").is_none(),
        "{tail}"
    );
    // Reading on from line 10,000 while it runs: nothing new yet, and
    // the cursor stays put rather than skipping ahead.
    let mut head = run.clone();
    head["head_lines"] = json!(5000);
    head["max_bytes"] = json!(65536);
    let first = call(&c, "get_run_log", head).await.unwrap();
    let mut cursor = first["cursor"].clone();
    let mut last = first["returned"]["last_line"].as_u64().unwrap();
    let mut stalled = false;
    for _ in 0..40 {
        let out = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "cursor": cursor, "head_lines": 5000, "max_bytes": 65536}),
        )
        .await
        .unwrap();
        match out.get("returned") {
            Some(r) => {
                assert_eq!(r["first_line"].as_u64(), Some(last + 1));
                last = r["last_line"].as_u64().unwrap();
            }
            None if out["still_writing"] == true => {
                stalled = true;
                assert!(out["note"].as_str().unwrap().contains("at most 10000 lines"), "{out}");
                break;
            }
            None => break,
        }
        cursor = out["cursor"].clone();
    }
    assert!(stalled, "never met the cut");
    assert!(last >= 10_000);
}

#[tokio::test]
async fn a_run_log_too_large_to_relay_is_read_per_step_and_says_so() {
    let sim = sim_with(ks_sim::SimOptions {
        run_phase: std::time::Duration::from_millis(50),
        log_relay_limit: 200_000,
        log_relay_delay: std::time::Duration::from_millis(50),
        ..Default::default()
    })
    .await;
    let c = ctx(&sim);
    let run = json!({"project": "stone-devops", "pipeline": "oversized-log", "run_id": "1"});
    let tail = call(&c, "get_run_log", run.clone()).await.unwrap();
    assert_eq!(tail["log"], "run");
    assert_eq!(tail["per_step"], true, "{tail}");
    assert_eq!(tail["still_writing"], false);
    assert!(tail["text"].as_str().unwrap().ends_with("\nreport written\n"), "{tail}");
    let note = tail["note"].as_str().unwrap();
    assert!(note.contains("cannot deliver") && note.contains("step"), "{note}");
    // Asked once: the failure is not retried.
    let asked = sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/pipelines/oversized-log/runs/1/log"))
        .count();
    assert_eq!(asked, 1);
    // Pages join to one long read, which covers every step in order.
    let mut long = run.clone();
    long["head_lines"] = json!(5000);
    long["max_bytes"] = json!(65536);
    let mut whole = String::new();
    let mut out = call(&c, "get_run_log", long).await.unwrap();
    loop {
        assert_eq!(out["per_step"], true);
        let Some(_) = out.get("returned") else { break };
        whole.push_str(out["text"].as_str().unwrap());
        out = call(
            &c,
            "get_run_log",
            json!({"project": "stone-devops", "cursor": out["cursor"], "head_lines": 5000, "max_bytes": 65536}),
        )
        .await
        .unwrap();
    }
    assert_eq!(pages(&c, run, 1999).await, whole);
    assert_eq!(
        whole.matches("+ generate-log --bytes 80000\n").count(),
        3,
        "three steps"
    );
    assert_eq!(generated_numbers(&whole).len(), 3 * 800);
    assert!(!whole.contains("[Pipeline]"));
}

#[tokio::test]
async fn a_run_log_that_times_out_or_comes_back_empty_is_read_per_step() {
    let sim = sim().await;
    let mut s = crate::testing::settings(&sim, "tenant");
    s.timeout = std::time::Duration::from_millis(300);
    let c = ToolCtx::detached(
        crate::kubesphere::KsClient::new(s).unwrap(),
        std::sync::Arc::new(crate::mcp::ServerOptions::default()),
    );
    let log_path = "/pipelines/broken-build/runs/1/log";
    sim.inject(ks_sim::Fault {
        method: None,
        path_contains: log_path.into(),
        kind: ks_sim::FaultKind::Latency(std::time::Duration::from_secs(2)),
        times: 5,
    });
    let run = json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"});
    let out = call(&c, "get_run_log", run.clone()).await.unwrap();
    assert_eq!(out["per_step"], true, "{out}");
    assert!(out["text"].as_str().unwrap().contains("[ERROR] Tests run: 12"), "{out}");
    let asked = sim.requests().iter().filter(|r| r.path.ends_with(log_path)).count();
    assert_eq!(asked, 1, "a timed-out run log is asked for once");
    // ks-devops ignores a body read timeout and answers 200 with nothing
    // (pure_request.go:88): a finished run has a log, so that is a failure too.
    sim.clear_faults();
    sim.inject(ks_sim::Fault {
        method: None,
        path_contains: log_path.into(),
        kind: ks_sim::FaultKind::Status {
            code: 200,
            body: String::new(),
            content_type: "text/plain; charset=utf-8".into(),
        },
        times: 1,
    });
    let out = call(&ctx(&sim), "get_run_log", run).await.unwrap();
    assert_eq!(out["per_step"], true, "{out}");
    assert!(
        out["text"].as_str().unwrap().contains("compiling 42 source files"),
        "{out}"
    );
}
