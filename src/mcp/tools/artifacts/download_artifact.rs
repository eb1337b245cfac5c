//! `download_artifact`: fetch one archived file through KubeSphere's
//! v1alpha3 download route into the operator's artifact directory.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::kubesphere::KsError;
use crate::mcp::args::{ProjectArgs, RunArgs};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runlocate::{RunSelector, locate_run};
use crate::mcp::runview::RunView;

use super::{ArtifactView, all_artifacts};

/// Largest artifact downloaded.
pub const MAX_ARTIFACT_BYTES: u64 = 256 * 1024 * 1024;
/// Text artifacts up to this size also come back inline.
pub const INLINE_MAX: usize = 16 * 1024;
/// Path components kept (deeper paths keep their last components).
const MAX_DEPTH: usize = 16;
const MAX_COMPONENT: usize = 100;

pub struct DownloadArtifact;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct DownloadArtifactInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// The artifact's `path` as list_artifacts shows it.
    pub path: String,
    #[serde(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DownloadArtifactOutput {
    pub project: ProjectRef,
    pub run: RunView,
    pub artifact: ArtifactView,
    /// Where the file was written (absolute path on the server's machine).
    pub file: String,
    /// Bytes written.
    pub size: u64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// The content, for text files up to 16 KB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl ToolDef for DownloadArtifact {
    const NAME: &'static str = "download_artifact";
    const TITLE: &'static str = "Download a run artifact";
    const DESCRIPTION: &'static str = "Downloads one archived file of a run (`path` from list_artifacts) into the server's artifact directory: local path, size, SHA-256, text up to 16 KB inline. Over 256 MiB is refused.";
    const EXAMPLE: &'static str =
        r#"{"project": "stone-devops", "pipeline": "broken-build", "run_id": "1", "path": "target/build-report.txt"}"#;
    const TOOLSET: Toolset = Toolset::Artifacts;
    const HINTS: Hints = Hints {
        read_only: false,
        destructive: false,
        idempotent: true,
        open_world: false,
    };
    type Input = DownloadArtifactInput;
    type Output = DownloadArtifactOutput;

    async fn call(ctx: ToolCtx, input: DownloadArtifactInput) -> Result<DownloadArtifactOutput, ToolError> {
        let wanted = input.path.trim().to_string();
        if wanted.is_empty() {
            return Err(ToolError::InvalidInput(
                "path is empty: pass an artifact `path` from list_artifacts".into(),
            ));
        }
        let project = resolve_input(&ctx, &input.scope).await?;
        let located = locate_run(
            &ctx,
            &project,
            RunSelector::of(
                &input.run.name,
                &input.run.pipeline,
                &input.run.run_id,
                &input.run.branch,
            ),
        )
        .await?;
        let run = located.view;
        let Some(blue) = located.blue else {
            return Err(ToolError::InvalidInput(
                "the run has not started in Jenkins yet, so it has no artifacts; wait_for_run first".into(),
            ));
        };
        let Some(pr_name) = run.name.clone() else {
            return Err(ToolError::InvalidInput(
                "this run has no PipelineRun (it was started through the Jenkins/v1alpha2 API), and KubeSphere downloads artifacts only by PipelineRun; trigger runs with trigger_run to get downloadable artifacts".into(),
            ));
        };
        let cluster = project.cluster();
        let listed = all_artifacts(&ctx.client, &cluster, &blue).await?;
        let Some(found) = listed.iter().find(|a| a.path == wanted) else {
            let paths: Vec<&str> = listed.iter().take(20).map(|a| a.path.as_str()).collect();
            return Err(ToolError::InvalidInput(format!(
                "run {pr_name} has no artifact with path {wanted:?}; its artifacts: {}",
                if paths.is_empty() {
                    "none".to_string()
                } else {
                    paths.join(", ")
                }
            )));
        };
        let artifact = ArtifactView::of(found);
        if !artifact.downloadable {
            return Err(ToolError::InvalidInput(format!(
                "artifact {wanted:?} is not downloadable"
            )));
        }
        if artifact.size.is_some_and(|s| s > MAX_ARTIFACT_BYTES) {
            return Err(ToolError::InvalidInput(format!(
                "artifact {wanted:?} is {} bytes, over the {} MiB limit of this server",
                artifact.size.unwrap_or_default(),
                MAX_ARTIFACT_BYTES / (1024 * 1024)
            )));
        }
        let base = artifact_base(ctx.options.artifact_dir.as_deref()).await?;
        let mut parts = vec![project.name.clone(), pr_name.clone()];
        parts.extend(sanitize(&wanted));
        let file_name = parts.pop().unwrap_or_else(|| "artifact".into());
        let real_dir = make_dirs_inside(&base, &parts).await?;
        let dest = real_dir.join(&file_name);

        let mut body = ctx
            .client
            .download_artifact(&cluster, &project.name, &pr_name, &wanted)
            .await
            .map_err(|e| match e {
                // Upstream's 500 "failed to get artifact. the HTTP status code is 404".
                KsError::NotFound { message, .. } if message.contains("failed to get artifact") => {
                    ToolError::InvalidInput(format!(
                        "KubeSphere could not fetch artifact {wanted:?} from Jenkins ({message}); check the path with list_artifacts"
                    ))
                }
                other => other.into(),
            })?;
        if body.content_length.is_some_and(|l| l > MAX_ARTIFACT_BYTES) {
            return Err(ToolError::InvalidInput(format!(
                "artifact {wanted:?} is over the {} MiB limit of this server",
                MAX_ARTIFACT_BYTES / (1024 * 1024)
            )));
        }
        let tmp = tempfile::Builder::new()
            .prefix(".download-")
            .tempfile_in(&real_dir)
            .map_err(|e| io_err("create a file in", &real_dir, e))?;
        let std_file = tmp.reopen().map_err(|e| io_err("open a file in", &real_dir, e))?;
        let mut file = tokio::fs::File::from_std(std_file);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut head: Vec<u8> = Vec::new();
        while let Some(chunk) = body.next_chunk().await? {
            size += chunk.len() as u64;
            if size > MAX_ARTIFACT_BYTES {
                return Err(ToolError::InvalidInput(format!(
                    "artifact {wanted:?} is over the {} MiB limit of this server; nothing was kept",
                    MAX_ARTIFACT_BYTES / (1024 * 1024)
                )));
            }
            hasher.update(&chunk);
            if head.len() <= INLINE_MAX {
                let room = INLINE_MAX + 1 - head.len();
                head.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            file.write_all(&chunk)
                .await
                .map_err(|e| io_err("write", tmp.path(), e))?;
        }
        file.flush().await.map_err(|e| io_err("write", tmp.path(), e))?;
        drop(file);
        tmp.persist(&dest)
            .map_err(|e| io_err("save the artifact as", &dest, e.error))?;
        let sha256 = hex::encode(hasher.finalize());
        let text = (size as usize <= INLINE_MAX)
            .then(|| inline_text(&head))
            .flatten()
            .map(|t| ctx.client.redactor().redact(&t));
        Ok(DownloadArtifactOutput {
            project,
            run,
            artifact,
            file: dest.display().to_string(),
            size,
            sha256,
            text,
        })
    }
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> ToolError {
    ToolError::Internal(format!("cannot {what} {}: {e}", path.display()))
}

/// The artifact directory, created if needed, as a canonical path.
async fn artifact_base(configured: Option<&Path>) -> Result<PathBuf, ToolError> {
    let dir = match configured {
        Some(d) => d.to_path_buf(),
        None => default_dir()?,
    };
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| io_err("create the artifact directory", &dir, e))?;
    tokio::fs::canonicalize(&dir)
        .await
        .map_err(|e| io_err("resolve the artifact directory", &dir, e))
}

/// Creates `parts` under `base` one directory at a time, refusing to
/// follow a symbolic link or to pass through a file, so nothing is ever
/// created outside `base`. Returns the canonical directory.
async fn make_dirs_inside(base: &Path, parts: &[String]) -> Result<PathBuf, ToolError> {
    let mut cur = base.to_path_buf();
    for p in parts {
        cur.push(p);
        match tokio::fs::symlink_metadata(&cur).await {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(ToolError::InvalidInput(format!(
                    "refused: {} is a symbolic link and could lead outside the artifact directory {}",
                    cur.display(),
                    base.display()
                )));
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(ToolError::InvalidInput(format!(
                    "refused: {} exists and is not a directory",
                    cur.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match tokio::fs::create_dir(&cur).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_err("create the artifact directory", &cur, e)),
            },
            Err(e) => return Err(io_err("inspect", &cur, e)),
        }
    }
    let real = tokio::fs::canonicalize(&cur)
        .await
        .map_err(|e| io_err("resolve the artifact directory", &cur, e))?;
    if !real.starts_with(base) {
        return Err(ToolError::InvalidInput(format!(
            "refused: {} leads outside the artifact directory {}",
            cur.display(),
            base.display()
        )));
    }
    Ok(real)
}

/// A private directory under the system temp dir, made once per process
/// and kept after exit (so the files outlive a one-shot `call`).
fn default_dir() -> Result<PathBuf, ToolError> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("ks-devops-mcp-artifacts-")
            .tempdir()
            .map(|d| d.keep())
            .map_err(|e| format!("cannot create a temporary artifact directory: {e}; set --artifact-dir"))
    })
    .clone()
    .map_err(ToolError::Internal)
}

/// Turns an artifact path into safe relative path components: no empty,
/// `.` or `..` components, no absolute paths or drive letters, only
/// `[A-Za-z0-9._+@=,-]` (others become `_`), bounded length and depth.
pub fn sanitize(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for comp in path.split(['/', '\\']) {
        let c = comp.trim();
        if c.is_empty() || c == "." || c == ".." {
            continue;
        }
        let mut s: String = c
            .chars()
            .map(|ch| {
                if ch.is_ascii_alphanumeric() || "._+@=,-".contains(ch) {
                    ch
                } else {
                    '_'
                }
            })
            .collect();
        if s.chars().all(|ch| ch == '.') {
            s = "_".repeat(s.len());
        }
        s.truncate(MAX_COMPONENT);
        out.push(s);
    }
    if out.len() > MAX_DEPTH {
        out.drain(..out.len() - MAX_DEPTH);
    }
    if out.is_empty() {
        out.push("artifact".into());
    }
    out
}

/// The content as text when it is UTF-8 without NULs.
fn inline_text(bytes: &[u8]) -> Option<String> {
    if bytes.contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::ServerOptions;
    use crate::testing::{call, client, sim_with};
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn names_cannot_escape() {
        assert_eq!(sanitize("target/app.jar"), ["target", "app.jar"]);
        assert_eq!(sanitize("../../etc/passwd"), ["etc", "passwd"]);
        assert_eq!(sanitize("/abs/x"), ["abs", "x"]);
        assert_eq!(sanitize("a\\..\\..\\b"), ["a", "b"]);
        assert_eq!(sanitize("C:\\Windows\\x"), ["C_", "Windows", "x"]);
        assert_eq!(sanitize("..."), ["___"]);
        assert_eq!(sanitize("we ird+name%$.txt"), ["we_ird+name__.txt"]);
        assert_eq!(sanitize("/"), ["artifact"]);
        assert_eq!(sanitize(&"a/".repeat(40)).len(), MAX_DEPTH);
        assert!(sanitize(&"x".repeat(500))[0].len() <= MAX_COMPONENT);
    }

    fn ctx_in(sim: &ks_sim::Sim, dir: &Path) -> ToolCtx {
        ToolCtx::detached(
            client(sim, "tenant"),
            Arc::new(ServerOptions {
                artifact_dir: Some(dir.to_path_buf()),
                ..Default::default()
            }),
        )
    }

    async fn sim() -> ks_sim::Sim {
        sim_with(ks_sim::SimOptions {
            run_phase: std::time::Duration::from_millis(30),
            ..Default::default()
        })
        .await
    }

    #[tokio::test]
    async fn writes_file_with_sha256_and_inline_text() {
        let sim = sim().await;
        let dir = tempfile::tempdir().unwrap();
        let out = call(
            &ctx_in(&sim, dir.path()),
            "download_artifact",
            json!({"project": "stone-devops", "pipeline": "echo-pipeline", "run_id": "1", "branch": "main", "path": "target/demo-echo.jar"}),
        )
        .await
        .unwrap();
        let file = PathBuf::from(out["file"].as_str().unwrap());
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(out["size"].as_u64(), Some(bytes.len() as u64));
        let expect = hex::encode(Sha256::digest(&bytes));
        assert_eq!(out["sha256"], expect);
        assert!(file.starts_with(dir.path().canonicalize().unwrap()));
        assert!(file.ends_with("target/demo-echo.jar"));
        assert_eq!(out["text"].as_str().map(str::as_bytes), Some(bytes.as_slice()));
        // Downloading again replaces the file.
        let again = call(
            &ctx_in(&sim, dir.path()),
            "download_artifact",
            json!({"project": "stone-devops", "pipeline": "echo-pipeline", "run_id": "1", "branch": "main", "path": "target/demo-echo.jar"}),
        )
        .await
        .unwrap();
        assert_eq!(again["sha256"], out["sha256"]);
        // Only the v3 download route was used for the bytes, never the Jenkins url.
        let reqs = sim.requests();
        assert!(reqs.iter().any(|r| r.path.ends_with("/artifacts/download")));
        assert!(reqs.iter().all(|r| !r.path.contains("/job/")));
        let missing = call(
            &ctx_in(&sim, dir.path()),
            "download_artifact",
            json!({"project": "stone-devops", "pipeline": "echo-pipeline", "run_id": "1", "branch": "main", "path": "nope.txt"}),
        )
        .await
        .unwrap_err();
        assert!(missing.to_string().contains("target/demo-echo.jar"), "{missing}");
    }

    async fn finished_run(sim: &ks_sim::Sim, pipeline: &str, archive: &str) -> String {
        let jf = format!(
            "pipeline {{ agent any\n stages {{ stage('Pack') {{ steps {{ archiveArtifacts artifacts: '{archive}' }} }} }} }}"
        );
        assert!(sim.add_pipeline("host", "stone-devops", pipeline, &jf));
        let c = client(sim, "tenant");
        let pr = c
            .create_pipelinerun(&crate::kubesphere::Cluster::Host, "stone-devops", pipeline, None, &[])
            .await
            .unwrap();
        let name = pr.metadata.name;
        for _ in 0..200 {
            let pr = c
                .get_pipelinerun(&crate::kubesphere::Cluster::Host, "stone-devops", &name)
                .await
                .unwrap();
            if pr.status.completion_time.is_some() {
                return name;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("run {name} did not finish");
    }

    #[tokio::test]
    async fn artifact_names_that_try_to_escape_stay_inside() {
        let sim = sim().await;
        let name = finished_run(
            &sim,
            "escaper",
            "../../escape.txt,/etc/abs.txt,dir/../../up.txt,we ird+name%.txt",
        )
        .await;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("artifacts");
        let listed = call(
            &ctx_in(&sim, &dir),
            "list_artifacts",
            json!({"project": "stone-devops", "name": name}),
        )
        .await
        .unwrap();
        let paths: Vec<String> = listed["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["path"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(paths.len(), 4, "{paths:?}");
        let base = {
            std::fs::create_dir_all(&dir).unwrap();
            dir.canonicalize().unwrap()
        };
        for p in &paths {
            let out = call(
                &ctx_in(&sim, &dir),
                "download_artifact",
                json!({"project": "stone-devops", "name": name, "path": p}),
            )
            .await
            .unwrap_or_else(|e| panic!("{p}: {e}"));
            let file = PathBuf::from(out["file"].as_str().unwrap());
            assert!(
                file.starts_with(base.join("stone-devops").join(&name)),
                "{p} -> {}",
                file.display()
            );
            assert!(file.is_file());
            // The + and % survived KubeSphere's double decoding: the bytes name the path.
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(text.contains(&format!("simulated artifact {p} ")), "{p}: {text}");
        }
        // Nothing was written next to the artifact directory.
        let mut outside: Vec<String> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        outside.sort();
        assert_eq!(outside, ["artifacts"]);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_symlink_out_of_the_directory_is_refused() {
        let sim = sim().await;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("artifacts");
        let elsewhere = root.path().join("elsewhere");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.join("stone-devops")).unwrap();
        let err = call(
            &ctx_in(&sim, &dir),
            "download_artifact",
            json!({"project": "stone-devops", "pipeline": "echo-pipeline", "run_id": "1", "branch": "main", "path": "target/demo-echo.jar"}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    }
}
