//! `--write-check PROJECT`: creates a throw-away pipeline, runs it once and
//! deletes it. Nothing is retried blindly: a create whose outcome is unknown
//! is reported with the read that checks it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::tenancy::SeenProject;
use super::{Advice, Check, Step, advice};
use crate::kubesphere::models::{NoScmPipeline, ObjectMeta, PIPELINE_TYPE_PIPELINE, Pipeline, PipelineSpec, keys};
use crate::kubesphere::{KsClient, KsError};

const JENKINSFILE: &str = "pipeline {\n  agent any\n  stages {\n    stage('Doctor') {\n      steps {\n        echo 'ks-devops-mcp doctor write check'\n      }\n    }\n  }\n}\n";
const SYNC_WAIT: Duration = Duration::from_secs(60);
const RUN_WAIT: Duration = Duration::from_secs(180);

pub(super) async fn run(client: &KsClient, wanted: &str, seen: &[SeenProject]) -> Vec<Check> {
    let mut out = Vec::new();
    let step = Step::start("write project", format!("Write check in {wanted}"));
    let hits: Vec<&SeenProject> = {
        let exact: Vec<&SeenProject> = seen.iter().filter(|p| p.name == wanted).collect();
        if exact.is_empty() {
            seen.iter()
                .filter(|p| p.short_name.as_deref() == Some(wanted))
                .collect()
        } else {
            exact
        }
    };
    let p = match hits.as_slice() {
        [p] => *p,
        [] => {
            out.push(
                step.fail(
                    format!("no visible DevOps project is called {wanted:?}"),
                    Advice::new("the write check runs only in a project the checks above found")
                        .fix("pass the full name of one of the projects listed above to --write-check"),
                ),
            );
            return out;
        }
        many => {
            out.push(step.fail(
                format!(
                    "{wanted:?} matches {} projects: {}",
                    many.len(),
                    many.iter().map(|p| format!("{}@{}", p.name, p.cluster)).collect::<Vec<_>>().join(", ")
                ),
                Advice::new("the short name is ambiguous").fix("pass the full name to --write-check"),
            ));
            return out;
        }
    };
    out.push(step.pass(format!("{} (workspace {}, cluster {})", p.name, p.workspace, p.cluster)));
    let name = format!("ks-mcp-doctor-{:05x}", rand::random_range(0..0xfffffu32));
    let mut annotations = BTreeMap::new();
    if let Ok(Some(u)) = client.identity().await.map(|i| i.username) {
        annotations.insert(keys::CREATOR.to_string(), u);
    }
    let pipeline = Pipeline {
        metadata: ObjectMeta {
            name: name.clone(),
            namespace: Some(p.name.clone()),
            annotations,
            ..Default::default()
        },
        spec: PipelineSpec {
            kind: PIPELINE_TYPE_PIPELINE.into(),
            pipeline: Some(NoScmPipeline {
                name: name.clone(),
                description: Some("throw-away pipeline of ks-devops-mcp doctor --write-check".into()),
                jenkinsfile: Some(JENKINSFILE.into()),
                ..Default::default()
            }),
            multi_branch_pipeline: None,
        },
    };
    let step = Step::start("write create", "Create a throw-away pipeline");
    match client.create_pipeline(&p.cluster, &p.name, &pipeline).await {
        Ok(_) => out.push(step.pass(format!("created pipeline {name}"))),
        Err(e) => {
            let unknown = matches!(
                e,
                KsError::Timeout { .. } | KsError::Network { .. } | KsError::Upstream { .. }
            );
            let mut a = advice::project_error_advice(&e, &p.name, &p.workspace);
            if unknown {
                a = Advice::new("the create may or may not have been applied (no answer); it was not retried")
                    .fix(format!(
                        "check with `ks-devops-mcp call get_pipeline '{{\"project\":\"{}\",\"name\":\"{name}\"}}'` and delete it with delete_pipeline if it exists",
                        p.name
                    ));
            }
            out.push(step.fail(e.to_string(), a));
            return out;
        }
    }
    run_and_wait(client, p, &name, &mut out).await;
    let step = Step::start("write delete", "Delete the throw-away pipeline");
    match client.delete_pipeline(&p.cluster, &p.name, &name).await {
        Ok(()) => out.push(step.pass(format!("deleted {name}"))),
        Err(e) => out.push(step.fail(
            format!("{name} is left behind: {e}"),
            Advice::new("the throw-away pipeline could not be deleted").fix(format!(
                "delete it: `ks-devops-mcp call delete_pipeline '{{\"project\":\"{}\",\"name\":\"{name}\"}}'` or in the console",
                p.name
            )),
        )),
    }
    out
}

/// Waits for the Jenkins sync, runs the pipeline once and waits for the
/// run to finish; every outcome is a check in `out`.
async fn run_and_wait(client: &KsClient, p: &SeenProject, name: &str, out: &mut Vec<Check>) {
    let step = Step::start("write sync", "Jenkins picks up the pipeline");
    let started = Instant::now();
    loop {
        match client.get_pipeline(&p.cluster, &p.name, name).await {
            Ok(pl) if pl.metadata.annotation(keys::PIPELINE_SYNC_STATUS) == Some("successful") => {
                out.push(step.pass("synced to Jenkins"));
                break;
            }
            Ok(_) if started.elapsed() < SYNC_WAIT => tokio::time::sleep(Duration::from_millis(500)).await,
            Ok(_) => {
                out.push(step.fail(
                    format!("not synced to Jenkins after {}s", SYNC_WAIT.as_secs()),
                    Advice::new("the DevOps controller did not hand the pipeline to Jenkins")
                        .fix("retry later; if it persists, the administrator must look at ks-devops")
                        .admin("`kubectl -n kubesphere-devops-system logs deploy/devops-controller` and the Jenkins pod's health"),
                ));
                return;
            }
            Err(e) => {
                let a = advice::project_error_advice(&e, &p.name, &p.workspace);
                out.push(step.fail(e.to_string(), a));
                return;
            }
        }
    }
    let step = Step::start("write run", "Run it once");
    let run = match client.create_pipelinerun(&p.cluster, &p.name, name, None, &[]).await {
        Ok(r) => r,
        Err(e) => {
            let a = advice::project_error_advice(&e, &p.name, &p.workspace);
            out.push(step.fail(e.to_string(), a));
            return;
        }
    };
    let run_name = run.metadata.name.clone();
    let started = Instant::now();
    loop {
        match client.get_pipelinerun(&p.cluster, &p.name, &run_name).await {
            Ok(r) => {
                let phase = r.status.phase.clone().unwrap_or_default();
                let done = r.status.completion_time.is_some()
                    || matches!(phase.as_str(), "Succeeded" | "Failed" | "Cancelled" | "Unknown");
                if done {
                    let result = r.blue_status().and_then(|b| b.result).unwrap_or_else(|| phase.clone());
                    if phase == "Succeeded" || result == "SUCCESS" {
                        out.push(step.pass(format!("run {run_name} finished: {result}")));
                        return;
                    }
                    out.push(step.fail(
                        format!("run {run_name} finished: {result}"),
                        Advice::new("a trivial pipeline did not succeed: the Jenkins agents may be unable to start")
                            .fix("read its log with get_run_log; retry later")
                            .admin("check the Jenkins agent pods in kubesphere-devops-worker and the `base` agent template"),
                    ));
                    return;
                }
                if started.elapsed() > RUN_WAIT {
                    out.push(
                        step.fail(
                            format!(
                                "run {run_name} still {} after {}s",
                                if phase.is_empty() { "pending" } else { &phase },
                                RUN_WAIT.as_secs()
                            ),
                            Advice::new("the run did not finish in time: Jenkins may have no free agent")
                                .fix("look at it with get_run; stop it with stop_run if it hangs")
                                .admin("check Jenkins' queue and the agent pods in kubesphere-devops-worker"),
                        ),
                    );
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                let a = advice::project_error_advice(&e, &p.name, &p.workspace);
                out.push(step.fail(e.to_string(), a));
                return;
            }
        }
    }
}
