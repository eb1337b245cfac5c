//! DevOps project management (workspace admins): create by short name,
//! get, delete (`DV3/workspaces/{ws}/namespaces[/{devops}]`, §3.3, §16.1).
//!
//! upstream: ks-devops `pkg/kapis/devops/v1alpha3/{register.go,handler.go}`,
//! `pkg/models/devops/devops.go` (`CreateDevOpsProject`,
//! `GetDevOpsProjectByGenerateName`, `CheckDevopsProject`,
//! `DeleteDevOpsProject`).

use std::collections::BTreeMap;

use reqwest::Method;

use crate::client::{Body, KsClient};
use crate::error::{KsError, KsResult};
use crate::models::{DevOpsProject, keys};
use crate::path::{ApiPath, Cluster, gv, validate_label};

/// Longest short name: the API server appends 5 random characters and the
/// result names a namespace (a 63-character DNS label); Kubernetes cuts a
/// longer `generateName` to 58 characters.
pub const MAX_SHORT_NAME: usize = 58;

/// A short name (`generateName`): lower-case letters, digits and `-`,
/// starting with a letter or digit, at most [`MAX_SHORT_NAME`].
pub fn validate_short_name(s: &str) -> KsResult<&str> {
    let problem = if s.is_empty() {
        Some("it is empty")
    } else if s.len() > MAX_SHORT_NAME {
        Some("it is longer than 58 characters (5 random characters are appended)")
    } else if !s.as_bytes()[0].is_ascii_alphanumeric() {
        Some("it must start with a lower-case letter or digit")
    } else if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Some("it has upper-case letters")
    } else if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Some("it has a character other than a-z, 0-9 and '-'")
    } else {
        None
    };
    match problem {
        None => Ok(s),
        Some(reason) => Err(KsError::InvalidName {
            what: "DevOps project short name",
            value: s.chars().take(80).collect(),
            reason,
            max: MAX_SHORT_NAME,
        }),
    }
}

fn projects_path(workspace: &str) -> KsResult<ApiPath> {
    validate_label("workspace name", workspace)?;
    Ok(ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
        .lit("workspaces")
        .seg(workspace)
        .lit("namespaces"))
}

impl KsClient {
    fn forget_projects(&self, workspace: &str) {
        if let Ok(mut c) = self.caches().projects.lock() {
            c.retain(|(_, ws), _| ws != workspace);
        }
    }

    /// `POST DV3/workspaces/{ws}/namespaces` with `metadata.generateName`:
    /// the created project (its generated full name in `metadata.name`).
    /// Never retried. 409 when the workspace has a project of that short
    /// name; 403 unless the user may create projects in the workspace.
    pub async fn create_devops_project(
        &self,
        cluster: &Cluster,
        workspace: &str,
        short_name: &str,
        alias: Option<&str>,
        description: Option<&str>,
        creator: Option<&str>,
    ) -> KsResult<DevOpsProject> {
        validate_short_name(short_name)?;
        let path = projects_path(workspace)?;
        let mut annotations = BTreeMap::new();
        for (k, v) in [
            (keys::ALIAS_NAME, alias),
            (keys::DESCRIPTION, description),
            (keys::CREATOR, creator),
        ] {
            if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) {
                annotations.insert(k, v.to_string());
            }
        }
        let body = serde_json::json!({
            "apiVersion": gv::DEVOPS_V1ALPHA3,
            "kind": "DevOpsProject",
            "metadata": {
                "generateName": short_name,
                "labels": {keys::WORKSPACE: workspace},
                "annotations": annotations,
            },
            "spec": {},
        });
        let created = self.send_json(Method::POST, cluster, &path, &[], &body).await;
        self.forget_projects(workspace);
        created
    }

    /// `GET DV3/workspaces/{ws}/namespaces/{short}?generateName=true`: the
    /// project of that short name, `None` if the workspace has none
    /// (upstream answers 400 `not found DevOpsProject by workspace...`).
    pub async fn devops_project_by_short_name(
        &self,
        cluster: &Cluster,
        workspace: &str,
        short_name: &str,
    ) -> KsResult<Option<DevOpsProject>> {
        validate_short_name(short_name)?;
        let path = projects_path(workspace)?.seg(short_name);
        match self
            .get_json::<DevOpsProject>(cluster, &path, &[("generateName", "true".into())])
            .await
        {
            Ok(p) => Ok(Some(p)),
            Err(KsError::BadRequest { message, .. }) if message.contains("not found DevOpsProject") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET DV3/workspaces/{ws}/namespaces/{devops}` by full name (upstream
    /// does not check the workspace).
    pub async fn get_devops_project(&self, cluster: &Cluster, workspace: &str, name: &str) -> KsResult<DevOpsProject> {
        validate_label("project (namespace) name", name)?;
        self.get_json(cluster, &projects_path(workspace)?.seg(name), &[]).await
    }

    /// `DELETE DV3/workspaces/{ws}/namespaces/{devops}`: the project, its
    /// namespace and everything in it. Answers `{"message":"success"}`.
    pub async fn delete_devops_project(&self, cluster: &Cluster, workspace: &str, name: &str) -> KsResult<()> {
        validate_label("project (namespace) name", name)?;
        let path = projects_path(workspace)?.seg(name);
        let r = self
            .execute(Method::DELETE, cluster, &path, &[], Body::None, "application/json")
            .await;
        self.forget_projects(workspace);
        r.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        for ok in ["demo", "a", "team-ci-2", &"a".repeat(58)] {
            assert!(validate_short_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Demo", "-x", "a_b", "a.b", &"a".repeat(59), "x/y"] {
            assert!(validate_short_name(bad).is_err(), "{bad}");
        }
    }
}
