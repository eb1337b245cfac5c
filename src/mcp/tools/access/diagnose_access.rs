//! `diagnose_access`: why a workspace, DevOps project or pipeline fails or
//! is missing for this user; the checks of `ks-devops-mcp doctor` scoped to
//! what the user tried ([`crate::doctor::diagnose`]).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::doctor::diagnose::{Diagnosis, Subject, diagnose};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};

pub struct DiagnoseAccess;

/// What the user tried; give what you know (all optional).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiagnoseAccessInput {
    /// Workspace the user named.
    #[serde(default)]
    pub workspace: Option<String>,
    /// DevOps project as the user typed it (full or short name).
    #[serde(default)]
    pub project: Option<String>,
    /// Pipeline name inside the project.
    #[serde(default)]
    pub pipeline: Option<String>,
    /// Cluster the user named.
    #[serde(default)]
    pub cluster: Option<String>,
    /// The error text a call returned (e.g. a 403 message), if any.
    #[serde(default)]
    pub error: Option<String>,
}

impl ToolDef for DiagnoseAccess {
    const NAME: &'static str = "diagnose_access";
    const TITLE: &'static str = "Diagnose access";
    const DESCRIPTION: &'static str = "Explains why a workspace, DevOps project or pipeline is missing or refused (403) for this user. Give what the user tried and the error. Returns the cause, your next step and what to ask an administrator.";
    const EXAMPLE: &'static str = r#"{"project": "devopstest"}"#;
    const TOOLSET: Toolset = Toolset::Access;
    const HINTS: Hints = Hints::READ;
    type Input = DiagnoseAccessInput;
    type Output = Diagnosis;

    async fn call(ctx: ToolCtx, input: DiagnoseAccessInput) -> Result<Diagnosis, ToolError> {
        let clean = |s: Option<String>| s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let error = clean(input.error).map(|e| ctx.client.redactor().redact(&e.chars().take(2000).collect::<String>()));
        let subject = Subject {
            workspace: clean(input.workspace),
            project: clean(input.project),
            pipeline: clean(input.pipeline),
            cluster: clean(input.cluster),
            error,
        };
        Ok(diagnose(&ctx.client, &subject).await)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::mcp::context::ToolCtx;
    use crate::testing::{call, client, ctx, only_reads, sim};

    #[tokio::test]
    async fn forbidden_workspace() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "diagnose_access",
            serde_json::json!({"workspace": "demo", "project": "demo-project"}),
        )
        .await
        .unwrap();
        let cause = out["cause"].as_str().unwrap();
        assert!(cause.contains("not a member of workspace demo"), "{out}");
        assert!(
            out["ask_admin"]
                .as_str()
                .unwrap()
                .contains("invite tenant to workspace demo"),
            "{out}"
        );
        assert!(out["next_step"].as_str().unwrap().contains("stone"), "{out}");
    }

    #[tokio::test]
    async fn project_of_a_foreign_workspace() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "diagnose_access",
            serde_json::json!({"project": "demo-project"}),
        )
        .await
        .unwrap();
        let cause = out["cause"].as_str().unwrap();
        assert!(cause.contains("403") && cause.contains("not a member"), "{out}");
        assert!(
            out["ask_admin"]
                .as_str()
                .unwrap()
                .contains("kubectl get devopsproject demo-project"),
            "{out}"
        );
        assert_eq!(out["user"], "tenant");
    }

    #[tokio::test]
    async fn ambiguous_short_name() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "diagnose_access",
            serde_json::json!({"project": "devopstest"}),
        )
        .await
        .unwrap();
        assert!(out["cause"].as_str().unwrap().contains("ambiguous"), "{out}");
        let names: Vec<&str> = out["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{out}");
        assert!(names.contains(&"devopstestc2nj7") && names.contains(&"devopstestxyz12"));
        assert!(out["next_step"].as_str().unwrap().contains("Never pick"));
    }

    #[tokio::test]
    async fn reachable_project_and_wrong_cluster() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "diagnose_access",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello"}),
        )
        .await
        .unwrap();
        assert!(out["cause"].as_str().unwrap().contains("no access problem"), "{out}");
        let out = call(
            &ctx(&sim),
            "diagnose_access",
            serde_json::json!({"project": "devopstestc2nj7", "cluster": "host"}),
        )
        .await
        .unwrap();
        assert!(
            out["cause"]
                .as_str()
                .unwrap()
                .contains("on cluster member-1, not on host"),
            "{out}"
        );
        let out = call(
            &ctx(&sim),
            "diagnose_access",
            serde_json::json!({"project": "stone-devops", "pipeline": "nope"}),
        )
        .await
        .unwrap();
        assert!(out["next_step"].as_str().unwrap().contains("list_pipelines"), "{out}");
    }

    #[tokio::test]
    async fn names_the_missing_permission_of_an_error() {
        let sim = sim().await;
        let err = r#"forbidden: pipelines.devops.kubesphere.io "p1" is forbidden: User "tenant" cannot create resource "pipelines/pipelineruns" in API group "devops.kubesphere.io" in the namespace "stone-devops""#;
        let out = call(
            &ctx(&sim),
            "diagnose_access",
            serde_json::json!({"project": "stone-devops", "error": err}),
        )
        .await
        .unwrap();
        assert!(
            out["cause"]
                .as_str()
                .unwrap()
                .contains("may not `create` `pipelines/pipelineruns`"),
            "{out}"
        );
        assert!(out["ask_admin"].as_str().unwrap().contains("Project Members"), "{out}");
    }

    #[tokio::test]
    async fn namespace_label_mismatch() {
        let sim = sim().await;
        let lab = ToolCtx::detached(client(&sim, "lab-tenant"), Arc::new(Default::default()));
        let out = call(&lab, "diagnose_access", serde_json::json!({"project": "lab-ci"}))
            .await
            .unwrap();
        let cause = out["cause"].as_str().unwrap();
        assert!(cause.contains("kubesphere.io/workspace=lab"), "{out}");
        assert_eq!(
            out["ask_admin"].as_str().unwrap().rsplit("set it: ").next().unwrap(),
            "`kubectl label ns lab-ci kubesphere.io/workspace=lab --overwrite`",
            "{out}"
        );
        // Workspace only: the hidden projects are reported too.
        let out = call(&lab, "diagnose_access", serde_json::json!({"workspace": "lab"}))
            .await
            .unwrap();
        assert!(
            out["ask_admin"]
                .as_str()
                .unwrap()
                .contains("-l kubesphere.io/workspace=lab"),
            "{out}"
        );
        assert!(only_reads(&sim));
    }
}
