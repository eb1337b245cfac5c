//! `list_applications`: the GitOps (Argo CD) applications of a project.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::ListQuery;
use crate::mcp::appview::{ApplicationSummary, HealthStatus, SyncStatus};
use crate::mcp::args::{PageArgs, ProjectArgs};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::paging::PageInfo;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct ListApplications;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListApplicationsInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Only this health.
    #[serde(default)]
    pub health: Option<HealthStatus>,
    /// Only this sync status.
    #[serde(default)]
    pub sync: Option<SyncStatus>,
    /// Only names containing this.
    #[serde(default)]
    pub name_contains: Option<String>,
    #[serde(flatten)]
    pub page: PageArgs,
}

/// Counts over all applications of the project (upstream's
/// `application-summary`; whatever the filters and page).
#[derive(Debug, Serialize, JsonSchema)]
pub struct ApplicationCounts {
    pub total: u64,
    /// Applications per health (Healthy, Progressing, Degraded, ...).
    pub health: std::collections::BTreeMap<String, u64>,
    /// Applications per sync status (Synced, OutOfSync, Unknown).
    pub sync: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListApplicationsOutput {
    pub project: ProjectRef,
    /// Per-health and per-sync counts of the whole project (absent if KubeSphere did not give them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<ApplicationCounts>,
    pub applications: Vec<ApplicationSummary>,
    #[serde(flatten)]
    pub page: PageInfo,
}

impl ToolDef for ListApplications {
    const NAME: &'static str = "list_applications";
    const TITLE: &'static str = "List GitOps applications";
    const DESCRIPTION: &'static str = "Lists the GitOps (Argo CD) applications of a DevOps project with counts per health and sync: name, health, sync status, running sync, repository, revision, path, destination and sync policy. Filter by health or sync to find failing deployments; get_application_status explains one.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops"}"#;
    const TOOLSET: Toolset = Toolset::Gitops;
    const HINTS: Hints = Hints::READ;
    type Input = ListApplicationsInput;
    type Output = ListApplicationsOutput;

    async fn call(ctx: ToolCtx, input: ListApplicationsInput) -> Result<ListApplicationsOutput, ToolError> {
        let page = input.page.request()?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let mut query = ListQuery {
            name: input.name_contains.clone(),
            extra: vec![("sortBy", "name".into()), ("ascending", "true".into())],
            ..Default::default()
        };
        if let Some(h) = input.health {
            query.extra.push(("healthStatus", h.as_str().into()));
        }
        if let Some(s) = input.sync {
            query.extra.push(("syncStatus", s.as_str().into()));
        }
        let (apps, info) = page
            .fetch(|p| {
                query.page = p.map(|x| x.0);
                query.limit = p.map(|x| x.1);
                ctx.client.list_applications(&cluster, &project.name, &query)
            })
            .await?;
        let summary = match ctx.client.application_summary(&cluster, &project.name).await {
            Ok(s) => Some(ApplicationCounts {
                total: s.total,
                health: s.health_status,
                sync: s.sync_status,
            }),
            Err(e) => {
                tracing::debug!(error = %e, "application summary unavailable");
                None
            }
        };
        Ok(ListApplicationsOutput {
            summary,
            applications: apps.iter().map(|a| ApplicationSummary::of(a, &cluster)).collect(),
            project,
            page: info,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn lists_and_filters_by_health() {
        let sim = sim().await;
        let c = ctx(&sim);
        let out = call(&c, "list_applications", serde_json::json!({"project": "stone-devops"}))
            .await
            .unwrap();
        let apps = out["applications"].as_array().unwrap();
        let names: Vec<&str> = apps.iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["broken-app", "guestbook"]);
        assert_eq!(apps[1]["destination_cluster"], "host");
        assert_eq!(apps[1]["auto_sync"], true);
        assert_eq!(out["summary"]["total"], 2);
        assert_eq!(out["summary"]["health"]["Degraded"], 1, "{out:#}");
        assert_eq!(
            out["summary"]["sync"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum::<u64>(),
            2
        );
        let degraded = call(
            &c,
            "list_applications",
            serde_json::json!({"project": "stone-devops", "health": "Degraded"}),
        )
        .await
        .unwrap();
        let only: Vec<&str> = degraded["applications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(only, ["broken-app"]);
        assert!(
            sim.requests()
                .iter()
                .any(|r| r.query.as_deref().is_some_and(|q| q.contains("healthStatus=Degraded")))
        );
    }
}
