//! Pipeline templates (§16.1): `Template` (per DevOps project) and
//! `ClusterTemplate` CRs, listed and rendered by ks-devops
//! (`pkg/kapis/devops/v1alpha3/template/`).
//!
//! Rendering is Go `text/template` with `$(` `)` delimiters over
//! `{"params": {name: value}}` (upstream: `render.go`). The simulator
//! implements the subset templates use: `$(.params.NAME)`,
//! `$(if PIPE)…$(else)…$(end)` with `PIPE` a value or `eq`/`ne` of two
//! operands.

use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::routes::Ctx;
use crate::util::{self, ListQuery, k8s_time};

/// The render result annotation (upstream: `pkg/api/devops/register.go:20-23`
/// `GroupName + RenderResultAnnoKey`).
pub(crate) const RENDER_RESULT: &str = "devops.kubesphere.io/render-result";

#[allow(clippy::too_many_arguments)]
fn template_cr(
    kind: &str,
    ns: Option<&str>,
    name: &str,
    display: &str,
    description: &str,
    parameters: Value,
    template: &str,
    created: DateTime<Utc>,
) -> Value {
    let mut meta = json!({
        "name": name,
        "uid": format!("{:032x}", util::fnv(&format!("{kind}/{name}")) as u128 * 104729),
        "resourceVersion": "1",
        "generation": 1,
        "creationTimestamp": k8s_time(created),
        "annotations": {
            "devops.kubesphere.io/displayNameEN": display,
            "devops.kubesphere.io/descriptionEN": description,
        },
    });
    if let Some(ns) = ns {
        meta["namespace"] = json!(ns);
    }
    json!({
        "kind": kind,
        "apiVersion": "devops.kubesphere.io/v1alpha3",
        "metadata": meta,
        "spec": {"parameters": parameters, "template": template},
        "status": {},
    })
}

/// The cluster templates of the simulated installation. The parameter
/// shape follows upstream's sample (`config/samples/devops_v1alpha1_clustertemplate.yaml`:
/// `name`, `description`, `required`, `default` (any JSON), `type`).
pub(crate) fn cluster_templates(created: DateTime<Utc>) -> Vec<Value> {
    let checkout = json!([
        {"name": "cloneURL", "description": "Repository URL to clone", "required": true, "type": "string"},
        {"name": "revision", "description": "Revision to clone", "default": "main", "type": "string"},
    ]);
    vec![
        template_cr(
            "ClusterTemplate",
            None,
            "golang",
            "Golang",
            "Builds and tests a Go module",
            checkout.clone(),
            "pipeline {\n  agent { label 'go' }\n  stages {\n    stage('Checkout') {\n      steps {\n        git branch: '$(.params.revision)', url: '$(.params.cloneURL)'\n      }\n    }\n    stage('Test') {\n      steps {\n        container('go') {\n          sh 'go test ./...'\n        }\n      }\n    }\n  }\n}\n",
            created,
        ),
        template_cr(
            "ClusterTemplate",
            None,
            "maven",
            "Maven",
            "Builds a Java project with Maven",
            checkout,
            "pipeline {\n  agent { label 'maven' }\n  stages {\n    stage('Checkout') {\n      steps {\n        git branch: '$(.params.revision)', url: '$(.params.cloneURL)'\n      }\n    }\n    stage('Build') {\n      steps {\n        container('maven') {\n          sh 'mvn -B package'\n        }\n      }\n    }\n  }\n}\n",
            created,
        ),
        template_cr(
            "ClusterTemplate",
            None,
            "simple",
            "Simple",
            "A pipeline with one stage that prints a message",
            json!([{"name": "message", "description": "What the pipeline prints", "default": "hello", "type": "string"}]),
            "pipeline {\n  agent any\n  stages {\n    stage('Say') {\n      steps {\n        echo '$(.params.message)'\n      }\n    }\n  }\n}\n",
            created,
        ),
    ]
}

/// The namespace template seeded in `stone-devops`.
pub(crate) fn seeded_namespace_template(ns: &str, created: DateTime<Utc>) -> Value {
    template_cr(
        "Template",
        Some(ns),
        "node-ci",
        "Node.js CI",
        "Installs, tests and optionally packages a Node.js app",
        json!([
            {"name": "nodeVersion", "description": "Node.js major version", "default": "20", "type": "string"},
            {"name": "package", "description": "Also package the app (\"true\" or \"false\")", "default": "true", "type": "string"},
        ]),
        "pipeline {\n  agent { label 'nodejs' }\n  stages {\n    stage('Install') {\n      steps {\n        sh 'echo using node $(.params.nodeVersion) && npm ci'\n      }\n    }\n    stage('Test') {\n      steps {\n        sh 'npm test'\n      }\n    }\n$(if eq .params.package \"true\")    stage('Package') {\n      steps {\n        sh 'npm pack'\n        archiveArtifacts artifacts: 'app.tgz'\n      }\n    }\n$(end)  }\n}\n",
        created,
    )
}

// ---------------------------------------------------------------------------
// Go text/template subset.

#[derive(Debug)]
enum Tok {
    Text(String),
    Action(String),
}

#[derive(Debug)]
enum TNode {
    Text(String),
    Value(String),
    If(String, Vec<TNode>, Vec<TNode>),
}

struct ParseError;
struct ExecError;

fn lex(src: &str) -> Result<Vec<Tok>, ParseError> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(p) = rest.find("$(") {
        out.push(Tok::Text(rest[..p].to_string()));
        let after = &rest[p + 2..];
        // upstream: text/template lexer `unclosed action`.
        let end = after.find(')').ok_or(ParseError)?;
        // A `)` inside a quoted operand is not the delimiter.
        let mut e = end;
        let mut in_q = false;
        for (i, c) in after.char_indices() {
            if c == '"' {
                in_q = !in_q;
            } else if c == ')' && !in_q {
                e = i;
                break;
            }
        }
        out.push(Tok::Action(after[..e].trim().to_string()));
        rest = &after[e + 1..];
    }
    out.push(Tok::Text(rest.to_string()));
    Ok(out)
}

fn parse_nodes(
    toks: &mut std::iter::Peekable<std::vec::IntoIter<Tok>>,
    nested: bool,
) -> Result<(Vec<TNode>, Option<String>), ParseError> {
    let mut nodes = Vec::new();
    while let Some(t) = toks.next() {
        match t {
            Tok::Text(s) => nodes.push(TNode::Text(s)),
            Tok::Action(a) if a == "end" || a == "else" => {
                if !nested {
                    // upstream: text/template parse `unexpected {{end}}`.
                    return Err(ParseError);
                }
                return Ok((nodes, Some(a)));
            }
            Tok::Action(a) if a.starts_with("if ") => {
                let cond = a[3..].trim().to_string();
                let (then, how) = parse_nodes(toks, true)?;
                let otherwise = match how.as_deref() {
                    Some("else") => {
                        let (e, how) = parse_nodes(toks, true)?;
                        if how.as_deref() != Some("end") {
                            return Err(ParseError);
                        }
                        e
                    }
                    Some("end") => Vec::new(),
                    _ => return Err(ParseError),
                };
                nodes.push(TNode::If(cond, then, otherwise));
            }
            Tok::Action(a) => {
                if !(a.starts_with(".params.") || a == ".params" || is_literal(&a)) {
                    // Functions and pipelines the simulator does not know
                    // count as template syntax errors.
                    return Err(ParseError);
                }
                nodes.push(TNode::Value(a));
            }
        }
    }
    if nested {
        // upstream: text/template parse `unexpected EOF`.
        return Err(ParseError);
    }
    Ok((nodes, None))
}

fn is_literal(s: &str) -> bool {
    (s.starts_with('"') && s.ends_with('"') && s.len() >= 2) || s == "true" || s == "false" || s.parse::<f64>().is_ok()
}

/// An operand's value: `None` is a missing map key (text/template prints
/// `<no value>` for it).
fn operand(expr: &str, params: &serde_json::Map<String, Value>) -> Option<Value> {
    if let Some(k) = expr.strip_prefix(".params.") {
        return params.get(k).cloned();
    }
    if let Some(s) = expr.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return Some(json!(s));
    }
    serde_json::from_str(expr).ok()
}

/// Go's `%v` of a JSON-decoded value (`encoding/json` into `interface{}`:
/// numbers are float64).
fn go_print(v: &Option<Value>) -> String {
    match v {
        None | Some(Value::Null) => "<no value>".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => {
            let f = n.as_f64().unwrap_or(0.0);
            if f.fract() == 0.0 && f.abs() < 1e21 {
                format!("{}", f as i64)
            } else {
                format!("{f}")
            }
        }
        Some(Value::Array(a)) => format!(
            "[{}]",
            a.iter()
                .map(|x| go_print(&Some(x.clone())))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Some(Value::Object(o)) => format!(
            "map[{}]",
            o.iter()
                .map(|(k, x)| format!("{k}:{}", go_print(&Some(x.clone()))))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

fn truthy(v: &Option<Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

fn eval_cond(cond: &str, params: &serde_json::Map<String, Value>) -> Result<bool, ExecError> {
    let parts: Vec<&str> = split_args(cond);
    match parts.as_slice() {
        [op @ ("eq" | "ne"), a, b] => {
            let (a, b) = (operand(a, params), operand(b, params));
            // upstream: text/template `eq`: operands of different basic kinds
            // are `incompatible types for comparison`; a missing key too.
            let same = match (&a, &b) {
                (Some(Value::String(x)), Some(Value::String(y))) => x == y,
                (Some(Value::Bool(x)), Some(Value::Bool(y))) => x == y,
                (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() == y.as_f64(),
                _ => return Err(ExecError),
            };
            Ok(if *op == "eq" { same } else { !same })
        }
        [one] => Ok(truthy(&operand(one, params))),
        _ => Err(ExecError),
    }
}

fn split_args(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    let mut in_q = false;
    for (i, c) in s.char_indices() {
        if c == '"' {
            in_q = !in_q;
        }
        if c.is_whitespace() && !in_q {
            if let Some(st) = start.take() {
                out.push(&s[st..i]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push(&s[st..]);
    }
    out
}

fn exec(nodes: &[TNode], params: &serde_json::Map<String, Value>, out: &mut String) -> Result<(), ExecError> {
    for n in nodes {
        match n {
            TNode::Text(s) => out.push_str(s),
            TNode::Value(e) => out.push_str(&go_print(&operand(e, params))),
            TNode::If(c, then, otherwise) => {
                if eval_cond(c, params)? {
                    exec(then, params, out)?;
                } else {
                    exec(otherwise, params, out)?;
                }
            }
        }
    }
    Ok(())
}

/// upstream: ks-devops `pkg/kapis/devops/v1alpha3/template/render.go`
/// `render`: parse errors and execution errors are Kubernetes BadRequest
/// errors with fixed messages; parameters are NOT checked against the
/// template's declared ones, and declared defaults are NOT applied (the
/// `TODO Verify required parameters and default parameters`): a missing
/// value renders as `<no value>`.
fn render(cr: &Value, parameters: &[Value]) -> Result<Value, Response> {
    let raw = cr.pointer("/spec/template").and_then(Value::as_str).unwrap_or("");
    let tree = lex(raw)
        .and_then(|t| parse_nodes(&mut t.into_iter().peekable(), false))
        .map_err(|_| {
            util::text_err(
                400,
                "Failed to render template, please check the pipeline template for syntax error.",
            )
        })?;
    let mut params = serde_json::Map::new();
    for p in parameters {
        let name = p.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        params.insert(name, p.get("value").cloned().unwrap_or(Value::Null));
    }
    let mut out = String::new();
    exec(&tree.0, &params, &mut out).map_err(|_| {
        util::text_err(
            400,
            "Failed to render template, please check the parameters you provided.",
        )
    })?;
    let mut v = cr.clone();
    util::set_annotation(&mut v, RENDER_RESULT, out);
    Ok(v)
}

/// The body of a render request: `RenderBody{Parameters []Parameter}`
/// (`route.go:45-48`); an empty body is fine (`io.EOF` is ignored), a bad
/// one goes to `kapis.HandleError` (500 for a decode error).
fn render_params(ctx: &Ctx) -> Result<Vec<Value>, Response> {
    match ctx.body_json_opt() {
        Ok(None) => Ok(Vec::new()),
        Ok(Some(v)) => match v.get("parameters") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.clone()),
            Some(_) => Err(util::text_err(
                500,
                "json: cannot unmarshal object into Go struct field RenderBody.parameters of type []template.Parameter",
            )),
        },
        Err(_) => Err(util::text_err(500, "invalid character in JSON input")),
    }
}

/// `DV3` template routes.
pub(crate) fn dv3(ctx: &mut Ctx, rest: &[&str]) -> Option<Response> {
    Some(match rest {
        // upstream: `template_handler.go` `queryTemplate`: DefaultList +
        // `FromKSListResult` (`{"items":[…],"totalItems":N}`, items always a list).
        ["namespaces", ns, "templates"] => match ctx.method() {
            "GET" => {
                let Some(p) = ctx.st.project(&ctx.cluster, ns) else {
                    return Some(util::ok_json(&util::list_always(vec![], 0)));
                };
                let q = ListQuery::parse(&ctx.query);
                let items: Vec<Value> = p.templates.values().filter(|v| q.name_matches(v)).cloned().collect();
                let (page, total) = q.sort_and_page(items);
                util::ok_json(&util::list_always(page, total))
            }
            _ => util::restful(405),
        },
        ["namespaces", ns, "templates", name] => match ctx.method() {
            "GET" => match ctx.st.project(&ctx.cluster, ns).and_then(|p| p.templates.get(*name)) {
                Some(t) => util::ok_json(t),
                None => util::text_err(404, &format!("templates.devops.kubesphere.io \"{name}\" not found")),
            },
            _ => util::restful(405),
        },
        ["namespaces", ns, "templates", name, "render"] => match ctx.method() {
            "POST" => {
                let params = match render_params(ctx) {
                    Ok(p) => p,
                    Err(r) => return Some(r),
                };
                match ctx.st.project(&ctx.cluster, ns).and_then(|p| p.templates.get(*name)) {
                    Some(t) => match render(t, &params) {
                        Ok(v) => util::ok_json(&v),
                        Err(r) => r,
                    },
                    None => util::text_err(404, &format!("templates.devops.kubesphere.io \"{name}\" not found")),
                }
            }
            _ => util::restful(405),
        },
        // upstream: `cluster_template_handler.go:50` queryClusterTemplates.
        ["clustertemplates"] => match ctx.method() {
            "GET" => {
                let created = ctx.st.started - chrono::Duration::days(60);
                let q = ListQuery::parse(&ctx.query);
                let items: Vec<Value> = cluster_templates(created)
                    .into_iter()
                    .filter(|v| q.name_matches(v))
                    .collect();
                let (page, total) = q.sort_and_page(items);
                util::ok_json(&util::list_always(page, total))
            }
            _ => util::restful(405),
        },
        ["clustertemplates", name, "render"] => match ctx.method() {
            "POST" => {
                let params = match render_params(ctx) {
                    Ok(p) => p,
                    Err(r) => return Some(r),
                };
                let created = ctx.st.started - chrono::Duration::days(60);
                match cluster_templates(created)
                    .into_iter()
                    .find(|t| util::meta_name(t) == *name)
                {
                    Some(t) => match render(&t, &params) {
                        Ok(v) => util::ok_json(&v),
                        Err(r) => r,
                    },
                    None => util::text_err(
                        404,
                        &format!("clustertemplates.devops.kubesphere.io \"{name}\" not found"),
                    ),
                }
            }
            _ => util::restful(405),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: &str, params: Value) -> Result<String, u16> {
        let cr = json!({"metadata": {"name": "t"}, "spec": {"template": t}});
        let params = params.as_array().cloned().unwrap_or_default();
        render(&cr, &params)
            .map(|v| util::annotation(&v, RENDER_RESULT).unwrap_or("").to_string())
            .map_err(|r| r.status().as_u16())
    }

    #[test]
    fn renders_like_text_template() {
        assert_eq!(
            run("a $(.params.x) b", json!([{"name": "x", "value": "1"}])),
            Ok("a 1 b".into())
        );
        assert_eq!(run("$(.params.x)", json!([])), Ok("<no value>".into()));
        assert_eq!(run("$(.params.n)", json!([{"name": "n", "value": 3}])), Ok("3".into()));
        assert_eq!(
            run(
                "$(if eq .params.p \"true\")yes$(else)no$(end)",
                json!([{"name": "p", "value": "true"}])
            ),
            Ok("yes".into())
        );
        assert_eq!(
            run(
                "$(if ne .params.p \"true\")yes$(end)",
                json!([{"name": "p", "value": "false"}])
            ),
            Ok("yes".into())
        );
        // A bool compared with a string: incompatible types.
        assert_eq!(
            run(
                "$(if eq .params.p \"true\")yes$(end)",
                json!([{"name": "p", "value": true}])
            ),
            Err(400)
        );
        assert_eq!(run("$(if .params.p)x", json!([])), Err(400));
        assert_eq!(run("$(printf \"%s\" 1)", json!([])), Err(400));
        assert_eq!(run("$(.params.x", json!([])), Err(400));
    }

    #[test]
    fn seeded_templates_render_valid_jenkinsfiles() {
        let now = Utc::now();
        let mut all = cluster_templates(now);
        all.push(seeded_namespace_template("stone-devops", now));
        for t in all {
            let params: Vec<Value> = t
                .pointer("/spec/parameters")
                .and_then(Value::as_array)
                .unwrap()
                .iter()
                .map(|p| json!({"name": p["name"], "value": p.get("default").cloned().unwrap_or(json!("https://example.com/r.git"))}))
                .collect();
            let v = render(&t, &params).unwrap_or_else(|_| panic!("{t}"));
            let out = util::annotation(&v, RENDER_RESULT).unwrap();
            assert!(!out.contains("<no value>"), "{out}");
            assert!(crate::authoring::check_script(out).is_empty(), "{out}");
        }
    }
}
