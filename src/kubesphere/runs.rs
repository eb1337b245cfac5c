//! Typed calls for branches and runs.

use reqwest::Method;

use super::client::KsClient;
use super::error::KsResult;
use super::models::{Branch, List, NameValue, Page, PipelineRun};
use super::path::{ApiPath, Cluster, gv, validate_label, validate_subdomain};

fn pipeline_path(namespace: &str, pipeline: &str) -> KsResult<ApiPath> {
    validate_label("project (namespace) name", namespace)?;
    validate_subdomain("pipeline name", pipeline)?;
    Ok(ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
        .lit("namespaces")
        .seg(namespace)
        .lit("pipelines")
        .seg(pipeline))
}

impl KsClient {
    /// `GET DV3/namespaces/{ns}/pipelines/{p}/branches?filter=origin`.
    pub async fn list_branches(
        &self,
        cluster: &Cluster,
        namespace: &str,
        pipeline: &str,
        include_pull_requests: bool,
        page: Option<(u32, u32)>,
    ) -> KsResult<Page<Branch>> {
        let path = pipeline_path(namespace, pipeline)?.lit("branches");
        let mut q: Vec<(&str, String)> = Vec::new();
        if !include_pull_requests {
            q.push(("filter", "origin".into()));
        }
        if let Some((p, l)) = page {
            q.push(("page", p.to_string()));
            q.push(("limit", l.to_string()));
        }
        let list: Option<List<Branch>> = self.get_json(cluster, &path, &q).await?;
        Ok(Page::from_list(list))
    }

    /// `POST DV3/namespaces/{ns}/pipelines/{p}/pipelineruns[?branch=]`.
    /// Never retried (see [`KsClient::execute`]): a lost answer must not
    /// start a second build.
    pub async fn create_pipelinerun(
        &self,
        cluster: &Cluster,
        namespace: &str,
        pipeline: &str,
        branch: Option<&str>,
        parameters: &[NameValue],
    ) -> KsResult<PipelineRun> {
        let path = pipeline_path(namespace, pipeline)?.lit("pipelineruns");
        let q: Vec<(&str, String)> = branch.map(|b| vec![("branch", b.to_string())]).unwrap_or_default();
        let body = serde_json::json!({ "parameters": parameters });
        self.send_json(Method::POST, cluster, &path, &q, &body).await
    }

    /// `GET DV3/namespaces/{ns}/pipelines/{p}/pipelineruns?backward=false`:
    /// every run (including one created a moment ago), newest first, with
    /// the Jenkins status filled in.
    pub async fn list_pipelineruns(
        &self,
        cluster: &Cluster,
        namespace: &str,
        pipeline: &str,
        branch: Option<&str>,
        page: (u32, u32),
    ) -> KsResult<Page<PipelineRun>> {
        let path = pipeline_path(namespace, pipeline)?.lit("pipelineruns");
        let mut q: Vec<(&str, String)> = vec![
            ("backward", "false".into()),
            ("page", page.0.to_string()),
            ("limit", page.1.to_string()),
        ];
        if let Some(b) = branch {
            q.push(("branch", b.to_string()));
        }
        let list: Option<List<PipelineRun>> = self.get_json(cluster, &path, &q).await?;
        Ok(Page::from_list(list))
    }

    /// `GET DV3/namespaces/{ns}/pipelineruns/{name}`.
    pub async fn get_pipelinerun(&self, cluster: &Cluster, namespace: &str, name: &str) -> KsResult<PipelineRun> {
        validate_label("project (namespace) name", namespace)?;
        validate_subdomain("PipelineRun name", name)?;
        let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
            .lit("namespaces")
            .seg(namespace)
            .lit("pipelineruns")
            .seg(name);
        self.get_json(cluster, &path, &[]).await
    }
}
