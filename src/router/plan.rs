//! The plan: which models a request will try, in which order, and which are
//! skipped before anything is sent (cooldown, Retry-After, context window,
//! budget). Shared by `ask`, `ask --dry-run` and `drill`.

use std::time::{Duration, SystemTime};

use crate::catalog::{self, Pricing};
use crate::money::Usd;
use crate::profile::{Budget, Settings, Strategy, Target};
use crate::provider::ErrorKind;
use crate::provider::types::Usage;

/// What the catalog and the profile know about a model.
#[derive(Debug, Clone, Default)]
pub struct ModelFacts {
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub pricing: Option<Pricing>,
    /// A local provider: no price means free, not unknown.
    pub local: bool,
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
        worst: Usd,
        left: Usd,
    },
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
            Skip::Budget { cap, worst, left } => {
                write!(
                    f,
                    "worst case {worst} exceeds the {cap} budget ({left} left)"
                )
            }
        }
    }
}

/// A model in the plan, with what the request may cost there.
#[derive(Debug, Clone)]
pub struct Planned {
    pub candidate: Candidate,
    /// `max_tokens` to send: the user's, else the model's max output.
    pub max_tokens: Option<u64>,
    /// `max_tokens` as the user or the profile gave it: what the context
    /// window must hold besides the prompt.
    pub asked_max_tokens: Option<u64>,
    /// Input at the estimate plus the whole output allowance, when priced.
    pub worst_case: Option<Usd>,
}

/// The order of attempts and what was left out.
#[derive(Debug, Clone)]
pub struct Plan {
    pub order: Vec<Planned>,
    pub skipped: Vec<(Planned, Skip)>,
    pub estimated_input_tokens: u64,
    /// Every model was cooling down or rate-limited, so all are tried anyway.
    pub forced: bool,
}

/// The inputs of planning.
pub struct PlanInput<'a> {
    pub candidates: Vec<Candidate>,
    pub strategy: Strategy,
    pub settings: &'a Settings,
    pub estimated_input_tokens: u64,
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
        max_tokens,
        budget,
        spent,
        now,
        random,
    } = input;

    let mut planned: Vec<Planned> = candidates
        .into_iter()
        .map(|c| {
            let asked = max_tokens.or(c.target.overrides.params.max_tokens);
            let max = asked.or(c.facts.max_output_tokens);
            let worst = c.facts.cost(&Usage {
                input_tokens: estimated_input_tokens,
                output_tokens: max.unwrap_or(4096),
                ..Usage::default()
            });
            Planned {
                candidate: c,
                max_tokens: max,
                asked_max_tokens: asked,
                worst_case: worst,
            }
        })
        .collect();
    order(&mut planned, strategy, random);

    let mut order = Vec::new();
    let mut skipped = Vec::new();
    let mut resting = Vec::new();
    for p in planned {
        if let Some(skip) = hard_skip(&p, estimated_input_tokens, budget, spent) {
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
        forced,
    }
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

fn hard_skip(p: &Planned, input: u64, budget: &Budget, spent: Spent) -> Option<Skip> {
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
    for (name, cap, used) in caps {
        let Some(cap) = cap else {
            continue;
        };
        let left = cap.saturating_sub(used);
        if worst > left {
            return Some(Skip::Budget {
                cap: name,
                worst,
                left,
            });
        }
    }
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
