//! A registered GitRepository: get, delete, and reading its files through
//! ks-devops' repository browsing routes
//! (`DV3/namespaces/{ns}/gitrepositories/{r}/branches[...]`,
//! `.../commits/{c}/rawfiles/{file}`, §16.1).
//!
//! Upstream quirks the calls work around (ks-devops
//! `pkg/kapis/devops/v1alpha3/gitops/{route.go,handler.go,git.go}`):
//! * the file path travels **base64-encoded** as one path segment; a `/`
//!   in the base64 text would make two segments (§16 U3), so the path is
//!   sent as `path` or `/path` (the handler trims one leading `/`),
//!   whichever encodes without `/`;
//! * a branch is used literally as a path segment, so a branch holding
//!   `/` (`feature/login`) cannot be named there at all: it is looked up
//!   in the branch list and read by its head commit instead;
//! * every git-side failure is a 500 with go-git's text.

use base64::Engine;
use reqwest::Method;
use serde::Deserialize;

use crate::client::{Body, KsClient};
use crate::error::{KsError, KsResult};
use crate::logs::ByteStream;
use crate::path::{ApiPath, BranchName, Cluster, gv, validate_label, validate_subdomain};
use crate::repos::GitRepository;

/// Longest file path accepted (bytes).
pub const MAX_REPO_PATH: usize = 1024;

/// A branch as ks-devops lists it (`gitops.BranchInfo`). Tags are listed
/// too (`refs/tags/...`): upstream lists every remote ref.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RepoBranch {
    #[serde(default, rename = "ref")]
    pub reference: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub commit: Option<RepoCommit>,
}

/// `gitops.Commit`: go-git's commit with Go field names (no JSON tags).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RepoCommit {
    #[serde(default, rename = "Hash")]
    pub hash: String,
    #[serde(default, rename = "Message")]
    pub message: String,
    #[serde(default, rename = "Author")]
    pub author: Option<RepoSignature>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RepoSignature {
    #[serde(default, rename = "Name")]
    pub name: String,
    #[serde(default, rename = "When")]
    pub when: Option<String>,
}

/// One page of the branch list.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoBranchPage {
    /// `null` past the end.
    #[serde(default)]
    pub items: Option<Vec<RepoBranch>>,
    #[serde(default)]
    pub total_items: u64,
}

/// Where to read a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RepoRevision {
    /// A branch without `/` (upstream can address it by name).
    Branch(BranchName),
    /// A full 40-hex commit hash.
    Commit(String),
}

/// A full commit hash, lower-cased; short hashes are refused (upstream's
/// `plumbing.NewHash` turns them into a hash nothing has).
pub fn parse_commit(s: &str) -> KsResult<String> {
    let c = s.trim().to_ascii_lowercase();
    if c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(c)
    } else {
        Err(KsError::Invalid(format!(
            "commit {:?} must be a full 40-character hexadecimal hash (KubeSphere cannot resolve short ones); omit it to read a branch",
            s.chars().take(60).collect::<String>()
        )))
    }
}

/// A repository file path, normalised: no leading `/`, no empty, `.` or
/// `..` part, no control character.
pub fn normalise_repo_path(p: &str) -> KsResult<String> {
    let t = p.trim();
    let t = t.strip_prefix("./").unwrap_or(t).trim_start_matches('/');
    let bad = |why: &str| {
        Err(KsError::Invalid(format!(
            "file path {:?} {why}; pass the path inside the repository, e.g. Jenkinsfile or deploy/app.yaml",
            p.chars().take(80).collect::<String>()
        )))
    };
    if t.is_empty() {
        return bad("is empty");
    }
    if t.len() > MAX_REPO_PATH {
        return bad("is too long");
    }
    if t.chars().any(char::is_control) {
        return bad("holds control characters");
    }
    if t.ends_with('/') {
        return bad("names a directory");
    }
    if t.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return bad("has an empty, '.' or '..' part");
    }
    Ok(t.to_string())
}

/// The `{file}` segment: base64 of the path or of `/path`, whichever has
/// no `/` (a `/` would split the segment upstream); `None` when both do.
pub fn file_segment(path: &str) -> Option<String> {
    let e = base64::engine::general_purpose::STANDARD;
    [e.encode(path), e.encode(format!("/{path}"))]
        .into_iter()
        .find(|s| !s.contains('/'))
}

fn repos_path(namespace: &str) -> KsResult<ApiPath> {
    validate_label("project (namespace) name", namespace)?;
    Ok(ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
        .lit("namespaces")
        .seg(namespace)
        .lit("gitrepositories"))
}

fn repo_path(namespace: &str, name: &str) -> KsResult<ApiPath> {
    validate_subdomain("git repository name", name)?;
    Ok(repos_path(namespace)?.seg(name))
}

impl KsClient {
    /// `GET DV3/namespaces/{ns}/gitrepositories/{name}`.
    pub async fn get_git_repository(&self, cluster: &Cluster, namespace: &str, name: &str) -> KsResult<GitRepository> {
        self.get_json(cluster, &repo_path(namespace, name)?, &[]).await
    }

    /// `DELETE DV3/namespaces/{ns}/gitrepositories/{name}` (answers the
    /// object as read before deletion; not returned).
    pub async fn delete_git_repository(&self, cluster: &Cluster, namespace: &str, name: &str) -> KsResult<()> {
        let path = repo_path(namespace, name)?;
        self.execute(Method::DELETE, cluster, &path, &[], Body::None, "application/json")
            .await?;
        Ok(())
    }

    /// `GET .../gitrepositories/{r}/branches?page&limit` (remote refs,
    /// tags included; `main`/`master` first).
    pub async fn list_repo_branches(
        &self,
        cluster: &Cluster,
        namespace: &str,
        repo: &str,
        page: u32,
        limit: u32,
    ) -> KsResult<RepoBranchPage> {
        let path = repo_path(namespace, repo)?.lit("branches");
        let q = [("page", page.max(1).to_string()), ("limit", limit.max(1).to_string())];
        let p: Option<RepoBranchPage> = self.get_json(cluster, &path, &q).await?;
        Ok(p.unwrap_or_default())
    }

    /// `GET .../branches/{b}/rawfiles/{b64}` or `.../commits/{c}/rawfiles/{b64}`:
    /// the file's bytes, streamed. `path` must be normalised
    /// ([`normalise_repo_path`]).
    pub async fn repo_raw_file(
        &self,
        cluster: &Cluster,
        namespace: &str,
        repo: &str,
        at: &RepoRevision,
        path: &str,
    ) -> KsResult<ByteStream> {
        let file = file_segment(path).ok_or_else(|| {
            KsError::Invalid(format!(
                "the file path {path:?} cannot be sent to KubeSphere: its base64 form (the way KubeSphere takes file paths) holds '/', which KubeSphere's router splits. Read it from the Git host instead"
            ))
        })?;
        let base = repo_path(namespace, repo)?;
        let p = match at {
            RepoRevision::Branch(b) => {
                if b.raw().contains('/') {
                    return Err(KsError::Invalid(format!(
                        "branch {} holds '/', which KubeSphere's browsing routes cannot name; read it by its commit",
                        b.raw()
                    )));
                }
                base.lit("branches").seg(b.raw()).lit("rawfiles").seg(&file)
            }
            RepoRevision::Commit(c) => base.lit("commits").seg(&parse_commit(c)?).lit("rawfiles").seg(&file),
        };
        // The route inherits the JSON `Produces`: only `*/*` gets the bytes.
        self.stream(cluster, &p, &[]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_segments_avoid_slashes() {
        assert_eq!(file_segment("Jenkinsfile").as_deref(), Some("SmVua2luc2ZpbGU="));
        for p in [
            "deploy/k8s/deployment.yaml",
            "a/b?c",
            "x",
            "very/long/path/to/some/file.txt",
        ] {
            if let Some(s) = file_segment(p) {
                assert!(!s.contains('/'), "{p}: {s}");
                let d = base64::engine::general_purpose::STANDARD.decode(&s).unwrap();
                let d = String::from_utf8(d).unwrap();
                assert_eq!(d.trim_start_matches('/'), p);
            }
        }
        // "??>" encodes to "Pz8+" and "/??>" to "Lz8/Pg==": one works.
        assert_eq!(file_segment("??>").as_deref(), Some("Pz8+"));
    }

    #[test]
    fn paths_and_commits_are_checked() {
        assert_eq!(normalise_repo_path("/Jenkinsfile").unwrap(), "Jenkinsfile");
        assert_eq!(normalise_repo_path("./deploy/a.yaml").unwrap(), "deploy/a.yaml");
        for bad in ["", "/", "a/../b", "a//b", "dir/", "a\u{0}b"] {
            assert!(normalise_repo_path(bad).is_err(), "{bad:?}");
        }
        assert!(parse_commit("F946A1C5B0A3E4D2C1B0A9F8E7D6C5B4A3F2E1D0").is_ok());
        assert!(parse_commit("f946a1c").is_err());
        assert!(parse_commit("../../x").is_err());
    }
}
