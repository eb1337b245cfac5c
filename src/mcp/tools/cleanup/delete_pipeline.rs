//! `delete_pipeline`: destructive; needs the user's confirmation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::models::Pipeline;
use crate::mcp::args::ProjectArgs;
use crate::mcp::confirm::{ConfirmedBy, Target, confirm};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct DeletePipeline;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct DeletePipelineInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Pipeline to delete.
    pub pipeline: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeletePipelineOutput {
    pub project: ProjectRef,
    pub pipeline: String,
    pub deleted: bool,
    /// `user` (accepted a confirmation naming the pipeline) or `operator_flag` (--allow-unconfirmed-destructive).
    pub confirmed_by: ConfirmedBy,
}

impl ToolDef for DeletePipeline {
    const NAME: &'static str = "delete_pipeline";
    const TITLE: &'static str = "Delete a pipeline";
    const DESCRIPTION: &'static str = "Deletes a pipeline with its runs and their history. Irreversible. Only call it when the user asked to delete this exact pipeline; the server then asks the user to confirm (MCP elicitation) and deletes nothing without that confirmation. Clients without elicitation get a refusal.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "pipeline": "hello"}"#;
    const TOOLSET: Toolset = Toolset::Cleanup;
    const HINTS: Hints = Hints::DESTROY;
    const CHECK: &'static str = "list_pipelines";
    type Input = DeletePipelineInput;
    type Output = DeletePipelineOutput;

    async fn call(ctx: ToolCtx, input: DeletePipelineInput) -> Result<DeletePipelineOutput, ToolError> {
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let read = || async {
            Ok::<Pipeline, ToolError>(
                ctx.client
                    .get_pipeline(&cluster, &project.name, &input.pipeline)
                    .await?,
            )
        };
        let describe = |p: &Pipeline| Target {
            description: format!(
                "pipeline {} ({}) in {}",
                p.metadata.name,
                p.spec.kind,
                project.describe()
            ),
            fingerprint: format!(
                "uid {}, resourceVersion {}",
                p.metadata.uid.as_deref().unwrap_or("?"),
                p.metadata.resource_version.as_deref().unwrap_or("?")
            ),
        };
        let (_, confirmed_by) = confirm(
            &ctx,
            Self::NAME,
            "Delete",
            "Its runs and their logs go with it; this cannot be undone.",
            read,
            describe,
        )
        .await?;
        ctx.client
            .delete_pipeline(&cluster, &project.name, &input.pipeline)
            .await?;
        Ok(DeletePipelineOutput {
            pipeline: input.pipeline,
            project,
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
            "delete_pipeline",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "confirmation_required");
        assert!(err.to_string().contains("pipeline hello"), "{err}");
        assert!(
            sim.pipeline_names("host", "stone-devops")
                .contains(&"hello".to_string())
        );
        assert!(crate::testing::only_reads(&sim));
    }

    #[tokio::test]
    async fn the_operator_flag_deletes_and_says_so() {
        let sim = sim().await;
        let ctx = crate::testing::ctx_unconfirmed(&sim);
        let out = call(
            &ctx,
            "delete_pipeline",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello"}),
        )
        .await
        .unwrap();
        assert_eq!(out["deleted"], true);
        assert_eq!(out["confirmed_by"], "operator_flag");
        assert!(
            !sim.pipeline_names("host", "stone-devops")
                .contains(&"hello".to_string())
        );
        let err = call(
            &ctx,
            "delete_pipeline",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "not_found");
    }
}
