//! `route models --check`: a minimal live request to every model at once, through the
//! pipeline, each bounded by `--timeout` and shown on a live line on a terminal, each
//! recorded (command `check`) so that health follows.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::{Entry, print_json};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output::progress::LiveView;
use crate::output::{summary, table};
use crate::pipeline::{RecordAs, Sender, Session, new_request_id, with_timeout};
use crate::profile::secret::KeySource;
use crate::profile::{Settings, Target};
use crate::provider::types::{ChatRequest, Params};
use crate::provider::{ErrorKind, ProviderError, TimeoutKind};
use crate::router::plan::Plan;

use crate::output::table::{keep_whole, shorten};

/// The prompt of `--check`: short, and cheap to answer.
const CHECK_PROMPT: &str = "Reply with OK";
/// The output allowance of `--check`.
const CHECK_MAX_TOKENS: u64 = 16;
/// How long each model may take when `--timeout` is not given.
const DEFAULT_TIMEOUT: &str = "10s";

/// `--timeout`: the bound of every model's check.
pub(super) struct Bound<'a> {
    arg: &'a str,
    after: Duration,
}

impl Bound<'_> {
    /// Reads `--timeout`; a bad value is a usage error that names the flag, given
    /// before anything is sent.
    pub(super) fn from_flag(arg: Option<&str>) -> Result<Bound<'_>, Error> {
        let arg = arg.unwrap_or(DEFAULT_TIMEOUT);
        // Read as ask's and compare's `--timeout` is, by the one function that applies it.
        let after = with_timeout(Settings::default(), Some(arg))?.request_timeout;
        Ok(Bound { arg, after })
    }

    /// The settings of one model's check: one try, every timeout at most the bound.
    fn apply(&self, settings: Settings) -> Result<Settings, Error> {
        let settings = with_timeout(settings, Some(self.arg))?;
        // A check reports what happens, it does not work around it.
        Ok(Settings {
            retries: 0,
            max_retry_wait: Duration::ZERO,
            ..settings
        })
    }

    /// Whether the error is the bound running out (a shorter `connect_timeout`
    /// of the profile is reported as itself).
    fn ran_out(&self, error: &ProviderError, settings: &Settings) -> bool {
        error.kind == ErrorKind::Timeout
            && (error.timeout != Some(TimeoutKind::Connect)
                || settings.connect_timeout >= self.after)
    }
}

#[derive(Debug, Serialize)]
struct CheckJson {
    name: String,
    provider: String,
    model: String,
    ok: bool,
    error_kind: Option<ErrorKind>,
    /// No answer within `--timeout`.
    timed_out: bool,
    http_status: Option<u16>,
    message: Option<String>,
    latency_ms: u64,
}

/// A minimal request to every model at once, on one thread, each bounded by `bound`;
/// each attempt is recorded (command `check`) so that health follows.
pub(super) fn live_check(
    session: &Session<'_>,
    entries: &[Entry],
    bound: &Bound<'_>,
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
    let settings = entries
        .iter()
        .map(|e| bound.apply(e.settings))
        .collect::<Result<Vec<Settings>, Error>>()?;

    // The lines go up first: they are waiting while the keys are fetched.
    let live = LiveView::new(ctx.printer.stderr_tty);
    let lines = live.lines(entries.iter().map(|e| e.target.label.as_str()), 1);
    let plans: Vec<(Plan, Settings)> = with_keys_at_hand(entries)
        .iter()
        .zip(settings)
        .map(|(target, settings)| (session.fixed_plan([target], CHECK_MAX_TOKENS), settings))
        .collect();
    let results = session.send(async |send: Sender<'_>| {
        let (send, request) = (&send, &request);
        let runs = plans
            .iter()
            .zip(lines)
            .map(|((plan, settings), mut line)| async move {
                let routed = send.route(plan, request, settings, &mut line).await;
                line.finish();
                routed
            });
        futures_util::future::join_all(runs).await
    })?;
    live.clear();

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
        recorder.record(&ledger_rows);
    }
    if let Some(status) = session.cancelled() {
        return Ok(status);
    }

    let lines: Vec<CheckJson> = entries
        .iter()
        .zip(&results)
        .zip(&plans)
        .map(|((e, routed), (_, settings))| {
            let attempt = routed.attempts.last();
            let error = attempt.and_then(|a| a.error());
            let timed_out = error.is_some_and(|err| bound.ran_out(err, settings));
            let message = if timed_out {
                Some(format!(
                    "timed out after {}",
                    crate::time::format_duration(bound.after)
                ))
            } else {
                error.map(|err| err.message.clone())
            };
            CheckJson {
                name: e.target.label.clone(),
                provider: e.target.provider.name.clone(),
                model: e.target.model.clone(),
                ok: routed.answer().is_some(),
                error_kind: error.map(|err| err.kind),
                timed_out,
                http_status: error.and_then(|err| err.status),
                message,
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
            } else if l.timed_out {
                l.message.clone().unwrap_or_default()
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

/// The entries' targets, each `api_key_cmd` among them run once, all at once, before
/// anything is sent: a slow one then neither holds up the other models' requests
/// (a command blocks the thread that sends them all) nor eats into their `--timeout`.
fn with_keys_at_hand(entries: &[Entry]) -> Vec<Target> {
    let mut commands: Vec<(&str, KeySource)> = Vec::new();
    for e in entries {
        let p = &e.target.provider;
        if matches!(p.key, KeySource::Command(_)) && commands.iter().all(|(n, _)| *n != p.name) {
            commands.push((&p.name, p.key.clone()));
        }
    }
    let ran: Vec<(&str, KeySource)> = std::thread::scope(|scope| {
        let running: Vec<_> = commands
            .into_iter()
            .map(|(name, source)| (name, scope.spawn(move || source.run_command())))
            .collect();
        running
            .into_iter()
            .map(|(name, run)| {
                let source = run.join().unwrap_or_else(|_| {
                    KeySource::Failed(format!("the api_key_cmd of `{name}` could not run"))
                });
                (name, source)
            })
            .collect()
    });
    entries
        .iter()
        .map(|e| {
            let mut target = e.target.clone();
            if let Some((_, source)) = ran.iter().find(|(n, _)| *n == target.provider.name) {
                target.provider.key = source.clone();
            }
            target
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_ten_seconds_unless_given() {
        assert_eq!(
            Bound::from_flag(None).unwrap().after,
            Duration::from_secs(10)
        );
        let bound = Bound::from_flag(Some("1500ms")).unwrap();
        let settings = bound.apply(Settings::default()).unwrap();
        assert_eq!(settings.request_timeout, Duration::from_millis(1500));
        assert_eq!(settings.connect_timeout, Duration::from_millis(1500));
        assert_eq!(settings.retries, 0);
    }
}
