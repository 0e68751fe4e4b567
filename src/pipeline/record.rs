//! The pipeline's side of the ledger: opening it without ever costing the user
//! their answer, reading health and spend for the plan, and turning the
//! router's attempts into rows.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use super::Context;
use crate::error::Error;
use crate::ledger::content::Turn;
use crate::ledger::{Ledger, LedgerError, Quirk, Row};
use crate::money::Usd;
use crate::output::Printer;
use crate::provider::types::Attachment;
use crate::router::Attempt;
use crate::router::plan::{Health, Spent};

/// The ledger as a command uses it: any failure is a warning, never an error,
/// except where a budget needs what the ledger knows ([`Recorder::spent`]).
pub struct Recorder {
    ledger: Option<Ledger>,
    printer: Printer,
    write: bool,
    /// Why there is no ledger to read, when there should be one.
    unreadable: Option<Unreadable>,
}

/// Why the ledger could not be opened.
enum Unreadable {
    NoDataDir,
    Broken(LedgerError),
}

impl Recorder {
    /// Opens the ledger. `write = false` (`--no-log`, `--dry-run`) never
    /// creates it and records nothing, but still reads health and spend.
    pub fn open(ctx: &Context, write: bool) -> Recorder {
        let printer = ctx.printer;
        let Some(dir) = ctx.data_dir() else {
            if write {
                printer.warn(
                    "no data folder could be found (set ROUTE_DATA_DIR); nothing is recorded",
                );
            }
            return Recorder {
                ledger: None,
                printer,
                write: false,
                unreadable: Some(Unreadable::NoDataDir),
            };
        };
        let opened = if write {
            Ledger::open(&dir).map(Some)
        } else {
            Ledger::open_read(&dir)
        };
        match opened {
            Ok(ledger) => Recorder {
                ledger,
                printer,
                write,
                unreadable: None,
            },
            Err(e) => {
                printer.warn(&format!("{e}; this request is not recorded"));
                Recorder {
                    ledger: None,
                    printer,
                    write: false,
                    unreadable: Some(Unreadable::Broken(e)),
                }
            }
        }
    }

    /// Health of the given models; empty when the ledger cannot be read.
    pub fn health(&self, keys: &[String], now: SystemTime) -> HashMap<String, Health> {
        let Some(ledger) = &self.ledger else {
            return HashMap::new();
        };
        ledger.health(keys, now).unwrap_or_else(|e| {
            self.printer
                .warn(&format!("cannot read model health from the ledger: {e}"));
            HashMap::new()
        })
    }

    /// Money spent today and this month, for the daily and monthly caps.
    /// Without a readable ledger the caps cannot be kept, and the request is
    /// refused (exit 3) with how to repair it: a cap must never silently lapse.
    pub fn spent(&self, now: SystemTime) -> Result<Spent, Error> {
        let refuse = |why: String, hint: String| {
            Error::budget(format!(
                "the daily and monthly budgets cannot be checked: {why}"
            ))
            .with_hint(hint)
        };
        match (&self.ledger, &self.unreadable) {
            (Some(ledger), _) => ledger
                .spent(now)
                .map_err(|e| refuse(e.to_string(), e.hint())),
            (None, Some(Unreadable::Broken(e))) => Err(refuse(e.to_string(), e.hint())),
            (None, Some(Unreadable::NoDataDir)) => Err(refuse(
                "no data folder could be found".into(),
                "set ROUTE_DATA_DIR to a folder route can write".into(),
            )),
            // No ledger yet: nothing spent.
            (None, None) => Ok(Spent::default()),
        }
    }

    /// The ledger to read, when there is one.
    pub fn ledger(&self) -> Option<&Ledger> {
        self.ledger.as_ref()
    }

    /// Why there is no ledger to read, for an error that needs one.
    pub fn unreadable(&self) -> Option<String> {
        match &self.unreadable {
            Some(Unreadable::Broken(e)) => Some(e.to_string()),
            Some(Unreadable::NoDataDir) => Some("no data folder could be found".into()),
            None => None,
        }
    }

    /// Records a request's rows with what was asked and answered (`turn`,
    /// when content is kept), in one transaction; a failure is a warning.
    pub fn record_turn(&mut self, rows: &Rows, turn: Option<&Turn>, files: &[&Attachment]) {
        let Some(turn) = turn else {
            return self.record(rows);
        };
        if !self.write {
            return;
        }
        if let Some(ledger) = &mut self.ledger {
            if let Err(e) = ledger.record_turn(&rows.rows, turn, files) {
                self.printer
                    .warn(&format!("{e}; this request is not recorded"));
            }
        }
        self.learn(rows);
    }

    /// Records a request's rows; a failure is a warning.
    pub fn record(&mut self, rows: &Rows) {
        if !self.write || rows.rows.is_empty() {
            return;
        }
        if let Some(ledger) = &mut self.ledger {
            if let Err(e) = ledger.record(&rows.rows) {
                self.printer
                    .warn(&format!("{e}; this request is not recorded"));
            }
        }
        self.learn(rows);
    }

    /// Remembers what the request learned about its servers.
    fn learn(&mut self, rows: &Rows) {
        let Some(ledger) = self.ledger.as_mut().filter(|_| self.write) else {
            return;
        };
        for (base_url, quirk, at) in &rows.learned {
            if let Err(e) = ledger.learn(base_url, *quirk, *at) {
                self.printer.warn(&format!("{e}; not remembered"));
            }
        }
    }

    /// The `base_url`s among these known to reject `stream_options`; none
    /// when the ledger cannot be read.
    pub fn rejecting_stream_options(&self, base_urls: &[&str]) -> HashSet<String> {
        let Some(ledger) = &self.ledger else {
            return HashSet::new();
        };
        ledger
            .servers_with(base_urls, Quirk::RejectsStreamOptions)
            .unwrap_or_else(|e| {
                self.printer.warn(&format!(
                    "cannot read what the ledger knows of servers: {e}"
                ));
                HashSet::new()
            })
    }
}

/// How a command records its requests: what every row of a request shares
/// besides the request id and the profile.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordAs<'a> {
    /// `ask`, `compare`, `drill` or `check`.
    pub command: &'a str,
    /// The id shared by the requests of one `compare`, `drill` or `check`.
    pub group_id: Option<&'a str>,
    pub chain: Option<&'a str>,
    pub tag: Option<&'a str>,
    /// The prompt, with the answers stored only when the profile says
    /// `store_text`.
    pub prompt: Option<&'a str>,
}

/// The rows of one request, and the id they were recorded under.
#[allow(clippy::struct_field_names)] // `rows.rows`: the rows of the request
pub struct Rows {
    pub request_id: String,
    pub rows: Vec<Row>,
    /// What the request learned about its servers (`base_url`, when).
    pub learned: Vec<(String, Quirk, SystemTime)>,
}

/// What the attempts learned about their servers: a server that rejected
/// `stream_options`.
pub(super) fn learned(attempts: &[Attempt<'_>]) -> Vec<(String, Quirk, SystemTime)> {
    attempts
        .iter()
        .filter(|a| a.dropped_stream_options)
        .map(|a| {
            (
                a.target().provider.base_url.clone(),
                Quirk::RejectsStreamOptions,
                a.started,
            )
        })
        .collect()
}

/// What every row of one request shares.
pub(super) struct RowContext<'a> {
    pub(super) request_id: &'a str,
    pub(super) group_id: Option<&'a str>,
    pub(super) command: &'a str,
    pub(super) profile: Option<String>,
    pub(super) chain: Option<&'a str>,
    pub(super) tag: Option<&'a str>,
    pub(super) catalog_version: &'a str,
    /// The prompt, stored only when the profile says `store_text`.
    pub(super) prompt: Option<&'a str>,
}

/// One row per attempt.
pub(super) fn rows(attempts: &[Attempt<'_>], rc: &RowContext<'_>) -> Vec<Row> {
    let mut failed_before = false;
    attempts
        .iter()
        .map(|a| {
            let error = a.error();
            let usage = a.usage;
            let row = Row {
                request_id: rc.request_id.to_owned(),
                group_id: rc.group_id.map(str::to_owned),
                attempt: a.number,
                at: a.started,
                command: rc.command.to_owned(),
                profile: rc.profile.clone(),
                alias: a.target().alias.clone(),
                chain: rc.chain.map(str::to_owned),
                label: a.label().to_owned(),
                provider: a.provider().to_owned(),
                model: a.model().to_owned(),
                served_model: a.served_model.clone(),
                health_key: a.target().health_key(),
                outcome: a.outcome(),
                error_kind: error.map(|e| e.kind),
                http_status: error.and_then(|e| e.status),
                error_message: error.map(|e| e.message.clone()),
                input_tokens: usage.map(|u| u.input_tokens),
                cached_input_tokens: usage.map(|u| u.cached_input_tokens),
                cache_write_tokens: usage.map(|u| u.cache_write_tokens),
                output_tokens: usage.map(|u| u.output_tokens),
                reasoning_tokens: usage.map(|u| u.reasoning_tokens),
                cost: a.cost,
                provider_cost: a.provider_cost.and_then(Usd::from_dollars),
                catalog_version: Some(rc.catalog_version.to_owned()),
                ttft_ms: a.ttft.map(crate::output::json::millis),
                latency_ms: crate::output::json::millis(a.latency),
                tag: rc.tag.map(str::to_owned),
                retry_after_until: a.retry_after_until,
                fallback: failed_before,
                prompt: rc.prompt.map(str::to_owned),
                answer: rc.prompt.is_some().then(|| a.full_text()),
                continued_from: a.continued_from.map(|(n, _)| n),
                answer_from: a
                    .continued_from
                    .map(|_| u64::try_from(a.prefix.len()).unwrap_or(u64::MAX)),
                estimated: a.estimated,
            };
            failed_before |= a.result.is_err();
            row
        })
        .collect()
}
