//! `get_application_status`: health and sync of one GitOps application,
//! and on request the detail parsed from `status.argoApp`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::appview::{ApplicationDetail, ApplicationSummary};
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

use super::status_view;

pub struct GetApplicationStatus;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct GetApplicationStatusInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Application name.
    pub application: String,
    /// Also revision, resources, images, last operation.
    #[serde(default)]
    pub detail: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GetApplicationStatusOutput {
    pub project: ProjectRef,
    pub application: ApplicationSummary,
    /// What went wrong, when something did: the failed sync's message or the health message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// With `detail: true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<ApplicationDetail>,
    /// What to do next.
    pub next: String,
}

impl ToolDef for GetApplicationStatus {
    const NAME: &'static str = "get_application_status";
    const TITLE: &'static str = "Get GitOps application status";
    const DESCRIPTION: &'static str = "Whether a GitOps (Argo CD) application is deployed: health, sync, the last failure and the next step; detail adds resources and images. Poll it after create_application or sync_application until Synced and Healthy.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "application": "guestbook", "detail": true}"#;
    const TOOLSET: Toolset = Toolset::Gitops;
    const HINTS: Hints = Hints::READ;
    type Input = GetApplicationStatusInput;
    type Output = GetApplicationStatusOutput;

    async fn call(ctx: ToolCtx, input: GetApplicationStatusInput) -> Result<GetApplicationStatusOutput, ToolError> {
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let app = ctx
            .client
            .get_application(&cluster, &project.name, input.application.trim())
            .await?;
        let (application, message, detail, next) = status_view(&app, &cluster, input.detail);
        Ok(GetApplicationStatusOutput {
            project,
            application,
            message,
            detail,
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn degraded_app_reports_its_operation_message() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "get_application_status",
            serde_json::json!({"project": "stone-devops", "application": "broken-app", "detail": true}),
        )
        .await
        .unwrap();
        assert_eq!(out["application"]["health"], "Degraded");
        assert_eq!(out["application"]["sync"], "OutOfSync");
        let msg = out["message"].as_str().unwrap();
        assert!(
            msg.contains("image pull failed") && msg.starts_with("last sync Failed"),
            "{msg}"
        );
        let op = &out["detail"]["last_operation"];
        assert_eq!(op["phase"], "Failed");
        assert!(op["message"].as_str().unwrap().contains("failed to apply"), "{op}");
        assert!(out["next"].as_str().unwrap().contains("failed"), "{}", out["next"]);
        assert!(!out["detail"]["resources"].as_array().unwrap().is_empty());
    }

    #[tokio::test]
    async fn without_detail_it_stays_compact() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "get_application_status",
            serde_json::json!({"project": "stone-devops", "application": "guestbook"}),
        )
        .await
        .unwrap();
        assert!(out.get("detail").is_none());
        assert_eq!(
            out["application"]["repo_url"],
            "https://github.com/argoproj/argocd-example-apps"
        );
        let err = call(
            &ctx(&sim),
            "get_application_status",
            serde_json::json!({"project": "stone-devops", "application": "nope"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "not_found");
    }
}
