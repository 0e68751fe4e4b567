//! The plan: which models a request will try, in which order, and which are
//! skipped before anything is sent (an attachment the model cannot take or
//! that is over its provider's size limit, cooldown, Retry-After, context
//! window, budget). Shared by `ask`, `ask --dry-run` and `drill`.

use std::time::{Duration, SystemTime};

use crate::catalog::{self, Pricing};
use crate::money::Usd;
use crate::profile::{Budget, Settings, Strategy, Target};
use crate::provider::ErrorKind;
use crate::provider::media::{self, Facts, Limit, Scope};
use crate::provider::types::{Media, Usage};

/// What the catalog and the profile know about a model.
#[derive(Debug, Clone, Default)]
pub struct ModelFacts {
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub pricing: Option<Pricing>,
    /// A local provider: no price means free, not unknown.
    pub local: bool,
    /// Whether it takes images (`-a`).
    pub vision: Capability,
    /// Whether it takes PDF documents (`-a`).
    pub pdf: Capability,
}

/// Whether a model takes a kind of file, and who says so: the profile
/// (`vision` / `pdf`) over the catalog (`supports_vision` /
/// `supports_pdf_input`). When neither says, the model is tried and `-v` and
/// `--dry-run` say that it may not take the file: a wrong guess costs one
/// refused request, a skip would hide a model that can.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Capability {
    Profile(bool),
    Catalog(bool),
    #[default]
    Unknown,
}

impl Capability {
    pub fn of(profile: Option<bool>, catalog: Option<bool>) -> Capability {
        match (profile, catalog) {
            (Some(b), _) => Capability::Profile(b),
            (None, Some(b)) => Capability::Catalog(b),
            (None, None) => Capability::Unknown,
        }
    }
}

impl ModelFacts {
    /// The cost of `usage`, or `None` when the price is unknown.
    pub fn cost(&self, usage: &Usage) -> Option<Usd> {
        match &self.pricing {
            Some(p) => Some(catalog::cost(p, usage)),
            None if self.local => Some(Usd::ZERO),
            None => None,
        }
    }
}

/// What the ledger remembers about a model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Failures since the last success.
    pub consecutive_failures: u32,
    pub last_failure: Option<SystemTime>,
    /// What the last failure was.
    pub last_error: Option<LastError>,
    /// A Retry-After deadline the provider gave.
    pub retry_after_until: Option<SystemTime>,
    /// Median latency of recent successes.
    pub median_latency: Option<Duration>,
}

/// The kind and HTTP status of a model's last failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LastError {
    /// `None` when the ledger has no kind for it.
    pub kind: Option<ErrorKind>,
    pub status: Option<u16>,
}

impl std::fmt::Display for LastError {
    /// `server (HTTP 500)`, `timeout`; `error` when the kind is not known.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            Some(kind) => write!(f, "{kind}")?,
            None => f.write_str("error")?,
        }
        if let Some(s) = self.status {
            write!(f, " (HTTP {s})")?;
        }
        Ok(())
    }
}

impl Health {
    /// Until when the model is cooling down, if it is.
    pub fn cooling_until(&self, settings: &Settings, now: SystemTime) -> Option<SystemTime> {
        if self.consecutive_failures < settings.allowed_fails {
            return None;
        }
        let until = self.last_failure? + settings.cooldown;
        (until > now).then_some(until)
    }
}

/// Money already spent, for the daily and monthly caps.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spent {
    pub today: Usd,
    pub this_month: Usd,
}

/// One model the request may try.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub target: Target,
    pub facts: ModelFacts,
    pub health: Health,
}

/// Why a model is not tried.
#[derive(Debug, Clone, PartialEq)]
pub enum Skip {
    Cooldown {
        until: SystemTime,
    },
    RetryAfter {
        until: SystemTime,
    },
    ContextWindow {
        window: u64,
        needed: u64,
    },
    Budget {
        cap: &'static str,
        /// The cap's amount.
        limit: Usd,
        worst: Usd,
        left: Usd,
    },
    /// The model cannot take one of the request's attachments.
    Attachment {
        /// The file, as the user named it.
        file: String,
        media: Media,
        why: Refusal,
    },
    /// An attachment, or all of them together, is over the provider's limit.
    TooLarge {
        /// The file, when one file alone is over it.
        file: Option<String>,
        /// Its size (or the total's), counted as the limit counts.
        size: u64,
        limit: Limit,
        scope: Scope,
        /// The provider kind whose limit it is.
        kind: &'static str,
    },
}

/// Who says a model cannot take a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The provider kind's API carries no such file (Ollama: PDFs).
    Kind(&'static str),
    /// `vision = false` / `pdf = false` in the profile.
    Profile,
    /// The catalog's `supports_vision` / `supports_pdf_input`.
    Catalog,
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::Cooldown { until } => {
                write!(f, "cooling down until {}", crate::time::rfc3339(*until))
            }
            Skip::RetryAfter { until } => {
                write!(f, "rate-limited until {}", crate::time::rfc3339(*until))
            }
            Skip::ContextWindow { window, needed } => {
                write!(f, "context window {window} tokens < {needed} needed")
            }
            Skip::Budget {
                cap,
                limit,
                worst,
                left,
            } => {
                write!(f, "worst case {worst} exceeds the {cap} budget of {limit}")?;
                if left < limit {
                    write!(f, " ({left} left)")?;
                }
                Ok(())
            }
            Skip::Attachment { file, media, why } => {
                let what = if media.is_image() { "images" } else { "PDFs" };
                match why {
                    Refusal::Kind(kind) => {
                        write!(f, "cannot take {file}: {kind}'s API takes no {what}")
                    }
                    Refusal::Profile => write!(
                        f,
                        "cannot take {file}: `{} = false` in the profile",
                        capability_key(*media)
                    ),
                    Refusal::Catalog => {
                        write!(f, "cannot take {file}: the catalog says it takes no {what}")
                    }
                }
            }
            Skip::TooLarge {
                file,
                size,
                limit,
                scope,
                kind,
            } => {
                match file {
                    Some(file) => write!(f, "{file} is {}", media::human_size(*size))?,
                    None => write!(f, "the attachments come to {}", media::human_size(*size))?,
                }
                write!(
                    f,
                    ", over {kind}'s limit of {} {}",
                    media::human_size(limit.bytes),
                    scope.as_str()
                )?;
                if limit.encoded {
                    f.write_str(" (counted in base64)")?;
                }
                Ok(())
            }
        }
    }
}

impl Skip {
    /// An attachment the model cannot take, or one too large for it.
    pub fn is_attachment(&self) -> bool {
        matches!(self, Skip::Attachment { .. } | Skip::TooLarge { .. })
    }
}

/// The profile key that says whether a model takes this kind of file.
pub fn capability_key(media: Media) -> &'static str {
    if media.is_image() { "vision" } else { "pdf" }
}

/// The output allowance assumed for a model whose largest output is unknown
/// (an Azure deployment the catalog does not name): with a budget set, it is
/// also sent as `max_tokens`, so that the worst case really bounds the cost.
pub const UNKNOWN_MAX_OUTPUT: u64 = 4096;

/// `max_tokens` lowered to fit a budget, instead of refusing the request.
#[derive(Debug, Clone, PartialEq)]
pub struct Lowered {
    /// The allowance before: the profile's `max_tokens`, else the model's
    /// largest output.
    pub from: u64,
    /// The cap it was lowered to fit, and what was left of it.
    pub cap: &'static str,
    pub left: Usd,
}

/// A model in the plan, with what the request may cost there.
#[derive(Debug, Clone)]
pub struct Planned {
    pub candidate: Candidate,
    /// `max_tokens` to send: the user's, else the model's max output
    /// (lowered to fit a budget when the user gave none).
    pub max_tokens: Option<u64>,
    /// `max_tokens` as the user or the profile gave it: what the context
    /// window must hold besides the prompt.
    pub asked_max_tokens: Option<u64>,
    /// Input at the estimate plus the whole output allowance, when priced.
    pub worst_case: Option<Usd>,
    /// Set when `max_tokens` was lowered to fit a budget.
    pub lowered: Option<Lowered>,
    /// The estimated input tokens at this model: the text, and the
    /// attachments by its provider's rule.
    pub input_tokens: u64,
    /// The profile keys (`vision`, `pdf`) of the kinds of file the request
    /// attaches and neither the profile nor the catalog says the model takes:
    /// it is tried anyway.
    pub unknown_capability: Vec<&'static str>,
}

impl Planned {
    /// `the catalog does not say whether it takes images; trying it (…)`,
    /// for each kind of file attached that the model may not take.
    pub fn capability_notes(&self) -> Vec<String> {
        self.unknown_capability
            .iter()
            .map(|key| {
                let what = if *key == "vision" { "images" } else { "PDFs" };
                format!(
                    "the catalog does not say whether it takes {what}; trying it \
                     (`{key} = true` or `false` in the profile's model table settles it)"
                )
            })
            .collect()
    }

    /// `max_tokens lowered from 64000 to 6250 to fit the per-request budget
    /// ($0.10 left)`, when it was.
    pub fn lowered_note(&self) -> Option<String> {
        let l = self.lowered.as_ref()?;
        Some(format!(
            "max_tokens lowered from {} to {} to fit the {} budget ({} left)",
            l.from,
            self.max_tokens.unwrap_or(0),
            l.cap,
            l.left
        ))
    }
}

/// The order of attempts and what was left out.
#[derive(Debug, Clone)]
pub struct Plan {
    pub order: Vec<Planned>,
    pub skipped: Vec<(Planned, Skip)>,
    /// The estimated input tokens of the request's text.
    pub estimated_input_tokens: u64,
    /// The request's attachments, as the plan weighed them.
    pub attachments: Vec<Facts>,
    /// Every model was cooling down or rate-limited, so all are tried anyway.
    pub forced: bool,
}

/// The inputs of planning.
pub struct PlanInput<'a> {
    pub candidates: Vec<Candidate>,
    pub strategy: Strategy,
    pub settings: &'a Settings,
    pub estimated_input_tokens: u64,
    /// The request's attachments (`-a`).
    pub attachments: &'a [Facts],
    /// `--max-tokens` / `-o max_tokens`.
    pub max_tokens: Option<u64>,
    pub budget: &'a Budget,
    pub spent: Spent,
    pub now: SystemTime,
    /// A random number source in [0, 1), for shuffle.
    pub random: &'a mut dyn FnMut() -> f64,
}

/// Orders the candidates by the strategy and applies the pre-flight skips.
pub fn plan(input: PlanInput<'_>) -> Plan {
    let PlanInput {
        candidates,
        strategy,
        settings,
        estimated_input_tokens,
        attachments,
        max_tokens,
        budget,
        spent,
        now,
        random,
    } = input;

    let capped = budget.is_set();
    let mut planned: Vec<Planned> = candidates
        .into_iter()
        .map(|c| {
            let asked = max_tokens.or(c.target.overrides.params.max_tokens);
            let mut max = asked.or(c.facts.max_output_tokens);
            if max.is_none() && capped {
                max = Some(UNKNOWN_MAX_OUTPUT);
            }
            let input = estimated_input_tokens.saturating_add(crate::tokens::estimate_attachments(
                c.target.provider.kind,
                attachments,
            ));
            let worst = worst_case(&c.facts, input, max.unwrap_or(UNKNOWN_MAX_OUTPUT));
            Planned {
                unknown_capability: unknown_capability(&c.facts, attachments),
                candidate: c,
                max_tokens: max,
                asked_max_tokens: asked,
                worst_case: worst,
                lowered: None,
                input_tokens: input,
            }
        })
        .collect();
    order(&mut planned, strategy, random);

    let mut order = Vec::new();
    let mut skipped = Vec::new();
    let mut resting = Vec::new();
    let lowerable = max_tokens.is_none();
    for mut p in planned {
        if let Some(skip) =
            attachment_skip(&p, attachments).or_else(|| hard_skip(&mut p, budget, spent, lowerable))
        {
            skipped.push((p, skip));
        } else if let Some(skip) = soft_skip(&p.candidate.health, settings, now) {
            resting.push((p, skip));
        } else {
            order.push(p);
        }
    }
    // If every model is resting, trying them beats failing without trying.
    let forced = order.is_empty() && !resting.is_empty();
    if forced {
        order.extend(resting.into_iter().map(|(p, _)| p));
    } else {
        skipped.extend(resting);
    }
    Plan {
        order,
        skipped,
        estimated_input_tokens,
        attachments: attachments.to_vec(),
        forced,
    }
}

/// The profile keys of the kinds of file attached that the model may not take.
fn unknown_capability(facts: &ModelFacts, attachments: &[Facts]) -> Vec<&'static str> {
    let mut keys = Vec::new();
    for a in attachments {
        let capability = if a.media.is_image() {
            facts.vision
        } else {
            facts.pdf
        };
        let key = capability_key(a.media);
        if capability == Capability::Unknown && !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// Why the model cannot take the request's attachments, if it cannot: a kind
/// of file its provider's API or the model does not take, or a size over its
/// provider's limit.
fn attachment_skip(p: &Planned, attachments: &[Facts]) -> Option<Skip> {
    let kind = p.candidate.target.provider.kind;
    let media = kind.spec().media;
    for a in attachments {
        let capability = if a.media.is_image() {
            p.candidate.facts.vision
        } else {
            p.candidate.facts.pdf
        };
        let why = match capability {
            _ if !media.takes(a.media) => Refusal::Kind(kind.as_str()),
            Capability::Profile(false) => Refusal::Profile,
            Capability::Catalog(false) => Refusal::Catalog,
            _ => continue,
        };
        return Some(Skip::Attachment {
            file: a.name.clone(),
            media: a.media,
            why,
        });
    }
    let over = media.over_limit(attachments)?;
    Some(Skip::TooLarge {
        file: over.file.map(str::to_owned),
        size: over.size,
        limit: over.limit,
        scope: over.scope,
        kind: kind.as_str(),
    })
}

fn order(planned: &mut [Planned], strategy: Strategy, random: &mut dyn FnMut() -> f64) {
    match strategy {
        Strategy::Fallback => {}
        // Unknown prices last, so that a model of unknown cost is never
        // preferred as "cheapest".
        Strategy::Cheapest => planned.sort_by_key(|p| p.worst_case.map_or(i64::MAX, Usd::picos)),
        // Unknown latencies first, so that they get measured.
        Strategy::Fastest => {
            planned.sort_by_key(|p| p.candidate.health.median_latency.unwrap_or(Duration::ZERO));
        }
        Strategy::Shuffle => {
            for i in (1..planned.len()).rev() {
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    clippy::cast_precision_loss
                )]
                let j = ((random() * (i + 1) as f64) as usize).min(i);
                planned.swap(i, j);
            }
        }
    }
}

/// The cost of the input at the estimate plus `output` tokens, when priced.
fn worst_case(facts: &ModelFacts, input: u64, output: u64) -> Option<Usd> {
    facts.cost(&Usage {
        input_tokens: input,
        output_tokens: output,
        ..Usage::default()
    })
}

/// Why the model cannot take the request at all, if it cannot. When only the
/// output allowance breaks a budget and `lowerable`, the allowance is lowered
/// to what the tightest cap leaves room for instead.
fn hard_skip(p: &mut Planned, budget: &Budget, spent: Spent, lowerable: bool) -> Option<Skip> {
    let input = p.input_tokens;
    if let Some(window) = p.candidate.facts.context_window {
        let needed = input + p.asked_max_tokens.unwrap_or(0);
        if needed > window {
            return Some(Skip::ContextWindow { window, needed });
        }
    }
    let worst = p.worst_case?;
    let caps = [
        ("per-request", budget.per_request, Usd::ZERO),
        ("daily", budget.daily, spent.today),
        ("monthly", budget.monthly, spent.this_month),
    ];
    // The cap with the least left is the one that binds.
    let (cap, limit, left) = caps
        .into_iter()
        .filter_map(|(name, cap, used)| Some((name, cap?, cap?.saturating_sub(used))))
        .min_by_key(|(_, _, left)| *left)?;
    if worst <= left {
        return None;
    }
    let refused = Some(Skip::Budget {
        cap,
        limit,
        worst,
        left,
    });
    let from = p.max_tokens.unwrap_or(UNKNOWN_MAX_OUTPUT);
    if !lowerable {
        return refused;
    }
    let fits = |n: u64| worst_case(&p.candidate.facts, input, n).is_some_and(|c| c <= left);
    // The cost grows with the output: the largest allowance that fits, by
    // bisection (prices may be tiered, so no division).
    let (mut lo, mut hi) = (0, from);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    if lo == 0 || !fits(lo) {
        return refused;
    }
    p.max_tokens = Some(lo);
    p.worst_case = worst_case(&p.candidate.facts, input, lo);
    p.lowered = Some(Lowered { from, cap, left });
    None
}

fn soft_skip(health: &Health, settings: &Settings, now: SystemTime) -> Option<Skip> {
    if let Some(until) = health.retry_after_until.filter(|u| *u > now) {
        return Some(Skip::RetryAfter { until });
    }
    health
        .cooling_until(settings, now)
        .map(|until| Skip::Cooldown { until })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Price;

    /// Model `a` at $2 / $10 per 1M tokens, with the given largest output and
    /// profile `max_tokens`.
    fn candidate(max_output: Option<u64>, profile_max: Option<u64>) -> Candidate {
        let extra = profile_max.map_or(String::new(), |n| {
            format!("params = {{ max_tokens = {n} }}\n")
        });
        let profile = crate::profile::load::parse(
            std::path::Path::new("p.toml"),
            &format!("[providers.o]\nkind = \"openai\"\n[models.a]\nprovider = \"o\"\nmodel = \"m\"\n{extra}"),
            &|_| None,
        )
        .unwrap();
        let target = crate::profile::reference::resolve(&profile, "a")
            .unwrap()
            .targets
            .remove(0);
        Candidate {
            target,
            facts: ModelFacts {
                context_window: Some(200_000),
                max_output_tokens: max_output,
                pricing: Some(Pricing::flat(
                    Price::per_million(2.0).unwrap(),
                    Price::per_million(10.0).unwrap(),
                )),
                local: false,
                ..ModelFacts::default()
            },
            health: Health::default(),
        }
    }

    fn planned(c: Candidate, max_tokens: Option<u64>, budget: &Budget, spent: Spent) -> Plan {
        plan(PlanInput {
            candidates: vec![c],
            strategy: Strategy::Fallback,
            settings: &Settings::default(),
            estimated_input_tokens: 1000,
            attachments: &[],
            max_tokens,
            budget,
            spent,
            now: SystemTime::UNIX_EPOCH,
            random: &mut || 0.0,
        })
    }

    fn per_request(usd: f64) -> Budget {
        Budget {
            per_request: Usd::from_dollars(usd),
            ..Budget::default()
        }
    }

    #[test]
    fn the_output_allowance_is_lowered_to_fit_the_cap() {
        // 1000 in = $0.002; 64k out = $0.64. $0.012 leaves room for 1000 out.
        let plan = planned(
            candidate(Some(64_000), None),
            None,
            &per_request(0.012),
            Spent::default(),
        );
        let p = &plan.order[0];
        assert_eq!(p.max_tokens, Some(1000));
        assert_eq!(p.worst_case, Usd::from_dollars(0.012));
        assert_eq!(
            p.lowered,
            Some(Lowered {
                from: 64_000,
                cap: "per-request",
                left: Usd::from_dollars(0.012).unwrap(),
            })
        );
    }

    #[test]
    fn the_profile_max_tokens_may_be_lowered_and_the_tightest_cap_binds() {
        let budget = Budget {
            per_request: Usd::from_dollars(1.0),
            daily: Usd::from_dollars(0.5),
            monthly: None,
        };
        let spent = Spent {
            today: Usd::from_dollars(0.488).unwrap(),
            this_month: Usd::ZERO,
        };
        let plan = planned(candidate(Some(64_000), Some(8000)), None, &budget, spent);
        let p = &plan.order[0];
        assert_eq!(p.max_tokens, Some(1000));
        let lowered = p.lowered.as_ref().unwrap();
        assert_eq!((lowered.from, lowered.cap), (8000, "daily"));
    }

    #[test]
    fn an_explicit_max_tokens_is_never_lowered() {
        let plan = planned(
            candidate(Some(64_000), None),
            Some(2000),
            &per_request(0.012),
            Spent::default(),
        );
        assert!(plan.order.is_empty());
        let (p, skip) = &plan.skipped[0];
        assert_eq!(p.max_tokens, Some(2000));
        assert_eq!(
            skip.to_string(),
            "worst case $0.022 exceeds the per-request budget of $0.012"
        );
    }

    #[test]
    fn when_even_the_input_breaks_the_cap_it_is_refused_naming_what_is_left() {
        let budget = Budget {
            daily: Usd::from_dollars(1.0),
            ..Budget::default()
        };
        let spent = Spent {
            today: Usd::from_dollars(0.999).unwrap(),
            this_month: Usd::ZERO,
        };
        let plan = planned(candidate(Some(64_000), None), None, &budget, spent);
        let (_, skip) = &plan.skipped[0];
        assert_eq!(
            skip.to_string(),
            "worst case $0.642 exceeds the daily budget of $1.00 ($0.001 left)"
        );
    }

    #[test]
    fn an_unknown_largest_output_is_bounded_when_a_budget_is_set() {
        let plan = planned(
            candidate(None, None),
            None,
            &per_request(1.0),
            Spent::default(),
        );
        let p = &plan.order[0];
        assert_eq!(p.max_tokens, Some(UNKNOWN_MAX_OUTPUT));
        // 1000 × $2/1M + 4096 × $10/1M: more than the input alone.
        assert_eq!(p.worst_case, Usd::from_dollars(0.042_96));
        // Without a budget nothing is imposed on the provider.
        let free = planned(
            candidate(None, None),
            None,
            &Budget::default(),
            Spent::default(),
        );
        assert_eq!(free.order[0].max_tokens, None);
    }

    /// Candidates of `kind` whose catalog says `vision` and `pdf`, planned
    /// for these attachments.
    fn with_files(kind: &str, vision: Capability, pdf: Capability, files: &[Facts]) -> Plan {
        let profile = crate::profile::load::parse(
            std::path::Path::new("p.toml"),
            &format!("[providers.p]\nkind = \"{kind}\"\nbase_url = \"http://x\"\n[models.a]\nprovider = \"p\"\nmodel = \"m\"\n"),
            &|_| None,
        )
        .unwrap();
        let mut c = candidate(Some(1000), None);
        c.target = crate::profile::reference::resolve(&profile, "a")
            .unwrap()
            .targets
            .remove(0);
        c.facts.vision = vision;
        c.facts.pdf = pdf;
        plan(PlanInput {
            candidates: vec![c],
            strategy: Strategy::Fallback,
            settings: &Settings::default(),
            estimated_input_tokens: 10,
            attachments: files,
            max_tokens: None,
            budget: &Budget::default(),
            spent: Spent::default(),
            now: SystemTime::UNIX_EPOCH,
            random: &mut || 0.0,
        })
    }

    fn file(name: &str, media: Media, bytes: u64) -> Facts {
        Facts {
            name: name.into(),
            media,
            bytes,
            dimensions: Some((1024, 1024)),
            pages: Some(2),
        }
    }

    #[test]
    fn a_model_that_cannot_take_a_file_is_skipped_saying_who_says_so() {
        let png = [file("shot.png", Media::Png, 1000)];
        let no = with_files(
            "openai",
            Capability::Catalog(false),
            Capability::Unknown,
            &png,
        );
        assert_eq!(
            no.skipped[0].1.to_string(),
            "cannot take shot.png: the catalog says it takes no images"
        );
        let profile_no = with_files(
            "openai",
            Capability::Profile(false),
            Capability::Unknown,
            &png,
        );
        assert_eq!(
            profile_no.skipped[0].1.to_string(),
            "cannot take shot.png: `vision = false` in the profile"
        );
        // The profile's word beats the catalog's.
        let yes = with_files(
            "openai",
            Capability::Profile(true),
            Capability::Unknown,
            &png,
        );
        assert!(yes.skipped.is_empty() && yes.order[0].unknown_capability.is_empty());
        // Ollama's API takes no PDF, whatever anyone says.
        let pdf = [file("report.pdf", Media::Pdf, 1000)];
        let ollama = with_files(
            "ollama",
            Capability::Unknown,
            Capability::Profile(true),
            &pdf,
        );
        assert_eq!(
            ollama.skipped[0].1.to_string(),
            "cannot take report.pdf: ollama's API takes no PDFs"
        );
        assert!(ollama.skipped[0].1.is_attachment());
    }

    #[test]
    fn an_unknown_capability_is_tried_and_said() {
        let both = [
            file("shot.png", Media::Png, 1000),
            file("a.pdf", Media::Pdf, 1000),
        ];
        let plan = with_files(
            "anthropic",
            Capability::Unknown,
            Capability::Catalog(true),
            &both,
        );
        let p = &plan.order[0];
        assert_eq!(p.unknown_capability, ["vision"]);
        assert!(
            p.capability_notes()[0]
                .starts_with("the catalog does not say whether it takes images; trying it")
        );
        // The text, a 1024 × 1024 image (1399 tokens) and two PDF pages (3100 each).
        assert_eq!(p.input_tokens, 10 + 1399 + 2 * 3100);
        // The worst case prices them: $2 per 1M in, 1000 out at $10 per 1M.
        let expected = Usd::from_dollars((10.0 + 1399.0 + 6200.0) * 2e-6 + 1000.0 * 1e-5);
        assert_eq!(p.worst_case, expected);
        assert_eq!(plan.attachments.len(), 2);
    }

    #[test]
    fn a_file_over_the_providers_limit_is_skipped_naming_the_limit() {
        let big = [file("big.png", Media::Png, 4 * media::MB)];
        let anthropic = with_files("anthropic", Capability::Unknown, Capability::Unknown, &big);
        assert_eq!(
            anthropic.skipped[0].1.to_string(),
            "big.png is 5.3 MB, over anthropic's limit of 5 MB per image (counted in base64)"
        );
        // OpenAI takes 20 MB images.
        let openai = with_files("openai", Capability::Unknown, Capability::Unknown, &big);
        assert!(openai.skipped.is_empty());
        let pdfs = [
            file("a.pdf", Media::Pdf, 8 * media::MB),
            file("b.pdf", Media::Pdf, 8 * media::MB),
        ];
        let gemini = with_files("gemini", Capability::Unknown, Capability::Unknown, &pdfs);
        assert_eq!(
            gemini.skipped[0].1.to_string(),
            "the attachments come to 21.3 MB, over gemini's limit of 20 MB of attachments per request (counted in base64)"
        );
    }
}
