//! CI helpers a tenant reads when writing a Jenkinsfile (§16.1): Jenkins
//! agent labels and cluster-wide pipeline templates.

use axum::response::Response;
use serde_json::{Value, json};

use crate::routes::Ctx;
use crate::util::{self, ListQuery, k8s_time};

/// Agent labels of the default Jenkins pod templates.
const AGENT_LABELS: [&str; 5] = ["base", "go", "maven", "nodejs", "python"];

fn cluster_template(
    name: &str,
    display: &str,
    description: &str,
    template: &str,
    created: chrono::DateTime<chrono::Utc>,
) -> Value {
    json!({
        "kind": "ClusterTemplate",
        "apiVersion": "devops.kubesphere.io/v1alpha3",
        "metadata": {
            "name": name,
            "creationTimestamp": k8s_time(created),
            "annotations": {
                "devops.kubesphere.io/displayNameEN": display,
                "devops.kubesphere.io/descriptionEN": description,
            },
        },
        "spec": {
            "parameters": [
                {"name": "cloneURL", "description": "Repository URL to clone"},
                {"name": "revision", "description": "Revision to clone", "default": "main"},
            ],
            "template": template,
        },
    })
}

/// `DV3/ci/...` and `DV3/clustertemplates`.
pub(crate) fn dv3(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    Some(match rest {
        // `ks-devops:pkg/kapis/devops/v1alpha3/register.go:260` getJenkinsLabels:
        // a GenericArrayResponse `{"status":"success","data":[...],"message":""}`.
        ["ci", "nodelabels"] => match ctx.method() {
            "GET" => util::ok_json(&json!({"status": "success", "data": AGENT_LABELS, "message": ""})),
            _ => util::restful(405),
        },
        // `ks-devops:pkg/kapis/devops/v1alpha3/template/cluster_template_handler.go:50`
        // queryClusterTemplates: DefaultList + FromKSListResult.
        ["clustertemplates"] => match ctx.method() {
            "GET" => {
                let created = ctx.st.started - chrono::Duration::days(60);
                let items = vec![
                    cluster_template(
                        "golang",
                        "Golang",
                        "Builds and tests a Go module",
                        "pipeline {\n  agent { label 'go' }\n  stages {\n    stage('Checkout') { steps { git branch: '$(.params.revision)', url: '$(.params.cloneURL)' } }\n    stage('Test') { steps { container('go') { sh 'go test ./...' } } }\n  }\n}\n",
                        created,
                    ),
                    cluster_template(
                        "maven",
                        "Maven",
                        "Builds a Java project with Maven",
                        "pipeline {\n  agent { label 'maven' }\n  stages {\n    stage('Checkout') { steps { git branch: '$(.params.revision)', url: '$(.params.cloneURL)' } }\n    stage('Build') { steps { container('maven') { sh 'mvn -B package' } } }\n  }\n}\n",
                        created,
                    ),
                ];
                let q = ListQuery::parse(&ctx.query);
                let items: Vec<Value> = items.into_iter().filter(|v| q.name_matches(v)).collect();
                let (page, total) = q.sort_and_page(items);
                util::ok_json(&util::list_always(page, total))
            }
            _ => util::restful(405),
        },
        _ => return None,
    })
}
