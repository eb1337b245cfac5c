//! Toolset `artifacts`: the files a run archived, listed and downloaded.
//! What the tools share: the artifact view and the bounded, paged list.

use schemars::JsonSchema;
use serde::Serialize;

use crate::kubesphere::logs::{BlueArtifact, BlueRunRef};
use crate::kubesphere::{Cluster, KsClient, KsResult};
use crate::mcp::registry::ToolEntry;

pub mod download_artifact;
pub mod list_artifacts;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<list_artifacts::ListArtifacts>(),
        ToolEntry::of::<download_artifact::DownloadArtifact>(),
    ]
}

/// Upstream page size when collecting the artifact list.
const UPSTREAM_PAGE: u32 = 100;
/// Artifacts looked at per run at most.
const MAX_ARTIFACTS: usize = 10_000;

/// An archived file of a run.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq, Eq)]
pub struct ArtifactView {
    /// File name.
    pub name: String,
    /// Path relative to the workspace: what download_artifact takes.
    pub path: String,
    /// Size in bytes, when Jenkins reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    pub downloadable: bool,
}

impl ArtifactView {
    pub fn of(a: &BlueArtifact) -> ArtifactView {
        ArtifactView {
            name: if a.name.is_empty() {
                a.path.rsplit('/').next().unwrap_or_default().to_string()
            } else {
                a.name.clone()
            },
            path: a.path.clone(),
            size: a.size.and_then(|s| u64::try_from(s).ok()),
            downloadable: a.downloadable.unwrap_or(true),
        }
    }
}

/// Every artifact of a run (paged upstream, bounded).
pub async fn all_artifacts(client: &KsClient, cluster: &Cluster, run: &BlueRunRef) -> KsResult<Vec<BlueArtifact>> {
    let mut out: Vec<BlueArtifact> = Vec::new();
    loop {
        let page = client
            .run_artifacts(cluster, run, out.len() as u64, UPSTREAM_PAGE)
            .await?;
        let n = page.len();
        out.extend(page);
        if n < UPSTREAM_PAGE as usize || out.len() >= MAX_ARTIFACTS {
            break;
        }
    }
    out.truncate(MAX_ARTIFACTS);
    Ok(out)
}
