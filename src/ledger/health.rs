//! What the ledger remembers about each model (failures in a row, the last
//! error, Retry-After deadlines, median latency) and what was spent today and
//! this month: the reads that run before every request.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use rusqlite::params;

use super::{Ledger, LedgerError, query};
use crate::provider::ErrorKind;
use crate::router::Outcome;
use crate::router::plan::{Health, LastError, Spent};
use crate::time::{from_unix_ms, unix_ms};

/// How many recent successes the median latency is taken over.
const LATENCY_WINDOW: i64 = 20;

impl Ledger {
    /// What the ledger remembers about each model of `keys` (`provider/model`).
    /// A model with no rows gets a default [`Health`].
    ///
    /// - consecutive failures: `error` and `incomplete` attempts since the last
    ///   `ok` one (`cancelled` ones count as neither, and neither do answers
    ///   that did not match `--schema` nor refusals: the provider answered,
    ///   and another prompt or schema may well pass);
    /// - the last failure's time and `kind (HTTP n)`;
    /// - the latest Retry-After deadline given since the last success, when it is
    ///   still after `now`;
    /// - the median latency of the last 20 successes.
    ///
    /// It runs before every `ask`: two indexed statements per key.
    pub fn health(
        &self,
        keys: &[String],
        now: SystemTime,
    ) -> Result<HashMap<String, Health>, LedgerError> {
        let mut summary = self.conn.prepare_cached(HEALTH).map_err(self.read_err())?;
        let mut recent = self
            .conn
            .prepare_cached(RECENT_LATENCIES)
            .map_err(self.read_err())?;
        let now_ms = unix_ms(now);
        let mut out = HashMap::with_capacity(keys.len());
        for key in keys {
            let mut health = summary
                .query_row(
                    params![
                        key,
                        Outcome::Ok,
                        Outcome::Error,
                        Outcome::Incomplete,
                        ErrorKind::InvalidOutput,
                        ErrorKind::Refusal,
                        ErrorKind::ContentPolicy
                    ],
                    |r| {
                        let failures: i64 = r.get(0)?;
                        let retry_after: Option<i64> = r.get(1)?;
                        let last_failure: Option<i64> = r.get(2)?;
                        let last_error = LastError {
                            kind: r.get(3)?,
                            status: r.get(4)?,
                        };
                        Ok(Health {
                            consecutive_failures: u32::try_from(failures).unwrap_or(u32::MAX),
                            last_failure: last_failure.map(from_unix_ms),
                            last_error: last_failure.map(|_| last_error),
                            retry_after_until: retry_after
                                .filter(|t| *t > now_ms)
                                .map(from_unix_ms),
                            median_latency: None,
                        })
                    },
                )
                .map_err(self.read_err())?;
            let mut latencies: Vec<i64> = recent
                .query_map(params![key, LATENCY_WINDOW, Outcome::Ok], |r| r.get(0))
                .and_then(Iterator::collect)
                .map_err(self.read_err())?;
            health.median_latency = median(&mut latencies).map(Duration::from_millis);
            out.insert(key.clone(), health);
        }
        Ok(out)
    }

    /// Money spent since local midnight today and since the first of this month
    /// (local time). A row's cost is the provider's figure when present, else
    /// ours; unknown costs add nothing.
    pub fn spent(&self, now: SystemTime) -> Result<Spent, LedgerError> {
        let (day, month): (i64, i64) = self
            .conn
            .prepare_cached(LOCAL_DAY_AND_MONTH)
            .and_then(|mut s| s.query_row([unix_ms(now)], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(self.read_err())?;
        let since = |ms: i64| query::Filter {
            since: Some(from_unix_ms(ms)),
            limit: None,
        };
        Ok(Spent {
            today: self.totals(&since(day))?.cost,
            this_month: self.totals(&since(month))?.cost,
        })
    }
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(values: &mut [i64]) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    let m = if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2
    } else {
        values[mid]
    };
    Some(u64::try_from(m).unwrap_or(0))
}

/// One model's health in one row: failures since the last ok, the latest
/// Retry-After given since then, and the last failure. Every part is a seek on
/// `attempts_health` or `attempts_retry_after`.
/// `?2`..`?4` are the outcomes `ok`, `error` and `incomplete`, bound through
/// [`Outcome`]'s one spelling, and `?5`..`?7` the error kinds that say
/// nothing of the model's health: `invalid_output`, `refusal`, `content_policy`.
const HEALTH: &str = "
SELECT
    (SELECT COUNT(*) FROM attempts
        WHERE health_key = ?1 AND outcome IN (?3, ?4) AND at > ok.t
            AND (error_kind IS NULL OR error_kind NOT IN (?5, ?6, ?7))),
    (SELECT MAX(retry_after_until) FROM attempts
        WHERE health_key = ?1 AND retry_after_until IS NOT NULL AND at > ok.t),
    f.at, f.error_kind, f.http_status
FROM (SELECT COALESCE(MAX(at), -1) AS t FROM attempts
        WHERE health_key = ?1 AND outcome = ?2) AS ok
LEFT JOIN (
    SELECT * FROM (
        SELECT at, error_kind, http_status FROM (
            SELECT at, error_kind, http_status FROM attempts
                WHERE health_key = ?1 AND outcome = ?3 ORDER BY at DESC LIMIT 1)
        UNION ALL
        SELECT at, error_kind, http_status FROM (
            SELECT at, error_kind, http_status FROM attempts
                WHERE health_key = ?1 AND outcome = ?4 ORDER BY at DESC LIMIT 1)
    ) ORDER BY at DESC LIMIT 1
) AS f";

/// `?3` is the outcome `ok`.
const RECENT_LATENCIES: &str = "SELECT latency_ms FROM attempts
    WHERE health_key = ?1 AND outcome = ?3 ORDER BY at DESC LIMIT ?2";

/// Local midnight today and the local first of this month, as unix ms:
/// `SQLite`'s `localtime`/`utc` modifiers do the time-zone work.
const LOCAL_DAY_AND_MONTH: &str = "SELECT
    CAST(strftime('%s', ?1 / 1000, 'unixepoch', 'localtime', 'start of day', 'utc')
        AS INTEGER) * 1000,
    CAST(strftime('%s', ?1 / 1000, 'unixepoch', 'localtime', 'start of month', 'utc')
        AS INTEGER) * 1000";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::tests::{noon, row, temp_ledger};
    use crate::money::Usd;
    use std::time::UNIX_EPOCH;

    #[test]
    fn health_counts_failures_since_the_last_success() {
        // -- Setup
        let (_dir, mut ledger) = temp_ledger();
        let now = noon();
        let key = "openai/gpt";
        let mut rows = vec![
            row("a", 1, now - 9000, key, Outcome::Error),
            row("b", 1, now - 8000, key, Outcome::Ok),
            row("c", 1, now - 7000, key, Outcome::Error),
            row("d", 1, now - 6000, key, Outcome::Cancelled),
            row("e", 1, now - 5000, key, Outcome::Incomplete),
            row("f", 1, now - 4000, "other/model", Outcome::Error),
        ];
        rows[2].http_status = Some(500);
        rows[4].error_kind = Some(ErrorKind::Timeout);
        ledger.record(&rows).unwrap();
        // -- Exec
        let keys = [key.to_owned(), "unused/model".to_owned()];
        let h = ledger.health(&keys, from_unix_ms(now)).unwrap();
        // -- Check
        let gpt = &h[key];
        assert_eq!(gpt.consecutive_failures, 2);
        assert_eq!(gpt.last_failure, Some(from_unix_ms(now - 5000)));
        assert_eq!(
            gpt.last_error.map(|e| e.to_string()).as_deref(),
            Some("timeout")
        );
        assert_eq!(gpt.retry_after_until, None);
        assert_eq!(gpt.median_latency, Some(Duration::from_millis(100)));
        assert_eq!(h["unused/model"], Health::default());
        assert_eq!(h.len(), 2);

        // An ok resets the count; the last failure stays known.
        ledger
            .record(&[row("g", 1, now - 3000, key, Outcome::Ok)])
            .unwrap();
        let h = ledger.health(&keys, from_unix_ms(now)).unwrap();
        assert_eq!(h[key].consecutive_failures, 0);
        assert_eq!(h[key].last_failure, Some(from_unix_ms(now - 5000)));

        // Status codes show in the last error.
        let mut late = rows[2].clone();
        late.at = from_unix_ms(now - 1000);
        ledger.record(&[late]).unwrap();
        let h = ledger.health(&keys, from_unix_ms(now)).unwrap();
        assert_eq!(h[key].consecutive_failures, 1);
        assert_eq!(
            h[key].last_error.map(|e| e.to_string()).as_deref(),
            Some("server (HTTP 500)")
        );
    }

    #[test]
    fn an_answer_that_did_not_match_the_schema_or_declined_is_no_failure_of_health() {
        let (_dir, mut ledger) = temp_ledger();
        let now = noon();
        let key = "openai/gpt";
        let mut rows: Vec<_> = (0..4)
            .map(|i| {
                row(
                    &format!("r{i}"),
                    1,
                    now - 5000 + i * 1000,
                    key,
                    Outcome::Error,
                )
            })
            .collect();
        let kinds = [
            ErrorKind::InvalidOutput,
            ErrorKind::Refusal,
            ErrorKind::ContentPolicy,
        ];
        for (r, kind) in rows[1..].iter_mut().zip(kinds) {
            r.error_kind = Some(kind);
        }
        ledger.record(&rows).unwrap();
        let h = ledger.health(&[key.to_owned()], from_unix_ms(now)).unwrap();
        assert_eq!(h[key].consecutive_failures, 1);
    }

    #[test]
    fn health_keeps_retry_after_only_while_it_is_ahead() {
        let (_dir, mut ledger) = temp_ledger();
        let now = noon();
        let mut ahead = row("a", 1, now - 2000, "p/ahead", Outcome::Error);
        ahead.retry_after_until = Some(from_unix_ms(now + 60_000));
        let mut older = row("b", 1, now - 3000, "p/ahead", Outcome::Error);
        older.retry_after_until = Some(from_unix_ms(now + 30_000));
        let mut past = row("c", 1, now - 2000, "p/past", Outcome::Error);
        past.retry_after_until = Some(from_unix_ms(now - 1));
        let mut healed = row("d", 1, now - 9000, "p/healed", Outcome::Error);
        healed.retry_after_until = Some(from_unix_ms(now + 60_000));
        let ok = row("e", 1, now - 1000, "p/healed", Outcome::Ok);
        ledger.record(&[ahead, older, past, healed, ok]).unwrap();

        let keys = ["p/ahead", "p/past", "p/healed"].map(String::from);
        let h = ledger.health(&keys, from_unix_ms(now)).unwrap();
        assert_eq!(
            h["p/ahead"].retry_after_until,
            Some(from_unix_ms(now + 60_000))
        );
        assert_eq!(h["p/past"].retry_after_until, None);
        // A success after the deadline was given makes it moot.
        assert_eq!(h["p/healed"].retry_after_until, None);
    }

    #[test]
    fn median_latency_of_the_last_twenty_successes() {
        let (_dir, mut ledger) = temp_ledger();
        let now = noon();
        let mut rows = Vec::new();
        // 5 old slow successes, then 20 recent ones of 1..=20 ms, with failures between.
        for i in 0..25 {
            let mut r = row(
                &format!("r{i}"),
                1,
                now - 100_000 + i * 10,
                "p/m",
                Outcome::Ok,
            );
            r.latency_ms = if i < 5 {
                90_000
            } else {
                u64::try_from(i - 4).unwrap()
            };
            rows.push(r);
            let mut f = row(
                &format!("f{i}"),
                1,
                now - 100_000 + i * 10 + 5,
                "p/m",
                Outcome::Error,
            );
            f.latency_ms = 1_000_000;
            rows.push(f);
        }
        rows.pop(); // end on a success
        ledger.record(&rows).unwrap();
        let h = ledger.health(&["p/m".into()], from_unix_ms(now)).unwrap();
        // Even count: the mean of the 10th and 11th (10 and 11 ms).
        assert_eq!(h["p/m"].median_latency, Some(Duration::from_millis(10)));
        assert_eq!(median(&mut [3, 1, 2]), Some(2));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
        assert_eq!(median(&mut [100, 300]), Some(200));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn spent_sums_today_and_this_month_in_local_time() {
        // -- Setup
        let (_dir, mut ledger) = temp_ledger();
        let now = noon();
        let midnight =
            unix_ms(query::local_midnight(&query::local_date(from_unix_ms(now))).unwrap());
        let priced = |id: &str, at: i64, picos: i64| {
            let mut r = row(id, 1, at, "p/m", Outcome::Ok);
            r.cost = Some(Usd::from_picos(picos));
            r
        };
        let mut theirs = priced("their-figure", now - 1000, 1);
        theirs.provider_cost = Some(Usd::from_picos(50));
        let rows = [
            priced("today", now - 2000, 1000),
            theirs,
            row("unknown", 1, now - 500, "p/m", Outcome::Ok),
            priced("yesterday", midnight - 1, 200),
            priced("last-month", now - 40 * 86_400_000, 7),
        ];
        ledger.record(&rows).unwrap();
        // -- Exec
        let spent = ledger.spent(from_unix_ms(now)).unwrap();
        // -- Check
        assert_eq!(spent.today, Usd::from_picos(1050));
        assert_eq!(spent.this_month, Usd::from_picos(1250));
        let empty = temp_ledger().1.spent(from_unix_ms(now)).unwrap();
        assert_eq!((empty.today, empty.this_month), (Usd::ZERO, Usd::ZERO));
        assert!(from_unix_ms(midnight) > UNIX_EPOCH);
    }
}
