//! The stdio transport: newline-delimited JSON-RPC on stdin/stdout, in
//! place of rmcp's own so that every line gets an answer.
//!
//! Each line is read with a size cap and checked ([`crate::jsonrpc::check`])
//! before rmcp sees it: a line that is not JSON, or not a request rmcp can
//! take, is answered here (`-32700` with `id: null`, or an error carrying
//! the request's `id`); the rest is handed to rmcp already parsed. One
//! writer task owns stdout, so answers from here and from rmcp never
//! interleave within a line; it is fed through a bounded queue (a client
//! that stops reading stops the reading of its input too).

use std::io;

use rmcp::RoleServer;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::jsonrpc::{self, Verdict};

/// Largest accepted line (one JSON-RPC message), as rmcp's default.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// Answers waiting for stdout.
const QUEUE: usize = 64;

type Outgoing = (Vec<u8>, Option<oneshot::Sender<io::Result<()>>>);

/// The stdio transport over any reader and writer (stdin/stdout in the
/// binary, pipes in tests).
pub struct LineTransport<R> {
    read: BufReader<R>,
    line: Vec<u8>,
    max_line: usize,
    /// Set after an oversized line was refused, until its newline is seen.
    discarding: bool,
    out: Option<mpsc::Sender<Outgoing>>,
    /// An answer of ours waiting for room in the queue (kept here so a
    /// cancelled `receive` loses nothing).
    pending: Option<Vec<u8>>,
    writer: Option<JoinHandle<()>>,
}

enum LineRead {
    Line,
    Oversized,
    Eof,
    Io(io::Error),
}

/// The transport on the process's stdin and stdout.
pub fn stdio() -> LineTransport<tokio::io::Stdin> {
    LineTransport::new(tokio::io::stdin(), tokio::io::stdout())
}

impl<R: AsyncRead + Send + Unpin + 'static> LineTransport<R> {
    pub fn new<W: AsyncWrite + Send + Unpin + 'static>(read: R, write: W) -> LineTransport<R> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = tokio::spawn(write_loop(write, rx));
        LineTransport {
            read: BufReader::new(read),
            line: Vec::new(),
            max_line: MAX_LINE_BYTES,
            discarding: false,
            out: Some(tx),
            pending: None,
            writer: Some(writer),
        }
    }

    /// Overrides the line cap (tests).
    pub fn with_max_line(mut self, max: usize) -> Self {
        self.max_line = max;
        self
    }

    /// Reads one line into `self.line`, never holding more than the cap.
    /// Cancellation-safe: a partial line stays in `self.line`.
    async fn read_line(&mut self) -> LineRead {
        loop {
            let (used, done) = {
                let buf = match self.read.fill_buf().await {
                    Ok(b) => b,
                    Err(e) => return LineRead::Io(e),
                };
                if buf.is_empty() {
                    return LineRead::Eof;
                }
                let newline = memchr::memchr(b'\n', buf);
                let take = newline.map_or(buf.len(), |i| i + 1);
                if self.discarding {
                    if newline.is_some() {
                        self.discarding = false;
                    }
                    (take, None)
                } else if self.line.len() + take > self.max_line {
                    self.line.clear();
                    self.discarding = newline.is_none();
                    (take, Some(LineRead::Oversized))
                } else {
                    self.line.extend_from_slice(&buf[..take]);
                    (take, newline.map(|_| LineRead::Line))
                }
            };
            self.read.consume(used);
            if let Some(r) = done {
                return r;
            }
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(mut w: W, mut rx: mpsc::Receiver<Outgoing>) {
    while let Some((bytes, ack)) = rx.recv().await {
        let r = async {
            w.write_all(&bytes).await?;
            w.flush().await
        }
        .await;
        let failed = r.is_err();
        if let Some(ack) = ack {
            let _ = ack.send(r);
        }
        if failed {
            tracing::info!("stdout is closed; no more answers can be written");
            return;
        }
    }
    let _ = w.shutdown().await;
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the transport is closed")
}

fn line_of(v: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(v).unwrap_or_else(|_| {
        br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error: unencodable answer"}}"#
            .to_vec()
    });
    bytes.push(b'\n');
    bytes
}

impl<R: AsyncRead + Send + Unpin + 'static> Transport<RoleServer> for LineTransport<R> {
    type Error = io::Error;

    fn send(&mut self, item: TxJsonRpcMessage<RoleServer>) -> impl Future<Output = io::Result<()>> + Send + 'static {
        let out = self.out.clone();
        let bytes = line_of(&item);
        async move {
            let out = out.ok_or_else(closed)?;
            let (ack, done) = oneshot::channel();
            out.send((bytes, Some(ack))).await.map_err(|_| closed())?;
            done.await.map_err(|_| closed())?
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            if self.pending.is_some() {
                let permit = self.out.as_ref()?.reserve().await.ok()?;
                if let Some(bytes) = self.pending.take() {
                    permit.send((bytes, None));
                }
            }
            match self.read_line().await {
                LineRead::Line => {}
                LineRead::Oversized => {
                    tracing::info!(max = self.max_line, "refused an oversized message");
                    self.pending = Some(line_of(&jsonrpc::error_response(
                        serde_json::Value::Null,
                        jsonrpc::INVALID_REQUEST,
                        &format!(
                            "Invalid Request: the message is larger than {} bytes and was not read",
                            self.max_line
                        ),
                    )));
                    continue;
                }
                LineRead::Eof => return None,
                LineRead::Io(e) => {
                    tracing::info!(error = %e, "cannot read stdin");
                    return None;
                }
            }
            let line = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                self.line.clear();
                continue;
            }
            let verdict = jsonrpc::check(line);
            self.line.clear();
            match verdict {
                Verdict::Pass(m) => return Some(*m),
                Verdict::Answer(v) => {
                    tracing::debug!(code = %v["error"]["code"], "answered a malformed message");
                    self.pending = Some(line_of(&v));
                }
                Verdict::Ignore(why) => tracing::debug!(why, "ignored a message"),
            }
        }
    }

    async fn close(&mut self) -> io::Result<()> {
        // The writer ends once every queued answer is written.
        drop(self.out.take());
        if let Some(w) = self.writer.take() {
            let _ = w.await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use tokio::io::AsyncBufReadExt;

    async fn exchange(input: &[u8], max_line: usize) -> (Vec<Value>, usize) {
        let (mut client_w, server_r) = tokio::io::duplex(1 << 16);
        let (server_w, client_r) = tokio::io::duplex(1 << 16);
        let mut t = LineTransport::new(server_r, server_w).with_max_line(max_line);
        client_w.write_all(input).await.unwrap();
        drop(client_w);
        let mut passed = 0;
        while t.receive().await.is_some() {
            passed += 1;
        }
        t.close().await.unwrap();
        let mut lines = tokio::io::BufReader::new(client_r).lines();
        let mut out = Vec::new();
        while let Some(l) = lines.next_line().await.unwrap() {
            out.push(serde_json::from_str(&l).unwrap());
        }
        (out, passed)
    }

    #[tokio::test]
    async fn every_bad_line_is_answered_and_good_lines_pass() {
        let input = format!(
            "{{not json\n\n{}\n{}\n{}\n{}\n{}\r\n",
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":[1]}"#,
            "x".repeat(100),
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#,
        );
        let (answers, passed) = exchange(input.as_bytes(), 64).await;
        assert_eq!(passed, 3);
        let codes: Vec<(Value, Value)> = answers
            .iter()
            .map(|a| (a["id"].clone(), a["error"]["code"].clone()))
            .collect();
        assert_eq!(
            codes,
            [
                (Value::Null, Value::from(-32700)),
                (Value::from(7), Value::from(-32602)),
                (Value::Null, Value::from(-32600)),
            ]
        );
    }

    #[tokio::test]
    async fn an_oversized_line_without_newline_is_answered_once() {
        let mut input = "y".repeat(1000).into_bytes();
        input.extend_from_slice(b"\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n");
        let (answers, passed) = exchange(&input, 100).await;
        assert_eq!(passed, 1);
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0]["error"]["code"], -32600);
    }
}
