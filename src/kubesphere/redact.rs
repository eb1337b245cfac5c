//! Scrubs known secret values out of text before it can reach an error,
//! a log line or a tool result.

use std::sync::RwLock;

use secrecy::{ExposeSecret, SecretString};

/// Secret values to scrub. Values shorter than 4 characters are not
/// scrubbed (they would mangle ordinary words) but are never echoed either.
#[derive(Default)]
pub struct Redactor {
    secrets: RwLock<Vec<SecretString>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor([REDACTED])")
    }
}

impl Redactor {
    /// Adds a secret value to scrub.
    pub fn add(&self, secret: &SecretString) {
        if secret.expose_secret().len() < 4 {
            return;
        }
        if let Ok(mut s) = self.secrets.write()
            && !s.iter().any(|x| x.expose_secret() == secret.expose_secret())
        {
            // Keep the list bounded: old tokens are of no use after a while.
            if s.len() >= 64 {
                let at = 2.min(s.len() - 1);
                s.remove(at);
            }
            s.push(secret.clone());
        }
    }

    /// Returns `text` with every known secret replaced by `[REDACTED]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        if let Ok(s) = self.secrets.read() {
            for secret in s.iter() {
                let v = secret.expose_secret();
                if out.contains(v) {
                    out = out.replace(v, "[REDACTED]");
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs() {
        let r = Redactor::default();
        r.add(&SecretString::from("hunter22"));
        r.add(&SecretString::from("ab"));
        assert_eq!(r.redact("pw=hunter22 ab"), "pw=[REDACTED] ab");
        assert!(!format!("{r:?}").contains("hunter22"));
    }
}
