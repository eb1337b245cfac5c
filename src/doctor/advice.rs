//! What a failure means and what to do about it: shared by the `doctor`
//! checks and `diagnose_access`.

use super::Advice;
use super::tenancy::devops_missing_advice;
use crate::kubesphere::KsError;
use crate::kubesphere::access::is_missing_route;

/// The exact command that relabels one namespace, or every namespace of the
/// workspace's DevOps projects when the name is not known.
pub fn relabel_command(workspace: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("kubectl label ns {ns} kubesphere.io/workspace={workspace} --overwrite"),
        None => format!(
            "for ns in $(kubectl get devopsprojects -l kubesphere.io/workspace={workspace} -o jsonpath='{{.items[*].metadata.name}}'); do kubectl label ns \"$ns\" kubesphere.io/workspace={workspace} --overwrite; done"
        ),
    }
}

/// DevOps projects of a workspace exist on a cluster but the user sees none.
pub fn hidden_projects_advice(workspace: &str, cluster: &str, namespace: Option<&str>) -> Advice {
    let which = namespace
        .map(|n| format!("namespace {n}"))
        .unwrap_or_else(|| "their namespaces".into());
    Advice::new(format!(
        "KubeSphere lists DevOps projects by the DevOpsProject's kubesphere.io/workspace label, then checks your access through the label of the project's namespace; when {which} lack kubesphere.io/workspace={workspace} (or name another workspace), workspace members can neither see nor use the projects. Less often: your workspace role does not reach DevOps projects"
    ))
    .fix("nothing to fix on your side; ask a KubeSphere administrator (the label is cluster-level)")
    .admin(format!(
        "on cluster {cluster}, check `kubectl get ns {} -o jsonpath='{{.metadata.labels.kubesphere\\.io/workspace}}'` and set it: `{}`",
        namespace.unwrap_or("<namespace>"),
        relabel_command(workspace, namespace)
    ))
}

/// Advice for a failed tenant call, from the error alone.
pub fn error_advice(e: &KsError) -> Advice {
    match e {
        KsError::Unauthorized { .. } | KsError::Login { .. } => {
            Advice::new("the login is not accepted").fix("run doctor and fix the login check first")
        }
        KsError::Forbidden { message, .. } => forbidden_advice(message),
        KsError::UnknownCluster { cluster, .. } => Advice::new(format!("KubeSphere knows no cluster {cluster:?}"))
            .fix("use a cluster the workspace is placed on (doctor lists them)"),
        e if is_missing_route(e) => devops_missing_advice("host"),
        KsError::NotFound { .. } => Advice::new("the object does not exist (or the name is wrong)")
            .fix("list first (list_workspaces, list_devops_projects, list_pipelines) and use the exact name"),
        KsError::Upstream { status: 503, .. } => Advice::new("KubeSphere or a member cluster is not ready")
            .fix("retry in a few minutes")
            .admin("`kubectl get clusters` on the host: the member cluster's Ready condition and its agent"),
        KsError::Network { .. } | KsError::Timeout { .. } => {
            Advice::new("KubeSphere did not answer").fix("run doctor: its reachability check says why")
        }
        other => Advice::new(format!("KubeSphere answered an error ({})", other.kind()))
            .fix("retry later; if it persists, report the message to the administrator"),
    }
}

/// A 403: which permission is missing, read from the `Status` message
/// (`User "u" cannot <verb> resource "<res>" in API group "<g>" in the namespace "<ns>"`).
pub fn forbidden_advice(message: &str) -> Advice {
    match parse_forbidden(message) {
        Some(p) => {
            let scope = match (&p.namespace, &p.workspace) {
                (Some(ns), _) => format!("in DevOps project (namespace) {ns}"),
                (None, Some(ws)) => format!("in workspace {ws}"),
                _ => "at the cluster scope".to_string(),
            };
            let admin = match &p.namespace {
                Some(ns) => format!(
                    "add {} to DevOps project {ns} with a role that allows `{} {}` (console: DevOps project → Project Members → Invite; operator can run pipelines, viewer only reads); if {} should already reach it through its workspace, check the namespace label: `kubectl get ns {ns} -o jsonpath='{{.metadata.labels.kubesphere\\.io/workspace}}'`",
                    p.user, p.verb, p.resource, p.user
                ),
                None => format!("grant {} a role {scope} that allows `{} {}`", p.user, p.verb, p.resource),
            };
            Advice::new(format!(
                "KubeSphere RBAC: user {} may not `{}` `{}` {scope}",
                p.user, p.verb, p.resource
            ))
            .fix("check the names (you may have the wrong project or workspace); otherwise this needs a role you do not have")
            .admin(admin)
        }
        None => Advice::new("KubeSphere RBAC refused the request")
            .fix("check the workspace and project names; tenants reach only the workspaces and projects they are members of")
            .admin("invite the user to the workspace or DevOps project it needs"),
    }
}

struct Forbidden {
    user: String,
    verb: String,
    resource: String,
    namespace: Option<String>,
    workspace: Option<String>,
}

fn quoted_after<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let i = s.find(key)? + key.len();
    let rest = s[i..].strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(&rest[..end])
}

fn parse_forbidden(m: &str) -> Option<Forbidden> {
    let user = quoted_after(m, "User ")?.to_string();
    let after = &m[m.find(" cannot ")? + 8..];
    let verb = after.split_whitespace().next()?.to_string();
    let resource = quoted_after(after, "resource ")?.to_string();
    Some(Forbidden {
        user,
        verb,
        resource,
        namespace: quoted_after(m, "in the namespace ").map(str::to_string),
        workspace: quoted_after(m, "in the workspace ").map(str::to_string),
    })
}

/// A failed per-cluster project list.
pub fn cluster_error_advice(e: &KsError, workspace: &str, cluster: &str) -> Advice {
    match e {
        KsError::Forbidden { .. } => Advice::new(format!(
            "workspace {workspace} is placed on cluster {cluster}, but your workspace role does not reach it there"
        ))
        .fix(format!("use the projects on the other clusters, or ask for access on {cluster}"))
        .admin(format!(
            "check the user's workspace role binding for {workspace} and that the workspace is really placed on {cluster} (Workspace Settings → Basic Information → clusters)"
        )),
        _ => error_advice(e),
    }
}

/// A failed read inside a project the user can see.
pub fn project_error_advice(e: &KsError, project: &str, workspace: &str) -> Advice {
    match e {
        KsError::Forbidden { message, .. } => {
            let mut a = forbidden_advice(message);
            a.meaning = format!(
                "you can see DevOps project {project} (workspace {workspace}) but not this part of it: {}",
                a.meaning
            );
            a
        }
        _ => error_advice(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_missing_permission_from_a_403() {
        let m = r#"pipelines.devops.kubesphere.io "p1" is forbidden: User "alice" cannot create resource "pipelines/pipelineruns" in API group "devops.kubesphere.io" in the namespace "other-devopsx1""#;
        let p = parse_forbidden(m).unwrap();
        assert_eq!((p.user.as_str(), p.verb.as_str()), ("alice", "create"));
        assert_eq!(p.resource, "pipelines/pipelineruns");
        assert_eq!(p.namespace.as_deref(), Some("other-devopsx1"));
        let a = forbidden_advice(m);
        assert!(a.admin_fix.unwrap().contains("other-devopsx1"));
        assert!(parse_forbidden("no user here").is_none());
    }

    #[test]
    fn relabel_commands_are_exact() {
        assert_eq!(
            relabel_command("lab", Some("lab-ci")),
            "kubectl label ns lab-ci kubesphere.io/workspace=lab --overwrite"
        );
        assert!(relabel_command("lab", None).contains("-l kubesphere.io/workspace=lab"));
    }
}
