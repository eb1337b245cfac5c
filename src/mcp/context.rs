//! What a tool gets when it runs: the KubeSphere client of the caller, the
//! server options, cancellation, progress, and a way to ask the human.
//!
//! Asking works three ways, decided per request:
//! * a client that negotiated `initialize` (2025-11-25 and older) and
//!   declared elicitation gets an `elicitation/create` request mid-call;
//! * a 2026-07-28 client (`server/discover`, per-request metadata) gets an
//!   `input_required` result (MRTR) and retries with the answers; answers
//!   of earlier rounds ride in `requestState`;
//! * a client that cannot be asked (or the `call` CLI) gets nothing: the
//!   tool then returns its structured "needs user input" answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use rmcp::model::{
    ConstTitle, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
    ElicitationSchemaBuilder, EnumSchema, InputRequest, InputRequiredResult, InputResponses, JsonObject,
    ProgressNotificationParam, ProgressToken, SingleSelectEnumSchema, TitledSingleSelectEnumSchema,
};
use rmcp::service::{Peer, RoleServer};
use tokio_util::sync::CancellationToken;

use super::error::ToolError;
use crate::kubesphere::KsClient;

/// Server-wide options the tools read.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// The operator states that the client asks the human before every
    /// tool call, so destructive tools may run without elicitation.
    pub allow_unconfirmed_destructive: bool,
    /// Directory download_artifact writes under (`--artifact-dir`); `None`:
    /// a private directory under the system temp dir, made on first use.
    pub artifact_dir: Option<std::path::PathBuf>,
    /// Dynamic toolsets (`--dynamic-toolsets`): `None` serves the
    /// registry as it is.
    pub dynamic: Option<super::dynamic::DynamicConfig>,
}

/// How the current request can reach the human.
#[derive(Clone)]
pub(crate) enum Channel {
    /// No MCP peer (the `call` CLI) or a client without elicitation.
    None,
    /// Legacy session: the server may send `elicitation/create` mid-call.
    Request(Peer<RoleServer>),
    /// 2026-07-28 session: ask with an `input_required` result.
    Mrtr {
        answers: BTreeMap<String, serde_json::Value>,
    },
}

/// A question for the human (a flat form).
pub struct Question {
    /// Stable key of this question within the tool (e.g. `project`). A
    /// question whose premise can change (a confirmation) puts the state it
    /// was asked about into the key, so an answer never carries over to a
    /// changed target.
    pub key: String,
    pub message: String,
    /// The form: an object of primitive properties, built with
    /// [`ElicitationSchema::builder`] (and [`one_of`] for a choice).
    pub form: ElicitationSchemaBuilder,
}

/// A single-choice property: each option is (value, what the human sees).
pub fn one_of(
    title: impl Into<String>,
    description: impl Into<String>,
    options: impl IntoIterator<Item = (String, String)>,
) -> EnumSchema {
    let mut s = TitledSingleSelectEnumSchema::new(
        options
            .into_iter()
            .map(|(value, shown)| ConstTitle::new(value, shown))
            .collect(),
    );
    s.title = Some(title.into().into());
    s.description = Some(description.into().into());
    EnumSchema::Single(SingleSelectEnumSchema::Titled(s))
}

/// The `requestedSchema` a client receives for `q` (for tests).
#[cfg(test)]
pub(crate) fn requested_schema(q: Question) -> serde_json::Value {
    match build_form(q.form) {
        Ok(s) => serde_json::to_value(s).unwrap_or_default(),
        Err(e) => serde_json::Value::String(e.to_string()),
    }
}

/// The form's schema; an inconsistent form is a bug of the tool, reported
/// as such rather than sent.
fn build_form(form: ElicitationSchemaBuilder) -> Result<ElicitationSchema, ToolError> {
    form.build()
        .map_err(|e| ToolError::Internal(format!("bad elicitation form: {e}")))
}

/// The human's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Accept(JsonObject),
    Decline,
    Cancel,
}

/// Context of one tool call. Cheap to clone.
#[derive(Clone)]
pub struct ToolCtx {
    pub client: KsClient,
    pub options: Arc<ServerOptions>,
    pub cancel: CancellationToken,
    pub(crate) channel: Channel,
    pub(crate) progress: Option<(Peer<RoleServer>, ProgressToken)>,
    /// This connection's toolsets in dynamic mode (for `list_toolsets` and
    /// `enable_toolset`); `None` otherwise and in the `call` CLI.
    pub(crate) toolsets: Option<super::dynamic::Toolsets>,
}

impl ToolCtx {
    /// A context with no MCP peer (CLI, tests): nobody can be asked.
    pub fn detached(client: KsClient, options: Arc<ServerOptions>) -> ToolCtx {
        ToolCtx {
            client,
            options,
            cancel: CancellationToken::new(),
            channel: Channel::None,
            progress: None,
            toolsets: None,
        }
    }

    /// Whether the human can be asked during this call.
    pub fn can_ask(&self) -> bool {
        !matches!(self.channel, Channel::None)
    }

    /// Asks the human. `Ok(None)` means nobody can be asked: the tool must
    /// return its "needs user input" answer instead of guessing.
    pub async fn ask(&self, q: Question) -> Result<Option<Answer>, ToolError> {
        match &self.channel {
            Channel::None => Ok(None),
            Channel::Request(peer) => {
                let schema = build_form(q.form)?;
                let params = ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message: q.message,
                    requested_schema: schema,
                };
                let result = tokio::select! {
                    r = peer.create_elicitation(params) => r,
                    _ = self.cancel.cancelled() => return Err(ToolError::Cancelled),
                };
                match result {
                    Ok(r) => Ok(Some(answer_of(r))),
                    Err(e) => {
                        tracing::warn!(error = %e, "elicitation failed; treating it as cancelled");
                        Ok(Some(Answer::Cancel))
                    }
                }
            }
            Channel::Mrtr { answers } => {
                if let Some(v) = answers.get(&q.key) {
                    return match serde_json::from_value::<ElicitResult>(v.clone()) {
                        Ok(r) => Ok(Some(answer_of(r))),
                        Err(_) => Ok(Some(Answer::Cancel)),
                    };
                }
                let schema = build_form(q.form)?;
                let params = ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message: q.message,
                    requested_schema: schema,
                };
                let mut requests = BTreeMap::new();
                requests.insert(q.key, InputRequest::Elicitation(ElicitRequest::new(params)));
                let result = InputRequiredResult::new(Some(requests), encode_state(answers));
                Err(ToolError::InputRequired(Box::new(result)))
            }
        }
    }

    /// Sends a progress notification when the client asked for progress.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: impl Into<String>) {
        if let Some((peer, token)) = &self.progress {
            let mut p = ProgressNotificationParam::new(token.clone(), progress);
            p.total = total;
            p.message = Some(message.into());
            if let Err(e) = peer.notify_progress(p).await {
                tracing::debug!(error = %e, "progress notification not sent");
            }
        }
    }
}

fn answer_of(r: ElicitResult) -> Answer {
    match r.action {
        ElicitationAction::Accept => Answer::Accept(r.content.and_then(|v| v.as_object().cloned()).unwrap_or_default()),
        ElicitationAction::Decline => Answer::Decline,
        _ => Answer::Cancel,
    }
}

/// Answers of earlier MRTR rounds, carried in `requestState`. The client
/// could alter it, but it could equally have answered differently: the
/// state holds nothing but the human's own answers.
fn encode_state(answers: &BTreeMap<String, serde_json::Value>) -> Option<String> {
    if answers.is_empty() {
        return None;
    }
    let json = serde_json::to_vec(answers).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
}

/// Merges the echoed `requestState` with this round's `inputResponses`.
pub(crate) fn collect_answers(
    request_state: Option<&str>,
    responses: Option<&InputResponses>,
) -> BTreeMap<String, serde_json::Value> {
    let mut answers: BTreeMap<String, serde_json::Value> = request_state
        .and_then(|s| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if let Some(r) = responses {
        for (k, v) in r {
            answers.insert(k.clone(), v.clone());
        }
    }
    answers
}
