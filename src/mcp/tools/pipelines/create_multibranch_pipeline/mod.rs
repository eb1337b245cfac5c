//! `create_multibranch_pipeline`: a pipeline over a Git repository's
//! branches. Guardrail: nothing is created until the user has said whether
//! the repository is private (and, if so, which credential reads it).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::ListQuery;
use crate::kubesphere::models::{ObjectMeta, PIPELINE_TYPE_MULTI_BRANCH, Pipeline, PipelineSpec, keys};
use crate::kubesphere::path::validate_subdomain;
use rmcp::model::ElicitationSchema;

use crate::mcp::args::ProjectArgs;
use crate::mcp::context::{Answer, Question, ToolCtx, one_of};
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

use super::ensure_absent;
use repo_url::parse_repo_url;
use spec::multibranch_spec;

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
pub struct CreateMultibranchPipelineInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
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
    /// What the pipeline is for.
    #[serde(default)]
    pub description: Option<String>,
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
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "name": "maven-sample", "repository_url": "https://github.com/kubesphere/devops-maven-sample.git", "repository_visibility": "public", "provider": "github"}"#;
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
        let project = resolve_input(&ctx, &input.scope).await?;
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

fn credential_options(credentials: &[CredentialChoice]) -> Vec<(String, String)> {
    let mut options: Vec<(String, String)> = credentials
        .iter()
        .take(MAX_CREDENTIAL_CHOICES)
        .map(|c| (c.id.clone(), format!("{} ({})", c.id, c.kind)))
        .collect();
    options.push((
        NEW_CREDENTIAL.into(),
        "None of these: a new credential must be created first".into(),
    ));
    options
}

fn visibility_question(url: &str, credentials: &[CredentialChoice]) -> Question {
    let visibility = one_of(
        "Repository visibility",
        format!("Is {url} private (needs a credential) or public?"),
        [
            ("private", "Private: KubeSphere needs a credential to read it"),
            ("public", "Public: anyone can clone it"),
        ]
        .map(|(v, t)| (v.to_string(), t.to_string())),
    );
    let mut form = ElicitationSchema::builder().required_enum_schema("visibility", visibility);
    if !credentials.is_empty() {
        form = form.optional_enum_schema(
            "credential",
            one_of(
                "Credential (private repositories only)",
                "Existing credential of the project that can read the repository. If none fits, create one first.",
                credential_options(credentials),
            ),
        );
    }
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
        form,
    }
}

fn credential_question(url: &str, credentials: &[CredentialChoice]) -> Question {
    Question {
        key: "credential".into(),
        message: format!("{url} is private. Which credential of the project should KubeSphere use to read it?"),
        form: ElicitationSchema::builder().required_enum_schema(
            "credential",
            one_of(
                "Credential",
                format!("Credential that can read {url}"),
                credential_options(credentials),
            ),
        ),
    }
}

/// A repository URL taken apart.
mod repo_url;
mod spec;
#[cfg(test)]
mod tests;
