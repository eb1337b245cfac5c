//! Toolset `pipelines`: list, inspect, create, delete; branches and scans.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::kubesphere::KsError;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::ToolEntry;
use crate::mcp::resolve::ProjectRef;

pub mod create_multibranch_pipeline;
pub mod create_pipeline;
pub mod get_pipeline;
pub mod get_scan_log;
pub mod list_branches;
pub mod list_pipelines;
pub mod scan_repository;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<list_pipelines::ListPipelines>(),
        ToolEntry::of::<get_pipeline::GetPipeline>(),
        ToolEntry::of::<create_pipeline::CreatePipeline>(),
        ToolEntry::of::<create_multibranch_pipeline::CreateMultibranchPipeline>(),
        ToolEntry::of::<list_branches::ListBranches>(),
        ToolEntry::of::<scan_repository::ScanRepository>(),
        ToolEntry::of::<get_scan_log::GetScanLog>(),
    ]
}

/// Fails with a clear message when a pipeline of that name exists.
pub(crate) async fn ensure_absent(ctx: &ToolCtx, project: &ProjectRef, name: &str) -> Result<(), ToolError> {
    match ctx.client.get_pipeline(&project.cluster(), &project.name, name).await {
        Ok(_) => Err(ToolError::InvalidInput(format!(
            "a pipeline named {name:?} already exists in {}: pick another name, or inspect it with get_pipeline",
            project.describe()
        ))),
        Err(KsError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

// Type of a build parameter (create_pipeline, and update_pipeline in `authoring`).
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
    pub(crate) fn upstream(self) -> &'static str {
        match self {
            ParameterType::String => "string",
            ParameterType::Text => "text",
            ParameterType::Boolean => "boolean",
            ParameterType::Choice => "choice",
            ParameterType::Password => "password",
        }
    }
}

// A build parameter a pipeline declares.
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
