//! Toolset `templates` (opt-in): KubeSphere pipeline templates (a DevOps
//! project's own and the cluster's), their parameters, and pipelines made
//! from them. What its tools share: finding a template by name.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::kubesphere::templates::{PipelineTemplate, TemplateScope};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::ToolEntry;
use crate::mcp::resolve::ProjectRef;

pub mod create_pipeline_from_template;
pub mod list_pipeline_templates;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<list_pipeline_templates::ListPipelineTemplates>(),
        ToolEntry::of::<create_pipeline_from_template::CreatePipelineFromTemplate>(),
    ]
}

/// One parameter of a template.
#[derive(Debug, Serialize, JsonSchema, Clone)]
pub struct ParameterView {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A value must be given (no default).
    pub required: bool,
    /// Used when no value is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Declared type, e.g. string or bool.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Which templates a template name may mean.
#[derive(Debug, Serialize, JsonSchema, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Project,
    Cluster,
}

/// A template with its scope.
pub struct Found {
    pub scope: Scope,
    pub template: PipelineTemplate,
}

impl Found {
    pub fn upstream_scope(&self, project: &ProjectRef) -> TemplateScope {
        match self.scope {
            Scope::Project => TemplateScope::Project(project.name.clone()),
            Scope::Cluster => TemplateScope::Cluster,
        }
    }
}

pub fn parameters(t: &PipelineTemplate) -> Vec<ParameterView> {
    t.spec
        .parameters
        .iter()
        .map(|p| ParameterView {
            name: p.name.clone(),
            description: p.description.clone().filter(|d| !d.is_empty()),
            required: p.required,
            default: p.default.clone(),
            kind: p.kind.clone().filter(|k| !k.is_empty()),
        })
        .collect()
}

/// Every template the project can use: its own, then the cluster's.
pub async fn all_templates(ctx: &ToolCtx, project: &ProjectRef) -> Result<Vec<Found>, ToolError> {
    let cluster = project.cluster();
    let (own, shared) = tokio::join!(
        ctx.client.project_templates(&cluster, &project.name),
        ctx.client.cluster_templates(&cluster)
    );
    let mut out: Vec<Found> = own?
        .into_iter()
        .map(|template| Found {
            scope: Scope::Project,
            template,
        })
        .collect();
    out.extend(shared?.into_iter().map(|template| Found {
        scope: Scope::Cluster,
        template,
    }));
    Ok(out)
}

/// The template `name` (in `scope` if given); an ambiguous or unknown name
/// is an error that lists what exists.
pub async fn find_template(
    ctx: &ToolCtx,
    project: &ProjectRef,
    name: &str,
    scope: Option<Scope>,
) -> Result<Found, ToolError> {
    let all = all_templates(ctx, project).await?;
    let names: Vec<String> = all
        .iter()
        .map(|f| {
            format!(
                "{} ({})",
                f.template.metadata.name,
                if f.scope == Scope::Project {
                    "project"
                } else {
                    "cluster"
                }
            )
        })
        .collect();
    let mut matching: Vec<Found> = all
        .into_iter()
        .filter(|f| f.template.metadata.name == name && scope.is_none_or(|s| s == f.scope))
        .collect();
    match matching.len() {
        0 => Err(ToolError::InvalidInput(format!(
            "no pipeline template named {name:?} for {}; templates: {}. Call list_pipeline_templates",
            project.describe(),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ))),
        1 => Ok(matching.remove(0)),
        _ => Err(ToolError::InvalidInput(format!(
            "{name:?} names both a project template and a cluster template: pass `scope` (project or cluster)"
        ))),
    }
}
