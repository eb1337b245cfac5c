//! What the transports answer themselves, before rmcp sees a message.
//!
//! rmcp 3.11 drops a line that is not valid JSON (nested too deep, a lone
//! surrogate `"\ud800"`, invalid UTF-8, a syntax error) without a word, and
//! answers well-formed JSON that is not a valid message (`params` an array
//! or a string, a wrong `jsonrpc`, an `id` of the wrong type) with an error
//! that has no `id`, which the client cannot match to its request. Every
//! message goes through [`check`] first (stdio: [`crate::stdio`]; HTTP: the
//! gate in [`crate::http`]):
//!
//! * not JSON at all: `-32700 Parse error` with `id: null`;
//! * JSON but not a request the server can take: `-32600 Invalid Request`
//!   (or `-32602 Invalid params` when only the params are wrong) carrying
//!   the request's `id` when it has a usable one, else `id: null`;
//! * a notification or a response that cannot be used: nothing to answer
//!   (JSON-RPC never answers those), logged;
//! * everything else: passed to rmcp as parsed.
//!
//! Error texts never quote the message beyond a method name, cut and
//! cleaned ([`crate::text::quote`]).

use rmcp::RoleServer;
use rmcp::model::{ClientRequest, JsonRpcMessage};
use rmcp::service::RxJsonRpcMessage;
use serde_json::{Value, json};

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const INVALID_PARAMS: i64 = -32602;

/// What to do with one incoming message.
#[derive(Debug)]
pub enum Verdict {
    /// A valid message: hand it to rmcp.
    Pass(Box<RxJsonRpcMessage<RoleServer>>),
    /// Answer with this JSON-RPC error response, and nothing else.
    Answer(Value),
    /// A notification or response that cannot be used: no answer.
    Ignore(&'static str),
}

/// Standard MCP request methods whose params rmcp parses into a type: when
/// one reaches rmcp as a custom request, its params did not fit.
const TYPED_METHODS: &[&str] = &[
    "initialize",
    "server/discover",
    "ping",
    "tools/call",
    "tools/list",
    "prompts/get",
    "prompts/list",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "logging/setLevel",
];

/// A JSON-RPC error response.
pub fn error_response(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// Checks one message (a stdio line without its newline, or an HTTP body).
pub fn check(bytes: &[u8]) -> Verdict {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            // serde_json's syntax messages name the position, never the input.
            let detail = crate::text::cut(&e.to_string(), 120);
            return Verdict::Answer(error_response(
                Value::Null,
                PARSE_ERROR,
                &format!(
                    "Parse error: the message is not valid JSON ({detail}); send one JSON-RPC 2.0 object per message"
                ),
            ));
        }
    };
    match serde_json::from_slice::<RxJsonRpcMessage<RoleServer>>(bytes) {
        Ok(JsonRpcMessage::Request(r)) => {
            if let ClientRequest::CustomRequest(c) = &r.request
                && TYPED_METHODS.contains(&c.method.as_str())
            {
                return Verdict::Answer(error_response(
                    r.id.clone().into_json_value(),
                    INVALID_PARAMS,
                    &params_text(&c.method, c.params.as_ref()),
                ));
            }
            Verdict::Pass(Box::new(JsonRpcMessage::Request(r)))
        }
        Ok(m) => Verdict::Pass(Box::new(m)),
        Err(_) => invalid(&value),
    }
}

fn params_text(method: &str, params: Option<&Value>) -> String {
    let m = crate::text::quote(method);
    match params {
        None => format!("Invalid params: {m} needs params (a JSON object); see the MCP specification"),
        Some(Value::Object(_)) => format!(
            "Invalid params: the params of {m} do not match its schema (a required field is missing or has the wrong type); see the MCP specification"
        ),
        Some(_) => format!("Invalid params: the params of {m} must be a JSON object"),
    }
}

/// Why well-formed JSON is not a message rmcp can take.
fn invalid(value: &Value) -> Verdict {
    let Some(obj) = value.as_object() else {
        return Verdict::Answer(error_response(
            Value::Null,
            INVALID_REQUEST,
            if value.is_array() {
                "Invalid Request: batches are not supported; send one JSON-RPC 2.0 object per message"
            } else {
                "Invalid Request: a message is one JSON-RPC 2.0 object"
            },
        ));
    };
    let id = obj.get("id");
    // The id as it can be echoed: a string or a number (anything else
    // cannot be matched by the client either).
    let echo = match id {
        Some(v @ (Value::String(_) | Value::Number(_))) => v.clone(),
        _ => Value::Null,
    };
    let answer = |code, text: &str| Verdict::Answer(error_response(echo.clone(), code, text));
    let has_result = obj.contains_key("result") || obj.contains_key("error");
    let Some(method) = obj.get("method") else {
        if has_result {
            return Verdict::Ignore("a response that is not valid JSON-RPC");
        }
        return answer(INVALID_REQUEST, "Invalid Request: no method");
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return answer(INVALID_REQUEST, "Invalid Request: jsonrpc must be \"2.0\"");
    }
    let Some(method) = method.as_str() else {
        return answer(INVALID_REQUEST, "Invalid Request: method must be a string");
    };
    if has_result {
        return answer(
            INVALID_REQUEST,
            "Invalid Request: a message has either a method or a result/error, not both",
        );
    }
    match id {
        None => return Verdict::Ignore("a notification that does not match its schema"),
        Some(Value::String(_)) => {}
        Some(Value::Number(n)) if n.is_i64() => {}
        Some(_) => {
            return answer(
                INVALID_REQUEST,
                "Invalid Request: id must be a string or an integer (64-bit)",
            );
        }
    }
    answer(INVALID_PARAMS, &params_text(method, obj.get("params")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(line: &str) -> Value {
        match check(line.as_bytes()) {
            Verdict::Answer(v) => v,
            other => panic!(
                "{}: {}",
                crate::text::cut(line, 100),
                crate::text::cut(&format!("{other:?}"), 200)
            ),
        }
    }

    #[test]
    fn not_json_is_a_parse_error_with_a_null_id() {
        let deep = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\",\"params\":{{\"a\":{}{}}}}}",
            "[".repeat(200),
            "]".repeat(200)
        );
        for line in [
            "{not json",
            "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\",\"params\":{\"x\":\"\\ud800\"}}",
            deep.as_str(),
            "",
            "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"} trailing",
        ] {
            let v = answer(line);
            assert_eq!(v["id"], Value::Null, "{line}");
            assert_eq!(v["error"]["code"], PARSE_ERROR, "{line}");
        }
        match check(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"\xff\"}}") {
            Verdict::Answer(v) => assert_eq!(v["error"]["code"], PARSE_ERROR),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_requests_keep_their_id() {
        for (line, id, code) in [
            (
                r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":[1,2]}"#,
                json!(7),
                INVALID_PARAMS,
            ),
            (
                r#"{"jsonrpc":"2.0","id":"s","method":"tools/call","params":"x"}"#,
                json!("s"),
                INVALID_PARAMS,
            ),
            (
                r#"{"jsonrpc":"2.0","id":9,"method":"tools/call"}"#,
                json!(9),
                INVALID_PARAMS,
            ),
            (
                r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":5}}"#,
                json!(9),
                INVALID_PARAMS,
            ),
            (
                r#"{"jsonrpc":"1.0","id":11,"method":"ping"}"#,
                json!(11),
                INVALID_REQUEST,
            ),
            (r#"{"jsonrpc":"2.0","id":12,"method":5}"#, json!(12), INVALID_REQUEST),
            (
                r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
                json!(1.5),
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#,
                Value::Null,
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
                Value::Null,
                INVALID_REQUEST,
            ),
            (r#"{"jsonrpc":"2.0","id":10}"#, json!(10), INVALID_REQUEST),
            (r#"[]"#, Value::Null, INVALID_REQUEST),
            (
                r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
                Value::Null,
                INVALID_REQUEST,
            ),
            (r#"42"#, Value::Null, INVALID_REQUEST),
        ] {
            let v = answer(line);
            assert_eq!(v["id"], id, "{line}: {v}");
            assert_eq!(v["error"]["code"], code, "{line}: {v}");
            assert_eq!(v["jsonrpc"], "2.0");
        }
    }

    #[test]
    fn error_texts_do_not_echo_the_message() {
        let method = format!("x\u{202e}{}", "m".repeat(10_000));
        let line = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": [method]}}).to_string();
        let v = answer(&line);
        let text = v["error"]["message"].as_str().unwrap();
        assert!(!text.contains("mmmm"), "{text}");
        let line = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": [1]}).to_string();
        let text = answer(&line)["error"]["message"].as_str().unwrap().to_string();
        assert!(text.len() < 400 && crate::text::is_clean(&text), "{text}");
    }

    #[test]
    fn valid_messages_pass_and_bad_notifications_are_not_answered() {
        for line in [
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":"a","method":"tools/list","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"no/such_method","params":{}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            "\u{feff}{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
        ] {
            assert!(matches!(check(line.as_bytes()), Verdict::Pass(_)), "{line}");
        }
        for line in [
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":[1]}"#,
            r#"{"jsonrpc":"2.0","id":3,"result":5,"error":{}}"#,
        ] {
            assert!(matches!(check(line.as_bytes()), Verdict::Ignore(_)), "{line}");
        }
    }
}
