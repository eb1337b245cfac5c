//! A repository URL taken apart: host, owner, repository, SSH or HTTPS.

use crate::mcp::error::ToolError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RepoUrl {
    /// The URL as sent to KubeSphere.
    pub(super) display: String,
    /// `https://host[:port]` of the server (HTTPS URLs only).
    pub(super) origin: Option<String>,
    pub(super) host: String,
    pub(super) owner: Option<String>,
    pub(super) repo: Option<String>,
    pub(super) ssh: bool,
}

pub(super) fn parse_repo_url(raw: &str) -> Result<RepoUrl, ToolError> {
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

pub(super) fn owner_repo(path: &str) -> (Option<String>, Option<String>) {
    let parts: Vec<&str> = path.trim_matches('/').split('/').filter(|p| !p.is_empty()).collect();
    if parts.len() < 2 {
        return (None, None);
    }
    let repo = parts[parts.len() - 1].trim_end_matches(".git").to_string();
    let owner = parts[..parts.len() - 1].join("/");
    (Some(owner), Some(repo).filter(|r| !r.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
