//! Every problem of a profile at once, for `route init --check` and `route models`.
//!
//! The loader (`validate.rs`) stops at the first error, which is right when a command is
//! about to run. A check wants the whole list, so this module walks the TOML document on
//! its own: toml's [`DeTable`] keeps a span on every key and value, and a syntax error
//! does not stop it ([`DeTable::parse_recoverable`]). It reuses the validator's pieces
//! rather than restating them: duration parsing, "did you mean", [`ProviderKind::parse`],
//! [`Strategy::parse`], key resolution ([`KeySource::resolve`]) and the 0600 rule. As a
//! safety net the real loader runs last, and whatever it refuses that the walk did not
//! already report is added: a profile the check calls clean of errors always loads.
//!
//! Besides errors (the profile would be refused, or a request could not be sent) the
//! check reports warnings about the models themselves, from the price catalog: floating
//! ids, unknown prices, and snapshots the provider retires within [`RETIRING_WITHIN_DAYS`]
//! days. The functions behind those ([`pin`], [`newest_snapshot`], [`retirement`]) are
//! public: `route models` and `route ask` give the same advice.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::SystemTime;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::validate::{Source, line_col};
use super::{KeySource, Strategy, duration};
use crate::catalog::{self, Catalog};
use crate::provider::ProviderKind;
use crate::provider::types::Params;
use crate::suggest;

/// A snapshot retiring within this many days (or already retired) is flagged.
pub const RETIRING_WITHIN_DAYS: u64 = 30;

const TOP_KEYS: &[&str] = &[
    "default",
    "settings",
    "providers",
    "models",
    "chains",
    "budget",
    "ledger",
];
const DURATION_KEYS: &[&str] = &[
    "connect_timeout",
    "first_token_timeout",
    "idle_timeout",
    "request_timeout",
    "backoff",
    "max_retry_wait",
    "cooldown",
];
/// Durations that may be 0 (as in the validator).
const ZERO_DURATION_OK: &[&str] = &["backoff", "max_retry_wait", "cooldown"];
/// Integer settings and their allowed ranges (as in the validator).
const INTEGER_SETTINGS: &[(&str, i64, i64)] = &[("retries", 0, 10), ("allowed_fails", 1, 1000)];
const PROVIDER_KEYS: &[&str] = &[
    "kind",
    "api_key_env",
    "api_key_cmd",
    "api_key",
    "base_url",
    "headers",
    "api_version",
];
const MODEL_KEYS: &[&str] = &[
    "provider",
    "model",
    "input_cost",
    "output_cost",
    "cached_input_cost",
    "context_window",
    "max_output_tokens",
    "params",
];
const PRICE_KEYS: &[&str] = &["input_cost", "output_cost", "cached_input_cost"];
const COUNT_KEYS: &[&str] = &["context_window", "max_output_tokens"];
const BUDGET_KEYS: &[&str] = &["daily", "monthly", "per_request"];
const LEDGER_KEYS: &[&str] = &["store_text"];

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// `route` refuses the profile, or a request cannot be sent.
    Error,
    /// The profile works, but something about a model deserves attention.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// What a problem is about, so that callers can pick the ones they show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Syntax, unknown keys, wrong types, values out of range, unknown names.
    Profile,
    /// A key that cannot be found: variable not set, command failing, 0600 rule.
    Key,
    /// A floating model id.
    Floating,
    /// A model with no known price.
    Price,
    /// A snapshot the provider retires soon, or has retired.
    Retiring,
}

/// One problem, with its place in the file when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub topic: Topic,
    /// 1-based line and column.
    pub location: Option<(usize, usize)>,
    pub message: String,
    pub hint: Option<String>,
    /// Byte offset, for ordering.
    offset: usize,
}

impl Problem {
    /// `path:line:col: error: message`, and the hint on its own line.
    pub fn render(&self, path: &Path) -> String {
        let place = match self.location {
            Some((line, col)) => format!("{}:{line}:{col}", path.display()),
            None => path.display().to_string(),
        };
        let mut out = format!("{place}: {}: {}", self.severity.as_str(), self.message);
        if let Some(hint) = &self.hint {
            out.push_str(&format!("\n  hint: {hint}"));
        }
        out
    }
}

/// What a check may look at besides the file.
pub struct CheckOptions<'a> {
    /// Reads an environment variable, for `api_key_env`.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub catalog: &'a Catalog,
    /// Run each `api_key_cmd` to see that it prints a key (`init --check` does;
    /// `route models` does not, as a password manager may ask for a passphrase).
    pub run_key_commands: bool,
    pub now: SystemTime,
}

/// Every problem of the profile text `text` read from `path`, in file order.
pub fn check(path: &Path, text: &str, opts: &CheckOptions<'_>) -> Vec<Problem> {
    let mut walk = Walk {
        path,
        text,
        opts,
        problems: Vec::new(),
    };
    let (root, errors) = DeTable::parse_recoverable(text);
    for e in &errors {
        let span = e.span().unwrap_or(0..0);
        walk.error(span, e.message().trim().to_owned(), None);
    }
    walk.root(root.get_ref());
    walk.loader_safety_net();
    let mut problems = walk.problems;
    problems.sort_by_key(|p| (p.location.is_none(), p.offset, p.severity));
    problems.dedup_by(|a, b| a.location == b.location && a.message == b.message);
    problems
}

/// How a model id is tied to what the provider runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    /// A dated or versioned snapshot: `claude-sonnet-4-5-20250929`, `gemini-2.5-flash-001`.
    Pinned,
    /// An alias the provider moves to new snapshots: `gpt-4o`, `claude-sonnet-latest`.
    Floating,
    /// A local model (Ollama): whatever is pulled on this machine.
    Local,
    /// An Azure deployment name: the deployment decides the version.
    Deployment,
}

impl Pin {
    pub fn as_str(self) -> &'static str {
        match self {
            Pin::Pinned => "pinned",
            Pin::Floating => "floating",
            Pin::Local => "local",
            Pin::Deployment => "deployment",
        }
    }
}

/// Whether `model` at a provider of `kind` is pinned. A pin is a date at the end
/// (`-2024-08-06`, `-20250929`, see [`catalog::ends_with_date`]), a version number of
/// three or four digits (`-001`, `-0613`, `-2411`), or a month and day or year
/// (`-preview-05-20`, `-04-2026`). `-latest` never is.
pub fn pin(kind: ProviderKind, model: &str) -> Pin {
    if kind.is_local() {
        return Pin::Local;
    }
    if kind.model_is_deployment() {
        return Pin::Deployment;
    }
    // OpenRouter-style `vendor/model`: the pin is in the model part.
    let id = model.rsplit('/').next().unwrap_or(model);
    let digits =
        |s: &str, lens: &[usize]| lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    let mut tokens = id.rsplit(['-', '@']);
    let last = tokens.next().unwrap_or("");
    let before = tokens.next().unwrap_or("");
    let pinned = catalog::ends_with_date(id)
        || (last != id && digits(last, &[3, 4]))
        || (digits(before, &[2]) && digits(last, &[2, 4]));
    if pinned { Pin::Pinned } else { Pin::Floating }
}

/// The newest dated snapshot of a floating id that the catalog knows, e.g.
/// `gpt-4o-2024-11-20` for `gpt-4o`.
pub fn newest_snapshot(
    catalog: &Catalog,
    kind: ProviderKind,
    provider: &str,
    model: &str,
) -> Option<String> {
    catalog
        .snapshots_of(kind.as_str(), provider, model)
        .last()
        .map(|s| (*s).to_owned())
}

/// A model the provider retires soon (or has retired).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retirement {
    /// `YYYY-MM-DD`, from the catalog.
    pub date: String,
    /// Days from now to the date; negative once it is past.
    pub days_left: i64,
    /// A model of the same family that is not retiring soon, when one is found.
    pub successor: Option<String>,
}

impl fmt::Display for Retirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.days_left {
            d if d < 0 => write!(f, "retired by the provider on {}", self.date)?,
            0 => write!(f, "retired by the provider on {} (today)", self.date)?,
            1 => write!(f, "retired by the provider on {} (tomorrow)", self.date)?,
            d => write!(f, "retired by the provider on {} (in {d} days)", self.date)?,
        }
        Ok(())
    }
}

/// Calendar days (UTC) from `now` to `date`, when `date` is `YYYY-MM-DD`: 0 on the day
/// itself, negative once it is past.
pub fn days_until(date: &str, now: SystemTime) -> Option<i64> {
    let day = crate::time::parse_date(date)?;
    let days = |t: SystemTime| crate::time::unix_ms(t).div_euclid(86_400_000);
    Some(days(day) - days(now))
}

/// Whether a retirement date is less than [`RETIRING_WITHIN_DAYS`] days away, or past.
pub fn is_near(date: &str, now: SystemTime) -> bool {
    days_until(date, now).is_some_and(|d| d < i64::try_from(RETIRING_WITHIN_DAYS).unwrap_or(30))
}

/// The retirement of a model whose catalog `deprecation_date` is near or past, with a
/// suggested successor (see [`successor`]); `None` when it is not retiring soon.
pub fn retirement(
    catalog: &Catalog,
    kind: ProviderKind,
    provider: &str,
    model: &str,
    deprecation_date: Option<&str>,
    now: SystemTime,
) -> Option<Retirement> {
    let date = deprecation_date?;
    if !is_near(date, now) {
        return None;
    }
    Some(Retirement {
        date: date.to_owned(),
        days_left: days_until(date, now)?,
        successor: successor(catalog, kind, provider, model, now),
    })
}

/// A best-effort successor for a retiring model, from the catalog of the same provider:
///
/// 1. the newest other dated snapshot of the same model (`gpt-4o-2024-05-13` →
///    `gpt-4o-2024-11-20`) that is not retiring soon itself;
/// 2. else the newest version of the same family: models whose name words (the
///    `-`-separated parts that do not start with a digit, leaving out dates and the
///    `latest` / `preview` / `exp` markers) are the same, with the highest version (the
///    parts that start with a digit, compared as numbers), at least as high as this
///    one's, not retiring soon: `claude-sonnet-4-5-20250929` → `claude-sonnet-5-5`;
///    `gemini-3.1-flash-lite-preview` → `gemini-3.5-flash-lite`. Its newest dated
///    snapshot is named when the catalog has one.
///
/// The heuristic knows nothing of the provider's own migration advice; it only names a
/// model that the catalog lists and does not retire within the warning window.
pub fn successor(
    catalog: &Catalog,
    kind: ProviderKind,
    provider: &str,
    model: &str,
    now: SystemTime,
) -> Option<String> {
    let retiring = |m: &str| {
        catalog
            .lookup(kind.as_str(), provider, m)
            .and_then(|i| i.deprecation_date.as_deref())
            .is_some_and(|d| is_near(d, now))
    };
    let base = strip_date(model);
    if base != model {
        let newer = catalog
            .snapshots_of(kind.as_str(), provider, base)
            .into_iter()
            .rev()
            .find(|s| *s != model && !retiring(s));
        if let Some(s) = newer {
            return Some(s.to_owned());
        }
    }
    let (words, version) = family(model);
    if words.is_empty() {
        return None;
    }
    let mut best: Option<(Vec<u64>, String)> = None;
    for (key, _) in catalog.search("") {
        // `family` reads only the id's last `/` part, which every spelling of the key
        // shares: test it first, and look up only the few keys of the same family
        // (`profile_spelling` and `retiring` cost several catalog lookups each).
        let (w, v) = family(key);
        if w != words || v < version {
            continue;
        }
        let Some(candidate) = profile_spelling(catalog, kind, provider, key) else {
            continue;
        };
        if candidate == model || catalog::ends_with_date(candidate) || retiring(candidate) {
            continue;
        }
        if best.as_ref().is_none_or(|(bv, _)| v > *bv) {
            best = Some((v, candidate.to_owned()));
        }
    }
    let (_, name) = best?;
    let dated = catalog
        .snapshots_of(kind.as_str(), provider, &name)
        .into_iter()
        .rev()
        .find(|s| !retiring(s))
        .map(str::to_owned);
    Some(dated.unwrap_or(name))
}

/// `model` without a trailing `-YYYY-MM-DD` / `-YYYYMMDD`.
fn strip_date(model: &str) -> &str {
    if !catalog::ends_with_date(model) {
        return model;
    }
    let b = model.as_bytes();
    let n = b.len();
    // `ends_with_date` holds, so the tail is one of the two shapes, all ASCII.
    let iso = n > 11 && b[n - 11] == b'-' && b[n - 6] == b'-' && b[n - 3] == b'-';
    &model[..n - if iso { 11 } else { 9 }]
}

/// The name words and the version numbers of a model id (see [`successor`]).
fn family(model: &str) -> (Vec<&str>, Vec<u64>) {
    let id = strip_date(model);
    let id = id.rsplit('/').next().unwrap_or(id);
    let mut words = Vec::new();
    let mut version = Vec::new();
    for token in id.split('-') {
        if token.starts_with(|c: char| c.is_ascii_digit()) {
            for part in token.split('.') {
                let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                version.push(digits.parse().unwrap_or(0));
            }
        } else if !matches!(token, "latest" | "preview" | "exp") {
            words.push(token);
        }
    }
    (words, version)
}

/// How a profile would spell the catalog entry `key` for this provider, when the entry
/// is one that [`Catalog::lookup`] finds for it: the key itself, or the part after one
/// of its `/`.
fn profile_spelling<'k>(
    catalog: &Catalog,
    kind: ProviderKind,
    provider: &str,
    key: &'k str,
) -> Option<&'k str> {
    std::iter::once(key)
        .chain(key.match_indices('/').map(|(i, _)| &key[i + 1..]))
        .find(|m| {
            !m.is_empty()
                && catalog
                    .lookup(kind.as_str(), provider, m)
                    .is_some_and(|i| i.key == key)
        })
}

/// A model to give advice about.
pub struct ModelToCheck<'a> {
    /// How messages name it: "alias `gpt`", "chain `main`: `openai/gpt-4o`".
    pub what: &'a str,
    pub kind: ProviderKind,
    pub provider: &'a str,
    pub model: &'a str,
    /// The profile gives both `input_cost` and `output_cost`.
    pub priced_by_profile: bool,
}

/// Warnings about a model itself, from the catalog: a floating id (with the newest dated
/// snapshot as the fix), no known price, a retirement within [`RETIRING_WITHIN_DAYS`]
/// days (with a successor). The problems have no place; [`check`] gives them one.
pub fn advice(catalog: &Catalog, m: &ModelToCheck<'_>, now: SystemTime) -> Vec<Problem> {
    let ModelToCheck {
        what,
        kind,
        provider,
        model,
        priced_by_profile,
    } = *m;
    let mut out = Vec::new();
    let mut push = |topic, message, hint| {
        out.push(Problem {
            severity: Severity::Warning,
            topic,
            location: None,
            message,
            hint,
            offset: usize::MAX,
        });
    };
    let info = catalog.lookup(kind.as_str(), provider, model);
    if pin(kind, model) == Pin::Floating {
        let hint = match newest_snapshot(catalog, kind, provider, model) {
            Some(s) => format!("pin the snapshot: model = \"{s}\""),
            None => "pin a dated snapshot when the provider offers one (`route models --catalog` lists the catalog)".into(),
        };
        push(
            Topic::Floating,
            format!(
                "{what} uses the floating id `{model}`: the provider may move it to a new snapshot"
            ),
            Some(hint),
        );
    }
    if !priced_by_profile && !kind.is_local() && info.and_then(|i| i.pricing).is_none() {
        push(
            Topic::Price,
            format!(
                "{what}: no known price for `{model}` at `{provider}`; its cost is reported as unknown"
            ),
            Some("set input_cost and output_cost (USD per 1M tokens) in its [models] table".into()),
        );
    }
    let deprecation = info.and_then(|i| i.deprecation_date.as_deref());
    if let Some(r) = retirement(catalog, kind, provider, model, deprecation, now) {
        push(
            Topic::Retiring,
            format!("{what}: `{model}` is {r}"),
            r.successor.map(|s| format!("move to `{s}`")),
        );
    }
    out
}

/// The walk over one document.
struct Walk<'a> {
    path: &'a Path,
    text: &'a str,
    opts: &'a CheckOptions<'a>,
    problems: Vec<Problem>,
}

/// What the walk learnt about a provider, for the models that name it.
struct ProviderFacts {
    /// `None` when the kind is missing or unknown (already reported).
    kind: Option<ProviderKind>,
}

type Value<'i> = Spanned<DeValue<'i>>;

impl Walk<'_> {
    fn push(
        &mut self,
        severity: Severity,
        topic: Topic,
        span: Range<usize>,
        message: String,
        hint: Option<String>,
    ) {
        let location = Some(line_col(self.text, span.start));
        self.problems.push(Problem {
            severity,
            topic,
            location,
            message,
            hint,
            offset: span.start,
        });
    }

    fn error(&mut self, span: Range<usize>, message: String, hint: Option<String>) {
        self.push(Severity::Error, Topic::Profile, span, message, hint);
    }

    fn unknown_key(&mut self, key: &Spanned<std::borrow::Cow<'_, str>>, at: &str, known: &[&str]) {
        let name = key.get_ref();
        let hint = suggest::did_you_mean(name, known.iter().copied())
            .or_else(|| Some(format!("known keys: {}", known.join(", "))));
        self.error(key.span(), format!("unknown key `{at}{name}`"), hint);
    }

    fn string<'v>(&mut self, v: &'v Value<'_>, what: &str) -> Option<&'v str> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            other => {
                self.error(
                    v.span(),
                    format!("{what} must be a string (got {})", other.type_str()),
                    None,
                );
                None
            }
        }
    }

    fn integer(&mut self, v: &Value<'_>, what: &str) -> Option<i64> {
        match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
            other => {
                self.error(
                    v.span(),
                    format!("{what} must be an integer (got {})", other.type_str()),
                    None,
                );
                None
            }
        }
    }

    fn number(&mut self, v: &Value<'_>, what: &str) -> Option<f64> {
        match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .and_then(|n| n.to_string().parse().ok()),
            DeValue::Float(f) => f.as_str().parse().ok(),
            other => {
                self.error(
                    v.span(),
                    format!("{what} must be a number (got {})", other.type_str()),
                    None,
                );
                None
            }
        }
    }

    fn table<'v, 'i>(&mut self, v: &'v Value<'i>, what: &str) -> Option<&'v DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            other => {
                self.error(
                    v.span(),
                    format!("{what} must be a table (got {})", other.type_str()),
                    None,
                );
                None
            }
        }
    }

    fn root(&mut self, root: &DeTable<'_>) {
        // Providers first: models and chains refer to them.
        let mut providers: BTreeMap<String, ProviderFacts> = BTreeMap::new();
        if let Some(v) = root.get("providers") {
            if let Some(t) = self.table(v, "providers") {
                for (name, p) in t {
                    let facts = self.provider(name.get_ref(), p);
                    providers.insert(name.get_ref().to_string(), facts);
                }
            }
        }
        let mut models = BTreeSet::new();
        if let Some(v) = root.get("models") {
            if let Some(t) = self.table(v, "models") {
                for (name, m) in t {
                    self.model(name.get_ref(), m, &providers);
                    models.insert(name.get_ref().to_string());
                }
            }
        }
        let chain_names: BTreeSet<String> = root
            .get("chains")
            .and_then(|v| match v.get_ref() {
                DeValue::Table(t) => Some(t.keys().map(|k| k.get_ref().to_string()).collect()),
                _ => None,
            })
            .unwrap_or_default();
        if let Some(v) = root.get("chains") {
            if let Some(t) = self.table(v, "chains") {
                for (name, c) in t {
                    if models.contains(name.get_ref().as_ref()) {
                        self.error(
                            name.span(),
                            format!("`{}` is both a model alias and a chain", name.get_ref()),
                            Some("rename one of them".into()),
                        );
                    }
                    self.chain(name.get_ref(), c, &providers, &models, &chain_names);
                }
            }
        }
        for (key, v) in root {
            match key.get_ref().as_ref() {
                "default" => {
                    if let Some(d) = self.string(v, "default") {
                        self.default(d, v.span(), &providers, &models, &chain_names);
                    }
                }
                "settings" => {
                    if let Some(t) = self.table(v, "settings") {
                        self.settings(t, "settings.", false);
                    }
                }
                "budget" => {
                    if let Some(t) = self.table(v, "budget") {
                        self.budget(t);
                    }
                }
                "ledger" => {
                    if let Some(t) = self.table(v, "ledger") {
                        for (k, v) in t {
                            if k.get_ref() == "store_text" {
                                if !matches!(v.get_ref(), DeValue::Boolean(_)) {
                                    self.error(
                                        v.span(),
                                        format!(
                                            "ledger.store_text must be true or false (got {})",
                                            v.get_ref().type_str()
                                        ),
                                        None,
                                    );
                                }
                            } else {
                                self.unknown_key(k, "ledger.", LEDGER_KEYS);
                            }
                        }
                    }
                }
                "providers" | "models" | "chains" => {}
                _ => self.unknown_key(key, "", TOP_KEYS),
            }
        }
    }

    /// `[settings]`, or the settings keys of a chain (`chain = true`: other keys are
    /// the chain's own and are checked by the caller).
    fn settings(&mut self, t: &DeTable<'_>, at: &str, chain: bool) {
        for (key, v) in t {
            let name = key.get_ref().as_ref();
            let what = format!("{at}{name}");
            if DURATION_KEYS.contains(&name) {
                let Some(s) = self.string(v, &what) else {
                    continue;
                };
                match duration::parse(s) {
                    Err(e) => self.error(v.span(), format!("{what}: {e}"), None),
                    Ok(d) if d.is_zero() && !ZERO_DURATION_OK.contains(&name) => {
                        self.error(v.span(), format!("{what} must be more than 0"), None);
                    }
                    Ok(_) => {}
                }
            } else if let Some((_, lo, hi)) = INTEGER_SETTINGS.iter().find(|(k, ..)| *k == name) {
                let Some(n) = self.integer(v, &what) else {
                    continue;
                };
                if !(*lo..=*hi).contains(&n) {
                    self.error(
                        v.span(),
                        format!("{what} must be between {lo} and {hi} (got {n})"),
                        None,
                    );
                }
            } else if !chain {
                let known: Vec<&str> = settings_keys().collect();
                self.unknown_key(key, at, &known);
            }
        }
    }

    fn provider(&mut self, name: &str, v: &Value<'_>) -> ProviderFacts {
        let at = format!("providers.{name}");
        let mut facts = ProviderFacts { kind: None };
        let Some(t) = self.table(v, &at) else {
            return facts;
        };
        for (key, _) in t {
            if !PROVIDER_KEYS.contains(&key.get_ref().as_ref()) {
                self.unknown_key(key, &format!("{at}."), PROVIDER_KEYS);
            }
        }
        match t.get("kind") {
            None => self.error(
                v.span(),
                format!("{at}: `kind` is missing"),
                Some(format!("kinds: {}", ProviderKind::NAMES.join(", "))),
            ),
            Some(k) => {
                if let Some(s) = self.string(k, &format!("{at}.kind")) {
                    facts.kind = ProviderKind::parse(s);
                    if facts.kind.is_none() {
                        self.error(
                            k.span(),
                            format!("{at}: unknown kind `{s}`"),
                            suggest::did_you_mean(s, ProviderKind::NAMES.iter().copied()).or_else(
                                || Some(format!("kinds: {}", ProviderKind::NAMES.join(", "))),
                            ),
                        );
                    }
                }
            }
        }
        if let Some(u) = t.get("base_url") {
            if let Some(s) = self.string(u, &format!("{at}.base_url")) {
                if !(s.starts_with("http://") || s.starts_with("https://")) {
                    self.error(
                        u.span(),
                        format!("{at}.base_url must start with http:// or https://"),
                        None,
                    );
                }
            }
        } else if let Some(k) = facts.kind.filter(|k| k.needs_base_url()) {
            self.error(
                v.span(),
                format!("{at}: kind `{}` needs a base_url", k.as_str()),
                k.base_url_hint().map(Into::into),
            );
        }
        if let Some(h) = t.get("headers") {
            if let Some(headers) = self.table(h, &format!("{at}.headers")) {
                for (k, v) in headers {
                    self.string(v, &format!("{at}.headers.{}", k.get_ref()));
                }
            }
        }
        if let Some(a) = t.get("api_version") {
            self.string(a, &format!("{at}.api_version"));
        }
        self.key(name, &at, t, v.span(), facts.kind);
        facts
    }

    /// The provider's key: one source at most, and that source must give a key.
    fn key(
        &mut self,
        name: &str,
        at: &str,
        t: &DeTable<'_>,
        span: Range<usize>,
        kind: Option<ProviderKind>,
    ) {
        let given: Vec<(&str, &Value<'_>)> = ["api_key_env", "api_key_cmd", "api_key"]
            .into_iter()
            .filter_map(|k| t.get(k).map(|v| (k, v)))
            .collect();
        if given.len() > 1 {
            self.error(
                given[1].1.span(),
                format!("{at}: give only one of api_key_env, api_key_cmd and api_key"),
                None,
            );
            return;
        }
        let (source, span) = match given.first() {
            None => match kind {
                Some(k) => (KeySource::implied(k, t.contains_key("base_url")), span),
                None => return,
            },
            Some((key, v)) => {
                let Some(s) = self.string(v, &format!("{at}.{key}")) else {
                    return;
                };
                let source = match *key {
                    "api_key_env" => KeySource::Env(s.to_owned()),
                    "api_key_cmd" => KeySource::Command(s.to_owned()),
                    _ => {
                        self.private(name, v.span());
                        return;
                    }
                };
                (source, v.span())
            }
        };
        let source = match source {
            KeySource::Command(_) if !self.opts.run_key_commands => return,
            s => s,
        };
        if let Err(message) = source.resolve(self.opts.env) {
            let hint = match &source {
                KeySource::Env(var) => Some(format!(
                    "export {var}=… in your shell, or use api_key_cmd to read it from a password manager"
                )),
                _ => None,
            };
            self.push(
                Severity::Error,
                Topic::Key,
                span,
                format!("{at}: {message}"),
                hint,
            );
        }
    }

    /// The 0600 rule, by the loader's own function.
    fn private(&mut self, name: &str, span: Range<usize>) {
        let src = Source {
            path: self.path,
            text: self.text,
        };
        if let Err(e) = super::load::check_private(self.path, name, span.clone(), &src) {
            let message = strip_place(&e.message, self.path).to_owned();
            self.push(Severity::Error, Topic::Key, span, message, e.hint);
        }
    }

    fn model(&mut self, name: &str, v: &Value<'_>, providers: &BTreeMap<String, ProviderFacts>) {
        let at = format!("models.{name}");
        let Some(t) = self.table(v, &at) else {
            return;
        };
        for (key, _) in t {
            if !MODEL_KEYS.contains(&key.get_ref().as_ref()) {
                self.unknown_key(key, &format!("{at}."), MODEL_KEYS);
            }
        }
        let mut priced = 0;
        for key in PRICE_KEYS {
            if let Some(p) = t.get(*key) {
                if let Some(n) = self.number(p, &format!("{at}.{key}")) {
                    if !(n.is_finite() && n >= 0.0) {
                        self.error(
                            p.span(),
                            format!("{at}.{key} must be a number of dollars, 0 or more (got {n})"),
                            None,
                        );
                    } else if *key != "cached_input_cost" {
                        priced += 1;
                    }
                }
            }
        }
        for key in COUNT_KEYS {
            if let Some(c) = t.get(*key) {
                if let Some(n) = self.integer(c, &format!("{at}.{key}")) {
                    if n <= 0 {
                        self.error(
                            c.span(),
                            format!("{at}.{key} must be a positive number of tokens (got {n})"),
                            None,
                        );
                    }
                }
            }
        }
        if let Some(p) = t.get("params") {
            if let Some(params) = self.table(p, &format!("{at}.params")) {
                // The validator's own rules for known keys (max_tokens a whole number, ...).
                let mut checked = Params::default();
                for (key, value) in params {
                    if let Err(e) = checked.set(key.get_ref(), to_json(value.get_ref())) {
                        self.error(value.span(), format!("{at}.params: {e}"), None);
                    }
                }
            }
        }
        let model = match t.get("model") {
            None => {
                self.error(v.span(), format!("{at}: `model` is missing"), None);
                None
            }
            Some(m) => self
                .string(m, &format!("{at}.model"))
                .map(|s| (s.to_owned(), m.span())),
        };
        let provider = match t.get("provider") {
            None => {
                self.error(
                    v.span(),
                    format!("{at}: `provider` is missing"),
                    Some(providers_hint(providers)),
                );
                None
            }
            Some(p) => {
                let s = self.string(p, &format!("{at}.provider"));
                match s {
                    Some(s) if !providers.contains_key(s) => {
                        self.error(
                            p.span(),
                            format!("{at}: unknown provider `{s}`"),
                            suggest::did_you_mean(s, providers.keys().map(String::as_str))
                                .or_else(|| Some(format!("define it under [providers.{s}]"))),
                        );
                        None
                    }
                    Some(s) => Some(s.to_owned()),
                    None => None,
                }
            }
        };
        if let (Some(provider), Some((model, span))) = (provider, model) {
            if model.trim().is_empty() {
                self.error(span, format!("{at}.model is empty"), None);
            } else if let Some(kind) = providers.get(&provider).and_then(|p| p.kind) {
                self.advice(
                    &format!("alias `{name}`"),
                    kind,
                    &provider,
                    &model,
                    span,
                    priced == 2,
                );
            }
        }
    }

    /// Warnings about a model itself, placed at `span`.
    fn advice(
        &mut self,
        what: &str,
        kind: ProviderKind,
        provider: &str,
        model: &str,
        span: Range<usize>,
        priced_by_profile: bool,
    ) {
        let model = ModelToCheck {
            what,
            kind,
            provider,
            model,
            priced_by_profile,
        };
        for mut p in advice(self.opts.catalog, &model, self.opts.now) {
            p.location = Some(line_col(self.text, span.start));
            p.offset = span.start;
            self.problems.push(p);
        }
    }

    fn chain(
        &mut self,
        name: &str,
        v: &Value<'_>,
        providers: &BTreeMap<String, ProviderFacts>,
        models: &BTreeSet<String>,
        chains: &BTreeSet<String>,
    ) {
        let at = format!("chains.{name}");
        let Some(t) = self.table(v, &at) else {
            return;
        };
        for (key, _) in t {
            let k = key.get_ref().as_ref();
            if k != "models" && k != "strategy" && !settings_keys().any(|s| s == k) {
                let known: Vec<&str> = ["models", "strategy"]
                    .into_iter()
                    .chain(settings_keys())
                    .collect();
                self.unknown_key(key, &format!("{at}."), &known);
            }
        }
        self.settings(t, &format!("{at}."), true);
        if let Some(s) = t.get("strategy") {
            if let Some(st) = self.string(s, &format!("{at}.strategy")) {
                if Strategy::parse(st).is_none() {
                    self.error(
                        s.span(),
                        format!("{at}: unknown strategy `{st}`"),
                        suggest::did_you_mean(st, Strategy::NAMES.iter().copied()).or_else(|| {
                            Some(format!("strategies: {}", Strategy::NAMES.join(", ")))
                        }),
                    );
                }
            }
        }
        let members = match t.get("models") {
            None => {
                self.error(v.span(), format!("{at}: `models` is missing"), None);
                return;
            }
            Some(m) => match m.get_ref() {
                DeValue::Array(a) if a.is_empty() => {
                    self.error(m.span(), format!("{at}.models is empty"), None);
                    return;
                }
                DeValue::Array(a) => a,
                other => {
                    self.error(
                        m.span(),
                        format!("{at}.models must be a list (got {})", other.type_str()),
                        None,
                    );
                    return;
                }
            },
        };
        for member in members.iter() {
            let Some(m) = self.string(member, &format!("{at}.models[]")) else {
                continue;
            };
            let span = member.span();
            if m == name {
                self.error(span, format!("chain `{name}` names itself"), None);
            } else if chains.contains(m) {
                self.error(
                    span,
                    format!("chain `{name}` names the chain `{m}`; a chain lists models only"),
                    None,
                );
            } else if let Some((provider, model)) = m.split_once('/') {
                match providers.get(provider) {
                    Some(p) if !model.is_empty() => {
                        if let Some(kind) = p.kind {
                            self.advice(
                                &format!("chain `{name}`: `{m}`"),
                                kind,
                                provider,
                                model,
                                span,
                                false,
                            );
                        }
                    }
                    _ => self.error(
                        span,
                        format!("chain `{name}`: unknown provider `{provider}` in `{m}`"),
                        suggest::did_you_mean(provider, providers.keys().map(String::as_str))
                            .or_else(|| Some(providers_hint(providers))),
                    ),
                }
            } else if !models.contains(m) {
                self.error(
                    span,
                    format!("chain `{name}`: unknown model alias `{m}`"),
                    suggest::did_you_mean(m, models.iter().map(String::as_str)).or_else(|| {
                        Some("name an alias from [models], or write provider/model".into())
                    }),
                );
            }
        }
    }

    fn default(
        &mut self,
        d: &str,
        span: Range<usize>,
        providers: &BTreeMap<String, ProviderFacts>,
        models: &BTreeSet<String>,
        chains: &BTreeSet<String>,
    ) {
        let known = models.contains(d)
            || chains.contains(d)
            || d.split(',').all(|part| {
                let part = part.trim();
                models.contains(part)
                    || part
                        .split_once('/')
                        .is_some_and(|(p, m)| providers.contains_key(p) && !m.is_empty())
            });
        if !known {
            self.error(
                span,
                format!("default `{d}` is not a model alias, chain or provider/model"),
                suggest::did_you_mean(d, models.iter().chain(chains.iter()).map(String::as_str)),
            );
        }
    }

    fn budget(&mut self, t: &DeTable<'_>) {
        for (key, v) in t {
            let k = key.get_ref().as_ref();
            if !BUDGET_KEYS.contains(&k) {
                self.unknown_key(key, "budget.", BUDGET_KEYS);
                continue;
            }
            if let Some(n) = self.number(v, &format!("budget.{k}")) {
                if !(n.is_finite() && n >= 0.0) {
                    self.error(
                        v.span(),
                        format!("budget.{k} must be a number of dollars, 0 or more (got {n})"),
                        None,
                    );
                }
            }
        }
    }

    /// Runs the real loader; anything it refuses that the walk missed is added.
    fn loader_safety_net(&mut self) {
        let Err(e) = super::load::parse(self.path, self.text) else {
            return;
        };
        let place = parse_place(&e.message, self.path);
        let covered = self
            .problems
            .iter()
            .any(|p| p.severity == Severity::Error && (place.is_none() || p.location == place));
        if covered {
            return;
        }
        let offset = place.map_or(usize::MAX, |(line, col)| {
            offset_of(self.text, line, col).unwrap_or(usize::MAX)
        });
        self.problems.push(Problem {
            severity: Severity::Error,
            topic: Topic::Profile,
            location: place,
            message: strip_place(&e.message, self.path).to_owned(),
            hint: e.hint,
            offset,
        });
    }
}

/// A TOML value as the JSON the loader hands to [`Params::set`] (dates as strings).
fn to_json(v: &DeValue<'_>) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        DeValue::String(s) => J::String(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).map_or(J::Null, J::from),
        DeValue::Float(f) => f.as_str().parse::<f64>().map_or(J::Null, J::from),
        DeValue::Boolean(b) => J::Bool(*b),
        DeValue::Datetime(d) => J::String(d.to_string()),
        DeValue::Array(a) => J::Array(a.iter().map(|v| to_json(v.get_ref())).collect()),
        DeValue::Table(t) => J::Object(
            t.iter()
                .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
                .collect(),
        ),
    }
}

/// The names of the `[settings]` keys.
fn settings_keys() -> impl Iterator<Item = &'static str> {
    DURATION_KEYS
        .iter()
        .copied()
        .chain(INTEGER_SETTINGS.iter().map(|(k, ..)| *k))
}

fn providers_hint(providers: &BTreeMap<String, ProviderFacts>) -> String {
    if providers.is_empty() {
        "no provider is defined: add a [providers.NAME] table".into()
    } else {
        format!(
            "providers: {}",
            providers.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    }
}

/// A loader message without its `path:line:col: ` prefix.
fn strip_place<'m>(message: &'m str, path: &Path) -> &'m str {
    let Some(rest) = message.strip_prefix(&format!("{}:", path.display())) else {
        return message;
    };
    if let Some(text) = rest.strip_prefix(' ') {
        return text;
    }
    let mut parts = rest.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(line), Some(col), Some(text))
            if line.parse::<usize>().is_ok() && col.parse::<usize>().is_ok() =>
        {
            text.trim_start()
        }
        _ => message,
    }
}

/// The line and column of a loader message `path:line:col: …`.
fn parse_place(message: &str, path: &Path) -> Option<(usize, usize)> {
    let rest = message.strip_prefix(&format!("{}:", path.display()))?;
    let mut parts = rest.splitn(3, ':');
    let line = parts.next()?.parse().ok()?;
    let col = parts.next()?.parse().ok()?;
    Some((line, col))
}

/// The byte offset of a 1-based line and column.
fn offset_of(text: &str, line: usize, col: usize) -> Option<usize> {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.checked_sub(1)?)
        .map(str::len)
        .sum();
    let within: usize = text[start..]
        .chars()
        .take(col.saturating_sub(1))
        .map(char::len_utf8)
        .sum();
    Some(start + within)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str, env: &'static [(&'static str, &'static str)]) -> Vec<Problem> {
        let lookup = move |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let catalog = catalog::builtin();
        check(
            Path::new("p.toml"),
            text,
            &CheckOptions {
                env: &lookup,
                catalog: &catalog,
                run_key_commands: true,
                now: crate::time::parse_date("2026-01-01").unwrap(),
            },
        )
    }

    fn rendered(p: &[Problem]) -> String {
        p.iter()
            .map(|p| p.render(Path::new("p.toml")))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn pins() {
        let o = crate::provider::openai::KIND;
        assert_eq!(pin(o, "claude-sonnet-4-5-20250929"), Pin::Pinned);
        assert_eq!(pin(o, "gpt-4o-2024-08-06"), Pin::Pinned);
        assert_eq!(pin(o, "gemini-2.5-flash-001"), Pin::Pinned);
        assert_eq!(pin(o, "gpt-4-0613"), Pin::Pinned);
        assert_eq!(pin(o, "gemini-2.5-flash-preview-05-20"), Pin::Pinned);
        assert_eq!(pin(o, "openai/gpt-4o-2024-08-06"), Pin::Pinned);
        assert_eq!(pin(o, "gpt-4o"), Pin::Floating);
        assert_eq!(pin(o, "claude-sonnet-latest"), Pin::Floating);
        assert_eq!(pin(o, "claude-sonnet-4-5"), Pin::Floating);
        assert_eq!(pin(o, "gemini-2.5-flash"), Pin::Floating);
        assert_eq!(pin(o, "o1"), Pin::Floating);
        assert_eq!(pin(o, "gpt-3.5-turbo-16k"), Pin::Floating);
        assert_eq!(pin(o, "2024"), Pin::Floating);
        assert_eq!(pin(crate::provider::ollama::KIND, "llama3.2"), Pin::Local);
        assert_eq!(pin(crate::provider::azure::KIND, "my-gpt"), Pin::Deployment);
    }

    #[test]
    fn dates_and_families() {
        assert_eq!(strip_date("gpt-4o-2024-08-06"), "gpt-4o");
        assert_eq!(
            strip_date("claude-sonnet-4-5-20250929"),
            "claude-sonnet-4-5"
        );
        assert_eq!(strip_date("gpt-4o"), "gpt-4o");
        assert_eq!(
            family("claude-sonnet-4-5-20250929"),
            (vec!["claude", "sonnet"], vec![4, 5])
        );
        assert_eq!(
            family("gemini-3.1-flash-lite-preview"),
            (vec!["gemini", "flash", "lite"], vec![3, 1])
        );
        let now = crate::time::parse_date("2026-11-22").unwrap();
        assert_eq!(days_until("2026-11-30", now), Some(8));
        assert_eq!(days_until("2026-11-21", now), Some(-1));
        assert!(is_near("2026-12-21", now));
        assert!(!is_near("2026-12-22", now));
    }

    #[test]
    fn successors_come_from_the_catalog() {
        let catalog = catalog::builtin();
        let now = crate::time::parse_date("2026-11-22").unwrap();
        let o = crate::provider::openai::KIND;
        // Another snapshot of the same model that is not retiring.
        let s = successor(&catalog, o, "openai", "gpt-4o-2024-05-13", now).unwrap();
        assert!(
            s.starts_with("gpt-4o-20") && s != "gpt-4o-2024-05-13",
            "{s}"
        );
        // Same family, newer version, same provider.
        let a = crate::provider::anthropic::KIND;
        let s = successor(&catalog, a, "anthropic", "claude-sonnet-4-5-20250929", now).unwrap();
        assert!(s.starts_with("claude-sonnet-"), "{s}");
        assert_ne!(s, "claude-sonnet-4-5");
    }

    #[test]
    fn reports_every_problem_at_once() {
        let text = r#"default = "mian"
[settings]
retries = 99
cooldown = "5 parsecs"
idle_timout = "5s"
[providers.openai]
kind = "openai"
api_key_env = "NOT_SET_ANYWHERE"
[providers.bad]
kind = "opneai"
[providers.cmd]
kind = "openai"
api_key_cmd = "exit 3"
[models.gpt]
provider = "openai"
model = "gpt-4o"
[models.x]
provider = "nope"
model = "m"
[chains.main]
models = ["gpt", "main", "ghost", "zz/m"]
strategy = "cheapst"
"#;
        let p = problems(text, &[]);
        let all = rendered(&p);
        for needle in [
            "p.toml:1:11: error: default `mian`",
            "p.toml:3:11: error: settings.retries must be between 0 and 10 (got 99)",
            "p.toml:4:12: error: settings.cooldown: `5 parsecs`: unknown unit",
            "p.toml:5:1: error: unknown key `settings.idle_timout`",
            "did you mean `idle_timeout`?",
            "NOT_SET_ANYWHERE is not set",
            "p.toml:10:8: error: providers.bad: unknown kind `opneai`",
            "api_key_cmd `exit 3` failed",
            "warning: alias `gpt` uses the floating id `gpt-4o`",
            "pin the snapshot: model = \"gpt-4o-20",
            "models.x: unknown provider `nope`",
            "chain `main` names itself",
            "chain `main`: unknown model alias `ghost`",
            "unknown provider `zz` in `zz/m`",
            "chains.main: unknown strategy `cheapst`",
            "did you mean `cheapest`?",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in\n{all}");
        }
        // File order.
        let lines: Vec<usize> = p.iter().filter_map(|p| p.location.map(|l| l.0)).collect();
        assert!(lines.is_sorted(), "{lines:?}");
    }

    #[test]
    fn syntax_errors_do_not_stop_the_walk() {
        let text = "[settings]\nretries = 1\nretries = 2\n[budget]\ndaily = -1\nweekly = 3\n";
        let all = rendered(&problems(text, &[]));
        assert!(all.contains("p.toml:3:1: error"), "{all}");
        assert!(all.contains("budget.daily must be"), "{all}");
        assert!(all.contains("unknown key `budget.weekly`"), "{all}");
    }

    #[test]
    fn a_clean_profile_has_no_problems() {
        let text = r#"default = "main"
[providers.anthropic]
kind = "anthropic"
[models.haiku]
provider = "anthropic"
model = "claude-haiku-4-5-20251001"
[chains.main]
models = ["haiku"]
"#;
        let p = problems(text, &[("ANTHROPIC_API_KEY", "k")]);
        assert!(p.is_empty(), "{}", rendered(&p));
    }

    #[test]
    fn unknown_price_and_retirement_are_warnings() {
        let text = r#"[providers.openai]
kind = "openai"
[models.a]
provider = "openai"
model = "no-such-model-2025-01-01"
[models.b]
provider = "openai"
model = "gpt-4o-2024-05-13"
"#;
        let p = problems(text, &[("OPENAI_API_KEY", "k")]);
        let all = rendered(&p);
        assert!(
            all.contains("no known price for `no-such-model-2025-01-01`"),
            "{all}"
        );
        // Retires 2026-10-23: within 30 days of 2026-10-01? No: "now" is 2026-01-01.
        assert!(!all.contains("retired"), "{all}");
        assert!(p.iter().all(|p| p.severity == Severity::Warning), "{all}");
    }

    #[test]
    fn params_are_checked_by_the_loaders_rules_with_a_place() {
        let text = "[providers.o]\nkind = \"openai\"\n[models.m]\nprovider = \"o\"\nmodel = \"gpt-4o-2024-08-06\"\nparams = { max_tokens = \"many\" }\n";
        assert!(crate::profile::load::parse(Path::new("p.toml"), text).is_err());
        let p = problems(text, &[("OPENAI_API_KEY", "k")]);
        let errors: Vec<&Problem> = p.iter().filter(|p| p.severity == Severity::Error).collect();
        assert_eq!(errors.len(), 1, "{}", rendered(&p));
        assert!(errors[0].message.contains("max_tokens"), "{}", rendered(&p));
        assert_eq!(errors[0].location, Some((6, 25)), "{}", rendered(&p));
    }

    #[test]
    fn loader_messages_lose_their_place_prefix() {
        let path = Path::new("dir/p.toml");
        assert_eq!(strip_place("dir/p.toml:3:14: bad value", path), "bad value");
        assert_eq!(
            strip_place("dir/p.toml: models.m: bad", path),
            "models.m: bad"
        );
        assert_eq!(strip_place("something else", path), "something else");
        assert_eq!(parse_place("dir/p.toml:3:14: bad", path), Some((3, 14)));
        assert_eq!(parse_place("dir/p.toml: bad", path), None);
        assert_eq!(offset_of("ab\ncdé\nf", 2, 3), Some(5));
        assert_eq!(line_col("ab\ncdé\nf", 5), (2, 3));
    }
}
