//! `list_pipelines`: compact pipeline summaries of a project.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::ListQuery;
use crate::kubesphere::models::{PIPELINE_TYPE_MULTI_BRANCH, PIPELINE_TYPE_PIPELINE, Pipeline, keys};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::paging::{PageInfo, PageRequest};
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::syncview::SyncStatus;

crate::project_scoped!(ListPipelinesInput);

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
#[serde(deny_unknown_fields)]
pub struct ListPipelinesInput {
    /// DevOps project as the user named it: full name (e.g. devopstestc2nj7) or short name (e.g. devopstest). Resolved like resolve_devops_project; an ambiguous name is never guessed.
    pub project: String,
    /// Workspace of the project, if known (narrows the search).
    #[serde(default)]
    pub workspace: Option<String>,
    /// Cluster of the project, if known.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Only pipelines of this type.
    #[serde(default, rename = "type")]
    pub kind: Option<PipelineType>,
    /// Only pipelines whose name contains this text.
    #[serde(default)]
    pub name_contains: Option<String>,
    /// Page size (1-500, default 50).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `continue` value of the previous page.
    #[serde(default, rename = "continue")]
    pub continue_token: Option<String>,
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
    const DESCRIPTION: &'static str = "Lists the pipelines of a DevOps project: name, type (pipeline or multi-branch-pipeline), description, Jenkins sync status and, for multi-branch, repository URL and script path. Filter by type or name; paged.";
    const TOOLSET: Toolset = Toolset::Pipelines;
    const HINTS: Hints = Hints::READ;
    type Input = ListPipelinesInput;
    type Output = ListPipelinesOutput;

    async fn call(ctx: ToolCtx, input: ListPipelinesInput) -> Result<ListPipelinesOutput, ToolError> {
        let page = PageRequest::parse(input.limit, input.continue_token.as_deref())?;
        let project = resolve_input(&ctx, &input).await?;
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
