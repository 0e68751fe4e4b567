//! `route cost`'s table for people: one row per request or per group, and the
//! total line under it.

use std::time::Duration;

use comfy_table::Cell;

use super::{CostContext, Data, by_name};
use crate::ledger::query::{GroupBy, RequestRow};
use crate::money::Usd;
use crate::output::table::{self, right};
use crate::router::Outcome;

/// A cost for people: `?` when nothing is known, `$0.01 + ?` when part is.
pub(super) fn cost_text(known: Usd, unknown: u64) -> String {
    match (unknown, known) {
        (0, _) => known.to_string(),
        (_, Usd::ZERO) => "?".into(),
        _ => format!("{known} + ?"),
    }
}

/// A request's cost: `?` when unknown, `~$0.0012` when route counted the
/// tokens of some attempt itself.
fn request_cost_text(r: &RequestRow) -> String {
    match r.cost {
        None => "?".into(),
        Some(c) if r.estimated => format!("~{c}"),
        Some(c) => c.to_string(),
    }
}

fn tokens_text(n: Option<u64>) -> String {
    n.map_or_else(|| "-".into(), |n| n.to_string())
}

fn latency_text(ms: u64) -> String {
    crate::profile::duration::format(Duration::from_millis(ms))
}

/// `ok`, `cancelled`, `error (server, HTTP 500)`, `incomplete (idle_timeout)`.
fn outcome_text(r: &RequestRow) -> String {
    match (r.error_kind, r.http_status) {
        _ if r.outcome == Outcome::Ok => r.outcome.to_string(),
        (Some(kind), Some(status)) => format!("{} ({kind}, HTTP {status})", r.outcome),
        (Some(kind), None) => format!("{} ({kind})", r.outcome),
        (None, Some(status)) => format!("{} (HTTP {status})", r.outcome),
        (None, None) => r.outcome.to_string(),
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0..=100
fn percent(rate: f64) -> String {
    format!("{}%", (rate * 100.0).round() as u64)
}

pub(super) fn render_table(data: &Data, by: Option<GroupBy>, ctx: &CostContext) -> String {
    let mut t = crate::output::table::new(ctx.printer.stdout_tty, ctx.width);
    let totals = &data.totals;
    let footer = match by {
        None => {
            t.set_header([
                "time",
                "alias",
                "provider",
                "model",
                "in",
                "out",
                "cost",
                "latency",
                "outcome",
                "fallbacks",
            ]);
            for r in &data.requests {
                t.add_row(vec![
                    Cell::new(&r.local_time),
                    Cell::new(&r.label),
                    Cell::new(&r.provider),
                    Cell::new(&r.model),
                    right(tokens_text(r.input_tokens)),
                    right(tokens_text(r.output_tokens)),
                    right(request_cost_text(r)),
                    right(latency_text(r.latency_ms)),
                    Cell::new(outcome_text(r)),
                    right(r.fallbacks.to_string()),
                ]);
            }
            keep_whole(&mut t, &[0, 4, 5, 6, 7, 9], &[1, 2, 3, 8]);
            let legend = if data.requests.iter().any(|r| r.estimated) {
                " · ~ estimated from route's own token count"
            } else {
                ""
            };
            format!(
                "total: {} {} · {}{legend}",
                totals.requests,
                plural(totals.requests, "request"),
                cost_text(totals.cost, totals.unknown_cost_attempts)
            )
        }
        Some(by) => {
            t.set_header([
                by_name(by),
                "requests",
                "attempts",
                "in",
                "out",
                "cost",
                "failures",
                "fallback rate",
            ]);
            for g in &data.groups {
                let s = &g.totals;
                t.add_row(vec![
                    Cell::new(g.key.as_deref().unwrap_or("(none)")),
                    right(s.requests.to_string()),
                    right(s.attempts.to_string()),
                    right(s.input_tokens.to_string()),
                    right(s.output_tokens.to_string()),
                    right(cost_text(s.cost, s.unknown_cost_attempts)),
                    right(s.failures.to_string()),
                    right(percent(s.fallback_rate())),
                ]);
            }
            keep_whole(&mut t, &[1, 2, 3, 4, 5, 6, 7], &[0]);
            format!(
                "total: {} {} · {} {} · {} · {} failed",
                totals.requests,
                plural(totals.requests, "request"),
                totals.attempts,
                plural(totals.attempts, "attempt"),
                cost_text(totals.cost, totals.unknown_cost_attempts),
                totals.failures
            )
        }
    };
    format!("{t}\n{footer}\n")
}

/// Times, numbers and headers of `whole` columns are never wrapped; when the
/// width is short, the `names` columns (alias, model, outcome) wrap instead,
/// but never below 10 columns (padding included).
fn keep_whole(t: &mut comfy_table::Table, whole: &[usize], names: &[usize]) {
    table::keep_whole(t, whole);
    let names: Vec<(usize, u16)> = names.iter().map(|&i| (i, 10)).collect();
    table::at_least(t, &names);
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}
