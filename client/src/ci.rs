//! CI helpers for writing a Jenkinsfile: Jenkins agent labels and
//! cluster-wide pipeline templates (§16.1).

use serde::Deserialize;

use super::client::KsClient;
use super::error::KsResult;
use super::models::{List, ObjectMeta};
use super::path::{ApiPath, Cluster, gv};

/// A `ClusterTemplate` (pipeline template every project may use).
#[derive(Clone, Debug, Deserialize)]
pub struct ClusterTemplate {
    #[serde(default)]
    pub metadata: ObjectMeta,
}

impl ClusterTemplate {
    /// English display name, else the name.
    pub fn display(&self) -> String {
        self.metadata
            .annotation("devops.kubesphere.io/displayNameEN")
            .unwrap_or(&self.metadata.name)
            .to_string()
    }

    pub fn description(&self) -> Option<&str> {
        self.metadata.annotation("devops.kubesphere.io/descriptionEN")
    }
}

#[derive(Deserialize)]
struct GenericArray {
    #[serde(default)]
    data: Option<Vec<String>>,
}

impl KsClient {
    /// `GET DV3/ci/nodelabels`: labels usable in `agent { label '…' }`.
    pub async fn agent_labels(&self, cluster: &Cluster) -> KsResult<Vec<String>> {
        let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA3).lit("ci/nodelabels");
        let r: Option<GenericArray> = self.get_json(cluster, &path, &[]).await?;
        Ok(r.and_then(|r| r.data).unwrap_or_default())
    }

    /// `GET DV3/clustertemplates`.
    pub async fn cluster_templates(&self, cluster: &Cluster) -> KsResult<Vec<ClusterTemplate>> {
        let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA3).lit("clustertemplates");
        let list: Option<List<ClusterTemplate>> = self.get_json(cluster, &path, &[]).await?;
        Ok(list.and_then(|l| l.items).unwrap_or_default())
    }
}
