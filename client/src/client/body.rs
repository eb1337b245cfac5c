//! Reading answers: whole (capped), as a tail, or as JSON; and the one-line
//! summary of an error body.

use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde::de::DeserializeOwned;

use super::{KsClient, MAX_JSON_BODY, RawResponse};
use crate::error::{KsError, KsResult, RETRY_LATER_HINT};

impl KsClient {
    /// Decodes a 2xx JSON answer. A body that cannot be read or decoded is
    /// [`KsError::InvalidResponse`] for a read, and for a write
    /// [`KsError::OutcomeUnknown`] (it was sent; whether it took effect is
    /// unknown). The reason is scrubbed of secrets before it is cut.
    pub(super) async fn decode<T: DeserializeOwned>(
        &self,
        r: RawResponse,
        path: &str,
        write: bool,
        secrets: &[&SecretString],
    ) -> KsResult<T> {
        let body = read_capped(r.response, MAX_JSON_BODY, path, write).await?;
        let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &body
        };
        serde_json::from_slice(body).map_err(|e| {
            let reason = if body.first().is_some_and(|b| *b == b'<') {
                "expected JSON but got an HTML page (is the URL ks-apiserver, not the console?)".to_string()
            } else if e.classify() == serde_json::error::Category::Eof {
                "the JSON answer is truncated".to_string()
            } else {
                let detail = self.scrub(&e.to_string(), secrets);
                format!(
                    "the JSON does not have the expected shape: {}",
                    crate::text::cut(&detail, 240)
                )
            };
            if write {
                KsError::OutcomeUnknown {
                    path: path.into(),
                    reason,
                }
            } else {
                KsError::InvalidResponse {
                    path: path.into(),
                    reason,
                }
            }
        })
    }
}

/// Reads a whole text answer (scan log, input reply), keeping only the
/// last `keep` bytes; returns the total size and the tail. `write`: the
/// request changed state (a broken answer leaves its outcome unknown).
pub(crate) async fn read_tail(r: RawResponse, keep: usize, path: &str, write: bool) -> KsResult<(u64, Vec<u8>)> {
    let mut resp = r.response;
    let mut total: u64 = 0;
    let mut tail: std::collections::VecDeque<u8> = std::collections::VecDeque::with_capacity(keep.min(1 << 20));
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                total += chunk.len() as u64;
                let chunk: &[u8] = if chunk.len() > keep {
                    &chunk[chunk.len() - keep..]
                } else {
                    &chunk
                };
                let overflow = (tail.len() + chunk.len()).saturating_sub(keep);
                tail.drain(..overflow.min(tail.len()));
                tail.extend(chunk.iter().copied());
            }
            Ok(None) => return Ok((total, tail.into_iter().collect())),
            Err(e) => return Err(broken_body(path, write, e.is_timeout())),
        }
    }
}

/// The error of an answer whose body stopped or broke off after a 2xx
/// status: transient for a read (retried), outcome unknown for a write.
fn broken_body(path: &str, write: bool, timeout: bool) -> KsError {
    let reason = if timeout {
        "the answer stopped arriving"
    } else {
        "the connection broke while the answer was arriving"
    };
    if write {
        return KsError::OutcomeUnknown {
            path: path.into(),
            reason: reason.into(),
        };
    }
    if timeout {
        KsError::Timeout {
            path: path.into(),
            timeout: Duration::ZERO,
            hint: RETRY_LATER_HINT,
        }
    } else {
        KsError::Network {
            path: path.into(),
            reason: reason.into(),
            hint: RETRY_LATER_HINT,
        }
    }
}

pub(super) async fn read_capped(mut resp: reqwest::Response, cap: usize, path: &str, write: bool) -> KsResult<Bytes> {
    let mut buf = bytes::BytesMut::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if buf.len() + chunk.len() > cap {
                    let reason = format!("the answer is larger than {} MiB", cap / (1024 * 1024));
                    return Err(if write {
                        KsError::OutcomeUnknown {
                            path: path.into(),
                            reason,
                        }
                    } else {
                        KsError::InvalidResponse {
                            path: path.into(),
                            reason,
                        }
                    });
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(buf.freeze()),
            Err(e) => return Err(broken_body(path, write, e.is_timeout())),
        }
    }
}

/// One readable line out of an upstream error body, whatever its format:
/// Kubernetes `Status` JSON, Blue Ocean/Jenkins JSON, OAuth JSON, plain
/// text, HTML or nothing.
pub fn summarize_body(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return format!("HTTP {} with an empty body", status.as_u16());
    }
    if trimmed.starts_with('{')
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(trimmed)
    {
        for key in ["message", "error_description", "error"] {
            if let Some(m) = v.get(key).and_then(|m| m.as_str()).filter(|m| !m.is_empty()) {
                return clip(m);
            }
        }
    }
    if trimmed.starts_with('"')
        && let Ok(s) = serde_json::from_str::<String>(trimmed)
    {
        return clip(&s);
    }
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("<!doctype") || lower.starts_with("<html") || lower.contains("<body") {
        let title = lower
            .find("<title>")
            .and_then(|s| {
                lower[s + 7..]
                    .find("</title>")
                    .map(|e| trimmed[s + 7..s + 7 + e].trim().to_string())
            })
            .filter(|t| !t.is_empty());
        return match title {
            Some(t) => format!("HTTP {} with an HTML page titled {:?}", status.as_u16(), clip(&t)),
            None => format!("HTTP {} with an HTML page", status.as_u16()),
        };
    }
    clip(trimmed.lines().next().unwrap_or(trimmed))
}

/// A message cut to [`crate::text::MAX_MESSAGE_CHARS`] and cleaned.
fn clip(s: &str) -> String {
    crate::text::cut(s.trim(), crate::text::MAX_MESSAGE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        let st = StatusCode::FORBIDDEN;
        assert_eq!(
            summarize_body(
                st,
                br#"{"kind":"Status","message":"workspaces \"demo\" is forbidden","code":403}"#
            ),
            "workspaces \"demo\" is forbidden"
        );
        assert_eq!(
            summarize_body(
                StatusCode::NOT_FOUND,
                b"pipelines.devops.kubesphere.io \"p\" not found\n"
            ),
            "pipelines.devops.kubesphere.io \"p\" not found"
        );
        assert_eq!(
            summarize_body(StatusCode::BAD_GATEWAY, b""),
            "HTTP 502 with an empty body"
        );
        assert_eq!(
            summarize_body(
                StatusCode::BAD_GATEWAY,
                b"<html><head><title>502 Bad Gateway</title></head></html>"
            ),
            "HTTP 502 with an HTML page titled \"502 Bad Gateway\""
        );
        assert_eq!(
            summarize_body(StatusCode::UNAUTHORIZED, b"\"login_required\""),
            "login_required"
        );
        assert!(
            summarize_body(StatusCode::BAD_REQUEST, "x".repeat(1000).as_bytes())
                .chars()
                .count()
                <= 401
        );
    }
}
