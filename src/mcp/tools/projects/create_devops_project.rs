//! `create_devops_project`: a new DevOps project in a workspace, from a
//! short name (workspace admins only).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::path::validate_label;
use crate::kubesphere::project_admin::validate_short_name;
use crate::kubesphere::{Cluster, KsError};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::ProjectRef;

pub struct CreateDevopsProject;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct CreateDevopsProjectInput {
    /// Workspace (list_workspaces).
    pub workspace: String,
    /// Short name: a-z, 0-9, '-'; at most 58 characters.
    pub name: String,
    /// Display name.
    #[serde(default)]
    pub alias: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Cluster (default: the server's default).
    #[serde(default)]
    pub cluster: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreateDevopsProjectOutput {
    /// The new project; `name` is the generated full name every other tool takes.
    pub project: ProjectRef,
    /// `pending` until KubeSphere has set it up in Jenkins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_status: Option<String>,
}

impl ToolDef for CreateDevopsProject {
    const NAME: &'static str = "create_devops_project";
    const TITLE: &'static str = "Create a DevOps project";
    const DESCRIPTION: &'static str = "Creates a DevOps project in a workspace from a short name; returns the generated full name. Workspace admins only: others get a refusal naming who can. Confirm workspace and name with the user. Not retried.";
    const EXAMPLE: &'static str = r#"{"workspace": "stone", "name": "team-ci"}"#;
    const TOOLSET: Toolset = Toolset::Projects;
    const HINTS: Hints = Hints::CREATE;
    const CHECK: &'static str = "list_devops_projects";
    type Input = CreateDevopsProjectInput;
    type Output = CreateDevopsProjectOutput;

    async fn call(ctx: ToolCtx, input: CreateDevopsProjectInput) -> Result<CreateDevopsProjectOutput, ToolError> {
        let workspace = input.workspace.trim().to_string();
        validate_label("workspace name", &workspace)?;
        let short = input.name.trim().to_string();
        validate_short_name(&short)?;
        let cluster = match input.cluster.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => Cluster::parse(c)?,
            None => ctx.client.default_cluster().clone(),
        };
        let user = ctx.client.identity().await?.username;
        let created = ctx
            .client
            .create_devops_project(
                &cluster,
                &workspace,
                &short,
                input.alias.as_deref(),
                input.description.as_deref(),
                user.as_deref(),
            )
            .await;
        let p = match created {
            Ok(p) => p,
            Err(KsError::Forbidden { message, .. }) => {
                return Err(ToolError::Refused(format!(
                    "forbidden: user {} may not create DevOps projects in workspace {workspace} (KubeSphere: {message}). Nothing was created. Only the workspace's administrators (role workspace-admin, or workspace-self-provisioner) can: ask an admin of {workspace} to create it, or to grant you that role",
                    user.as_deref().unwrap_or("(this user)")
                )));
            }
            Err(KsError::Conflict { .. }) => {
                let existing = ctx
                    .client
                    .devops_project_by_short_name(&cluster, &workspace, &short)
                    .await
                    .ok()
                    .flatten()
                    .map(|p| format!(": {}", p.namespace()))
                    .unwrap_or_default();
                return Err(ToolError::InvalidInput(format!(
                    "workspace {workspace} already has a DevOps project with short name {short}{existing}. Nothing was created. Use that project, or ask the user for another name"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        Ok(CreateDevopsProjectOutput {
            sync_status: p
                .metadata
                .annotation("devopsproject.devops.kubesphere.io/syncstatus")
                .map(str::to_string),
            project: ProjectRef::from_project(&p, &workspace, &cluster),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, client, sim};
    use serde_json::json;

    fn ctx_as(sim: &ks_sim::Sim, user: &str) -> crate::mcp::ToolCtx {
        crate::mcp::ToolCtx::detached(
            client(sim, user),
            std::sync::Arc::new(crate::mcp::ServerOptions::default()),
        )
    }

    #[tokio::test]
    async fn a_plain_tenant_is_refused_with_who_can() {
        let sim = sim().await;
        let before = sim.project_names("host");
        let err = call(
            &ctx_as(&sim, "tenant"),
            "create_devops_project",
            json!({"workspace": "demo", "name": "team-ci"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "refused");
        let text = err.to_string();
        assert!(text.contains("forbidden") && text.contains("workspace-admin"), "{text}");
        assert!(text.contains("Nothing was created"), "{text}");
        assert_eq!(sim.project_names("host"), before);
        // A member who is not an admin of the workspace: refused too.
        let err = call(
            &ctx_as(&sim, "lab-tenant"),
            "create_devops_project",
            json!({"workspace": "lab", "name": "team-ci"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "refused");
    }

    #[tokio::test]
    async fn a_workspace_admin_gets_the_generated_name() {
        let sim = sim().await;
        let c = ctx_as(&sim, "demo-admin");
        let out = call(
            &c,
            "create_devops_project",
            json!({"workspace": "demo", "name": "team-ci", "alias": "Team CI"}),
        )
        .await
        .unwrap();
        let full = out["project"]["name"].as_str().unwrap().to_string();
        assert!(
            full.starts_with("team-ci") && full.len() == "team-ci".len() + 5,
            "{out:#}"
        );
        assert_eq!(out["project"]["short_name"], "team-ci");
        assert_eq!(out["project"]["workspace"], "demo");
        assert_eq!(out["sync_status"], "pending");
        assert!(sim.project_names("host").contains(&full));
        // The new project resolves by its short name right away.
        let r = call(
            &c,
            "resolve_devops_project",
            json!({"name": "team-ci", "workspace": "demo"}),
        )
        .await
        .unwrap();
        assert_eq!(r["project"]["name"], full.as_str(), "{r:#}");
        // The same short name again: nothing created, the existing one named.
        let err = call(
            &c,
            "create_devops_project",
            json!({"workspace": "demo", "name": "team-ci"}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains(&full), "{err}");
        let err = call(
            &c,
            "create_devops_project",
            json!({"workspace": "demo", "name": "Team_CI"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "invalid_name");
    }
}
