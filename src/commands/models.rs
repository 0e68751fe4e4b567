//! `route models`: the profile's aliases and chains with their prices, pins and health
//! (CONTRACT.md "route models"); `--check`, a live request to each model; `--catalog`
//! and `--update-catalog`; and `route ask`'s once-a-day retirement warning.
//!
//! The advice about a model (floating id, unknown price, retirement and successor) comes
//! from `profile::check`, so that `route models`, `route init --check` and `route ask`
//! say the same thing.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::ask::runtime;
use super::record::{Recorder, RowContext, rows};
use super::{Context, facts};
use crate::catalog::{self, Catalog, ModelInfo, Pricing};
use crate::cli::ModelsArgs;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::money::Price;
use crate::output::table::{at_least, keep_whole, shorten};
use crate::output::{Printer, summary, table};
use crate::profile::check::{self, CheckOptions, ModelToCheck, Pin, Problem, Severity, Topic};
use crate::profile::{Profile, Settings, Target, reference};
use crate::provider::ProviderKind;
use crate::provider::http;
use crate::provider::types::{ChatRequest, Params};
use crate::router::plan::{Candidate, Health, ModelFacts, Plan, Planned};
use crate::router::{self, Reporter, Routed};
use crate::signal::Cancel;

/// The prompt of `--check`: short, and cheap to answer.
const CHECK_PROMPT: &str = "Reply with OK";
/// The output allowance of `--check`.
const CHECK_MAX_TOKENS: u64 = 16;
/// The whole `--update-catalog` download, connection included.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(120);
/// The largest catalog accepted (LiteLLM's file is a few MB).
const DOWNLOAD_CAP: usize = 32 * 1024 * 1024;
/// The file in the data dir that remembers which retirement warnings `ask` gave today.
const WARNED_FILE: &str = "warned.json";

pub fn models(args: &ModelsArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    if let Some(which) = &args.names {
        return names(which, ctx);
    }
    if let Some(url) = &args.update_catalog {
        return update_catalog(url, ctx);
    }
    if let Some(filter) = &args.catalog {
        return list_catalog(filter, args.json, ctx);
    }
    let profile = load_or_report(ctx)?;
    let catalog = ctx.catalog();
    let now = SystemTime::now();
    let entries = entries(&profile)?;
    report_problems(ctx, &profile, &catalog, &entries, now);
    if args.check {
        return live_check(ctx, &profile, &catalog, &entries, args.json);
    }

    let recorder = Recorder::open(ctx, false);
    let keys: Vec<String> = entries.iter().map(|e| e.target.health_key()).collect();
    let health = recorder.health(&keys, now);
    let rows: Vec<ModelJson> = entries
        .iter()
        .map(|e| {
            let h = health
                .get(&e.target.health_key())
                .cloned()
                .unwrap_or_default();
            model_row(e, &catalog, &h, now)
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

    if args.json {
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
        print_json(&ctx.printer, &all)?;
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
        out.push_str(&format!("{t}\n"));
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
        out.push_str(&format!("{t}\n"));
    }
    ctx.printer.out(&out)?;
    Ok(ExitStatus::Success)
}

/// One model the profile can use: an alias, or a `provider/model` member of a chain.
struct Entry {
    target: Target,
    /// The settings its health is judged by (cooldown): the profile's for an alias,
    /// the chain's for a chain member.
    settings: Settings,
    /// The chains it is a member of.
    chains: Vec<String>,
}

/// Aliases in name order, then the `provider/model` members of chains.
fn entries(profile: &Profile) -> Result<Vec<Entry>, Error> {
    let mut out: Vec<Entry> = Vec::new();
    for name in profile.models.keys() {
        let target = single(profile, name)?;
        out.push(Entry {
            target,
            settings: profile.settings,
            chains: Vec::new(),
        });
    }
    for chain in profile.chains.values() {
        for member in &chain.models {
            if let Some(e) = out.iter_mut().find(|e| e.target.label == *member) {
                if !e.chains.contains(&chain.name) {
                    e.chains.push(chain.name.clone());
                }
                continue;
            }
            out.push(Entry {
                target: single(profile, member)?,
                settings: chain.settings,
                chains: vec![chain.name.clone()],
            });
        }
    }
    Ok(out)
}

fn single(profile: &Profile, name: &str) -> Result<Target, Error> {
    let resolved = reference::resolve(profile, name)?;
    resolved
        .targets
        .into_iter()
        .next()
        .ok_or_else(|| Error::usage(format!("`{name}` names no model")))
}

/// The path of the profile file in use, if there is one: `--profile`, else
/// `ROUTE_PROFILE`, else the default location when a file is there.
fn profile_file(ctx: &Context) -> Option<std::path::PathBuf> {
    super::init::target_path(ctx).filter(|p| p.is_file())
}

/// Loads the profile; when it is refused and has more than one error, lists them all
/// (the loader names only the first).
fn load_or_report(ctx: &Context) -> Result<Profile, Error> {
    let err = match ctx.load_profile() {
        Ok(p) => return Ok(p),
        Err(e) => e,
    };
    let Some(path) = profile_file(ctx) else {
        return Err(err);
    };
    let Ok(text) = fs::read_to_string(&path) else {
        return Err(err);
    };
    let catalog = ctx.catalog();
    let problems = check::check(
        &path,
        &text,
        &CheckOptions {
            env: ctx.env,
            catalog: &catalog,
            run_key_commands: false,
            now: SystemTime::now(),
        },
    );
    let errors: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    if errors.len() < 2 {
        return Err(err);
    }
    for p in &errors {
        ctx.printer.note(&p.render(&path));
    }
    Err(Error::usage_hint(
        format!(
            "the profile {} has {} problems",
            path.display(),
            errors.len()
        ),
        Some("fix them, then run `route init --check`".into()),
    ))
}

/// Warnings on stderr: the profile's own problems (keys that cannot be found, ...) and
/// the advice about each model (floating id, unknown price, retirement).
fn report_problems(
    ctx: &Context,
    profile: &Profile,
    catalog: &Catalog,
    entries: &[Entry],
    now: SystemTime,
) {
    let printer = &ctx.printer;
    if let Some(path) = &profile.path {
        if let Ok(text) = fs::read_to_string(path) {
            let opts = CheckOptions {
                env: ctx.env,
                catalog,
                run_key_commands: false,
                now,
            };
            for p in check::check(path, &text, &opts) {
                // The advice is given below for every model, file or not.
                if matches!(p.topic, Topic::Profile | Topic::Key) {
                    let place = match p.location {
                        Some((line, col)) => format!("{}:{line}:{col}", path.display()),
                        None => path.display().to_string(),
                    };
                    warn_with_hint(
                        printer,
                        &format!("{place}: {}", p.message),
                        p.hint.as_deref(),
                    );
                }
            }
        }
    }
    for e in entries {
        let t = &e.target;
        let what = match &t.alias {
            Some(a) => format!("`{a}`"),
            None => format!("chain `{}`: `{}`", e.chains.join("`, `"), t.label),
        };
        let o = &t.overrides;
        let model = ModelToCheck {
            what: &what,
            kind: t.provider.kind,
            provider: &t.provider.name,
            model: &t.model,
            priced_by_profile: o.input_cost.is_some() && o.output_cost.is_some(),
        };
        for p in check::advice(catalog, &model, now) {
            warn_with_hint(printer, &p.message, p.hint.as_deref());
        }
    }
}

fn warn_with_hint(printer: &Printer, message: &str, hint: Option<&str>) {
    match hint {
        Some(h) => printer.warn(&format!("{message}\n  hint: {h}")),
        None => printer.warn(message),
    }
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

#[derive(Debug, Serialize)]
struct HealthJson {
    /// `ok`, `cooling_down`, `rate_limited`, `failing` or `unknown` (never used).
    status: &'static str,
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
    let pin = check::pin(kind, &t.model);
    let retirement = check::retirement(
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
            .then(|| check::newest_snapshot(catalog, kind, &t.provider.name, &t.model))
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

fn pricing_pair(p: Option<&Pricing>) -> (Option<f64>, Option<f64>) {
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
        .as_ref()
        .map(|e| format!("{e} at {}", h.last_failure.map(short).unwrap_or_default()));
    let (status, until, text) = if let Some(until) = h.cooling_until(settings, now) {
        (
            "cooling_down",
            Some(until),
            format!("cooling down until {}", short(until)),
        )
    } else if let Some(until) = h.retry_after_until.filter(|u| *u > now) {
        (
            "rate_limited",
            Some(until),
            format!("rate-limited until {}", short(until)),
        )
    } else if h.consecutive_failures > 0 {
        (
            "failing",
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
        ("ok", None, text)
    } else {
        ("unknown", None, "—".to_owned())
    };
    HealthJson {
        status,
        until: until.map(at),
        consecutive_failures: h.consecutive_failures,
        last_error: h.last_error.clone(),
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

fn price_cell(p: Option<f64>) -> String {
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
fn tokens(n: u64) -> String {
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

fn print_json<T: Serialize>(printer: &Printer, value: &T) -> Result<(), Error> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::failed(e.to_string()))?;
    text.push('\n');
    printer.out(&text)?;
    Ok(())
}

// -- --names ---------------------------------------------------------------------------

/// Alias and chain names, one per line, for shell completion. Quiet on every error: a
/// completion must never print into the user's command line.
fn names(which: &str, ctx: &Context) -> Result<ExitStatus, Error> {
    let Ok(profile) = ctx.load_profile() else {
        return Ok(ExitStatus::Success);
    };
    let mut names: Vec<&str> = Vec::new();
    if which != "chains" {
        names.extend(profile.models.keys().map(String::as_str));
    }
    if which != "aliases" {
        names.extend(profile.chains.keys().map(String::as_str));
    }
    let mut out = names.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    ctx.printer.out(&out)?;
    Ok(ExitStatus::Success)
}

// -- --check ---------------------------------------------------------------------------

struct Quiet;
impl Reporter for Quiet {}

#[derive(Debug, Serialize)]
struct CheckJson {
    name: String,
    provider: String,
    model: String,
    ok: bool,
    error_kind: Option<&'static str>,
    http_status: Option<u16>,
    message: Option<String>,
    latency_ms: u64,
}

/// A minimal request to every model at once, on one thread; each attempt is recorded
/// (command `check`) so that health follows.
fn live_check(
    ctx: &Context,
    profile: &Profile,
    catalog: &Catalog,
    entries: &[Entry],
    json: bool,
) -> Result<ExitStatus, Error> {
    if entries.is_empty() {
        ctx.printer.note(&format!(
            "route: nothing to check: {} has no models",
            profile.origin()
        ));
        return Ok(ExitStatus::Success);
    }
    let request = ChatRequest {
        system: None,
        prompt: CHECK_PROMPT.to_owned(),
        params: Params {
            max_tokens: Some(CHECK_MAX_TOKENS),
            ..Params::default()
        },
        stream: false,
    };
    let plans: Vec<(Plan, Settings)> = entries
        .iter()
        .map(|e| {
            let plan = Plan {
                order: vec![Planned {
                    candidate: Candidate {
                        target: e.target.clone(),
                        facts: facts(&e.target, catalog).0,
                        health: Health::default(),
                    },
                    max_tokens: Some(CHECK_MAX_TOKENS),
                    asked_max_tokens: Some(CHECK_MAX_TOKENS),
                    worst_case: None,
                }],
                skipped: Vec::new(),
                estimated_input_tokens: 0,
                forced: false,
            };
            // One try: a check reports what happens, it does not work around it.
            let settings = Settings {
                retries: 0,
                ..e.settings
            };
            (plan, settings)
        })
        .collect();
    let runtime = runtime()?;
    let (results, cancelled) = runtime.block_on(async {
        let cancel = Cancel::on_signals();
        let runs = plans.iter().map(|(plan, settings)| {
            let cancel = &cancel;
            let request = &request;
            async move {
                let req = router::Request {
                    base: request,
                    settings,
                    env: ctx.env,
                    cancel,
                    force_fail: &|_| false,
                };
                router::run(plan, &req, &mut Quiet).await
            }
        });
        let results: Vec<Routed> = futures_util::future::join_all(runs).await;
        (results, cancel.status())
    });

    let mut recorder = Recorder::open(ctx, true);
    let group = super::new_request_id();
    for routed in &results {
        let request_id = super::new_request_id();
        recorder.record(&rows(
            &routed.attempts,
            &RowContext {
                request_id: &request_id,
                group_id: Some(&group),
                command: "check",
                profile: profile.path.as_ref().map(|p| p.display().to_string()),
                chain: None,
                tag: None,
                catalog_version: catalog.version(),
                prompt: None,
            },
        ));
    }
    if let Some(status) = cancelled {
        return Ok(status);
    }

    let lines: Vec<CheckJson> = entries
        .iter()
        .zip(&results)
        .map(|(e, routed)| {
            let attempt = routed.attempts.last();
            let error = attempt.and_then(|a| a.error());
            CheckJson {
                name: e.target.label.clone(),
                provider: e.target.provider.name.clone(),
                model: e.target.model.clone(),
                ok: routed.answer().is_some(),
                error_kind: error.map(|e| e.kind.as_str()),
                http_status: error.and_then(|e| e.status),
                message: error.map(|e| e.message.clone()),
                latency_ms: attempt.map_or(0, |a| crate::output::json::millis(a.latency)),
            }
        })
        .collect();
    let failed = lines.iter().filter(|l| !l.ok).count();
    if json {
        print_json(&ctx.printer, &lines)?;
    } else {
        let mut t = table::new(ctx.printer.stdout_tty, ctx.printer.width(ctx.env));
        t.set_header(["model", "provider/model", "result", "latency"]);
        for l in &lines {
            let result = if l.ok {
                "ok".to_owned()
            } else {
                let mut r = format!("error: {}", l.error_kind.unwrap_or("unknown"));
                if let Some(s) = l.http_status {
                    r.push_str(&format!(" (HTTP {s})"));
                }
                if let Some(m) = &l.message {
                    r.push_str(&format!(": {}", shorten(m.trim(), 160)));
                }
                r
            };
            t.add_row([
                l.name.clone(),
                format!("{}/{}", l.provider, l.model),
                result,
                summary::elapsed(Duration::from_millis(l.latency_ms)),
            ]);
        }
        keep_whole(&mut t, &[0, 1]);
        ctx.printer.out(&format!("{t}\n"))?;
    }
    if failed > 0 {
        return Err(Error::failed(format!(
            "{failed} of {} models failed the check",
            lines.len()
        )));
    }
    Ok(ExitStatus::Success)
}

// -- --catalog -------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct CatalogJson<'a> {
    model: &'a str,
    provider: String,
    context_window: Option<u64>,
    max_output_tokens: Option<u64>,
    input_per_1m: Option<f64>,
    output_per_1m: Option<f64>,
    deprecation_date: Option<&'a str>,
}

fn list_catalog(filter: &str, json: bool, ctx: &Context) -> Result<ExitStatus, Error> {
    let catalog = ctx.catalog();
    let filter = filter.trim();
    let found: Vec<(&str, &ModelInfo)> = catalog.search(filter).collect();
    let rows: Vec<CatalogJson<'_>> = found
        .iter()
        .map(|(key, info)| {
            let (input, output) = pricing_pair(info.pricing.as_ref());
            CatalogJson {
                model: key,
                provider: catalog_provider(&catalog, key),
                context_window: info.context_window,
                max_output_tokens: info.max_output_tokens,
                input_per_1m: input,
                output_per_1m: output,
                deprecation_date: info.deprecation_date.as_deref(),
            }
        })
        .collect();
    let what = if filter.is_empty() {
        String::new()
    } else {
        format!(" matching `{filter}`")
    };
    ctx.printer.note(&format!(
        "route: {} of {} models in the price catalog ({}){what}",
        rows.len(),
        catalog.len(),
        catalog.version()
    ));
    if json {
        print_json(&ctx.printer, &rows)?;
        return Ok(ExitStatus::Success);
    }
    if rows.is_empty() {
        return Ok(ExitStatus::Success);
    }
    let now = SystemTime::now();
    let mut t = table::new(ctx.printer.stdout_tty, ctx.printer.width(ctx.env));
    t.set_header([
        "model", "provider", "context", "in $/1M", "out $/1M", "retires",
    ]);
    for r in &rows {
        let retires = match r.deprecation_date {
            None => String::new(),
            Some(d) => match check::days_until(d, now) {
                Some(n) if n < 0 => format!("{d} (retired)"),
                Some(n) if check::is_near(d, now) => format!("{d} (in {n} days)"),
                _ => d.to_owned(),
            },
        };
        t.add_row([
            r.model.to_owned(),
            r.provider.clone(),
            r.context_window.map_or_else(|| "?".into(), tokens),
            price_cell(r.input_per_1m),
            price_cell(r.output_per_1m),
            retires,
        ]);
    }
    keep_whole(&mut t, &[0]);
    ctx.printer.out(&format!("{t}\n"))?;
    Ok(ExitStatus::Success)
}

/// The provider a catalog key belongs to: its prefix (`gemini/…`, `groq/…`), else the
/// provider kind whose lookup finds it (`gpt-4o` is OpenAI's, `claude-…` Anthropic's).
fn catalog_provider(catalog: &Catalog, key: &str) -> String {
    if let Some((prefix, _)) = key.split_once('/') {
        return prefix.to_owned();
    }
    ProviderKind::NAMES
        .iter()
        .find(|kind| {
            catalog
                .lookup(kind, kind, key)
                .is_some_and(|i| i.key == key)
        })
        .map_or_else(String::new, |k| (*k).to_owned())
}

// -- --update-catalog ------------------------------------------------------------------

fn update_catalog(url: &str, ctx: &Context) -> Result<ExitStatus, Error> {
    let url = match url.trim() {
        "" => catalog::DEFAULT_UPDATE_URL,
        u => u,
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Error::usage(format!(
            "--update-catalog: `{url}` is not an http:// or https:// URL"
        )));
    }
    let dir = ctx
        .data_dir()
        .ok_or_else(|| Error::usage("no data folder to keep the catalog in: set ROUTE_DATA_DIR"))?;
    ctx.printer
        .note(&format!("route: downloading the price catalog from {url}"));
    let bytes = runtime()?.block_on(download(url)).map_err(|e| {
        Error::failed(format!(
            "cannot download the price catalog from {url}: {e}; the catalog in use is unchanged"
        ))
    })?;
    let installed = catalog::install_cache(&dir, &bytes)
        .map_err(|e| Error::failed(format!("{e}; the catalog in use is unchanged")))?;
    ctx.printer.note(&format!(
        "route: installed {} models (catalog {}) into {}",
        installed.len(),
        installed.version(),
        catalog::cache_path(&dir).display()
    ));
    Ok(ExitStatus::Success)
}

/// Downloads `url` with the shared client, within [`DOWNLOAD_TIMEOUT`] and
/// [`DOWNLOAD_CAP`].
async fn download(url: &str) -> Result<Vec<u8>, String> {
    let fetch = async {
        let client = http::client(Duration::from_secs(10)).map_err(|e| e.message)?;
        let mut response = client.get(url).send().await.map_err(|e| describe(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("HTTP {}", status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > DOWNLOAD_CAP as u64)
        {
            return Err(format!(
                "the file is larger than {} MiB",
                DOWNLOAD_CAP >> 20
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            if body.len() + chunk.len() > DOWNLOAD_CAP {
                return Err(format!(
                    "the file is larger than {} MiB",
                    DOWNLOAD_CAP >> 20
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(DOWNLOAD_TIMEOUT, fetch)
        .await
        .map_err(|_| format!("no complete answer within {}s", DOWNLOAD_TIMEOUT.as_secs()))?
}

/// A reqwest error with its causes, which name what actually failed.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

// -- ask's retirement warning ------------------------------------------------------------

/// `ask`'s warnings about the model that answered: the same floating-id and
/// retirement warnings `route models` gives (CONTRACT.md), at most once a day
/// per model. The days are remembered in `<data dir>/warned.json`; failing to
/// read or write it never fails the request.
pub(super) fn warn_model_once_a_day(
    ctx: &Context,
    printer: &Printer,
    routed: &Routed,
    plan: &Plan,
    catalog: &Catalog,
) {
    let Some(answer) = routed.answer() else {
        return;
    };
    let Some(planned) = plan.order.get(answer.index) else {
        return;
    };
    let target = &planned.candidate.target;
    let now = SystemTime::now();
    let what = target.label.clone();
    let advice: Vec<Problem> = check::advice(
        catalog,
        &ModelToCheck {
            what: &what,
            kind: target.provider.kind,
            provider: &target.provider.name,
            model: &target.model,
            priced_by_profile: true,
        },
        now,
    )
    .into_iter()
    .filter(|p| matches!(p.topic, Topic::Floating | Topic::Retiring))
    .collect();
    if advice.is_empty() {
        return;
    }
    let key = target.health_key();
    let today = crate::ledger::query::local_date(now);
    let dir = ctx.data_dir();
    let mut warned = dir.as_deref().map(read_warned).unwrap_or_default();
    if warned.get(&key) == Some(&today) {
        return;
    }
    for p in &advice {
        let hint = p
            .hint
            .as_ref()
            .map(|h| format!("{h}; `route models` shows every model's status"));
        warn_with_hint(printer, &p.message, hint.as_deref());
    }
    if let Some(dir) = dir {
        warned.retain(|_, day| *day == today);
        warned.insert(key, today);
        write_warned(&dir, &warned);
    }
}

fn read_warned(dir: &Path) -> BTreeMap<String, String> {
    fs::read(dir.join(WARNED_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Writes the state file atomically (a temporary file renamed over it); best effort.
fn write_warned(dir: &Path, warned: &BTreeMap<String, String>) {
    let Ok(bytes) = serde_json::to_vec(warned) else {
        return;
    };
    let tmp = dir.join(format!(".{WARNED_FILE}.{}.tmp", std::process::id()));
    let written = fs::create_dir_all(dir)
        .and_then(|()| fs::write(&tmp, bytes))
        .and_then(|()| fs::rename(&tmp, dir.join(WARNED_FILE)));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
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
            last_error: Some("server (HTTP 500)".into()),
            ..Health::default()
        };
        let h = health(&cooling, &s, now);
        assert_eq!(h.status, "cooling_down");
        assert!(h.text.starts_with("cooling down until "), "{}", h.text);
        let fresh = health(&Health::default(), &s, now);
        assert_eq!(fresh.status, "unknown");
        let ok = Health {
            median_latency: Some(Duration::from_millis(5)),
            ..Health::default()
        };
        assert_eq!(health(&ok, &s, now).status, "ok");
    }

    #[test]
    fn names_cover_aliases_and_chains() {
        let p = crate::profile::load::parse(
            Path::new("p.toml"),
            "[providers.o]\nkind = \"openai\"\n[models.a]\nprovider = \"o\"\nmodel = \"m\"\n[chains.c]\nmodels = [\"a\", \"o/x\"]\n",
        )
        .unwrap();
        let e = entries(&p).unwrap();
        let labels: Vec<&str> = e.iter().map(|e| e.target.label.as_str()).collect();
        assert_eq!(labels, ["a", "o/x"]);
        assert_eq!(e[0].chains, ["c"]);
    }
}
