//! Compact views of GitOps Applications shared by the gitops tools.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::Cluster;
use crate::kubesphere::gitops::{Application, ArgoHealth, ArgoStatus, IN_CLUSTER_SERVER};
use crate::kubesphere::models::keys;

/// Argo CD health (label `gitops.kubesphere.io/health-status`).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum HealthStatus {
    Healthy,
    Progressing,
    Degraded,
    Suspended,
    Missing,
    Unknown,
}

impl HealthStatus {
    pub fn parse(s: Option<&str>) -> HealthStatus {
        match s.unwrap_or_default() {
            "Healthy" => HealthStatus::Healthy,
            "Progressing" => HealthStatus::Progressing,
            "Degraded" => HealthStatus::Degraded,
            "Suspended" => HealthStatus::Suspended,
            "Missing" => HealthStatus::Missing,
            _ => HealthStatus::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "Healthy",
            HealthStatus::Progressing => "Progressing",
            HealthStatus::Degraded => "Degraded",
            HealthStatus::Suspended => "Suspended",
            HealthStatus::Missing => "Missing",
            HealthStatus::Unknown => "Unknown",
        }
    }
}

/// Argo CD sync status (label `gitops.kubesphere.io/sync-status`).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum SyncStatus {
    Synced,
    OutOfSync,
    Unknown,
}

impl SyncStatus {
    pub fn parse(s: Option<&str>) -> SyncStatus {
        match s.unwrap_or_default() {
            "Synced" => SyncStatus::Synced,
            "OutOfSync" => SyncStatus::OutOfSync,
            _ => SyncStatus::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Synced => "Synced",
            SyncStatus::OutOfSync => "OutOfSync",
            SyncStatus::Unknown => "Unknown",
        }
    }
}

/// One application, compact.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ApplicationSummary {
    pub name: String,
    /// Healthy, Progressing, Degraded, Suspended, Missing or Unknown (Unknown also before Argo CD first reports).
    pub health: HealthStatus,
    /// Synced, OutOfSync or Unknown.
    pub sync: SyncStatus,
    /// A sync is running or queued (a requested one, or Argo CD's automated one).
    pub operation_running: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo_url: Option<String>,
    /// Revision deployed from (branch, tag, commit or HEAD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    /// Path in the repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Namespace deployed to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_namespace: Option<String>,
    /// Cluster deployed to: the project's cluster when Argo CD targets its own cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_cluster: Option<String>,
    /// Argo CD syncs by itself on every change.
    pub auto_sync: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub prune: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub self_heal: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

impl ApplicationSummary {
    pub fn of(app: &Application, cluster: &Cluster) -> ApplicationSummary {
        let spec = app.argo_spec();
        let source = spec.and_then(|s| s.source.as_ref());
        let dest = spec.and_then(|s| s.destination.as_ref());
        let policy = spec.and_then(|s| s.sync_policy.as_ref());
        let automated = policy.and_then(|p| p.automated.as_ref());
        let destination_cluster = dest.and_then(|d| {
            let server = d.server.as_deref().filter(|s| !s.is_empty());
            let name = d.name.as_deref().filter(|s| !s.is_empty());
            match (server, name) {
                (Some(IN_CLUSTER_SERVER), _) | (None, Some("in-cluster")) => Some(cluster.name().to_string()),
                (_, Some(n)) => Some(n.to_string()),
                (Some(s), None) => Some(s.to_string()),
                (None, None) => None,
            }
        });
        ApplicationSummary {
            name: app.metadata.name.clone(),
            health: HealthStatus::parse(app.health_label()),
            sync: SyncStatus::parse(app.sync_label()),
            operation_running: app.sync_in_progress(),
            repo_url: source.map(|s| s.repo_url.clone()).filter(|s| !s.is_empty()),
            target_revision: source.and_then(|s| s.target_revision.clone()).filter(|s| !s.is_empty()),
            path: source.and_then(|s| s.path.clone()).filter(|s| !s.is_empty()),
            destination_namespace: dest.and_then(|d| d.namespace.clone()).filter(|s| !s.is_empty()),
            destination_cluster,
            auto_sync: automated.is_some(),
            prune: automated.is_some_and(|a| a.prune),
            self_heal: automated.is_some_and(|a| a.self_heal),
            sync_options: policy.map(|p| p.sync_options.clone()).unwrap_or_default(),
            description: app
                .metadata
                .annotation(keys::DESCRIPTION)
                .map(str::to_string)
                .filter(|s| !s.is_empty()),
            created: app.metadata.creation_timestamp.clone(),
        }
    }

    /// The next step for an agent, from the state.
    pub fn next(&self, last_phase: Option<&str>) -> String {
        let failed = matches!(last_phase, Some("Failed" | "Error"));
        if self.operation_running || matches!(last_phase, Some("Running" | "Terminating")) {
            return "Argo CD is syncing: call get_application_status again in a few seconds.".into();
        }
        match (self.sync, self.health) {
            (_, HealthStatus::Degraded) | (_, HealthStatus::Missing) if failed => "The last sync failed: read `message` (and detail: true for the resources); fix the manifests or image in the repository, then sync_application. Tell the user what failed.".into(),
            (_, HealthStatus::Degraded) => "Deployed but unhealthy: call get_application_status with detail: true to see which resources; tell the user.".into(),
            (SyncStatus::Synced, HealthStatus::Healthy) => "Deployed and healthy.".into(),
            (_, HealthStatus::Progressing) => "Resources are starting: call get_application_status again in a few seconds.".into(),
            (SyncStatus::OutOfSync, _) if !self.auto_sync => "Not in sync and auto sync is off: call sync_application to deploy (ask the user first).".into(),
            (SyncStatus::OutOfSync, _) => "Out of sync; Argo CD syncs it automatically: check again in a few seconds.".into(),
            (_, HealthStatus::Suspended) => "Suspended (e.g. a paused rollout): nothing runs until it is resumed.".into(),
            (SyncStatus::Unknown, _) | (_, HealthStatus::Unknown) => "Argo CD has not reported yet (or cannot read the repository): check again in a few seconds; if it stays Unknown, check repo_url, target_revision and path.".into(),
            _ => "See health and sync.".into(),
        }
    }
}

/// A resource the application manages.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ResourceView {
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Synced or OutOfSync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_message: Option<String>,
}

/// The last sync operation.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OperationView {
    /// Running, Succeeded, Failed, Error or Terminating.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Revision the operation synced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

/// The detail of `status.argoApp`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ApplicationDetail {
    /// Git revision currently synced (commit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synced_revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_message: Option<String>,
    pub resources: Vec<ResourceView>,
    pub images: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_operation: Option<OperationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconciled_at: Option<String>,
}

fn health_parts(h: Option<&ArgoHealth>) -> (Option<String>, Option<String>) {
    (
        h.and_then(|h| h.status.clone()).filter(|s| !s.is_empty()),
        h.and_then(|h| h.message.clone()).filter(|s| !s.is_empty()),
    )
}

impl OperationView {
    pub fn of(s: &ArgoStatus) -> Option<OperationView> {
        s.operation_state.as_ref().map(|o| OperationView {
            phase: o.phase.clone().filter(|s| !s.is_empty()),
            message: o.message.clone().filter(|s| !s.is_empty()),
            started_at: o.started_at.clone(),
            finished_at: o.finished_at.clone(),
            revision: o.sync_result.as_ref().and_then(|r| r.revision.clone()),
        })
    }
}

impl ApplicationDetail {
    pub fn of(app: &Application, s: &ArgoStatus) -> ApplicationDetail {
        let (_, health_message) = health_parts(s.health.as_ref());
        let mut images = s.summary.as_ref().map(|x| x.images.clone()).unwrap_or_default();
        if images.is_empty() {
            images = app.images_annotation();
        }
        ApplicationDetail {
            synced_revision: s
                .sync
                .as_ref()
                .and_then(|x| x.revision.clone())
                .filter(|r| !r.is_empty()),
            health_message,
            resources: s
                .resources
                .iter()
                .map(|r| {
                    let (health, health_message) = health_parts(r.health.as_ref());
                    ResourceView {
                        kind: r.kind.clone(),
                        name: r.name.clone(),
                        namespace: r.namespace.clone().filter(|s| !s.is_empty()),
                        group: r.group.clone().filter(|s| !s.is_empty()),
                        status: r.status.clone().filter(|s| !s.is_empty()),
                        health,
                        health_message,
                    }
                })
                .collect(),
            images,
            last_operation: OperationView::of(s),
            reconciled_at: s.reconciled_at.clone(),
        }
    }
}

/// One line saying what went wrong, when something did: the failed
/// operation's message, else the health message of a degraded app.
pub fn problem(summary: &ApplicationSummary, status: Option<&ArgoStatus>) -> Option<String> {
    let s = status?;
    let op = s.operation_state.as_ref();
    if let Some(o) = op
        && matches!(o.phase.as_deref(), Some("Failed" | "Error"))
        && let Some(m) = o.message.as_deref().filter(|m| !m.is_empty())
    {
        return Some(format!("last sync {}: {m}", o.phase.as_deref().unwrap_or_default()));
    }
    if matches!(summary.health, HealthStatus::Degraded | HealthStatus::Missing) {
        let (_, m) = health_parts(s.health.as_ref());
        return m;
    }
    None
}
