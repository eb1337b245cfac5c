//! JSON Schemas for tool inputs and outputs.
//!
//! Draft 2020-12 like rmcp, with every subschema inlined (no `$ref`/`$defs`)
//! so that every client, however simple its validator, reads them, and a
//! top-level `type: object` with no `anyOf`/`oneOf`/`allOf` (the Anthropic
//! API rejects those in an inputSchema).

use std::sync::Arc;

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;

/// Schema of what `T` accepts (tool input).
pub fn input_schema<T: JsonSchema>() -> Arc<JsonObject> {
    build::<T>(false)
}

/// Schema of what `T` writes (tool output).
pub fn output_schema<T: JsonSchema>() -> Arc<JsonObject> {
    build::<T>(true)
}

fn build<T: JsonSchema>(serialize: bool) -> Arc<JsonObject> {
    let mut settings = SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    if serialize {
        settings = settings.for_serialize();
    }
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut obj = match serde_json::to_value(schema) {
        Ok(serde_json::Value::Object(o)) => o,
        _ => JsonObject::new(),
    };
    obj.remove("$schema");
    obj.remove("title");
    if !obj.contains_key("type") {
        obj.insert("type".into(), "object".into());
    }
    if !obj.contains_key("properties") {
        obj.insert("properties".into(), serde_json::Value::Object(JsonObject::new()));
    }
    Arc::new(obj)
}
