//! `set_jenkinsfile`: replaces a regular pipeline's Jenkinsfile, validated
//! by Jenkins first (v1alpha3 `PUT …/jenkinsfile?mode=raw`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{check_jenkinsfile, check_size, stage_names};
use crate::kubesphere::models::PIPELINE_TYPE_MULTI_BRANCH;
use crate::kubesphere::path::validate_subdomain;
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct SetJenkinsfile;

/// Longest previous Jenkinsfile returned in the result.
const MAX_PREVIOUS: usize = 64 * 1024;

/// A write that changes an object in place: not destructive (the previous
/// text is returned), same result when repeated.
const UPDATE: Hints = Hints {
    read_only: false,
    destructive: false,
    idempotent: true,
    open_world: false,
};

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct SetJenkinsfileInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// A regular pipeline.
    pub pipeline: String,
    /// The whole new Jenkinsfile.
    pub jenkinsfile: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SetJenkinsfileOutput {
    pub project: ProjectRef,
    pub pipeline: String,
    /// False when the text was already the pipeline's Jenkinsfile (nothing sent).
    pub written: bool,
    pub stages_before: Vec<String>,
    pub stages_after: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages_added: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages_removed: Vec<String>,
    pub lines_before: usize,
    pub lines_after: usize,
    /// The replaced Jenkinsfile (cut at 64 KiB), to restore it with set_jenkinsfile if needed.
    pub previous_jenkinsfile: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub previous_truncated: bool,
    pub next: String,
}

impl ToolDef for SetJenkinsfile {
    const NAME: &'static str = "set_jenkinsfile";
    const TITLE: &'static str = "Replace a pipeline's Jenkinsfile";
    const DESCRIPTION: &'static str = "Replaces a regular pipeline's Jenkinsfile once Jenkins compiled it (an invalid one is never written; the error has line and column). Returns stages added/removed and the previous text; the next run uses it. Confirm with the user first.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "pipeline": "hello", "jenkinsfile": "pipeline {\n  agent any\n  stages {\n    stage('Hello') {\n      steps { echo 'hello' }\n    }\n    stage('Lint') {\n      steps { sh 'echo linting' }\n    }\n  }\n}\n"}"#;
    const TOOLSET: Toolset = Toolset::Authoring;
    const HINTS: Hints = UPDATE;
    const CHECK: &'static str = "get_pipeline";
    type Input = SetJenkinsfileInput;
    type Output = SetJenkinsfileOutput;

    async fn call(ctx: ToolCtx, input: SetJenkinsfileInput) -> Result<SetJenkinsfileOutput, ToolError> {
        validate_subdomain("pipeline name", &input.pipeline)?;
        check_size(&input.jenkinsfile)?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let current = ctx
            .client
            .get_pipeline(&cluster, &project.name, &input.pipeline)
            .await?;
        if current.spec.kind == PIPELINE_TYPE_MULTI_BRANCH || current.spec.pipeline.is_none() {
            return Err(ToolError::InvalidInput(format!(
                "{:?} is a multi-branch pipeline: its Jenkinsfile is read from each branch of the repository (script path {:?}); change it there. Nothing was written.",
                input.pipeline,
                current
                    .spec
                    .multi_branch_pipeline
                    .as_ref()
                    .and_then(|m| m.script_path.clone())
                    .unwrap_or_else(|| "Jenkinsfile".into())
            )));
        }
        let previous = current
            .spec
            .pipeline
            .as_ref()
            .and_then(|p| p.jenkinsfile.clone())
            .unwrap_or_default();
        let check = check_jenkinsfile(&ctx, &project, &input.pipeline, &input.jenkinsfile).await?;
        if !check.valid {
            let mut msg = format!("{}. Nothing was written.", check.describe());
            if let Some(l) = &check.source_line {
                msg.push_str(&format!(" The line reads: {l:?}"));
            }
            return Err(ToolError::InvalidInput(msg));
        }
        let written = previous != input.jenkinsfile;
        if written {
            ctx.client
                .set_jenkinsfile(&cluster, &project.name, &input.pipeline, &input.jenkinsfile)
                .await?;
        }
        let before = stage_names(&previous);
        let after = stage_names(&input.jenkinsfile);
        let (previous_jenkinsfile, previous_truncated) = if previous.len() > MAX_PREVIOUS {
            let mut end = MAX_PREVIOUS;
            while !previous.is_char_boundary(end) {
                end -= 1;
            }
            (previous[..end].to_string(), true)
        } else {
            (previous.clone(), false)
        };
        Ok(SetJenkinsfileOutput {
            stages_added: after.iter().filter(|s| !before.contains(s)).cloned().collect(),
            stages_removed: before.iter().filter(|s| !after.contains(s)).cloned().collect(),
            lines_before: previous.lines().count(),
            lines_after: input.jenkinsfile.lines().count(),
            stages_before: before,
            stages_after: after,
            previous_jenkinsfile,
            previous_truncated,
            written,
            next: if written {
                format!(
                    "Saved. The next run uses it: trigger_run (pipeline {:?}). To undo, call set_jenkinsfile with previous_jenkinsfile.",
                    input.pipeline
                )
            } else {
                "Unchanged: that text already is the pipeline's Jenkinsfile.".into()
            },
            pipeline: input.pipeline,
            project,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::kubesphere::Cluster;
    use crate::testing::{call, client, ctx, sim};

    const NEW: &str = "pipeline {\n  agent any\n  stages {\n    stage('Hello') {\n      steps {\n        echo 'hello'\n      }\n    }\n    stage('Lint') {\n      steps {\n        sh 'echo linting'\n      }\n    }\n  }\n}\n";

    #[tokio::test]
    async fn invalid_is_never_written_valid_is_and_runs() {
        let sim = sim().await;
        let c = ctx(&sim);
        let before = client(&sim, "tenant")
            .get_pipeline_object(&Cluster::Host, "stone-devops", "hello")
            .await
            .unwrap();
        let bad = "pipeline {\n  agent any\n  stages {\n    stage('Hello') {\n      steps { echo 'x' }\n  }\n}\n";
        let err = call(
            &c,
            "set_jenkinsfile",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello", "jenkinsfile": bad}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "invalid_input");
        assert!(err.to_string().contains("line 8"), "{err}");
        assert!(err.to_string().contains("Nothing was written"), "{err}");
        assert!(!sim.requests().iter().any(|r| r.method == "PUT"));
        let after = client(&sim, "tenant")
            .get_pipeline_object(&Cluster::Host, "stone-devops", "hello")
            .await
            .unwrap();
        assert_eq!(before, after);

        let out = call(
            &c,
            "set_jenkinsfile",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello", "jenkinsfile": NEW}),
        )
        .await
        .unwrap();
        assert_eq!(out["written"], true);
        assert_eq!(out["stages_added"], serde_json::json!(["Lint"]));
        assert_eq!(out["stages_before"], serde_json::json!(["Hello"]));
        assert!(out["previous_jenkinsfile"].as_str().unwrap().contains("echo 'hello'"));
        assert_eq!(out["lines_after"], 15);
        let p = client(&sim, "tenant")
            .get_pipeline(&Cluster::Host, "stone-devops", "hello")
            .await
            .unwrap();
        assert_eq!(p.spec.pipeline.unwrap().jenkinsfile.as_deref(), Some(NEW));
        // The next run follows the new Jenkinsfile's stages.
        let run = call(
            &c,
            "trigger_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello"}),
        )
        .await
        .unwrap();
        let name = run["run"]["name"].as_str().expect("run name").to_string();
        let done = call(
            &c,
            "wait_for_run",
            serde_json::json!({"project": "stone-devops", "name": name, "timeout_seconds": 30, "poll_seconds": 1}),
        )
        .await
        .unwrap();
        assert_eq!(done["run"]["result"], "SUCCESS", "{done}");
        let log = call(
            &c,
            "get_run_log",
            serde_json::json!({"project": "stone-devops", "name": name, "node": "Lint"}),
        )
        .await
        .unwrap();
        assert!(log.to_string().contains("linting"), "{log}");
        // The same text again writes nothing.
        let again = call(
            &c,
            "set_jenkinsfile",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello", "jenkinsfile": NEW}),
        )
        .await
        .unwrap();
        assert_eq!(again["written"], false);
    }

    #[tokio::test]
    async fn multibranch_is_refused() {
        let sim = sim().await;
        let err = call(
            &ctx(&sim),
            "set_jenkinsfile",
            serde_json::json!({"project": "stone-devops", "pipeline": "echo-pipeline", "jenkinsfile": NEW}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("multi-branch"), "{err}");
        assert!(crate::testing::only_reads(&sim));
    }
}
