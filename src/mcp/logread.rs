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

use std::collections::VecDeque;

use regex::bytes::Regex;
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

// ------------------------------------------------------------------ sinks

/// A kept line.
#[derive(Clone, Debug)]
pub struct Kept {
    pub no: u64,
    pub text: Vec<u8>,
    pub full_len: u64,
    pub start: u64,
    pub end: Pos,
}

impl Kept {
    fn fill(&mut self, l: &Line<'_>) {
        self.no = l.no;
        self.text.clear();
        self.text.extend_from_slice(l.text);
        self.full_len = l.full_len;
        self.start = l.start;
        self.end = l.end;
    }

    fn of(l: &Line<'_>) -> Kept {
        Kept {
            no: l.no,
            text: l.text.to_vec(),
            full_len: l.full_len,
            start: l.start,
            end: l.end,
        }
    }

    /// Bytes this line takes in a result (text, cut marker, line end).
    pub fn out_len(&self) -> usize {
        self.text.len() + 1 + if self.is_cut() { 32 } else { 0 }
    }

    pub fn is_cut(&self) -> bool {
        (self.text.len() as u64) < self.full_len
    }

    /// The line as text; a cut line ends with a marker naming its size.
    pub fn render(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.text).into_owned();
        if self.is_cut() {
            s.push_str(&format!(" …[line cut: {} bytes]", self.full_len));
        }
        s
    }
}

/// Keeps the last `max_lines` lines that fit in `max_bytes`.
pub struct TailSink {
    max_lines: usize,
    max_bytes: usize,
    ring: VecDeque<Kept>,
    ring_bytes: usize,
    pool: Vec<Kept>,
}

impl TailSink {
    pub fn new(max_lines: usize, max_bytes: usize) -> TailSink {
        TailSink {
            max_lines: max_lines.max(1),
            max_bytes,
            ring: VecDeque::new(),
            ring_bytes: 0,
            pool: Vec::new(),
        }
    }

    /// The kept lines, oldest first, within both limits (at least one line
    /// when any was seen).
    pub fn finish(mut self) -> Vec<Kept> {
        let mut out: Vec<Kept> = Vec::new();
        let mut bytes = 0;
        while let Some(k) = self.ring.pop_back() {
            if out.len() >= self.max_lines || (!out.is_empty() && bytes + k.out_len() > self.max_bytes) {
                break;
            }
            bytes += k.out_len();
            out.push(k);
        }
        out.reverse();
        out
    }
}

impl Sink for TailSink {
    fn line(&mut self, l: &Line<'_>) -> Flow {
        let mut k = match self.pool.pop() {
            Some(mut k) => {
                k.fill(l);
                k
            }
            None => Kept::of(l),
        };
        if k.text.capacity() > 4 * LINE_CAP {
            k.text.shrink_to(LINE_CAP);
        }
        self.ring_bytes += k.out_len();
        self.ring.push_back(k);
        // Drop the oldest lines once the newer ones fill both budgets.
        while let Some(front) = self.ring.front() {
            let without = self.ring_bytes - front.out_len();
            if self.ring.len() > self.max_lines || without >= self.max_bytes {
                if let Some(old) = self.ring.pop_front() {
                    self.ring_bytes -= old.out_len();
                    self.pool.push(old);
                }
            } else {
                break;
            }
        }
        Flow::Continue
    }
}

/// Keeps the first `max_lines` lines that fit in `max_bytes`, then stops.
pub struct HeadSink {
    max_lines: usize,
    max_bytes: usize,
    pub lines: Vec<Kept>,
    bytes: usize,
    /// Where the next read resumes: after the last kept line.
    pub resume: Option<Pos>,
    /// Stopped because a limit was reached (more lines may follow).
    pub full: bool,
}

impl HeadSink {
    pub fn new(max_lines: usize, max_bytes: usize) -> HeadSink {
        HeadSink {
            max_lines: max_lines.max(1),
            max_bytes,
            lines: Vec::new(),
            bytes: 0,
            resume: None,
            full: false,
        }
    }
}

impl Sink for HeadSink {
    fn line(&mut self, l: &Line<'_>) -> Flow {
        let k = Kept::of(l);
        if !self.lines.is_empty() && self.bytes + k.out_len() > self.max_bytes {
            self.full = true;
            return Flow::Stop;
        }
        self.bytes += k.out_len();
        self.resume = Some(k.end);
        self.lines.push(k);
        if self.lines.len() >= self.max_lines {
            self.full = true;
            return Flow::Stop;
        }
        Flow::Continue
    }
}

/// A line of grep output.
#[derive(Clone, Debug)]
pub struct GrepLine {
    pub kept: Kept,
    pub is_match: bool,
}

/// Matches with context, bounded in matches and bytes; keeps counting
/// matches after the limit so the result can say how many were left out.
pub struct GrepSink {
    re: Regex,
    context: usize,
    max_matches: u64,
    max_bytes: usize,
    before: VecDeque<Kept>,
    after_left: usize,
    pub out: Vec<GrepLine>,
    out_bytes: usize,
    last_out: u64,
    /// Every match, returned or not.
    pub total: u64,
    pub returned: u64,
    /// Output stopped (match limit or byte budget); `resume` is where the
    /// next read continues.
    pub done: bool,
    pub resume: Option<Pos>,
    /// The byte budget (not the match limit) ended the output.
    pub budget_full: bool,
}

impl GrepSink {
    pub fn new(re: Regex, context: usize, max_matches: u64, max_bytes: usize) -> GrepSink {
        GrepSink {
            re,
            context,
            max_matches: max_matches.max(1),
            max_bytes,
            before: VecDeque::new(),
            after_left: 0,
            out: Vec::new(),
            out_bytes: 0,
            last_out: 0,
            total: 0,
            returned: 0,
            done: false,
            resume: None,
            budget_full: false,
        }
    }

    fn push(&mut self, kept: Kept, is_match: bool) -> bool {
        let len = kept.out_len() + 12;
        if !self.out.is_empty() && self.out_bytes + len > self.max_bytes {
            self.done = true;
            self.budget_full = true;
            return false;
        }
        self.out_bytes += len;
        self.last_out = kept.no;
        self.resume = Some(kept.end);
        self.out.push(GrepLine { kept, is_match });
        true
    }

    /// grep -n style text: `12:match`, `11-context`, `--` between groups.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let mut prev: Option<u64> = None;
        for g in &self.out {
            if prev.is_some_and(|p| g.kept.no > p + 1) {
                s.push_str("--\n");
            }
            s.push_str(&g.kept.no.to_string());
            s.push(if g.is_match { ':' } else { '-' });
            s.push_str(&g.kept.render());
            s.push('\n');
            prev = Some(g.kept.no);
        }
        s
    }
}

impl Sink for GrepSink {
    fn line(&mut self, l: &Line<'_>) -> Flow {
        let m = self.re.is_match(l.text);
        if m {
            self.total += 1;
        }
        if self.done {
            return Flow::Continue;
        }
        if m {
            if self.returned >= self.max_matches {
                // The last match's context ends here; the next read starts at this match.
                self.done = true;
                return Flow::Continue;
            }
            while let Some(b) = self.before.pop_front() {
                if b.no > self.last_out && !self.push(b, false) {
                    return Flow::Continue;
                }
            }
            if !self.push(Kept::of(l), true) {
                return Flow::Continue;
            }
            self.returned += 1;
            self.after_left = self.context;
        } else if self.after_left > 0 {
            self.after_left -= 1;
            if !self.push(Kept::of(l), false) {
                return Flow::Continue;
            }
        } else if self.context > 0 {
            let k = if self.before.len() >= self.context {
                match self.before.pop_front() {
                    Some(mut k) => {
                        k.fill(l);
                        k
                    }
                    None => Kept::of(l),
                }
            } else {
                Kept::of(l)
            };
            self.before.push_back(k);
        }
        if self.returned >= self.max_matches && self.after_left == 0 {
            self.done = true;
        }
        Flow::Continue
    }
}

/// Keeps the first `first` and the last `last` lines that match `re`,
/// counting all of them.
pub struct FirstLastSink {
    re: Regex,
    skip: Option<Regex>,
    first: usize,
    last: usize,
    pub head: Vec<Kept>,
    tail: VecDeque<Kept>,
    pub total: u64,
}

impl FirstLastSink {
    pub fn new(re: Regex, skip: Option<Regex>, first: usize, last: usize) -> FirstLastSink {
        FirstLastSink {
            re,
            skip,
            first,
            last,
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
        }
    }

    /// The kept lines in log order.
    pub fn finish(self) -> Vec<Kept> {
        let mut v = self.head;
        v.extend(self.tail);
        v
    }
}

impl Sink for FirstLastSink {
    fn line(&mut self, l: &Line<'_>) -> Flow {
        if !self.re.is_match(l.text) || self.skip.as_ref().is_some_and(|s| s.is_match(l.text)) {
            return Flow::Continue;
        }
        self.total += 1;
        if self.head.len() < self.first {
            self.head.push(Kept::of(l));
        } else if self.last > 0 {
            if self.tail.len() >= self.last {
                self.tail.pop_front();
            }
            self.tail.push_back(Kept::of(l));
        }
        Flow::Continue
    }
}

/// Joins kept lines as text (each ends with a line end).
pub fn render_lines(lines: &[Kept]) -> String {
    let mut s = String::new();
    for k in lines {
        s.push_str(&k.render());
        s.push('\n');
    }
    s
}

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

    fn feed_all(sink: &mut dyn Sink, text: &str) {
        let mut sp = Splitter::new(LINE_CAP, Pos::default());
        sp.feed(text.as_bytes(), sink);
        sp.flush(sink);
    }

    #[test]
    fn tail_keeps_last_lines_within_budget() {
        let text: String = (1..=1000).map(|i| format!("line {i}\n")).collect();
        let mut t = TailSink::new(10, 16 * 1024);
        feed_all(&mut t, &text);
        let kept = t.finish();
        assert_eq!(kept.len(), 10);
        assert_eq!(kept[0].no, 991);
        assert_eq!(kept[9].render(), "line 1000");
        // Byte budget binds before the line count.
        let mut t = TailSink::new(1000, 40);
        feed_all(&mut t, &text);
        let kept = t.finish();
        assert!(render_lines(&kept).len() <= 40);
        assert_eq!(kept.last().map(|k| k.no), Some(1000));
    }

    #[test]
    fn head_stops_and_resumes_after_last_kept() {
        let text: String = (1..=100).map(|i| format!("l{i}\n")).collect();
        let mut h = HeadSink::new(5, 1024);
        feed_all(&mut h, &text);
        assert_eq!(h.lines.len(), 5);
        assert!(h.full);
        assert_eq!(h.resume.map(|p| (p.text, p.skip, p.line)), Some((15, 5, 5)));
    }

    #[test]
    fn grep_with_context_limit_and_total() {
        let text: String = (1..=50)
            .map(|i| {
                if i % 10 == 0 {
                    format!("ERROR {i}\n")
                } else {
                    format!("ok {i}\n")
                }
            })
            .collect();
        let mut g = GrepSink::new(Regex::new("ERROR").unwrap(), 1, 2, 4096);
        feed_all(&mut g, &text);
        assert_eq!(g.total, 5);
        assert_eq!(g.returned, 2);
        assert!(g.done);
        assert_eq!(
            g.render(),
            "9-ok 9\n10:ERROR 10\n11-ok 11\n--\n19-ok 19\n20:ERROR 20\n21-ok 21\n"
        );
        assert_eq!(g.resume.map(|p| p.line), Some(21));
    }

    #[test]
    fn first_last_keeps_both_ends() {
        let text: String = (1..=30).map(|i| format!("E{i}\n")).collect();
        let mut s = FirstLastSink::new(Regex::new("^E").unwrap(), Some(Regex::new("^E15$").unwrap()), 2, 2);
        feed_all(&mut s, &text);
        assert_eq!(s.total, 29);
        let kept: Vec<u64> = s.finish().iter().map(|k| k.no).collect();
        assert_eq!(kept, [1, 2, 29, 30]);
    }
}
