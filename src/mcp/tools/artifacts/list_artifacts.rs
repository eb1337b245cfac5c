//! `list_artifacts`: the files a run archived.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::args::{PageArgs, ProjectArgs, RunArgs};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::paging::PageInfo;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runlocate::{RunSelector, locate_run};
use crate::mcp::runview::RunView;

use super::{ArtifactView, all_artifacts};

pub struct ListArtifacts;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListArtifactsInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    #[serde(flatten)]
    pub run: RunArgs,
    #[serde(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListArtifactsOutput {
    pub project: ProjectRef,
    pub run: RunView,
    pub artifacts: Vec<ArtifactView>,
    #[serde(flatten)]
    pub page: PageInfo,
    /// Why the list is empty, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ToolDef for ListArtifacts {
    const NAME: &'static str = "list_artifacts";
    const TITLE: &'static str = "List run artifacts";
    const DESCRIPTION: &'static str = "Lists a run's archived files; download_artifact fetches one by `path`.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "pipeline": "broken-build", "run_id": "1"}"#;
    const TOOLSET: Toolset = Toolset::Artifacts;
    const HINTS: Hints = Hints::READ;
    type Input = ListArtifactsInput;
    type Output = ListArtifactsOutput;

    async fn call(ctx: ToolCtx, input: ListArtifactsInput) -> Result<ListArtifactsOutput, ToolError> {
        let page = input.page.request()?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let located = locate_run(
            &ctx,
            &project,
            RunSelector::of(
                &input.run.name,
                &input.run.pipeline,
                &input.run.run_id,
                &input.run.branch,
            ),
        )
        .await?;
        let Some(blue) = located.blue else {
            let (artifacts, page) = page.slice(Vec::new());
            return Ok(ListArtifactsOutput {
                project,
                run: located.view,
                artifacts,
                page,
                note: Some("The run has not started in Jenkins yet: no artifacts.".into()),
            });
        };
        let all = all_artifacts(&ctx.client, &project.cluster(), &blue).await?;
        let views: Vec<ArtifactView> = all.iter().map(ArtifactView::of).collect();
        let note = views.is_empty().then(|| {
            if located.view.finished {
                "The run archived no files.".to_string()
            } else {
                "No files archived so far; the run is still going.".to_string()
            }
        });
        let (artifacts, page) = page.slice(views);
        Ok(ListArtifactsOutput {
            project,
            run: located.view,
            artifacts,
            page,
            note,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};
    use serde_json::json;

    #[tokio::test]
    async fn lists_name_path_size_downloadable_and_no_url() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "list_artifacts",
            json!({"project": "stone-devops", "pipeline": "echo-pipeline", "run_id": "1", "branch": "main"}),
        )
        .await
        .unwrap();
        let a = &out["artifacts"][0];
        assert_eq!(a["name"], "demo-echo.jar");
        assert_eq!(a["path"], "target/demo-echo.jar");
        assert!(a["size"].as_u64().unwrap() > 0);
        assert_eq!(a["downloadable"], true);
        assert!(a.get("url").is_none());
        assert_eq!(out["total"], 1);
        let none = call(
            &ctx(&sim),
            "list_artifacts",
            json!({"project": "stone-devops", "pipeline": "hello", "run_id": "1"}),
        )
        .await
        .unwrap();
        assert_eq!(none["artifacts"].as_array().unwrap().len(), 0);
        assert_eq!(none["note"], "The run archived no files.");
    }
}
