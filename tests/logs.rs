//! The logs toolset's done-when statements, checked through the built
//! binary against `--sandbox`, exactly as from the shell:
//! `ks-devops-mcp --sandbox call TOOL 'JSON'`.

mod common;

use std::time::Duration;

use common::{BIN, clean_env};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::process::Command;

async fn sandbox_call(extra: &[&str], tool: &str, args: &str) -> Value {
    let mut cmd = Command::new(BIN);
    clean_env(&mut cmd);
    cmd.arg("--sandbox").args(extra).args(["call", tool, args]);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("the call ends")
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{tool} failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{tool}: not JSON ({e}): {stdout}"))
}

#[tokio::test]
async fn diagnose_run_names_the_failing_stage_step_and_error_line() {
    let v = sandbox_call(
        &[],
        "diagnose_run",
        r#"{"project":"stone-devops","pipeline":"broken-build","run_id":"1"}"#,
    )
    .await;
    assert_eq!(v["run"]["result"], "FAILURE");
    assert_eq!(v["failing_stage"]["name"], "Test");
    assert_eq!(v["failing_step"]["name"], "Shell Script");
    assert_eq!(
        v["error_line"],
        "[ERROR] Tests run: 12, Failures: 2, Errors: 0, Skipped: 0"
    );
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.contains("Test") && summary.contains("Shell Script") && summary.contains("Failures: 2"),
        "{summary}"
    );
}

#[tokio::test]
async fn get_run_log_defaults_stay_under_16_kb_and_say_what_was_left_out() {
    let v = sandbox_call(
        &[],
        "get_run_log",
        r#"{"project":"stone-devops","pipeline":"noisy-build","run_id":"1"}"#,
    )
    .await;
    let text = v["text"].as_str().unwrap();
    assert!(!text.is_empty() && text.len() <= 16 * 1024, "{} bytes", text.len());
    let whole = v["log_bytes"].as_u64().unwrap();
    assert!(whole > 4_000_000, "{whole}");
    let left_out = v["omitted_before"]["bytes"].as_u64().unwrap();
    assert_eq!(left_out + text.len() as u64, whole);
    assert!(v["omitted_before"]["lines"].as_u64().unwrap() > 40_000);
    assert!(v["note"].as_str().unwrap().contains("Left out before"), "{}", v["note"]);
    assert!(text.ends_with("Finished: SUCCESS\n"));
}

#[tokio::test]
async fn download_artifact_writes_the_file_and_reports_its_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let v = sandbox_call(
        &["--artifact-dir", dir_arg],
        "download_artifact",
        r#"{"project":"stone-devops","pipeline":"broken-build","run_id":"1","path":"target/build-report.txt"}"#,
    )
    .await;
    let file = std::path::PathBuf::from(v["file"].as_str().unwrap());
    assert!(
        file.starts_with(dir.path().canonicalize().unwrap()),
        "{}",
        file.display()
    );
    let bytes = std::fs::read(&file).expect("the file was written");
    assert_eq!(v["size"].as_u64(), Some(bytes.len() as u64));
    let sha: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v["sha256"], sha);
    // A small text artifact also comes back inline.
    assert_eq!(v["text"].as_str().map(str::as_bytes), Some(bytes.as_slice()));
}

/// Issue 11's done-when: head pages followed by cursor pages of
/// `broken-build` run 1 join to the same lines as one long read, through
/// the CLI against the sandbox (each call a fresh process and sandbox).
#[tokio::test]
async fn head_then_cursor_pages_of_broken_build_join_to_one_long_read() {
    let run = r#""project":"stone-devops","pipeline":"broken-build","run_id":"1""#;
    let one = sandbox_call(
        &[],
        "get_run_log",
        &format!(r#"{{{run},"head_lines":5000,"max_bytes":65536}}"#),
    )
    .await;
    let whole = one["text"].as_str().unwrap().to_string();
    assert!(
        whole.starts_with("Started by user tenant\n[Pipeline] Start of Pipeline\n"),
        "{whole}"
    );
    assert!(whole.ends_with("Finished: FAILURE\n"));
    assert!(!whole.contains('\r') && !whole.contains('\u{1b}'));
    let mut joined = String::new();
    let mut v = sandbox_call(&[], "get_run_log", &format!(r#"{{{run},"head_lines":8}}"#)).await;
    for _ in 0..50 {
        let Some(text) = v.get("returned").and(v["text"].as_str()) else {
            break;
        };
        joined.push_str(text);
        let cursor = v["cursor"].as_str().unwrap().to_string();
        v = sandbox_call(
            &[],
            "get_run_log",
            &format!(r#"{{"project":"stone-devops","cursor":"{cursor}","head_lines":8}}"#),
        )
        .await;
    }
    assert_eq!(joined, whole);
}
