//! `list_credentials`: the DevOps credentials of a project, without any
//! secret data.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::ListQuery;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::paging::{PageInfo, PageRequest};
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

use super::{CredentialKind, CredentialSummary};

crate::project_scoped!(ListCredentialsInput);

pub struct ListCredentials;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListCredentialsInput {
    /// DevOps project as the user named it (full or short name); an ambiguous name is never guessed.
    pub project: String,
    /// Only credentials of this type.
    #[serde(default, rename = "type")]
    pub kind: Option<CredentialKind>,
    /// Only credentials whose id contains this text.
    #[serde(default)]
    pub name_contains: Option<String>,
    #[serde(default)]
    pub workspace: Option<String>,
    #[serde(default)]
    pub cluster: Option<String>,
    /// Page size (1-500, default 50).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `continue` value of the previous page.
    #[serde(default, rename = "continue")]
    pub continue_token: Option<String>,
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
    const DESCRIPTION: &'static str = "Lists the DevOps credentials of a project (the ids pipelines use for Git, registries, SSH, kubeconfig): id, type (basic-auth, ssh-auth, secret-text, kubeconfig), description, creator and Jenkins sync status. Never returns secret data. Use it to find the credential id a pipeline needs, or to check a new credential synced.";
    const TOOLSET: Toolset = Toolset::Credentials;
    const HINTS: Hints = Hints::READ;
    type Input = ListCredentialsInput;
    type Output = ListCredentialsOutput;

    async fn call(ctx: ToolCtx, input: ListCredentialsInput) -> Result<ListCredentialsOutput, ToolError> {
        let page = PageRequest::parse(input.limit, input.continue_token.as_deref())?;
        let project = resolve_input(&ctx, &input).await?;
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
