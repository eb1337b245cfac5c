//! `validate_jenkinsfile`: Jenkins' compile check of a Jenkinsfile, and of a
//! timer trigger's cron spec (read-only).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CronVerdict, JenkinsfileCheck, check_cron, check_jenkinsfile, check_size, checking_pipeline};
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};

pub struct ValidateJenkinsfile;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ValidateJenkinsfileInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Jenkinsfile text.
    #[serde(default)]
    pub jenkinsfile: Option<String>,
    /// Timer spec, e.g. `H 2 * * 1-5`.
    #[serde(default)]
    pub cron: Option<String>,
    /// Pipeline to check in (default: any synced one).
    #[serde(default)]
    pub pipeline: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ValidateJenkinsfileOutput {
    pub project: ProjectRef,
    /// True when everything checked is valid.
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jenkinsfile: Option<JenkinsfileCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<CronVerdict>,
    pub next: String,
}

impl ToolDef for ValidateJenkinsfile {
    const NAME: &'static str = "validate_jenkinsfile";
    const TITLE: &'static str = "Validate a Jenkinsfile or cron spec";
    const DESCRIPTION: &'static str = "Has Jenkins compile a Jenkinsfile (Groovy and the declarative model) and/or parse a timer cron spec; saves nothing. Returns the first error with line and column.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "jenkinsfile": "pipeline {\n  agent { label 'go' }\n  stages {\n    stage('Test') {\n      steps { sh 'go test ./...' }\n    }\n  }\n}\n", "cron": "H 2 * * 1-5"}"#;
    const TOOLSET: Toolset = Toolset::Authoring;
    const HINTS: Hints = Hints::READ;
    type Input = ValidateJenkinsfileInput;
    type Output = ValidateJenkinsfileOutput;

    async fn call(ctx: ToolCtx, input: ValidateJenkinsfileInput) -> Result<ValidateJenkinsfileOutput, ToolError> {
        let cron = input.cron.as_deref().map(str::trim);
        if input.jenkinsfile.is_none() && cron.is_none() {
            return Err(ToolError::InvalidInput(
                "pass `jenkinsfile` (the text to check) and/or `cron` (a timer spec)".into(),
            ));
        }
        if let Some(j) = &input.jenkinsfile {
            check_size(j)?;
        }
        if let Some(p) = &input.pipeline {
            crate::kubesphere::path::validate_subdomain("pipeline name", p)?;
        }
        let project = resolve_input(&ctx, &input.scope).await?;
        let jenkinsfile = match &input.jenkinsfile {
            Some(text) => {
                let pipeline = checking_pipeline(&ctx, &project, input.pipeline.as_deref()).await?;
                Some(check_jenkinsfile(&ctx, &project, &pipeline, text).await?)
            }
            None => None,
        };
        let cron = match cron {
            Some(spec) => Some(check_cron(&ctx, &project, spec).await?),
            None => None,
        };
        let valid = jenkinsfile.as_ref().is_none_or(|j| j.valid) && cron.as_ref().is_none_or(|c| c.valid);
        let next = if valid {
            "Valid. Save it with set_jenkinsfile (existing pipeline), create_pipeline (new one) or update_pipeline (timer)."
                .to_string()
        } else {
            "Fix the reported error and validate again; nothing was saved.".to_string()
        };
        Ok(ValidateJenkinsfileOutput {
            project,
            valid,
            jenkinsfile,
            cron,
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn reports_the_first_error_with_its_position() {
        let sim = sim().await;
        let bad = "pipeline {\n  agent any\n  stages {\n    stage('Build') {\n      echo 'x'\n    }\n  }\n}\n";
        let out = call(
            &ctx(&sim),
            "validate_jenkinsfile",
            serde_json::json!({"project": "stone-devops", "jenkinsfile": bad}),
        )
        .await
        .unwrap();
        assert_eq!(out["valid"], false);
        assert_eq!(out["jenkinsfile"]["line"], 5);
        assert_eq!(out["jenkinsfile"]["column"], 7);
        assert_eq!(out["jenkinsfile"]["source_line"], "      echo 'x'");
        assert!(
            out["jenkinsfile"]["message"]
                .as_str()
                .unwrap()
                .contains("Unknown stage section")
        );
        let good =
            "pipeline {\n  agent any\n  stages {\n    stage('Build') {\n      steps { echo 'x' }\n    }\n  }\n}\n";
        let out = call(
            &ctx(&sim),
            "validate_jenkinsfile",
            serde_json::json!({"project": "stone-devops", "jenkinsfile": good, "cron": "H 3 * * *"}),
        )
        .await
        .unwrap();
        assert_eq!(out["valid"], true, "{out}");
        assert_eq!(out["cron"]["result"], "ok");
        assert!(out["cron"]["next_run"].as_str().is_some());
        assert!(crate::mcp::tools::authoring::only_reads_or(
            &sim,
            &["checkScriptCompile", "checkCron"]
        ));
    }

    #[tokio::test]
    async fn bad_cron_and_bad_input() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "validate_jenkinsfile",
            serde_json::json!({"project": "stone-devops", "cron": "0 0 32 * *"}),
        )
        .await
        .unwrap();
        assert_eq!(out["valid"], false);
        assert!(out["cron"]["message"].as_str().unwrap().contains("32"), "{out}");
        let err = call(
            &ctx(&sim),
            "validate_jenkinsfile",
            serde_json::json!({"project": "stone-devops"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "invalid_input");
        // A pipeline Jenkins does not have: a clear error, not "retry later".
        let err = call(
            &ctx(&sim),
            "validate_jenkinsfile",
            serde_json::json!({"project": "stone-devops", "jenkinsfile": "node {}", "pipeline": "ghost"}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("no pipeline \"ghost\""), "{err}");
    }
}
