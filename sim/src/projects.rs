//! Tenant (workspaces, clusters), IAM users and DevOps projects (§3).

use axum::response::Response;
use serde_json::{Value, json};

use crate::routes::Ctx;
use crate::state::{self, Workspace};
use crate::util::{self, ListQuery, k8s_time};

fn workspace_json(w: &Workspace) -> Value {
    json!({
        "kind": "Workspace",
        "apiVersion": "tenant.kubesphere.io/v1beta1",
        "metadata": {
            "name": w.name,
            "uid": format!("{:08x}-0000-4000-8000-{:012x}", util::fnv(&w.name) as u32, util::fnv(&w.name) & 0xffff_ffff_ffff),
            "resourceVersion": "1024",
            "generation": 1,
            "creationTimestamp": k8s_time(w.created),
            "labels": {"kubesphere.io/workspace": w.name},
            "annotations": {"kubesphere.io/creator": "admin", "kubesphere.io/description": format!("workspace {}", w.name)},
            "finalizers": ["finalizers.tenant.kubesphere.io"],
        },
        "spec": {"manager": w.manager},
        "status": {},
    })
}

fn cluster_json(name: &str, created: chrono::DateTime<chrono::Utc>) -> Value {
    let host = name == "host";
    let mut labels = json!({"cluster.kubesphere.io/group": "development"});
    if host {
        labels["cluster-role.kubesphere.io/host"] = json!("");
    }
    json!({
        "kind": "Cluster",
        "apiVersion": "cluster.kubesphere.io/v1alpha1",
        "metadata": {
            "name": name,
            "uid": format!("{:08x}-1111-4000-8000-{:012x}", util::fnv(name) as u32, util::fnv(name) & 0xffff_ffff_ffff),
            "creationTimestamp": k8s_time(created),
            "labels": labels,
            "annotations": {"kubesphere.io/description": if host { "The host cluster" } else { "A member cluster" }},
            "finalizers": ["finalizer.cluster.kubesphere.io"],
        },
        "spec": {
            "provider": "kubesphere",
            "enable": true,
            "joinFederation": !host,
            "connection": {"type": if host { "direct" } else { "proxy" }},
        },
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "Ready", "message": "Cluster is available now",
                "lastUpdateTime": k8s_time(created), "lastTransitionTime": k8s_time(created)}],
            "kubernetesVersion": "v1.30.4",
            "kubeSphereVersion": "v4.1.3",
            "nodeCount": if host { 3 } else { 2 },
            "uid": format!("{:032x}", u128::from(util::fnv(name))),
        },
    })
}

fn list_generic(ctx: &Ctx, items: Vec<Value>) -> Response {
    let q = ListQuery::parse(&ctx.query);
    let items: Vec<Value> = items.into_iter().filter(|v| q.name_matches(v)).collect();
    let (page, total) = q.sort_and_page(items);
    util::ok_json(&util::list_always(page, total))
}

/// `TN` routes.
pub(crate) fn tenant(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    let get_only = ctx.method() == "GET";
    Some(match rest {
        ["workspaces"] | ["workspacetemplates"] => {
            if !get_only {
                return Some(util::restful(405));
            }
            let items: Vec<Value> = ctx
                .st
                .workspaces
                .values()
                .filter(|w| ctx.st.is_member(&ctx.user, &w.name))
                .map(workspace_json)
                .collect();
            list_generic(ctx, items)
        }
        ["workspaces", ws] | ["workspacetemplates", ws] => {
            if !get_only {
                return Some(util::restful(405));
            }
            match ctx.st.workspaces.get(*ws) {
                Some(w) => util::ok_json(&workspace_json(w)),
                None => util::core_text_err(
                    404,
                    &format!("workspacetemplates.tenant.kubesphere.io \"{ws}\" not found"),
                ),
            }
        }
        ["workspaces", ws, "clusters"] => {
            // `kubesphere:pkg/models/tenant/tenant.go:469-507` ListWorkspaceClusters:
            // the clusters the workspace is placed on.
            if !get_only {
                return Some(util::restful(405));
            }
            let Some(w) = ctx.st.workspaces.get(*ws) else {
                return Some(util::core_text_err(
                    404,
                    &format!("workspacetemplates.tenant.kubesphere.io \"{ws}\" not found"),
                ));
            };
            let created = ctx.st.started - chrono::Duration::days(60);
            let items: Vec<Value> = w
                .clusters
                .iter()
                .filter(|c| ctx.st.clusters.contains_key(*c))
                .map(|c| cluster_json(c, created))
                .collect();
            let total = items.len();
            util::ok_json(&util::list_always(items, total))
        }
        ["clusters"] => {
            // U6, `kubesphere:pkg/models/tenant/tenant.go:509-593` ListClusters:
            // without global `list clusters` (no tenant has it), only the
            // clusters of the user's `iam.kubesphere.io/granted-clusters`
            // annotation, plus, with `?roleBindingExists=true`, clusters
            // where the user has a namespace RoleBinding. Workspace
            // membership adds nothing: a workspace-only member gets `[]`.
            if !get_only {
                return Some(util::restful(405));
            }
            let by_role_binding = match ctx.q("roleBindingExists").filter(|v| !v.is_empty()) {
                None => false,
                // strconv.ParseBool; its error goes to HandleInternalError.
                Some(v) => match v {
                    "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
                    "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
                    other => {
                        return Some(util::core_text_err(
                            500,
                            &format!("strconv.ParseBool: parsing \"{other}\": invalid syntax"),
                        ));
                    }
                },
            };
            let granted: Vec<String> = ctx
                .st
                .users
                .get(&ctx.user)
                .map(|u| u.granted_clusters.clone())
                .unwrap_or_default();
            let mut names: Vec<String> = granted
                .iter()
                .filter(|c| ctx.st.clusters.contains_key(*c))
                .cloned()
                .collect();
            if by_role_binding {
                for c in ctx.st.role_binding_clusters(&ctx.user) {
                    if !granted.contains(&c) {
                        names.push(c);
                    }
                }
            }
            let created = ctx.st.started - chrono::Duration::days(60);
            let items: Vec<Value> = names.iter().map(|c| cluster_json(c, created)).collect();
            list_generic(ctx, items)
        }
        _ => return None,
    })
}

fn user_annotations(u: &state::User) -> Value {
    let mut a =
        json!({"iam.kubesphere.io/password-encrypted": "true", "iam.kubesphere.io/globalrole": "platform-regular"});
    // `kubesphere:staging/src/kubesphere.io/api/iam/v1beta1/constants.go:55`.
    if !u.granted_clusters.is_empty() {
        a["iam.kubesphere.io/granted-clusters"] = json!(u.granted_clusters.join(","));
    }
    a
}

/// `IAM` routes.
pub(crate) fn iam(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    match rest {
        ["users", name] => {
            if ctx.method() != "GET" {
                return Some(util::restful(405));
            }
            Some(match ctx.st.users.get(*name) {
                Some(u) => {
                    let mut status = json!({"state": "Active"});
                    if let Some(t) = u.last_login {
                        status["lastLoginTime"] = json!(k8s_time(t));
                    }
                    util::ok_json(&json!({
                        "kind": "User",
                        "apiVersion": "iam.kubesphere.io/v1beta1",
                        "metadata": {
                            "name": u.name,
                            "uid": format!("{:08x}-2222-4000-8000-{:012x}", util::fnv(&u.name) as u32, util::fnv(&u.name) & 0xffff_ffff_ffff),
                            "resourceVersion": "2048",
                            "creationTimestamp": k8s_time(u.created),
                            "annotations": user_annotations(u),
                            "finalizers": ["finalizers.kubesphere.io/users"],
                        },
                        "spec": {"email": u.email, "lang": "en", "displayName": u.display},
                        "status": status,
                    }))
                }
                None => util::core_text_err(404, &format!("users.iam.kubesphere.io \"{name}\" not found")),
            })
        }
        _ => None,
    }
}

fn project_not_found(name: &str) -> Response {
    util::text_err(
        404,
        &format!("devopsprojects.devops.kubesphere.io \"{name}\" not found"),
    )
}

/// DevOps project list for `user` in `ws` on the context cluster.
fn list_projects(ctx: &Ctx, ws: &str, as_user: &str) -> Response {
    let projects: Vec<&state::Project> = ctx
        .st
        .clusters
        .get(&ctx.cluster)
        .map(|c| c.projects.values().filter(|p| p.workspace == ws).collect())
        .unwrap_or_default();
    if projects.is_empty() {
        // No DevOpsProject carries this workspace label at all.
        return util::ok_json(&Value::Null);
    }
    let q = ListQuery::parse(&ctx.query);
    // labelSelector is accepted but ignored here (§3.3).
    // U17: each project is checked with KubeSphere RBAC, `get devopsprojects`
    // in its own namespace (`ks-devops:pkg/models/devops/devops.go:267-305`),
    // so a project whose namespace is not labelled with the workspace is
    // hidden from a plain workspace member.
    let items: Vec<Value> = projects
        .into_iter()
        .filter(|p| ctx.st.may_access_ns(as_user, &ctx.cluster, &p.name))
        .map(|p| p.cr.clone())
        .filter(|v| q.name_matches(v))
        .collect();
    let (page, total) = q.sort_and_page(items);
    util::ok_json(&util::list_null_when_empty(page, total))
}

fn create_project(ctx: &mut Ctx, ws: &str) -> Response {
    let body = match ctx.body_json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let gen_name = body
        .pointer("/metadata/generateName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    // upstream: ks-devops pkg/models/devops/devops.go:164-171: an Invalid
    // error, turned into 400 by the handler (handler.go:130-145).
    if gen_name.is_empty() {
        return util::text_err(
            400,
            "DevOpsProject.devops.kubesphere.io \"\" is invalid: metadata.generateName: Required value: generateName is required",
        );
    }
    let exists = ctx.st.clusters.get(&ctx.cluster).is_some_and(|c| {
        c.projects.values().any(|p| {
            p.workspace == ws
                && p.cr.pointer("/metadata/generateName").and_then(Value::as_str) == Some(gen_name.as_str())
        })
    });
    if exists {
        // upstream: ks-devops pkg/models/devops/devops.go:174-180: NewConflict
        // whose cause is `fmt.Errorf(generateName, fmt.Errorf(...))`, the
        // generateName used as a format string with one argument too many.
        return util::text_err(
            409,
            &format!(
                "Operation cannot be fulfilled on devopsproject.devops.kubesphere.io \"{gen_name}\": {gen_name}%!(EXTRA *errors.errorString=a devops project named {gen_name} already exists in the workspace)"
            ),
        );
    }
    let mut name = format!("{gen_name}{}", util::random_suffix());
    while ctx.st.project(&ctx.cluster, &name).is_some() {
        name = format!("{gen_name}{}", util::random_suffix());
    }
    if !util::valid_name(&name) {
        return util::text_err(
            400,
            &format!(
                "DevOpsProject.devops.kubesphere.io \"{name}\" is invalid: metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            ),
        );
    }
    let rv = ctx.st.next_rv();
    let mut cr = body;
    if let Some(o) = cr.as_object_mut() {
        o.insert("kind".into(), json!("DevOpsProject"));
        o.insert("apiVersion".into(), json!("devops.kubesphere.io/v1alpha3"));
        o.entry("spec").or_insert_with(|| json!({}));
        o.insert("status".into(), json!({"adminNamespace": name}));
    }
    util::set_meta(&mut cr, "name", json!(name));
    util::set_meta(&mut cr, "uid", json!(util::uid()));
    util::set_meta(&mut cr, "resourceVersion", json!(rv));
    util::set_meta(&mut cr, "generation", json!(1));
    util::set_meta(&mut cr, "creationTimestamp", json!(k8s_time(ctx.now)));
    util::set_meta(&mut cr, "finalizers", json!(["devopsproject.finalizers.kubesphere.io"]));
    util::set_label(&mut cr, "kubesphere.io/workspace", ws);
    if util::annotation(&cr, "kubesphere.io/creator").is_none() {
        util::set_annotation(&mut cr, "kubesphere.io/creator", ctx.user.clone());
    }
    util::set_annotation(&mut cr, "devopsproject.devops.kubesphere.io/syncstatus", "pending");
    // `ks-devops:pkg/models/devops/devops.go:195-196`: pending + GetSyncNowTime().
    util::set_annotation(
        &mut cr,
        "devopsproject.devops.kubesphere.io/synctime",
        util::go_time_string(ctx.now),
    );
    // The namespace controller binds the creator as the namespace admin.
    let creator = util::annotation(&cr, "kubesphere.io/creator")
        .unwrap_or(&ctx.user)
        .to_string();
    let project = state::new_project(&name, ws, cr.clone(), ctx.now + ctx.phase, &[creator.as_str()]);
    if let Some(c) = ctx.st.clusters.get_mut(&ctx.cluster) {
        c.projects.insert(name, project);
    }
    util::ok_json(&cr)
}

/// `DV3/workspaces/...` routes.
pub(crate) fn dv3(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    Some(match rest {
        ["workspaces", ws, "namespaces"] => match ctx.method() {
            "GET" => {
                let u = ctx.user.clone();
                list_projects(ctx, ws, &u)
            }
            "POST" => create_project(ctx, ws),
            _ => util::restful(405),
        },
        ["workspaces", ws, "workspacemembers", member, "namespaces"] => match ctx.method() {
            "GET" => list_projects(ctx, ws, member),
            _ => util::restful(405),
        },
        ["workspaces", ws, "namespaces", devops] => match ctx.method() {
            "GET" => get_project(ctx, ws, devops),
            "PUT" => update_project(ctx, ws, devops),
            "DELETE" => {
                let removed = ctx
                    .st
                    .clusters
                    .get_mut(&ctx.cluster)
                    .and_then(|c| c.projects.remove(*devops));
                match removed {
                    Some(_) => util::ok_json(&json!({"message": "success"})),
                    None => project_not_found(devops),
                }
            }
            _ => util::restful(405),
        },
        _ => return None,
    })
}

fn get_project(ctx: &Ctx, ws: &str, devops: &str) -> Response {
    let by_generate = ctx.q("generateName") == Some("true");
    // upstream: ks-devops pkg/kapis/devops/v1alpha3/handler.go:66-75,437-454:
    // `check=true` is looked at first and needs `generateName=true`.
    if ctx.q("check") == Some("true") && !by_generate {
        return util::text_err(400, "generateNameFlag can not be false");
    }
    if by_generate {
        let found = ctx.st.clusters.get(&ctx.cluster).and_then(|c| {
            c.projects.values().find(|p| {
                p.workspace == ws && p.cr.pointer("/metadata/generateName").and_then(Value::as_str) == Some(devops)
            })
        });
        if ctx.q("check") == Some("true") {
            return util::ok_json(&json!({"exist": found.is_some()}));
        }
        return match found {
            Some(p) => util::ok_json(&p.cr),
            None => util::text_err(
                400,
                &format!("not found DevOpsProject by workspace: {ws} and projectName: {devops}"),
            ),
        };
    }
    // Looked up by real name; the workspace is not checked (upstream quirk).
    match ctx.st.project(&ctx.cluster, devops) {
        Some(p) => util::ok_json(&p.cr),
        None => project_not_found(devops),
    }
}

fn update_project(ctx: &mut Ctx, ws: &str, devops: &str) -> Response {
    let body = match ctx.body_json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let rv = ctx.st.next_rv();
    let Some(p) = ctx.st.project_mut(&ctx.cluster, devops) else {
        return project_not_found(devops);
    };
    let mut cr = body;
    // Keep identity fields of the stored object.
    for k in ["name", "generateName", "uid", "creationTimestamp", "finalizers"] {
        if let Some(v) = p.cr.pointer(&format!("/metadata/{k}")).cloned() {
            util::set_meta(&mut cr, k, v);
        }
    }
    util::set_meta(&mut cr, "resourceVersion", json!(rv));
    util::set_label(&mut cr, "kubesphere.io/workspace", p.workspace.clone());
    let _ = ws;
    if let Some(o) = cr.as_object_mut() {
        o.insert("kind".into(), json!("DevOpsProject"));
        o.insert("apiVersion".into(), json!("devops.kubesphere.io/v1alpha3"));
        o.insert("status".into(), json!({"adminNamespace": p.name}));
    }
    p.cr = cr.clone();
    util::ok_json(&cr)
}
