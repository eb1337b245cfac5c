//! `approve_input`: proceed or abort a run paused at an `input` step
//! (v1alpha2). Irreversible; needs the user's confirmation.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::logs::BlueRunRef;
use crate::kubesphere::models::NameValue;
use crate::kubesphere::runs::InputReply;
use crate::mcp::args::{ProjectArgs, RunArgs};
use crate::mcp::confirm::{ConfirmedBy, Target, confirm};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::nodes::nodes_of;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::runlocate::{find_run_on_branch, parse_branch};
use crate::mcp::runview::RunView;

use super::{PendingInput, pending_inputs};
use crate::mcp::runlocate::{ActiveRun, active_run};

pub struct ApproveInput;

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InputAction {
    /// Continue the pipeline.
    #[default]
    Proceed,
    /// Stop the run at this step (it ends ABORTED).
    Abort,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ApproveInputInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    #[serde(flatten)]
    pub run: RunArgs,
    /// proceed or abort, as the user decided.
    pub action: InputAction,
    /// Values for the input step's parameters, if it asks for any.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// Id of the input to answer when the run waits on several (see `pending` in an error).
    #[serde(default)]
    pub input_id: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ApproveInputOutput {
    pub project: ProjectRef,
    pub action: InputAction,
    pub input: PendingInput,
    /// The run afterwards.
    pub run: RunView,
    pub confirmed_by: ConfirmedBy,
}

impl ToolDef for ApproveInput {
    const NAME: &'static str = "approve_input";
    const TITLE: &'static str = "Answer a paused input step";
    const DESCRIPTION: &'static str = "Proceeds past, or aborts at, the `input` step a run is paused on (state PAUSED). Only with the user's decision: the server shows the user the exact step and asks to confirm (MCP elicitation); clients without elicitation get a refusal. KubeSphere may refuse if the step names other submitters.";
    const EXAMPLE: &'static str =
        r#"{"project": "stone-devops", "pipeline": "release-gate", "run_id": "1", "action": "proceed"}"#;
    const TOOLSET: Toolset = Toolset::Runs;
    const HINTS: Hints = Hints {
        read_only: false,
        destructive: true,
        idempotent: false,
        open_world: false,
    };
    const CHECK: &'static str = "get_run";
    type Input = ApproveInputInput;
    type Output = ApproveInputOutput;

    async fn call(ctx: ToolCtx, input: ApproveInputInput) -> Result<ApproveInputOutput, ToolError> {
        let branch = parse_branch(input.run.branch.as_deref())?;
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let read = || async {
            let run = active_run(
                &ctx,
                &project,
                input.run.name.as_deref(),
                input.run.pipeline.as_deref(),
                input.run.run_id.as_deref(),
                branch.as_ref(),
                "approve",
            )
            .await?;
            let pending = pending_input(&ctx, &project, &run, input.input_id.as_deref()).await?;
            Ok::<_, ToolError>((run, pending))
        };
        let (verb, consequence) = match input.action {
            InputAction::Proceed => ("Proceed past", "The pipeline continues with its next steps."),
            InputAction::Abort => ("Abort at", "The run ends ABORTED and cannot be resumed."),
        };
        let describe = |(run, p): &(ActiveRun, PendingInput)| Target {
            description: format!(
                "the input step \"{}\"{} of {} in {}",
                p.message.as_deref().unwrap_or("?"),
                p.stage.as_deref().map(|s| format!(" (stage {s})")).unwrap_or_default(),
                run.describe(),
                project.describe()
            ),
            fingerprint: format!("input {} of run #{} waiting", p.input_id, run.run_id),
        };
        let ((run, pending), confirmed_by) = confirm(&ctx, Self::NAME, verb, consequence, read, describe).await?;
        let params: Vec<NameValue> = input
            .parameters
            .iter()
            .map(|(k, v)| NameValue {
                name: k.clone(),
                value: v.clone(),
            })
            .collect();
        let reply = ctx
            .client
            .submit_input(
                &cluster,
                &BlueRunRef::new(&project.name, &run.pipeline, run.run.branch.as_ref(), &run.run_id),
                crate::kubesphere::runs::InputStep {
                    node: &pending.node_id,
                    step: &pending.step_id,
                    input_id: &pending.input_id,
                },
                input.action == InputAction::Proceed,
                &params,
            )
            .await?;
        if let InputReply::NoPermission(msg) = reply {
            return Err(ToolError::Refused(format!(
                "KubeSphere refused the answer: {msg}. Nothing changed; the run still waits.{} Someone allowed to approve must answer it (in the console or with their own identity).",
                pending
                    .submitter
                    .as_deref()
                    .map(|s| format!(" Allowed submitters: {s}."))
                    .unwrap_or_default()
            )));
        }
        let after = find_run_on_branch(
            &ctx,
            &project,
            run.run.name.as_deref(),
            Some(&run.pipeline),
            Some(&run.run_id),
            run.run.branch.as_ref(),
        )
        .await
        .unwrap_or(run.run);
        Ok(ApproveInputOutput {
            project,
            action: input.action,
            input: pending,
            run: after,
            confirmed_by,
        })
    }
}

async fn pending_input(
    ctx: &ToolCtx,
    project: &ProjectRef,
    run: &ActiveRun,
    wanted: Option<&str>,
) -> Result<PendingInput, ToolError> {
    let blue = BlueRunRef {
        namespace: project.name.clone(),
        pipeline: run.pipeline.clone(),
        branch: run.run.branch.clone(),
        run_id: run.run_id.clone(),
    };
    let nodes = nodes_of(ctx, &project.cluster(), &blue, run.run.name.as_deref()).await?;
    let mut pending = pending_inputs(&nodes);
    match (pending.len(), wanted) {
        (0, _) => Err(ToolError::InvalidInput(format!(
            "{} is not waiting for input; nothing to answer",
            run.describe()
        ))),
        (_, Some(id)) => pending
            .into_iter()
            .find(|p| p.input_id == id)
            .ok_or_else(|| ToolError::InvalidInput(format!("{} has no pending input {id:?}", run.describe()))),
        (1, None) => Ok(pending.remove(0)),
        (_, None) => Err(ToolError::InvalidInput(format!(
            "{} waits on several inputs: {}. Ask the user which one, then pass input_id.",
            run.describe(),
            pending
                .iter()
                .map(|p| format!("{} ({})", p.input_id, p.message.as_deref().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {

    use std::time::Duration;

    use crate::kubesphere::Cluster;
    use crate::kubesphere::models::{NoScmPipeline, ObjectMeta, Pipeline, PipelineSpec};
    use crate::mcp::ToolCtx;
    use crate::testing::{call, client, ctx, sim};

    const JF: &str = "pipeline {\n agent any\n stages {\n  stage('Build') { steps { echo 'built' } }\n  stage('Deploy') { steps {\n   input message: 'Deploy to prod?', submitter: 'alice'\n   echo 'deployed'\n  } }\n }\n}\n";

    async fn paused_run(c: &ToolCtx, pipeline: &str) -> String {
        let out = call(
            c,
            "trigger_run",
            serde_json::json!({"project": "stone-devops", "pipeline": pipeline}),
        )
        .await
        .unwrap();
        let name = out["run"]["name"].as_str().unwrap().to_string();
        for _ in 0..200 {
            let r = call(
                c,
                "get_run",
                serde_json::json!({"project": "stone-devops", "name": name}),
            )
            .await
            .unwrap();
            if r["run"]["state"] == "PAUSED" {
                return name;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("run never paused");
    }

    async fn wait_finished(c: &ToolCtx, name: &str) -> serde_json::Value {
        for _ in 0..200 {
            let r = call(
                c,
                "get_run",
                serde_json::json!({"project": "stone-devops", "name": name}),
            )
            .await
            .unwrap();
            if r["run"]["finished"] == true {
                return r["run"].clone();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("run never finished");
    }

    #[tokio::test]
    async fn proceed_and_abort_with_the_operator_flag_and_refusal_without() {
        let sim = sim().await;
        let c = crate::testing::ctx_unconfirmed(&sim);
        call(
            &c,
            "create_pipeline",
            serde_json::json!({"project": "stone-devops", "name": "gated", "jenkinsfile": JF}),
        )
        .await
        .unwrap();
        let name = paused_run(&c, "gated").await;
        let err = call(
            &ctx(&sim),
            "approve_input",
            serde_json::json!({"project": "stone-devops", "name": name, "action": "proceed"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "confirmation_required");
        assert!(err.to_string().contains("Deploy to prod?"), "{err}");

        let out = call(
            &c,
            "approve_input",
            serde_json::json!({"project": "stone-devops", "name": name, "action": "proceed"}),
        )
        .await
        .unwrap();
        assert_eq!(out["input"]["message"], "Deploy to prod?");
        assert_eq!(out["input"]["stage"], "Deploy");
        assert_eq!(wait_finished(&c, &name).await["result"], "SUCCESS");

        let name = paused_run(&c, "gated").await;
        call(
            &c,
            "approve_input",
            serde_json::json!({"project": "stone-devops", "name": name, "action": "abort"}),
        )
        .await
        .unwrap();
        assert_eq!(wait_finished(&c, &name).await["result"], "ABORTED");
    }

    #[tokio::test]
    async fn upstream_no_permission_on_http_200_is_a_failure() {
        let sim = sim().await;
        let c = crate::testing::ctx_unconfirmed(&sim);
        // Created without a creator annotation, so only `alice` may approve.
        let p = Pipeline {
            metadata: ObjectMeta {
                name: "gated-other".into(),
                ..Default::default()
            },
            spec: PipelineSpec {
                kind: "pipeline".into(),
                pipeline: Some(NoScmPipeline {
                    name: "gated-other".into(),
                    jenkinsfile: Some(JF.into()),
                    ..Default::default()
                }),
                multi_branch_pipeline: None,
            },
        };
        client(&sim, "tenant")
            .create_pipeline(&Cluster::Host, "stone-devops", &p)
            .await
            .unwrap();
        let name = paused_run(&c, "gated-other").await;
        let err = call(
            &c,
            "approve_input",
            serde_json::json!({"project": "stone-devops", "name": name, "action": "proceed"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "refused");
        assert!(
            err.to_string().contains("no permission") && err.to_string().contains("alice"),
            "{err}"
        );
        let r = call(
            &c,
            "get_run",
            serde_json::json!({"project": "stone-devops", "name": name}),
        )
        .await
        .unwrap();
        assert_eq!(r["run"]["state"], "PAUSED");
    }

    /// U1: upstream refuses `"parameters":[]` (500 `parameters is required`).
    #[tokio::test]
    async fn an_input_without_parameters_is_approved() {
        let sim = sim().await;
        let c = crate::testing::ctx_unconfirmed(&sim);
        // Seeded: release-gate run 1 waits at an input without parameters.
        let out = call(
            &c,
            "approve_input",
            serde_json::json!({"project": "stone-devops", "pipeline": "release-gate", "run_id": "1", "action": "proceed"}),
        )
        .await
        .unwrap();
        assert_eq!(out["input"]["message"], "Release 1.4.2 to production?");
        assert_eq!(out["input"]["stage"], "Approve");
        let name = out["run"]["name"].as_str().unwrap().to_string();
        assert_eq!(wait_finished(&c, &name).await["result"], "SUCCESS");
        let submitted: Vec<_> = sim
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.contains("/steps/"))
            .collect();
        assert_eq!(submitted.len(), 1, "sent once: {submitted:?}");
    }

    /// U5: Jenkins' 400 arrives as a 500; it is a definite refusal, not a
    /// write of unknown outcome.
    #[tokio::test]
    async fn a_parameter_jenkins_rejects_is_a_clear_refusal() {
        let sim = sim().await;
        let c = crate::testing::ctx_unconfirmed(&sim);
        let err = call(
            &c,
            "approve_input",
            serde_json::json!({"project": "stone-devops", "pipeline": "release-gate", "run_id": "1", "action": "proceed", "parameters": {"TARGET": "prod"}}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "bad_request", "{err}");
        let text = err.to_string();
        assert!(text.contains("No such parameter definition: TARGET"), "{text}");
        assert!(!text.contains("may or may not"), "{text}");
        let r = call(
            &c,
            "get_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "release-gate", "run_id": "1"}),
        )
        .await
        .unwrap();
        assert_eq!(r["run"]["state"], "PAUSED");
    }

    #[tokio::test]
    async fn a_run_not_waiting_is_refused_clearly() {
        let sim = sim().await;
        let c = crate::testing::ctx_unconfirmed(&sim);
        let out = call(
            &c,
            "trigger_run",
            serde_json::json!({"project": "stone-devops", "pipeline": "hello"}),
        )
        .await
        .unwrap();
        let name = out["run"]["name"].as_str().unwrap().to_string();
        wait_finished(&c, &name).await;
        let err = call(
            &c,
            "approve_input",
            serde_json::json!({"project": "stone-devops", "name": name, "action": "proceed"}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("already finished"), "{err}");
    }
}
