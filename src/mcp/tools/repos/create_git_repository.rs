//! `create_git_repository`: registers a GitRepository resource (toolset
//! `repos`) with the credential that reads it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::GitRepositoryView;
use crate::kubesphere::models::{ObjectMeta, keys};
use crate::kubesphere::path::validate_subdomain;
use crate::kubesphere::repos::{GitRepository, GitRepositorySpec, SecretRef};
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

/// `spec.provider` of a GitRepository. KubeSphere's controllers recognise
/// `github`, `gitlab` and `bitbucket` (U14); `git` is any other host.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RepoProvider {
    #[default]
    Git,
    Github,
    Gitlab,
    /// Bitbucket (Cloud or Server).
    #[serde(alias = "bitbucket_server")]
    Bitbucket,
}

impl RepoProvider {
    fn as_str(self) -> &'static str {
        match self {
            RepoProvider::Git => "git",
            RepoProvider::Github => "github",
            RepoProvider::Gitlab => "gitlab",
            RepoProvider::Bitbucket => "bitbucket",
        }
    }
}

pub struct CreateGitRepository;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct CreateGitRepositoryInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// New resource name (lowercase letters, digits, '-', '.').
    pub name: String,
    /// Repository URL, without any token or password in it.
    pub url: String,
    /// Kind of Git server: github, gitlab, bitbucket (Cloud or Server), or git for any other host. Default git.
    #[serde(default)]
    pub provider: RepoProvider,
    /// Credential of the project that reads the repository (private repositories; ask the user which). See list_credentials.
    #[serde(default)]
    pub credential_id: Option<String>,
    /// What the repository is for.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreateGitRepositoryOutput {
    pub project: ProjectRef,
    pub repository: GitRepositoryView,
}

impl ToolDef for CreateGitRepository {
    const NAME: &'static str = "create_git_repository";
    const TITLE: &'static str = "Register a Git repository";
    const DESCRIPTION: &'static str = "Registers a Git repository (GitRepository resource) in a DevOps project with the credential that reads it. Ask the user whether the repository is private and, if so, which credential to use (list_credentials; create_credential makes one). Never put a token in the URL. Not retried: after a failure check list_git_repositories.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "name": "maven-sample", "url": "https://github.com/kubesphere/devops-maven-sample.git"}"#;
    const TOOLSET: Toolset = Toolset::Repos;
    const HINTS: Hints = Hints::CREATE;
    const CHECK: &'static str = "list_git_repositories";
    type Input = CreateGitRepositoryInput;
    type Output = CreateGitRepositoryOutput;

    async fn call(ctx: ToolCtx, input: CreateGitRepositoryInput) -> Result<CreateGitRepositoryOutput, ToolError> {
        validate_subdomain("git repository name", &input.name)?;
        let url = url::Url::parse(input.url.trim()).map_err(|_| {
            ToolError::InvalidInput("url must be a full URL such as https://github.com/org/repo.git".into())
        })?;
        if (!url.username().is_empty() && url.scheme().starts_with("http")) || url.password().is_some() {
            return Err(ToolError::InvalidInput(
                "url contains a user name or token: never put credentials in a URL; pass the URL without them and credential_id instead".into(),
            ));
        }
        if !matches!(url.scheme(), "https" | "http" | "ssh" | "git") {
            return Err(ToolError::InvalidInput(format!(
                "url scheme {:?} is not supported",
                url.scheme()
            )));
        }
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let credential = input.credential_id.as_deref().map(str::trim).filter(|c| !c.is_empty());
        if let Some(c) = credential {
            match ctx.client.get_credential(&cluster, &project.name, c).await {
                Ok(_) => {}
                Err(crate::kubesphere::KsError::NotFound { .. }) => {
                    return Err(ToolError::InvalidInput(format!(
                        "{} has no credential {c:?}. Nothing was created. Create it with create_credential or pick an existing one (list_credentials).",
                        project.describe()
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let (owner, repo) = {
            let parts: Vec<&str> = url
                .path()
                .trim_matches('/')
                .split('/')
                .filter(|p| !p.is_empty())
                .collect();
            match parts.as_slice() {
                [.., o, r] => (Some(o.to_string()), Some(r.trim_end_matches(".git").to_string())),
                _ => (None, None),
            }
        };
        let mut annotations = BTreeMap::new();
        if let Some(d) = input.description.as_deref().filter(|d| !d.is_empty()) {
            annotations.insert(keys::DESCRIPTION.to_string(), d.to_string());
        }
        if let Some(user) = ctx.client.identity().await?.username {
            annotations.insert(keys::CREATOR.to_string(), user);
        }
        let body = GitRepository {
            metadata: ObjectMeta {
                name: input.name.clone(),
                namespace: Some(project.name.clone()),
                annotations,
                ..Default::default()
            },
            spec: GitRepositorySpec {
                provider: Some(input.provider.as_str().into()),
                url: Some(url.to_string()),
                server: url.host_str().map(|h| format!("{}://{h}", url.scheme())),
                owner,
                repo,
                secret: credential.map(|c| SecretRef {
                    name: c.to_string(),
                    namespace: Some(project.name.clone()),
                }),
            },
            status: None,
        };
        let created = ctx.client.create_git_repository(&cluster, &project.name, &body).await?;
        Ok(CreateGitRepositoryOutput {
            repository: GitRepositoryView::of(&created),
            project,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn create_then_list() {
        let sim = sim().await;
        let c = ctx(&sim);
        let out = call(&c, "create_git_repository", serde_json::json!({"project": "stone-devops", "name": "private-app",
            "url": "https://github.com/org/private-app.git", "provider": "github", "credential_id": "github-token", "description": "the app"}))
        .await
        .unwrap();
        assert_eq!(out["repository"]["credential_id"], "github-token");
        assert_eq!(out["repository"]["provider"], "github");
        let list = call(
            &c,
            "list_git_repositories",
            serde_json::json!({"project": "stone-devops"}),
        )
        .await
        .unwrap();
        let repos = list["repositories"].as_array().unwrap();
        let names: Vec<&str> = repos.iter().filter_map(|r| r["name"].as_str()).collect();
        assert!(
            names.contains(&"private-app") && names.contains(&"demo-echo"),
            "{names:?}"
        );
        let mine = repos.iter().find(|r| r["name"] == "private-app").unwrap();
        assert_eq!(mine["description"], "the app");
        assert_eq!(mine["url"], "https://github.com/org/private-app.git");
    }

    /// U14: KubeSphere knows Bitbucket as provider `bitbucket` (its
    /// controller ignores `bitbucket_server`); the old spelling is still
    /// accepted as input.
    #[tokio::test]
    async fn bitbucket_is_spelled_as_upstream_knows_it() {
        let sim = sim().await;
        let c = ctx(&sim);
        for (name, given) in [("bb-app", "bitbucket"), ("bb-old", "bitbucket_server")] {
            let out = call(
                &c,
                "create_git_repository",
                serde_json::json!({"project": "stone-devops", "name": name,
                "url": "https://bitbucket.org/org/app.git", "provider": given}),
            )
            .await
            .unwrap();
            assert_eq!(out["repository"]["provider"], "bitbucket", "{out:#}");
        }
        let repo = crate::testing::client(&sim, "tenant")
            .list_git_repositories(&crate::kubesphere::Cluster::Host, "stone-devops", None)
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|r| r.metadata.name == "bb-app")
            .unwrap();
        assert_eq!(repo.spec.provider.as_deref(), Some("bitbucket"));
        assert_eq!(repo.spec.owner.as_deref(), Some("org"));
    }

    #[tokio::test]
    async fn unknown_credential_and_token_urls_create_nothing() {
        let sim = sim().await;
        let c = ctx(&sim);
        let err = call(
            &c,
            "create_git_repository",
            serde_json::json!({"project": "stone-devops", "name": "x",
            "url": "https://github.com/org/x.git", "credential_id": "missing"}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("create_credential"), "{err}");
        let err = call(
            &c,
            "create_git_repository",
            serde_json::json!({"project": "stone-devops", "name": "x",
            "url": "https://me:ghp_secret999@github.com/org/x.git"}),
        )
        .await
        .unwrap_err();
        assert!(!err.to_string().contains("ghp_secret999"));
        assert!(crate::testing::only_reads(&sim));
    }
}
