//! `list_pipelines`: compact pipeline summaries of a project.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::ListQuery;
use crate::kubesphere::models::{PIPELINE_TYPE_MULTI_BRANCH, PIPELINE_TYPE_PIPELINE, Pipeline, keys};
use crate::mcp::args::{PageArgs, ProjectArgs};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::paging::PageInfo;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::syncview::SyncStatus;

pub struct ListPipelines;

/// Pipeline kinds.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum PipelineType {
    /// A regular pipeline with its Jenkinsfile inline.
    #[serde(rename = "pipeline")]
    Pipeline,
    /// A multi-branch pipeline over a Git repository.
    #[serde(rename = "multi-branch-pipeline")]
    MultiBranch,
}

impl PipelineType {
    pub fn as_str(self) -> &'static str {
        match self {
            PipelineType::Pipeline => PIPELINE_TYPE_PIPELINE,
            PipelineType::MultiBranch => PIPELINE_TYPE_MULTI_BRANCH,
        }
    }
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListPipelinesInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Only this type.
    #[serde(default, rename = "type")]
    pub kind: Option<PipelineType>,
    /// Only names containing this.
    #[serde(default)]
    pub name_contains: Option<String>,
    #[serde(flatten)]
    pub page: PageArgs,
}

/// One pipeline, compact.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PipelineSummary {
    pub name: String,
    /// `pipeline` or `multi-branch-pipeline`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// successful (Jenkins has it) or pending (not yet; KubeSphere never reports a failed sync, so one pending for minutes has failed).
    pub sync_status: SyncStatus,
    /// Multi-branch: the repository URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_url: Option<String>,
    /// Multi-branch: path of the Jenkinsfile in the repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_path: Option<String>,
}

impl PipelineSummary {
    pub fn of(p: &Pipeline) -> PipelineSummary {
        let mb = p.spec.multi_branch_pipeline.as_ref();
        let description = p.description();
        PipelineSummary {
            name: p.metadata.name.clone(),
            kind: p.spec.kind.clone(),
            description,
            sync_status: SyncStatus::of(p.metadata.annotation(keys::PIPELINE_SYNC_STATUS)),
            repository_url: mb.and_then(|m| m.repository_url()),
            script_path: mb.and_then(|m| m.script_path.clone()).filter(|s| !s.is_empty()),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListPipelinesOutput {
    pub project: ProjectRef,
    pub pipelines: Vec<PipelineSummary>,
    #[serde(flatten)]
    pub page: PageInfo,
}

impl ToolDef for ListPipelines {
    const NAME: &'static str = "list_pipelines";
    const TITLE: &'static str = "List pipelines";
    const DESCRIPTION: &'static str =
        "Lists the pipelines of a DevOps project, with type, sync status and, for multi-branch, repository.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops"}"#;
    const TOOLSET: Toolset = Toolset::Pipelines;
    const HINTS: Hints = Hints::READ;
    type Input = ListPipelinesInput;
    type Output = ListPipelinesOutput;

    async fn call(ctx: ToolCtx, input: ListPipelinesInput) -> Result<ListPipelinesOutput, ToolError> {
        let page = input.page.request()?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let mut query = ListQuery {
            name: input.name_contains.clone(),
            extra: vec![("sortBy", "name".into()), ("ascending", "true".into())],
            ..Default::default()
        };
        if let Some(k) = input.kind {
            query.extra.push(("type", k.as_str().into()));
        }
        let cluster = project.cluster();
        let (pipelines, info) = page
            .fetch(|p| {
                query.page = p.map(|x| x.0);
                query.limit = p.map(|x| x.1);
                ctx.client.list_pipelines(&cluster, &project.name, &query)
            })
            .await?;
        Ok(ListPipelinesOutput {
            pipelines: pipelines.iter().map(PipelineSummary::of).collect(),
            project,
            page: info,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn lists_both_kinds() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "list_pipelines",
            serde_json::json!({"project": "stone-devops"}),
        )
        .await
        .unwrap();
        assert_eq!(out["project"]["cluster"], "host");
        let p = out["pipelines"].as_array().unwrap();
        let hello = p.iter().find(|x| x["name"] == "hello").expect("hello listed");
        assert_eq!(hello["type"], "pipeline");
        let echo = p
            .iter()
            .find(|x| x["name"] == "echo-pipeline")
            .expect("echo-pipeline listed");
        assert_eq!(echo["type"], "multi-branch-pipeline");
        assert!(echo["repository_url"].as_str().is_some_and(|u| u.contains("://")));
        assert_eq!(echo["script_path"], "Jenkinsfile");
        let only = call(
            &ctx(&sim),
            "list_pipelines",
            serde_json::json!({"project": "stone-devops", "type": "multi-branch-pipeline"}),
        )
        .await
        .unwrap();
        let names: Vec<&str> = only["pipelines"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x["name"].as_str())
            .collect();
        assert_eq!(names, ["echo-pipeline"]);
    }

    #[tokio::test]
    async fn ambiguous_project_is_not_guessed() {
        let sim = sim().await;
        sim.clear_requests();
        let err = call(
            &ctx(&sim),
            "list_pipelines",
            serde_json::json!({"project": "devopstest"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "ambiguous_project");
        let text = err.to_string();
        assert!(
            text.contains("devopstestc2nj7") && text.contains("devopstestxyz12") && text.contains("Ask the user"),
            "{text}"
        );
        assert!(
            sim.requests().iter().all(|r| !r.path.contains("/pipelines")),
            "no pipeline route may be called for an ambiguous project"
        );
    }

    #[tokio::test]
    async fn empty_project_gives_empty_list() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "list_pipelines",
            serde_json::json!({"project": "my-devopstest"}),
        )
        .await
        .unwrap();
        assert_eq!(out["pipelines"].as_array().unwrap().len(), 0);
        assert_eq!(out["total"], 0);
    }
}
