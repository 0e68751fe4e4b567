//! `route models` without flags: the table of aliases and chain members with their
//! prices, pins and health, and the same as JSON.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::{Entry, print_json};
use crate::catalog::{Catalog, Pricing};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::money::Price;
use crate::output::summary;
use crate::output::table::{self, at_least, keep_whole};
use crate::pipeline::advice::{self, Pin};
use crate::pipeline::{Session, facts};
use crate::profile::Settings;
use crate::router::plan::{Health, ModelFacts};

/// The table (or JSON) of the profile's models and chains.
pub(super) fn list(
    session: &Session<'_>,
    entries: &[Entry],
    json: bool,
    now: SystemTime,
) -> Result<ExitStatus, Error> {
    let ctx = session.ctx;
    let profile = &session.profile;
    let catalog = session.catalog();
    let recorder = session.recorder(false);
    let keys: Vec<String> = entries.iter().map(|e| e.target.health_key()).collect();
    let health = recorder.health(&keys, now);
    let rows: Vec<ModelJson> = entries
        .iter()
        .map(|e| {
            let h = health
                .get(&e.target.health_key())
                .cloned()
                .unwrap_or_default();
            model_row(e, catalog, &h, now)
        })
        .collect();
    let chains: Vec<ChainJson> = profile
        .chains
        .values()
        .map(|c| ChainJson {
            name: c.name.clone(),
            strategy: c.strategy.as_str(),
            members: c.models.clone(),
            default: profile.default.as_deref() == Some(c.name.as_str()),
        })
        .collect();

    if json {
        let mut all: Vec<RowJson> = rows
            .into_iter()
            .map(|r| {
                if r.alias.is_some() {
                    RowJson::Alias(r)
                } else {
                    RowJson::Model(r)
                }
            })
            .collect();
        all.extend(chains.into_iter().map(RowJson::Chain));
        print_json(ctx.printer, &all)?;
        return Ok(ExitStatus::Success);
    }
    if rows.is_empty() && chains.is_empty() {
        ctx.printer.note(&format!(
            "route: {} has no model aliases or chains; add [models.NAME] tables (see `route init`)",
            profile.origin()
        ));
        return Ok(ExitStatus::Success);
    }
    let width = ctx.printer.width(ctx.env);
    let mut out = String::new();
    if !rows.is_empty() {
        let mut t = table::new(ctx.printer.stdout_tty, width);
        t.set_header([
            "alias",
            "provider",
            "model",
            "pin",
            "context",
            "$/1M in/out",
            "health",
            "latency",
        ]);
        for r in &rows {
            t.add_row([
                r.name.clone(),
                r.provider.clone(),
                r.model.clone(),
                pin_cell(r),
                r.context_window.map_or_else(|| "?".into(), tokens),
                format!(
                    "{}/{}",
                    price_cell(r.input_per_1m),
                    price_cell(r.output_per_1m)
                ),
                r.health.text.clone(),
                r.median_latency_ms.map_or_else(
                    || "—".into(),
                    |ms| summary::elapsed(Duration::from_millis(ms)),
                ),
            ]);
        }
        keep_whole(&mut t, &[0, 1, 2, 4, 5, 7]);
        at_least(&mut t, &[(3, 10), (6, 14)]);
        let _ = writeln!(out, "{t}");
    }
    if !chains.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        let mut t = table::new(ctx.printer.stdout_tty, width);
        t.set_header(["chain", "strategy", "members"]);
        for c in &chains {
            let name = if c.default {
                format!("{} (default)", c.name)
            } else {
                c.name.clone()
            };
            t.add_row([name, c.strategy.to_owned(), c.members.join(" → ")]);
        }
        let _ = writeln!(out, "{t}");
    }
    ctx.printer.out(&out)?;
    Ok(ExitStatus::Success)
}

/// One element of `route models --json`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum RowJson {
    /// A `[models.NAME]` alias.
    Alias(ModelJson),
    /// A `provider/model` member of a chain.
    Model(ModelJson),
    Chain(ChainJson),
}

#[derive(Debug, Serialize)]
struct ModelJson {
    /// The alias, or `provider/model`.
    name: String,
    alias: Option<String>,
    provider: String,
    provider_kind: &'static str,
    model: String,
    /// `pinned`, `floating`, `local` (Ollama) or `deployment` (Azure).
    pin: &'static str,
    pinned: bool,
    floating: bool,
    /// For a floating id: the newest dated snapshot the catalog knows, to pin instead.
    snapshot: Option<String>,
    context_window: Option<u64>,
    max_output_tokens: Option<u64>,
    /// USD per 1M tokens; `null` when unknown (0 for local models).
    input_per_1m: Option<f64>,
    output_per_1m: Option<f64>,
    /// The provider's retirement date, from the catalog.
    deprecation_date: Option<String>,
    /// Retired, or retiring within 30 days.
    retiring: bool,
    /// A model to move to when retiring (best effort, from the catalog).
    successor: Option<String>,
    health: HealthJson,
    /// Median latency of recent successes, from the ledger.
    median_latency_ms: Option<u64>,
    /// The chains it is a member of.
    chains: Vec<String>,
}

/// How a model has been doing, as the ledger tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum HealthStatus {
    Ok,
    CoolingDown,
    RateLimited,
    Failing,
    /// Never used.
    Unknown,
}

#[derive(Debug, Serialize)]
struct HealthJson {
    status: HealthStatus,
    /// The end of the cooldown or of the Retry-After wait.
    until: Option<String>,
    consecutive_failures: u32,
    /// `kind (HTTP n)` of the last failure, however long ago.
    last_error: Option<String>,
    last_error_at: Option<String>,
    /// The table's wording.
    #[serde(skip)]
    text: String,
}

#[derive(Debug, Serialize)]
struct ChainJson {
    name: String,
    strategy: &'static str,
    members: Vec<String>,
    /// The profile's `default`.
    default: bool,
}

fn model_row(e: &Entry, catalog: &Catalog, h: &Health, now: SystemTime) -> ModelJson {
    let t = &e.target;
    let kind = t.provider.kind;
    let (f, deprecation) = facts(t, catalog);
    let pin = advice::pin_in(catalog, kind, &t.provider.name, &t.model);
    let retirement = advice::retirement(
        catalog,
        kind,
        &t.provider.name,
        &t.model,
        deprecation.as_deref(),
        now,
    );
    let (input, output) = prices(&f);
    ModelJson {
        name: t.label.clone(),
        alias: t.alias.clone(),
        provider: t.provider.name.clone(),
        provider_kind: kind.as_str(),
        model: t.model.clone(),
        pin: pin.as_str(),
        pinned: pin == Pin::Pinned,
        floating: pin == Pin::Floating,
        snapshot: (pin == Pin::Floating)
            .then(|| advice::newest_snapshot(catalog, kind, &t.provider.name, &t.model))
            .flatten(),
        context_window: f.context_window,
        max_output_tokens: f.max_output_tokens,
        input_per_1m: input,
        output_per_1m: output,
        deprecation_date: deprecation,
        retiring: retirement.is_some(),
        successor: retirement.and_then(|r| r.successor),
        health: health(h, &e.settings, now),
        median_latency_ms: h
            .median_latency
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        chains: e.chains.clone(),
    }
}

/// Input and output USD per 1M tokens; 0 for a local model without a price.
fn prices(f: &ModelFacts) -> (Option<f64>, Option<f64>) {
    match &f.pricing {
        Some(p) => (Some(per_million(p.input)), Some(per_million(p.output))),
        None if f.local => (Some(0.0), Some(0.0)),
        None => (None, None),
    }
}

/// A price in USD per 1M tokens, rounded to the micro-dollar to hide float noise.
fn per_million(p: Price) -> f64 {
    (p.per_million_f64() * 1e6).round() / 1e6
}

pub(super) fn pricing_pair(p: Option<&Pricing>) -> (Option<f64>, Option<f64>) {
    p.map_or((None, None), |p| {
        (Some(per_million(p.input)), Some(per_million(p.output)))
    })
}

fn health(h: &Health, settings: &Settings, now: SystemTime) -> HealthJson {
    let at = |t: SystemTime| crate::time::rfc3339(t);
    // The table gives the time alone when the day is today's (UTC).
    let short = |t: SystemTime| {
        let (full, today) = (at(t), at(now));
        if full[..10] == today[..10] {
            full[11..].to_owned()
        } else {
            full
        }
    };
    let last = h
        .last_error
        .map(|e| format!("{e} at {}", h.last_failure.map(short).unwrap_or_default()));
    let (status, until, text) = if let Some(until) = h.cooling_until(settings, now) {
        (
            HealthStatus::CoolingDown,
            Some(until),
            format!("cooling down until {}", short(until)),
        )
    } else if let Some(until) = h.retry_after_until.filter(|u| *u > now) {
        (
            HealthStatus::RateLimited,
            Some(until),
            format!("rate-limited until {}", short(until)),
        )
    } else if h.consecutive_failures > 0 {
        (
            HealthStatus::Failing,
            None,
            format!(
                "{} failure{} in a row; last: {}",
                h.consecutive_failures,
                if h.consecutive_failures == 1 { "" } else { "s" },
                last.clone().unwrap_or_default()
            ),
        )
    } else if h.median_latency.is_some() {
        let text = match &last {
            Some(l) => format!("ok (last error: {l})"),
            None => "ok".to_owned(),
        };
        (HealthStatus::Ok, None, text)
    } else {
        (HealthStatus::Unknown, None, "—".to_owned())
    };
    HealthJson {
        status,
        until: until.map(at),
        consecutive_failures: h.consecutive_failures,
        last_error: h.last_error.map(|e| e.to_string()),
        last_error_at: h.last_failure.map(at),
        text,
    }
}

fn pin_cell(r: &ModelJson) -> String {
    match (&r.deprecation_date, r.retiring) {
        (Some(d), true) => format!("{}\nretires {d}", r.pin),
        _ => r.pin.to_owned(),
    }
}

pub(super) fn price_cell(p: Option<f64>) -> String {
    match p {
        None => "?".into(),
        Some(v) => {
            let s = format!("{v:.4}");
            let s = s.trim_end_matches('0');
            let s = if s.ends_with('.') {
                format!("{s}00")
            } else if s.split('.').nth(1).is_some_and(|d| d.len() == 1) {
                format!("{s}0")
            } else {
                s.to_owned()
            };
            format!("${s}")
        }
    }
}

/// `200k`, `1.05M`, `8192`.
pub(super) fn tokens(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    if n >= 1_000_000 {
        let s = format!("{:.2}", f / 1e6);
        format!("{}M", s.trim_end_matches('0').trim_end_matches('.'))
    } else if n >= 10_000 {
        format!("{}k", (f / 1e3).round())
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_and_tokens_read_well() {
        assert_eq!(price_cell(None), "?");
        assert_eq!(price_cell(Some(3.0)), "$3.00");
        assert_eq!(price_cell(Some(0.15)), "$0.15");
        assert_eq!(price_cell(Some(0.075)), "$0.075");
        assert_eq!(price_cell(Some(2.5)), "$2.50");
        assert_eq!(price_cell(Some(0.0)), "$0.00");
        assert_eq!(tokens(200_000), "200k");
        assert_eq!(tokens(1_048_576), "1.05M");
        assert_eq!(tokens(1_000_000), "1M");
        assert_eq!(tokens(8192), "8192");
    }

    #[test]
    fn health_wording() {
        let now = SystemTime::now();
        let s = Settings {
            allowed_fails: 1,
            ..Settings::default()
        };
        let cooling = Health {
            consecutive_failures: 1,
            last_failure: Some(now),
            last_error: Some(crate::router::plan::LastError {
                kind: Some(crate::provider::ErrorKind::Server),
                status: Some(500),
            }),
            ..Health::default()
        };
        let h = health(&cooling, &s, now);
        assert_eq!(h.status, HealthStatus::CoolingDown);
        assert!(h.text.starts_with("cooling down until "), "{}", h.text);
        let fresh = health(&Health::default(), &s, now);
        assert_eq!(fresh.status, HealthStatus::Unknown);
        let ok = Health {
            median_latency: Some(Duration::from_millis(5)),
            ..Health::default()
        };
        assert_eq!(health(&ok, &s, now).status, HealthStatus::Ok);
        assert_eq!(
            serde_json::to_value(HealthStatus::RateLimited).unwrap(),
            "rate_limited"
        );
    }
}
