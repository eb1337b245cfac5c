//! Typed upstream models: only the fields this server reads, with the
//! upstream field names (camelCase for Kubernetes metadata, snake_case for
//! the DevOps pipeline spec). Unknown fields are ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod runs;
pub use runs::*;

/// `{"items":[...],"totalItems":N}`; `items` may be `null`, and the whole
/// body may be `null` (an empty workspace): both mean an empty list.
#[derive(Debug, Deserialize)]
pub struct List<T> {
    #[serde(default = "none")]
    pub items: Option<Vec<T>>,
    #[serde(default, rename = "totalItems")]
    pub total_items: Option<u64>,
}

fn none<T>() -> Option<T> {
    None
}

/// A page of a list.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

impl<T> Page<T> {
    /// Turns a possibly-null list body into a page.
    pub fn from_list(list: Option<List<T>>) -> Page<T> {
        match list {
            None => Page {
                items: Vec::new(),
                total: 0,
            },
            Some(l) => {
                let items = l.items.unwrap_or_default();
                let total = l.total_items.unwrap_or(items.len() as u64).max(items.len() as u64);
                Page { items, total }
            }
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

impl ObjectMeta {
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }
}

/// Annotation keys used across KubeSphere.
pub mod keys {
    pub const ALIAS_NAME: &str = "kubesphere.io/alias-name";
    pub const DESCRIPTION: &str = "kubesphere.io/description";
    pub const CREATOR: &str = "kubesphere.io/creator";
    pub const WORKSPACE: &str = "kubesphere.io/workspace";
    pub const PROJECT_SYNC_STATUS: &str = "devopsproject.devops.kubesphere.io/syncstatus";
    /// Absent until Jenkins has the pipeline, then `successful`; upstream
    /// never writes `failed`, `synctime` or `syncmsg` on a Pipeline (U11).
    pub const PIPELINE_SYNC_STATUS: &str = "pipeline.devops.kubesphere.io/syncstatus";
    pub const PIPELINE_JENKINS_METADATA: &str = "pipeline.devops.kubesphere.io/jenkins-metadata";
}

/// `tenant.kubesphere.io` Workspace (or WorkspaceTemplate).
#[derive(Clone, Debug, Deserialize)]
pub struct Workspace {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: WorkspaceSpec,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct WorkspaceSpec {
    #[serde(default)]
    pub manager: Option<String>,
    /// WorkspaceTemplate form keeps the manager under `template.spec`.
    #[serde(default)]
    pub template: Option<serde_json::Value>,
}

/// A cluster as listed by `TN/clusters`.
#[derive(Clone, Debug, Deserialize)]
pub struct ClusterObject {
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// `status` (versions, conditions), read by `doctor`.
    #[serde(default)]
    pub status: ClusterStatus,
}

/// The parts of a cluster's `status` this client reads.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    #[serde(default)]
    pub kube_sphere_version: Option<String>,
    #[serde(default)]
    pub kubernetes_version: Option<String>,
    #[serde(default)]
    pub conditions: Vec<ClusterCondition>,
}

/// One `status.conditions` entry of a cluster.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ClusterCondition {
    #[serde(default, rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub status: String,
}

/// `devops.kubesphere.io/v1alpha3` DevOpsProject.
#[derive(Clone, Debug, Deserialize)]
pub struct DevOpsProject {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub status: DevOpsProjectStatus,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevOpsProjectStatus {
    #[serde(default)]
    pub admin_namespace: Option<String>,
}

impl DevOpsProject {
    /// The namespace name every other API call uses.
    pub fn namespace(&self) -> &str {
        self.status
            .admin_namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.metadata.name)
    }
}

/// `iam.kubesphere.io/v1beta1` User.
/// `GET /oauth/userinfo`: who a token belongs to (upstream serialises the
/// name under `url` by a json-tag bug; `sub` and `preferred_username` are
/// reliable).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct UserInfo {
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
}

impl UserInfo {
    /// The user name, if KubeSphere said one.
    pub fn username(&self) -> Option<&str> {
        self.preferred_username
            .as_deref()
            .or(self.sub.as_deref())
            .filter(|u| !u.is_empty())
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct User {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: UserSpec,
    #[serde(default)]
    pub status: UserStatus,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSpec {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserStatus {
    #[serde(default)]
    pub state: Option<String>,
}

/// `devops.kubesphere.io/v1alpha3` Pipeline.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Pipeline {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PipelineSpec,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct PipelineSpec {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<NoScmPipeline>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_branch_pipeline: Option<MultiBranchPipeline>,
}

impl Pipeline {
    /// The description, wherever upstream keeps it (spec, else annotation).
    pub fn description(&self) -> Option<String> {
        self.spec
            .pipeline
            .as_ref()
            .and_then(|x| x.description.clone())
            .or_else(|| {
                self.spec
                    .multi_branch_pipeline
                    .as_ref()
                    .and_then(|m| m.description.clone())
            })
            .or_else(|| self.metadata.annotation(keys::DESCRIPTION).map(str::to_string))
            .filter(|d| !d.is_empty())
    }
}

pub const PIPELINE_TYPE_PIPELINE: &str = "pipeline";
pub const PIPELINE_TYPE_MULTI_BRANCH: &str = "multi-branch-pipeline";

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct NoScmPipeline {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jenkinsfile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_concurrent: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ParameterDefinition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_trigger: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discarder: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ParameterDefinition {
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct MultiBranchPipeline {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub source_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_source: Option<GitSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_source: Option<ScmSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitlab_source: Option<ScmSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitbucket_server_source: Option<ScmSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svn_source: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_svn_source: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discarder: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_trigger: Option<serde_json::Value>,
}

/// `git_source`: `discover_branches` is a bool here.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct GitSource {
    #[serde(default)]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discover_branches: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discover_tags: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex_filter: Option<String>,
}

/// `github_source` / `gitlab_source` / `bitbucket_server_source`:
/// `discover_branches` is an int strategy here.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ScmSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discover_branches: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discover_pr_from_origin: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discover_tags: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex_filter: Option<String>,
}

impl MultiBranchPipeline {
    /// The repository URL, whatever the source type.
    pub fn repository_url(&self) -> Option<String> {
        if let Some(g) = &self.git_source {
            return Some(g.url.clone()).filter(|u| !u.is_empty());
        }
        let (src, host) = if let Some(s) = &self.github_source {
            (s, "https://github.com")
        } else if let Some(s) = &self.gitlab_source {
            (s, "")
        } else if let Some(s) = &self.bitbucket_server_source {
            (s, "")
        } else {
            return self
                .svn_source
                .as_ref()
                .or(self.single_svn_source.as_ref())
                .and_then(|v| v.get("remote"))
                .and_then(|v| v.as_str())
                .map(str::to_string);
        };
        let base = src
            .api_uri
            .clone()
            .or_else(|| src.server_name.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| host.to_string());
        match (&src.owner, &src.repo) {
            (Some(o), Some(r)) if !base.is_empty() => Some(format!("{}/{o}/{r}", base.trim_end_matches('/'))),
            (Some(o), Some(r)) => Some(format!("{o}/{r}")),
            _ => None,
        }
    }

    /// The credential the source uses, if any.
    pub fn credential_id(&self) -> Option<String> {
        self.git_source
            .as_ref()
            .and_then(|g| g.credential_id.clone())
            .or_else(|| {
                [&self.github_source, &self.gitlab_source, &self.bitbucket_server_source]
                    .into_iter()
                    .flatten()
                    .find_map(|s| s.credential_id.clone())
            })
            .filter(|c| !c.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_lists_are_empty() {
        let p: Option<List<DevOpsProject>> = serde_json::from_str("null").unwrap();
        assert_eq!(Page::from_list(p).items.len(), 0);
        let p: Option<List<DevOpsProject>> = serde_json::from_str(r#"{"items":null,"totalItems":0}"#).unwrap();
        assert_eq!(Page::from_list(p).total, 0);
    }

    #[test]
    fn project_namespace() {
        let p: DevOpsProject =
            serde_json::from_str(r#"{"metadata":{"name":"a","generateName":"x"},"status":{"adminNamespace":"a"}}"#)
                .unwrap();
        assert_eq!(p.namespace(), "a");
        assert_eq!(p.metadata.generate_name.as_deref(), Some("x"));
    }
}
