//! The v1alpha2 log routes under upstream's rules (API reference §7, §16
//! U2, U8, U15).

mod common;

use std::time::{Duration, Instant};

use common::*;
use ks_sim::SimOptions;
use serde_json::Value;

const NS: &str = "stone-devops";

fn run_path(p: &str, id: &str) -> String {
    format!("{DV2}/namespaces/{NS}/pipelines/{p}/runs/{id}")
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<u64> {
        self.headers.get(name)?.to_str().ok()?.parse().ok()
    }
}

async fn fetch(t: &T, path: &str, accept: Option<&str>) -> Answer {
    let mut rb = t.http.get(t.url(path)).bearer_auth(&t.token);
    if let Some(a) = accept {
        rb = rb.header("accept", a);
    }
    let r = rb.send().await.expect("send");
    Answer {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.text().await.expect("text"),
    }
}

async fn get(t: &T, path: &str) -> Answer {
    fetch(t, path, Some("*/*")).await
}

/// (stage id, step id) of every step, in order.
async fn steps(t: &T, run: &str) -> Vec<(String, String)> {
    let (_, nodes) = t.get_json(&format!("{run}/nodesdetail")).await;
    let mut out = Vec::new();
    for n in nodes.as_array().expect("nodes") {
        for s in n["steps"].as_array().into_iter().flatten() {
            out.push((
                n["id"].as_str().expect("id").to_string(),
                s["id"].as_str().expect("id").to_string(),
            ));
        }
    }
    out
}

#[tokio::test]
async fn u15_only_any_type_is_acceptable_on_log_routes() {
    let t = start().await;
    let run = run_path("broken-build", "1");
    let (node, step) = steps(&t, &run).await.remove(0);
    for path in [
        format!("{run}/log?start=0"),
        format!("{run}/nodes/{node}/steps/{step}/log?start=0"),
        format!("{DV2}/namespaces/{NS}/pipelines/echo-pipeline/branches/main/runs/1/log?start=0"),
        format!("{DV2}/namespaces/{NS}/pipelines/echo-pipeline/consolelog"),
    ] {
        for accept in [
            "text/plain",
            "text/plain; charset=utf-8",
            "text/plain;charset=utf-8",
            "text/*",
            "application/json",
        ] {
            let a = fetch(&t, &path, Some(accept)).await;
            assert_eq!(a.status, 406, "{accept} {path}");
            assert_eq!(
                a.body,
                "406: Not Acceptable\n\nAvailable representations: text/plain; charset=utf-8"
            );
        }
        for accept in [None, Some("*/*"), Some("text/plain, */*;q=0.5")] {
            assert_eq!(fetch(&t, &path, accept).await.status, 200, "{accept:?} {path}");
        }
    }
    // Route selection comes before the handler: a missing run is 406 too.
    assert_eq!(
        fetch(
            &t,
            &format!("{}/log", run_path("broken-build", "99")),
            Some("text/plain")
        )
        .await
        .status,
        406
    );
}

#[tokio::test]
async fn u2_text_is_crlf_without_notes_but_offsets_count_raw_bytes() {
    let t = start().await;
    let run = run_path("broken-build", "1");
    let full = get(&t, &format!("{run}/log?start=0")).await;
    assert_eq!(full.status, 200);
    // The run log route drops every X- header.
    assert!(
        full.headers.keys().all(|k| !k.as_str().starts_with("x-")),
        "{:?}",
        full.headers
    );
    let text = &full.body;
    assert!(!text.contains('\u{1b}'), "hidden notes leaked: {text:?}");
    assert!(
        text.starts_with("Started by user tenant\r\n[Pipeline] Start of Pipeline\r\n"),
        "{text:?}"
    );
    assert_eq!(text.matches('\n').count(), text.matches("\r\n").count());
    assert!(text.ends_with("ERROR: script returned exit code 1\r\nFinished: FAILURE\r\n"));
    // The raw offset of the last `[Pipeline]` line: the largest `start`
    // whose answer still holds it. Hidden notes and LFs (not CRLFs) count,
    // so it differs from where the line is in the text sent.
    const END: &str = "[Pipeline] End of Pipeline";
    let suffix_at = text.rfind(END).expect("end line");
    let suffix = &text[suffix_at..];
    let (mut lo, mut hi) = (0u64, 1u64 << 20);
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        let a = get(&t, &format!("{run}/log?start={mid}")).await;
        if a.status == 200 && a.body.contains(END) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let at = get(&t, &format!("{run}/log?start={lo}")).await;
    assert_eq!(at.body, suffix);
    let lf_offset = text[..suffix_at].replace("\r\n", "\n").len() as u64;
    assert!(
        lo > lf_offset + 20 * 90,
        "raw {lo}, text without CR {lf_offset}: notes must count"
    );
    // Past the end, or negative, or not a number: Blue Ocean fails (500).
    for bad in [(1u64 << 40).to_string(), "-1".into(), "abc".into(), String::new()] {
        let a = get(&t, &format!("{run}/log?start={bad}")).await;
        assert_eq!(a.status, 500, "start={bad}: {}", a.body);
    }
}

#[tokio::test]
async fn u2_step_logs_carry_raw_sizes_and_the_appended_block_error() {
    let t = start().await;
    let run = run_path("broken-build", "1");
    let all = steps(&t, &run).await;
    // Test stage, its `sh` step: fails with exit code 1.
    let (node, step) = all[3].clone();
    let path = format!("{run}/nodes/{node}/steps/{step}/log");
    let a = get(&t, &format!("{path}?start=0")).await;
    let size = a.header("x-text-size").expect("size");
    assert_eq!(a.header("x-text-delivered"), Some(size));
    assert!(a.headers.get("x-more-data").is_none());
    // Text with CRLF, then Blue Ocean's appended block error, as it is.
    assert!(a.body.starts_with("+ echo \"Running unit tests\"\r\n"), "{:?}", a.body);
    assert!(
        a.body.ends_with("+ exit 1\r\nscript returned exit code 1\n"),
        "{:?}",
        a.body
    );
    assert_eq!(size, a.body.replace("\r\n", "\n").len() as u64);
    // The appended text is not in the log: resuming at X-Text-Size fails.
    let past = get(&t, &format!("{path}?start={size}")).await;
    assert_eq!(past.status, 500, "{}", past.body);
    let appended = "script returned exit code 1\n".len() as u64;
    let end = get(&t, &format!("{path}?start={}", size - appended)).await;
    assert_eq!(end.status, 200);
    assert_eq!(end.body, "script returned exit code 1\n");
}

#[tokio::test]
async fn u2_without_start_only_the_end_is_sent() {
    let t = start().await;
    let run = run_path("noisy-build", "1");
    let whole = get(&t, &format!("{run}/log?start=0")).await.body;
    let last = get(&t, &format!("{run}/log")).await.body;
    // The last 150 KB of the raw log (generated lines: 100 bytes, sent 101).
    assert!(whole.ends_with(&last));
    // (less the hidden notes of its `[Pipeline]` lines, plus a CR a line).
    assert!(
        last.len() > 145 * 1024 && last.len() < 150 * 1024 * 101 / 100 + 100,
        "{}",
        last.len()
    );
    let small = get(&t, &format!("{run}/log?thresholdInKB=1")).await.body;
    // (It may start inside a hidden note, whose rest then shows.)
    assert!(
        small.len() < 1100 && small.ends_with("Finished: SUCCESS\r\n"),
        "{small:?}"
    );
    // A short log comes whole.
    let short = run_path("hello", "1");
    assert_eq!(
        get(&t, &format!("{short}/log")).await.body,
        get(&t, &format!("{short}/log?start=0")).await.body
    );
}

/// A build whose only step prints `lines` generated lines over `running`.
async fn running_big(t: &T, name: &str, lines: u64) -> String {
    assert!(t.sim.add_pipeline(
        "host",
        NS,
        name,
        &format!(
            "pipeline {{ agent any\n stages {{ stage('Gen') {{ steps {{ simBigLog({}) }} }} }} }}",
            lines * 100
        )
    ));
    let (c, v) = t
        .send_json("POST", &format!("{DV2}/namespaces/{NS}/pipelines/{name}/runs"), None)
        .await;
    assert_eq!(c, 200, "{v}");
    run_path(name, v["id"].as_str().expect("id"))
}

async fn wait_running_lines(t: &T, run: &str, at_least: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "the build never got that far");
        let (c, v) = t.get_json(run).await;
        if c == 200 && v["state"] == "RUNNING" {
            let a = get(t, &format!("{run}/log?start=0")).await;
            if a.body.matches('\n').count() >= at_least {
                return a.body;
            }
        }
        sleep_ms(50).await;
    }
}

#[tokio::test]
async fn u2_a_running_answer_stops_after_10000_lines_at_a_line_end() {
    let t = start_with(SimOptions {
        run_phase: Duration::from_secs(4),
        log_header_buffer: u64::MAX,
        ..SimOptions::default()
    })
    .await;
    let run = running_big(&t, "long-runner", 40_000).await;
    let body = wait_running_lines(&t, &run, 10_000).await;
    assert_eq!(body.matches('\n').count(), 10_000, "the run log answer is capped");
    assert!(body.ends_with("\r\n"));
    let (_, v) = t.get_json(&run).await;
    assert_eq!(v["state"], "RUNNING", "still running: the cap applied");
    // The step log too; its X-Text-Size resumes exactly after the answer.
    let (node, step) = steps(&t, &run).await.remove(0);
    let path = format!("{run}/nodes/{node}/steps/{step}/log");
    let a = get(&t, &format!("{path}?start=0")).await;
    assert_eq!(a.headers.get("x-more-data").map(|v| v.as_bytes()), Some(&b"true"[..]));
    assert_eq!(a.body.matches('\n').count(), 10_000);
    let next = a.header("x-text-size").expect("size");
    assert_eq!(next, a.body.replace("\r\n", "\n").len() as u64);
    let b = get(&t, &format!("{path}?start={next}")).await;
    assert!(b.body.starts_with("[sim-log"), "{:?}", &b.body[..40.min(b.body.len())]);
    let first_no = |s: &str| -> u64 {
        s.lines()
            .find_map(|l| l.split(" line ").nth(1)?.split_whitespace().next()?.parse().ok())
            .expect("numbered line")
    };
    let last_no: u64 = a
        .body
        .lines()
        .rev()
        .find_map(|l| l.split(" line ").nth(1)?.split_whitespace().next()?.parse().ok())
        .expect("numbered");
    assert_eq!(first_no(&b.body), last_no + 1);
}

#[tokio::test]
async fn u2_x_headers_are_lost_when_the_text_overflows_the_response_buffer() {
    let t = start().await;
    let run = run_path("noisy-build", "1");
    let (node, step) = steps(&t, &run).await.remove(0);
    let path = format!("{run}/nodes/{node}/steps/{step}/log");
    let big = get(&t, &format!("{path}?start=0")).await;
    assert!(big.body.len() > 32 * 1024);
    assert!(
        big.headers.keys().all(|k| !k.as_str().starts_with("x-")),
        "{:?}",
        big.headers
    );
    // A small answer (the end of the same log) keeps them.
    let size = big.body.replace("\r\n", "\n").len() as u64;
    let small = get(&t, &format!("{path}?start={}", size - 1000)).await;
    assert_eq!(small.header("x-text-size"), Some(size));
}

#[tokio::test]
async fn u8_an_oversized_answer_fails_after_a_delay_but_its_steps_are_readable() {
    let t = start_with(SimOptions {
        run_phase: Duration::from_millis(50),
        log_relay_limit: 100_000,
        log_relay_delay: Duration::from_millis(300),
        ..SimOptions::default()
    })
    .await;
    // The demo pipeline scales with the limit: three steps of 40% each.
    let run = run_path("oversized-log", "1");
    let started = Instant::now();
    let a = get(&t, &format!("{run}/log?start=0")).await;
    assert_eq!(a.status, 500);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(a.body.contains("Client.Timeout exceeded"), "{}", a.body);
    let mut lines = 0;
    for (node, step) in steps(&t, &run).await {
        let s = get(&t, &format!("{run}/nodes/{node}/steps/{step}/log?start=0")).await;
        assert_eq!(s.status, 200);
        lines += s.body.matches('\n').count();
    }
    assert!(lines > 1_200, "{lines}");
    // A smaller part of the run log is relayed (not the default 150 KB).
    assert_eq!(get(&t, &format!("{run}/log")).await.status, 500);
    let tail = get(&t, &format!("{run}/log?thresholdInKB=50")).await;
    assert_eq!(tail.status, 200);
    assert!(tail.body.ends_with("Finished: SUCCESS\r\n"));
    // noisy-build (5 MB) fails too; hello does not.
    assert_eq!(
        get(&t, &format!("{}/log?start=0", run_path("noisy-build", "1")))
            .await
            .status,
        500
    );
    let (_, v): (u16, Value) = t.get_json(&run_path("hello", "1")).await;
    assert_eq!(v["result"], "SUCCESS");
    assert_eq!(
        get(&t, &format!("{}/log?start=0", run_path("hello", "1"))).await.status,
        200
    );
}
