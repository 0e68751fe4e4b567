//! What the ledger remembers about a server (a `base_url`) that its profile
//! does not say, so that later runs do not pay for learning it again: today,
//! that an OpenAI-compatible server rejects `stream_options` (CONTRACT.md
//! "Wire formats": such a server is asked again without them, and route
//! remembers it).

use std::collections::HashSet;
use std::time::SystemTime;

use rusqlite::params;

use super::{Action, Ledger, LedgerError};
use crate::time::unix_ms;

/// Something a server was found to do. [`Quirk::as_str`] is its one
/// spelling in the `servers` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quirk {
    /// It rejects `stream_options` (HTTP 400 or 422 naming them).
    RejectsStreamOptions,
}

impl Quirk {
    pub fn as_str(self) -> &'static str {
        match self {
            Quirk::RejectsStreamOptions => "rejects_stream_options",
        }
    }
}

impl Ledger {
    /// Remembers that the server at `base_url` has `quirk` (again: the time
    /// is that of the latest sighting).
    pub fn learn(
        &mut self,
        base_url: &str,
        quirk: Quirk,
        at: SystemTime,
    ) -> Result<(), LedgerError> {
        self.conn
            .prepare_cached(
                "INSERT INTO servers (base_url, quirk, at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (base_url, quirk) DO UPDATE SET at = excluded.at",
            )
            .and_then(|mut s| s.execute(params![base_url, quirk.as_str(), unix_ms(at)]))
            .map(|_| ())
            .map_err(LedgerError::sqlite(Action::Write, &self.path))
    }

    /// The servers of `base_urls` known to have `quirk`.
    pub fn servers_with(
        &self,
        base_urls: &[&str],
        quirk: Quirk,
    ) -> Result<HashSet<String>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM servers WHERE base_url = ?1 AND quirk = ?2")
            .map_err(self.read_err())?;
        let mut out = HashSet::new();
        for url in base_urls {
            if stmt
                .exists(params![url, quirk.as_str()])
                .map_err(self.read_err())?
            {
                out.insert((*url).to_owned());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::tests::{noon, temp_ledger};
    use crate::time::from_unix_ms;

    #[test]
    fn a_server_learned_is_remembered_once() {
        let (_dir, mut ledger) = temp_ledger();
        let url = "http://127.0.0.1:8000/v1";
        let q = Quirk::RejectsStreamOptions;
        assert!(ledger.servers_with(&[url], q).unwrap().is_empty());
        ledger.learn(url, q, from_unix_ms(noon())).unwrap();
        ledger.learn(url, q, from_unix_ms(noon() + 1)).unwrap();
        let known = ledger
            .servers_with(&[url, "https://api.openai.com/v1"], q)
            .unwrap();
        assert_eq!(known.into_iter().collect::<Vec<_>>(), [url]);
    }
}
