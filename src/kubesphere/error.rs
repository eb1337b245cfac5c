//! Typed errors of the KubeSphere client.
//!
//! Every message is written for the agent that will read it: it says what
//! went wrong and what to do next. Upstream bodies are summarised, never
//! dumped, and never carry request secrets (see [`crate::kubesphere::redact`]).

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
        "invalid branch name {value:?}: {reason}. Pass the branch as Git names it, e.g. feature/login (list_branches shows them); KubeSphere's encoded form feature%2Flogin means the same branch"
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
        "forbidden: {message}. Tenants only reach the workspaces and DevOps projects they are members of; check the workspace and project names (list_workspaces, list_devops_projects) or ask a workspace admin for access"
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
    #[error("unknown cluster {cluster:?}: {message}. Use a cluster name listed by whoami or list_devops_projects")]
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

    /// Bad input to the client itself (bad URL, bad settings).
    #[error("{0}")]
    Invalid(String),
}

/// What a caller should be told when the outcome of a write is unknown.
pub(crate) const UNKNOWN_OUTCOME_HINT: &str = "The request changes state and was NOT retried automatically: outcome unknown: check before retrying (read the current state; it may or may not have been applied)";
/// What a caller should be told after a failed read.
pub(crate) const RETRY_LATER_HINT: &str =
    "Reads are retried automatically and still failed; retry later or check that KubeSphere is up";

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
            KsError::Invalid(_) => "invalid",
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
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            KsError::Timeout { .. } | KsError::Network { .. } => true,
            KsError::Upstream { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }
}
