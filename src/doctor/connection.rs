//! Reachability and TLS of `KUBESPHERE_URL`, and the OAuth login.

use std::time::SystemTime;

use super::{Advice, Check, Step};
use crate::kubesphere::{Credentials, KsClient, KsError};

/// `GET /healthz` without credentials.
pub(super) async fn reachability(client: &KsClient) -> Check {
    let step = Step::start("reach", "Reach KUBESPHERE_URL");
    let url = client.settings().base_url.clone();
    match client.healthz().await {
        Ok(()) => {
            let mut detail = format!(
                "ks-apiserver answered /healthz at {}",
                url.as_str().trim_end_matches('/')
            );
            if url.scheme() == "http" && !is_local(&url) {
                return step.warn(
                    detail + " over plain http",
                    "the password and tokens cross the network unencrypted; use the https:// address if KubeSphere has one",
                );
            }
            if url.scheme() == "https" {
                detail.push_str(" (TLS certificate trusted)");
            }
            step.pass(detail)
        }
        Err(e) => {
            let detail = e.to_string();
            step.fail(detail, reach_advice(&e, &url))
        }
    }
}

fn is_local(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// What a failed `/healthz` means, and the fix for the common mistakes.
pub(crate) fn reach_advice(e: &KsError, url: &url::Url) -> Advice {
    let host = url.host_str().unwrap_or("?").to_string();
    let port = url.port_or_known_default().unwrap_or(0);
    let svc = "`kubectl -n kubesphere-system get svc ks-apiserver` shows the API service; expose it (NodePort, LoadBalancer or an ingress) and give its address";
    match e {
        KsError::Network { reason, .. } if reason.contains("not trusted") => Advice::new(format!(
            "the TLS certificate of {host} is not trusted by this machine (self-signed, private CA, expired, or issued for another host name)"
        ))
        .fix(format!(
            "get the CA certificate that signed it and add it to this machine's trust store, e.g. on Debian/Ubuntu `sudo cp kubesphere-ca.crt /usr/local/share/ca-certificates/ && sudo update-ca-certificates` (RHEL: /etc/pki/ca-trust/source/anchors/ + `sudo update-ca-trust`); check that the certificate names {host}"
        ))
        .admin("give the user the CA of the certificate ks-apiserver (or its ingress) serves, e.g. `kubectl -n kubesphere-system get secret <tls-secret> -o jsonpath='{.data.ca\\.crt}' | base64 -d`"),
        KsError::Network { reason, .. } if reason.contains("does not speak TLS") => {
            Advice::new(format!("{host}:{port} answers plain HTTP, not TLS")).fix(format!(
                "use http://{host}:{port} in KUBESPHERE_URL, or the https address of the ingress if there is one"
            ))
        }
        KsError::Network { reason, .. } if reason.contains("TLS") => Advice::new(format!("the TLS handshake with {host} failed"))
            .fix("check that KUBESPHERE_URL's scheme and port match the server (https for the TLS port, http for the plain one)"),
        KsError::Network { reason, .. } if reason.contains("DNS") => {
            Advice::new(format!("the host name {host} does not resolve from this machine")).fix("check the spelling of KUBESPHERE_URL, DNS and VPN")
        }
        KsError::Network { reason, .. } if reason.contains("refused") => Advice::new(format!(
            "nothing accepts connections at {host}:{port} (wrong port, service down, or a firewall)"
        ))
        .fix(format!(
            "check the port of KUBESPHERE_URL{}",
            if url.scheme() == "http" { "; if the server uses TLS, use https://" } else { "" }
        ))
        .admin(svc),
        KsError::Network { .. } => Advice::new(format!("the connection to {host}:{port} broke before an answer arrived"))
            .fix(if url.scheme() == "http" {
                "the port may expect TLS: try https:// in KUBESPHERE_URL; otherwise check proxies between you and KubeSphere"
            } else {
                "check proxies and firewalls between you and KubeSphere, then run doctor again"
            }),
        KsError::Timeout { .. } => Advice::new(format!("{host} did not answer in time"))
            .fix("check firewalls and proxies (HTTPS_PROXY/NO_PROXY), or raise KUBESPHERE_TIMEOUT if KubeSphere is just slow"),
        KsError::InvalidResponse { reason, .. } if reason.contains("HTML") => console_advice(),
        KsError::Upstream { status, message, .. } if (300..400).contains(status) || message.contains("HTML") => {
            console_advice()
        }
        KsError::BadRequest { message, .. } | KsError::NotFound { message, .. } if message.contains("HTML") => {
            console_advice()
        }
        KsError::NotFound { .. } => Advice::new("the address answers, but has no /healthz: it is not ks-apiserver (or it has a path prefix)")
            .fix("point KUBESPHERE_URL at ks-apiserver itself, without a path")
            .admin(svc),
        _ => Advice::new("KubeSphere's API server did not answer its health check as expected")
            .fix("check that KUBESPHERE_URL is the ks-apiserver address and that KubeSphere is up")
            .admin("`kubectl -n kubesphere-system get pods -l app=ks-apiserver` and its logs"),
    }
}

fn console_advice() -> Advice {
    Advice::new("the address serves web pages: it looks like the KubeSphere console (ks-console), not the API server (ks-apiserver)")
        .fix("set KUBESPHERE_URL to the ks-apiserver address, not the console's (the console usually listens on port 30880; the API server is a different service)")
        .admin("`kubectl -n kubesphere-system get svc ks-apiserver` shows the API service; expose it (NodePort, LoadBalancer or an ingress) and give the user its address")
}

/// Logs in (or checks the fixed token) and reports the token lifetime.
pub(super) async fn login(client: &KsClient) -> (Check, Option<String>) {
    let step = Step::start("login", "OAuth login and token");
    let identity = match client.identity().await {
        Ok(i) => i,
        Err(e) => {
            let detail = e.to_string();
            return (
                step.fail(detail, login_advice(&e, &client.settings().credentials)),
                None,
            );
        }
    };
    // The token must also be accepted by an API call.
    let confirmed = match client.userinfo().await {
        Ok(info) => info.username().map(str::to_string),
        Err(e) => {
            let detail = e.to_string();
            return (
                step.fail(detail, login_advice(&e, &client.settings().credentials)),
                identity.username,
            );
        }
    };
    let user = confirmed.or(identity.username);
    let who = user.clone().unwrap_or_else(|| "an unnamed user".into());
    let left = identity
        .token_expires_at
        .and_then(|t| t.duration_since(SystemTime::now()).ok());
    let lifetime = match (left, identity.renewable) {
        (Some(d), true) => format!("token valid {} more, renewed automatically", human(d.as_secs())),
        (Some(d), false) => format!("fixed token valid {} more, cannot be renewed", human(d.as_secs())),
        (None, true) => "token without expiry, renewed automatically".into(),
        (None, false) => "fixed token without a stated expiry".into(),
    };
    let detail = format!("logged in as {who}; {lifetime}");
    if !identity.renewable && left.is_some_and(|d| d.as_secs() < 600) {
        return (
            step.warn(
                detail,
                "the fixed KUBESPHERE_TOKEN expires within 10 minutes; get a fresh one, or use KUBESPHERE_USERNAME/KUBESPHERE_PASSWORD so the server renews it",
            ),
            user,
        );
    }
    (step.pass(detail), user)
}

fn human(secs: u64) -> String {
    if secs >= 3600 {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    } else {
        format!("{}m", secs / 60)
    }
}

fn login_advice(e: &KsError, creds: &Credentials) -> Advice {
    match e {
        KsError::Login { error, .. } if error == "invalid_grant" => Advice::new(
            "KubeSphere refused the user name or password (or the account is disabled)",
        )
        .fix("check KUBESPHERE_USERNAME and KUBESPHERE_PASSWORD (or --password-file); try them in the console")
        .admin("if the account is disabled or locked: `kubectl get user <name> -o jsonpath='{.status.state}'`, and re-enable it in the console (Platform → Access Control → Users)"),
        KsError::Login { error, .. } if error == "invalid_client" || error == "unauthorized_client" => {
            Advice::new("KubeSphere does not know the OAuth client id/secret this server sends")
                .fix("unset KUBESPHERE_CLIENT_ID/KUBESPHERE_CLIENT_SECRET to use the default kubesphere/kubesphere client")
                .admin("`kubectl -n kubesphere-system get secret oauthclient-kubesphere` must exist (the ks-core chart installs it on the host cluster)")
        }
        KsError::Login { error, .. } if error == "unsupported_grant_type" => {
            Advice::new("the OAuth client is not trusted for the password grant")
                .fix("use the default kubesphere client, or log in to the console and set KUBESPHERE_TOKEN instead")
                .admin("mark the OAuth client `trusted: true` in its secret (config.kubesphere.io/type=oauthclient) in kubesphere-system")
        }
        KsError::Login { error, .. } => Advice::new(format!("the OAuth login failed ({error})"))
            .fix("check the login settings (KUBESPHERE_USERNAME, KUBESPHERE_PASSWORD, client id) and the URL"),
        KsError::Unauthorized { .. } => match creds {
            Credentials::Token(_) => Advice::new("KubeSphere refused the bearer token (expired, revoked, or from another KubeSphere)")
                .fix("get a fresh token, or use KUBESPHERE_USERNAME/KUBESPHERE_PASSWORD so the server logs in and renews by itself"),
            _ => Advice::new("KubeSphere refused the fresh token it just issued")
                .fix("check that KUBESPHERE_URL is the host cluster's ks-apiserver (tokens are issued only by the host)"),
        },
        KsError::InvalidResponse { reason, .. } if reason.contains("HTML") => console_advice(),
        other => Advice::new(format!("the login did not complete: {}", other.kind()))
            .fix("check the URL and login settings, then run doctor again"),
    }
}
