//! Typed calls of the tenant API used by the tools.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::client::KsClient;
use super::error::{KsError, KsResult};
use super::models::{ClusterObject, DevOpsProject, List, Page, Pipeline, User, UserInfo, Workspace};
use super::path::{ApiPath, Cluster, gv, validate_label, validate_subdomain};

/// How long a workspace's project list is reused for name resolution.
pub const PROJECT_CACHE_TTL: Duration = Duration::from_secs(30);

type ProjectCache = HashMap<(Cluster, String), (Instant, Vec<DevOpsProject>)>;
type WorkspaceClusterCache = HashMap<String, (Instant, Vec<Cluster>)>;

/// Per-client caches (per identity, so never shared between callers).
#[derive(Default)]
pub(crate) struct Caches {
    /// The user's own clusters (granted or with a RoleBinding).
    pub clusters: tokio::sync::Mutex<Option<(Instant, Vec<Cluster>)>>,
    pub workspace_clusters: std::sync::Mutex<WorkspaceClusterCache>,
    pub projects: std::sync::Mutex<ProjectCache>,
    pub workspaces: std::sync::Mutex<Option<(Instant, Vec<String>)>>,
}

fn cluster_names(list: &[ClusterObject]) -> Vec<Cluster> {
    let mut v: Vec<Cluster> = list
        .iter()
        .filter_map(|c| Cluster::parse(&c.metadata.name).ok())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn union(into: &mut Vec<Cluster>, more: impl IntoIterator<Item = Cluster>) {
    into.extend(more);
    into.sort();
    into.dedup();
}

/// Options of a paged list call (KubeSphere `page`/`limit`, 1-based page).
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub page: Option<u32>,
    pub limit: Option<u32>,
    pub name: Option<String>,
    pub extra: Vec<(&'static str, String)>,
}

impl ListQuery {
    pub(crate) fn params(&self) -> Vec<(&str, String)> {
        let mut q: Vec<(&str, String)> = Vec::new();
        if let Some(l) = self.limit {
            q.push(("page", self.page.unwrap_or(1).max(1).to_string()));
            q.push(("limit", l.to_string()));
        }
        if let Some(n) = self.name.as_ref().filter(|n| !n.is_empty()) {
            q.push(("name", n.clone()));
        }
        for (k, v) in &self.extra {
            q.push((k, v.clone()));
        }
        q
    }
}

impl KsClient {
    /// `GET /oauth/userinfo`: who this client's token belongs to, as
    /// KubeSphere sees it (401 = the token is not valid).
    pub async fn userinfo(&self) -> KsResult<UserInfo> {
        let info: UserInfo = self.get_json(&Cluster::Host, &ApiPath::oauth_userinfo(), &[]).await?;
        if info.username().is_none() {
            return Err(KsError::InvalidResponse {
                path: "/oauth/userinfo".into(),
                reason: "the answer names no user (no sub or preferred_username)".into(),
            });
        }
        Ok(info)
    }

    /// `GET /healthz` without credentials: whether ks-apiserver answers.
    pub async fn healthz(&self) -> KsResult<()> {
        self.probe_health().await
    }

    /// `GET IAM/users/{user}`: the user's own record.
    pub async fn get_user(&self, username: &str) -> KsResult<User> {
        validate_user(username)?;
        let path = ApiPath::kapi(gv::IAM_V1BETA1).lit("users").seg(username);
        self.get_json(&Cluster::Host, &path, &[]).await
    }

    /// `GET TN/workspaces`: the workspaces this user belongs to.
    pub async fn list_workspaces(&self) -> KsResult<Vec<Workspace>> {
        let path = ApiPath::kapi(gv::TENANT_V1BETA1).lit("workspaces");
        let list: Option<List<Workspace>> = self.get_json(&Cluster::Host, &path, &[]).await?;
        Ok(Page::from_list(list).items)
    }

    /// Names of this user's workspaces, reusing a list younger than
    /// [`PROJECT_CACHE_TTL`] unless `fresh`.
    pub async fn workspaces_cached(&self, fresh: bool) -> KsResult<Vec<String>> {
        if !fresh
            && let Ok(c) = self.caches().workspaces.lock()
            && let Some((at, names)) = c.as_ref()
            && at.elapsed() < PROJECT_CACHE_TTL
        {
            return Ok(names.clone());
        }
        let names: Vec<String> = self
            .list_workspaces()
            .await?
            .into_iter()
            .map(|w| w.metadata.name)
            .filter(|n| !n.is_empty())
            .collect();
        if let Ok(mut c) = self.caches().workspaces.lock() {
            *c = Some((Instant::now(), names.clone()));
        }
        Ok(names)
    }

    /// `GET TN/clusters[?roleBindingExists=true]`. Upstream (U6) lists only
    /// the clusters the user was made a member of
    /// (`iam.kubesphere.io/granted-clusters`), plus, with
    /// `role_binding_exists`, clusters where the user has a namespace
    /// RoleBinding. A user who is only a workspace member commonly gets
    /// nothing: this is not the list of clusters their projects live on.
    pub async fn list_clusters(&self, role_binding_exists: bool) -> KsResult<Vec<ClusterObject>> {
        let path = ApiPath::kapi(gv::TENANT_V1BETA1).lit("clusters");
        let q: Vec<(&str, String)> = if role_binding_exists {
            vec![("roleBindingExists", "true".into())]
        } else {
            Vec::new()
        };
        let list: Option<List<ClusterObject>> = self.get_json(&Cluster::Host, &path, &q).await?;
        Ok(Page::from_list(list).items)
    }

    /// `GET TN/workspaces/{ws}/clusters`: the clusters a workspace is
    /// placed on, i.e. where its DevOps projects can be.
    pub async fn list_workspace_clusters(&self, workspace: &str) -> KsResult<Vec<ClusterObject>> {
        validate_label("workspace name", workspace)?;
        let path = ApiPath::kapi(gv::TENANT_V1BETA1)
            .lit("workspaces")
            .seg(workspace)
            .lit("clusters");
        let list: Option<List<ClusterObject>> = self.get_json(&Cluster::Host, &path, &[]).await?;
        Ok(Page::from_list(list).items)
    }

    /// The user's own clusters: `TN/clusters` together with
    /// `TN/clusters?roleBindingExists=true` (both asked at once), reused for
    /// [`PROJECT_CACHE_TTL`] unless `fresh`. Unreadable lists count as empty.
    pub async fn user_clusters(&self, fresh: bool) -> Vec<Cluster> {
        let mut guard = self.caches().clusters.lock().await;
        if !fresh
            && let Some((at, c)) = guard.as_ref()
            && at.elapsed() < PROJECT_CACHE_TTL
        {
            return c.clone();
        }
        let (granted, bound) = tokio::join!(self.list_clusters(false), self.list_clusters(true));
        let mut found = Vec::new();
        for r in [granted, bound] {
            match r {
                Ok(list) => union(&mut found, cluster_names(&list)),
                Err(e) => tracing::debug!(error = %e, "cannot list the user's clusters"),
            }
        }
        *guard = Some((Instant::now(), found.clone()));
        found
    }

    /// [`Self::list_workspace_clusters`] as cluster names, reused for
    /// [`PROJECT_CACHE_TTL`] unless `fresh`.
    pub async fn workspace_clusters_cached(&self, workspace: &str, fresh: bool) -> KsResult<Vec<Cluster>> {
        if !fresh
            && let Ok(c) = self.caches().workspace_clusters.lock()
            && let Some((at, v)) = c.get(workspace)
            && at.elapsed() < PROJECT_CACHE_TTL
        {
            return Ok(v.clone());
        }
        let found = cluster_names(&self.list_workspace_clusters(workspace).await?);
        if let Ok(mut c) = self.caches().workspace_clusters.lock() {
            c.insert(workspace.to_string(), (Instant::now(), found.clone()));
        }
        Ok(found)
    }

    /// The clusters to search for a workspace's projects when a tool gets
    /// no cluster: the configured list (`KUBESPHERE_CLUSTERS`); else the
    /// clusters the workspace is placed on together with the user's own
    /// clusters (U6); else the default cluster. Never empty.
    pub async fn clusters_for_workspace(&self, workspace: &str, fresh: bool) -> Vec<Cluster> {
        if let Some(c) = &self.settings().search_clusters {
            return c.clone();
        }
        let (placed, own) = tokio::join!(
            self.workspace_clusters_cached(workspace, fresh),
            self.user_clusters(fresh)
        );
        let mut found = own;
        match placed {
            Ok(p) => union(&mut found, p),
            Err(e) => tracing::debug!(workspace, error = %e, "cannot list the workspace's clusters"),
        }
        if found.is_empty() {
            found.push(self.default_cluster().clone());
        }
        found
    }

    /// Every cluster searched when a tool gets none: the configured list,
    /// else the clusters of all the user's workspaces together with the
    /// user's own clusters, else the default cluster. Never empty.
    pub async fn search_clusters(&self) -> Vec<Cluster> {
        if let Some(c) = &self.settings().search_clusters {
            return c.clone();
        }
        let workspaces = match self.workspaces_cached(false).await {
            Ok(w) => w,
            Err(e) => {
                tracing::debug!(error = %e, "cannot list workspaces");
                Vec::new()
            }
        };
        let per_ws = futures::future::join_all(workspaces.iter().map(|w| self.clusters_for_workspace(w, false))).await;
        let mut found = self.user_clusters(false).await;
        for c in per_ws {
            union(&mut found, c);
        }
        if found.is_empty() {
            found.push(self.default_cluster().clone());
        }
        found
    }

    /// `GET DV3/workspaces/{ws}/namespaces` on one cluster: every DevOps
    /// project of the workspace this user may see (null bodies are empty).
    pub async fn list_devops_projects(&self, cluster: &Cluster, workspace: &str) -> KsResult<Vec<DevOpsProject>> {
        validate_label("workspace name", workspace)?;
        let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
            .lit("workspaces")
            .seg(workspace)
            .lit("namespaces");
        let list: Option<List<DevOpsProject>> = self.get_json(cluster, &path, &[]).await?;
        let items = Page::from_list(list).items;
        if let Ok(mut c) = self.caches().projects.lock() {
            c.insert(
                (cluster.clone(), workspace.to_string()),
                (Instant::now(), items.clone()),
            );
        }
        Ok(items)
    }

    /// Like [`Self::list_devops_projects`], reusing a list younger than
    /// [`PROJECT_CACHE_TTL`] unless `fresh`.
    pub async fn devops_projects_cached(
        &self,
        cluster: &Cluster,
        workspace: &str,
        fresh: bool,
    ) -> KsResult<Vec<DevOpsProject>> {
        if !fresh
            && let Ok(c) = self.caches().projects.lock()
            && let Some((at, items)) = c.get(&(cluster.clone(), workspace.to_string()))
            && at.elapsed() < PROJECT_CACHE_TTL
        {
            return Ok(items.clone());
        }
        self.list_devops_projects(cluster, workspace).await
    }

    /// `GET DV3/namespaces/{ns}/pipelines`.
    pub async fn list_pipelines(
        &self,
        cluster: &Cluster,
        namespace: &str,
        query: &ListQuery,
    ) -> KsResult<Page<Pipeline>> {
        validate_label("project (namespace) name", namespace)?;
        let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
            .lit("namespaces")
            .seg(namespace)
            .lit("pipelines");
        let list: Option<List<Pipeline>> = self.get_json(cluster, &path, &query.params()).await?;
        Ok(Page::from_list(list))
    }

    /// `GET DV3/namespaces/{ns}/pipelines/{p}`.
    pub async fn get_pipeline(&self, cluster: &Cluster, namespace: &str, name: &str) -> KsResult<Pipeline> {
        validate_label("project (namespace) name", namespace)?;
        validate_subdomain("pipeline name", name)?;
        let path = ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
            .lit("namespaces")
            .seg(namespace)
            .lit("pipelines")
            .seg(name);
        self.get_json(cluster, &path, &[]).await
    }
}

/// KubeSphere user names are DNS-1123 labels, but upstream also allows
/// `@`, `.` and `_` in some setups; only refuse what could change a route.
fn validate_user(name: &str) -> KsResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '@'))
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(KsError::InvalidName {
            what: "user name",
            value: name.chars().take(80).collect(),
            reason: "it has characters a KubeSphere user name cannot have",
            max: 253,
        })
    }
}
