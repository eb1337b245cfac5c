//! Toolset `quality` (opt-in): code quality (SonarQube) of pipelines.

use crate::mcp::registry::ToolEntry;

pub mod get_code_quality;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![ToolEntry::of::<get_code_quality::GetCodeQuality>()]
}
