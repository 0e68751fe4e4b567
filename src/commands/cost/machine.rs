//! `route cost --format json|csv`: the same rows for machines, with exact
//! figures and `null` (or an empty cell) for what is not known.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Data, by_name};
use crate::error::Error;
use crate::ledger::query::{GroupBy, RequestRow};
use crate::money::Usd;
use crate::provider::ErrorKind;
use crate::router::Outcome;

/// A cost for machines: `None` when nothing is known (see [`super::table::cost_text`]).
pub(super) fn cost_value(known: Usd, unknown: u64) -> Option<Usd> {
    (unknown == 0 || known != Usd::ZERO).then_some(known)
}

/// One request in `--format json`.
#[derive(Debug, Serialize)]
struct RequestJson<'a> {
    request_id: &'a str,
    /// UTC, RFC 3339.
    at: String,
    local_time: &'a str,
    command: &'a str,
    alias: Option<&'a str>,
    label: &'a str,
    provider: &'a str,
    model: &'a str,
    served_model: Option<&'a str>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cost_usd: Option<f64>,
    /// Some attempt's tokens and cost are route's own count.
    estimated: bool,
    latency_ms: u64,
    outcome: Outcome,
    error_kind: Option<ErrorKind>,
    http_status: Option<u16>,
    attempts: u32,
    fallbacks: u32,
    tag: Option<&'a str>,
    group_id: Option<&'a str>,
}

impl<'a> From<&'a RequestRow> for RequestJson<'a> {
    fn from(r: &'a RequestRow) -> Self {
        RequestJson {
            request_id: &r.request_id,
            at: crate::time::rfc3339(r.at),
            local_time: &r.local_time,
            command: &r.command,
            alias: r.alias.as_deref(),
            label: &r.label,
            provider: &r.provider,
            model: &r.model,
            served_model: r.served_model.as_deref(),
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            cost_usd: r.cost.map(Usd::to_dollars),
            estimated: r.estimated,
            latency_ms: r.latency_ms,
            outcome: r.outcome,
            error_kind: r.error_kind,
            http_status: r.http_status,
            attempts: r.attempts,
            fallbacks: r.fallbacks,
            tag: r.tag.as_deref(),
            group_id: r.group_id.as_deref(),
        }
    }
}

/// One group in `--format json`.
#[derive(Debug, Serialize)]
struct GroupJson<'a> {
    by: &'static str,
    /// `null` for the attempts without a tag.
    key: Option<&'a str>,
    requests: u64,
    attempts: u64,
    input_tokens: u64,
    output_tokens: u64,
    /// The known part; `null` when nothing is known.
    cost_usd: Option<f64>,
    unknown_cost_attempts: u64,
    failures: u64,
    fallback_rate: f64,
}

pub(super) fn render_json(data: &Data, by: Option<GroupBy>) -> Result<String, Error> {
    let json = match by {
        None => serde_json::to_string_pretty(
            &data
                .requests
                .iter()
                .map(RequestJson::from)
                .collect::<Vec<_>>(),
        ),
        Some(by) => serde_json::to_string_pretty(
            &data
                .groups
                .iter()
                .map(|g| {
                    let s = &g.totals;
                    GroupJson {
                        by: by_name(by),
                        key: g.key.as_deref(),
                        requests: s.requests,
                        attempts: s.attempts,
                        input_tokens: s.input_tokens,
                        output_tokens: s.output_tokens,
                        cost_usd: cost_value(s.cost, s.unknown_cost_attempts).map(Usd::to_dollars),
                        unknown_cost_attempts: s.unknown_cost_attempts,
                        failures: s.failures,
                        fallback_rate: s.fallback_rate(),
                    }
                })
                .collect::<Vec<_>>(),
        ),
    };
    json.map(|j| j + "\n")
        .map_err(|e| Error::failed(format!("cannot write JSON: {e}")).caused_by(e))
}

pub(super) fn render_csv(data: &Data, by: Option<GroupBy>) -> String {
    let mut out = String::new();
    let mut line = |fields: &[&str]| {
        let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        let _ = writeln!(out, "{}", quoted.join(","));
    };
    let opt = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    let money = |u: Option<Usd>| u.map(decimal).unwrap_or_default();
    match by {
        None => {
            line(&[
                "request_id",
                "at",
                "local_time",
                "command",
                "alias",
                "label",
                "provider",
                "model",
                "served_model",
                "input_tokens",
                "output_tokens",
                "cost_usd",
                "latency_ms",
                "outcome",
                "error_kind",
                "http_status",
                "attempts",
                "fallbacks",
                "tag",
                "estimated",
            ]);
            for r in &data.requests {
                line(&[
                    &r.request_id,
                    &crate::time::rfc3339(r.at),
                    &r.local_time,
                    &r.command,
                    r.alias.as_deref().unwrap_or(""),
                    &r.label,
                    &r.provider,
                    &r.model,
                    r.served_model.as_deref().unwrap_or(""),
                    &opt(r.input_tokens),
                    &opt(r.output_tokens),
                    &money(r.cost),
                    &r.latency_ms.to_string(),
                    r.outcome.as_str(),
                    r.error_kind.map_or("", ErrorKind::as_str),
                    &r.http_status.map(|s| s.to_string()).unwrap_or_default(),
                    &r.attempts.to_string(),
                    &r.fallbacks.to_string(),
                    r.tag.as_deref().unwrap_or(""),
                    if r.estimated { "true" } else { "false" },
                ]);
            }
        }
        Some(by) => {
            line(&[
                by_name(by),
                "requests",
                "attempts",
                "input_tokens",
                "output_tokens",
                "cost_usd",
                "unknown_cost_attempts",
                "failures",
                "fallback_rate",
            ]);
            for g in &data.groups {
                let s = &g.totals;
                line(&[
                    g.key.as_deref().unwrap_or(""),
                    &s.requests.to_string(),
                    &s.attempts.to_string(),
                    &s.input_tokens.to_string(),
                    &s.output_tokens.to_string(),
                    &money(cost_value(s.cost, s.unknown_cost_attempts)),
                    &s.unknown_cost_attempts.to_string(),
                    &s.failures.to_string(),
                    &format!("{:.4}", s.fallback_rate()),
                ]);
            }
        }
    }
    out
}

/// RFC 4180: a field with a comma, a quote or a line break is quoted, and its
/// quotes are doubled.
pub(super) fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// Exact dollars without a sign or rounding: `0.000636`, `12.5`, `0`.
pub(super) fn decimal(u: Usd) -> String {
    let picos = u.picos();
    let sign = if picos < 0 { "-" } else { "" };
    let abs = picos.unsigned_abs();
    let whole = abs / 1_000_000_000_000;
    let frac = format!("{:012}", abs % 1_000_000_000_000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{frac}")
    }
}
