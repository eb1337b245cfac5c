//! `list_pipeline_templates`: the pipeline templates a DevOps project can
//! use (its own and the cluster's) with their parameters (read-only).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::tools::templates::{ParameterView, Scope, all_templates, find_template, parameters};

pub struct ListPipelineTemplates;

/// Longest template text returned.
const MAX_TEXT: usize = 8000;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListPipelineTemplatesInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Only this one, with its text.
    #[serde(default)]
    pub template: Option<String>,
    /// project or cluster, if both have that name.
    #[serde(default, rename = "scope")]
    pub template_scope: Option<Scope>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TemplateView {
    pub name: String,
    pub scope: Scope,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub parameters: Vec<ParameterView>,
    /// With `template`: the template text (Go template, `$(.params.NAME)` placeholders; cut at 8000 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListPipelineTemplatesOutput {
    pub project: ProjectRef,
    pub templates: Vec<TemplateView>,
    pub next: String,
}

impl ToolDef for ListPipelineTemplates {
    const NAME: &'static str = "list_pipeline_templates";
    const TITLE: &'static str = "List pipeline templates";
    const DESCRIPTION: &'static str = "The pipeline templates a DevOps project can use (its own and the cluster's) with their parameters; name one `template` to see its text. Then create_pipeline_from_template.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops"}"#;
    const TOOLSET: Toolset = Toolset::Templates;
    const HINTS: Hints = Hints::READ;
    type Input = ListPipelineTemplatesInput;
    type Output = ListPipelineTemplatesOutput;

    async fn call(ctx: ToolCtx, input: ListPipelineTemplatesInput) -> Result<ListPipelineTemplatesOutput, ToolError> {
        let project = resolve_input(&ctx, &input.scope).await?;
        let found = match input.template.as_deref() {
            Some(name) => vec![find_template(&ctx, &project, name, input.template_scope).await?],
            None => all_templates(&ctx, &project).await?,
        };
        let with_text = input.template.is_some();
        let templates: Vec<TemplateView> = found
            .into_iter()
            .map(|f| TemplateView {
                name: f.template.metadata.name.clone(),
                scope: f.scope,
                display_name: f.template.display(),
                description: f.template.description().map(str::to_string),
                parameters: parameters(&f.template),
                text: with_text.then(|| crate::text::cut(&f.template.spec.template, MAX_TEXT)),
            })
            .collect();
        let next = if templates.is_empty() {
            "No templates: write a Jenkinsfile and use create_pipeline.".into()
        } else {
            "Create a pipeline with create_pipeline_from_template (template, scope, values for the parameters; ask the user for required ones).".into()
        };
        Ok(ListPipelineTemplatesOutput {
            project,
            templates,
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn project_and_cluster_templates() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "list_pipeline_templates",
            serde_json::json!({"project": "stone-devops"}),
        )
        .await
        .unwrap();
        let names: Vec<(String, String)> = out["templates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].as_str().unwrap().into(), t["scope"].as_str().unwrap().into()))
            .collect();
        assert_eq!(names[0], ("node-ci".into(), "project".into()));
        assert!(names.contains(&("golang".into(), "cluster".into())), "{names:?}");
        assert!(out["templates"][0].get("text").is_none());
        let one = call(
            &ctx(&sim),
            "list_pipeline_templates",
            serde_json::json!({"project": "stone-devops", "template": "golang"}),
        )
        .await
        .unwrap();
        let t = &one["templates"][0];
        assert!(t["text"].as_str().unwrap().contains("$(.params.cloneURL)"));
        assert_eq!(t["parameters"][0]["name"], "cloneURL");
        assert_eq!(t["parameters"][0]["required"], true);
        assert_eq!(t["parameters"][1]["default"], "main");
        let err = call(
            &ctx(&sim),
            "list_pipeline_templates",
            serde_json::json!({"project": "stone-devops", "template": "nope"}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("golang (cluster)"), "{err}");
    }
}
