//! JSON Schemas for tool inputs and outputs.
//!
//! Draft 2020-12 like rmcp, with every subschema inlined (no `$ref`/`$defs`)
//! so that every client, however simple its validator, reads them, and a
//! top-level `type: object` with no `anyOf`/`oneOf`/`allOf` (the Anthropic
//! API rejects those in an inputSchema).
//!
//! Input schemas are written for a model and cleaned here, in one place:
//! an optional field shows its plain type (a client omits it; serde still
//! accepts `null`), no `"default": null`, no `format: uint32`-style noise
//! next to a range. The top level says `additionalProperties: false`, so a
//! client that validates refuses an unknown argument before sending it; the
//! server refuses it too, centrally, against the schema's `properties` (see
//! [`super::args::unknown_arguments`]), since flattened shared inputs cannot
//! use serde's `deny_unknown_fields`.

use std::sync::Arc;

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

/// Schema of what `T` accepts (tool input).
pub fn input_schema<T: JsonSchema>() -> Arc<JsonObject> {
    let mut obj = build::<T>(false);
    for v in obj.values_mut() {
        clean_input(v);
    }
    // A flattened shared struct lends the whole input its doc comment.
    obj.remove("description");
    obj.insert("additionalProperties".into(), Value::Bool(false));
    Arc::new(obj)
}

/// Schema of what `T` writes (tool output).
pub fn output_schema<T: JsonSchema>() -> Arc<JsonObject> {
    let mut v = Value::Object(build::<T>(true));
    no_bare_true(&mut v);
    match v {
        Value::Object(obj) => Arc::new(obj),
        _ => Arc::new(JsonObject::new()),
    }
}

/// A free-form value (`serde_json::Value`) is the schema `true`; clients
/// that map schemas onto a stricter dialect (the Inspector's `--strict`)
/// refuse a bare `true` where a property or item schema is expected. `{}`
/// accepts the same values.
fn no_bare_true(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, child) in o.iter_mut() {
                match (k.as_str(), &mut *child) {
                    ("properties", Value::Object(props)) => {
                        for p in props.values_mut() {
                            if *p == Value::Bool(true) {
                                *p = Value::Object(JsonObject::new());
                            }
                        }
                    }
                    ("items", c) if *c == Value::Bool(true) => *c = Value::Object(JsonObject::new()),
                    _ => {}
                }
                no_bare_true(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(no_bare_true),
        _ => {}
    }
}

fn build<T: JsonSchema>(serialize: bool) -> JsonObject {
    let mut settings = SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    if serialize {
        settings = settings.for_serialize();
    }
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut obj = match serde_json::to_value(schema) {
        Ok(Value::Object(o)) => o,
        _ => JsonObject::new(),
    };
    obj.remove("$schema");
    obj.remove("title");
    if !obj.contains_key("type") {
        obj.insert("type".into(), "object".into());
    }
    if !obj.contains_key("properties") {
        obj.insert("properties".into(), Value::Object(JsonObject::new()));
    }
    obj
}

/// Cleans one input subschema and everything below it.
fn clean_input(v: &mut Value) {
    match v {
        Value::Object(o) => {
            clean_node(o);
            for child in o.values_mut() {
                clean_input(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(clean_input),
        _ => {}
    }
}

fn is_null_schema(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.len() == 1 && o.get("type") == Some(&Value::String("null".into())))
}

fn clean_node(o: &mut JsonObject) {
    if o.get("default") == Some(&Value::Null) {
        o.remove("default");
    }
    // `anyOf: [S, {type: null}]` (an optional enum) -> S.
    if let Some(Value::Array(any)) = o.get("anyOf")
        && any.len() == 2
        && any.iter().any(is_null_schema)
        && let Some(Value::Object(inner)) = any.iter().find(|s| !is_null_schema(s)).cloned()
    {
        o.remove("anyOf");
        for (k, val) in inner {
            o.entry(k).or_insert(val);
        }
    }
    // `type: [X, "null"]` -> `type: X`.
    if let Some(Value::Array(types)) = o.get("type") {
        let kept: Vec<Value> = types.iter().filter(|t| t.as_str() != Some("null")).cloned().collect();
        let new = match kept.len() {
            1 => kept.into_iter().next().unwrap_or(Value::Null),
            _ => Value::Array(kept),
        };
        o.insert("type".into(), new);
    }
    if let Some(Value::Array(values)) = o.get_mut("enum") {
        values.retain(|e| !e.is_null());
    }
    // `format: uint32` says no more than the range beside it.
    if o.get("type").and_then(Value::as_str) == Some("integer")
        && (o.contains_key("minimum") || o.contains_key("maximum"))
    {
        o.remove("format");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(dead_code)]
    #[derive(serde::Serialize, JsonSchema)]
    struct Change {
        field: String,
        before: serde_json::Value,
        list: Vec<serde_json::Value>,
    }

    #[test]
    fn a_free_form_output_value_is_an_empty_schema_not_true() {
        let s = serde_json::to_string(&*output_schema::<Change>()).unwrap();
        assert!(!s.contains(":true"), "{s}");
        let v = output_schema::<Change>();
        assert_eq!(v["properties"]["before"], serde_json::json!({}));
        assert_eq!(v["properties"]["list"]["items"], serde_json::json!({}));
    }
    use serde::Deserialize;

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        /// First.
        A,
        /// Second.
        B,
    }

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    struct Sample {
        /// Optional text.
        #[serde(default)]
        text: Option<String>,
        /// Optional count.
        #[serde(default)]
        #[schemars(range(min = 1, max = 9))]
        count: Option<u32>,
        /// Optional kind.
        #[serde(default)]
        kind: Option<Kind>,
    }

    #[test]
    fn optional_fields_show_their_plain_type() {
        let s = Value::Object((*input_schema::<Sample>()).clone());
        let text = s.to_string();
        assert!(!text.contains("\"default\":null"), "{text}");
        assert!(!text.contains("\"null\""), "{text}");
        assert!(!text.contains("uint32"), "{text}");
        let p = &s["properties"];
        assert_eq!(p["text"]["type"], "string");
        assert_eq!(p["count"]["type"], "integer");
        assert_eq!(p["count"]["minimum"], 1);
        assert_eq!(p["count"]["maximum"], 9);
        assert_eq!(p["kind"]["description"], "Optional kind.");
        assert!(p["kind"].get("anyOf").is_none(), "{}", p["kind"]);
    }
}
