//! `list_devops_projects`: DevOps projects of workspaces on clusters.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::args::PageArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::paging::PageInfo;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, Searched, gather};

pub struct ListDevopsProjects;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListDevopsProjectsInput {
    /// Workspace to list; omit for every workspace of the user.
    #[serde(default)]
    pub workspace: Option<String>,
    /// Cluster to list (`host` or a member cluster); omit for, per workspace, the clusters it is placed on and the user's own clusters.
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListDevopsProjectsOutput {
    /// Projects; `name` is the full name every other tool takes.
    pub projects: Vec<ProjectRef>,
    #[serde(flatten)]
    pub page: PageInfo,
    pub searched: Searched,
}

impl ToolDef for ListDevopsProjects {
    const NAME: &'static str = "list_devops_projects";
    const TITLE: &'static str = "List DevOps projects";
    const DESCRIPTION: &'static str = "Lists the DevOps projects this user can reach. Without workspace/cluster it searches every workspace of the user on its clusters; `searched` says which were read. Full names are what other tools take as `project`.";
    const EXAMPLE: &'static str = r#"{"workspace": "stone"}"#;
    const TOOLSET: Toolset = Toolset::Context;
    const HINTS: Hints = Hints::READ;
    type Input = ListDevopsProjectsInput;
    type Output = ListDevopsProjectsOutput;

    async fn call(ctx: ToolCtx, input: ListDevopsProjectsInput) -> Result<ListDevopsProjectsOutput, ToolError> {
        let page = input.page.request()?;
        // A listing is what the user asked for: always fresh.
        let (projects, searched) =
            gather(&ctx.client, input.workspace.as_deref(), input.cluster.as_deref(), true).await?;
        let (items, info) = page.slice(projects);
        Ok(ListDevopsProjectsOutput {
            projects: items,
            page: info,
            searched,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    fn names(out: &serde_json::Value) -> Vec<String> {
        out["projects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("{}/{}", p["cluster"].as_str().unwrap(), p["name"].as_str().unwrap()))
            .collect()
    }

    #[tokio::test]
    async fn lists_across_clusters() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "list_devops_projects",
            serde_json::json!({"workspace": "stone"}),
        )
        .await
        .unwrap();
        let n = names(&out);
        for want in [
            "host/stone-devops",
            "member-1/devopstestc2nj7",
            "member-1/devopstestxyz12",
            "member-1/my-devopstest",
        ] {
            assert!(n.contains(&want.to_string()), "{want} missing from {n:?}");
        }
        let c2 = out["projects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "devopstestc2nj7")
            .unwrap();
        assert_eq!(c2["short_name"], "devopstest");
        assert_eq!(c2["workspace"], "stone");
        assert!(c2["created"].is_string());
    }

    #[tokio::test]
    async fn one_cluster_and_paging() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "list_devops_projects",
            serde_json::json!({"workspace": "stone", "cluster": "member-1", "limit": 2}),
        )
        .await
        .unwrap();
        assert_eq!(names(&out).len(), 2);
        assert_eq!(out["has_more"], true);
        assert_eq!(out["total"], 3);
        let next = call(
            &ctx(&sim),
            "list_devops_projects",
            serde_json::json!({"workspace": "stone", "cluster": "member-1", "limit": 2, "continue": out["continue"]}),
        )
        .await
        .unwrap();
        assert_eq!(names(&next).len(), 1);
        assert_eq!(next["has_more"], false);
    }

    #[tokio::test]
    async fn foreign_workspace_is_forbidden() {
        let sim = sim().await;
        let err = call(
            &ctx(&sim),
            "list_devops_projects",
            serde_json::json!({"workspace": "demo", "cluster": "host"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "forbidden");
        let text = err.to_string();
        assert!(text.contains("forbidden") && text.contains("members of"), "{text}");
    }

    #[tokio::test]
    async fn unknown_cluster_is_named() {
        let sim = sim().await;
        let err = call(
            &ctx(&sim),
            "list_devops_projects",
            serde_json::json!({"workspace": "stone", "cluster": "nowhere"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "unknown_cluster", "{err}");
    }
}
