//! `create_pipeline_from_template`: renders a pipeline template with values
//! (KubeSphere's render route), has Jenkins compile the result, then
//! creates a regular pipeline with it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kubesphere::models::{NoScmPipeline, ObjectMeta, PIPELINE_TYPE_PIPELINE, Pipeline, PipelineSpec, keys};
use crate::kubesphere::path::validate_subdomain;
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::syncview::SyncStatus;
use crate::mcp::tools::authoring::{JenkinsfileCheck, check_jenkinsfile, check_size, checking_pipeline, stage_names};
use crate::mcp::tools::pipelines::ensure_absent;
use crate::mcp::tools::templates::{Scope, find_template};

pub struct CreatePipelineFromTemplate;

/// What upstream's Go template prints for a value that was not given.
const NO_VALUE: &str = "<no value>";
/// Longest Jenkinsfile echoed in the result.
const MAX_ECHO: usize = 8000;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct CreatePipelineFromTemplateInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Template name (list_pipeline_templates).
    pub template: String,
    /// project or cluster, when both have a template of that name.
    #[serde(default, rename = "scope")]
    pub template_scope: Option<Scope>,
    /// New pipeline name (lowercase letters, digits, '-', '.').
    pub name: String,
    /// Parameter values by name; parameters left out take their default.
    #[serde(default)]
    pub values: BTreeMap<String, Value>,
    /// What the pipeline is for.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatePipelineFromTemplateOutput {
    pub project: ProjectRef,
    pub name: String,
    pub template: String,
    pub scope: Scope,
    /// The values the template was rendered with (defaults filled in).
    pub values: BTreeMap<String, Value>,
    /// Stages of the rendered Jenkinsfile.
    pub stages: Vec<String>,
    /// The rendered Jenkinsfile (cut at 8000 characters).
    pub jenkinsfile: String,
    /// Jenkins' compile check of the rendered Jenkinsfile; absent when the project had no pipeline to check it in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<JenkinsfileCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_note: Option<String>,
    /// Jenkins sync state right after creation: `pending` (Jenkins gets it within seconds).
    pub sync_status: SyncStatus,
    pub next: String,
}

impl ToolDef for CreatePipelineFromTemplate {
    const NAME: &'static str = "create_pipeline_from_template";
    const TITLE: &'static str = "Create a pipeline from a template";
    const DESCRIPTION: &'static str = "Creates a regular pipeline from a KubeSphere pipeline template (list_pipeline_templates): fills defaults, refuses missing required values, renders it, has Jenkins compile the result, then creates the pipeline. Ask the user for required values first; never put secrets in values (use credential ids). Not retried: on failure check list_pipelines before calling again.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "template": "golang", "name": "go-service", "values": {"cloneURL": "https://github.com/example/go-service.git"}}"#;
    const TOOLSET: Toolset = Toolset::Templates;
    const HINTS: Hints = Hints::CREATE;
    const CHECK: &'static str = "get_pipeline";
    type Input = CreatePipelineFromTemplateInput;
    type Output = CreatePipelineFromTemplateOutput;

    async fn call(
        ctx: ToolCtx,
        input: CreatePipelineFromTemplateInput,
    ) -> Result<CreatePipelineFromTemplateOutput, ToolError> {
        validate_subdomain("pipeline name", &input.name)?;
        validate_subdomain("template name", &input.template)?;
        let project = resolve_input(&ctx, &input.scope).await?;
        ensure_absent(&ctx, &project, &input.name).await?;
        let found = find_template(&ctx, &project, &input.template, input.template_scope).await?;
        let declared = &found.template.spec.parameters;
        let unknown: Vec<&str> = input
            .values
            .keys()
            .filter(|k| !declared.iter().any(|p| &p.name == *k))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(ToolError::InvalidInput(format!(
                "template {:?} has no parameter {}; its parameters: {}",
                input.template,
                unknown.join(", "),
                declared.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        // Upstream's render applies no defaults and checks nothing: do both.
        let mut values = BTreeMap::new();
        let mut missing = Vec::new();
        for p in declared {
            match input.values.get(&p.name).cloned().or_else(|| p.default.clone()) {
                Some(v) => {
                    values.insert(p.name.clone(), v);
                }
                None if p.required => missing.push(p.name.clone()),
                None => {}
            }
        }
        if !missing.is_empty() {
            return Err(ToolError::NeedsUserInput(format!(
                "template {:?} needs a value for {}: ask the user, then call again with `values`",
                input.template,
                missing.join(", ")
            )));
        }
        let pairs: Vec<(String, Value)> = values.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let jenkinsfile = ctx
            .client
            .render_template(
                &project.cluster(),
                &found.upstream_scope(&project),
                &input.template,
                &pairs,
            )
            .await?;
        if jenkinsfile.contains(NO_VALUE) {
            let at = jenkinsfile
                .lines()
                .position(|l| l.contains(NO_VALUE))
                .map(|i| format!(" (line {})", i + 1))
                .unwrap_or_default();
            return Err(ToolError::InvalidInput(format!(
                "the template uses a value that was not given{at}: it would render as {NO_VALUE:?}. Give values for every parameter it uses ({}) and call again; nothing was created",
                declared.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        check_size(&jenkinsfile)?;
        let (validation, validation_note) = match checking_pipeline(&ctx, &project, None).await {
            Ok(p) => {
                let check = check_jenkinsfile(&ctx, &project, &p, &jenkinsfile).await?;
                if !check.valid {
                    let mut msg = format!("{} (as rendered from {:?}). Nothing was created.", check.describe(), input.template);
                    if let Some(l) = &check.source_line {
                        msg.push_str(&format!(" The line reads: {l:?}"));
                    }
                    return Err(ToolError::InvalidInput(msg));
                }
                (Some(check), None)
            }
            Err(ToolError::InvalidInput(_)) => (
                None,
                Some("Not compiled by Jenkins first: the project has no pipeline Jenkins knows yet to check it in. Validate it later with validate_jenkinsfile.".to_string()),
            ),
            Err(e) => return Err(e),
        };
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
                    jenkinsfile: Some(jenkinsfile.clone()),
                    ..Default::default()
                }),
                multi_branch_pipeline: None,
            },
        };
        let created = ctx
            .client
            .create_pipeline(&project.cluster(), &project.name, &pipeline)
            .await?;
        Ok(CreatePipelineFromTemplateOutput {
            stages: stage_names(&jenkinsfile),
            jenkinsfile: crate::text::cut(&jenkinsfile, MAX_ECHO),
            template: input.template,
            scope: found.scope,
            values,
            validation,
            validation_note,
            sync_status: SyncStatus::of(created.metadata.annotation(keys::PIPELINE_SYNC_STATUS)),
            next: format!(
                "Start it with trigger_run (project {:?}, pipeline {:?}); Jenkins may need a few seconds to sync a new pipeline.",
                project.name, input.name
            ),
            name: input.name,
            project,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::kubesphere::Cluster;
    use crate::testing::{call, client, ctx, sim};

    #[tokio::test]
    async fn creates_a_runnable_pipeline() {
        let sim = sim().await;
        let c = ctx(&sim);
        let out = call(
            &c,
            "create_pipeline_from_template",
            json!({"project": "stone-devops", "template": "node-ci", "name": "web-ci", "values": {"nodeVersion": "22"}}),
        )
        .await
        .unwrap();
        assert_eq!(out["scope"], "project");
        assert_eq!(out["values"], json!({"nodeVersion": "22", "package": "true"}));
        assert_eq!(out["stages"], json!(["Install", "Test", "Package"]));
        assert_eq!(out["validation"]["valid"], true);
        let p = client(&sim, "tenant")
            .get_pipeline(&Cluster::Host, "stone-devops", "web-ci")
            .await
            .unwrap();
        let jf = p.spec.pipeline.unwrap().jenkinsfile.unwrap();
        assert!(jf.contains("using node 22"), "{jf}");
        // Runnable: trigger it and see it succeed.
        let mut run = json!(null);
        for _ in 0..50 {
            match call(
                &c,
                "trigger_run",
                json!({"project": "stone-devops", "pipeline": "web-ci"}),
            )
            .await
            {
                Ok(r) => {
                    run = r;
                    break;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
        let name = run["run"]["name"].as_str().expect("run started").to_string();
        let done = call(
            &c,
            "wait_for_run",
            json!({"project": "stone-devops", "name": name, "timeout_seconds": 30, "poll_seconds": 1}),
        )
        .await
        .unwrap();
        assert_eq!(done["run"]["result"], "SUCCESS", "{done}");
    }

    #[tokio::test]
    async fn missing_values_and_bad_renders_create_nothing() {
        let sim = sim().await;
        let c = ctx(&sim);
        // A required value without default.
        let err = call(
            &c,
            "create_pipeline_from_template",
            json!({"project": "stone-devops", "template": "golang", "name": "go-ci"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "needs_user_input", "{err}");
        assert!(err.to_string().contains("cloneURL"), "{err}");
        // An unknown parameter.
        let err = call(
            &c,
            "create_pipeline_from_template",
            json!({"project": "stone-devops", "template": "golang", "name": "go-ci", "values": {"cloneUrl": "x"}}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("no parameter cloneUrl"), "{err}");
        // A value upstream cannot render (bool compared with a string).
        let err = call(
            &c,
            "create_pipeline_from_template",
            json!({"project": "stone-devops", "template": "node-ci", "name": "x-ci", "values": {"package": true}}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("parameters you provided"), "{err}");
        // A value that breaks the Jenkinsfile: Jenkins rejects it, nothing is created.
        let err = call(
            &c,
            "create_pipeline_from_template",
            json!({"project": "stone-devops", "template": "simple", "name": "s-ci", "values": {"message": "it's"}}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("line 6"), "{err}");
        assert!(
            !sim.requests()
                .iter()
                .any(|r| r.method == "POST" && r.path.ends_with("/pipelines"))
        );
    }
}
