//! Advice about a model itself, from the price catalog: floating ids, unknown prices,
//! and snapshots the provider retires within [`RETIRING_WITHIN_DAYS`] days, with a
//! successor. `route init --check`, `route models` and `route ask` give the same advice.

use std::fmt;
use std::time::SystemTime;

use crate::catalog::{self, Catalog};
use crate::profile::problem::{Problem, Topic};
use crate::provider::ProviderKind;

/// A snapshot retiring within this many days (or already retired) is flagged.
pub const RETIRING_WITHIN_DAYS: u64 = 30;

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

/// [`pin`], with what the catalog knows. An id that looks floating but carries
/// a version number, that the catalog lists, and of which it lists no dated
/// snapshot is the provider's only name for that model version (Anthropic's
/// `claude-sonnet-4-6`, Google's stable `gemini-2.5-flash`): there is nothing
/// to pin it to, so it counts as pinned and is not warned about. `-latest`,
/// `-preview` and `-exp` ids stay floating.
pub fn pin_in(catalog: &Catalog, kind: ProviderKind, provider: &str, model: &str) -> Pin {
    let pinned = pin(kind, model);
    if pinned != Pin::Floating {
        return pinned;
    }
    let id = model.rsplit('/').next().unwrap_or(model);
    let moving = ["latest", "preview", "exp"]
        .iter()
        .any(|m| id.split(['-', '@']).any(|w| w == *m));
    let versioned = id.bytes().any(|b| b.is_ascii_digit());
    if versioned
        && !moving
        && catalog.lookup(kind.as_str(), provider, model).is_some()
        && catalog
            .snapshots_of(kind.as_str(), provider, model)
            .is_empty()
    {
        Pin::Pinned
    } else {
        Pin::Floating
    }
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
/// days (with a successor). The problems have no place; the caller gives them one.
pub fn advice(catalog: &Catalog, m: &ModelToCheck<'_>, now: SystemTime) -> Vec<Problem> {
    let ModelToCheck {
        what,
        kind,
        provider,
        model,
        priced_by_profile,
    } = *m;
    let mut out = Vec::new();
    let mut push = |topic, message, hint| out.push(Problem::warning(topic, message, hint));
    let info = catalog.lookup(kind.as_str(), provider, model);
    if pin_in(catalog, kind, provider, model) == Pin::Floating {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_versioned_id_with_no_snapshot_in_the_catalog_counts_as_pinned() {
        let catalog = catalog::builtin();
        let pin = |kind, provider, model| pin_in(&catalog, kind, provider, model);
        let (a, g, o) = (
            crate::provider::anthropic::KIND,
            crate::provider::gemini::KIND,
            crate::provider::openai::KIND,
        );
        assert_eq!(pin(a, "anthropic", "claude-sonnet-4-6"), Pin::Pinned);
        assert_eq!(pin(g, "gemini", "gemini-2.5-flash"), Pin::Pinned);
        // The catalog lists dated snapshots of these: they float.
        assert_eq!(pin(o, "openai", "gpt-4o"), Pin::Floating);
        assert_eq!(pin(a, "anthropic", "claude-opus-4-6"), Pin::Floating);
        // Names that move by design, and names the catalog does not know.
        assert_eq!(pin(g, "gemini", "gemini-3-flash-preview"), Pin::Floating);
        assert_eq!(pin(a, "anthropic", "claude-sonnet-latest"), Pin::Floating);
        assert_eq!(pin(o, "openai", "gpt-9-unknown"), Pin::Floating);
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
}
