//! PipelineRuns (v1alpha3, §6.1/6.2) and Blue Ocean runs (v1alpha2, §6.3), logs (§7) and artifacts (§8).

use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::jenkins::{Build, Cause, RunState, Step, artifact_bytes, parse_jenkinsfile};
use crate::pipelines;
use crate::routes::Ctx;
use crate::state::{Pipeline, PipelineRun};
use crate::util::{self, ListQuery, k8s_time};

/// A new PipelineRun CR (no status).
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_pipelinerun_cr(
    ns: &str,
    pipeline: &str,
    name: &str,
    pipeline_spec: &Value,
    branch: Option<&str>,
    params: &[(String, String)],
    creator: &str,
    created: DateTime<Utc>,
    rv: &str,
) -> Value {
    let mut spec = json!({
        "pipelineRef": {"kind": "Pipeline", "name": pipeline, "namespace": ns},
        "pipelineSpec": pipeline_spec,
    });
    if !params.is_empty() {
        spec["parameters"] = Value::Array(params.iter().map(|(n, v)| json!({"name": n, "value": v})).collect());
    }
    if let Some(b) = branch {
        spec["scm"] = json!({"refName": b, "refType": ""});
    }
    json!({
        "kind": "PipelineRun",
        "apiVersion": "devops.kubesphere.io/v1alpha3",
        "metadata": {
            "name": name,
            "generateName": format!("{pipeline}-"),
            "namespace": ns,
            "uid": util::uid(),
            "resourceVersion": rv,
            "generation": 1,
            "creationTimestamp": k8s_time(created),
            "labels": {"devops.kubesphere.io/pipeline": pipeline},
            "annotations": {"devops.kubesphere.io/creator": creator},
            "ownerReferences": [{"apiVersion": "devops.kubesphere.io/v1alpha3", "kind": "Pipeline", "name": pipeline, "uid": "", "controller": true, "blockOwnerDeletion": true}],
            "finalizers": ["pipelinerun.finalizers.kubesphere.io"],
        },
        "spec": spec,
        "status": {},
    })
}

// ---------------------------------------------------------------------------
// Rendering

/// How much of the Jenkins data a PipelineRun view carries (§6.2).
#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    /// GET one: status + stages annotations ("" before the first sync).
    Full,
    /// `backward=false` list: status annotation only.
    StatusOnly,
    /// `backward=true` list / raw object: neither.
    Bare,
}

fn build_of<'a>(pl: Option<&'a Pipeline>, pr: &PipelineRun, now: DateTime<Utc>) -> Option<&'a Build> {
    let b = pl?.build(pr.branch.as_deref(), pr.build?)?;
    b.visible(now).then_some(b)
}

/// The phase and condition of a synced run (§6.2 table).
fn phase_of(state: RunState, result: &str) -> (&'static str, &'static str, &'static str) {
    match state {
        RunState::Queued | RunState::Running => ("Running", "Ready", "Unknown"),
        RunState::Paused => ("Pending", "Ready", "Unknown"),
        RunState::Finished => match result {
            "SUCCESS" => ("Succeeded", "Succeeded", "True"),
            "FAILURE" | "UNSTABLE" | "ABORTED" => ("Failed", "Succeeded", "False"),
            _ => ("Unknown", "Succeeded", "Unknown"),
        },
    }
}

/// A Blue Ocean time (`2026-03-19T02:50:12.747+0000`) as jenkins-client's
/// `job.Time` marshals it: RFC 3339 in UTC, whole seconds; unset: `null`.
///
/// upstream: jenkins-zh/jenkins-client pkg/job/time.go:45-53 (`MarshalJSON`,
/// `t.UTC().AppendFormat(buf, time.RFC3339)`, zero -> `null`).
fn job_time(v: Option<&Value>) -> Value {
    v.and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.3f%z").ok())
        .map(|t| json!(t.with_timezone(&Utc).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}

/// Copies the string field `key` of a Blue Ocean object, as a Go `string`
/// field with `omitempty` would marshal it (absent when null or empty).
fn put_str(out: &mut serde_json::Map<String, Value>, from: &Value, key: &str) {
    if let Some(s) = from.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()) {
        out.insert(key.into(), json!(s));
    }
}

/// A Blue Ocean `input` object as jenkins-client `job.Input` (omitempty).
///
/// upstream: jenkins-zh/jenkins-client pkg/job/blueocean_type.go:151-158.
fn job_input(v: &Value) -> Option<Value> {
    if !v.is_object() {
        return None;
    }
    let mut m = serde_json::Map::new();
    for k in ["id", "message", "ok"] {
        put_str(&mut m, v, k);
    }
    if let Some(p) = v.get("parameters").and_then(Value::as_array).filter(|p| !p.is_empty()) {
        m.insert("parameters".into(), Value::Array(p.clone()));
    }
    put_str(&mut m, v, "submitter");
    Some(Value::Object(m))
}

/// Blue Ocean stages with steps, as the PipelineRun controller stores them
/// (`json.Marshal([]pipelinerun.NodeDetail)`): jenkins-client `job.Node` /
/// `job.Step` fields only, `omitempty`, `job.Time` times, no `_class`,
/// `_links`, `actions`. With `approvable`, every step carries
/// `"approvable":true` as the nodedetails handler sets it for everyone.
///
/// upstream: ks-devops controllers/jenkins/pipelinerun/jenkins_handler.go:36-74
/// (`getPipelineNodeDetails`), pipelinerun_controller.go:183-195,330-355 (stored
/// in the stages annotation or the ConfigMap store), pkg/models/pipelinerun/pipelinerun.go:22-32
/// (`NodeDetail{job.Node; Steps []Step}`, `Step{job.Step; Approvable bool
/// json:"approvable,omitempty"}`), pkg/kapis/devops/v1alpha3/pipelinerun/handler.go:193-235
/// (`getNodeDetails`: "TODO ... this is a temporary solution of approvable",
/// every step `Approvable = true`); jenkins-zh/jenkins-client
/// pkg/job/blueocean_type.go:128-170 (`Node`, `Edge`, `Step`).
fn job_nodes(b: &Build, now: DateTime<Utc>, approvable: bool) -> Vec<Value> {
    b.nodes(now, true, None, &|_| false)
        .iter()
        .map(|n| {
            let mut m = serde_json::Map::new();
            for k in ["displayDescription", "displayName"] {
                put_str(&mut m, n, k);
            }
            if let Some(d) = n.get("durationInMillis").and_then(Value::as_i64).filter(|d| *d != 0) {
                m.insert("durationInMillis".into(), json!(d));
            }
            put_str(&mut m, n, "id");
            if let Some(i) = n.get("input").and_then(job_input) {
                m.insert("input".into(), i);
            }
            put_str(&mut m, n, "result");
            m.insert("startTime".into(), job_time(n.get("startTime")));
            for k in ["state", "type", "causeOfBlockage"] {
                put_str(&mut m, n, k);
            }
            if let Some(e) = n.get("edges").and_then(Value::as_array).filter(|e| !e.is_empty()) {
                let edges: Vec<Value> = e
                    .iter()
                    .map(|x| {
                        let mut em = serde_json::Map::new();
                        put_str(&mut em, x, "id");
                        put_str(&mut em, x, "type");
                        Value::Object(em)
                    })
                    .collect();
                m.insert("edges".into(), Value::Array(edges));
            }
            put_str(&mut m, n, "firstParent");
            if n.get("restartable").and_then(Value::as_bool) == Some(true) {
                m.insert("restartable".into(), json!(true));
            }
            let steps: Vec<Value> = n
                .get("steps")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|st| {
                            let mut sm = serde_json::Map::new();
                            for k in ["id", "displayName", "displayDescription", "type", "result", "state"] {
                                put_str(&mut sm, st, k);
                            }
                            sm.insert("startTime".into(), job_time(st.get("startTime")));
                            if let Some(d) = st.get("durationInMillis").and_then(Value::as_i64).filter(|d| *d != 0) {
                                sm.insert("durationInMillis".into(), json!(d));
                            }
                            if let Some(i) = st.get("input").and_then(job_input) {
                                sm.insert("input".into(), i);
                            }
                            if approvable {
                                sm.insert("approvable".into(), json!(true));
                            }
                            Value::Object(sm)
                        })
                        .collect()
                })
                .unwrap_or_default();
            if !steps.is_empty() {
                m.insert("steps".into(), Value::Array(steps));
            }
            Value::Object(m)
        })
        .collect()
}

fn render_pr(pr: &PipelineRun, pl: Option<&Pipeline>, now: DateTime<Utc>, view: View) -> Value {
    let mut cr = pr.cr.clone();
    match build_of(pl, pr, now) {
        None => {
            if view == View::Full {
                util::set_annotation(&mut cr, ANN_STATUS, "");
                util::set_annotation(&mut cr, ANN_STAGES, "");
            }
        }
        Some(b) => {
            util::set_annotation(&mut cr, ANN_ID, b.id.to_string());
            let tl = b.timeline();
            let (state, result) = b.state(&tl, now);
            let (phase, ctype, cstatus) = phase_of(state, result);
            let mut status = json!({
                "phase": phase,
                "startTime": k8s_time(b.queued_at),
                "updateTime": k8s_time(now),
                "conditions": [{"type": ctype, "status": cstatus, "reason": state.as_str(),
                    "lastProbeTime": k8s_time(now), "lastTransitionTime": k8s_time(b.queued_at)}],
            });
            if state == RunState::Finished
                && let Some(f) = tl.finished_at
            {
                status["completionTime"] = json!(k8s_time(f));
                status["conditions"][0]["lastTransitionTime"] = json!(k8s_time(f));
            }
            cr["status"] = status;
            if view != View::Bare {
                // U12: jenkins-client's marshalling, not the Blue Ocean JSON.
                util::set_annotation(&mut cr, ANN_STATUS, b.status_annotation(now).to_string());
            }
            if view == View::Full {
                util::set_annotation(&mut cr, ANN_STAGES, Value::Array(job_nodes(b, now, false)).to_string());
            }
        }
    }
    cr
}

const ANN_ID: &str = "devops.kubesphere.io/jenkins-pipelinerun-id";
const ANN_STATUS: &str = "devops.kubesphere.io/jenkins-pipelinerun-status";
const ANN_STAGES: &str = "devops.kubesphere.io/jenkins-pipelinerun-stages-status";

fn pr_not_found(name: &str) -> Response {
    util::text_err(404, &format!("pipelineruns.devops.kubesphere.io \"{name}\" not found"))
}

fn stringify(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Parameters from a `{"parameters":[{"name","value"}]}` body.
fn body_params(body: &Option<Value>) -> Vec<(String, String)> {
    body.as_ref()
        .and_then(|b| b.get("parameters"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    let name = p.get("name").map(stringify).unwrap_or_default();
                    (!name.is_empty()).then(|| (name, p.get("value").map(stringify).unwrap_or_default()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Pipeline parameter defaults overridden by the given values.
fn merged_params(pl: &Pipeline, given: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = pl
        .cr
        .pointer("/spec/pipeline/parameters")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    let n = p.get("name")?.as_str()?.to_string();
                    Some((n, p.get("default_value").map(stringify).unwrap_or_default()))
                })
                .collect()
        })
        .unwrap_or_default();
    for (n, v) in given {
        match out.iter_mut().find(|(k, _)| k == n) {
            Some(e) => e.1 = v.clone(),
            None => out.push((n.clone(), v.clone())),
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn new_build(
    pl: &mut Pipeline,
    ns: &str,
    branch: Option<&str>,
    queued_at: DateTime<Utc>,
    phase: chrono::Duration,
    params: Vec<(String, String)>,
    cause: Cause,
    queue_id: u64,
    plan: Option<crate::jenkins::Plan>,
) -> Option<u64> {
    let script = pl.script_for(branch)?;
    let commit = match branch {
        Some(b) => pl
            .repo
            .iter()
            .find(|r| r.name == b)
            .map(|r| r.commit.clone())
            .unwrap_or_default(),
        None => String::new(),
    };
    let name = pl.name().to_string();
    let job = pl.jobs.entry(branch.unwrap_or("").to_string()).or_default();
    let id = job.allocate();
    job.builds.insert(
        id,
        Build {
            id,
            branch: branch.map(str::to_string),
            namespace: ns.to_string(),
            pipeline: name,
            queued_at,
            phase,
            plan: plan.unwrap_or_else(|| parse_jenkinsfile(&script)),
            parameters: params,
            cause,
            stop_at: None,
            input_decision: None,
            commit_id: commit,
            queue_id,
        },
    );
    Some(id)
}

// ---------------------------------------------------------------------------
// v1alpha3

fn create_pr(ctx: &mut Ctx, ns: &str, p: &str) -> Response {
    let body = match ctx.body_json_opt() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let params = body_params(&body);
    let branch = ctx
        .q("branch")
        .map(|b| b.strip_prefix("refs/heads/").unwrap_or(b).to_string())
        .filter(|b| !b.is_empty());
    let rv = ctx.st.next_rv();
    let qid = ctx.st.next_queue_id();
    let (now, phase, user) = (ctx.now, ctx.phase, ctx.user.clone());
    let Some(proj) = ctx.st.project_mut(&ctx.cluster, ns) else {
        return pipelines::project_not_found(ns);
    };
    let Some(pl) = proj.pipelines.get_mut(p) else {
        return pipelines::pipeline_not_found(p);
    };
    let branch = if pl.is_multi() {
        match branch {
            Some(b) => Some(b),
            None => return util::text_err(400, "missing branch name for running a multi-branch Pipeline"),
        }
    } else {
        None
    };
    let mut name = format!("{p}-{}", util::random_suffix());
    while proj.runs.contains_key(&name) {
        name = format!("{p}-{}", util::random_suffix());
    }
    let spec = pl.cr.get("spec").cloned().unwrap_or(json!({}));
    let cr = new_pipelinerun_cr(ns, p, &name, &spec, branch.as_deref(), &params, &user, now, &rv);
    // The controller triggers Jenkins one phase later; an unknown branch never syncs.
    let known = match &branch {
        Some(b) => pipelines::find_branch(pl, b),
        None => Some(String::new()),
    };
    let build = match known {
        Some(raw) => {
            let b = (!raw.is_empty()).then_some(raw.as_str());
            let merged = merged_params(pl, &params);
            new_build(pl, ns, b, now + phase, phase, merged, Cause::user(&user), qid, None)
        }
        None => None,
    };
    let branch_raw = match (&branch, build) {
        (Some(b), Some(_)) => pipelines::find_branch(pl, b),
        (b, _) => b.clone(),
    };
    proj.runs.insert(
        name,
        PipelineRun {
            cr: cr.clone(),
            pipeline: p.to_string(),
            branch: branch_raw,
            build,
            deleting: None,
        },
    );
    util::ok_json(&cr)
}

fn list_prs(ctx: &Ctx, ns: &str, p: &str) -> Response {
    let Some(proj) = ctx.st.project(&ctx.cluster, ns) else {
        return pipelines::project_not_found(ns);
    };
    let Some(pl) = proj.pipelines.get(p) else {
        return pipelines::pipeline_not_found(p);
    };
    let q = ListQuery::parse(&ctx.query);
    let backward = q.filter("backward") != Some("false");
    let has_filter_key = !q.filters.is_empty();
    let branch = q.filter("branch").filter(|b| !b.is_empty()).map(str::to_string);
    let now = ctx.now;
    let runs = proj
        .runs
        .values()
        .filter(|r| r.pipeline == p)
        .filter(|r| match &branch {
            Some(b) => r.cr.pointer("/spec/scm/refName").and_then(Value::as_str) == Some(b.as_str()),
            None => true,
        });
    if backward {
        let items: Vec<Value> = runs
            .filter(|r| !has_filter_key || build_of(Some(pl), r, now).is_some())
            .map(|r| render_pr(r, Some(pl), now, View::Bare))
            .filter(|v| q.name_matches(v))
            .filter(|v| q.label_selector.as_deref().is_none_or(|s| util::selector_matches(s, v)))
            .collect();
        let (page, total) = q.sort_and_page(items);
        return util::ok_json(&util::list_always(page, total));
    }
    let mut items: Vec<Value> = runs
        .map(|r| render_pr(r, Some(pl), now, View::StatusOnly))
        .filter(|v| q.name_matches(v))
        .filter(|v| q.label_selector.as_deref().is_none_or(|s| util::selector_matches(s, v)))
        .collect();
    let key = |v: &Value| -> String {
        v.pointer("/status/startTime")
            .or_else(|| v.pointer("/metadata/creationTimestamp"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    items.sort_by(|a, b| {
        key(b)
            .cmp(&key(a))
            .then_with(|| util::meta_name(b).cmp(util::meta_name(a)))
    });
    if q.ascending {
        items.reverse();
    }
    let total = items.len();
    let page = q.page_slice(items);
    util::ok_json(&util::list_always(page, total))
}

fn download(ctx: &Ctx, ns: &str, name: &str) -> Response {
    if !ctx.accepts_json() {
        return util::restful(406);
    }
    let Some(proj) = ctx.st.project(&ctx.cluster, ns) else {
        return pipelines::project_not_found(ns);
    };
    let Some(pr) = proj.runs.get(name) else {
        return pr_not_found(name);
    };
    let pl = proj.pipelines.get(&pr.pipeline);
    let Some(b) = build_of(pl, pr, ctx.now) else {
        return util::text_err(500, "unable to get PipelineRun nodes due to not found run ID");
    };
    // The handler unescapes the already decoded query value once more.
    let once = ctx.q("filename").unwrap_or("");
    let filename = util::query_unescape(once).unwrap_or_default();
    if !b.artifacts(ctx.now).iter().any(|(p, _)| *p == filename) {
        return util::text_err(500, "failed to get artifact. the HTTP status code is 404");
    }
    let bytes = artifact_bytes(&filename, b.id);
    let mut r = util::resp(200, "application/octet-stream", bytes);
    util::set_header(
        &mut r,
        "content-disposition",
        &format!("attachment; filename={filename}"),
    );
    r
}

pub(crate) fn dv3(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    Some(match rest {
        ["namespaces", ns, "pipelines", p, "pipelineruns"] => match ctx.method() {
            "GET" => list_prs(ctx, ns, p),
            "POST" => create_pr(ctx, ns, p),
            _ => util::restful(405),
        },
        ["namespaces", ns, "pipelineruns", name] => match ctx.method() {
            "GET" => {
                let Some(proj) = ctx.st.project(&ctx.cluster, ns) else {
                    return Some(pipelines::project_not_found(ns));
                };
                match proj.runs.get(*name) {
                    Some(pr) => util::ok_json(&render_pr(pr, proj.pipelines.get(&pr.pipeline), ctx.now, View::Full)),
                    None => pr_not_found(name),
                }
            }
            "DELETE" => delete_pr(ctx, ns, name),
            _ => util::restful(405),
        },
        ["namespaces", ns, "pipelineruns", name, "nodedetails"] => match ctx.method() {
            "GET" => {
                let Some(proj) = ctx.st.project(&ctx.cluster, ns) else {
                    return Some(pipelines::project_not_found(ns));
                };
                let Some(pr) = proj.runs.get(*name) else {
                    return Some(pr_not_found(name));
                };
                match build_of(proj.pipelines.get(&pr.pipeline), pr, ctx.now) {
                    Some(b) => util::ok_json(&Value::Array(job_nodes(b, ctx.now, true))),
                    None => util::text_err(500, "unexpected end of JSON input"),
                }
            }
            _ => util::restful(405),
        },
        ["namespaces", ns, "pipelineruns", name, "artifacts", "download"] => match ctx.method() {
            "GET" => download(ctx, ns, name),
            _ => util::restful(405),
        },
        _ => return None,
    })
}

/// How long after a DELETE the PipelineRun controller has handled the
/// finalizer (deleted the Jenkins build unless kept) and the CR is gone.
pub(crate) const FINALIZER_LAG: chrono::Duration = chrono::Duration::milliseconds(300);

/// Go's `strconv.ParseBool` (true only for the true spellings).
fn parse_bool_true(v: Option<&str>) -> bool {
    matches!(v, Some("1" | "t" | "T" | "TRUE" | "true" | "True"))
}

/// `DELETE DV3/namespaces/{ns}/pipelineruns/{name}?keepJenkinsRecord=`.
///
/// upstream: ks-devops pkg/kapis/devops/v1alpha3/pipelinerun/handler.go:291-331
/// (`deletePipelineRun`): the stored phase must be Succeeded, Failed or
/// Cancelled (else 400 naming it); `keepJenkinsRecord` is read with
/// `strconv.ParseBool`, and when true the CR first gets annotation
/// `devops.kubesphere.io/keep-jenkins-record=true`; then the CR is deleted
/// and the answer is 200 with no body. The CR carries the
/// `pipelinerun.finalizers.kubesphere.io` finalizer, so it stays (with a
/// `deletionTimestamp`) until the controller
/// (controllers/jenkins/pipelinerun/pipelinerun_controller.go:88-110)
/// deletes the Jenkins build (`deleteJenkinsJobHistory`) unless the
/// annotation says to keep it, and removes the finalizer.
fn delete_pr(ctx: &mut Ctx, ns: &str, name: &str) -> Response {
    let now = ctx.now;
    let keep = parse_bool_true(ctx.q("keepJenkinsRecord"));
    let Some(proj) = ctx.st.project_mut(&ctx.cluster, ns) else {
        return pipelines::project_not_found(ns);
    };
    let Some(pr) = proj.runs.get(name) else {
        return pr_not_found(name);
    };
    let view = render_pr(pr, proj.pipelines.get(&pr.pipeline), now, View::Bare);
    let phase = view
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !matches!(phase.as_str(), "Succeeded" | "Failed" | "Cancelled") {
        return util::text_err(
            400,
            &format!("cannot delete a running PipelineRun, please stop it first, current status is {phase}"),
        );
    }
    let Some(pr) = proj.runs.get_mut(name) else {
        return pr_not_found(name);
    };
    if keep {
        util::set_annotation(&mut pr.cr, "devops.kubesphere.io/keep-jenkins-record", "true");
    }
    if pr.deleting.is_none() {
        util::set_meta(&mut pr.cr, "deletionTimestamp", json!(k8s_time(now)));
        util::set_meta(&mut pr.cr, "deletionGracePeriodSeconds", json!(0));
        pr.deleting = Some(now + FINALIZER_LAG);
    }
    util::resp(200, "application/json", "")
}

/// The PipelineRun controller's finalizer step for runs deleted before
/// `now` (see [`delete_pr`]).
pub(crate) fn finalize_deleted(proj: &mut crate::state::Project, now: DateTime<Utc>) {
    let gone: Vec<String> = proj
        .runs
        .iter()
        .filter(|(_, r)| r.deleting.is_some_and(|at| now >= at))
        .map(|(n, _)| n.clone())
        .collect();
    for name in gone {
        let Some(pr) = proj.runs.remove(&name) else {
            continue;
        };
        let keep = util::annotation(&pr.cr, "devops.kubesphere.io/keep-jenkins-record")
            .is_some_and(|v| parse_bool_true(Some(v)));
        if !keep
            && let (Some(pl), Some(id)) = (proj.pipelines.get_mut(&pr.pipeline), pr.build)
            && let Some(job) = pl.jobs.get_mut(pr.branch.as_deref().unwrap_or(""))
        {
            job.builds.remove(&id);
        }
    }
}

// ---------------------------------------------------------------------------
// v1alpha2 (Blue Ocean)

fn start_param(ctx: &Ctx) -> u64 {
    ctx.q("start").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0).max(0) as u64
}

fn is_approvable(step: &Step, user: &str, creator: Option<&str>) -> bool {
    match step {
        Step::Input { submitter, .. } => {
            submitter.trim().is_empty() || submitter.split(',').any(|s| s.trim() == user) || creator == Some(user)
        }
        _ => false,
    }
}

fn artifact_json(b: &Build, path: &str, size: u64) -> Value {
    let enc_path = util::encode_segment(path);
    let id = format!("io.jenkins.blueocean.service.embedded.rest.ArtifactImpl%3A{enc_path}");
    let job = match &b.branch {
        Some(br) => format!(
            "/job/{}/job/{}/job/{}",
            b.namespace,
            b.pipeline,
            util::encode_segment(&util::name_encode(br))
        ),
        None => format!("/job/{}/job/{}", b.namespace, b.pipeline),
    };
    let run_href = match &b.branch {
        Some(br) => format!(
            "/blue/rest/organizations/jenkins/pipelines/{}/pipelines/{}/branches/{}/runs/{}/",
            b.namespace,
            b.pipeline,
            util::encode_segment(&util::name_encode(br)),
            b.id
        ),
        None => format!(
            "/blue/rest/organizations/jenkins/pipelines/{}/pipelines/{}/runs/{}/",
            b.namespace, b.pipeline, b.id
        ),
    };
    json!({
        "_class": "io.jenkins.blueocean.service.embedded.rest.ArtifactImpl",
        "_links": {"self": {"_class": "io.jenkins.blueocean.rest.hal.Link", "href": format!("{run_href}artifacts/{}/", id.replace('%', "%25"))}},
        "downloadable": true,
        "id": id,
        "name": path.rsplit('/').next().unwrap_or(path),
        "path": path,
        "size": size,
        "url": format!("{job}/{}/artifact/{path}", b.id),
    })
}

pub(crate) fn dv2(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    let (ns, p, branch, tail): (&str, &str, Option<&str>, &[&str]) = match rest {
        ["namespaces", ns, "pipelines", p, "branches", b, "runs", tail @ ..] => (ns, p, Some(b), tail),
        ["namespaces", ns, "pipelines", p, "runs", tail @ ..] => (ns, p, None, tail),
        _ => return None,
    };
    let m = ctx.method().to_string();
    // Route registration: which (tail, method) pairs exist.
    let allowed: &[&str] = match tail {
        [] => {
            if branch.is_some() {
                &["POST"]
            } else {
                &["GET", "POST"]
            }
        }
        [_] => &["GET"],
        [_, "stop"] | [_, "replay"] => &["POST"],
        [_, "nodes"] | [_, "nodesdetail"] | [_, "artifacts"] | [_, "log"] => &["GET"],
        [_, "nodes", _, "steps"] => &["GET"],
        [_, "nodes", _, "steps", _] => &["POST"],
        [_, "nodes", _, "steps", _, "log"] => &["GET"],
        _ => return None,
    };
    if !allowed.contains(&m.as_str()) {
        return Some(util::restful(405));
    }
    let is_log = matches!(tail, [_, "log"] | [_, "nodes", _, "steps", _, "log"]);
    // upstream: go-restful route selection (jsr311.go:135-167) happens
    // before the handler: U15.
    if is_log && !ctx.accepts_log() {
        return Some(crate::logs::not_acceptable());
    }
    let now = ctx.now;
    let user = ctx.user.clone();
    // The input submit route first reads the run's nodes to check who may
    // answer; when that read fails it answers 200 with a refusal instead of
    // the Jenkins error.
    // upstream: ks-devops pkg/kapis/devops/v1alpha2/devops.go:384-433
    // (`hasSubmitPermission`: GetNodesDetail error -> "cannot get the
    // submitters of current step"), :436-461 (`SubmitInputStep` writes it as
    // `{"allow":"false","message":...}`).
    let is_submit = matches!(tail, [_, "nodes", _, "steps", _]);
    let missing = |msg: String| {
        if is_submit {
            submit_refused("cannot get the submitters of current step")
        } else {
            pipelines::jenkins_err(404, &msg)
        }
    };
    // Resolve the pipeline (and branch).
    let (multi, raw_branch, creator) = {
        let Some(pl) = ctx.st.project(&ctx.cluster, ns).and_then(|x| x.pipelines.get(p)) else {
            return Some(missing(format!("Pipeline {ns}/{p} not found")));
        };
        let raw = match branch {
            Some(b) => match pipelines::find_branch(pl, b) {
                Some(r) => Some(r),
                None => return Some(missing(format!("Pipeline {ns}/{p}/{b} not found"))),
            },
            None => None,
        };
        (
            pl.is_multi(),
            raw,
            util::annotation(&pl.cr, "kubesphere.io/creator").map(str::to_string),
        )
    };
    if tail.is_empty() && m == "POST" {
        return Some(trigger(ctx, ns, p, multi, raw_branch.as_deref()));
    }
    if tail.is_empty() {
        return Some(list_runs(ctx, ns, p));
    }
    if multi && raw_branch.is_none() {
        return Some(missing(format!("Run {} not found in {ns}/{p}", tail[0])));
    }
    let run_id: Option<u64> = tail[0].parse().ok();
    let not_found = || {
        missing(format!(
            "Run {} not found in organization jenkins and pipeline {p}",
            tail[0]
        ))
    };
    let Some(run_id) = run_id else {
        return Some(not_found());
    };
    let body_v = ctx_body(ctx);
    let start = start_param(ctx);
    let limit = ctx.q("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(100);
    let qid = ctx.st.next_queue_id();
    let phase = ctx.phase;
    let Some(pl) = ctx
        .st
        .project_mut(&ctx.cluster, ns)
        .and_then(|x| x.pipelines.get_mut(p))
    else {
        return Some(not_found());
    };
    let rb = raw_branch.as_deref();
    let Some(b) = pl.build(rb, run_id).filter(|b| b.visible(now)).cloned() else {
        return Some(not_found());
    };
    let approvable = |s: &Step| is_approvable(s, &user, creator.as_deref());
    Some(match tail {
        [_] => util::ok_json(&b.blue_run(now)),
        [_, "stop"] => {
            if !b.is_finished(now)
                && let Some(bm) = pl.build_mut(rb, run_id)
            {
                bm.stop_at = Some(now);
            }
            match pl.build(rb, run_id) {
                Some(b2) => util::ok_json(&b2.blue_run(now)),
                None => not_found(),
            }
        }
        [_, "replay"] => {
            // Replay runs the original script with the original
            // parameters (workflow-cps `ReplayAction.run2` copies the
            // ParametersAction).
            let cause = Cause {
                short: format!("Replayed #{run_id}"),
                user: Some(user.clone()),
                class: None,
            };
            match new_build(
                pl,
                ns,
                rb,
                now,
                phase,
                b.parameters.clone(),
                cause,
                qid,
                Some(b.plan.clone()),
            ) {
                Some(id) => match pl.build(rb, id) {
                    Some(nb) => util::ok_json(&replay_answer(nb, &user, run_id)),
                    None => not_found(),
                },
                None => pipelines::jenkins_err(500, "replay failed"),
            }
        }
        [_, "nodes"] => util::ok_json(&Value::Array(b.nodes(now, false, None, &approvable))),
        [_, "nodesdetail"] => util::ok_json(&Value::Array(b.nodes(now, true, Some("aprovable"), &approvable))),
        [_, "nodes", node, "steps"] => match b.steps_of(node, now, Some("aprovable"), &approvable) {
            Some(s) => util::ok_json(&Value::Array(s)),
            None => pipelines::jenkins_err(404, &format!("Node {node} not found")),
        },
        [_, "nodes", node, "steps", step] => submit_input(body_v, pl, rb, &b, node, step, now, &approvable, &user),
        [_, "nodes", node, "steps", step, "log"] => {
            let Some(i) = b.step_index(node, step) else {
                return Some(pipelines::jenkins_err(404, &format!("Step {step} not found")));
            };
            let path = format!("{}nodes/{node}/steps/{step}/log/", b.links_base());
            crate::logs::serve(ctx, b.step_log(i, now), crate::logs::LogRoute::Step, &path)
        }
        [_, "log"] => {
            let log = crate::logs::LogText {
                pieces: b.run_log(now),
                complete: b.is_finished(now),
                appended: None,
            };
            let path = format!("{}log/", b.links_base());
            crate::logs::serve(ctx, log, crate::logs::LogRoute::Run, &path)
        }
        [_, "artifacts"] => {
            let items: Vec<Value> = b
                .artifacts(now)
                .iter()
                .skip(start as usize)
                .take(limit)
                .map(|(path, size)| artifact_json(&b, path, *size))
                .collect();
            util::ok_json(&Value::Array(items))
        }
        _ => util::restful(404),
    })
}

/// The replay route's answer for a build that is still queued.
///
/// upstream: blueocean-plugin blueocean-pipeline-api-impl
/// `PipelineRunImpl.replay()` returns `queueItem.toRun()`, a `QueuedBlueRun`
/// (blueocean-rest-impl QueuedBlueRun.java: `type` "QueuedItem", `id` the
/// expected build number, `queueId`, no times, `replayable` false, the
/// queue item's causes: workflow-cps `ReplayAction.run2` adds a
/// `UserIdCause` and a `ReplayCause` "Replayed #N"). ks-devops decodes it
/// into `devops.ReplayPipeline` and writes that struct back
/// (pkg/client/devops/jenkins/pipeline.go:326-340, pkg/kapis/devops/v1alpha2/devops.go:230-245,
/// pkg/client/devops/pipeline.go:340-399): only the struct's fields,
/// `omitempty` (so no null, false or empty values), and `_links` always
/// with exactly its seven links (a Go struct is never omitted).
fn replay_answer(nb: &Build, user: &str, from: u64) -> Value {
    let link = |href: String| json!({"_class": "io.jenkins.blueocean.rest.hal.Link", "href": href});
    let run = nb.links_base();
    let parent = run
        .trim_end_matches('/')
        .rsplit_once("/runs/")
        .map(|(p, _)| format!("{p}/"))
        .unwrap_or_default();
    json!({
        "_class": "io.jenkins.blueocean.service.embedded.rest.QueuedBlueRun",
        "_links": {
            "parent": link(parent),
            "tests": link(format!("{run}tests/")),
            "log": link(format!("{run}log/")),
            "self": link(run.clone()),
            "blueTestSummary": link(format!("{run}blueTestSummary/")),
            "actions": link(format!("{run}actions/")),
            "artifacts": link(format!("{run}artifacts/")),
        },
        "causes": [
            {"_class": "hudson.model.Cause$UserIdCause", "shortDescription": format!("Started by user {user}"), "userId": user, "userName": user},
            {"_class": "org.jenkinsci.plugins.workflow.cps.replay.ReplayCause", "shortDescription": format!("Replayed #{from}")},
        ],
        "id": nb.id.to_string(),
        "organization": "jenkins",
        "pipeline": nb.pipeline_field(),
        "result": "UNKNOWN",
        "state": "QUEUED",
        "type": "QueuedItem",
        "queueId": nb.queue_id.to_string(),
    })
}

fn ctx_body(ctx: &Ctx) -> Option<Value> {
    serde_json::from_slice(&ctx.req.body).ok()
}

/// The submit route's HTTP-200 refusal.
fn submit_refused(message: &str) -> Response {
    util::ok_json(&json!({"allow": "false", "message": message}))
}

/// The body ks-devops forwards to Blue Ocean for an input answer (U1).
///
/// upstream: ks-devops pkg/models/devops/devops.go:1065-1094
/// (`getInputReqBody`): the body is decoded into `CheckPlayload` (decode
/// errors ignored); only when `abort` is not true and `parameters` is
/// missing or `null` does it send `{"id","parameters":[]}`. Otherwise it
/// re-marshals `CheckPlayload`, whose `parameters` and `abort` are
/// `omitempty` (pkg/client/devops/pipeline.go:689-693): a `[]` from the
/// caller is dropped, and Blue Ocean then finds neither `parameters` nor
/// `abort`.
fn forwarded_input_body(raw: Option<&Value>) -> Value {
    let id = raw
        .and_then(|b| b.get("id"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let params = raw.and_then(|b| b.get("parameters")).and_then(Value::as_array);
    let abort = raw.and_then(|b| b.get("abort")).and_then(Value::as_bool) == Some(true);
    let mut out = serde_json::Map::new();
    if let Some(id) = id {
        out.insert("id".into(), json!(id));
    }
    if !abort && params.is_none() {
        out.insert("parameters".into(), json!([]));
    } else {
        if let Some(p) = params.filter(|p| !p.is_empty()) {
            out.insert("parameters".into(), Value::Array(p.clone()));
        }
        if abort {
            out.insert("abort".into(), json!(true));
        }
    }
    Value::Object(out)
}

#[allow(clippy::too_many_arguments)]
fn submit_input(
    body: Option<Value>,
    pl: &mut Pipeline,
    rb: Option<&str>,
    b: &Build,
    node: &str,
    step: &str,
    now: DateTime<Utc>,
    approvable: &dyn Fn(&Step) -> bool,
    user: &str,
) -> Response {
    // Permission check on the run's nodes (a paused node and step with an
    // input; the step must be the one addressed).
    // upstream: ks-devops pkg/kapis/devops/v1alpha2/devops.go:322-433
    // (`approvableCheck`, `hasSubmitPermission`).
    let Some(i) = b.step_index(node, step) else {
        return submit_refused("you have no permission to approve this step");
    };
    let tl = b.timeline();
    let paused = b.state(&tl, now).0 == RunState::Paused && tl.paused == Some(i);
    let flat = b.flat_steps();
    let Some((_, st)) = flat.get(i) else {
        return submit_refused("you have no permission to approve this step");
    };
    if !paused {
        // Blue Ocean sets `input` only while the step waits.
        return submit_refused(&format!("the step '{}' is not approvable", st.display_name()));
    }
    if !approvable(st) {
        return submit_refused("you have no permission to approve this step");
    }
    // Blue Ocean PipelineStepImpl.submitInputStep on the forwarded body.
    // upstream: blueocean-plugin blueocean-pipeline-api-impl
    // PipelineStepImpl.java `submitInputStep` / `parseValue`.
    let fwd = forwarded_input_body(body.as_ref());
    let Some(id) = fwd.get("id").and_then(Value::as_str) else {
        // `body.getString("id")` throws; Jenkins answers 500.
        return pipelines::jenkins_err(500, "JSONObject[\"id\"] not found.");
    };
    if fwd.get("parameters").is_none() && fwd.get("abort").is_none() {
        return pipelines::jenkins_err(400, "parameters is required");
    }
    if let Step::Input { id: want, .. } = st
        && id != want
    {
        return pipelines::jenkins_err(
            400,
            &format!(
                "Error processing Input Submit request. This Run instance does not have an Input with an id of '{id}'."
            ),
        );
    }
    let abort = fwd.get("abort").and_then(Value::as_bool) == Some(true);
    if !abort {
        // The simulated input steps declare no parameters: the first one
        // given is unknown.
        if let Some(p) = fwd.get("parameters").and_then(Value::as_array).and_then(|a| a.first()) {
            return match p.get("name").and_then(Value::as_str) {
                None => pipelines::jenkins_err(400, "name is required parameter element"),
                Some(n) => pipelines::jenkins_err(400, &format!("No such parameter definition: {n}")),
            };
        }
    }
    if let Some(bm) = pl.build_mut(rb, b.id) {
        bm.input_decision = Some((now, !abort, user.to_string()));
    }
    util::resp(200, "application/json", "")
}

fn trigger(ctx: &mut Ctx, ns: &str, p: &str, multi: bool, branch: Option<&str>) -> Response {
    if multi && branch.is_none() {
        return pipelines::jenkins_err(
            400,
            "Cannot start a run of a multi-branch pipeline; start it on a branch",
        );
    }
    let body: Option<Value> = if ctx.req.body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice(&ctx.req.body) {
            Ok(v) => Some(v),
            Err(_) => return pipelines::jenkins_err(400, "Invalid JSON body"),
        }
    };
    let given = body_params(&body);
    let qid = ctx.st.next_queue_id();
    let (now, phase, user) = (ctx.now, ctx.phase, ctx.user.clone());
    let Some(pl) = ctx
        .st
        .project_mut(&ctx.cluster, ns)
        .and_then(|x| x.pipelines.get_mut(p))
    else {
        return pipelines::jenkins_err(404, &format!("Pipeline {ns}/{p} not found"));
    };
    let params = merged_params(pl, &given);
    match new_build(pl, ns, branch, now, phase, params, Cause::user(&user), qid, None) {
        Some(id) => match pl.build(branch, id) {
            Some(b) => util::ok_json(&b.queued_json()),
            None => pipelines::jenkins_err(500, "trigger failed"),
        },
        None => pipelines::jenkins_err(404, "No Jenkinsfile found for this branch"),
    }
}

fn list_runs(ctx: &Ctx, ns: &str, p: &str) -> Response {
    let now = ctx.now;
    let Some(pl) = ctx.st.project(&ctx.cluster, ns).and_then(|x| x.pipelines.get(p)) else {
        return pipelines::jenkins_err(404, &format!("Pipeline {ns}/{p} not found"));
    };
    let branch = ctx.q("branch").filter(|b| !b.is_empty());
    let mut builds: Vec<&Build> = pl
        .jobs
        .iter()
        // Jenkins matches the branch job name (NameEncoder form, §16 U4).
        .filter(|(k, _)| match branch {
            Some(b) => util::name_encode(k) == b,
            None => true,
        })
        .flat_map(|(_, j)| j.builds.values())
        .filter(|b| b.visible(now))
        .collect();
    builds.sort_by(|a, b| b.queued_at.cmp(&a.queued_at).then_with(|| b.id.cmp(&a.id)));
    let total = builds.len();
    let start = ctx.q("start").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let limit = ctx.q("limit").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0).max(0);
    // listPipelineRunsByLocalPaging quirks (§6.3).
    let items: Vec<Value> = if start >= total as i64 - 1 {
        builds.iter().map(|b| b.blue_run(now)).collect()
    } else {
        let s = start.max(0) as usize;
        let e = (s + limit as usize).min(total);
        builds[s..e.max(s)].iter().map(|b| b.blue_run(now)).collect()
    };
    util::ok_json(&json!({"items": items, "totalItems": total}))
}
