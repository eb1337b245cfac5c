//! Tests of [`super`] (path.rs).

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
    // Encoding one segment is no protection: upstream decodes the whole
    // path before routing, so `..%2F` is a `..` segment there.
    let walk = ApiPath::kapi(gv::DEVOPS_V1ALPHA2)
        .lit("namespaces")
        .seg("ns")
        .lit("pipelines/p/branches")
        .seg("../../../other/pipelines/x");
    assert!(check_allowed(&walk.for_cluster(&Cluster::Host)).is_err());
    let b = BranchName::parse("feature/x").unwrap();
    let p = ApiPath::kapi(gv::DEVOPS_V1ALPHA2)
        .lit("namespaces")
        .seg("ns")
        .lit("pipelines/p/branches")
        .branch(&b);
    assert_eq!(
        p.as_str(),
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/ns/pipelines/p/branches/feature%252Fx"
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
        // Checked as upstream routes it: decoded once, then split (§16 U3).
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/stone-devops/pipelines/broken-build/branches/..%2F..%2F..%2F..%2Fkubesphere-devops-system%2Fpipelines%2Fx/runs/1",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/stone-devops/pipelines/p/branches/..%2F..%2F..%2F..%2Fother%2Fpipelines%2Fx/runs/1",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/p/branches/x%2F%2Fy/runs/1",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/p/branches/x%2F.%2Fy/runs/1",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/p/branches/%2Fapis%2Fx/runs/1",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/%2E/x",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/p%00/x",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/p%0A/x",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/p%zz/x",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/p%2/x",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/p%FF/x",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/x/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/api/v1/secrets",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/kubesphere-devops-system%2Fx/y",
        // Jenkins decodes a path parameter once more: no walk there either.
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/p/branches/..%252F..%252Fx/runs/1",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/p/branches/%252E%252E/runs/1",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/p/branches/x%252F.%252Fy/runs/1",
    ] {
        assert!(check_allowed(bad).is_err(), "{bad} allowed");
    }
    for ok in [
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/p/branches/feature%252Flogin/runs/1",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/p/branches/50%2525off/runs/1",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/a/pipelines/p/branches/v1.2..x/runs/1",
    ] {
        assert!(check_allowed(ok).is_ok(), "{ok} refused");
    }
}

#[test]
fn branch_names_have_three_spellings() {
    let b = BranchName::parse("feature/login").unwrap();
    assert_eq!(b.raw(), "feature/login");
    assert_eq!(b.encoded(), "feature%2Flogin");
    assert_eq!(b.segment(), "feature%252Flogin");
    assert_eq!(b.to_string(), "feature/login");
    assert_eq!(serde_json::to_value(&b).unwrap(), serde_json::json!("feature/login"));
    // The encoded form (any case), `refs/heads/` and blanks mean the same branch.
    for same in [
        "feature%2Flogin",
        "feature%2flogin",
        "refs/heads/feature/login",
        " feature/login ",
    ] {
        assert_eq!(BranchName::parse(same).unwrap(), b, "{same}");
    }
    assert_eq!(BranchName::from_encoded("feature%2Flogin").unwrap(), b);
    assert_eq!(BranchName::from_encoded("feature/login").unwrap(), b);
    // Jenkins' NameEncoder escapes only # % / ? [ ] \ ; plain names are their own encoding.
    for (raw, enc) in [
        ("main", "main"),
        ("release/1.2", "release%2F1.2"),
        (
            "dependabot/npm_and_yarn/lodash-4.17.21",
            "dependabot%2Fnpm_and_yarn%2Flodash-4.17.21",
        ),
        ("50%off", "50%25off"),
        ("issue#12", "issue%2312"),
        ("a]b", "a%5Db"),
        ("feat+x@y", "feat+x@y"),
        ("ünï/cødé", "ünï%2Fcødé"),
    ] {
        let b = BranchName::from_raw(raw).unwrap();
        assert_eq!(b.encoded(), enc, "{raw}");
        assert_eq!(BranchName::from_encoded(enc).unwrap(), b, "{enc}");
        assert_eq!(BranchName::parse(&b.encoded()).unwrap(), b, "{enc}");
    }
    // A literal `%` is typed encoded: never decoded twice or half.
    assert_eq!(BranchName::parse("50%25off").unwrap().raw(), "50%off");
    assert_eq!(BranchName::parse("a%252Fb").unwrap().raw(), "a%2Fb");
    assert_eq!(BranchName::parse("a%252Fb").unwrap().segment(), "a%25252Fb");
    assert!(BranchName::parse("50%off").is_err());
    assert!(BranchName::parse("a%20b").is_err());
}

#[test]
fn branch_names_follow_git_ref_rules() {
    for bad in [
        "",
        "   ",
        "..",
        "a..b",
        "../../../../kubesphere-devops-system/pipelines/x",
        "a/b/../../x",
        "/apis/x",
        "/api/v1/namespaces",
        "x/",
        "x//y",
        "x/./y",
        ".hidden",
        "a/.b",
        "a.lock",
        "a.lock/b",
        "x.",
        "ref@{1}",
        "@",
        "-x",
        "a b",
        "a\u{0}b",
        "a\nb",
        "a\u{7f}",
        "a\u{202e}b",
        "a~1",
        "a^",
        "a:b",
        "a?b",
        "a*b",
        "a[b",
        "a\\b",
        "..%2F..%2Fx",
        "..%252F..%252Fx",
        "%2E%2E",
        "%2e%2e/x",
        "%00",
        "%zz",
        "a%2",
        "a%5Cb",
        "a%3Fb",
        &"a".repeat(256),
    ] {
        let e = BranchName::parse(bad).expect_err(bad);
        assert_eq!(e.kind(), "invalid_branch", "{bad:?}");
        let msg = e.to_string();
        assert!(msg.len() < 600, "{bad:?}: {msg}");
        assert!(!msg.chars().any(|c| c.is_control() || c == '\u{202e}'), "{msg:?}");
    }
    for ok in [
        "main",
        "a",
        "feature/login",
        "v1.2.3",
        "a.b/c-d_e",
        "@x",
        "x@y",
        "PR-12",
        &"a".repeat(255),
    ] {
        assert!(BranchName::parse(ok).is_ok(), "{ok} refused");
    }
}

#[test]
fn clusters() {
    assert_eq!(Cluster::parse("host").unwrap(), Cluster::Host);
    assert_eq!(Cluster::parse("").unwrap(), Cluster::Host);
    assert_eq!(Cluster::parse("member-1").unwrap(), Cluster::Member("member-1".into()));
    assert!(Cluster::parse("../x").is_err());
}
