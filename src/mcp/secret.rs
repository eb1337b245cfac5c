//! Secret tool arguments (passwords, tokens, keys).
//!
//! [`SecretArg`] accepts only a JSON string, and its deserialisation error
//! never quotes the value (serde's own "invalid type: integer `1234`" would);
//! `Debug` prints `[REDACTED]`; the schema says `writeOnly`: the value is
//! never returned.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

/// A secret value passed to a tool.
pub struct SecretArg(SecretString);

impl SecretArg {
    pub fn secret(&self) -> &SecretString {
        &self.0
    }

    pub fn into_secret(self) -> SecretString {
        self.0
    }

    /// Whether the value is empty or only whitespace.
    pub fn is_blank(&self) -> bool {
        self.0.expose_secret().trim().is_empty()
    }
}

impl std::fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl<'de> Deserialize<'de> for SecretArg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(SecretArg(SecretString::from(s))),
            _ => Err(serde::de::Error::custom(
                "secret values (password, private_key, passphrase, secret, content) must be JSON strings; the value given was of another JSON type and is not repeated here",
            )),
        }
    }
}

impl JsonSchema for SecretArg {
    fn schema_name() -> Cow<'static, str> {
        "SecretArg".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "writeOnly": true})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct In {
        password: SecretArg,
    }

    #[test]
    fn errors_and_debug_never_show_the_value() {
        let ok: In = serde_json::from_value(serde_json::json!({"password": "s3cr3t-value"})).unwrap();
        assert_eq!(ok.password.secret().expose_secret(), "s3cr3t-value");
        assert!(!format!("{ok:?}").contains("s3cr3t"));
        for bad in [
            serde_json::json!({"password": 987654321}),
            serde_json::json!({"password": ["987654321"]}),
            serde_json::json!({"password": {"v": "987654321"}}),
        ] {
            let e = serde_json::from_value::<In>(bad).unwrap_err().to_string();
            assert!(!e.contains("987654321"), "{e}");
            assert!(e.contains("JSON strings"), "{e}");
        }
    }
}
