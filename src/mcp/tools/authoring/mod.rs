//! Toolset `authoring` (opt-in): validate and edit pipelines, agent labels.
//! What its tools share (also used by `templates`): validating a
//! Jenkinsfile through upstream's `checkScriptCompile`, the pipeline whose
//! Jenkins job runs the check, and the stages of a Jenkinsfile.

use schemars::JsonSchema;
use serde::Serialize;

use crate::kubesphere::models::{PIPELINE_TYPE_PIPELINE, keys};
use crate::kubesphere::{KsError, ListQuery};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::ToolEntry;
use crate::mcp::resolve::ProjectRef;

pub mod list_agent_labels;
pub mod set_jenkinsfile;
pub mod update_pipeline;
pub mod validate_jenkinsfile;

/// The tools of the toolset, in catalog order.
pub fn tools() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<list_agent_labels::ListAgentLabels>(),
        ToolEntry::of::<validate_jenkinsfile::ValidateJenkinsfile>(),
        ToolEntry::of::<set_jenkinsfile::SetJenkinsfile>(),
        ToolEntry::of::<update_pipeline::UpdatePipeline>(),
    ]
}

/// Largest Jenkinsfile accepted by the authoring tools.
pub const MAX_JENKINSFILE: usize = 256 * 1024;

/// The verdict of Jenkins' compile check.
#[derive(Debug, Serialize, JsonSchema, Clone)]
pub struct JenkinsfileCheck {
    /// True when Jenkins compiled it (Groovy syntax and the declarative `pipeline { }` model).
    pub valid: bool,
    /// 1-based line of the first error (Jenkins reports only the first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column of the first error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Jenkins' error message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The text of the line the error points at (cut at 200 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_line: Option<String>,
}

impl JenkinsfileCheck {
    /// One sentence for an error message.
    pub fn describe(&self) -> String {
        let at = match (self.line, self.column) {
            (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
            (Some(l), None) => format!(" at line {l}"),
            _ => String::new(),
        };
        format!(
            "Jenkins rejects this Jenkinsfile{at}: {}",
            self.message.as_deref().unwrap_or("compile error")
        )
    }
}

/// Refuses an empty or oversized Jenkinsfile.
pub fn check_size(text: &str) -> Result<(), ToolError> {
    if text.trim().is_empty() {
        return Err(ToolError::InvalidInput(
            "`jenkinsfile` is empty: pass the pipeline text (e.g. pipeline { agent any; stages { ... } })".into(),
        ));
    }
    if text.len() > MAX_JENKINSFILE {
        return Err(ToolError::InvalidInput(format!(
            "the Jenkinsfile is {} bytes; at most {MAX_JENKINSFILE} are accepted",
            text.len()
        )));
    }
    Ok(())
}

/// The pipeline whose Jenkins job runs the compile check: `preferred` if
/// given, else the first regular pipeline of the project that Jenkins has
/// (the check does not depend on which pipeline it is, but upstream's
/// route needs an existing Jenkins job).
pub async fn checking_pipeline(
    ctx: &ToolCtx,
    project: &ProjectRef,
    preferred: Option<&str>,
) -> Result<String, ToolError> {
    if let Some(p) = preferred {
        return Ok(p.to_string());
    }
    let page = ctx
        .client
        .list_pipelines(&project.cluster(), &project.name, &ListQuery::default())
        .await?;
    let synced = |p: &&crate::kubesphere::models::Pipeline| {
        p.metadata.annotation(keys::PIPELINE_SYNC_STATUS) == Some("successful")
    };
    page.items
        .iter()
        .filter(synced)
        .find(|p| p.spec.kind == PIPELINE_TYPE_PIPELINE)
        .or_else(|| page.items.iter().find(synced))
        .map(|p| p.metadata.name.clone())
        .ok_or_else(|| {
            ToolError::InvalidInput(format!(
                "{} has no pipeline that Jenkins knows yet, and Jenkins checks a Jenkinsfile inside an existing pipeline: create one first (create_pipeline) and wait until get_pipeline shows it synced, or pass `pipeline`",
                project.describe()
            ))
        })
}

/// Runs `checkScriptCompile` for `text` in `pipeline`'s Jenkins job.
pub async fn check_jenkinsfile(
    ctx: &ToolCtx,
    project: &ProjectRef,
    pipeline: &str,
    text: &str,
) -> Result<JenkinsfileCheck, ToolError> {
    let r = ctx
        .client
        .check_script_compile(&project.cluster(), &project.name, pipeline, text)
        .await
        .map_err(|e| match e {
            KsError::NotFound { .. } => ToolError::InvalidInput(format!(
                "Jenkins has no pipeline {pipeline:?} in {} to check the Jenkinsfile in (not created, or not synced yet: get_pipeline shows the sync status); pass another `pipeline` or retry in a few seconds",
                project.describe()
            )),
            other => other.into(),
        })?;
    if r.ok() {
        return Ok(JenkinsfileCheck {
            valid: true,
            line: None,
            column: None,
            message: None,
            source_line: None,
        });
    }
    let line = (r.line > 0).then_some(r.line);
    let source_line = line
        .and_then(|l| text.lines().nth(l as usize - 1))
        .map(|s| crate::text::cut(s.trim_end(), 200));
    Ok(JenkinsfileCheck {
        valid: false,
        line,
        column: (r.column > 0).then_some(r.column),
        message: Some(crate::text::cut(&r.message, crate::text::MAX_MESSAGE_CHARS)).filter(|m| !m.is_empty()),
        source_line,
    })
}

/// The stage names of a Jenkinsfile, in order (`stage('Name')`).
pub fn stage_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(p) = rest.find("stage") {
        let after = &rest[p + 5..];
        let prev_ok = rest[..p]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let t = after.trim_start();
        if prev_ok && let Some(t) = t.strip_prefix('(') {
            let t = t.trim_start();
            if let Some(q) = t.chars().next().filter(|c| *c == '\'' || *c == '"') {
                let body = &t[1..];
                if let Some(end) = body.find(q) {
                    out.push(body[..end].to_string());
                }
            }
        }
        rest = after;
    }
    out
}

/// Jenkins' verdict on a cron spec.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CronVerdict {
    /// False only when Jenkins cannot parse it; a warning is still accepted by Jenkins.
    pub valid: bool,
    /// `ok`, `warning` or `error` (Jenkins' own word).
    pub result: String,
    pub message: String,
    /// RFC 3339 time it would last have run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<String>,
    /// RFC 3339 time it would next run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_run: Option<String>,
}

/// Jenkins' `checkCron` for `spec`.
pub async fn check_cron(ctx: &ToolCtx, project: &ProjectRef, spec: &str) -> Result<CronVerdict, ToolError> {
    if spec.is_empty() || spec.len() > 1000 {
        return Err(ToolError::InvalidInput(
            "`cron` must be a non-empty Jenkins cron spec of at most 1000 characters, e.g. `H 2 * * 1-5`".into(),
        ));
    }
    let r = ctx.client.check_cron(&project.cluster(), &project.name, spec).await?;
    Ok(CronVerdict {
        valid: r.result == "ok" || r.result == "warning",
        message: crate::text::cut(&r.message, crate::text::MAX_MESSAGE_CHARS),
        result: r.result,
        last_run: r.last_time.filter(|s| !s.is_empty()),
        next_run: r.next_time.filter(|s| !s.is_empty()),
    })
}

/// Test helper: the sim saw only reads, logins and the given check routes.
#[cfg(test)]
pub(crate) fn only_reads_or(sim: &ks_sim::Sim, checks: &[&str]) -> bool {
    sim.requests().iter().all(|r| {
        r.method == "GET" || r.path == "/oauth/token" || checks.iter().any(|c| r.path.ends_with(&format!("/{c}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_in_order() {
        let jf = "pipeline { stages { stage('Build') { steps { echo 'b' } }\n stage (\"Test\") {} stages { stage('Inner') {} } } }";
        assert_eq!(stage_names(jf), ["Build", "Test", "Inner"]);
        assert!(stage_names("node { sh 'make' }").is_empty());
        assert!(stage_names("stages {}").is_empty());
    }
}
