//! `update_application`: change where a GitOps application deploys from
//! (revision, path) and how it syncs, keeping everything else.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::check_path;
use crate::kubesphere::KsError;
use crate::kubesphere::path::validate_subdomain;
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct UpdateApplication;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct UpdateApplicationInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Application to change.
    pub application: String,
    /// New branch, tag or commit to deploy.
    #[serde(default)]
    pub target_revision: Option<String>,
    /// New path in the repository.
    #[serde(default)]
    pub path: Option<String>,
    /// Turn automatic sync on or off.
    #[serde(default)]
    pub auto_sync: Option<bool>,
    /// Auto-sync: delete resources removed from Git.
    #[serde(default)]
    pub prune: Option<bool>,
    /// Auto-sync: undo manual changes in the cluster.
    #[serde(default)]
    pub self_heal: Option<bool>,
    /// New sync options, e.g. ["CreateNamespace=true"]; [] clears.
    #[serde(default)]
    pub sync_options: Option<Vec<String>>,
}

/// One changed field.
#[derive(Debug, Serialize, JsonSchema, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct UpdateApplicationOutput {
    pub project: ProjectRef,
    pub application: String,
    /// False when every given value was already set (nothing was written).
    pub changed: bool,
    pub changes: Vec<FieldChange>,
    /// What to do next.
    pub next: String,
}

/// Checked new values.
struct Wanted {
    revision: Option<String>,
    path: Option<String>,
    auto_sync: Option<bool>,
    prune: Option<bool>,
    self_heal: Option<bool>,
    sync_options: Option<Vec<String>>,
}

fn check(input: &UpdateApplicationInput) -> Result<Wanted, ToolError> {
    let revision = match input.target_revision.as_deref().map(str::trim) {
        None => None,
        Some(r) if r.is_empty() || r.len() > 255 || r.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            return Err(ToolError::InvalidInput(
                "target_revision must be one branch, tag or commit without spaces".into(),
            ));
        }
        Some(r) => Some(r.to_string()),
    };
    let path = match input.path.as_deref() {
        None => None,
        Some(p) => Some(check_path(Some(p))?),
    };
    if input.auto_sync == Some(false) && (input.prune.is_some() || input.self_heal.is_some()) {
        return Err(ToolError::InvalidInput(
            "prune and self_heal apply to automatic sync only: leave them out when turning auto_sync off".into(),
        ));
    }
    if let Some(opts) = &input.sync_options {
        if opts.len() > 32 {
            return Err(ToolError::InvalidInput("at most 32 sync options".into()));
        }
        for o in opts {
            if o.trim().is_empty() || !o.contains('=') || o.chars().any(char::is_whitespace) {
                return Err(ToolError::InvalidInput(format!(
                    "sync option {o:?} is not of the form Name=value, e.g. CreateNamespace=true"
                )));
            }
        }
    }
    let w = Wanted {
        revision,
        path,
        auto_sync: input.auto_sync,
        prune: input.prune,
        self_heal: input.self_heal,
        sync_options: input.sync_options.clone(),
    };
    if w.revision.is_none()
        && w.path.is_none()
        && w.auto_sync.is_none()
        && w.prune.is_none()
        && w.self_heal.is_none()
        && w.sync_options.is_none()
    {
        return Err(ToolError::InvalidInput(
            "nothing to change: give target_revision, path, auto_sync, prune, self_heal or sync_options".into(),
        ));
    }
    Ok(w)
}

/// Sets `obj[key] = value` (creating objects on the way) and records the change.
fn set(root: &mut Value, pointer: &[&str], value: Value, field: &str, changes: &mut Vec<FieldChange>) {
    let mut cur = root;
    for (i, k) in pointer.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let Some(o) = cur.as_object_mut() else { return };
        if i + 1 == pointer.len() {
            let before = o.get(*k).cloned().unwrap_or(Value::Null);
            if before != value {
                changes.push(FieldChange {
                    field: field.to_string(),
                    before,
                    after: value.clone(),
                });
                if value.is_null() {
                    o.remove(*k);
                } else {
                    o.insert((*k).to_string(), value);
                }
            }
            return;
        }
        cur = o.entry((*k).to_string()).or_insert_with(|| json!({}));
    }
}

/// Applies the wanted values to the application JSON.
fn merge(app: &mut Value, w: &Wanted) -> Result<Vec<FieldChange>, ToolError> {
    let Some(spec) = app.pointer_mut("/spec/argoApp/spec").filter(|s| s.is_object()) else {
        return Err(ToolError::Refused(
            "the application has no Argo CD spec (it is not an Argo CD application, or was never set up); nothing was changed".into(),
        ));
    };
    let mut changes = Vec::new();
    if let Some(r) = &w.revision {
        set(
            &mut *spec,
            &["source", "targetRevision"],
            json!(r),
            "target_revision",
            &mut changes,
        );
    }
    if let Some(p) = &w.path {
        set(&mut *spec, &["source", "path"], json!(p), "path", &mut changes);
    }
    let automated_now = spec.pointer("/syncPolicy/automated").is_some_and(|a| !a.is_null());
    match w.auto_sync {
        Some(false) => set(
            &mut *spec,
            &["syncPolicy", "automated"],
            Value::Null,
            "auto_sync",
            &mut changes,
        ),
        Some(true) if !automated_now => {
            set(
                spec,
                &["syncPolicy", "automated"],
                json!({"prune": w.prune.unwrap_or(false), "selfHeal": w.self_heal.unwrap_or(false)}),
                "auto_sync",
                &mut changes,
            );
        }
        _ => {}
    }
    let automated = w.auto_sync.unwrap_or(automated_now);
    if (w.prune.is_some() || w.self_heal.is_some()) && !automated {
        return Err(ToolError::InvalidInput(
            "prune and self_heal apply to automatic sync, which is off for this application: also pass auto_sync true"
                .into(),
        ));
    }
    if automated_now || w.auto_sync != Some(true) {
        if let Some(p) = w.prune {
            set(
                &mut *spec,
                &["syncPolicy", "automated", "prune"],
                json!(p),
                "prune",
                &mut changes,
            );
        }
        if let Some(s) = w.self_heal {
            set(
                &mut *spec,
                &["syncPolicy", "automated", "selfHeal"],
                json!(s),
                "self_heal",
                &mut changes,
            );
        }
    }
    if let Some(o) = &w.sync_options {
        let v = if o.is_empty() { Value::Null } else { json!(o) };
        set(
            &mut *spec,
            &["syncPolicy", "syncOptions"],
            v,
            "sync_options",
            &mut changes,
        );
    }
    Ok(changes)
}

impl ToolDef for UpdateApplication {
    const NAME: &'static str = "update_application";
    const TITLE: &'static str = "Change a GitOps application";
    const DESCRIPTION: &'static str = "Changes a GitOps (Argo CD) application: revision or path it deploys, auto-sync (prune, self-heal), sync options. Only the given fields change. With auto-sync Argo CD deploys it; else call sync_application. Confirm with the user first.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "application": "guestbook", "target_revision": "v2"}"#;
    const TOOLSET: Toolset = Toolset::Gitops;
    const HINTS: Hints = Hints {
        read_only: false,
        destructive: false,
        idempotent: true,
        open_world: false,
    };
    const CHECK: &'static str = "get_application_status";
    type Input = UpdateApplicationInput;
    type Output = UpdateApplicationOutput;

    async fn call(ctx: ToolCtx, input: UpdateApplicationInput) -> Result<UpdateApplicationOutput, ToolError> {
        let name = input.application.trim().to_string();
        validate_subdomain("application name", &name)?;
        let wanted = check(&input)?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let mut app = ctx.client.get_application_json(&cluster, &project.name, &name).await?;
        let changes = merge(&mut app, &wanted)?;
        let automated = app
            .pointer("/spec/argoApp/spec/syncPolicy/automated")
            .is_some_and(|a| !a.is_null());
        if changes.is_empty() {
            return Ok(UpdateApplicationOutput {
                project,
                application: name,
                changed: false,
                changes,
                next: "Nothing was written: the application already has these values.".into(),
            });
        }
        // The controller's status is not ours to write; the
        // resourceVersion read above goes back with the body.
        if let Some(o) = app.as_object_mut() {
            o.remove("status");
        }
        match ctx
            .client
            .update_application_json(&cluster, &project.name, &name, &app)
            .await
        {
            Ok(_) => {}
            Err(KsError::Conflict { message, .. }) => {
                return Err(ToolError::TargetChanged(format!(
                    "application {name} was not changed: it was modified by someone else while this change was written (KubeSphere: {message}). Read it again with get_application_status, then call update_application again if the change is still wanted"
                )));
            }
            Err(e) => return Err(e.into()),
        }
        Ok(UpdateApplicationOutput {
            project,
            application: name.clone(),
            changed: true,
            changes,
            next: if automated {
                format!("Argo CD applies the change by itself; follow it with get_application_status {name}.")
            } else {
                format!(
                    "Automatic sync is off: call sync_application {name} to deploy the change, then get_application_status."
                )
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};
    use ks_sim::{Fault, FaultKind};
    use serde_json::json;

    #[tokio::test]
    async fn changes_only_the_given_fields() {
        let sim = sim().await;
        let c = ctx(&sim);
        let client = crate::testing::client(&sim, "tenant");
        let cluster = crate::kubesphere::Cluster::Host;
        let mut before = client
            .get_application_json(&cluster, "stone-devops", "guestbook")
            .await
            .unwrap();
        let out = call(
            &c,
            "update_application",
            json!({"project": "stone-devops", "application": "guestbook", "target_revision": "v2", "self_heal": false}),
        )
        .await
        .unwrap();
        assert_eq!(out["changed"], true);
        assert_eq!(
            out["changes"],
            json!([
                {"field": "target_revision", "before": "HEAD", "after": "v2"},
                {"field": "self_heal", "before": true, "after": false}
            ])
        );
        let after = client
            .get_application_json(&cluster, "stone-devops", "guestbook")
            .await
            .unwrap();
        before["spec"]["argoApp"]["spec"]["source"]["targetRevision"] = json!("v2");
        before["spec"]["argoApp"]["spec"]["syncPolicy"]["automated"]["selfHeal"] = json!(false);
        assert_eq!(after["spec"]["argoApp"]["spec"], before["spec"]["argoApp"]["spec"]);
        assert_eq!(after["metadata"]["annotations"], before["metadata"]["annotations"]);
        // The same call again writes nothing.
        sim.clear_requests();
        let again = call(
            &c,
            "update_application",
            json!({"project": "stone-devops", "application": "guestbook", "target_revision": "v2"}),
        )
        .await
        .unwrap();
        assert_eq!(again["changed"], false);
        assert!(crate::testing::only_reads(&sim));
    }

    #[tokio::test]
    async fn auto_sync_off_and_bad_input() {
        let sim = sim().await;
        let c = ctx(&sim);
        let out = call(
            &c,
            "update_application",
            json!({"project": "stone-devops", "application": "guestbook", "auto_sync": false}),
        )
        .await
        .unwrap();
        assert!(out["next"].as_str().unwrap().contains("sync_application"));
        let err = call(
            &c,
            "update_application",
            json!({"project": "stone-devops", "application": "guestbook", "prune": true}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("auto_sync true"), "{err}");
        let err = call(
            &c,
            "update_application",
            json!({"project": "stone-devops", "application": "guestbook"}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("nothing to change"), "{err}");
    }

    #[tokio::test]
    async fn a_conflict_is_reported_and_not_retried() {
        let sim = sim().await;
        sim.inject(Fault {
            method: Some("PUT".into()),
            path_contains: "/applications/guestbook".into(),
            kind: FaultKind::Status {
                code: 409,
                body: "Operation cannot be fulfilled on applications.gitops.kubesphere.io \"guestbook\": the object has been modified; please apply your changes to the latest version and try again\n".into(),
                content_type: "text/plain; charset=utf-8".into(),
            },
            times: 1,
        });
        let err = call(
            &ctx(&sim),
            "update_application",
            json!({"project": "stone-devops", "application": "guestbook", "path": "apps/v2"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "target_changed");
        assert!(err.to_string().contains("was not changed"), "{err}");
        let puts = sim.requests().iter().filter(|r| r.method == "PUT").count();
        assert_eq!(puts, 1);
    }
}
