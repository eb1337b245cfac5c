//! The operator-managed API-key file: client API keys, stored only as
//! SHA-256 hashes, each mapped to the KubeSphere identity it acts as
//! (user name + password, or a token), held server-side.
//!
//! ```toml
//! [[keys]]
//! name = "ci-bot"                 # shown in access logs
//! sha256 = "9f86d081884c7d65..."  # sha256 hex of the key the client sends
//! username = "tenant"
//! password_file = "/etc/ks-devops-mcp/ci-bot.password"   # or password = "..."
//!
//! [[keys]]
//! name = "release-agent"
//! sha256 = "..."
//! token_file = "/etc/ks-devops-mcp/release.token"        # or token = "..."
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use secrecy::SecretString;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::kubesphere::Credentials;

/// SHA-256 of a presented secret (API key or token): the only form in
/// which the server keeps or compares them.
pub type Digest32 = [u8; 32];

pub fn digest(secret: &str) -> Digest32 {
    Sha256::digest(secret.as_bytes()).into()
}

pub fn to_hex(d: &Digest32) -> String {
    hex::encode(d)
}

/// The 64 hex digits of a SHA-256 (either case; spaces around ignored).
fn from_hex(s: &str) -> Option<Digest32> {
    <Digest32 as hex::FromHex>::from_hex(s.trim()).ok()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    #[serde(default)]
    keys: Vec<RawKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    name: String,
    sha256: String,
    username: Option<String>,
    password: Option<SecretString>,
    password_file: Option<PathBuf>,
    token: Option<SecretString>,
    token_file: Option<PathBuf>,
}

/// One API key of the file.
#[derive(Debug)]
pub struct ApiKey {
    pub name: String,
    pub digest: Digest32,
    pub credentials: Credentials,
}

fn read_secret(base: &Path, path: &Path, what: &str, key: &str) -> Result<SecretString, String> {
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    let text = std::fs::read_to_string(&full)
        .map_err(|e| format!("API key {key:?}: cannot read {what} file {}: {e}", full.display()))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("API key {key:?}: {what} file {} is empty", full.display()));
    }
    Ok(SecretString::from(text.to_string()))
}

/// Reads and checks the key file; the error is one line naming the entry.
pub fn load(path: &Path) -> Result<Vec<ApiKey>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the API key file {}: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, base).map_err(|e| format!("API key file {}: {e}", path.display()))
}

/// Parses a key file's text (relative secret paths resolve against `base`).
pub fn parse(text: &str, base: &Path) -> Result<Vec<ApiKey>, String> {
    let file: KeyFile = toml::from_str(text).map_err(|e| {
        // toml's message quotes the offending line, which may hold a secret.
        let span = e.span().map(|s| format!(" at byte {}", s.start)).unwrap_or_default();
        format!("not valid key-file TOML{span}: {}", e.message())
    })?;
    let mut seen_names: HashMap<String, ()> = HashMap::new();
    let mut seen_digests: HashMap<Digest32, String> = HashMap::new();
    let mut out = Vec::with_capacity(file.keys.len());
    for (i, k) in file.keys.into_iter().enumerate() {
        let name = k.name.trim().to_string();
        if name.is_empty() {
            return Err(format!("entry {} has an empty name", i + 1));
        }
        if seen_names.insert(name.clone(), ()).is_some() {
            return Err(format!("two entries are named {name:?}"));
        }
        let digest = from_hex(&k.sha256).ok_or_else(|| {
            format!("API key {name:?}: sha256 must be the 64-hex-digit SHA-256 of the key (ks-devops-mcp api-key prints one)")
        })?;
        if let Some(other) = seen_digests.insert(digest, name.clone()) {
            return Err(format!("API keys {other:?} and {name:?} have the same sha256"));
        }
        let password = match (k.password, k.password_file) {
            (Some(_), Some(_)) => return Err(format!("API key {name:?}: set password or password_file, not both")),
            (Some(p), None) => Some(p),
            (None, Some(f)) => Some(read_secret(base, &f, "password", &name)?),
            (None, None) => None,
        };
        let token = match (k.token, k.token_file) {
            (Some(_), Some(_)) => return Err(format!("API key {name:?}: set token or token_file, not both")),
            (Some(t), None) => Some(t),
            (None, Some(f)) => Some(read_secret(base, &f, "token", &name)?),
            (None, None) => None,
        };
        let username = k.username.map(|u| u.trim().to_string()).filter(|u| !u.is_empty());
        let credentials = match (username, password, token) {
            (Some(username), Some(password), None) => Credentials::Password { username, password },
            (None, None, Some(t)) => Credentials::Token(t),
            (Some(_), None, None) => return Err(format!("API key {name:?}: username needs password or password_file")),
            (None, Some(_), None) => return Err(format!("API key {name:?}: password needs username")),
            (None, None, None) => {
                return Err(format!(
                    "API key {name:?}: set the KubeSphere identity it acts as (username + password[_file], or token[_file])"
                ));
            }
            _ => {
                return Err(format!(
                    "API key {name:?}: set either username + password[_file] or token[_file], not both"
                ));
            }
        };
        out.push(ApiKey {
            name,
            digest,
            credentials,
        });
    }
    Ok(out)
}

/// A new random API key (32 random bytes, URL-safe base64, prefixed so it
/// is recognisable in secret scanners) and its sha256 hex.
pub fn generate() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let key = format!(
        "ksdm_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hex = to_hex(&digest(&key));
    (key, hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_identity_kinds_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "s3cret\n").unwrap();
        let (key, hex) = generate();
        assert!(key.starts_with("ksdm_"));
        let text = format!(
            r#"
[[keys]]
name = "ci"
sha256 = "{hex}"
username = "tenant"
password_file = "pw"

[[keys]]
name = "bot"
sha256 = "{}"
token = "tok"
"#,
            to_hex(&digest("other"))
        );
        let keys = parse(&text, dir.path()).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].digest, digest(&key));
        assert!(matches!(&keys[0].credentials, Credentials::Password { username, .. } if username == "tenant"));
        assert!(matches!(keys[1].credentials, Credentials::Token(_)));
        assert!(!format!("{:?}", keys).contains("s3cret"));
    }

    #[test]
    fn sha256_hex_round_trips_and_nothing_else_passes() {
        let d = digest("k");
        let h = to_hex(&d);
        assert_eq!(h.len(), 64);
        assert_eq!(from_hex(&h), Some(d));
        assert_eq!(from_hex(&format!("  {}\n", h.to_uppercase())), Some(d));
        assert_eq!(from_hex(&h[..62]), None);
        assert_eq!(from_hex(&format!("{h}00")), None);
        // `u8::from_str_radix` took a sign: "+f" was 0x0f.
        assert_eq!(from_hex(&format!("+f{}", &h[2..])), None);
        assert_eq!(from_hex(&format!("zz{}", &h[2..])), None);
    }

    #[test]
    fn errors_name_the_entry_and_never_the_secret() {
        let h = to_hex(&digest("k"));
        let cases = [
            ("[[keys]]\nname='a'\nsha256='xyz'\ntoken='t'".to_string(), "sha256"),
            (
                format!("[[keys]]\nname='a'\nsha256='{h}'\nusername='u'"),
                "needs password",
            ),
            (
                format!("[[keys]]\nname='a'\nsha256='{h}'"),
                "set the KubeSphere identity",
            ),
            (
                format!("[[keys]]\nname='a'\nsha256='{h}'\nusername='u'\npassword='hunter2'\ntoken='t'"),
                "not both",
            ),
            (
                format!("[[keys]]\nname='a'\nsha256='{h}'\ntoken='t'\n[[keys]]\nname='a'\nsha256='{h}'\ntoken='t'"),
                "two entries",
            ),
            (
                format!("[[keys]]\nname='a'\nsha256='{h}'\npassword='hunter2' oops"),
                "TOML",
            ),
            (format!("[[keys]]\nname='a'\nsha256='{h}'\ntoken='t'\nextra=1"), "TOML"),
        ];
        for (text, want) in cases {
            let err = parse(&text, Path::new(".")).unwrap_err();
            assert!(err.contains(want), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
