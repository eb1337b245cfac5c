//! Credentials (§9): Secrets of the four DevOps credential types.

use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::routes::Ctx;
use crate::util::{self, ListQuery, k8s_time};

const TYPES: [&str; 4] = [
    "credential.devops.kubesphere.io/basic-auth",
    "credential.devops.kubesphere.io/ssh-auth",
    "credential.devops.kubesphere.io/secret-text",
    "credential.devops.kubesphere.io/kubeconfig",
];

pub(crate) fn seeded_secret(ns: &str, name: &str, ty: &str, data: &[(&str, &str)], created: DateTime<Utc>) -> Value {
    let mut d = serde_json::Map::new();
    for (k, v) in data {
        d.insert((*k).to_string(), json!(util::b64(v.as_bytes())));
    }
    let mut v = json!({
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, "uid": util::uid(), "resourceVersion": "1", "creationTimestamp": k8s_time(created)},
        "data": d,
        "type": ty,
    });
    if TYPES.contains(&ty) {
        util::set_annotation(&mut v, "credential.devops.kubesphere.io/autosync", "true");
        util::set_annotation(&mut v, "credential.devops.kubesphere.io/syncstatus", "successful");
        util::set_annotation(
            &mut v,
            "credential.devops.kubesphere.io/synctime",
            util::go_time_string(created),
        );
        util::set_annotation(&mut v, "kubesphere.io/creator", "tenant");
    }
    if ty == "kubernetes.io/service-account-token" {
        util::set_annotation(&mut v, "kubernetes.io/service-account.name", "default");
        util::set_annotation(&mut v, "kubernetes.io/service-account.uid", util::uid());
    }
    v
}

fn secret_type(v: &Value) -> &str {
    v.get("type").and_then(Value::as_str).unwrap_or("Opaque")
}

/// Blanks the secret keys of credential types (U13,
/// `ks-devops:pkg/utils/secretutil/secret_mask.go:29-60` MaskCredential):
/// each key of the type is SET to `""` whether or not the Secret had it, so
/// an ssh-auth credential without a passphrase still answers `passphrase: ""`.
/// A Secret without (or with empty) `data` is left alone (`secret.Data == nil`).
fn mask(mut v: Value) -> Value {
    let keys: &[&str] = match secret_type(&v) {
        "credential.devops.kubesphere.io/basic-auth" => &["password"],
        "credential.devops.kubesphere.io/ssh-auth" => &["private_key", "passphrase"],
        "credential.devops.kubesphere.io/secret-text" => &["secret"],
        "credential.devops.kubesphere.io/kubeconfig" => &["content"],
        _ => &[],
    };
    // An empty `data` map is omitted by the apiserver, so it reads back nil.
    if let Some(d) = v.get_mut("data").and_then(Value::as_object_mut)
        && !d.is_empty()
    {
        for k in keys {
            d.insert((*k).to_string(), json!(""));
        }
    }
    v
}

fn not_found(name: &str) -> Response {
    util::text_err(404, &format!("secrets \"{name}\" not found"))
}

/// Merges `data` (validated base64) and `stringData` into one `data` map.
fn collect_data(body: &Value, name: &str) -> Result<serde_json::Map<String, Value>, Response> {
    use base64::Engine;
    let mut out = serde_json::Map::new();
    if let Some(d) = body.get("data").and_then(Value::as_object) {
        for (k, v) in d {
            let s = v.as_str().unwrap_or("");
            if base64::engine::general_purpose::STANDARD.decode(s).is_err() {
                return Err(util::text_err(
                    400,
                    &format!("Secret \"{name}\" is invalid: data[{k}]: Invalid value: illegal base64 data"),
                ));
            }
            out.insert(k.clone(), json!(s));
        }
    }
    if let Some(d) = body.get("stringData").and_then(Value::as_object) {
        for (k, v) in d {
            let s = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.insert(k.clone(), json!(util::b64(s.as_bytes())));
        }
    }
    Ok(out)
}

fn create(ctx: &mut Ctx, ns: &str) -> Response {
    let body = match ctx.body_json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = util::meta_name(&body).to_string();
    if name.is_empty() {
        return util::text_err(
            400,
            "Secret \"\" is invalid: metadata.name: Required value: name or generateName is required",
        );
    }
    if !util::valid_name(&name) {
        return util::text_err(
            400,
            &format!(
                "Secret \"{name}\" is invalid: metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            ),
        );
    }
    let data = match collect_data(&body, &name) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let rv = ctx.st.next_rv();
    let (now, phase) = (ctx.now, ctx.phase);
    let Some(p) = ctx.st.project_mut(&ctx.cluster, ns) else {
        return crate::pipelines::project_not_found(ns);
    };
    if p.secrets.contains_key(&name) {
        return util::text_err(400, &format!("secrets \"{name}\" already exists"));
    }
    let ty = body.get("type").and_then(Value::as_str).unwrap_or("Opaque").to_string();
    let mut v = json!({"kind": "Secret", "apiVersion": "v1", "metadata": body.get("metadata").cloned().unwrap_or(json!({})), "data": data, "type": ty});
    util::set_meta(&mut v, "namespace", json!(ns));
    util::set_meta(&mut v, "uid", json!(util::uid()));
    util::set_meta(&mut v, "resourceVersion", json!(rv));
    util::set_meta(&mut v, "creationTimestamp", json!(k8s_time(now)));
    util::set_annotation(&mut v, "credential.devops.kubesphere.io/autosync", "true");
    // `ks-devops:pkg/models/devops/devops.go:425-426,463-464`: pending + GetSyncNowTime().
    util::set_annotation(&mut v, "credential.devops.kubesphere.io/syncstatus", "pending");
    util::set_annotation(
        &mut v,
        "credential.devops.kubesphere.io/synctime",
        util::go_time_string(now),
    );
    p.secrets.insert(name.clone(), v.clone());
    p.secret_sync.insert(name, now + phase);
    util::ok_json(&util::strip_type_meta(mask(v)))
}

/// `PUT DV3/namespaces/{ns}/credentials/{credential}`.
///
/// upstream: ks-devops pkg/kapis/devops/v1alpha3/handler.go:355-371
/// (`UpdateCredential`) and pkg/models/devops/devops.go:454-470
/// (`UpdateCredentialObj`): the body Secret is passed to client-go
/// `Secrets(ns).Update` as it is, with the sync annotations set. So: the
/// Secret updated is the one the BODY names (the path name is not used; no
/// name gives client-go's `resource name may not be empty`); it replaces
/// the whole object (data, labels, annotations); a body without `type`
/// is defaulted to `Opaque` by the apiserver and the type is immutable;
/// a body `resourceVersion` that is not the current one is a conflict.
/// Every non-404 error becomes 400 text (`errorHandle`, handler.go:373-386).
fn update(ctx: &mut Ctx, ns: &str, _path_name: &str) -> Response {
    let body = match ctx.body_json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = util::meta_name(&body).to_string();
    if name.is_empty() {
        // client-go rest.Request: `resource name may not be empty`.
        return util::text_err(400, "resource name may not be empty");
    }
    let data = match collect_data(&body, &name) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let rv = ctx.st.next_rv();
    let (now, phase) = (ctx.now, ctx.phase);
    let Some(p) = ctx.st.project_mut(&ctx.cluster, ns) else {
        return crate::pipelines::project_not_found(ns);
    };
    let Some(old) = p.secrets.get(&name) else {
        return not_found(&name);
    };
    // k8s.io/kubernetes pkg/apis/core/v1/defaults.go `SetDefaults_Secret`
    // (empty type -> Opaque), pkg/apis/core/validation/validation.go
    // `ValidateSecretUpdate` (type immutable).
    let ty = body
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .unwrap_or("Opaque")
        .to_string();
    if ty != secret_type(old) {
        return util::text_err(
            400,
            &format!("Secret \"{name}\" is invalid: type: Invalid value: \"{ty}\": field is immutable"),
        );
    }
    // k8s.io/apiserver pkg/registry/generic/registry/store.go `Update`:
    // a stale resourceVersion is a Conflict (409, made 400 by errorHandle).
    if let Some(given) = body.pointer("/metadata/resourceVersion").and_then(Value::as_str)
        && !given.is_empty()
        && Some(given) != old.pointer("/metadata/resourceVersion").and_then(Value::as_str)
    {
        return util::text_err(
            400,
            &format!(
                "Operation cannot be fulfilled on secrets \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
        );
    }
    let mut v = json!({"kind": "Secret", "apiVersion": "v1", "metadata": body.get("metadata").cloned().unwrap_or(json!({})), "data": data, "type": ty});
    for k in ["name", "namespace", "uid", "creationTimestamp"] {
        if let Some(x) = old.pointer(&format!("/metadata/{k}")).cloned() {
            util::set_meta(&mut v, k, x);
        }
    }
    util::set_meta(&mut v, "resourceVersion", json!(rv));
    util::set_annotation(&mut v, "credential.devops.kubesphere.io/autosync", "true");
    // `ks-devops:pkg/models/devops/devops.go:459-461`: pending + GetSyncNowTime().
    util::set_annotation(&mut v, "credential.devops.kubesphere.io/syncstatus", "pending");
    util::set_annotation(
        &mut v,
        "credential.devops.kubesphere.io/synctime",
        util::go_time_string(now),
    );
    p.secrets.insert(name.clone(), v.clone());
    p.secret_sync.insert(name, now + phase);
    util::ok_json(&util::strip_type_meta(mask(v)))
}

pub(crate) fn dv3(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    Some(match rest {
        ["namespaces", ns, "credentials"] => match ctx.method() {
            "GET" => {
                let Some(p) = ctx.st.project(&ctx.cluster, ns) else {
                    return Some(crate::pipelines::project_not_found(ns));
                };
                let q = ListQuery::parse(&ctx.query);
                let items: Vec<Value> = p
                    .secrets
                    .values()
                    .filter(|s| TYPES.contains(&secret_type(s)))
                    .filter(|s| q.name_matches(s))
                    .filter(|s| {
                        q.label_selector
                            .as_deref()
                            .is_none_or(|sel| util::selector_matches(sel, s))
                    })
                    .cloned()
                    .map(mask)
                    .collect();
                let (page, total) = q.sort_and_page(items);
                util::ok_json(&util::list_null_when_empty(page, total))
            }
            "POST" => create(ctx, ns),
            _ => util::restful(405),
        },
        ["namespaces", ns, "credentials", name] => match ctx.method() {
            // Any Secret in the namespace; only credential types are masked.
            "GET" => match ctx.st.project(&ctx.cluster, ns).and_then(|p| p.secrets.get(*name)) {
                Some(s) => util::ok_json(&util::strip_type_meta(mask(s.clone()))),
                None => not_found(name),
            },
            "PUT" => update(ctx, ns, name),
            "DELETE" => {
                let Some(p) = ctx.st.project_mut(&ctx.cluster, ns) else {
                    return Some(crate::pipelines::project_not_found(ns));
                };
                p.secret_sync.remove(*name);
                match p.secrets.remove(*name) {
                    Some(_) => util::ok_json(&json!({"message": "success"})),
                    None => not_found(name),
                }
            }
            _ => util::restful(405),
        },
        _ => return None,
    })
}

fn jenkins_type(ty: &str) -> &'static str {
    match ty {
        "credential.devops.kubesphere.io/basic-auth" => "Username with password",
        "credential.devops.kubesphere.io/ssh-auth" => "SSH Username with private key",
        "credential.devops.kubesphere.io/secret-text" => "Secret text",
        _ => "Kubernetes configuration (kubeconfig)",
    }
}

/// The usage route's answer when Jenkins has no such credential (U5).
///
/// upstream: ks-devops pkg/client/devops/jenkins/credential.go:27-45
/// `GetCredentialInProject` -> `Requester.GetJSON` (request.go:136-141, 264-356:
/// the endpoint gets a trailing `/` and the `api/json` suffix); a 404 becomes
/// `devops.ErrorResponse` whose Error() is `"<method> <url>: <code> <body>"`
/// (pkg/client/devops/interface.go:56-71); the handler
/// (pkg/kapis/devops/v1alpha2/devops.go:882-893) answers it with
/// `kapis.HandleInternalError`: 500, HTML-escaped text.
fn usage_not_found(ns: &str, name: &str) -> Response {
    let path = format!("/job/{ns}/credentials/store/folder/domain/_/credential/{name}/");
    let page = util::jenkins_error_page(404, "Not Found", &path);
    util::handle_internal_error(&format!(
        "GET http://ks-jenkins.kubesphere-devops-system.svc:80{path}api/json?depth=2: 404 {page}"
    ))
}

pub(crate) fn dv2(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    match rest {
        ["namespaces", ns, "credentials", name, "usage"] => Some(match ctx.method() {
            "GET" => {
                // Jenkins knows the credential only once the credential
                // controller synced it; until then (and for any Secret that
                // is not a credential) its folder store answers 404.
                let now = ctx.now;
                let in_jenkins = ctx.st.project(&ctx.cluster, ns).and_then(|p| {
                    let s = p.secrets.get(*name).filter(|s| TYPES.contains(&secret_type(s)))?;
                    let synced = p.secret_sync.get(*name).is_none_or(|at| now >= *at);
                    synced.then_some((p, s))
                });
                let Some((p, s)) = in_jenkins else {
                    return Some(usage_not_found(ns, name));
                };
                let mut usage = Vec::new();
                for pl in p.pipelines.values() {
                    let spec = pl.cr.get("spec").map(Value::to_string).unwrap_or_default();
                    if spec.contains(&format!("\"credential_id\":\"{name}\""))
                        || pl.jenkinsfile().contains(&format!("'{name}'"))
                    {
                        let builds: u64 = pl.jobs.values().map(|j| j.builds.len() as u64).sum();
                        usage.push(json!({"name": format!("{ns}/{}", pl.name()), "ranges": {"ranges": [{"start": 1, "end": builds.max(1) + 1}]}}));
                    }
                }
                let fingerprint = if usage.is_empty() {
                    Value::Null
                } else {
                    json!({"file_name": name, "hash": format!("{:016x}{:016x}", util::fnv(name), util::fnv(ns)), "usage": usage})
                };
                util::ok_json(&json!({
                    "id": name,
                    "type": jenkins_type(secret_type(s)),
                    "display_name": name,
                    "description": util::annotation(s, "kubesphere.io/description").unwrap_or(""),
                    "domain": "_",
                    "fingerprint": fingerprint,
                }))
            }
            _ => util::restful(405),
        }),
        _ => None,
    }
}
