//! Reading LiteLLM's `model_prices_and_context_window.json`: leniently (every field
//! optional, unknown ones ignored, numbers in strings accepted), keeping the chat models of
//! [`PROVIDERS`] only, by the same rules as `catalog/regenerate.py`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::lookup::is_iso_date;
use super::{Entry, ModelInfo, PROVIDERS, Pricing};
use crate::money::Price;

/// Whether a key names something LiteLLM files as a chat model but that is not one.
/// The same rules as `catalog/regenerate.py`'s `keep`: change both together.
fn is_excluded(key: &str) -> bool {
    let last = key.rsplit('/').next().unwrap_or(key);
    key.starts_with("ft:")
        || last == "container"
        || last.contains("tts")
        || last.starts_with("lyria")
        || last.starts_with("together-ai-")
}

/// The kept entries of a file in LiteLLM's format, by model key.
pub(super) fn entries(bytes: &[u8]) -> Result<BTreeMap<String, Entry>, String> {
    let raw: RawCatalog = serde_json::from_slice(bytes).map_err(|err| err.to_string())?;
    Ok(raw
        .0
        .into_iter()
        .filter_map(|(key, raw)| raw.into_entry(&key).map(|entry| (key, entry)))
        .collect())
}

/// The fields route reads from an entry (those of `RawEntry`), the ones a trimmed
/// catalog keeps: the same list as `FIELDS` in `catalog/regenerate.py`.
const FIELDS: [&str; 21] = [
    "litellm_provider",
    "mode",
    "max_input_tokens",
    "max_output_tokens",
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "input_cost_per_token_above_200k_tokens",
    "output_cost_per_token_above_200k_tokens",
    "cache_read_input_token_cost_above_200k_tokens",
    "output_cost_per_reasoning_token",
    "cache_creation_input_token_cost_above_1hr",
    "input_cost_per_token_batches",
    "output_cost_per_token_batches",
    "cache_read_input_token_cost_batches",
    "deprecation_date",
    "supports_vision",
    "supports_pdf_input",
    "supports_reasoning",
    // Read only when `max_output_tokens` is missing; the trim renames it.
    "max_tokens",
];

/// A file in LiteLLM's format, trimmed as `catalog/regenerate.py` trims the built-in
/// one and written in route's layout (one entry a line, keys sorted), which loads by
/// lines ([`super::entries`]): what `route models --update-catalog` installs.
pub(super) fn trimmed(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let upstream: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(bytes).map_err(|err| err.to_string())?;
    let mut out = b"{\n".to_vec();
    for (key, value) in &upstream {
        let Ok(MaybeEntry(Some(raw))) = MaybeEntry::deserialize(value) else {
            continue;
        };
        if raw.into_entry(key).is_none() {
            continue;
        }
        let mut kept = serde_json::Map::new();
        for field in FIELDS {
            if let Some(v) = value.get(field) {
                kept.insert(field.to_owned(), v.clone());
            }
        }
        if let Some(max) = kept.remove("max_tokens") {
            kept.entry("max_output_tokens").or_insert(max);
        }
        if out.len() > 2 {
            out.extend_from_slice(b",\n");
        }
        serde_json::to_writer(&mut out, key).map_err(|err| err.to_string())?;
        out.push(b':');
        serde_json::to_writer(&mut out, &kept).map_err(|err| err.to_string())?;
    }
    out.extend_from_slice(b"\n}\n");
    Ok(out)
}

/// The entry of one key, from its value's JSON; `None` when that is not a kept chat
/// model (or not an entry at all).
pub(super) fn entry(key: &str, value: &[u8]) -> Option<Entry> {
    let MaybeEntry(raw) = serde_json::from_slice(value).ok()?;
    raw?.into_entry(key)
}

/// The whole file: model key → entry. Values that are not objects are skipped.
struct RawCatalog(Vec<(String, RawEntry)>);

impl<'de> Deserialize<'de> for RawCatalog {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CatalogVisitor;
        impl<'de> Visitor<'de> for CatalogVisitor {
            type Value = RawCatalog;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of model entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawCatalog, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if let MaybeEntry(Some(entry)) = map.next_value()? {
                        out.push((key, entry));
                    }
                }
                Ok(RawCatalog(out))
            }
        }
        deserializer.deserialize_map(CatalogVisitor)
    }
}

/// The fields route reads from an entry. Every one is optional and read leniently (a
/// string where a number belongs is as good as missing); every other field is ignored.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawEntry {
    litellm_provider: Scalar,
    mode: Scalar,
    max_input_tokens: Scalar,
    max_output_tokens: Scalar,
    max_tokens: Scalar,
    input_cost_per_token: Scalar,
    output_cost_per_token: Scalar,
    cache_read_input_token_cost: Scalar,
    cache_creation_input_token_cost: Scalar,
    input_cost_per_token_above_200k_tokens: Scalar,
    output_cost_per_token_above_200k_tokens: Scalar,
    cache_read_input_token_cost_above_200k_tokens: Scalar,
    cache_creation_input_token_cost_above_1hr: Scalar,
    output_cost_per_reasoning_token: Scalar,
    input_cost_per_token_batches: Scalar,
    output_cost_per_token_batches: Scalar,
    cache_read_input_token_cost_batches: Scalar,
    deprecation_date: Scalar,
    supports_vision: Scalar,
    supports_pdf_input: Scalar,
    supports_reasoning: Scalar,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fields_are_those_of_the_regeneration_script() {
        let script = include_str!("../../catalog/regenerate.py");
        let list = script.split("FIELDS = [").nth(1).unwrap();
        let list = &list[..list.find(']').unwrap()];
        let mut python: Vec<&str> = list
            .split(',')
            .map(|f| f.trim().trim_matches('"'))
            .filter(|f| !f.is_empty())
            .collect();
        let mut rust: Vec<&str> = FIELDS.into_iter().filter(|f| *f != "max_tokens").collect();
        python.sort_unstable();
        rust.sort_unstable();
        assert_eq!(python, rust);
    }
}

impl RawEntry {
    /// The entry route keeps for `key`, or `None` when it is not a chat model of a known
    /// provider.
    fn into_entry(self, key: &str) -> Option<Entry> {
        let provider = self.litellm_provider.text()?;
        // "responses": served by the Responses API alone (gpt-5-pro, the codex models).
        let responses_only = match self.mode.text() {
            Some("chat") => false,
            Some("responses") => true,
            _ => return None,
        };
        if !PROVIDERS.contains(&provider) || is_excluded(key) {
            return None;
        }
        let price = |s: &Scalar| s.number().and_then(Price::per_token);
        let pricing = match (
            price(&self.input_cost_per_token),
            price(&self.output_cost_per_token),
        ) {
            (Some(input), Some(output)) => Some(Pricing {
                input,
                output,
                cache_read: price(&self.cache_read_input_token_cost),
                cache_write: price(&self.cache_creation_input_token_cost),
                input_above_200k: price(&self.input_cost_per_token_above_200k_tokens),
                output_above_200k: price(&self.output_cost_per_token_above_200k_tokens),
                cache_read_above_200k: price(&self.cache_read_input_token_cost_above_200k_tokens),
                cache_write_1h: price(&self.cache_creation_input_token_cost_above_1hr),
                reasoning: price(&self.output_cost_per_reasoning_token),
                batch_input: price(&self.input_cost_per_token_batches),
                batch_output: price(&self.output_cost_per_token_batches),
                batch_cache_read: price(&self.cache_read_input_token_cost_batches),
            }),
            _ => None,
        };
        Some(Entry {
            provider: provider.to_owned(),
            info: ModelInfo {
                key: key.to_owned(),
                pricing,
                context_window: self.max_input_tokens.tokens(),
                max_output_tokens: self
                    .max_output_tokens
                    .tokens()
                    .or_else(|| self.max_tokens.tokens()),
                deprecation_date: self
                    .deprecation_date
                    .text()
                    .filter(|date| is_iso_date(date))
                    .map(str::to_owned),
                vision: self.supports_vision.flag(),
                pdf: self.supports_pdf_input.flag(),
                reasoning: self.supports_reasoning.flag(),
                responses_only,
            },
        })
    }
}

/// An object value, or `None` for anything else (skipped without failing the file).
struct MaybeEntry(Option<RawEntry>);

impl<'de> Deserialize<'de> for MaybeEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = MaybeEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a model entry")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MaybeEntry, A::Error> {
                RawEntry::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|e| MaybeEntry(Some(e)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MaybeEntry, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeEntry(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<MaybeEntry, E> {
                Ok(MaybeEntry(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<MaybeEntry, E> {
                Ok(MaybeEntry(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<MaybeEntry, E> {
                Ok(MaybeEntry(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<MaybeEntry, E> {
                Ok(MaybeEntry(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<MaybeEntry, E> {
                Ok(MaybeEntry(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<MaybeEntry, E> {
                Ok(MaybeEntry(None))
            }
        }
        deserializer.deserialize_any(EntryVisitor)
    }
}

/// One field's value, whatever its JSON type.
#[derive(Default)]
enum Scalar {
    /// Absent, `null`, an array or an object.
    #[default]
    Other,
    Number(f64),
    Text(String),
    Bool(bool),
}

impl Scalar {
    fn text(&self) -> Option<&str> {
        match self {
            Scalar::Text(s) => Some(s),
            _ => None,
        }
    }

    /// `true` or `false`; a missing field (or any other value) says nothing.
    fn flag(&self) -> Option<bool> {
        match self {
            Scalar::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A number, or a string holding one (some upstream entries have quoted numbers).
    fn number(&self) -> Option<f64> {
        match self {
            Scalar::Number(n) => Some(*n),
            Scalar::Text(s) => s.trim().parse().ok(),
            Scalar::Other | Scalar::Bool(_) => None,
        }
    }

    /// A positive whole number of tokens.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn tokens(&self) -> Option<u64> {
        // 2^53: every integer below it is exact in an f64.
        const EXACT: f64 = 9_007_199_254_740_992.0;
        let n = self.number()?;
        ((1.0..EXACT).contains(&n) && n.fract() == 0.0).then_some(n as u64)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v as f64))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Text(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}
