//! `delete_devops_project`: destructive; the confirmation names the project
//! and counts what goes with it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::ListQuery;
use crate::kubesphere::models::DevOpsProject;
use crate::mcp::args::ProjectArgs;
use crate::mcp::confirm::{ConfirmedBy, Target, confirm};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct DeleteDevopsProject;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct DeleteDevopsProjectInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeleteDevopsProjectOutput {
    pub project: ProjectRef,
    pub deleted: bool,
    /// Pipelines it held when confirmed (null if they could not be counted).
    pub pipelines: Option<u64>,
    /// Credentials it held when confirmed (null if they could not be counted).
    pub credentials: Option<u64>,
    /// `user` (accepted a confirmation naming the project) or `operator_flag` (--allow-unconfirmed-destructive).
    pub confirmed_by: ConfirmedBy,
}

fn count(n: Option<u64>, one: &str, many: &str) -> String {
    match n {
        Some(1) => format!("1 {one}"),
        Some(n) => format!("{n} {many}"),
        None => format!("an unknown number of {many}"),
    }
}

impl ToolDef for DeleteDevopsProject {
    const NAME: &'static str = "delete_devops_project";
    const TITLE: &'static str = "Delete a DevOps project";
    const DESCRIPTION: &'static str = "Deletes a DevOps project with everything in it: pipelines, runs, credentials, repositories, applications. Irreversible; workspace or project admins only. Only call it when the user asked to delete this exact project; the server asks the user to confirm (MCP elicitation), naming it and counting its pipelines and credentials, and deletes nothing without that.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops"}"#;
    const TOOLSET: Toolset = Toolset::Projects;
    const HINTS: Hints = Hints::DESTROY;
    const CHECK: &'static str = "list_devops_projects";
    type Input = DeleteDevopsProjectInput;
    type Output = DeleteDevopsProjectOutput;

    async fn call(ctx: ToolCtx, input: DeleteDevopsProjectInput) -> Result<DeleteDevopsProjectOutput, ToolError> {
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let one = ListQuery {
            limit: Some(1),
            ..Default::default()
        };
        let pipelines = match ctx.client.list_pipelines(&cluster, &project.name, &one).await {
            Ok(p) => Some(p.total),
            Err(e) => {
                tracing::debug!(error = %e, "pipelines not counted");
                None
            }
        };
        // Credentials are filtered client-side (other Secrets are not
        // credentials): count them from a full list.
        let credentials = match ctx
            .client
            .list_credentials(&cluster, &project.name, &ListQuery::default())
            .await
        {
            Ok(p) => Some(p.items.len() as u64),
            Err(e) => {
                tracing::debug!(error = %e, "credentials not counted");
                None
            }
        };
        let read = || async {
            Ok::<DevOpsProject, ToolError>(
                ctx.client
                    .get_devops_project(&cluster, &project.workspace, &project.name)
                    .await?,
            )
        };
        let describe = |p: &DevOpsProject| Target {
            description: format!(
                "{} with {} and {}",
                project.describe(),
                count(pipelines, "pipeline", "pipelines"),
                count(credentials, "credential", "credentials")
            ),
            fingerprint: format!("uid {}", p.metadata.uid.as_deref().unwrap_or("?")),
        };
        let (_, confirmed_by) = confirm(
            &ctx,
            Self::NAME,
            "Delete",
            "Its pipelines with their runs and logs, its credentials, repositories and applications go with it; this cannot be undone.",
            read,
            describe,
        )
        .await?;
        ctx.client
            .delete_devops_project(&cluster, &project.workspace, &project.name)
            .await?;
        Ok(DeleteDevopsProjectOutput {
            project,
            deleted: true,
            pipelines,
            credentials,
            confirmed_by,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, ctx_unconfirmed, only_reads, sim};
    use serde_json::json;

    #[tokio::test]
    async fn the_question_counts_pipelines_and_credentials() {
        let sim = sim().await;
        let err = call(&ctx(&sim), "delete_devops_project", json!({"project": "stone-devops"}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "confirmation_required");
        let text = err.to_string();
        assert!(
            text.contains(
                "DevOps project stone-devops (workspace stone, cluster host) with 8 pipelines and 1 credential"
            ),
            "{text}"
        );
        assert!(only_reads(&sim));
        assert!(sim.project_names("host").contains(&"stone-devops".to_string()));
    }

    #[tokio::test]
    async fn the_operator_flag_deletes() {
        let sim = sim().await;
        let out = call(
            &ctx_unconfirmed(&sim),
            "delete_devops_project",
            json!({"project": "stone-devops"}),
        )
        .await
        .unwrap();
        assert_eq!(out["deleted"], true);
        assert_eq!(out["credentials"], 1);
        assert!(!sim.project_names("host").contains(&"stone-devops".to_string()));
    }
}
