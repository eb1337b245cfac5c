//! `list_branches`: branches of a multi-branch pipeline.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::branches::BranchSource;
use crate::mcp::args::{PageArgs, ProjectArgs};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::paging::PageInfo;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runview::RunView;

pub struct ListBranches;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListBranchesInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Multi-branch pipeline name.
    pub pipeline: String,
    /// Also pull/merge requests.
    #[serde(default)]
    pub include_pull_requests: bool,
    #[serde(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BranchSummary {
    /// Branch name as Git knows it (pass it to trigger_run).
    pub name: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pull_request: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// The branch's latest run, if it has been built.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_run: Option<RunView>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListBranchesOutput {
    pub project: ProjectRef,
    pub pipeline: String,
    pub branches: Vec<BranchSummary>,
    #[serde(flatten)]
    pub page: PageInfo,
    /// False when Jenkins' live list could not be read and KubeSphere's
    /// copy was used instead (see `note`).
    pub live: bool,
    /// Set when the list may lag the repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ToolDef for ListBranches {
    const NAME: &'static str = "list_branches";
    const TITLE: &'static str = "List branches of a multi-branch pipeline";
    const DESCRIPTION: &'static str = "Lists a multi-branch pipeline's branches, read live from Jenkins, with each one's latest run. A branch pushed since the last scan is missing: run scan_repository first. Use it to let the user pick a branch for trigger_run.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "pipeline": "echo-pipeline"}"#;
    const TOOLSET: Toolset = Toolset::Pipelines;
    const HINTS: Hints = Hints::READ;
    type Input = ListBranchesInput;
    type Output = ListBranchesOutput;

    async fn call(ctx: ToolCtx, input: ListBranchesInput) -> Result<ListBranchesOutput, ToolError> {
        let page = input.page.request()?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        // U10: the v1alpha3 list lags a scan; read Jenkins' live list.
        let list = ctx
            .client
            .list_branches_fresh(&cluster, &project.name, &input.pipeline, input.include_pull_requests)
            .await?;
        let live = list.source == BranchSource::Live;
        let note = (!live).then(|| {
            format!(
                "Jenkins' live branch list could not be read ({}); this is KubeSphere's copy, refreshed about every 10 s, so a branch found by a scan in the last seconds may be missing or show an older latest run: list again shortly.",
                list.live_error.unwrap_or("unknown error")
            )
        });
        let (items, info) = page.slice(list.items);
        Ok(ListBranchesOutput {
            branches: items
                .iter()
                .map(|b| BranchSummary {
                    name: b.display_name(),
                    pull_request: b.pull_request.as_ref().is_some_and(|p| !p.is_null()),
                    disabled: b.disabled.unwrap_or(false),
                    latest_run: b.latest_run.as_ref().map(|r| {
                        let mut v = RunView::from_blue(r, Some(input.pipeline.clone()));
                        v.branch = b.branch_name();
                        v
                    }),
                })
                .collect(),
            pipeline: input.pipeline,
            project,
            page: info,
            live,
            note,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn lists_demo_branches() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "list_branches",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
        )
        .await
        .unwrap();
        let names: Vec<&str> = out["branches"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["name"].as_str())
            .collect();
        assert!(
            names.contains(&"main") && names.contains(&"feature-branch"),
            "{names:?}"
        );
    }

    fn branch_names(out: &serde_json::Value) -> Vec<String> {
        out["branches"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["name"].as_str().map(str::to_string))
            .collect()
    }

    /// U10: KubeSphere's v1alpha3 list lags a scan (the simulated controller
    /// copies branches every 10 s, as upstream); list_branches reads Jenkins
    /// live, so the build a scan started shows at once, and a finished run
    /// shows as the branch's latest run without waiting for the copy.
    #[tokio::test]
    async fn fresh_right_after_a_scan_and_a_build() {
        let sim = sim().await;
        let c = ctx(&sim);
        assert!(sim.add_repo_branch(
            "host",
            "stone-devops",
            "echo-pipeline",
            "hotfix-9",
            Some("pipeline { agent any\n stages { stage('h') { steps { echo 'h' } } } }")
        ));
        call(
            &c,
            "scan_repository",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
        )
        .await
        .unwrap();
        let out = call(
            &c,
            "list_branches",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
        )
        .await
        .unwrap();
        assert_eq!(out["live"], true);
        assert!(out.get("note").is_none());
        assert!(branch_names(&out).contains(&"hotfix-9".to_string()), "{out:#}");
        // The scan built the new branch (run 1); once it finished, it is
        // the latest run at once.
        let mut latest = serde_json::Value::Null;
        for _ in 0..100 {
            let out = call(
                &c,
                "list_branches",
                serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
            )
            .await
            .unwrap();
            latest = out["branches"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["name"] == "hotfix-9")
                .map(|b| b["latest_run"].clone())
                .unwrap_or_default();
            if latest["finished"] == true {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(latest["run_id"], "1", "{latest:#}");
        assert_eq!(latest["result"], "SUCCESS", "{latest:#}");
        // Blue Ocean's time format comes out as RFC 3339 UTC, like the
        // PipelineRun times (U12).
        let started = latest["started"].as_str().unwrap_or_default();
        assert!(
            started.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(started).is_ok(),
            "{latest:#}"
        );
    }

    /// When Jenkins' live list cannot be read, KubeSphere's copy answers and
    /// the result says it may lag.
    #[tokio::test]
    async fn falls_back_to_the_copy_and_says_so() {
        let sim = sim().await;
        sim.inject(ks_sim::Fault {
            method: Some("GET".into()),
            path_contains: "/v1alpha2/namespaces/stone-devops/pipelines/echo-pipeline/branches".into(),
            kind: ks_sim::FaultKind::Status {
                code: 500,
                body: "<html><body>Error 503 Service Unavailable</body></html>".into(),
                content_type: "text/html".into(),
            },
            times: 10,
        });
        let out = call(
            &ctx(&sim),
            "list_branches",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
        )
        .await
        .unwrap();
        assert_eq!(out["live"], false);
        assert!(out["note"].as_str().unwrap().contains("10 s"), "{out:#}");
        assert!(branch_names(&out).contains(&"main".to_string()));
    }

    #[tokio::test]
    async fn regular_pipeline_has_no_branches() {
        let sim = sim().await;
        let err = call(
            &ctx(&sim),
            "list_branches",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "bad_request", "{err}");
        assert!(err.to_string().contains("multi-branch"), "{err}");
    }
}
