//! The published catalog in tools/ matches what the binary serves, and
//! every tool follows the rules clients depend on.

use std::collections::BTreeSet;

use ks_devops_mcp::catalog;
use ks_devops_mcp::config::DYNAMIC_TOOLSETS_DEFAULT;
use ks_devops_mcp::mcp::dynamic::{self, DynamicConfig};
use ks_devops_mcp::mcp::{Registry, ToolFilter, Toolset};
use serde_json::Value;

fn tools_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tools")
}

#[test]
fn committed_catalog_matches_the_binary() {
    let registry = Registry::all();
    let mut expected = BTreeSet::new();
    for tool in registry.tools() {
        let file = tools_dir().join(format!("{}.json", tool.name));
        expected.insert(format!("{}.json", tool.name));
        let committed = std::fs::read_to_string(&file)
            .unwrap_or_else(|_| panic!("{} is missing: run `cargo run -- tools --write tools/`", file.display()));
        assert_eq!(
            committed,
            catalog::file_text(&tool),
            "{} is stale: run `cargo run -- tools --write tools/` and review the diff",
            file.display()
        );
    }
    let present: BTreeSet<String> = std::fs::read_dir(tools_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(present, expected, "tools/ holds files of tools that do not exist");
}

#[test]
fn every_tool_follows_the_rules() {
    let name_ok = |n: &str| {
        !n.is_empty() && n.len() <= 64 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    for tool in Registry::all().tools() {
        let v = catalog::entry_json(&tool);
        let name = v["name"].as_str().unwrap();
        assert!(name_ok(name), "{name}");
        let desc = v["description"].as_str().unwrap_or_default();
        assert!(
            desc.len() >= 60 && desc.len() <= 1200,
            "{name}: description length {}",
            desc.len()
        );
        for key in ["inputSchema", "outputSchema"] {
            let s = &v[key];
            assert_eq!(s["type"], "object", "{name}.{key}");
            for bad in ["anyOf", "oneOf", "allOf", "$ref", "$defs"] {
                assert!(s.get(bad).is_none(), "{name}.{key} has top-level {bad}");
            }
            assert!(!s.to_string().contains("\"$ref\""), "{name}.{key} is fully inlined");
            jsonschema::validator_for(s).unwrap_or_else(|e| panic!("{name}.{key} is not a valid JSON Schema: {e}"));
        }
        let a = &v["annotations"];
        for hint in ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"] {
            assert!(a[hint].is_boolean(), "{name}: {hint} must be set explicitly");
        }
        assert!(a["title"].is_string() && v["title"].is_string(), "{name}: title");
        if a["readOnlyHint"] == Value::Bool(true) {
            assert_eq!(
                a["destructiveHint"], false,
                "{name}: read-only tools are not destructive"
            );
        }
    }
}

#[test]
fn read_only_is_derived_from_annotations() {
    let all = Registry::all();
    let ro = Registry::filtered(&ToolFilter {
        toolsets: Toolset::ALL.to_vec(),
        read_only: true,
    });
    // list_toolsets/enable_toolset are added by dynamic mode, never by a filter.
    let want: Vec<String> = all
        .tools()
        .iter()
        .filter(|t| !dynamic::is_dynamic_tool(&t.name))
        .filter(|t| t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true))
        .map(|t| t.name.to_string())
        .collect();
    let got: Vec<String> = ro.tools().iter().map(|t| t.name.to_string()).collect();
    assert_eq!(got, want);
}

/// The default catalog (what a model sees with no settings): the default
/// toolsets, plus list_toolsets and enable_toolset when dynamic toolsets
/// are on by default. At most 25 tools.
#[test]
fn default_catalog_stays_within_25_tools() {
    let default = Registry::filtered(&ToolFilter::default());
    let dynamic_tools = if DYNAMIC_TOOLSETS_DEFAULT {
        dynamic::entries().len()
    } else {
        0
    };
    let names: Vec<&str> = default
        .entries()
        .iter()
        .chain(dynamic::entries().iter().take(dynamic_tools))
        .map(|e| e.name())
        .collect();
    assert!(
        names.len() <= 25,
        "the default catalog holds {} tools, over the budget of 25: move tools to a non-default toolset (see README, Toolsets): {names:?}",
        names.len()
    );
    // Dynamic mode with no --toolsets starts with exactly these tools on.
    let config = DynamicConfig::from_spec(None, false).unwrap();
    let initial = Registry::filtered(&ToolFilter {
        toolsets: config.initial.clone(),
        read_only: false,
    });
    assert_eq!(initial.tools().len(), default.tools().len());
}

#[test]
fn toolsets_filter() {
    let only_context = Registry::filtered(&ToolFilter {
        toolsets: vec![Toolset::Context],
        read_only: false,
    });
    assert!(only_context.entries().iter().all(|e| e.toolset == Toolset::Context));
    assert!(only_context.get("whoami").is_some());
    assert!(only_context.get("list_pipelines").is_none());
    // list_toolsets/enable_toolset come with dynamic mode, not with a toolset.
    assert!(only_context.get("list_toolsets").is_none());
}

/// Every property of every input schema (nested ones too) tells the model
/// what it is.
#[test]
fn every_input_property_has_a_description() {
    fn walk(tool: &str, path: &str, schema: &Value, missing: &mut Vec<String>) {
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, p) in props {
                let here = format!("{path}.{k}");
                if p.get("description")
                    .and_then(Value::as_str)
                    .is_none_or(|d| d.trim().is_empty())
                {
                    missing.push(format!("{tool}: {here}"));
                }
                walk(tool, &here, p, missing);
            }
        }
        if let Some(items) = schema.get("items") {
            walk(tool, &format!("{path}[]"), items, missing);
        }
    }
    let mut missing = Vec::new();
    for tool in Registry::all().tools() {
        let v = catalog::entry_json(&tool);
        walk(&tool.name, "", &v["inputSchema"], &mut missing);
    }
    assert!(
        missing.is_empty(),
        "input properties without a description:\n{}",
        missing.join("\n")
    );
}

/// The catalog carries no padding: no `"default": null`, no nullable type
/// for an optional argument (a client omits it), no `format` next to a range.
#[test]
fn input_schemas_carry_no_padding() {
    for tool in Registry::all().tools() {
        let text = serde_json::to_string(&tool.input_schema).unwrap();
        assert!(!text.contains("\"default\":null"), "{}: {text}", tool.name);
        assert!(!text.contains("\"null\""), "{}: {text}", tool.name);
        assert!(!text.contains("\"format\":\"uint"), "{}: {text}", tool.name);
    }
}

/// What a model reads per tool (name + description + inputSchema, compact
/// JSON) stays small: the median over all tools is within the budget. Shared
/// inputs carry their descriptions once (`src/mcp/args.rs`); a tool's own
/// description need not repeat them.
#[test]
fn model_visible_catalog_median_is_within_budget() {
    let tools = Registry::all().tools();
    let sizes: Vec<usize> = tools.iter().map(catalog::model_visible_bytes).collect();
    let median = catalog::median(&sizes);
    let mut table: Vec<(usize, &str)> = sizes.iter().copied().zip(tools.iter().map(|t| &*t.name)).collect();
    table.sort();
    assert!(
        median <= catalog::MODEL_VISIBLE_MEDIAN_BUDGET as f64,
        "median model-visible bytes per tool {median} > {}: trim descriptions (keep the guardrails)\n{table:?}",
        catalog::MODEL_VISIBLE_MEDIAN_BUDGET
    );
}

/// The README's tool and toolset tables are what the registry generates.
#[test]
fn readme_tool_tables_are_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let want = catalog::with_docs(&readme, &Registry::all()).unwrap();
    assert!(
        readme == want,
        "README.md's tool tables are stale: run `cargo run -q -- docs --write README.md` and review the diff"
    );
}
