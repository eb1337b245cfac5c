//! `delete_application`: destructive; needs the user's confirmation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::gitops::Application;
use crate::mcp::appview::ApplicationSummary;
use crate::mcp::args::ProjectArgs;
use crate::mcp::confirm::{ConfirmedBy, Target, confirm};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct DeleteApplication;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct DeleteApplicationInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Application to delete.
    pub application: String,
    /// Also delete what it deployed. Only if the user said so.
    #[serde(default)]
    pub cascade: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeleteApplicationOutput {
    pub project: ProjectRef,
    pub application: String,
    /// The deployed resources are deleted too.
    pub cascade: bool,
    pub deleted: bool,
    /// `user` (accepted a confirmation naming the application) or `operator_flag` (--allow-unconfirmed-destructive).
    pub confirmed_by: ConfirmedBy,
}

impl ToolDef for DeleteApplication {
    const NAME: &'static str = "delete_application";
    const TITLE: &'static str = "Delete a GitOps application";
    const DESCRIPTION: &'static str = "Deletes a GitOps (Argo CD) application; irreversible. Only when the user asked and said whether to cascade: the server asks the user to confirm (MCP elicitation) and deletes nothing without it.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "application": "broken-app"}"#;
    const TOOLSET: Toolset = Toolset::Gitops;
    const HINTS: Hints = Hints::DESTROY;
    const CHECK: &'static str = "list_applications";
    type Input = DeleteApplicationInput;
    type Output = DeleteApplicationOutput;

    async fn call(ctx: ToolCtx, input: DeleteApplicationInput) -> Result<DeleteApplicationOutput, ToolError> {
        let name = input.application.trim().to_string();
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let read = || async {
            Ok::<Application, ToolError>(ctx.client.get_application(&cluster, &project.name, &name).await?)
        };
        let describe = |a: &Application| {
            let s = ApplicationSummary::of(a, &cluster);
            let source = format!(
                "{}@{} path {}",
                s.repo_url.as_deref().unwrap_or("?"),
                s.target_revision.as_deref().unwrap_or("HEAD"),
                s.path.as_deref().unwrap_or(".")
            );
            let dest = format!(
                "namespace {} on cluster {}",
                s.destination_namespace.as_deref().unwrap_or("?"),
                s.destination_cluster.as_deref().unwrap_or("?")
            );
            Target {
                description: format!(
                    "GitOps application {} ({source} -> {dest}) in {}{}",
                    a.metadata.name,
                    project.describe(),
                    if input.cascade {
                        ", together with every resource it deployed"
                    } else {
                        ""
                    }
                ),
                // Status changes all the time: only what the user saw of the spec counts.
                fingerprint: format!("uid {}, {source} -> {dest}", a.metadata.uid.as_deref().unwrap_or("?")),
            }
        };
        let consequence = if input.cascade {
            "Argo CD deletes every resource the application deployed; this cannot be undone."
        } else {
            "The deployed resources stay in the cluster but nothing manages them any more; this cannot be undone."
        };
        let (_, confirmed_by) = confirm(&ctx, Self::NAME, "Delete", consequence, read, describe).await?;
        ctx.client
            .delete_application(&cluster, &project.name, &name, input.cascade)
            .await?;
        Ok(DeleteApplicationOutput {
            project,
            application: name,
            cascade: input.cascade,
            deleted: true,
            confirmed_by,
        })
    }
}

#[cfg(test)]
mod tests {

    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn without_elicitation_nothing_is_deleted() {
        let sim = sim().await;
        let err = call(
            &ctx(&sim),
            "delete_application",
            serde_json::json!({"project": "stone-devops", "application": "guestbook", "cascade": true}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "confirmation_required");
        let text = err.to_string();
        assert!(
            text.contains("GitOps application guestbook") && text.contains("every resource it deployed"),
            "{text}"
        );
        assert!(crate::testing::only_reads(&sim));
    }

    #[tokio::test]
    async fn the_operator_flag_deletes_with_the_cascade_asked_for() {
        let sim = sim().await;
        let ctx = crate::testing::ctx_unconfirmed(&sim);
        let out = call(
            &ctx,
            "delete_application",
            serde_json::json!({"project": "stone-devops", "application": "broken-app"}),
        )
        .await
        .unwrap();
        assert_eq!(out["deleted"], true);
        assert_eq!(out["cascade"], false);
        let del = sim.requests().into_iter().find(|r| r.method == "DELETE").unwrap();
        assert!(del.path.ends_with("/applications/broken-app"), "{del:?}");
        assert_eq!(del.query.as_deref(), Some("cascade=false"));
        let err = call(
            &ctx,
            "get_application_status",
            serde_json::json!({"project": "stone-devops", "application": "broken-app"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "not_found");
    }
}
