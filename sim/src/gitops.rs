//! GitRepository CRs (§10) and GitOps Applications (§11) with a simulated
//! Argo CD that syncs within one `run_phase`.

use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::routes::Ctx;
use crate::state::App;
use crate::util::{self, ListQuery, k8s_time};

pub(crate) fn seeded_gitrepo(ns: &str, name: &str, url: &str, created: DateTime<Utc>) -> Value {
    json!({
        "kind": "GitRepository",
        "apiVersion": "devops.kubesphere.io/v1alpha3",
        "metadata": {"name": name, "namespace": ns, "uid": util::uid(), "resourceVersion": "1", "generation": 1,
            "creationTimestamp": k8s_time(created),
            "annotations": {"kubesphere.io/description": "demo echo service", "kubesphere.io/creator": "tenant"},
            "finalizers": ["finalizer.gitrepository.devops.kubesphere.io"]},
        "spec": {"provider": "github", "url": url, "owner": "kubesphere-sigs", "repo": "demo-echo",
            "secret": {"name": "github-token", "namespace": ns}},
        "status": {"connection": "successful"},
    })
}

fn app_cr(ns: &str, name: &str, repo: &str, path: &str, created: DateTime<Utc>) -> Value {
    json!({
        "kind": "Application",
        "apiVersion": "gitops.kubesphere.io/v1alpha1",
        "metadata": {
            "name": name, "namespace": ns, "uid": util::uid(), "resourceVersion": "1", "generation": 1,
            "creationTimestamp": k8s_time(created),
            "labels": {"gitops.kubesphere.io/argocd-location": "argocd", "gitops.kubesphere.io/argocd-application": name},
            "annotations": {"kubesphere.io/creator": "tenant"},
            "finalizers": ["application.gitops.kubesphere.io"],
        },
        "spec": {"kind": "argocd", "argoApp": {"spec": {
            "project": ns,
            "source": {"repoURL": repo, "targetRevision": "HEAD", "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}, "syncOptions": ["CreateNamespace=true"]},
        }, "operation": null}},
    })
}

pub(crate) fn seeded_app(
    ns: &str,
    name: &str,
    degraded: bool,
    created: DateTime<Utc>,
    op_started: DateTime<Utc>,
) -> App {
    let path = if degraded { "broken" } else { "guestbook" };
    let cr = app_cr(
        ns,
        name,
        "https://github.com/argoproj/argocd-example-apps",
        path,
        created,
    );
    // U16: an automated sync never shows in `spec.argoApp.operation`.
    App {
        cr,
        op_started: Some(op_started),
        op: automated_op(),
        degraded,
        revision: format!("{:016x}{:016x}{:08x}", util::fnv(name), util::fnv(ns), 42u32),
    }
}

/// What Argo CD records for an automated sync.
fn automated_op() -> Value {
    json!({"sync": {"revision": "HEAD", "prune": true}, "initiatedBy": {"automated": true}})
}

fn image_of(app: &App) -> String {
    let path = app
        .cr
        .pointer("/spec/argoApp/spec/source/path")
        .and_then(Value::as_str)
        .unwrap_or("app");
    if app.degraded {
        "registry.example.com/broken:latest".into()
    } else if path.contains("guestbook") {
        "gcr.io/google-samples/gb-frontend:v5".into()
    } else {
        format!("registry.example.com/{}:v1", path.rsplit('/').next().unwrap_or("app"))
    }
}

/// The simulated Argo CD controller: derives status, labels and the
/// operation from the time the current operation started.
pub(crate) fn refresh_app(app: &mut App, ns: &str, now: DateTime<Utc>, phase: Duration) {
    let name = util::meta_name(&app.cr).to_string();
    let image = image_of(app);
    let (sync, health, op_state, keep_op) = match app.op_started {
        None => ("OutOfSync", "Missing", Value::Null, false),
        Some(start) if now < start + phase => (
            "OutOfSync",
            "Progressing",
            json!({"phase": "Running", "message": "one or more tasks are running", "startedAt": k8s_time(start),
                   "operation": app.op}),
            true,
        ),
        Some(start) => {
            let fin = k8s_time(start + phase);
            if app.degraded {
                (
                    "OutOfSync",
                    "Degraded",
                    json!({"phase": "Failed", "message": format!("one or more objects failed to apply, reason: Deployment.apps \"{name}\" is invalid: spec.template.spec.containers[0].image: Invalid value: \"{image}\": image pull failed"),
                           "startedAt": k8s_time(start), "finishedAt": fin,
                           "syncResult": {"revision": app.revision, "resources": [{"kind": "Deployment", "name": name, "namespace": ns, "status": "SyncFailed", "message": "image pull failed"}]}}),
                    false,
                )
            } else {
                (
                    "Synced",
                    "Healthy",
                    json!({"phase": "Succeeded", "message": "successfully synced (all tasks run)", "startedAt": k8s_time(start), "finishedAt": fin,
                           "syncResult": {"revision": app.revision, "resources": [{"kind": "Deployment", "name": name, "namespace": ns, "status": "Synced", "message": "deployment.apps/".to_string() + &name + " created"}]}}),
                    false,
                )
            }
        }
    };
    // Per-resource state follows the application's: the Deployment is what
    // fails or is still rolling out; the Service applies at once.
    let (deploy_sync, deploy_health) = match health {
        "Healthy" => ("Synced", json!({"status": "Healthy"})),
        "Missing" => ("OutOfSync", json!({"status": "Missing"})),
        "Progressing" => (
            "OutOfSync",
            json!({"status": "Progressing", "message": "Waiting for rollout to finish: 0 of 1 updated replicas are available..."}),
        ),
        _ => (
            "OutOfSync",
            json!({"status": "Degraded", "message": format!("Back-off pulling image \"{image}\": image pull failed")}),
        ),
    };
    let service = if health == "Missing" {
        json!({"version": "v1", "kind": "Service", "namespace": ns, "name": name, "status": "OutOfSync", "health": {"status": "Missing"}})
    } else {
        json!({"version": "v1", "kind": "Service", "namespace": ns, "name": name, "status": "Synced", "health": {"status": "Healthy"}})
    };
    let resources = json!([
        {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": ns, "name": name,
         "status": deploy_sync, "health": deploy_health},
        service,
    ]);
    let mut status = json!({
        "sync": {"status": sync, "revision": app.revision,
                 "comparedTo": {"source": app.cr.pointer("/spec/argoApp/spec/source").cloned().unwrap_or(Value::Null),
                                "destination": app.cr.pointer("/spec/argoApp/spec/destination").cloned().unwrap_or(Value::Null)}},
        "health": {"status": health},
        "resources": resources,
        "summary": {"images": [image]},
        "sourceType": "Directory",
        "reconciledAt": app.op_started.map(|s| k8s_time(s + phase)),
    });
    if health == "Degraded" {
        status["health"]["message"] = json!("Deployment has not become ready: image pull failed");
    }
    if !op_state.is_null() {
        status["operationState"] = op_state;
    }
    if !keep_op && let Some(a) = app.cr.pointer_mut("/spec/argoApp") {
        a["operation"] = Value::Null;
    }
    util::set_label(&mut app.cr, "gitops.kubesphere.io/sync-status", sync);
    util::set_label(&mut app.cr, "gitops.kubesphere.io/health-status", health);
    util::set_annotation(&mut app.cr, "gitops.kubesphere.io/images", image);
    app.cr["status"] = json!({"argoApp": status.to_string()});
}

/// The GitRepository amend controller (U14,
/// `ks-devops:controllers/gitrepository/gitrepository_amend_controller.go:81-127`):
/// it recognises only the providers `gitlab` (appends `.git` to the URL,
/// or builds a gitlab.com URL from owner/repo), `github` and `bitbucket`
/// (a github.com / bitbucket.org URL from owner/repo when the URL is
/// empty), compared lower-cased. Any other value (e.g. `bitbucket_server`)
/// is left as it is. Runs after the create/update answer was written.
fn amend_gitrepo(v: &mut Value) {
    let provider = v
        .pointer("/spec/provider")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    let field = |v: &Value, k: &str| {
        v.pointer(&format!("/spec/{k}"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (url, owner, repo) = (field(v, "url"), field(v, "owner"), field(v, "repo"));
    let new_url = match provider.as_str() {
        "gitlab" => {
            let base = if url.is_empty() {
                format!("https://gitlab.com/{owner}/{repo}")
            } else {
                url.clone()
            };
            if base.ends_with(".git") {
                base
            } else {
                format!("{base}.git")
            }
        }
        "github" if url.is_empty() => format!("https://github.com/{owner}/{repo}"),
        "bitbucket" if url.is_empty() => format!("https://bitbucket.org/{owner}/{repo}"),
        _ => return,
    };
    if let Some(spec) = v.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("url".into(), json!(new_url));
    }
}

fn gr_not_found(name: &str) -> Response {
    util::text_err(
        404,
        &format!("gitrepositories.devops.kubesphere.io \"{name}\" not found"),
    )
}

fn app_not_found(name: &str) -> Response {
    util::text_err(404, &format!("applications.gitops.kubesphere.io \"{name}\" not found"))
}

/// `DV3 .../gitrepositories` routes.
pub(crate) fn dv3(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    Some(match rest {
        ["namespaces", ns, "gitrepositories"] => match ctx.method() {
            "GET" => {
                let Some(p) = ctx.st.project(&ctx.cluster, ns) else {
                    return Some(util::ok_json(&util::list_always(vec![], 0)));
                };
                let q = ListQuery::parse(&ctx.query);
                let items: Vec<Value> = p.gitrepos.values().filter(|v| q.name_matches(v)).cloned().collect();
                let (page, total) = q.sort_and_page(items);
                util::ok_json(&util::list_always(page, total))
            }
            "POST" => create_gitrepo(ctx, ns),
            _ => util::restful(405),
        },
        ["namespaces", ns, "gitrepositories", name] => match ctx.method() {
            "GET" => match ctx.st.project(&ctx.cluster, ns).and_then(|p| p.gitrepos.get(*name)) {
                Some(v) => util::ok_json(v),
                None => gr_not_found(name),
            },
            "PUT" => {
                let body = match ctx.body_json() {
                    Ok(b) => b,
                    Err(r) => return Some(r),
                };
                let rv = ctx.st.next_rv();
                let Some(old) = ctx
                    .st
                    .project_mut(&ctx.cluster, ns)
                    .and_then(|p| p.gitrepos.get_mut(*name))
                else {
                    return Some(gr_not_found(name));
                };
                let mut v = body;
                for k in ["name", "namespace", "uid", "creationTimestamp", "finalizers"] {
                    if let Some(x) = old.pointer(&format!("/metadata/{k}")).cloned() {
                        util::set_meta(&mut v, k, x);
                    }
                }
                util::set_meta(&mut v, "resourceVersion", json!(rv));
                if let Some(spec) = v.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.remove("description");
                }
                if let Some(o) = v.as_object_mut() {
                    o.insert("kind".into(), json!("GitRepository"));
                    o.insert("apiVersion".into(), json!("devops.kubesphere.io/v1alpha3"));
                }
                let answer = util::ok_json(&v);
                amend_gitrepo(&mut v);
                *old = v;
                answer
            }
            "DELETE" => match ctx
                .st
                .project_mut(&ctx.cluster, ns)
                .and_then(|p| p.gitrepos.remove(*name))
            {
                Some(v) => util::ok_json(&v),
                None => gr_not_found(name),
            },
            _ => util::restful(405),
        },
        _ => return None,
    })
}

fn create_gitrepo(ctx: &mut Ctx, ns: &str) -> Response {
    let body = match ctx.body_json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = util::meta_name(&body).to_string();
    if !util::valid_name(&name) {
        return util::text_err(
            422,
            &format!(
                "GitRepository.devops.kubesphere.io \"{name}\" is invalid: metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            ),
        );
    }
    let rv = ctx.st.next_rv();
    let now = ctx.now;
    let Some(p) = ctx.st.project_mut(&ctx.cluster, ns) else {
        return crate::pipelines::project_not_found(ns);
    };
    if p.gitrepos.contains_key(&name) {
        return util::text_err(
            409,
            &format!("gitrepositories.devops.kubesphere.io \"{name}\" already exists"),
        );
    }
    let mut v = body;
    if let Some(o) = v.as_object_mut() {
        o.insert("kind".into(), json!("GitRepository"));
        o.insert("apiVersion".into(), json!("devops.kubesphere.io/v1alpha3"));
        o.entry("spec").or_insert_with(|| json!({}));
    }
    if let Some(spec) = v.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("description");
    }
    util::set_meta(&mut v, "namespace", json!(ns));
    util::set_meta(&mut v, "uid", json!(util::uid()));
    util::set_meta(&mut v, "resourceVersion", json!(rv));
    util::set_meta(&mut v, "generation", json!(1));
    util::set_meta(&mut v, "creationTimestamp", json!(k8s_time(now)));
    util::set_meta(
        &mut v,
        "finalizers",
        json!(["finalizer.gitrepository.devops.kubesphere.io"]),
    );
    let answer = util::ok_json(&v);
    amend_gitrepo(&mut v);
    p.gitrepos.insert(name, v);
    answer
}

/// `GO1` routes.
pub(crate) fn go1(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    Some(match rest {
        ["clusters"] => match ctx.method() {
            "GET" => util::ok_json(&json!([
                {"server": "https://kubernetes.default.svc", "name": "in-cluster"},
                {"server": "https://member-1.kubesphere.local:6443", "name": "member-1"},
            ])),
            _ => util::restful(405),
        },
        ["namespaces", ns, "application-summary"] => match ctx.method() {
            "GET" => {
                let mut health = serde_json::Map::new();
                let mut sync = serde_json::Map::new();
                let mut total = 0u64;
                if let Some(p) = ctx.st.project(&ctx.cluster, ns) {
                    for a in p.apps.values() {
                        total += 1;
                        for (key, map) in [
                            ("gitops.kubesphere.io/health-status", &mut health),
                            ("gitops.kubesphere.io/sync-status", &mut sync),
                        ] {
                            if let Some(l) = util::label(&a.cr, key) {
                                let n = map.get(l).and_then(Value::as_u64).unwrap_or(0) + 1;
                                map.insert(l.to_string(), json!(n));
                            }
                        }
                    }
                }
                util::ok_json(&json!({"total": total, "healthStatus": health, "syncStatus": sync}))
            }
            _ => util::restful(405),
        },
        ["namespaces", ns, "applications"] => match ctx.method() {
            "GET" => {
                let q = ListQuery::parse(&ctx.query);
                let hs = q.filter("healthStatus").filter(|s| !s.is_empty()).map(str::to_string);
                let ss = q.filter("syncStatus").filter(|s| !s.is_empty()).map(str::to_string);
                let items: Vec<Value> = ctx
                    .st
                    .project(&ctx.cluster, ns)
                    .map(|p| {
                        p.apps
                            .values()
                            .map(|a| a.cr.clone())
                            .filter(|v| q.name_matches(v))
                            .filter(|v| {
                                hs.as_deref()
                                    .is_none_or(|h| util::label(v, "gitops.kubesphere.io/health-status") == Some(h))
                            })
                            .filter(|v| {
                                ss.as_deref()
                                    .is_none_or(|s| util::label(v, "gitops.kubesphere.io/sync-status") == Some(s))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let (page, total) = q.sort_and_page(items);
                util::ok_json(&util::list_always(page, total))
            }
            "POST" => create_app(ctx, ns),
            _ => util::restful(405),
        },
        ["namespaces", ns, "applications", name] => match ctx.method() {
            "GET" => match ctx.st.project(&ctx.cluster, ns).and_then(|p| p.apps.get(*name)) {
                Some(a) => util::ok_json(&a.cr),
                None => app_not_found(name),
            },
            "PUT" => update_app(ctx, ns, name),
            "DELETE" => match ctx.st.project_mut(&ctx.cluster, ns).and_then(|p| p.apps.remove(*name)) {
                Some(a) => util::ok_json(&a.cr),
                None => app_not_found(name),
            },
            _ => util::restful(405),
        },
        ["namespaces", ns, "applications", name, "sync"] => match ctx.method() {
            "POST" => sync_app(ctx, ns, name),
            _ => util::restful(405),
        },
        _ => return None,
    })
}

fn is_degraded_source(v: &Value) -> bool {
    let src = v
        .pointer("/spec/argoApp/spec/source")
        .map(Value::to_string)
        .unwrap_or_default();
    ["broken", "degraded", "fail"].iter().any(|k| src.contains(k))
}

fn normalise_app(v: &mut Value, ns: &str, name: &str) {
    if let Some(o) = v.as_object_mut() {
        o.insert("kind".into(), json!("Application"));
        o.insert("apiVersion".into(), json!("gitops.kubesphere.io/v1alpha1"));
        o.remove("status");
    }
    util::set_meta(v, "namespace", json!(ns));
    util::set_label(v, "gitops.kubesphere.io/argocd-location", "argocd");
    util::set_label(v, "gitops.kubesphere.io/argocd-application", name);
    // The controller rewrites the Argo project to the namespace.
    if let Some(spec) = v.pointer_mut("/spec/argoApp/spec").and_then(Value::as_object_mut) {
        spec.insert("project".into(), json!(ns));
    }
}

fn create_app(ctx: &mut Ctx, ns: &str) -> Response {
    let body = match ctx.body_json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = util::meta_name(&body).to_string();
    if !util::valid_name(&name) {
        return util::text_err(
            422,
            &format!(
                "Application.gitops.kubesphere.io \"{name}\" is invalid: metadata.name: Invalid value: \"{name}\""
            ),
        );
    }
    let rv = ctx.st.next_rv();
    let (now, phase) = (ctx.now, ctx.phase);
    let Some(p) = ctx.st.project_mut(&ctx.cluster, ns) else {
        return crate::pipelines::project_not_found(ns);
    };
    if p.apps.contains_key(&name) {
        return util::text_err(
            409,
            &format!("applications.gitops.kubesphere.io \"{name}\" already exists"),
        );
    }
    // U16, `ks-devops:pkg/kapis/gitops/v1alpha1/argocd/handler.go:45-59`:
    // the handler forces the namespace and adds only the `argocd-location`
    // label; it never sets `spec.argoApp.operation`. The controller then
    // creates the Argo CD application (label `argocd-application`, project
    // rewritten to the namespace, finalizer) after the answer is written.
    let mut v = body;
    if let Some(o) = v.as_object_mut() {
        o.insert("kind".into(), json!("Application"));
        o.insert("apiVersion".into(), json!("gitops.kubesphere.io/v1alpha1"));
        o.remove("status");
    }
    util::set_meta(&mut v, "namespace", json!(ns));
    util::set_label(&mut v, "gitops.kubesphere.io/argocd-location", "argocd");
    util::set_meta(&mut v, "uid", json!(util::uid()));
    util::set_meta(&mut v, "resourceVersion", json!(rv));
    util::set_meta(&mut v, "generation", json!(1));
    util::set_meta(&mut v, "creationTimestamp", json!(k8s_time(now)));
    let response = v.clone();
    normalise_app(&mut v, ns, &name);
    util::set_meta(&mut v, "finalizers", json!(["application.gitops.kubesphere.io"]));
    let automated = v
        .pointer("/spec/argoApp/spec/syncPolicy/automated")
        .is_some_and(|a| !a.is_null());
    let has_argo = v.pointer("/spec/argoApp").is_some_and(|a| !a.is_null());
    let degraded = is_degraded_source(&v);
    let mut app = App {
        cr: v,
        op_started: automated.then_some(now),
        op: automated_op(),
        degraded,
        revision: format!("{:016x}{:016x}{:08x}", util::fnv(&name), util::fnv(ns), 7u32),
    };
    if has_argo {
        refresh_app(&mut app, ns, now, phase);
    }
    p.apps.insert(name, app);
    util::ok_json(&response)
}

fn update_app(ctx: &mut Ctx, ns: &str, name: &str) -> Response {
    let body = match ctx.body_json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let rv = ctx.st.next_rv();
    let (now, phase) = (ctx.now, ctx.phase);
    let Some(app) = ctx.st.project_mut(&ctx.cluster, ns).and_then(|p| p.apps.get_mut(name)) else {
        return app_not_found(name);
    };
    // upstream: ks-devops pkg/kapis/gitops/v1alpha1/gitops/handler.go:118-137
    // UpdateApplication: reads the path's application, copies *its*
    // resourceVersion into the body (so a stale one never conflicts: the
    // last writer wins) and updates the object the body names. The path's
    // namespace is not put into the body: without one the update goes to
    // the cluster-wide URL, which the API server does not serve.
    let body_ns = body
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let body_name = body.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    if body_ns.is_empty() {
        return util::text_err(404, "the server could not find the requested resource");
    }
    if body_ns != ns || body_name != name {
        // Upstream would write whatever the body names; refused here (stricter).
        return util::text_err(
            400,
            &format!("sim: the body names application {body_ns}/{body_name}, the path {ns}/{name}"),
        );
    }
    let mut v = body;
    for k in ["name", "uid", "creationTimestamp", "finalizers"] {
        if let Some(x) = app.cr.pointer(&format!("/metadata/{k}")).cloned() {
            util::set_meta(&mut v, k, x);
        }
    }
    normalise_app(&mut v, ns, name);
    util::set_meta(&mut v, "resourceVersion", json!(rv));
    app.degraded = is_degraded_source(&v);
    app.cr = v;
    refresh_app(app, ns, now, phase);
    util::ok_json(&app.cr)
}

fn sync_app(ctx: &mut Ctx, ns: &str, name: &str) -> Response {
    let body: Option<Value> = serde_json::from_slice(&ctx.req.body).ok();
    let (now, phase, user) = (ctx.now, ctx.phase, ctx.user.clone());
    let Some(app) = ctx.st.project_mut(&ctx.cluster, ns).and_then(|p| p.apps.get_mut(name)) else {
        return app_not_found(name);
    };
    let Some(req) = body.filter(Value::is_object) else {
        return util::text_err(400, "[ServiceError:400] invalid application sync request");
    };
    // `ks-devops:pkg/kapis/gitops/v1alpha1/argocd/handler.go:120-184`.
    if app.cr.pointer("/spec/argoApp").is_none_or(Value::is_null) {
        return util::text_err(
            400,
            "[ServiceError:400] application is not initialized, please confirm you have already configured it",
        );
    }
    if app.cr.pointer("/spec/argoApp/operation").is_some_and(|o| !o.is_null()) {
        return util::text_err(400, "[ServiceError:400] another operation is already in progress");
    }
    // U16: `SyncOperation` fields are `omitempty` (`pkg/api/gitops/v1alpha1/application.go:280-299`):
    // no revision stores "" (left out), `prune`/`dryRun` only when true;
    // sync options and retry fall back to the application's sync policy.
    let policy = app
        .cr
        .pointer("/spec/argoApp/spec/syncPolicy")
        .cloned()
        .unwrap_or(Value::Null);
    let mut sync = json!({});
    if let Some(r) = req.get("revision").and_then(Value::as_str).filter(|r| !r.is_empty()) {
        sync["revision"] = json!(r);
    }
    for k in ["prune", "dryRun"] {
        if req.get(k).and_then(Value::as_bool) == Some(true) {
            sync[k] = json!(true);
        }
    }
    if let Some(x) = req.get("strategy").filter(|x| !x.is_null()) {
        sync["syncStrategy"] = x.clone();
    }
    for k in ["resources", "manifests"] {
        if let Some(x) = req.get(k).filter(|x| x.as_array().is_some_and(|a| !a.is_empty())) {
            sync[k] = x.clone();
        }
    }
    let options = req
        .get("syncOptions")
        .filter(|x| !x.is_null())
        .or_else(|| policy.get("syncOptions"))
        .filter(|x| x.as_array().is_some_and(|a| !a.is_empty()));
    if let Some(x) = options {
        sync["syncOptions"] = x.clone();
    }
    let retry = req
        .get("retryStrategy")
        .filter(|x| !x.is_null())
        .or_else(|| policy.get("retry").filter(|x| !x.is_null()))
        .cloned()
        .unwrap_or(json!({}));
    let op = json!({"sync": sync, "initiatedBy": {"username": user}, "retry": retry});
    if let Some(a) = app.cr.pointer_mut("/spec/argoApp") {
        a["operation"] = op.clone();
    }
    app.op = op;
    app.op_started = Some(now);
    refresh_app(app, ns, now, phase);
    util::ok_json(&app.cr)
}
