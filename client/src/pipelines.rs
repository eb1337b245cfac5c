//! Typed calls that change pipelines: create, delete, branch scans.

use reqwest::Method;

use super::client::{Body, KsClient};
use super::error::KsResult;
use super::models::Pipeline;
use super::path::{ApiPath, Cluster, gv, validate_label, validate_subdomain};

/// The text of a branch-indexing log: its total size and the kept tail.
#[derive(Clone, Debug)]
pub struct LogTail {
    pub total_bytes: u64,
    pub tail: Vec<u8>,
}

fn pipelines_path(namespace: &str) -> KsResult<ApiPath> {
    validate_label("project (namespace) name", namespace)?;
    Ok(ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
        .lit("namespaces")
        .seg(namespace)
        .lit("pipelines"))
}

fn v2_pipeline_path(namespace: &str, pipeline: &str) -> KsResult<ApiPath> {
    validate_label("project (namespace) name", namespace)?;
    validate_subdomain("pipeline name", pipeline)?;
    Ok(ApiPath::kapi(gv::DEVOPS_V1ALPHA2)
        .lit("namespaces")
        .seg(namespace)
        .lit("pipelines")
        .seg(pipeline))
}

impl KsClient {
    /// `POST DV3/namespaces/{ns}/pipelines`. Never retried.
    pub async fn create_pipeline(&self, cluster: &Cluster, namespace: &str, pipeline: &Pipeline) -> KsResult<Pipeline> {
        validate_subdomain("pipeline name", &pipeline.metadata.name)?;
        let path = pipelines_path(namespace)?;
        let body = serde_json::json!({
            "apiVersion": gv::DEVOPS_V1ALPHA3,
            "kind": "Pipeline",
            "metadata": pipeline.metadata,
            "spec": pipeline.spec,
        });
        self.send_json(Method::POST, cluster, &path, &[], &body).await
    }

    /// `DELETE DV3/namespaces/{ns}/pipelines/{p}`.
    pub async fn delete_pipeline(&self, cluster: &Cluster, namespace: &str, name: &str) -> KsResult<()> {
        validate_subdomain("pipeline name", name)?;
        let path = pipelines_path(namespace)?.seg(name);
        self.execute(Method::DELETE, cluster, &path, &[], Body::None, "application/json")
            .await?;
        Ok(())
    }

    /// `POST DV2/namespaces/{ns}/pipelines/{p}/scan?delay=0`: starts branch
    /// indexing. The answer (empty or HTML) is opaque; 200 means started.
    pub async fn scan_pipeline(&self, cluster: &Cluster, namespace: &str, pipeline: &str) -> KsResult<()> {
        let path = v2_pipeline_path(namespace, pipeline)?.lit("scan");
        self.execute(
            Method::POST,
            cluster,
            &path,
            &[("delay", "0".into())],
            Body::None,
            "text/html, text/plain, */*",
        )
        .await?;
        Ok(())
    }

    /// `GET DV2/namespaces/{ns}/pipelines/{p}/consolelog`: the branch
    /// indexing log, streamed; only the last `keep` bytes are kept.
    pub async fn scan_log(&self, cluster: &Cluster, namespace: &str, pipeline: &str, keep: usize) -> KsResult<LogTail> {
        let path = v2_pipeline_path(namespace, pipeline)?.lit("consolelog");
        let (total_bytes, tail) = self.get_tail(cluster, &path, "text/plain, */*", keep).await?;
        Ok(LogTail { total_bytes, tail })
    }
}
