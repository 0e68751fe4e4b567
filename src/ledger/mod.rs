//! The ledger: one SQLite row per attempt, in `<data dir>/ledger.db`.
//!
//! It is the memory `route` keeps between runs: what each request cost (for
//! `route cost` and the budgets), and how each model has been doing (for cooldowns,
//! Retry-After deadlines and `route models`). Everything else in `route` is
//! stateless.
//!
//! Many `route` processes may write at once (a shell loop, `compare`, parallel
//! scripts), so the file runs in WAL mode, every write is a `BEGIN IMMEDIATE`
//! transaction (it takes the write lock up front instead of failing when it tries
//! to upgrade a read lock), and a 10 s busy timeout makes writers queue rather than
//! drop rows. Times are stored as unix milliseconds and money as integer
//! picodollars ([`Usd`]), so sums are exact and done by SQLite.
//!
//! Aggregates for `route cost` live in [`query`]; the schema in `migrations`.

mod migrations;
pub mod query;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rusqlite::config::DbConfig;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, OptionalExtension, ToSql, TransactionBehavior, params};

use crate::money::Usd;
use crate::provider::ErrorKind;
use crate::router::Outcome;
use crate::router::plan::{Health, LastError, Spent};
use crate::time::{from_unix_ms, unix_ms};

/// The ledger's file name inside the data folder.
pub const FILE_NAME: &str = "ledger.db";

/// How long a writer waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Pages (4 KiB) the WAL may hold before a commit checkpoints it; one
/// `ask` writes about five.
const WAL_AUTOCHECKPOINT: i64 = 100;

/// How many recent successes the median latency is taken over.
const LATENCY_WINDOW: i64 = 20;

/// The folder of the ledger and the catalog cache: `ROUTE_DATA_DIR` when set,
/// else `<data dir>/route` (e.g. `~/.local/share/route` on Linux). `None` when
/// the platform has no home folder to put it in.
pub fn data_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(dir) = env(crate::env::ROUTE_DATA_DIR).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    Some(directories::BaseDirs::new()?.data_dir().join("route"))
}

/// One attempt: a request sent to one model, and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The request this attempt belongs to.
    pub request_id: String,
    /// The id a `compare` run shares across its requests (one per model).
    pub group_id: Option<String>,
    /// 1-based count across the whole request; the first attempt is 1.
    pub attempt: u32,
    /// When the attempt started.
    pub at: SystemTime,
    /// `ask`, `compare`, `drill` or `check` (`route models --check`).
    pub command: String,
    /// The profile file the request ran with.
    pub profile: Option<String>,
    /// The model alias, when the target was one.
    pub alias: Option<String>,
    /// The chain, when the request went through one.
    pub chain: Option<String>,
    /// How the user named the target: the alias, or `provider/model`.
    pub label: String,
    pub provider: String,
    /// The model id requested.
    pub model: String,
    /// The model id the provider says it ran.
    pub served_model: Option<String>,
    /// `provider/model`: what health and cooldowns are kept per.
    pub health_key: String,
    pub outcome: Outcome,
    pub error_kind: Option<ErrorKind>,
    pub http_status: Option<u16>,
    pub error_message: Option<String>,
    /// Token counts; `None` when the provider reported no usage.
    pub input_tokens: Option<u64>,
    pub cached_input_tokens: Option<u64>,
    pub cache_write_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
    /// Our figure; `None` when the price is unknown.
    pub cost: Option<Usd>,
    /// The provider's own figure (OpenRouter), which wins over ours when present.
    pub provider_cost: Option<Usd>,
    /// The price catalog `cost` was computed with.
    pub catalog_version: Option<String>,
    pub ttft_ms: Option<u64>,
    pub latency_ms: u64,
    /// `--tag`.
    pub tag: Option<String>,
    /// A Retry-After deadline the provider gave.
    pub retry_after_until: Option<SystemTime>,
    /// The request had an earlier failed attempt.
    pub fallback: bool,
    /// Only filled when the profile says `store_text`.
    pub prompt: Option<String>,
    /// Only filled when the profile says `store_text`.
    pub answer: Option<String>,
}

/// What the ledger was doing when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Open,
    Read,
    Write,
}

/// Why the ledger failed.
#[derive(Debug)]
enum Cause {
    Io(std::io::Error),
    Sqlite(rusqlite::Error),
    TooNew(i64),
}

/// A ledger failure, naming the file and the cause:
/// `cannot write the ledger at /x/ledger.db: attempt to write a readonly database`.
#[derive(Debug)]
pub struct LedgerError {
    pub action: Action,
    pub path: PathBuf,
    cause: Cause,
}

impl LedgerError {
    fn sqlite(action: Action, path: &Path) -> impl FnOnce(rusqlite::Error) -> LedgerError {
        let path = path.to_path_buf();
        move |e| LedgerError {
            action,
            path,
            cause: Cause::Sqlite(e),
        }
    }
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.action {
            Action::Open => "open",
            Action::Read => "read",
            Action::Write => "write",
        };
        write!(f, "cannot {verb} the ledger at {}: ", self.path.display())?;
        match &self.cause {
            Cause::Io(e) => write!(f, "{e}"),
            // rusqlite's Display of a failure is SQLite's own message.
            Cause::Sqlite(rusqlite::Error::SqliteFailure(e, msg)) => {
                let text = msg.clone().unwrap_or_else(|| e.to_string());
                if e.code == rusqlite::ErrorCode::CannotOpen {
                    write!(f, "{text} (is the folder writable?)")
                } else {
                    f.write_str(&text)
                }
            }
            Cause::Sqlite(e) => write!(f, "{e}"),
            Cause::TooNew(v) => write!(
                f,
                "it was written by a newer route (schema {v}, this one knows up to {})",
                migrations::VERSION
            ),
        }
    }
}

impl std::error::Error for LedgerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            Cause::Io(e) => Some(e),
            Cause::Sqlite(e) => Some(e),
            Cause::TooNew(_) => None,
        }
    }
}

/// An open ledger. One per process; not shared between threads.
#[derive(Debug)]
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
}

impl Ledger {
    /// Opens the ledger in `dir`, creating the folder and the file when missing,
    /// and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Ledger, LedgerError> {
        let path = dir.join(FILE_NAME);
        std::fs::create_dir_all(dir).map_err(|e| LedgerError {
            action: Action::Open,
            path: path.clone(),
            cause: Cause::Io(e),
        })?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags)
            .map_err(LedgerError::sqlite(Action::Open, &path))?;
        Self::setup(conn, path, true)
    }

    /// Opens an existing ledger for a command that only reads: `Ok(None)` when
    /// there is none yet, and nothing is created.
    pub fn open_read(dir: &Path) -> Result<Option<Ledger>, LedgerError> {
        let path = dir.join(FILE_NAME);
        if !path.is_file() {
            return Ok(None);
        }
        // No CREATE flag: a file deleted meanwhile is an error, not a new ledger.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags)
            .map_err(LedgerError::sqlite(Action::Open, &path))?;
        Self::setup(conn, path, false).map(Some)
    }

    fn setup(mut conn: Connection, path: PathBuf, wal: bool) -> Result<Ledger, LedgerError> {
        let fail = || LedgerError::sqlite(Action::Open, &path);
        // First, so that everything after it waits for other processes' locks.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(fail())?;
        // Every `route` process is the last to close the file, and SQLite
        // checkpoints the WAL into the database on the last close: two fsyncs,
        // and the WAL and shm files deleted, to be created again (one more
        // fsync) by the next process. Leave the WAL for the next process
        // instead; SQLite still checkpoints it once it passes
        // `wal_autocheckpoint` pages, in whichever process commits then, and a
        // small limit keeps the WAL that each opening process reads short.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .map_err(fail())?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)
            .map_err(fail())?;
        if wal {
            // WAL lets readers run while one process writes; the mode is stored in
            // the file, so read-only opens need not set it. Switching a new file
            // to WAL needs an exclusive lock, and SQLite reports BUSY there
            // without calling the busy handler when another process is opening
            // the same new file: wait by hand.
            retry_busy(|| {
                let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
                if !mode.eq_ignore_ascii_case("wal") {
                    conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))?;
                }
                Ok(())
            })
            .map_err(fail())?;
        }
        // `route cost` without a limit walks the whole file; SQLite's default
        // 2 MB page cache makes that re-read pages many times over.
        conn.pragma_update(None, "cache_size", -16_000)
            .map_err(fail())?;
        // In WAL mode NORMAL cannot corrupt the file; a power cut may lose the last
        // few commits, which is an acceptable trade for 1 ms inserts.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail())?;
        migrations::migrate(&mut conn).map_err(|e| LedgerError {
            action: if wal { Action::Write } else { Action::Open },
            path: path.clone(),
            cause: match e {
                migrations::MigrateError::Sqlite(e) => Cause::Sqlite(e),
                migrations::MigrateError::TooNew(v) => Cause::TooNew(v),
            },
        })?;
        Ok(Ledger { conn, path })
    }

    /// The file this ledger lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_err(&self) -> impl FnOnce(rusqlite::Error) -> LedgerError {
        LedgerError::sqlite(Action::Read, &self.path)
    }

    /// Appends rows, all or none, in one transaction, and adds them to the
    /// rollups `route cost` reads.
    pub fn record(&mut self, rows: &[Row]) -> Result<(), LedgerError> {
        let fail = || LedgerError::sqlite(Action::Write, &self.path);
        // IMMEDIATE: take the write lock now, so the busy timeout applies; a
        // deferred transaction that later needs to upgrade fails with BUSY at once.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail())?;
        write_rows(&tx, rows).map_err(fail())?;
        tx.commit().map_err(fail())
    }

    /// The attempts of one request, in order.
    pub fn request(&self, request_id: &str) -> Result<Vec<Row>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM attempts WHERE request_id = ?1 ORDER BY attempt"
            ))
            .map_err(self.read_err())?;
        stmt.query_map([request_id], row_from_sql)
            .and_then(Iterator::collect)
            .map_err(self.read_err())
    }

    /// What the ledger remembers about each model of `keys` (`provider/model`).
    /// A model with no rows gets a default [`Health`].
    ///
    /// - consecutive failures: `error` and `incomplete` attempts since the last
    ///   `ok` one (`cancelled` ones count as neither);
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
                    params![key, Outcome::Ok, Outcome::Error, Outcome::Incomplete],
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
fn write_rows(tx: &rusqlite::Transaction<'_>, rows: &[Row]) -> rusqlite::Result<()> {
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
        let dim: i64 = match find_dim.query_row(key, |x| x.get(0)).optional()? {
            Some(id) => id,
            None => {
                add_dim.execute(key)?;
                tx.last_insert_rowid()
            }
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

/// Runs `op` again while SQLite says the database is busy, for up to
/// [`BUSY_TIMEOUT`], for the few places where its own busy handler is skipped.
fn retry_busy<T>(mut op: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match op() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && start.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            result => return result,
        }
    }
}

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

/// Counts as SQLite integers; nothing real comes near `i64::MAX`.
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
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

const INSERT: &str = "INSERT INTO attempts (
    request_id, group_id, attempt, at, command, profile, alias, chain, label, provider,
    model, served_model, health_key, outcome, error_kind, http_status, error_message,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
    cost, provider_cost, catalog_version, ttft_ms, latency_ms, tag, retry_after_until,
    fallback, prompt, answer, dim, flags
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
    ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34)";

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

/// The columns [`row_from_sql`] reads, in its order.
const COLUMNS: &str = "request_id, group_id, attempt, at, command, profile, alias, chain, label,
    provider, model, served_model, health_key, outcome, error_kind, http_status,
    error_message, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
    reasoning_tokens, cost, provider_cost, catalog_version, ttft_ms, latency_ms, tag,
    retry_after_until, fallback, prompt, answer";

fn row_from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
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
    })
}

/// One model's health in one row: failures since the last ok, the latest
/// Retry-After given since then, and the last failure. Every part is a seek on
/// `attempts_health` or `attempts_retry_after`.
/// `?2`..`?4` are the outcomes `ok`, `error` and `incomplete`, bound through
/// [`Outcome`]'s one spelling.
const HEALTH: &str = "
SELECT
    (SELECT COUNT(*) FROM attempts
        WHERE health_key = ?1 AND outcome IN (?3, ?4) AND at > ok.t),
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
/// SQLite's `localtime`/`utc` modifiers do the time-zone work.
const LOCAL_DAY_AND_MONTH: &str = "SELECT
    CAST(strftime('%s', ?1 / 1000, 'unixepoch', 'localtime', 'start of day', 'utc')
        AS INTEGER) * 1000,
    CAST(strftime('%s', ?1 / 1000, 'unixepoch', 'localtime', 'start of month', 'utc')
        AS INTEGER) * 1000";

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    /// A minimal attempt; tests fill in what they check.
    pub(crate) fn row(
        request_id: &str,
        attempt: u32,
        at_ms: i64,
        key: &str,
        outcome: Outcome,
    ) -> Row {
        let (provider, model) = key.split_once('/').unwrap_or((key, key));
        Row {
            request_id: request_id.into(),
            group_id: None,
            attempt,
            at: from_unix_ms(at_ms),
            command: "ask".into(),
            profile: None,
            alias: None,
            chain: None,
            label: key.into(),
            provider: provider.into(),
            model: model.into(),
            served_model: None,
            health_key: key.into(),
            outcome,
            error_kind: (outcome != Outcome::Ok).then_some(ErrorKind::Server),
            http_status: None,
            error_message: None,
            input_tokens: None,
            cached_input_tokens: None,
            cache_write_tokens: None,
            output_tokens: None,
            reasoning_tokens: None,
            cost: None,
            provider_cost: None,
            catalog_version: None,
            ttft_ms: None,
            latency_ms: 100,
            tag: None,
            retry_after_until: None,
            fallback: attempt > 1,
            prompt: None,
            answer: None,
        }
    }

    pub(crate) fn temp_ledger() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        (dir, ledger)
    }

    /// 2026-11-15 12:00 UTC: mid-month in every time zone.
    pub(crate) fn noon() -> i64 {
        unix_ms(crate::time::parse_date("2026-11-15").unwrap()) + 12 * 3_600_000
    }

    fn count(ledger: &Ledger) -> i64 {
        ledger
            .conn
            .query_row("SELECT COUNT(*) FROM attempts", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn data_dir_prefers_the_env_var() {
        let env = |k: &str| (k == "ROUTE_DATA_DIR").then(|| "/x/y".to_owned());
        assert_eq!(data_dir(&env), Some(PathBuf::from("/x/y")));
        let empty = |k: &str| (k == "ROUTE_DATA_DIR").then(String::new);
        assert_ne!(data_dir(&empty), Some(PathBuf::new()));
    }

    #[test]
    fn records_and_reads_back_every_field() {
        // -- Setup
        let (_dir, mut ledger) = temp_ledger();
        let full = Row {
            request_id: "r1".into(),
            group_id: Some("g1".into()),
            attempt: 2,
            at: from_unix_ms(1_763_000_000_123),
            command: "compare".into(),
            profile: Some("/p/profile.toml".into()),
            alias: Some("sonnet".into()),
            chain: Some("main".into()),
            label: "sonnet".into(),
            provider: "anthropic".into(),
            model: "claude-sonnet-4-5".into(),
            served_model: Some("claude-sonnet-4-5-20250929".into()),
            health_key: "anthropic/claude-sonnet-4-5".into(),
            outcome: Outcome::Error,
            error_kind: Some(ErrorKind::RateLimit),
            http_status: Some(429),
            error_message: Some("slow down".into()),
            input_tokens: Some(12),
            cached_input_tokens: Some(3),
            cache_write_tokens: Some(4),
            output_tokens: Some(40),
            reasoning_tokens: Some(7),
            cost: Some(Usd::from_picos(636_000_000)),
            provider_cost: Some(Usd::from_picos(700_000_000)),
            catalog_version: Some("2026-11-01".into()),
            ttft_ms: Some(240),
            latency_ms: 812,
            tag: Some("exp".into()),
            retry_after_until: Some(from_unix_ms(1_763_000_060_000)),
            fallback: true,
            prompt: Some("hi".into()),
            answer: Some("hello".into()),
        };
        let bare = row("r1", 1, 1_763_000_000_000, "openai/gpt", Outcome::Error);
        // -- Exec
        ledger.record(&[full.clone(), bare.clone()]).unwrap();
        // -- Check
        assert_eq!(ledger.request("r1").unwrap(), vec![bare, full]);
        assert!(ledger.request("nope").unwrap().is_empty());
    }

    #[test]
    fn reopening_runs_no_migration_twice() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = Ledger::open(dir.path()).unwrap();
        first.record(&[row("r", 1, 1, "a/b", Outcome::Ok)]).unwrap();
        drop(first);
        let again = Ledger::open(dir.path()).unwrap();
        assert_eq!(
            migrations::version(&again.conn).unwrap(),
            migrations::VERSION
        );
        assert_eq!(count(&again), 1);
        let read = Ledger::open_read(dir.path()).unwrap().unwrap();
        assert_eq!(count(&read), 1);
        let mode: String = again
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn open_read_never_creates_a_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("not-yet");
        assert!(Ledger::open_read(&missing).unwrap().is_none());
        assert!(Ledger::open_read(dir.path()).unwrap().is_none());
        assert!(!missing.exists());
        assert!(!dir.path().join(FILE_NAME).exists());
    }

    #[test]
    fn concurrent_writers_lose_no_row() {
        // -- Setup
        let dir = tempfile::tempdir().unwrap();
        // -- Exec: 8 threads racing to create the file, then each insert on a
        // connection of its own, as 200 `route ask` processes would.
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let dir = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let id = format!("t{t}-{i}");
                        let mut ledger = Ledger::open(&dir).unwrap();
                        ledger
                            .record(&[row(&id, 1, i, "a/b", Outcome::Ok)])
                            .unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        // -- Check
        assert_eq!(count(&Ledger::open(dir.path()).unwrap()), 200);
    }

    #[test]
    fn a_read_only_folder_is_a_clear_error() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
        // root ignores permissions: there is nothing to check then.
        if std::fs::write(locked.join("probe"), b"").is_ok() {
            return;
        }
        let err = Ledger::open(&locked).unwrap_err().to_string();
        let path = locked.join(FILE_NAME);
        assert!(
            err.starts_with(&format!("cannot open the ledger at {}: ", path.display())),
            "{err}"
        );
        assert!(err.contains("unable to open database file"), "{err}");
        let nested = Ledger::open(&locked.join("sub")).unwrap_err().to_string();
        assert!(nested.contains("Permission denied"), "{nested}");
    }

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
