//! `create_credential`: a DevOps credential of one of the four upstream
//! types. Secret values are [`SecretArg`]s: never logged, never echoed,
//! scrubbed from upstream errors.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CredentialKind, CredentialSummary, CredentialValueArgs, credential_data};
use crate::kubesphere::creds::NewCredential;
use crate::kubesphere::path::validate_subdomain;
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct CreateCredential;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateCredentialInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Credential id that pipelines will refer to: lower-case letters, digits, '-' and '.', e.g. github-deploy-token.
    pub id: String,
    /// basic-auth: username + password (or access token). ssh-auth: username + private_key (+ passphrase). secret-text: secret. kubeconfig: content.
    #[serde(rename = "type")]
    pub kind: CredentialKind,
    /// What the credential is for.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(flatten)]
    pub values: CredentialValueArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreateCredentialOutput {
    pub project: ProjectRef,
    /// The new credential (no secret data).
    pub credential: CredentialSummary,
    /// What to do next.
    pub next: String,
}

impl ToolDef for CreateCredential {
    const NAME: &'static str = "create_credential";
    const TITLE: &'static str = "Create a credential";
    const DESCRIPTION: &'static str = "Creates a DevOps credential that pipelines use by id: basic-auth (username + password or token), ssh-auth (username + private_key, optional passphrase), secret-text (secret) or kubeconfig (content). Ask the user for the secret itself; never invent, guess or reuse one. Suggest least privilege: a scoped, read-only or short-lived token or deploy key. The secret is never returned, logged or shown. Fails if the id exists. Not retried: after a failure check list_credentials.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "id": "registry-token", "type": "secret-text", "secret": "<the token the user gives>"}"#;
    const TOOLSET: Toolset = Toolset::Credentials;
    const HINTS: Hints = Hints::CREATE;
    const CHECK: &'static str = "list_credentials";
    type Input = CreateCredentialInput;
    type Output = CreateCredentialOutput;

    async fn call(ctx: ToolCtx, input: CreateCredentialInput) -> Result<CreateCredentialOutput, ToolError> {
        let id = input.id.trim().to_string();
        validate_subdomain("credential id", &id)?;
        let data = credential_data(input.kind, input.values.view())?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let creator = match ctx.client.identity().await {
            Ok(i) => i.username,
            Err(e) => {
                tracing::debug!(error = %e, "creator unknown");
                None
            }
        };
        let new = NewCredential {
            name: id,
            description: input
                .description
                .map(|d| d.trim().to_string())
                .filter(|d| !d.is_empty()),
            creator,
            data,
        };
        let created = ctx
            .client
            .create_credential(&project.cluster(), &project.name, &new)
            .await
            .map_err(|e| {
                e.map_messages(|m| {
                    if m.contains("already exists") {
                        format!(
                            "{m}. A credential or another Secret with this id exists in the project: choose another id (list_credentials shows the credentials)"
                        )
                    } else {
                        m
                    }
                })
            })?;
        let credential = CredentialSummary::of(&created);
        Ok(CreateCredentialOutput {
            next: format!(
                "Created. KubeSphere syncs it to Jenkins (sync_status pending -> successful, see list_credentials); pipelines then use credential id {:?}.",
                credential.id
            ),
            credential,
            project,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[test]
    fn debug_output_never_shows_secrets() {
        let input: super::CreateCredentialInput = serde_json::from_value(serde_json::json!({
            "project": "p", "id": "x", "type": "ssh-auth", "username": "git",
            "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nzz-key-material\n-----END OPENSSH PRIVATE KEY-----",
            "passphrase": "zz-pass-phrase"}))
        .unwrap();
        let data = super::credential_data(input.kind, input.values.view()).unwrap();
        for text in [format!("{input:?}"), format!("{data:?}")] {
            assert!(!text.contains("zz-"), "{text}");
            assert!(text.contains("git"), "{text}");
        }
    }

    #[tokio::test]
    async fn creates_each_type_with_upstream_keys() {
        let sim = sim().await;
        let c = ctx(&sim);
        let cases = [
            serde_json::json!({"id": "git-basic", "type": "basic-auth", "username": "bot", "password": "pw-basic-123456"}),
            serde_json::json!({"id": "git-ssh", "type": "ssh-auth", "username": "git",
                "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAsim\n-----END OPENSSH PRIVATE KEY-----\n",
                "passphrase": "pass-phrase-987"}),
            serde_json::json!({"id": "api-token", "type": "secret-text", "secret": "tok-secret-text-555"}),
            serde_json::json!({"id": "deploy-kube", "type": "kubeconfig", "content": "apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: https://x}\n"}),
        ];
        for mut args in cases {
            args["project"] = "stone-devops".into();
            let kind = args["type"].clone();
            let out = call(&c, "create_credential", args.clone()).await.unwrap();
            assert_eq!(out["credential"]["type"], kind);
            assert_eq!(out["credential"]["id"], args["id"]);
            assert_eq!(out["credential"]["creator"], "tenant");
            assert_eq!(out["credential"]["sync_status"], "pending");
            let text = out.to_string();
            for k in ["password", "private_key", "passphrase", "secret", "content"] {
                if let Some(v) = args.get(k).and_then(|v| v.as_str()) {
                    assert!(!text.contains(v), "{k} echoed: {text}");
                }
            }
        }
        let names = sim.secret_names("host", "stone-devops");
        for n in ["git-basic", "git-ssh", "api-token", "deploy-kube"] {
            assert!(names.contains(&n.to_string()), "{names:?}");
        }
        // Stored with the exact upstream type and keys, readable through the raw API.
        let client = crate::testing::client(&sim, "tenant");
        let path = crate::kubesphere::ApiPath::kapi("devops.kubesphere.io/v1alpha3")
            .lit("namespaces/stone-devops/credentials/git-ssh");
        let raw: serde_json::Value = client
            .get_json(&crate::kubesphere::Cluster::Host, &path, &[])
            .await
            .unwrap();
        assert_eq!(raw["type"], "credential.devops.kubesphere.io/ssh-auth");
        let keys: Vec<&String> = raw["data"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["passphrase", "private_key", "username"]);
        assert_eq!(raw["data"]["private_key"], "", "upstream masks the key");
    }

    #[tokio::test]
    async fn wrong_fields_are_named_not_echoed_and_nothing_is_sent() {
        let sim = sim().await;
        let c = ctx(&sim);
        for (args, want) in [
            (
                serde_json::json!({"id": "x", "type": "basic-auth", "username": "u"}),
                "needs `password`",
            ),
            (
                serde_json::json!({"id": "x", "type": "secret-text", "secret": "zz-top-secret-1", "password": "zz-top-secret-2"}),
                "password not used by type secret-text",
            ),
            (
                serde_json::json!({"id": "x", "type": "ssh-auth", "username": "git", "private_key": "ssh-ed25519 AAAAzz-top-secret-3 me@host"}),
                "PUBLIC key",
            ),
            (
                serde_json::json!({"id": "x", "type": "kubeconfig", "content": "zz-top-secret-4"}),
                "does not look like a kubeconfig",
            ),
            (
                serde_json::json!({"id": "Bad_Id", "type": "secret-text", "secret": "zz-top-secret-5"}),
                "invalid credential id",
            ),
            (
                serde_json::json!({"id": "x", "type": "secret-text", "secret": 123456789}),
                "must be JSON strings",
            ),
            (
                serde_json::json!({"id": "x", "type": "ssh", "secret": "zz-top-secret-6"}),
                "unknown variant",
            ),
        ] {
            let mut args = args;
            args["project"] = "stone-devops".into();
            let err = call(&c, "create_credential", args).await.unwrap_err();
            let text = err.to_string();
            assert!(text.contains(want), "{text}");
            assert!(!text.contains("zz-top-secret") && !text.contains("123456789"), "{text}");
        }
        assert!(
            crate::testing::only_reads(&sim),
            "nothing created: {:?}",
            sim.requests()
        );
    }

    #[tokio::test]
    async fn upstream_errors_quoting_the_secret_are_scrubbed() {
        let sim = sim().await;
        let c = ctx(&sim);
        let value = "quoted-secret-value-42";
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, value);
        sim.inject(ks_sim::Fault {
            method: Some("POST".into()),
            path_contains: "/credentials".into(),
            kind: ks_sim::FaultKind::Status {
                code: 400,
                body: format!("Secret \"leaky\" is invalid: data[secret]: Invalid value: \"{b64}\" ({value})\n"),
                content_type: "text/plain; charset=utf-8".into(),
            },
            times: 1,
        });
        let err = call(
            &c,
            "create_credential",
            serde_json::json!({"project": "stone-devops", "id": "leaky", "type": "secret-text", "secret": value}),
        )
        .await
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("[REDACTED]"), "{text}");
        assert!(!text.contains(value) && !text.contains(&b64), "{text}");

        let dup = call(
            &c,
            "create_credential",
            serde_json::json!({"project": "stone-devops", "id": "github-token", "type": "secret-text", "secret": value}),
        )
        .await
        .unwrap_err();
        assert!(dup.to_string().contains("choose another id"), "{dup}");
    }
}
