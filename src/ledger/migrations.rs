//! The ledger's schema, as numbered migrations keyed on `PRAGMA user_version`.
//!
//! Migration `n` moves the schema from version `n - 1` to `n`. They run in one
//! `BEGIN IMMEDIATE` transaction that re-reads the version after taking the write
//! lock, so two `route` processes that open a fresh ledger at the same moment never
//! both run migration 1. Never edit a released migration; append a new one.

use rusqlite::{Connection, TransactionBehavior};

/// The migrations in order: `MIGRATIONS[0]` takes the schema to version 1.
const MIGRATIONS: &[&str] = &[
    // 1: one row per attempt, plus the rollups `route cost` reads. Times are unix
    // milliseconds, money is picodollars (`crate::money::Usd`), so sums are exact.
    "CREATE TABLE attempts (
        id                  INTEGER PRIMARY KEY,
        request_id          TEXT    NOT NULL,
        group_id            TEXT,
        attempt             INTEGER NOT NULL,
        at                  INTEGER NOT NULL,
        command             TEXT    NOT NULL,
        profile             TEXT,
        alias               TEXT,
        chain               TEXT,
        label               TEXT    NOT NULL,
        provider            TEXT    NOT NULL,
        model               TEXT    NOT NULL,
        served_model        TEXT,
        health_key          TEXT    NOT NULL,
        outcome             TEXT    NOT NULL,
        error_kind          TEXT,
        http_status         INTEGER,
        error_message       TEXT,
        input_tokens        INTEGER,
        cached_input_tokens INTEGER,
        cache_write_tokens  INTEGER,
        output_tokens       INTEGER,
        reasoning_tokens    INTEGER,
        cost                INTEGER,
        provider_cost       INTEGER,
        catalog_version     TEXT,
        ttft_ms             INTEGER,
        latency_ms          INTEGER NOT NULL,
        tag                 TEXT,
        retry_after_until   INTEGER,
        fallback            INTEGER NOT NULL DEFAULT 0,
        prompt              TEXT,
        answer              TEXT,
        -- The row's `dims` id, and the `Flags` bits computed when it was recorded.
        dim                 INTEGER NOT NULL,
        flags               INTEGER NOT NULL
    );
    -- `--since` ranges and the newest-first request list.
    CREATE INDEX attempts_at ON attempts (at);
    -- Health: the last ok, the failures since it and the last 20 latencies of one
    -- model are each an index seek (outcome sits between key and time for that).
    CREATE INDEX attempts_health ON attempts (health_key, outcome, at);
    -- A request's attempts, in order.
    CREATE INDEX attempts_request ON attempts (request_id, attempt);
    -- The attempts of one `compare` run.
    CREATE INDEX attempts_group ON attempts (group_id) WHERE group_id IS NOT NULL;
    -- Retry-After deadlines are rare: a small partial index finds the latest at once.
    CREATE INDEX attempts_retry_after ON attempts (health_key, retry_after_until)
        WHERE retry_after_until IS NOT NULL;

    -- Every combination of the `--by` keys seen so far: a handful of rows.
    CREATE TABLE dims (
        id         INTEGER PRIMARY KEY,
        provider   TEXT NOT NULL,
        health_key TEXT NOT NULL,
        label      TEXT NOT NULL,
        tag        TEXT
    );
    CREATE INDEX dims_key ON dims (health_key, label, tag);

    -- Running totals per 15-minute slot (UTC; every time zone's offset is a
    -- multiple of 15 minutes, so a slot never straddles a local midnight) and per
    -- dim, kept in the same transaction as the attempts. `route cost` sums these
    -- instead of a million attempts. Each column adds up the per-row values of
    -- `ledger::Flags` and the token and cost columns.
    CREATE TABLE buckets (
        slot              INTEGER NOT NULL,
        dim               INTEGER NOT NULL,
        requests          INTEGER NOT NULL,
        model_requests    INTEGER NOT NULL,
        provider_requests INTEGER NOT NULL,
        alias_requests    INTEGER NOT NULL,
        attempts          INTEGER NOT NULL,
        input_tokens      INTEGER NOT NULL,
        output_tokens     INTEGER NOT NULL,
        cost              INTEGER NOT NULL,
        unknown_costs     INTEGER NOT NULL,
        answered          INTEGER NOT NULL,
        fell_back         INTEGER NOT NULL,
        PRIMARY KEY (slot, dim)
    ) WITHOUT ROWID;",
    // 2: the same running sums per dim over all time, so that `route cost` with
    // no `--since` adds up one row per dim instead of every bucket (a million
    // attempts fill some 400,000 buckets when many dims are used every 15
    // minutes). Started from the buckets, then kept with them.
    "CREATE TABLE dim_totals (
        dim               INTEGER PRIMARY KEY,
        requests          INTEGER NOT NULL,
        model_requests    INTEGER NOT NULL,
        provider_requests INTEGER NOT NULL,
        alias_requests    INTEGER NOT NULL,
        attempts          INTEGER NOT NULL,
        input_tokens      INTEGER NOT NULL,
        output_tokens     INTEGER NOT NULL,
        cost              INTEGER NOT NULL,
        unknown_costs     INTEGER NOT NULL,
        answered          INTEGER NOT NULL,
        fell_back         INTEGER NOT NULL
    );
    INSERT INTO dim_totals
        SELECT dim, SUM(requests), SUM(model_requests), SUM(provider_requests),
            SUM(alias_requests), SUM(attempts), SUM(input_tokens), SUM(output_tokens),
            SUM(cost), SUM(unknown_costs), SUM(answered), SUM(fell_back)
        FROM buckets GROUP BY dim;",
    // 3: the seam of an answer that broke off and was continued by another
    // model (issue 13): which attempt's text it continued, and where in the
    // answer this attempt's own text begins.
    "ALTER TABLE attempts ADD COLUMN continued_from INTEGER;
    ALTER TABLE attempts ADD COLUMN answer_from INTEGER;",
    // 4: the attempts whose usage is route's own count (a cut, stalled or
    // cancelled stream that reported none, or too little).
    "ALTER TABLE attempts ADD COLUMN estimated INTEGER NOT NULL DEFAULT 0;",
    // What was asked and answered, one row per `ask` request, apart from the
    // attempts so that the accounting reads never page through text.
    "CREATE TABLE turns (
        id              INTEGER PRIMARY KEY,
        request_id      TEXT    NOT NULL UNIQUE,
        conversation_id TEXT    NOT NULL,
        at              INTEGER NOT NULL,
        -- What -m named (alias, chain, provider/model): the next turn's default.
        reference       TEXT    NOT NULL,
        -- The model that answered, and what the provider says it ran.
        label           TEXT,
        served_model    TEXT,
        system          TEXT,
        prompt          TEXT    NOT NULL,
        -- JSON: [{\"hash\": …, \"name\": …, \"media\": …}], the bytes in `blobs`.
        attachments     TEXT,
        -- NULL when no model answered.
        answer          TEXT
    );
    -- Turns are appended in time order: the newest first is by id, and
    -- `--since` is a range of ids too, so no index on `at` (one page fewer
    -- for every request to write).
    CREATE INDEX turns_conversation ON turns (conversation_id, id);
    -- Each attachment's bytes once, however many turns send them.
    CREATE TABLE blobs (
        hash  TEXT PRIMARY KEY,
        media TEXT NOT NULL,
        bytes BLOB NOT NULL
    ) WITHOUT ROWID;
    -- `route log --search`: SQLite's full-text index over prompts and answers.
    -- It is brought up to date by the search itself (every turn up to
    -- `turns_fts_upto.id` is in it), so that `ask` pays nothing for it.
    CREATE VIRTUAL TABLE turns_fts USING fts5(
        prompt, answer, content = 'turns', content_rowid = 'id'
    );
    CREATE TABLE turns_fts_upto (id INTEGER NOT NULL);
    INSERT INTO turns_fts_upto VALUES (0);
    CREATE TRIGGER turns_fts_delete AFTER DELETE ON turns
        WHEN old.id <= (SELECT id FROM turns_fts_upto) BEGIN
        INSERT INTO turns_fts (turns_fts, rowid, prompt, answer)
            VALUES ('delete', old.id, old.prompt, old.answer);
    END;",
    // 6: what route learned about a server (its base_url) that the profile
    // does not say: `quirk` is `ledger::Quirk::as_str` (today only
    // `rejects_stream_options`), `at` the latest sighting.
    "CREATE TABLE servers (
        base_url TEXT    NOT NULL,
        quirk    TEXT    NOT NULL,
        at       INTEGER NOT NULL,
        PRIMARY KEY (base_url, quirk)
    ) WITHOUT ROWID;",
];

/// The schema version this build writes.
// A handful of migrations: the cast cannot wrap, and `try_from` is not const.
#[allow(clippy::cast_possible_wrap)]
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;

/// What stopped the migrations.
#[derive(Debug)]
pub(crate) enum MigrateError {
    Sqlite(rusqlite::Error),
    /// The file was written by a newer `route` with a schema this one does not know.
    TooNew(i64),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sqlite(e)
    }
}

/// The schema version of the open database.
pub(crate) fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Brings the schema up to [`VERSION`]; a no-op when it already is.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    // Cheap check first: an up-to-date ledger takes no write lock on open.
    match version(conn)? {
        v if v == VERSION => return Ok(()),
        v if v > VERSION => return Err(MigrateError::TooNew(v)),
        _ => {}
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Re-read under the write lock: another process may have migrated meanwhile.
    let current = version(&tx)?;
    if current > VERSION {
        return Err(MigrateError::TooNew(current));
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        tx.execute_batch(sql)?;
        // PRAGMA takes no bound parameters; the value is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_is_idempotent() {
        // -- Setup
        let mut conn = Connection::open_in_memory().unwrap();
        // -- Exec
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        // -- Check
        assert_eq!(version(&conn).unwrap(), VERSION);
        let n: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type IN ('table', 'index')
                 AND name NOT LIKE 'sqlite_%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        // 8 tables, 7 indexes, and the full-text index with its 4 shadow tables.
        assert_eq!(n, 20);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        assert!(matches!(migrate(&mut conn), Err(MigrateError::TooNew(99))));
    }
}
