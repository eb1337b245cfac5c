//! `resolve_devops_project`: a typed name to exactly one project.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{MatchedBy, ProjectRef, Resolution, Searched, choice_question, chosen, resolve};

pub struct ResolveDevopsProject;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveDevopsProjectInput {
    /// The project name as the user typed it (full or short name).
    pub name: String,
    /// Workspace to search; omit to search all of the user's workspaces.
    #[serde(default)]
    pub workspace: Option<String>,
    /// Cluster to search; omit to search, for each workspace, the clusters it is placed on and the user's own clusters.
    #[serde(default)]
    pub cluster: Option<String>,
}

/// Outcome of a resolution.
#[derive(Clone, Copy, Debug, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResolveStatus {
    /// Exactly one project: use `project`.
    Resolved,
    /// Several projects match: ask the user to pick one of `candidates`.
    Ambiguous,
    /// Nothing matches: `closest` lists similar names.
    NotFound,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ResolveDevopsProjectOutput {
    pub status: ResolveStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<MatchedBy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<ProjectRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub closest: Vec<ProjectRef>,
    /// What to ask the user, when the status is not `resolved`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ask_user: Option<String>,
    pub searched: Searched,
}

impl ToolDef for ResolveDevopsProject {
    const NAME: &'static str = "resolve_devops_project";
    const TITLE: &'static str = "Resolve a DevOps project name";
    const DESCRIPTION: &'static str = "Turns a project name the user typed into exactly one DevOps project: full name, else short or display name, else prefix. `ambiguous` lists candidates: ask the user (the server asks when it can); never pick one yourself. `not_found` lists the closest.";
    const EXAMPLE: &'static str = r#"{"name": "stone-devops"}"#;
    const TOOLSET: Toolset = Toolset::Context;
    const HINTS: Hints = Hints::READ;
    type Input = ResolveDevopsProjectInput;
    type Output = ResolveDevopsProjectOutput;

    async fn call(ctx: ToolCtx, input: ResolveDevopsProjectInput) -> Result<ResolveDevopsProjectOutput, ToolError> {
        let (resolution, searched) = resolve(
            &ctx.client,
            &input.name,
            input.workspace.as_deref(),
            input.cluster.as_deref(),
        )
        .await?;
        let mut out = ResolveDevopsProjectOutput {
            status: ResolveStatus::NotFound,
            project: None,
            matched_by: None,
            candidates: Vec::new(),
            closest: Vec::new(),
            ask_user: None,
            searched,
        };
        match resolution {
            Resolution::Resolved { project, matched_by } => {
                out.status = ResolveStatus::Resolved;
                out.project = Some(project);
                out.matched_by = Some(matched_by);
            }
            Resolution::Ambiguous { candidates } => {
                if let Some(answer) = ctx.ask(choice_question(&input.name, &candidates)).await?
                    && let Some(p) = chosen(&answer, &candidates)
                {
                    out.status = ResolveStatus::Resolved;
                    out.project = Some(p);
                    out.matched_by = Some(MatchedBy::UserChoice);
                    return Ok(out);
                }
                out.status = ResolveStatus::Ambiguous;
                out.ask_user = Some(format!(
                    "Several DevOps projects match {}: {}. Which one do you mean?",
                    crate::text::quote(&input.name),
                    candidates
                        .iter()
                        .map(|c| c.candidate().to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
                out.candidates = candidates;
            }
            Resolution::NotFound { closest } => {
                out.ask_user = Some(if closest.is_empty() {
                    format!(
                        "No DevOps project named {} is visible to you. What is the project's exact name?",
                        crate::text::quote(&input.name)
                    )
                } else {
                    format!(
                        "No DevOps project named {}. Did you mean one of: {}?",
                        crate::text::quote(&input.name),
                        closest.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                    )
                });
                out.closest = closest;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn short_name_is_ambiguous() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "resolve_devops_project",
            serde_json::json!({"name": "devopstest", "workspace": "stone"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "ambiguous");
        let names: Vec<&str> = out["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, ["devopstestc2nj7", "devopstestxyz12"]);
        assert!(out["ask_user"].as_str().unwrap().contains("Which one"));
        assert!(out.get("project").is_none());
    }

    #[tokio::test]
    async fn full_name_resolves_on_its_cluster() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "resolve_devops_project",
            serde_json::json!({"name": "devopstestc2nj7", "workspace": "stone"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "resolved");
        assert_eq!(out["matched_by"], "full_name");
        assert_eq!(out["project"]["cluster"], "member-1");
        assert_eq!(out["project"]["name"], "devopstestc2nj7");
    }

    /// U6: `TN/clusters` lists nothing for `tenant` (it was granted no
    /// cluster); the member-1 project is found through the clusters its
    /// workspace is placed on, with no workspace or cluster given.
    #[tokio::test]
    async fn member_cluster_project_resolves_without_hints() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "resolve_devops_project",
            serde_json::json!({"name": "devopstestc2nj7"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "resolved", "{out:#}");
        assert_eq!(out["project"]["cluster"], "member-1");
        assert_eq!(out["project"]["workspace"], "stone");
        assert_eq!(out["searched"]["clusters"], serde_json::json!(["host", "member-1"]));
        assert_eq!(
            out["searched"]["workspace_clusters"]["stone"],
            serde_json::json!(["host", "member-1"])
        );
        // Where it looked: the workspace's clusters and the user's own.
        let asked: Vec<String> = sim
            .requests()
            .iter()
            .filter(|r| r.path.contains("/tenant.kubesphere.io/"))
            .map(|r| format!("{}?{}", r.path, r.query.clone().unwrap_or_default()))
            .collect();
        assert!(
            asked.iter().any(|p| p.ends_with("/workspaces/stone/clusters?")),
            "{asked:?}"
        );
        assert!(asked.iter().any(|p| p.contains("roleBindingExists=true")), "{asked:?}");
    }

    /// U6: a granted cluster list that lacks the project's cluster does not
    /// hide it either.
    #[tokio::test]
    async fn granted_clusters_are_not_the_whole_search() {
        let sim = sim().await;
        assert!(sim.set_granted_clusters("tenant", &["host"]));
        let out = call(
            &ctx(&sim),
            "resolve_devops_project",
            serde_json::json!({"name": "my-devopstest"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "resolved", "{out:#}");
        assert_eq!(out["project"]["cluster"], "member-1");
        // A name that exists nowhere says where it looked.
        let out = call(
            &ctx(&sim),
            "resolve_devops_project",
            serde_json::json!({"name": "zzz-none"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "not_found");
        assert_eq!(out["searched"]["clusters"], serde_json::json!(["host", "member-1"]));
    }

    /// U17: a project the user fails the per-project RBAC check for is not
    /// listed, so it does not resolve.
    #[tokio::test]
    async fn a_project_hidden_by_rbac_is_not_found() {
        let sim = sim().await;
        assert!(sim.set_namespace_workspace("member-1", "devopstestxyz12", None));
        let out = call(
            &ctx(&sim),
            "resolve_devops_project",
            serde_json::json!({"name": "devopstest"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "resolved", "only one devopstest left: {out:#}");
        assert_eq!(out["project"]["name"], "devopstestc2nj7");
    }

    #[tokio::test]
    async fn unknown_name_lists_closest() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "resolve_devops_project",
            serde_json::json!({"name": "stone-devop"}),
        )
        .await
        .unwrap();
        // A unique prefix match is still a match.
        assert_eq!(out["status"], "resolved");
        assert_eq!(out["matched_by"], "prefix");
        let out = call(
            &ctx(&sim),
            "resolve_devops_project",
            serde_json::json!({"name": "stone-devopz"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "not_found");
        assert_eq!(out["closest"][0]["name"], "stone-devops");
    }

    #[tokio::test]
    async fn empty_name_is_refused() {
        let sim = sim().await;
        let err = call(&ctx(&sim), "resolve_devops_project", serde_json::json!({"name": "  "}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_input");
    }
}
