//! `list_credentials`: the DevOps credentials of a project, without any
//! secret data.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::ListQuery;
use crate::mcp::args::{PageArgs, ProjectArgs};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::paging::PageInfo;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

use super::{CredentialKind, CredentialSummary};

pub struct ListCredentials;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListCredentialsInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Only this type.
    #[serde(default, rename = "type")]
    pub kind: Option<CredentialKind>,
    /// Only ids containing this.
    #[serde(default)]
    pub name_contains: Option<String>,
    #[serde(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListCredentialsOutput {
    pub project: ProjectRef,
    pub credentials: Vec<CredentialSummary>,
    #[serde(flatten)]
    pub page: PageInfo,
}

impl ToolDef for ListCredentials {
    const NAME: &'static str = "list_credentials";
    const TITLE: &'static str = "List credentials";
    const DESCRIPTION: &'static str =
        "Lists a project's DevOps credentials (no secrets): find the id a pipeline needs.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops"}"#;
    const TOOLSET: Toolset = Toolset::Credentials;
    const HINTS: Hints = Hints::READ;
    type Input = ListCredentialsInput;
    type Output = ListCredentialsOutput;

    async fn call(ctx: ToolCtx, input: ListCredentialsInput) -> Result<ListCredentialsOutput, ToolError> {
        let page = input.page.request()?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let mut query = ListQuery {
            name: input.name_contains.clone(),
            extra: vec![("sortBy", "name".into()), ("ascending", "true".into())],
            ..Default::default()
        };
        let (credentials, info) = match input.kind {
            // Upstream cannot filter by type: read the whole list, cut it here.
            Some(kind) => {
                let all = ctx.client.list_credentials(&cluster, &project.name, &query).await?;
                let want = kind.upstream();
                page.slice(all.items.into_iter().filter(|c| c.kind == want).collect())
            }
            None => {
                page.fetch(|p| {
                    query.page = p.map(|x| x.0);
                    query.limit = p.map(|x| x.1);
                    ctx.client.list_credentials(&cluster, &project.name, &query)
                })
                .await?
            }
        };
        Ok(ListCredentialsOutput {
            credentials: credentials.iter().map(CredentialSummary::of).collect(),
            project,
            page: info,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn lists_only_credentials_and_no_data() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "list_credentials",
            serde_json::json!({"project": "stone-devops"}),
        )
        .await
        .unwrap();
        let ids: Vec<&str> = out["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["github-token"]);
        assert_eq!(out["credentials"][0]["type"], "basic-auth");
        assert_eq!(out["credentials"][0]["sync_status"], "successful");
        // Seeded values of the credential and of the other Secrets.
        let text = out.to_string();
        for leak in [
            "ghp_simulatedTokenValue123",
            "sim-api-key",
            "eyJhbGci",
            "Z2hwX3NpbXVsYXRlZFRva2VuVmFsdWUxMjM",
        ] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
        let none = call(
            &ctx(&sim),
            "list_credentials",
            serde_json::json!({"project": "stone-devops", "type": "kubeconfig"}),
        )
        .await
        .unwrap();
        assert_eq!(none["credentials"].as_array().unwrap().len(), 0);
        assert_eq!(none["total"], 0);
    }
}
