//! The two tools of dynamic toolsets (`--dynamic-toolsets`): served in
//! that mode whatever `--toolsets` says, never otherwise; the engine is
//! [`crate::mcp::dynamic`]. Their `TOOLSET` is `context` (where the
//! catalog lists them); this folder is not a toolset of its own.

use crate::mcp::registry::ToolEntry;

pub mod enable_toolset;
pub mod list_toolsets;

/// The tools of dynamic toolsets, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<list_toolsets::ListToolsets>(),
        ToolEntry::of::<enable_toolset::EnableToolset>(),
    ]
}
