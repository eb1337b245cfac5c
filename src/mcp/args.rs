//! Tool inputs that many tools share, written once: each tool embeds them
//! with `#[serde(flatten)]`, so the model sees the same field, with the
//! same description and range, everywhere.
//!
//! `flatten` cannot be combined with `deny_unknown_fields`; unknown
//! arguments are refused centrally instead, against the input schema
//! (see [`unknown_arguments`]).

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;

use super::error::ToolError;
use super::paging::{DEFAULT_LIMIT, MAX_LIMIT, PageRequest};
use super::runlocate::RunSelector;

/// The DevOps project a tool acts on.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
pub struct ProjectArgs {
    /// DevOps project as the user named it; never guessed.
    pub project: String,
    /// The project's, if known.
    #[serde(default)]
    pub workspace: Option<String>,
    /// The project's, if known.
    #[serde(default)]
    pub cluster: Option<String>,
}

impl ProjectArgs {
    /// Shorthand for tests and callers building an input by hand.
    pub fn named(project: &str) -> ProjectArgs {
        ProjectArgs {
            project: project.to_string(),
            ..Default::default()
        }
    }
}

/// Which run: its PipelineRun `name`, or `pipeline` + `run_id` (+ `branch`
/// for a multi-branch pipeline, whose run ids repeat per branch).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
pub struct RunArgs {
    /// PipelineRun name.
    #[serde(default)]
    pub name: Option<String>,
    /// Or: pipeline + run_id.
    #[serde(default)]
    pub pipeline: Option<String>,
    /// Jenkins build number.
    #[serde(default)]
    pub run_id: Option<String>,
    /// Branch, for a multi-branch run_id.
    #[serde(default)]
    pub branch: Option<String>,
}

impl RunArgs {
    pub fn selector(&self) -> RunSelector<'_> {
        RunSelector::of(&self.name, &self.pipeline, &self.run_id, &self.branch)
    }
}

/// One page of a list.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
pub struct PageArgs {
    /// Page size (default 50).
    #[serde(default)]
    #[schemars(range(min = 1, max = 500))]
    pub limit: Option<u32>,
    /// From the previous page.
    #[serde(default, rename = "continue")]
    pub continue_token: Option<String>,
}

impl PageArgs {
    /// The validated page request.
    pub fn request(&self) -> Result<PageRequest, ToolError> {
        PageRequest::parse(self.limit, self.continue_token.as_deref())
    }
}

const _: () = assert!(
    DEFAULT_LIMIT == 50 && MAX_LIMIT == 500,
    "update PageArgs' description and range"
);

/// Arguments the input schema does not declare, as an error naming them
/// and the accepted ones; `None` when every argument is known.
pub fn unknown_arguments(tool: &str, schema: &JsonObject, args: &JsonObject) -> Option<ToolError> {
    let known = schema.get("properties").and_then(|p| p.as_object());
    let is_known = |k: &str| known.is_some_and(|p| p.contains_key(k));
    let unknown: Vec<&str> = args.keys().map(String::as_str).filter(|k| !is_known(k)).collect();
    if unknown.is_empty() {
        return None;
    }
    let accepted: Vec<&str> = known
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let fields = unknown
        .iter()
        .map(|k| format!("`{}`", shorten(k)))
        .collect::<Vec<_>>()
        .join(", ");
    let noun = if unknown.len() == 1 { "field" } else { "fields" };
    let accepted = if accepted.is_empty() {
        "it takes no arguments".to_string()
    } else {
        format!("it accepts {}", accepted.join(", "))
    };
    Some(ToolError::InvalidInput(format!(
        "unknown {noun} {fields} for {tool}: {accepted}. Remove it and call again"
    )))
}

/// An argument name as quoted in an error: at most 64 characters.
fn shorten(k: &str) -> String {
    let escaped: String = k.escape_debug().collect();
    if escaped.chars().count() <= 64 {
        escaped
    } else {
        format!("{}...", escaped.chars().take(64).collect::<String>())
    }
}

impl super::resolve::ProjectScoped for ProjectArgs {
    fn project(&self) -> &str {
        &self.project
    }
    fn workspace(&self) -> Option<&str> {
        self.workspace.as_deref()
    }
    fn cluster(&self) -> Option<&str> {
        self.cluster.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::schema::input_schema;

    #[derive(Debug, Deserialize, JsonSchema)]
    struct Sample {
        #[serde(flatten)]
        scope: ProjectArgs,
        #[serde(flatten)]
        page: PageArgs,
    }

    crate::project_scoped!(Sample);

    #[test]
    fn a_tool_input_is_project_scoped_through_its_shared_args() {
        use crate::mcp::resolve::ProjectScoped;
        let s: Sample = serde_json::from_value(serde_json::json!({"project": "p", "cluster": "host"})).unwrap();
        assert_eq!((s.project(), s.workspace(), s.cluster()), ("p", None, Some("host")));
    }

    fn obj(v: serde_json::Value) -> JsonObject {
        match v {
            serde_json::Value::Object(o) => o,
            _ => JsonObject::new(),
        }
    }

    #[test]
    fn unknown_arguments_are_named_with_the_accepted_ones() {
        let schema = input_schema::<Sample>();
        let ok = obj(serde_json::json!({"project": "p", "limit": 5, "continue": "x"}));
        assert!(unknown_arguments("t", &schema, &ok).is_none());
        let bad = obj(serde_json::json!({"project": "p", "colour": "red"}));
        let e = unknown_arguments("t", &schema, &bad).unwrap();
        assert_eq!(e.kind(), "invalid_input");
        let text = e.to_string();
        assert!(text.contains("unknown field `colour` for t"), "{text}");
        assert!(text.contains("cluster, continue, limit, project, workspace"), "{text}");
        let none = obj(serde_json::json!({"x\u{202e}": 1}));
        #[derive(Deserialize, JsonSchema)]
        struct Nothing {}
        let empty = input_schema::<Nothing>();
        let text = unknown_arguments("whoami", &empty, &none).unwrap().to_string();
        assert!(
            text.contains("takes no arguments") && text.contains("\\u{202e}"),
            "{text}"
        );
    }

    #[test]
    fn flattened_inputs_accept_null_for_an_omitted_field() {
        let s: Sample =
            serde_json::from_value(serde_json::json!({"project": "p", "workspace": null, "limit": null})).unwrap();
        assert_eq!(s.scope.project, "p");
        assert!(s.scope.workspace.is_none() && s.page.limit.is_none());
        let e = serde_json::from_value::<Sample>(serde_json::json!({"project": 5})).unwrap_err();
        assert!(e.to_string().contains("expected a string"), "{e}");
    }
}
