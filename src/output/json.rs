//! The `--json` schemas of the commands that send or plan a request: `ask`
//! (and each element of `compare --format json`), `ask --dry-run`, `drill`
//! and `cost estimate`. These structs are the one definition of them
//! (CONTRACT.md "route ask", "route drill", "route cost").

use serde::Serialize;

use crate::error::Error;
use crate::profile::reference::Resolved;
use crate::provider::ErrorKind;
use crate::router::plan::{Plan, Planned, Skip};
use crate::router::{Attempt, Outcome, Routed};

/// `value` as one line of JSON, ending with a line break.
pub fn line<T: Serialize>(value: &T) -> Result<String, Error> {
    let mut text =
        serde_json::to_string(value).map_err(|e| Error::failed(e.to_string()).caused_by(e))?;
    text.push('\n');
    Ok(text)
}

/// `value` as indented JSON, ending with a line break (for arrays of rows,
/// as `route models --json` and `route cost --format json` print them).
pub fn pretty<T: Serialize>(value: &T) -> Result<String, Error> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::failed(e.to_string()).caused_by(e))?;
    text.push('\n');
    Ok(text)
}

#[derive(Debug, Serialize)]
pub struct AskJson {
    /// The answer; when no model could finish it, the text it got.
    pub text: String,
    /// The answer broke off and no model finished it: `text` is partial.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
    pub model: String,
    pub provider: String,
    pub provider_model: String,
    pub served_model: Option<String>,
    pub usage: UsageJson,
    pub cost_usd: Option<f64>,
    /// `cost_usd` is from route's own token count (the provider reported less).
    #[serde(skip_serializing_if = "is_false")]
    pub estimated: bool,
    /// The provider's own figure (`OpenRouter`), when it reported one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_cost_usd: Option<f64>,
    pub latency_ms: u64,
    pub ttft_ms: Option<u64>,
    pub attempts: Vec<AttemptJson>,
    pub request_id: String,
    /// The conversation this request began or continued (`--cid` continues it).
    pub conversation_id: Option<String>,
    /// Set when no model answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// With `--schema`: `valid` and `value`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub structured: Option<StructuredJson>,
}

/// What `--schema` adds to an answer's JSON.
#[derive(Debug, Serialize)]
pub struct StructuredJson {
    /// The answer matched the schema.
    pub valid: bool,
    /// The answer as JSON (the same as `text`, parsed); `null` when it did
    /// not match.
    pub value: Option<Box<serde_json::value::RawValue>>,
}

impl StructuredJson {
    /// For a request with a schema: valid when `answer` (the checked text,
    /// one line of JSON) is there.
    pub fn of(answer: Option<&str>) -> StructuredJson {
        let value =
            answer.and_then(|t| serde_json::value::RawValue::from_string(t.to_owned()).ok());
        StructuredJson {
            valid: value.is_some(),
            value,
        }
    }
}

#[derive(Debug, Serialize, Default)]
pub struct UsageJson {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_input_tokens: u64,
    /// 0 when the provider reports none (CONTRACT.md "route ask").
    pub cache_write_tokens: u64,
    /// The part of `cache_write_tokens` written to a 1-hour cache
    /// (Anthropic), billed higher; 0 when none.
    pub cache_write_1h_tokens: u64,
    pub reasoning_tokens: u64,
}

#[derive(Debug, Serialize)]
pub struct AttemptJson {
    pub model: String,
    pub provider: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub latency_ms: u64,
    /// What this attempt cost; `null` when the price is unknown.
    pub cost_usd: Option<f64>,
    /// The cost is from route's own token count (the provider reported less).
    #[serde(skip_serializing_if = "is_false")]
    pub estimated: bool,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(b: &bool) -> bool {
    !*b
}

impl AttemptJson {
    pub fn from_attempt(a: &Attempt<'_>) -> Self {
        let error = a.error();
        AttemptJson {
            model: a.label().to_owned(),
            provider: a.provider().to_owned(),
            outcome: a.outcome(),
            error_kind: error.map(|e| e.kind),
            http_status: error.and_then(|e| e.status),
            error: error.map(|e| e.message.clone()),
            latency_ms: millis(a.latency),
            cost_usd: a.cost.map(crate::money::Usd::to_dollars),
            estimated: a.estimated,
        }
    }
}

/// Milliseconds, for JSON.
pub fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl AskJson {
    /// The JSON for a routed request; `structured` when it asked for a
    /// `--schema`. The last attempt's figures stand for the request when none
    /// answered.
    pub fn from_routed(routed: &Routed<'_>, request_id: &str, structured: bool) -> Option<AskJson> {
        let answer = routed.answer();
        let shown = answer.or_else(|| routed.attempts.last())?;
        let usage = shown.usage.unwrap_or_default();
        let partial = routed.partial();
        Some(AskJson {
            text: answer
                .map(Attempt::full_text)
                .or_else(|| partial.map(Attempt::full_text))
                .or_else(|| routed.invalid_output().map(|a| a.text.clone()))
                .unwrap_or_default(),
            incomplete: answer.is_none() && partial.is_some(),
            model: shown.label().to_owned(),
            provider: shown.provider().to_owned(),
            provider_model: shown.model().to_owned(),
            served_model: shown.served_model.clone(),
            usage: UsageJson {
                input_tokens: usage.input_tokens,
                output_tokens: usage.output_tokens,
                cached_input_tokens: usage.cached_input_tokens,
                cache_write_tokens: usage.cache_write_tokens,
                cache_write_1h_tokens: usage.cache_write_1h_tokens,
                reasoning_tokens: usage.reasoning_tokens,
            },
            cost_usd: shown.cost.map(crate::money::Usd::to_dollars),
            estimated: shown.estimated,
            provider_cost_usd: shown.provider_cost,
            latency_ms: routed.attempts.iter().map(|a| millis(a.latency)).sum(),
            ttft_ms: shown.ttft.map(millis),
            attempts: routed
                .attempts
                .iter()
                .map(AttemptJson::from_attempt)
                .collect(),
            request_id: request_id.to_owned(),
            conversation_id: None,
            error: if answer.is_some() {
                None
            } else {
                shown.error().map(ToString::to_string)
            },
            structured: structured.then(|| StructuredJson::of(answer.map(|a| a.text.as_str()))),
        })
    }
}

/// `ask --dry-run --json`: the plan, with nothing sent.
#[derive(Debug, Serialize)]
pub struct PlanJson {
    /// The model reference, as given (or the profile's default).
    pub reference: String,
    /// `fallback`, `cheapest`, `fastest` or `shuffle`.
    pub strategy: &'static str,
    /// route's estimate of the input tokens of the request's text (each
    /// model's `input_tokens` adds its attachments).
    pub estimated_input_tokens: u64,
    /// The files attached (`-a`), as the plan weighed them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentJson>,
    /// The models that would be tried, in order.
    pub models: Vec<PlannedJson>,
    /// The models left out, and why.
    pub skipped: Vec<SkippedJson>,
    /// Every model is cooling down or rate-limited: all are tried anyway.
    pub forced: bool,
}

/// A model of the plan.
#[derive(Debug, Serialize)]
pub struct PlannedJson {
    /// The alias, or `provider/model`.
    pub alias: String,
    pub provider: String,
    pub provider_model: String,
    pub context_window: Option<u64>,
    /// The `max_tokens` it would be sent; `null` when none is given or known.
    pub max_tokens: Option<u64>,
    /// The estimated input plus the whole output allowance; `null` when the
    /// price (or the output allowance) is unknown.
    pub worst_case_usd: Option<f64>,
    /// Set when `max_tokens` was lowered to fit a budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lowered: Option<LoweredJson>,
    /// route's estimate of the input tokens at this model: the text, and the
    /// attachments by its provider's rule.
    pub input_tokens: u64,
    /// `vision` / `pdf`: the kinds of file attached that neither the profile
    /// nor the catalog says the model takes (it is tried anyway).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capability_unknown: Vec<&'static str>,
}

/// A file attached to the request.
#[derive(Debug, Serialize)]
pub struct AttachmentJson {
    /// As the user named it.
    pub file: String,
    pub media_type: &'static str,
    pub bytes: u64,
    /// An image's size in pixels, when its header says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// A PDF's pages, when route can count them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
}

/// `max_tokens` lowered to fit a budget: from what, for which cap.
#[derive(Debug, Serialize)]
pub struct LoweredJson {
    pub from_max_tokens: u64,
    /// `per-request`, `daily` or `monthly`.
    pub budget: &'static str,
    pub left_usd: f64,
}

/// A model the plan leaves out.
#[derive(Debug, Serialize)]
pub struct SkippedJson {
    #[serde(flatten)]
    pub model: PlannedJson,
    /// Why, in words (as the text plan says it).
    pub reason: String,
    /// `cooldown`, `retry_after`, `context_window`, `budget`, `attachment`
    /// (it cannot take a file) or `attachment_size` (a file is over its
    /// provider's limit).
    pub reason_kind: &'static str,
    /// When a cooldown or a Retry-After wait ends (UTC, RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

impl PlannedJson {
    fn from_planned(p: &Planned) -> Self {
        let target = &p.candidate.target;
        PlannedJson {
            alias: target.label.clone(),
            provider: target.provider.name.clone(),
            provider_model: target.model.clone(),
            context_window: p.candidate.facts.context_window,
            max_tokens: p.max_tokens,
            worst_case_usd: p.worst_case.map(crate::money::Usd::to_dollars),
            lowered: p.lowered.as_ref().map(|l| LoweredJson {
                from_max_tokens: l.from,
                budget: l.cap,
                left_usd: l.left.to_dollars(),
            }),
            input_tokens: p.input_tokens,
            capability_unknown: p.unknown_capability.clone(),
        }
    }
}

impl PlanJson {
    pub fn new(plan: &Plan, resolved: &Resolved) -> Self {
        PlanJson {
            reference: resolved.reference.clone(),
            strategy: resolved.strategy.as_str(),
            estimated_input_tokens: plan.estimated_input_tokens,
            attachments: plan
                .attachments
                .iter()
                .map(|a| AttachmentJson {
                    file: a.name.clone(),
                    media_type: a.media.mime(),
                    bytes: a.bytes,
                    width: a.dimensions.map(|d| d.0),
                    height: a.dimensions.map(|d| d.1),
                    pages: a.pages,
                })
                .collect(),
            models: plan.order.iter().map(PlannedJson::from_planned).collect(),
            skipped: plan
                .skipped
                .iter()
                .map(|(p, skip)| {
                    let (reason_kind, until) = match skip {
                        Skip::Cooldown { until } => ("cooldown", Some(*until)),
                        Skip::RetryAfter { until } => ("retry_after", Some(*until)),
                        Skip::ContextWindow { .. } => ("context_window", None),
                        Skip::Budget { .. } => ("budget", None),
                        Skip::Attachment { .. } => ("attachment", None),
                        Skip::TooLarge { .. } => ("attachment_size", None),
                    };
                    SkippedJson {
                        model: PlannedJson::from_planned(p),
                        reason: skip.to_string(),
                        reason_kind,
                        until: until.map(crate::time::rfc3339),
                    }
                })
                .collect(),
            forced: plan.forced,
        }
    }
}

/// One path of `route drill --json`: its members were tried in order, all
/// but the last made to fail inside route (nothing was sent to them).
#[derive(Debug, Serialize)]
pub struct DrillPathJson {
    /// The path's members, in order; the last is the one that must answer.
    pub path: Vec<String>,
    pub answered: bool,
    /// The member that answered (the path's last); `null` when none did.
    pub model: Option<String>,
    pub provider: Option<String>,
    pub provider_model: Option<String>,
    /// What the provider says it ran.
    pub served_model: Option<String>,
    /// The time of the requests really sent on this path.
    pub latency_ms: u64,
    /// What this path's requests cost (0 when nothing was billed, as after an
    /// HTTP error); `null` when some billed request's price is unknown.
    pub cost_usd: Option<f64>,
    /// The cost is from route's own token count (the provider reported less).
    #[serde(skip_serializing_if = "is_false")]
    pub estimated: bool,
    /// Why the path did not answer; `null` when it did.
    pub error_kind: Option<ErrorKind>,
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

/// One model of `route cost estimate --json`: what the prompt would cost
/// there, counted before anything is sent.
#[derive(Debug, Serialize)]
pub struct EstimateJson {
    /// The alias, or `provider/model`.
    pub alias: String,
    pub provider: String,
    pub provider_model: String,
    pub input_tokens: u64,
    /// `exact` (the model's own tokenizer) or `approximate` (four bytes a token).
    pub counted: &'static str,
    /// The tokenizer, when counted exactly.
    pub tokenizer: Option<&'static str>,
    pub context_window: Option<u64>,
    /// The prompt fits the context window; `null` when the window is unknown.
    pub fits: Option<bool>,
    /// What sending the prompt costs (its input tokens); `null` when the
    /// price is unknown.
    pub cost_usd: Option<f64>,
    /// The output allowance priced: `--max-tokens`, else the model's largest output.
    pub max_tokens: Option<u64>,
    /// The input plus the whole output allowance; `null` when the price (or
    /// the output allowance) is unknown.
    pub worst_case_usd: Option<f64>,
}
