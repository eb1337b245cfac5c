//! The tools, one folder per toolset (`<toolset>/<tool>.rs`: name,
//! description, input/output types, handler and tests together); each
//! folder's `mod.rs` holds what its tools share and lists its tools.

use super::registry::{Registry, ToolEntry, ToolFilter};

pub mod access;
pub mod artifacts;
pub mod authoring;
pub mod cleanup;
pub mod context;
pub mod credentials;
pub mod gitops;
pub mod logs;
pub mod pipelines;
pub mod projects;
pub mod quality;
pub mod repos;
pub mod runs;
pub mod templates;
pub mod toolsets;

/// Every tool of the binary, in catalog order (toolset by toolset, then
/// the two tools of dynamic toolsets).
pub fn all() -> Vec<ToolEntry> {
    [toolset_tools(), toolsets::tools()].concat()
}

/// The tools of the toolsets (what `--toolsets` chooses from).
fn toolset_tools() -> Vec<ToolEntry> {
    [
        context::tools(),
        pipelines::tools(),
        runs::tools(),
        logs::tools(),
        artifacts::tools(),
        credentials::tools(),
        gitops::tools(),
        repos::tools(),
        access::tools(),
        cleanup::tools(),
        authoring::tools(),
        templates::tools(),
        quality::tools(),
        projects::tools(),
    ]
    .concat()
}

impl Registry {
    /// Every tool the binary has, unfiltered.
    pub fn all() -> Registry {
        Registry::from_entries(all())
    }

    /// The tools `filter` allows; `--read-only` keeps exactly the tools
    /// annotated read-only.
    /// `list_toolsets` and `enable_toolset` are never part of it: the
    /// server adds them in dynamic mode ([`crate::mcp::dynamic`]).
    pub fn filtered(filter: &ToolFilter) -> Registry {
        Registry::from_entries(toolset_tools()).only(filter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_write_names_the_read_that_checks_it() {
        let all = Registry::all();
        for e in all.entries() {
            if e.hints.read_only {
                assert!(e.check.is_empty(), "{}", e.name());
                continue;
            }
            // download_artifact only reads KubeSphere (it writes a local file).
            if e.name() == "download_artifact" {
                continue;
            }
            let check = all
                .get(e.check)
                .unwrap_or_else(|| panic!("{} names no tool to check it ({:?})", e.name(), e.check));
            assert!(check.hints.read_only, "{} is checked with {}", e.name(), e.check);
        }
    }
}
