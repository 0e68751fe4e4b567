//! The router: tries the plan's models in order, retrying, waiting and moving
//! on by the rules of [`rules::decide`], and reports every attempt.
//!
//! It knows failures and order, nothing about JSON or terminals: answer text
//! and attempt results go to a [`Reporter`]; the command decides what to print
//! and what to record.

mod outcome;
pub mod plan;
pub mod rules;

pub use outcome::Outcome;

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant, SystemTime};

use plan::{Plan, Planned};
use rules::{AttemptState, Decision};

use crate::money::Usd;
use crate::profile::{Settings, Target};
use crate::provider::http::{self, Timeouts};
use crate::provider::types::{ChatRequest, FinishReason, Params, StreamEvent, Usage};
use crate::provider::{Call, Endpoint, ErrorKind, ProviderError};
use crate::signal::Cancel;

/// One request sent to one model, and how it ended.
#[derive(Debug, Clone)]
pub struct Attempt<'p> {
    /// The model of the plan it was sent to.
    pub planned: &'p Planned,
    /// 1-based count across the whole request.
    pub number: u32,
    /// Position of the model in the plan.
    pub index: usize,
    /// 1 for the first try on this model, 2 for its first retry, …
    pub try_no: u32,
    pub started: SystemTime,
    pub latency: Duration,
    pub ttft: Option<Duration>,
    pub result: Result<(), ProviderError>,
    /// How far it got.
    pub reach: Reach,
    pub usage: Option<Usage>,
    pub served_model: Option<String>,
    pub provider_cost: Option<f64>,
    pub finish: Option<FinishReason>,
    /// Our figure; `None` when the price is unknown.
    pub cost: Option<Usd>,
    /// `usage` (and so `cost`) is partly or wholly route's own count of what
    /// was sent and received, because the provider reported less than that.
    pub estimated: bool,
    /// The text this attempt produced (complete only when it succeeded).
    pub text: String,
    /// The router's decision after a failure.
    pub decision: Option<Decision>,
    /// The provider's Retry-After deadline, remembered for later runs.
    pub retry_after_until: Option<SystemTime>,
    /// The answer written before this attempt, which it continued; empty
    /// when it started the answer. Its own text begins at `prefix.len()`.
    pub prefix: String,
    /// The attempt (its number) whose text this one continued.
    pub continued_from: Option<(u32, &'p str)>,
    /// What happens to the text it wrote, when it failed after writing some.
    pub after_text: Option<AfterText>,
    /// The server rejected `stream_options` and was asked again without
    /// them: the ledger remembers its `base_url` so that later runs do not
    /// send them.
    pub dropped_stream_options: bool,
}

/// What the router does with an answer that broke off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterText {
    /// This model continues it.
    Continue(String),
    /// This model starts over (on a terminal only).
    StartOver(String),
    /// No model is left that can continue it.
    Abandon,
}

/// How far an attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Nothing was sent: the request could not be built, or the retry was
    /// cancelled before it went out.
    NotSent,
    /// Made to fail by `route drill`: nothing was sent, nothing is recorded.
    Forced,
    /// The key could not be resolved: a setup problem, nothing was sent.
    NoKey,
    /// Sent; no answer text was shown.
    Sent,
    /// Answer text was shown before the attempt ended.
    Printed,
}

impl<'p> Attempt<'p> {
    /// An attempt at `planned` that has not produced anything yet.
    fn start(
        planned: &'p Planned,
        index: usize,
        number: u32,
        try_no: u32,
        started: SystemTime,
    ) -> Attempt<'p> {
        Attempt {
            planned,
            number,
            index,
            try_no,
            started,
            latency: Duration::ZERO,
            ttft: None,
            result: Ok(()),
            reach: Reach::NotSent,
            usage: None,
            served_model: None,
            provider_cost: None,
            finish: None,
            cost: None,
            estimated: false,
            text: String::new(),
            decision: None,
            retry_after_until: None,
            prefix: String::new(),
            continued_from: None,
            after_text: None,
            dropped_stream_options: false,
        }
    }

    /// The answer up to the end of this attempt: what it continued, then its own text.
    pub fn full_text(&self) -> String {
        let mut text = self.prefix.clone();
        text.push_str(&self.text);
        text
    }

    /// The model it was sent to.
    pub fn target(&self) -> &'p Target {
        &self.planned.candidate.target
    }

    /// How the user named the model: the alias, or `provider/model`.
    pub fn label(&self) -> &'p str {
        &self.target().label
    }

    /// The provider's name in the profile.
    pub fn provider(&self) -> &'p str {
        &self.target().provider.name
    }

    /// The model id requested.
    pub fn model(&self) -> &'p str {
        &self.target().model
    }

    /// Answer text was shown before the attempt ended.
    pub fn printed(&self) -> bool {
        self.reach == Reach::Printed
    }

    pub fn outcome(&self) -> Outcome {
        match &self.result {
            Ok(()) => Outcome::Ok,
            Err(e) if e.kind == ErrorKind::Cancelled => Outcome::Cancelled,
            Err(e) if e.kind == ErrorKind::Incomplete || self.printed() => Outcome::Incomplete,
            Err(_) => Outcome::Error,
        }
    }

    pub fn error(&self) -> Option<&ProviderError> {
        self.result.as_ref().err()
    }
}

/// How the request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The attempt at this position of `attempts` answered.
    Answered(usize),
    /// Every model failed, or the router stopped on a request error.
    Failed,
    /// The user interrupted.
    Cancelled,
}

/// Receives what the router does, as it does it.
pub trait Reporter {
    fn attempt_started(&mut self, _planned: &Planned, _number: u32) {}
    /// A piece of answer text of the attempt in progress. A reporter may hold
    /// it back until [`Reporter::flush`].
    fn delta(&mut self, _text: &str) {}
    /// A piece of answer text held back instead of shown (`--schema`: the
    /// answer is checked once complete), for progress only.
    fn held(&mut self, _text: &str) {}
    /// The router is about to wait for the network: text held back by
    /// [`Reporter::delta`] must be shown now. Deltas that arrive back to back
    /// come between two flushes, so a reporter that buffers them writes once
    /// per burst, not once per token.
    fn flush(&mut self) {}
    /// An attempt ended; `next` names the model tried next, if any.
    fn attempt_finished(&mut self, _attempt: &Attempt<'_>, _next: Option<&str>) {}
    /// The router is about to wait before retrying.
    fn waiting(&mut self, _attempt: &Attempt<'_>, _wait: Duration) {}
}

/// Everything the router needs besides the plan.
pub struct Request<'a> {
    /// The prompt, system prompt, stream flag and the command line's params.
    pub base: &'a ChatRequest,
    pub settings: &'a Settings,
    /// Reads an environment variable, for key sources.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub cancel: &'a Cancel,
    /// Models forced to fail without sending anything (`route drill`).
    pub force_fail: &'a dyn Fn(usize) -> bool,
    /// After answer text was written and no model can continue it, a model
    /// may start the answer over: on a terminal, or when nothing reached
    /// stdout (`--json`). Into a file or a pipe it may not.
    pub restart: bool,
}

/// The result of a routed request.
pub struct Routed<'p> {
    pub attempts: Vec<Attempt<'p>>,
    pub ending: Ending,
}

impl<'p> Routed<'p> {
    /// The answering attempt.
    pub fn answer(&self) -> Option<&Attempt<'p>> {
        match self.ending {
            Ending::Answered(i) => self.attempts.get(i),
            _ => None,
        }
    }

    /// The last attempt whose complete answer did not match `--schema`
    /// (`invalid_output`): what a model said instead, when none matched.
    pub fn invalid_output(&self) -> Option<&Attempt<'p>> {
        self.attempts.iter().rev().find(|a| {
            a.error()
                .is_some_and(|e| e.kind == ErrorKind::InvalidOutput)
        })
    }

    /// The last attempt that wrote answer text and broke off: its
    /// [`Attempt::full_text`] is what was got of an answer no model finished.
    pub fn partial(&self) -> Option<&Attempt<'p>> {
        self.attempts
            .iter()
            .rev()
            .find(|a| a.printed() && a.result.is_err())
    }
}

/// Whether the model at this place of the plan can continue an answer.
fn can_continue(planned: &Planned) -> bool {
    let t = &planned.candidate.target;
    t.provider
        .kind
        .can_continue(t.provider.continuation, &t.model)
}

/// The next model to try after `from`: one whose window is larger than
/// `skip_window_up_to` (after a context-length error), and that can continue
/// the answer when `continuing`.
fn next_model(
    plan: &Plan,
    from: usize,
    skip_window_up_to: Option<u64>,
    continuing: bool,
) -> Option<usize> {
    (from + 1..plan.order.len()).find(|&i| {
        let p = &plan.order[i];
        let window_ok = match (skip_window_up_to, p.candidate.facts.context_window) {
            (Some(limit), Some(w)) => w > limit,
            _ => true,
        };
        window_ok && (!continuing || can_continue(p))
    })
}

/// Runs the plan.
pub async fn run<'p>(plan: &'p Plan, req: &Request<'_>, reporter: &mut dyn Reporter) -> Routed<'p> {
    let mut attempts: Vec<Attempt<'p>> = Vec::new();
    let mut random = random_source();
    let mut skip_window_up_to: Option<u64> = None;
    let count = plan.order.len();
    // The answer written so far by attempts that broke off, and the last of
    // them: the next attempt continues it.
    let mut written = String::new();
    let mut writer: Option<(u32, &'p str)> = None;
    let mut next = (count > 0).then_some(0);
    while let Some(index) = next {
        let planned = &plan.order[index];
        let mut try_no = 0;
        loop {
            try_no += 1;
            let number = u32::try_from(attempts.len() + 1).unwrap_or(u32::MAX);
            reporter.attempt_started(planned, number);
            let continues = (!written.is_empty()).then_some((written.as_str(), writer));
            let mut attempt =
                attempt_once(planned, index, number, try_no, req, continues, reporter).await;
            let another = next_model(plan, index, skip_window_up_to, false).is_some();
            let Err(error) = &attempt.result else {
                reporter.attempt_finished(&attempt, None);
                attempts.push(attempt);
                return Routed {
                    ending: Ending::Answered(attempts.len() - 1),
                    attempts,
                };
            };
            let mut decision = if error.kind == ErrorKind::Cancelled {
                Decision::Stop
            } else {
                let state = AttemptState {
                    tries: try_no,
                    another_model: another,
                    printed: attempt.printed(),
                    optional_parts: continues.is_some() || req.base.schema.is_some(),
                };
                rules::decide(error, state, req.settings, random())
            };
            let cancelled = error.kind == ErrorKind::Cancelled;
            if attempt.printed() {
                written.push_str(&attempt.text);
                writer = Some((attempt.number, attempt.label()));
            }
            // A retry after written text must continue it, or it would
            // write the answer twice.
            if matches!(decision, Decision::Retry(_))
                && !written.is_empty()
                && !can_continue(planned)
            {
                decision = Decision::Next;
            }
            if decision == Decision::NextLargerWindow {
                skip_window_up_to = planned.candidate.facts.context_window.or(skip_window_up_to);
            }
            next = match decision {
                Decision::Retry(_) => Some(index),
                Decision::Stop => None,
                Decision::Next | Decision::NextLargerWindow if written.is_empty() => {
                    next_model(plan, index, skip_window_up_to, false)
                }
                Decision::Next | Decision::NextLargerWindow => {
                    if let Some(j) = next_model(plan, index, skip_window_up_to, true) {
                        attempt.after_text = Some(AfterText::Continue(
                            plan.order[j].candidate.target.label.clone(),
                        ));
                        Some(j)
                    } else if let Some(j) =
                        next_model(plan, index, skip_window_up_to, false).filter(|_| req.restart)
                    {
                        attempt.after_text = Some(AfterText::StartOver(
                            plan.order[j].candidate.target.label.clone(),
                        ));
                        written.clear();
                        writer = None;
                        Some(j)
                    } else {
                        attempt.after_text = Some(AfterText::Abandon);
                        None
                    }
                }
            };
            if attempt.printed() && attempt.after_text.is_none() && decision != Decision::Stop {
                // A retry of the same model continues its own text.
                attempt.after_text =
                    Some(AfterText::Continue(planned.candidate.target.label.clone()));
            }
            attempt.decision = Some(decision);
            let next_label = next.map(|j| plan.order[j].candidate.target.label.as_str());
            reporter.attempt_finished(&attempt, next_label);
            if let Decision::Retry(wait) = decision {
                reporter.waiting(&attempt, wait);
                attempts.push(attempt);
                if req.cancel.sleep(wait).await.is_err() {
                    // Interrupted while waiting to retry: the retry that
                    // was due is recorded as cancelled (nothing was sent),
                    // so that the request ends `cancelled` in the ledger
                    // like any interrupted request (issue 9).
                    if let Some(retry) = attempts.last().map(cancelled_retry) {
                        reporter.attempt_finished(&retry, None);
                        attempts.push(retry);
                    }
                    return Routed {
                        attempts,
                        ending: Ending::Cancelled,
                    };
                }
                continue;
            }
            attempts.push(attempt);
            if decision == Decision::Stop {
                let ending = if cancelled {
                    Ending::Cancelled
                } else {
                    Ending::Failed
                };
                return Routed { attempts, ending };
            }
            break;
        }
    }
    Routed {
        attempts,
        ending: Ending::Failed,
    }
}

async fn attempt_once<'p>(
    planned: &'p Planned,
    index: usize,
    number: u32,
    try_no: u32,
    req: &Request<'_>,
    continues: Option<(&str, Option<(u32, &'p str)>)>,
    reporter: &mut dyn Reporter,
) -> Attempt<'p> {
    let target = &planned.candidate.target;
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut attempt = Attempt::start(planned, index, number, try_no, started);
    if let Some((written, from)) = continues {
        attempt.prefix = written.to_owned();
        attempt.continued_from = from;
    }

    if (req.force_fail)(index) {
        attempt.reach = Reach::Forced;
        // A connection failure moves on at once: no retry, no backoff.
        attempt.result = Err(ProviderError::new(
            ErrorKind::Connect,
            "forced to fail by route drill (nothing was sent)",
        ));
        return attempt;
    }
    let key = match target.provider.key.resolve(req.env) {
        Ok(key) => key,
        Err(message) => {
            attempt.reach = Reach::NoKey;
            attempt.result = Err(ProviderError::new(
                ErrorKind::Auth,
                format!("no key for provider `{}`: {message}", target.provider.name),
            ));
            return attempt;
        }
    };

    let params: Params = target.overrides.params.merged_with(&req.base.params);
    let base = match continues {
        Some((written, _)) => req.base.continuing(written),
        None => req.base.clone(),
    };
    let mut request = ChatRequest { params, ..base };
    // Whitespace at the end of the written text that the kind could not send
    // (Anthropic) was already shown: the continuation's leading whitespace
    // is dropped so that the seam does not double it.
    let mut trim_start = continues.is_some_and(|(written, _)| {
        target.provider.kind.prefix_sent(written).len() < written.len()
    });
    // The plan's allowance wins over the profile's: it may have been lowered
    // to fit a budget (an explicit `--max-tokens` never is, and is the plan's).
    request.params.max_tokens = planned.max_tokens.or(request.params.max_tokens);
    let adapter = target.provider.kind.adapter();
    let p = &target.provider;
    let endpoint = Endpoint {
        name: p.name.clone(),
        kind: p.kind,
        base_url: p.base_url.clone(),
        key,
        headers: p.headers.clone(),
        api_version: p.api_version.clone(),
        continuation: p.continuation,
        stream_usage: p.stream_usage,
    };
    let call = Call {
        request: &request,
        endpoint: &endpoint,
        model: &target.model,
        max_output_tokens: planned.max_tokens,
    };
    // Shared by the event handler (deltas) and the poll loop below (flushes),
    // which never run at the same time.
    let reporter = RefCell::new(reporter);
    let delivered = Cell::new(0usize);
    // What the provider streamed besides the answer, for pricing an attempt
    // that reported no usage (or too little).
    let mut heard = false;
    let mut reasoning_bytes = 0usize;
    // What the model said when it declined, if it did (a refusal).
    let mut refusal: Option<String> = None;
    // With `--schema` the answer is held back until it is complete and
    // matches: nothing of it is shown, so nothing is continued either.
    let held = request.schema.is_some();
    let mut dropped_stream_options = false;
    let result = match adapter.build(&call) {
        Err(e) => Err(e),
        Ok(http_request) => {
            attempt.reach = Reach::Sent;
            let mut on_event = |event: StreamEvent| match event {
                StreamEvent::Delta(mut text) => {
                    if trim_start {
                        let rest = text.trim_start();
                        if !rest.is_empty() {
                            trim_start = false;
                        }
                        text = rest.to_owned();
                    }
                    heard = true;
                    if attempt.ttft.is_none() {
                        attempt.ttft = Some(clock.elapsed());
                    }
                    if !text.is_empty() {
                        if held {
                            // Checked against the schema once complete; never shown before.
                            reporter.borrow_mut().held(&text);
                        } else {
                            attempt.reach = Reach::Printed;
                            reporter.borrow_mut().delta(&text);
                            delivered.set(delivered.get() + 1);
                        }
                        attempt.text.push_str(&text);
                    }
                }
                StreamEvent::ServedModel(m) => {
                    heard = true;
                    attempt.served_model = Some(m);
                }
                StreamEvent::Usage(u) => {
                    heard = true;
                    attempt.usage = Some(u);
                }
                StreamEvent::ProviderCost(c) => attempt.provider_cost = Some(c),
                StreamEvent::Finish(f) => attempt.finish = Some(f),
                StreamEvent::Reasoning(text) => {
                    heard = true;
                    reasoning_bytes += text.len();
                }
                StreamEvent::Refusal(text) => {
                    heard = true;
                    refusal.get_or_insert_with(String::new).push_str(&text);
                }
                StreamEvent::Done => {}
            };
            let s = req.settings;
            let timeouts = Timeouts {
                connect: s.connect_timeout,
                first_token: s.first_token_timeout,
                idle: s.idle_timeout,
                request: s.request_timeout,
            };
            let mut http_request = http_request;
            loop {
                let exchange = http::execute(
                    adapter,
                    http_request,
                    request.stream,
                    timeouts,
                    &mut on_event,
                );
                let exchange = flushing(exchange, &delivered, || reporter.borrow_mut().flush());
                let result = match req.cancel.run(exchange).await {
                    Ok(result) => result,
                    Err(()) => Err(ProviderError::new(ErrorKind::Cancelled, "interrupted")),
                };
                // A server that rejects `stream_options` is asked again at
                // once without them, within the same attempt: no failed try
                // (CONTRACT.md "Wire formats"). The ledger remembers it.
                match result {
                    Err(e)
                        if !dropped_stream_options && adapter.rejects_stream_options(&call, &e) =>
                    {
                        dropped_stream_options = true;
                        let without = Endpoint {
                            stream_usage: Some(false),
                            ..endpoint.clone()
                        };
                        match adapter.build(&Call {
                            endpoint: &without,
                            ..call
                        }) {
                            Ok(again) => http_request = again,
                            Err(e) => break Err(e),
                        }
                    }
                    result => break result,
                }
            }
        }
    };
    attempt.dropped_stream_options = dropped_stream_options;
    attempt.latency = clock.elapsed();
    if let Err(e) = &result {
        if e.kind == ErrorKind::RateLimit {
            attempt.retry_after_until = e.retry_after.map(|d| started + d);
        }
    }
    if heard {
        let counted = Counted {
            input: crate::tokens::estimate_chat(&request),
            output: crate::tokens::estimate(&attempt.text)
                + crate::tokens::estimate(refusal.as_deref().unwrap_or_default()),
            reasoning: crate::tokens::estimate_bytes(reasoning_bytes),
        };
        let (usage, estimated) = priced_usage(attempt.usage, counted, result.is_ok());
        attempt.usage = Some(usage);
        attempt.estimated = estimated;
    }
    attempt.cost = attempt
        .usage
        .as_ref()
        .and_then(|u| planned.candidate.facts.cost(u));
    // A model that declined has failed as a refusal, however its stream
    // ended (unless the user interrupted it): with `--schema` too, where
    // the refusal is no answer to check (OpenAI's structured-output
    // `refusal`), so never `invalid_output`.
    let result = match (result, refusal) {
        (Err(e), _) if e.kind == ErrorKind::Cancelled => Err(e),
        (_, Some(said)) => Err(ProviderError::refusal(&said)),
        (result, None) => result,
    };
    attempt.result = match (result, &request.schema) {
        (Ok(()), Some(schema)) => match schema.check(&attempt.text) {
            // The answer is the value alone, on one line.
            Ok(checked) => {
                attempt.text = checked.line;
                Ok(())
            }
            Err(why) => Err(ProviderError::new(ErrorKind::InvalidOutput, why)),
        },
        (result, _) => result,
    };
    attempt
}

/// Tokens route counted itself: what it sent, and what it received.
#[derive(Debug, Clone, Copy)]
struct Counted {
    input: u64,
    output: u64,
    reasoning: u64,
}

/// The usage to price an attempt that heard from the provider by, and whether
/// it is (partly) route's own count. A complete answer's reported usage
/// stands as it is. A cut, stalled or cancelled stream often reported none,
/// or only what it knew at its start (Anthropic's `message_start` says one
/// output token): the provider still bills what it streamed, so each count
/// the report falls short of is raised to route's own.
fn priced_usage(reported: Option<Usage>, counted: Counted, complete: bool) -> (Usage, bool) {
    let Some(mut usage) = reported else {
        let usage = Usage {
            input_tokens: counted.input,
            output_tokens: counted.output + counted.reasoning,
            reasoning_tokens: counted.reasoning,
            ..Usage::default()
        };
        return (usage, true);
    };
    if complete {
        return (usage, false);
    }
    let mut estimated = false;
    if usage.input_tokens == 0 {
        usage.input_tokens = counted.input;
        estimated = true;
    }
    let received = counted.output + counted.reasoning;
    if usage.output_tokens < received {
        usage.output_tokens = received;
        usage.reasoning_tokens = usage.reasoning_tokens.max(counted.reasoning);
        estimated = true;
    }
    (usage, estimated)
}

/// Runs `exchange`, calling `flush` when deltas were delivered and it is about
/// to wait for the network.
///
/// A response's body reaches the exchange one HTTP chunk (one event) at a time
/// from the connection's task, so the exchange returns `Pending` after every
/// event even when the next one is already read. After a `Pending` that
/// delivered something, the exchange is polled once more after the other tasks
/// had their turn; only when that turn brought nothing new is it really
/// waiting, and the text goes out. A fast stream is then written in a few
/// large writes instead of one per token, and a slow one token by token as
/// before, one scheduler turn later (microseconds).
async fn flushing<F: Future>(
    exchange: F,
    delivered: &Cell<usize>,
    mut flush: impl FnMut(),
) -> F::Output {
    let mut exchange = std::pin::pin!(exchange);
    let mut flushed = 0;
    let mut seen = 0;
    std::future::poll_fn(|cx| {
        let polled = exchange.as_mut().poll(cx);
        let n = delivered.get();
        if n != flushed {
            if polled.is_ready() || n == seen {
                flush();
                flushed = n;
            } else {
                seen = n;
                cx.waker().wake_by_ref();
            }
        }
        polled
    })
    .await
}

/// The retry after `failed`, cancelled before it was sent.
fn cancelled_retry<'p>(failed: &Attempt<'p>) -> Attempt<'p> {
    let mut a = Attempt::start(
        failed.planned,
        failed.index,
        failed.number.saturating_add(1),
        failed.try_no.saturating_add(1),
        SystemTime::now(),
    );
    a.result = Err(ProviderError::new(
        ErrorKind::Cancelled,
        "interrupted while waiting to retry (nothing was sent)",
    ));
    a.decision = Some(Decision::Stop);
    a
}

/// A small xorshift generator seeded from the clock and the process id: enough
/// for jitter and shuffling, and no dependency for it.
pub fn random_source() -> impl FnMut() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    #[allow(clippy::cast_possible_truncation)]
    let seed = (nanos as u64) ^ (u64::from(std::process::id()) << 32);
    // Mixed by splitmix64 first: xorshift's first outputs keep the seed's bit
    // patterns, and runs started close together (same clock high bits, process
    // ids a few apart) drew the same first number, so `shuffle` kept the order.
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    let mut state = (z ^ (z >> 31)) | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        #[allow(clippy::cast_precision_loss)]
        let f = (state >> 11) as f64 / (1u64 << 53) as f64;
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plan::Candidate;

    fn planned() -> Planned {
        let profile = crate::profile::load::parse(
            std::path::Path::new("p.toml"),
            "[providers.o]\nkind = \"openai\"\n[models.a]\nprovider = \"o\"\nmodel = \"m\"\n",
            &|_| None,
        )
        .unwrap();
        let target = crate::profile::reference::resolve(&profile, "a")
            .unwrap()
            .targets
            .remove(0);
        Planned {
            candidate: Candidate {
                target,
                facts: plan::ModelFacts::default(),
                health: plan::Health::default(),
            },
            max_tokens: None,
            asked_max_tokens: None,
            worst_case: None,
            lowered: None,
            input_tokens: 0,
            unknown_capability: Vec::new(),
        }
    }

    #[test]
    fn a_short_usage_report_is_raised_to_what_was_received() {
        let counted = Counted {
            input: 20,
            output: 30,
            reasoning: 5,
        };
        // Nothing reported: all counted.
        let (u, est) = priced_usage(None, counted, false);
        assert!(est);
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.reasoning_tokens),
            (20, 35, 5)
        );
        // Anthropic's message_start: the input, and one output token.
        let start = Usage {
            input_tokens: 12,
            output_tokens: 1,
            ..Usage::default()
        };
        let (u, est) = priced_usage(Some(start), counted, false);
        assert!(est);
        assert_eq!((u.input_tokens, u.output_tokens), (12, 35));
        // A full report of a broken stream stands.
        let full = Usage {
            input_tokens: 12,
            output_tokens: 50,
            ..Usage::default()
        };
        assert_eq!(priced_usage(Some(full), counted, false), (full, false));
        // A complete answer's report stands, however small.
        assert_eq!(priced_usage(Some(start), counted, true), (start, false));
    }

    #[test]
    fn an_attempt_names_its_planned_target_and_its_outcome() {
        // -- Setup
        let p = planned();
        let mut a = Attempt::start(&p, 0, 1, 1, SystemTime::now());
        // -- Check
        assert_eq!((a.label(), a.provider(), a.model()), ("a", "o", "m"));
        assert_eq!(a.target().health_key(), "o/m");
        assert_eq!((a.reach, a.outcome()), (Reach::NotSent, Outcome::Ok));
        a.reach = Reach::Sent;
        a.result = Err(ProviderError::new(ErrorKind::Server, "boom"));
        assert_eq!(a.outcome(), Outcome::Error);
        a.reach = Reach::Printed;
        assert!(a.printed());
        assert_eq!(a.outcome(), Outcome::Incomplete);
        a.result = Err(ProviderError::new(ErrorKind::Cancelled, "interrupted"));
        assert_eq!(a.outcome(), Outcome::Cancelled);

        let retry = cancelled_retry(&a);
        assert_eq!(
            (retry.number, retry.try_no, retry.index, retry.reach),
            (2, 2, 0, Reach::NotSent)
        );
        assert!(std::ptr::eq(retry.planned, &raw const p));
        assert_eq!(retry.outcome(), Outcome::Cancelled);
        assert_eq!(retry.decision, Some(Decision::Stop));
    }
}
