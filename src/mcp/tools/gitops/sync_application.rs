//! `sync_application`: start an Argo CD sync through the upstream sync
//! endpoint. Never retried automatically.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status_view;
use crate::kubesphere::gitops::SyncRequest;
use crate::mcp::appview::ApplicationSummary;
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct SyncApplication;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct SyncApplicationInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Application name.
    pub application: String,
    /// Default: the target revision.
    #[serde(default)]
    pub revision: Option<String>,
    /// Also delete what left Git. Ask the user first.
    #[serde(default)]
    pub prune: bool,
    /// Only show what would change.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SyncApplicationOutput {
    pub project: ProjectRef,
    /// State right after the sync was requested.
    pub application: ApplicationSummary,
    /// What to do next.
    pub next: String,
}

impl ToolDef for SyncApplication {
    const NAME: &'static str = "sync_application";
    const TITLE: &'static str = "Sync a GitOps application";
    const DESCRIPTION: &'static str = "Asks Argo CD to sync (deploy) a GitOps application now, to its target or a given revision, optionally pruning (ask the user first) or as a dry run. Not retried: after a failure check get_application_status; follow with it until Synced and Healthy.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "application": "guestbook", "dry_run": true}"#;
    const TOOLSET: Toolset = Toolset::Gitops;
    const HINTS: Hints = Hints::CREATE;
    const CHECK: &'static str = "get_application_status";
    type Input = SyncApplicationInput;
    type Output = SyncApplicationOutput;

    async fn call(ctx: ToolCtx, input: SyncApplicationInput) -> Result<SyncApplicationOutput, ToolError> {
        let revision = input.revision.as_deref().map(str::trim).filter(|r| !r.is_empty());
        if revision.is_some_and(|r| r.chars().any(char::is_whitespace)) {
            return Err(ToolError::InvalidInput(
                "revision must be one branch, tag or commit without spaces".into(),
            ));
        }
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let name = input.application.trim();
        let request = SyncRequest {
            revision: revision.map(str::to_string),
            prune: input.prune,
            dry_run: input.dry_run,
        };
        ctx.client
            .sync_application(&cluster, &project.name, name, &request)
            .await
            .map_err(|e| {
                e.map_messages(|m| {
                    if m.contains("already in progress") {
                        format!("{m}. Nothing new was started: wait until get_application_status shows no running operation, then sync again if still needed")
                    } else if m.contains("not initialized") {
                        format!("{m}. Argo CD has not picked the application up yet: retry in a few seconds")
                    } else {
                        m
                    }
                })
            })?;
        // The sync answer may be `null` upstream: read the application back.
        let app = ctx.client.get_application(&cluster, &project.name, name).await?;
        let (application, _, _, next) = status_view(&app, &cluster, false);
        Ok(SyncApplicationOutput {
            project,
            application,
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim_with};

    #[tokio::test]
    async fn a_second_sync_while_one_runs_is_refused_with_a_next_step() {
        // A slow Argo CD: the first sync is still running for the second call.
        let sim = sim_with(ks_sim::SimOptions {
            run_phase: std::time::Duration::from_secs(30),
            ..Default::default()
        })
        .await;
        let c = ctx(&sim);
        call(
            &c,
            "create_application",
            serde_json::json!({"project": "stone-devops", "name": "manual", "repo_url": "https://github.com/org/apps", "path": "manual"}),
        )
        .await
        .unwrap();
        let first = call(
            &c,
            "sync_application",
            serde_json::json!({"project": "stone-devops", "application": "manual"}),
        )
        .await
        .unwrap();
        assert_eq!(first["application"]["operation_running"], true);
        let second = call(
            &c,
            "sync_application",
            serde_json::json!({"project": "stone-devops", "application": "manual"}),
        )
        .await
        .unwrap_err();
        assert!(
            second.to_string().contains("wait until get_application_status"),
            "{second}"
        );
        let posts = sim
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/sync"))
            .count();
        assert_eq!(posts, 2, "each call posts once, never retried");
    }
}
