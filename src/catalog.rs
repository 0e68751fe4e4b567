//! The price catalog: per-token prices, context windows and retirement dates of chat models,
//! and the cost of a request.
//!
//! The data is LiteLLM's `model_prices_and_context_window.json` (see `catalog/SOURCE.md`),
//! in LiteLLM's own format so that a fresh upstream file can replace it unchanged:
//!
//! - the built-in copy, `catalog/catalog.json`, is embedded in the binary and parsed only
//!   when a price is first looked up ([`builtin`]): `route` starts fresh on every prompt,
//!   and commands that price nothing (`--help`, `init`, `completions`) must not pay for
//!   parsing some 900 entries;
//! - `route models --update-catalog` stores a downloaded copy as `<data dir>/catalog.json`
//!   ([`install_cache`]); [`load`] prefers it, and falls back to the built-in copy with a
//!   warning when it does not parse.
//!
//! Every field is optional and unknown fields are ignored: upstream adds fields all the
//! time, and its `sample_spec` entry holds descriptions where numbers go. Loading keeps the
//! same entries as `catalog/regenerate.py` (chat models of the providers in [`PROVIDERS`]),
//! so a downloaded catalog and the built-in one hold the same kind of models.
//!
//! Prices become [`Price`]s (integer picodollars per token) as they are read, and [`cost`]
//! adds integers only; see `money.rs` for why.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::money::{Price, Usd};
use crate::provider::types::Usage;

/// Where `route models --update-catalog` downloads a fresh catalog from when given no URL.
pub const DEFAULT_UPDATE_URL: &str =
    "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json";

/// The file name of the downloaded catalog inside the data dir.
pub const CACHE_FILE_NAME: &str = "catalog.json";

/// LiteLLM `litellm_provider` values whose chat models the catalog keeps. The same list is
/// in `catalog/regenerate.py`: change both together.
pub const PROVIDERS: &[&str] = &[
    "openai",
    "anthropic",
    "gemini",
    "azure",
    "ollama",
    "openrouter",
    "groq",
    "mistral",
    "deepseek",
    "together_ai",
    "xai",
    "fireworks_ai",
    "perplexity",
    "cerebras",
];

/// Above this many input tokens, a model's long-context prices (LiteLLM's
/// `*_above_200k_tokens`) apply to the whole request, as Anthropic and Gemini bill it.
pub const LONG_CONTEXT_THRESHOLD: u64 = 200_000;

const BUILTIN_JSON: &[u8] = include_bytes!("../catalog/catalog.json");
/// The date `catalog/regenerate.py` last ran, as written to `catalog/VERSION`.
const BUILTIN_DATE: &str = include_str!("../catalog/VERSION");

static BUILTIN: LazyLock<Arc<Catalog>> = LazyLock::new(|| {
    let version = format!("builtin-{}", BUILTIN_DATE.trim());
    match Catalog::from_json(BUILTIN_JSON, version) {
        Ok(catalog) => Arc::new(catalog),
        // Unreachable in a tested build: `builtin_catalog_parses` covers the embedded file.
        Err(err) => panic!("the embedded price catalog does not parse: {err}"),
    }
});

/// The built-in catalog, parsed on first use and shared after that.
pub fn builtin() -> Arc<Catalog> {
    Arc::clone(&BUILTIN)
}

/// The path of the downloaded catalog inside `data_dir`.
pub fn cache_path(data_dir: &Path) -> PathBuf {
    data_dir.join(CACHE_FILE_NAME)
}

/// The catalog to use, and a warning for the user when a cached copy had to be ignored.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The downloaded catalog when there is a usable one, the built-in one otherwise.
    pub catalog: Arc<Catalog>,
    /// Set when `<data dir>/catalog.json` exists but could not be read or parsed; the
    /// caller prints it (without a trailing period, like every message).
    pub warning: Option<String>,
}

/// Loads the catalog for a data dir (the caller resolves `ROUTE_DATA_DIR`): the downloaded
/// `<data_dir>/catalog.json` when it exists and parses, otherwise the built-in one. A
/// missing file is normal and silent; an unreadable or unparseable one yields a warning.
///
/// This reads the file and parses a catalog (the built-in one at most once per process):
/// call it when a price is about to be needed, not at start-up.
pub fn load(data_dir: &Path) -> Loaded {
    let path = cache_path(data_dir);
    let problem = match fs::read(&path) {
        Ok(bytes) => match Catalog::from_json(&bytes, cache_version(&bytes)) {
            Ok(catalog) => {
                return Loaded {
                    catalog: Arc::new(catalog),
                    warning: None,
                };
            }
            Err(err) => err,
        },
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Loaded {
                catalog: builtin(),
                warning: None,
            };
        }
        Err(err) => err.to_string(),
    };
    let catalog = builtin();
    let warning = format!(
        "ignoring the cached price catalog {}: {problem}; using the built-in one ({}); \
         `route models --update-catalog` replaces it",
        path.display(),
        catalog.version(),
    );
    Loaded {
        catalog,
        warning: Some(warning),
    }
}

/// Checks that `bytes` are a usable catalog (LiteLLM's format, at least one chat model of a
/// known provider), then writes them to `<data_dir>/catalog.json` atomically: a temporary
/// file in the same folder, renamed over the old one, so that a crash or a concurrent
/// `route` never sees half a file. Creates `data_dir` when needed.
///
/// # Errors
///
/// A message for the user when the bytes are not a usable catalog (the old cache, if any,
/// is then left as it was) or when the file cannot be written.
pub fn install_cache(data_dir: &Path, bytes: &[u8]) -> Result<Catalog, String> {
    let catalog = Catalog::from_json(bytes, cache_version(bytes))
        .map_err(|err| format!("the downloaded file is not a usable price catalog: {err}"))?;
    fs::create_dir_all(data_dir)
        .map_err(|err| format!("creating {}: {err}", data_dir.display()))?;
    let path = cache_path(data_dir);
    let tmp = data_dir.join(format!(".{CACHE_FILE_NAME}.{}.tmp", std::process::id()));
    let written = fs::File::create(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, &path));
    if let Err(err) = written {
        // Best effort: the temporary file is ours and useless now.
        let _ = fs::remove_file(&tmp);
        return Err(format!("writing {}: {err}", path.display()));
    }
    Ok(catalog)
}

/// `cache-<FNV-1a 64 of the bytes, 16 hex digits>`: identifies a downloaded catalog in the
/// ledger without storing it.
fn cache_version(bytes: &[u8]) -> String {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = bytes.iter().fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    });
    format!("cache-{hash:016x}")
}

/// A model's prices, in picodollars per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pricing {
    /// Uncached input (prompt) tokens.
    pub input: Price,
    /// Output tokens, reasoning included.
    pub output: Price,
    /// Input tokens read from the prompt cache; `input` when absent.
    pub cache_read: Option<Price>,
    /// Input tokens written to the prompt cache (Anthropic); `input` when absent.
    pub cache_write: Option<Price>,
    /// `input` for requests of more than [`LONG_CONTEXT_THRESHOLD`] input tokens.
    pub input_above_200k: Option<Price>,
    /// `output` for requests of more than [`LONG_CONTEXT_THRESHOLD`] input tokens.
    pub output_above_200k: Option<Price>,
    /// `cache_read` for requests of more than [`LONG_CONTEXT_THRESHOLD`] input tokens.
    pub cache_read_above_200k: Option<Price>,
}

impl Pricing {
    /// Just an input and an output price (e.g. from a profile's `input_cost` and
    /// `output_cost`); cached tokens then cost as much as other input.
    pub fn flat(input: Price, output: Price) -> Pricing {
        Pricing {
            input,
            output,
            cache_read: None,
            cache_write: None,
            input_above_200k: None,
            output_above_200k: None,
            cache_read_above_200k: None,
        }
    }
}

/// What the catalog knows about one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// The catalog key the model was found under, e.g. `gpt-4o` or `gemini/gemini-2.5-pro`.
    pub key: String,
    /// `None` when the catalog lacks an input or an output price: the cost is then unknown,
    /// never 0.
    pub pricing: Option<Pricing>,
    /// Maximum input tokens.
    pub context_window: Option<u64>,
    /// Maximum output tokens.
    pub max_output_tokens: Option<u64>,
    /// When the provider retires the model, `YYYY-MM-DD`.
    pub deprecation_date: Option<String>,
}

/// One kept catalog entry: the model, and the LiteLLM provider it is filed under.
#[derive(Debug, Clone)]
struct Entry {
    provider: String,
    info: ModelInfo,
}

/// A parsed price catalog. Cheap to share behind an [`Arc`]; immutable once built.
pub struct Catalog {
    entries: BTreeMap<String, Entry>,
    version: String,
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog")
            .field("version", &self.version)
            .field("len", &self.entries.len())
            .finish()
    }
}

impl Catalog {
    /// Parses a catalog in LiteLLM's format and keeps the chat models of [`PROVIDERS`].
    /// `version` is what [`Catalog::version`] reports. Fails when the bytes are not a JSON
    /// object or hold no such model.
    ///
    /// # Errors
    ///
    /// The JSON error, or a message saying that no chat model of a known provider is in it.
    pub fn from_json(bytes: &[u8], version: impl Into<String>) -> Result<Catalog, String> {
        let raw: RawCatalog = serde_json::from_slice(bytes).map_err(|err| err.to_string())?;
        let entries: BTreeMap<String, Entry> = raw
            .0
            .into_iter()
            .filter_map(|(key, raw)| raw.into_entry(&key).map(|entry| (key, entry)))
            .collect();
        if entries.is_empty() {
            return Err("no chat model of a supported provider in it".to_owned());
        }
        Ok(Catalog {
            entries,
            version: version.into(),
        })
    }

    /// `builtin-<date>` for the embedded catalog, `cache-<16 hex digits>` for a downloaded
    /// one. Every ledger row records it, so a cost can be traced to the prices used.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// How many models the catalog holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the catalog holds no model (never true for a loaded catalog).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

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
            for (key, entry) in self.entries.range(start.clone()..) {
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

    /// The models whose key contains `filter` (case-insensitive), in key order; all of them
    /// for an empty filter. For `route models --catalog [FILTER]`.
    pub fn search<'a>(
        &'a self,
        filter: &str,
    ) -> impl Iterator<Item = (&'a str, &'a ModelInfo)> + use<'a> {
        let needle = filter.to_lowercase();
        self.entries
            .iter()
            .filter(move |(key, _)| needle.is_empty() || key.to_lowercase().contains(&needle))
            .map(|(key, entry)| (key.as_str(), &entry.info))
    }
}

/// The LiteLLM provider whose prices apply to a profile provider.
fn litellm_provider<'a>(kind: &'a str, name: &str) -> &'a str {
    let known = known_provider(name);
    match kind {
        "anthropic" | "gemini" | "azure" | "ollama" => kind,
        // An OpenAI-compatible endpoint: a named hosted provider, or OpenAI (or a proxy
        // in front of it) by default.
        _ => known.unwrap_or(kind),
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

/// The spellings of a model id to look up: as given, then without the provider's
/// decorations (Gemini's `models/` prefix, Ollama's default `:latest` tag).
fn model_spellings<'a>(kind: &str, model: &'a str) -> impl Iterator<Item = &'a str> {
    let plain = match kind {
        "gemini" => model.strip_prefix("models/"),
        "ollama" => model.strip_suffix(":latest"),
        _ => None,
    };
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
fn is_iso_date(s: &str) -> bool {
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

/// The cost of one request: integer picodollars, never a float sum.
///
/// `usage.input_tokens` includes cached reads and cache writes and `usage.output_tokens`
/// includes reasoning (see [`Usage`]), so:
///
/// ```text
/// uncached = input - cached - cache_write            (saturating at 0)
/// cost     = uncached    × input
///          + cached      × (cache_read  or input)
///          + cache_write × (cache_write or input)
///          + output      × output
/// ```
///
/// When `input_tokens` exceeds [`LONG_CONTEXT_THRESHOLD`], each long-context price the
/// model has replaces its normal price for the whole request (Anthropic's and Gemini's
/// billing). Reasoning tokens are billed as output.
pub fn cost(pricing: &Pricing, usage: &Usage) -> Usd {
    let long = usage.input_tokens > LONG_CONTEXT_THRESHOLD;
    let (input, output, cache_read) = if long {
        (
            pricing.input_above_200k.unwrap_or(pricing.input),
            pricing.output_above_200k.unwrap_or(pricing.output),
            pricing.cache_read_above_200k.or(pricing.cache_read),
        )
    } else {
        (pricing.input, pricing.output, pricing.cache_read)
    };
    let uncached = usage
        .input_tokens
        .saturating_sub(usage.cached_input_tokens)
        .saturating_sub(usage.cache_write_tokens);
    [
        input.times(uncached),
        cache_read.unwrap_or(input).times(usage.cached_input_tokens),
        pricing
            .cache_write
            .unwrap_or(input)
            .times(usage.cache_write_tokens),
        output.times(usage.output_tokens),
    ]
    .into_iter()
    .sum()
}

// -- Parsing LiteLLM's format -------------------------------------------------------------

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
    deprecation_date: Scalar,
}

impl RawEntry {
    /// The entry route keeps for `key`, or `None` when it is not a chat model of a known
    /// provider.
    fn into_entry(self, key: &str) -> Option<Entry> {
        let provider = self.litellm_provider.text()?;
        if self.mode.text() != Some("chat") || !PROVIDERS.contains(&provider) || is_excluded(key) {
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
    /// Absent, `null`, a boolean, an array or an object.
    #[default]
    Other,
    Number(f64),
    Text(String),
}

impl Scalar {
    fn text(&self) -> Option<&str> {
        match self {
            Scalar::Text(s) => Some(s),
            _ => None,
        }
    }

    /// A number, or a string holding one (some upstream entries have quoted numbers).
    fn number(&self) -> Option<f64> {
        match self {
            Scalar::Number(n) => Some(*n),
            Scalar::Text(s) => s.trim().parse().ok(),
            Scalar::Other => None,
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
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
                Ok(Scalar::Other)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn picos(n: i64) -> Price {
        Price::from_picos(n)
    }

    fn usage(input: u64, cached: u64, cache_write: u64, output: u64, reasoning: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cached_input_tokens: cached,
            cache_write_tokens: cache_write,
            reasoning_tokens: reasoning,
        }
    }

    // -- cost: hand-computed figures, one per provider's usage shape ----------------------

    #[test]
    fn cost_openai_cached_prompt_and_reasoning() {
        // o4-mini list prices: $1.10 / $4.40 per 1M, cached input $0.275 per 1M.
        // OpenAI reports prompt_tokens 5000 (prompt_tokens_details.cached_tokens 3072) and
        // completion_tokens 1500 (completion_tokens_details.reasoning_tokens 1200).
        let pricing = Pricing {
            cache_read: Some(picos(275_000)),
            ..Pricing::flat(picos(1_100_000), picos(4_400_000))
        };
        let cost = cost(&pricing, &usage(5_000, 3_072, 0, 1_500, 1_200));
        // 1928 × 1.1µ$ = $0.0021208; 3072 × 0.275µ$ = $0.0008448; 1500 × 4.4µ$ = $0.0066
        assert_eq!(
            cost,
            Usd::from_picos(2_120_800_000 + 844_800_000 + 6_600_000_000)
        );
        assert_eq!(cost.to_string(), "$0.009566");
    }

    #[test]
    fn cost_anthropic_cache_read_and_cache_write() {
        // claude-sonnet-4-5: $3 / $15 per 1M, cache read $0.30, cache write $3.75 per 1M.
        // Anthropic reports input_tokens 50, cache_read_input_tokens 10000,
        // cache_creation_input_tokens 2000, output_tokens 400; the adapter sums the input.
        let pricing = Pricing {
            cache_read: Some(picos(300_000)),
            cache_write: Some(picos(3_750_000)),
            ..Pricing::flat(picos(3_000_000), picos(15_000_000))
        };
        let cost = cost(&pricing, &usage(12_050, 10_000, 2_000, 400, 0));
        // 50 × 3µ$ = $0.00015; 10000 × 0.3µ$ = $0.003; 2000 × 3.75µ$ = $0.0075;
        // 400 × 15µ$ = $0.006: $0.01665 in all.
        assert_eq!(cost, Usd::from_picos(16_650_000_000));
        assert_eq!(cost.to_string(), "$0.01665");
    }

    #[test]
    fn cost_gemini_cached_content_and_thoughts() {
        // gemini-2.5-flash: $0.30 / $2.50 per 1M, cached $0.03 per 1M.
        // Gemini reports promptTokenCount 10000 (cachedContentTokenCount 4000),
        // candidatesTokenCount 400 and thoughtsTokenCount 800: output is 1200.
        let pricing = Pricing {
            cache_read: Some(picos(30_000)),
            ..Pricing::flat(picos(300_000), picos(2_500_000))
        };
        let cost = cost(&pricing, &usage(10_000, 4_000, 0, 1_200, 800));
        // 6000 × 0.3µ$ = $0.0018; 4000 × 0.03µ$ = $0.00012; 1200 × 2.5µ$ = $0.003
        assert_eq!(cost, Usd::from_picos(4_920_000_000));
        assert_eq!(cost.to_string(), "$0.00492");
    }

    #[test]
    fn cost_above_200k_tokens_uses_the_long_context_prices_for_the_whole_request() {
        // gemini-2.5-pro: $1.25 / $10 per 1M, cached $0.125; above 200k input tokens
        // $2.50 / $15 per 1M, cached $0.25.
        let pricing = Pricing {
            cache_read: Some(picos(125_000)),
            input_above_200k: Some(picos(2_500_000)),
            output_above_200k: Some(picos(15_000_000)),
            cache_read_above_200k: Some(picos(250_000)),
            ..Pricing::flat(picos(1_250_000), picos(10_000_000))
        };
        let long = cost(&pricing, &usage(250_000, 50_000, 0, 2_000, 0));
        // 200000 × 2.5µ$ = $0.50; 50000 × 0.25µ$ = $0.0125; 2000 × 15µ$ = $0.03
        assert_eq!(long, Usd::from_picos(542_500_000_000));
        assert_eq!(long.to_string(), "$0.5425");
        // Exactly 200k is not above 200k: 200000 × 1.25µ$ + 2000 × 10µ$ = $0.27.
        let at = cost(&pricing, &usage(200_000, 0, 0, 2_000, 0));
        assert_eq!(at, Usd::from_picos(270_000_000_000));
    }

    #[test]
    fn cost_falls_back_to_the_input_price_for_missing_cache_prices() {
        let pricing = Pricing::flat(picos(1_000_000), picos(2_000_000));
        // 100 input of which 30 cached and 20 written, all at 1µ$; 10 output at 2µ$.
        assert_eq!(
            cost(&pricing, &usage(100, 30, 20, 10, 0)),
            Usd::from_picos(120_000_000)
        );
        // Inconsistent usage (more cached than input) never goes negative.
        assert_eq!(
            cost(&pricing, &usage(10, 30, 0, 0, 0)),
            Usd::from_picos(30_000_000)
        );
        // Long-context tiers missing: the normal prices apply.
        assert_eq!(
            cost(&pricing, &usage(300_000, 0, 0, 0, 0)),
            Usd::from_picos(300_000_000_000)
        );
        assert_eq!(cost(&pricing, &Usage::default()), Usd::ZERO);
    }

    // -- the embedded catalog -------------------------------------------------------------

    #[test]
    fn builtin_catalog_parses() {
        let catalog = builtin();
        assert_eq!(catalog.version(), "builtin-2026-11-22");
        assert!(catalog.len() > 500, "{} models", catalog.len());
        assert!(
            include_str!("../catalog/SOURCE.md").contains(BUILTIN_DATE.trim()),
            "catalog/SOURCE.md names the date in catalog/VERSION"
        );
    }

    #[test]
    fn builtin_catalog_is_already_trimmed() {
        // Everything regenerate.py kept survives the loader's own trim, and vice versa the
        // loader keeps nothing the file does not hold.
        let keys = BUILTIN_JSON
            .split(|&b| b == b'\n')
            .filter(|line| line.starts_with(b"\""))
            .count();
        assert_eq!(builtin().len(), keys);
    }

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

    #[test]
    fn search_filters_by_substring() {
        let catalog = builtin();
        assert_eq!(catalog.search("").count(), catalog.len());
        let found: Vec<&str> = catalog
            .search("CLAUDE-SONNET-4-5")
            .map(|(k, _)| k)
            .collect();
        assert!(found.contains(&"claude-sonnet-4-5-20250929"), "{found:?}");
        assert!(found.iter().all(|k| k.contains("claude-sonnet-4-5")));
        assert_eq!(catalog.search("no such model at all").count(), 0);
    }

    // -- upstream files and the cache -----------------------------------------------------

    /// The shape of a fresh upstream file: `sample_spec` with descriptions where numbers
    /// go, fields route does not know (nested too), non-chat modes, other providers.
    const UPSTREAM: &str = r#"{
        "sample_spec": {
            "code_interpreter_cost_per_session": 0.0,
            "deprecation_date": "date when the model becomes deprecated in the format YYYY-MM-DD",
            "input_cost_per_token": 0.0,
            "litellm_provider": "one of https://docs.litellm.ai/docs/providers",
            "max_input_tokens": "max input tokens, if the provider specifies it",
            "max_output_tokens": "max output tokens, if the provider specifies it",
            "mode": "one of: chat, embedding, completion, image_generation",
            "output_cost_per_token": 0.0,
            "search_context_cost_per_query": {"search_context_size_high": 0.0},
            "supported_regions": ["global", "us-west-2"],
            "supports_vision": true
        },
        "gpt-new": {
            "cache_read_input_token_cost": 1.25e-07,
            "input_cost_per_token": 1.25e-06,
            "input_cost_per_token_priority": 2.5e-06,
            "litellm_provider": "openai",
            "max_input_tokens": 272000,
            "max_tokens": 128000,
            "mode": "chat",
            "output_cost_per_token": 1e-05,
            "reasoning_modes": ["standard"],
            "search_context_cost_per_query": {"search_context_size_low": 0.01},
            "some_future_field": {"nested": [1, 2, {"deeper": null}]},
            "supports_reasoning": true,
            "deprecation_date": "2027-01-31"
        },
        "gpt-unpriced": {"litellm_provider": "openai", "mode": "chat", "max_output_tokens": "4096"},
        "text-embedding-3-small": {"input_cost_per_token": 2e-08, "litellm_provider": "openai", "mode": "embedding"},
        "vertex_ai/gemini-2.5-pro": {"input_cost_per_token": 1.25e-06, "output_cost_per_token": 1e-05, "litellm_provider": "vertex_ai-language-models", "mode": "chat"},
        "ft:gpt-4o-2024-08-06": {"input_cost_per_token": 3.75e-06, "output_cost_per_token": 1.5e-05, "litellm_provider": "openai", "mode": "chat"},
        "not-an-entry": "a string",
        "also-not": [1, 2, 3]
    }"#;

    #[test]
    fn upstream_format_with_unknown_fields_loads() {
        let catalog = Catalog::from_json(UPSTREAM.as_bytes(), "test").unwrap();
        let keys: Vec<&str> = catalog.search("").map(|(k, _)| k).collect();
        assert_eq!(keys, ["gpt-new", "gpt-unpriced"]);
        let info = catalog.lookup("openai", "openai", "gpt-new").unwrap();
        assert_eq!(
            info,
            &ModelInfo {
                key: "gpt-new".to_owned(),
                pricing: Some(Pricing {
                    cache_read: Some(picos(125_000)),
                    ..Pricing::flat(picos(1_250_000), picos(10_000_000))
                }),
                context_window: Some(272_000),
                max_output_tokens: Some(128_000),
                deprecation_date: Some("2027-01-31".to_owned()),
            }
        );
        let unpriced = catalog.lookup("openai", "openai", "gpt-unpriced").unwrap();
        assert_eq!(unpriced.pricing, None);
        assert_eq!(unpriced.max_output_tokens, Some(4096));
    }

    #[test]
    fn files_without_chat_models_are_rejected() {
        assert!(Catalog::from_json(b"{}", "x").is_err());
        assert!(Catalog::from_json(b"[]", "x").is_err());
        assert!(Catalog::from_json(b"{\"gpt-4o\": ", "x").is_err());
        assert!(Catalog::from_json(b"<html>rate limited</html>", "x").is_err());
    }

    #[test]
    fn cache_version_is_fnv1a_of_the_bytes() {
        // FNV-1a 64 test vectors: "" and "a".
        assert_eq!(cache_version(b""), "cache-cbf29ce484222325");
        assert_eq!(cache_version(b"a"), "cache-af63dc4c8601ec8c");
    }

    #[test]
    fn missing_cache_means_builtin_without_warning() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = load(dir.path());
        assert!(loaded.warning.is_none());
        assert_eq!(loaded.catalog.version(), builtin().version());
    }

    #[test]
    fn corrupt_cache_falls_back_to_builtin_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(cache_path(dir.path()), b"{\"gpt-4o\": {\"mode\": ").unwrap();
        let loaded = load(dir.path());
        assert_eq!(loaded.catalog.version(), builtin().version());
        let warning = loaded.warning.unwrap();
        assert!(
            warning.contains("ignoring the cached price catalog"),
            "{warning}"
        );
        assert!(
            warning.contains(&cache_path(dir.path()).display().to_string()),
            "{warning}"
        );
        assert!(!warning.ends_with('.'), "{warning}");
    }

    #[test]
    fn installed_cache_is_used_instead_of_builtin() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("not-yet-created");
        let installed = install_cache(&data_dir, UPSTREAM.as_bytes()).unwrap();
        assert_eq!(installed.len(), 2);
        assert_eq!(
            fs::read(cache_path(&data_dir)).unwrap(),
            UPSTREAM.as_bytes()
        );
        // Only the catalog is left in the folder: the temporary file was renamed.
        assert_eq!(fs::read_dir(&data_dir).unwrap().count(), 1);
        let loaded = load(&data_dir);
        assert!(loaded.warning.is_none());
        assert_eq!(loaded.catalog.version(), cache_version(UPSTREAM.as_bytes()));
        assert!(loaded.catalog.version().starts_with("cache-"));
        assert_eq!(loaded.catalog.version().len(), "cache-".len() + 16);
        assert!(
            loaded
                .catalog
                .lookup("openai", "openai", "gpt-new")
                .is_some()
        );
    }

    #[test]
    fn installing_a_bad_file_keeps_the_old_cache() {
        let dir = tempfile::tempdir().unwrap();
        install_cache(dir.path(), UPSTREAM.as_bytes()).unwrap();
        let err = install_cache(dir.path(), b"<html>404</html>").unwrap_err();
        assert!(err.contains("not a usable price catalog"), "{err}");
        assert_eq!(
            fs::read(cache_path(dir.path())).unwrap(),
            UPSTREAM.as_bytes()
        );
    }
}
