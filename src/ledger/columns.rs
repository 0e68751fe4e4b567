//! The `attempts` table's columns as Rust values: a [`Row`] read back, and the
//! one spelling of outcomes and error kinds in their columns.

use rusqlite::ToSql;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};

use super::Row;
use crate::money::Usd;
use crate::provider::ErrorKind;
use crate::router::Outcome;
use crate::time::from_unix_ms;

/// The `outcome` column holds [`Outcome::as_str`], and reads back through
/// [`Outcome::parse`]: the one spelling, at the SQL edge.
impl ToSql for Outcome {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Outcome {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let name = value.as_str()?;
        Outcome::parse(name)
            .ok_or_else(|| FromSqlError::Other(format!("unknown outcome `{name}`").into()))
    }
}

/// The `error_kind` column holds [`ErrorKind::as_str`], read back through
/// [`ErrorKind::parse`].
impl ToSql for ErrorKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for ErrorKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let name = value.as_str()?;
        ErrorKind::parse(name)
            .ok_or_else(|| FromSqlError::Other(format!("unknown error kind `{name}`").into()))
    }
}

/// The columns [`row_from_sql`] reads, in its order.
pub(super) const COLUMNS: &str =
    "request_id, group_id, attempt, at, command, profile, alias, chain, label,
    provider, model, served_model, health_key, outcome, error_kind, http_status,
    error_message, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
    reasoning_tokens, cost, provider_cost, catalog_version, ttft_ms, latency_ms, tag,
    retry_after_until, fallback, prompt, answer, continued_from, answer_from, estimated";

pub(super) fn row_from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let count = |i: usize| -> rusqlite::Result<Option<u64>> {
        Ok(r.get::<_, Option<i64>>(i)?
            .map(|v| u64::try_from(v).unwrap_or(0)))
    };
    Ok(Row {
        request_id: r.get(0)?,
        group_id: r.get(1)?,
        attempt: r.get(2)?,
        at: from_unix_ms(r.get(3)?),
        command: r.get(4)?,
        profile: r.get(5)?,
        alias: r.get(6)?,
        chain: r.get(7)?,
        label: r.get(8)?,
        provider: r.get(9)?,
        model: r.get(10)?,
        served_model: r.get(11)?,
        health_key: r.get(12)?,
        outcome: r.get(13)?,
        error_kind: r.get(14)?,
        http_status: r.get(15)?,
        error_message: r.get(16)?,
        input_tokens: count(17)?,
        cached_input_tokens: count(18)?,
        cache_write_tokens: count(19)?,
        output_tokens: count(20)?,
        reasoning_tokens: count(21)?,
        cost: r.get::<_, Option<i64>>(22)?.map(Usd::from_picos),
        provider_cost: r.get::<_, Option<i64>>(23)?.map(Usd::from_picos),
        catalog_version: r.get(24)?,
        ttft_ms: count(25)?,
        latency_ms: count(26)?.unwrap_or(0),
        tag: r.get(27)?,
        retry_after_until: r.get::<_, Option<i64>>(28)?.map(from_unix_ms),
        fallback: r.get(29)?,
        prompt: r.get(30)?,
        answer: r.get(31)?,
        continued_from: r.get(32)?,
        answer_from: count(33)?,
        estimated: r.get(34)?,
    })
}
