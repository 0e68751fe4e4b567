//! `route compare`: the same prompt to many models at once, side by side.
//!
//! Every `-m` is resolved (a chain or a comma list stands for its members) and
//! each member becomes one model run: a plan of that model alone, sent with
//! no retries, so that its times are honest and one model's failure never
//! delays another. The runs share one current-thread runtime and go out
//! together (bounded by `--concurrency`); `--repeat` runs each model N times
//! in a row. A live line per model goes to stderr on a terminal; the table
//! (or JSON / markdown) goes to stdout afterwards. Every attempt is a ledger
//! row, all under one group id.
//!
//! This file runs the comparison; `figures` turns the runs into the figures
//! shown (medians, p95, mean cost, the fastest and the cheapest), and `render`
//! draws them as a table (on a terminal or in Markdown), blocks or JSON.

mod figures;
mod render;

use std::cell::RefCell;
use std::time::{Duration, SystemTime};

use futures_util::stream::{self, StreamExt};

use super::{Context, output_format, params, read_prompt};
use crate::cli::{CompareArgs, CompareFormat};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output::progress::{LiveView, ModelProgress};
use crate::output::{summary, table};
use crate::pipeline::{
    RecordAs, Recorder, Sender, Session, new_request_id, nothing_to_try, with_timeout,
};
use crate::profile::reference::Resolved;
use crate::profile::{Settings, Strategy, Target};
use crate::provider::types::ChatRequest;
use crate::router::plan::Plan;
use crate::router::{self, Ending, Reach, Routed};
use crate::{attach, tokens};

use figures::figures_of;
use render::{blocks, json, markdown, side_by_side};

/// Lines of an answer shown in a table cell or block; the rest is trimmed.
const ANSWER_LINES: usize = 20;
/// The note that ends a trimmed answer.
const TRIMMED: &str = "… trimmed, see --format json|markdown";
/// Below this many columns per model, the models are shown one block each.
const MIN_COLUMN: u16 = 28;

/// One model of the comparison.
struct Member {
    target: Target,
    /// The chain it was named through, for the ledger.
    chain: Option<String>,
    settings: Settings,
    /// This model alone.
    plan: Plan,
}

impl Member {
    /// `label (provider/model)`, or just the label when it already says that.
    fn title(&self) -> String {
        let full = format!("{}/{}", self.target.provider.name, self.target.model);
        if self.target.label == full {
            full
        } else {
            format!("{} ({full})", self.target.label)
        }
    }
}

/// One request to one model.
struct Run<'p> {
    request_id: String,
    routed: Routed<'p>,
}

/// What one model did.
#[derive(Default)]
struct ModelResult<'p> {
    runs: Vec<Run<'p>>,
    /// Why the plan left the model out (nothing was sent).
    skipped: Option<String>,
}

impl ModelResult<'_> {
    fn view(&self) -> Runs<'_> {
        Runs {
            runs: &self.runs,
            skipped: self.skipped.as_deref(),
        }
    }
}

/// The runs a row of figures is about: all of a model's, or just one.
#[derive(Clone, Copy)]
struct Runs<'a> {
    runs: &'a [Run<'a>],
    skipped: Option<&'a str>,
}

impl<'a> Runs<'a> {
    fn answered(self) -> impl Iterator<Item = &'a Run<'a>> {
        self.runs.iter().filter(|r| r.routed.answer().is_some())
    }
}

/// What every model run shares.
struct Shared<'a> {
    session: &'a Session<'a>,
    send: Sender<'a>,
    request: &'a ChatRequest,
    /// The prompt as the ledger keeps it.
    prompt: &'a str,
    repeat: u32,
    recorder: &'a RefCell<Recorder>,
    /// For warnings written while the lines are drawn.
    live: &'a LiveView,
    group_id: &'a str,
    tag: Option<&'a str>,
}

pub fn compare(args: &CompareArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let format = output_format(
        args.format,
        args.json,
        CompareFormat::Json,
        CompareFormat::Table,
    )?;
    let printer = ctx.printer;
    let session = Session::open(ctx)?;
    let params = params(&args.prompt)?;
    let mut targets: Vec<(Target, Option<String>, Settings)> = Vec::new();
    for reference in &args.models {
        let resolved = session.resolve(reference)?;
        let settings = with_timeout(resolved.settings, args.prompt.timeout.as_deref())?;
        // One attempt per model: no retries, no waiting out a Retry-After.
        let settings = Settings {
            retries: 0,
            max_retry_wait: Duration::ZERO,
            ..settings
        };
        for target in resolved.targets {
            // The same model named twice is asked once.
            if targets.iter().all(|(t, _, _)| t.label != target.label) {
                targets.push((target, resolved.chain.clone(), settings));
            }
        }
    }
    super::check_temperature(&args.prompt, &params, targets.iter().map(|(t, _, _)| t))?;
    let schema = super::schema(&args.prompt)?;
    let structured = schema.is_some();
    let prompt = read_prompt(
        &args.prompt.prompt,
        "route compare -m sonnet -m gpt \"Explain TCP slow start\"  or  git diff | route compare -m main \"review this\"",
    )?;
    let attachments = attach::read_all(&args.prompt.attach)?;
    let mut request = ChatRequest::prompt(args.prompt.system.as_deref(), &prompt, params, true)
        .with_schema(schema);
    attach::attach(&mut request, attachments);

    // The catalog before the ledger, so that their warnings keep their order.
    session.catalog();
    let recorder = session.recorder(!args.no_log);
    let now = SystemTime::now();
    let members: Vec<Member> = targets
        .into_iter()
        .map(|(target, chain, settings)| {
            let alone = Resolved {
                reference: target.label.clone(),
                chain: None,
                targets: vec![target.clone()],
                strategy: Strategy::Fallback,
                settings,
            };
            let plan = session.plan(&alone, &recorder, &request, now)?;
            Ok(Member {
                target,
                chain,
                settings,
                plan,
            })
        })
        .collect::<Result<_, Error>>()?;
    if members.iter().all(|m| m.plan.order.is_empty()) {
        let all = Plan {
            order: Vec::new(),
            skipped: members
                .iter()
                .flat_map(|m| m.plan.skipped.iter().cloned())
                .collect(),
            estimated_input_tokens: tokens::estimate_chat(&request),
            attachments: tokens::attachment_facts(&request),
            forced: false,
        };
        return Err(nothing_to_try(&all));
    }
    for p in members.iter().flat_map(|m| &m.plan.order) {
        if let Some(note) = p.lowered_note() {
            printer.note(&format!("route: {}: {note}", p.candidate.target.label));
        }
    }

    let live = LiveView::new(printer.stderr_tty);
    let lines = live.lines(members.iter().map(|m| m.target.label.as_str()), args.repeat);
    let limit = args
        .concurrency
        .map_or(members.len(), |c| usize::try_from(c).unwrap_or(usize::MAX))
        .max(1);
    let recorder = RefCell::new(recorder);
    let group_id = new_request_id();
    let started = std::time::Instant::now();
    let results = session.send(async |send: Sender<'_>| {
        let shared = Shared {
            session: &session,
            send,
            request: &request,
            prompt: &prompt,
            repeat: args.repeat,
            recorder: &recorder,
            live: &live,
            group_id: &group_id,
            tag: args.tag.as_deref(),
        };
        let shared = &shared;
        let jobs =
            members
                .iter()
                .zip(lines)
                .enumerate()
                .map(|(i, (member, mut line))| async move {
                    (i, run_model(member, &mut line, shared).await)
                });
        let mut results: Vec<(usize, ModelResult)> =
            stream::iter(jobs).buffer_unordered(limit).collect().await;
        results.sort_by_key(|(i, _)| *i);
        results
            .into_iter()
            .map(|(_, r)| r)
            .collect::<Vec<ModelResult>>()
    })?;
    let wall = started.elapsed();
    live.clear();

    let width = printer.width(ctx.env);
    let views: Vec<Runs<'_>> = results.iter().map(ModelResult::view).collect();
    let text = match format {
        CompareFormat::Json => json(&members, &results, structured)?,
        CompareFormat::Markdown => markdown(&members, &figures_of(&views, args.repeat, structured)),
        CompareFormat::Table => {
            let figures = figures_of(&views, args.repeat, structured);
            let narrow = width / u16::try_from(members.len()).unwrap_or(u16::MAX) < MIN_COLUMN;
            if printer.stdout_tty && narrow {
                blocks(&members, &figures, width)
            } else {
                side_by_side(&members, &figures, printer.stdout_tty, width)
            }
        }
    };
    printer.out(&text)?;
    printer.note(&printer.dim(&closing_line(&results, wall)));

    if let Some(status) = session.cancelled() {
        return Ok(status);
    }
    exit_status(&members, &results)
}

/// Runs one model `repeat` times in a row, recording every attempt.
async fn run_model<'p>(
    member: &'p Member,
    line: &mut ModelProgress,
    shared: &Shared<'_>,
) -> ModelResult<'p> {
    if member.plan.order.is_empty() {
        let reason = member
            .plan
            .skipped
            .first()
            .map_or_else(|| "nothing to send".to_owned(), |(_, s)| s.to_string());
        line.skipped(&reason);
        return ModelResult {
            runs: Vec::new(),
            skipped: Some(reason),
        };
    }
    let mut runs = Vec::new();
    for k in 1..=shared.repeat {
        if shared.send.cancel.status().is_some() {
            break;
        }
        line.start_run(k);
        let routed = shared
            .send
            .route(&member.plan, shared.request, &member.settings, line)
            .await;
        let recorded = shared.session.rows(
            &routed.attempts,
            &RecordAs {
                command: "compare",
                group_id: Some(shared.group_id),
                chain: member.chain.as_deref(),
                tag: shared.tag,
                prompt: Some(shared.prompt),
            },
        );
        // Written as each run ends, so that an interrupted comparison still
        // accounts for what it spent.
        shared
            .live
            .suspend(|| shared.recorder.borrow_mut().record(&recorded));
        let request_id = recorded.request_id;
        let stop = routed.ending == Ending::Cancelled;
        runs.push(Run { request_id, routed });
        if stop {
            break;
        }
    }
    line.finish();
    ModelResult {
        runs,
        skipped: None,
    }
}

/// 0 when a model answered; otherwise the error that says why none did.
fn exit_status(members: &[Member], results: &[ModelResult<'_>]) -> Result<ExitStatus, Error> {
    if results.iter().any(|r| r.view().answered().next().is_some()) {
        return Ok(ExitStatus::Success);
    }
    let attempts: Vec<&router::Attempt<'_>> = results
        .iter()
        .flat_map(|r| r.runs.iter().flat_map(|run| run.routed.attempts.iter()))
        .collect();
    if !attempts.is_empty() && attempts.iter().all(|a| a.reach == Reach::NoKey) {
        let messages: Vec<String> = attempts
            .iter()
            .filter_map(|a| a.error())
            .map(|e| e.message.clone())
            .collect();
        return Err(Error::usage(messages.join("; ")));
    }
    let detail: Vec<String> = members
        .iter()
        .zip(results)
        .map(|(m, r)| format!("{} ({})", m.target.label, status_of(r.view(), OK)))
        .collect();
    Err(Error::failed(format!(
        "no model answered: {}",
        detail.join("; ")
    )))
}

/// `3 models · 2 answered · 1.2s · $0.0024 in all`, for stderr.
fn closing_line(results: &[ModelResult<'_>], wall: Duration) -> String {
    let answered = results
        .iter()
        .filter(|r| r.view().answered().next().is_some())
        .count();
    let attempts = results
        .iter()
        .flat_map(|r| r.runs.iter().flat_map(|run| run.routed.attempts.iter()));
    let all = figures::spent(attempts);
    let (spent, unknown) = (all.known, all.unknown);
    let models = if results.len() == 1 {
        "model"
    } else {
        "models"
    };
    let mut line = format!(
        "route: {} {models} · {answered} answered · {} · {spent}",
        results.len(),
        summary::elapsed(wall)
    );
    line.push_str(if unknown {
        " in all, plus models of unknown price"
    } else {
        " in all"
    });
    line
}

/// What the status row says of an answer.
const OK: &str = "ok";
/// What it says of an answer that matched `--schema`.
const VALID: &str = "valid JSON";

/// The status of a model as one line: `ok`, `ok 2/3`, `server, HTTP 500: …`;
/// `ok` is the word for an answer (`valid JSON` with a schema).
fn status_of(result: Runs<'_>, ok: &str) -> String {
    if let Some(reason) = result.skipped {
        return format!("skipped: {reason}");
    }
    let Some(last_failure) = result
        .runs
        .iter()
        .rev()
        .filter_map(|r| r.routed.attempts.last())
        .find(|a| a.result.is_err())
    else {
        return match result.runs.len() {
            0 => "not run (interrupted)".to_owned(),
            1 => ok.to_owned(),
            n => format!("{ok} {n}/{n}"),
        };
    };
    let error = last_failure.error().map_or_else(String::new, |e| {
        format!(": {}", table::shorten(&e.message, 160))
    });
    let failure = format!("{}{error}", summary::short_error(last_failure));
    let answered = result.answered().count();
    if result.runs.len() == 1 {
        failure
    } else {
        format!(
            "{ok} {answered}/{}; last failure: {failure}",
            result.runs.len()
        )
    }
}
