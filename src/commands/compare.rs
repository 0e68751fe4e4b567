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

use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use futures_util::stream::{self, StreamExt};

use super::{Context, params, read_prompt};
use crate::cli::{CompareArgs, CompareFormat};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::money::Usd;
use crate::output::json::{AskJson, UsageJson};
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
use crate::tokens;

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
    repeat: u32,
    recorder: &'a RefCell<Recorder>,
    /// For warnings written while the lines are drawn.
    live: &'a LiveView,
    group_id: &'a str,
    tag: Option<&'a str>,
    prompt: Option<&'a str>,
}

pub fn compare(args: &CompareArgs, ctx: &Context) -> Result<ExitStatus, Error> {
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
    let prompt = read_prompt(&args.prompt.prompt)?;
    let request = ChatRequest {
        system: args.prompt.system.clone(),
        prompt,
        params,
        stream: true,
    };

    let recorder = session.recorder(!args.no_log);
    let now = SystemTime::now();
    let estimated = tokens::estimate_request(request.system.as_deref(), &request.prompt);
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
            let plan = session.plan(&alone, &recorder, &request.params, estimated, now);
            Member {
                target,
                chain,
                settings,
                plan,
            }
        })
        .collect();
    if members.iter().all(|m| m.plan.order.is_empty()) {
        let all = Plan {
            order: Vec::new(),
            skipped: members
                .iter()
                .flat_map(|m| m.plan.skipped.iter().cloned())
                .collect(),
            estimated_input_tokens: estimated,
            forced: false,
        };
        return Err(nothing_to_try(&all));
    }

    let live = LiveView::new(printer.stderr_tty);
    let label_width = members
        .iter()
        .map(|m| m.target.label.chars().count())
        .max()
        .unwrap_or(0);
    let lines: Vec<ModelProgress> = members
        .iter()
        .map(|m| live.add(&m.target.label, label_width, args.repeat))
        .collect();
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
            repeat: args.repeat,
            recorder: &recorder,
            live: &live,
            group_id: &group_id,
            tag: args.tag.as_deref(),
            prompt: session
                .profile
                .store_text
                .then_some(request.prompt.as_str()),
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
    let text = match args.format {
        CompareFormat::Json => json(&members, &results)?,
        CompareFormat::Markdown => markdown(&members, &results, args.repeat),
        CompareFormat::Table => {
            let views: Vec<Runs<'_>> = results.iter().map(ModelResult::view).collect();
            let figures = figures_of(&views, args.repeat);
            if width / u16::try_from(members.len()).unwrap_or(u16::MAX) < MIN_COLUMN {
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
                prompt: shared.prompt,
            },
        );
        // Written as each run ends, so that an interrupted comparison still
        // accounts for what it spent.
        shared
            .live
            .suspend(|| shared.recorder.borrow_mut().record(&recorded.rows));
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
        .map(|(m, r)| format!("{} ({})", m.target.label, status_of(r.view())))
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
    let mut spent = Usd::ZERO;
    let mut unknown = false;
    for a in attempts.filter(|a| a.usage.is_some()) {
        match a.cost {
            Some(c) => spent = spent.saturating_add(c),
            None => unknown = true,
        }
    }
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

/// The status of a model as one line: `ok`, `ok 2/3`, `server, HTTP 500: …`.
fn status_of(result: Runs<'_>) -> String {
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
            1 => "ok".to_owned(),
            n => format!("ok {n}/{n}"),
        };
    };
    let error = last_failure
        .error()
        .map_or_else(String::new, |e| format!(": {}", shorten(&e.message)));
    let failure = format!("{}{error}", summary::short_error(last_failure));
    let ok = result.answered().count();
    if result.runs.len() == 1 {
        failure
    } else {
        format!("ok {ok}/{}; last failure: {failure}", result.runs.len())
    }
}

/// An error message cut to a size that fits a table cell.
fn shorten(message: &str) -> String {
    const MAX: usize = 160;
    if message.chars().count() <= MAX {
        return message.to_owned();
    }
    let mut cut: String = message.chars().take(MAX - 1).collect();
    cut.push('…');
    cut
}

/// Median and 95th percentile of some durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Spread {
    median: Duration,
    p95: Duration,
}

impl Spread {
    fn of(mut values: Vec<Duration>) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        values.sort_unstable();
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2
        };
        // Nearest rank: the smallest value with at least 95% at or below it.
        let rank = (n * 95).div_ceil(100).max(1);
        Some(Spread {
            median,
            p95: values[rank - 1],
        })
    }

    fn show(self, repeat: u32) -> String {
        if repeat > 1 {
            format!(
                "median {} · p95 {}",
                summary::elapsed(self.median),
                summary::elapsed(self.p95)
            )
        } else {
            summary::elapsed(self.median)
        }
    }
}

/// What a model cost per answered run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cost {
    /// Nothing answered.
    None,
    /// Some answer's price is unknown.
    Unknown,
    /// The mean over the answered runs.
    Known(Usd),
}

/// The figures of one model, ready to print.
struct Figures {
    answer: Option<String>,
    status: String,
    ttft: String,
    total: String,
    tokens: String,
    cost: String,
}

/// The figures of every model, with the cheapest and the fastest marked.
fn figures_of(results: &[Runs<'_>], repeat: u32) -> Vec<Figures> {
    let totals: Vec<Option<Spread>> = results
        .iter()
        .map(|r| Spread::of(r.answered().map(|run| total_time(&run.routed)).collect()))
        .collect();
    let costs: Vec<Cost> = results.iter().map(|r| mean_cost(*r)).collect();
    let fastest = best(
        &totals
            .iter()
            .map(|t| t.map(|s| s.median.as_nanos()))
            .collect::<Vec<_>>(),
    );
    let cheapest = best(
        &costs
            .iter()
            .map(|c| match c {
                Cost::Known(u) => Some(u.picos()),
                _ => None,
            })
            .collect::<Vec<_>>(),
    );
    results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let r = *r;
            let answered: Vec<&Run> = r.answered().collect();
            let ttft = Spread::of(
                answered
                    .iter()
                    .filter_map(|run| run.routed.answer().and_then(|a| a.ttft))
                    .collect(),
            );
            let mut total = match (totals[i], r.runs) {
                (Some(s), _) => s.show(repeat),
                // A single failed run: how long it took to fail.
                (None, [only]) => {
                    format!("{} (failed)", summary::elapsed(total_time(&only.routed)))
                }
                (None, _) => "-".to_owned(),
            };
            if fastest == Some(i) {
                total.push_str(" (fastest)");
            }
            let mut cost = match costs[i] {
                Cost::None => "-".to_owned(),
                Cost::Unknown => "?".to_owned(),
                Cost::Known(c) if repeat > 1 => format!("mean {c}"),
                Cost::Known(c) => c.to_string(),
            };
            if cheapest == Some(i) {
                cost.push_str(" (cheapest)");
            }
            Figures {
                answer: answered
                    .first()
                    .and_then(|run| run.routed.answer())
                    .map(|a| a.text.clone()),
                status: status_of(r),
                ttft: ttft.map_or_else(|| "-".to_owned(), |s| s.show(repeat)),
                total,
                tokens: tokens_of(&answered),
                cost,
            }
        })
        .collect()
}

/// The index of the smallest figure, when at least two models have one.
fn best<T: Ord + Copy>(values: &[Option<T>]) -> Option<usize> {
    if values.iter().filter(|v| v.is_some()).count() < 2 {
        return None;
    }
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (v, i)))
        .min()
        .map(|(_, i)| i)
}

fn total_time(routed: &Routed<'_>) -> Duration {
    routed.attempts.iter().map(|a| a.latency).sum()
}

fn mean_cost(result: Runs<'_>) -> Cost {
    let costs: Vec<Option<Usd>> = result
        .answered()
        .filter_map(|run| run.routed.answer())
        .map(|a| a.cost)
        .collect();
    if costs.is_empty() {
        return Cost::None;
    }
    let Some(known) = costs.iter().copied().collect::<Option<Vec<Usd>>>() else {
        return Cost::Unknown;
    };
    let sum: Usd = known.iter().sum();
    let n = i64::try_from(known.len()).unwrap_or(i64::MAX);
    Cost::Known(Usd::from_picos(sum.picos() / n))
}

/// `12 in / 40 out`, the mean over the answered runs.
fn tokens_of(answered: &[&Run<'_>]) -> String {
    let usages: Vec<_> = answered
        .iter()
        .filter_map(|run| run.routed.answer().and_then(|a| a.usage))
        .collect();
    if answered.is_empty() {
        return "-".to_owned();
    }
    if usages.is_empty() {
        return "not reported".to_owned();
    }
    let n = u64::try_from(usages.len()).unwrap_or(u64::MAX);
    let input: u64 = usages.iter().map(|u| u.input_tokens).sum::<u64>() / n;
    let output: u64 = usages.iter().map(|u| u.output_tokens).sum::<u64>() / n;
    format!("{input} in / {output} out")
}

/// The answer as lines of at most `width`, trimmed with a note when long.
fn answer_lines(figures: &Figures, width: usize) -> Vec<String> {
    let Some(text) = &figures.answer else {
        return vec!["(no answer)".to_owned()];
    };
    let mut lines = table::wrap(text, width);
    table::trim_lines(&mut lines, ANSWER_LINES, TRIMMED);
    if lines.is_empty() {
        lines.push("(empty answer)".to_owned());
    }
    lines
}

const ROWS: [&str; 5] = [
    "status",
    "first token",
    "total time",
    "tokens in/out",
    "cost",
];

fn figure_cells(f: &Figures) -> [&str; 5] {
    [&f.status, &f.ttft, &f.total, &f.tokens, &f.cost]
}

/// One column per model.
fn side_by_side(members: &[Member], figures: &[Figures], tty: bool, width: u16) -> String {
    let n = u16::try_from(members.len()).unwrap_or(u16::MAX);
    // "tokens in/out" and the cell padding.
    let label_column: u16 = 15;
    // Borders: one left of every column, and one at the right end.
    let column = width.saturating_sub(label_column + n + 1) / n.max(1);
    let content = usize::from(column.saturating_sub(2)).max(1);
    let mut t = table::new(tty, width);
    let mut header = vec![String::new()];
    header.extend(members.iter().map(|m| {
        let full = format!("{}/{}", m.target.provider.name, m.target.model);
        if m.target.label == full {
            full
        } else {
            format!("{}\n{full}", m.target.label)
        }
    }));
    t.set_header(header);
    let mut answers = vec!["answer".to_owned()];
    answers.extend(figures.iter().map(|f| answer_lines(f, content).join("\n")));
    t.add_row(answers);
    for (row, name) in ROWS.iter().enumerate() {
        let mut cells = vec![(*name).to_owned()];
        cells.extend(figures.iter().map(|f| figure_cells(f)[row].to_owned()));
        t.add_row(cells);
    }
    let mut constraints = vec![comfy_table::ColumnConstraint::Absolute(
        comfy_table::Width::Fixed(label_column),
    )];
    constraints.extend(
        (0..n).map(|_| {
            comfy_table::ColumnConstraint::UpperBoundary(comfy_table::Width::Fixed(column))
        }),
    );
    t.set_constraints(constraints);
    format!("{t}\n")
}

/// One block per model, for terminals too narrow for columns.
fn blocks(members: &[Member], figures: &[Figures], width: u16) -> String {
    let width = usize::from(width).max(20);
    let mut out = String::new();
    for (m, f) in members.iter().zip(figures) {
        let title = m.title();
        let _ = writeln!(out, "{title}");
        let _ = writeln!(out, "{}", "-".repeat(title.chars().count().min(width)));
        for line in answer_lines(f, width) {
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
        for (name, value) in ROWS.iter().zip(figure_cells(f)) {
            let _ = writeln!(out, "{name:<13}  {value}");
        }
        out.push('\n');
    }
    out
}

/// One `ask --json` object per model run, in model order.
fn json(members: &[Member], results: &[ModelResult<'_>]) -> Result<String, Error> {
    let mut all: Vec<AskJson> = Vec::new();
    for (m, r) in members.iter().zip(results) {
        if let Some(reason) = &r.skipped {
            all.push(AskJson {
                text: String::new(),
                model: m.target.label.clone(),
                provider: m.target.provider.name.clone(),
                provider_model: m.target.model.clone(),
                served_model: None,
                usage: UsageJson::default(),
                cost_usd: None,
                provider_cost_usd: None,
                latency_ms: 0,
                ttft_ms: None,
                attempts: Vec::new(),
                request_id: String::new(),
                error: Some(format!("skipped: {reason}")),
            });
        }
        all.extend(
            r.runs
                .iter()
                .filter_map(|run| AskJson::from_routed(&run.routed, &run.request_id)),
        );
    }
    let mut text =
        serde_json::to_string(&all).map_err(|e| Error::failed(e.to_string()).caused_by(e))?;
    text.push('\n');
    Ok(text)
}

/// A markdown section per model: the whole answer, then its figures.
fn markdown(members: &[Member], results: &[ModelResult<'_>], repeat: u32) -> String {
    let views: Vec<Runs<'_>> = results.iter().map(ModelResult::view).collect();
    let figures = figures_of(&views, repeat);
    let mut out = String::from("# route compare\n\n");
    for ((m, r), f) in members.iter().zip(results).zip(&figures) {
        let _ = writeln!(out, "## {}\n", m.title());
        match &f.answer {
            Some(text) => {
                let _ = writeln!(out, "{}\n", text.trim_end());
            }
            None => out.push_str("*(no answer)*\n\n"),
        }
        out.push_str("| run | status | first token | total time | tokens in/out | cost |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        if repeat > 1 {
            for (k, run) in r.runs.iter().enumerate() {
                let one = Runs {
                    runs: std::slice::from_ref(run),
                    skipped: None,
                };
                row(&mut out, &(k + 1).to_string(), &figures_of(&[one], 1)[0]);
            }
        }
        row(&mut out, if repeat > 1 { "all" } else { "1" }, f);
        out.push('\n');
    }
    out
}

fn row(out: &mut String, name: &str, f: &Figures) {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let _ = writeln!(
        out,
        "| {name} | {} | {} | {} | {} | {} |",
        cell(&f.status),
        cell(&f.ttft),
        cell(&f.total),
        cell(&f.tokens),
        cell(&f.cost)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|m| Duration::from_millis(*m)).collect()
    }

    #[test]
    fn spread_is_the_median_and_the_nearest_rank_p95() {
        assert_eq!(Spread::of(Vec::new()), None);
        let one = Spread::of(ms(&[300])).unwrap();
        assert_eq!((one.median, one.p95), (ms(&[300])[0], ms(&[300])[0]));
        let three = Spread::of(ms(&[300, 100, 200])).unwrap();
        assert_eq!(three.median, Duration::from_millis(200));
        assert_eq!(three.p95, Duration::from_millis(300));
        let four = Spread::of(ms(&[100, 400, 200, 300])).unwrap();
        assert_eq!(four.median, Duration::from_millis(250));
        let twenty = Spread::of((1..=20).map(|i| Duration::from_millis(i * 10)).collect()).unwrap();
        assert_eq!(twenty.p95, Duration::from_millis(190));
        assert_eq!(three.show(3), "median 200ms · p95 300ms");
        assert_eq!(three.show(1), "200ms");
    }

    #[test]
    fn best_needs_two_figures_and_takes_the_first_smallest() {
        assert_eq!(best::<u32>(&[None, Some(3)]), None);
        assert_eq!(best(&[Some(5), None, Some(3), Some(3)]), Some(2));
    }
}
