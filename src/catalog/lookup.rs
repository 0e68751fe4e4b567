//! Finding a profile's model in the catalog: the keys tried for a provider of a given kind
//! and name, the kind's spellings of model ids (from its
//! [`KindSpec`](crate::provider::KindSpec)), and dated snapshots.

use std::collections::BTreeSet;

use super::{Catalog, ModelInfo, PROVIDERS};
use crate::provider::ProviderKind;

impl Catalog {
    /// The model `model` of a profile provider of kind `provider_kind` (`openai`,
    /// `anthropic`, `gemini`, `ollama`, `azure`) named `provider_name` (`openai`, `groq`,
    /// `openrouter`, ...). Matching is exact; the keys tried, in order:
    ///
    /// 1. `{provider_name}/{model}`;
    /// 2. `{provider_kind}/{model}`;
    /// 3. `{litellm provider}/{model}`;
    /// 4. `{model}` itself.
    ///
    /// The LiteLLM provider is the provider name when it is one LiteLLM knows (an `openai`
    /// kind provider named `groq`, `together`, `x-ai`, ...), otherwise the kind's own.
    /// Keys 2 to 4 count only when the entry is filed under that LiteLLM provider, so a
    /// Groq provider never gets OpenAI's price for `gpt-4o`. Gemini's `models/` prefix and
    /// Ollama's `:latest` tag are ignored.
    pub fn lookup(
        &self,
        provider_kind: &str,
        provider_name: &str,
        model: &str,
    ) -> Option<&ModelInfo> {
        let provider = litellm_provider(provider_kind, provider_name);
        model_spellings(provider_kind, model).find_map(|model| {
            candidate_prefixes(provider_kind, provider_name, provider)
                .into_iter()
                .find_map(|(prefix, trusted)| {
                    let entry = self.entries.get(&format!("{prefix}{model}"))?;
                    (trusted || entry.provider == provider).then_some(&entry.info)
                })
        })
    }

    /// The dated snapshots of a floating model id in this provider's catalog, oldest first:
    /// model ids `{model}-YYYY-MM-DD` or `{model}-YYYYMMDD` found under the same keys as
    /// [`Catalog::lookup`] would try, returned as a profile would spell them (without the
    /// catalog's provider prefix). For `gpt-4o`: `gpt-4o-2024-05-13`, ...; never
    /// `gpt-4o-mini-2024-07-18`.
    pub fn snapshots_of(&self, provider_kind: &str, provider_name: &str, model: &str) -> Vec<&str> {
        let provider = litellm_provider(provider_kind, provider_name);
        let mut found = BTreeSet::new();
        for (prefix, trusted) in candidate_prefixes(provider_kind, provider_name, provider) {
            let start = format!("{prefix}{model}-");
            for (key, entry) in self.entries.from(&start) {
                let Some(rest) = key.strip_prefix(&start) else {
                    break;
                };
                if is_date_suffix(rest) && (trusted || entry.provider == provider) {
                    found.insert(&key[prefix.len()..]);
                }
            }
        }
        found.into_iter().collect()
    }
}

/// The LiteLLM provider whose prices apply to a profile provider.
fn litellm_provider<'a>(kind: &'a str, name: &str) -> &'a str {
    match ProviderKind::parse(kind).map(ProviderKind::spec) {
        Some(spec) if !spec.litellm_by_name => spec.litellm_provider,
        // An OpenAI-compatible endpoint: a named hosted provider, or the kind's own (OpenAI,
        // or a proxy in front of it) by default.
        Some(spec) => known_provider(name).unwrap_or(spec.litellm_provider),
        None => known_provider(name).unwrap_or(kind),
    }
}

/// The LiteLLM provider a profile's provider name refers to, if any (`together` is
/// `together_ai`, `x-ai` is `xai`, ...).
fn known_provider(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase().replace('-', "_");
    let alias = match name.as_str() {
        "together" => "together_ai",
        "fireworks" => "fireworks_ai",
        "x_ai" | "grok" => "xai",
        "mistralai" | "mistral_ai" => "mistral",
        "google" | "google_ai" | "googleai" => "gemini",
        "claude" => "anthropic",
        other => other,
    };
    PROVIDERS.iter().copied().find(|p| *p == alias)
}

/// `(key prefix, trusted)` pairs to try, in order, without repeats. A trusted prefix is
/// the provider's own name: an entry under it counts whatever LiteLLM files it under.
fn candidate_prefixes(kind: &str, name: &str, provider: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::with_capacity(4);
    for (prefix, trusted) in [
        (format!("{name}/"), true),
        (format!("{kind}/"), false),
        (format!("{provider}/"), false),
        (String::new(), false),
    ] {
        if !out.iter().any(|(seen, _)| *seen == prefix) {
            out.push((prefix, trusted));
        }
    }
    out
}

/// The spellings of a model id to look up: as given, then without the kind's decorations
/// ([`KindSpec::plain_model`](crate::provider::KindSpec::plain_model): Gemini's `models/`
/// prefix, Ollama's default `:latest` tag).
fn model_spellings<'a>(kind: &str, model: &'a str) -> impl Iterator<Item = &'a str> {
    let plain = ProviderKind::parse(kind).and_then(|k| (k.spec().plain_model)(model));
    std::iter::once(model).chain(plain)
}

/// `YYYY-MM-DD` or `YYYYMMDD`.
fn is_date_suffix(s: &str) -> bool {
    let b = s.as_bytes();
    match b.len() {
        8 => b.iter().all(u8::is_ascii_digit),
        10 => is_iso_date(s),
        _ => false,
    }
}

/// `YYYY-MM-DD`, by shape.
pub(super) fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// Whether a model id ends in a date (`-YYYY-MM-DD` or `-YYYYMMDD`), the way OpenAI and
/// Anthropic pin snapshots: `claude-sonnet-4-5-20250929`, `gpt-4o-2024-08-06`.
pub fn ends_with_date(model: &str) -> bool {
    [11, 9].into_iter().any(|n| {
        model.len() > n
            && model.is_char_boundary(model.len() - n)
            && model[model.len() - n..]
                .strip_prefix('-')
                .is_some_and(is_date_suffix)
    })
}

#[cfg(test)]
mod tests {
    use super::is_iso_date;
    use crate::catalog::{builtin, ends_with_date};
    use crate::money::Price;

    #[test]
    fn lookup_openai_gpt_4o() {
        let catalog = builtin();
        let info = catalog.lookup("openai", "openai", "gpt-4o").unwrap();
        assert_eq!(info.key, "gpt-4o");
        let pricing = info.pricing.unwrap();
        assert_eq!(pricing.input, Price::per_million(2.5).unwrap());
        assert_eq!(pricing.output, Price::per_million(10.0).unwrap());
        assert!(pricing.cache_read.is_some());
        assert!(info.context_window.is_some());
        // An OpenAI-compatible proxy of another name gets OpenAI's prices too.
        assert_eq!(
            catalog
                .lookup("openai", "work-proxy", "gpt-4o")
                .unwrap()
                .key,
            "gpt-4o"
        );
        // But not a provider of another kind or another known name.
        assert!(catalog.lookup("anthropic", "anthropic", "gpt-4o").is_none());
        assert!(catalog.lookup("openai", "groq", "gpt-4o").is_none());
        assert!(
            catalog
                .lookup("openai", "openai", "no-such-model")
                .is_none()
        );
    }

    #[test]
    fn lookup_anthropic_snapshot() {
        let catalog = builtin();
        let info = catalog
            .lookup("anthropic", "anthropic", "claude-sonnet-4-5-20250929")
            .unwrap();
        assert_eq!(info.key, "claude-sonnet-4-5-20250929");
        let pricing = info.pricing.unwrap();
        assert!(pricing.cache_write.is_some() && pricing.cache_read.is_some());
        assert!(info.deprecation_date.as_deref().is_some_and(is_iso_date));
        assert_eq!(
            catalog.snapshots_of("anthropic", "anthropic", "claude-sonnet-4-5"),
            ["claude-sonnet-4-5-20250929"]
        );
    }

    #[test]
    fn lookup_gemini_under_its_prefix() {
        let catalog = builtin();
        let info = catalog
            .lookup("gemini", "gemini", "gemini-2.5-flash")
            .unwrap();
        assert_eq!(info.key, "gemini/gemini-2.5-flash");
        assert!(info.pricing.is_some());
        assert_eq!(
            catalog
                .lookup("gemini", "google", "models/gemini-2.5-flash")
                .unwrap()
                .key,
            "gemini/gemini-2.5-flash"
        );
        let pro = catalog
            .lookup("gemini", "gemini", "gemini-2.5-pro")
            .unwrap();
        assert!(pro.pricing.unwrap().input_above_200k.is_some());
    }

    #[test]
    fn lookup_other_providers() {
        let catalog = builtin();
        let key = |kind, name, model| catalog.lookup(kind, name, model).map(|i| i.key.as_str());
        assert_eq!(
            key("openai", "groq", "openai/gpt-oss-120b"),
            Some("groq/openai/gpt-oss-120b")
        );
        assert_eq!(key("azure", "azure", "gpt-4o"), Some("azure/gpt-4o"));
        assert_eq!(key("azure", "my-azure", "gpt-4o"), Some("azure/gpt-4o"));
        assert_eq!(key("ollama", "ollama", "llama3"), Some("ollama/llama3"));
        assert_eq!(
            key("ollama", "local", "llama3:latest"),
            Some("ollama/llama3")
        );
        assert_eq!(
            key("openai", "deepseek", "deepseek-chat"),
            Some("deepseek/deepseek-chat")
        );
        assert_eq!(
            key("openai", "Cerebras", "gpt-oss-120b"),
            Some("cerebras/gpt-oss-120b")
        );
        let together = catalog
            .search("together_ai/")
            .next()
            .map(|(k, _)| k.trim_start_matches("together_ai/").to_owned())
            .unwrap();
        assert!(key("openai", "together", &together).is_some());
        // Trimmed away: fine-tunes, speech, non-chat modes.
        assert!(key("openai", "openai", "ft:gpt-4o-2024-08-06").is_none());
        assert!(key("openai", "openai", "whisper-1").is_none());
        assert!(key("gemini", "gemini", "gemini-2.5-pro-preview-tts").is_none());
    }

    #[test]
    fn snapshots_are_dated_ids_of_the_same_model() {
        let catalog = builtin();
        let snaps = catalog.snapshots_of("openai", "openai", "gpt-4o");
        assert!(snaps.contains(&"gpt-4o-2024-08-06"), "{snaps:?}");
        assert!(
            snaps.iter().all(|s| s.starts_with("gpt-4o-20")),
            "{snaps:?}"
        );
        assert!(snaps.is_sorted());
        let azure = catalog.snapshots_of("azure", "azure", "gpt-4o");
        assert!(azure.contains(&"gpt-4o-2024-08-06"), "{azure:?}");
        assert!(catalog.snapshots_of("openai", "groq", "gpt-4o").is_empty());
        assert!(
            catalog
                .snapshots_of("openai", "openai", "no-such-model")
                .is_empty()
        );
    }

    #[test]
    fn dated_model_ids() {
        assert!(ends_with_date("claude-sonnet-4-5-20250929"));
        assert!(ends_with_date("gpt-4o-2024-08-06"));
        assert!(!ends_with_date("gpt-4o"));
        assert!(!ends_with_date("gpt-4-0613"));
        assert!(!ends_with_date("gemini-2.5-flash"));
        assert!(!ends_with_date("2024-08-06"));
        assert!(!ends_with_date("é-2024-08-0é"));
    }
}
