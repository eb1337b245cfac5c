//! MCP prompts that pre-fetch what the agent needs (through the same tools
//! and client), and argument completion for project, pipeline and branch
//! names from what the user can see.

use rmcp::model::{
    ArgumentInfo, CompleteResult, CompletionInfo, GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage,
    Reference, Role,
};
use serde_json::{Value, json};

use super::context::ToolCtx;
use super::registry::Registry;
use crate::kubesphere::Cluster;

/// Prompt names, in listing order.
pub const DEBUG_FAILED_RUN: &str = "debug_failed_run";
pub const SET_UP_CI: &str = "set_up_ci";
pub const DEPLOY_WITH_GITOPS: &str = "deploy_with_gitops";

fn arg(name: &str, description: &str, required: bool) -> PromptArgument {
    PromptArgument::new(name)
        .with_description(description)
        .with_required(required)
}

/// The prompts this server offers.
pub fn list() -> Vec<Prompt> {
    vec![
        Prompt::new(
            DEBUG_FAILED_RUN,
            Some("Find out why a pipeline run failed: fetches the run's diagnosis (failing stage and step, error lines, log tail) and says how to proceed."),
            Some(vec![
                arg("project", "DevOps project (full or short name)", true),
                arg("pipeline", "Pipeline name", true),
                arg("run", "Jenkins run id; default: the newest failed run", false),
                arg("branch", "Branch, for a multi-branch pipeline", false),
            ]),
        )
        .with_title("Debug a failed run"),
        Prompt::new(
            SET_UP_CI,
            Some("Set up CI for a Git repository in a DevOps project: fetches the project's credentials, pipelines, Jenkins agent labels and pipeline templates, and walks through the private-repository question and the pipeline creation."),
            Some(vec![
                arg("project", "DevOps project (full or short name)", true),
                arg("repository", "Git repository URL (https://… or git@…)", true),
            ]),
        )
        .with_title("Set up CI for a repository"),
        Prompt::new(
            DEPLOY_WITH_GITOPS,
            Some("Deploy a Git repository with GitOps (Argo CD): fetches the destinations and the project's existing applications and walks through creating and syncing an application."),
            Some(vec![
                arg("project", "DevOps project (full or short name)", true),
                arg("repository", "Git repository URL holding the manifests", true),
            ]),
        )
        .with_title("Deploy with GitOps"),
    ]
}

/// Why a prompt cannot be built (becomes `invalid_params`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PromptError(pub String);

fn required(args: &JsonObject, name: &str, prompt: &str) -> Result<String, PromptError> {
    match args.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(PromptError(format!(
            "prompt {prompt} needs the argument {name:?}; completion/complete offers values"
        ))),
        Some(_) => Err(PromptError(format!(
            "argument {name:?} of prompt {prompt} must be a string"
        ))),
    }
}

fn optional(args: &JsonObject, name: &str) -> Option<String> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn check_repository(url: &str) -> Result<(), PromptError> {
    let ok = url.len() <= 2048
        && !url.chars().any(char::is_whitespace)
        && (url.starts_with("https://")
            || url.starts_with("http://")
            || url.starts_with("ssh://")
            || url.starts_with("git@")
            || url.starts_with("git://"));
    if ok {
        Ok(())
    } else {
        Err(PromptError(format!(
            "repository {:?} is not a Git URL: give https://host/org/repo(.git) or git@host:org/repo.git",
            url.chars().take(100).collect::<String>()
        )))
    }
}

/// Runs one read-only tool for the prompt; its failure becomes text the
/// agent can act on.
async fn fetch(ctx: &ToolCtx, tool: &str, args: Value) -> Value {
    let registry = Registry::all();
    let Some(entry) = registry.get(tool) else {
        return json!({"error": format!("tool {tool} is missing")});
    };
    let Value::Object(args) = args else {
        return json!({"error": "bad arguments"});
    };
    match entry.run(ctx.clone(), args).await {
        Ok(v) => v,
        Err(e) => json!({"error": e.to_string(), "kind": e.kind()}),
    }
}

fn block(title: &str, v: &Value) -> String {
    format!(
        "{title}:\n```json\n{}\n```\n",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    )
}

fn note_unserved(served: &Registry, tools: &[&str]) -> String {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| served.get(t).is_none()).collect();
    if missing.is_empty() {
        String::new()
    } else {
        format!(
            "\nNote: this server does not offer {} with its current settings (toolsets / read-only); tell the user what to run instead, or that the operator must enable them.\n",
            missing.join(", ")
        )
    }
}

/// Builds prompt `name` with `args`, fetching its data as the caller.
pub async fn get(
    ctx: &ToolCtx,
    served: &Registry,
    name: &str,
    args: &JsonObject,
) -> Result<GetPromptResult, PromptError> {
    let text = match name {
        DEBUG_FAILED_RUN => debug_failed_run(ctx, served, args).await?,
        SET_UP_CI => set_up_ci(ctx, served, args).await?,
        DEPLOY_WITH_GITOPS => deploy_with_gitops(ctx, served, args).await?,
        other => {
            return Err(PromptError(format!(
                "unknown prompt {}; prompts/list shows {DEBUG_FAILED_RUN}, {SET_UP_CI}, {DEPLOY_WITH_GITOPS}",
                crate::text::quote(other)
            )));
        }
    };
    let description = list()
        .into_iter()
        .find(|p| p.name == name)
        .and_then(|p| p.description)
        .unwrap_or_default();
    Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]).with_description(description))
}

async fn debug_failed_run(ctx: &ToolCtx, served: &Registry, args: &JsonObject) -> Result<String, PromptError> {
    let project = required(args, "project", DEBUG_FAILED_RUN)?;
    let pipeline = required(args, "pipeline", DEBUG_FAILED_RUN)?;
    let mut branch = optional(args, "branch");
    let mut run = optional(args, "run");
    let mut out = format!("Find out why pipeline {pipeline:?} of DevOps project {project:?} failed");
    let mut runs = Value::Null;
    if run.is_none() {
        let mut q = json!({"project": project, "pipeline": pipeline, "limit": 20});
        if let Some(b) = &branch {
            q["branch"] = json!(b);
        }
        runs = fetch(ctx, "list_runs", q).await;
        let failed = runs["runs"].as_array().and_then(|rs| {
            rs.iter().find(|r| {
                matches!(r["result"].as_str(), Some("FAILURE" | "UNSTABLE" | "ABORTED")) && r["run_id"].is_string()
            })
        });
        if let Some(r) = failed {
            run = r["run_id"].as_str().map(str::to_string);
            if branch.is_none() {
                branch = r["branch"].as_str().map(str::to_string);
            }
        }
    }
    match &run {
        Some(id) => out.push_str(&format!(
            " (run {id}{}).\n\n",
            branch.as_ref().map(|b| format!(", branch {b}")).unwrap_or_default()
        )),
        None => out.push_str(".\n\n"),
    }
    match &run {
        Some(id) => {
            let mut q = json!({"project": project, "pipeline": pipeline, "run_id": id});
            if let Some(b) = &branch {
                q["branch"] = json!(b);
            }
            let diagnosis = fetch(ctx, "diagnose_run", q).await;
            out.push_str(&block("Diagnosis fetched just now (diagnose_run)", &diagnosis));
            if diagnosis.get("error").is_some() {
                out.push_str("\nThe diagnosis could not be fetched: follow the error's advice first (e.g. resolve_devops_project for an ambiguous project name, list_runs for the run id).\n");
            }
        }
        None => {
            if runs.get("error").is_some() {
                out.push_str(&block("Listing the runs failed", &runs));
                out.push_str("\nFollow the error's advice first (e.g. resolve_devops_project for an ambiguous project name, list_pipelines for the pipeline name).\n");
            } else {
                out.push_str(&block("No failed run among the newest runs (list_runs)", &runs));
                out.push_str("\nTell the user no recent run failed and ask which run they mean.\n");
            }
        }
    }
    out.push_str(
        "\nHow to proceed:\n\
1. Explain the failure from failing_stage, failing_step and error_lines; quote the decisive line.\n\
2. If more context is needed, read more of the failing step's log with get_run_log (project, pipeline, run id, the step's node and step ids).\n\
3. Propose a concrete fix (code, Jenkinsfile, credential or environment); say which it is.\n\
4. Do not re-run the pipeline (trigger_run) unless the user asks: runs are not free and are never retried automatically.\n",
    );
    out.push_str(&note_unserved(served, &["diagnose_run", "get_run_log", "trigger_run"]));
    Ok(out)
}

async fn set_up_ci(ctx: &ToolCtx, served: &Registry, args: &JsonObject) -> Result<String, PromptError> {
    let project = required(args, "project", SET_UP_CI)?;
    let repository = required(args, "repository", SET_UP_CI)?;
    check_repository(&repository)?;
    let resolved = fetch(ctx, "resolve_devops_project", json!({"name": project})).await;
    let mut out = format!("Set up CI for the Git repository {repository:?} in DevOps project {project:?}.\n\n");
    if resolved["status"] != "resolved" {
        out.push_str(&block(
            "The project name did not resolve to one project (resolve_devops_project)",
            &resolved,
        ));
        out.push_str(
            "\nAsk the user which project they mean (never pick one yourself), then start again with its full name.\n",
        );
        return Ok(out);
    }
    let full = resolved["project"]["name"].as_str().unwrap_or(&project).to_string();
    let cluster = Cluster::parse(resolved["project"]["cluster"].as_str().unwrap_or("host")).unwrap_or(Cluster::Host);
    out.push_str(&block("Project", &resolved["project"]));
    let credentials = fetch(ctx, "list_credentials", json!({"project": full})).await;
    out.push_str(&block(
        "Credentials in the project (list_credentials; no secret values)",
        &credentials,
    ));
    let pipelines = fetch(ctx, "list_pipelines", json!({"project": full})).await;
    out.push_str(&block("Existing pipelines (list_pipelines)", &pipelines));
    let labels = match ctx.client.agent_labels(&cluster).await {
        Ok(l) => json!(l),
        Err(e) => json!({"error": crate::mcp::error::ks_text(&e)}),
    };
    out.push_str(&block("Jenkins agent labels (for `agent { label '…' }`)", &labels));
    let templates = match ctx.client.cluster_templates(&cluster).await {
        Ok(ts) => json!(
            ts.iter()
                .map(|t| json!({"name": t.metadata.name, "display": t.display(), "description": t.description()}))
                .collect::<Vec<_>>()
        ),
        Err(e) => json!({"error": crate::mcp::error::ks_text(&e)}),
    };
    out.push_str(&block("Pipeline templates (cluster templates)", &templates));
    let https = repository.starts_with("https://") || repository.starts_with("http://");
    out.push_str(&format!(
        "\nHow to proceed:\n\
1. Ask the user whether {repository} is private. A public repository needs no credential. A private one needs {} in this project: reuse a fitting one from the list above (by id), or create one with create_credential, asking the user for the token/key (never invent or echo secrets).\n\
2. Ask whether the repository already has a Jenkinsfile. If yes (or it has several branches to build), create a multi-branch pipeline with create_multibranch_pipeline (git URL {repository}, the credential id if private, script path Jenkinsfile); the branches appear after its first scan (scan_repository, then list_branches).\n\
3. If not, write a Jenkinsfile with the user (start from a template above; use one of the agent labels) and create a plain pipeline with create_pipeline.\n\
4. Show the user what you will create and get a yes before each create call; then start a first run (trigger_run) and follow it with wait_for_run. If it fails, diagnose_run explains why.\n",
        if https { "a basic-auth (username + token) credential" } else { "an SSH key credential" }
    ));
    out.push_str(&note_unserved(
        served,
        &[
            "create_credential",
            "create_multibranch_pipeline",
            "create_pipeline",
            "trigger_run",
            "wait_for_run",
        ],
    ));
    Ok(out)
}

async fn deploy_with_gitops(ctx: &ToolCtx, served: &Registry, args: &JsonObject) -> Result<String, PromptError> {
    let project = required(args, "project", DEPLOY_WITH_GITOPS)?;
    let repository = required(args, "repository", DEPLOY_WITH_GITOPS)?;
    check_repository(&repository)?;
    let mut out =
        format!("Deploy the manifests of {repository:?} with GitOps (Argo CD) from DevOps project {project:?}.\n\n");
    let resolved = fetch(ctx, "resolve_devops_project", json!({"name": project})).await;
    if resolved["status"] != "resolved" {
        out.push_str(&block(
            "The project name did not resolve to one project (resolve_devops_project)",
            &resolved,
        ));
        out.push_str(
            "\nAsk the user which project they mean (never pick one yourself), then start again with its full name.\n",
        );
        return Ok(out);
    }
    let full = resolved["project"]["name"].as_str().unwrap_or(&project).to_string();
    out.push_str(&block("Project", &resolved["project"]));
    let destinations = match ctx.client.gitops_destinations().await {
        Ok(d) => json!(d),
        Err(e) => json!({"error": crate::mcp::error::ks_text(&e)}),
    };
    out.push_str(&block("Argo CD destination clusters", &destinations));
    let apps = fetch(ctx, "list_applications", json!({"project": full})).await;
    out.push_str(&block(
        "Existing applications in the project (list_applications)",
        &apps,
    ));
    out.push_str(&format!(
        "\nHow to proceed:\n\
1. If an application above already deploys {repository}, show it (get_application_status) instead of creating another.\n\
2. Ask the user for: the path of the manifests in the repository, the revision (branch or tag, default HEAD), the destination cluster (from the list above) and namespace, and whether Argo CD should sync automatically (and prune / self-heal).\n\
3. A private repository needs a credential the GitOps controller can use: ask the user.\n\
4. Show the user the application you will create and get a yes; create it with create_application, then follow it with get_application_status until it is Synced and Healthy; sync_application starts a manual sync.\n"
    ));
    out.push_str(&note_unserved(
        served,
        &[
            "list_applications",
            "create_application",
            "get_application_status",
            "sync_application",
        ],
    ));
    Ok(out)
}

/// `completion/complete` for a prompt argument: project, pipeline or branch
/// names starting with what was typed, from what the user can see.
pub async fn complete(
    ctx: &ToolCtx,
    reference: &Reference,
    argument: &ArgumentInfo,
    context: Option<&std::collections::HashMap<String, String>>,
) -> CompleteResult {
    let prefix = argument.value.trim();
    let known = |k: &str| {
        context
            .and_then(|c| c.get(k))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let is_ours = matches!(reference, Reference::Prompt(p) if [DEBUG_FAILED_RUN, SET_UP_CI, DEPLOY_WITH_GITOPS].contains(&p.name.as_str()));
    let mut values: Vec<String> = Vec::new();
    if is_ours {
        match argument.name.as_str() {
            "project" => {
                let v = fetch(ctx, "list_devops_projects", json!({"limit": 500})).await;
                for p in v["projects"].as_array().into_iter().flatten() {
                    let name = p["name"].as_str().unwrap_or_default();
                    let short = p["short_name"].as_str().unwrap_or_default();
                    if name.starts_with(prefix) || (!short.is_empty() && short.starts_with(prefix)) {
                        values.push(name.to_string());
                    }
                }
            }
            "pipeline" => {
                if let Some(project) = known("project") {
                    let v = fetch(ctx, "list_pipelines", json!({"project": project, "limit": 500})).await;
                    for p in v["pipelines"].as_array().into_iter().flatten() {
                        if let Some(n) = p["name"].as_str().filter(|n| n.starts_with(prefix)) {
                            values.push(n.to_string());
                        }
                    }
                }
            }
            "branch" => {
                if let (Some(project), Some(pipeline)) = (known("project"), known("pipeline")) {
                    let v = fetch(
                        ctx,
                        "list_branches",
                        json!({"project": project, "pipeline": pipeline, "limit": 500}),
                    )
                    .await;
                    for b in v["branches"].as_array().into_iter().flatten() {
                        if let Some(n) = b["name"].as_str().filter(|n| n.starts_with(prefix)) {
                            values.push(n.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    values.sort();
    values.dedup();
    let total = values.len();
    values.truncate(CompletionInfo::MAX_VALUES);
    let info = CompletionInfo::with_pagination(values, Some(total as u32), total > CompletionInfo::MAX_VALUES)
        .unwrap_or_default();
    CompleteResult::new(info)
}
