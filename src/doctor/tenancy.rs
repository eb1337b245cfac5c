//! Workspaces, the clusters they are placed on, the API families that
//! answer, the DevOps projects on each cluster, and one pipeline list and
//! run log read per sampled project.

use super::advice::{self, hidden_projects_advice};
use super::{Advice, Check, Step};
use crate::kubesphere::access::{ProjectListing, is_missing_route};
use crate::kubesphere::{Cluster, KsClient, KsError, ListQuery};

/// A DevOps project the user can see.
#[derive(Clone, Debug)]
pub(crate) struct SeenProject {
    pub name: String,
    pub short_name: Option<String>,
    pub workspace: String,
    pub cluster: Cluster,
}

/// The DevOps extension is missing: what it means and who fixes it.
pub(crate) fn devops_missing_advice(cluster: &str) -> Advice {
    Advice::new(format!(
        "the DevOps API (devops.kubesphere.io) is not served on cluster {cluster}: the DevOps extension is not installed or not enabled there"
    ))
    .fix("nothing to do as a tenant; ask an administrator to install DevOps")
    .admin("KubeSphere 4.x: Extensions Center → DevOps → Install (and enable it on this cluster); KubeSphere 3.x: `kubectl -n kubesphere-system patch cc ks-installer --type merge -p '{\"spec\":{\"devops\":{\"enabled\":true}}}'`")
}

pub(super) async fn run(client: &KsClient, samples: usize, checks: &mut Vec<Check>) -> Vec<SeenProject> {
    // Workspaces.
    let step = Step::start("workspaces", "Workspaces of the user");
    let workspaces: Vec<String> = match client.list_workspaces().await {
        Ok(ws) => ws
            .into_iter()
            .map(|w| w.metadata.name)
            .filter(|n| !n.is_empty())
            .collect(),
        Err(e) => {
            let detail = e.to_string();
            checks.push(step.fail(detail, advice::error_advice(&e)));
            return Vec::new();
        }
    };
    if workspaces.is_empty() {
        checks.push(step.fail(
            "the user is a member of no workspace",
            Advice::new("tenants reach DevOps projects only through workspace membership; with none, every project list is empty")
                .fix("ask a workspace administrator to invite you")
                .admin("invite the user to the workspace: console → Workspaces → <workspace> → Workspace Settings → Workspace Members → Invite (role viewer or regular)"),
        ));
        return Vec::new();
    }
    checks.push(step.pass(format!("member of {}", workspaces.join(", "))));

    // Clusters: where each workspace is placed, and which the user was granted.
    let step = Step::start("clusters", "Clusters of each workspace");
    let mut placement: Vec<(String, Vec<Cluster>)> = Vec::new();
    let mut versions: Vec<String> = Vec::new();
    let mut notes = Vec::new();
    let mut failed = None;
    for ws in &workspaces {
        match client.workspace_cluster_summaries(ws).await {
            Ok(cs) => {
                for c in &cs {
                    if let Some(v) = &c.kubesphere_version
                        && !versions.contains(v)
                    {
                        versions.push(v.clone());
                    }
                    if c.ready == Some(false) {
                        notes.push(format!("cluster {} is not ready", c.name));
                    }
                }
                let mut clusters: Vec<Cluster> = cs.iter().filter_map(|c| Cluster::parse(&c.name).ok()).collect();
                if clusters.is_empty() {
                    clusters.push(client.default_cluster().clone());
                }
                notes.push(format!(
                    "{ws}: {}",
                    clusters.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
                ));
                placement.push((ws.clone(), clusters));
            }
            Err(e) => {
                placement.push((ws.clone(), vec![client.default_cluster().clone()]));
                failed.get_or_insert((ws.clone(), e));
            }
        }
    }
    let granted = client
        .granted_cluster_summaries()
        .await
        .map(|cs| cs.into_iter().map(|c| c.name).collect::<Vec<_>>());
    match &granted {
        Ok(g) if g.is_empty() => notes.push("granted clusters: none (projects are reached through workspaces)".into()),
        Ok(g) => notes.push(format!("granted clusters: {}", g.join(", "))),
        Err(_) => {}
    }
    match failed {
        Some((ws, e)) => checks.push(step.fail(
            format!("cannot list the clusters of workspace {ws}: {e}"),
            advice::error_advice(&e),
        )),
        None => checks.push(step.pass(notes.join("; "))),
    }

    // Version and API families.
    let step = Step::start("version", "KubeSphere version");
    checks.push(if versions.is_empty() {
        step.pass("not shown to this user (the cluster objects carry no version)")
    } else {
        step.pass(format!("KubeSphere {}", versions.join(", ")))
    });

    let first = placement
        .first()
        .map(|(ws, cs)| (ws.clone(), cs.first().cloned().unwrap_or(Cluster::Host)));
    let mut devops_ok = true;
    if let Some((ws, cluster)) = &first {
        let step = Step::start("api devops", "DevOps API (devops.kubesphere.io)");
        match client.devops_project_listing(cluster, ws).await {
            Err(e) if is_missing_route(&e) => {
                devops_ok = false;
                checks.push(step.fail(
                    format!(
                        "GET devops.kubesphere.io/v1alpha3/workspaces/{ws}/namespaces answered 404 (no such route)"
                    ),
                    devops_missing_advice(cluster.name()),
                ));
            }
            _ => checks.push(step.pass(format!("answers (checked on cluster {cluster})"))),
        }
    }
    let step = Step::start("api gitops", "GitOps API (gitops.kubesphere.io)");
    checks.push(match client.gitops_destinations().await {
        Ok(d) => step.pass(format!("answers; Argo CD destinations: {}", if d.is_empty() { "none".into() } else { d.join(", ") })),
        Err(e) if is_missing_route(&e) => step.warn(
            "gitops.kubesphere.io answers 404 (no such route)",
            "GitOps (Argo CD) is not installed: the gitops tools (off by default) will not work; DevOps pipelines are not affected. Administrator: enable Argo CD in the DevOps extension's settings",
        ),
        Err(KsError::Forbidden { .. }) => step.pass("answers (403 for this user: the API is installed)"),
        Err(e) => step.warn(e.to_string(), "the GitOps API did not answer as expected; the gitops tools may fail"),
    });
    if !devops_ok {
        return Vec::new();
    }

    // DevOps projects per workspace and cluster.
    let mut seen = Vec::new();
    for (ws, clusters) in &placement {
        for cluster in clusters {
            let step = Step::start(
                format!("projects {ws}@{cluster}"),
                format!("DevOps projects of {ws} on {cluster}"),
            );
            match client.devops_project_listing(cluster, ws).await {
                Ok(ProjectListing::Visible(ps)) => {
                    let names: Vec<String> = ps.iter().map(|p| p.namespace().to_string()).collect();
                    checks.push(step.pass(format!("{} project(s): {}", names.len(), names.join(", "))));
                    for p in &ps {
                        seen.push(SeenProject {
                            name: p.namespace().to_string(),
                            short_name: p.metadata.generate_name.clone().filter(|g| !g.is_empty()),
                            workspace: ws.clone(),
                            cluster: cluster.clone(),
                        });
                    }
                }
                Ok(ProjectListing::NoneLabelled) => checks.push(step.pass("none (no DevOps project belongs to this workspace here)")),
                Ok(ProjectListing::AllHidden) => checks.push(step.fail(
                    format!("the list is empty ({{\"items\":null,\"totalItems\":0}}): DevOps projects of {ws} exist on {cluster}, but none is visible to you"),
                    hidden_projects_advice(ws, cluster.name(), None),
                )),
                Err(e) if is_missing_route(&e) => checks.push(step.fail(e.to_string(), devops_missing_advice(cluster.name()))),
                Err(e) => checks.push(step.fail(e.to_string(), advice::cluster_error_advice(&e, ws, cluster.name()))),
            }
        }
    }

    // Samples: one pipeline list and one run log per project.
    for p in seen.iter().take(samples) {
        sample(client, p, checks).await;
    }
    if seen.len() > samples {
        checks.push(
            Step::start("samples", "Sampled projects")
                .skip(format!("{} more project(s) not sampled", seen.len() - samples)),
        );
    }
    seen
}

async fn sample(client: &KsClient, p: &SeenProject, checks: &mut Vec<Check>) {
    let step = Step::start(
        format!("pipelines {}", p.name),
        format!("Pipelines of {} ({})", p.name, p.cluster),
    );
    let q = ListQuery {
        page: Some(1),
        limit: Some(10),
        ..Default::default()
    };
    let pipelines = match client.list_pipelines(&p.cluster, &p.name, &q).await {
        Ok(page) => {
            checks.push(step.pass(format!("{} pipeline(s)", page.total)));
            page.items
        }
        Err(e) => {
            let detail = e.to_string();
            checks.push(step.fail(detail, advice::project_error_advice(&e, &p.name, &p.workspace)));
            return;
        }
    };
    let step = Step::start(format!("runlog {}", p.name), format!("One run log of {}", p.name));
    for pl in pipelines.iter().take(5) {
        let name = &pl.metadata.name;
        let runs = match client.list_pipelineruns(&p.cluster, &p.name, name, None, (1, 5)).await {
            Ok(r) => r.items,
            Err(e) => {
                let detail = format!("cannot list the runs of {name}: {e}");
                checks.push(step.fail(detail, advice::project_error_advice(&e, &p.name, &p.workspace)));
                return;
            }
        };
        let Some((run, id)) = runs.iter().find_map(|r| r.jenkins_id().map(|id| (r, id.to_string()))) else {
            continue;
        };
        let blue = crate::kubesphere::logs::BlueRunRef {
            namespace: p.name.clone(),
            pipeline: name.clone(),
            branch: run.branch(),
            run_id: id.clone(),
        };
        let result = match client.run_log(&p.cluster, &blue, 0).await {
            Ok(mut stream) => stream.next_chunk().await.map(|c| c.map(|b| b.len()).unwrap_or(0)),
            Err(e) => Err(e),
        };
        checks.push(match result {
            Ok(n) => step.pass(format!(
                "read the log of {name} run {id} ({n} bytes in the first chunk)"
            )),
            Err(e) => {
                let detail = format!("reading the log of {name} run {id}: {e}");
                step.fail(detail, advice::project_error_advice(&e, &p.name, &p.workspace))
            }
        });
        return;
    }
    checks.push(step.skip("no pipeline with a run to read"));
}
