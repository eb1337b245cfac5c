//! Repository browsing of registered GitRepositories (§16.1):
//! `DV3/namespaces/{ns}/gitrepositories/{r}/branches[/{b}[/commits|files|rawfiles/{f}]]`
//! and `.../commits/{c}[/files|rawfiles/{f}]`.
//!
//! upstream: ks-devops `pkg/kapis/devops/v1alpha3/gitops/{route.go,handler.go,git.go,factory.go,types.go}`.
//! ks-devops clones the repository (go-git) into its own disk on first use
//! and answers from that clone. What the routes get wrong, reproduced here:
//! * `{file}` is the file path **base64 (standard) encoded** as one path
//!   segment (`route.go:38` `pathParameterFile`, `handler.go:43`
//!   `base64.StdEncoding.DecodeString`); a `/` in the base64 text makes two
//!   segments (go-restful routes on the decoded path, §16 U3): 404.
//! * `{branch}` is used as given: a branch holding `/` cannot be addressed
//!   (`%2F` is two segments; `%252F` reaches the handler as the literal
//!   `feature%2Flogin`, no such branch).
//! * Every git-side failure is `kapis.HandleError` -> 500 with the go-git
//!   error text (`pkg/kapis/utils.go:69-112`): unknown branch, unknown
//!   commit, missing file, a directory.
//! * `getAndCheckGitRepo` (`factory.go:190-205`) refuses a repository without
//!   `spec.url` or without `spec.secret` (even a public one) with a 500.

use std::collections::BTreeMap;

use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::routes::Ctx;
use crate::state::{self, State};
use crate::util;

/// One commit of a simulated remote: its whole tree.
#[derive(Debug, Clone)]
pub(crate) struct GitCommit {
    pub hash: String,
    pub tree: String,
    pub message: String,
    pub author: String,
    pub email: String,
    pub when: DateTime<Utc>,
    pub parents: Vec<String>,
    pub files: BTreeMap<String, Vec<u8>>,
}

/// A simulated Git remote: refs (full names) to commits.
#[derive(Debug, Clone, Default)]
pub(crate) struct GitRemote {
    pub refs: BTreeMap<String, String>,
    pub commits: BTreeMap<String, GitCommit>,
    /// The branch HEAD points at.
    pub head: String,
}

fn hash_of(seed: &str) -> String {
    format!(
        "{:016x}{:016x}{:08x}",
        util::fnv(seed),
        util::fnv(&format!("{seed}#")),
        util::fnv(&format!("{seed}##")) as u32
    )
}

fn commit(hash: &str, message: &str, when: DateTime<Utc>, parents: &[&str], files: &[(&str, Vec<u8>)]) -> GitCommit {
    GitCommit {
        hash: hash.to_string(),
        tree: hash_of(&format!("tree:{hash}")),
        message: format!("{message}\n"),
        author: "Tenant".into(),
        email: "tenant@kubesphere.io".into(),
        when,
        parents: parents.iter().map(|p| p.to_string()).collect(),
        files: files.iter().map(|(p, b)| (p.to_string(), b.clone())).collect(),
    }
}

/// Bytes of a small PNG-like binary file (NUL bytes in it).
fn binary_blob() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    v.extend((0u8..=255).cycle().take(600));
    v
}

/// A text file of about `n` bytes, numbered lines.
fn big_text(n: usize) -> Vec<u8> {
    let mut s = String::with_capacity(n + 64);
    let mut i = 1;
    while s.len() < n {
        s.push_str(&format!("line {i:06}: the quick brown fox jumps over the lazy dog\n"));
        i += 1;
    }
    s.into_bytes()
}

/// `github.com/kubesphere-sigs/demo-echo`: the repository behind the
/// demo's GitRepository `demo-echo` and multi-branch pipeline
/// `echo-pipeline` (same branches and head commits).
pub(crate) fn demo_echo_remote(now: DateTime<Utc>) -> GitRemote {
    let day = Duration::days(1);
    let root = "9d4c1b2a3f4e5d6c7b8a99887766554433221100";
    let main = "f946a1c5b0a3e4d2c1b0a9f8e7d6c5b4a3f2e1d0";
    let feature = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
    let docs = "1122334455667788990011223344556677889900";
    let login = "5e6f7a8b9c0d1e2f3a4b5c6d7e8f90a1b2c3d4e5";
    let readme = b"# demo-echo\n\nAn echo service for KubeSphere DevOps demos.\n".to_vec();
    let main_go = b"package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"echo\")\n}\n".to_vec();
    let deploy =
        b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: demo-echo\nspec:\n  replicas: 1\n".to_vec();
    let main_files: Vec<(&str, Vec<u8>)> = vec![
        ("README.md", readme.clone()),
        ("Jenkinsfile", state::ECHO_MAIN_JENKINSFILE.as_bytes().to_vec()),
        ("main.go", main_go.clone()),
        ("deploy/k8s/deployment.yaml", deploy.clone()),
        ("assets/logo.png", binary_blob()),
        ("testdata/large.txt", big_text(100_000)),
        // Its base64 form holds '/', the form of "/docs/über.md" does not.
        ("docs/über.md", "# Über\n".as_bytes().to_vec()),
    ];
    let with = |base: &[(&'static str, Vec<u8>)], extra: &[(&'static str, Vec<u8>)]| {
        let mut v: Vec<(&str, Vec<u8>)> = base.to_vec();
        for (p, b) in extra {
            v.retain(|(q, _)| q != p);
            v.push((p, b.clone()));
        }
        v
    };
    let feature_files = with(
        &main_files,
        &[("Jenkinsfile", state::ECHO_FEATURE_JENKINSFILE.as_bytes().to_vec())],
    );
    let login_files = with(
        &main_files,
        &[
            ("Jenkinsfile", state::ECHO_LOGIN_JENKINSFILE.as_bytes().to_vec()),
            ("web/login.html", b"<form action=\"/login\">\n</form>\n".to_vec()),
        ],
    );
    let docs_files: Vec<(&str, Vec<u8>)> = vec![("README.md", readme.clone()), ("docs/index.md", b"# Docs\n".to_vec())];
    let mut r = GitRemote {
        head: "main".into(),
        ..Default::default()
    };
    for c in [
        commit(root, "initial commit", now - day * 30, &[], &[("README.md", readme)]),
        commit(main, "build and test with Jenkins", now - day * 7, &[root], &main_files),
        commit(
            feature,
            "shorter pipeline for the feature",
            now - day * 6,
            &[main],
            &feature_files,
        ),
        commit(docs, "docs only", now - day * 5, &[root], &docs_files),
        commit(login, "login page", now - day * 4, &[main], &login_files),
    ] {
        r.commits.insert(c.hash.clone(), c);
    }
    for (name, c) in [
        ("refs/heads/main", main),
        ("refs/heads/feature-branch", feature),
        ("refs/heads/docs", docs),
        ("refs/heads/feature/login", login),
        // `remote.List` returns tags too; the branch list shows them (`git.go` ListBranches).
        ("refs/tags/v1.0.0", main),
    ] {
        r.refs.insert(name.into(), c.into());
    }
    r
}

/// Any other repository URL: branches `main` and `feature/login`, each with
/// a Jenkinsfile (the same convention as a new multi-branch pipeline's
/// repository).
fn generated_remote(url: &str, now: DateTime<Utc>) -> GitRemote {
    let main = hash_of(&format!("{url}:main"));
    let login = hash_of(&format!("{url}:feature/login"));
    let mut r = GitRemote {
        head: "main".into(),
        ..Default::default()
    };
    let readme = format!("# {url}\n").into_bytes();
    for c in [
        commit(
            &main,
            "initial commit",
            now - Duration::days(2),
            &[],
            &[
                ("README.md", readme.clone()),
                ("Jenkinsfile", state::HELLO_JENKINSFILE.as_bytes().to_vec()),
            ],
        ),
        commit(
            &login,
            "login page",
            now - Duration::days(1),
            &[main.as_str()],
            &[
                ("README.md", readme),
                ("Jenkinsfile", state::ECHO_LOGIN_JENKINSFILE.as_bytes().to_vec()),
            ],
        ),
    ] {
        r.commits.insert(c.hash.clone(), c);
    }
    r.refs.insert("refs/heads/main".into(), main);
    r.refs.insert("refs/heads/feature/login".into(), login);
    r
}

/// The remote key of a URL (scheme, `git@` and `.git` ignored).
pub(crate) fn remote_key(url: &str) -> String {
    let u = url.trim();
    let u = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .or_else(|| u.strip_prefix("git@"))
        .unwrap_or(u);
    u.replacen(':', "/", 1)
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_ascii_lowercase()
}

/// The handler errors (`kapis.HandleError` / `HandleBadRequest`): text, HTML
/// special characters escaped. upstream: ks-devops pkg/kapis/utils.go:108-112.
fn handle(code: u16, msg: &str) -> Response {
    let sanitized = msg.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    util::text_err(code, &sanitized)
}

/// `getRepoService` -> `NewRepoService` -> `getAndCheckGitRepo` (factory.go):
/// the remote the clone comes from, or the error answer.
fn repo_remote<'a>(
    st: &'a mut State,
    cluster: &str,
    ns: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<&'a GitRemote, Response> {
    let Some(repo) = st.project(cluster, ns).and_then(|p| p.gitrepos.get(name)).cloned() else {
        // k8s NotFound through HandleError: 404.
        return Err(handle(
            404,
            &format!("gitrepositories.devops.kubesphere.io \"{name}\" not found"),
        ));
    };
    let url = repo.pointer("/spec/url").and_then(Value::as_str).unwrap_or("");
    if url.is_empty() {
        return Err(handle(500, "git repository URL is not specified"));
    }
    let Some(secret) = repo.pointer("/spec/secret").filter(|s| s.is_object()) else {
        return Err(handle(500, "git repository secret is not specified"));
    };
    let sname = secret.get("name").and_then(Value::as_str).unwrap_or("");
    let sns = secret.get("namespace").and_then(Value::as_str).unwrap_or("");
    // factory.go:100: only a reference with both name and namespace is read.
    if !sname.is_empty() && !sns.is_empty() {
        let Some(s) = st.project(cluster, sns).and_then(|p| p.secrets.get(sname)) else {
            return Err(handle(404, &format!("secrets \"{sname}\" not found")));
        };
        // getTokenFromSecret (factory.go:207-220): basic-auth password,
        // Opaque `token`, secret-text `secret`; anything else has none.
        let key = match s.get("type").and_then(Value::as_str).unwrap_or("Opaque") {
            "kubernetes.io/basic-auth" | "credential.devops.kubesphere.io/basic-auth" => "password",
            "Opaque" => "token",
            "credential.devops.kubesphere.io/secret-text" => "secret",
            _ => "",
        };
        let token = s
            .pointer(&format!("/data/{key}"))
            .and_then(Value::as_str)
            .filter(|_| !key.is_empty())
            .unwrap_or("");
        if token.is_empty() {
            return Err(handle(500, "failed to get token"));
        }
    }
    let key = remote_key(url);
    if key.contains("missing") || key.contains("notfound") {
        // go-git PlainClone of a repository the host does not have.
        return Err(handle(500, "repository not found"));
    }
    Ok(st.git_remotes.entry(key).or_insert_with(|| generated_remote(url, now)))
}

/// go-git `object.Signature` marshalled without JSON tags.
fn signature(c: &GitCommit) -> Value {
    json!({"Name": c.author, "Email": c.email, "When": util::k8s_time(c.when)})
}

/// `gitops.Commit` (no JSON tags: Go field names; `ParentHashes` null when empty).
fn commit_json(c: &GitCommit) -> Value {
    json!({
        "Hash": c.hash,
        "Author": signature(c),
        "Committer": signature(c),
        "MergeTag": "",
        "Message": c.message,
        "TreeHash": c.tree,
        "ParentHashes": if c.parents.is_empty() { Value::Null } else { json!(c.parents) },
    })
}

/// `GetPageParameters` + `ListOptions.Correct` (gitops/types.go, common/options.go):
/// `pageNumber`/`page` (default 1), `pageSize`/`limit` (default 10); 0 or
/// less becomes page 1 / limit 20.
fn page_options(ctx: &Ctx) -> (usize, usize) {
    let num = |a: &str, b: &str, d: i64| {
        ctx.q(a)
            .filter(|v| !v.is_empty())
            .or_else(|| ctx.q(b))
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(d)
    };
    let page = num("pageNumber", "page", 1);
    let limit = num("pageSize", "limit", 10);
    (
        if page <= 0 { 1 } else { page as usize },
        if limit <= 0 { 20 } else { limit as usize },
    )
}

/// `utils.GetPage` plus the never-initialised `Items`: a page past the end
/// is `"items": null`.
fn list_result(all: Vec<Value>, page: usize, limit: usize) -> Value {
    let total = all.len();
    let start = (page - 1).saturating_mul(limit);
    let items: Vec<Value> = all.into_iter().skip(start).take(limit).collect();
    json!({
        "items": if items.is_empty() { Value::Null } else { json!(items) },
        "totalItems": total,
        "options": {"page": page, "limit": limit},
    })
}

/// The short name of a ref (`plumbing.ReferenceName.Short`).
fn short(r: &str) -> &str {
    r.strip_prefix("refs/heads/")
        .or_else(|| r.strip_prefix("refs/tags/"))
        .or_else(|| r.strip_prefix("refs/remotes/"))
        .unwrap_or(r)
}

/// The branch list as `ListBranches` builds it (remote refs, `HEAD` only
/// `withHead`, main/master first then by short name).
fn branch_infos(remote: &GitRemote, with_head: bool) -> Vec<Value> {
    let mut refs: Vec<(String, String)> = remote.refs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if with_head && let Some(h) = remote.refs.get(&format!("refs/heads/{}", remote.head)) {
        refs.push(("HEAD".into(), h.clone()));
    }
    // utils.SortRefsByShortName.
    refs.sort_by(|(a, _), (b, _)| {
        let main = |n: &str| matches!(n.to_ascii_lowercase().as_str(), "main" | "master");
        let (sa, sb) = (short(a), short(b));
        main(sb).cmp(&main(sa)).then_with(|| sa.cmp(sb))
    });
    refs.iter()
        .map(|(r, h)| {
            json!({"ref": r, "name": short(r),
                   "commit": remote.commits.get(h).map(commit_json).unwrap_or(Value::Null)})
        })
        .collect()
}

/// `CheckOutBranch`: the branch's commit, or go-git's fetch error.
fn checkout<'a>(remote: &'a GitRemote, branch: &str) -> Result<&'a GitCommit, Response> {
    if branch.is_empty() {
        return Err(handle(500, "invalid argument"));
    }
    remote
        .refs
        .get(&format!("refs/heads/{branch}"))
        .and_then(|h| remote.commits.get(h))
        .ok_or_else(|| {
            handle(
                500,
                &format!("fetch origin failed: couldn't find remote ref \"refs/heads/{branch}\""),
            )
        })
}

/// `CommitObject(plumbing.NewHash(c))`: a full hex hash; anything else
/// becomes a hash nothing has.
fn commit_by_hash<'a>(remote: &'a GitRemote, hash: &str) -> Result<&'a GitCommit, Response> {
    remote
        .commits
        .get(&hash.to_ascii_lowercase())
        .filter(|_| hash.len() == 40)
        .ok_or_else(|| handle(500, "object not found"))
}

/// The `{file}` segment: standard base64 with padding (Go's
/// `StdEncoding.DecodeString`, which skips `\r` and `\n`).
fn decode_file(seg: &str) -> Result<String, Response> {
    use base64::Engine;
    let cleaned: String = seg.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    match base64::engine::general_purpose::STANDARD.decode(cleaned.as_bytes()) {
        Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        Err(e) => {
            let at = match e {
                base64::DecodeError::InvalidByte(i, _) | base64::DecodeError::InvalidLastSymbol(i, _) => i,
                _ => cleaned.len(),
            };
            Err(handle(400, &format!("illegal base64 data at input byte {at}")))
        }
    }
}

/// `GetFile` on a commit: the blob at `file` (one leading `/` trimmed); a
/// directory or a missing path is go-git's `file not found`.
fn file_in<'a>(c: &'a GitCommit, file: &str) -> Result<(&'a str, &'a Vec<u8>), Response> {
    if file.is_empty() {
        return Err(handle(500, "invalid argument"));
    }
    let p = file.strip_prefix('/').unwrap_or(file);
    c.files
        .get_key_value(p)
        .map(|(k, v)| (k.as_str(), v))
        .ok_or_else(|| handle(500, "file not found"))
}

/// `FileInfo` JSON (`FileNameData` embedded: `data` base64 or null).
fn file_info(path: &str, data: &[u8], with_content: bool) -> Value {
    let name = path.rsplit('/').next().unwrap_or(path);
    json!({
        "data": if with_content { json!(util::b64(data)) } else { Value::Null },
        "name": name,
        "oldName": "",
        "size": data.len(),
        "isDir": false,
        "isBinary": data.contains(&0),
        "isSymlink": false,
    })
}

/// Go's `mime.TypeByExtension` with its built-in table (the image has no
/// mime.types), `application/octet-stream` otherwise (handler.go:78-82).
fn mime_of(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "css" => "text/css; charset=utf-8",
        "gif" => "image/gif",
        "htm" | "html" => "text/html; charset=utf-8",
        "jpeg" | "jpg" => "image/jpeg",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "wasm" => "application/wasm",
        "webp" => "image/webp",
        "xml" => "text/xml; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `DownloadFile`: the bytes, a Content-Disposition with the base name.
fn raw_file(path: &str, data: &[u8]) -> Response {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut r = util::resp(200, mime_of(name), data.to_vec());
    util::set_header(
        &mut r,
        "content-disposition",
        &format!("attachment; filename=\"{name}\""),
    );
    r
}

fn truthy(v: Option<&str>) -> bool {
    // strconv.ParseBool, errors ignored (handler.go).
    matches!(v, Some("1" | "t" | "T" | "TRUE" | "true" | "True"))
}

/// The browsing routes; `None` when `rest` is none of them.
pub(crate) fn dv3(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    let (ns, repo, tail) = match rest {
        ["namespaces", ns, "gitrepositories", repo, tail @ ..] if !tail.is_empty() => (*ns, *repo, tail),
        _ => return None,
    };
    // Only the read routes are modelled; the writing ones (checkouts, pulls,
    // files POST/DELETE, uploads, configs) answer 405 here (stricter).
    let known = matches!(
        tail,
        ["branches"]
            | ["branches", _]
            | ["branches", _, "commits"]
            | ["branches", _, "files"]
            | ["branches", _, "files" | "rawfiles", _]
            | ["commits", _]
            | ["commits", _, "files" | "rawfiles", _]
    );
    if !known {
        return None;
    }
    if ctx.method() != "GET" {
        return Some(util::restful(405));
    }
    let (cluster, now) = (ctx.cluster.clone(), ctx.now);
    let with_head = truthy(ctx.q("withHead"));
    let with_content = truthy(ctx.q("withContent"));
    let (page, limit) = page_options(ctx);
    let file_q = ctx.q("file").unwrap_or("").to_string();
    let remote = match repo_remote(ctx.st, &cluster, ns, repo, now) {
        Ok(r) => r.clone(),
        Err(r) => return Some(r),
    };
    Some(match tail {
        ["branches"] => util::ok_json(&list_result(branch_infos(&remote, with_head), page, limit)),
        // GetBranch: a list with limit 1000 and HEAD, matched by short name.
        ["branches", b] => match branch_infos(&remote, true)
            .into_iter()
            .take(1000)
            .find(|i| i["name"] == *b)
        {
            Some(i) => util::ok_json(&i),
            None => handle(500, "branch not found"),
        },
        ["branches", b, "commits"] => match checkout(&remote, b) {
            Err(r) => r,
            Ok(head) => {
                let mut log = Vec::new();
                let mut next = Some(head);
                while let Some(c) = next {
                    if file_q.is_empty() || c.files.contains_key(file_q.trim_start_matches('/')) {
                        log.push(json!({"commit": commit_json(c)}));
                    }
                    next = c.parents.first().and_then(|p| remote.commits.get(p));
                }
                util::ok_json(&list_result(log, page, limit))
            }
        },
        ["branches", b, "files"] => {
            // ListFiles: `file` must be a directory ending in '/'.
            if file_q.is_empty() || !file_q.ends_with('/') {
                return Some(handle(500, "invalid argument"));
            }
            match checkout(&remote, b) {
                Err(r) => r,
                Ok(c) => {
                    let dir = file_q.trim_start_matches('/').trim_end_matches('/');
                    let prefix = if dir.is_empty() {
                        String::new()
                    } else {
                        format!("{dir}/")
                    };
                    if !dir.is_empty() && !c.files.keys().any(|k| k.starts_with(&prefix)) {
                        return Some(handle(500, "directory not found"));
                    }
                    let mut items = vec![json!({"data": null, "name": dir, "oldName": "", "size": 0,
                        "isDir": true, "isBinary": false, "isSymlink": false, "commit": null})];
                    let mut dirs: Vec<&str> = Vec::new();
                    for (path, data) in &c.files {
                        let Some(rel) = path.strip_prefix(&prefix) else {
                            continue;
                        };
                        match rel.split_once('/') {
                            Some((d, _)) => {
                                if !dirs.contains(&d) {
                                    dirs.push(d);
                                }
                            }
                            None => {
                                let mut v = file_info(path, data, with_content);
                                v["commit"] = Value::Null;
                                items.push(v);
                            }
                        }
                    }
                    for d in dirs {
                        items.push(json!({"data": null, "name": d, "oldName": "", "size": 0,
                            "isDir": true, "isBinary": false, "isSymlink": false, "commit": null}));
                    }
                    let total = items.len();
                    util::ok_json(&json!({"items": items, "totalItems": total, "options": {"page": 1, "limit": 10000}}))
                }
            }
        }
        ["branches", b, kind, f] => {
            let file = match decode_file(f) {
                Ok(x) => x,
                Err(r) => return Some(r),
            };
            match checkout(&remote, b).and_then(|c| file_in(c, &file)) {
                Err(r) => r,
                Ok((p, data)) if *kind == "rawfiles" => raw_file(p, data),
                Ok((p, data)) => util::ok_json(&file_info(p, data, with_content)),
            }
        }
        ["commits", c] => match commit_by_hash(&remote, c) {
            Ok(c) => util::ok_json(&commit_json(c)),
            Err(r) => r,
        },
        ["commits", c, kind, f] => {
            let file = match decode_file(f) {
                Ok(x) => x,
                Err(r) => return Some(r),
            };
            match commit_by_hash(&remote, c).and_then(|c| file_in(c, &file)) {
                Err(r) => r,
                Ok((p, data)) if *kind == "rawfiles" => raw_file(p, data),
                Ok((p, data)) => util::ok_json(&file_info(p, data, with_content)),
            }
        }
        _ => util::restful(404),
    })
}
