//! How the ledger fails: what it was doing, on which file, and why.

use std::fmt;
use std::path::{Path, PathBuf};

use super::migrations;

/// What the ledger was doing when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Open,
    Read,
    Write,
}

/// Why the ledger failed.
#[derive(Debug)]
pub(super) enum Cause {
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
    pub(super) cause: Cause,
}

impl LedgerError {
    pub(super) fn sqlite(
        action: Action,
        path: &Path,
    ) -> impl FnOnce(rusqlite::Error) -> LedgerError {
        let path = path.to_path_buf();
        move |e| LedgerError {
            action,
            path,
            cause: Cause::Sqlite(e),
        }
    }
}

impl LedgerError {
    /// What the user can do about it: move a damaged file aside (route then
    /// starts a new ledger), fix a folder's permissions, or run a newer route.
    pub fn hint(&self) -> String {
        let path = shell_word(&self.path.display().to_string());
        let elsewhere = "or point ROUTE_DATA_DIR at another folder";
        match &self.cause {
            Cause::TooNew(_) => format!("upgrade route, {elsewhere}"),
            Cause::Io(_) => format!("check that {path} can be created and written, {elsewhere}"),
            Cause::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::CannotOpen
                        | rusqlite::ErrorCode::PermissionDenied
                        | rusqlite::ErrorCode::ReadOnly
                ) =>
            {
                format!("check the permissions of {path} and its folder, {elsewhere}")
            }
            Cause::Sqlite(_) => format!(
                "move the damaged file aside and route starts a new ledger: mv {path} {}",
                shell_word(&format!("{}.broken", self.path.display()))
            ),
        }
    }
}

/// `text` as one word for a POSIX shell: quoted when it holds anything but
/// the characters that need none.
fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_hints_are_quoted_for_the_shell_only_when_they_need_it() {
        assert_eq!(
            shell_word("/home/a/.local/share/route/ledger.db"),
            "/home/a/.local/share/route/ledger.db"
        );
        assert_eq!(shell_word("/home/a b/it's.db"), "'/home/a b/it'\\''s.db'");
    }
}
