//! Request paths: name validation, percent-encoding, cluster routing and the
//! tenant allowlist.
//!
//! Every URL the client calls is built here and passes [`check_allowed`]
//! in [`crate::KsClient`]'s single send path, so no code can
//! reach `/apis/...`, the Jenkins proxy or `kubesphere-devops-system`.
//!
//! Upstream routes on the *decoded* path (§16 U3): ks-apiserver and
//! go-restful decode the whole path once, then split it on `/`. So a
//! percent-encoded segment is no protection by itself: `..%2F` is `../`
//! upstream. Values are validated by the rules of what they name first
//! (names, run ids, [`BranchName`]); the allowlist then checks the path as
//! upstream will route it.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::error::{KsError, KsResult};

/// Characters left as they are in a path segment: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The namespace tenants must never touch.
pub const FORBIDDEN_NAMESPACE: &str = "kubesphere-devops-system";

/// Group/version prefixes of the kapis this server uses.
pub mod gv {
    pub const DEVOPS_V1ALPHA2: &str = "devops.kubesphere.io/v1alpha2";
    pub const DEVOPS_V1ALPHA3: &str = "devops.kubesphere.io/v1alpha3";
    pub const GITOPS_V1ALPHA1: &str = "gitops.kubesphere.io/v1alpha1";
    pub const TENANT_V1BETA1: &str = "tenant.kubesphere.io/v1beta1";
    pub const IAM_V1BETA1: &str = "iam.kubesphere.io/v1beta1";
}

/// Validates a DNS-1123 label (namespaces, workspaces, clusters, users).
pub fn validate_label<'a>(what: &'static str, value: &'a str) -> KsResult<&'a str> {
    validate(what, value, 63, false)
}

/// Validates a DNS-1123 subdomain (pipelines, credentials, runs, apps).
pub fn validate_subdomain<'a>(what: &'static str, value: &'a str) -> KsResult<&'a str> {
    validate(what, value, 253, true)
}

fn validate<'a>(what: &'static str, value: &'a str, max: usize, dots: bool) -> KsResult<&'a str> {
    let err = |reason| KsError::InvalidName {
        what,
        value: value.chars().take(80).collect(),
        reason,
        max,
    };
    if value.is_empty() {
        return Err(err("it is empty"));
    }
    if value.len() > max {
        return Err(err("it is too long"));
    }
    let bytes = value.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Err(err("it must start and end with a lower-case letter or digit"));
    }
    for (i, &b) in bytes.iter().enumerate() {
        let ok = alnum(b) || b == b'-' || (dots && b == b'.');
        if !ok {
            return Err(err(if b.is_ascii_uppercase() {
                "it has upper-case letters"
            } else {
                "it has a character other than a-z, 0-9 and '-'"
            }));
        }
        if dots && b == b'.' && (bytes.get(i + 1) == Some(&b'.') || bytes.get(i + 1) == Some(&b'-')) {
            return Err(err("it has an empty or malformed dot-separated part"));
        }
    }
    Ok(value)
}

/// Longest Git branch name accepted, in bytes (a Jenkins job directory
/// name is one file name).
pub const MAX_BRANCH_LEN: usize = 255;

/// A Git branch of a multi-branch pipeline, with upstream's spellings of it
/// (§16 U3, U4). For `feature/login`:
/// * [`BranchName::raw`] `feature/login`: the Git name (Blue Ocean
///   `displayName`, ks-devops `rawName`); what users type and see;
/// * [`BranchName::encoded`] `feature%2Flogin`: the Jenkins job name
///   (Blue Ocean and ks-devops `name`, `PipelineRun.spec.scm.refName`, the
///   `branch` trigger and list-filter value);
/// * [`BranchName::segment`] `feature%252Flogin`: the encoded name as one
///   v1alpha2 path segment; ks-apiserver decodes it once, so ks-devops gets
///   `feature%2Flogin`. A `%2F` on the wire would be two segments upstream
///   (404), and `..%2F` a walk to another route.
///
/// Only valid Git branch names exist (`git check-ref-format --branch`), so
/// no `..`, no `.` or empty part, no control character: the segment can
/// never address anything but a branch of the given pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BranchName {
    raw: String,
}

impl BranchName {
    /// A branch as a user typed it: the Git name (`feature/login`), or the
    /// encoded name KubeSphere shows (`feature%2Flogin`), which is decoded
    /// once (a `%` always means that form: a Git name with a literal `%` is
    /// typed encoded, `50%25off`). A leading `refs/heads/` is dropped, as
    /// upstream's trigger does.
    pub fn parse(input: &str) -> KsResult<BranchName> {
        let s = input.trim();
        let s = s.strip_prefix("refs/heads/").unwrap_or(s);
        let raw = if s.contains('%') {
            decode_branch(s).map_err(|reason| invalid_branch(input, reason))?
        } else {
            s.to_string()
        };
        match git_branch_problem(&raw) {
            Some(reason) => Err(invalid_branch(input, reason)),
            None => Ok(BranchName { raw }),
        }
    }

    /// A Git name as it is (no decoding), validated.
    pub fn from_raw(raw: &str) -> KsResult<BranchName> {
        match git_branch_problem(raw) {
            Some(reason) => Err(invalid_branch(raw, reason)),
            None => Ok(BranchName { raw: raw.to_string() }),
        }
    }

    /// The branch upstream names by its encoded name (a Blue Ocean `name`,
    /// a PipelineRun `refName`). A name without escapes is its own Git name.
    pub fn from_encoded(name: &str) -> KsResult<BranchName> {
        let raw = decode_branch(name).map_err(|reason| invalid_branch(name, reason))?;
        BranchName::from_raw(&raw)
    }

    /// The Git name (`feature/login`).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The Jenkins job name (`feature%2Flogin`): Jenkins branch-api
    /// `NameEncoder.encode` (upstream: jenkinsci/branch-api-plugin
    /// `src/main/java/jenkins/branch/NameEncoder.java`), which escapes only
    /// `#`, `%`, `/`, `?`, `[`, `]` and `\`.
    pub fn encoded(&self) -> String {
        let mut out = String::with_capacity(self.raw.len() + 8);
        for c in self.raw.chars() {
            match name_escape(c) {
                Some(e) => out.push_str(e),
                None => out.push(c),
            }
        }
        out
    }

    /// The encoded name as one path segment (`feature%252Flogin`).
    pub fn segment(&self) -> String {
        encode(&self.encoded())
    }
}

impl std::fmt::Display for BranchName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.raw)
    }
}

impl serde::Serialize for BranchName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

/// The characters Jenkins' `NameEncoder` escapes, and how.
fn name_escape(c: char) -> Option<&'static str> {
    Some(match c {
        '#' => "%23",
        '%' => "%25",
        '/' => "%2F",
        '?' => "%3F",
        '[' => "%5B",
        ']' => "%5D",
        '\\' => "%5C",
        _ => return None,
    })
}

/// Undoes `NameEncoder.encode`; any other `%` is refused, so a value is
/// never decoded twice or half.
fn decode_branch(s: &str) -> Result<String, &'static str> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let esc = rest.get(i..i + 3).unwrap_or("");
        let c = ['#', '%', '/', '?', '[', ']', '\\']
            .into_iter()
            .find(|c| name_escape(*c).is_some_and(|e| e.eq_ignore_ascii_case(esc)));
        match c {
            Some(c) => out.push(c),
            None => {
                return Err(
                    "it has a '%' that is not an escape of KubeSphere's encoded branch name (%2F stands for '/', %25 for '%')",
                );
            }
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Why a name is not a valid Git branch (`git check-ref-format --branch`
/// rules, plus no invisible or bidirectional control characters), if it is
/// not.
fn git_branch_problem(raw: &str) -> Option<&'static str> {
    if raw.is_empty() {
        return Some("it is empty");
    }
    if raw.len() > MAX_BRANCH_LEN {
        return Some("it is longer than 255 bytes");
    }
    if raw.chars().any(|c| {
        c.is_control()
            || c == ' '
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }) {
        return Some("it contains a space, a control character or an invisible direction mark");
    }
    if raw
        .chars()
        .any(|c| matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
    {
        return Some("Git forbids ~ ^ : ? * [ \\ in branch names");
    }
    if raw == "@" {
        return Some("'@' alone is not a branch name");
    }
    if raw.starts_with('-') {
        return Some("it starts with '-'");
    }
    if raw.starts_with('/') || raw.ends_with('/') || raw.contains("//") {
        return Some("it starts or ends with '/' or has an empty part ('//')");
    }
    if raw.contains("..") {
        return Some("it contains '..'");
    }
    if raw.contains("@{") {
        return Some("it contains '@{'");
    }
    if raw.ends_with('.') {
        return Some("it ends with '.'");
    }
    if raw
        .split('/')
        .any(|part| part.starts_with('.') || part.ends_with(".lock"))
    {
        return Some("a '/'-separated part starts with '.' or ends with '.lock'");
    }
    None
}

fn invalid_branch(value: &str, reason: &'static str) -> KsError {
    KsError::InvalidBranch {
        value: value.chars().take(80).collect(),
        reason,
    }
}

/// Which cluster a request is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cluster {
    /// The host cluster: no `/clusters/` prefix.
    Host,
    /// A member cluster, reached through `/clusters/{name}`.
    Member(String),
}

impl Cluster {
    /// Parses a cluster name; `host` (or empty) means the host cluster.
    pub fn parse(name: &str) -> KsResult<Cluster> {
        let name = name.trim();
        if name.is_empty() || name == "host" {
            return Ok(Cluster::Host);
        }
        validate_label("cluster name", name)?;
        Ok(Cluster::Member(name.to_string()))
    }

    /// The name an agent sees (`host` for the host cluster).
    pub fn name(&self) -> &str {
        match self {
            Cluster::Host => "host",
            Cluster::Member(n) => n,
        }
    }

    fn prefix(&self) -> String {
        match self {
            Cluster::Host => String::new(),
            Cluster::Member(n) => format!("/clusters/{}", encode(n)),
        }
    }
}

impl std::fmt::Display for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn encode(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// A path under `/kapis/{group}/{version}`, built segment by segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiPath(String);

impl ApiPath {
    /// Starts a path under `/kapis/{group_version}`.
    pub fn kapi(group_version: &'static str) -> ApiPath {
        ApiPath(format!("/kapis/{group_version}"))
    }

    /// The OAuth token endpoint.
    pub fn oauth_token() -> ApiPath {
        ApiPath("/oauth/token".to_string())
    }

    /// The OIDC userinfo endpoint (checks a caller's token).
    pub fn oauth_userinfo() -> ApiPath {
        ApiPath("/oauth/userinfo".to_string())
    }

    /// ks-apiserver's unauthenticated health endpoint (readiness probe).
    pub fn healthz() -> ApiPath {
        ApiPath("/healthz".to_string())
    }

    /// Appends literal, trusted segments (written in code, never user data).
    pub fn lit(mut self, segments: &'static str) -> ApiPath {
        self.0.push('/');
        self.0.push_str(segments.trim_matches('/'));
        self
    }

    /// Appends one segment from data: percent-encoded, so `/`, `?`, `%`, `..`
    /// can never change the route.
    pub fn seg(mut self, value: &str) -> ApiPath {
        self.0.push('/');
        self.0.push_str(&encode(value));
        self
    }

    /// Appends a branch as upstream wants it in a path: its encoded name as
    /// one segment (see [`BranchName`]).
    pub fn branch(self, b: &BranchName) -> ApiPath {
        self.seg(&b.encoded())
    }

    /// The path without cluster prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The full path for a cluster (oauth and healthz are never prefixed).
    pub fn for_cluster(&self, cluster: &Cluster) -> String {
        if self.0.starts_with("/oauth/") || self.0 == "/healthz" {
            self.0.clone()
        } else {
            format!("{}{}", cluster.prefix(), self.0)
        }
    }
}

/// The tenant allowlist, applied to every path right before it is sent,
/// to the path as upstream will route it: decoded once as a whole, then
/// split on `/` (§16 U3).
///
/// Allowed: `/oauth/token`, `/oauth/userinfo` (checking a caller's token),
/// `/healthz` (readiness), and `[/clusters/{c}]/kapis/...` with no segment
/// that is empty, `.`/`..`, the devops system namespace, or the Jenkins
/// admin proxy (`.../namespaces/{ns}/jenkins/...`). Since ks-devops pastes
/// a path parameter into a Jenkins URL that Jenkins decodes once more, a
/// segment that would hold a `.` or `..` part after that second decoding is
/// refused too.
pub fn check_allowed(path: &str) -> KsResult<()> {
    let deny = |reason| {
        Err(KsError::NotAllowed {
            path: path.chars().take(200).collect(),
            reason,
        })
    };
    if matches!(path, "/oauth/token" | "/oauth/userinfo" | "/healthz") {
        return Ok(());
    }
    if path.contains('?') || path.contains('#') {
        return deny("a path may not carry a query or fragment");
    }
    if !path.starts_with('/') {
        return deny("the path is not absolute");
    }
    // upstream: go net/url `unescape` (encodePath): a bad escape is a 400.
    let bytes = path.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return deny("a '%' that starts no percent-escape");
        }
    }
    let Ok(decoded) = percent_decode_str(path).decode_utf8() else {
        return deny("the decoded path is not UTF-8");
    };
    if decoded.chars().any(char::is_control) {
        return deny("the decoded path holds control characters");
    }
    let raw: Vec<&str> = decoded[1..].split('/').collect();
    let mut segs: Vec<String> = Vec::with_capacity(raw.len());
    for s in &raw {
        if s.is_empty() || *s == "." || *s == ".." {
            return deny("empty, '.' or '..' path segments are not allowed (upstream decodes the path before routing)");
        }
        if s.eq_ignore_ascii_case(FORBIDDEN_NAMESPACE) {
            return deny("kubesphere-devops-system is not reachable for tenants");
        }
        if s.contains('%') {
            let twice = percent_decode_str(s).decode_utf8_lossy();
            if twice.split('/').any(|c| c == "." || c == "..") {
                return deny("a segment that walks to another Jenkins job once decoded again");
            }
        }
        segs.push((*s).to_string());
    }
    let mut i = 0;
    if segs.first().map(String::as_str) == Some("clusters") {
        if segs.len() < 2 {
            return deny("a cluster prefix needs a cluster name");
        }
        i = 2;
    }
    match segs.get(i).map(String::as_str) {
        Some("kapis") => {}
        Some("apis") | Some("api") => {
            return deny("cluster-scoped Kubernetes APIs (/apis, /api) answer 403 to tenants");
        }
        Some("oauth") => return deny("only /oauth/token and /oauth/userinfo are used, and only on the host"),
        _ => return deny("only /kapis/... routes are allowed"),
    }
    if segs.get(i + 1).map(String::as_str) == Some("clusters") {
        return deny("use the /clusters/{cluster} prefix, not /kapis/clusters/");
    }
    for w in segs[i..].windows(3) {
        if w[0] == "namespaces" && w[2] == "jenkins" {
            return deny("the raw Jenkins proxy runs with admin credentials and is never used");
        }
    }
    if segs.len() < i + 3 {
        return deny("a kapi path needs a group and a version");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
