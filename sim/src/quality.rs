//! SonarQube quality status of a pipeline or branch (§16.1):
//! `GET DV2/namespaces/{ns}/pipelines/{p}[/branches/{b}]/sonarstatus`.
//!
//! upstream: ks-devops `pkg/kapis/devops/v1alpha2/pipeline_sonar.go` and
//! `pkg/models/devops/project_pipeline_sonar_handler.go`: the handler reads
//! Jenkins' `lastBuild`; its `SonarAnalysisAction`s (`ceTaskId`) name the
//! SonarQube tasks. Without one it falls back to `lastCompletedBuild`. Each
//! task becomes a `sonarqube.SonarStatus` (`pkg/client/sonarqube/interface.go`:
//! `task` from `api/ce/task`, `measures` from `api/measures/component`,
//! `issues` from `api/issues/search`). So:
//! * a pipeline whose builds ran no analysis answers `[]`;
//! * a last build that is still running with no completed build before it
//!   answers `null` (`return nil, nil`);
//! * a job without builds, or one Jenkins does not have, is an error that
//!   `kapis.HandleInternalError` turns into HTTP 500 with the error text.

use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::jenkins::Build;
use crate::pipelines::find_branch;
use crate::routes::Ctx;
use crate::state::Pipeline;
use crate::util::{self, fnv};

/// The coverage the simulated analysis reports: `sonar.coverage=NN` in an
/// `sh` step of the script, else 85.0. The quality gate fails below 80.
fn coverage(b: &Build) -> f64 {
    b.plan
        .stages
        .iter()
        .flat_map(|s| &s.steps)
        .find_map(|st| match st {
            crate::jenkins::Step::Sh(cmd, _) => cmd
                .split("sonar.coverage=")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok()),
            _ => None,
        })
        .unwrap_or(85.0)
}

fn sonar_time(t: DateTime<Utc>) -> String {
    // SonarQube web API dates: `2026-11-29T18:07:30+0000`.
    t.format("%Y-%m-%dT%H:%M:%S+0000").to_string()
}

fn sonar_status(ns: &str, pipeline: &str, branch: Option<&str>, b: &Build, now: DateTime<Utc>) -> Value {
    let key = match branch {
        Some(br) => format!("{ns}-{pipeline}:{br}"),
        None => format!("{ns}-{pipeline}"),
    };
    let cov = coverage(b);
    let failed = cov < 80.0;
    let level = if failed { "ERROR" } else { "OK" };
    let seed = fnv(&format!("{key}#{}", b.id));
    let bugs = if failed { 2 } else { 0 };
    let smells = 3 + seed % 20;
    let details = json!({
        "level": level,
        "conditions": [
            {"metric": "new_coverage", "op": "LT", "period": 1, "error": "80", "actual": format!("{cov:.1}"), "level": level},
            {"metric": "new_bugs", "op": "GT", "period": 1, "error": "0", "actual": bugs.to_string(), "level": if bugs > 0 { "ERROR" } else { "OK" }},
        ],
        "ignoredConditions": false,
    });
    let task_id = format!("AY{:016X}", seed);
    let submitted = b.start_at();
    let m = |metric: &str, value: String| json!({"metric": metric, "value": value});
    let issues: Vec<Value> = (0..bugs)
        .map(|i| {
            json!({
                "key": format!("AY{:016X}", seed.wrapping_add(i + 1)),
                "rule": "java:S2259",
                "severity": "MAJOR",
                "component": format!("{key}:src/main/java/app/Cart.java"),
                "project": key,
                "line": 40 + i * 7,
                "message": "A \"NullPointerException\" could be thrown; \"item\" is nullable here.",
                "type": "BUG",
                "status": "OPEN",
                "creationDate": sonar_time(submitted),
            })
        })
        .collect();
    json!({
        "measures": {
            "component": {
                "id": format!("AX{:016X}", fnv(&key)),
                "key": key,
                "name": pipeline,
                "qualifier": "TRK",
                "measures": [
                    m("alert_status", level.into()),
                    m("quality_gate_details", details.to_string()),
                    m("bugs", bugs.to_string()),
                    m("vulnerabilities", "0".into()),
                    m("code_smells", smells.to_string()),
                    m("coverage", format!("{cov:.1}")),
                    m("duplicated_lines_density", "1.8".into()),
                    m("ncloc", (2000 + seed % 5000).to_string()),
                ],
            },
            "metrics": [],
            "periods": [{"index": 1, "mode": "previous_version", "date": sonar_time(submitted - chrono::Duration::days(7))}],
        },
        "issues": {
            "total": bugs,
            "p": 1,
            "ps": 10,
            "paging": {"pageIndex": 1, "pageSize": 10, "total": bugs},
            "issues": issues,
            "components": [],
            "facets": [],
        },
        "task": {"task": {
            "id": task_id,
            "type": "REPORT",
            "componentKey": key,
            "componentName": pipeline,
            "status": "SUCCESS",
            "submittedAt": sonar_time(submitted),
            "executedAt": sonar_time(now.min(submitted + chrono::Duration::seconds(20))),
            "analysisId": format!("AZ{:016X}", seed.rotate_left(13)),
        }},
    })
}

fn has_sonar_action(b: &Build, now: DateTime<Utc>) -> bool {
    b.plan.sonar && b.is_finished(now)
}

fn answer(pl: &Pipeline, ns: &str, job: &str, branch: Option<&str>, now: DateTime<Utc>) -> Response {
    let builds: Vec<&Build> = pl
        .jobs
        .get(job)
        .map(|j| j.builds.values().filter(|b| b.visible(now)).collect())
        .unwrap_or_default();
    let Some(last) = builds.last() else {
        // `getBuildByType("lastBuild")` polls build number 0: Jenkins 404,
        // `errors.New(strconv.Itoa(status))` (`pkg/client/devops/jenkins/job.go:137-166`).
        return util::handle_internal_error("404");
    };
    let name = pl.name();
    if has_sonar_action(last, now) {
        return util::ok_json(&json!([sonar_status(ns, name, branch, last, now)]));
    }
    match builds.iter().rev().find(|b| b.is_finished(now)) {
        None => util::ok_json(&Value::Null),
        Some(done) if has_sonar_action(done, now) => util::ok_json(&json!([sonar_status(ns, name, branch, done, now)])),
        Some(_) => util::ok_json(&json!([])),
    }
}

fn job_missing(path: &str) -> Response {
    // `GetJob` fails with Jenkins' 404; the handler wraps it in a
    // `restful.ServiceError` (`build.go:329-346`) and `HandleInternalError`
    // writes its text.
    util::handle_internal_error(&format!("[ServiceError:404] {path} Not Found"))
}

/// `DV2` sonarstatus routes.
pub(crate) fn dv2(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    Some(match rest {
        ["namespaces", ns, "pipelines", p, "sonarstatus"] => match ctx.method() {
            "GET" => {
                let now = ctx.now;
                match ctx
                    .st
                    .project(&ctx.cluster, ns)
                    .and_then(|x| x.pipelines.get(*p))
                    .filter(|pl| now >= pl.sync_at)
                {
                    // A multi-branch job has no builds of its own.
                    Some(pl) if pl.is_multi() => util::handle_internal_error("404"),
                    Some(pl) => answer(pl, ns, "", None, now),
                    None => job_missing(&format!("/job/{ns}/job/{p}")),
                }
            }
            _ => util::restful(405),
        },
        ["namespaces", ns, "pipelines", p, "branches", b, "sonarstatus"] => match ctx.method() {
            "GET" => {
                let now = ctx.now;
                let Some(pl) = ctx
                    .st
                    .project(&ctx.cluster, ns)
                    .and_then(|x| x.pipelines.get(*p))
                    .filter(|pl| now >= pl.sync_at)
                else {
                    return Some(job_missing(&format!("/job/{ns}/job/{p}/job/{b}")));
                };
                // The branch job is looked up by its Jenkins name (U3/U4).
                match find_branch(pl, b) {
                    Some(raw) => answer(pl, ns, &raw, Some(&raw), now),
                    None => job_missing(&format!("/job/{ns}/job/{p}/job/{b}")),
                }
            }
            _ => util::restful(405),
        },
        _ => return None,
    })
}
