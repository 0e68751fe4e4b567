//! The reads behind `route cost`: one row per request, and totals per model,
//! provider, alias, tag or local day.
//!
//! Totals come from the `buckets` rollup (running sums per 15-minute slot and per
//! combination of model, provider, alias and tag, kept by [`Ledger::record`]),
//! plus the raw attempts of the one partial slot at the start of a `--since`
//! range; with no `--since`, from `dim_totals` (the same sums per combination
//! over all time), except for `--by day`. So `route cost --by model` sums a few
//! rows however many attempts there are, and every sum is done by `SQLite` over integer
//! picodollars. Local dates and times come from `SQLite`'s `localtime` modifier
//! (which follows `TZ`), so `route` needs no time-zone database of its own.
//!
//! Each request counts once per group: the per-row flags say which row is the
//! first of its request on a model, at a provider, under an alias, or at all, so
//! the counts add up across buckets without `COUNT(DISTINCT …)` over a million
//! ids.
//!
//! A cost is *effective*: the provider's own figure when it reported one, else
//! ours. It is *unknown* when neither exists for an attempt that answered or
//! reported usage; a failed attempt with no usage (a refused connection, a 500)
//! was not billed and counts as nothing, not as unknown.

use std::time::SystemTime;

use rusqlite::{Connection, params};

use super::{Ledger, LedgerError, SLOT_MS};
use crate::money::Usd;
use crate::provider::ErrorKind;
use crate::router::Outcome;
use crate::time::{from_unix_ms, unix_ms};

/// Which attempts to read and how many results to return.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    /// Only attempts (requests: first attempts) that started at or after this.
    pub since: Option<SystemTime>,
    /// At most this many results: the newest requests, or the first groups.
    pub limit: Option<usize>,
}

impl Filter {
    fn since_ms(&self) -> i64 {
        self.since.map_or(i64::MIN, unix_ms)
    }

    /// `SQLite` reads a negative LIMIT as "no limit".
    fn limit(&self) -> i64 {
        self.limit
            .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX))
    }
}

/// What `route cost --by` groups on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// `provider/model` (the health key): one model id at one provider.
    Model,
    Provider,
    /// The alias, or the `provider/model` reference the user gave.
    Alias,
    /// `--tag`; attempts without one form a group with no key.
    Tag,
    /// The local date the attempt started on, `YYYY-MM-DD`.
    Day,
}

impl GroupBy {
    /// The SQL expression of the group key, over `parts` joined with `dims AS d`.
    fn key(self) -> &'static str {
        match self {
            GroupBy::Model => "d.health_key",
            GroupBy::Provider => "d.provider",
            GroupBy::Alias => "d.label",
            GroupBy::Tag => "d.tag",
            // A slot never straddles a local midnight (see SLOT_MS).
            GroupBy::Day => "date(parts.slot * 900, 'unixepoch', 'localtime')",
        }
    }

    /// Which request count of the buckets applies: a request counts once per
    /// model, provider or alias it touched; tags and days are the request's own.
    fn requests(self) -> &'static str {
        match self {
            GroupBy::Model => "model_requests",
            GroupBy::Provider => "provider_requests",
            GroupBy::Alias => "alias_requests",
            GroupBy::Tag | GroupBy::Day => "requests",
        }
    }

    /// Newest days first; every other grouping by cost, the dearest first.
    fn order(self) -> &'static str {
        match self {
            GroupBy::Day => "k DESC",
            _ => "total_cost DESC, n_requests DESC, k",
        }
    }
}

/// One request, as `route cost` lists it: its final attempt, with tokens and
/// cost summed over all its attempts (what the request consumed).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRow {
    pub request_id: String,
    /// When the request's first attempt started.
    pub at: SystemTime,
    /// The same instant in local time, `YYYY-MM-DD HH:MM`.
    pub local_time: String,
    pub command: String,
    pub group_id: Option<String>,
    pub tag: Option<String>,
    // The final attempt:
    pub alias: Option<String>,
    pub label: String,
    pub provider: String,
    pub model: String,
    pub served_model: Option<String>,
    pub outcome: Outcome,
    pub error_kind: Option<ErrorKind>,
    pub http_status: Option<u16>,
    pub latency_ms: u64,
    // Over all attempts:
    /// `None` when no attempt reported usage.
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    /// `None` when some attempt's cost is unknown.
    pub cost: Option<Usd>,
    pub attempts: u32,
    /// Models tried before the final one.
    pub fallbacks: u32,
    /// Some attempt's tokens and cost are route's own count.
    pub estimated: bool,
}

/// Totals over a set of attempts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    /// Distinct requests with an attempt in the set.
    pub requests: u64,
    pub attempts: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// The sum of the known effective costs.
    pub cost: Usd,
    /// Attempts whose cost is unknown (so `cost` is a lower bound when > 0).
    pub unknown_cost_attempts: u64,
    /// Requests with no `ok` attempt in the set.
    pub failures: u64,
    /// Requests answered after a failed attempt.
    pub fallbacks: u64,
}

impl Totals {
    /// The share of requests whose answer came after a failed attempt, 0 to 1.
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    pub fn fallback_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.fallbacks as f64 / self.requests as f64
        }
    }

    /// The cost when every attempt's is known; `None` otherwise.
    pub fn known_cost(&self) -> Option<Usd> {
        (self.unknown_cost_attempts == 0).then_some(self.cost)
    }
}

/// One group of `route cost --by`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    /// The model, provider, alias, tag or day; `None` for attempts without a tag.
    pub key: Option<String>,
    /// Requests here are those with an attempt in this group; failures are those
    /// the group's attempts did not answer; fallbacks those it answered after a
    /// failed attempt (on any model).
    pub totals: Totals,
}

/// The rows to add up, as `(slot, dim, requests, model_requests,
/// provider_requests, alias_requests, attempts, input_tokens, output_tokens,
/// cost, unknown_costs, answered, fell_back)`: the buckets from slot `?1` on,
/// and the attempts in `[?2, ?3)`, the partial slot before it, summed the same
/// way from their flags (see `ledger::flags`).
const PARTS: &str = "
    SELECT slot, dim, requests, model_requests, provider_requests, alias_requests,
        attempts, input_tokens, output_tokens, cost, unknown_costs, answered, fell_back
    FROM buckets WHERE slot >= ?1
    UNION ALL
    SELECT at / 900000, dim, SUM(flags & 1), SUM((flags >> 1) & 1), SUM((flags >> 2) & 1),
        SUM((flags >> 3) & 1), COUNT(*), COALESCE(SUM(input_tokens), 0),
        COALESCE(SUM(output_tokens), 0), COALESCE(SUM(COALESCE(provider_cost, cost)), 0),
        SUM((flags >> 4) & 1), SUM((flags >> 5) & 1), SUM((flags >> 6) & 1)
    FROM attempts WHERE at >= ?2 AND at < ?3
    GROUP BY 1, 2";

/// [`PARTS`] over all time, from the per-dim totals: one row per dim. Its
/// rows have no slot (0), so it does not serve `--by day`. It takes the same
/// parameters as [`PARTS`] and uses none: `?3` is named only so that both
/// count three.
const PARTS_ALL_TIME: &str = "
    SELECT 0 AS slot, dim, requests, model_requests, provider_requests, alias_requests,
        attempts, input_tokens, output_tokens, cost, unknown_costs, answered, fell_back
    FROM dim_totals WHERE ?3 IS NOT NULL";

/// The parts to add up: all-time totals when there is no `--since` and the
/// grouping needs no time, else buckets and raw attempts.
fn parts(filter: &Filter, by: Option<GroupBy>) -> &'static str {
    if filter.since.is_none() && by != Some(GroupBy::Day) {
        PARTS_ALL_TIME
    } else {
        PARTS
    }
}

/// `?1`..`?3` of [`PARTS`] for a filter: whole slots from the first slot
/// boundary at or after `since`, raw attempts before that boundary.
fn bounds(filter: &Filter) -> (i64, i64, i64) {
    match filter.since {
        None => (i64::MIN, 0, 0),
        Some(t) => {
            let ms = unix_ms(t);
            let first = ms.div_euclid(SLOT_MS) + i64::from(ms.rem_euclid(SLOT_MS) != 0);
            (first, ms, first.saturating_mul(SLOT_MS))
        }
    }
}

/// The sums of [`Totals`] over `parts`, with `requests` the request count that
/// applies; read by [`totals_from_sql`].
fn sums(requests: &str) -> String {
    format!(
        "COALESCE(SUM({requests}), 0) AS n_requests, COALESCE(SUM(attempts), 0),
        COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),
        COALESCE(SUM(cost), 0) AS total_cost, COALESCE(SUM(unknown_costs), 0),
        COALESCE(SUM(answered), 0), COALESCE(SUM(fell_back), 0)"
    )
}

fn totals_from_sql(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Totals> {
    let n = |j: usize| -> rusqlite::Result<u64> {
        Ok(u64::try_from(r.get::<_, i64>(i + j)?).unwrap_or(0))
    };
    let requests = n(0)?;
    Ok(Totals {
        requests,
        attempts: n(1)?,
        input_tokens: n(2)?,
        output_tokens: n(3)?,
        cost: Usd::from_picos(r.get(i + 4)?),
        unknown_cost_attempts: n(5)?,
        // A request has at most one ok attempt, in one group.
        failures: requests.saturating_sub(n(6)?),
        fallbacks: n(7)?,
    })
}

impl Ledger {
    /// The newest requests first (by their first attempt's start).
    pub fn requests(&self, filter: &Filter) -> Result<Vec<RequestRow>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare_cached(REQUESTS)
            .map_err(self.read_err())?;
        stmt.query_map(params![filter.since_ms(), filter.limit()], |r| {
            let count = |i: usize| -> rusqlite::Result<Option<u64>> {
                Ok(r.get::<_, Option<i64>>(i)?
                    .map(|v| u64::try_from(v).unwrap_or(0)))
            };
            let attempts: u32 = r.get(18)?;
            let models: u32 = r.get(19)?;
            let cost: i64 = r.get(20)?;
            let unknown: i64 = r.get(21)?;
            Ok(RequestRow {
                request_id: r.get(0)?,
                at: from_unix_ms(r.get(1)?),
                local_time: r.get(2)?,
                command: r.get(4)?,
                group_id: r.get(5)?,
                tag: r.get(6)?,
                alias: r.get(7)?,
                label: r.get(8)?,
                provider: r.get(9)?,
                model: r.get(10)?,
                served_model: r.get(11)?,
                outcome: r.get(12)?,
                error_kind: r.get(13)?,
                http_status: r.get(14)?,
                latency_ms: count(15)?.unwrap_or(0),
                input_tokens: count(16)?,
                output_tokens: count(17)?,
                attempts,
                fallbacks: models.saturating_sub(1),
                cost: (unknown == 0).then(|| Usd::from_picos(cost)),
                estimated: r.get::<_, i64>(22)? > 0,
            })
        })
        .and_then(Iterator::collect)
        .map_err(self.read_err())
    }

    /// Totals per group, for `route cost --by`.
    pub fn totals_by(&self, by: GroupBy, filter: &Filter) -> Result<Vec<GroupRow>, LedgerError> {
        let sql = format!(
            "WITH parts AS ({parts})
            SELECT {key} AS k, {sums}
            FROM parts JOIN dims AS d ON d.id = parts.dim
            GROUP BY k ORDER BY {order} LIMIT ?4",
            parts = parts(filter, Some(by)),
            key = by.key(),
            sums = sums(by.requests()),
            order = by.order(),
        );
        let (slot, lo, hi) = bounds(filter);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(self.read_err())?;
        stmt.query_map(params![slot, lo, hi, filter.limit()], |r| {
            Ok(GroupRow {
                key: r.get(0)?,
                totals: totals_from_sql(r, 1)?,
            })
        })
        .and_then(Iterator::collect)
        .map_err(self.read_err())
    }

    /// Totals over every attempt since `filter.since` (the limit is ignored).
    /// Requests count once however many models they touched.
    pub fn totals(&self, filter: &Filter) -> Result<Totals, LedgerError> {
        let sql = format!(
            "WITH parts AS ({}) SELECT {} FROM parts",
            parts(filter, None),
            sums("requests")
        );
        let (slot, lo, hi) = bounds(filter);
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row(params![slot, lo, hi], |r| totals_from_sql(r, 0)))
            .map_err(self.read_err())
    }
}

/// Picks the newest first attempts through `attempts_at`, then reads only
/// those requests' attempts through `attempts_request` (CROSS JOIN fixes that
/// order), so `--limit 20` stays cheap on any size of ledger. With a single
/// `MAX()` in the query, `SQLite` takes the bare columns from the row that has
/// the maximum: the final attempt (<https://sqlite.org/lang_select.html#bare_columns_in_an_aggregate_query>),
/// so no other `MAX()` (or `MIN()`) may be added to it.
/// The MODEL flag marks each request's first row per model, so its sum is the
/// number of models tried.
const REQUESTS: &str = "
WITH firsts AS (
    SELECT request_id, at FROM attempts
    WHERE attempt = 1 AND at >= ?1
    ORDER BY at DESC LIMIT ?2
)
SELECT f.request_id, f.at,
    strftime('%Y-%m-%d %H:%M', f.at / 1000, 'unixepoch', 'localtime'),
    MAX(a.attempt),
    a.command, a.group_id, a.tag, a.alias, a.label, a.provider, a.model,
    a.served_model, a.outcome, a.error_kind, a.http_status, a.latency_ms,
    SUM(a.input_tokens), SUM(a.output_tokens), COUNT(*), SUM((a.flags >> 1) & 1),
    COALESCE(SUM(COALESCE(a.provider_cost, a.cost)), 0), SUM((a.flags >> 4) & 1),
    SUM(a.estimated)
FROM firsts AS f CROSS JOIN attempts AS a ON a.request_id = f.request_id
GROUP BY f.at, f.request_id
ORDER BY f.at DESC, f.request_id";

/// Runs a date computation on a throw-away in-memory `SQLite`, so that callers
/// without a ledger file get the same local-time rules as the ledger's queries.
fn scratch<T>(f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Option<T> {
    Connection::open_in_memory().and_then(|c| f(&c)).ok()
}

/// The start of a local date `YYYY-MM-DD` (local midnight); `None` when it is
/// not a valid date.
pub fn local_midnight(date: &str) -> Option<SystemTime> {
    // Validates the shape and the calendar (no 2026-02-30) before `SQLite` sees it.
    crate::time::parse_date(date)?;
    let secs: i64 = scratch(|c| {
        c.query_row(
            "SELECT CAST(strftime('%s', ?1, 'utc') AS INTEGER)",
            [date],
            |r| r.get(0),
        )
    })?;
    Some(from_unix_ms(secs.saturating_mul(1000)))
}

/// The local date of `t`, `YYYY-MM-DD`.
pub fn local_date(t: SystemTime) -> String {
    scratch(|c| {
        c.query_row(
            "SELECT date(?1 / 1000, 'unixepoch', 'localtime')",
            [unix_ms(t)],
            |r| r.get(0),
        )
    })
    .unwrap_or_else(|| crate::time::rfc3339(t)[..10].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Row;
    use crate::ledger::tests::{noon, row, temp_ledger};

    fn usd(picos: i64) -> Usd {
        Usd::from_picos(picos)
    }

    fn used(mut r: Row, input: u64, output: u64, cost: Option<i64>) -> Row {
        r.input_tokens = Some(input);
        r.output_tokens = Some(output);
        r.cost = cost.map(usd);
        r
    }

    /// Five requests, hand-checked below:
    /// - r1: gpt fails (500, no usage: costs nothing), sonnet answers (100/50, 10);
    /// - r2: sonnet answers (10/5, 2), tagged like r1;
    /// - r3: llama answers (20/10) at an unknown price;
    /// - r4: gpt fails (429), sonnet starts and breaks off (30/3, 1): no answer;
    /// - r5, 40 days earlier: openrouter answers, its own figure (50) beats ours (40).
    fn seed() -> (tempfile::TempDir, Ledger, i64) {
        let (dir, mut ledger) = temp_ledger();
        let now = noon();
        let mut rows = vec![
            row("r1", 1, now - 10_000, "openai/gpt", Outcome::Error),
            used(
                row("r1", 2, now - 9_000, "anthropic/sonnet", Outcome::Ok),
                100,
                50,
                Some(10),
            ),
            used(
                row("r2", 1, now - 8_000, "anthropic/sonnet", Outcome::Ok),
                10,
                5,
                Some(2),
            ),
            used(
                row("r3", 1, now - 7_000, "ollama/llama", Outcome::Ok),
                20,
                10,
                None,
            ),
            row("r4", 1, now - 6_000, "openai/gpt", Outcome::Error),
            used(
                row(
                    "r4",
                    2,
                    now - 5_000,
                    "anthropic/sonnet",
                    Outcome::Incomplete,
                ),
                30,
                3,
                Some(1),
            ),
            used(
                row("r5", 1, now - 40 * 86_400_000, "openrouter/x", Outcome::Ok),
                1,
                1,
                Some(40),
            ),
        ];
        for r in &mut rows[..3] {
            r.tag = Some("x".into());
        }
        rows[1].alias = Some("sonnet".into());
        rows[1].label = "sonnet".into();
        rows[6].provider_cost = Some(usd(50));
        ledger.record(&rows).unwrap();
        (dir, ledger, now)
    }

    fn totals(
        requests: u64,
        attempts: u64,
        tokens: (u64, u64),
        cost: i64,
        unknown: u64,
        failures: u64,
        fallbacks: u64,
    ) -> Totals {
        Totals {
            requests,
            attempts,
            input_tokens: tokens.0,
            output_tokens: tokens.1,
            cost: usd(cost),
            unknown_cost_attempts: unknown,
            failures,
            fallbacks,
        }
    }

    fn group(key: Option<&str>, t: Totals) -> GroupRow {
        GroupRow {
            key: key.map(str::to_owned),
            totals: t,
        }
    }

    #[test]
    fn totals_by_model() {
        let (_dir, ledger, _) = seed();
        let groups = ledger
            .totals_by(GroupBy::Model, &Filter::default())
            .unwrap();
        assert_eq!(
            groups,
            vec![
                group(Some("openrouter/x"), totals(1, 1, (1, 1), 50, 0, 0, 0)),
                group(
                    Some("anthropic/sonnet"),
                    totals(3, 3, (140, 58), 13, 0, 1, 1)
                ),
                group(Some("openai/gpt"), totals(2, 2, (0, 0), 0, 0, 2, 0)),
                group(Some("ollama/llama"), totals(1, 1, (20, 10), 0, 1, 0, 0)),
            ]
        );
        let sonnet = &groups[1].totals;
        assert!((sonnet.fallback_rate() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(groups[3].totals.known_cost(), None);
    }

    #[test]
    fn totals_by_provider_alias_and_tag() {
        let (_dir, ledger, _) = seed();
        let all = Filter::default();
        let providers = ledger.totals_by(GroupBy::Provider, &all).unwrap();
        let keys: Vec<_> = providers.iter().map(|g| g.key.clone().unwrap()).collect();
        assert_eq!(keys, ["openrouter", "anthropic", "openai", "ollama"]);

        let aliases = ledger.totals_by(GroupBy::Alias, &all).unwrap();
        let sonnet = aliases
            .iter()
            .find(|g| g.key.as_deref() == Some("sonnet"))
            .unwrap();
        assert_eq!(sonnet.totals, totals(1, 1, (100, 50), 10, 0, 0, 1));

        let tags = ledger.totals_by(GroupBy::Tag, &all).unwrap();
        assert_eq!(
            tags,
            vec![
                group(None, totals(3, 4, (51, 14), 51, 1, 1, 0)),
                group(Some("x"), totals(2, 3, (110, 55), 12, 0, 0, 1)),
            ]
        );
        assert!((tags[1].totals.fallback_rate() - 0.5).abs() < 1e-9);
    }

    #[test]
    fn totals_by_local_day_newest_first() {
        let (_dir, ledger, now) = seed();
        let days = ledger.totals_by(GroupBy::Day, &Filter::default()).unwrap();
        let today = local_date(from_unix_ms(now - 5_000));
        let back = local_date(from_unix_ms(now - 40 * 86_400_000));
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].key.as_deref(), Some(today.as_str()));
        assert_eq!(days[0].totals, totals(4, 6, (160, 68), 13, 1, 1, 1));
        assert_eq!(days[1].key.as_deref(), Some(back.as_str()));
        let limited = Filter {
            since: None,
            limit: Some(1),
        };
        assert_eq!(ledger.totals_by(GroupBy::Day, &limited).unwrap().len(), 1);
    }

    #[test]
    fn totals_count_each_request_once() {
        let (_dir, ledger, now) = seed();
        assert_eq!(
            ledger.totals(&Filter::default()).unwrap(),
            totals(5, 7, (161, 69), 63, 1, 1, 1)
        );
        let recent = Filter {
            since: Some(from_unix_ms(now - 86_400_000)),
            limit: Some(1),
        };
        assert_eq!(
            ledger.totals(&recent).unwrap(),
            totals(4, 6, (160, 68), 13, 1, 1, 1)
        );
        let (_d, empty) = temp_ledger();
        assert_eq!(empty.totals(&Filter::default()).unwrap(), Totals::default());
        assert!(
            empty
                .totals_by(GroupBy::Model, &Filter::default())
                .unwrap()
                .is_empty()
        );
        assert!(empty.requests(&Filter::default()).unwrap().is_empty());
    }

    #[test]
    fn requests_show_the_final_attempt_newest_first() {
        let (_dir, ledger, now) = seed();
        let rows = ledger.requests(&Filter::default()).unwrap();
        let ids: Vec<_> = rows.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(ids, ["r4", "r3", "r2", "r1", "r5"]);

        let r1 = &rows[3];
        assert_eq!(r1.at, from_unix_ms(now - 10_000));
        assert_eq!(r1.label, "sonnet");
        assert_eq!(r1.alias.as_deref(), Some("sonnet"));
        assert_eq!(
            (r1.provider.as_str(), r1.model.as_str()),
            ("anthropic", "sonnet")
        );
        assert_eq!(r1.outcome, Outcome::Ok);
        assert_eq!((r1.attempts, r1.fallbacks), (2, 1));
        assert_eq!((r1.input_tokens, r1.output_tokens), (Some(100), Some(50)));
        assert_eq!(r1.cost, Some(usd(10)));
        assert_eq!(r1.tag.as_deref(), Some("x"));
        assert_eq!(r1.local_time.len(), "2026-11-15 12:00".len());

        let r4 = &rows[0];
        assert_eq!((r4.outcome, r4.fallbacks), (Outcome::Incomplete, 1));
        assert_eq!(r4.error_kind, Some(ErrorKind::Server));
        assert_eq!(rows[1].cost, None, "unknown price");
        assert_eq!(rows[4].cost, Some(usd(50)), "the provider's figure");

        let two = Filter {
            since: None,
            limit: Some(2),
        };
        let ids: Vec<_> = ledger
            .requests(&two)
            .unwrap()
            .into_iter()
            .map(|r| r.request_id)
            .collect();
        assert_eq!(ids, ["r4", "r3"]);
        let since = Filter {
            since: Some(from_unix_ms(now - 8_000)),
            limit: None,
        };
        assert_eq!(ledger.requests(&since).unwrap().len(), 3);
    }

    #[test]
    fn failed_attempts_without_usage_are_free_not_unknown() {
        let (_dir, mut ledger) = temp_ledger();
        let now = noon();
        ledger
            .record(&[
                row("a", 1, now, "p/m", Outcome::Error),
                row("b", 1, now, "p/m", Outcome::Cancelled),
            ])
            .unwrap();
        let t = ledger.totals(&Filter::default()).unwrap();
        assert_eq!(
            (t.cost, t.unknown_cost_attempts, t.failures),
            (Usd::ZERO, 0, 2)
        );
        assert_eq!(t.known_cost(), Some(Usd::ZERO));
        let rows = ledger.requests(&Filter::default()).unwrap();
        assert!(
            rows.iter()
                .all(|r| r.cost == Some(Usd::ZERO) && r.input_tokens.is_none())
        );
    }

    #[test]
    fn the_sql_matches_the_flag_bits() {
        use crate::ledger::flags;
        // PARTS and REQUESTS spell these out as numbers.
        assert_eq!(SLOT_MS, 900_000);
        assert_eq!(
            [
                flags::REQUEST,
                flags::MODEL,
                flags::PROVIDER,
                flags::ALIAS,
                flags::UNKNOWN_COST,
                flags::ANSWERED,
                flags::FELL_BACK
            ],
            [1, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6]
        );
    }

    #[test]
    fn buckets_and_raw_rows_add_up_the_same() {
        // Every --since cut, aligned to a slot or not, must give the totals of
        // the attempts after it, whether they come from buckets or raw rows.
        let (_dir, ledger, now) = seed();
        for back_ms in [
            0,
            1,
            4_000,
            5_000,
            5_001,
            9_500,
            86_400_000,
            41 * 86_400_000,
        ] {
            for shift in [0, SLOT_MS / 3, SLOT_MS - 1] {
                let cut = now - back_ms - shift;
                let filter = Filter {
                    since: Some(from_unix_ms(cut)),
                    limit: None,
                };
                let raw: (i64, i64, i64) = ledger
                    .conn
                    .query_row(
                        "SELECT COUNT(*), COALESCE(SUM(COALESCE(provider_cost, cost)), 0),
                            COALESCE(SUM(input_tokens), 0) FROM attempts WHERE at >= ?1",
                        [cut],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .unwrap();
                let t = ledger.totals(&filter).unwrap();
                let got = (
                    i64::try_from(t.attempts).unwrap(),
                    t.cost.picos(),
                    i64::try_from(t.input_tokens).unwrap(),
                );
                assert_eq!(got, raw, "since {cut}");
            }
        }
    }

    #[test]
    fn all_time_totals_match_the_buckets() {
        // No --since reads the per-dim totals; a --since before every row reads
        // the buckets: the same attempts, so the same sums.
        let (_dir, ledger, _now) = seed();
        let all = Filter::default();
        let epoch = Filter {
            since: Some(from_unix_ms(0)),
            limit: None,
        };
        assert_eq!(ledger.totals(&all).unwrap(), ledger.totals(&epoch).unwrap());
        for by in [
            GroupBy::Model,
            GroupBy::Provider,
            GroupBy::Alias,
            GroupBy::Tag,
            GroupBy::Day,
        ] {
            assert_eq!(
                ledger.totals_by(by, &all).unwrap(),
                ledger.totals_by(by, &epoch).unwrap(),
                "{by:?}"
            );
        }
    }

    #[test]
    fn local_dates_round_trip() {
        let midnight = local_midnight("2026-11-22").unwrap();
        assert_eq!(local_date(midnight), "2026-11-22");
        assert_eq!(
            local_date(midnight - std::time::Duration::from_millis(1)),
            "2026-11-21"
        );
        assert_eq!(local_midnight("2026-02-30"), None);
        assert_eq!(local_midnight("22/11/2026"), None);
    }
}

/// `cargo test --release --lib ledger::query::bench -- --ignored --nocapture`:
/// the timings behind the performance budget (1,000,000 attempts: `--by model`
/// ≤ 300 ms, one insert ≤ 1 ms). Ignored by default: filling the file takes a while.
#[cfg(test)]
mod bench {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::ledger::tests::{row, temp_ledger};

    #[test]
    #[ignore = "slow: fills a ledger with a million rows"]
    #[allow(clippy::print_stderr)]
    fn million_rows() {
        let (_dir, mut ledger) = temp_ledger();
        let keys = [
            "openai/gpt-4o",
            "openai/gpt-4o-mini",
            "anthropic/claude-sonnet-4-5",
            "anthropic/claude-haiku-4-5",
            "gemini/gemini-2.5-flash",
            "openrouter/x",
            "groq/llama-3.3-70b",
            "ollama/llama3",
        ];
        let now = unix_ms(SystemTime::now());
        let mut batch = Vec::with_capacity(10_000);
        let (mut n, mut request) = (0_i64, 0_i64);
        while n < 1_000_000 {
            request += 1;
            let at = now - 60 * 86_400_000 + n * 5_000;
            let key = keys[usize::try_from(request).unwrap() % keys.len()];
            let id = format!("{request:024x}");
            if request % 3 == 0 {
                batch.push(row(&id, 1, at, keys[0], Outcome::Error));
                n += 1;
            }
            let mut ok = row(
                &id,
                if request % 3 == 0 { 2 } else { 1 },
                at + 100,
                key,
                Outcome::Ok,
            );
            ok.input_tokens = Some(1000);
            ok.output_tokens = Some(200);
            ok.cost = (request % 7 != 0).then(|| Usd::from_picos(1_234_000_000));
            ok.tag = (request % 5 == 0).then(|| "batch".into());
            batch.push(ok);
            n += 1;
            if batch.len() >= 10_000 {
                ledger.record(&batch).unwrap();
                batch.clear();
            }
        }
        ledger.record(&batch).unwrap();

        let time = |name: &str, f: &mut dyn FnMut()| {
            f(); // warm the page cache, as a second run would
            let start = Instant::now();
            f();
            let took = start.elapsed();
            eprintln!("{name:<28} {took:>10.1?}");
            took
        };
        let all = Filter::default();
        let by_model = time("--by model", &mut || {
            ledger.totals_by(GroupBy::Model, &all).unwrap();
        });
        for by in [
            GroupBy::Provider,
            GroupBy::Alias,
            GroupBy::Tag,
            GroupBy::Day,
        ] {
            time(&format!("--by {by:?}"), &mut || {
                ledger.totals_by(by, &all).unwrap();
            });
        }
        let week = Filter {
            since: Some(from_unix_ms(now - 7 * 86_400_000)),
            limit: None,
        };
        time("--by model --since 7d", &mut || {
            ledger.totals_by(GroupBy::Model, &week).unwrap();
        });
        time("totals", &mut || {
            ledger.totals(&all).unwrap();
        });
        let fifty = Filter {
            since: None,
            limit: Some(50),
        };
        time("requests --limit 50", &mut || {
            ledger.requests(&fifty).unwrap();
        });
        time("requests, all (json)", &mut || {
            ledger.requests(&all).unwrap();
        });
        let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        time("health of 8 models", &mut || {
            ledger.health(&keys, SystemTime::now()).unwrap();
        });
        time("spent", &mut || {
            ledger.spent(SystemTime::now()).unwrap();
        });
        let mut inserts = Duration::ZERO;
        for i in 0..100 {
            let r = row(&format!("new{i}"), 1, now, "openai/gpt-4o", Outcome::Ok);
            let start = Instant::now();
            ledger.record(&[r]).unwrap();
            inserts += start.elapsed();
        }
        eprintln!(
            "{:<28} {:>10.1?}",
            "one insert (mean of 100)",
            inserts / 100
        );
        assert!(
            by_model < Duration::from_millis(300),
            "--by model took {by_model:?}"
        );
    }
}
