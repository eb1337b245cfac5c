//! Hostile arguments for every tool, generated from its input schema
//! (property-based, `proptest`), through the MCP server and the simulated
//! KubeSphere. Each tool's schema is walked (types, enums, `oneOf`/`anyOf`,
//! arrays, free-key maps); a case is either a careful call of the tool (its
//! example (`ToolDef::EXAMPLE`, exported by `tools --examples`), or one below for tools that
//! change state) with one or two arguments made hostile (path tricks,
//! control and bidi characters, 100 KB values, wrong types, extreme numbers,
//! a required field left out), or an object generated from the schema alone.
//! For every call:
//!
//! * it is answered (within a deadline) and nothing panicked;
//! * every request KubeSphere received stays inside the tenant allowlist
//!   *as upstream routes it*: the recorded path is decoded once (ks-apiserver
//!   re-proxies and go-restful routes the decoded path, §16 U3) and must
//!   keep its segments (no `/` smuggled in an encoded segment), hold no
//!   empty, `.` or `..` segment, belong to a known tenant route family, and
//!   address no namespace other than the `project` the call was given (and
//!   never `kubesphere-devops-system` or the Jenkins proxy);
//! * an error text is under 2 KB and holds no raw control or bidi character.
//!
//! `KS_MCP_PROPTEST_CASES` sets the cases per tool (default 12).

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use ks_devops_mcp::mcp::server::DevopsServer;
use ks_devops_mcp::mcp::{Registry, ServerOptions};
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rmcp::model::CallToolRequestParams;
use serde_json::{Map, Value, json};

/// Route families of the tenant API this server may call.
const GROUPS: &[&str] = &[
    "devops.kubesphere.io/v1alpha2",
    "devops.kubesphere.io/v1alpha3",
    "gitops.kubesphere.io/v1alpha1",
    "tenant.kubesphere.io/v1beta1",
    "iam.kubesphere.io/v1beta1",
];
const MAX_ERROR_BYTES: usize = 2048;

fn cases() -> u32 {
    std::env::var("KS_MCP_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

/// A control character or a bidi formatting character (Trojan Source).
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

// ------------------------------------------------------------ generators

/// Strings that try to escape a path segment, break a parser or a terminal,
/// or just be large.
fn hostile_strings() -> Vec<String> {
    vec![
        String::new(),
        " ".into(),
        ".".into(),
        "..".into(),
        "../../../../kubesphere-devops-system/pipelines/x".into(),
        "../demo-project".into(),
        "/apis/v1/secrets".into(),
        "/api/v1/namespaces/kube-system/secrets".into(),
        "a/b".into(),
        "feature/x".into(),
        "..%2F..%2Fkubesphere-devops-system".into(),
        "..%252F..%252Fx".into(),
        "%2e%2e".into(),
        "x?y=1#z".into(),
        "kubesphere-devops-system".into(),
        "demo-project".into(),
        "jenkins".into(),
        "x\u{0}y".into(),
        "\u{202e}gpj.exe\u{2066}".into(),
        "line\nbreak\r\n\u{1b}[31mred".into(),
        "\u{85}\u{2028}\u{feff}".into(),
        "\\\"'`${jndi:x}".into(),
        "🙂é界".into(),
        "A".repeat(100_000),
        "é".repeat(20_000),
        format!("{}\u{202e}", "z".repeat(5000)),
        "-1".into(),
        "1e400".into(),
    ]
}

/// Values that make sense for a field of this name in the demo data, so
/// that calls get past validation and reach KubeSphere.
fn good_strings(field: &str) -> Vec<&'static str> {
    match field {
        "project" => vec!["stone-devops", "stone-devops", "devopstestc2nj7", "demo-project"],
        "workspace" => vec!["stone", "demo"],
        "cluster" => vec!["host", "member-1"],
        "pipeline" => vec!["hello", "broken-build", "echo-pipeline"],
        "name" => vec!["hello", "echo-pipeline", "stone-devops", "hello-1"],
        "branch" => vec!["main", "feature-branch"],
        "run_id" => vec!["1", "2"],
        "id" => vec!["github-token", "app-config", "new-cred"],
        "application" => vec!["guestbook", "broken-app"],
        "path" => vec!["target/build-report.txt", "target/demo-echo.jar"],
        "node" | "step" | "input_id" => vec!["1", "2"],
        "username" => vec!["bot"],
        "password" | "secret" | "passphrase" | "private_key" | "content" => vec!["s3cr3t-value-1234"],
        "url" | "repo_url" | "repository_url" => vec!["https://github.com/kubesphere-sigs/demo-echo.git"],
        "jenkinsfile" => vec!["pipeline { agent any\n stages { stage('a') { steps { echo 'a' } } } }"],
        _ => vec!["x"],
    }
}

fn good_string(field: &str) -> BoxedStrategy<Value> {
    let good: Vec<Value> = good_strings(field).into_iter().map(Value::from).collect();
    proptest::sample::select(good).boxed()
}

fn hostile_string() -> BoxedStrategy<Value> {
    let hostile: Vec<Value> = hostile_strings().into_iter().map(Value::from).collect();
    prop_oneof![
        4 => proptest::sample::select(hostile),
        1 => "\\PC{0,24}".prop_map(Value::from),
        1 => ".{0,12}".prop_map(Value::from),
    ]
    .boxed()
}

fn wrong_type() -> BoxedStrategy<Value> {
    proptest::sample::select(vec![
        Value::Null,
        json!(true),
        json!(-1),
        json!(1.5),
        json!(u64::MAX),
        json!("not-the-type"),
        json!([1, "two", null]),
        json!({"nested": {"deep": ["x"]}}),
        json!("A".repeat(10_000)),
    ])
    .boxed()
}

fn hostile_integer() -> BoxedStrategy<Value> {
    proptest::sample::select(vec![
        json!(-1),
        json!(i64::MIN),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(1e308),
        json!(2.5),
        json!("7"),
    ])
    .boxed()
}

/// Whether to generate a value a careful caller would send, or a hostile one.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Good,
    Hostile,
}

/// A value for `schema` (a property of a tool's input schema).
fn value_strategy(field: &str, schema: &Value, depth: u32, mode: Mode) -> BoxedStrategy<Value> {
    let mut options: Vec<BoxedStrategy<Value>> = Vec::new();
    for key in ["oneOf", "anyOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            for b in branches {
                options.push(value_strategy(field, b, depth, mode));
            }
        }
    }
    if mode == Mode::Good {
        if let Some(c) = schema.get("const") {
            options.push(Just(c.clone()).boxed());
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array) {
            options.push(proptest::sample::select(e.clone()).boxed());
        }
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let enumerated = schema.get("enum").is_some() || schema.get("const").is_some();
    for t in types {
        options.push(match (t, mode) {
            ("string", Mode::Good) if enumerated => continue,
            ("string", Mode::Good) => good_string(field),
            ("string", Mode::Hostile) => hostile_string(),
            ("integer" | "number", Mode::Good) => (0u32..5).prop_map(Value::from).boxed(),
            ("integer" | "number", Mode::Hostile) => hostile_integer(),
            ("boolean", _) => any::<bool>().prop_map(Value::from).boxed(),
            ("null", Mode::Good) => Just(Value::Null).boxed(),
            ("null", Mode::Hostile) => continue,
            ("array", _) if depth < 3 => {
                let item = schema.get("items").cloned().unwrap_or(json!({"type": "string"}));
                proptest::collection::vec(value_strategy(field, &item, depth + 1, mode), 0..3)
                    .prop_map(Value::from)
                    .boxed()
            }
            ("object", _) if depth < 3 => object_strategy(schema, depth + 1),
            _ => continue,
        });
    }
    if options.is_empty() {
        options.push(match mode {
            Mode::Good => good_string(field),
            Mode::Hostile => hostile_string(),
        });
    }
    let declared = proptest::strategy::Union::new(options).boxed();
    match mode {
        Mode::Good => declared,
        Mode::Hostile => prop_oneof![4 => declared, 1 => wrong_type()].boxed(),
    }
}

/// One field: present or not, a good value and a hostile one.
type Field = (String, bool, bool, Value, Value);

/// An object for `schema`: a careful call with up to two fields made
/// hostile (a hostile value, a value of another type, or a required field
/// left out), and now and then an unknown key.
fn object_strategy(schema: &Value, depth: u32) -> BoxedStrategy<Value> {
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let required: BTreeSet<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    let mut fields: Vec<BoxedStrategy<Field>> = Vec::new();
    for (name, p) in props {
        let req = required.contains(&name);
        let present = if req {
            Just(true).boxed()
        } else {
            prop_oneof![2 => Just(false), 1 => Just(true)].boxed()
        };
        let key = name.clone();
        fields.push(
            (
                present,
                value_strategy(&name, &p, depth, Mode::Good),
                value_strategy(&name, &p, depth, Mode::Hostile),
            )
                .prop_map(move |(present, good, hostile)| (key.clone(), req, present, good, hostile))
                .boxed(),
        );
    }
    let n = fields.len();
    let hostile = proptest::sample::subsequence((0..n).collect::<Vec<_>>(), 0..=n.min(2));
    let extra = prop_oneof![9 => Just(None), 1 => Just(Some(("unexpected_field".to_string(), json!("x"))))];
    let omit = prop_oneof![6 => Just(false), 1 => Just(true)];
    // A map of free keys (build or input parameters): hostile keys and values.
    let free = match schema.get("additionalProperties").filter(|a| a.is_object()) {
        Some(item) => proptest::collection::vec(
            (
                prop_oneof![Just(Value::from("NAME")), hostile_string()],
                value_strategy("parameter", item, depth + 1, Mode::Hostile),
            ),
            0..3,
        )
        .boxed(),
        None => Just(Vec::new()).boxed(),
    };
    (fields, hostile, extra, omit, free)
        .prop_map(|(fields, hostile, extra, omit, free)| {
            let mut m = Map::new();
            for (i, (key, required, present, good, bad)) in fields.into_iter().enumerate() {
                let is_hostile = hostile.contains(&i);
                if is_hostile && required && omit {
                    continue;
                }
                if is_hostile {
                    m.insert(key, bad);
                } else if present {
                    m.insert(key, good);
                }
            }
            if let Some((k, v)) = extra {
                m.insert(k, v);
            }
            for (k, v) in free {
                m.insert(k.as_str().unwrap_or("k").to_string(), v);
            }
            Value::Object(m)
        })
        .boxed()
}

/// A careful call of every tool against the demo data: the read-only
/// tools' examples (`ToolDef::EXAMPLE`), and these for the tools
/// that change state (on objects of their own, `adv-*`).
fn write_baselines() -> Vec<(&'static str, Value)> {
    let p = "stone-devops";
    let jenkinsfile = "pipeline { agent any\n stages { stage('a') { steps { echo 'a' } } } }";
    vec![
        (
            "create_pipeline",
            json!({"project": p, "name": "adv-p", "jenkinsfile": jenkinsfile}),
        ),
        (
            "create_multibranch_pipeline",
            json!({"project": p, "name": "adv-mb", "repository_url": "https://github.com/kubesphere-sigs/demo-echo.git"}),
        ),
        ("delete_pipeline", json!({"project": p, "pipeline": "adv-p"})),
        ("scan_repository", json!({"project": p, "pipeline": "echo-pipeline"})),
        (
            "trigger_run",
            json!({"project": p, "pipeline": "echo-pipeline", "branch": "main"}),
        ),
        ("stop_run", json!({"project": p, "pipeline": "hello", "run_id": "1"})),
        (
            "approve_input",
            json!({"project": p, "action": "proceed", "pipeline": "broken-build", "run_id": "1"}),
        ),
        (
            "download_artifact",
            json!({"project": p, "pipeline": "echo-pipeline", "branch": "main", "run_id": "1", "path": "target/demo-echo.jar"}),
        ),
        (
            "create_credential",
            json!({"project": p, "id": "adv-c", "type": "secret-text", "secret": "s3cr3t-value-1234"}),
        ),
        ("delete_credential", json!({"project": p, "id": "adv-c"})),
        (
            "create_application",
            json!({"project": p, "name": "adv-app", "repo_url": "https://github.com/argoproj/argocd-example-apps.git", "path": "guestbook"}),
        ),
        ("sync_application", json!({"project": p, "application": "guestbook"})),
        ("delete_application", json!({"project": p, "application": "adv-app"})),
        (
            "create_git_repository",
            json!({"project": p, "name": "adv-repo", "url": "https://github.com/kubesphere-sigs/demo-echo.git"}),
        ),
        ("delete_git_repository", json!({"project": p, "repository": "adv-repo"})),
        (
            "update_application",
            json!({"project": p, "application": "guestbook", "target_revision": "v2"}),
        ),
        (
            "create_devops_project",
            json!({"workspace": "stone", "name": "adv-proj"}),
        ),
        // Full name = short name: the route check wants the project as given.
        (
            "delete_devops_project",
            json!({"project": "my-devopstest", "workspace": "stone", "cluster": "member-1"}),
        ),
        // Branch-addressed reads (multi-branch pipeline).
        (
            "get_run_log",
            json!({"project": p, "pipeline": "echo-pipeline", "branch": "main", "run_id": "1"}),
        ),
        (
            "diagnose_run",
            json!({"project": p, "pipeline": "echo-pipeline", "branch": "main", "run_id": "1"}),
        ),
        (
            "list_artifacts",
            json!({"project": p, "pipeline": "echo-pipeline", "branch": "main", "run_id": "1"}),
        ),
        (
            "get_run",
            json!({"project": p, "pipeline": "echo-pipeline", "branch": "main", "run_id": "1"}),
        ),
    ]
}

/// Every baseline call, by tool (several per tool possible). Example values
/// taken from another tool's result (`$from`) are fetched first.
async fn baselines(c: &Client) -> Vec<(String, Value)> {
    let doc: Value = ks_devops_mcp::mcp::examples::export(&ks_devops_mcp::mcp::Registry::all()).expect("tool examples");
    let mut out = Vec::new();
    for (tool, args) in doc["examples"].as_object().expect("examples") {
        let mut args = args.as_object().cloned().unwrap_or_default();
        for (_, v) in args.iter_mut() {
            if let (Some(from), Some(pointer)) = (
                v.get("$from").and_then(Value::as_str),
                v.get("pointer").and_then(Value::as_str),
            ) {
                let example = doc["examples"][from].clone();
                let r = call(c, from, example).await;
                *v = r
                    .structured_content
                    .and_then(|s| s.pointer(pointer).cloned())
                    .unwrap_or(Value::Null);
            }
        }
        out.push((tool.clone(), Value::Object(args)));
    }
    out.extend(write_baselines().into_iter().map(|(t, v)| (t.to_string(), v)));
    out
}

/// A baseline call with one or two of the tool's arguments replaced by a
/// hostile value of their schema, or dropped.
fn mutated(baseline: Value, schema: &Value) -> BoxedStrategy<Value> {
    let props: Vec<(String, Value)> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if props.is_empty() {
        return Just(baseline).boxed();
    }
    let n = props.len();
    let values: Vec<BoxedStrategy<Option<Value>>> = props
        .iter()
        .map(|(name, p)| {
            prop_oneof![
                8 => value_strategy(name, p, 0, Mode::Hostile).prop_map(Some),
                1 => Just(None),
            ]
            .boxed()
        })
        .collect();
    let names: Vec<String> = props.into_iter().map(|(k, _)| k).collect();
    (
        proptest::sample::subsequence((0..n).collect::<Vec<_>>(), 1..=n.min(2)),
        values,
    )
        .prop_map(move |(chosen, values)| {
            let mut args = baseline.as_object().cloned().unwrap_or_default();
            for i in chosen {
                match &values[i] {
                    Some(v) => args.insert(names[i].clone(), v.clone()),
                    None => args.remove(&names[i]),
                };
            }
            Value::Object(args)
        })
        .boxed()
}

// ------------------------------------------------------------ invariants

/// Why a request KubeSphere received is outside what the call may reach,
/// judged on the path as upstream routes it.
/// `short`: the short name `create_devops_project` was given, which may
/// only appear as the project of the workspace route
/// `workspaces/{ws}/namespaces/{short}?generateName=true` (its lookup
/// after a 409).
fn outside_allowlist(raw_path: &str, project: Option<&str>, short: Option<&str>) -> Option<String> {
    if matches!(raw_path, "/oauth/token" | "/oauth/userinfo" | "/healthz") {
        return None;
    }
    let decoded = percent_decode_str(raw_path).decode_utf8_lossy().into_owned();
    let raw_segs: Vec<&str> = raw_path.split('/').skip(1).collect();
    let segs: Vec<&str> = decoded.split('/').skip(1).collect();
    if segs.len() != raw_segs.len() {
        return Some(format!(
            "an encoded '/' adds segments once decoded: {decoded:?} has {} segments, the client built {}",
            segs.len(),
            raw_segs.len()
        ));
    }
    if let Some(s) = segs.iter().find(|s| s.is_empty() || **s == "." || **s == "..") {
        return Some(format!("segment {s:?} in {decoded:?}"));
    }
    if segs.contains(&"kubesphere-devops-system") {
        return Some(format!("the system namespace in {decoded:?}"));
    }
    let rest: &[&str] = match segs.as_slice() {
        ["clusters", _c, rest @ ..] => rest,
        rest => rest,
    };
    let ["kapis", group, version, tail @ ..] = rest else {
        return Some(format!("not a tenant route: {decoded:?}"));
    };
    if !GROUPS.contains(&format!("{group}/{version}").as_str()) {
        return Some(format!("unknown route family {group}/{version}: {decoded:?}"));
    }
    for (i, s) in tail.iter().enumerate() {
        if *s == "namespaces"
            && let Some(ns) = tail.get(i + 1)
        {
            let by_short_name = i >= 2 && tail[i - 2] == "workspaces" && short.is_some_and(|s| s == *ns);
            if Some(*ns) != project && !by_short_name {
                return Some(format!("namespace {ns:?} is not the project {project:?}: {decoded:?}"));
            }
            if tail.get(i + 2) == Some(&"jenkins") {
                return Some(format!("the Jenkins proxy: {decoded:?}"));
            }
        }
    }
    None
}

fn check_text(what: &str, text: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        text.len() < MAX_ERROR_BYTES,
        "{what}: error text of {} bytes: {}…",
        text.len(),
        text.chars().take(200).collect::<String>()
    );
    if let Some(c) = text.chars().find(|c| unsafe_char(*c)) {
        return Err(TestCaseError::fail(format!(
            "{what}: raw U+{:04X} in the error text: {:?}",
            c as u32,
            text.chars().take(300).collect::<String>()
        )));
    }
    Ok(())
}

static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default(info);
    }));
}

#[test]
fn hostile_arguments_keep_every_invariant() {
    count_panics();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (sim, client) = rt.block_on(async {
        let sim = sim_with_phase(Duration::from_millis(10)).await;
        let server = DevopsServer::new(
            Registry::all(),
            common::client(&sim, "tenant"),
            ServerOptions {
                allow_unconfirmed_destructive: true,
                artifact_dir: Some(std::env::temp_dir().join(format!("ks-mcp-adversarial-{}", std::process::id()))),
                ..Default::default()
            },
        );
        let c = connect(server, TestClient::plain(), Lifecycle::Initialize).await;
        (sim, c)
    });
    let sim = Arc::new(sim);
    let tools = rt.block_on(client.list_all_tools()).unwrap();
    assert!(tools.len() >= 30, "every tool is served");
    let baselines = rt.block_on(baselines(&client));
    let calls = AtomicUsize::new(0);
    let succeeded = AtomicUsize::new(0);
    let upstream = AtomicUsize::new(0);
    for tool in &tools {
        let schema = Value::Object((*tool.input_schema).clone());
        let mut options: Vec<BoxedStrategy<Value>> = baselines
            .iter()
            .filter(|(t, _)| *t == tool.name)
            .map(|(_, b)| mutated(b.clone(), &schema))
            .collect();
        let from_baselines = options.len();
        options.push(object_strategy(&schema, 0));
        let strategy = proptest::strategy::Union::new_weighted(
            options
                .into_iter()
                .enumerate()
                .map(|(i, o)| {
                    (
                        if i < from_baselines {
                            3
                        } else {
                            1 + 2 * u32::from(from_baselines == 0)
                        },
                        o,
                    )
                })
                .collect(),
        );
        let mut runner = TestRunner::new(Config {
            cases: cases(),
            failure_persistence: None,
            max_shrink_iters: 256,
            ..Config::default()
        });
        let name = tool.name.to_string();
        let result = runner.run(&strategy, |args| {
            calls.fetch_add(1, Ordering::Relaxed);
            let project = args.get("project").and_then(Value::as_str).map(String::from);
            let short = (name == "create_devops_project")
                .then(|| args.get("name").and_then(Value::as_str).map(|s| s.trim().to_string()))
                .flatten();
            sim.clear_requests();
            let params =
                CallToolRequestParams::new(name.clone()).with_arguments(args.as_object().cloned().unwrap_or_default());
            let answer =
                rt.block_on(async { tokio::time::timeout(Duration::from_secs(60), client.call_tool(params)).await });
            let what = format!("{name} {}", ks_devops_mcp::text::cut(&args.to_string(), 300));
            let Ok(answer) = answer else {
                return Err(TestCaseError::fail(format!("{what}: no answer within 60 s")));
            };
            prop_assert_eq!(PANICS.load(Ordering::SeqCst), 0, "{}: the server panicked", what);
            match answer {
                Ok(r) => {
                    if r.is_error == Some(true) {
                        check_text(&what, &text(&r))?;
                    } else {
                        succeeded.fetch_add(1, Ordering::Relaxed);
                    }
                }
                // A protocol-level error (unknown tool, bad params): bounded too.
                Err(rmcp::ServiceError::McpError(e)) => check_text(&what, &e.message)?,
                Err(e) => return Err(TestCaseError::fail(format!("{what}: the call failed: {e}"))),
            }
            let seen = sim.requests();
            upstream.fetch_add(
                seen.iter()
                    .filter(|r| r.path.starts_with("/kapis") || r.path.starts_with("/clusters"))
                    .count(),
                Ordering::Relaxed,
            );
            // A project may be named by its short name or display name,
            // which an earlier hostile create_devops_project may have set to
            // any text (and a hostile delete_devops_project may have removed
            // the project of that full name): the requests then go to the
            // project it names.
            let by_alias = project.as_deref().map(|p| sim.projects_known_as(p)).unwrap_or_default();
            for r in seen {
                let inside = |p: Option<&str>| outside_allowlist(&r.path, p, short.as_deref());
                if let Some(why) = inside(project.as_deref())
                    && by_alias.iter().all(|a| inside(Some(a)).is_some())
                {
                    return Err(TestCaseError::fail(format!("{what}: {} {why}", r.method)));
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{name}: {e}");
        }
    }
    eprintln!(
        "{} calls, {} succeeded, {} tenant API requests",
        calls.load(Ordering::Relaxed),
        succeeded.load(Ordering::Relaxed),
        upstream.load(Ordering::Relaxed)
    );
    // The calls reach KubeSphere and some succeed: the generator is not
    // stuck at input validation.
    assert!(
        succeeded.load(Ordering::Relaxed) > 0 && upstream.load(Ordering::Relaxed) > calls.load(Ordering::Relaxed) / 4
    );
    // The server still serves after all that. (Not through a demo project:
    // delete_devops_project, last in the catalog, may have deleted it.)
    let r = rt.block_on(call(&client, "list_devops_projects", json!({"workspace": "stone"})));
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert!(calls.load(Ordering::Relaxed) as u32 >= cases() * tools.len() as u32);
    rt.block_on(client.cancel()).unwrap();
}

/// The allowlist check itself: what it accepts and refuses.
#[test]
fn the_route_check_judges_the_decoded_path() {
    let ok = [
        "/oauth/token",
        "/kapis/tenant.kubesphere.io/v1beta1/workspaces",
        "/kapis/devops.kubesphere.io/v1alpha3/namespaces/stone-devops/pipelines/hello",
        "/clusters/member-1/kapis/devops.kubesphere.io/v1alpha2/namespaces/stone-devops/pipelines/p/branches/feature%252Fx/runs/1",
    ];
    for p in ok {
        assert_eq!(outside_allowlist(p, Some("stone-devops"), None), None, "{p}");
    }
    let bad = [
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/stone-devops/pipelines/p/branches/..%2F..%2F..%2F..%2Fkubesphere-devops-system%2Fpipelines%2Fx/runs/1",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/stone-devops/pipelines/p/branches/a%2Fb/runs/1",
        "/kapis/devops.kubesphere.io/v1alpha3/namespaces/demo-project/pipelines",
        "/kapis/devops.kubesphere.io/v1alpha2/namespaces/stone-devops/jenkins/script",
        "/apis/v1/secrets",
        "/api/v1/namespaces/stone-devops/secrets",
        "/kapis/resources.kubesphere.io/v1alpha3/namespaces/stone-devops/secrets",
        "/kapis/devops.kubesphere.io/v1alpha3/namespaces/stone-devops/pipelines/%2E%2E",
    ];
    for p in bad {
        assert!(outside_allowlist(p, Some("stone-devops"), None).is_some(), "{p}");
    }
    // A short name only as the project of the workspace route.
    let w = "/kapis/devops.kubesphere.io/v1alpha3/workspaces/stone/namespaces/team";
    assert_eq!(outside_allowlist(w, None, Some("team")), None);
    assert!(outside_allowlist(w, None, Some("other")).is_some());
    let n = "/kapis/devops.kubesphere.io/v1alpha3/namespaces/team/pipelines";
    assert!(outside_allowlist(n, None, Some("team")).is_some());
}
