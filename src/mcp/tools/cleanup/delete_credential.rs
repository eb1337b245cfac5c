//! `delete_credential`: destructive; needs the user's confirmation. Only
//! the four credential types are ever deleted (upstream's DELETE would
//! remove any Secret of that name).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::creds::Credential;
use crate::mcp::args::ProjectArgs;
use crate::mcp::confirm::{ConfirmedBy, confirm};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::tools::credentials::{CredentialKind, credential_target, credential_users};

pub struct DeleteCredential;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct DeleteCredentialInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Credential id to delete.
    pub id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeleteCredentialOutput {
    pub project: ProjectRef,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: CredentialKind,
    pub deleted: bool,
    /// `user` (accepted a confirmation naming the credential) or `operator_flag` (--allow-unconfirmed-destructive).
    pub confirmed_by: ConfirmedBy,
}

impl ToolDef for DeleteCredential {
    const NAME: &'static str = "delete_credential";
    const TITLE: &'static str = "Delete a credential";
    const DESCRIPTION: &'static str = "Deletes a DevOps credential; pipelines using it then fail. Irreversible. Only when the user asked to delete this exact credential: the server asks the user to confirm (MCP elicitation) and deletes nothing without it.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "id": "github-token"}"#;
    const TOOLSET: Toolset = Toolset::Cleanup;
    const HINTS: Hints = Hints::DESTROY;
    const CHECK: &'static str = "list_credentials";
    type Input = DeleteCredentialInput;
    type Output = DeleteCredentialOutput;

    async fn call(ctx: ToolCtx, input: DeleteCredentialInput) -> Result<DeleteCredentialOutput, ToolError> {
        let id = input.id.trim().to_string();
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        // Refuses Secrets of other types (NotFound naming the type).
        let read =
            || async { Ok::<Credential, ToolError>(ctx.client.get_credential(&cluster, &project.name, &id).await?) };
        let used_by = credential_users(&ctx, &cluster, &project.name, &id).await;
        let describe = |c: &Credential| credential_target(c, &project);
        let consequence = match used_by.as_deref() {
            Some([]) => "Pipelines that use it fail until it is recreated; this cannot be undone.".to_string(),
            Some(used) => format!(
                "It is used by {}, which fail until it is recreated; this cannot be undone.",
                used.join(", ")
            ),
            None => "Which pipelines use it could not be checked (Jenkins did not say); pipelines that use it fail until it is recreated; this cannot be undone.".to_string(),
        };
        let (cred, confirmed_by) = confirm(&ctx, Self::NAME, "Delete", &consequence, read, describe).await?;
        ctx.client.delete_credential(&cluster, &project.name, &id).await?;
        Ok(DeleteCredentialOutput {
            kind: CredentialKind::of(cred.kind),
            id,
            project,
            deleted: true,
            confirmed_by,
        })
    }
}

#[cfg(test)]
mod tests {

    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn without_elicitation_nothing_is_deleted() {
        let sim = sim().await;
        let err = call(
            &ctx(&sim),
            "delete_credential",
            serde_json::json!({"project": "stone-devops", "id": "github-token"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "confirmation_required");
        assert!(
            err.to_string().contains("credential github-token (basic-auth)"),
            "{err}"
        );
        assert!(
            sim.secret_names("host", "stone-devops")
                .contains(&"github-token".into())
        );
        assert!(crate::testing::only_reads(&sim));
    }

    #[tokio::test]
    async fn other_secrets_are_never_deleted() {
        let sim = sim().await;
        for name in ["app-config", "default-token-x7f2k"] {
            let err = call(
                &crate::testing::ctx_unconfirmed(&sim),
                "delete_credential",
                serde_json::json!({"project": "stone-devops", "id": name}),
            )
            .await
            .unwrap_err();
            assert_eq!(err.kind(), "not_found");
            assert!(err.to_string().contains("not a DevOps credential"), "{err}");
            // The unmasked answer of the GET is not repeated.
            assert!(!err.to_string().contains("sim-api-key") && !err.to_string().contains("eyJ"));
        }
        let names = sim.secret_names("host", "stone-devops");
        assert!(names.contains(&"app-config".into()) && names.contains(&"default-token-x7f2k".into()));
        assert!(sim.requests().iter().all(|r| r.method != "DELETE"));
    }

    #[tokio::test]
    async fn the_question_names_the_pipelines_using_it() {
        let sim = sim().await;
        // A 2026-07-28 client: the question comes back as input_required.
        let mut c = ctx(&sim);
        c.channel = crate::mcp::context::Channel::Mrtr {
            answers: Default::default(),
        };
        let err = call(
            &c,
            "delete_credential",
            serde_json::json!({"project": "stone-devops", "id": "github-token"}),
        )
        .await
        .unwrap_err();
        let crate::mcp::ToolError::InputRequired(asked) = err else {
            panic!("expected a question, got {err}");
        };
        let text = serde_json::to_string(&*asked).unwrap();
        assert!(
            text.contains("Delete credential github-token (basic-auth)") && text.contains("stone-devops/echo-pipeline"),
            "{text}"
        );
        assert!(
            sim.secret_names("host", "stone-devops")
                .contains(&"github-token".into())
        );
    }

    #[tokio::test]
    async fn the_operator_flag_deletes_a_credential() {
        let sim = sim().await;
        let out = call(
            &crate::testing::ctx_unconfirmed(&sim),
            "delete_credential",
            serde_json::json!({"project": "stone-devops", "id": "github-token"}),
        )
        .await
        .unwrap();
        assert_eq!(out["deleted"], true);
        assert_eq!(out["type"], "basic-auth");
        assert_eq!(out["confirmed_by"], "operator_flag");
        assert!(
            !sim.secret_names("host", "stone-devops")
                .contains(&"github-token".into())
        );
    }
}
