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
//! next to a range. Unknown arguments are refused centrally, against the
//! schema's `properties` (see [`super::args::unknown_arguments`]), so the
//! schema does not spend bytes on `additionalProperties: false`.

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
    Arc::new(obj)
}

/// Schema of what `T` writes (tool output).
pub fn output_schema<T: JsonSchema>() -> Arc<JsonObject> {
    Arc::new(build::<T>(true))
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
