//! `update_credential`: rotate the secret value(s) of a credential.
//! Upstream's PUT replaces all data, so the complete values of the type are
//! required; the old values are gone afterwards, so the user confirms,
//! told which pipelines use the credential. Values are never echoed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CredentialKind, CredentialSummary};
use super::{CredentialValueArgs, credential_data, credential_target, credential_users};
use crate::kubesphere::KsError;
use crate::kubesphere::creds::Credential;
use crate::kubesphere::path::validate_subdomain;
use crate::mcp::args::ProjectArgs;
use crate::mcp::confirm::{ConfirmedBy, confirm};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct UpdateCredential;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateCredentialInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Credential id to rotate.
    pub id: String,
    /// Its current type (cannot change); all its values are required: basic-auth username + password, ssh-auth username + private_key (+ passphrase), secret-text secret, kubeconfig content.
    #[serde(rename = "type")]
    pub kind: CredentialKind,
    #[serde(flatten)]
    pub values: CredentialValueArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct UpdateCredentialOutput {
    pub project: ProjectRef,
    /// The credential after the update (no secret data; sync_status pending until Jenkins has the new values).
    pub credential: CredentialSummary,
    pub rotated: bool,
    /// Pipelines (`project/pipeline`) Jenkins recorded as using it; absent when Jenkins could not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_by: Option<Vec<String>>,
    /// `user` (accepted a confirmation naming the credential) or `operator_flag` (--allow-unconfirmed-destructive).
    pub confirmed_by: ConfirmedBy,
    /// What to do next.
    pub next: String,
}

impl ToolDef for UpdateCredential {
    const NAME: &'static str = "update_credential";
    const TITLE: &'static str = "Rotate a credential's secret";
    const DESCRIPTION: &'static str = "Rotates a DevOps credential's secret, e.g. a renewed Git token: all its data is replaced, so pass every value of its current type. Ask the user for the new values; never invent or reuse one. The server asks the user to confirm (MCP elicitation), naming the pipelines using it; nothing changes without it. Values are never shown.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "id": "github-token", "type": "basic-auth", "username": "tenant", "password": "<the new token the user gives>"}"#;
    const TOOLSET: Toolset = Toolset::Credentials;
    const HINTS: Hints = Hints::DESTROY;
    const CHECK: &'static str = "list_credentials";
    type Input = UpdateCredentialInput;
    type Output = UpdateCredentialOutput;

    async fn call(ctx: ToolCtx, input: UpdateCredentialInput) -> Result<UpdateCredentialOutput, ToolError> {
        let id = input.id.trim().to_string();
        validate_subdomain("credential id", &id)?;
        // Nothing is read or asked before the values are complete.
        let data = credential_data(input.kind, input.values.view())?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let want = input.kind;
        // Refuses Secrets of other types (NotFound naming the type) and a
        // type that is not the credential's.
        let read = || async {
            let c = ctx.client.get_credential(&cluster, &project.name, &id).await?;
            if CredentialKind::of(c.kind) != want {
                return Err(ToolError::InvalidInput(format!(
                    "credential {id} is of type {}, not {}: its type cannot change. Pass type {} with its values, or (if the user wants another type) create a new credential",
                    c.kind.short_name(),
                    want.upstream().short_name(),
                    c.kind.short_name()
                )));
            }
            Ok::<Credential, ToolError>(c)
        };
        let used_by = credential_users(&ctx, &cluster, &project.name, &id).await;
        let describe = |c: &Credential| credential_target(c, &project);
        let consequence = match used_by.as_deref() {
            Some([]) => "No pipeline is recorded as using it. The current values are replaced and cannot be recovered.".to_string(),
            Some(used) => format!(
                "Used by {}: their next runs use the new values. The current values are replaced and cannot be recovered.",
                used.join(", ")
            ),
            None => "Which pipelines use it could not be checked (Jenkins did not say); every pipeline using it gets the new values. The current values are replaced and cannot be recovered.".to_string(),
        };
        let (current, confirmed_by) = confirm(
            &ctx,
            Self::NAME,
            "Replace the secret values of",
            &consequence,
            read,
            describe,
        )
        .await?;
        let updated = ctx
            .client
            .update_credential(&cluster, &project.name, &current, &data)
            .await
            .map_err(|e| match e {
                KsError::BadRequest { ref message, .. } if message.contains("the object has been modified") => {
                    ToolError::TargetChanged(format!(
                        "credential {id} was changed by someone else after it was confirmed; nothing was written. Show the user list_credentials and call update_credential again if they still want it"
                    ))
                }
                e => e.into(),
            })?;
        let credential = CredentialSummary::of(&updated);
        Ok(UpdateCredentialOutput {
            next: format!(
                "Rotated. KubeSphere syncs the new values to Jenkins (sync_status pending -> successful, see list_credentials); runs started after that use them. Runs already running keep the old values{}.",
                if used_by.as_ref().is_some_and(|u| !u.is_empty()) {
                    "; re-run a failed one with rerun"
                } else {
                    ""
                }
            ),
            credential,
            rotated: true,
            used_by,
            confirmed_by,
            project,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, ctx_unconfirmed, only_reads, sim};

    const TOKEN: &str = "ghp_rotated_5f0c9e2a7b41d3";

    #[tokio::test]
    async fn without_elicitation_nothing_is_written_and_the_question_names_users() {
        let sim = sim().await;
        let err = call(
            &ctx(&sim),
            "update_credential",
            serde_json::json!({"project": "stone-devops", "id": "github-token", "type": "basic-auth", "username": "bot", "password": TOKEN}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "confirmation_required");
        let text = err.to_string();
        assert!(text.contains("credential github-token (basic-auth)"), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
        assert!(only_reads(&sim));
        // A 2026-07-28 client gets the question, naming the pipelines.
        let mut c = ctx(&sim);
        c.channel = crate::mcp::context::Channel::Mrtr {
            answers: Default::default(),
        };
        let err = call(
            &c,
            "update_credential",
            serde_json::json!({"project": "stone-devops", "id": "github-token", "type": "basic-auth", "username": "bot", "password": TOKEN}),
        )
        .await
        .unwrap_err();
        let crate::mcp::ToolError::InputRequired(asked) = err else {
            panic!("expected a question, got {err}");
        };
        let text = serde_json::to_string(&*asked).unwrap();
        assert!(
            text.contains("Replace the secret values of credential github-token (basic-auth)")
                && text.contains("stone-devops/echo-pipeline"),
            "{text}"
        );
        assert!(!text.contains(TOKEN), "{text}");
        assert!(only_reads(&sim));
    }

    #[tokio::test]
    async fn rotates_with_the_type_kept_and_nothing_echoed() {
        let sim = sim().await;
        let out = call(
            &ctx_unconfirmed(&sim),
            "update_credential",
            serde_json::json!({"project": "stone-devops", "id": "github-token", "type": "basic-auth", "username": "bot", "password": TOKEN}),
        )
        .await
        .unwrap();
        assert_eq!(out["rotated"], true);
        assert_eq!(out["credential"]["type"], "basic-auth");
        assert_eq!(out["credential"]["sync_status"], "pending");
        // The description and creator survive the replace.
        assert_eq!(out["credential"]["creator"], "tenant");
        let text = out.to_string();
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, TOKEN);
        assert!(!text.contains(TOKEN) && !text.contains(&b64), "{text}");
        let put = sim
            .requests()
            .into_iter()
            .filter(|r| r.method == "PUT")
            .collect::<Vec<_>>();
        assert_eq!(put.len(), 1);
        assert!(put[0].path.ends_with("/credentials/github-token"), "{}", put[0].path);
    }

    #[tokio::test]
    async fn incomplete_values_or_another_type_change_nothing() {
        let sim = sim().await;
        let c = ctx_unconfirmed(&sim);
        let err = call(
            &c,
            "update_credential",
            serde_json::json!({"project": "stone-devops", "id": "github-token", "type": "basic-auth", "password": TOKEN}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("needs `username`"), "{err}");
        let err = call(
            &c,
            "update_credential",
            serde_json::json!({"project": "stone-devops", "id": "github-token", "type": "secret-text", "secret": TOKEN}),
        )
        .await
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("is of type basic-auth, not secret-text"), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
        // Secrets that are not credentials are never touched.
        let err = call(
            &c,
            "update_credential",
            serde_json::json!({"project": "stone-devops", "id": "app-config", "type": "secret-text", "secret": TOKEN}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("not a DevOps credential"), "{err}");
        assert!(only_reads(&sim));
    }
}
