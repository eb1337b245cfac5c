//! Sinks: what a read keeps of the lines it is handed (a tail, a head,
//! grep matches with context, the first and last matches), bounded in
//! lines and bytes.

use std::collections::VecDeque;

use regex::bytes::Regex;

use super::{Flow, LINE_CAP, Line, Pos, Sink};

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
    use super::super::Splitter;
    use super::*;

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
