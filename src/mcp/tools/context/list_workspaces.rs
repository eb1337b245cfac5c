//! `list_workspaces`: the workspaces this user belongs to.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::models::keys;
use crate::mcp::args::PageArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::paging::PageInfo;
use crate::mcp::registry::{Hints, ToolDef, Toolset};

pub struct ListWorkspaces;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListWorkspacesInput {
    #[serde(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WorkspaceSummary {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListWorkspacesOutput {
    pub workspaces: Vec<WorkspaceSummary>,
    #[serde(flatten)]
    pub page: PageInfo,
}

impl ToolDef for ListWorkspaces {
    const NAME: &'static str = "list_workspaces";
    const TITLE: &'static str = "List workspaces";
    const DESCRIPTION: &'static str = "Lists the KubeSphere workspaces this user is a member of (tenants see only their own). Use it to find the workspace that holds a DevOps project.";
    const EXAMPLE: &'static str = r#"{}"#;
    const TOOLSET: Toolset = Toolset::Context;
    const HINTS: Hints = Hints::READ;
    type Input = ListWorkspacesInput;
    type Output = ListWorkspacesOutput;

    async fn call(ctx: ToolCtx, input: ListWorkspacesInput) -> Result<ListWorkspacesOutput, ToolError> {
        let page = input.page.request()?;
        let mut all = ctx.client.list_workspaces().await?;
        all.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let (items, info) = page.slice(all);
        Ok(ListWorkspacesOutput {
            workspaces: items
                .into_iter()
                .map(|w| WorkspaceSummary {
                    alias: w
                        .metadata
                        .annotation(keys::ALIAS_NAME)
                        .map(str::to_string)
                        .filter(|s| !s.is_empty()),
                    description: w
                        .metadata
                        .annotation(keys::DESCRIPTION)
                        .map(str::to_string)
                        .filter(|s| !s.is_empty()),
                    manager: w.spec.manager.clone().filter(|s| !s.is_empty()).or_else(|| {
                        w.spec
                            .template
                            .as_ref()
                            .and_then(|t| t.pointer("/spec/manager"))
                            .and_then(|m| m.as_str())
                            .map(str::to_string)
                    }),
                    created: w.metadata.creation_timestamp.clone(),
                    name: w.metadata.name,
                })
                .collect(),
            page: info,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn tenant_sees_only_its_workspace() {
        let sim = sim().await;
        let out = call(&ctx(&sim), "list_workspaces", serde_json::json!({}))
            .await
            .unwrap();
        let names: Vec<&str> = out["workspaces"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|w| w["name"].as_str())
            .collect();
        assert_eq!(names, ["stone"]);
        assert_eq!(out["has_more"], false);
    }

    #[tokio::test]
    async fn bad_paging_is_refused() {
        let sim = sim().await;
        let err = call(&ctx(&sim), "list_workspaces", serde_json::json!({"limit": 0}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_input");
        let err = call(&ctx(&sim), "list_workspaces", serde_json::json!({"continue": "nope"}))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("continue"), "{err}");
    }
}
