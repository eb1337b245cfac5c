//! Reads run and step logs as streams and keeps only what a tool returns:
//! a tail, a head, or grep matches with context, all bounded in lines and
//! bytes. Memory stays flat whatever the log size: a line longer than the
//! line cap is kept only up to the cap, and sinks hold at most their
//! output budget.
//!
//! A log is one or more *segments* read one after the other (the run log;
//! one step log; the step logs of a stage; or every step log of a run whose
//! run log KubeSphere cannot deliver). A [`Pos`] is a place in it and
//! cursors of `get_run_log` are `Pos`es.
//!
//! Upstream rules this follows (API reference §7, §16 U2):
//! * the text comes with CRLF line ends (lone LFs made CRLF) and without
//!   Jenkins' hidden console notes, while `start` and `X-Text-Size` count
//!   the raw log, notes and LFs included: byte counts of the text received
//!   are never offsets. A place is therefore an *anchor* (a raw offset
//!   upstream gave: 0, or a step log's `X-Text-Size`) plus the number of
//!   lines after it already handed out;
//! * the run log route sends no `X-Text-Size`, so its anchor stays 0 and a
//!   cursor skips lines from the start;
//! * a step log's `X-Text-Size` is taken only while the step is still
//!   written (`X-More-Data`): a finished failed step's size also counts the
//!   error Blue Ocean appends, and reading from there fails; the headers
//!   may also be missing on large answers;
//! * while a log is written, one answer carries at most 10,000 lines: an
//!   answer that ends is not the end of the log.
//!
//! Text byte counts reported to the agent count the text with LF line ends.

use serde::{Deserialize, Serialize};

use crate::kubesphere::logs::{BlueRunRef, ByteStream};
use crate::kubesphere::models::BlueNode;
use crate::kubesphere::{Cluster, KsClient, KsError, KsResult};

/// Longest line kept; longer lines are cut and marked.
pub const LINE_CAP: usize = 4096;

/// Lines Jenkins sends at most in one answer of a log still being written
/// (stapler `LargeText.MAX_LINES_READ`).
pub const MAX_LINES_PER_ANSWER: u64 = 10_000;

/// A place in a log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pos {
    /// Segment index.
    #[serde(rename = "s")]
    pub seg: u32,
    /// Raw offset in the segment that reading resumes from (`start`).
    #[serde(rename = "r")]
    pub raw: u64,
    /// Lines after `raw` already handed out (skipped when resuming).
    #[serde(rename = "k")]
    pub skip: u64,
    /// Text bytes (LF line ends) before this place in the whole log.
    #[serde(rename = "b")]
    pub text: u64,
    /// Lines before this place.
    #[serde(rename = "l")]
    pub line: u64,
}

impl Pos {
    /// Text bytes (LF line ends) before this place in the whole log.
    pub fn byte(&self) -> u64 {
        self.text
    }
}

/// One source of log text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// The whole console log of the run.
    Run,
    /// One step's log.
    Step { node: String, step: String },
}

/// The logs of every step of `nodes`, stage by stage, in order: what
/// stands in for a run log that KubeSphere cannot deliver.
pub fn step_segments(nodes: &[BlueNode]) -> Vec<Segment> {
    nodes
        .iter()
        .flat_map(|n| {
            n.steps.as_deref().unwrap_or_default().iter().map(|s| Segment::Step {
                node: n.id.clone(),
                step: s.id.clone(),
            })
        })
        .collect()
}

/// Whether an error of the run log route means it cannot deliver this log
/// (§16 U8: ks-devops buffers the whole log with a 30 s limit, so a large
/// log fails with 500, or times out): reading it again fails the same way,
/// its steps can still be read.
pub fn run_log_undeliverable(e: &KsError) -> bool {
    match e {
        KsError::Upstream { status, .. } => *status >= 500,
        KsError::Timeout { .. } | KsError::Network { .. } => true,
        _ => false,
    }
}

/// A line handed to a sink.
pub struct Line<'a> {
    /// 1-based line number.
    pub no: u64,
    /// The text, without the line end, at most the cap long.
    pub text: &'a [u8],
    /// Length of the whole line in bytes (without the line end).
    pub full_len: u64,
    /// Text byte offset of the line start in the whole log.
    pub start: u64,
    /// The place right after the line (and its line end).
    pub end: Pos,
}

/// What a sink wants after a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Stop reading: the sink has all it wants.
    Stop,
}

/// Receives the lines of a log in order.
pub trait Sink {
    fn line(&mut self, line: &Line<'_>) -> Flow;
}

/// What a read found besides the lines.
#[derive(Clone, Debug, Default)]
pub struct ReadOutcome {
    /// Every segment was read to the end of what upstream sent.
    pub reached_end: bool,
    /// After the last line handed out: where a reader that saw everything
    /// resumes.
    pub committed: Pos,
    /// At the end of everything read (`committed` plus a held-back
    /// partial line, in text bytes).
    pub end: Pos,
    /// A trailing line without line end was held back because the log is
    /// still being written.
    pub held_back_bytes: u64,
    /// Bytes received.
    pub bytes_read: u64,
    /// Some segment said more data is coming (`X-More-Data`).
    pub more_data: bool,
    /// Lines handed out plus a held-back partial line.
    pub lines_seen: u64,
    /// An answer of a segment still being written carried so many lines that
    /// Jenkins may have cut it at its per-request limit: more may be written
    /// already.
    pub capped: bool,
}

/// Splits a byte stream into lines, bounded in memory; drops the lines a
/// resumed read already handed out.
struct Splitter {
    cap: usize,
    cur: Vec<u8>,
    cur_len: u64,
    cur_last: u8,
    /// Lines of this answer still to drop.
    to_skip: u64,
    /// Lines of this answer seen (dropped or handed out).
    answer_lines: u64,
    /// After the last line handed out.
    pos: Pos,
}

impl Splitter {
    fn new(cap: usize, from: Pos) -> Splitter {
        Splitter {
            cap,
            cur: Vec::new(),
            cur_len: 0,
            cur_last: 0,
            to_skip: from.skip,
            answer_lines: 0,
            pos: from,
        }
    }

    fn emit(&mut self, sink: &mut dyn Sink, piece: &[u8], had_newline: bool) -> Flow {
        let (text, mut full_len): (&[u8], u64) = if self.cur_len == 0 {
            (&piece[..piece.len().min(self.cap)], piece.len() as u64)
        } else {
            let room = self.cap.saturating_sub(self.cur.len());
            self.cur.extend_from_slice(&piece[..piece.len().min(room)]);
            (&self.cur, self.cur_len + piece.len() as u64)
        };
        let last = piece.last().copied().unwrap_or(self.cur_last);
        self.answer_lines += 1;
        if self.to_skip > 0 {
            self.to_skip -= 1;
            self.cur.clear();
            self.cur_len = 0;
            return Flow::Continue;
        }
        let mut text = text;
        // CRLF is the line end (upstream normalises LF to CRLF).
        if had_newline && full_len > 0 && last == b'\r' {
            full_len -= 1;
            if text.len() as u64 > full_len {
                text = &text[..full_len as usize];
            }
        }
        let start = self.pos.text;
        self.pos.line += 1;
        self.pos.skip += 1;
        self.pos.text += full_len + u64::from(had_newline);
        let line = Line {
            no: self.pos.line,
            text,
            full_len,
            start,
            end: self.pos,
        };
        let flow = sink.line(&line);
        self.cur.clear();
        self.cur_len = 0;
        flow
    }

    fn feed(&mut self, chunk: &[u8], sink: &mut dyn Sink) -> Flow {
        let mut rest = chunk;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            if self.emit(sink, &rest[..i], true) == Flow::Stop {
                return Flow::Stop;
            }
            rest = &rest[i + 1..];
        }
        if !rest.is_empty() {
            let room = self.cap.saturating_sub(self.cur.len());
            self.cur.extend_from_slice(&rest[..rest.len().min(room)]);
            self.cur_len += rest.len() as u64;
            self.cur_last = rest[rest.len() - 1];
        }
        Flow::Continue
    }

    /// Hands out a trailing line without line end.
    fn flush(&mut self, sink: &mut dyn Sink) -> Flow {
        if self.cur_len == 0 {
            return Flow::Continue;
        }
        self.emit(sink, &[], false)
    }

    fn next_segment(&mut self) {
        self.pos = Pos {
            seg: self.pos.seg + 1,
            raw: 0,
            skip: 0,
            text: self.pos.text,
            line: self.pos.line,
        };
        self.to_skip = 0;
        self.answer_lines = 0;
        self.cur.clear();
        self.cur_len = 0;
    }
}

/// Where a log comes from: a run and the segments to read, in order.
pub struct LogSource<'a> {
    pub client: &'a KsClient,
    pub cluster: &'a Cluster,
    pub run: &'a BlueRunRef,
    pub segments: &'a [Segment],
}

/// Reads `segments[from.seg..]` starting at `from`, handing every line to
/// `sink` until it stops or the log ends. `writing(seg, stream)` says
/// whether a segment is still being written: its trailing line without
/// line end is then held back (it is not complete yet), and an answer
/// near [`MAX_LINES_PER_ANSWER`] lines may not be its end.
pub async fn read_log(
    src: &LogSource<'_>,
    from: Pos,
    cap: usize,
    writing: &(dyn Fn(&Segment, &ByteStream) -> bool + Sync),
    sink: &mut (dyn Sink + Send),
) -> KsResult<ReadOutcome> {
    let LogSource {
        client,
        cluster,
        run,
        segments,
    } = *src;
    let mut sp = Splitter::new(cap.max(16), from);
    let mut out = ReadOutcome::default();
    let first = from.seg as usize;
    for (i, seg) in segments.iter().enumerate().skip(first) {
        if i > first {
            sp.next_segment();
        }
        let start = sp.pos.raw;
        let mut body = match seg {
            Segment::Run => client.run_log(cluster, run, start).await?,
            Segment::Step { node, step } => client.step_log(cluster, run, node, step, start).await?,
        };
        out.more_data |= body.more_data;
        let mut stopped = false;
        while let Some(chunk) = body.next_chunk().await? {
            out.bytes_read += chunk.len() as u64;
            if sp.feed(&chunk, sink) == Flow::Stop {
                stopped = true;
                break;
            }
        }
        if stopped {
            out.committed = sp.pos;
            out.end = sp.pos;
            out.lines_seen = sp.pos.line;
            return Ok(out);
        }
        let last = i + 1 == segments.len();
        let still = writing(seg, &body);
        // Jenkins counts every CR and LF of the raw log; a raw CRLF (output
        // of a Windows agent) counts twice and looks the same as an LF made
        // CRLF, so half the limit already may be a cut answer.
        if still && sp.answer_lines + u64::from(sp.cur_len > 0) >= MAX_LINES_PER_ANSWER / 2 {
            out.capped = true;
        }
        if sp.cur_len > 0 {
            if last && still {
                out.held_back_bytes = sp.cur_len - u64::from(sp.cur_last == b'\r');
            } else if sp.flush(sink) == Flow::Stop {
                out.committed = sp.pos;
                out.end = sp.pos;
                out.lines_seen = sp.pos.line;
                return Ok(out);
            }
        }
        // The whole answer was taken in: a step log still being written
        // tells where its next answer starts (not a finished one: its size
        // counts text Blue Ocean appends, past the log's end).
        if body.more_data
            && out.held_back_bytes == 0
            && let Some(size) = body.text_size
            && size >= start
        {
            sp.pos.raw = size;
            sp.pos.skip = sp.to_skip;
        }
    }
    out.reached_end = true;
    out.committed = sp.pos;
    out.end = Pos {
        text: sp.pos.text + out.held_back_bytes,
        ..sp.pos
    };
    out.lines_seen = sp.pos.line + u64::from(out.held_back_bytes > 0);
    Ok(out)
}

mod sinks;
pub use sinks::{FirstLastSink, GrepLine, GrepSink, HeadSink, Kept, TailSink, render_lines};

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Vec<(u64, String, u64, Pos)>);
    impl Sink for Collect {
        fn line(&mut self, l: &Line<'_>) -> Flow {
            self.0
                .push((l.no, String::from_utf8_lossy(l.text).into_owned(), l.full_len, l.end));
            Flow::Continue
        }
    }

    fn split(chunks: &[&[u8]], cap: usize) -> (Vec<(u64, String, u64, Pos)>, Splitter) {
        let mut sp = Splitter::new(cap, Pos::default());
        let mut c = Collect(Vec::new());
        for ch in chunks {
            sp.feed(ch, &mut c);
        }
        (c.0, sp)
    }

    #[test]
    fn lines_across_chunks_and_caps() {
        let (lines, sp) = split(&[b"ab", b"c\r\nde", b"f\n", b"xyz"], 100);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].1, "abc");
        // Text bytes count LF line ends, whatever was received.
        assert_eq!(lines[0].3.text, 4);
        assert_eq!(lines[1].1, "def");
        assert_eq!(
            lines[1].3,
            Pos {
                seg: 0,
                raw: 0,
                skip: 2,
                text: 8,
                line: 2
            }
        );
        assert_eq!(sp.pos.text, 8);
        assert_eq!(sp.cur_len, 3);
        // A long line is cut at the cap but its length is known; a CR
        // inside a line stays, the one of its CRLF goes.
        let (lines, _) = split(&[&[b'x'; 50], &[b'y'; 50], b"\r\nok\rstill\r\n"], 16);
        assert_eq!(lines[0].1.len(), 16);
        assert_eq!(lines[0].2, 100);
        assert_eq!(lines[1].1, "ok\rstill");
        assert_eq!(lines[1].3.text, 101 + 9);
        // A lone CR at a chunk end that ends the line.
        let (lines, _) = split(&[b"a\r", b"\nb\n"], 100);
        assert_eq!(lines[0].1, "a");
        assert_eq!(lines[0].3.text, 2);
    }

    #[test]
    fn a_resumed_answer_drops_the_lines_already_handed_out() {
        let from = Pos {
            seg: 0,
            raw: 0,
            skip: 2,
            text: 4,
            line: 2,
        };
        let mut sp = Splitter::new(100, from);
        let mut c = Collect(Vec::new());
        sp.feed(b"l1\r\nl2\r\nl3\r\nl4\r\n", &mut c);
        let got: Vec<(u64, &str)> = c.0.iter().map(|l| (l.0, l.1.as_str())).collect();
        assert_eq!(got, [(3, "l3"), (4, "l4")]);
        assert_eq!((sp.pos.skip, sp.pos.text, sp.pos.line), (4, 10, 4));
        assert_eq!(sp.answer_lines, 4);
    }
}
