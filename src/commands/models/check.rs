//! `route models --check`: a minimal live request to every model at once, through the
//! pipeline, each recorded (command `check`) so that health follows.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::{Entry, print_json};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output::{summary, table};
use crate::pipeline::{Quiet, RecordAs, Sender, Session, new_request_id};
use crate::profile::Settings;
use crate::provider::ErrorKind;
use crate::provider::types::{ChatRequest, Params};
use crate::router::plan::Plan;

use crate::output::table::{keep_whole, shorten};

/// The prompt of `--check`: short, and cheap to answer.
const CHECK_PROMPT: &str = "Reply with OK";
/// The output allowance of `--check`.
const CHECK_MAX_TOKENS: u64 = 16;

#[derive(Debug, Serialize)]
struct CheckJson {
    name: String,
    provider: String,
    model: String,
    ok: bool,
    error_kind: Option<ErrorKind>,
    http_status: Option<u16>,
    message: Option<String>,
    latency_ms: u64,
}

/// A minimal request to every model at once, on one thread; each attempt is recorded
/// (command `check`) so that health follows.
pub(super) fn live_check(
    session: &Session<'_>,
    entries: &[Entry],
    json: bool,
) -> Result<ExitStatus, Error> {
    let ctx = session.ctx;
    if entries.is_empty() {
        ctx.printer.note(&format!(
            "route: nothing to check: {} has no models",
            session.profile.origin()
        ));
        return Ok(ExitStatus::Success);
    }
    let request = ChatRequest::prompt(
        None,
        CHECK_PROMPT,
        Params {
            max_tokens: Some(CHECK_MAX_TOKENS),
            ..Params::default()
        },
        false,
    );
    let plans: Vec<(Plan, Settings)> = entries
        .iter()
        .map(|e| {
            let plan = session.fixed_plan([&e.target], CHECK_MAX_TOKENS);
            // One try: a check reports what happens, it does not work around it.
            let settings = Settings {
                retries: 0,
                ..e.settings
            };
            (plan, settings)
        })
        .collect();
    let results = session.send(async |send: Sender<'_>| {
        let runs = plans.iter().map(|(plan, settings)| async {
            send.route(plan, &request, settings, &mut Quiet).await
        });
        futures_util::future::join_all(runs).await
    })?;

    let mut recorder = session.recorder(true);
    let group = new_request_id();
    for routed in &results {
        let ledger_rows = session.rows(
            &routed.attempts,
            &RecordAs {
                command: "check",
                group_id: Some(&group),
                ..RecordAs::default()
            },
        );
        recorder.record(&ledger_rows.rows);
    }
    if let Some(status) = session.cancelled() {
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
                error_kind: error.map(|e| e.kind),
                http_status: error.and_then(|e| e.status),
                message: error.map(|e| e.message.clone()),
                latency_ms: attempt.map_or(0, |a| crate::output::json::millis(a.latency)),
            }
        })
        .collect();
    let failed = lines.iter().filter(|l| !l.ok).count();
    if json {
        print_json(ctx.printer, &lines)?;
    } else {
        let mut t = table::new(ctx.printer.stdout_tty, ctx.printer.width(ctx.env));
        t.set_header(["model", "provider/model", "result", "latency"]);
        for l in &lines {
            let result = if l.ok {
                "ok".to_owned()
            } else {
                let mut r = format!(
                    "error: {}",
                    l.error_kind.map_or("unknown", ErrorKind::as_str)
                );
                if let Some(s) = l.http_status {
                    let _ = write!(r, " (HTTP {s})");
                }
                if let Some(m) = &l.message {
                    let _ = write!(r, ": {}", shorten(m.trim(), 160));
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
