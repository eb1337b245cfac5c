//! Typed errors of the KubeSphere client.
//!
//! Every message is written for the agent that will read it: it says what
//! went wrong and what to do next. Upstream bodies are summarised, never
//! dumped, and never carry request secrets (see [`crate::redact`]).

use std::time::Duration;

/// Result alias of the KubeSphere client.
pub type KsResult<T> = Result<T, KsError>;

/// Everything the KubeSphere client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum KsError {
    /// A name the caller supplied is not a valid Kubernetes name.
    #[error(
        "invalid {what} {value:?}: {reason}. Kubernetes names are lower-case letters, digits and '-', start and end with a letter or digit, at most {max} characters; pass the exact name (list it first if unsure)"
    )]
    InvalidName {
        what: &'static str,
        value: String,
        reason: &'static str,
        max: usize,
    },

    /// A branch that is not a valid Git branch name (nothing was sent).
    #[error(
        "invalid branch name {value:?}: {reason}. Pass the branch as Git names it, e.g. feature/login; KubeSphere's encoded form feature%2Flogin means the same branch"
    )]
    InvalidBranch { value: String, reason: &'static str },

    /// The tenant allowlist refused a request before it left the process.
    #[error(
        "refused to call {path}: {reason}. This server only calls KubeSphere's tenant API (/oauth/token and /kapis/...)"
    )]
    NotAllowed { path: String, reason: &'static str },

    /// Logging in failed (OAuth error answer).
    #[error("KubeSphere login failed ({error}): {description}. {hint}")]
    Login {
        error: String,
        description: String,
        hint: &'static str,
    },

    /// 401 that a fresh login did not cure (or a token that cannot be renewed).
    #[error("KubeSphere answered 401 Unauthorized for {path}: {message}. {hint}")]
    Unauthorized {
        path: String,
        message: String,
        hint: &'static str,
    },

    /// 403 from KubeSphere RBAC.
    #[error(
        "forbidden: {message}. Tenants only reach the workspaces and DevOps projects they are members of; check the workspace and project names or ask a workspace admin for access"
    )]
    Forbidden { path: String, message: String },

    /// 404.
    #[error("not found: {message}. Check the name (list it first), the project and the cluster")]
    NotFound { path: String, message: String },

    /// 409.
    #[error(
        "conflict: {message}. The object already exists or was changed meanwhile; read it again and choose another name or retry"
    )]
    Conflict { path: String, message: String },

    /// 400 and other 4xx the caller can fix.
    #[error("KubeSphere rejected the request ({status}): {message}")]
    BadRequest { path: String, status: u16, message: String },

    /// A `/clusters/{c}` prefix that KubeSphere does not know.
    #[error("unknown cluster {cluster:?}: {message}. Use a cluster name this KubeSphere knows")]
    UnknownCluster { cluster: String, message: String },

    /// 5xx.
    #[error("KubeSphere failed ({status}) on {path}: {message}. {hint}")]
    Upstream {
        path: String,
        status: u16,
        message: String,
        hint: &'static str,
    },

    /// No answer in time.
    #[error("KubeSphere did not answer {path} within {timeout:?}. {hint}")]
    Timeout {
        path: String,
        timeout: Duration,
        hint: &'static str,
    },

    /// Could not reach KubeSphere at all, or the connection broke.
    #[error("could not reach KubeSphere for {path}: {reason}. {hint}")]
    Network {
        path: String,
        reason: String,
        hint: &'static str,
    },

    /// 200 with a body that is not what the API promises.
    #[error(
        "KubeSphere sent an unreadable answer for {path}: {reason}. This is an upstream problem; retry later or check the KubeSphere URL points at ks-apiserver"
    )]
    InvalidResponse { path: String, reason: String },

    /// A write was sent and its answer could not be read (garbage, an HTML
    /// page, truncated JSON, a connection that broke mid-answer): whether it
    /// took effect is unknown.
    #[error(
        "KubeSphere's answer to {path} could not be read: {reason}. The request changes state and was sent: outcome unknown: check before retrying (read the current state; it may or may not have been applied)"
    )]
    OutcomeUnknown { path: String, reason: String },

    /// An id the caller supplied that cannot be one (nothing was sent).
    #[error("{}", what.describe(value))]
    InvalidId { what: IdKind, value: String },

    /// Bad input to the client itself (bad URL, bad settings).
    #[error("{0}")]
    Invalid(String),
}

/// What an [`KsError::InvalidId`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    /// A Jenkins run id (build number).
    RunId,
    /// A Blue Ocean node (stage) id.
    Node,
    /// A Blue Ocean step id.
    Step,
    /// The `path` of an archived artifact (not quoted back).
    ArtifactPath,
}

impl IdKind {
    fn describe(self, value: &str) -> String {
        match self {
            IdKind::RunId => format!("run_id {value:?} is not a Jenkins run id (a build number such as \"3\")"),
            IdKind::Node => format!("node {value:?} is not a Blue Ocean node id"),
            IdKind::Step => format!("step {value:?} is not a Blue Ocean step id"),
            IdKind::ArtifactPath => "artifact path must be the non-empty `path` of one of the run's artifacts".into(),
        }
    }
}

/// What a caller should be told when the outcome of a write is unknown.
pub(crate) const UNKNOWN_OUTCOME_HINT: &str = "The request changes state and was NOT retried automatically: outcome unknown: check before retrying (read the current state; it may or may not have been applied)";
/// What a caller should be told after a failed read.
pub(crate) const RETRY_LATER_HINT: &str =
    "Reads are retried automatically and still failed; retry later or check that KubeSphere is up";

/// The answer Jenkins gave, read out of a ks-devops HTTP 500 (U5 of the API
/// reference): every Jenkins error of a v1alpha2 route reaches the caller as
/// 500 with Jenkins' own body (`parseErr` never keeps the status), the
/// credential usage route wraps the Jenkins requester's error text, and some
/// v1alpha3 handlers quote Jenkins' status in their text. Recognised:
///
/// * Blue Ocean JSON `{"message": ..., "code": 404, "errors": [...]}` (any
///   spacing; a Kubernetes `Status` is not Jenkins);
/// * a Jenkins/Jetty HTML error page (`<title>Error 404 Not Found</title>`,
///   `HTTP ERROR 404`), also HTML-escaped inside a text;
/// * Go's `<METHOD> <url>: 404 <body>` (jenkins `ErrorResponse`);
/// * `... the HTTP status code is 404`.
///
/// Only 4xx answers that the caller can act on are returned (not 401, 403,
/// 407, 408 or 429: those say nothing about what the caller asked for).
/// Everything else stays a plain upstream failure.
pub(crate) fn jenkins_answer_in_500(body: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let found = blue_ocean_error(text)
        .or_else(|| html_error_page(text))
        .or_else(|| go_requester_error(text))
        .or_else(|| {
            let (code, _) = status_after(text, "the HTTP status code is ")?;
            Some((code, clip_line(text)))
        })?;
    match found.0 {
        401 | 403 | 407 | 408 | 429 => None,
        400..=499 => Some(found),
        _ => None,
    }
}

impl KsError {
    /// The error for a ks-devops 500 whose body says what Jenkins answered
    /// ([`jenkins_answer_in_500`]): not found, conflict or a rejected
    /// request, with the next step those call for (never "retry later").
    pub(crate) fn from_jenkins_500(path: &str, body: &[u8]) -> Option<KsError> {
        let (code, message) = jenkins_answer_in_500(body)?;
        let message = format!("Jenkins answered {code}: {message}");
        let path = path.to_string();
        Some(match code {
            404 | 410 => KsError::NotFound { path, message },
            409 => KsError::Conflict { path, message },
            status => KsError::BadRequest { path, status, message },
        })
    }
}

/// The first non-empty line, cut and cleaned ([`crate::text::cut`]).
fn clip_line(s: &str) -> String {
    let line = s.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    crate::text::cut(line, crate::text::MAX_MESSAGE_CHARS)
}

/// `marker` followed by a three-digit status; returns it and the rest of
/// that line (up to markup).
fn status_after(text: &str, marker: &str) -> Option<(u16, String)> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find(&marker.to_ascii_lowercase())? + marker.len();
    let rest = text.get(at..)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() != 3 {
        return None;
    }
    let code = digits.parse().ok()?;
    let reason: String = rest[3..]
        .chars()
        .take_while(|c| !matches!(c, '<' | '&' | '\n' | '\r'))
        .collect();
    Some((code, reason.trim().to_string()))
}

fn blue_ocean_error(text: &str) -> Option<(u16, String)> {
    if !text.starts_with('{') {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    if v.get("kind").and_then(|k| k.as_str()) == Some("Status") {
        return None;
    }
    let code = u16::try_from(v.get("code")?.as_u64()?).ok()?;
    let message = v
        .get("message")
        .and_then(|m| m.as_str())
        .map(clip_line)
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "no message".into());
    Some((code, message))
}

fn html_error_page(text: &str) -> Option<(u16, String)> {
    let (code, reason) = ["<title>Error ", "&lt;title&gt;Error ", "HTTP ERROR "]
        .iter()
        .find_map(|m| status_after(text, m))?;
    let reason = if reason.is_empty() { "error".to_string() } else { reason };
    Some((code, format!("{reason} (Jenkins error page)")))
}

/// `GET http://jenkins/...: 404 <body>`: what the Jenkins requester's
/// `ErrorResponse.Error()` says (ks-devops pkg/client/devops/interface.go:62-71).
fn go_requester_error(text: &str) -> Option<(u16, String)> {
    let (method, rest) = text.split_once(' ')?;
    if !["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"].contains(&method) {
        return None;
    }
    let url_end = rest.find(": ")?;
    if !rest[..url_end].starts_with("http") || rest[..url_end].contains(char::is_whitespace) {
        return None;
    }
    let (code, _) = status_after(&rest[url_end..], ": ")?;
    let detail = html_error_page(&rest[url_end..])
        .map(|(_, m)| m)
        .unwrap_or_else(|| "no details".to_string());
    Some((code, detail))
}

impl KsError {
    /// The HTTP status KubeSphere answered, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            KsError::Unauthorized { .. } => Some(401),
            KsError::Forbidden { .. } => Some(403),
            KsError::NotFound { .. } => Some(404),
            KsError::Conflict { .. } => Some(409),
            KsError::BadRequest { status, .. } | KsError::Upstream { status, .. } => Some(*status),
            KsError::UnknownCluster { .. } => Some(400),
            _ => None,
        }
    }

    /// A short machine-readable kind, for structured errors and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            KsError::InvalidName { .. } => "invalid_name",
            KsError::InvalidBranch { .. } => "invalid_branch",
            KsError::NotAllowed { .. } => "not_allowed",
            KsError::Login { .. } => "login_failed",
            KsError::Unauthorized { .. } => "unauthorized",
            KsError::Forbidden { .. } => "forbidden",
            KsError::NotFound { .. } => "not_found",
            KsError::Conflict { .. } => "conflict",
            KsError::BadRequest { .. } => "bad_request",
            KsError::UnknownCluster { .. } => "unknown_cluster",
            KsError::Upstream { .. } => "upstream_error",
            KsError::Timeout { .. } => "timeout",
            KsError::Network { .. } => "network",
            KsError::InvalidResponse { .. } => "invalid_response",
            KsError::OutcomeUnknown { .. } => "outcome_unknown",
            KsError::InvalidId { .. } | KsError::Invalid(_) => "invalid",
        }
    }

    /// Rewrites every upstream-derived text of the error (used to scrub
    /// values a request carried out of the answer quoting them).
    pub fn map_messages(self, f: impl Fn(String) -> String) -> KsError {
        match self {
            KsError::Login {
                error,
                description,
                hint,
            } => KsError::Login {
                error: f(error),
                description: f(description),
                hint,
            },
            KsError::Unauthorized { path, message, hint } => KsError::Unauthorized {
                path,
                message: f(message),
                hint,
            },
            KsError::Forbidden { path, message } => KsError::Forbidden {
                path,
                message: f(message),
            },
            KsError::NotFound { path, message } => KsError::NotFound {
                path,
                message: f(message),
            },
            KsError::Conflict { path, message } => KsError::Conflict {
                path,
                message: f(message),
            },
            KsError::BadRequest { path, status, message } => KsError::BadRequest {
                path,
                status,
                message: f(message),
            },
            KsError::UnknownCluster { cluster, message } => KsError::UnknownCluster {
                cluster,
                message: f(message),
            },
            KsError::Upstream {
                path,
                status,
                message,
                hint,
            } => KsError::Upstream {
                path,
                status,
                message: f(message),
                hint,
            },
            KsError::Network { path, reason, hint } => KsError::Network {
                path,
                reason: f(reason),
                hint,
            },
            KsError::InvalidResponse { path, reason } => KsError::InvalidResponse {
                path,
                reason: f(reason),
            },
            KsError::OutcomeUnknown { path, reason } => KsError::OutcomeUnknown {
                path,
                reason: f(reason),
            },
            KsError::InvalidId { what, value } => KsError::InvalidId { what, value: f(value) },
            KsError::Invalid(m) => KsError::Invalid(f(m)),
            other @ (KsError::InvalidName { .. }
            | KsError::InvalidBranch { .. }
            | KsError::NotAllowed { .. }
            | KsError::Timeout { .. }) => other,
        }
    }

    /// Whether this is a write whose outcome is unknown (sent, no readable
    /// answer): the caller must read the state before trying again.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            KsError::OutcomeUnknown { .. } => true,
            KsError::Timeout { hint, .. } | KsError::Network { hint, .. } | KsError::Upstream { hint, .. } => {
                *hint == UNKNOWN_OUTCOME_HINT
            }
            _ => false,
        }
    }

    /// Whether a read may be tried again.
    pub fn is_transient(&self) -> bool {
        match self {
            KsError::Timeout { .. } | KsError::Network { .. } => true,
            KsError::Upstream { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(body: &str) -> Option<&'static str> {
        KsError::from_jenkins_500("/p", body.as_bytes()).map(|e| e.kind())
    }

    #[test]
    fn jenkins_answers_inside_500_bodies() {
        // Blue Ocean, Jackson-indented and compact.
        let bo = "{\n  \"message\" : \"Run 99 not found in organization jenkins and pipeline hello\",\n  \"code\" : 404,\n  \"errors\" : [ ]\n}";
        let e = KsError::from_jenkins_500("/p", bo.as_bytes()).unwrap();
        assert_eq!(e.kind(), "not_found");
        assert!(e.to_string().contains("Run 99 not found"), "{e}");
        assert_eq!(
            kind(r#"{"message":"parameters is required","code":400,"errors":[]}"#),
            Some("bad_request")
        );
        assert_eq!(kind(r#"{"message":"exists","code":409,"errors":[]}"#), Some("conflict"));
        // Jetty's error page, plain and HTML-escaped inside Go's requester error.
        let page = "<html>\n<head>\n<title>Error 404 Not Found</title>\n</head>\n<body><h2>HTTP ERROR 404 Not Found</h2></body></html>";
        assert_eq!(kind(page), Some("not_found"));
        let escaped = "GET http://ks-jenkins.kubesphere-devops-system.svc:80/job/ns/credentials/store/folder/domain/_/credential/c/api/json?depth=2: 404 &lt;html&gt;\n&lt;head&gt;\n&lt;title&gt;Error 404 Not Found&lt;/title&gt;\n";
        let e = KsError::from_jenkins_500("/p", escaped.as_bytes()).unwrap();
        assert_eq!(e.kind(), "not_found");
        assert!(!e.to_string().contains("ks-jenkins"), "{e}");
        assert_eq!(
            kind("failed to get artifact. the HTTP status code is 404\n"),
            Some("not_found")
        );
    }

    #[test]
    fn other_500_bodies_stay_upstream_failures() {
        for body in [
            "",
            "unexpected end of JSON input\n",
            r#"{"message":"boom","code":500,"errors":[]}"#,
            r#"{"message":"no crumb","code":403,"errors":[]}"#,
            r#"{"message":"bad credentials","code":401,"errors":[]}"#,
            r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"x","code":404}"#,
            "<html><head><title>Error 500 Server Error</title></head></html>",
            "GET http://jenkins/x: 503 busy",
            "dial tcp 10.0.0.1:80: connect: connection refused",
        ] {
            assert_eq!(kind(body), None, "{body}");
        }
    }
}
