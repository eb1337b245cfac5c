//! Request paths: name validation, percent-encoding, cluster routing and the
//! tenant allowlist.
//!
//! Every URL the client calls is built here and passes [`check_allowed`]
//! in [`crate::kubesphere::KsClient`]'s single send path, so no code can
//! reach `/apis/...`, the Jenkins proxy or `kubesphere-devops-system`.

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

/// The tenant allowlist, applied to every path right before it is sent.
///
/// Allowed: `/oauth/token`, `/oauth/userinfo` (checking a caller's token),
/// `/healthz` (readiness), and `[/clusters/{c}]/kapis/...` with no segment
/// that is empty, `.`/`..`, the devops system namespace, or the Jenkins
/// admin proxy (`.../namespaces/{ns}/jenkins/...`).
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
    let Some(rest) = path.strip_prefix('/') else {
        return deny("the path is not absolute");
    };
    let raw: Vec<&str> = rest.split('/').collect();
    let mut segs = Vec::with_capacity(raw.len());
    for s in &raw {
        let decoded = percent_decode_str(s).decode_utf8_lossy().into_owned();
        if decoded.is_empty() || decoded == "." || decoded == ".." {
            return deny("empty, '.' or '..' path segments are not allowed");
        }
        if decoded.eq_ignore_ascii_case(FORBIDDEN_NAMESPACE) {
            return deny("kubesphere-devops-system is not reachable for tenants");
        }
        segs.push(decoded);
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
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(validate_label("x", "stone-devops").is_ok());
        assert!(validate_label("x", "a").is_ok());
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", "a/b", "..", &"a".repeat(64)] {
            assert!(validate_label("x", bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_subdomain("x", "a.b-c").is_ok());
        assert!(validate_subdomain("x", "a..b").is_err());
    }

    #[test]
    fn segments_are_encoded() {
        let p = ApiPath::kapi(gv::DEVOPS_V1ALPHA2)
            .lit("namespaces")
            .seg("ns")
            .lit("pipelines/p/branches")
            .seg("feature/x?y=../%");
        assert_eq!(
            p.as_str(),
            "/kapis/devops.kubesphere.io/v1alpha2/namespaces/ns/pipelines/p/branches/feature%2Fx%3Fy%3D..%2F%25"
        );
        assert!(check_allowed(&p.for_cluster(&Cluster::Host)).is_ok());
        assert_eq!(
            p.for_cluster(&Cluster::Member("member-1".into())),
            format!("/clusters/member-1{}", p.as_str())
        );
        assert_eq!(
            ApiPath::oauth_token().for_cluster(&Cluster::Member("m".into())),
            "/oauth/token"
        );
    }

    #[test]
    fn allowlist() {
        for ok in [
            "/oauth/token",
            "/oauth/userinfo",
            "/healthz",
            "/kapis/tenant.kubesphere.io/v1beta1/workspaces",
            "/clusters/member-1/kapis/devops.kubesphere.io/v1alpha3/namespaces/a/pipelines",
            "/kapis/devops.kubesphere.io/v1alpha3/namespaces/a/pipelines/jenkins",
        ] {
            assert!(check_allowed(ok).is_ok(), "{ok} refused");
        }
        for bad in [
            "/apis/devops.kubesphere.io/v1alpha3/devopsprojects",
            "/clusters/member-1/apis/devops.kubesphere.io/v1alpha3/devopsprojects",
            "/api/v1/namespaces/default/pods",
            "/kapis/devops.kubesphere.io/v1alpha3/namespaces/kubesphere-devops-system/pipelines",
            "/kapis/devops.kubesphere.io/v1alpha3/namespaces/KUBESPHERE-DEVOPS-SYSTEM/pipelines",
            "/kapis/devops.kubesphere.io/v1alpha3/namespaces/kubesphere%2Ddevops%2Dsystem/x",
            "/kapis/devops.kubesphere.io/v1alpha2/namespaces/ns/jenkins/job/x",
            "/kapis/clusters/member-1/devops.kubesphere.io/v1alpha3/x",
            "/kapis/devops.kubesphere.io/v1alpha3/namespaces/%2E%2E/x",
            "/kapis/a/../../apis/x",
            "/oauth/authorize",
            "/oauth/keys",
            "/clusters/m/oauth/token",
            "/clusters/m/oauth/userinfo",
            "/healthz/x",
            "/clusters/m/healthz",
            "relative/kapis/x",
            "/kapis//x/y",
            "/kapis/x/y?a=b",
        ] {
            assert!(check_allowed(bad).is_err(), "{bad} allowed");
        }
    }

    #[test]
    fn clusters() {
        assert_eq!(Cluster::parse("host").unwrap(), Cluster::Host);
        assert_eq!(Cluster::parse("").unwrap(), Cluster::Host);
        assert_eq!(Cluster::parse("member-1").unwrap(), Cluster::Member("member-1".into()));
        assert!(Cluster::parse("../x").is_err());
    }
}
