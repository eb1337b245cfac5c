//! Logs, stages/steps and artifacts of a Jenkins run: the v1alpha2 (Blue
//! Ocean) routes keyed by the Jenkins run id, and the v1alpha3 artifact
//! download keyed by the PipelineRun name.
//!
//! Upstream facts this module is built around (API reference §7, §8, §12.4,
//! §16 U2, U8, U15):
//! * log offsets (`start`, `X-Text-Size`) count the raw log, hidden console
//!   notes included, while the text comes without them and with CRLF line
//!   ends: an offset is never computed from the text received (see
//!   `mcp::logread`);
//! * the run log route drops the `X-Text-Size`/`X-More-Data` headers and is
//!   buffered whole by ks-devops with a 30 s limit: a large run log fails
//!   (500 or a timeout), every time, so it is asked for once, not retried;
//! * the step log route passes both headers through when Jenkins sent them;
//! * log routes answer 406 to any Accept but `*/*` (go-restful compares the
//!   type, parameters cut off, with the whole `text/plain; charset=utf-8`),
//!   the download route to `application/octet-stream`: both are called
//!   with `Accept: */*`;
//! * the download `filename` is URL-decoded twice by the handler, so it is
//!   percent-encoded once here before the query encoding adds the second
//!   layer; the artifact `url` of the list is a Jenkins path and is never
//!   fetched.
//!
//! Bodies are streamed ([`ByteStream`]) so a 1 GB log never sits in memory.

use std::time::Duration;

use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::client::KsClient;
use super::error::{IdKind, KsError, KsResult};
use super::models::BlueRun;
use super::path::{ApiPath, Cluster, gv, validate_label, validate_subdomain};
pub use super::runs::BlueRunRef;

/// RFC 3986 unreserved characters stay as they are.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// What every text route is asked for (see the module docs).
const ANY: &str = "*/*";

/// Jenkins build numbers are positive integers.
pub fn validate_run_id(id: &str) -> KsResult<()> {
    let ok = !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(KsError::InvalidId {
            what: IdKind::RunId,
            value: id.chars().take(40).collect(),
        })
    }
}

/// An archived artifact as the run's artifact list shows it. Its `url` is a
/// Jenkins path that ks-apiserver does not serve and is deliberately not
/// kept.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct BlueArtifact {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub size: Option<i64>,
    #[serde(default)]
    pub downloadable: Option<bool>,
}

/// A streamed 2xx body, read chunk by chunk with an idle timeout.
pub struct ByteStream {
    response: reqwest::Response,
    idle: Duration,
    path: String,
    /// `X-Text-Size`: the raw log size after this answer (a `start` for the
    /// next one while the log is written), when upstream got it out.
    pub text_size: Option<u64>,
    /// `X-More-Data: true`: the log is still being written.
    pub more_data: bool,
    /// `Content-Length`, when known.
    pub content_length: Option<u64>,
}

impl std::fmt::Debug for ByteStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteStream")
            .field("path", &self.path)
            .field("text_size", &self.text_size)
            .field("more_data", &self.more_data)
            .finish_non_exhaustive()
    }
}

impl ByteStream {
    /// The next chunk, `None` at the end.
    pub async fn next_chunk(&mut self) -> KsResult<Option<Bytes>> {
        match tokio::time::timeout(self.idle, self.response.chunk()).await {
            Err(_) => Err(KsError::Timeout {
                path: self.path.clone(),
                timeout: self.idle,
                hint: "the answer stopped arriving; retry later",
            }),
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) if e.is_timeout() => Err(KsError::Timeout {
                path: self.path.clone(),
                timeout: self.idle,
                hint: "the answer stopped arriving; retry later",
            }),
            Ok(Err(_)) => Err(KsError::Network {
                path: self.path.clone(),
                reason: "the connection broke while the answer was arriving".into(),
                hint: "retry later",
            }),
        }
    }
}

fn header_u64(h: &reqwest::header::HeaderMap, name: &str) -> Option<u64> {
    h.get(name)?.to_str().ok()?.trim().parse().ok()
}

impl KsClient {
    pub(crate) async fn stream(
        &self,
        cluster: &Cluster,
        path: &ApiPath,
        query: &[(&str, String)],
    ) -> KsResult<ByteStream> {
        let r = self.execute_streaming(cluster, path, query, ANY).await?;
        Ok(self.byte_stream(cluster, path, r))
    }

    fn byte_stream(&self, cluster: &Cluster, path: &ApiPath, r: super::client::RawResponse) -> ByteStream {
        let more = r
            .headers
            .get("x-more-data")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        ByteStream {
            text_size: header_u64(&r.headers, "x-text-size"),
            content_length: header_u64(&r.headers, "content-length"),
            more_data: more,
            idle: self.settings().timeout,
            path: path.for_cluster(cluster),
            response: r.response,
        }
    }

    /// `GET R/runs/{id}` (or the branch form): the Blue Ocean run.
    pub async fn get_blue_run(&self, cluster: &Cluster, run: &BlueRunRef) -> KsResult<BlueRun> {
        self.get_json(cluster, &run.path()?, &[]).await
    }

    /// `GET R/runs/{id}/log?start=N`: the console log from raw byte
    /// `start`. Upstream sends no size or more-data header on this route.
    /// One attempt only: a log too large for ks-devops to relay fails the
    /// same way every time (§16 U8).
    pub async fn run_log(&self, cluster: &Cluster, run: &BlueRunRef, start: u64) -> KsResult<ByteStream> {
        let path = run.path()?.lit("log");
        let r = self
            .execute_streaming_once(cluster, &path, &[("start", start.to_string())], ANY)
            .await?;
        Ok(self.byte_stream(cluster, &path, r))
    }

    /// `GET R/runs/{id}/nodes/{node}/steps/{step}/log?start=N`: one step's
    /// log from raw byte `start`, with `X-Text-Size` and `X-More-Data` when
    /// Jenkins got them out (not on large answers).
    pub async fn step_log(
        &self,
        cluster: &Cluster,
        run: &BlueRunRef,
        node: &str,
        step: &str,
        start: u64,
    ) -> KsResult<ByteStream> {
        validate_node_id(IdKind::Node, node)?;
        validate_node_id(IdKind::Step, step)?;
        let path = run.path()?.lit("nodes").seg(node).lit("steps").seg(step).lit("log");
        self.stream(cluster, &path, &[("start", start.to_string())]).await
    }

    /// `GET R/runs/{id}/artifacts?start=&limit=`: one page of artifacts
    /// (a bare array; upstream gives no total).
    pub async fn run_artifacts(
        &self,
        cluster: &Cluster,
        run: &BlueRunRef,
        start: u64,
        limit: u32,
    ) -> KsResult<Vec<BlueArtifact>> {
        let q = [("start", start.to_string()), ("limit", limit.to_string())];
        let v: Option<Vec<BlueArtifact>> = self.get_json(cluster, &run.path()?.lit("artifacts"), &q).await?;
        Ok(v.unwrap_or_default())
    }

    /// `GET DV3/namespaces/{ns}/pipelineruns/{name}/artifacts/download?filename=`:
    /// the only supported way to fetch an artifact's bytes.
    pub async fn download_artifact(
        &self,
        cluster: &Cluster,
        namespace: &str,
        pipelinerun: &str,
        filename: &str,
    ) -> KsResult<ByteStream> {
        validate_label("project (namespace) name", namespace)?;
        validate_subdomain("PipelineRun name", pipelinerun)?;
        if filename.is_empty() || filename.len() > 4096 || filename.contains('\0') {
            return Err(KsError::InvalidId {
                what: IdKind::ArtifactPath,
                value: String::new(),
            });
        }
        let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
            .lit("namespaces")
            .seg(namespace)
            .lit("pipelineruns")
            .seg(pipelinerun)
            .lit("artifacts/download");
        self.stream(cluster, &path, &[("filename", encode_filename(filename))])
            .await
    }
}

/// The first of the two encodings the download handler undoes (the query
/// encoding is the second): `+` goes out as `%252B`, `%` as `%2525`.
pub fn encode_filename(filename: &str) -> String {
    utf8_percent_encode(filename, UNRESERVED).to_string()
}

/// Blue Ocean node and step ids are short tokens (digits in practice).
fn validate_node_id(what: IdKind, id: &str) -> KsResult<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && id != "."
        && id != "..";
    if ok {
        Ok(())
    } else {
        Err(KsError::InvalidId {
            what,
            value: id.chars().take(40).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::BranchName;

    fn r(branch: Option<&str>) -> BlueRunRef {
        BlueRunRef {
            namespace: "ns".into(),
            pipeline: "p".into(),
            branch: branch.map(|b| BranchName::parse(b).unwrap()),
            run_id: "3".into(),
        }
    }

    #[test]
    fn run_paths() {
        assert_eq!(
            r(None).path().unwrap().as_str(),
            "/kapis/devops.kubesphere.io/v1alpha2/namespaces/ns/pipelines/p/runs/3"
        );
        assert_eq!(
            r(Some("main")).path().unwrap().as_str(),
            "/kapis/devops.kubesphere.io/v1alpha2/namespaces/ns/pipelines/p/branches/main/runs/3"
        );
        assert_eq!(
            r(Some("feature/login")).path().unwrap().as_str(),
            "/kapis/devops.kubesphere.io/v1alpha2/namespaces/ns/pipelines/p/branches/feature%252Flogin/runs/3"
        );
        let mut bad = r(None);
        bad.run_id = "../1".into();
        assert!(bad.path().is_err());
        assert!(validate_node_id(IdKind::Node, "12").is_ok());
        assert!(validate_node_id(IdKind::Node, "..").is_err());
        assert!(validate_node_id(IdKind::Node, "a/b").is_err());
    }

    #[test]
    fn filenames_are_encoded_for_the_double_decode() {
        assert_eq!(encode_filename("a b+c%d/e.txt"), "a%20b%2Bc%25d%2Fe.txt");
        // The query layer then turns every % into %25: `+` -> %252B, `%` -> %2525.
        let mut u = url::Url::parse("http://x/").unwrap();
        u.query_pairs_mut().append_pair("filename", &encode_filename("a+b%c"));
        assert_eq!(u.query(), Some("filename=a%252Bb%2525c"));
    }
}
