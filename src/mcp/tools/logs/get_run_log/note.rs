//! The note: what was returned, what was left out, what to call next.

use crate::mcp::logread::MAX_LINES_PER_ANSWER;

use super::mode::Mode;
use super::{MatchInfo, Omitted, Span};

/// 1536 -> "1.5 KB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// What a result's note describes.
pub(super) struct Note<'a> {
    pub mode: &'a Mode,
    /// The returned lines, if any.
    pub span: Option<&'a Span>,
    /// Size of the whole log, when known.
    pub log_bytes: Option<u64>,
    pub log_lines: Option<u64>,
    pub before: &'a Omitted,
    pub after: &'a Omitted,
    pub matches: Option<&'a MatchInfo>,
    pub still_writing: bool,
    /// The mode's limit stopped the read before the end.
    pub stopped_early: bool,
    /// A last line still being written, left for the next call.
    pub held_back_bytes: u64,
    /// Jenkins cut the answer at its per-request line limit.
    pub capped: bool,
    /// The whole run's console log (not a stage, step or per-step read).
    pub run_log: bool,
    /// The run log was read as its step logs (§16 U8).
    pub per_step: bool,
}

impl Note<'_> {
    pub(super) fn text(&self) -> String {
        let Note {
            mode,
            span,
            log_bytes,
            log_lines,
            before,
            after,
            matches,
            still_writing,
            stopped_early,
            held_back_bytes,
            capped,
            run_log,
            per_step,
        } = *self;
        let size = match (log_lines, log_bytes) {
            (Some(l), Some(b)) => format!("{l} lines ({})", human_bytes(b)),
            (None, Some(b)) => format!("a log of {}", human_bytes(b)),
            _ => "a log of unknown size (read so far; a tail or grep reads it to the end)".to_string(),
        };
        let mut s = match (mode, span) {
            (Mode::Grep { pattern, .. }, _) => {
                let m = matches.cloned().unwrap_or(MatchInfo {
                    total: 0,
                    returned: 0,
                    not_returned: 0,
                });
                let mut s = format!(
                    "grep /{pattern}/: {} matching line(s) in the part searched of {size}; returned {}",
                    m.total, m.returned
                );
                if m.not_returned > 0 {
                    s.push_str(&format!(
                        "; {} more not returned: pass `cursor` to continue the search after the last returned line",
                        m.not_returned
                    ));
                }
                s.push('.');
                s
            }
            (_, None) => format!("No new lines; {size}."),
            (_, Some(sp)) => {
                let mut s = format!(
                    "Returned lines {}-{} ({}) of {size}.",
                    sp.first_line,
                    sp.last_line,
                    human_bytes(sp.end_byte - sp.start_byte)
                );
                if matches!(mode, Mode::Tail(_)) && before.lines.unwrap_or(0) > 0 {
                    s.push_str(&format!(
                        " Left out before: {} line(s) ({}): search them with grep or read them with head_lines.",
                        before.lines.unwrap_or(0),
                        human_bytes(before.bytes.unwrap_or(0))
                    ));
                }
                match (after.lines, after.bytes) {
                    (Some(l), Some(b)) if l > 0 || b > 0 => s.push_str(&format!(
                        " Left out after: {l} line(s) ({}): pass `cursor` to read on.",
                        human_bytes(b)
                    )),
                    _ if stopped_early => s.push_str(" More follows: pass `cursor` to read on."),
                    _ => {}
                }
                s
            }
        };
        if held_back_bytes > 0 {
            s.push_str(&format!(
                " A last line still being written ({} bytes) is left for the next call.",
                held_back_bytes
            ));
        }
        if still_writing {
            s.push_str(" The run is still writing: call again with `cursor` for new output.");
        }
        if capped {
            s.push_str(&format!(
                " Jenkins sends at most {MAX_LINES_PER_ANSWER} lines of a log still being written per request, so later output may exist already: it comes with later calls (a finished log comes whole){}.",
                if run_log {
                    "; to follow a long running build closely, read the running stage or step (`node`/`step`)"
                } else {
                    ""
                }
            ));
        }
        if per_step {
            s.insert_str(
                0,
                "KubeSphere cannot deliver this run's console log through its run log route (it buffers the whole log with a 30 s limit, and this log is too large): this is the logs of its steps, stage by stage, one after the other, without Jenkins' [Pipeline] lines; line numbers count those step logs. ",
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_bytes(1536), "1.5 KB");
        assert_eq!(human_bytes(12), "12 B");
    }
}
