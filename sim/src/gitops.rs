//! GitRepository (§10) and GitOps Applications (§11).

use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::routes::Ctx;
use crate::state::App;
use crate::util::{self, k8s_time};

pub(crate) fn seeded_gitrepo(ns: &str, name: &str, url: &str, created: DateTime<Utc>) -> Value {
    json!({
        "kind": "GitRepository",
        "apiVersion": "devops.kubesphere.io/v1alpha3",
        "metadata": {"name": name, "namespace": ns, "uid": util::uid(), "resourceVersion": "1", "creationTimestamp": k8s_time(created),
            "finalizers": ["finalizer.gitrepository.devops.kubesphere.io"]},
        "spec": {"provider": "github", "url": url},
        "status": {},
    })
}

pub(crate) fn seeded_app(
    ns: &str,
    name: &str,
    degraded: bool,
    created: DateTime<Utc>,
    op_started: DateTime<Utc>,
) -> App {
    let cr = json!({
        "kind": "Application",
        "apiVersion": "gitops.kubesphere.io/v1alpha1",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": k8s_time(created)},
        "spec": {"kind": "argocd", "argoApp": {"spec": {"project": ns}}},
    });
    App {
        cr,
        op_started,
        degraded,
        revision: String::new(),
    }
}

pub(crate) fn refresh_app(_app: &mut App, _ns: &str, _now: DateTime<Utc>, _phase: Duration) {}

pub(crate) fn dv3(_ctx: &mut Ctx, _rest: &[&str]) -> Option<Response> {
    None
}

pub(crate) fn go1(_ctx: &mut Ctx, _rest: &[&str]) -> Option<Response> {
    None
}
