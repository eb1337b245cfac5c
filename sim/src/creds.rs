//! Credentials (§9).

use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::routes::Ctx;
use crate::util::{self, k8s_time};

pub(crate) fn seeded_secret(ns: &str, name: &str, ty: &str, data: &[(&str, &str)], created: DateTime<Utc>) -> Value {
    let mut d = serde_json::Map::new();
    for (k, v) in data {
        d.insert((*k).to_string(), json!(util::b64(v.as_bytes())));
    }
    json!({
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, "uid": util::uid(), "resourceVersion": "1", "creationTimestamp": k8s_time(created)},
        "data": d,
        "type": ty,
    })
}

pub(crate) fn dv3(_ctx: &mut Ctx, _rest: &[&str]) -> Option<Response> {
    None
}

pub(crate) fn dv2(_ctx: &mut Ctx, _rest: &[&str]) -> Option<Response> {
    None
}
