//! Scrubs known secret values out of text before it can reach an error,
//! a log line or a tool result.
//!
//! A secret is looked for in every form it can take on the way through
//! KubeSphere and back: raw, base64 (standard and URL-safe, with or without
//! padding), and inside text that is URL-encoded (`+` or `%20` for spaces,
//! any set of escaped characters, either case of hex digit) or JSON-escaped
//! (`\n`, `\"`, `\/`, `\u00e9`, ...). The encoded forms of the *text* are
//! decoded into views that map back to the original bytes, so one search
//! covers every encoder's variant.
//!
//! Two searches per view, both linear in the sizes of the text and of the
//! secrets:
//!
//! * exact: one Aho-Corasick automaton over every form of every secret of
//!   [`MIN_SECRET_CHARS`] or more, leftmost-longest;
//! * fragments: any run of [`FRAGMENT`] or more bytes shared by the text and
//!   a form: a value cut by whoever quoted it, split over lines (a PEM key
//!   quoted line by line, a wrapped error page) or quoted in part. The
//!   `FRAGMENT`-byte windows of the smaller side (the secrets' forms, or the
//!   text when a secret is huge) are the patterns of a second automaton that
//!   searches the other side.
//!
//! Every matched range becomes `[REDACTED]`. Scrub *before* cutting a text:
//! a cut can leave the start of a secret that no longer matches in full.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

/// What stands in for a secret.
pub const REDACTED: &str = "[REDACTED]";
/// What stands in for an upstream message that quotes a secret too short to
/// scrub reliably.
pub const WITHHELD: &str = "(upstream message withheld: it may quote a secret value)";
/// Secrets shorter than this (characters) are not scrubbed: they would
/// mangle ordinary words. [`Scrubber::quotes_short`] tells when one occurs.
pub const MIN_SECRET_CHARS: usize = 4;
/// Shortest shared run (bytes) the fragment search recognises.
pub const FRAGMENT: usize = 12;
/// Forms longer than this go to the fragment search only (which finds a
/// whole occurrence too): keeps the automaton small for megabyte secrets.
const MAX_EXACT_BYTES: usize = 4096;
/// Forms up to this total size have their windows indexed once, when the
/// scrubber is built; larger ones (a megabyte credential) are searched with
/// the windows of each text instead.
const MAX_WINDOW_INDEX: usize = 64 * 1024;

/// The forms of `secret` searched for in every view of a text: raw and
/// base64 (standard and URL-safe alphabets, with and without padding).
/// URL-encoded and JSON-escaped forms are found through the decoded views
/// of the text.
pub fn forms(secret: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let mut v = vec![
        secret.to_string(),
        STANDARD.encode(secret),
        STANDARD_NO_PAD.encode(secret),
        URL_SAFE.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
    ];
    v.sort();
    v.dedup();
    v
}

/// A set of secrets ready to be scrubbed from any text.
pub struct Scrubber {
    /// Every form of every secret of at least [`MIN_SECRET_CHARS`].
    forms: Vec<Vec<u8>>,
    exact: Option<AhoCorasick>,
    /// Every [`FRAGMENT`]-byte window of the forms, when they are small
    /// enough to index once (an identity's password and tokens); `None`:
    /// the text's windows are indexed per call instead.
    windows: Option<AhoCorasick>,
    /// Secrets too short to scrub (kept to tell when a text quotes one).
    short: Vec<String>,
    /// The forms by their first [`MIN_SECRET_CHARS`] bytes.
    starts: HashMap<Vec<u8>, Vec<usize>>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scrubber([REDACTED])")
    }
}

impl Default for Scrubber {
    fn default() -> Self {
        Scrubber::new(std::iter::empty::<&str>())
    }
}

impl Scrubber {
    /// A scrubber of these secret values. Linear in their total size.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Scrubber {
        let mut all: Vec<Vec<u8>> = Vec::new();
        let mut short = Vec::new();
        for s in secrets {
            if s.is_empty() {
                continue;
            }
            if s.chars().count() < MIN_SECRET_CHARS {
                short.push(s.to_string());
                continue;
            }
            all.extend(forms(s).into_iter().map(String::into_bytes));
        }
        all.sort();
        all.dedup();
        let exact_patterns: Vec<&[u8]> = all
            .iter()
            .filter(|f| f.len() <= MAX_EXACT_BYTES)
            .map(Vec::as_slice)
            .collect();
        let exact = if exact_patterns.is_empty() {
            None
        } else {
            // A contiguous NFA, not the DFA the builder picks for a few
            // patterns: the DFA of one JWT's forms is about 1 MiB, held by
            // every caller's client over HTTP (256 callers: +130 MiB RSS).
            AhoCorasickBuilder::new()
                .prefilter(false)
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .match_kind(MatchKind::LeftmostLongest)
                .build(&exact_patterns)
                .ok()
        };
        let long_len: usize = all.iter().filter(|f| f.len() >= FRAGMENT).map(Vec::len).sum();
        let windows = if long_len > 0 && long_len <= MAX_WINDOW_INDEX {
            let mut seen = std::collections::HashSet::new();
            let patterns: Vec<&[u8]> = all
                .iter()
                .filter(|f| f.len() >= FRAGMENT)
                .flat_map(|f| f.windows(FRAGMENT))
                .filter(|w| seen.insert(*w))
                .collect();
            AhoCorasickBuilder::new()
                .prefilter(false)
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .ok()
        } else {
            None
        };
        let mut starts: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
        for (i, f) in all.iter().enumerate() {
            starts
                .entry(f[..MIN_SECRET_CHARS.min(f.len())].to_vec())
                .or_default()
                .push(i);
        }
        Scrubber {
            forms: all,
            exact,
            windows,
            short,
            starts,
        }
    }

    /// A scrubber of these secrets.
    pub fn of(secrets: &[&SecretString]) -> Scrubber {
        Scrubber::new(secrets.iter().map(|s| s.expose_secret()))
    }

    /// Whether there is nothing to scrub.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty() && self.short.is_empty()
    }

    /// Whether `text` holds one of the secrets too short to scrub.
    pub fn quotes_short(&self, text: &str) -> bool {
        self.short.iter().any(|s| text.contains(s.as_str()))
    }

    /// `text` with every occurrence of a secret (in any of its forms,
    /// through any of the views) and every fragment of [`FRAGMENT`] or more
    /// bytes of one replaced by `[REDACTED]`. Linear in the sizes of `text`
    /// and of the secrets.
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.forms.is_empty() || text.len() < MIN_SECRET_CHARS {
            return Cow::Borrowed(text);
        }
        let views = View::all(text.as_bytes());
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for view in &views {
            let mut found = Vec::new();
            if let Some(ac) = &self.exact {
                found.extend(ac.find_iter(view.bytes()).map(|m| (m.start(), m.end())));
            }
            if let Some(windows) = &self.windows
                && let Ok(it) = windows.try_find_overlapping_iter(view.bytes())
            {
                push_merged(&mut found, it.map(|m| (m.start(), m.end())));
            }
            ranges.extend(found.into_iter().map(|r| view.origin(r)));
        }
        if self.windows.is_none() {
            self.fragments_of_text(&views, &mut ranges);
        }
        self.cut_starts(text, &mut ranges);
        if ranges.is_empty() {
            return Cow::Borrowed(text);
        }
        Cow::Owned(replace(text, ranges))
    }

    /// A secret cut short by whoever quoted it, shorter than [`FRAGMENT`]:
    /// the start of a form (from [`MIN_SECRET_CHARS`] bytes) right before
    /// the end of the text or an ellipsis (`…`, `...`).
    fn cut_starts(&self, text: &str, ranges: &mut Vec<(usize, usize)>) {
        let bytes = text.as_bytes();
        let ends = text
            .match_indices('…')
            .map(|(i, _)| i)
            .chain(text.match_indices("...").map(|(i, _)| i))
            .chain([text.trim_end().len()]);
        for end in ends {
            let longest = (MIN_SECRET_CHARS..FRAGMENT).rev().find(|&n| {
                n <= end
                    && self
                        .starts
                        .get(&bytes[end - n..end - n + MIN_SECRET_CHARS])
                        .is_some_and(|ids| {
                            ids.iter().any(|&i| {
                                let f = &self.forms[i];
                                f.len() >= n && bytes[end - n..end] == f[..n]
                            })
                        })
            });
            if let Some(n) = longest {
                ranges.push((end - n, end));
            }
        }
    }

    /// The fragment search for huge secrets: the windows of the views are
    /// the patterns, the forms are searched.
    fn fragments_of_text(&self, views: &[View<'_>], ranges: &mut Vec<(usize, usize)>) {
        let k = FRAGMENT;
        let mut ids: HashMap<&[u8], usize> = HashMap::new();
        let mut places: Vec<Vec<(u8, u32)>> = Vec::new();
        for (vi, view) in views.iter().enumerate() {
            let bytes = view.bytes();
            if bytes.len() < k {
                continue;
            }
            for p in 0..=bytes.len() - k {
                let id = *ids.entry(&bytes[p..p + k]).or_insert_with(|| {
                    places.push(Vec::new());
                    places.len() - 1
                });
                places[id].push((vi as u8, p as u32));
            }
        }
        if places.is_empty() {
            return;
        }
        let mut patterns: Vec<&[u8]> = vec![&[]; places.len()];
        for (w, id) in &ids {
            patterns[*id] = w;
        }
        // No prefilter: its candidate checks cost more than the automaton
        // on text as varied as a secret.
        let Ok(ac) = AhoCorasickBuilder::new()
            .prefilter(false)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .match_kind(MatchKind::Standard)
            .build(&patterns)
        else {
            return;
        };
        let mut left = places.len();
        // An unpadded base64 form is the start of the padded one: searched once.
        let forms = self
            .forms
            .iter()
            .filter(|f| f.len() >= k && !self.forms.iter().any(|g| g.len() > f.len() && g.starts_with(f)));
        for form in forms {
            let Ok(it) = ac.try_find_overlapping_iter(form.as_slice()) else {
                return;
            };
            for m in it {
                let found = std::mem::take(&mut places[m.pattern().as_usize()]);
                if found.is_empty() {
                    continue;
                }
                for (vi, p) in found {
                    let p = p as usize;
                    ranges.push(views[vi as usize].origin((p, p + k)));
                }
                left -= 1;
                if left == 0 {
                    return;
                }
            }
        }
    }
}

/// `text` with the byte `ranges` (any order, may overlap) replaced by
/// `[REDACTED]`, widened to character boundaries; adjacent ones merged.
fn replace(text: &str, mut ranges: Vec<(usize, usize)>) -> String {
    ranges.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0usize;
    let mut i = 0;
    while i < ranges.len() {
        let (mut start, mut end) = ranges[i];
        i += 1;
        while i < ranges.len() && ranges[i].0 <= end {
            end = end.max(ranges[i].1);
            i += 1;
        }
        end = end.min(text.len());
        start = start.max(at).min(end);
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let start = start.max(at);
        out.push_str(&text[at..start]);
        if !out.ends_with(REDACTED) {
            out.push_str(REDACTED);
        }
        at = end.max(at);
    }
    out.push_str(&text[at..]);
    out
}

/// Adds ranges sorted by start, merging overlapping ones on the way.
fn push_merged(ranges: &mut Vec<(usize, usize)>, it: impl Iterator<Item = (usize, usize)>) {
    let mut last: Option<(usize, usize)> = None;
    for (s, e) in it {
        match &mut last {
            Some((_, end)) if s <= *end => *end = (*end).max(e),
            _ => {
                if let Some(r) = last.replace((s, e)) {
                    ranges.push(r);
                }
            }
        }
    }
    if let Some(r) = last {
        ranges.push(r);
    }
}

/// A text as searched: as it is, or decoded (URL, JSON) with a map from
/// each decoded byte back to the bytes of the text it came from.
enum View<'t> {
    Raw(&'t [u8]),
    Decoded {
        bytes: Vec<u8>,
        /// For each decoded byte: (start, end) in the text.
        from: Vec<(u32, u32)>,
    },
}

impl<'t> View<'t> {
    /// The text, and its URL-decoded and JSON-unescaped views when it has
    /// something to decode.
    fn all(text: &'t [u8]) -> Vec<View<'t>> {
        let mut v = vec![View::Raw(text)];
        if text.iter().any(|&b| b == b'%' || b == b'+') {
            v.push(View::url_decoded(text));
        }
        if text.contains(&b'\\') {
            v.push(View::json_unescaped(text));
        }
        v
    }

    fn bytes(&self) -> &[u8] {
        match self {
            View::Raw(b) => b,
            View::Decoded { bytes, .. } => bytes,
        }
    }

    /// The range of the text a range of this view came from.
    fn origin(&self, (s, e): (usize, usize)) -> (usize, usize) {
        match self {
            View::Raw(_) => (s, e),
            View::Decoded { from, .. } => {
                if s >= e || e > from.len() {
                    return (s, s);
                }
                (from[s].0 as usize, from[e - 1].1 as usize)
            }
        }
    }

    fn url_decoded(text: &[u8]) -> View<'t> {
        let mut bytes = Vec::with_capacity(text.len());
        let mut from = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            let b = text[i];
            if b == b'%'
                && let (Some(h), Some(l)) = (
                    text.get(i + 1).and_then(|c| hex(*c)),
                    text.get(i + 2).and_then(|c| hex(*c)),
                )
            {
                bytes.push(h * 16 + l);
                from.push((i as u32, i as u32 + 3));
                i += 3;
                continue;
            }
            bytes.push(if b == b'+' { b' ' } else { b });
            from.push((i as u32, i as u32 + 1));
            i += 1;
        }
        View::Decoded { bytes, from }
    }

    fn json_unescaped(text: &[u8]) -> View<'t> {
        let mut bytes = Vec::with_capacity(text.len());
        let mut from = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            let b = text[i];
            if b == b'\\' && i + 1 < text.len() {
                let simple = match text[i + 1] {
                    b'n' => Some(b'\n'),
                    b'r' => Some(b'\r'),
                    b't' => Some(b'\t'),
                    b'b' => Some(8),
                    b'f' => Some(12),
                    b'"' => Some(b'"'),
                    b'\\' => Some(b'\\'),
                    b'/' => Some(b'/'),
                    _ => None,
                };
                if let Some(c) = simple {
                    bytes.push(c);
                    from.push((i as u32, i as u32 + 2));
                    i += 2;
                    continue;
                }
                if text[i + 1] == b'u'
                    && let Some((c, len)) = json_unicode(&text[i..])
                {
                    let mut buf = [0u8; 4];
                    for &x in c.encode_utf8(&mut buf).as_bytes() {
                        bytes.push(x);
                        from.push((i as u32, (i + len) as u32));
                    }
                    i += len;
                    continue;
                }
            }
            bytes.push(b);
            from.push((i as u32, i as u32 + 1));
            i += 1;
        }
        View::Decoded { bytes, from }
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

fn hex4(s: &[u8]) -> Option<u32> {
    if s.len() < 4 {
        return None;
    }
    s[..4]
        .iter()
        .try_fold(0u32, |acc, c| hex(*c).map(|d| acc * 16 + d as u32))
}

/// `\uXXXX` (or a surrogate pair `\uD83D\uDE00`) at the start of `s`: the
/// character and the number of bytes it took.
fn json_unicode(s: &[u8]) -> Option<(char, usize)> {
    let hi = hex4(s.get(2..)?)?;
    if (0xD800..0xDC00).contains(&hi) {
        if s.get(6..8) == Some(b"\\u")
            && let Some(lo) = hex4(s.get(8..)?)
            && (0xDC00..0xE000).contains(&lo)
        {
            let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            return char::from_u32(c).map(|c| (c, 12));
        }
        return None;
    }
    char::from_u32(hi).map(|c| (c, 6))
}

/// The secrets of one identity (password, client secret, access and
/// refresh tokens), scrubbed from every upstream text the client passes on.
/// Values shorter than [`MIN_SECRET_CHARS`] are not scrubbed (they would
/// mangle ordinary words) but are never echoed either.
#[derive(Default)]
pub struct Redactor {
    inner: RwLock<RedactorState>,
}

#[derive(Default)]
struct RedactorState {
    secrets: Vec<SecretString>,
    scrubber: Arc<Scrubber>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor([REDACTED])")
    }
}

impl Redactor {
    /// Adds a secret value to scrub.
    pub fn add(&self, secret: &SecretString) {
        if secret.expose_secret().chars().count() < MIN_SECRET_CHARS {
            return;
        }
        if let Ok(mut st) = self.inner.write()
            && !st.secrets.iter().any(|x| x.expose_secret() == secret.expose_secret())
        {
            // Keep the list bounded: old tokens are of no use after a while
            // (the first two, the configured password and client secret, stay).
            if st.secrets.len() >= 64 {
                let at = 2.min(st.secrets.len() - 1);
                st.secrets.remove(at);
            }
            st.secrets.push(secret.clone());
            st.scrubber = Arc::new(Scrubber::new(st.secrets.iter().map(|s| s.expose_secret())));
        }
    }

    /// The current scrubber (cheap to clone).
    pub fn scrubber(&self) -> Arc<Scrubber> {
        self.inner.read().map(|st| st.scrubber.clone()).unwrap_or_default()
    }

    /// Returns `text` with every known secret, in any form, replaced by
    /// `[REDACTED]`.
    pub fn redact(&self, text: &str) -> String {
        self.scrubber().scrub(text).into_owned()
    }
}

#[cfg(test)]
mod tests;
