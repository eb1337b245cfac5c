//! `ks-devops-mcp doctor`: checks the configured KubeSphere from a tenant's
//! point of view and says, for every failure, what it means and what to do
//! (including what only an administrator can fix, with the command).
//!
//! Read-only unless `--write-check PROJECT` is given. Uses only the
//! KubeSphere client ([`crate::kubesphere`]); knows nothing of MCP. The
//! access diagnosis of one workspace/project/pipeline
//! ([`diagnose::diagnose`]) is shared with the `diagnose_access` tool.

pub mod advice;
mod connection;
pub mod diagnose;
mod tenancy;
mod write;

use std::time::Instant;

use schemars::JsonSchema;
use serde::Serialize;

use crate::kubesphere::KsClient;

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    /// Passed, with something worth knowing (does not fail the run).
    Warn,
    Fail,
    /// Not run: nothing to check, or an earlier check failed.
    Skip,
}

/// One check: what was looked at, what was found, and when it failed what
/// it means and what to do.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// Stable identifier, e.g. `login` or `projects stone@host`.
    pub id: String,
    pub title: String,
    pub status: Status,
    /// Time the check took, in milliseconds.
    pub ms: u64,
    /// What was found.
    pub detail: String,
    /// What a failure means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meaning: Option<String>,
    /// What the user can do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// What only a KubeSphere administrator can do, with the command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_fix: Option<String>,
}

/// A check being timed.
pub(crate) struct Step {
    id: String,
    title: String,
    started: Instant,
}

impl Step {
    pub(crate) fn start(id: impl Into<String>, title: impl Into<String>) -> Step {
        Step {
            id: id.into(),
            title: title.into(),
            started: Instant::now(),
        }
    }

    fn done(self, status: Status, detail: String) -> Check {
        Check {
            id: self.id,
            title: self.title,
            status,
            ms: self.started.elapsed().as_millis() as u64,
            detail,
            meaning: None,
            fix: None,
            admin_fix: None,
        }
    }

    pub(crate) fn pass(self, detail: impl Into<String>) -> Check {
        self.done(Status::Pass, detail.into())
    }

    pub(crate) fn warn(self, detail: impl Into<String>, meaning: impl Into<String>) -> Check {
        let mut c = self.done(Status::Warn, detail.into());
        c.meaning = Some(meaning.into());
        c
    }

    pub(crate) fn skip(self, detail: impl Into<String>) -> Check {
        self.done(Status::Skip, detail.into())
    }

    pub(crate) fn fail(self, detail: impl Into<String>, advice: Advice) -> Check {
        let mut c = self.done(Status::Fail, detail.into());
        c.meaning = Some(advice.meaning);
        c.fix = advice.fix;
        c.admin_fix = advice.admin_fix;
        c
    }
}

/// What a failure means and what to do about it.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
pub struct Advice {
    pub meaning: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_fix: Option<String>,
}

impl Advice {
    pub(crate) fn new(meaning: impl Into<String>) -> Advice {
        Advice {
            meaning: meaning.into(),
            ..Default::default()
        }
    }
    pub(crate) fn fix(mut self, fix: impl Into<String>) -> Advice {
        self.fix = Some(fix.into());
        self
    }
    pub(crate) fn admin(mut self, admin: impl Into<String>) -> Advice {
        self.admin_fix = Some(admin.into());
        self
    }
}

/// What `doctor` does besides the read-only checks.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Create, run and delete a throw-away pipeline in this project.
    pub write_check: Option<String>,
    /// Projects whose pipelines and run logs are sampled (default 5).
    pub sample_projects: Option<usize>,
}

/// Everything `doctor` found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub kubesphere_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// True when no check failed (warnings and skips do not fail).
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| c.status == Status::Fail).count()
    }
}

/// Runs every check against `client`, in order; later checks are skipped
/// when what they need failed.
pub async fn run(client: &KsClient, opts: &Options) -> Report {
    let url = client.settings().base_url.as_str().trim_end_matches('/').to_string();
    let mut checks = Vec::new();
    let reach = connection::reachability(client).await;
    let reachable = reach.status != Status::Fail;
    checks.push(reach);
    let mut user = None;
    if reachable {
        let (login, who) = connection::login(client).await;
        let logged_in = login.status != Status::Fail;
        checks.push(login);
        user = who;
        if logged_in {
            let found = tenancy::run(client, opts.sample_projects.unwrap_or(5), &mut checks).await;
            if let Some(project) = &opts.write_check {
                checks.extend(write::run(client, project, &found).await);
            }
        } else {
            checks.push(
                Step::start("tenancy", "Workspaces, clusters and DevOps projects").skip("skipped: not logged in"),
            );
        }
    } else {
        checks.push(Step::start("login", "OAuth login").skip("skipped: KubeSphere is not reachable"));
    }
    let ok = !checks.iter().any(|c| c.status == Status::Fail);
    Report {
        kubesphere_url: url,
        user,
        ok,
        checks,
    }
}

/// The report for a person: one line per check, and under each failure
/// what it means and what to do.
pub fn render_text(r: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!("ks-devops-mcp doctor: {}", r.kubesphere_url));
    if let Some(u) = &r.user {
        out.push_str(&format!(" as {u}"));
    }
    out.push_str("\n\n");
    for c in &r.checks {
        let mark = match c.status {
            Status::Pass => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        };
        out.push_str(&format!("[{mark}] {} ({} ms): {}\n", c.title, c.ms, c.detail));
        if let Some(m) = &c.meaning {
            out.push_str(&format!("       meaning: {m}\n"));
        }
        if let Some(f) = &c.fix {
            out.push_str(&format!("       fix: {f}\n"));
        }
        if let Some(a) = &c.admin_fix {
            out.push_str(&format!("       admin only: {a}\n"));
        }
    }
    let failed = r.failed();
    out.push('\n');
    if failed == 0 {
        out.push_str("All checks passed.\n");
    } else {
        out.push_str(&format!(
            "{failed} check(s) failed; see meaning/fix above. Exit code 1.\n"
        ));
    }
    out
}
