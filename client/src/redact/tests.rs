//! Tests of [`super`] (redact.rs).

use super::*;

#[test]
fn scrubs() {
    let r = Redactor::default();
    r.add(&SecretString::from("hunter22"));
    r.add(&SecretString::from("ab"));
    assert_eq!(r.redact("pw=hunter22 ab"), "pw=[REDACTED] ab");
    assert!(!format!("{r:?}").contains("hunter22"));
}

/// Every encoding a secret can come back in, each found whole.
fn encodings(secret: &str) -> Vec<String> {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const RFC3986: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    vec![
        secret.to_string(),
        base64::engine::general_purpose::STANDARD.encode(secret),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        serde_json::to_string(secret).unwrap().trim_matches('"').to_string(),
        // JSON with every non-ASCII character and `/` escaped.
        secret
            .chars()
            .map(|c| match c {
                '/' => "\\/".to_string(),
                c if c.is_ascii() => {
                    let q = serde_json::to_string(&c.to_string()).unwrap();
                    q[1..q.len() - 1].to_string()
                }
                c => c
                    .encode_utf16(&mut [0; 2])
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect(),
            })
            .collect(),
        form.clone(),
        form.replace('+', "%20"),
        utf8_percent_encode(secret, RFC3986).to_string(),
        // Lower-case hex digits.
        secret
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect(),
        utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string(),
    ]
}

#[test]
fn every_encoding() {
    let secret = "P@88 w0rd/+=\"x\"é😀\n~*";
    let s = Scrubber::new([secret]);
    for f in encodings(secret) {
        let text = format!("before {f} after");
        assert_eq!(s.scrub(&text), "before [REDACTED] after", "{f}");
    }
    // Short and long secrets alike (exact and fragment searches).
    let short = "Pw 4f";
    let s = Scrubber::new([short]);
    for f in encodings(short) {
        let text = format!("x={f}&y=1");
        assert_eq!(s.scrub(&text), "x=[REDACTED]&y=1", "{f}");
    }
}

#[test]
fn fragments_and_lines() {
    let key = "-----BEGIN KEY-----\nAAAABBBBCCCCDDDDEEEEFFFF\nGGGGHHHHIIIIJJJJKKKKLLLL\n-----END KEY-----\n";
    let s = Scrubber::new([key]);
    // Cut by whoever quoted it.
    let out = s.scrub("bad value \"-----BEGIN KEY-----\\nAAAABBBBCC…");
    assert!(out.starts_with("bad value \"[REDACTED]"), "{out}");
    assert!(!out.contains("AAAABBBB") && !out.contains("BEGIN KEY"), "{out}");
    // Line by line, wrapped elsewhere.
    let out = s.scrub("line 1: GGGGHHHHIIIIJJJJ\nline 2: AAAABBBBCCCCDD");
    assert!(!out.contains("GGGGHHHH") && !out.contains("AAAABBBB"), "{out}");
    // Base64 of the whole, cut.
    let b64 = base64::engine::general_purpose::STANDARD.encode(key);
    let text = format!("data: {}", &b64[..40]);
    assert_eq!(s.scrub(&text), "data: [REDACTED]");
    // Unrelated text stays.
    assert_eq!(s.scrub("nothing to see here"), "nothing to see here");
}

#[test]
fn both_index_sides_agree() {
    let secret: String = (0..3000).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect();
    let s = Scrubber::new([secret.as_str()]);
    // Text shorter than the forms: the text is indexed.
    let short = format!("x {} y", &secret[100..140]);
    assert_eq!(s.scrub(&short), "x [REDACTED] y");
    // Text longer than the forms: the forms are indexed.
    let long = format!("{} {} {}", "-".repeat(30_000), &secret[500..560], "+".repeat(30_000));
    let out = s.scrub(&long);
    assert!(out.contains(" [REDACTED] ") && !out.contains(&secret[500..520]));
}

#[test]
fn pathological_inputs_stay_linear() {
    let secret = "a".repeat(1 << 20);
    let s = Scrubber::new([secret.as_str()]);
    let text = "a".repeat(64 * 1024);
    let started = std::time::Instant::now();
    assert_eq!(s.scrub(&text), REDACTED);
    let text = "ab".repeat(32 * 1024);
    assert_eq!(s.scrub(&text), text, "no fragment of 'aaa…' in 'abab…'");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn a_token_costs_little_memory() {
    // Every HTTP caller's client holds a scrubber of its own token: keep
    // it small (a DFA here was 1.1 MiB per caller).
    let tok: String = (0..900).map(|i| (b'a' + (i * 7 % 26) as u8) as char).collect();
    let s = Scrubber::new([tok.as_str(), "P@88w0rd"]);
    let bytes =
        s.exact.as_ref().map_or(0, AhoCorasick::memory_usage) + s.windows.as_ref().map_or(0, AhoCorasick::memory_usage);
    assert!(bytes < 256 * 1024, "{bytes} bytes");
    assert_eq!(s.scrub(&format!("x{tok}y")), "x[REDACTED]y");
}

#[test]
fn short_secrets_are_reported() {
    let s = Scrubber::new(["ab1", "longer-secret"]);
    assert!(s.quotes_short("value ab1 rejected"));
    assert!(!s.quotes_short("value abc rejected"));
    assert_eq!(s.scrub("x longer-secret y"), "x [REDACTED] y");
}
