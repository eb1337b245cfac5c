//! The confirmation rule for destructive and irreversible operations.
//!
//! A delete, a stop or an input approval happens only after a human said
//! yes to a question that names the exact target, and only if the target
//! is still what the human saw:
//!
//! 1. the tool reads the target and describes it (what it is, and a
//!    fingerprint of the state that matters: uid + resourceVersion, a run's
//!    state, an input step's id);
//! 2. the human is asked through MCP elicitation and must accept *and*
//!    tick the box; decline and cancel do nothing;
//! 3. the target is read again; a different fingerprint refuses.
//!
//! A `confirm: true` argument from the model is not a confirmation, so the
//! tools have no such argument. A client that cannot be asked gets a
//! refusal, unless the operator started the server with
//! `--allow-unconfirmed-destructive`, stating that the client itself asks
//! the human before every tool call.

use std::future::Future;

use rmcp::model::{ElicitationSchema, ElicitationSchemaBuilder};
use schemars::JsonSchema;
use serde::Serialize;

use super::context::{Answer, Question, ToolCtx};
use super::error::ToolError;

/// What a destructive tool is about to act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Human wording of the target, e.g. `pipeline hello (regular) in
    /// DevOps project stone-devops (cluster host)`.
    pub description: String,
    /// The state that must not change between question and action.
    pub fingerprint: String,
}

/// Who confirmed the operation.
#[derive(Clone, Copy, Debug, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmedBy {
    /// The human accepted an elicitation naming the target.
    User,
    /// Nobody was asked: the operator started the server with
    /// `--allow-unconfirmed-destructive` (the client asks before every call).
    OperatorFlag,
}

/// Reads the target, asks the human, reads it again and returns the fresh
/// read when nothing changed. `action` is an imperative phrase, e.g.
/// `Delete` or `Stop`; `consequence` says what cannot be undone.
pub async fn confirm<T, F, Fut>(
    ctx: &ToolCtx,
    tool: &str,
    action: &str,
    consequence: &str,
    read: F,
    describe: impl Fn(&T) -> Target,
) -> Result<(T, ConfirmedBy), ToolError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, ToolError>>,
{
    let first = read().await?;
    let target = describe(&first);
    let by = ask(ctx, tool, action, consequence, &target).await?;
    let fresh = read().await?;
    let now = describe(&fresh);
    if now.fingerprint != target.fingerprint {
        return Err(ToolError::TargetChanged(format!(
            "{action} {} was not done: the target changed after it was confirmed (was: {}; now: {}). Show the user the new state and call {tool} again if they still want it.",
            target.description, target.fingerprint, now.fingerprint
        )));
    }
    Ok((fresh, by))
}

async fn ask(
    ctx: &ToolCtx,
    tool: &str,
    action: &str,
    consequence: &str,
    target: &Target,
) -> Result<ConfirmedBy, ToolError> {
    if !ctx.can_ask() {
        if ctx.options.allow_unconfirmed_destructive {
            tracing::info!(tool, target = %target.description, "destructive call without elicitation (--allow-unconfirmed-destructive)");
            return Ok(ConfirmedBy::OperatorFlag);
        }
        return Err(ToolError::ConfirmationRequired(format!(
            "{action} {} needs a confirmation from the user, and this MCP client cannot ask for one (it does not support elicitation). Nothing was done. An argument from the model is not a confirmation. Tell the user to do it in the KubeSphere console, or to use an MCP client with elicitation support; an operator whose client asks the human before every tool call may start the server with --allow-unconfirmed-destructive.",
            target.description
        )));
    }
    let message = format!("{action} {}? {consequence}", target.description);
    let question = Question {
        key: format!("confirm:{tool}:{}", target.fingerprint),
        message,
        form: confirm_form(action, target),
    };
    match ctx.ask(question).await? {
        Some(Answer::Accept(content)) if content.get("confirm").and_then(|v| v.as_bool()) == Some(true) => {
            Ok(ConfirmedBy::User)
        }
        Some(Answer::Accept(_)) => Err(ToolError::NotConfirmed(format!(
            "the user did not tick the confirmation for: {action} {}. Nothing was done.",
            target.description
        ))),
        Some(Answer::Decline) => Err(ToolError::NotConfirmed(format!(
            "the user declined: {action} {}. Nothing was done; do not retry unless the user asks again.",
            target.description
        ))),
        Some(Answer::Cancel) | None => Err(ToolError::NotConfirmed(format!(
            "the user cancelled the confirmation for: {action} {}. Nothing was done.",
            target.description
        ))),
    }
}

/// One required box, unticked until the human ticks it.
fn confirm_form(action: &str, target: &Target) -> ElicitationSchemaBuilder {
    ElicitationSchema::builder().required_bool_with("confirm", |b| {
        b.title(format!("Yes, {}", action.to_lowercase()))
            .description(format!("{action} {}", target.description))
            .with_default(false)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::mcp::context::ServerOptions;
    use crate::testing::{client, sim};

    #[test]
    fn the_form_is_one_required_unticked_box() {
        let q = Question {
            key: "k".into(),
            message: "m".into(),
            form: confirm_form("Delete", &target("a")),
        };
        // The form as it was written by hand in JSON before the builder.
        let expected = serde_json::json!({
            "type": "object",
            "properties": {
                "confirm": {
                    "type": "boolean",
                    "title": "Yes, delete",
                    "description": "Delete pipeline x in DevOps project p (cluster host)",
                    "default": false,
                }
            },
            "required": ["confirm"],
        });
        assert_eq!(crate::mcp::context::requested_schema(q), expected);
    }

    fn target(fp: &str) -> Target {
        Target {
            description: "pipeline x in DevOps project p (cluster host)".into(),
            fingerprint: fp.into(),
        }
    }

    #[tokio::test]
    async fn without_elicitation_refuses_and_does_not_reread() {
        let sim = sim().await;
        let ctx = ToolCtx::detached(client(&sim, "tenant"), Arc::new(ServerOptions::default()));
        let reads = AtomicUsize::new(0);
        let err = confirm(
            &ctx,
            "delete_pipeline",
            "Delete",
            "",
            || async {
                reads.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ToolError>(1)
            },
            |_| target("a"),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "confirmation_required");
        assert!(err.to_string().contains("--allow-unconfirmed-destructive"), "{err}");
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn operator_flag_allows_but_still_checks_the_target() {
        let sim = sim().await;
        let ctx = crate::testing::ctx_unconfirmed(&sim);
        let (v, by) = confirm(
            &ctx,
            "t",
            "Delete",
            "",
            || async { Ok::<_, ToolError>(7) },
            |_| target("a"),
        )
        .await
        .unwrap();
        assert_eq!((v, by), (7, ConfirmedBy::OperatorFlag));

        let reads = AtomicUsize::new(0);
        let err = confirm(
            &ctx,
            "t",
            "Delete",
            "",
            || async { Ok::<_, ToolError>(reads.fetch_add(1, Ordering::SeqCst)) },
            |n| target(&format!("rv{n}")),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "target_changed");
        assert!(
            err.to_string().contains("rv0") && err.to_string().contains("rv1"),
            "{err}"
        );
    }
}
