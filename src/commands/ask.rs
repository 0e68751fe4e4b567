//! `route ask`: one prompt through the pipeline, the answer streamed to
//! stdout, then a summary on stderr (or one JSON object) and the ledger.

use std::fmt::Write as _;
use std::io;
use std::time::SystemTime;

use super::{Context, params, read_prompt};
use crate::cli::AskArgs;
use crate::error::{self, Error};
use crate::exit::ExitStatus;
use crate::output::json::{self, AskJson, PlanJson};
use crate::output::{Answer, Printer, summary};
use crate::pipeline::advice;
use crate::pipeline::conversation::{self, Asked, Continue};
use crate::pipeline::{RecordAs, Sender, Session, nothing_to_try, with_timeout};
use crate::profile::reference::{self, Resolved};
use crate::provider::types::{Attachment, ChatRequest, Message, Role};
use crate::router::plan::{Plan, Planned, Skip};
use crate::router::{self, AfterText, Attempt, Ending, Reach, Reporter, Routed};
use crate::signal::Cancel;
use crate::{attach, provider};

pub fn ask(args: &AskArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let mut printer = ctx.printer;
    printer.quiet = args.quiet;
    printer.verbose = args.verbose;
    let session = Session::open(ctx)?;
    let log = !args.no_log && !args.dry_run;
    // A conversation continued: its stored turns, read before anything else
    // since its last model is the default one. The catalog before the
    // ledger, so that their warnings keep their order.
    let continuing = if args.continue_latest {
        Some(Continue::Latest)
    } else {
        args.cid.as_deref().map(Continue::Id)
    };
    let mut early = None;
    let history = match continuing {
        Some(which) => {
            session.catalog();
            let recorder = session.recorder(log);
            let history = conversation::load(&recorder, which, printer)?;
            early = Some(recorder);
            Some(history)
        }
        None => None,
    };
    let reference = match (&args.model, &history) {
        (Some(m), _) => m.as_str(),
        (None, Some(h)) => h.reference.as_str(),
        (None, None) => reference::default_reference(&session.profile)?,
    };
    let resolved = session.resolve(reference)?;
    let settings = with_timeout(resolved.settings, args.prompt.timeout.as_deref())?;
    let params = params(&args.prompt)?;
    super::check_temperature(&args.prompt, &params, &resolved.targets)?;
    let schema = super::schema(&args.prompt)?;
    let prompt = read_prompt(
        &args.prompt.prompt,
        "route ask \"Explain TCP slow start\"  or  git diff | route ask \"review this\"",
    )?;
    // A new -s replaces the conversation's system prompt.
    let system = args
        .prompt
        .system
        .clone()
        .or_else(|| history.as_ref().and_then(|h| h.system.clone()));
    let attachments = attach::read_all(&args.prompt.attach)?;

    let catalog = session.catalog();
    let mut recorder = match early {
        Some(recorder) => recorder,
        None => session.recorder(log),
    };
    let now = SystemTime::now();
    let structured = schema.is_some();
    let mut request = ChatRequest::prompt(system.as_deref(), &prompt, params, !args.no_stream)
        .with_schema(schema);
    attach::attach(&mut request, attachments);
    if let Some(h) = &history {
        request.insert_history(&h.messages);
    }
    // The whole conversation counts against each model's window, with its
    // attachments and the schema.
    let estimated = crate::tokens::estimate_chat(&request);
    let plan = session.plan(&resolved, &recorder, &request, now)?;

    if args.dry_run {
        let plan_text = if args.json {
            json::line(&PlanJson::new(&plan, &resolved))?
        } else {
            dry_run(&plan, &resolved)
        };
        printer.out(&plan_text)?;
        return Ok(ExitStatus::Success);
    }
    if plan.order.is_empty() {
        if history.is_some()
            && plan
                .skipped
                .iter()
                .all(|(_, s)| matches!(s, Skip::ContextWindow { .. }))
        {
            return Err(Error::usage_hint(
                format!(
                    "the conversation holds about {estimated} tokens with this prompt: more than the context window of every model of `{reference}`"
                ),
                Some("start a new conversation (leave out -c / --cid), or name a model with a larger window with -m".into()),
            ));
        }
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
    for p in &plan.order {
        if let Some(note) = p.lowered_note() {
            printer.note(&format!("route: {}: {note}", p.candidate.target.label));
        }
        for note in p.capability_notes() {
            printer.detail(&format!("route: {}: {note}", p.candidate.target.label));
        }
    }
    let routed = session.send(async |send: Sender<'_>| {
        // A `--schema` answer is not streamed: it is printed once it matched.
        let to_stdout = !args.json && !structured;
        let mut reporter = AskReporter::new(printer, to_stdout, send.cancel);
        // Into a file or a pipe a second answer must never start: an
        // answer that no model can continue ends the request (exit 4).
        let send = send.restarting(args.json || printer.stdout_tty);
        send.route(&plan, &request, &settings, &mut reporter).await
    })?;

    let ledger_rows = session.rows(
        &routed.attempts,
        &RecordAs {
            command: "ask",
            chain: resolved.chain.as_deref(),
            tag: args.tag.as_deref(),
            prompt: Some(&prompt),
            ..RecordAs::default()
        },
    );
    // What this turn sent, as the conversation keeps it: the user message's
    // text (inlined text files included) and its files.
    let user = request.messages.iter().rev().find(|m| m.role == Role::User);
    let sent_prompt = user.map_or_else(|| prompt.clone(), Message::joined);
    let files: Vec<&Attachment> = user.map(|m| m.attachments().collect()).unwrap_or_default();
    let conversation_id = history
        .as_ref()
        .map_or(ledger_rows.request_id.as_str(), |h| {
            h.conversation_id.as_str()
        });
    let turn = conversation::turn(
        &Asked {
            request_id: &ledger_rows.request_id,
            conversation_id: Some(conversation_id),
            at: now,
            reference,
            system: system.as_deref(),
            prompt: &sent_prompt,
            attachments: &files,
        },
        &routed,
    );
    recorder.record_turn(&ledger_rows, settings.log_content.then_some(&turn), &files);

    if let Some(answer) = routed.answer() {
        warn_served_model(printer, answer);
        // A floating id or a snapshot retiring soon: advice at most once a
        // day, and none under -q.
        if !printer.quiet {
            advice::warn_model_once_a_day(
                &printer,
                ctx.data_dir().as_deref(),
                answer.target(),
                catalog,
            );
        }
    }
    if args.json {
        if let Some(mut answer) = AskJson::from_routed(&routed, &ledger_rows.request_id, structured)
        {
            answer.conversation_id = Some(conversation_id.to_owned());
            printer.out(&json::line(&answer)?)?;
        }
    } else if let Some(answer) = routed.answer().filter(|_| structured) {
        // The value that matched, alone on one line; never one that did not.
        printer.out(&format!("{}\n", answer.text))?;
    }
    if let Some(line) = summary::line(&routed, &plan.skipped) {
        printer.summary(&line);
    }
    finish(&routed, session.cancelled())
}

/// The exit status of a routed request, with the error message when it failed.
fn finish(routed: &Routed<'_>, cancelled: Option<ExitStatus>) -> Result<ExitStatus, Error> {
    match routed.ending {
        Ending::Answered(_) => Ok(ExitStatus::Success),
        Ending::Cancelled => Ok(cancelled.unwrap_or(ExitStatus::Interrupted)),
        Ending::Failed => {
            let detail: Vec<String> = routed
                .attempts
                .iter()
                .map(|a| {
                    format!(
                        "{} ({})",
                        a.label(),
                        a.error().map_or_else(String::new, ToString::to_string)
                    )
                })
                .collect();
            let detail = detail.join("; ");
            if routed.attempts.iter().any(Attempt::printed) {
                return Err(Error::new(
                    error::Kind::Incomplete,
                    format!("the answer was started but no model could complete it: {detail}"),
                ));
            }
            if !routed.attempts.is_empty()
                && routed.attempts.iter().all(|a| a.reach == Reach::NoKey)
            {
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
            // The last model declined: what it said is the error (CONTRACT.md
            // "The router's rules": its refusal goes to stderr, exit 1).
            if let Some((last, earlier)) = routed.attempts.split_last() {
                if let Some(refusal) = last.error().filter(|e| e.is_refusal()) {
                    let mut message =
                        format!("{} declined to answer: {}", last.label(), refusal.message);
                    if !earlier.is_empty() {
                        let before: Vec<String> = earlier
                            .iter()
                            .map(|a| format!("{} ({})", a.label(), summary::short_error(a)))
                            .collect();
                        let _ = write!(message, " (after {})", before.join(", "));
                    }
                    return Err(Error::failed(message)
                        .with_hint("rephrase the prompt, or name another model with -m"));
                }
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

fn warn_served_model(printer: Printer, answer: &Attempt<'_>) {
    let Some(served) = &answer.served_model else {
        return;
    };
    let deployment = answer.target().provider.kind.model_is_deployment();
    if served != answer.model() && !deployment {
        printer.warn(&format!(
            "{} asked for `{}` but `{served}` answered (a floating id moved; pin the snapshot to keep answers stable)",
            answer.label(),
            answer.model()
        ));
    }
}

/// The plan as text, for `--dry-run`.
fn dry_run(plan: &Plan, resolved: &Resolved) -> String {
    let mut out = format!(
        "plan for `{}` ({} strategy), about {} input tokens{}:\n",
        resolved.reference,
        resolved.strategy.as_str(),
        plan.estimated_input_tokens,
        if plan.attachments.is_empty() {
            ""
        } else {
            " of text"
        }
    );
    for a in &plan.attachments {
        let _ = writeln!(out, "  attached: {}", describe(a));
    }
    let line = |p: &Planned| {
        let f = &p.candidate.facts;
        let mut text = format!(
            "{} ({}/{}), context {}, {}, worst case {}",
            p.candidate.target.label,
            p.candidate.target.provider.name,
            p.candidate.target.model,
            f.context_window
                .map_or_else(|| "unknown".into(), |w| w.to_string()),
            match p.lowered_note() {
                Some(note) => note,
                None => format!(
                    "max output {}",
                    p.max_tokens
                        .map_or_else(|| "unknown".into(), |w| w.to_string())
                ),
            },
            p.worst_case
                .map_or_else(|| "unknown (no price)".into(), |c| c.to_string()),
        );
        if !plan.attachments.is_empty() {
            let _ = write!(
                text,
                ", about {} input tokens with the attachments",
                p.input_tokens
            );
        }
        for note in p.capability_notes() {
            let _ = write!(text, "; {note}");
        }
        text
    };
    for (i, p) in plan.order.iter().enumerate() {
        let _ = writeln!(out, "  {}. {}", i + 1, line(p));
    }
    if plan.forced {
        out.push_str("  (every model is cooling down or rate-limited: all are tried anyway)\n");
    }
    for (p, skip) in &plan.skipped {
        let _ = writeln!(out, "  skipped: {} — {skip}", line(p));
    }
    if plan.order.is_empty() {
        out.push_str("  nothing would be sent\n");
    }
    out
}

/// `shot.png (PNG image, 1280 × 720, 48 kB)`, `report.pdf (PDF, 3 pages, 1.2 MB)`.
fn describe(a: &provider::media::Facts) -> String {
    let mut parts = vec![a.media.describe().to_owned()];
    if let Some((w, h)) = a.dimensions {
        parts.push(format!("{w} × {h}"));
    }
    if let Some(n) = a.pages {
        parts.push(if n == 1 {
            "1 page".to_owned()
        } else {
            format!("{n} pages")
        });
    }
    parts.push(provider::media::human_size(a.bytes));
    format!("{} ({})", a.name, parts.join(", "))
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
    /// Answer text was shown since the terminal's last line break.
    mid_line: bool,
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
            mid_line: false,
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

    /// Ends the terminal's line after answer text that did not end one.
    fn end_terminal_line(&mut self) {
        let p = self.printer;
        if p.stdout_tty && p.stderr_tty && self.mid_line && self.last_byte != Some(b'\n') {
            p.note("");
        }
        self.mid_line = false;
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
            self.mid_line = true;
            self.last_byte = text.as_bytes().last().copied();
            let pushed = self.answer.push(text);
            self.closed_if(&pushed);
        }
    }

    fn flush(&mut self) {
        self.write_pending();
    }

    fn attempt_finished(&mut self, attempt: &Attempt<'_>, next: Option<&str>) {
        // Text held back when the attempt was cut off (Ctrl-C) goes out first.
        self.write_pending();
        // End the answer's last line before anything else reaches the terminal.
        if attempt.result.is_ok() && self.to_stdout && self.last_byte.is_some_and(|b| b != b'\n') {
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
        let broke_off = attempt.printed()
            && self.to_stdout
            && matches!(&attempt.result, Err(e) if e.kind != crate::provider::ErrorKind::Cancelled);
        // Anything for stderr starts on a line of its own: when the answer
        // shares the terminal with stderr, its line is ended there, through
        // stderr, so that stdout keeps exactly the answer (issue 13).
        if broke_off || self.printer.verbose {
            self.end_terminal_line();
        }
        self.printer.detail(&summary::attempt_line(attempt, next));
        if broke_off {
            let then = match &attempt.after_text {
                Some(AfterText::Continue(n)) => format!("{n} continues it"),
                Some(AfterText::StartOver(n)) => {
                    format!("no model left can continue it; {n} starts over")
                }
                Some(AfterText::Abandon) | None => "no model left can continue it".to_owned(),
            };
            let why = match attempt.error() {
                // A refusal after text: what the model said, since the
                // answer it began is not shown as refused on stdout.
                Some(e) if e.is_refusal() => format!("{}: {}", e.kind, e.message),
                _ => summary::short_error(attempt),
            };
            self.printer.warn(&format!(
                "{} broke off after part of its answer ({why}); {then}",
                attempt.label(),
            ));
        }
    }
}
