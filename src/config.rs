//! Command line and environment settings, checked at start-up without any
//! network call. Every problem is one line that says what to set.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;
use url::Url;

use crate::kubesphere::{ClientSettings, Cluster, Credentials, OAuthClient};
use crate::mcp::dynamic::DynamicConfig;
use crate::mcp::{ServerOptions, ToolFilter, Toolset};

/// Whether dynamic toolsets are on when `--dynamic-toolsets` is not given.
pub const DYNAMIC_TOOLSETS_DEFAULT: bool = true;

/// MCP server for KubeSphere DevOps, acting as one namespace-scoped tenant.
#[derive(Debug, Parser)]
#[command(name = "ks-devops-mcp", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the MCP server on stdio (the default).
    Serve,
    /// Call one tool once and print its structured result as JSON.
    Call {
        /// Tool name, e.g. list_pipelines.
        tool: String,
        /// Arguments as a JSON object (default `{}`).
        args: Option<String>,
    },
    /// Check the configured KubeSphere (reachability, TLS, login, workspaces,
    /// clusters, APIs, DevOps projects) and say how to fix what fails.
    /// Exit code 0 only when every check passed.
    Doctor {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Also create, run and delete a throw-away pipeline in this DevOps project.
        #[arg(long, value_name = "PROJECT")]
        write_check: Option<String>,
    },
    /// Print the tool catalog, or write one JSON file per tool.
    Tools {
        /// Directory to write `<tool>.json` files into (e.g. tools/).
        #[arg(long, conflicts_with = "examples")]
        write: Option<PathBuf>,
        /// Print every read-only tool's example arguments and the
        /// bad-argument cases as JSON (for scripts/real_clients.py and the benchmarks).
        #[arg(long)]
        examples: bool,
    },
    /// Print the README's generated tool and toolset tables, or rewrite them
    /// in place between their markers.
    Docs {
        /// README to update (e.g. README.md).
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Print a new random API key and the entry for the API key file.
    ApiKey {
        /// Name of the entry (shown in access logs).
        #[arg(long)]
        name: Option<String>,
    },
    /// Run the simulated KubeSphere alone (for curl experiments).
    Sandbox {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9090")]
        listen: SocketAddr,
        /// Seconds a simulated run stays QUEUED and then RUNNING.
        #[arg(long, default_value_t = 1.0)]
        run_phase_secs: f64,
    },
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Use the built-in simulated KubeSphere (demo tenant `tenant`); needs no other setting.
    #[arg(long, global = true)]
    pub sandbox: bool,

    /// KubeSphere API base URL (ks-apiserver), e.g. https://ks.example.com
    #[arg(long, env = "KUBESPHERE_URL", global = true)]
    pub url: Option<String>,

    /// KubeSphere user for the OAuth password grant (password from KUBESPHERE_PASSWORD).
    #[arg(long, env = "KUBESPHERE_USERNAME", global = true)]
    pub username: Option<String>,

    /// File holding the password (instead of KUBESPHERE_PASSWORD).
    #[arg(long, global = true)]
    pub password_file: Option<PathBuf>,

    /// File holding a ready bearer token (instead of KUBESPHERE_TOKEN).
    #[arg(long, global = true)]
    pub token_file: Option<PathBuf>,

    /// OAuth client id.
    #[arg(long, env = "KUBESPHERE_CLIENT_ID", default_value = "kubesphere", global = true)]
    pub client_id: String,

    /// Default cluster; `host` means no /clusters/ prefix.
    #[arg(long, env = "KUBESPHERE_CLUSTER", default_value = "host", global = true)]
    pub cluster: String,

    /// Clusters searched for projects when a tool gets none (comma list); default: every cluster KubeSphere lists for the user.
    #[arg(long, env = "KUBESPHERE_CLUSTERS", global = true)]
    pub clusters: Option<String>,

    /// Timeout of one KubeSphere request, in seconds.
    #[arg(long, env = "KUBESPHERE_TIMEOUT", default_value_t = 30, global = true)]
    pub timeout_secs: u64,

    /// Register only tools that change nothing.
    #[arg(long, env = "KS_DEVOPS_MCP_READ_ONLY", global = true)]
    pub read_only: bool,

    /// Tool groups to serve, all on from the start (comma list; `all` = every group, `default` = context, pipelines, runs, logs, credentials). Not given: `default`, and with dynamic toolsets every other group can be opened per session.
    #[arg(long, env = "KS_DEVOPS_MCP_TOOLSETS", value_parser = ToolsetsParser, global = true)]
    pub toolsets: Option<ToolsetList>,

    /// Dynamic toolsets: serve the default tools plus list_toolsets and enable_toolset, with which the model opens other toolsets (within --toolsets) per session.
    #[arg(
        long,
        env = "KS_DEVOPS_MCP_DYNAMIC_TOOLSETS",
        global = true,
        default_value_t = DYNAMIC_TOOLSETS_DEFAULT,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
    )]
    pub dynamic_toolsets: bool,

    /// The client asks the human before every tool call, so destructive tools may run without elicitation.
    #[arg(long, env = "KS_DEVOPS_MCP_ALLOW_UNCONFIRMED_DESTRUCTIVE", global = true)]
    pub allow_unconfirmed_destructive: bool,

    /// Directory download_artifact writes files under (created if missing); default: a new private directory under the system temp dir.
    #[arg(long, env = "KS_DEVOPS_MCP_ARTIFACT_DIR", global = true)]
    pub artifact_dir: Option<PathBuf>,

    /// Log filter for stderr (RUST_LOG syntax), e.g. debug or ks_devops_mcp=trace.
    #[arg(long, env = "KS_DEVOPS_MCP_LOG", default_value = "info", global = true)]
    pub log: String,

    #[command(flatten)]
    pub http: crate::http::HttpArgs,
}

/// The toolsets `--toolsets` names, shorthands expanded, sorted, no
/// duplicates, never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolsetList(pub Vec<Toolset>);

/// Parses `--toolsets`: a comma list of [`Toolset`] values (the names its
/// `clap::ValueEnum` derive gives) and the shorthands `all` and `default`;
/// offers them all in `--help` and shell completions.
#[derive(Clone, Copy, Debug)]
pub struct ToolsetsParser;

impl TypedValueParser for ToolsetsParser {
    type Value = ToolsetList;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<ToolsetList, clap::Error> {
        let invalid = |why: String| {
            let name = arg.map_or_else(|| "--toolsets".to_string(), ToString::to_string);
            let why = if why.starts_with("--toolsets") {
                why
            } else {
                format!("{name}: {why}")
            };
            clap::Error::raw(ErrorKind::InvalidValue, format!("{why}\n")).with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| invalid("the toolset list is not UTF-8".into()))?;
        Toolset::parse_list(text).map(ToolsetList).map_err(invalid)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        let sets = Toolset::value_variants()
            .iter()
            .filter_map(ValueEnum::to_possible_value);
        let shorthands = [
            PossibleValue::new("all").help("every toolset"),
            PossibleValue::new("default").help("context, pipelines, runs, logs, credentials"),
        ];
        Some(Box::new(sets.chain(shorthands)))
    }
}

/// Where the server's KubeSphere is.
#[derive(Debug)]
pub enum Target {
    Real(Box<ClientSettings>),
    Sandbox,
}

/// Everything start-up decided.
#[derive(Debug)]
pub struct Settings {
    pub target: Target,
    pub filter: ToolFilter,
    pub options: ServerOptions,
    pub default_cluster: Cluster,
    pub search_clusters: Option<Vec<Cluster>>,
    /// `--http`: serve streamable HTTP instead of stdio.
    pub http: Option<crate::http::HttpConfig>,
}

impl Settings {
    /// Whether HTTP callers bring their own identity (the server then has
    /// none of its own).
    pub fn caller_auth(&self) -> bool {
        self.http.as_ref().is_some_and(crate::http::HttpConfig::caller_auth)
    }
}

fn env_secret(name: &str) -> Option<SecretString> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(SecretString::from)
}

fn file_secret(path: &PathBuf, what: &str) -> Result<SecretString, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {what} file {}: {e}", path.display()))?;
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(format!("{what} file {} is empty", path.display()));
    }
    Ok(SecretString::from(text))
}

impl Settings {
    /// Checks the settings; the error is one line saying what to set.
    pub fn from_args(g: &GlobalArgs) -> Result<Settings, String> {
        let named = g.toolsets.as_ref().map(|l| l.0.as_slice());
        let dynamic = g.dynamic_toolsets.then(|| DynamicConfig::from_list(named, g.read_only));
        let filter = match &dynamic {
            Some(d) => d.filter(),
            None => ToolFilter {
                toolsets: named.map_or_else(|| ToolFilter::default().toolsets, <[Toolset]>::to_vec),
                read_only: g.read_only,
            },
        };
        let artifact_dir = match g.artifact_dir.as_deref().filter(|d| !d.as_os_str().is_empty()) {
            None => None,
            Some(d) => {
                let abs =
                    std::path::absolute(d).map_err(|e| format!("KS_DEVOPS_MCP_ARTIFACT_DIR {}: {e}", d.display()))?;
                if abs.exists() && !abs.is_dir() {
                    return Err(format!(
                        "KS_DEVOPS_MCP_ARTIFACT_DIR {} exists and is not a directory: point it at a directory",
                        abs.display()
                    ));
                }
                Some(abs)
            }
        };
        let options = ServerOptions {
            allow_unconfirmed_destructive: g.allow_unconfirmed_destructive,
            artifact_dir,
            dynamic,
        };
        let default_cluster = Cluster::parse(&g.cluster).map_err(|e| format!("KUBESPHERE_CLUSTER: {e}"))?;
        let search_clusters = match g.clusters.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(list) => {
                let mut v = Vec::new();
                for c in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                    v.push(Cluster::parse(c).map_err(|e| format!("KUBESPHERE_CLUSTERS: {e}"))?);
                }
                Some(v)
            }
        };
        if g.timeout_secs == 0 || g.timeout_secs > 600 {
            return Err("KUBESPHERE_TIMEOUT must be between 1 and 600 seconds".into());
        }
        let http = g.http.to_config()?;
        let caller_auth = http.as_ref().is_some_and(crate::http::HttpConfig::caller_auth);
        if g.sandbox {
            return Ok(Settings {
                target: Target::Sandbox,
                filter,
                options,
                default_cluster,
                search_clusters,
                http,
            });
        }
        let url = g
            .url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .ok_or("set KUBESPHERE_URL (or --url) to the KubeSphere API address, or pass --sandbox to try the built-in simulated KubeSphere")?;
        let base_url = Url::parse(url).map_err(|e| format!("KUBESPHERE_URL {url:?} is not a URL: {e}"))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.host_str().is_none() {
            return Err(format!("KUBESPHERE_URL {url:?} must be an http:// or https:// address"));
        }
        if base_url.query().is_some() || base_url.fragment().is_some() {
            return Err(format!("KUBESPHERE_URL {url:?} must not carry a query or fragment"));
        }
        let password = match &g.password_file {
            Some(p) => Some(file_secret(p, "password")?),
            None => env_secret("KUBESPHERE_PASSWORD"),
        };
        let token = match &g.token_file {
            Some(p) => Some(file_secret(p, "token")?),
            None => env_secret("KUBESPHERE_TOKEN"),
        };
        let username = g.username.as_deref().map(str::trim).filter(|u| !u.is_empty());
        let credentials = match (username, password, token) {
            // Each HTTP caller brings its own identity: the server has none
            // to fall back to, so configuring one is a mistake.
            (None, None, None) if caller_auth => Credentials::None,
            _ if caller_auth => {
                return Err("KUBESPHERE_USERNAME/KUBESPHERE_PASSWORD/KUBESPHERE_TOKEN are not used with --http and caller authentication (each caller acts as itself): unset them, or use --auth none on a loopback address".into());
            }
            (Some(_), _, Some(_)) => {
                return Err(
                    "set either KUBESPHERE_TOKEN or KUBESPHERE_USERNAME + KUBESPHERE_PASSWORD, not both".into(),
                );
            }
            (None, Some(_), Some(_)) => {
                return Err("KUBESPHERE_PASSWORD is set together with KUBESPHERE_TOKEN: unset one of them".into());
            }
            (None, None, Some(t)) => Credentials::Token(t),
            (Some(u), Some(p), None) => Credentials::Password {
                username: u.to_string(),
                password: p,
            },
            (Some(_), None, None) => {
                return Err("KUBESPHERE_USERNAME is set but KUBESPHERE_PASSWORD is not: set the password".into());
            }
            (None, Some(_), None) => {
                return Err("KUBESPHERE_PASSWORD is set but KUBESPHERE_USERNAME is not: set the user name".into());
            }
            (None, None, None) => {
                return Err(
                    "set KUBESPHERE_USERNAME and KUBESPHERE_PASSWORD (OAuth password grant) or KUBESPHERE_TOKEN".into(),
                );
            }
        };
        let mut oauth = OAuthClient {
            id: g.client_id.clone(),
            ..Default::default()
        };
        if let Some(s) = env_secret("KUBESPHERE_CLIENT_SECRET") {
            oauth.secret = s;
        }
        if base_url.scheme() == "http" && !is_loopback(&base_url) {
            tracing::warn!(
                "KUBESPHERE_URL uses plain http to a non-local host: the password and tokens cross the network unencrypted"
            );
        }
        let mut cs = ClientSettings::new(base_url, credentials);
        cs.oauth_client = oauth;
        cs.default_cluster = default_cluster.clone();
        cs.search_clusters = search_clusters.clone();
        cs.timeout = Duration::from_secs(g.timeout_secs);
        Ok(Settings {
            target: Target::Real(Box::new(cs)),
            filter,
            options,
            default_cluster,
            search_clusters,
            http,
        })
    }
}

fn is_loopback(u: &Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    #[test]
    fn toolset_value_names_are_the_toolset_names() {
        assert_eq!(Toolset::value_variants(), Toolset::ALL.as_slice());
        for t in Toolset::ALL {
            let v = t.to_possible_value().unwrap();
            assert_eq!(v.get_name(), t.name());
        }
    }

    #[test]
    fn toolsets_and_auth_parse_with_their_shorthands_and_say_what_is_known() {
        let cli = Cli::try_parse_from(["ks", "--toolsets", "runs, default,logs", "--auth", "API-KEYS"]).unwrap();
        let default: Vec<Toolset> = Toolset::ALL.into_iter().filter(|t| t.is_default()).collect();
        assert_eq!(cli.global.toolsets.map(|l| l.0), Some(default));
        assert_eq!(cli.global.http.auth, crate::http::callers::AuthMode::ApiKeys);
        let cli = Cli::try_parse_from(["ks", "--toolsets=all", "--auth=token"]).unwrap();
        assert_eq!(cli.global.toolsets.map(|l| l.0), Some(Toolset::ALL.to_vec()));
        assert_eq!(cli.global.http.auth, crate::http::callers::AuthMode::KubeSphere);

        let err = Cli::try_parse_from(["ks", "--toolsets", "runs,nope"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown toolset \"nope\"; known: context,"), "{err}");
        assert!(err.contains("all, default"), "{err}");
        let err = Cli::try_parse_from(["ks", "--toolsets", " , "])
            .unwrap_err()
            .to_string();
        assert!(err.contains("names no toolset"), "{err}");
        // Not given: None (the default set; with dynamic toolsets every set can be opened).
        let cli = Cli::try_parse_from(["ks"]).unwrap();
        assert!(cli.global.toolsets.is_none());
        assert_eq!(cli.global.dynamic_toolsets, DYNAMIC_TOOLSETS_DEFAULT);
        let cli = Cli::try_parse_from(["ks", "--dynamic-toolsets", "false"]).unwrap();
        assert!(!cli.global.dynamic_toolsets);
        let cli = Cli::try_parse_from(["ks", "--dynamic-toolsets"]).unwrap();
        assert!(cli.global.dynamic_toolsets);
        // An empty KS_DEVOPS_MCP_AUTH is the default, as before.
        let cli = Cli::try_parse_from(["ks", "--auth", ""]).unwrap();
        assert_eq!(cli.global.http.auth, crate::http::callers::AuthMode::KubeSphere);
        let err = Cli::try_parse_from(["ks", "--auth", "basic"]).unwrap_err().to_string();
        assert!(err.contains("kubesphere, api-keys, none"), "{err}");
    }
}
