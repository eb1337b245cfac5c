//! GitRepository resources (`devops.kubesphere.io/v1alpha3`).

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::client::KsClient;
use super::error::KsResult;
use super::models::{List, ObjectMeta, Page};
use super::path::{ApiPath, Cluster, gv, validate_label, validate_subdomain};

/// A GitRepository. There is no `spec.description`; the description is the
/// `kubesphere.io/description` annotation.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct GitRepository {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: GitRepositorySpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<GitRepositoryStatus>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct GitRepositorySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretRef>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct SecretRef {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct GitRepositoryStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

fn repos_path(namespace: &str) -> KsResult<ApiPath> {
    validate_label("project (namespace) name", namespace)?;
    Ok(ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
        .lit("namespaces")
        .seg(namespace)
        .lit("gitrepositories"))
}

impl KsClient {
    /// `GET DV3/namespaces/{ns}/gitrepositories?page&limit`.
    pub async fn list_git_repositories(
        &self,
        cluster: &Cluster,
        namespace: &str,
        page: Option<(u32, u32)>,
    ) -> KsResult<Page<GitRepository>> {
        let path = repos_path(namespace)?;
        let q: Vec<(&str, String)> = page
            .map(|(p, l)| vec![("page", p.to_string()), ("limit", l.to_string())])
            .unwrap_or_default();
        let list: Option<List<GitRepository>> = self.get_json(cluster, &path, &q).await?;
        Ok(Page::from_list(list))
    }

    /// `POST DV3/namespaces/{ns}/gitrepositories`. Never retried.
    pub async fn create_git_repository(
        &self,
        cluster: &Cluster,
        namespace: &str,
        repo: &GitRepository,
    ) -> KsResult<GitRepository> {
        validate_subdomain("git repository name", &repo.metadata.name)?;
        let path = repos_path(namespace)?;
        let body = serde_json::json!({
            "apiVersion": gv::DEVOPS_V1ALPHA3,
            "kind": "GitRepository",
            "metadata": repo.metadata,
            "spec": repo.spec,
        });
        self.send_json(Method::POST, cluster, &path, &[], &body).await
    }
}
