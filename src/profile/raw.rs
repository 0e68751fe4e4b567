//! Serde structures that mirror the profile's TOML exactly.
//!
//! Every table denies unknown keys, and values that are checked after parsing
//! keep their span, so that every profile error can name its line and column.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProfile {
    pub default: Option<Spanned<String>>,
    #[serde(default)]
    pub settings: RawSettings,
    #[serde(default)]
    pub providers: BTreeMap<String, Spanned<RawProvider>>,
    #[serde(default)]
    pub models: BTreeMap<String, Spanned<RawModel>>,
    #[serde(default)]
    pub chains: BTreeMap<String, Spanned<RawChain>>,
    #[serde(default)]
    pub budget: RawBudget,
    #[serde(default)]
    pub ledger: RawLedger,
}

/// `[settings]`, and the same keys inside a chain.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSettings {
    pub connect_timeout: Option<Spanned<String>>,
    pub first_token_timeout: Option<Spanned<String>>,
    pub idle_timeout: Option<Spanned<String>>,
    pub request_timeout: Option<Spanned<String>>,
    pub retries: Option<Spanned<i64>>,
    pub backoff: Option<Spanned<String>>,
    pub max_retry_wait: Option<Spanned<String>>,
    pub allowed_fails: Option<Spanned<i64>>,
    pub cooldown: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvider {
    pub kind: Spanned<String>,
    pub api_key_env: Option<String>,
    pub api_key_cmd: Option<String>,
    pub api_key: Option<Spanned<String>>,
    pub base_url: Option<Spanned<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Azure's `api-version` query parameter, Anthropic's `anthropic-version` header.
    pub api_version: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModel {
    pub provider: Spanned<String>,
    pub model: String,
    pub input_cost: Option<Spanned<f64>>,
    pub output_cost: Option<Spanned<f64>>,
    pub cached_input_cost: Option<Spanned<f64>>,
    pub context_window: Option<Spanned<i64>>,
    pub max_output_tokens: Option<Spanned<i64>>,
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
}

/// A chain: its members, its strategy, and any `[settings]` key overridden.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChain {
    pub models: Vec<Spanned<String>>,
    pub strategy: Option<Spanned<String>>,
    pub connect_timeout: Option<Spanned<String>>,
    pub first_token_timeout: Option<Spanned<String>>,
    pub idle_timeout: Option<Spanned<String>>,
    pub request_timeout: Option<Spanned<String>>,
    pub retries: Option<Spanned<i64>>,
    pub backoff: Option<Spanned<String>>,
    pub max_retry_wait: Option<Spanned<String>>,
    pub allowed_fails: Option<Spanned<i64>>,
    pub cooldown: Option<Spanned<String>>,
}

impl RawChain {
    /// The chain's own settings keys, to be layered over `[settings]`.
    pub(crate) fn settings(&self) -> RawSettings {
        RawSettings {
            connect_timeout: self.connect_timeout.clone(),
            first_token_timeout: self.first_token_timeout.clone(),
            idle_timeout: self.idle_timeout.clone(),
            request_timeout: self.request_timeout.clone(),
            retries: self.retries.clone(),
            backoff: self.backoff.clone(),
            max_retry_wait: self.max_retry_wait.clone(),
            allowed_fails: self.allowed_fails.clone(),
            cooldown: self.cooldown.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBudget {
    pub daily: Option<Spanned<f64>>,
    pub monthly: Option<Spanned<f64>>,
    pub per_request: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLedger {
    #[serde(default)]
    pub store_text: bool,
}
