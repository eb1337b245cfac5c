//! Pipelines: v1alpha3 CRUD over the Pipeline CR (§4), branches (§5), the
//! v1alpha2 Blue Ocean pipeline/branch views, scan and consolelog.

use std::collections::BTreeMap;

use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::jenkins::{Build, Cause, parse_jenkinsfile};
use crate::routes::Ctx;
use crate::state::{Pipeline, RepoBranch, pipeline_cr};
use crate::util::{self, ListQuery, encode_segment, k8s_time, name_encode};

pub(crate) fn pipeline_not_found(p: &str) -> Response {
    util::text_err(404, &format!("pipelines.devops.kubesphere.io \"{p}\" not found"))
}

pub(crate) fn project_not_found(ns: &str) -> Response {
    util::text_err(404, &format!("devopsprojects.devops.kubesphere.io \"{ns}\" not found"))
}

/// A Blue Ocean error (`code` is what Jenkins answered) as a v1alpha2 route
/// returns it: always HTTP 500 with Jenkins' body (U5).
///
/// upstream: ks-devops pkg/client/devops/jenkins/pure_request.go:91-96 wraps
/// every Jenkins answer >= 400 in `jenkins.JkError{Code, Message: body}`;
/// pkg/kapis/devops/v1alpha2/devops.go:896-904 `parseErr` type-asserts
/// `*models/devops.JkError` instead, so the assertion never matches and it
/// calls `resp.WriteError(500, err)`: the body is the Jenkins body, the
/// content type whatever Go sniffs (go-restful sets none on WriteError).
/// The body is blueocean-commons ServiceException.generateResponse:
/// `JsonConverter.toJson(ErrorMessage)` with Jackson INDENT_OUTPUT.
pub(crate) fn jenkins_err(code: u16, message: &str) -> Response {
    util::v2_passthrough_err(&util::blue_ocean_error_body(code, message))
}

/// A classic Jenkins (`/job/...`) 404, as the scan and consolelog routes
/// return it: HTTP 500 carrying Jetty's HTML error page (U5).
///
/// upstream: ks-devops pkg/client/devops/jenkins/pipeline.go:69-70 (ScanBranchUrl,
/// GetConsoleLogUrl are classic Jenkins URLs), then the same
/// pure_request.go:91-96 + v1alpha2/devops.go:896-904 path as [`jenkins_err`].
pub(crate) fn jenkins_html_404(uri: &str) -> Response {
    util::v2_passthrough_err(&util::jenkins_error_page(404, "Not Found", uri))
}

const ANN_BRANCHES: &str = "pipeline.devops.kubesphere.io/jenkins-branches";

/// GitLab servers configured in the simulated Jenkins (Manage Jenkins »
/// System » GitLab Servers); `default` is the gitlab-branch-source plugin's
/// name for gitlab.com. A `gitlab_source.server_name` must be one of these (U9).
pub(crate) const JENKINS_GITLAB_SERVERS: &[&str] = &["default"];
const ANN_METADATA: &str = "pipeline.devops.kubesphere.io/jenkins-metadata";

fn is_pr(name: &str) -> bool {
    name.starts_with("PR-") || name.starts_with("MR-")
}

fn repo_url(pl: &Pipeline) -> String {
    pl.cr
        .pointer("/spec/multi_branch_pipeline/git_source/url")
        .and_then(Value::as_str)
        .map(|u| u.trim_end_matches(".git").to_string())
        .unwrap_or_else(|| "https://github.com/example/repo".into())
}

fn latest_build<'a>(pl: &'a Pipeline, branch: &str, now: DateTime<Utc>) -> Option<&'a Build> {
    pl.jobs.get(branch)?.builds.values().rev().find(|b| b.visible(now))
}

/// Branch JSON as stored in the `jenkins-branches` annotation (§5).
fn branch_v3(pl: &Pipeline, raw: &str, now: DateTime<Utc>) -> Value {
    let url = repo_url(pl);
    // upstream: ks-devops pkg/models/pipeline/pipeline.go `Branch`: `name` is
    // the Blue Ocean (Jenkins job) name, NameEncoder-encoded; `rawName` the
    // Git name (§5, §16 U3).
    let mut v = json!({
        "name": name_encode(raw),
        "rawName": raw,
        "weatherScore": 100,
        "disabled": false,
        "branch": {"url": format!("{url}/tree/{raw}"), "isPrimary": raw == "main" || raw == "master"},
    });
    if let Some(b) = latest_build(pl, raw, now) {
        // U12: `latestRun` as ks-devops' `pipeline.LatestRun` marshals it.
        let lr = b.latest_run_annotation(now);
        if lr.get("result") == Some(&json!("FAILURE")) {
            v["weatherScore"] = json!(0);
        }
        v["latestRun"] = lr;
    }
    if is_pr(raw) {
        let id = raw.trim_start_matches("PR-").trim_start_matches("MR-");
        v["pullRequest"] =
            json!({"id": id, "title": format!("Change #{id}"), "author": "tenant", "url": format!("{url}/pull/{id}")});
    }
    v
}

/// Rewrites the branch and metadata annotations from the current state.
pub(crate) fn refresh_branch_annotation(pl: &mut Pipeline, now: DateTime<Utc>) {
    let branches: Vec<Value> = pl.indexed.iter().map(|b| branch_v3(pl, b, now)).collect();
    let failing = branches
        .iter()
        .filter(|b| b.pointer("/latestRun/result") == Some(&json!("FAILURE")))
        .count();
    let meta = json!({
        "weatherScore": 100,
        "name": pl.name(),
        "totalNumberOfBranches": branches.len(),
        "numberOfFailingBranches": failing,
        "branchNames": pl.indexed.iter().map(|b| name_encode(b)).collect::<Vec<_>>(),
        "scmSource": {"id": "git", "apiUrl": ""},
        "scriptPath": pl.cr.pointer("/spec/multi_branch_pipeline/script_path").and_then(Value::as_str).unwrap_or("Jenkinsfile"),
    });
    let s = Value::Array(branches).to_string();
    util::set_annotation(&mut pl.cr, ANN_BRANCHES, s);
    util::set_annotation(&mut pl.cr, ANN_METADATA, meta.to_string());
    pl.branches_copied_at = Some(now);
}

/// Branch indexing: discovers the repo branches that have a Jenkinsfile,
/// writes the indexing log and (if `trigger_new`) builds new branches.
pub(crate) fn index_branches(
    pl: &mut Pipeline,
    ns: &str,
    started_by: &str,
    now: DateTime<Utc>,
    phase: Duration,
    queue_id: &mut u64,
    trigger_new: bool,
) {
    let url = pl
        .cr
        .pointer("/spec/multi_branch_pipeline/git_source/url")
        .and_then(Value::as_str)
        .unwrap_or("https://github.com/example/repo.git")
        .to_string();
    let script = pl
        .cr
        .pointer("/spec/multi_branch_pipeline/script_path")
        .and_then(Value::as_str)
        .unwrap_or("Jenkinsfile")
        .to_string();
    let mut log = format!(
        "{started_by}\n[{}] Starting branch indexing...\n",
        now.format("%a %b %d %H:%M:%S UTC %Y")
    );
    // U9: `gitlab_source.server_name` is written verbatim to the job's
    // `<serverName>` (`ks-devops:pkg/client/devops/jenkins/internal/gitlab.go`)
    // and names a GitLab server configured in Jenkins; the GitLab branch
    // source looks it up when indexing (gitlab-branch-source
    // `GitLabHelper.apiBuilder`) and fails for any other value, a URL included.
    if let Some(server) = pl
        .cr
        .pointer("/spec/multi_branch_pipeline/gitlab_source")
        .filter(|_| {
            pl.cr
                .pointer("/spec/multi_branch_pipeline/source_type")
                .and_then(Value::as_str)
                == Some("gitlab")
        })
        .map(|g| g.get("server_name").and_then(Value::as_str).unwrap_or("").to_string())
        && !JENKINS_GITLAB_SERVERS.contains(&server.as_str())
    {
        let when = now.format("%a %b %d %H:%M:%S UTC %Y");
        log.push_str(&format!(
            "ERROR: [{when}] Could not fetch branches from source {:016x}\njava.lang.IllegalStateException: No server found with the name: {server}\n\tat io.jenkins.plugins.gitlabbranchsource.helpers.GitLabHelper.apiBuilder(GitLabHelper.java:45)\n\tat io.jenkins.plugins.gitlabbranchsource.GitLabSCMSource.retrieve(GitLabSCMSource.java:383)\n[{when}] Finished branch indexing. Indexing took 12 ms\nFATAL: Failed to recompute children of {ns} » {}\njenkins.scm.impl.SCMSourceException: Failed to fetch branches\nFinished: FAILURE\n",
            util::fnv(&server),
            pl.name()
        ));
        pl.indexing_log = Some(log);
        return;
    }
    log.push_str(" > git --version # timeout=10\n");
    log.push_str(&format!(" > git ls-remote -h -- {url} # timeout=10\n"));
    log.push_str("Checking branches...\n");
    let mut discovered = Vec::new();
    let mut new = Vec::new();
    for r in &pl.repo {
        log.push_str(&format!("  Checking branch {}\n", r.name));
        if r.jenkinsfile.is_some() {
            log.push_str(&format!("      ‘{script}’ found\n    Met criteria\n"));
            if pl.indexed.contains(&r.name) {
                log.push_str(&format!(
                    "No changes detected: {} (still at {})\n",
                    r.name,
                    &r.commit[..7.min(r.commit.len())]
                ));
            } else {
                log.push_str(&format!("Scheduled build for branch: {}\n", r.name));
                new.push(r.name.clone());
            }
            discovered.push(r.name.clone());
        } else {
            log.push_str(&format!("      ‘{script}’ not found\n    Does not meet criteria\n"));
        }
    }
    log.push_str(&format!("Processed {} branches\n", pl.repo.len()));
    log.push_str(&format!(
        "[{}] Finished branch indexing. Indexing took 0.8 sec\nFinished: SUCCESS\n",
        now.format("%a %b %d %H:%M:%S UTC %Y")
    ));
    pl.indexed = discovered;
    pl.indexing_log = Some(log);
    if trigger_new {
        for b in new {
            *queue_id += 1;
            let qid = *queue_id;
            let script = pl.script_for(Some(&b)).unwrap_or_default();
            let commit = pl
                .repo
                .iter()
                .find(|r| r.name == b)
                .map(|r| r.commit.clone())
                .unwrap_or_default();
            let name = pl.name().to_string();
            let job = pl.jobs.entry(b.clone()).or_default();
            let id = job.allocate();
            job.builds.insert(
                id,
                Build {
                    id,
                    branch: Some(b.clone()),
                    namespace: ns.to_string(),
                    pipeline: name,
                    queued_at: now,
                    phase,
                    plan: parse_jenkinsfile(&script),
                    parameters: vec![],
                    cause: Cause {
                        short: "Branch indexing".into(),
                        user: None,
                        class: None,
                    },
                    stop_at: None,
                    input_decision: None,
                    commit_id: commit,
                    queue_id: qid,
                },
            );
        }
    }
}

fn default_repo(url: &str) -> Vec<RepoBranch> {
    if url.contains("demo-echo") {
        return vec![
            RepoBranch {
                name: "main".into(),
                jenkinsfile: Some(crate::state::ECHO_MAIN_JENKINSFILE.into()),
                commit: "f946a1c5b0a3e4d2c1b0a9f8e7d6c5b4a3f2e1d0".into(),
            },
            RepoBranch {
                name: "feature-branch".into(),
                jenkinsfile: Some(crate::state::ECHO_FEATURE_JENKINSFILE.into()),
                commit: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567".into(),
            },
            RepoBranch {
                name: "docs".into(),
                jenkinsfile: None,
                commit: "1122334455667788990011223344556677889900".into(),
            },
            crate::state::login_branch("5e6f7a8b9c0d1e2f3a4b5c6d7e8f90a1b2c3d4e5".into()),
        ];
    }
    vec![
        RepoBranch {
            name: "main".into(),
            jenkinsfile: Some(
                "pipeline {\n  agent any\n  stages {\n    stage('Build') {\n      steps {\n        echo 'building main'\n      }\n    }\n  }\n}\n"
                    .into(),
            ),
            commit: format!("{:016x}{:016x}{:08x}", util::fnv(url), util::fnv("main"), 1u32),
        },
        crate::state::login_branch(format!(
            "{:016x}{:016x}{:08x}",
            util::fnv(url),
            util::fnv("feature/login"),
            1u32
        )),
    ]
}

/// Pipeline as returned in a list (with kind/apiVersion).
fn list_item(pl: &Pipeline) -> Value {
    pl.cr.clone()
}

fn list_pipelines(ctx: &Ctx, ns: &str) -> Response {
    let Some(p) = ctx.st.project(&ctx.cluster, ns) else {
        return project_not_found(ns);
    };
    let q = ListQuery::parse(&ctx.query);
    let ty = q.filter("type").filter(|t| !t.is_empty()).map(str::to_string);
    let items: Vec<Value> = p
        .pipelines
        .values()
        .map(list_item)
        .filter(|v| q.name_matches(v))
        .filter(|v| match &ty {
            Some(t) => v.pointer("/spec/type").and_then(Value::as_str) == Some(t.as_str()),
            None => true,
        })
        .filter(|v| q.label_selector.as_deref().is_none_or(|s| util::selector_matches(s, v)))
        .collect();
    let (page, total) = q.sort_and_page(items);
    util::ok_json(&util::list_null_when_empty(page, total))
}

fn invalid(kind: &str, name: &str, detail: &str) -> Response {
    util::text_err(
        400,
        &format!("{kind}.devops.kubesphere.io \"{name}\" is invalid: {detail}"),
    )
}

fn create_pipeline(ctx: &mut Ctx, ns: &str) -> Response {
    let body = match ctx.body_json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = util::meta_name(&body).to_string();
    if name.is_empty() {
        return invalid(
            "Pipeline",
            "",
            "metadata.name: Required value: name or generateName is required",
        );
    }
    if !util::valid_name(&name) {
        return invalid(
            "Pipeline",
            &name,
            &format!(
                "metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ),
        );
    }
    let spec = body.get("spec").cloned().unwrap_or(json!({}));
    let ty = spec.get("type").and_then(Value::as_str).unwrap_or("").to_string();
    if ty != "pipeline" && ty != "multi-branch-pipeline" {
        return invalid(
            "Pipeline",
            &name,
            &format!(
                "spec.type: Unsupported value: \"{ty}\": supported values: \"pipeline\", \"multi-branch-pipeline\""
            ),
        );
    }
    let rv = ctx.st.next_rv();
    let now = ctx.now;
    let phase = ctx.phase;
    let Some(p) = ctx.st.project_mut(&ctx.cluster, ns) else {
        return project_not_found(ns);
    };
    if p.pipelines.contains_key(&name) {
        return util::text_err(
            400,
            &format!("pipelines.devops.kubesphere.io \"{name}\" already exists"),
        );
    }
    let creator = util::annotation(&body, "kubesphere.io/creator").map(str::to_string);
    let mut cr = pipeline_cr(ns, &name, spec, now, creator.as_deref());
    // U11: create puts `syncstatus=pending` on a throw-away copy of the
    // DevOpsProject, not on the Pipeline (`ks-devops:pkg/models/devops/devops.go:308-319`):
    // a new Pipeline has no sync annotation until Jenkins has it.
    if let Some(a) = cr.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) {
        a.remove("pipeline.devops.kubesphere.io/syncstatus");
    }
    // Keep the client's labels and annotations.
    if let Some(labels) = body.pointer("/metadata/labels").and_then(Value::as_object) {
        for (k, v) in labels {
            if let Some(s) = v.as_str() {
                util::set_label(&mut cr, k, s);
            }
        }
    }
    if let Some(ann) = body.pointer("/metadata/annotations").and_then(Value::as_object) {
        for (k, v) in ann {
            if let Some(s) = v.as_str() {
                util::set_annotation(&mut cr, k, s);
            }
        }
    }
    util::set_meta(&mut cr, "resourceVersion", json!(rv));
    let multi = ty == "multi-branch-pipeline";
    let url = cr
        .pointer("/spec/multi_branch_pipeline/git_source/url")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let pl = Pipeline {
        cr: cr.clone(),
        sync_at: now + phase,
        jobs: BTreeMap::new(),
        repo: if multi { default_repo(&url) } else { vec![] },
        indexed: vec![],
        indexing_log: None,
        branches_copied_at: None,
    };
    p.pipelines.insert(name, pl);
    util::ok_json(&util::strip_type_meta(cr))
}

fn update_pipeline(ctx: &mut Ctx, ns: &str) -> Response {
    let body = match ctx.body_json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    // The name comes from the body; the path value is ignored.
    let name = util::meta_name(&body).to_string();
    let rv = ctx.st.next_rv();
    let Some(p) = ctx.st.project_mut(&ctx.cluster, ns) else {
        return project_not_found(ns);
    };
    // upstream: ks-devops pkg/models/devops/devops.go:340-358
    // `UpdatePipelineObj` reads the stored Pipeline first and wraps a
    // failure in a plain error, which `errorHandle` answers with 400.
    let Some(pl) = p.pipelines.get_mut(&name) else {
        return util::text_err(
            400,
            &format!("cannot found pipeline {ns}/{name}, error: pipelines.devops.kubesphere.io \"{name}\" not found"),
        );
    };
    // The body's `resourceVersion` is replaced by the stored one before the
    // update (`UpdatePipelineObj`: "trying to avoid the error of `Operation
    // cannot be fulfilled on`"): a stale resourceVersion is never refused;
    // the last writer wins.
    let stored_jf = pl.cr.pointer("/spec/pipeline/jenkinsfile").cloned();
    let mut cr = body;
    for k in ["uid", "creationTimestamp", "finalizers", "namespace"] {
        if let Some(v) = pl.cr.pointer(&format!("/metadata/{k}")).cloned() {
            util::set_meta(&mut cr, k, v);
        }
    }
    // Controller-owned annotations survive an update that omits them.
    if let Some(ann) = pl
        .cr
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .cloned()
    {
        for (k, v) in ann {
            if k.starts_with("pipeline.devops.kubesphere.io/")
                && util::annotation(&cr, &k).is_none()
                && let Some(s) = v.as_str()
            {
                util::set_annotation(&mut cr, &k, s);
            }
        }
    }
    util::set_meta(&mut cr, "resourceVersion", json!(rv));
    let gen_num = pl
        .cr
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        + 1;
    util::set_meta(&mut cr, "generation", json!(gen_num));
    if let Some(o) = cr.as_object_mut() {
        o.insert("kind".into(), json!("Pipeline"));
        o.insert("apiVersion".into(), json!("devops.kubesphere.io/v1alpha3"));
        o.entry("status").or_insert_with(|| json!({}));
    }
    // Keep the stored Jenkinsfile; the body's one is ignored.
    if let Some(pipe) = cr.pointer_mut("/spec/pipeline").and_then(Value::as_object_mut) {
        match stored_jf {
            Some(jf) => {
                pipe.insert("jenkinsfile".into(), jf);
            }
            None => {
                pipe.remove("jenkinsfile");
            }
        }
    }
    pl.cr = cr.clone();
    util::ok_json(&util::strip_type_meta(cr))
}

fn get_pipeline<'a>(ctx: &'a Ctx, ns: &str, name: &str) -> Result<&'a Pipeline, Response> {
    let p = ctx.st.project(&ctx.cluster, ns).ok_or_else(|| project_not_found(ns))?;
    p.pipelines.get(name).ok_or_else(|| pipeline_not_found(name))
}

fn branches_v3(ctx: &Ctx, ns: &str, name: &str, one: Option<&str>) -> Response {
    let pl = match get_pipeline(ctx, ns, name) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !pl.is_multi() {
        return util::text_err(400, "invalid multi-branch Pipeline provided");
    }
    let branches: Vec<Value> = util::annotation(&pl.cr, ANN_BRANCHES)
        .and_then(|s| serde_json::from_str::<Vec<Value>>(s).ok())
        .unwrap_or_default();
    if let Some(b) = one {
        return match branches
            .into_iter()
            .find(|x| x.get("name").and_then(Value::as_str) == Some(b))
        {
            Some(v) => util::ok_json(&v),
            None => util::text_err(404, &format!("Branch {b} was not found")),
        };
    }
    let filter = ctx.q("filter").unwrap_or("");
    let items: Vec<Value> = branches
        .into_iter()
        .filter(|b| match filter {
            "origin" => b.get("pullRequest").is_none(),
            "pull-requests" => b.get("pullRequest").is_some(),
            _ => true,
        })
        .collect();
    let total = items.len();
    let page = ctx.q("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
    let items: Vec<Value> = match ctx.q("limit").and_then(|l| l.parse::<usize>().ok()) {
        Some(limit) => items
            .into_iter()
            .skip((page - 1).saturating_mul(limit))
            .take(limit)
            .collect(),
        None => items,
    };
    util::ok_json(&util::list_always(items, total))
}

fn set_jenkinsfile(ctx: &mut Ctx, ns: &str, name: &str) -> Response {
    let mode = ctx.q("mode").unwrap_or("").to_string();
    let body = match ctx.body_json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let data = body.get("data").and_then(Value::as_str).unwrap_or("").to_string();
    let rv = ctx.st.next_rv();
    let Some(p) = ctx.st.project_mut(&ctx.cluster, ns) else {
        return project_not_found(ns);
    };
    let Some(pl) = p.pipelines.get_mut(name) else {
        return pipeline_not_found(name);
    };
    // upstream: ks-devops pkg/models/devops/devops.go:360-386
    // `UpdateJenkinsfile`: the edit-mode annotation is set first; `raw`
    // writes `spec.pipeline.jenkinsfile` only when `spec.pipeline` exists,
    // so for a multi-branch pipeline it changes nothing else and still
    // answers success; another mode is `invalid edit mode: X`, which
    // `errorHandle` writes as 400 (`pkg/kapis/devops/v1alpha3/handler.go:374-389`).
    match mode.as_str() {
        "raw" => {
            if let Some(pipe) = pl.cr.pointer_mut("/spec/pipeline").and_then(Value::as_object_mut) {
                pipe.insert("jenkinsfile".into(), json!(data));
            }
            util::set_annotation(&mut pl.cr, "pipeline.devops.kubesphere.io/jenkinsfile.edit.mode", "raw");
        }
        "json" => {
            util::set_annotation(&mut pl.cr, "pipeline.devops.kubesphere.io/jenkinsfile", data);
            util::set_annotation(
                &mut pl.cr,
                "pipeline.devops.kubesphere.io/jenkinsfile.edit.mode",
                "json",
            );
        }
        _ => return util::text_err(400, &format!("invalid edit mode: {mode}")),
    }
    util::set_meta(&mut pl.cr, "resourceVersion", json!(rv));
    util::ok_json(&json!({"result": "success"}))
}

/// `DV3` pipeline and branch routes.
pub(crate) fn dv3(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    Some(match rest {
        ["namespaces", ns, "pipelines"] => match ctx.method() {
            "GET" => list_pipelines(ctx, ns),
            "POST" => create_pipeline(ctx, ns),
            _ => util::restful(405),
        },
        ["namespaces", ns, "pipelines", name] => match ctx.method() {
            "GET" => match get_pipeline(ctx, ns, name) {
                Ok(pl) => util::ok_json(&util::strip_type_meta(pl.cr.clone())),
                Err(r) => r,
            },
            "PUT" => update_pipeline(ctx, ns),
            "DELETE" => {
                let Some(p) = ctx.st.project_mut(&ctx.cluster, ns) else {
                    return Some(project_not_found(ns));
                };
                if p.pipelines.remove(*name).is_none() {
                    return Some(pipeline_not_found(name));
                }
                p.runs.retain(|_, r| r.pipeline != *name);
                util::ok_json(&json!({"message": "success"}))
            }
            _ => util::restful(405),
        },
        ["namespaces", ns, "pipelines", name, "jenkinsfile"] => match ctx.method() {
            "PUT" => set_jenkinsfile(ctx, ns, name),
            _ => util::restful(405),
        },
        ["namespaces", ns, "pipelines", name, "branches"] => match ctx.method() {
            "GET" => branches_v3(ctx, ns, name, None),
            _ => util::restful(405),
        },
        ["namespaces", ns, "pipelines", name, "branches", branch] => match ctx.method() {
            "GET" => branches_v3(ctx, ns, name, Some(branch)),
            _ => util::restful(405),
        },
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// v1alpha2 (Blue Ocean)

fn permissions() -> Value {
    json!({"create": true, "configure": true, "read": true, "start": true, "stop": true})
}

fn bo_parameters(pl: &Pipeline) -> Value {
    let params = pl
        .cr
        .pointer("/spec/pipeline/parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Value::Array(
        params
            .iter()
            .map(|p| {
                let short = p.get("type").and_then(Value::as_str).unwrap_or("string");
                let class = match short {
                    "text" => "TextParameterDefinition",
                    "boolean" => "BooleanParameterDefinition",
                    "choice" => "ChoiceParameterDefinition",
                    "file" => "FileParameterDefinition",
                    "password" => "PasswordParameterDefinition",
                    _ => "StringParameterDefinition",
                };
                let name = p.get("name").cloned().unwrap_or(json!(""));
                json!({
                    "_class": format!("hudson.model.{class}"),
                    "defaultParameterValue": {"_class": format!("hudson.model.{}", class.replace("Definition", "Value")), "name": name, "value": p.get("default_value").cloned().unwrap_or(json!(""))},
                    "description": p.get("description").cloned().unwrap_or(json!("")),
                    "name": name,
                    "type": class,
                })
            })
            .collect(),
    )
}

fn bo_pipeline(pl: &Pipeline, ns: &str, now: DateTime<Utc>) -> Value {
    let name = pl.name();
    let href = format!("/blue/rest/organizations/jenkins/pipelines/{ns}/pipelines/{name}/");
    let mut v = json!({
        "_links": {"self": {"_class": "io.jenkins.blueocean.rest.hal.Link", "href": href},
                   "runs": {"_class": "io.jenkins.blueocean.rest.hal.Link", "href": format!("{href}runs/")}},
        "actions": [],
        "disabled": false,
        "displayName": name,
        "fullDisplayName": format!("{ns}/{name}"),
        "fullName": format!("{ns}/{name}"),
        "name": name,
        "organization": "jenkins",
        "permissions": permissions(),
        "weatherScore": 100,
    });
    if pl.is_multi() {
        // Live from Jenkins (not the lagging annotation, U10).
        let branches: Vec<Value> = pl.indexed.iter().map(|b| branch_v3(pl, b, now)).collect();
        let prs = branches.iter().filter(|b| b.get("pullRequest").is_some()).count();
        let failing = branches
            .iter()
            .filter(|b| b.pointer("/latestRun/result") == Some(&json!("FAILURE")))
            .count();
        let ok = branches
            .iter()
            .filter(|b| b.pointer("/latestRun/result") == Some(&json!("SUCCESS")))
            .count();
        v["_class"] = json!("io.jenkins.blueocean.rest.impl.pipeline.MultiBranchPipelineImpl");
        v["branchNames"] = json!(pl.indexed.iter().map(|b| name_encode(b)).collect::<Vec<_>>());
        v["numberOfFailingBranches"] = json!(failing);
        v["numberOfFailingPullRequests"] = json!(0);
        v["numberOfSuccessfulBranches"] = json!(ok);
        v["numberOfSuccessfulPullRequests"] = json!(0);
        v["totalNumberOfBranches"] = json!(branches.len() - prs);
        v["totalNumberOfPullRequests"] = json!(prs);
        v["numberOfFolders"] = json!(0);
        v["numberOfPipelines"] = json!(branches.len());
        v["pipelineFolderNames"] = json!([]);
        v["parameters"] = json!([]);
        v["scmSource"] =
            json!({"_class": "io.jenkins.blueocean.rest.impl.pipeline.ScmSourceImpl", "apiUrl": null, "id": "git"});
        v["scriptPath"] = pl
            .cr
            .pointer("/spec/multi_branch_pipeline/script_path")
            .cloned()
            .unwrap_or(json!("Jenkinsfile"));
        v["estimatedDurationInMillis"] = json!(-1);
    } else {
        v["_class"] = json!("io.jenkins.blueocean.rest.impl.pipeline.PipelineImpl");
        v["parameters"] = bo_parameters(pl);
        let latest = latest_build(pl, "", now);
        v["latestRun"] = latest.map(|b| b.blue_run(now)).unwrap_or(Value::Null);
        v["estimatedDurationInMillis"] = json!(latest.map(|b| b.phase.num_milliseconds()).unwrap_or(-1));
        if latest.and_then(|b| b.blue_run(now).get("result").cloned()) == Some(json!("FAILURE")) {
            v["weatherScore"] = json!(0);
        }
    }
    v
}

fn bo_branch(pl: &Pipeline, ns: &str, raw: &str, now: DateTime<Utc>) -> Value {
    let name = pl.name();
    let enc = name_encode(raw);
    // Blue Ocean links path-encode the job name once more.
    let href = format!(
        "/blue/rest/organizations/jenkins/pipelines/{ns}/pipelines/{name}/branches/{}/",
        encode_segment(&enc)
    );
    let v3 = branch_v3(pl, raw, now);
    let latest = latest_build(pl, raw, now);
    json!({
        "_class": "io.jenkins.blueocean.rest.impl.pipeline.BranchImpl",
        "_links": {"self": {"_class": "io.jenkins.blueocean.rest.hal.Link", "href": href},
                   "runs": {"_class": "io.jenkins.blueocean.rest.hal.Link", "href": format!("{href}runs/")}},
        "actions": [],
        "disabled": false,
        "displayName": raw,
        "estimatedDurationInMillis": latest.map(|b| b.phase.num_milliseconds()).unwrap_or(-1),
        "fullDisplayName": format!("{ns}/{name}/{enc}"),
        "fullName": format!("{ns}/{name}/{enc}"),
        "latestRun": latest.map(|b| b.blue_run(now)).unwrap_or(Value::Null),
        "name": enc,
        "organization": "jenkins",
        "parameters": [],
        "permissions": permissions(),
        "weatherScore": v3.get("weatherScore").cloned().unwrap_or(json!(100)),
        "branch": {"isPrimary": raw == "main" || raw == "master", "issues": [], "url": v3.pointer("/branch/url").cloned().unwrap_or(Value::Null)},
        "pullRequest": v3.get("pullRequest").cloned().unwrap_or(Value::Null),
    })
}

/// One item of the live v1alpha2 branch list (U10). ks-devops decodes
/// Blue Ocean's answer into `devops.PipelineBranch` and writes it back
/// (`ks-devops:pkg/client/devops/pipeline.go:419-548`,
/// `pkg/kapis/devops/v1alpha2/devops.go:695` GetPipelineBranch), so only
/// that struct's fields survive, `omitempty` drops empty strings, zeros
/// and `false`, and the non-pointer structs `latestRun`, `branch` and
/// `pullRequest` are always present (`{}`-like when Jenkins had none).
fn bo_branch_list_item(pl: &Pipeline, ns: &str, raw: &str, now: DateTime<Utc>) -> Value {
    let name = pl.name();
    let enc = name_encode(raw);
    // Blue Ocean links path-encode the job name once more.
    let href = format!(
        "/blue/rest/organizations/jenkins/pipelines/{ns}/pipelines/{name}/branches/{}/",
        encode_segment(&enc)
    );
    let link = |h: String| json!({"_class": "io.jenkins.blueocean.rest.hal.Link", "href": h});
    let v3 = branch_v3(pl, raw, now);
    let latest = latest_build(pl, raw, now);
    let mut latest_run = json!({"_links": {"prevRun": {}, "parent": {}, "tests": {}, "log": {}, "self": {},
        "blueTestSummary": {}, "actions": {}, "artifacts": {}}});
    if let Some(b) = latest {
        let run = b.blue_run(now);
        for k in [
            "_class",
            "durationInMillis",
            "enQueueTime",
            "endTime",
            "estimatedDurationInMillis",
            "id",
            "organization",
            "pipeline",
            "replayable",
            "result",
            "runSummary",
            "startTime",
            "state",
            "type",
        ] {
            if let Some(x) = run
                .get(k)
                .filter(|x| !x.is_null() && **x != json!(0) && **x != json!(false))
            {
                latest_run[k] = x.clone();
            }
        }
        latest_run["causes"] = json!([{"_class": if b.cause.user.is_some() { "hudson.model.Cause$UserIdCause" } else { "jenkins.branch.BranchIndexingCause" },
            "shortDescription": b.cause.short}]);
        let base = href.clone() + &format!("runs/{}/", b.id);
        latest_run["_links"]["self"] = link(base.clone());
        latest_run["_links"]["log"] = link(format!("{base}log/"));
        latest_run["_links"]["artifacts"] = link(format!("{base}artifacts/"));
        latest_run["_links"]["parent"] = link(href.clone());
    }
    let mut branch = json!({"url": v3.pointer("/branch/url").cloned().unwrap_or(json!(""))});
    if raw == "main" || raw == "master" {
        branch["isPrimary"] = json!(true);
    }
    let mut v = json!({
        "_class": "io.jenkins.blueocean.rest.impl.pipeline.BranchImpl",
        "_links": {"self": link(href.clone()), "scm": link(format!("{href}scm/")), "actions": link(format!("{href}actions/")),
                   "runs": link(format!("{href}runs/")), "trends": link(format!("{href}trends/")), "queue": link(format!("{href}queue/"))},
        "displayName": raw,
        "estimatedDurationInMillis": latest.map(|b| b.phase.num_milliseconds()).unwrap_or(-1),
        "fullDisplayName": format!("{ns}/{name}/{raw}"),
        "fullName": format!("{ns}/{name}/{enc}"),
        "latestRun": latest_run,
        "name": enc,
        "organization": "jenkins",
        "permissions": permissions(),
        "branch": branch,
        "pullRequest": v3.get("pullRequest").cloned().unwrap_or(json!({})),
    });
    let weather = v3.get("weatherScore").and_then(Value::as_i64).unwrap_or(100);
    if weather != 0 {
        v["weatherScore"] = json!(weather);
    }
    v
}

/// Finds an indexed branch by its Jenkins job name (the NameEncoder form,
/// `feature%2Flogin`): the only name Jenkins resolves. A v1alpha2 `{branch}`
/// path parameter reaches ks-devops decoded once (routing, §16 U3) and is
/// pasted into the Jenkins URL as is; a PipelineRun `refName` is
/// path-escaped once by the trigger (upstream: jenkins-client
/// pkg/job/blueocean.go:103-108) and decoded once by Jenkins. Either way the
/// raw Git name `feature/login` names no job (§16 U4).
pub(crate) fn find_branch(pl: &Pipeline, b: &str) -> Option<String> {
    pl.indexed.iter().find(|x| name_encode(x) == b).cloned()
}

/// `DV2` pipeline, branch, scan and consolelog routes.
pub(crate) fn dv2(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    Some(match rest {
        ["namespaces", ns, "pipelines", name] => match ctx.method() {
            "GET" => match ctx.st.project(&ctx.cluster, ns).and_then(|p| p.pipelines.get(*name)) {
                Some(pl) => util::ok_json(&bo_pipeline(pl, ns, ctx.now)),
                None => jenkins_err(404, &format!("Pipeline {ns}/{name} not found")),
            },
            _ => util::restful(405),
        },
        ["namespaces", ns, "pipelines", name, "branches"] => match ctx.method() {
            "GET" => {
                let Some(pl) = ctx.st.project(&ctx.cluster, ns).and_then(|p| p.pipelines.get(*name)) else {
                    return Some(jenkins_err(404, &format!("Pipeline {ns}/{name} not found")));
                };
                if !pl.is_multi() {
                    return Some(jenkins_err(
                        404,
                        &format!("Pipeline {ns}/{name} is not a multi-branch pipeline"),
                    ));
                }
                let filter = ctx.q("filter").unwrap_or("");
                let start = ctx.q("start").and_then(|s| s.parse::<usize>().ok()).unwrap_or(0);
                let limit = ctx.q("limit").and_then(|s| s.parse::<usize>().ok()).unwrap_or(100);
                let items: Vec<Value> = pl
                    .indexed
                    .iter()
                    .filter(|b| match filter {
                        "origin" => !is_pr(b),
                        "pull-requests" => is_pr(b),
                        _ => true,
                    })
                    .skip(start)
                    .take(limit)
                    .map(|b| bo_branch_list_item(pl, ns, b, ctx.now))
                    .collect();
                util::ok_json(&Value::Array(items))
            }
            _ => util::restful(405),
        },
        ["namespaces", ns, "pipelines", name, "branches", branch] => match ctx.method() {
            "GET" => {
                let Some(pl) = ctx.st.project(&ctx.cluster, ns).and_then(|p| p.pipelines.get(*name)) else {
                    return Some(jenkins_err(404, &format!("Pipeline {ns}/{name} not found")));
                };
                match find_branch(pl, branch) {
                    Some(raw) => util::ok_json(&bo_branch(pl, ns, &raw, ctx.now)),
                    None => jenkins_err(404, &format!("Pipeline {ns}/{name}/{branch} not found")),
                }
            }
            _ => util::restful(405),
        },
        ["namespaces", ns, "pipelines", name, "scan"] => match ctx.method() {
            "POST" => scan(ctx, ns, name),
            _ => util::restful(405),
        },
        ["namespaces", ns, "pipelines", name, "consolelog"] => match ctx.method() {
            "GET" => {
                // upstream: same Produces as the log routes (register.go:515), U15.
                if !ctx.accepts_log() {
                    return Some(crate::logs::not_acceptable());
                }
                let uri = format!("/job/{ns}/job/{name}/indexing/consoleText");
                let Some(pl) = ctx.st.project(&ctx.cluster, ns).and_then(|p| p.pipelines.get(*name)) else {
                    return Some(jenkins_html_404(&uri));
                };
                match &pl.indexing_log {
                    Some(l) => util::resp(200, "text/plain; charset=utf-8", l.clone()),
                    // Never indexed: Jenkins has no indexing log yet.
                    None => jenkins_html_404(&uri),
                }
            }
            _ => util::restful(405),
        },
        _ => return None,
    })
}

fn scan(ctx: &mut Ctx, ns: &str, name: &str) -> Response {
    let now = ctx.now;
    let phase = ctx.phase;
    let user = ctx.user.clone();
    let mut qid = ctx.st.queue_id;
    let Some(pl) = ctx
        .st
        .project_mut(&ctx.cluster, ns)
        .and_then(|p| p.pipelines.get_mut(name))
    else {
        return jenkins_html_404(&format!("/job/{ns}/job/{name}/build"));
    };
    if pl.is_multi() {
        // U10: only Jenkins knows the result now; the `jenkins-branches`
        // annotation (the v1alpha3 branch list) follows at the metadata
        // controller's next requeue (see `State::tick`).
        index_branches(pl, ns, &format!("Started by user {user}"), now, phase, &mut qid, true);
    } else {
        // For a plain pipeline, /build?delay=0 starts a build.
        qid += 1;
        let script = pl.jenkinsfile();
        let job = pl.jobs.entry(String::new()).or_default();
        let id = job.allocate();
        job.builds.insert(
            id,
            Build {
                id,
                branch: None,
                namespace: ns.to_string(),
                pipeline: name.to_string(),
                queued_at: now,
                phase,
                plan: parse_jenkinsfile(&script),
                parameters: vec![],
                cause: Cause::user(&user),
                stop_at: None,
                input_decision: None,
                commit_id: String::new(),
                queue_id: qid,
            },
        );
    }
    ctx.st.queue_id = qid;
    let _ = k8s_time(now);
    util::resp(200, "text/html;charset=utf-8", "")
}
