//! The MultiBranchPipeline spec KubeSphere stores for the repository.

use crate::kubesphere::models::{GitSource, MultiBranchPipeline, ScmSource};

use super::repo_url::RepoUrl;
use super::{CreateMultibranchPipelineInput, Provider};

pub(super) fn multibranch_spec(
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
