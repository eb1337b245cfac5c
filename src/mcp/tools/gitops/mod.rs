//! Toolset `gitops`: GitOps applications.

use crate::kubesphere::Cluster;
use crate::kubesphere::gitops::Application;
use crate::mcp::appview::{ApplicationDetail, ApplicationSummary, problem};
use crate::mcp::registry::ToolEntry;

pub mod create_application;
pub mod delete_application;
pub mod get_application_status;
pub mod list_applications;
pub mod sync_application;
pub mod update_application;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<list_applications::ListApplications>(),
        ToolEntry::of::<get_application_status::GetApplicationStatus>(),
        ToolEntry::of::<create_application::CreateApplication>(),
        ToolEntry::of::<sync_application::SyncApplication>(),
        ToolEntry::of::<update_application::UpdateApplication>(),
        ToolEntry::of::<delete_application::DeleteApplication>(),
    ]
}

/// The status view of an application read just now.
pub(crate) fn status_view(
    app: &Application,
    cluster: &Cluster,
    detail: bool,
) -> (ApplicationSummary, Option<String>, Option<ApplicationDetail>, String) {
    let summary = ApplicationSummary::of(app, cluster);
    let status = match app.argo_status() {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(app = %app.metadata.name, error = %e, "unreadable Argo CD status");
            None
        }
    };
    let phase = status
        .as_ref()
        .and_then(|s| s.operation_state.as_ref())
        .and_then(|o| o.phase.clone());
    let message = problem(&summary, status.as_ref());
    let next = summary.next(phase.as_deref());
    let detail = detail.then(|| {
        status
            .as_ref()
            .map(|s| ApplicationDetail::of(app, s))
            .unwrap_or_else(|| ApplicationDetail {
                synced_revision: None,
                health_message: None,
                resources: Vec::new(),
                images: app.images_annotation(),
                last_operation: None,
                reconciled_at: None,
            })
    });
    (summary, message, detail, next)
}

/// A path inside the repository (default the root `.`): relative, no `..`.
pub(crate) fn check_path(raw: Option<&str>) -> Result<String, crate::mcp::error::ToolError> {
    let p = raw.map(str::trim).filter(|p| !p.is_empty()).unwrap_or(".");
    if p.starts_with('/') || p.split('/').any(|s| s == "..") {
        return Err(crate::mcp::error::ToolError::InvalidInput(
            "path is relative to the repository root and may not start with '/' or contain '..'".into(),
        ));
    }
    Ok(p.trim_end_matches('/').to_string())
}
