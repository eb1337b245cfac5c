//! Small helpers: response builders for the different error layers, time
//! formats, query/form decoding, names, label selectors and list paging.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// Builds a response without any fallible builder step.
pub(crate) fn resp(code: u16, content_type: &str, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    set_header(&mut r, "content-type", content_type);
    r
}

pub(crate) fn set_header(r: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(HeaderName::from_static(name), v);
    }
}

/// JSON body (any status).
pub(crate) fn json(code: u16, v: &Value) -> Response {
    resp(code, "application/json", v.to_string())
}

pub(crate) fn ok_json(v: &Value) -> Response {
    json(200, v)
}

/// ks-devops handler error: the error string plus `\n`, text/plain, nosniff.
pub(crate) fn text_err(code: u16, msg: &str) -> Response {
    let mut r = resp(code, "text/plain; charset=utf-8", format!("{msg}\n"));
    set_header(&mut r, "x-content-type-options", "nosniff");
    r
}

/// What Go's `http.DetectContentType` makes of an error body written
/// without a content type (go-restful `WriteError` sets none).
fn sniffed_content_type(body: &str) -> &'static str {
    let t = body.trim_start().to_ascii_lowercase();
    if t.starts_with("<html") || t.starts_with("<!doctype html") || t.starts_with("<head") || t.starts_with("<body") {
        "text/html; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    }
}

/// A v1alpha2 handler's `parseErr`: HTTP 500 whatever Jenkins answered, the
/// Jenkins body as is (U5).
///
/// upstream: ks-devops pkg/kapis/devops/v1alpha2/devops.go:896-904 `parseErr`
/// (the `*devops.JkError` assertion never matches `*jenkins.JkError`) and
/// go-restful v3 response.go `WriteError` -> `WriteErrorString` (status, then
/// the bytes; no content type, so net/http sniffs one).
pub(crate) fn v2_passthrough_err(jenkins_body: &str) -> Response {
    resp(500, sniffed_content_type(jenkins_body), jenkins_body.to_string())
}

/// A Blue Ocean error body.
///
/// upstream: blueocean-commons ServiceException.generateResponse writes
/// `JsonConverter.toJson(new ErrorMessage(status, message))`; JsonConverter's
/// ObjectMapper has `INDENT_OUTPUT` (Jackson DefaultPrettyPrinter: `" : "`,
/// two-space indent, `[ ]` for an empty array, no trailing newline).
pub(crate) fn blue_ocean_error_body(code: u16, message: &str) -> String {
    format!(
        "{{\n  \"message\" : {},\n  \"code\" : {code},\n  \"errors\" : [ ]\n}}",
        Value::String(message.to_string())
    )
}

/// Jenkins' (Jetty's) HTML error page for a classic `/job/...` URL.
///
/// upstream: Jenkins runs in Jetty (winstone); an unresolvable Stapler URL
/// ends in `sendError(404)` and Jetty's ErrorHandler writes this page.
pub(crate) fn jenkins_error_page(code: u16, reason: &str, uri: &str) -> String {
    format!(
        "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n<title>Error {code} {reason}</title>\n</head>\n<body><h2>HTTP ERROR {code} {reason}</h2>\n<table>\n<tr><th>URI:</th><td>{uri}</td></tr>\n<tr><th>STATUS:</th><td>{code}</td></tr>\n<tr><th>MESSAGE:</th><td>{reason}</td></tr>\n<tr><th>SERVLET:</th><td>Stapler</td></tr>\n</table>\n<hr/><a href=\"https://eclipse.org/jetty\">Powered by Jetty:// 9.4.43.v20210629</a><hr/>\n\n</body>\n</html>\n"
    )
}

/// ks-devops `kapis.HandleInternalError`: HTTP 500, `http.Error` with the
/// error string HTML-escaped (`&`, `<`, `>`).
///
/// upstream: ks-devops pkg/kapis/utils.go:30-36,108-112 (`sanitizer`,
/// `handle` -> `http.Error(resp, sanitizer.Replace(err.Error()), code)`).
pub(crate) fn handle_internal_error(err: &str) -> Response {
    let sanitized = err.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    text_err(500, &sanitized)
}

/// KubeSphere core `http.Error` style (tenant, iam): same as [`text_err`].
pub(crate) fn core_text_err(code: u16, msg: &str) -> Response {
    text_err(code, msg)
}

/// go-restful routing errors (`404: Page Not Found`, ...), no trailing newline.
pub(crate) fn restful(code: u16) -> Response {
    let msg = match code {
        404 => "404: Page Not Found",
        405 => "405: Method Not Allowed",
        406 => "406: Not Acceptable",
        415 => "415: Unsupported Media Type",
        _ => "500: Internal Server Error",
    };
    resp(code, "text/plain; charset=utf-8", msg)
}

/// Kubernetes `Status` failure object.
pub(crate) fn k8s_status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Response {
    let mut v = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let (Some(d), Some(obj)) = (details, v.as_object_mut()) {
        obj.insert("details".into(), d);
    }
    let mut r = json(code, &v);
    set_header(&mut r, "x-content-type-options", "nosniff");
    r
}

/// 401 from the authentication filter.
pub(crate) fn unauthorized(message: &str) -> Response {
    k8s_status(401, "Unauthorized", message, None)
}

/// What the authorizer saw, used to build the 403 message (§12.1).
#[derive(Debug, Clone, Default)]
pub(crate) struct Attrs {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    pub namespace: String,
    /// Non-resource request path (for `/version`, `/foo`, ...).
    pub path: Option<String>,
}

/// 403 `Status` in the exact Kubernetes wording.
pub(crate) fn forbidden(user: &str, a: &Attrs) -> Response {
    if let Some(path) = &a.path {
        let msg = format!("forbidden: User \"{user}\" cannot {} path \"{path}\"", a.verb);
        return k8s_status(403, "Forbidden", &msg, Some(json!({})));
    }
    let mut res = a.resource.clone();
    if !a.subresource.is_empty() {
        res = format!("{res}/{}", a.subresource);
    }
    let reason = if a.namespace.is_empty() {
        format!(
            "User \"{user}\" cannot {} resource \"{res}\" in API group \"{}\" at the cluster scope",
            a.verb, a.group
        )
    } else {
        format!(
            "User \"{user}\" cannot {} resource \"{res}\" in API group \"{}\" in the namespace \"{}\"",
            a.verb, a.group, a.namespace
        )
    };
    let qualified = if a.group.is_empty() {
        a.resource.clone()
    } else {
        format!("{}.{}", a.resource, a.group)
    };
    let msg = if a.name.is_empty() {
        format!("{qualified} is forbidden: {reason}")
    } else {
        format!("{qualified} \"{}\" is forbidden: {reason}", a.name)
    };
    let mut details = serde_json::Map::new();
    if !a.name.is_empty() {
        details.insert("name".into(), json!(a.name));
    }
    details.insert("group".into(), json!(a.group));
    details.insert("kind".into(), json!(a.resource));
    k8s_status(403, "Forbidden", &msg, Some(Value::Object(details)))
}

/// Kubernetes timestamps: RFC 3339, seconds, `Z`.
pub(crate) fn k8s_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Go's `time.Time.String()` of a UTC time without the monotonic reading,
/// e.g. `2026-03-18 06:46:04.123456789 +0000 UTC` (trailing zeros of the
/// fraction dropped). ks-devops writes sync times this way
/// (`ks-devops:pkg/models/devops/common.go:39` GetSyncNowTime).
pub(crate) fn go_time_string(t: DateTime<Utc>) -> String {
    let nanos = t.timestamp_subsec_nanos();
    let frac = if nanos == 0 {
        String::new()
    } else {
        format!(".{nanos:09}").trim_end_matches('0').to_string()
    };
    format!("{}{frac} +0000 UTC", t.format("%Y-%m-%d %H:%M:%S"))
}

/// RFC 3339 in UTC with whole seconds, or JSON `null` for no time: how
/// jenkins-client's `job.Time` marshals (`jenkins-client:pkg/job/time.go:45-53`).
pub(crate) fn go_job_time(t: Option<DateTime<Utc>>) -> Value {
    match t {
        Some(t) => json!(t.to_rfc3339_opts(SecondsFormat::Secs, true)),
        None => Value::Null,
    }
}

/// Jenkins timestamps: `yyyy-MM-dd'T'HH:mm:ss.SSS+0000`.
pub(crate) fn jenkins_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
pub(crate) fn form_decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

/// Go's `url.QueryUnescape`: like [`form_decode`] but fails on a bad escape.
pub(crate) fn query_unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let ok = b.get(i + 1).is_some_and(|c| c.is_ascii_hexdigit())
                && b.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit());
            if !ok {
                return None;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Some(form_decode(s))
}

/// Parses a query string or form body into ordered pairs.
pub(crate) fn parse_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    let Some(raw) = raw else { return Vec::new() };
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (form_decode(k), form_decode(v)),
            None => (form_decode(p), String::new()),
        })
        .collect()
}

/// The name of the Jenkins job of a branch, which Blue Ocean reports as the
/// branch `name` (and ks-devops as `rawName`'s encoded twin, §16 U3/U4):
/// only `#`, `%`, `/`, `?`, `[`, `]`, `\` are escaped, everything else is
/// kept. upstream: jenkinsci/branch-api-plugin
/// src/main/java/jenkins/branch/NameEncoder.java `encode`.
pub(crate) fn name_encode(raw: &str) -> String {
    match raw {
        "" => return "%00".into(),
        "." => return "%2E".into(),
        ".." => return "%2E.".into(),
        _ => {}
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for c in raw.chars() {
        match c {
            '#' => out.push_str("%23"),
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            '?' => out.push_str("%3F"),
            '[' => out.push_str("%5B"),
            ']' => out.push_str("%5D"),
            '\\' => out.push_str("%5C"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.PathUnescape` as `net/http` applies it to the request target
/// (upstream: go `net/url/url.go` `unescape` in `encodePath` mode, called
/// by `url.ParseRequestURI` in `net/http/request.go` `readRequest`): every
/// `%` must start a two-digit hex escape, otherwise the request is refused
/// before any handler runs. Decodes the whole path at once, so `%2F`
/// becomes a real `/`.
pub(crate) fn go_unescape_path(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let ok = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return None;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Some(
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// Go's `net/http` `cleanPath`: `path.Clean` (drop `.` and empty segments,
/// resolve `..` lexically, never above the root) keeping a trailing slash.
/// upstream: go `net/http/server.go` `cleanPath`, `path/path.go` `Clean`.
pub(crate) fn go_clean_path(p: &str) -> String {
    if p.is_empty() {
        return "/".into();
    }
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut np = format!("/{}", out.join("/"));
    if p.ends_with('/') && np != "/" {
        np.push('/');
    }
    np
}

/// Go's `url.URL.EscapedPath` for a path without `RawPath`: what a Go
/// server writes into a `Location` header (upstream: go `net/url/url.go`
/// `shouldEscape` in `encodePath` mode keeps `$&+,/:;=@`).
pub(crate) fn go_escape_path(p: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b',')
        .remove(b'/')
        .remove(b':')
        .remove(b';')
        .remove(b'=')
        .remove(b'@');
    percent_encoding::utf8_percent_encode(p, SET).to_string()
}

/// Percent-encodes every non-unreserved character (hrefs, artifact ids).
pub(crate) fn encode_segment(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

const NAME_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Five random characters as Kubernetes `generateName` appends.
pub(crate) fn random_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..5)
        .map(|_| NAME_CHARS[rng.random_range(0..NAME_CHARS.len())] as char)
        .collect()
}

pub(crate) fn random_hex(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16u32), 16).unwrap_or('0'))
        .collect()
}

pub(crate) fn uid() -> String {
    let h = random_hex(32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Kubernetes DNS-1123 subdomain check (simplified).
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
}

/// Deterministic 64-bit FNV-1a hash.
pub(crate) fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

pub(crate) fn b64(s: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

pub(crate) fn b64url(s: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// `metadata.name` of an object.
pub(crate) fn meta_name(v: &Value) -> &str {
    v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
}

pub(crate) fn annotation<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

pub(crate) fn label<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get("metadata")?.get("labels")?.get(key)?.as_str()
}

/// Returns `metadata.<field>` as a mutable object, creating it if needed.
pub(crate) fn meta_map<'a>(v: &'a mut Value, field: &str) -> &'a mut serde_json::Map<String, Value> {
    if !v.is_object() {
        *v = json!({});
    }
    let obj = match v.as_object_mut() {
        Some(o) => o,
        None => unreachable_map(),
    };
    let meta = obj.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    let meta = match meta.as_object_mut() {
        Some(m) => m,
        None => unreachable_map(),
    };
    let f = meta.entry(field.to_string()).or_insert_with(|| json!({}));
    if !f.is_object() {
        *f = json!({});
    }
    match f.as_object_mut() {
        Some(m) => m,
        None => unreachable_map(),
    }
}

#[allow(clippy::panic)]
fn unreachable_map() -> ! {
    // Only reachable if a value we just made an object is not an object.
    panic!("internal: object expected")
}

pub(crate) fn set_annotation(v: &mut Value, key: &str, val: impl Into<String>) {
    meta_map(v, "annotations").insert(key.to_string(), Value::String(val.into()));
}

pub(crate) fn set_label(v: &mut Value, key: &str, val: impl Into<String>) {
    meta_map(v, "labels").insert(key.to_string(), Value::String(val.into()));
}

/// Sets `metadata.<key>` to a value.
pub(crate) fn set_meta(v: &mut Value, key: &str, val: Value) {
    if !v.is_object() {
        *v = json!({});
    }
    if let Some(obj) = v.as_object_mut() {
        let meta = obj.entry("metadata").or_insert_with(|| json!({}));
        if !meta.is_object() {
            *meta = json!({});
        }
        if let Some(m) = meta.as_object_mut() {
            m.insert(key.to_string(), val);
        }
    }
}

/// Matches a simple Kubernetes label selector (`a=b,c!=d,e,!f`, `==`).
pub(crate) fn selector_matches(sel: &str, obj: &Value) -> bool {
    for term in sel.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let ok = if let Some((k, v)) = term.split_once("!=") {
            label(obj, k.trim()) != Some(v.trim())
        } else if let Some((k, v)) = term.split_once("==") {
            label(obj, k.trim()) == Some(v.trim())
        } else if let Some((k, v)) = term.split_once('=') {
            label(obj, k.trim()) == Some(v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            label(obj, k.trim()).is_none()
        } else {
            label(obj, term).is_some()
        };
        if !ok {
            return false;
        }
    }
    true
}

/// The common KubeSphere list query (§12.3).
#[derive(Debug, Clone, Default)]
pub(crate) struct ListQuery {
    pub page: usize,
    pub limit: Option<usize>,
    pub sort_by: String,
    pub ascending: bool,
    pub name: Option<String>,
    pub label_selector: Option<String>,
    /// Every key that is not page/limit/sortBy/ascending/labelSelector.
    pub filters: Vec<(String, String)>,
}

impl ListQuery {
    pub(crate) fn parse(pairs: &[(String, String)]) -> ListQuery {
        let mut q = ListQuery {
            page: 1,
            sort_by: "creationTimestamp".into(),
            ..ListQuery::default()
        };
        for (k, v) in pairs {
            match k.as_str() {
                "page" => q.page = v.parse().unwrap_or(1).max(1),
                "limit" => q.limit = v.parse().ok(),
                "sortBy" => {
                    if !v.is_empty() {
                        q.sort_by = v.clone()
                    }
                }
                "ascending" => q.ascending = v == "true",
                "labelSelector" => q.label_selector = Some(v.clone()),
                _ => {
                    if k == "name" && !v.is_empty() {
                        q.name = Some(v.clone());
                    }
                    q.filters.push((k.clone(), v.clone()));
                }
            }
        }
        q
    }

    pub(crate) fn filter(&self, key: &str) -> Option<&str> {
        self.filters.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// `name` substring on metadata.name or the alias-name annotation.
    pub(crate) fn name_matches(&self, v: &Value) -> bool {
        match &self.name {
            None => true,
            Some(n) => {
                meta_name(v).contains(n.as_str())
                    || annotation(v, "kubesphere.io/alias-name").is_some_and(|a| a.contains(n.as_str()))
            }
        }
    }

    /// Sorts (creationTimestamp desc by default, or name) and pages.
    /// Returns the page and the total count before paging.
    pub(crate) fn sort_and_page(&self, mut items: Vec<Value>) -> (Vec<Value>, usize) {
        let by_name = self.sort_by == "name";
        items.sort_by(|a, b| {
            let ord = if by_name {
                meta_name(a).cmp(meta_name(b))
            } else {
                let ta = a
                    .pointer("/metadata/creationTimestamp")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let tb = b
                    .pointer("/metadata/creationTimestamp")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                ta.cmp(tb).then_with(|| meta_name(a).cmp(meta_name(b)))
            };
            if self.ascending { ord } else { ord.reverse() }
        });
        let total = items.len();
        (self.page_slice(items), total)
    }

    pub(crate) fn page_slice<T>(&self, items: Vec<T>) -> Vec<T> {
        match self.limit {
            None => items,
            Some(limit) => {
                let start = (self.page.saturating_sub(1)).saturating_mul(limit);
                items.into_iter().skip(start).take(limit).collect()
            }
        }
    }
}

/// `{"items":[...],"totalItems":N}` with `items:null` when empty.
pub(crate) fn list_null_when_empty(items: Vec<Value>, total: usize) -> Value {
    if items.is_empty() {
        json!({"items": null, "totalItems": total})
    } else {
        json!({"items": items, "totalItems": total})
    }
}

pub(crate) fn list_always(items: Vec<Value>, total: usize) -> Value {
    json!({"items": items, "totalItems": total})
}

/// Removes top-level `kind`/`apiVersion` (typed clientset responses).
pub(crate) fn strip_type_meta(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("kind");
        o.remove("apiVersion");
    }
    v
}
