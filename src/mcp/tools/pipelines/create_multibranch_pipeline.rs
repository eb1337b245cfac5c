//! `create_multibranch_pipeline`: a pipeline over a Git repository's
//! branches. Guardrail: nothing is created until the user has said whether
//! the repository is private (and, if so, which credential reads it).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::ListQuery;
use crate::kubesphere::models::{
    GitSource, MultiBranchPipeline, ObjectMeta, PIPELINE_TYPE_MULTI_BRANCH, Pipeline, PipelineSpec, ScmSource, keys,
};
use crate::kubesphere::path::validate_subdomain;
use crate::mcp::context::{Answer, Question, ToolCtx};
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

use super::ensure_absent;

crate::project_scoped!(CreateMultibranchPipelineInput);

pub struct CreateMultibranchPipeline;

/// Credentials offered when asking.
const MAX_CREDENTIAL_CHOICES: usize = 50;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Private,
    Public,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Any Git server (plain git over HTTPS or SSH).
    #[default]
    Git,
    Github,
    /// GitLab: also needs gitlab_server_name.
    Gitlab,
    /// Bitbucket (Cloud or Server).
    #[serde(alias = "bitbucket_server")]
    Bitbucket,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMultibranchPipelineInput {
    /// DevOps project as the user named it (full or short name); an ambiguous name is never guessed.
    pub project: String,
    /// New pipeline name (lowercase letters, digits, '-', '.').
    pub name: String,
    /// Repository URL: https://host/owner/repo(.git), ssh://git@host/owner/repo.git or git@host:owner/repo.git. Never put a token or password in it.
    pub repository_url: String,
    /// Whether the repository is private. MUST come from the user: never guess it from the URL. If the user has not said, leave it out; the server asks the user, or returns needs_user_input with the question and creates nothing.
    #[serde(default)]
    pub repository_visibility: Option<Visibility>,
    /// For a private repository: id of an existing credential of the project that can read it (the user picks it; see list_credentials, or create one with create_credential). Leave out for a public repository.
    #[serde(default)]
    pub credential_id: Option<String>,
    /// Kind of Git server: github, gitlab, bitbucket (Cloud or Server), or git, which works with any host. Default git.
    #[serde(default)]
    pub provider: Provider,
    /// Provider gitlab only, and then required: the NAME of the GitLab server as configured in Jenkins (Manage Jenkins > System > GitLab Servers; `default` is the plugin's usual name for gitlab.com). Not a URL. Ask the user (or their Jenkins administrator) if unsure; alternatively use provider git with the repository URL.
    #[serde(default)]
    pub gitlab_server_name: Option<String>,
    /// Path of the Jenkinsfile in the repository. Default `Jenkinsfile`.
    #[serde(default)]
    pub script_path: Option<String>,
    /// Discover branches. Default true.
    #[serde(default)]
    pub discover_branches: Option<bool>,
    /// Discover tags. Default false.
    #[serde(default)]
    pub discover_tags: bool,
    /// Only build branches/tags whose name matches this regular expression (Java syntax).
    #[serde(default)]
    pub regex_filter: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub workspace: Option<String>,
    #[serde(default)]
    pub cluster: Option<String>,
}

#[derive(Clone, Copy, Debug, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CreateStatus {
    /// The pipeline was created.
    Created,
    /// Nothing was created: ask the user `ask_user`, then call again.
    NeedsUserInput,
}

#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq, Eq)]
pub struct CredentialChoice {
    pub id: String,
    /// basic-auth, ssh-auth, secret-text or kubeconfig.
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreateMultibranchPipelineOutput {
    pub status: CreateStatus,
    pub project: ProjectRef,
    pub name: String,
    pub repository_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_visibility: Option<Visibility>,
    /// Credential the pipeline reads the repository with (empty for a public one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// The project's credentials, when the user must choose.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<CredentialChoice>,
    /// The exact question for the user, when status is needs_user_input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ask_user: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub next: String,
}

impl ToolDef for CreateMultibranchPipeline {
    const NAME: &'static str = "create_multibranch_pipeline";
    const TITLE: &'static str = "Create a multi-branch pipeline";
    const DESCRIPTION: &'static str = "Creates a multi-branch pipeline that builds every branch of a Git repository (GitHub, GitLab via the server name Jenkins knows it by, Bitbucket, or any git host) that has a Jenkinsfile. Before creating, the user must say whether the repository is private: pass repository_visibility only with the user's answer; without it the server asks the user, or returns needs_user_input with the exact question and the project's credentials, and creates nothing. A private repository needs credential_id of an existing project credential (ask the user which; create_credential makes one). Afterwards run scan_repository, then list_branches.";
    const TOOLSET: Toolset = Toolset::Pipelines;
    const HINTS: Hints = Hints::CREATE;
    const CHECK: &'static str = "get_pipeline";
    type Input = CreateMultibranchPipelineInput;
    type Output = CreateMultibranchPipelineOutput;

    async fn call(
        ctx: ToolCtx,
        input: CreateMultibranchPipelineInput,
    ) -> Result<CreateMultibranchPipelineOutput, ToolError> {
        validate_subdomain("pipeline name", &input.name)?;
        let repo = parse_repo_url(&input.repository_url)?;
        let script_path = input
            .script_path
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("Jenkinsfile")
            .to_string();
        if script_path.starts_with('/') || script_path.split('/').any(|s| s == "..") || script_path.len() > 512 {
            return Err(ToolError::InvalidInput(format!(
                "script_path {script_path:?} must be a relative path inside the repository, e.g. Jenkinsfile or ci/Jenkinsfile"
            )));
        }
        let gitlab_server_name = gitlab_server_name(&input)?;
        if input.provider != Provider::Git && (repo.owner.is_none() || repo.repo.is_none()) {
            return Err(ToolError::InvalidInput(format!(
                "provider {:?} needs a URL of the form https://host/owner/repo; use provider git for other URLs",
                input.provider
            )));
        }
        let given_credential = input
            .credential_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        if input.repository_visibility == Some(Visibility::Public) && given_credential.is_some() {
            return Err(ToolError::InvalidInput(
                "a public repository is read without a credential: drop credential_id, or, if the user said the repository is private, pass repository_visibility private".into(),
            ));
        }
        let project = resolve_input(&ctx, &input).await?;
        let cluster = project.cluster();
        ensure_absent(&ctx, &project, &input.name).await?;
        let credentials: Vec<CredentialChoice> = project_credentials(&ctx, &project).await?;

        let mut visibility = input.repository_visibility;
        let mut credential = given_credential;
        let mut declined = false;
        let mut wants_new = false;
        if visibility.is_none() {
            match ctx.ask(visibility_question(&repo.display, &credentials)).await? {
                Some(Answer::Accept(content)) => {
                    visibility = match content.get("visibility").and_then(|v| v.as_str()) {
                        Some("private") => Some(Visibility::Private),
                        Some("public") => Some(Visibility::Public),
                        _ => None,
                    };
                    if visibility == Some(Visibility::Private) {
                        let picked = content.get("credential").and_then(|v| v.as_str());
                        wants_new = picked == Some(NEW_CREDENTIAL);
                        credential = picked
                            .filter(|c| credentials.iter().any(|x| x.id == *c))
                            .map(str::to_string);
                    }
                }
                Some(_) => declined = true,
                None => {}
            }
        }
        let Some(visibility) = visibility else {
            return Ok(needs_input(input, repo.display, project, credentials, declined));
        };
        let credential_id = match visibility {
            Visibility::Public => String::new(),
            Visibility::Private => {
                if credential.is_none()
                    && !wants_new
                    && !credentials.is_empty()
                    && let Some(Answer::Accept(content)) =
                        ctx.ask(credential_question(&repo.display, &credentials)).await?
                {
                    credential = content
                        .get("credential")
                        .and_then(|v| v.as_str())
                        .filter(|c| credentials.iter().any(|x| x.id == *c))
                        .map(str::to_string);
                }
                let Some(id) = credential else {
                    return Err(ToolError::NeedsUserInput(format!(
                        "{} is private, so KubeSphere needs a credential to read it, and none was chosen. Nothing was created. {}Ask the user which credential to use, or create one with create_credential (ask the user for the token or key; prefer a read-only token), then call again with credential_id.",
                        repo.display,
                        if credentials.is_empty() {
                            format!("{} has no credentials yet. ", project.describe())
                        } else {
                            format!(
                                "Existing credentials of {}: {}. ",
                                project.name,
                                credentials
                                    .iter()
                                    .map(|c| format!("{} ({})", c.id, c.kind))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        }
                    )));
                };
                if !credentials.iter().any(|c| c.id == id) {
                    return Err(ToolError::InvalidInput(format!(
                        "{} has no credential {id:?}. Nothing was created. Existing: {}. Create it with create_credential, or ask the user which existing one to use.",
                        project.describe(),
                        if credentials.is_empty() {
                            "none".to_string()
                        } else {
                            credentials.iter().map(|c| c.id.clone()).collect::<Vec<_>>().join(", ")
                        }
                    )));
                }
                id
            }
        };
        let mut notes = vec![
            "The answer about the repository's visibility was not checked against the Git host: the server only talks to KubeSphere.".to_string(),
        ];
        if visibility == Visibility::Private
            && let Some(c) = credentials.iter().find(|c| c.id == credential_id)
        {
            if repo.ssh && c.kind != "ssh-auth" {
                notes.push(format!(
                    "The URL uses SSH but credential {} is {}; Jenkins needs an ssh-auth credential for SSH URLs.",
                    c.id, c.kind
                ));
            } else if !repo.ssh && c.kind == "ssh-auth" {
                notes.push(format!(
                    "Credential {} is an SSH key but the URL is HTTPS; use an ssh:// URL or a basic-auth credential.",
                    c.id
                ));
            }
        }

        let mut annotations = BTreeMap::new();
        if let Some(user) = ctx.client.identity().await?.username {
            annotations.insert(keys::CREATOR.to_string(), user);
        }
        let spec = multibranch_spec(
            &input,
            &repo,
            &script_path,
            &credential_id,
            gitlab_server_name.as_deref(),
        );
        let pipeline = Pipeline {
            metadata: ObjectMeta {
                name: input.name.clone(),
                namespace: Some(project.name.clone()),
                annotations,
                ..Default::default()
            },
            spec: PipelineSpec {
                kind: PIPELINE_TYPE_MULTI_BRANCH.into(),
                pipeline: None,
                multi_branch_pipeline: Some(spec),
            },
        };
        ctx.client.create_pipeline(&cluster, &project.name, &pipeline).await?;
        Ok(CreateMultibranchPipelineOutput {
            status: CreateStatus::Created,
            next: format!(
                "Discover branches with scan_repository (pipeline {:?}), read get_scan_log if none appear, then list_branches and trigger_run with the branch the user wants.",
                input.name
            ),
            name: input.name,
            repository_url: repo.display,
            repository_visibility: Some(visibility),
            credential_id: Some(credential_id),
            credentials: Vec::new(),
            ask_user: None,
            notes,
            project,
        })
    }
}

/// U9: `gitlab_source.server_name` is written verbatim into the Jenkins job
/// (`<serverName>`) and must name a GitLab server configured in Jenkins,
/// so it is taken from the user, never derived from the repository URL.
fn gitlab_server_name(input: &CreateMultibranchPipelineInput) -> Result<Option<String>, ToolError> {
    let given = input
        .gitlab_server_name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match (input.provider, given) {
        (Provider::Gitlab, None) => Err(ToolError::InvalidInput(
            "provider gitlab needs gitlab_server_name: the name of a GitLab server configured in Jenkins (Manage Jenkins > System > GitLab Servers; often `default` for gitlab.com), not a URL. Ask the user which one, or use provider git with the repository URL. Nothing was created.".into(),
        )),
        (Provider::Gitlab, Some(s)) if s.contains("://") || s.contains('/') || s.len() > 253 || s.chars().any(char::is_control) => {
            Err(ToolError::InvalidInput(
                "gitlab_server_name is the NAME of a GitLab server configured in Jenkins (e.g. `default`), not a URL. Ask the user which server name Jenkins uses. Nothing was created.".into(),
            ))
        }
        (Provider::Gitlab, Some(s)) => Ok(Some(s.to_string())),
        (_, Some(_)) => Err(ToolError::InvalidInput(
            "gitlab_server_name only applies to provider gitlab: drop it, or pass provider gitlab".into(),
        )),
        (_, None) => Ok(None),
    }
}

/// The project's credentials (id and short type), every page.
async fn project_credentials(ctx: &ToolCtx, project: &ProjectRef) -> Result<Vec<CredentialChoice>, ToolError> {
    let query = ListQuery {
        page: Some(1),
        limit: Some(500),
        ..Default::default()
    };
    Ok(ctx
        .client
        .list_credentials(&project.cluster(), &project.name, &query)
        .await?
        .items
        .into_iter()
        .map(|c| CredentialChoice {
            kind: c.kind.short_name().to_string(),
            id: c.metadata.name,
        })
        .collect())
}

fn needs_input(
    input: CreateMultibranchPipelineInput,
    url: String,
    project: ProjectRef,
    credentials: Vec<CredentialChoice>,
    declined: bool,
) -> CreateMultibranchPipelineOutput {
    let ask = format!(
        "Is the repository {url} private or public? If it is private, which credential of project {} should KubeSphere use to read it{}?",
        project.name,
        if credentials.is_empty() {
            " (there are none yet: one must be created first with create_credential)".to_string()
        } else {
            format!(
                ": {}, or a new one",
                credentials.iter().map(|c| c.id.clone()).collect::<Vec<_>>().join(", ")
            )
        }
    );
    CreateMultibranchPipelineOutput {
        status: CreateStatus::NeedsUserInput,
        next: if declined {
            "The user did not answer; nothing was created. Ask again only if they still want this pipeline.".into()
        } else {
            "Nothing was created. Ask the user the question in ask_user (do not guess from the URL), then call again with repository_visibility and, for a private repository, credential_id.".into()
        },
        name: input.name,
        repository_url: url,
        repository_visibility: None,
        credential_id: None,
        credentials,
        ask_user: Some(ask),
        notes: Vec::new(),
        project,
    }
}

/// The choice "none of these": a credential must be created first.
const NEW_CREDENTIAL: &str = "(new)";

fn credential_options(credentials: &[CredentialChoice]) -> Vec<serde_json::Value> {
    let mut options: Vec<serde_json::Value> = credentials
        .iter()
        .take(MAX_CREDENTIAL_CHOICES)
        .map(|c| serde_json::json!({"const": c.id, "title": format!("{} ({})", c.id, c.kind)}))
        .collect();
    options.push(
        serde_json::json!({"const": NEW_CREDENTIAL, "title": "None of these: a new credential must be created first"}),
    );
    options
}

fn visibility_question(url: &str, credentials: &[CredentialChoice]) -> Question {
    let mut props = serde_json::json!({
        "visibility": {
            "type": "string",
            "title": "Repository visibility",
            "description": format!("Is {url} private (needs a credential) or public?"),
            "oneOf": [
                {"const": "private", "title": "Private: KubeSphere needs a credential to read it"},
                {"const": "public", "title": "Public: anyone can clone it"},
            ],
        }
    });
    if !credentials.is_empty() {
        props["credential"] = serde_json::json!({
            "type": "string",
            "title": "Credential (private repositories only)",
            "description": "Existing credential of the project that can read the repository. If none fits, create one first.",
            "oneOf": credential_options(credentials),
        });
    }
    let schema = serde_json::json!({"type": "object", "properties": props, "required": ["visibility"]});
    Question {
        key: "repository".into(),
        message: format!(
            "Before the pipeline is created: is the repository {url} private or public?{}",
            if credentials.is_empty() {
                " (This project has no credentials yet; a private repository needs one to be created first.)"
            } else {
                " If private, pick the credential that can read it."
            }
        ),
        schema: schema.as_object().cloned().unwrap_or_default(),
    }
}

fn credential_question(url: &str, credentials: &[CredentialChoice]) -> Question {
    let schema = serde_json::json!({
        "type": "object",
        "properties": {"credential": {
            "type": "string",
            "title": "Credential",
            "description": format!("Credential that can read {url}"),
            "oneOf": credential_options(credentials),
        }},
        "required": ["credential"],
    });
    Question {
        key: "credential".into(),
        message: format!("{url} is private. Which credential of the project should KubeSphere use to read it?"),
        schema: schema.as_object().cloned().unwrap_or_default(),
    }
}

/// A repository URL taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RepoUrl {
    /// The URL as sent to KubeSphere.
    display: String,
    /// `https://host[:port]` of the server (HTTPS URLs only).
    origin: Option<String>,
    host: String,
    owner: Option<String>,
    repo: Option<String>,
    ssh: bool,
}

fn parse_repo_url(raw: &str) -> Result<RepoUrl, ToolError> {
    let s = raw.trim();
    let bad = |why: &str| {
        ToolError::InvalidInput(format!(
            "repository_url is not usable: {why}. Use https://host/owner/repo.git, ssh://git@host/owner/repo.git or git@host:owner/repo.git"
        ))
    };
    if s.is_empty() || s.len() > 2048 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("it is empty, too long or contains spaces"));
    }
    // scp-like form: git@host:owner/repo.git
    if !s.contains("://") {
        let (user_host, path) = s.split_once(':').ok_or_else(|| bad("no scheme"))?;
        let host = user_host.rsplit('@').next().unwrap_or_default();
        if host.is_empty() || path.is_empty() || path.starts_with('/') {
            return Err(bad("expected git@host:owner/repo.git"));
        }
        let (owner, repo) = owner_repo(path);
        return Ok(RepoUrl {
            display: s.to_string(),
            origin: None,
            host: host.to_string(),
            owner,
            repo,
            ssh: true,
        });
    }
    let url = url::Url::parse(s).map_err(|_| bad("it does not parse as a URL"))?;
    if url.password().is_some() || (url.scheme().starts_with("http") && !url.username().is_empty()) {
        // Never echo it: the URL holds a secret.
        return Err(ToolError::InvalidInput(
            "repository_url contains a user name or token: never put credentials in a URL. Store the token with create_credential and pass its id as credential_id, with the URL without them".into(),
        ));
    }
    let ssh = match url.scheme() {
        "https" | "http" => false,
        "ssh" | "git" => true,
        other => return Err(bad(&format!("scheme {other:?} is not supported"))),
    };
    let host = url.host_str().ok_or_else(|| bad("no host"))?.to_string();
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it has a query or fragment"));
    }
    let (owner, repo) = owner_repo(url.path());
    let origin = (!ssh).then(|| {
        let mut o = format!("{}://{}", url.scheme(), host);
        if let Some(p) = url.port() {
            o.push_str(&format!(":{p}"));
        }
        o
    });
    Ok(RepoUrl {
        display: url.to_string(),
        origin,
        host,
        owner,
        repo,
        ssh,
    })
}

fn owner_repo(path: &str) -> (Option<String>, Option<String>) {
    let parts: Vec<&str> = path.trim_matches('/').split('/').filter(|p| !p.is_empty()).collect();
    if parts.len() < 2 {
        return (None, None);
    }
    let repo = parts[parts.len() - 1].trim_end_matches(".git").to_string();
    let owner = parts[..parts.len() - 1].join("/");
    (Some(owner), Some(repo).filter(|r| !r.is_empty()))
}

fn multibranch_spec(
    input: &CreateMultibranchPipelineInput,
    repo: &RepoUrl,
    script_path: &str,
    credential_id: &str,
    gitlab_server_name: Option<&str>,
) -> MultiBranchPipeline {
    let discover_branches = input.discover_branches.unwrap_or(true);
    let regex_filter = input.regex_filter.clone().filter(|r| !r.is_empty());
    let scm = || ScmSource {
        owner: repo.owner.clone(),
        repo: repo.repo.clone(),
        credential_id: Some(credential_id.to_string()),
        api_uri: None,
        server_name: None,
        // Jenkins' branch discovery strategy: 3 = all branches, 0 = none.
        discover_branches: Some(if discover_branches { 3 } else { 0 }),
        discover_pr_from_origin: None,
        discover_tags: Some(input.discover_tags),
        regex_filter: regex_filter.clone(),
    };
    let mut spec = MultiBranchPipeline {
        name: input.name.clone(),
        description: input.description.clone().filter(|d| !d.is_empty()),
        script_path: Some(script_path.to_string()),
        ..Default::default()
    };
    match input.provider {
        Provider::Git => {
            spec.source_type = "git".into();
            spec.git_source = Some(GitSource {
                url: repo.display.clone(),
                credential_id: Some(credential_id.to_string()),
                discover_branches: Some(discover_branches),
                discover_tags: Some(input.discover_tags),
                regex_filter,
            });
        }
        Provider::Github => {
            spec.source_type = "github".into();
            let mut s = scm();
            if repo.host != "github.com" {
                s.api_uri = repo.origin.as_ref().map(|o| format!("{o}/api/v3"));
            }
            spec.github_source = Some(s);
        }
        Provider::Gitlab => {
            spec.source_type = "gitlab".into();
            let mut s = scm();
            s.server_name = gitlab_server_name.map(str::to_string);
            spec.gitlab_source = Some(s);
        }
        Provider::Bitbucket => {
            spec.source_type = "bitbucket_server".into();
            let mut s = scm();
            s.api_uri = repo.origin.clone();
            spec.bitbucket_server_source = Some(s);
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubesphere::Cluster;
    use crate::testing::{call, client, ctx, sim};

    #[tokio::test]
    async fn without_visibility_nothing_is_created_and_the_question_is_given() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "create_multibranch_pipeline",
            serde_json::json!({"project": "stone-devops", "name": "app", "repository_url": "https://github.com/org/app.git"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "needs_user_input");
        let ask = out["ask_user"].as_str().unwrap();
        assert!(
            ask.contains("private or public") && ask.contains("github-token"),
            "{ask}"
        );
        assert_eq!(out["credentials"][0]["id"], "github-token");
        assert_eq!(out["credentials"][0]["type"], "basic-auth");
        // Only credential-type Secrets are offered.
        assert_eq!(out["credentials"].as_array().unwrap().len(), 1);
        assert!(!sim.pipeline_names("host", "stone-devops").contains(&"app".to_string()));
        assert!(crate::testing::only_reads(&sim));
    }

    #[tokio::test]
    async fn public_creates_with_an_empty_credential() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "create_multibranch_pipeline",
            serde_json::json!({"project": "stone-devops", "name": "app", "repository_url": "https://github.com/org/app.git",
                "repository_visibility": "public", "script_path": "ci/Jenkinsfile"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "created");
        let p = client(&sim, "tenant")
            .get_pipeline(&Cluster::Host, "stone-devops", "app")
            .await
            .unwrap();
        let mb = p.spec.multi_branch_pipeline.unwrap();
        let git = mb.git_source.unwrap();
        assert_eq!(git.credential_id.as_deref(), Some(""));
        assert_eq!(git.url, "https://github.com/org/app.git");
        assert_eq!(git.discover_branches, Some(true));
        assert_eq!(mb.script_path.as_deref(), Some("ci/Jenkinsfile"));
        assert_eq!(p.spec.kind, "multi-branch-pipeline");
    }

    #[tokio::test]
    async fn private_needs_an_existing_credential() {
        let sim = sim().await;
        let base = serde_json::json!({"project": "stone-devops", "name": "app",
            "repository_url": "https://github.com/org/app.git", "repository_visibility": "private"});
        let err = call(&ctx(&sim), "create_multibranch_pipeline", base.clone())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "needs_user_input");
        assert!(err.to_string().contains("create_credential"), "{err}");
        let mut unknown = base.clone();
        unknown["credential_id"] = "nope".into();
        let err = call(&ctx(&sim), "create_multibranch_pipeline", unknown)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("create_credential"), "{err}");
        // A non-credential Secret of the namespace is not a credential.
        let mut opaque = base.clone();
        opaque["credential_id"] = "app-config".into();
        assert!(call(&ctx(&sim), "create_multibranch_pipeline", opaque).await.is_err());
        assert!(crate::testing::only_reads(&sim));

        let mut ok = base;
        ok["credential_id"] = "github-token".into();
        ok["provider"] = "github".into();
        let out = call(&ctx(&sim), "create_multibranch_pipeline", ok).await.unwrap();
        assert_eq!(out["credential_id"], "github-token");
        let p = client(&sim, "tenant")
            .get_pipeline(&Cluster::Host, "stone-devops", "app")
            .await
            .unwrap();
        let gh = p.spec.multi_branch_pipeline.unwrap().github_source.unwrap();
        assert_eq!(
            (gh.owner.as_deref(), gh.repo.as_deref(), gh.credential_id.as_deref()),
            (Some("org"), Some("app"), Some("github-token"))
        );
        assert_eq!(gh.api_uri, None);
    }

    #[tokio::test]
    async fn contradictions_and_secret_urls_are_refused_without_echo() {
        let sim = sim().await;
        let err = call(
            &ctx(&sim),
            "create_multibranch_pipeline",
            serde_json::json!({"project": "stone-devops", "name": "app", "repository_url": "https://x-token:ghp_leak123@github.com/org/app.git",
                "repository_visibility": "private", "credential_id": "github-token"}),
        )
        .await
        .unwrap_err();
        assert!(!err.to_string().contains("ghp_leak123"), "{err}");
        assert!(err.to_string().contains("create_credential"), "{err}");
        let err = call(
            &ctx(&sim),
            "create_multibranch_pipeline",
            serde_json::json!({"project": "stone-devops", "name": "app", "repository_url": "https://github.com/org/app.git",
                "repository_visibility": "public", "credential_id": "github-token"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "invalid_input");
        assert!(sim.requests().is_empty(), "refused before any request");
    }

    /// U9: a GitLab source names a GitLab server configured in Jenkins; the
    /// simulated Jenkins knows `default` and fails indexing for anything
    /// else (a URL included), as the GitLab branch source does.
    #[tokio::test]
    async fn gitlab_uses_the_jenkins_server_name() {
        let sim = sim().await;
        let c = ctx(&sim);
        let base = serde_json::json!({"project": "stone-devops", "name": "gl-app", "provider": "gitlab",
            "repository_url": "https://gitlab.com/org/app.git", "repository_visibility": "public"});
        let err = call(&c, "create_multibranch_pipeline", base.clone()).await.unwrap_err();
        assert_eq!(err.kind(), "invalid_input");
        assert!(err.to_string().contains("gitlab_server_name"), "{err}");
        let mut url = base.clone();
        url["gitlab_server_name"] = "https://gitlab.com".into();
        let err = call(&c, "create_multibranch_pipeline", url).await.unwrap_err();
        assert!(err.to_string().contains("not a URL"), "{err}");
        assert!(sim.requests().is_empty(), "refused before any request");

        let mut ok = base;
        ok["gitlab_server_name"] = "default".into();
        let out = call(&c, "create_multibranch_pipeline", ok).await.unwrap();
        assert_eq!(out["status"], "created", "{out:#}");
        let p = client(&sim, "tenant")
            .get_pipeline(&Cluster::Host, "stone-devops", "gl-app")
            .await
            .unwrap();
        let mb = p.spec.multi_branch_pipeline.unwrap();
        assert_eq!(mb.source_type, "gitlab");
        assert_eq!(mb.gitlab_source.unwrap().server_name.as_deref(), Some("default"));
        // Jenkins can index it.
        tokio::time::sleep(std::time::Duration::from_millis(120)).await;
        call(
            &c,
            "scan_repository",
            serde_json::json!({"project": "stone-devops", "pipeline": "gl-app"}),
        )
        .await
        .unwrap();
        let log = call(
            &c,
            "get_scan_log",
            serde_json::json!({"project": "stone-devops", "pipeline": "gl-app"}),
        )
        .await
        .unwrap();
        let text = log["log"].as_str().unwrap();
        assert!(text.ends_with("Finished: SUCCESS"), "{text}");
    }

    #[tokio::test]
    async fn bitbucket_source() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "create_multibranch_pipeline",
            serde_json::json!({"project": "stone-devops",
            "name": "bb-app", "provider": "bitbucket", "repository_url": "https://bitbucket.org/org/app.git",
            "repository_visibility": "public"}),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], "created");
        let mb = client(&sim, "tenant")
            .get_pipeline(&Cluster::Host, "stone-devops", "bb-app")
            .await
            .unwrap()
            .spec
            .multi_branch_pipeline
            .unwrap();
        assert_eq!(mb.source_type, "bitbucket_server");
        let src = mb.bitbucket_server_source.unwrap();
        assert_eq!(src.api_uri.as_deref(), Some("https://bitbucket.org"));
        assert_eq!((src.owner.as_deref(), src.repo.as_deref()), (Some("org"), Some("app")));
    }

    #[test]
    fn urls_are_taken_apart() {
        let u = parse_repo_url("git@gitlab.example.com:group/sub/app.git").unwrap();
        assert!(u.ssh);
        assert_eq!(
            (u.owner.as_deref(), u.repo.as_deref()),
            (Some("group/sub"), Some("app"))
        );
        let u = parse_repo_url("https://bitbucket.example.com:8443/scm/proj/app.git").unwrap();
        assert_eq!(u.origin.as_deref(), Some("https://bitbucket.example.com:8443"));
        assert!(parse_repo_url("ftp://x/y").is_err());
        assert!(parse_repo_url("https://github.com/a b").is_err());
        assert!(parse_repo_url("").is_err());
    }
}
