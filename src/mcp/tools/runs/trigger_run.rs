//! `trigger_run`: start a run; a multi-branch pipeline needs a branch the
//! user chose. Never retried automatically.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::BranchName;
use crate::kubesphere::models::{NameValue, PIPELINE_TYPE_MULTI_BRANCH};
use rmcp::model::ElicitationSchema;

use crate::mcp::args::ProjectArgs;
use crate::mcp::context::{Question, ToolCtx, one_of};
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runview::RunView;

pub struct TriggerRun;

/// Branches offered when asking.
const MAX_BRANCH_CHOICES: usize = 50;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct TriggerRunInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Pipeline name.
    pub pipeline: String,
    /// Branch to build (multi-branch pipelines only), as Git names it, e.g. `feature/login` (the encoded `feature%2Flogin` means the same branch). Must come from the user: if they did not say, leave it out and the server asks.
    #[serde(default)]
    pub branch: Option<String>,
    /// Build parameters, name to value.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TriggerStatus {
    /// A run was created: see `run`.
    Started,
    /// No run was created: ask the user which branch (see `branches`, `ask_user`).
    NeedsBranch,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TriggerRunOutput {
    pub status: TriggerStatus,
    pub project: ProjectRef,
    pub pipeline: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunView>,
    /// Branches to choose from, when a branch is needed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ask_user: Option<String>,
    /// What to do next.
    pub next: String,
}

impl ToolDef for TriggerRun {
    const NAME: &'static str = "trigger_run";
    const TITLE: &'static str = "Trigger a pipeline run";
    const DESCRIPTION: &'static str = "Starts one run of a pipeline; returns its PipelineRun name (and Jenkins run id once known). A multi-branch pipeline needs `branch`: if the user named none, omit it and the server asks the user or returns needs_branch with branches to offer, creating nothing. Not retried: after a failure check list_runs before triggering again. Follow with wait_for_run.";
    const EXAMPLE: &'static str =
        r#"{"project": "stone-devops", "pipeline": "echo-pipeline", "branch": "feature/login"}"#;
    const TOOLSET: Toolset = Toolset::Runs;
    const HINTS: Hints = Hints::CREATE;
    const CHECK: &'static str = "list_runs";
    type Input = TriggerRunInput;
    type Output = TriggerRunOutput;

    async fn call(ctx: ToolCtx, input: TriggerRunInput) -> Result<TriggerRunOutput, ToolError> {
        let mut branch = crate::mcp::runlocate::parse_branch(input.branch.as_deref())?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let pipeline = ctx
            .client
            .get_pipeline(&cluster, &project.name, &input.pipeline)
            .await?;
        let multi = pipeline.spec.kind == PIPELINE_TYPE_MULTI_BRANCH;
        if !multi && branch.is_some() {
            return Err(ToolError::InvalidInput(format!(
                "{} is a regular pipeline and has no branches: call again without `branch`",
                input.pipeline
            )));
        }
        if multi && branch.is_none() {
            let offered: Vec<BranchName> = ctx
                .client
                .list_branches_fresh(&cluster, &project.name, &input.pipeline, false)
                .await?
                .items
                .iter()
                .filter(|b| !b.disabled.unwrap_or(false))
                .filter_map(|b| b.branch_name())
                .collect();
            let branches: Vec<String> = offered.iter().map(|b| b.raw().to_string()).collect();
            if branches.is_empty() {
                return Err(ToolError::NeedsUserInput(format!(
                    "{} has no discovered branches yet: run scan_repository, then list_branches, and ask the user which branch to build",
                    input.pipeline
                )));
            }
            let question = branch_question(&input.pipeline, &branches);
            if let Some(crate::mcp::context::Answer::Accept(content)) = ctx.ask(question).await? {
                branch = content
                    .get("branch")
                    .and_then(|v| v.as_str())
                    .and_then(|b| offered.iter().find(|x| x.raw() == b))
                    .cloned();
            }
            if branch.is_none() {
                return Ok(TriggerRunOutput {
                    status: TriggerStatus::NeedsBranch,
                    ask_user: Some(format!(
                        "{} is a multi-branch pipeline. Which branch should be built: {}?",
                        input.pipeline,
                        branches.join(", ")
                    )),
                    next: "Ask the user which branch, then call trigger_run again with `branch`. No run was created."
                        .into(),
                    branches,
                    project,
                    pipeline: input.pipeline,
                    run: None,
                });
            }
        }
        let params: Vec<NameValue> = input
            .parameters
            .iter()
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, v)| NameValue {
                name: k.clone(),
                value: v.clone(),
            })
            .collect();
        let pr = ctx
            .client
            .create_pipelinerun(&cluster, &project.name, &input.pipeline, branch.as_ref(), &params)
            .await?;
        let mut run = RunView::from_pipelinerun(&pr);
        run.pipeline = Some(input.pipeline.clone());
        if run.branch.is_none() {
            run.branch = branch;
        }
        Ok(TriggerRunOutput {
            status: TriggerStatus::Started,
            next: format!(
                "Follow it with wait_for_run (run {:?}) or get_run.",
                run.name.as_deref().unwrap_or_default()
            ),
            run: Some(run),
            branches: Vec::new(),
            ask_user: None,
            project,
            pipeline: input.pipeline,
        })
    }
}

fn branch_question(pipeline: &str, branches: &[String]) -> Question {
    let options = branches.iter().take(MAX_BRANCH_CHOICES).map(|b| (b.clone(), b.clone()));
    Question {
        key: "branch".into(),
        message: format!("{pipeline} is a multi-branch pipeline. Which branch should be built?"),
        form: ElicitationSchema::builder().required_enum_schema(
            "branch",
            one_of("Branch", format!("Branch of {pipeline} to build"), options),
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[test]
    fn the_branch_form_offers_each_branch() {
        let q = super::branch_question("api", &["main".to_string(), "dev".to_string()]);
        let expected = serde_json::json!({
            "type": "object",
            "properties": {
                "branch": {
                    "type": "string",
                    "title": "Branch",
                    "description": "Branch of api to build",
                    "oneOf": [{"const": "main", "title": "main"}, {"const": "dev", "title": "dev"}],
                }
            },
            "required": ["branch"],
        });
        assert_eq!(crate::mcp::context::requested_schema(q), expected);
    }

    #[tokio::test]
    async fn multibranch_without_branch_creates_nothing() {
        let sim = sim().await;
        let before = sim.pipelinerun_names("host", "stone-devops").len();
        let out = call(
            &ctx(&sim),
            "trigger_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "needs_branch");
        let branches: Vec<&str> = out["branches"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b.as_str())
            .collect();
        assert!(
            branches.contains(&"main") && branches.contains(&"feature-branch"),
            "{branches:?}"
        );
        assert!(out.get("run").is_none());
        assert_eq!(sim.pipelinerun_names("host", "stone-devops").len(), before);
        assert!(crate::testing::only_reads(&sim));
    }

    #[tokio::test]
    async fn branch_run_starts_exactly_one() {
        let sim = sim().await;
        let before = sim.pipelinerun_names("host", "stone-devops").len();
        let out = call(
            &ctx(&sim),
            "trigger_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline", "branch": "main"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "started");
        assert_eq!(out["run"]["branch"], "main");
        assert!(out["run"]["name"].as_str().unwrap().starts_with("echo-pipeline-"));
        assert_eq!(sim.pipelinerun_names("host", "stone-devops").len(), before + 1);
    }

    #[tokio::test]
    async fn regular_pipeline_with_parameters() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "trigger_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello", "parameters": {"TAG": "v1"}}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "started");
        let err = call(
            &ctx(&sim),
            "trigger_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello", "branch": "main"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "invalid_input");
    }

    #[tokio::test]
    async fn a_lost_answer_never_starts_two_builds() {
        let sim = sim().await;
        let before = sim.pipelinerun_names("host", "stone-devops").len();
        sim.inject(ks_sim::Fault {
            method: Some("POST".into()),
            path_contains: "/pipelineruns".into(),
            kind: ks_sim::FaultKind::DropAfterProcessing,
            times: 5,
        });
        let err = call(
            &ctx(&sim),
            "trigger_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello"}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("NOT retried"), "{err}");
        assert_eq!(sim.pipelinerun_names("host", "stone-devops").len(), before + 1);
        let posts = sim
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.contains("/pipelineruns"))
            .count();
        assert_eq!(posts, 1);
    }
}
