//! CI helpers a tenant reads when writing a Jenkinsfile (§16.1): Jenkins
//! agent labels.

use axum::response::Response;
use serde_json::json;

use crate::routes::Ctx;
use crate::util;

/// Agent labels of the default Jenkins pod templates.
const AGENT_LABELS: [&str; 5] = ["base", "go", "maven", "nodejs", "python"];

/// `DV3/ci/...` (cluster templates are in [`crate::templates`]).
pub(crate) fn dv3(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    Some(match rest {
        // `ks-devops:pkg/kapis/devops/v1alpha3/register.go:260` getJenkinsLabels:
        // a GenericArrayResponse `{"status":"success","data":[...],"message":""}`.
        ["ci", "nodelabels"] => match ctx.method() {
            "GET" => util::ok_json(&json!({"status": "success", "data": AGENT_LABELS, "message": ""})),
            _ => util::restful(405),
        },
        _ => return None,
    })
}
