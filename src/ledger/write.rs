//! Writing rows: each attempt with its dims and the flags `route cost` adds up,
//! and the running sums of the `buckets` and `dim_totals` rollups.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::Row;
use crate::money::Usd;
use crate::router::Outcome;
use crate::time::unix_ms;

/// What `route cost` adds up about a row, decided once when it is recorded and
/// kept in `attempts.flags`; `buckets` holds their running sums.
pub(crate) mod flags {
    /// The first row of its request.
    pub(crate) const REQUEST: i64 = 1;
    /// The first row of its request on this `provider/model`.
    pub(crate) const MODEL: i64 = 1 << 1;
    /// The first row of its request at this provider.
    pub(crate) const PROVIDER: i64 = 1 << 2;
    /// The first row of its request under this alias (label).
    pub(crate) const ALIAS: i64 = 1 << 3;
    /// Its cost is unknown: no figure, though it answered or reported usage.
    pub(crate) const UNKNOWN_COST: i64 = 1 << 4;
    /// It answered (`ok`).
    pub(crate) const ANSWERED: i64 = 1 << 5;
    /// It answered after an earlier attempt of its request failed.
    pub(crate) const FELL_BACK: i64 = 1 << 6;
}

/// The width of a `buckets` slot: 15 minutes, the finest step of any time
/// zone's UTC offset.
pub(crate) const SLOT_MS: i64 = 15 * 60 * 1000;

/// Inserts the rows with their dims and flags, and adds them to their buckets.
pub(super) fn write_rows(tx: &rusqlite::Transaction<'_>, rows: &[Row]) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(INSERT)?;
    let mut find_dim = tx.prepare_cached(
        "SELECT id FROM dims WHERE health_key = ?1 AND label = ?2 AND tag IS ?3 AND provider = ?4",
    )?;
    let mut add_dim = tx.prepare_cached(
        "INSERT INTO dims (health_key, label, tag, provider) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut earlier = tx
        .prepare_cached("SELECT health_key, provider, label FROM attempts WHERE request_id = ?1")?;
    let mut bucket = tx.prepare_cached(UPSERT_BUCKET)?;
    let mut total = tx.prepare_cached(UPSERT_TOTAL)?;
    // What each request of this batch already has: rows recorded before, then
    // the batch's own earlier rows.
    let mut seen: HashMap<&str, Vec<(String, String, String)>> = HashMap::new();
    for r in rows {
        let prior = match seen.entry(r.request_id.as_str()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(
                earlier
                    .query_map([&r.request_id], |x| Ok((x.get(0)?, x.get(1)?, x.get(2)?)))?
                    .collect::<rusqlite::Result<_>>()?,
            ),
        };
        let flags = row_flags(r, prior);
        prior.push((r.health_key.clone(), r.provider.clone(), r.label.clone()));

        let key = params![r.health_key, r.label, r.tag, r.provider];
        let dim: i64 = if let Some(id) = find_dim.query_row(key, |x| x.get(0)).optional()? {
            id
        } else {
            add_dim.execute(key)?;
            tx.last_insert_rowid()
        };

        let at = unix_ms(r.at);
        insert.execute(params![
            r.request_id,
            r.group_id,
            r.attempt,
            at,
            r.command,
            r.profile,
            r.alias,
            r.chain,
            r.label,
            r.provider,
            r.model,
            r.served_model,
            r.health_key,
            r.outcome,
            r.error_kind,
            r.http_status,
            r.error_message,
            r.input_tokens.map(int),
            r.cached_input_tokens.map(int),
            r.cache_write_tokens.map(int),
            r.output_tokens.map(int),
            r.reasoning_tokens.map(int),
            r.cost.map(Usd::picos),
            r.provider_cost.map(Usd::picos),
            r.catalog_version,
            r.ttft_ms.map(int),
            int(r.latency_ms),
            r.tag,
            r.retry_after_until.map(unix_ms),
            r.fallback,
            r.prompt,
            r.answer,
            dim,
            flags,
            r.continued_from,
            r.answer_from.map(int),
            r.estimated,
        ])?;
        let bit = |f: i64| i64::from(flags & f != 0);
        let sums = params![
            at.div_euclid(SLOT_MS),
            dim,
            bit(flags::REQUEST),
            bit(flags::MODEL),
            bit(flags::PROVIDER),
            bit(flags::ALIAS),
            int(r.input_tokens.unwrap_or(0)),
            int(r.output_tokens.unwrap_or(0)),
            r.provider_cost.or(r.cost).map_or(0, Usd::picos),
            bit(flags::UNKNOWN_COST),
            bit(flags::ANSWERED),
            bit(flags::FELL_BACK),
        ];
        bucket.execute(sums)?;
        total.execute(sums)?;
    }
    Ok(())
}

/// The [`flags`] of a row, given the (`health_key`, provider, label) of the rows
/// of its request recorded before it.
fn row_flags(r: &Row, prior: &[(String, String, String)]) -> i64 {
    let mut f = 0;
    let mut set = |bit: i64, on: bool| {
        if on {
            f |= bit;
        }
    };
    set(flags::REQUEST, prior.is_empty());
    set(flags::MODEL, !prior.iter().any(|p| p.0 == r.health_key));
    set(flags::PROVIDER, !prior.iter().any(|p| p.1 == r.provider));
    set(flags::ALIAS, !prior.iter().any(|p| p.2 == r.label));
    let ok = r.outcome == Outcome::Ok;
    // A failure that reported no usage was not billed: nothing, not unknown.
    set(
        flags::UNKNOWN_COST,
        r.cost.is_none()
            && r.provider_cost.is_none()
            && (ok || r.input_tokens.is_some() || r.output_tokens.is_some()),
    );
    set(flags::ANSWERED, ok);
    set(flags::FELL_BACK, ok && r.fallback);
    f
}

/// Counts as `SQLite` integers; nothing real comes near `i64::MAX`.
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

const INSERT: &str = "INSERT INTO attempts (
    request_id, group_id, attempt, at, command, profile, alias, chain, label, provider,
    model, served_model, health_key, outcome, error_kind, http_status, error_message,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
    cost, provider_cost, catalog_version, ttft_ms, latency_ms, tag, retry_after_until,
    fallback, prompt, answer, dim, flags, continued_from, answer_from, estimated
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
    ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34,
    ?35, ?36, ?37)";

/// Adds one row to its bucket: 1 attempt, its request flags, tokens and cost.
const UPSERT_BUCKET: &str = "INSERT INTO buckets (
    slot, dim, requests, model_requests, provider_requests, alias_requests, attempts,
    input_tokens, output_tokens, cost, unknown_costs, answered, fell_back
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?10, ?11, ?12)
ON CONFLICT (slot, dim) DO UPDATE SET
    requests = requests + excluded.requests,
    model_requests = model_requests + excluded.model_requests,
    provider_requests = provider_requests + excluded.provider_requests,
    alias_requests = alias_requests + excluded.alias_requests,
    attempts = attempts + 1,
    input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    cost = cost + excluded.cost,
    unknown_costs = unknown_costs + excluded.unknown_costs,
    answered = answered + excluded.answered,
    fell_back = fell_back + excluded.fell_back";

/// Adds one row to its dim's all-time totals: [`UPSERT_BUCKET`]'s parameters,
/// the slot (`?1`) left out.
const UPSERT_TOTAL: &str = "INSERT INTO dim_totals (
    dim, requests, model_requests, provider_requests, alias_requests, attempts,
    input_tokens, output_tokens, cost, unknown_costs, answered, fell_back
) VALUES (?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?10, ?11, ?12)
ON CONFLICT (dim) DO UPDATE SET
    requests = requests + excluded.requests,
    model_requests = model_requests + excluded.model_requests,
    provider_requests = provider_requests + excluded.provider_requests,
    alias_requests = alias_requests + excluded.alias_requests,
    attempts = attempts + 1,
    input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    cost = cost + excluded.cost,
    unknown_costs = unknown_costs + excluded.unknown_costs,
    answered = answered + excluded.answered,
    fell_back = fell_back + excluded.fell_back";
