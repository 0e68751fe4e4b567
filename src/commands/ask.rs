//! `route ask`: plan → router → answer streamed to stdout → summary on stderr
//! (or one JSON object) → ledger.

use std::collections::HashMap;
use std::io;
use std::time::SystemTime;

use super::record::{Recorder, RowContext, rows};
use super::{Context, facts, params, read_prompt, with_timeout};
use crate::cli::AskArgs;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output::json::AskJson;
use crate::output::{Answer, Printer, summary};
use crate::profile::reference::{self, Resolved};
use crate::provider::types::{ChatRequest, Params};
use crate::router::plan::{self, Candidate, Plan, PlanInput, Planned, Skip};
use crate::router::{self, Attempt, Outcome, Reporter, Routed};
use crate::signal::Cancel;
use crate::{catalog, tokens};

pub fn ask(args: &AskArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let mut printer = ctx.printer;
    printer.quiet = args.quiet;
    printer.verbose = args.verbose;
    let profile = ctx.load_profile()?;
    let reference = match &args.model {
        Some(m) => m.as_str(),
        None => reference::default_reference(&profile)?,
    };
    let resolved = reference::resolve(&profile, reference)?;
    let settings = with_timeout(resolved.settings, args.prompt.timeout.as_deref())?;
    let params = params(&args.prompt)?;
    let prompt = read_prompt(&args.prompt.prompt)?;
    let system = args.prompt.system.clone();

    let catalog = ctx.catalog();
    let mut recorder = Recorder::open(ctx, !args.no_log && !args.dry_run);
    let now = SystemTime::now();
    let estimated = tokens::estimate_request(system.as_deref(), &prompt);
    let plan = make_plan(
        &resolved,
        &catalog,
        &recorder,
        &params,
        estimated,
        &profile.budget,
        now,
    );

    if args.dry_run {
        printer.out(&dry_run(&plan, &resolved))?;
        return Ok(ExitStatus::Success);
    }
    if plan.order.is_empty() {
        return Err(nothing_to_try(&plan));
    }
    if plan.forced {
        printer.warn("every model is cooling down or rate-limited; trying them anyway");
    }
    for (p, skip) in &plan.skipped {
        printer.detail(&format!(
            "route: skipping {}: {skip}",
            p.candidate.target.label
        ));
    }

    let request = ChatRequest {
        system,
        prompt,
        params,
        stream: !args.no_stream,
    };
    let request_id = super::new_request_id();
    let runtime = runtime()?;
    let (routed, cancel_status) = runtime.block_on(async {
        let cancel = Cancel::on_signals();
        let router_request = router::Request {
            base: &request,
            settings: &settings,
            env: ctx.env,
            cancel: &cancel,
            force_fail: &|_| false,
        };
        let mut reporter = AskReporter::new(printer, !args.json, &cancel);
        let routed = router::run(&plan, &router_request, &mut reporter).await;
        (routed, cancel.status())
    });

    let row_context = RowContext {
        request_id: &request_id,
        group_id: None,
        command: "ask",
        profile: profile.path.as_ref().map(|p| p.display().to_string()),
        chain: resolved.chain.as_deref(),
        tag: args.tag.as_deref(),
        catalog_version: catalog.version(),
        prompt: profile.store_text.then_some(request.prompt.as_str()),
    };
    recorder.record(&rows(&routed.attempts, &row_context));

    if let Some(answer) = routed.answer() {
        warn_served_model(&printer, answer, &plan);
    }
    // A floating id or a snapshot retiring soon: advice at most once a day,
    // and none under -q.
    if !printer.quiet {
        super::models::warn_model_once_a_day(ctx, &printer, &routed, &plan, &catalog);
    }
    if args.json {
        if let Some(json) = AskJson::from_routed(&routed, &request_id) {
            let mut text =
                serde_json::to_string(&json).map_err(|e| Error::failed(e.to_string()))?;
            text.push('\n');
            printer.out(&text)?;
        }
    }
    if let Some(line) = summary::line(&routed) {
        printer.summary(&line);
    }
    finish(&routed, cancel_status)
}

/// Builds the plan for a resolved reference.
pub(super) fn make_plan(
    resolved: &Resolved,
    catalog: &catalog::Catalog,
    recorder: &Recorder,
    params: &Params,
    estimated: u64,
    budget: &crate::profile::Budget,
    now: SystemTime,
) -> Plan {
    let keys: Vec<String> = resolved
        .targets
        .iter()
        .map(crate::profile::Target::health_key)
        .collect();
    let mut health: HashMap<_, _> = recorder.health(&keys, now);
    let candidates = resolved
        .targets
        .iter()
        .map(|t| Candidate {
            facts: facts(t, catalog).0,
            health: health.remove(&t.health_key()).unwrap_or_default(),
            target: t.clone(),
        })
        .collect();
    let mut random = router::random_source();
    plan::plan(PlanInput {
        candidates,
        strategy: resolved.strategy,
        settings: &resolved.settings,
        estimated_input_tokens: estimated,
        max_tokens: params.max_tokens,
        budget,
        // Only the daily and monthly caps need what was spent; summing it is
        // the dearest read of a large ledger, so it is skipped without them.
        spent: if budget.daily.is_some() || budget.monthly.is_some() {
            recorder.spent(now)
        } else {
            plan::Spent::default()
        },
        now,
        random: &mut random,
    })
}

/// The error when the plan leaves nothing to try.
pub(super) fn nothing_to_try(plan: &Plan) -> Error {
    let reasons: Vec<String> = plan
        .skipped
        .iter()
        .map(|(p, s)| format!("{}: {s}", p.candidate.target.label))
        .collect();
    let all_budget = plan
        .skipped
        .iter()
        .all(|(_, s)| matches!(s, Skip::Budget { .. }));
    let message = format!("no model can take this request ({})", reasons.join("; "));
    if all_budget && !plan.skipped.is_empty() {
        Error::budget(message)
    } else {
        Error::usage_hint(
            message,
            Some(
                "a shorter prompt, a smaller --max-tokens, or a model with a larger context window"
                    .into(),
            ),
        )
    }
}

/// A current-thread runtime: one request at a time needs no worker threads,
/// and starting none keeps start-up short.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failed(format!("cannot start the async runtime: {e}")))
}

/// The exit status of a routed request, with the error message when it failed.
pub(super) fn finish(routed: &Routed, cancelled: Option<ExitStatus>) -> Result<ExitStatus, Error> {
    match routed.outcome {
        Outcome::Answered(_) => Ok(ExitStatus::Success),
        Outcome::Cancelled => Ok(cancelled.unwrap_or(ExitStatus::Interrupted)),
        Outcome::Failed => {
            let detail: Vec<String> = routed
                .attempts
                .iter()
                .map(|a| {
                    format!(
                        "{} ({})",
                        a.label,
                        a.error().map_or_else(String::new, ToString::to_string)
                    )
                })
                .collect();
            let detail = detail.join("; ");
            if routed.attempts.iter().any(|a| a.printed) {
                return Err(Error {
                    status: ExitStatus::Incomplete,
                    message: format!(
                        "the answer was started but no model could complete it: {detail}"
                    ),
                    hint: None,
                });
            }
            if !routed.attempts.is_empty() && routed.attempts.iter().all(|a| a.setup_error) {
                return Err(Error::usage(
                    routed
                        .attempts
                        .iter()
                        .filter_map(|a| a.error())
                        .map(|e| e.message.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                ));
            }
            let stopped = routed.attempts.last().and_then(|a| a.decision)
                == Some(router::rules::Decision::Stop);
            if stopped {
                Err(Error::failed(format!(
                    "the provider rejected the request: {detail}"
                )))
            } else {
                Err(Error::failed(format!("every model failed: {detail}")))
            }
        }
    }
}

fn warn_served_model(printer: &Printer, answer: &Attempt, plan: &Plan) {
    let Some(served) = &answer.served_model else {
        return;
    };
    let deployment = plan
        .order
        .get(answer.index)
        .is_some_and(|p| p.candidate.target.provider.kind.model_is_deployment());
    if served != &answer.model && !deployment {
        printer.warn(&format!(
            "{} asked for `{}` but `{served}` answered (a floating id moved; pin the snapshot to keep answers stable)",
            answer.label, answer.model
        ));
    }
}

/// The plan as text, for `--dry-run`.
fn dry_run(plan: &Plan, resolved: &Resolved) -> String {
    let mut out = format!(
        "plan for `{}` ({} strategy), about {} input tokens:\n",
        resolved.reference,
        resolved.strategy.as_str(),
        plan.estimated_input_tokens
    );
    let line = |p: &Planned| {
        let f = &p.candidate.facts;
        format!(
            "{} ({}/{}), context {}, max output {}, worst case {}",
            p.candidate.target.label,
            p.candidate.target.provider.name,
            p.candidate.target.model,
            f.context_window
                .map_or_else(|| "unknown".into(), |w| w.to_string()),
            p.max_tokens
                .map_or_else(|| "unknown".into(), |w| w.to_string()),
            p.worst_case
                .map_or_else(|| "unknown (no price)".into(), |c| c.to_string()),
        )
    };
    for (i, p) in plan.order.iter().enumerate() {
        out.push_str(&format!("  {}. {}\n", i + 1, line(p)));
    }
    if plan.forced {
        out.push_str("  (every model is cooling down or rate-limited: all are tried anyway)\n");
    }
    for (p, skip) in &plan.skipped {
        out.push_str(&format!("  skipped: {} — {skip}\n", line(p)));
    }
    if plan.order.is_empty() {
        out.push_str("  nothing would be sent\n");
    }
    out
}

/// Streams answer text to stdout as it arrives; notices and `-v` lines go to stderr.
struct AskReporter<'a> {
    printer: Printer,
    to_stdout: bool,
    cancel: &'a Cancel,
    answer: Answer,
    /// The text written since the attempt started.
    written: bool,
    last_byte: Option<u8>,
}

impl<'a> AskReporter<'a> {
    fn new(printer: Printer, to_stdout: bool, cancel: &'a Cancel) -> Self {
        AskReporter {
            printer,
            to_stdout,
            cancel,
            answer: printer.answer(),
            written: false,
            last_byte: None,
        }
    }

    fn write(&mut self, text: &str) {
        let pushed = self.answer.push(text);
        self.closed_if(&pushed);
        self.write_pending();
    }

    fn write_pending(&mut self) {
        let flushed = self.answer.flush();
        self.closed_if(&flushed);
    }

    fn closed_if(&self, written: &io::Result<()>) {
        if written.is_err() {
            // stdout closed (`| head`): stop the requests and end quietly.
            self.cancel.fire(ExitStatus::Success);
        }
    }
}

impl Reporter for AskReporter<'_> {
    fn attempt_started(&mut self, _planned: &Planned, _number: u32) {
        self.written = false;
    }

    fn delta(&mut self, text: &str) {
        if self.to_stdout && !text.is_empty() {
            self.written = true;
            self.last_byte = text.as_bytes().last().copied();
            let pushed = self.answer.push(text);
            self.closed_if(&pushed);
        }
    }

    fn flush(&mut self) {
        self.write_pending();
    }

    fn attempt_finished(&mut self, attempt: &Attempt, next: Option<&str>) {
        // Text held back when the attempt was cut off (Ctrl-C) goes out first.
        self.write_pending();
        // End the answer's last line before anything else reaches the terminal.
        if attempt.result.is_ok() && self.to_stdout && self.written && self.last_byte != Some(b'\n')
        {
            self.write("\n");
            self.last_byte = Some(b'\n');
        }
        // Interrupted mid-answer on a terminal: end the line too, so that the
        // shell's prompt does not follow the partial answer (issue 9). Into a
        // pipe, the partial text is left exactly as it came.
        let cancelled =
            matches!(&attempt.result, Err(e) if e.kind == crate::provider::ErrorKind::Cancelled);
        if cancelled
            && self.printer.stdout_tty
            && self.to_stdout
            && self.written
            && self.last_byte != Some(b'\n')
        {
            self.write("\n");
            self.last_byte = Some(b'\n');
        }
        self.printer.detail(&summary::attempt_line(attempt, next));
        if let Err(e) = &attempt.result {
            if attempt.printed && self.to_stdout && e.kind != crate::provider::ErrorKind::Cancelled
            {
                if self.last_byte != Some(b'\n') {
                    self.write("\n");
                    self.last_byte = Some(b'\n');
                }
                let then = next.map_or_else(
                    || "no model is left to finish it".to_owned(),
                    |n| format!("{n} starts over"),
                );
                self.printer.warn(&format!(
                    "{} broke off after part of its answer ({}); {then}",
                    attempt.label,
                    summary::short_error(attempt)
                ));
            }
        }
    }
}
