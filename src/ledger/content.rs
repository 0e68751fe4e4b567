//! What was asked and answered: one [`Turn`] per `ask` request, in the
//! `turns` table beside the attempts, the attachments' bytes once each in
//! `blobs`, and a full-text index (FTS5) over prompts and answers for
//! `route log --search`. Conversations (`-c`, `--cid`) are read back from here.

use std::time::SystemTime;

use rusqlite::{OptionalExtension as _, params};
use serde::{Deserialize, Serialize};

use super::{Action, Ledger, LedgerError};
use crate::money::Usd;
use crate::provider::types::{Attachment, Media};
use crate::time::{from_unix_ms, unix_ms};

/// One request's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub request_id: String,
    pub conversation_id: String,
    pub at: SystemTime,
    /// What `-m` named (or the profile's default): the next turn's model.
    pub reference: String,
    /// The model that answered, and what the provider says it ran.
    pub label: Option<String>,
    pub served_model: Option<String>,
    pub system: Option<String>,
    pub prompt: String,
    pub attachments: Vec<StoredAttachment>,
    /// `None` when no model answered.
    pub answer: Option<String>,
}

/// An attachment as a turn names it; its bytes are in `blobs` by `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAttachment {
    pub hash: String,
    pub name: String,
    /// The MIME type.
    pub media: String,
}

impl StoredAttachment {
    pub fn of(a: &Attachment) -> StoredAttachment {
        StoredAttachment {
            hash: a.hash.clone(),
            name: a.name.clone(),
            media: a.media.mime().to_owned(),
        }
    }
}

/// A turn as `route log` lists it, with what its attempts cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub turn: Turn,
    /// The sum of its attempts' costs; `None` when one is unknown.
    pub cost: Option<Usd>,
    /// `YYYY-MM-DD HH:MM`, local time.
    pub local_time: String,
}

/// What `route log` lists.
#[derive(Debug, Clone, Default)]
pub struct LogFilter<'a> {
    pub limit: usize,
    pub conversation_id: Option<&'a str>,
    /// Words that must all appear in the prompt or the answer.
    pub search: Option<&'a str>,
    pub since: Option<SystemTime>,
}

/// What an id (or a prefix of one) given to `--cid` or `route log show` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Conversation(String),
    Request {
        request_id: String,
        conversation_id: String,
    },
    /// More than one: the prefix is too short.
    Ambiguous,
    None,
}

const TURN_COLUMNS: &str = "request_id, conversation_id, at, reference, label, served_model, \
                            system, prompt, attachments, answer";

/// [`TURN_COLUMNS`] of the `turns` table, for a query that joins another
/// with columns of the same names (the full-text index).
const TURN_COLUMNS_OF_TURNS: &str = "turns.request_id, turns.conversation_id, turns.at, \
    turns.reference, turns.label, turns.served_model, turns.system, turns.prompt, \
    turns.attachments, turns.answer";

fn turn_from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<Turn> {
    let attachments: Option<String> = r.get(8)?;
    Ok(Turn {
        request_id: r.get(0)?,
        conversation_id: r.get(1)?,
        at: from_unix_ms(r.get(2)?),
        reference: r.get(3)?,
        label: r.get(4)?,
        served_model: r.get(5)?,
        system: r.get(6)?,
        prompt: r.get(7)?,
        // Written by route from the same type: anything else is no attachment.
        attachments: attachments
            .and_then(|a| serde_json::from_str(&a).ok())
            .unwrap_or_default(),
        answer: r.get(9)?,
    })
}

/// Inserts a turn and the bytes of attachments not stored yet, inside the
/// transaction that records its attempts.
pub(super) fn write_turn(
    tx: &rusqlite::Transaction<'_>,
    turn: &Turn,
    files: &[&Attachment],
) -> rusqlite::Result<()> {
    let attachments = (!turn.attachments.is_empty())
        .then(|| serde_json::to_string(&turn.attachments).unwrap_or_default());
    tx.prepare_cached(&format!(
        "INSERT INTO turns ({TURN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))?
    .execute(params![
        turn.request_id,
        turn.conversation_id,
        unix_ms(turn.at),
        turn.reference,
        turn.label,
        turn.served_model,
        turn.system,
        turn.prompt,
        attachments,
        turn.answer,
    ])?;
    let mut blob = tx.prepare_cached(
        "INSERT INTO blobs (hash, media, bytes) VALUES (?1, ?2, ?3) ON CONFLICT (hash) DO NOTHING",
    )?;
    for file in files {
        blob.execute(params![file.hash, file.media.mime(), &file.bytes[..]])?;
    }
    Ok(())
}

/// `"word" "word"`: each word of the user's text as an FTS5 phrase, so that
/// quotes, `AND`, `*` and the like are searched for, never parsed.
fn fts_query(text: &str) -> String {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    words.join(" ")
}

impl Ledger {
    /// The conversation of the newest turn.
    pub fn latest_conversation(&self) -> Result<Option<String>, LedgerError> {
        self.conn
            .query_row(
                "SELECT conversation_id FROM turns ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.read_err())
    }

    /// The conversation or request an id, or a prefix of one of at least four
    /// characters, names.
    pub fn find(&self, id: &str) -> Result<Found, LedgerError> {
        if id.len() < 4 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Found::None);
        }
        let upper = format!("{id}\u{10FFFF}");
        let conversations: Vec<String> = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT conversation_id FROM turns
                 WHERE conversation_id >= ?1 AND conversation_id < ?2 LIMIT 2",
            )
            .and_then(|mut s| {
                s.query_map([id, upper.as_str()], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(self.read_err())?;
        match conversations.as_slice() {
            [one] => return Ok(Found::Conversation(one.clone())),
            [_, _, ..] => return Ok(Found::Ambiguous),
            [] => {}
        }
        let requests: Vec<(String, String)> = self
            .conn
            .prepare_cached(
                "SELECT request_id, conversation_id FROM turns
                 WHERE request_id >= ?1 AND request_id < ?2 LIMIT 2",
            )
            .and_then(|mut s| {
                s.query_map([id, upper.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(self.read_err())?;
        Ok(match requests.as_slice() {
            [(request_id, conversation_id)] => Found::Request {
                request_id: request_id.clone(),
                conversation_id: conversation_id.clone(),
            },
            [_, _, ..] => Found::Ambiguous,
            [] => Found::None,
        })
    }

    /// Every turn of a conversation, oldest first.
    pub fn conversation(&self, conversation_id: &str) -> Result<Vec<Logged>, LedgerError> {
        self.read(
            "WHERE conversation_id = ? ORDER BY id",
            vec![conversation_id.to_owned().into()],
        )
    }

    /// A conversation's turns, oldest first, without what `route log` shows
    /// beside them (cost, local time): what `-c` sends again.
    pub fn history(&self, conversation_id: &str) -> Result<Vec<Turn>, LedgerError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {TURN_COLUMNS} FROM turns WHERE conversation_id = ?1 ORDER BY id"
            ))
            .and_then(|mut s| {
                s.query_map([conversation_id], turn_from_sql)?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(self.read_err())
    }

    /// One turn.
    pub fn turn(&self, request_id: &str) -> Result<Option<Logged>, LedgerError> {
        Ok(self
            .read("WHERE request_id = ?", vec![request_id.to_owned().into()])?
            .pop())
    }

    /// The newest turn.
    pub fn latest_turn(&self) -> Result<Option<Logged>, LedgerError> {
        Ok(self.read("ORDER BY id DESC LIMIT 1", Vec::new())?.pop())
    }

    /// Turns, with their local time and cost, by a query's tail.
    fn read(
        &self,
        tail: &str,
        values: Vec<rusqlite::types::Value>,
    ) -> Result<Vec<Logged>, LedgerError> {
        let sql = format!(
            "SELECT {TURN_COLUMNS_OF_TURNS},
                    strftime('%Y-%m-%d %H:%M', turns.at / 1000, 'unixepoch', 'localtime')
             FROM turns {tail}"
        );
        let read: Vec<(Turn, String)> = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(rusqlite::params_from_iter(values), |r| {
                    Ok((turn_from_sql(r)?, r.get(10)?))
                })?
                .collect::<rusqlite::Result<_>>()
            })
            .map_err(self.read_err())?;
        read.into_iter()
            .map(|(turn, local_time)| {
                let cost = self.request_cost(&turn.request_id)?;
                Ok(Logged {
                    turn,
                    cost,
                    local_time,
                })
            })
            .collect()
    }

    /// An attachment's bytes, by hash.
    pub fn blob(&self, hash: &str) -> Result<Option<(Media, Vec<u8>)>, LedgerError> {
        let found: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT bytes FROM blobs WHERE hash = ?1")
            .and_then(|mut s| s.query_row([hash], |r| r.get(0)).optional())
            .map_err(self.read_err())?;
        Ok(found.and_then(|bytes| Media::sniff(&bytes).map(|m| (m, bytes))))
    }

    /// Turns, newest first, as `route log` lists them. With a search the
    /// full-text index leads: its matches are walked newest first (turns are
    /// appended in time order, so by id) until `limit` pass the other
    /// filters, so that common words over a large ledger cost no sort of
    /// every match.
    pub fn log(&self, filter: &LogFilter<'_>) -> Result<Vec<Logged>, LedgerError> {
        let search = filter.search.filter(|t| !t.trim().is_empty());
        if search.is_some() {
            self.index_new_turns()?;
        }
        let mut clauses = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(text) = search {
            clauses.push("turns_fts MATCH ?");
            values.push(fts_query(text).into());
        }
        if let Some(c) = filter.conversation_id {
            clauses.push("conversation_id = ?");
            values.push(c.to_owned().into());
        }
        if let Some(since) = filter.since {
            clauses.push("at >= ?");
            values.push(unix_ms(since).into());
        }
        let mut tail = if search.is_some() {
            "JOIN turns_fts ON turns_fts.rowid = turns.id".to_owned()
        } else {
            String::new()
        };
        if !clauses.is_empty() {
            tail.push_str(" WHERE ");
            tail.push_str(&clauses.join(" AND "));
        }
        tail.push_str(if search.is_some() {
            " ORDER BY turns_fts.rowid DESC LIMIT ?"
        } else {
            " ORDER BY id DESC LIMIT ?"
        });
        values.push(i64::try_from(filter.limit).unwrap_or(i64::MAX).into());
        self.read(&tail, values)
    }

    /// Adds the turns stored since the last search to the full-text index, in
    /// one write transaction (an `ask` recording meanwhile waits, so none is
    /// missed): the index costs the searches, not every request.
    fn index_new_turns(&self) -> Result<(), LedgerError> {
        let fail = LedgerError::sqlite(Action::Write, &self.path);
        let behind: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM turns WHERE id > (SELECT id FROM turns_fts_upto))",
                [],
                |r| r.get(0),
            )
            .map_err(self.read_err())?;
        if !behind {
            return Ok(());
        }
        self.conn
            .execute_batch(
                "BEGIN IMMEDIATE;
                 INSERT INTO turns_fts (rowid, prompt, answer)
                     SELECT id, prompt, answer FROM turns
                     WHERE id > (SELECT id FROM turns_fts_upto) ORDER BY id;
                 UPDATE turns_fts_upto SET id = (SELECT COALESCE(MAX(id), 0) FROM turns);
                 COMMIT;",
            )
            .map_err(|e| {
                let _ = self.conn.execute_batch("ROLLBACK");
                fail(e)
            })?;
        // Indexing many turns at once leaves a large WAL that every later
        // process would read.
        self.truncate_wal_if_large();
        Ok(())
    }

    /// What a request's attempts cost: `None` when one's price is unknown.
    fn request_cost(&self, request_id: &str) -> Result<Option<Usd>, LedgerError> {
        let (sum, unknown): (i64, i64) = self
            .conn
            .prepare_cached(
                "SELECT COALESCE(SUM(COALESCE(provider_cost, cost)), 0),
                        COUNT(*) - COUNT(COALESCE(provider_cost, cost))
                 FROM attempts WHERE request_id = ?1",
            )
            .and_then(|mut s| s.query_row([request_id], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(self.read_err())?;
        Ok((unknown == 0).then(|| Usd::from_picos(sum)))
    }

    /// Records a request's attempts and its turn in one transaction.
    pub fn record_turn(
        &mut self,
        rows: &[super::Row],
        turn: &Turn,
        files: &[&Attachment],
    ) -> Result<(), LedgerError> {
        let fail = || LedgerError::sqlite(Action::Write, &self.path);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(fail())?;
        super::write::write_rows(&tx, rows).map_err(fail())?;
        write_turn(&tx, turn, files).map_err(fail())?;
        tx.commit().map_err(fail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(request: &str, conversation: &str, at_ms: i64, prompt: &str, answer: &str) -> Turn {
        Turn {
            request_id: request.into(),
            conversation_id: conversation.into(),
            at: from_unix_ms(at_ms),
            reference: "main".into(),
            label: Some("sonnet".into()),
            served_model: None,
            system: None,
            prompt: prompt.into(),
            attachments: Vec::new(),
            answer: Some(answer.into()),
        }
    }

    #[test]
    fn turns_read_back_by_conversation_prefix_and_search() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(dir.path()).unwrap();
        let png = Attachment {
            media: Media::Png,
            name: "shot.png".into(),
            hash: "ab12".into(),
            bytes: b"\x89PNG\r\n\x1a\nrest".to_vec().into(),
        };
        let mut first = turn(
            "aaaa0001",
            "aaaa0001",
            1000,
            "what is TCP slow start",
            "It ramps up.",
        );
        first.attachments = vec![StoredAttachment::of(&png)];
        ledger.record_turn(&[], &first, &[&png]).unwrap();
        // The same bytes again are kept once.
        let second = turn(
            "bbbb0002",
            "aaaa0001",
            2000,
            "and in Python?",
            "Use asyncio \"quoted\"",
        );
        ledger.record_turn(&[], &second, &[&png]).unwrap();
        ledger
            .record_turn(&[], &turn("cccc0003", "cccc0003", 3000, "other", "x"), &[])
            .unwrap();

        assert_eq!(
            ledger.latest_conversation().unwrap().as_deref(),
            Some("cccc0003")
        );
        let turns: Vec<Turn> = ledger
            .conversation("aaaa0001")
            .unwrap()
            .into_iter()
            .map(|l| l.turn)
            .collect();
        assert_eq!(turns, vec![first.clone(), second]);
        assert_eq!(
            ledger
                .latest_turn()
                .unwrap()
                .map(|l| l.turn.request_id)
                .as_deref(),
            Some("cccc0003")
        );
        assert_eq!(
            ledger.find("aaaa").unwrap(),
            Found::Conversation("aaaa0001".into())
        );
        assert_eq!(
            ledger.find("bbbb").unwrap(),
            Found::Request {
                request_id: "bbbb0002".into(),
                conversation_id: "aaaa0001".into()
            }
        );
        assert_eq!(ledger.find("dddd").unwrap(), Found::None);
        assert_eq!(ledger.find("x").unwrap(), Found::None);
        let (media, bytes) = ledger.blob("ab12").unwrap().unwrap();
        assert_eq!((media, &bytes[..]), (Media::Png, &png.bytes[..]));

        let search = |text| {
            ledger
                .log(&LogFilter {
                    limit: 10,
                    search: Some(text),
                    ..LogFilter::default()
                })
                .unwrap()
                .into_iter()
                .map(|l| l.turn.request_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(search("slow tcp"), ["aaaa0001"]);
        assert_eq!(search("asyncio"), ["bbbb0002"]);
        // FTS syntax in the user's text is searched for, not parsed.
        assert_eq!(search("NEAR( *"), Vec::<String>::new());
        assert_eq!(search("\"quoted\""), ["bbbb0002"]);
        let all = ledger
            .log(&LogFilter {
                limit: 2,
                ..LogFilter::default()
            })
            .unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].turn.request_id, "cccc0003");
        // No attempts recorded: nothing is known to have cost anything.
        assert_eq!(all[0].cost, Some(Usd::ZERO));
    }
}
