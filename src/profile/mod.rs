//! The profile: providers, model aliases, chains, settings and budgets.
//!
//! It is read once ([`load()`]), validated into these immutable structures, and
//! passed by reference; nothing changes it afterwards.

pub mod check;
pub mod duration;
pub mod load;
pub mod problem;
pub mod reference;
pub mod schema;
pub mod secret;
mod walk;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use load::{LoadOptions, load};
pub use reference::{Resolved, Target};
pub use secret::{ApiKey, KeySource};

use crate::money::{Price, Usd};
use crate::provider::ProviderKind;
use crate::provider::types::Params;

/// A validated profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The file it came from; `None` for the profile built from the environment.
    pub path: Option<PathBuf>,
    /// What `ask` uses without `-m`.
    pub default: Option<String>,
    pub settings: Settings,
    pub providers: BTreeMap<String, Provider>,
    pub models: BTreeMap<String, ModelAlias>,
    pub chains: BTreeMap<String, Chain>,
    pub budget: Budget,
    pub store_text: bool,
}

/// One configured provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    pub name: String,
    pub kind: ProviderKind,
    /// Where requests go; keys are sent to this host only.
    pub base_url: String,
    pub key: KeySource,
    pub headers: Vec<(String, String)>,
    pub api_version: Option<String>,
    /// How the server continues an answer that broke off (`continuation`).
    pub continuation: crate::provider::Continuation,
    /// `stream_usage`: ask for usage in streams (`stream_options`); `None`:
    /// the kind decides.
    pub stream_usage: Option<bool>,
}

/// A model alias (`[models.NAME]`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelAlias {
    pub name: String,
    pub provider: String,
    pub model: String,
    pub overrides: ModelOverrides,
}

/// What the profile says about a model beyond the catalog.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelOverrides {
    /// Written in USD per 1M tokens.
    pub input_cost: Option<Price>,
    pub output_cost: Option<Price>,
    pub cached_input_cost: Option<Price>,
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub params: Params,
    /// Takes images (`vision`), whatever the catalog says.
    pub vision: Option<bool>,
    /// Takes PDF documents (`pdf`), whatever the catalog says.
    pub pdf: Option<bool>,
}

/// A chain (`[chains.NAME]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    pub name: String,
    pub models: Vec<String>,
    pub strategy: Strategy,
    /// `[settings]` with the chain's own overrides applied.
    pub settings: Settings,
}

/// How a chain orders its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    #[default]
    Fallback,
    Cheapest,
    Fastest,
    Shuffle,
}

impl Strategy {
    pub const NAMES: [&'static str; 4] = ["fallback", "cheapest", "fastest", "shuffle"];

    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "fallback" => Some(Strategy::Fallback),
            "cheapest" => Some(Strategy::Cheapest),
            "fastest" => Some(Strategy::Fastest),
            "shuffle" => Some(Strategy::Shuffle),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// The router's settings (`[settings]`, overridable per chain); their keys, ranges
/// and docs are in [`schema::SETTING_FIELDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub connect_timeout: Duration,
    pub first_token_timeout: Duration,
    pub idle_timeout: Duration,
    pub request_timeout: Duration,
    pub retries: u32,
    pub backoff: Duration,
    pub max_retry_wait: Duration,
    pub allowed_fails: u32,
    pub cooldown: Duration,
    /// Prompts and answers are kept in the ledger (`route log`, `-c`).
    pub log_content: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            connect_timeout: Duration::from_secs(5),
            first_token_timeout: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(120),
            retries: 1,
            backoff: Duration::from_millis(250),
            max_retry_wait: Duration::from_secs(10),
            allowed_fails: 3,
            cooldown: Duration::from_secs(60),
            log_content: true,
        }
    }
}

/// `[budget]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    pub daily: Option<Usd>,
    pub monthly: Option<Usd>,
    pub per_request: Option<Usd>,
}

impl Budget {
    pub fn is_set(&self) -> bool {
        self.daily.is_some() || self.monthly.is_some() || self.per_request.is_some()
    }
}

impl Profile {
    /// Names of everything `-m` accepts, for suggestions and completions.
    pub fn reference_names(&self) -> impl Iterator<Item = &str> {
        self.models
            .keys()
            .chain(self.chains.keys())
            .map(String::as_str)
    }

    /// Where this profile came from, for messages.
    pub fn origin(&self) -> String {
        self.path.as_ref().map_or_else(
            || "the profile built from the environment".to_owned(),
            |p| p.display().to_string(),
        )
    }
}
