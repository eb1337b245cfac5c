//! Pipeline authoring: validate a Jenkinsfile or a cron spec, change a
//! pipeline's settings, replace its Jenkinsfile (§16.1).
//!
//! * `POST DV2/namespaces/{ns}/pipelines/{p}/checkScriptCompile` (form
//!   `value=`) answers ks-devops' `CheckScript`: `{"status":"success"}` or
//!   the FIRST compile error `{"status":"fail","line","column","message"}`
//!   (every field `omitempty`).
//! * `POST DV2/namespaces/{ns}/checkCron` (`{"cron": spec}`) answers
//!   `CheckCronRes` `{"result": "ok"|"warning"|"error", "message",
//!   "lastTime", "nextTime"}`.
//! * `PUT DV3/namespaces/{ns}/pipelines/{p}` replaces the Pipeline; ks-devops
//!   keeps the stored Jenkinsfile and REPLACES the body's resourceVersion by
//!   the stored one (`pkg/models/devops/devops.go:340-358`), so a stale
//!   write is never refused upstream: callers compare resourceVersions
//!   themselves ([`KsClient::update_pipeline_object`]).
//! * `PUT DV3/namespaces/{ns}/pipelines/{p}/jenkinsfile?mode=raw`
//!   (`{"data": text}`) writes `spec.pipeline.jenkinsfile`; for a
//!   multi-branch pipeline it silently changes nothing and still succeeds.

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::client::{Body, KsClient};
use crate::error::{KsError, KsResult};
use crate::path::{ApiPath, Cluster, gv, validate_label, validate_subdomain};

/// The answer of `checkScriptCompile`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct ScriptCheck {
    /// `success` or `fail`.
    #[serde(default)]
    pub status: String,
    /// 1-based; absent (0) when Jenkins gave none.
    #[serde(default)]
    pub line: u32,
    #[serde(default)]
    pub column: u32,
    #[serde(default)]
    pub message: String,
}

impl ScriptCheck {
    pub fn ok(&self) -> bool {
        self.status == "success"
    }
}

/// The answer of `checkCron`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct CronCheck {
    /// `ok`, `warning` or `error`.
    #[serde(default)]
    pub result: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "lastTime")]
    pub last_time: Option<String>,
    #[serde(default, rename = "nextTime")]
    pub next_time: Option<String>,
}

/// ks-devops' text when the Kubernetes update lost a race (its `errorHandle`
/// turns the API server's 409 into 400).
const CONFLICT_TEXT: &str = "the object has been modified";

fn v2_ns(namespace: &str) -> KsResult<ApiPath> {
    validate_label("project (namespace) name", namespace)?;
    Ok(ApiPath::kapi(gv::DEVOPS_V1ALPHA2).lit("namespaces").seg(namespace))
}

fn v3_pipeline(namespace: &str, pipeline: &str) -> KsResult<ApiPath> {
    validate_label("project (namespace) name", namespace)?;
    validate_subdomain("pipeline name", pipeline)?;
    Ok(ApiPath::kapi(gv::DEVOPS_V1ALPHA3)
        .lit("namespaces")
        .seg(namespace)
        .lit("pipelines")
        .seg(pipeline))
}

/// A 400 that is the API server's update conflict becomes [`KsError::Conflict`].
fn conflict_from_400(e: KsError) -> KsError {
    match e {
        KsError::BadRequest { path, message, .. } if message.contains(CONFLICT_TEXT) => {
            KsError::Conflict { path, message }
        }
        other => other,
    }
}

impl KsClient {
    /// `POST DV2/namespaces/{ns}/pipelines/{p}/checkScriptCompile`: compiles
    /// `script` in the Jenkins job of pipeline `p` (which must exist in
    /// Jenkins; the check does not depend on which pipeline it is). Changes
    /// nothing; sent once.
    pub async fn check_script_compile(
        &self,
        cluster: &Cluster,
        namespace: &str,
        pipeline: &str,
        script: &str,
    ) -> KsResult<ScriptCheck> {
        validate_subdomain("pipeline name", pipeline)?;
        let path = v2_ns(namespace)?
            .lit("pipelines")
            .seg(pipeline)
            .lit("checkScriptCompile");
        let r = self
            .execute(
                Method::POST,
                cluster,
                &path,
                &[],
                Body::Form(vec![("value", script.to_string())]),
                "application/json",
            )
            .await?;
        let check: Option<ScriptCheck> = self.decode(r, &path.for_cluster(cluster), false, &[]).await?;
        check.ok_or_else(|| KsError::InvalidResponse {
            path: path.for_cluster(cluster),
            reason: "checkScriptCompile answered null".into(),
        })
    }

    /// `POST DV2/namespaces/{ns}/checkCron`: checks a timer trigger spec.
    pub async fn check_cron(&self, cluster: &Cluster, namespace: &str, spec: &str) -> KsResult<CronCheck> {
        let path = v2_ns(namespace)?.lit("checkCron");
        let body = serde_json::json!({ "cron": spec });
        let r = self
            .execute(Method::POST, cluster, &path, &[], Body::Json(&body), "application/json")
            .await?;
        let check: Option<CronCheck> = self.decode(r, &path.for_cluster(cluster), false, &[]).await?;
        check.ok_or_else(|| KsError::InvalidResponse {
            path: path.for_cluster(cluster),
            reason: "checkCron answered null".into(),
        })
    }

    /// `GET DV3/namespaces/{ns}/pipelines/{p}` as raw JSON: every field kept,
    /// for a read-merge-write that must not drop what this client does not model.
    pub async fn get_pipeline_object(&self, cluster: &Cluster, namespace: &str, name: &str) -> KsResult<Value> {
        let path = v3_pipeline(namespace, name)?;
        self.get_json(cluster, &path, &[]).await
    }

    /// `PUT DV3/namespaces/{ns}/pipelines/{p}` with a whole Pipeline object
    /// (from [`Self::get_pipeline_object`], changed). The stored Jenkinsfile
    /// is kept by ks-devops. Never retried. A lost update race is
    /// [`KsError::Conflict`].
    pub async fn update_pipeline_object(
        &self,
        cluster: &Cluster,
        namespace: &str,
        name: &str,
        object: &Value,
    ) -> KsResult<Value> {
        let path = v3_pipeline(namespace, name)?;
        if object.pointer("/metadata/name").and_then(Value::as_str) != Some(name) {
            // ks-devops takes the name from the body, not the path.
            return Err(KsError::Invalid(format!(
                "the pipeline object to write is not {name:?}: read it again"
            )));
        }
        self.send_json(Method::PUT, cluster, &path, &[], object)
            .await
            .map_err(conflict_from_400)
    }

    /// `PUT DV3/namespaces/{ns}/pipelines/{p}/jenkinsfile?mode=raw`: replaces
    /// a regular pipeline's Jenkinsfile. Never retried.
    pub async fn set_jenkinsfile(&self, cluster: &Cluster, namespace: &str, name: &str, text: &str) -> KsResult<()> {
        let path = v3_pipeline(namespace, name)?.lit("jenkinsfile");
        let body = serde_json::json!({ "data": text });
        let _: Value = self
            .send_json(Method::PUT, cluster, &path, &[("mode", "raw".to_string())], &body)
            .await
            .map_err(conflict_from_400)?;
        Ok(())
    }
}
