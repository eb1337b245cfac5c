//! Bounding and cleaning text that quotes values a caller or KubeSphere
//! supplied, before it reaches an error, a log line or a tool result.
//!
//! * [`quote`] / [`cut`]: one value, cut to a short length with an ellipsis
//!   and with control and bidi characters escaped (used where an error is
//!   built from a value);
//! * [`bound`]: a whole error text, whatever it quotes: every long run
//!   without whitespace is cut, control and bidi characters are escaped and
//!   the total is kept under [`MAX_ERROR_BYTES`] (head and tail are kept: the
//!   tail says what to do next). Every tool error passes through it on its
//!   way to a client (`ks_devops_mcp::mcp::ToolError::agent_text`).
//!
//! Secrets are scrubbed *before* any of this (see
//! [`crate::redact`]): cutting first could leave the start of a
//! secret that no longer matches.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Longest value quoted in an error (characters, before the ellipsis).
pub const MAX_VALUE_CHARS: usize = 120;
/// Longest upstream message quoted in an error (characters).
pub const MAX_MESSAGE_CHARS: usize = 400;
/// Longest run of non-whitespace characters [`bound`] leaves whole.
pub const MAX_TOKEN_CHARS: usize = 200;
/// Upper bound of a whole error text (bytes, UTF-8), ellipsis included.
pub const MAX_ERROR_BYTES: usize = 1800;

const ELLIPSIS: char = '…';

/// Whether `c` must never appear raw in text shown to an agent or written
/// to a log: C0/C1 controls (NUL, ESC, CR, LF, ...), the bidi embedding,
/// override and isolate controls (Trojan Source), the bidi marks, the line
/// and paragraph separators and the byte order mark.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{FEFF}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

fn escaped_len(c: char) -> usize {
    match c {
        '\n' | '\r' | '\t' => 2,
        c => format!("{:x}", c as u32).len() + 4,
    }
}

/// `s` with every [`is_unsafe`] character escaped (`\n`, `\u{202e}`, ...).
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_unsafe(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` cut to `max` characters (an ellipsis marks the cut) and cleaned.
pub fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => clean(s).into_owned(),
        Some((at, _)) => {
            let mut out = clean(&s[..at]).into_owned();
            out.push(ELLIPSIS);
            out
        }
    }
}

/// A value for an error text: cut to [`MAX_VALUE_CHARS`], cleaned, in
/// double quotes (`"` and `\` inside escaped).
pub fn quote(s: &str) -> String {
    let short = match s.char_indices().nth(MAX_VALUE_CHARS) {
        None => s,
        Some((at, _)) => &s[..at],
    };
    let mut out = String::with_capacity(short.len() + 4);
    out.push('"');
    for c in short.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_unsafe(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    if short.len() < s.len() {
        out.push(ELLIPSIS);
    }
    out.push('"');
    out
}

/// A whole error text made safe to show: runs of more than
/// [`MAX_TOKEN_CHARS`] non-whitespace characters are cut (ellipsis),
/// unsafe characters escaped, and the result kept under
/// [`MAX_ERROR_BYTES`] by dropping the middle (the start says what failed,
/// the end what to do next). Linear in the length of `s`.
pub fn bound(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_ERROR_BYTES * 2));
    let mut token = 0usize;
    let mut skipping = false;
    for c in s.chars() {
        if c.is_whitespace() && !is_unsafe(c) {
            token = 0;
            skipping = false;
            out.push(c);
            continue;
        }
        if skipping {
            continue;
        }
        let w = if is_unsafe(c) { escaped_len(c) } else { 1 };
        if token + w > MAX_TOKEN_CHARS {
            out.push(ELLIPSIS);
            skipping = true;
            continue;
        }
        token += w;
        if is_unsafe(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
        // Far more than can be kept: stop early (the tail is taken from
        // the input below).
        if out.len() > MAX_ERROR_BYTES * 4 {
            break;
        }
    }
    if out.len() <= MAX_ERROR_BYTES {
        return out;
    }
    // Head of the cleaned text, tail of the input cleaned the same way.
    let head_max = MAX_ERROR_BYTES * 3 / 5;
    let tail_max = MAX_ERROR_BYTES - head_max - " … ".len() - 8;
    let head = floor_char(&out, head_max);
    let tail_src = tail_chars(s, tail_max);
    let tail = bound_tail(tail_src, tail_max);
    format!("{} {ELLIPSIS} {}", out[..head].trim_end(), tail.trim_start())
}

/// The last characters of `s` (a little more than `max` bytes).
fn tail_chars(s: &str, max: usize) -> &str {
    let mut at = s.len().saturating_sub(max);
    while !s.is_char_boundary(at) {
        at += 1;
    }
    &s[at..]
}

/// Like [`bound`] for a short tail: cleaned and cut to `max` bytes from the end.
fn bound_tail(s: &str, max: usize) -> String {
    let mut cleaned = String::with_capacity(s.len() + 8);
    let mut token = 0usize;
    for c in s.chars() {
        if c.is_whitespace() && !is_unsafe(c) {
            token = 0;
        } else {
            token += 1;
        }
        if token > MAX_TOKEN_CHARS {
            continue;
        }
        if is_unsafe(c) {
            push_escaped(&mut cleaned, c);
        } else {
            cleaned.push(c);
        }
    }
    let mut at = cleaned.len().saturating_sub(max);
    while !cleaned.is_char_boundary(at) {
        at += 1;
    }
    cleaned[at..].to_string()
}

fn floor_char(s: &str, max: usize) -> usize {
    let mut at = max.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Whether `s` is clean: no [`is_unsafe`] character.
pub fn is_clean(s: &str) -> bool {
    !s.chars().any(is_unsafe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_cuts_and_escapes() {
        assert_eq!(quote("stone-devops"), "\"stone-devops\"");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote("x\u{0}y\u{202e}z\n"), "\"x\\u{0}y\\u{202e}z\\n\"");
        let long = "é".repeat(100_000);
        let q = quote(&long);
        assert_eq!(q.chars().count(), MAX_VALUE_CHARS + 3);
        assert!(q.ends_with("…\""));
    }

    #[test]
    fn cut_marks_the_cut() {
        assert_eq!(cut("abc", 5), "abc");
        assert_eq!(cut("abcdef", 3), "abc…");
        assert_eq!(cut("a\u{1b}[31mb", 10), "a\\u{1b}[31mb");
    }

    #[test]
    fn bound_keeps_short_text_and_cleans_it() {
        assert_eq!(bound("not found: x. Check the name"), "not found: x. Check the name");
        assert_eq!(bound("a\u{2067}b\u{85}c"), "a\\u{2067}b\\u{85}c");
        assert!(is_clean(&bound("\u{0}\u{7f}\u{9b}\u{202a}\u{2029}\u{feff}\u{61c}")));
    }

    #[test]
    fn bound_cuts_long_tokens_and_the_middle() {
        let long = format!(
            "no project named \"{}\". Call list_devops_projects.",
            "a".repeat(100_000)
        );
        let b = bound(&long);
        assert!(b.len() < 400, "{}", b.len());
        assert!(b.contains('…') && b.ends_with("Call list_devops_projects."), "{b}");

        let words = format!("start {} end: call whoami", "ab cd ".repeat(50_000));
        let b = bound(&words);
        assert!(b.len() <= MAX_ERROR_BYTES, "{}", b.len());
        assert!(b.starts_with("start ") && b.ends_with("end: call whoami"), "{b}");

        let nuls = "\u{0}".repeat(100_000);
        let b = bound(&nuls);
        assert!(b.len() <= MAX_ERROR_BYTES && is_clean(&b), "{}", b.len());

        let spaced_nuls = "\u{0} ".repeat(100_000);
        let b = bound(&spaced_nuls);
        assert!(b.len() <= MAX_ERROR_BYTES && is_clean(&b), "{}", b.len());

        let multibyte = "界 ".repeat(100_000);
        let b = bound(&multibyte);
        assert!(b.len() <= MAX_ERROR_BYTES, "{}", b.len());
    }
}
