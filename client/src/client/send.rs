//! The send path: one [`Request`] description, one send of it
//! ([`KsClient::send_once`]: allowlist, URL, headers, timeouts), and one
//! retry policy ([`Attempts`]) for everything that loops.
//!
//! The policy: a request that changes nothing a user can see (a GET,
//! issuing a token) is tried again after a transient failure (timeout,
//! broken connection, 502/503/504, a body that broke off) while its
//! budget lasts (`read_attempts`, or one attempt when the request says
//! so); a write is sent once and never retried blindly. One transparent
//! re-login after a 401 is not an attempt (the request never reached a
//! handler, so it is safe for writes too).

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};

use super::body::{read_capped, summarize_body};
use super::{Body, KsClient, MAX_ERROR_BODY, RawResponse, STREAM_MAX_DURATION};
use crate::error::{KsError, KsResult, RETRY_LATER_HINT, UNKNOWN_OUTCOME_HINT};
use crate::path::{ApiPath, Cluster, check_allowed};
use crate::redact::{Scrubber, WITHHELD};

static NO_BODY: Body<'static> = Body::None;

/// One request to KubeSphere, described once for every way it is sent.
pub(crate) struct Request<'a> {
    pub method: Method,
    pub cluster: &'a Cluster,
    pub path: &'a ApiPath,
    pub query: &'a [(&'a str, String)],
    pub body: &'a Body<'a>,
    /// The `Accept` header.
    pub accept: &'a str,
    /// Changes nothing a user can see: may be tried again, and a failure
    /// says "retry later" rather than "outcome unknown". GETs are.
    pub idempotent: bool,
    /// One attempt even if idempotent: for answers that fail the same way
    /// every time (a run log too large to relay, §16 U8).
    pub single_attempt: bool,
    /// The caller streams the body: the request timeout bounds the wait for
    /// the headers only.
    pub streaming: bool,
    /// Values the request carries: scrubbed from any answer before it is cut.
    pub secrets: &'a [&'a SecretString],
}

impl<'a> Request<'a> {
    pub fn new(method: Method, cluster: &'a Cluster, path: &'a ApiPath, body: &'a Body<'a>, accept: &'a str) -> Self {
        Request {
            idempotent: method == Method::GET,
            method,
            cluster,
            path,
            query: &[],
            body,
            accept,
            single_attempt: false,
            streaming: false,
            secrets: &[],
        }
    }

    /// A GET without a body.
    pub fn get(cluster: &'a Cluster, path: &'a ApiPath, accept: &'a str) -> Self {
        Request::new(Method::GET, cluster, path, &NO_BODY, accept)
    }

    pub fn query(self, query: &'a [(&'a str, String)]) -> Self {
        Request { query, ..self }
    }

    pub fn secrets(self, secrets: &'a [&'a SecretString]) -> Self {
        Request { secrets, ..self }
    }

    pub fn streaming(self) -> Self {
        Request {
            streaming: true,
            ..self
        }
    }

    pub fn single_attempt(self) -> Self {
        Request {
            single_attempt: true,
            ..self
        }
    }

    /// Safe to send again although not a GET (issuing a token).
    pub fn idempotent(self) -> Self {
        Request {
            idempotent: true,
            ..self
        }
    }

    /// The path sent, with the cluster prefix.
    fn full_path(&self) -> String {
        self.path.for_cluster(self.cluster)
    }

    /// What a failure tells the caller to do.
    fn failure_hint(&self) -> &'static str {
        if self.idempotent {
            RETRY_LATER_HINT
        } else {
            UNKNOWN_OUTCOME_HINT
        }
    }
}

/// The attempts of one request: made so far, and allowed. The one retry
/// policy: see the module documentation.
pub(crate) struct Attempts {
    made: u32,
    max: u32,
}

impl Attempts {
    /// Counts an attempt about to be made.
    pub fn begin(&mut self) {
        self.made += 1;
    }

    /// Whether `e`, the failure of an attempt of `req`, is tried again.
    pub fn again(&self, req: &Request<'_>, e: &KsError) -> bool {
        req.idempotent && e.is_transient() && self.made < self.max
    }
}

impl KsClient {
    /// The attempts budget of `req`: the settings' `read_attempts` for a
    /// request that may be tried again, otherwise one.
    pub(crate) fn attempts(&self, req: &Request<'_>) -> Attempts {
        let max = if req.idempotent && !req.single_attempt {
            self.inner.settings.read_attempts.max(1)
        } else {
            1
        };
        Attempts { made: 0, max }
    }

    /// Waits before the next attempt: exponential backoff with jitter.
    pub(crate) async fn pause(&self, attempts: &Attempts) {
        let base = self.inner.settings.retry_backoff;
        let exp = base.saturating_mul(1 << (attempts.made.saturating_sub(1)).min(6));
        let jitter = Duration::from_millis(rand::random_range(0..=base.as_millis().max(1) as u64 / 2));
        tokio::time::sleep(exp + jitter).await;
    }

    /// Sends `req` authenticated and returns the 2xx answer, retrying
    /// within `attempts` (see the module documentation).
    pub(crate) async fn send(&self, req: &Request<'_>, attempts: &mut Attempts) -> KsResult<RawResponse> {
        let full = req.full_path();
        let mut relogged = false;
        loop {
            attempts.begin();
            let session = self.session().await?;
            let resp = match self.send_once(req, Some(&session.access)).await {
                Err(e) if attempts.again(req, &e) => {
                    self.pause(attempts).await;
                    continue;
                }
                Err(e) => return Err(e),
                Ok(r) => r,
            };
            let status = resp.status();
            if status.is_success() {
                return Ok(RawResponse {
                    status,
                    headers: resp.headers().clone(),
                    response: resp,
                });
            }
            if status == StatusCode::UNAUTHORIZED && !relogged {
                relogged = true;
                attempts.made -= 1;
                self.invalidate(session.generation).await;
                tracing::debug!(path = %full, "401 from KubeSphere; logging in again");
                continue;
            }
            let body = read_capped(resp, MAX_ERROR_BODY, &full, false)
                .await
                .unwrap_or_default();
            let err = self.map_error(status, &body, &full, req.idempotent, req.secrets);
            if attempts.again(req, &err) {
                self.pause(attempts).await;
                continue;
            }
            return Err(err);
        }
    }

    /// One attempt: the allowlist, the URL, the headers and the timeouts.
    /// `token`: the bearer token (none for the health probe and the token
    /// request).
    pub(super) async fn send_once(
        &self,
        req: &Request<'_>,
        token: Option<&SecretString>,
    ) -> KsResult<reqwest::Response> {
        let method = &req.method;
        let full = req.full_path();
        check_allowed(&full)?;
        let mut url = self.inner.settings.base_url.clone();
        {
            let base_path = url.path().trim_end_matches('/').to_string();
            url.set_path(&format!("{base_path}{full}"));
        }
        if !req.query.is_empty() {
            let mut qp = url.query_pairs_mut();
            for (k, v) in req.query {
                qp.append_pair(k, v);
            }
        }
        let mut r = self
            .inner
            .http
            .request(method.clone(), url)
            .header(header::ACCEPT, req.accept);
        if let Some(t) = token {
            r = r.bearer_auth(t.expose_secret());
        }
        r = match req.body {
            Body::None => r,
            Body::Json(v) => {
                let value = v
                    .to_json()
                    .map_err(|e| KsError::Invalid(format!("cannot encode request body: {e}")))?;
                r.json(&value)
            }
            Body::Form(f) => r.form(f),
        };
        let started = Instant::now();
        let result = if req.streaming {
            // The body may take long to arrive in full; the headers may not.
            r = r.timeout(STREAM_MAX_DURATION);
            match tokio::time::timeout(self.inner.settings.timeout, r.send()).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(KsError::Timeout {
                        path: full,
                        timeout: self.inner.settings.timeout,
                        hint: req.failure_hint(),
                    });
                }
            }
        } else {
            r.send().await
        };
        let elapsed = started.elapsed();
        match result {
            Ok(r) => {
                tracing::debug!(%method, path = %full, status = r.status().as_u16(), ms = elapsed.as_millis() as u64, "kubesphere");
                Ok(r)
            }
            Err(e) => {
                let hint = req.failure_hint();
                tracing::debug!(%method, path = %full, ms = elapsed.as_millis() as u64, error = %e, "kubesphere request failed");
                if e.is_timeout() {
                    Err(KsError::Timeout {
                        path: full,
                        timeout: self.inner.settings.timeout,
                        hint,
                    })
                } else {
                    let reason = network_reason(&e);
                    Err(KsError::Network {
                        path: full,
                        reason,
                        hint,
                    })
                }
            }
        }
    }

    // ---------------------------------------------------------------- errors

    /// `text` without this client's secrets nor `secrets` (a text quoting
    /// a secret too short to scrub is withheld whole).
    pub(super) fn scrub(&self, text: &str, secrets: &[&SecretString]) -> String {
        let text = self.inner.redactor.redact(text);
        if secrets.is_empty() {
            return text;
        }
        let extra = Scrubber::of(secrets);
        if extra.quotes_short(&text) {
            return WITHHELD.to_string();
        }
        extra.scrub(&text).into_owned()
    }

    /// The error of a non-2xx answer: the body is scrubbed of every secret
    /// (the client's and the request's `secrets`) *before* it is classified,
    /// summarised and cut.
    pub(super) fn map_error(
        &self,
        status: StatusCode,
        body: &[u8],
        path: &str,
        idempotent: bool,
        secrets: &[&SecretString],
    ) -> KsError {
        let scrubbed = self.scrub(&String::from_utf8_lossy(body), secrets);
        // ks-devops answers Jenkins' 404/400/409 as 500 with Jenkins' body (U5).
        if status == StatusCode::INTERNAL_SERVER_ERROR
            && let Some(e) = KsError::from_jenkins_500(path, scrubbed.as_bytes())
        {
            return e;
        }
        let message = summarize_body(status, scrubbed.as_bytes());
        let path = path.to_string();
        match status.as_u16() {
            401 => KsError::Unauthorized {
                path,
                message,
                hint: self.inner.settings.unauthorized_hint(),
            },
            403 => KsError::Forbidden { path, message },
            404 => KsError::NotFound { path, message },
            409 => KsError::Conflict { path, message },
            400 if message.starts_with("cluster ") && message.contains("not exists") => {
                let cluster = message.split_whitespace().nth(1).unwrap_or_default().to_string();
                KsError::UnknownCluster { cluster, message }
            }
            s @ 400..=499 => KsError::BadRequest {
                path,
                status: s,
                message,
            },
            s => KsError::Upstream {
                path,
                status: s,
                message,
                hint: if idempotent {
                    RETRY_LATER_HINT
                } else {
                    UNKNOWN_OUTCOME_HINT
                },
            },
        }
    }
}

/// Why a request got no answer, from the error's source chain: a TLS
/// failure (untrusted certificate, plain HTTP on an https URL), a name that
/// does not resolve, a refused connection, or a broken one. The text never
/// holds request data (only the underlying library's error kinds).
fn network_reason(e: &reqwest::Error) -> String {
    let mut chain = String::new();
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        chain.push_str(&s.to_string().to_ascii_lowercase());
        chain.push(' ');
        src = s.source();
    }
    if chain.contains("certificate") || chain.contains("unknownissuer") || chain.contains("invalid peer certificate") {
        "TLS: the server's certificate is not trusted (self-signed, private CA, expired or for another host name)"
            .into()
    } else if chain.contains("invalidcontenttype")
        || chain.contains("wrong version number")
        || chain.contains("corrupt message")
        || chain.contains("received corrupt")
    {
        "TLS handshake failed: the server does not speak TLS on this port (is the URL http://, not https://?)".into()
    } else if chain.contains("tls") || chain.contains("handshake") {
        "TLS handshake failed".into()
    } else if chain.contains("dns error")
        || chain.contains("failed to lookup address")
        || chain.contains("name or service not known")
    {
        "the host name does not resolve (DNS)".into()
    } else if e.is_connect() {
        "connection refused or host unreachable".into()
    } else {
        "the connection broke before a complete answer arrived".into()
    }
}
