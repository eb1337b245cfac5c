//! Reads run and step logs as streams and keeps only what a tool returns:
//! a tail, a head, or grep matches with context, all bounded in lines and
//! bytes. Memory stays flat whatever the log size: a line longer than the
//! line cap is kept only up to the cap, and sinks hold at most their
//! output budget.
//!
//! A log is one or more *segments* read one after the other (the run log;
//! one step log; or the step logs of a stage). A [`Pos`] is a place in it:
//! segment, byte offset in that segment, the segment's offset in the whole
//! and the number of lines before it. Cursors of `get_run_log` are `Pos`es.

use std::collections::VecDeque;

use regex::bytes::Regex;
use serde::{Deserialize, Serialize};

use crate::kubesphere::logs::{BlueRunRef, ByteStream};
use crate::kubesphere::{Cluster, KsClient, KsResult};

/// Longest line kept; longer lines are cut and marked.
pub const LINE_CAP: usize = 4096;

/// A place in a log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pos {
    /// Segment index.
    #[serde(rename = "s")]
    pub seg: u32,
    /// Byte offset within the segment.
    #[serde(rename = "o")]
    pub off: u64,
    /// Offset of the segment's first byte in the whole log.
    #[serde(rename = "b")]
    pub base: u64,
    /// Lines before this place.
    #[serde(rename = "l")]
    pub line: u64,
}

impl Pos {
    /// Byte offset in the whole log.
    pub fn byte(&self) -> u64 {
        self.base + self.off
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

/// A line handed to a sink.
pub struct Line<'a> {
    /// 1-based line number.
    pub no: u64,
    /// The text, without the line end, at most the cap long.
    pub text: &'a [u8],
    /// Length of the whole line in bytes (without the line end).
    pub full_len: u64,
    /// Byte offset of the line start in the whole log.
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
    /// Every segment was read to its end.
    pub reached_end: bool,
    /// After the last complete line handed out (where a reader that saw
    /// everything resumes).
    pub committed: Pos,
    /// At the end of everything read (including a trailing partial line).
    pub end: Pos,
    /// A trailing line without line end was held back because the log is
    /// still being written.
    pub held_back_bytes: u64,
    /// Bytes received.
    pub bytes_read: u64,
    /// Some segment said more data is coming (`X-More-Data`).
    pub more_data: bool,
    /// `X-Text-Size` of the last segment opened, when sent.
    pub last_text_size: Option<u64>,
    /// Lines handed out plus a held-back partial line.
    pub lines_seen: u64,
}

/// Splits a byte stream into lines, bounded in memory.
struct Splitter {
    cap: usize,
    cur: Vec<u8>,
    cur_len: u64,
    cur_start: u64,
    pos: Pos,
    committed: Pos,
}

impl Splitter {
    fn new(cap: usize, from: Pos) -> Splitter {
        Splitter {
            cap,
            cur: Vec::new(),
            cur_len: 0,
            cur_start: from.byte(),
            pos: from,
            committed: from,
        }
    }

    fn emit(&mut self, sink: &mut dyn Sink, piece: &[u8], had_newline: bool) -> Flow {
        let (text, full_len): (&[u8], u64) = if self.cur_len == 0 {
            (&piece[..piece.len().min(self.cap)], piece.len() as u64)
        } else {
            let room = self.cap.saturating_sub(self.cur.len());
            self.cur.extend_from_slice(&piece[..piece.len().min(room)]);
            (&self.cur, self.cur_len + piece.len() as u64)
        };
        let mut text = text;
        let mut full_len = full_len;
        if had_newline && full_len > 0 && text.len() as u64 == full_len && text.last() == Some(&b'\r') {
            text = &text[..text.len() - 1];
            full_len -= 1;
        }
        self.pos.line += 1;
        let line = Line {
            no: self.pos.line,
            text,
            full_len,
            start: self.cur_start,
            end: self.pos,
        };
        let flow = sink.line(&line);
        self.committed = self.pos;
        self.cur.clear();
        self.cur_len = 0;
        self.cur_start = self.pos.byte();
        flow
    }

    fn feed(&mut self, chunk: &[u8], sink: &mut dyn Sink) -> Flow {
        let mut rest = chunk;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            self.pos.off += i as u64 + 1;
            if self.emit(sink, &rest[..i], true) == Flow::Stop {
                return Flow::Stop;
            }
            rest = &rest[i + 1..];
        }
        if !rest.is_empty() {
            let room = self.cap.saturating_sub(self.cur.len());
            self.cur.extend_from_slice(&rest[..rest.len().min(room)]);
            self.cur_len += rest.len() as u64;
            self.pos.off += rest.len() as u64;
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
            off: 0,
            base: self.pos.byte(),
            line: self.pos.line,
        };
        self.committed = self.pos;
        self.cur_start = self.pos.byte();
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
/// line end is then held back (it is not complete yet).
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
        let start = sp.pos.off;
        let mut body = match seg {
            Segment::Run => client.run_log(cluster, run, start).await?,
            Segment::Step { node, step } => client.step_log(cluster, run, node, step, start).await?,
        };
        out.more_data |= body.more_data;
        out.last_text_size = body.text_size;
        let mut stopped = false;
        while let Some(chunk) = body.next_chunk().await? {
            out.bytes_read += chunk.len() as u64;
            if sp.feed(&chunk, sink) == Flow::Stop {
                stopped = true;
                break;
            }
        }
        if stopped {
            out.committed = sp.committed;
            out.end = sp.pos;
            out.lines_seen = sp.pos.line;
            return Ok(out);
        }
        let last = i + 1 == segments.len();
        if sp.cur_len > 0 {
            if last && writing(seg, &body) {
                out.held_back_bytes = sp.cur_len;
            } else if sp.flush(sink) == Flow::Stop {
                out.committed = sp.committed;
                out.end = sp.pos;
                out.lines_seen = sp.pos.line;
                return Ok(out);
            }
        }
    }
    out.reached_end = true;
    out.committed = sp.committed;
    out.end = sp.pos;
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
        assert_eq!(lines[0].3.off, 5);
        assert_eq!(lines[1].1, "def");
        assert_eq!(
            lines[1].3,
            Pos {
                seg: 0,
                off: 9,
                base: 0,
                line: 2
            }
        );
        assert_eq!(sp.committed.off, 9);
        assert_eq!(sp.pos.off, 12);
        assert_eq!(sp.cur_len, 3);
        // A long line is cut at the cap but its length is known.
        let (lines, _) = split(&[&[b'x'; 50], &[b'y'; 50], b"\nok\n"], 16);
        assert_eq!(lines[0].1.len(), 16);
        assert_eq!(lines[0].2, 100);
        assert_eq!(lines[1].1, "ok");
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
        assert_eq!(h.resume.map(|p| (p.off, p.line)), Some((15, 5)));
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
