#![allow(dead_code)]

use std::time::Duration;

use ks_sim::{Sim, SimOptions};
use serde_json::Value;

pub const DV2: &str = "/kapis/devops.kubesphere.io/v1alpha2";
pub const DV3: &str = "/kapis/devops.kubesphere.io/v1alpha3";
pub const GO1: &str = "/kapis/gitops.kubesphere.io/v1alpha1";
pub const TN: &str = "/kapis/tenant.kubesphere.io/v1beta1";
pub const IAM: &str = "/kapis/iam.kubesphere.io/v1beta1";

pub struct T {
    pub sim: Sim,
    pub http: reqwest::Client,
    pub token: String,
}

pub async fn start_with(opts: SimOptions) -> T {
    let sim = Sim::start(opts, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("start sim");
    let http = reqwest::Client::new();
    let token = login(&sim, &http, "tenant").await;
    T { sim, http, token }
}

pub async fn start() -> T {
    start_with(SimOptions {
        run_phase: Duration::from_millis(50),
        ..SimOptions::default()
    })
    .await
}

pub async fn login(sim: &Sim, http: &reqwest::Client, user: &str) -> String {
    let r = http
        .post(format!("{}/oauth/token", sim.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=password&client_id=kubesphere&client_secret=kubesphere&username={user}&password=P%4088w0rd"
        ))
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    v["access_token"].as_str().expect("access").to_string()
}

impl T {
    pub fn url(&self, p: &str) -> String {
        format!("{}{}", self.sim.url(), p)
    }
    pub async fn get(&self, p: &str) -> (u16, String) {
        let r = self
            .http
            .get(self.url(p))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("send");
        let code = r.status().as_u16();
        (code, r.text().await.unwrap_or_default())
    }
    pub async fn get_json(&self, p: &str) -> (u16, Value) {
        let (c, t) = self.get(p).await;
        (c, serde_json::from_str(&t).unwrap_or(Value::String(t)))
    }
    pub async fn send(&self, method: &str, p: &str, body: Option<Value>) -> (u16, String) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(m, self.url(p)).bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("send");
        let code = r.status().as_u16();
        (code, r.text().await.unwrap_or_default())
    }
    pub async fn send_json(&self, method: &str, p: &str, body: Option<Value>) -> (u16, Value) {
        let (c, t) = self.send(method, p, body).await;
        (c, serde_json::from_str(&t).unwrap_or(Value::String(t)))
    }
}

pub async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
