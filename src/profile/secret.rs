//! Where a provider's key comes from, and its resolution. The key itself
//! ([`ApiKey`]) is a provider-side type.

use std::process::Command;

pub use crate::provider::ApiKey;
use crate::provider::ProviderKind;

/// Where a provider's key comes from. Resolved only when a request to that
/// provider is about to be made, so a chain whose first model answers never
/// runs the `api_key_cmd` of the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// No key (ollama, local servers).
    None,
    /// An environment variable.
    Env(String),
    /// A shell command whose first line of output is the key.
    Command(String),
    /// Written into a 0600 profile.
    Inline(ApiKey),
}

impl KeySource {
    /// The key source of a provider whose profile table names none: the
    /// kind's own variable. A server of the user's own (`base_url` given:
    /// llama.cpp, vLLM, a proxy) needs no key, and must never receive the real
    /// provider's key by default.
    pub fn implied(kind: ProviderKind, own_base_url: bool) -> KeySource {
        match kind.key_var() {
            Some(var) if !own_base_url => KeySource::Env(var.to_owned()),
            _ => KeySource::None,
        }
    }

    /// Resolves the key. The error names the variable or command, never a value.
    pub fn resolve(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<ApiKey>, String> {
        match self {
            KeySource::None => Ok(None),
            KeySource::Inline(key) => Ok(Some(key.clone())),
            KeySource::Env(var) => match lookup(var) {
                Some(v) if !v.trim().is_empty() => Ok(Some(ApiKey::new(v.trim().to_owned()))),
                Some(_) => Err(format!("the environment variable {var} is empty")),
                None => Err(format!("the environment variable {var} is not set")),
            },
            KeySource::Command(cmd) => {
                let output = shell(cmd)
                    .output()
                    .map_err(|e| format!("api_key_cmd `{cmd}` could not run: {e}"))?;
                if !output.status.success() {
                    return Err(format!("api_key_cmd `{cmd}` failed ({})", output.status));
                }
                let stdout = String::from_utf8(output.stdout).map_err(|_| {
                    format!("api_key_cmd `{cmd}` printed something that is not UTF-8")
                })?;
                match stdout.lines().next().map(str::trim) {
                    Some(key) if !key.is_empty() => Ok(Some(ApiKey::new(key.to_owned()))),
                    _ => Err(format!("api_key_cmd `{cmd}` printed nothing")),
                }
            }
        }
    }
}

fn shell(cmd: &str) -> Command {
    let mut c = if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.arg("/C");
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c");
        c
    };
    c.arg(cmd).stdin(std::process::Stdio::null());
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_an_inline_key() {
        let key = ApiKey::new("sk-very-secret".into());
        let source = KeySource::Inline(key);
        assert!(!format!("{source:?}").contains("sk-very"));
    }

    #[test]
    fn env_and_command_sources() {
        let lookup = |name: &str| (name == "SET").then(|| "abc".to_owned());
        assert_eq!(
            KeySource::Env("SET".into())
                .resolve(&lookup)
                .unwrap()
                .unwrap()
                .expose(),
            "abc"
        );
        let err = KeySource::Env("MISSING_KEY".into())
            .resolve(&lookup)
            .unwrap_err();
        assert!(err.contains("MISSING_KEY"), "{err}");

        let key = KeySource::Command("echo k-123; echo second".into())
            .resolve(&lookup)
            .unwrap()
            .unwrap();
        assert_eq!(key.expose(), "k-123");
        assert!(
            KeySource::Command("exit 3".into())
                .resolve(&lookup)
                .unwrap_err()
                .contains("failed")
        );
        assert!(
            KeySource::Command("true".into())
                .resolve(&lookup)
                .unwrap_err()
                .contains("printed nothing")
        );
    }
}
