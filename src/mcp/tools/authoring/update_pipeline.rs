//! `update_pipeline`: changes settings of a pipeline through the v1alpha3
//! PUT, which keeps the Jenkinsfile. Read, merge only the given fields,
//! write; a concurrent change is reported, never retried.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{CronVerdict, check_cron};
use crate::kubesphere::KsError;
use crate::kubesphere::models::PIPELINE_TYPE_MULTI_BRANCH;
use crate::kubesphere::path::validate_subdomain;
use crate::mcp::args::ProjectArgs;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};
use crate::mcp::resolve::{ProjectRef, resolve_input};
use crate::mcp::tools::pipelines::ParameterInput;

pub struct UpdatePipeline;

const UPDATE: Hints = Hints {
    read_only: false,
    destructive: false,
    idempotent: true,
    open_world: false,
};

/// Multi-branch source blocks, one of which a pipeline uses.
const SOURCES: [&str; 4] = [
    "git_source",
    "github_source",
    "gitlab_source",
    "bitbucket_server_source",
];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscarderInput {
    /// Days to keep old runs (omit or -1: no limit).
    #[serde(default)]
    pub days_to_keep: Option<i32>,
    /// Number of old runs to keep (omit or -1: no limit).
    #[serde(default)]
    pub num_to_keep: Option<i32>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct UpdatePipelineInput {
    #[serde(flatten)]
    pub scope: ProjectArgs,
    /// Pipeline to change.
    pub pipeline: String,
    /// New description ("" clears it).
    #[serde(default)]
    pub description: Option<String>,
    /// Regular pipeline: the complete new list of build parameters ([] removes all).
    #[serde(default)]
    pub parameters: Option<Vec<ParameterInput>>,
    /// Regular pipeline: timer trigger cron spec, e.g. `H 2 * * 1-5` (checked by Jenkins first); "" removes the timer.
    #[serde(default)]
    pub timer_cron: Option<String>,
    /// How many old runs to keep.
    #[serde(default)]
    pub discarder: Option<DiscarderInput>,
    /// Regular pipeline: refuse to run two builds at once.
    #[serde(default)]
    pub disable_concurrent: Option<bool>,
    /// Multi-branch: path of the Jenkinsfile in the repository.
    #[serde(default)]
    pub script_path: Option<String>,
    /// Multi-branch with a plain git source: discover branches.
    #[serde(default)]
    pub discover_branches: Option<bool>,
    /// Multi-branch: discover tags.
    #[serde(default)]
    pub discover_tags: Option<bool>,
    /// Multi-branch: id of the credential used to reach the repository (list_credentials).
    #[serde(default)]
    pub credential_id: Option<String>,
}

/// One changed setting.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Change {
    /// Setting name, as in the input.
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct UpdatePipelineOutput {
    pub project: ProjectRef,
    pub pipeline: String,
    /// The settings that changed (empty: nothing to change, nothing sent).
    pub changed: Vec<Change>,
    /// Jenkins' verdict on `timer_cron`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<CronVerdict>,
    pub next: String,
}

impl UpdatePipelineInput {
    fn nothing_given(&self) -> bool {
        self.description.is_none()
            && self.parameters.is_none()
            && self.timer_cron.is_none()
            && self.discarder.is_none()
            && self.disable_concurrent.is_none()
            && self.script_path.is_none()
            && self.discover_branches.is_none()
            && self.discover_tags.is_none()
            && self.credential_id.is_none()
    }
}

fn set(obj: &mut serde_json::Map<String, Value>, key: &str, v: Option<Value>) {
    match v {
        Some(v) => {
            obj.insert(key.to_string(), v);
        }
        None => {
            obj.remove(key);
        }
    }
}

/// Applies the input to the pipeline's spec block; returns the changes.
fn merge(
    input: &UpdatePipelineInput,
    multi: bool,
    spec: &mut serde_json::Map<String, Value>,
) -> Result<Vec<Change>, ToolError> {
    let mut changes = Vec::new();
    let mut change = |spec: &mut serde_json::Map<String, Value>, field: &str, key: &str, v: Option<Value>| {
        let before = spec.get(key).cloned();
        if before != v {
            set(spec, key, v.clone());
            changes.push(Change {
                field: field.into(),
                before,
                after: v,
            });
        }
    };
    if let Some(d) = &input.description {
        change(
            spec,
            "description",
            "description",
            Some(json!(d)).filter(|_| !d.is_empty()),
        );
    }
    if let Some(d) = &input.discarder {
        let s = |n: Option<i32>| json!(n.unwrap_or(-1).to_string());
        change(
            spec,
            "discarder",
            "discarder",
            Some(json!({"days_to_keep": s(d.days_to_keep), "num_to_keep": s(d.num_to_keep)})),
        );
    }
    if !multi {
        if let Some(ps) = &input.parameters {
            let mut seen = std::collections::BTreeSet::new();
            for p in ps {
                if p.name.trim().is_empty() || !seen.insert(p.name.as_str()) {
                    return Err(ToolError::InvalidInput(format!(
                        "parameter names must be non-empty and distinct (got {:?})",
                        p.name
                    )));
                }
            }
            let list: Vec<Value> = ps
                .iter()
                .map(|p| {
                    let mut v = json!({"name": p.name, "type": p.kind.upstream()});
                    if let Some(d) = &p.default_value {
                        v["default_value"] = json!(d);
                    }
                    if let Some(d) = p.description.as_ref().filter(|d| !d.is_empty()) {
                        v["description"] = json!(d);
                    }
                    v
                })
                .collect();
            change(
                spec,
                "parameters",
                "parameters",
                Some(Value::Array(list)).filter(|_| !ps.is_empty()),
            );
        }
        if let Some(c) = &input.timer_cron {
            let c = c.trim();
            change(
                spec,
                "timer_cron",
                "timer_trigger",
                (!c.is_empty()).then(|| json!({"cron": c})),
            );
        }
        if let Some(b) = input.disable_concurrent {
            change(
                spec,
                "disable_concurrent",
                "disable_concurrent",
                b.then_some(json!(true)),
            );
        }
        return Ok(changes);
    }
    if let Some(p) = &input.script_path {
        change(spec, "script_path", "script_path", Some(json!(p)));
    }
    let source = SOURCES
        .iter()
        .find(|s| spec.get(**s).is_some_and(Value::is_object))
        .map(|s| s.to_string());
    if input.discover_branches.is_some() || input.discover_tags.is_some() || input.credential_id.is_some() {
        let Some(source) = source else {
            return Err(ToolError::InvalidInput(
                "this multi-branch pipeline has no git/github/gitlab/bitbucket source to change; nothing was written"
                    .into(),
            ));
        };
        let mut src = spec
            .get(&source)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut inner = Vec::new();
        let mut sub = |src: &mut serde_json::Map<String, Value>, field: &str, v: Value| {
            let before = src.get(field).cloned();
            if before.as_ref() != Some(&v) {
                src.insert(field.into(), v.clone());
                inner.push(Change {
                    field: field.into(),
                    before,
                    after: Some(v),
                });
            }
        };
        if let Some(b) = input.discover_branches {
            if source != "git_source" {
                return Err(ToolError::InvalidInput(format!(
                    "`discover_branches` is a yes/no setting of plain git sources only; this pipeline uses {source} (its branch discovery strategy is set in the KubeSphere console). Nothing was written."
                )));
            }
            sub(&mut src, "discover_branches", json!(b));
        }
        if let Some(b) = input.discover_tags {
            sub(&mut src, "discover_tags", json!(b));
        }
        if let Some(c) = &input.credential_id {
            sub(&mut src, "credential_id", json!(c));
        }
        spec.insert(source, Value::Object(src));
        changes.extend(inner);
    }
    Ok(changes)
}

impl ToolDef for UpdatePipeline {
    const NAME: &'static str = "update_pipeline";
    const TITLE: &'static str = "Change a pipeline's settings";
    const DESCRIPTION: &'static str = "Changes only the given settings of a pipeline, keeping everything else and its Jenkinsfile: description, build parameters, timer cron (checked by Jenkins first), run retention, concurrent builds; for multi-branch: script path, branch/tag discovery, repository credential. Returns what changed. Use set_jenkinsfile for the Jenkinsfile. Confirm the change with the user first.";
    const EXAMPLE: &'static str = r#"{"project": "stone-devops", "pipeline": "hello", "description": "says hello every night", "timer_cron": "H 2 * * *"}"#;
    const TOOLSET: Toolset = Toolset::Authoring;
    const HINTS: Hints = UPDATE;
    const CHECK: &'static str = "get_pipeline";
    type Input = UpdatePipelineInput;
    type Output = UpdatePipelineOutput;

    async fn call(ctx: ToolCtx, input: UpdatePipelineInput) -> Result<UpdatePipelineOutput, ToolError> {
        validate_subdomain("pipeline name", &input.pipeline)?;
        if input.nothing_given() {
            return Err(ToolError::InvalidInput(
                "name at least one setting to change (description, parameters, timer_cron, discarder, disable_concurrent, script_path, discover_branches, discover_tags, credential_id)".into(),
            ));
        }
        if let Some(c) = &input.credential_id {
            validate_subdomain("credential id", c)?;
        }
        if let Some(p) = &input.script_path
            && (p.trim().is_empty() || p.len() > 1024 || p.contains(".."))
        {
            return Err(ToolError::InvalidInput(
                "`script_path` must be a relative path in the repository such as Jenkinsfile or ci/Jenkinsfile".into(),
            ));
        }
        let project = resolve_input(&ctx, &input.scope).await?;
        let cluster = project.cluster();
        let mut object = ctx
            .client
            .get_pipeline_object(&cluster, &project.name, &input.pipeline)
            .await?;
        let multi = object.pointer("/spec/type").and_then(Value::as_str) == Some(PIPELINE_TYPE_MULTI_BRANCH);
        let wrong: Vec<&str> = if multi {
            [
                ("parameters", input.parameters.is_some()),
                ("timer_cron", input.timer_cron.is_some()),
                ("disable_concurrent", input.disable_concurrent.is_some()),
            ]
            .into_iter()
            .filter_map(|(n, given)| given.then_some(n))
            .collect()
        } else {
            [
                ("script_path", input.script_path.is_some()),
                ("discover_branches", input.discover_branches.is_some()),
                ("discover_tags", input.discover_tags.is_some()),
                ("credential_id", input.credential_id.is_some()),
            ]
            .into_iter()
            .filter_map(|(n, given)| given.then_some(n))
            .collect()
        };
        if !wrong.is_empty() {
            return Err(ToolError::InvalidInput(format!(
                "{} only apply to {} pipelines; {:?} is {}. Nothing was written.",
                wrong.join(", "),
                if multi { "regular" } else { "multi-branch" },
                input.pipeline,
                if multi { "multi-branch" } else { "a regular pipeline" }
            )));
        }
        // The cron first: an invalid one changes nothing.
        let cron = match input.timer_cron.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(spec) => {
                let v = check_cron(&ctx, &project, spec).await?;
                if !v.valid {
                    return Err(ToolError::InvalidInput(format!(
                        "Jenkins rejects the cron spec {spec:?}: {}. Nothing was written.",
                        v.message
                    )));
                }
                Some(v)
            }
            None => None,
        };
        let block = if multi { "multi_branch_pipeline" } else { "pipeline" };
        let Some(spec) = object
            .get_mut("spec")
            .and_then(Value::as_object_mut)
            .and_then(|s| s.get_mut(block))
            .and_then(Value::as_object_mut)
        else {
            return Err(ToolError::Ks(KsError::InvalidResponse {
                path: format!("pipeline {}", input.pipeline),
                reason: format!("the pipeline has no spec.{block}"),
            }));
        };
        let changed = merge(&input, multi, spec)?;
        if changed.is_empty() {
            return Ok(UpdatePipelineOutput {
                project,
                pipeline: input.pipeline,
                changed,
                cron,
                next: "Nothing to change: the pipeline already has these settings.".into(),
            });
        }
        ctx.client
            .update_pipeline_object(&cluster, &project.name, &input.pipeline, &object)
            .await
            .map_err(|e| match e {
                KsError::Conflict { path, message } => ToolError::Ks(KsError::Conflict {
                    path,
                    message: format!(
                        "{message}. The pipeline changed while it was being updated; nothing of this call was applied. Read it again (get_pipeline) and ask the user before calling again"
                    ),
                }),
                other => other.into(),
            })?;
        Ok(UpdatePipelineOutput {
            project,
            next: "Saved. get_pipeline shows the settings; the Jenkinsfile is unchanged.".into(),
            pipeline: input.pipeline,
            changed,
            cron,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::kubesphere::Cluster;
    use crate::testing::{call, client, ctx, sim};

    /// The object without what a write legitimately changes.
    fn stable(mut v: Value) -> Value {
        for k in ["resourceVersion", "generation"] {
            v["metadata"].as_object_mut().unwrap().remove(k);
        }
        v
    }

    #[tokio::test]
    async fn changes_only_the_given_field() {
        let sim = sim().await;
        let kc = client(&sim, "tenant");
        let before = kc
            .get_pipeline_object(&Cluster::Host, "stone-devops", "hello")
            .await
            .unwrap();
        let out = call(
            &ctx(&sim),
            "update_pipeline",
            json!({"project": "stone-devops", "pipeline": "hello", "description": "says hello twice"}),
        )
        .await
        .unwrap();
        assert_eq!(out["changed"][0]["field"], "description");
        assert_eq!(out["changed"][0]["before"], "says hello");
        let after = kc
            .get_pipeline_object(&Cluster::Host, "stone-devops", "hello")
            .await
            .unwrap();
        let mut expected = stable(before.clone());
        expected["spec"]["pipeline"]["description"] = json!("says hello twice");
        assert_eq!(stable(after.clone()), expected);

        // A timer: checked by Jenkins first, stored as timer_trigger.cron.
        let out = call(
            &ctx(&sim),
            "update_pipeline",
            json!({"project": "stone-devops", "pipeline": "hello", "timer_cron": "H 4 * * *"}),
        )
        .await
        .unwrap();
        assert_eq!(out["cron"]["result"], "ok");
        let after2 = kc
            .get_pipeline_object(&Cluster::Host, "stone-devops", "hello")
            .await
            .unwrap();
        assert_eq!(
            after2["spec"]["pipeline"]["timer_trigger"],
            json!({"cron": "H 4 * * *"})
        );
        assert_eq!(
            after2["spec"]["pipeline"]["jenkinsfile"],
            before["spec"]["pipeline"]["jenkinsfile"]
        );
        assert_eq!(
            after2["spec"]["pipeline"]["discarder"],
            before["spec"]["pipeline"]["discarder"]
        );
    }

    #[tokio::test]
    async fn invalid_cron_and_wrong_fields_write_nothing() {
        let sim = sim().await;
        for args in [
            json!({"project": "stone-devops", "pipeline": "hello", "timer_cron": "0 0 30 2 8"}),
            json!({"project": "stone-devops", "pipeline": "hello", "script_path": "ci/Jenkinsfile"}),
            json!({"project": "stone-devops", "pipeline": "echo-pipeline", "timer_cron": "H * * * *"}),
            json!({"project": "stone-devops", "pipeline": "hello"}),
        ] {
            let err = call(&ctx(&sim), "update_pipeline", args.clone()).await.unwrap_err();
            assert_eq!(err.kind(), "invalid_input", "{args}: {err}");
        }
        assert!(!sim.requests().iter().any(|r| r.method == "PUT"));
    }

    #[tokio::test]
    async fn multibranch_settings() {
        let sim = sim().await;
        let out = call(
            &ctx(&sim),
            "update_pipeline",
            json!({"project": "stone-devops", "pipeline": "echo-pipeline", "script_path": "ci/Jenkinsfile", "discover_tags": true}),
        )
        .await
        .unwrap();
        let fields: Vec<&str> = out["changed"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["field"].as_str())
            .collect();
        assert_eq!(fields, ["script_path", "discover_tags"]);
        let after = client(&sim, "tenant")
            .get_pipeline_object(&Cluster::Host, "stone-devops", "echo-pipeline")
            .await
            .unwrap();
        let mb = &after["spec"]["multi_branch_pipeline"];
        assert_eq!(mb["script_path"], "ci/Jenkinsfile");
        assert_eq!(mb["git_source"]["discover_tags"], true);
        assert_eq!(mb["git_source"]["credential_id"], "github-token");
    }

    #[tokio::test]
    async fn a_lost_race_is_reported_not_retried() {
        let sim = sim().await;
        sim.inject(ks_sim::Fault {
            method: Some("PUT".into()),
            path_contains: "/pipelines/hello".into(),
            kind: ks_sim::FaultKind::Status {
                code: 400,
                // ks-devops `errorHandle` writes the API server's 409 as 400.
                body: "Operation cannot be fulfilled on pipelines.devops.kubesphere.io \"hello\": the object has been modified; please apply your changes to the latest version and try again\n".into(),
                content_type: "text/plain; charset=utf-8".into(),
            },
            times: 1,
        });
        let err = call(
            &ctx(&sim),
            "update_pipeline",
            json!({"project": "stone-devops", "pipeline": "hello", "description": "x"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "conflict", "{err}");
        assert!(err.to_string().contains("get_pipeline"), "{err}");
        assert_eq!(sim.requests().iter().filter(|r| r.method == "PUT").count(), 1);
    }
}
