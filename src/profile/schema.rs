//! The profile's keys, each written down once: its name, its type, the range of its
//! values and a one-line doc.
//!
//! These tables drive everything that knows the profile's shape: the validating walk
//! (`profile::walk`), the unknown-key and range messages of `route init --check`,
//! `route init`'s commented `[settings]` block and the parser's fuzz vocabulary. Adding
//! a key is one line here (and, for a setting, the field it fills in [`Settings`]).

use std::time::Duration;

use super::{Settings, Strategy};
use crate::provider::{Continuation, ProviderKind};

/// The values a key takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Type {
    /// Any string.
    String,
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// A `http://` or `https://` URL.
    Url,
    /// `true` or `false`.
    Bool,
    /// A duration string: `"250ms"`, `"5s"`; 0 only where `zero` says so.
    Duration { zero: bool },
    /// A whole number in `range`.
    Integer { range: Range },
    /// USD (per 1M tokens for prices): a finite number, 0 or more.
    Dollars,
    /// A count of tokens: a whole number, 1 or more.
    Tokens,
    /// A list of strings.
    Strings,
    /// A table of strings to strings (`headers`).
    StringTable,
    /// A table of any values, passed through (`params`).
    AnyTable,
    /// A table with the keys of the given schema.
    Table(&'static [Key]),
    /// A table of named tables, each with the keys of the given schema.
    Named(&'static [Key]),
}

/// An inclusive range of whole numbers: `min..=max`, shown as "between MIN and MAX".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub min: i64,
    pub max: i64,
}

impl Range {
    pub fn contains(self, n: i64) -> bool {
        (self.min..=self.max).contains(&n)
    }
}

/// One key of a table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Key {
    pub name: &'static str,
    pub ty: Type,
    /// The table is refused without it.
    pub required: bool,
    pub doc: &'static str,
}

const fn key(name: &'static str, ty: Type, doc: &'static str) -> Key {
    Key {
        name,
        ty,
        required: false,
        doc,
    }
}

const fn required(name: &'static str, ty: Type, doc: &'static str) -> Key {
    Key {
        name,
        ty,
        required: true,
        doc,
    }
}

/// The top level of the profile.
pub const TOP: &[Key] = &[
    key(
        "default",
        Type::String,
        "what `ask` uses without -m: a model alias or a chain",
    ),
    key(
        "settings",
        Type::Table(SETTINGS),
        "the router's settings, overridable per chain",
    ),
    key("providers", Type::Named(PROVIDER), "where requests go"),
    key("models", Type::Named(MODEL), "model aliases"),
    key("chains", Type::Named(CHAIN), "models tried together"),
    key(
        "budget",
        Type::Table(BUDGET),
        "USD caps, checked before every request",
    ),
    key("ledger", Type::Table(LEDGER), "what the cost ledger keeps"),
];

/// Where a setting's value goes in [`Settings`].
#[derive(Clone, Copy)]
pub enum Field {
    Duration(fn(&mut Settings) -> &mut Duration),
    Count(fn(&mut Settings) -> &mut u32),
    Flag(fn(&mut Settings) -> &mut bool),
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Field::Duration(_) => "Duration",
            Field::Count(_) => "Count",
            Field::Flag(_) => "Flag",
        })
    }
}

/// A `[settings]` key: its schema and the field it fills.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub key: Key,
    pub field: Field,
}

const fn duration(
    name: &'static str,
    zero: bool,
    doc: &'static str,
    at: fn(&mut Settings) -> &mut Duration,
) -> Setting {
    Setting {
        key: key(name, Type::Duration { zero }, doc),
        field: Field::Duration(at),
    }
}

const fn count(
    name: &'static str,
    min: i64,
    max: i64,
    doc: &'static str,
    at: fn(&mut Settings) -> &mut u32,
) -> Setting {
    Setting {
        key: key(
            name,
            Type::Integer {
                range: Range { min, max },
            },
            doc,
        ),
        field: Field::Count(at),
    }
}

const fn flag(
    name: &'static str,
    doc: &'static str,
    at: fn(&mut Settings) -> &mut bool,
) -> Setting {
    Setting {
        key: key(name, Type::Bool, doc),
        field: Field::Flag(at),
    }
}

/// The `[settings]` keys, in the order `route init` writes them.
pub const SETTING_FIELDS: &[Setting] = &[
    duration("connect_timeout", false, "", |s| &mut s.connect_timeout),
    duration(
        "first_token_timeout",
        false,
        "time to the first streamed text of the answer, or of its reasoning",
        |s| &mut s.first_token_timeout,
    ),
    duration(
        "idle_timeout",
        false,
        "longest silence inside a stream",
        |s| &mut s.idle_timeout,
    ),
    duration("request_timeout", false, "one attempt, end to end", |s| {
        &mut s.request_timeout
    }),
    count(
        "retries",
        0,
        10,
        "extra tries on the same model for transient errors",
        |s| &mut s.retries,
    ),
    duration(
        "backoff",
        true,
        "base of exponential backoff with jitter",
        |s| &mut s.backoff,
    ),
    duration(
        "max_retry_wait",
        true,
        "a longer Retry-After moves on to the next model",
        |s| &mut s.max_retry_wait,
    ),
    count(
        "allowed_fails",
        1,
        1000,
        "consecutive failures that put a model in cooldown",
        |s| &mut s.allowed_fails,
    ),
    duration(
        "cooldown",
        true,
        "a model in cooldown is skipped, in later runs too",
        |s| &mut s.cooldown,
    ),
    flag(
        "log_content",
        "keep prompts and answers for route log and -c",
        |s| &mut s.log_content,
    ),
];

/// The `[settings]` keys as a table schema.
pub const SETTINGS: &[Key] = &settings_keys();

const fn settings_keys() -> [Key; SETTING_FIELDS.len()] {
    let mut out = [key("", Type::String, ""); SETTING_FIELDS.len()];
    let mut i = 0;
    while i < SETTING_FIELDS.len() {
        out[i] = SETTING_FIELDS[i].key;
        i += 1;
    }
    out
}

/// A setting by name.
pub fn setting(name: &str) -> Option<&'static Setting> {
    SETTING_FIELDS.iter().find(|s| s.key.name == name)
}

/// `[providers.NAME]`.
pub const PROVIDER: &[Key] = &[
    required(
        "kind",
        Type::Choice(&ProviderKind::NAMES),
        "the provider's API",
    ),
    key(
        "api_key_env",
        Type::String,
        "the environment variable that holds the key",
    ),
    key("api_key_cmd", Type::String, "a command that prints the key"),
    key("api_key", Type::String, "the key itself (0600 files only)"),
    key("base_url", Type::Url, "optional; each kind has its default"),
    key(
        "headers",
        Type::StringTable,
        "extra headers on every request",
    ),
    key(
        "api_version",
        Type::String,
        "Azure's api-version, Anthropic's anthropic-version",
    ),
    key(
        "continuation",
        Type::Choice(&Continuation::NAMES),
        "openai kind: how the server continues a broken-off answer (default none)",
    ),
    key(
        "stream_usage",
        Type::Bool,
        "openai kind: ask for usage in streams (stream_options); default yes, except servers known (or remembered) to refuse it",
    ),
];

/// The keys that say where a provider's API key comes from, at most one of them.
pub const KEY_SOURCES: [&str; 3] = ["api_key_env", "api_key_cmd", "api_key"];

/// `[models.NAME]`.
pub const MODEL: &[Key] = &[
    required("provider", Type::String, "a [providers] table"),
    required("model", Type::String, "the provider's model id"),
    key("input_cost", Type::Dollars, "USD per 1M input tokens"),
    key("output_cost", Type::Dollars, "USD per 1M output tokens"),
    key(
        "cached_input_cost",
        Type::Dollars,
        "USD per 1M cached input tokens",
    ),
    key("context_window", Type::Tokens, "tokens in and out"),
    key("max_output_tokens", Type::Tokens, "tokens out"),
    key("params", Type::AnyTable, "passed through to the provider"),
    key(
        "vision",
        Type::Bool,
        "takes images (-a); overrides the catalog's supports_vision",
    ),
    key(
        "pdf",
        Type::Bool,
        "takes PDF documents (-a); overrides the catalog's supports_pdf_input",
    ),
];

/// `[chains.NAME]`: its own keys, then every `[settings]` key.
pub const CHAIN: &[Key] = &chain_keys();

/// The keys a chain has besides the settings.
const CHAIN_OWN: [Key; 2] = [
    required(
        "models",
        Type::Strings,
        "aliases, or provider/model strings",
    ),
    key(
        "strategy",
        Type::Choice(&Strategy::NAMES),
        "how the chain orders its models",
    ),
];

const fn chain_keys() -> [Key; CHAIN_OWN.len() + SETTING_FIELDS.len()] {
    let mut out = [key("", Type::String, ""); CHAIN_OWN.len() + SETTING_FIELDS.len()];
    let mut i = 0;
    while i < CHAIN_OWN.len() {
        out[i] = CHAIN_OWN[i];
        i += 1;
    }
    while i < out.len() {
        out[i] = SETTING_FIELDS[i - CHAIN_OWN.len()].key;
        i += 1;
    }
    out
}

/// `[budget]`.
pub const BUDGET: &[Key] = &[
    key("daily", Type::Dollars, "USD per calendar day"),
    key("monthly", Type::Dollars, "USD per calendar month"),
    key(
        "per_request",
        Type::Dollars,
        "refuse a request whose worst-case cost exceeds it",
    ),
];

/// `[ledger]`.
pub const LEDGER: &[Key] = &[key(
    "store_text",
    Type::Bool,
    "keep prompts and answers in the ledger",
)];

/// The key `name` of a table schema.
pub fn find(keys: &'static [Key], name: &str) -> Option<&'static Key> {
    keys.iter().find(|k| k.name == name)
}

/// The names of a table schema's keys, in order.
pub fn names(keys: &[Key]) -> impl Iterator<Item = &'static str> + '_ {
    keys.iter().map(|k| k.name)
}

/// Every key name of every table, once each, for the parser's fuzz tests.
pub fn every_name() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    let visit = |keys: &[Key], out: &mut Vec<&'static str>| {
        for k in keys {
            if !out.contains(&k.name) {
                out.push(k.name);
            }
        }
    };
    for table in [TOP, SETTINGS, PROVIDER, MODEL, CHAIN, BUDGET, LEDGER] {
        visit(table, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_take_every_setting() {
        for s in SETTING_FIELDS {
            assert!(find(CHAIN, s.key.name).is_some(), "{}", s.key.name);
        }
        assert_eq!(SETTINGS.len(), SETTING_FIELDS.len());
    }

    #[test]
    fn each_setting_fills_its_own_field() {
        let mut s = Settings::default();
        for (i, setting) in SETTING_FIELDS.iter().enumerate() {
            let marker = u32::try_from(1000 + i).unwrap();
            match setting.field {
                Field::Duration(at) => *at(&mut s) = Duration::from_millis(u64::from(marker)),
                Field::Count(at) => *at(&mut s) = marker,
                Field::Flag(at) => *at(&mut s) = marker % 2 == 0,
            }
        }
        for (i, setting) in SETTING_FIELDS.iter().enumerate() {
            let marker = u32::try_from(1000 + i).unwrap();
            match setting.field {
                Field::Duration(at) => {
                    assert_eq!(*at(&mut s), Duration::from_millis(u64::from(marker)));
                }
                Field::Count(at) => assert_eq!(*at(&mut s), marker),
                Field::Flag(at) => assert_eq!(*at(&mut s), marker % 2 == 0),
            }
        }
    }
}
