//! The v1alpha2 run and step log routes (§7, §16 U2, U8, U15): what Blue
//! Ocean, stapler and Jenkins core make of a console log, and what ks-devops
//! does with the answer.
//!
//! A log is kept *raw*, as Jenkins stores it: `[Pipeline]` lines (and the
//! user name of "Started by user") carry hidden console notes
//! (`ESC[8mha:<base64>ESC[0m`). An answer is built like upstream builds it:
//!
//! 1. `start` (or, without it, the last 150 KB) picks a raw byte offset
//!    (blueocean-plugin `LogResource.writeLogs`);
//! 2. while the log is still being written, at most 10,000 lines go out and
//!    the answer stops after the last line end (stapler
//!    `LargeText.writeLogUncounted`, `MAX_LINES_READ`);
//! 3. hidden notes are stripped from the text but count in offsets (Jenkins
//!    `AnnotatedLargeText.writeLogTo` wraps the counted stream in a
//!    `PlainTextConsoleOutputStream`);
//! 4. every lone LF becomes CRLF (stapler `LineEndNormalizingWriter`, used
//!    by `LogResource.writeLogs`);
//! 5. a finished step with a block error gets the error text appended after
//!    that, unnormalised, and counted in `X-Text-Size` (blueocean-plugin
//!    `PipelineStepImpl.getLog` + `LogResource` appender);
//! 6. ks-devops buffers the whole answer with a 30 s client timeout: an
//!    answer too large to relay in time fails with 500 after a delay
//!    (ks-devops `pkg/client/devops/jenkins/pure_request.go:48,82-96`,
//!    `pkg/kapis/devops/v1alpha2/devops.go:896 parseErr`);
//! 7. the step log route passes the `X-` headers through, the run log route
//!    drops them (ks-devops `pkg/kapis/devops/v1alpha2/devops.go:273-301`).

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;

use crate::jenkins::{GEN_LINE, Piece, gen_fill, pieces_len};
use crate::pipelines::jenkins_err;
use crate::routes::Ctx;
use crate::util;

/// What log routes produce; go-restful compares Accept with it as a whole
/// string (ks-devops `pkg/kapis/devops/v1alpha2/register.go:233,247,397,412`).
pub(crate) const PRODUCES: &str = "text/plain; charset=utf-8";

/// Start of a hidden console note (Jenkins `ConsoleNote.PREAMBLE_STR`).
pub(crate) const NOTE_PREAMBLE: &[u8] = b"\x1b[8mha:";
/// End of a hidden console note (Jenkins `ConsoleNote.POSTAMBLE_STR`).
pub(crate) const NOTE_POSTAMBLE: &[u8] = b"\x1b[0m";

/// Lines sent at most per answer while a log is being written (stapler
/// `LargeText.MAX_LINES_READ`).
pub(crate) const MAX_LINES_READ: u64 = 10_000;

/// Bytes sent from the end of the log when the request has no `start`
/// (blueocean-plugin `LogResource.DEFAULT_LOG_THRESHOLD`, in KB).
const DEFAULT_LOG_THRESHOLD_KB: i64 = 150;

/// A delay the server applies before sending a response (set by a handler,
/// honoured by the request loop, which does not hold the state lock then).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DelayBy(pub Duration);

/// A hidden console note as Jenkins writes it in front of annotated text
/// (`ConsoleNote.encode`: preamble, base64 of the serialized note, postamble).
/// Deterministic per `seed`, 90 to 250 bytes long, free of line ends.
pub(crate) fn hidden_note(seed: u64) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let len = 80 + (seed % 160) as usize;
    let mut s = String::from("\x1b[8mha:////4");
    let mut x = seed | 1;
    for _ in 0..len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push(B64[(x % 64) as usize] as char);
    }
    s.push_str("==\x1b[0m");
    s
}

/// Prefixes every `[Pipeline]` line of `text` with a hidden note (Jenkins
/// annotates the flow node lines it prints; workflow-job
/// `WorkflowRun.GraphL` / `NewNodeConsoleNote`).
pub(crate) fn annotate_pipeline_lines(text: &str, salt: u64) -> String {
    let mut out = String::with_capacity(text.len() + 200);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if line.starts_with("[Pipeline]") {
            out.push_str(&hidden_note(crate::util::fnv(line) ^ salt.wrapping_add(i as u64)));
        }
        out.push_str(line);
    }
    out
}

/// A log as a route serves it.
pub(crate) struct LogText {
    /// The raw log (hidden notes included).
    pub pieces: Vec<Piece>,
    /// Jenkins no longer writes to it.
    pub complete: bool,
    /// Text Blue Ocean appends to a finished failed step's log (its block
    /// error), outside the raw log.
    pub appended: Option<String>,
}

/// Which route serves the log.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogRoute {
    Run,
    Step,
}

/// Java `Long.parseLong`: optional sign, ASCII digits, no blanks.
fn parse_long(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The answer of a log route (after the route and the run were resolved).
pub(crate) fn serve(ctx: &Ctx, log: LogText, route: LogRoute, jenkins_path: &str) -> Response {
    let raw_len = pieces_len(&log.pieces);
    // upstream: blueocean-plugin LogResource.writeLogs: `start` if given,
    // else the last `thresholdInKB` (150) KB. Long.parseLong failures are
    // unhandled exceptions: 500.
    let offset: i64 = match ctx.q("start") {
        Some(s) => match parse_long(s) {
            Some(v) => v,
            None => return jenkins_err(500, &format!("For input string: \"{s}\"")),
        },
        None => {
            let threshold = match ctx.q("thresholdInKB") {
                Some(t) => match parse_long(t) {
                    Some(v) => v.saturating_mul(1024),
                    None => return jenkins_err(500, &format!("For input string: \"{t}\"")),
                },
                None => DEFAULT_LOG_THRESHOLD_KB * 1024,
            };
            if raw_len as i64 > threshold {
                raw_len as i64 - threshold
            } else {
                0
            }
        }
    };
    // upstream: stapler LargeText.writeLogUncounted: skipping to a negative
    // offset or past the end throws EOFException, which LogResource turns
    // into a 500 ServiceException.
    if offset < 0 || offset as u64 > raw_len {
        return jenkins_err(500, "Failed to get logText: Attempted to read past the end of the log");
    }
    let start = offset as u64;
    let end = if log.complete {
        raw_len
    } else {
        running_end(&log.pieces, start, raw_len)
    };
    // upstream: ks-devops reads the whole Jenkins answer into memory within
    // a 30 s http.Client timeout (pure_request.go:48,82) and turns the
    // error into a 500 with the Go error text (devops.go:896 parseErr).
    if end - start > ctx.opts.log_relay_limit {
        let mut r = util::resp(
            500,
            "text/plain; charset=utf-8",
            format!(
                "Get \"http://devops-jenkins.kubesphere-devops-system:80{jenkins_path}?start={start}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            ),
        );
        r.extensions_mut().insert(DelayBy(ctx.opts.log_relay_delay));
        return r;
    }
    let appended = if log.complete { log.appended } else { None };
    let appended_len = appended.as_ref().map(|a| a.len() as u64).unwrap_or(0);
    let delivered = visible_len(&log.pieces, start, end) + appended_len;
    let body = stream_visible(log.pieces, start, end, appended);
    let mut r = util::resp(200, PRODUCES, body);
    // upstream: LogResource adds X-More-Data, X-Text-Size and
    // X-Text-Delivered after writing the text; once the text filled
    // Jetty's response buffer the response is committed and the headers
    // are lost. The run log route drops them anyway (devops.go:273-285);
    // the step route copies every `X-` header (devops.go:288-301).
    if route == LogRoute::Step && delivered <= ctx.opts.log_header_buffer {
        let size = end + appended_len;
        if !log.complete {
            util::set_header(&mut r, "x-more-data", "true");
        }
        util::set_header(&mut r, "x-text-size", &size.to_string());
        util::set_header(&mut r, "x-text-delivered", &(size - start).to_string());
    }
    r
}

/// Where an answer of a log that is still being written ends: after at
/// most [`MAX_LINES_READ`] line ends (`\r` or `\n`, each counts), at the
/// last line end before `total` (stapler `LargeText`, `TailMark.moveToNextLine`).
fn running_end(pieces: &[Piece], start: u64, total: u64) -> u64 {
    let mut left = MAX_LINES_READ;
    let mut end = start;
    let mut off = 0u64;
    for p in pieces {
        let plen = match p {
            Piece::Text(t) => t.len() as u64,
            Piece::Gen { len, .. } => *len,
        };
        let (ps, pe) = (off, off + plen);
        off = pe;
        if pe <= start {
            continue;
        }
        if ps >= total {
            break;
        }
        let a = start.max(ps) - ps;
        let b = total.min(pe) - ps;
        match p {
            Piece::Text(t) => {
                for (i, c) in t.as_bytes()[a as usize..b as usize].iter().enumerate() {
                    if *c == b'\n' || *c == b'\r' {
                        end = ps + a + i as u64 + 1;
                        left -= 1;
                        if left == 0 {
                            return end;
                        }
                    }
                }
            }
            Piece::Gen { .. } => {
                // One `\n` at every position p with p % GEN_LINE == GEN_LINE - 1.
                let first = a + (GEN_LINE - 1 + GEN_LINE - a % GEN_LINE) % GEN_LINE;
                if first < b {
                    let count = (b - 1 - first) / GEN_LINE + 1;
                    if count >= left {
                        return ps + first + (left - 1) * GEN_LINE + 1;
                    }
                    left -= count;
                    end = ps + first + (count - 1) * GEN_LINE + 1;
                }
            }
        }
    }
    end
}

/// Removes complete hidden notes from `raw` (Jenkins
/// `PlainTextConsoleOutputStream.eol`): a note cut by the start offset has
/// no preamble left and goes out as it is.
fn strip_notes(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(p) = find(rest, NOTE_PREAMBLE) {
        let after = &rest[p + NOTE_PREAMBLE.len()..];
        match find(after, NOTE_POSTAMBLE) {
            Some(q) => {
                out.extend_from_slice(&rest[..p]);
                rest = &after[q + NOTE_POSTAMBLE.len()..];
            }
            None => break,
        }
    }
    out.extend_from_slice(rest);
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// stapler `LineEndNormalizingWriter`: a LF not preceded by CR becomes CRLF.
struct Normalizer {
    seen_cr: bool,
}

impl Normalizer {
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &c in input {
            if c == b'\n' && !self.seen_cr {
                out.extend_from_slice(b"\r\n");
            } else {
                out.push(c);
            }
            self.seen_cr = c == b'\r';
        }
    }
}

/// Bytes of raw text `[from, to)` as sent: notes stripped, lone LFs as CRLF.
fn visible_len(pieces: &[Piece], from: u64, to: u64) -> u64 {
    let mut n = 0u64;
    let mut seen_cr = false;
    for_each_range(pieces, from, to, |_, p, a, b| match p {
        Piece::Text(t) => {
            let s = strip_notes(&t.as_bytes()[a as usize..b as usize]);
            for &c in &s {
                n += 1 + u64::from(c == b'\n' && !seen_cr);
                seen_cr = c == b'\r';
            }
        }
        Piece::Gen { .. } => {
            // Generated lines hold no CR: each LF in range adds one byte.
            let lfs = b / GEN_LINE - a / GEN_LINE;
            n += (b - a) + lfs;
            if b > a {
                seen_cr = false;
            }
        }
    });
    n
}

fn for_each_range(pieces: &[Piece], from: u64, to: u64, mut f: impl FnMut(usize, &Piece, u64, u64)) {
    let mut off = 0u64;
    for (i, p) in pieces.iter().enumerate() {
        let plen = match p {
            Piece::Text(t) => t.len() as u64,
            Piece::Gen { len, .. } => *len,
        };
        let (ps, pe) = (off, off + plen);
        off = pe;
        if pe <= from {
            continue;
        }
        if ps >= to {
            break;
        }
        f(i, p, from.max(ps) - ps, to.min(pe) - ps);
    }
}

/// Streams raw `[from, to)` as sent, then `appended` as it is.
fn stream_visible(pieces: Vec<Piece>, from: u64, to: u64, appended: Option<String>) -> Body {
    const CHUNK: u64 = 64 * 1024;
    // Work items: (piece index, range start, range end) in chunks.
    let mut items: Vec<(usize, u64, u64)> = Vec::new();
    for_each_range(&pieces, from, to, |i, p, a, b| match p {
        Piece::Text(_) => items.push((i, a, b)),
        Piece::Gen { .. } => {
            let mut s = a;
            while s < b {
                let e = (s + CHUNK).min(b);
                items.push((i, s, e));
                s = e;
            }
        }
    });
    let state = (pieces, items.into_iter(), Normalizer { seen_cr: false }, appended);
    let stream = futures::stream::unfold(state, |(pieces, mut items, mut norm, appended)| async move {
        match items.next() {
            Some((i, a, b)) => {
                let mut out = Vec::new();
                match pieces.get(i) {
                    Some(Piece::Text(t)) => {
                        let s = strip_notes(&t.as_bytes()[a as usize..b as usize]);
                        norm.push(&s, &mut out);
                    }
                    Some(Piece::Gen { seed, .. }) => {
                        let mut raw = Vec::with_capacity((b - a) as usize);
                        gen_fill(*seed, a, &mut raw, (b - a) as usize);
                        out.reserve(raw.len() + raw.len() / GEN_LINE as usize + 1);
                        norm.push(&raw, &mut out);
                    }
                    None => {}
                }
                Some((
                    Ok::<Bytes, std::io::Error>(Bytes::from(out)),
                    (pieces, items, norm, appended),
                ))
            }
            // Written straight to the response writer, not normalised.
            None => appended.map(|text| (Ok(Bytes::from(text.into_bytes())), (pieces, items, norm, None))),
        }
    });
    Body::from_stream(stream)
}

/// go-restful `Route.matchesAccept` (route.go:86-111 of v3.12) against
/// [`PRODUCES`]: each comma-separated type, cut at `;` and trimmed, must be
/// `*/*` or equal the whole produces string, which therefore never matches
/// once cut. No Accept header means `*/*` (jsr311.go:137-140).
pub(crate) fn accepts(accept: Option<&str>) -> bool {
    let accept = match accept.map(str::trim) {
        None | Some("") => return true,
        Some(a) => a,
    };
    accept.split(',').any(|t| {
        let t = t.split(';').next().unwrap_or("").trim();
        t == "*/*" || t == PRODUCES
    })
}

/// go-restful's 406 answer for a log route (jsr311.go:163-167).
pub(crate) fn not_acceptable() -> Response {
    util::resp(
        406,
        "text/plain; charset=utf-8",
        format!("406: Not Acceptable\n\nAvailable representations: {PRODUCES}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated(len: u64) -> Piece {
        Piece::Gen { seed: 1, len }
    }

    #[test]
    fn accept_matching_is_go_restful_exact() {
        for ok in [
            None,
            Some(""),
            Some("*/*"),
            Some("text/plain, */*;q=0.1"),
            Some(" */* "),
        ] {
            assert!(accepts(ok), "{ok:?}");
        }
        for bad in [
            "text/plain",
            "text/plain; charset=utf-8",
            "text/plain;charset=utf-8",
            "text/*",
            "application/json",
        ] {
            assert!(!accepts(Some(bad)), "{bad}");
        }
    }

    #[test]
    fn notes_are_stripped_and_line_ends_normalised() {
        let note = hidden_note(7);
        assert!(note.len() > 90 && !note.contains('\n') && !note.contains('\r'));
        let raw = format!("{note}[Pipeline] stage\nplain\r\nx\n");
        assert_eq!(strip_notes(raw.as_bytes()), b"[Pipeline] stage\nplain\r\nx\n");
        let mut out = Vec::new();
        Normalizer { seen_cr: false }.push(&strip_notes(raw.as_bytes()), &mut out);
        assert_eq!(out, b"[Pipeline] stage\r\nplain\r\nx\r\n");
        let pieces = vec![Piece::Text(raw.clone()), generated(300)];
        assert_eq!(visible_len(&pieces, 0, pieces_len(&pieces)), out.len() as u64 + 300 + 3);
        // A start inside a note leaves its tail as it is.
        let cut = &raw.as_bytes()[5..];
        assert!(strip_notes(cut).ends_with(b"==\x1b[0m[Pipeline] stage\nplain\r\nx\n"));
    }

    #[test]
    fn running_answers_stop_at_line_ends_and_after_10000_lines() {
        let pieces = vec![Piece::Text("a\nb\rc".into()), generated(GEN_LINE * 20_000 + 50)];
        let total = pieces_len(&pieces);
        // 2 line ends in the text, then 9,998 generated lines.
        assert_eq!(running_end(&pieces, 0, total), 5 + 9_998 * GEN_LINE);
        // From the middle of a generated line: 10,000 line ends later.
        assert_eq!(running_end(&pieces, 5 + 30, total), 5 + 10_000 * GEN_LINE);
        // Fewer lines: at the last line end, never in a partial line.
        let short = vec![Piece::Text("one\ntwo\nthr".into())];
        assert_eq!(running_end(&short, 0, 11), 8);
        assert_eq!(running_end(&short, 8, 11), 8);
    }
}
