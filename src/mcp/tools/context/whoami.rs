//! `whoami`: who the server acts as, where, and until when.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};

pub struct Whoami;

/// No arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WhoamiInput {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WhoamiOutput {
    /// KubeSphere user name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub kubesphere_url: String,
    /// Cluster used when a tool gets no `cluster`.
    pub default_cluster: String,
    /// Clusters searched for projects when a tool gets no `cluster`.
    pub clusters: Vec<String>,
    /// `password` (renewed automatically) or `token` (fixed bearer token).
    pub login: String,
    /// When the current access token expires (RFC 3339), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_expires_at: Option<String>,
    /// Whether this client can be asked questions (MCP elicitation).
    pub can_ask_user: bool,
}

impl ToolDef for Whoami {
    const NAME: &'static str = "whoami";
    const TITLE: &'static str = "Who am I";
    const DESCRIPTION: &'static str = "Shows the KubeSphere user this server acts as, the KubeSphere URL, the default cluster, the clusters searched for DevOps projects, and when the login token expires. Call it first when unsure which identity or cluster is in use.";
    const EXAMPLE: &'static str = r#"{}"#;
    const TOOLSET: Toolset = Toolset::Context;
    const HINTS: Hints = Hints::READ;
    type Input = WhoamiInput;
    type Output = WhoamiOutput;

    async fn call(ctx: ToolCtx, _input: WhoamiInput) -> Result<WhoamiOutput, ToolError> {
        let identity = ctx.client.identity().await?;
        let (display_name, email) = match &identity.username {
            Some(u) => match ctx.client.get_user(u).await {
                Ok(user) => (user.spec.display_name, user.spec.email),
                Err(e) => {
                    tracing::debug!(error = %e, "cannot read own user record");
                    (None, None)
                }
            },
            None => (None, None),
        };
        let clusters = ctx.client.search_clusters().await;
        Ok(WhoamiOutput {
            username: identity.username,
            display_name: display_name.filter(|s| !s.is_empty()),
            email: email.filter(|s| !s.is_empty()),
            kubesphere_url: ctx
                .client
                .settings()
                .base_url
                .as_str()
                .trim_end_matches('/')
                .to_string(),
            default_cluster: ctx.client.default_cluster().name().to_string(),
            clusters: clusters.iter().map(|c| c.name().to_string()).collect(),
            login: if identity.renewable { "password" } else { "token" }.into(),
            token_expires_at: identity
                .token_expires_at
                .map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            can_ask_user: ctx.can_ask(),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn reports_the_tenant() {
        let sim = sim().await;
        let out = call(&ctx(&sim), "whoami", serde_json::json!({})).await.unwrap();
        assert_eq!(out["username"], "tenant");
        assert_eq!(out["login"], "password");
        assert_eq!(out["default_cluster"], "host");
        assert_eq!(out["can_ask_user"], false);
        assert!(out["token_expires_at"].as_str().is_some_and(|s| s.ends_with('Z')));
        let clusters: Vec<&str> = out["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c.as_str())
            .collect();
        assert!(
            clusters.contains(&"host") && clusters.contains(&"member-1"),
            "{clusters:?}"
        );
    }

    #[tokio::test]
    async fn rejects_unknown_arguments() {
        let sim = sim().await;
        let err = call(&ctx(&sim), "whoami", serde_json::json!({"user": "x"}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_input");
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
