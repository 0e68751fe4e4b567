//! The price catalog: per-token prices, context windows and retirement dates of chat models,
//! and the cost of a request.
//!
//! The data is LiteLLM's `model_prices_and_context_window.json` (see `catalog/SOURCE.md`),
//! in LiteLLM's own format so that a fresh upstream file can replace it unchanged:
//!
//! - the built-in copy, `catalog/catalog.json`, is embedded in the binary, indexed by
//!   lines when a price is first looked up, and each entry parsed when it is looked at
//!   ([`builtin`], `entries`): `route` starts fresh on every prompt, so a priced request
//!   must not pay for parsing some 1,500 entries, nor a command that prices nothing
//!   (`--help`, `init`, `completions`) for indexing them;
//! - `route models --update-catalog` stores a downloaded copy as `<data dir>/catalog.json`
//!   ([`install_cache`]), trimmed and in the built-in copy's layout so that it too is read
//!   by lines; [`load`] prefers it, and falls back to the built-in copy with a warning when
//!   it does not parse (a file in LiteLLM's own layout is parsed whole).
//!
//! Every field is optional and unknown fields are ignored: upstream adds fields all the
//! time, and its `sample_spec` entry holds descriptions where numbers go. Loading keeps the
//! same entries as `catalog/regenerate.py` (chat models of the providers in [`PROVIDERS`],
//! read from `catalog/providers.txt` by both), so a downloaded catalog and the built-in one
//! hold the same kind of models.
//!
//! Prices become [`Price`](crate::money::Price)s (integer picodollars per token) as they are read, and [`cost`]
//! adds integers only; see `money.rs` for why.
//!
//! By job: [`cache`] holds the built-in copy and the downloaded one, `litellm` reads
//! LiteLLM's format, [`lookup`] finds a profile's model in it, [`price`] turns usage into
//! cost.

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

pub mod advice;
pub mod cache;
mod entries;
mod litellm;
pub mod lookup;
pub mod price;

pub use cache::{Loaded, builtin, cache_path, install_cache, load};
pub use lookup::ends_with_date;
pub use price::{LONG_CONTEXT_THRESHOLD, Pricing, Tier, cost, cost_at};

/// Where `route models --update-catalog` downloads a fresh catalog from when given no URL.
pub const DEFAULT_UPDATE_URL: &str =
    "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json";

/// The file name of the downloaded catalog inside the data dir.
pub const CACHE_FILE_NAME: &str = "catalog.json";

/// LiteLLM `litellm_provider` values whose chat models the catalog keeps: every provider
/// kind's own ([`crate::provider::KindSpec::litellm_provider`]) and the hosted
/// OpenAI-compatible services priced by a provider's name. The one list is
/// `catalog/providers.txt`, which `catalog/regenerate.py` reads too.
pub static PROVIDERS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    PROVIDERS_TXT
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

const PROVIDERS_TXT: &str = include_str!("../../catalog/providers.txt");

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
    /// Takes images (LiteLLM's `supports_vision`); `None` when the entry
    /// does not say.
    pub vision: Option<bool>,
    /// Takes PDF documents (LiteLLM's `supports_pdf_input`); `None` when the
    /// entry does not say.
    pub pdf: Option<bool>,
    /// Thinks before answering (LiteLLM's `supports_reasoning`); `None` when
    /// the entry does not say.
    pub reasoning: Option<bool>,
    /// Served by the OpenAI Responses API alone (LiteLLM's `mode:
    /// "responses"`): `api = "auto"` sends it there.
    pub responses_only: bool,
}

/// One kept catalog entry: the model, and the LiteLLM provider it is filed under.
#[derive(Debug, Clone)]
struct Entry {
    provider: String,
    info: ModelInfo,
}

/// A parsed price catalog. Cheap to share behind an [`Arc`](std::sync::Arc); immutable once built.
pub struct Catalog {
    entries: entries::Entries,
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
        Catalog::from_bytes(Cow::Owned(bytes.to_vec()), version)
    }

    /// [`Catalog::from_json`] of bytes it may keep: a file in route's own layout (the
    /// built-in one) is indexed by lines and each entry parsed when first looked up.
    pub(crate) fn from_bytes(
        bytes: Cow<'static, [u8]>,
        version: impl Into<String>,
    ) -> Result<Catalog, String> {
        let entries = entries::Entries::read(bytes)?;
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

    /// The models whose key contains `filter` (case-insensitive), in key order; all of them
    /// for an empty filter. For `route models --catalog [FILTER]`.
    pub fn search<'a>(
        &'a self,
        filter: &str,
    ) -> impl Iterator<Item = (&'a str, &'a ModelInfo)> + use<'a> {
        let needle = filter.to_lowercase();
        self.entries
            .from("")
            .filter(move |(key, _)| needle.is_empty() || key.to_lowercase().contains(&needle))
            .map(|(key, entry)| (key, &entry.info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn every_kinds_catalog_provider_is_kept() {
        for kind in crate::provider::KINDS {
            let name = kind.spec().litellm_provider;
            assert!(
                PROVIDERS.contains(&name),
                "add `{name}` (kind `{}`) to catalog/providers.txt",
                kind.as_str()
            );
        }
        assert_eq!(PROVIDERS.len(), 17, "{:?}", *PROVIDERS);
    }
}
