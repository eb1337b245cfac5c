//! Toolset `access`: access diagnosis (opt-in).

use crate::mcp::registry::ToolEntry;

pub mod diagnose_access;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![ToolEntry::of::<diagnose_access::DiagnoseAccess>()]
}
