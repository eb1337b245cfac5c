//! `list_runs`: runs of a pipeline, newest first.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::kubesphere::BranchName;
use crate::kubesphere::models::PipelineRun;
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::paging::{PageInfo, PageRequest};
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runview::{RunSource, RunView};

pub struct ListRuns;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListRunsInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Pipeline name.
    pub pipeline: String,
    /// Only runs of this branch (multi-branch pipelines), as Git names it, e.g. `feature/login`; KubeSphere's encoded form `feature%2Flogin` means the same branch.
    #[serde(default)]
    pub branch: Option<String>,
    /// Page size (default 20).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    /// `continue` of the previous page.
    #[serde(default, rename = "continue")]
    pub continue_token: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListRunsOutput {
    pub project: ProjectRef,
    pub pipeline: String,
    /// Newest first; includes runs triggered a moment ago, and runs Jenkins has without a PipelineRun (`source: jenkins_only`).
    pub runs: Vec<RunView>,
    #[serde(flatten)]
    pub page: PageInfo,
    /// What the list may lack, when something could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// At most this many PipelineRuns are merged with Jenkins' list.
const MERGE_CAP: usize = 1000;
const PR_PAGE: u32 = 100;

impl ToolDef for ListRuns {
    const NAME: &'static str = "list_runs";
    const TITLE: &'static str = "List pipeline runs";
    const DESCRIPTION: &'static str = "Lists a pipeline's runs, newest first, including one triggered a moment ago (check it after a failed trigger_run or rerun) and runs Jenkins has without a PipelineRun (`source: jenkins_only`: use pipeline + run_id).";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "pipeline": "hello"}"#;
    const TOOLSET: Toolset = Toolset::Runs;
    const HINTS: Hints = Hints::READ;
    type Input = ListRunsInput;
    type Output = ListRunsOutput;

    async fn call(ctx: ToolCtx, input: ListRunsInput) -> Result<ListRunsOutput, ToolError> {
        let page = PageRequest::parse(
            Some(input.limit.unwrap_or(20).min(100)),
            input.continue_token.as_deref(),
        )?;
        let branch = crate::mcp::runlocate::parse_branch(input.branch.as_deref())?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let pipeline = input.pipeline.as_str();
        // Every PipelineRun (up to MERGE_CAP), newest first (upstream sorts
        // by start time, falling back to creation time).
        let mut prs: Vec<PipelineRun> = Vec::new();
        let mut pr_total = 0u64;
        let mut upstream_page = 1;
        loop {
            let up = ctx
                .client
                .list_pipelineruns(
                    &cluster,
                    &project.name,
                    pipeline,
                    branch.as_ref(),
                    (upstream_page, PR_PAGE),
                )
                .await?;
            pr_total = pr_total.max(up.total);
            let n = up.items.len();
            prs.extend(up.items);
            if n == 0 || prs.len() as u64 >= up.total || prs.len() >= MERGE_CAP {
                break;
            }
            upstream_page += 1;
        }
        let truncated = (prs.len() as u64) < pr_total;
        let mut merged: Vec<(Option<DateTime<Utc>>, RunView)> = prs
            .iter()
            .map(|pr| (pr_time(pr), RunView::from_pipelinerun(pr)))
            .collect();
        // Jenkins' own list: the runs no PipelineRun stands for.
        let mut note = None;
        match ctx
            .client
            .list_blue_runs(&cluster, &project.name, pipeline, branch.as_ref())
            .await
        {
            Ok(blue) => {
                let known: HashSet<(String, String)> = prs
                    .iter()
                    .filter_map(|pr| Some((pr.jenkins_id()?.to_string(), job_of_pr(pr, pipeline))))
                    .collect();
                // Past the merged PipelineRuns, a run may have one not read.
                let horizon = if truncated {
                    merged.iter().filter_map(|(t, _)| *t).min()
                } else {
                    None
                };
                for run in &blue.items {
                    let Some(id) = run.id.as_deref().filter(|i| !i.is_empty()) else {
                        continue;
                    };
                    let job = run
                        .pipeline
                        .clone()
                        .filter(|p| !p.is_empty())
                        .unwrap_or_else(|| pipeline.to_string());
                    if known.contains(&(id.to_string(), job.clone())) {
                        continue;
                    }
                    let t = run.start_time.as_deref().and_then(parse_time);
                    if let (Some(h), Some(t)) = (horizon, t)
                        && t < h
                    {
                        continue;
                    }
                    let mut v = RunView::from_blue(run, Some(pipeline.to_string()));
                    if job != pipeline {
                        v.branch = BranchName::from_encoded(&job).ok();
                    }
                    v.source = Some(RunSource::JenkinsOnly);
                    merged.push((t, v));
                }
                if truncated {
                    note = Some(format!(
                        "only the newest {} of {pr_total} PipelineRuns were merged with Jenkins' list",
                        prs.len()
                    ));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "Jenkins run list unreadable");
                note = Some(format!(
                    "Jenkins' own run list could not be read ({}), so runs without a PipelineRun (webhook, scan, rerun) are missing",
                    e.kind()
                ));
            }
        }
        // Newest first; not started yet counts as newest. Stable: upstream's
        // order is kept among equal times.
        merged.sort_by(|a, b| match (a.0, b.0) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => y.cmp(&x),
        });
        let jenkins_only = merged.len() as u64 - prs.len() as u64;
        let total = pr_total + jenkins_only;
        let runs: Vec<RunView> = merged
            .into_iter()
            .skip(page.offset as usize)
            .take(page.limit as usize)
            .map(|(_, v)| v)
            .collect();
        let info = page.info(runs.len(), total);
        Ok(ListRunsOutput {
            runs,
            pipeline: input.pipeline,
            project,
            page: info,
            note,
        })
    }
}

/// The Jenkins job a PipelineRun's build is in: the encoded branch name
/// (`spec.scm.refName`, U4) for a multi-branch pipeline, else the pipeline.
fn job_of_pr(pr: &PipelineRun, pipeline: &str) -> String {
    pr.spec
        .scm
        .as_ref()
        .map(|s| s.ref_name.clone())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| pipeline.to_string())
}

fn pr_time(pr: &PipelineRun) -> Option<DateTime<Utc>> {
    pr.status
        .start_time
        .as_deref()
        .and_then(parse_time)
        .or_else(|| pr.metadata.creation_timestamp.as_deref().and_then(parse_time))
}

/// RFC 3339 (Kubernetes) or Blue Ocean's `2026-03-19T02:50:12.747+0000`.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    chrono::DateTime::parse_from_rfc3339(s)
        .or_else(|_| chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn a_fresh_run_is_listed_first() {
        let sim = sim().await;
        let c = ctx(&sim);
        let started = call(
            &c,
            "trigger_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline", "branch": "feature-branch"}),
        )
        .await
        .unwrap();
        let name = started["run"]["name"].clone();
        let out = call(
            &c,
            "list_runs",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
        )
        .await
        .unwrap();
        let runs = out["runs"].as_array().unwrap();
        assert!(runs.iter().any(|r| r["name"] == name), "{runs:?}");
        let only = call(
            &c,
            "list_runs",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline", "branch": "feature-branch"}),
        )
        .await
        .unwrap();
        assert!(
            only["runs"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["branch"] == "feature-branch")
        );
    }

    #[tokio::test]
    async fn jenkins_only_runs_are_merged_and_paged() {
        let sim = sim().await;
        let c = ctx(&sim);
        let all = call(
            &c,
            "list_runs",
            serde_json::json!({"project": "stone-devops", "pipeline": "webhook-build"}),
        )
        .await
        .unwrap();
        assert_eq!(all["total"], 2, "{all}");
        let runs = all["runs"].as_array().unwrap();
        assert_eq!(runs[0]["run_id"], "2");
        assert_eq!(runs[0]["source"], "jenkins_only");
        assert_eq!(runs[0]["cause"], "Generic Cause");
        assert!(runs[0].get("name").is_none(), "{all}");
        assert_eq!(runs[1]["run_id"], "1");
        assert!(runs[1]["name"].is_string() && runs[1].get("source").is_none(), "{all}");
        // One per page: the same two runs, in order, and no more.
        let first = call(
            &c,
            "list_runs",
            serde_json::json!({"project": "stone-devops", "pipeline": "webhook-build", "limit": 1}),
        )
        .await
        .unwrap();
        assert_eq!(first["runs"][0]["run_id"], "2");
        assert_eq!(first["has_more"], true);
        let second = call(
            &c,
            "list_runs",
            serde_json::json!({"project": "stone-devops", "pipeline": "webhook-build", "limit": 1, "continue": first["continue"]}),
        )
        .await
        .unwrap();
        assert_eq!(second["runs"][0]["run_id"], "1");
        assert_eq!(second["has_more"], false);
        assert_eq!(second["total"], 2);
    }

    #[tokio::test]
    async fn a_rerun_shows_up_marked_until_imported() {
        let sim = sim().await;
        let c = ctx(&sim);
        call(
            &c,
            "rerun",
            serde_json::json!({"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}),
        )
        .await
        .unwrap();
        let out = call(
            &c,
            "list_runs",
            serde_json::json!({"project": "stone-devops", "pipeline": "broken-build"}),
        )
        .await
        .unwrap();
        let runs = out["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 2, "{out}");
        assert_eq!(runs[0]["run_id"], "2");
        assert_eq!(runs[0]["source"], "jenkins_only");
    }

    #[tokio::test]
    async fn without_jenkins_list_the_page_says_what_is_missing() {
        let sim = sim().await;
        sim.inject(ks_sim::Fault {
            method: Some("GET".into()),
            path_contains: "/v1alpha2/namespaces/stone-devops/pipelines/webhook-build/runs".into(),
            kind: ks_sim::FaultKind::Status {
                code: 502,
                body: "bad gateway".into(),
                content_type: "text/plain".into(),
            },
            times: 10,
        });
        let out = call(
            &ctx(&sim),
            "list_runs",
            serde_json::json!({"project": "stone-devops", "pipeline": "webhook-build"}),
        )
        .await
        .unwrap();
        assert_eq!(out["total"], 1);
        assert!(
            out["note"].as_str().unwrap().contains("runs without a PipelineRun"),
            "{out}"
        );
    }
}
