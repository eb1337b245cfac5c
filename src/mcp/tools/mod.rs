//! The tools, one folder per toolset (`<toolset>/<tool>.rs`: name,
//! description, input/output types, handler and tests together); each
//! folder's `mod.rs` holds what its tools share and lists its tools.

use super::registry::ToolEntry;

pub mod access;
pub mod authoring;
pub mod context;
pub mod credentials;
pub mod gitops;
pub mod logs;
pub mod pipelines;
pub mod quality;
pub mod repos;
pub mod runs;
pub mod templates;

/// Every tool of the binary, in catalog order (toolset by toolset).
pub fn all() -> Vec<ToolEntry> {
    [
        context::tools(),
        pipelines::tools(),
        runs::tools(),
        logs::tools(),
        credentials::tools(),
        gitops::tools(),
        repos::tools(),
        access::tools(),
        authoring::tools(),
        templates::tools(),
        quality::tools(),
    ]
    .concat()
}
