//! OAuth (§2), bearer authentication (§1) and the requestinfo-style
//! authorization attributes used for 403 messages (§12.1).

use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::SimOptions;
use crate::routes::Req;
use crate::state::{State, Token};
use crate::util::{self, Attrs};

fn oauth_err(code: u16, error: &str, desc: &str) -> Response {
    let mut r = util::json(code, &json!({"error": error, "error_description": desc}));
    util::set_header(&mut r, "cache-control", "no-store");
    util::set_header(&mut r, "pragma", "no-cache");
    r
}

fn jwt(user: &str, kind: &str, iat: i64, exp: i64) -> String {
    let header = util::b64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({
        "iss": "kubesphere",
        "sub": user,
        "iat": iat,
        "exp": exp,
        "username": user,
        "token_type": kind,
    });
    let payload = util::b64url(claims.to_string().as_bytes());
    let sig = util::b64url(util::random_hex(64).as_bytes());
    format!("{header}.{payload}.{}", &sig[..43.min(sig.len())])
}

fn dur(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::seconds(7200))
}

/// Issues an access and a refresh token for `user`.
pub(crate) fn issue_pair(st: &mut State, opts: &SimOptions, user: &str) -> (String, String) {
    let now = Utc::now();
    let a_exp = now + dur(opts.token_ttl);
    let r_exp = now + dur(opts.refresh_ttl);
    let access = jwt(user, "access_token", now.timestamp(), a_exp.timestamp());
    let refresh = jwt(user, "refresh_token", now.timestamp(), r_exp.timestamp());
    st.tokens.insert(
        access.clone(),
        Token {
            username: user.to_string(),
            refresh: false,
            expires: a_exp,
            revoked: false,
        },
    );
    st.tokens.insert(
        refresh.clone(),
        Token {
            username: user.to_string(),
            refresh: true,
            expires: r_exp,
            revoked: false,
        },
    );
    (access, refresh)
}

/// `POST /oauth/token`.
pub(crate) fn token(st: &mut State, opts: &SimOptions, req: &Req) -> Response {
    if req.method != "POST" {
        return util::restful(405);
    }
    let ct = req
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
        return util::restful(415);
    }
    let form = util::parse_pairs(std::str::from_utf8(&req.body).ok());
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    if get("client_id") != "kubesphere" {
        return oauth_err(
            400,
            "invalid_client",
            "The provided client_id is invalid or does not exist.",
        );
    }
    if get("client_secret") != "kubesphere" {
        return oauth_err(401, "unauthorized_client", "Invalid client credential.");
    }
    let user = match get("grant_type") {
        "password" => {
            let username = get("username");
            match st.users.get_mut(username) {
                Some(u) if u.password == get("password") => {
                    u.last_login = Some(Utc::now());
                    username.to_string()
                }
                _ => return oauth_err(400, "invalid_grant", "Invalid username or password."),
            }
        }
        "refresh_token" => {
            let now = Utc::now();
            match st.tokens.get(get("refresh_token")) {
                Some(t) if t.refresh && !t.revoked && t.expires > now => t.username.clone(),
                _ => {
                    return oauth_err(400, "invalid_grant", "The refresh token is invalid or expired.");
                }
            }
        }
        _ => {
            return oauth_err(
                400,
                "unsupported_grant_type",
                "The provided grant_type is not supported.",
            );
        }
    };
    let (access, refresh) = issue_pair(st, opts, &user);
    let mut r = util::ok_json(&json!({
        "access_token": access,
        "token_type": "Bearer",
        "refresh_token": refresh,
        "expires_in": opts.token_ttl.as_secs(),
    }));
    util::set_header(&mut r, "cache-control", "no-store");
    util::set_header(&mut r, "pragma", "no-cache");
    r
}

/// Result of the authentication filter.
pub(crate) enum Authn {
    User(String),
    Anonymous,
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers
        .get("x-kubesphere-authorization")
        .or_else(|| headers.get("authorization"))?
        .to_str()
        .ok()?;
    let (scheme, tok) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| tok.trim().to_string())
}

/// Authentication filter: 401 `Status` for a bad or expired token.
pub(crate) fn authenticate(st: &State, headers: &HeaderMap) -> Result<Authn, Response> {
    let Some(tok) = bearer(headers) else {
        return Ok(Authn::Anonymous);
    };
    if tok.split('.').count() != 3 {
        return Err(util::unauthorized("token contains an invalid number of segments"));
    }
    match st.tokens.get(&tok) {
        None => Err(util::unauthorized("token signature is invalid: signature is invalid")),
        Some(t) if t.refresh => Err(util::unauthorized("invalid token type: refresh_token")),
        Some(t) if t.revoked => Err(util::unauthorized("token not found in cache")),
        Some(t) if t.expires <= Utc::now() => Err(util::unauthorized("token has invalid claims: token is expired")),
        Some(t) => Ok(Authn::User(t.username.clone())),
    }
}

/// `GET /oauth/userinfo`.
pub(crate) fn userinfo(st: &State, req: &Req) -> Response {
    match authenticate(st, &req.headers) {
        Ok(Authn::User(u)) => {
            let email = st.users.get(&u).map(|x| x.email.clone()).unwrap_or_default();
            util::ok_json(&json!({"sub": u, "url": u, "email": email, "locale": "en", "preferred_username": u}))
        }
        _ => util::json(401, &Value::String("login_required".into())),
    }
}

/// KubeSphere requestinfo: the resource attributes of a `/kapis` or `/apis` path
/// (segments after any cluster prefix).
pub(crate) fn attrs(method: &str, segs: &[String]) -> Attrs {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (group, rest): (&str, &[&str]) = match s.as_slice() {
        ["kapis", g, _v, rest @ ..] => (g, rest),
        ["apis", g, _v, rest @ ..] => (g, rest),
        ["api", _v, rest @ ..] => ("", rest),
        _ => {
            return Attrs {
                verb: method_verb(method, false).to_string(),
                path: Some(format!("/{}", s.join("/"))),
                ..Attrs::default()
            };
        }
    };
    let mut a = Attrs {
        group: group.to_string(),
        ..Attrs::default()
    };
    let rest: &[&str] = match rest {
        ["workspaces", ws, more @ ..] if !more.is_empty() => {
            let _ = ws;
            more
        }
        other => other,
    };
    let rest: &[&str] = match rest {
        ["namespaces", ns, more @ ..] if !more.is_empty() => {
            a.namespace = ns.to_string();
            more
        }
        // upstream: kubesphere pkg/apiserver/request/requestinfo.go:241-252:
        // `namespaces/{ns}` alone sets the namespace too and stays the
        // resource (`namespaces`, name `{ns}`), e.g. a DevOps project under
        // `workspaces/{ws}/namespaces/{devops}`.
        ["namespaces", ns] => {
            a.namespace = ns.to_string();
            rest
        }
        other => other,
    };
    if let Some(r) = rest.first() {
        a.resource = r.to_string();
    }
    if let Some(n) = rest.get(1) {
        a.name = n.to_string();
    }
    if let Some(sub) = rest.get(2) {
        a.subresource = sub.to_string();
    }
    a.verb = method_verb(method, !a.name.is_empty()).to_string();
    a
}

fn method_verb(method: &str, named: bool) -> &'static str {
    match method {
        "GET" | "HEAD" => {
            if named {
                "get"
            } else {
                "list"
            }
        }
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" => {
            if named {
                "delete"
            } else {
                "deletecollection"
            }
        }
        _ => "get",
    }
}
