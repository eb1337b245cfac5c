//! Turning a project name the user typed into exactly one DevOps project.
//!
//! Every tool that takes a `project` goes through [`resolve_for_tool`], so no
//! tool ever guesses. Tiers, best first: exact full name (the namespace);
//! exact short name (`generateName`) or display name; prefix of either.
//! One match in the best non-empty tier resolves; several are ambiguous and
//! are asked of the human (elicitation) or returned for the agent to ask.

use std::collections::BTreeMap;

use futures::future::join_all;
use schemars::JsonSchema;
use serde::Serialize;

use rmcp::model::ElicitationSchema;

use super::context::{Answer, Question, ToolCtx, one_of};
use super::error::{Candidate, ToolError};
use crate::kubesphere::models::{DevOpsProject, keys};
use crate::kubesphere::path::validate_label;
use crate::kubesphere::{Cluster, KsClient, KsError};

/// A resolved DevOps project.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq, Eq)]
pub struct ProjectRef {
    /// Full name: the namespace every call uses.
    pub name: String,
    /// Short name (`generateName`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_name: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    pub workspace: String,
    pub cluster: String,
    /// Creation time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

impl ProjectRef {
    /// Human wording, e.g. `DevOps project stone-devops (workspace stone, cluster host)`.
    pub fn describe(&self) -> String {
        format!(
            "DevOps project {} (workspace {}, cluster {})",
            self.name, self.workspace, self.cluster
        )
    }

    pub fn from_project(p: &DevOpsProject, workspace: &str, cluster: &Cluster) -> ProjectRef {
        ProjectRef {
            name: p.namespace().to_string(),
            short_name: p.metadata.generate_name.clone().filter(|g| !g.is_empty()),
            alias: p
                .metadata
                .annotation(keys::ALIAS_NAME)
                .map(str::to_string)
                .filter(|a| !a.is_empty()),
            workspace: p
                .metadata
                .labels
                .get(keys::WORKSPACE)
                .cloned()
                .unwrap_or_else(|| workspace.to_string()),
            cluster: cluster.name().to_string(),
            created: p.metadata.creation_timestamp.clone(),
        }
    }

    pub fn candidate(&self) -> Candidate {
        Candidate {
            name: self.name.clone(),
            short_name: self.short_name.clone(),
            alias: self.alias.clone(),
            workspace: self.workspace.clone(),
            cluster: self.cluster.clone(),
        }
    }

    /// The cluster to route calls for this project to.
    pub fn cluster(&self) -> Cluster {
        Cluster::parse(&self.cluster).unwrap_or(Cluster::Host)
    }
}

/// How a name was matched.
#[derive(Clone, Copy, Debug, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    FullName,
    ShortName,
    Prefix,
    UserChoice,
}

/// Outcome of a resolution.
#[derive(Debug)]
pub enum Resolution {
    Resolved { project: ProjectRef, matched_by: MatchedBy },
    Ambiguous { candidates: Vec<ProjectRef> },
    NotFound { closest: Vec<ProjectRef> },
}

/// Where a resolution looked.
#[derive(Clone, Debug, Default, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Searched {
    /// Every cluster searched.
    pub clusters: Vec<String>,
    pub workspaces: Vec<String>,
    /// Per workspace, the clusters searched for it (the clusters the
    /// workspace is placed on and the user's own clusters, unless a cluster
    /// was named or configured).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub workspace_clusters: BTreeMap<String, Vec<String>>,
    /// Places that could not be read (they may hold the project).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

impl Searched {
    pub fn describe(&self) -> String {
        let mut s = if self.workspace_clusters.is_empty() {
            format!(
                "searched workspaces [{}] on clusters [{}]",
                self.workspaces.join(", "),
                self.clusters.join(", ")
            )
        } else {
            format!(
                "searched {}",
                self.workspace_clusters
                    .iter()
                    .map(|(w, c)| format!("workspace {w} on clusters [{}]", c.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        };
        if !self.unreadable.is_empty() {
            s.push_str(&format!("; could not read {}", self.unreadable.join(", ")));
        }
        s
    }
}

/// All projects the user can see in the given scope. Without a cluster,
/// each workspace is searched on the clusters it is placed on plus the
/// user's own clusters ([`KsClient::clusters_for_workspace`]): upstream's
/// `TN/clusters` alone often lists none of them (U6).
pub async fn gather(
    client: &KsClient,
    workspace: Option<&str>,
    cluster: Option<&str>,
    fresh: bool,
) -> Result<(Vec<ProjectRef>, Searched), ToolError> {
    let named_cluster = match cluster.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => Some(Cluster::parse(c)?),
        None => None,
    };
    let explicit_ws = workspace.map(str::trim).filter(|w| !w.is_empty());
    let workspaces: Vec<String> = match explicit_ws {
        Some(w) => vec![validate_label("workspace name", w)?.to_string()],
        None => client.workspaces_cached(fresh).await?,
    };
    let per_ws: Vec<(String, Vec<Cluster>)> = match &named_cluster {
        Some(c) => workspaces.iter().map(|w| (w.clone(), vec![c.clone()])).collect(),
        None => {
            join_all(workspaces.iter().map(|w| async move {
                let clusters = client.clusters_for_workspace(w, fresh).await;
                (w.clone(), clusters)
            }))
            .await
        }
    };
    let mut all: Vec<String> = per_ws
        .iter()
        .flat_map(|(_, cs)| cs.iter().map(|c| c.name().to_string()))
        .collect();
    all.sort();
    all.dedup();
    if all.is_empty() {
        all.push(
            named_cluster
                .as_ref()
                .unwrap_or(client.default_cluster())
                .name()
                .to_string(),
        );
    }
    let mut searched = Searched {
        clusters: all,
        workspaces: workspaces.clone(),
        workspace_clusters: if named_cluster.is_some() {
            BTreeMap::new()
        } else {
            per_ws
                .iter()
                .map(|(w, cs)| (w.clone(), cs.iter().map(|c| c.name().to_string()).collect()))
                .collect()
        },
        unreadable: Vec::new(),
    };
    let jobs = per_ws.iter().flat_map(|(w, clusters)| {
        clusters.iter().map(move |c| async move {
            let r = client.devops_projects_cached(c, w, fresh).await;
            (c, w, r)
        })
    });
    let results = join_all(jobs).await;
    let mut out = Vec::new();
    let mut first_err: Option<KsError> = None;
    let mut any_ok = false;
    let pairs = results.len();
    for (c, w, r) in results {
        match r {
            Ok(list) => {
                any_ok = true;
                out.extend(list.iter().map(|p| ProjectRef::from_project(p, w, c)));
            }
            Err(e) => {
                // A workspace the user named, or a cluster the user named, must not fail silently.
                let named = explicit_ws.is_some() || named_cluster.is_some();
                let skip_quietly = !named && matches!(e, KsError::Forbidden { .. } | KsError::NotFound { .. });
                if !skip_quietly {
                    searched.unreadable.push(format!("{w} on {c} ({})", e.kind()));
                    tracing::debug!(workspace = %w, cluster = %c, error = %e, "cannot list DevOps projects");
                }
                if first_err.is_none() && (named || !skip_quietly) {
                    first_err = Some(e);
                }
            }
        }
    }
    if let Some(e) = first_err
        && (!any_ok || explicit_ws.is_some() && pairs == 1)
    {
        return Err(e.into());
    }
    out.sort_by(|a, b| (&a.cluster, &a.workspace, &a.name).cmp(&(&b.cluster, &b.workspace, &b.name)));
    // The same project can be found twice (a workspace on a cluster also
    // reached as one of the user's own).
    out.dedup_by(|a, b| a.cluster == b.cluster && a.name == b.name);
    Ok((out, searched))
}

/// Matches `name` against `projects` by the tiers above.
pub fn match_name(name: &str, projects: &[ProjectRef]) -> Resolution {
    let needle = name.trim().to_ascii_lowercase();
    let short = |p: &ProjectRef| {
        p.short_name
            .as_deref()
            .map(|s| s.trim_end_matches('-').to_ascii_lowercase())
    };
    type Pred<'a> = Box<dyn Fn(&ProjectRef) -> bool + 'a>;
    let tiers: [(MatchedBy, Pred); 3] = [
        (MatchedBy::FullName, Box::new(|p: &ProjectRef| p.name == needle)),
        (
            MatchedBy::ShortName,
            Box::new(|p: &ProjectRef| {
                short(p).as_deref() == Some(needle.as_str())
                    || p.alias
                        .as_deref()
                        .is_some_and(|a| a.trim().eq_ignore_ascii_case(&needle))
            }),
        ),
        (
            MatchedBy::Prefix,
            Box::new(|p: &ProjectRef| {
                !needle.is_empty() && (p.name.starts_with(&needle) || short(p).is_some_and(|s| s.starts_with(&needle)))
            }),
        ),
    ];
    for (by, pred) in tiers.iter() {
        let hits: Vec<ProjectRef> = projects.iter().filter(|p| pred(p)).cloned().collect();
        match hits.len() {
            0 => continue,
            1 => {
                return Resolution::Resolved {
                    project: hits.into_iter().next().expect("one hit"),
                    matched_by: *by,
                };
            }
            _ => return Resolution::Ambiguous { candidates: hits },
        }
    }
    Resolution::NotFound {
        closest: closest(&needle, projects),
    }
}

fn closest(needle: &str, projects: &[ProjectRef]) -> Vec<ProjectRef> {
    let mut scored: Vec<(usize, &ProjectRef)> = projects
        .iter()
        .map(|p| {
            let mut d = levenshtein(needle, &p.name);
            if let Some(s) = &p.short_name {
                d = d.min(levenshtein(needle, s.trim_end_matches('-')));
            }
            if !needle.is_empty() && p.name.contains(needle) {
                d = d.min(1);
            }
            (d, p)
        })
        .filter(|(d, _)| *d <= (needle.len() / 2).max(3))
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    scored.into_iter().take(5).map(|(_, p)| p.clone()).collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Resolves with the cache first and, when nothing matches, once more
/// with fresh lists (a project made a moment ago is still found).
pub async fn resolve(
    client: &KsClient,
    name: &str,
    workspace: Option<&str>,
    cluster: Option<&str>,
) -> Result<(Resolution, Searched), ToolError> {
    if name.trim().is_empty() {
        return Err(ToolError::InvalidInput(
            "project is empty: pass the DevOps project name the user gave (full or short name)".into(),
        ));
    }
    let (projects, searched) = gather(client, workspace, cluster, false).await?;
    let r = match_name(name, &projects);
    if let Resolution::NotFound { .. } = r {
        let (projects, searched) = gather(client, workspace, cluster, true).await?;
        return Ok((match_name(name, &projects), searched));
    }
    Ok((r, searched))
}

/// The elicitation form that asks the human to pick one project.
pub fn choice_question(name: &str, candidates: &[ProjectRef]) -> Question {
    let options = candidates
        .iter()
        .map(|c| (format!("{}/{}", c.cluster, c.name), c.candidate().to_string()));
    Question {
        key: "project".into(),
        message: format!("Several DevOps projects match {name:?}. Which one do you mean?"),
        form: ElicitationSchema::builder().required_enum_schema(
            "project",
            one_of(
                "DevOps project",
                format!("Several DevOps projects match {name:?}. Pick the one you mean."),
                options,
            ),
        ),
    }
}

/// Picks the candidate the human chose, if any.
pub fn chosen(answer: &Answer, candidates: &[ProjectRef]) -> Option<ProjectRef> {
    let Answer::Accept(content) = answer else {
        return None;
    };
    let v = content.get("project")?.as_str()?;
    candidates
        .iter()
        .find(|c| format!("{}/{}", c.cluster, c.name) == v || c.name == v)
        .cloned()
}

/// A tool input that names a DevOps project (`project`, optional
/// `workspace` and `cluster`): [`ProjectArgs`](super::args::ProjectArgs),
/// or a tool input that embeds it as `scope` (see
/// [`project_scoped!`](crate::project_scoped)).
pub trait ProjectScoped {
    fn project(&self) -> &str;
    fn workspace(&self) -> Option<&str>;
    fn cluster(&self) -> Option<&str>;
}

/// Implements [`ProjectScoped`] for tool inputs that embed the shared
/// [`ProjectArgs`](crate::mcp::args::ProjectArgs) as
/// `#[serde(flatten)] pub scope: ProjectArgs`, so `resolve_input(&ctx, &input)`
/// works as well as `resolve_input(&ctx, &input.scope)`.
#[macro_export]
macro_rules! project_scoped {
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::mcp::resolve::ProjectScoped for $t {
            fn project(&self) -> &str {
                &self.scope.project
            }
            fn workspace(&self) -> Option<&str> {
                self.scope.workspace.as_deref()
            }
            fn cluster(&self) -> Option<&str> {
                self.scope.cluster.as_deref()
            }
        }
    )+};
}

/// [`resolve_for_tool`] with the project named by a tool's input.
pub async fn resolve_input(ctx: &ToolCtx, input: &impl ProjectScoped) -> Result<ProjectRef, ToolError> {
    resolve_for_tool(ctx, input.project(), input.workspace(), input.cluster()).await
}

/// Resolution for tools that act on a project: resolved, or asked of the
/// human, or an error that tells the agent exactly what to ask.
pub async fn resolve_for_tool(
    ctx: &ToolCtx,
    project: &str,
    workspace: Option<&str>,
    cluster: Option<&str>,
) -> Result<ProjectRef, ToolError> {
    let (resolution, searched) = resolve(&ctx.client, project, workspace, cluster).await?;
    match resolution {
        Resolution::Resolved { project, .. } => Ok(project),
        Resolution::Ambiguous { candidates } => {
            if let Some(answer) = ctx.ask(choice_question(project, &candidates)).await?
                && let Some(p) = chosen(&answer, &candidates)
            {
                return Ok(p);
            }
            Err(ToolError::AmbiguousProject {
                name: project.to_string(),
                candidates: candidates.iter().map(ProjectRef::candidate).collect(),
            })
        }
        Resolution::NotFound { closest } => Err(ToolError::ProjectNotFound {
            name: project.to_string(),
            closest: closest.iter().map(ProjectRef::candidate).collect(),
            searched: searched.describe(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, short: Option<&str>, cluster: &str) -> ProjectRef {
        ProjectRef {
            name: name.into(),
            short_name: short.map(Into::into),
            alias: None,
            workspace: "stone".into(),
            cluster: cluster.into(),
            created: None,
        }
    }

    #[test]
    fn the_choice_form_offers_each_candidate() {
        let c = [p("a1", Some("a"), "host"), p("a2", Some("a"), "member-1")];
        let expected = serde_json::json!({
            "type": "object",
            "properties": {
                "project": {
                    "type": "string",
                    "title": "DevOps project",
                    "description": "Several DevOps projects match \"a\". Pick the one you mean.",
                    "oneOf": [
                        {"const": "host/a1", "title": c[0].candidate().to_string()},
                        {"const": "member-1/a2", "title": c[1].candidate().to_string()},
                    ],
                }
            },
            "required": ["project"],
        });
        assert_eq!(
            crate::mcp::context::requested_schema(choice_question("a", &c)),
            expected
        );
    }

    fn demo() -> Vec<ProjectRef> {
        vec![
            p("devopstestc2nj7", Some("devopstest"), "member-1"),
            p("devopstestxyz12", Some("devopstest"), "member-1"),
            p("my-devopstest", Some("my-devopstest"), "member-1"),
            p("stone-devops", Some("stone-devops"), "host"),
        ]
    }

    #[test]
    fn tiers() {
        let projects = demo();
        match match_name("devopstest", &projects) {
            Resolution::Ambiguous { candidates } => {
                let names: Vec<_> = candidates.iter().map(|c| c.name.as_str()).collect();
                assert_eq!(names, ["devopstestc2nj7", "devopstestxyz12"]);
            }
            other => panic!("{other:?}"),
        }
        match match_name("DevOpsTestC2nj7", &projects) {
            Resolution::Resolved { project, matched_by } => {
                assert_eq!(project.name, "devopstestc2nj7");
                assert_eq!(project.cluster, "member-1");
                assert_eq!(matched_by, MatchedBy::FullName);
            }
            other => panic!("{other:?}"),
        }
        match match_name("stone", &projects) {
            Resolution::Resolved { project, matched_by } => {
                assert_eq!(project.name, "stone-devops");
                assert_eq!(matched_by, MatchedBy::Prefix);
            }
            other => panic!("{other:?}"),
        }
        match match_name("devopstets", &projects) {
            Resolution::NotFound { closest } => assert!(!closest.is_empty()),
            other => panic!("{other:?}"),
        }
        // The same full name on two clusters is ambiguous, never guessed.
        let mut two = demo();
        two.push(p("stone-devops", Some("stone-devops"), "member-1"));
        assert!(matches!(match_name("stone-devops", &two), Resolution::Ambiguous { .. }));
    }

    #[test]
    fn edit_distance() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "ab"), 2);
    }
}
