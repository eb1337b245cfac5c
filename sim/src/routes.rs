//! Request routing: OAuth, authentication, the cluster prefix,
//! authorization, then the per-API handlers.

use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::auth::{self, Authn};
use crate::state::State;
use crate::util::{self, Attrs};
use crate::{Shared, SimOptions};

pub(crate) struct Req {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Everything a handler needs.
pub(crate) struct Ctx<'a> {
    pub st: &'a mut State,
    pub user: String,
    pub cluster: String,
    pub now: DateTime<Utc>,
    pub req: &'a Req,
    pub query: Vec<(String, String)>,
    pub phase: Duration,
    pub opts: &'a SimOptions,
}

impl Ctx<'_> {
    pub(crate) fn q(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    pub(crate) fn method(&self) -> &str {
        &self.req.method
    }
    /// Parses the body as JSON; errors are 400 text like Go's decoder.
    pub(crate) fn body_json(&self) -> Result<Value, Response> {
        if self.req.body.is_empty() {
            return Err(util::text_err(400, "EOF"));
        }
        serde_json::from_slice(&self.req.body).map_err(|e| util::text_err(400, &go_json_error(&e)))
    }
    /// Like [`Ctx::body_json`] but an empty body is `None`.
    pub(crate) fn body_json_opt(&self) -> Result<Option<Value>, Response> {
        if self.req.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        self.body_json().map(Some)
    }
    fn accept(&self) -> Option<&str> {
        self.req.headers.get("accept").and_then(|v| v.to_str().ok())
    }
    /// go-restful content negotiation for `application/json` routes.
    pub(crate) fn accepts_json(&self) -> bool {
        match self.accept() {
            None => true,
            Some(a) => {
                a.trim().is_empty()
                    || a.split(',').any(|p| {
                        let p = p.split(';').next().unwrap_or("").trim();
                        p == "*/*" || p == "application/*" || p == "application/json"
                    })
            }
        }
    }
    /// §16 U15: log routes accept only `*/*` (see [`crate::logs::accepts`]).
    pub(crate) fn accepts_log(&self) -> bool {
        crate::logs::accepts(self.accept())
    }
}

fn go_json_error(e: &serde_json::Error) -> String {
    if e.is_eof() {
        "unexpected end of JSON input".into()
    } else if e.is_syntax() {
        format!("invalid character in JSON input: {e}")
    } else {
        format!("json: cannot unmarshal: {e}")
    }
}

/// The request path as upstream routes it (§16 U3).
///
/// ks-apiserver re-proxies the *decoded* `URL.Path` (upstream: kubesphere
/// `pkg/apiserver/filters/apiservice.go:81` `location.Path = req.URL.Path`,
/// `filters/multicluster.go:96`) and go-restful matches routes on the
/// decoded path too (upstream: go-restful v3 `curly.go:23`
/// `tokenizePath(httpRequest.URL.Path)`, `route.go` `tokenizePath` trims the
/// trailing slash): the whole path is decoded once, then split on `/`, so a
/// `%2F` inside a segment makes two segments and `%252F` reaches a handler as
/// `%2F`.
struct RoutedPath {
    /// Decoded segments (trailing empty segment dropped).
    segs: Vec<String>,
    /// The decoded path holds `.`, `..` or empty segments: the ServeMux in
    /// front of go-restful answers 301 to the cleaned path instead of
    /// routing it (upstream: go-restful v3 `container.go` `ServeHTTP` ->
    /// `c.ServeMux.ServeHTTP`; go 1.23 `net/http/server.go`
    /// `ServeMux.findHandler`: `if path != escapedPath` -> 301
    /// `RedirectHandler`). ks-devops is built with go 1.23 (its `go.mod`).
    unclean: bool,
    decoded: String,
}

fn routed_path(raw: &str) -> Option<RoutedPath> {
    let decoded = util::go_unescape_path(raw)?;
    let unclean = util::go_clean_path(&decoded) != decoded;
    let mut segs: Vec<String> = decoded.split('/').skip(1).map(str::to_string).collect();
    if segs.last().is_some_and(String::is_empty) {
        segs.pop();
    }
    Some(RoutedPath { segs, unclean, decoded })
}

/// The ServeMux redirect for an unclean path. The cluster prefix is already
/// gone when ks-devops sees the request (upstream: kubesphere
/// `filters/multicluster.go` strips `/clusters/{c}` before proxying), so the
/// `Location` names the path without it: a client that follows redirects
/// lands on whatever `..` pointed at.
fn redirect_to_clean(decoded_without_prefix: &str, query: Option<&str>, method: &str) -> Response {
    let mut loc = util::go_escape_path(&util::go_clean_path(decoded_without_prefix));
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        loc.push('?');
        loc.push_str(q);
    }
    // upstream: go `net/http/server.go` `Redirect`: a short HTML body for GET and HEAD only.
    let body = if method == "GET" || method == "HEAD" {
        format!("<a href=\"{}\">Moved Permanently</a>.\n\n", loc.replace('"', "&#34;"))
    } else {
        String::new()
    };
    let mut r = util::resp(301, "text/html; charset=utf-8", body);
    util::set_header(&mut r, "location", &loc);
    r
}

/// Handles one request (sync, under the state lock).
pub(crate) fn route(shared: &Shared, req: &Req) -> Response {
    let Some(rp) = routed_path(&req.path) else {
        // upstream: go `net/http/server.go` `conn.serve`: a request target
        // that `url.ParseRequestURI` refuses gets this fixed answer.
        return util::resp(400, "text/plain; charset=utf-8", "400 Bad Request");
    };
    let segs = rp.segs;
    let mut st = shared.lock();
    let now = Utc::now();
    st.tick(now);
    if rp.unclean
        && matches!(
            segs.first().map(String::as_str),
            Some("oauth" | "healthz" | "livez" | "readyz")
        )
    {
        return redirect_to_clean(&rp.decoded, req.query.as_deref(), &req.method);
    }
    match segs.first().map(String::as_str) {
        Some("oauth") => {
            return match segs.get(1).map(String::as_str) {
                Some("token") if segs.len() == 2 => auth::token(&mut st, &shared.opts, req),
                Some("userinfo") if segs.len() == 2 => auth::userinfo(&st, req),
                _ => util::restful(404),
            };
        }
        Some("healthz") | Some("livez") | Some("readyz") if segs.len() == 1 => {
            return util::resp(200, "text/plain; charset=utf-8", "ok");
        }
        _ => {}
    }
    let authn = match auth::authenticate(&st, &req.headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    // Cluster prefix.
    let (cluster, segs) = match segs.as_slice() {
        [c0, c, rest @ ..] if c0 == "clusters" => (c.clone(), rest.to_vec()),
        [k, c0, c, rest @ ..] if k == "kapis" && c0 == "clusters" => {
            let mut v = vec!["kapis".to_string()];
            v.extend_from_slice(rest);
            (c.clone(), v)
        }
        _ => ("host".to_string(), segs),
    };
    let user = match authn {
        Authn::User(u) => u,
        Authn::Anonymous => {
            return util::forbidden("system:anonymous", &auth::attrs(&req.method, &segs));
        }
    };
    if !st.clusters.contains_key(&cluster) {
        return util::k8s_status(400, "BadRequest", &format!("cluster {cluster} not exists"), None);
    }
    // An extension that is not installed: no APIService proxies its group
    // (`kubesphere:pkg/apiserver/filters/apiservice.go`), so the request
    // falls through to ks-apiserver's own go-restful container, which has no
    // such route.
    if let [k, group, ..] = segs.as_slice()
        && k == "kapis"
        && shared.opts.uninstalled_groups.iter().any(|g| g == group)
    {
        return util::restful(404);
    }
    if let Err(a) = authorize(&st, &shared.opts, &user, &cluster, &req.method, &segs) {
        return util::forbidden(&user, &a);
    }
    // Authorization ran on the unclean path (upstream: kubesphere
    // `pkg/apiserver/request/requestinfo.go` `splitPath` only trims); the
    // ServeMux behind it redirects instead of routing.
    if rp.unclean {
        let prefix = format!("/clusters/{cluster}");
        let without = match rp.decoded.strip_prefix(&prefix) {
            Some(rest) if rest.starts_with('/') => rest.to_string(),
            _ => rp.decoded.clone(),
        };
        return redirect_to_clean(&without, req.query.as_deref(), &req.method);
    }
    let mut ctx = Ctx {
        st: &mut st,
        user,
        cluster,
        now,
        req,
        query: util::parse_pairs(req.query.as_deref()),
        phase: shared.phase(),
        opts: &shared.opts,
    };
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let resp = match s.as_slice() {
        ["kapis", "tenant.kubesphere.io", "v1beta1", rest @ ..] => crate::projects::tenant(&mut ctx, rest),
        ["kapis", "iam.kubesphere.io", "v1beta1", rest @ ..] => crate::projects::iam(&mut ctx, rest),
        ["kapis", "devops.kubesphere.io", "v1alpha3", rest @ ..] => {
            if !ctx.accepts_json() && !is_v3_non_json(rest) {
                return util::restful(406);
            }
            crate::projects::dv3(&mut ctx, rest)
                .or_else(|| crate::pipelines::dv3(&mut ctx, rest))
                .or_else(|| crate::runs::dv3(&mut ctx, rest))
                .or_else(|| crate::creds::dv3(&mut ctx, rest))
                .or_else(|| crate::gitops::dv3(&mut ctx, rest))
                .or_else(|| crate::gitbrowse::dv3(&mut ctx, rest))
                .or_else(|| crate::ci::dv3(&mut ctx, rest))
                .or_else(|| crate::templates::dv3(&mut ctx, rest))
        }
        ["kapis", "devops.kubesphere.io", "v1alpha2", rest @ ..] => crate::pipelines::dv2(&mut ctx, rest)
            .or_else(|| crate::authoring::dv2(&mut ctx, rest))
            .or_else(|| crate::quality::dv2(&mut ctx, rest))
            .or_else(|| crate::runs::dv2(&mut ctx, rest))
            .or_else(|| crate::creds::dv2(&mut ctx, rest)),
        ["kapis", "gitops.kubesphere.io", "v1alpha1", rest @ ..] => {
            if !ctx.accepts_json() {
                return util::restful(406);
            }
            crate::gitops::go1(&mut ctx, rest)
        }
        _ => None,
    };
    resp.unwrap_or_else(|| util::restful(404))
}

/// v1alpha3 routes that do their own Accept handling.
fn is_v3_non_json(rest: &[&str]) -> bool {
    matches!(rest, ["namespaces", _, "pipelineruns", _, "artifacts", "download"])
}

/// Authorization filter (KubeSphere RBAC, simplified): a user reaches the
/// workspaces it belongs to and the DevOps projects of those workspaces.
/// A namespace that does not exist is refused too, since no role binding
/// can exist for it.
fn authorize(
    st: &State,
    opts: &SimOptions,
    user: &str,
    cluster: &str,
    method: &str,
    segs: &[String],
) -> Result<(), Attrs> {
    let deny = || Err(auth::attrs(method, segs));
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["kapis", "tenant.kubesphere.io", _, rest @ ..] => match rest {
            ["workspaces", ws, ..] => {
                if st.is_member(user, ws) || (opts.foreign_workspace_get_allowed && method == "GET") {
                    Ok(())
                } else {
                    deny()
                }
            }
            _ => Ok(()),
        },
        ["kapis", "iam.kubesphere.io", _, "users", u, ..] => {
            if *u == user {
                Ok(())
            } else {
                deny()
            }
        }
        ["kapis", "gitops.kubesphere.io", _, "clusters"] => Ok(()),
        // Read by the console's pipeline editor for every tenant; the DevOps
        // extension's role templates grant them to authenticated users
        // (assumed: not settled from source).
        ["kapis", "devops.kubesphere.io", "v1alpha3", "ci", "nodelabels"]
        | ["kapis", "devops.kubesphere.io", "v1alpha3", "clustertemplates"]
            if method == "GET" =>
        {
            Ok(())
        }
        // Rendering a cluster template is what the console's "create from
        // template" does for every tenant (assumed granted like the list).
        [
            "kapis",
            "devops.kubesphere.io",
            "v1alpha3",
            "clustertemplates",
            _,
            "render",
        ] if method == "POST" => Ok(()),
        // DevOps project management (§16.1). Creating one is a workspace-level
        // `create namespaces` in `devops.kubesphere.io`: granted to the
        // workspace's admins (the `{ws}-admin` WorkspaceRole the workspace
        // controller binds to `spec.manager`) and self-provisioners, not to
        // plain members (`{ws}-regular`, `{ws}-viewer`).
        // upstream: kubesphere config/ks-core/templates/workspaceroles*.yaml,
        // ks-devops extension role templates (`role-template-create-devops`).
        ["kapis", "devops.kubesphere.io", _, "workspaces", ws, "namespaces"] if method == "POST" => {
            if st.is_workspace_admin(user, ws) {
                Ok(())
            } else {
                deny()
            }
        }
        // Changing or deleting one: requestinfo puts the project in the
        // namespace (`namespaces/{devops}`), so RBAC asks for `delete
        // namespaces` in that namespace: its admins (a namespace
        // RoleBinding, the creator's) or the admins of the workspace the
        // namespace is labelled with; plain workspace members may not.
        [
            "kapis",
            "devops.kubesphere.io",
            _,
            "workspaces",
            _,
            "namespaces",
            devops,
        ] if matches!(method, "PUT" | "DELETE") => match st.project(cluster, devops) {
            Some(p)
                if p.role_bindings.iter().any(|b| b == user)
                    || p.ns_workspace
                        .as_deref()
                        .is_some_and(|w| st.is_workspace_admin(user, w)) =>
            {
                Ok(())
            }
            _ => deny(),
        },
        ["kapis", _, _, "namespaces", ns, ..] => {
            if st.may_access_ns(user, cluster, ns) {
                Ok(())
            } else {
                deny()
            }
        }
        ["kapis", _, _, "workspaces", ws, ..] => {
            if st.is_member(user, ws) {
                Ok(())
            } else {
                deny()
            }
        }
        _ => deny(),
    }
}
