//! The ledger: one `SQLite` row per attempt, in `<data dir>/ledger.db`.
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
//! picodollars ([`Usd`]), so sums are exact and done by `SQLite`.
//!
//! Aggregates for `route cost` live in [`query`]; the schema in `migrations`; the
//! health and spend reads in `health`; what it learned about servers in
//! `servers`; the writes and their rollups in `write`.

mod columns;
pub mod content;
mod error;
mod health;
mod migrations;
pub mod query;
mod servers;
mod write;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use error::{Action, LedgerError};
pub use servers::Quirk;

use columns::{COLUMNS, row_from_sql};
use error::Cause;
pub(crate) use write::SLOT_MS;
#[cfg(test)]
pub(crate) use write::flags;
use write::write_rows;

use crate::money::Usd;
use crate::provider::ErrorKind;
use crate::router::Outcome;

/// The ledger's file name inside the data folder.
pub const FILE_NAME: &str = "ledger.db";

/// How long a writer waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Pages (4 KiB) the WAL may hold before a commit checkpoints it; one
/// `ask` writes about five.
const WAL_AUTOCHECKPOINT: i64 = 100;

/// A WAL file larger than this is checkpointed and truncated by the next
/// process that opens the ledger to write: every opening process reads the
/// whole file to rebuild its index, and `SQLite`'s own checkpoints, run by
/// short-lived processes that never close last with a checkpoint, let it grow
/// to megabytes.
const WAL_SIZE_LIMIT: u64 = 1024 * 1024;

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
    /// The provider's own figure (`OpenRouter`), which wins over ours when present.
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
    /// Only filled when the profile says `store_text`: the answer up to the
    /// end of this attempt, the text it continued included.
    pub answer: Option<String>,
    /// The seam: the attempt (its number) whose broken-off answer this one
    /// continued, and the byte offset in the answer where this attempt's own
    /// text begins.
    pub continued_from: Option<u32>,
    pub answer_from: Option<u64>,
    /// The token counts (and so the cost) are partly route's own count of
    /// what was sent and received: the provider reported less.
    pub estimated: bool,
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
        private(dir, &path).map_err(|e| LedgerError {
            action: Action::Open,
            path: path.clone(),
            cause: Cause::Io(e),
        })?;
        let ledger = Self::setup(conn, path, true)?;
        ledger.truncate_wal_if_large();
        Ok(ledger)
    }

    /// See [`WAL_SIZE_LIMIT`]. Best effort: a checkpoint another process
    /// holds up is left for a later one.
    pub(crate) fn truncate_wal_if_large(&self) {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_SIZE_LIMIT) {
            let _ = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
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
        let ledger = Self::setup(conn, path, false)?;
        ledger.truncate_wal_if_large();
        Ok(Some(ledger))
    }

    fn setup(mut conn: Connection, path: PathBuf, wal: bool) -> Result<Ledger, LedgerError> {
        let fail = || LedgerError::sqlite(Action::Open, &path);
        // First, so that everything after it waits for other processes' locks.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(fail())?;
        // Every `route` process is the last to close the file, and `SQLite`
        // checkpoints the WAL into the database on the last close: two fsyncs,
        // and the WAL and shm files deleted, to be created again (one more
        // fsync) by the next process. Leave the WAL for the next process
        // instead; `SQLite` still checkpoints it once it passes
        // `wal_autocheckpoint` pages, in whichever process commits then, and a
        // small limit keeps the WAL that each opening process reads short.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .map_err(fail())?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)
            .map_err(fail())?;
        if wal {
            // WAL lets readers run while one process writes; the mode is stored in
            // the file, so read-only opens need not set it. Switching a new file
            // to WAL needs an exclusive lock, and `SQLite` reports BUSY there
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
        // `route cost` without a limit walks the whole file; `SQLite`'s default
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
}

/// The ledger holds prompts and answers: its folder is the owner's alone
/// (0700) and so is the file (0600; `SQLite` gives its WAL and shared-memory
/// files the same mode). Only a mode that lets others in is changed.
#[cfg(unix)]
fn private(dir: &Path, file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    for (path, mode) in [(dir, 0o700), (file, 0o600)] {
        let now = std::fs::metadata(path)?.permissions().mode();
        if now & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn private(_dir: &Path, _file: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Runs `op` again while `SQLite` says the database is busy, for up to
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::time::{from_unix_ms, unix_ms};

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
            continued_from: None,
            answer_from: None,
            estimated: false,
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
            continued_from: Some(1),
            answer_from: Some(3),
            estimated: true,
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
}
