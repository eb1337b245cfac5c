//! `create_application`: a GitOps (Argo CD) application deploying a path
//! of a Git repository into the project's cluster.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::gitops::{
    Application, ApplicationSpec, ArgoApp, ArgoAppSpec, ArgoAutomated, ArgoDestination, ArgoSource, ArgoSyncPolicy,
    IN_CLUSTER_SERVER,
};
use crate::kubesphere::models::{ObjectMeta, keys};
use crate::kubesphere::path::{validate_label, validate_subdomain};
use crate::mcp::appview::ApplicationSummary;
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct CreateApplication;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct CreateApplicationInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Application name: lower-case letters, digits, '-' and '.'.
    pub name: String,
    /// Git repository URL (https://... or git@host:org/repo.git). A private repository needs access configured in Argo CD.
    pub repo_url: String,
    /// Branch, tag or commit to deploy (default HEAD).
    #[serde(default)]
    pub revision: Option<String>,
    /// Directory in the repository holding the manifests, kustomization or chart (default: the repository root).
    #[serde(default)]
    pub path: Option<String>,
    /// Namespace to deploy into (default: the project's namespace).
    #[serde(default)]
    pub destination_namespace: Option<String>,
    /// Let Argo CD sync by itself now and on every change (default false: deploy with sync_application).
    #[serde(default)]
    pub auto_sync: bool,
    /// With auto_sync: delete resources that were removed from Git.
    #[serde(default)]
    pub prune: bool,
    /// With auto_sync: undo changes made in the cluster by hand.
    #[serde(default)]
    pub self_heal: bool,
    /// Argo CD sync options, e.g. ["CreateNamespace=true", "ServerSideApply=true"].
    #[serde(default)]
    pub sync_options: Vec<String>,
    /// What the application is for.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreateApplicationOutput {
    pub project: ProjectRef,
    pub application: ApplicationSummary,
    /// What to do next.
    pub next: String,
}

impl ToolDef for CreateApplication {
    const NAME: &'static str = "create_application";
    const TITLE: &'static str = "Create a GitOps application";
    const DESCRIPTION: &'static str = "Creates a GitOps (Argo CD) application deploying a directory of a Git repository (manifests, kustomize or Helm) at a revision into a namespace of the project's cluster. With auto_sync Argo CD deploys at once and on every change; without it nothing deploys until sync_application. Confirm repository, revision, path and namespace with the user first. Not retried: after a failure check list_applications. Follow with get_application_status.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "name": "guestbook-2", "repo_url": "https://github.com/argoproj/argocd-example-apps.git", "path": "guestbook"}"#;
    const TOOLSET: Toolset = Toolset::Gitops;
    const HINTS: Hints = Hints::CREATE;
    const CHECK: &'static str = "get_application_status";
    type Input = CreateApplicationInput;
    type Output = CreateApplicationOutput;

    async fn call(ctx: ToolCtx, input: CreateApplicationInput) -> Result<CreateApplicationOutput, ToolError> {
        let name = input.name.trim().to_string();
        validate_subdomain("application name", &name)?;
        let repo_url = check_repo_url(&input.repo_url)?;
        let revision = match input.revision.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            None => "HEAD".to_string(),
            Some(r) if r.chars().any(char::is_whitespace) => {
                return Err(ToolError::InvalidInput(
                    "revision must be one branch, tag or commit without spaces".into(),
                ));
            }
            Some(r) => r.to_string(),
        };
        let path = super::check_path(input.path.as_deref())?;
        if !input.auto_sync && (input.prune || input.self_heal) {
            return Err(ToolError::InvalidInput(
                "prune and self_heal apply to automatic sync only: set auto_sync true, or leave them out".into(),
            ));
        }
        for o in &input.sync_options {
            if o.trim().is_empty() || !o.contains('=') || o.chars().any(char::is_whitespace) {
                return Err(ToolError::InvalidInput(format!(
                    "sync option {o:?} is not of the form Name=value, e.g. CreateNamespace=true"
                )));
            }
        }
        let project = resolve_input(&ctx, &input.scope).await?;
        let destination_namespace = match input.destination_namespace.as_deref().map(str::trim) {
            None | Some("") => project.name.clone(),
            Some(ns) => validate_label("destination namespace", ns)?.to_string(),
        };
        let mut annotations = BTreeMap::new();
        if let Some(d) = input.description.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            annotations.insert(keys::DESCRIPTION.to_string(), d.to_string());
        }
        if let Ok(id) = ctx.client.identity().await
            && let Some(u) = id.username
        {
            annotations.insert(keys::CREATOR.to_string(), u);
        }
        let app = Application {
            metadata: ObjectMeta {
                name: name.clone(),
                namespace: Some(project.name.clone()),
                annotations,
                ..Default::default()
            },
            spec: ApplicationSpec {
                kind: Some("argocd".into()),
                argo_app: Some(ArgoApp {
                    spec: Some(ArgoAppSpec {
                        // The controller sets the project's own AppProject.
                        project: Some(project.name.clone()),
                        source: Some(ArgoSource {
                            repo_url,
                            target_revision: Some(revision),
                            path: Some(path),
                        }),
                        // Argo CD of the cluster the API path routes to deploys into that cluster.
                        destination: Some(ArgoDestination {
                            server: Some(IN_CLUSTER_SERVER.into()),
                            name: None,
                            namespace: Some(destination_namespace),
                        }),
                        sync_policy: Some(ArgoSyncPolicy {
                            automated: input.auto_sync.then_some(ArgoAutomated {
                                prune: input.prune,
                                self_heal: input.self_heal,
                            }),
                            sync_options: input.sync_options.iter().map(|o| o.trim().to_string()).collect(),
                        }),
                    }),
                    operation: None,
                }),
            },
            status: Default::default(),
        };
        let cluster = project.cluster();
        let created = ctx.client.create_application(&cluster, &project.name, &app).await?;
        let application = ApplicationSummary::of(&created, &cluster);
        let next = if input.auto_sync {
            format!(
                "Argo CD deploys it now: poll get_application_status (application {name:?}) until Synced and Healthy."
            )
        } else {
            format!(
                "Nothing is deployed yet: call sync_application (application {name:?}) when the user wants it deployed."
            )
        };
        Ok(CreateApplicationOutput {
            project,
            application,
            next,
        })
    }
}

fn check_repo_url(raw: &str) -> Result<String, ToolError> {
    let u = raw.trim();
    let bad = || {
        ToolError::InvalidInput(
            "repo_url must be a Git repository URL: https://host/org/repo(.git), ssh://git@host/org/repo.git or git@host:org/repo.git".into(),
        )
    };
    if u.is_empty() || u.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    if let Some(rest) = u.strip_prefix("git@") {
        return if rest.contains(':') {
            Ok(u.to_string())
        } else {
            Err(bad())
        };
    }
    let parsed = url::Url::parse(u).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "https" | "http" | "ssh" | "git") || parsed.host_str().is_none() {
        return Err(bad());
    }
    if parsed.password().is_some() {
        return Err(ToolError::InvalidInput(
            "repo_url must not carry a password or token; repository access is configured in Argo CD, not in the URL"
                .into(),
        ));
    }
    Ok(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call, ctx, sim};

    #[test]
    fn inputs_are_checked() {
        assert!(check_repo_url("https://github.com/org/apps").is_ok());
        assert!(check_repo_url("git@github.com:org/apps.git").is_ok());
        assert!(check_repo_url("ftp://x/y").is_err());
        assert!(check_repo_url("not a url").is_err());
        let e = check_repo_url("https://u:tok123@github.com/org/apps").unwrap_err();
        assert!(!e.to_string().contains("tok123"));
        assert_eq!(super::super::check_path(None).unwrap(), ".");
        assert_eq!(super::super::check_path(Some("apps/web/")).unwrap(), "apps/web");
        assert!(super::super::check_path(Some("../x")).is_err());
        assert!(super::super::check_path(Some("/abs")).is_err());
    }

    #[tokio::test]
    async fn sends_the_upstream_shape() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "create_application",
            serde_json::json!({"project": "stone-devops", "name": "web", "repo_url": "https://github.com/org/apps",
                "path": "web", "revision": "main", "auto_sync": true, "prune": true,
                "sync_options": ["CreateNamespace=true"]}),
        )
        .await
        .unwrap();
        let a = &out["application"];
        assert_eq!(a["name"], "web");
        assert_eq!(a["target_revision"], "main");
        assert_eq!(a["destination_namespace"], "stone-devops");
        assert_eq!(a["destination_cluster"], "host");
        assert_eq!(a["auto_sync"], true);
        assert_eq!(a["prune"], true);
        assert_eq!(a["sync_options"][0], "CreateNamespace=true");
        let bad = call(
            &ctx(&sim),
            "create_application",
            serde_json::json!({"project": "stone-devops", "name": "web2", "repo_url": "https://github.com/org/apps", "prune": true}),
        )
        .await
        .unwrap_err();
        assert_eq!(bad.kind(), "invalid_input");
        let dup = call(
            &ctx(&sim),
            "create_application",
            serde_json::json!({"project": "stone-devops", "name": "web", "repo_url": "https://github.com/org/apps"}),
        )
        .await
        .unwrap_err();
        assert_eq!(dup.kind(), "conflict");
    }
}
