//! `create_pipeline`: a regular pipeline from a Jenkinsfile (v1alpha3).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::models::{
    NoScmPipeline, ObjectMeta, PIPELINE_TYPE_PIPELINE, ParameterDefinition, Pipeline, PipelineSpec, keys,
};
use crate::kubesphere::path::validate_subdomain;
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::syncview::SyncStatus;

use super::ensure_absent;

pub struct CreatePipeline;

/// Largest Jenkinsfile accepted.
const MAX_JENKINSFILE: usize = 256 * 1024;

#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ParameterType {
    String,
    Text,
    Boolean,
    Choice,
    Password,
}

impl ParameterType {
    fn upstream(self) -> &'static str {
        match self {
            ParameterType::String => "string",
            ParameterType::Text => "text",
            ParameterType::Boolean => "boolean",
            ParameterType::Choice => "choice",
            ParameterType::Password => "password",
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParameterInput {
    /// Parameter name, as the Jenkinsfile reads it (`params.NAME`).
    pub name: String,
    /// Kind of value.
    #[serde(rename = "type")]
    pub kind: ParameterType,
    /// Default value (for `choice`: the choices, one per line). Never put a real secret here.
    #[serde(default)]
    pub default_value: Option<String>,
    /// Shown to whoever starts a run.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct CreatePipelineInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// New pipeline name (lowercase letters, digits, '-', '.').
    pub name: String,
    /// The Jenkinsfile (declarative pipeline text).
    pub jenkinsfile: String,
    /// What the pipeline is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Build parameters the pipeline declares.
    #[serde(default)]
    pub parameters: Vec<ParameterInput>,
    /// Refuse to run two builds of this pipeline at once.
    #[serde(default)]
    pub disable_concurrent: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatePipelineOutput {
    pub project: ProjectRef,
    pub name: String,
    /// Always `pipeline`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Jenkins sync state right after creation: `pending` (Jenkins gets it within seconds).
    pub sync_status: SyncStatus,
    pub next: String,
}

impl ToolDef for CreatePipeline {
    const NAME: &'static str = "create_pipeline";
    const TITLE: &'static str = "Create a regular pipeline";
    const DESCRIPTION: &'static str = "Creates a regular pipeline from a Jenkinsfile text (for one built from a repository's branches use create_multibranch_pipeline). Never put secrets in the Jenkinsfile: reference a credential id. Not retried: after a failure check list_pipelines before creating again.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "name": "hello-again", "jenkinsfile": "pipeline { agent any\n stages { stage('Hi') { steps { echo 'hi' } } } }"}"#;
    const TOOLSET: Toolset = Toolset::Pipelines;
    const HINTS: Hints = Hints::CREATE;
    const CHECK: &'static str = "get_pipeline";
    type Input = CreatePipelineInput;
    type Output = CreatePipelineOutput;

    async fn call(ctx: ToolCtx, input: CreatePipelineInput) -> Result<CreatePipelineOutput, ToolError> {
        validate_subdomain("pipeline name", &input.name)?;
        if input.jenkinsfile.trim().is_empty() {
            return Err(ToolError::InvalidInput(
                "`jenkinsfile` is empty: pass the pipeline text (e.g. pipeline { agent any; stages { ... } })".into(),
            ));
        }
        if input.jenkinsfile.len() > MAX_JENKINSFILE {
            return Err(ToolError::InvalidInput(format!(
                "the Jenkinsfile is {} bytes; at most {MAX_JENKINSFILE} are accepted",
                input.jenkinsfile.len()
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &input.parameters {
            if p.name.trim().is_empty() || !seen.insert(p.name.as_str()) {
                return Err(ToolError::InvalidInput(format!(
                    "parameter names must be non-empty and distinct (got {:?})",
                    p.name
                )));
            }
        }
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        ensure_absent(&ctx, &project, &input.name).await?;
        let mut annotations = BTreeMap::new();
        if let Some(user) = ctx.client.identity().await?.username {
            annotations.insert(keys::CREATOR.to_string(), user);
        }
        let pipeline = Pipeline {
            metadata: ObjectMeta {
                name: input.name.clone(),
                namespace: Some(project.name.clone()),
                annotations,
                ..Default::default()
            },
            spec: PipelineSpec {
                kind: PIPELINE_TYPE_PIPELINE.into(),
                pipeline: Some(NoScmPipeline {
                    name: input.name.clone(),
                    description: input.description.clone().filter(|d| !d.is_empty()),
                    jenkinsfile: Some(input.jenkinsfile.clone()),
                    disable_concurrent: input.disable_concurrent.then_some(true),
                    parameters: input
                        .parameters
                        .iter()
                        .map(|p| ParameterDefinition {
                            name: p.name.clone(),
                            kind: p.kind.upstream().into(),
                            default_value: p.default_value.clone(),
                            description: p.description.clone(),
                        })
                        .collect(),
                    ..Default::default()
                }),
                multi_branch_pipeline: None,
            },
        };
        let created = ctx.client.create_pipeline(&cluster, &project.name, &pipeline).await?;
        Ok(CreatePipelineOutput {
            sync_status: SyncStatus::of(created.metadata.annotation(keys::PIPELINE_SYNC_STATUS)),
            next: format!(
                "Start it with trigger_run (project {:?}, pipeline {:?}); Jenkins may need a few seconds to sync a new pipeline.",
                project.name, input.name
            ),
            name: input.name,
            kind: PIPELINE_TYPE_PIPELINE.into(),
            project,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, client, ctx, sim};

    const JF: &str = "pipeline {\n  agent any\n  stages {\n    stage('Build') {\n      steps {\n        echo 'hi'\n      }\n    }\n  }\n}\n";

    #[tokio::test]
    async fn creates_a_pipeline_that_can_run() {
        let sim = sim().await;
        let c = ctx(&sim);
        let out = call(
            &c,
            "create_pipeline",
            serde_json::json!({"project": "stone-devops", "name": "build-app", "jenkinsfile": JF,
                "description": "builds the app", "parameters": [{"name": "TAG", "type": "string", "default_value": "v1"}]}),
        )
        .await
        .unwrap();
        assert_eq!(out["name"], "build-app");
        assert_eq!(out["type"], "pipeline");
        let p = client(&sim, "tenant")
            .get_pipeline(&crate::kubesphere::Cluster::Host, "stone-devops", "build-app")
            .await
            .unwrap();
        let spec = p.spec.pipeline.unwrap();
        assert_eq!(spec.jenkinsfile.as_deref(), Some(JF));
        assert_eq!(spec.description.as_deref(), Some("builds the app"));
        assert_eq!(spec.parameters[0].kind, "string");
        assert_eq!(p.metadata.annotation("kubesphere.io/creator"), Some("tenant"));
        let again = call(
            &c,
            "create_pipeline",
            serde_json::json!({"project": "stone-devops", "name": "build-app", "jenkinsfile": JF}),
        )
        .await
        .unwrap_err();
        assert!(again.to_string().contains("already exists"), "{again}");
    }

    #[tokio::test]
    async fn bad_input_creates_nothing() {
        let sim = sim().await;
        for args in [
            serde_json::json!({"project": "stone-devops", "name": "Bad_Name", "jenkinsfile": JF}),
            serde_json::json!({"project": "stone-devops", "name": "ok", "jenkinsfile": "  "}),
            serde_json::json!({"project": "stone-devops", "name": "ok", "jenkinsfile": JF,
                "parameters": [{"name": "A", "type": "string"}, {"name": "A", "type": "text"}]}),
        ] {
            let err = call(&ctx(&sim), "create_pipeline", args).await.unwrap_err();
            assert!(matches!(err.kind(), "invalid_input" | "invalid_name"), "{err}");
        }
        assert!(crate::testing::only_reads(&sim));
    }
}
