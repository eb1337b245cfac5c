//! Toolset `credentials`: list, create, delete project credentials.

use crate::mcp::registry::ToolEntry;

pub mod create_credential;
pub mod delete_credential;
pub mod list_credentials;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<list_credentials::ListCredentials>(),
        ToolEntry::of::<create_credential::CreateCredential>(),
        ToolEntry::of::<delete_credential::DeleteCredential>(),
    ]
}
