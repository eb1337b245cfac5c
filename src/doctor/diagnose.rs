//! Why a workspace, DevOps project or pipeline fails or is missing, for one
//! user: the checks of `doctor` scoped to what the user tried, for the
//! `diagnose_access` MCP tool (advice texts in [`super::advice`]).

use schemars::JsonSchema;
use serde::Serialize;

use super::advice::{error_advice, forbidden_advice, hidden_projects_advice, project_error_advice};
use super::tenancy::devops_missing_advice;
use crate::kubesphere::access::{ProjectListing, is_missing_route};
use crate::kubesphere::{Cluster, KsClient, KsError, ListQuery};

/// What the user tried.
#[derive(Clone, Debug, Default)]
pub struct Subject {
    pub workspace: Option<String>,
    pub project: Option<String>,
    pub pipeline: Option<String>,
    pub cluster: Option<String>,
    /// An error text the user got.
    pub error: Option<String>,
}

/// One thing looked at.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Finding {
    /// What was checked.
    pub check: String,
    /// `ok`, `problem` or `info`.
    pub status: String,
    pub detail: String,
}

/// A DevOps project that matches the name given.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq, Eq)]
pub struct ProjectHit {
    /// Full name (the namespace): what tools take as `project`.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_name: Option<String>,
    pub workspace: String,
    pub cluster: String,
}

/// The answer: findings, the likely cause, what the agent does next and
/// what to ask an administrator for.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Diagnosis {
    /// The KubeSphere user checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub findings: Vec<Finding>,
    /// The most likely cause, in one sentence.
    pub cause: String,
    /// What the agent should do next.
    pub next_step: String,
    /// What only an administrator can do, with the command where one exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ask_admin: Option<String>,
    /// Projects matching the name given (several = ask the user which).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<ProjectHit>,
}

fn finding(check: &str, status: &str, detail: impl Into<String>) -> Finding {
    Finding {
        check: check.into(),
        status: status.into(),
        detail: detail.into(),
    }
}

/// Checks the user's access to what `subject` names and explains any
/// failure.
pub async fn diagnose(client: &KsClient, subject: &Subject) -> Diagnosis {
    let mut findings = Vec::new();
    let d = |cause: String, next: String, admin: Option<String>, findings: Vec<Finding>, candidates| Diagnosis {
        user: None,
        findings,
        cause,
        next_step: next,
        ask_admin: admin,
        candidates,
    };
    // Token.
    let user = match client.userinfo().await {
        Ok(info) => {
            let u = info.username().unwrap_or_default().to_string();
            findings.push(finding("token", "ok", format!("the token is valid; user {u}")));
            u
        }
        Err(e) => {
            findings.push(finding("token", "problem", e.to_string()));
            let a = error_advice(&e);
            return d(a.meaning, a.fix.unwrap_or_default(), a.admin_fix, findings, Vec::new());
        }
    };
    let with_user = |mut x: Diagnosis| {
        x.user = Some(user.clone());
        x
    };
    // Workspaces.
    let workspaces: Vec<String> = match client.list_workspaces().await {
        Ok(ws) => ws
            .into_iter()
            .map(|w| w.metadata.name)
            .filter(|n| !n.is_empty())
            .collect(),
        Err(e) => {
            findings.push(finding("workspaces", "problem", e.to_string()));
            let a = error_advice(&e);
            return with_user(d(
                a.meaning,
                a.fix.unwrap_or_default(),
                a.admin_fix,
                findings,
                Vec::new(),
            ));
        }
    };
    findings.push(finding(
        "workspaces",
        if workspaces.is_empty() { "problem" } else { "ok" },
        if workspaces.is_empty() {
            "member of no workspace".to_string()
        } else {
            format!("member of {}", workspaces.join(", "))
        },
    ));
    if let Some(ws) = subject
        .workspace
        .as_deref()
        .filter(|w| !workspaces.iter().any(|x| x == w))
    {
        let probe = client.workspace_cluster_summaries(ws).await;
        let (cause, admin) = match &probe {
            Err(KsError::NotFound { .. }) => (format!("workspace {ws} does not exist"), None),
            Err(KsError::InvalidName { .. }) => (format!("{ws:?} is not a valid workspace name"), None),
            _ => (
                format!("{user} is not a member of workspace {ws}, so KubeSphere refuses (403) everything in it"),
                Some(format!(
                    "invite {user} to workspace {ws} (console: Workspaces → {ws} → Workspace Settings → Workspace Members → Invite), and to its DevOps project if needed"
                )),
            ),
        };
        findings.push(finding("workspace", "problem", cause.clone()));
        return with_user(d(
            cause,
            format!(
                "Tell the user; their workspaces are {}. Do not retry with other names unless the user gives them.",
                if workspaces.is_empty() {
                    "none".into()
                } else {
                    workspaces.join(", ")
                }
            ),
            admin,
            findings,
            Vec::new(),
        ));
    }
    if workspaces.is_empty() {
        return with_user(d(
            format!("{user} is a member of no workspace: every DevOps project is out of reach"),
            "Tell the user they need a workspace invitation.".into(),
            Some(format!(
                "invite {user} to the workspace that owns the DevOps project (Workspace Members → Invite)"
            )),
            findings,
            Vec::new(),
        ));
    }
    // Projects on every cluster of the relevant workspaces.
    let scope: Vec<String> = match &subject.workspace {
        Some(w) => vec![w.clone()],
        None => workspaces.clone(),
    };
    let mut seen: Vec<ProjectHit> = Vec::new();
    let mut hidden: Vec<(String, String)> = Vec::new();
    let mut clusters_all: Vec<Cluster> = Vec::new();
    for ws in &scope {
        let clusters: Vec<Cluster> = match client.workspace_cluster_summaries(ws).await {
            Ok(cs) if !cs.is_empty() => cs.iter().filter_map(|c| Cluster::parse(&c.name).ok()).collect(),
            _ => vec![client.default_cluster().clone()],
        };
        for c in clusters {
            if !clusters_all.contains(&c) {
                clusters_all.push(c.clone());
            }
            match client.devops_project_listing(&c, ws).await {
                Ok(ProjectListing::Visible(ps)) => seen.extend(ps.iter().map(|p| ProjectHit {
                    name: p.namespace().to_string(),
                    short_name: p.metadata.generate_name.clone().filter(|g| !g.is_empty()),
                    workspace: ws.clone(),
                    cluster: c.name().to_string(),
                })),
                Ok(ProjectListing::NoneLabelled) => {}
                Ok(ProjectListing::AllHidden) => {
                    findings.push(finding(
                        &format!("projects {ws}@{c}"),
                        "problem",
                        format!("DevOps projects of {ws} exist on {c}, but the list shows none of them to {user} ({{\"items\":null,\"totalItems\":0}})"),
                    ));
                    hidden.push((ws.clone(), c.name().to_string()));
                }
                Err(e) if is_missing_route(&e) => {
                    findings.push(finding(
                        &format!("projects {ws}@{c}"),
                        "problem",
                        "the DevOps API is not installed there (404 on its routes)",
                    ));
                    let a = devops_missing_advice(c.name());
                    return with_user(d(
                        a.meaning,
                        "Tell the user DevOps is not available on this KubeSphere.".into(),
                        a.admin_fix,
                        findings,
                        Vec::new(),
                    ));
                }
                Err(e) => findings.push(finding(&format!("projects {ws}@{c}"), "problem", e.to_string())),
            }
        }
    }
    findings.push(finding(
        "visible projects",
        "info",
        if seen.is_empty() {
            "none".to_string()
        } else {
            seen.iter()
                .map(|p| format!("{} ({}@{})", p.name, p.workspace, p.cluster))
                .collect::<Vec<_>>()
                .join(", ")
        },
    ));
    let Some(wanted) = subject.project.as_deref().filter(|p| !p.is_empty()) else {
        // Workspace only (or nothing): report what is hidden.
        if let Some((ws, c)) = hidden.first() {
            let a = hidden_projects_advice(ws, c, None);
            return with_user(d(
                a.meaning,
                "Tell the user which projects are hidden and that an administrator must fix the namespace label."
                    .into(),
                a.admin_fix,
                findings,
                Vec::new(),
            ));
        }
        if let Some(err) = &subject.error {
            return with_user(explain_error(err, findings));
        }
        return with_user(d(
            "no access problem found".into(),
            "Use list_devops_projects to pick a project; ask the user what failed if something still does.".into(),
            None,
            findings,
            Vec::new(),
        ));
    };
    // Match the project name: exact, then short name, then prefix.
    let exact: Vec<ProjectHit> = seen.iter().filter(|p| p.name == wanted).cloned().collect();
    let short: Vec<ProjectHit> = seen
        .iter()
        .filter(|p| p.short_name.as_deref() == Some(wanted))
        .cloned()
        .collect();
    let prefix: Vec<ProjectHit> = seen
        .iter()
        .filter(|p| p.name.starts_with(wanted) || p.short_name.as_deref().is_some_and(|s| s.starts_with(wanted)))
        .cloned()
        .collect();
    let matches = [exact, short, prefix]
        .into_iter()
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    if matches.len() > 1 {
        findings.push(finding(
            "project name",
            "problem",
            format!("{wanted:?} matches {} projects", matches.len()),
        ));
        return with_user(d(
            format!("the name {wanted:?} is ambiguous: it matches {} DevOps projects", matches.len()),
            "Ask the user which one they mean (show the candidates' full names, workspaces and clusters), then pass that full name as `project`. Never pick one yourself.".into(),
            None,
            findings,
            matches,
        ));
    }
    if let Some(hit) = matches.into_iter().next() {
        findings.push(finding(
            "project",
            "ok",
            format!(
                "{wanted:?} is {} in workspace {} on cluster {}",
                hit.name, hit.workspace, hit.cluster
            ),
        ));
        if let Some(c) = subject
            .cluster
            .as_deref()
            .filter(|c| !c.is_empty() && *c != hit.cluster)
        {
            findings.push(finding(
                "cluster",
                "problem",
                format!("the project is on cluster {}, not {c}", hit.cluster),
            ));
            return with_user(d(
                format!("{} exists on cluster {}, not on {c}", hit.name, hit.cluster),
                format!("Call again with project {:?} and cluster {:?}.", hit.name, hit.cluster),
                None,
                findings,
                vec![hit],
            ));
        }
        let cluster = Cluster::parse(&hit.cluster).unwrap_or(Cluster::Host);
        if let Some(pl) = subject.pipeline.as_deref().filter(|p| !p.is_empty()) {
            match client.get_pipeline(&cluster, &hit.name, pl).await {
                Ok(_) => findings.push(finding(
                    "pipeline",
                    "ok",
                    format!("pipeline {pl} exists and is readable"),
                )),
                Err(e) => {
                    findings.push(finding("pipeline", "problem", e.to_string()));
                    let (cause, next, admin) = match &e {
                        KsError::NotFound { .. } => (
                            format!("there is no pipeline {pl:?} in {}", hit.name),
                            format!(
                                "Call list_pipelines with project {:?} and use an exact name from it.",
                                hit.name
                            ),
                            None,
                        ),
                        _ => {
                            let a = project_error_advice(&e, &hit.name, &hit.workspace);
                            (a.meaning, a.fix.unwrap_or_default(), a.admin_fix)
                        }
                    };
                    return with_user(d(cause, next, admin, findings, vec![hit]));
                }
            }
        } else {
            let q = ListQuery {
                page: Some(1),
                limit: Some(1),
                ..Default::default()
            };
            if let Err(e) = client.list_pipelines(&cluster, &hit.name, &q).await {
                findings.push(finding("pipelines", "problem", e.to_string()));
                let a = project_error_advice(&e, &hit.name, &hit.workspace);
                return with_user(d(
                    a.meaning,
                    a.fix.unwrap_or_default(),
                    a.admin_fix,
                    findings,
                    vec![hit],
                ));
            }
            findings.push(finding("pipelines", "ok", "the project's pipelines are readable"));
        }
        if let Some(err) = &subject.error {
            let mut x = explain_error(err, findings);
            x.candidates = vec![hit];
            return with_user(x);
        }
        return with_user(d(
            format!("{} is reachable: no access problem found", hit.name),
            format!(
                "Use project {:?} (cluster {}) in the next call; if a call still fails, pass its error text here.",
                hit.name, hit.cluster
            ),
            None,
            findings,
            vec![hit],
        ));
    }
    // Not visible: try it directly on each cluster.
    let targets: Vec<Cluster> = match subject.cluster.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => match Cluster::parse(c) {
            Ok(c) => vec![c],
            Err(e) => {
                findings.push(finding("cluster", "problem", e.to_string()));
                return with_user(d(
                    format!("{c:?} is not a valid cluster name"),
                    "Use a cluster name from whoami or list_devops_projects.".into(),
                    None,
                    findings,
                    Vec::new(),
                ));
            }
        },
        None => clusters_all.clone(),
    };
    let q = ListQuery {
        page: Some(1),
        limit: Some(1),
        ..Default::default()
    };
    for c in &targets {
        match client.list_pipelines(c, wanted, &q).await {
            Ok(_) => {
                findings.push(finding(
                    "direct access",
                    "ok",
                    format!("{wanted}'s pipelines are readable on {c}, yet no workspace list shows it"),
                ));
                let ws = hidden
                    .first()
                    .map(|(w, _)| w.clone())
                    .or_else(|| subject.workspace.clone())
                    .unwrap_or_else(|| "<workspace>".into());
                let a = hidden_projects_advice(&ws, c.name(), Some(wanted));
                return with_user(d(
                    format!(
                        "{wanted} works when named directly but is missing from the workspace list: its namespace's kubesphere.io/workspace label does not match the workspace"
                    ),
                    format!(
                        "Keep using project {wanted:?} with cluster {c:?} directly (tools accept the full name); tell the user an administrator should fix the label."
                    ),
                    a.admin_fix,
                    findings,
                    Vec::new(),
                ));
            }
            Err(KsError::InvalidName { .. }) => {
                findings.push(finding(
                    "project name",
                    "problem",
                    format!("{wanted:?} is not a valid namespace name and matches no project"),
                ));
                return with_user(d(
                    format!("no DevOps project of {user} is called {wanted:?}"),
                    "Call list_devops_projects and ask the user which project they mean.".into(),
                    None,
                    findings,
                    Vec::new(),
                ));
            }
            Err(e) => findings.push(finding(&format!("direct access {c}"), "problem", e.to_string())),
        }
    }
    if let Some((ws, c)) = hidden.iter().find(|(_, c)| targets.iter().any(|t| t.name() == c)) {
        let a = hidden_projects_advice(ws, c, Some(wanted));
        return with_user(d(
            format!(
                "{wanted} is not visible to {user}, and workspace {ws} has DevOps projects on {c} that are hidden from {user}: most likely {wanted}'s namespace lacks the label kubesphere.io/workspace={ws}"
            ),
            "Tell the user the project exists but is hidden by a namespace label mismatch; only an administrator can fix it (command in ask_admin). Do not retry.".into(),
            a.admin_fix,
            findings,
            Vec::new(),
        ));
    }
    d(
        format!(
            "{wanted} is not among {user}'s DevOps projects, and KubeSphere refuses it directly (403): either it does not exist on {}, or it belongs to a workspace {user} is not a member of (KubeSphere answers 403 in both cases)",
            targets.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
        ),
        format!(
            "Ask the user which workspace owns {wanted}. If it is not one of their workspaces ({}), they need an invitation; otherwise check the spelling with list_devops_projects.",
            workspaces.join(", ")
        ),
        Some(format!(
            "find the owner with `kubectl get devopsproject {wanted} -o jsonpath='{{.metadata.labels.kubesphere\\.io/workspace}}'` and invite {user} to that workspace or project (Workspace Members / Project Members → Invite)"
        )),
        findings,
        Vec::new(),
    )
    .with_user(user)
}

impl Diagnosis {
    fn with_user(mut self, user: String) -> Diagnosis {
        self.user = Some(user);
        self
    }
}

fn explain_error(err: &str, mut findings: Vec<Finding>) -> Diagnosis {
    let lower = err.to_ascii_lowercase();
    let (cause, next, admin) = if lower.contains("forbidden") || lower.contains("403") {
        let a = forbidden_advice(err);
        (a.meaning, a.fix.unwrap_or_default(), a.admin_fix)
    } else if lower.contains("401") || lower.contains("unauthorized") || lower.contains("login") {
        (
            "the login or token was refused".into(),
            "Run whoami; if it fails too, the operator must fix the credentials (ks-devops-mcp doctor says how)."
                .into(),
            None,
        )
    } else if lower.contains("not found") || lower.contains("404") {
        (
            "the object named does not exist there".into(),
            "List first (list_devops_projects, list_pipelines, list_runs) and retry with an exact name.".into(),
            None,
        )
    } else if lower.contains("cluster") && lower.contains("not exists") {
        (
            "the cluster name is unknown to KubeSphere".into(),
            "Use a cluster name from whoami.".into(),
            None,
        )
    } else {
        (
            "access looks fine; the error is not an access problem".into(),
            "Read the error's own advice and follow it.".into(),
            None,
        )
    };
    findings.push(finding("error text", "info", cause.clone()));
    Diagnosis {
        user: None,
        findings,
        cause,
        next_step: next,
        ask_admin: admin,
        candidates: Vec::new(),
    }
}
