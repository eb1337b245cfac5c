//! `read_repository_file`: a bounded window of one file (e.g. the
//! Jenkinsfile) of a registered GitRepository, at a branch or a commit,
//! read through KubeSphere's repository browsing routes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::repo_browse::{RepoBranch, RepoRevision, normalise_repo_path, parse_commit};
use crate::kubesphere::{BranchName, Cluster, KsError};
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

/// Default and largest window.
pub const DEFAULT_MAX_BYTES: u32 = 16 * 1024;
pub const MAX_MAX_BYTES: u32 = 256 * 1024;
/// Farthest offset read to (the file is streamed from its start).
pub const MAX_OFFSET: u64 = 64 << 20;
/// Branch list pages read to find a branch.
const BRANCH_PAGES: u32 = 5;
const BRANCH_PAGE: u32 = 200;

pub struct ReadRepositoryFile;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ReadRepositoryFileInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// GitRepository name (list_git_repositories).
    pub repository: String,
    /// Path in the repository.
    #[serde(default)]
    pub path: Option<String>,
    /// Branch, e.g. main or feature/login (default: main or master).
    #[serde(default)]
    pub branch: Option<String>,
    /// Or a full 40-character commit hash.
    #[serde(default)]
    pub commit: Option<String>,
    /// next_offset of the previous call.
    #[serde(default)]
    pub offset: Option<u64>,
    /// Most bytes to return (default 16384, max 262144).
    #[serde(default)]
    pub max_bytes: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReadRepositoryFileOutput {
    pub project: ProjectRef,
    pub repository: String,
    pub path: String,
    /// Branch read (when read by branch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Commit read, or the branch head the branch list showed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Byte offset of `content` in the file.
    pub offset: u64,
    /// Line number (1-based) of the first line of `content`.
    pub start_line: u64,
    /// Bytes of the file in `content`.
    pub bytes: u64,
    /// The text; absent for a binary file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// The file holds NUL bytes: not shown.
    pub binary: bool,
    /// More of the file follows `content`.
    pub truncated: bool,
    /// Offset to pass for the next part, when truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u64>,
    /// File size in bytes, when the end was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// What was left out and how to get it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Finds a branch in the repository's branch list: `Ok(Some)` with its
/// entry, `Ok(None)` if absent; `want = None` picks the main branch.
async fn find_branch(
    ctx: &ToolCtx,
    cluster: &Cluster,
    ns: &str,
    repo: &str,
    want: Option<&BranchName>,
) -> Result<(Option<RepoBranch>, Vec<String>), ToolError> {
    let mut names = Vec::new();
    for page in 1..=BRANCH_PAGES {
        let p = ctx
            .client
            .list_repo_branches(cluster, ns, repo, page, BRANCH_PAGE)
            .await?;
        let items = p.items.unwrap_or_default();
        let n = items.len();
        for b in items {
            let Some(short) = b.reference.strip_prefix("refs/heads/") else {
                continue;
            };
            let hit = match want {
                Some(w) => short == w.raw(),
                // Upstream lists main/master first, then by name.
                None => true,
            };
            if hit {
                return Ok((Some(b.clone()), names));
            }
            names.push(short.to_string());
        }
        if n < BRANCH_PAGE as usize || u64::from(page * BRANCH_PAGE) >= p.total_items {
            break;
        }
    }
    Ok((None, names))
}

fn listed(names: &[String]) -> String {
    if names.is_empty() {
        "it lists no branch".into()
    } else {
        let mut s = names.iter().take(20).cloned().collect::<Vec<_>>().join(", ");
        if names.len() > 20 {
            s.push_str(", ...");
        }
        format!("its branches: {s}")
    }
}

/// Turns upstream's 500 texts into errors that say what to do.
fn explain(e: KsError, repo: &str, path: &str, at: &str) -> ToolError {
    let KsError::Upstream { path: p, message, .. } = &e else {
        return e.into();
    };
    let not_found = |m: String| {
        ToolError::Ks(KsError::NotFound {
            path: p.clone(),
            message: m,
        })
    };
    if message.contains("file not found") {
        not_found(format!(
            "repository {repo} has no file {path} at {at} (or it is a directory)"
        ))
    } else if message.contains("object not found") {
        not_found(format!(
            "commit {at} is not in KubeSphere's clone of repository {repo} (a commit pushed after KubeSphere cloned it is not seen; read by branch instead)"
        ))
    } else if message.contains("couldn't find remote ref") || message.contains("branch not found") {
        not_found(format!("repository {repo} has no branch {at}"))
    } else if message.contains("secret is not specified") {
        ToolError::Refused(format!(
            "KubeSphere reads files only of GitRepositories that name a credential, even public ones, and {repo} names none. Nothing was read. Register the repository again with credential_id (create_git_repository), or read the file on the Git host"
        ))
    } else if message.contains("failed to get token") {
        ToolError::Refused(format!(
            "the credential of repository {repo} holds no token KubeSphere can use to read it (it uses a basic-auth password or a secret-text secret; ssh-auth and kubeconfig credentials do not work here). Nothing was read"
        ))
    } else if message.contains("URL is not specified") {
        ToolError::Refused(format!("repository {repo} has no URL; nothing can be read from it"))
    } else {
        e.into()
    }
}

/// The window of `raw` (the file from byte 0 up to what was read) starting
/// at `offset`: (adjusted offset, bytes shown, text, binary).
fn window(raw: &[u8], offset: u64, max: usize, eof: bool) -> (u64, usize, Option<String>, bool) {
    let mut start = (offset as usize).min(raw.len());
    // Never start inside a UTF-8 character.
    while start < raw.len() && start < offset as usize + 3 && (raw[start] & 0xC0) == 0x80 {
        start += 1;
    }
    let avail = &raw[start..];
    let mut take = avail.len().min(max);
    if avail.contains(&0) && avail[..take].contains(&0) {
        return (start as u64, take, None, true);
    }
    let cut = take < avail.len() || !eof;
    if cut && take > 0 {
        // End on a character boundary, and on a line end when one is in
        // the second half.
        while take > 0 && take < avail.len() && (avail[take] & 0xC0) == 0x80 {
            take -= 1;
        }
        if let Some(nl) = avail[..take].iter().rposition(|b| *b == b'\n')
            && nl + 1 >= take / 2
        {
            take = nl + 1;
        }
    }
    (
        start as u64,
        take,
        Some(String::from_utf8_lossy(&avail[..take]).into_owned()),
        false,
    )
}

impl ToolDef for ReadRepositoryFile {
    const NAME: &'static str = "read_repository_file";
    const TITLE: &'static str = "Read a repository file";
    const DESCRIPTION: &'static str = "Reads a file (default Jenkinsfile) of a Git repository registered in a DevOps project, at a branch (default main/master) or full commit. Bounded: max_bytes from offset; when truncated, call again with next_offset. Binary files are not shown.";
    const EXAMPLE: &'static str =
        r#"{"project": "stone-devops", "repository": "demo-echo", "branch": "feature/login"}"#;
    const TOOLSET: Toolset = Toolset::Repos;
    const HINTS: Hints = Hints {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: true,
    };
    type Input = ReadRepositoryFileInput;
    type Output = ReadRepositoryFileOutput;

    async fn call(ctx: ToolCtx, input: ReadRepositoryFileInput) -> Result<ReadRepositoryFileOutput, ToolError> {
        let repo = input.repository.trim().to_string();
        crate::kubesphere::path::validate_subdomain("git repository name", &repo)?;
        let path = normalise_repo_path(input.path.as_deref().unwrap_or("Jenkinsfile"))?;
        let branch = input
            .branch
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(BranchName::parse)
            .transpose()?;
        let commit = input
            .commit
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(parse_commit)
            .transpose()?;
        if branch.is_some() && commit.is_some() {
            return Err(ToolError::InvalidInput("give branch or commit, not both".into()));
        }
        let offset = input.offset.unwrap_or(0);
        if offset > MAX_OFFSET {
            return Err(ToolError::InvalidInput(format!(
                "offset is beyond {} MiB; read the file on the Git host",
                MAX_OFFSET >> 20
            )));
        }
        let max = input.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
        if max == 0 || max > MAX_MAX_BYTES {
            return Err(ToolError::InvalidInput(format!("max_bytes must be 1-{MAX_MAX_BYTES}")));
        }
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        // Where to read: a commit as given; a branch by name unless it
        // holds '/' (upstream cannot name those), then by its head commit.
        let (at, shown_branch, shown_commit) = match (&branch, &commit) {
            (_, Some(c)) => (RepoRevision::Commit(c.clone()), None, Some(c.clone())),
            (Some(b), None) if !b.raw().contains('/') => {
                (RepoRevision::Branch(b.clone()), Some(b.raw().to_string()), None)
            }
            (want, None) => {
                let (found, names) = find_branch(&ctx, &cluster, &project.name, &repo, want.as_ref())
                    .await
                    .map_err(|e| match e {
                        ToolError::Ks(k) => explain(k, &repo, &path, "its branches"),
                        other => other,
                    })?;
                let Some(found) = found else {
                    return Err(ToolError::Ks(KsError::NotFound {
                        path: format!("gitrepositories/{repo}/branches"),
                        message: match want {
                            Some(w) => format!("repository {repo} has no branch {}; {}", w.raw(), listed(&names)),
                            None => format!("repository {repo} has no branch"),
                        },
                    }));
                };
                let name = found.name.clone();
                let hash = found.commit.as_ref().map(|c| c.hash.clone()).filter(|h| !h.is_empty());
                match (name.contains('/'), &hash) {
                    (false, _) => (RepoRevision::Branch(BranchName::from_raw(&name)?), Some(name), hash),
                    (true, Some(h)) => (RepoRevision::Commit(parse_commit(h)?), Some(name), hash),
                    (true, None) => {
                        return Err(ToolError::Ks(KsError::InvalidResponse {
                            path: format!("gitrepositories/{repo}/branches"),
                            reason: format!("branch {name} is listed without a commit"),
                        }));
                    }
                }
            }
        };
        let at_text = match &at {
            RepoRevision::Branch(b) => b.raw().to_string(),
            RepoRevision::Commit(c) => shown_branch.clone().map(|b| format!("{b} ({c})")).unwrap_or(c.clone()),
        };
        let mut stream = ctx
            .client
            .repo_raw_file(&cluster, &project.name, &repo, &at, &path)
            .await
            .map_err(|e| explain(e, &repo, &path, &at_text))?;
        // Stream from 0: count the lines before `offset` without keeping
        // those bytes, then keep the window and a few bytes past it (to
        // know whether more follows).
        let want = max as usize + 4;
        let mut buf: Vec<u8> = Vec::new();
        let mut pos: u64 = 0;
        let mut lines_before: u64 = 0;
        let mut eof = false;
        while buf.len() < want {
            let Some(chunk) = stream.next_chunk().await? else {
                eof = true;
                break;
            };
            let mut part = &chunk[..];
            if pos < offset {
                let skip = ((offset - pos) as usize).min(part.len());
                lines_before += part[..skip].iter().filter(|b| **b == b'\n').count() as u64;
                pos += skip as u64;
                part = &part[skip..];
            }
            buf.extend_from_slice(part);
            pos += part.len() as u64;
        }
        if eof && offset > pos {
            return Err(ToolError::InvalidInput(format!(
                "offset {offset} is past the end of {path} ({pos} bytes)"
            )));
        }
        let (rel, take, content, binary) = window(&buf, 0, max as usize, eof);
        let start = offset + rel;
        let end = start + take as u64;
        let truncated = !binary && (!eof || rel + (take as u64) < buf.len() as u64);
        let start_line = lines_before + 1;
        let note = if binary {
            Some(format!(
                "{path} is a binary file{}: not shown",
                if eof { format!(" of {pos} bytes") } else { String::new() }
            ))
        } else if truncated {
            Some(format!(
                "cut: bytes {start}-{end} shown (lines from {start_line}); more follows: call again with offset {end}"
            ))
        } else if start > 0 {
            Some(format!("bytes before {start} left out (lines before {start_line})"))
        } else {
            None
        };
        Ok(ReadRepositoryFileOutput {
            project,
            repository: repo,
            path,
            branch: shown_branch,
            commit: shown_commit,
            offset: start,
            start_line,
            bytes: if binary { 0 } else { take as u64 },
            content,
            binary,
            truncated,
            next_offset: truncated.then_some(end),
            size: eof.then_some(pos),
            note,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::window;
    use crate::testing::{call, ctx, sim};
    use serde_json::json;

    #[test]
    fn windows_end_on_lines_and_characters() {
        let raw = "ab\ncdé\nfg\n".as_bytes();
        let (s, n, t, b) = window(raw, 0, 7, true);
        assert_eq!((s, n, t.as_deref(), b), (0, 3, Some("ab\n"), false));
        // An offset inside 'é' moves to the next character.
        let (s, _, t, _) = window(raw, 6, 100, true);
        assert_eq!((s, t.as_deref()), (7, Some("\nfg\n")));
        let (_, _, t, b) = window(b"a\0b", 0, 10, true);
        assert!(b && t.is_none());
    }

    #[tokio::test]
    async fn reads_the_jenkinsfile_by_branch_and_commit() {
        let sim = sim().await;
        let c = ctx(&sim);
        let out = call(
            &c,
            "read_repository_file",
            json!({"project": "stone-devops", "repository": "demo-echo"}),
        )
        .await
        .unwrap();
        assert_eq!(out["branch"], "main");
        assert_eq!(out["commit"], "f946a1c5b0a3e4d2c1b0a9f8e7d6c5b4a3f2e1d0");
        assert!(out["content"].as_str().unwrap().contains("checkout main"), "{out:#}");
        assert_eq!(out["truncated"], false);
        assert_eq!(out["size"], out["bytes"]);
        // A branch holding '/' is read through its head commit.
        let out = call(
            &c,
            "read_repository_file",
            json!({"project": "stone-devops", "repository": "demo-echo", "branch": "feature/login"}),
        )
        .await
        .unwrap();
        assert!(
            out["content"].as_str().unwrap().contains("checkout feature/login"),
            "{out:#}"
        );
        assert_eq!(out["commit"], "5e6f7a8b9c0d1e2f3a4b5c6d7e8f90a1b2c3d4e5");
        assert!(sim.requests().iter().any(|r| r.path.contains("/commits/5e6f7a8b")));
        // The encoded form means the same branch.
        let out = call(
            &c,
            "read_repository_file",
            json!({"project": "stone-devops", "repository": "demo-echo", "branch": "feature%2Flogin", "path": "web/login.html"}),
        )
        .await
        .unwrap();
        assert!(out["content"].as_str().unwrap().contains("<form"), "{out:#}");
        // An older commit.
        let out = call(
            &c,
            "read_repository_file",
            json!({"project": "stone-devops", "repository": "demo-echo", "commit": "9d4c1b2a3f4e5d6c7b8a99887766554433221100", "path": "README.md"}),
        )
        .await
        .unwrap();
        assert!(out["content"].as_str().unwrap().starts_with("# demo-echo"));
        // A path whose base64 form holds '/' goes as "/path" (one segment).
        let out = call(
            &c,
            "read_repository_file",
            json!({"project": "stone-devops", "repository": "demo-echo", "path": "docs/über.md"}),
        )
        .await
        .unwrap();
        assert_eq!(out["content"], "# Über\n");
        assert!(
            sim.requests()
                .iter()
                .any(|r| r.path.contains("/rawfiles/L2RvY3Mvw7xiZXIubWQ"))
        );
    }

    #[tokio::test]
    async fn large_files_come_in_windows() {
        let sim = sim().await;
        let c = ctx(&sim);
        let args = |offset: u64| json!({"project": "stone-devops", "repository": "demo-echo", "path": "testdata/large.txt", "offset": offset, "max_bytes": 1000});
        let first = call(&c, "read_repository_file", args(0)).await.unwrap();
        assert_eq!(first["truncated"], true);
        let next = first["next_offset"].as_u64().unwrap();
        assert!(next <= 1000 && next > 500, "{first:#}");
        assert!(first["content"].as_str().unwrap().ends_with('\n'));
        assert!(first["note"].as_str().unwrap().contains("call again with offset"));
        let second = call(&c, "read_repository_file", args(next)).await.unwrap();
        assert!(second["content"].as_str().unwrap().starts_with("line "), "{second:#}");
        assert!(second["start_line"].as_u64().unwrap() > 1);
        let bin = call(
            &c,
            "read_repository_file",
            json!({"project": "stone-devops", "repository": "demo-echo", "path": "assets/logo.png"}),
        )
        .await
        .unwrap();
        assert_eq!(bin["binary"], true);
        assert!(bin.get("content").is_none());
    }

    #[tokio::test]
    async fn clear_errors() {
        let sim = sim().await;
        let c = ctx(&sim);
        let cases = [
            (json!({"path": "nope.txt"}), "no file nope.txt"),
            (json!({"branch": "nope"}), "no branch nope"),
            (
                json!({"branch": "feature/nope"}),
                "no branch feature/nope; its branches: main",
            ),
            (json!({"commit": "f946a1c"}), "full 40-character"),
            (
                json!({"commit": "0000000000000000000000000000000000000000"}),
                "not in KubeSphere's clone",
            ),
            (json!({"path": "../etc/passwd"}), "'..' part"),
            (
                json!({"branch": "main", "commit": "f946a1c5b0a3e4d2c1b0a9f8e7d6c5b4a3f2e1d0"}),
                "not both",
            ),
        ];
        for (extra, want) in cases {
            let mut args = json!({"project": "stone-devops", "repository": "demo-echo"});
            for (k, v) in extra.as_object().unwrap() {
                args[k] = v.clone();
            }
            let err = call(&c, "read_repository_file", args).await.unwrap_err();
            assert!(err.to_string().contains(want), "{want}: {err}");
        }
        // A repository without a credential cannot be browsed upstream.
        call(
            &c,
            "create_git_repository",
            json!({"project": "stone-devops", "name": "public", "url": "https://github.com/org/public.git"}),
        )
        .await
        .unwrap();
        let err = call(
            &c,
            "read_repository_file",
            json!({"project": "stone-devops", "repository": "public"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "refused");
        assert!(err.to_string().contains("credential_id"), "{err}");
    }
}
