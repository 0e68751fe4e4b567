//! Errors that end a command: what kind of failure it is (which decides the
//! exit status), the message, an optional hint, and the error that caused it.
//! Rendered once, in `lib.rs`, as `error: …` plus an optional hint line.

use crate::exit::ExitStatus;

/// What kind of failure ended the command; each implies its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A usage, profile or input error (exit 2).
    Usage,
    /// Refused by a budget (exit 3).
    Budget,
    /// Anything else that failed (exit 1).
    Failed,
    /// An answer was started but no model could complete it (exit 4).
    Incomplete,
    /// stdout was closed by its reader (`route … | head -c1`): not a failure,
    /// the command ends quietly with success.
    StdoutClosed,
}

impl Kind {
    /// The exit status this kind of failure ends `route` with.
    pub fn status(self) -> ExitStatus {
        match self {
            Kind::Usage => ExitStatus::Usage,
            Kind::Budget => ExitStatus::Budget,
            Kind::Failed => ExitStatus::Failed,
            Kind::Incomplete => ExitStatus::Incomplete,
            Kind::StdoutClosed => ExitStatus::Success,
        }
    }
}

/// The error that caused a command's failure.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure a command reports to the user. Its `Display` is the message and
/// the hint; the cause, already worded into the message where the user needs
/// it, stays reachable through [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
#[error("{message}{}", hint_line(.hint.as_deref()))]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
    #[source]
    pub cause: Option<Cause>,
}

fn hint_line(hint: Option<&str>) -> String {
    hint.map(|h| format!("\n  hint: {h}")).unwrap_or_default()
}

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
            cause: None,
        }
    }

    /// Usage, profile or input error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Error::new(Kind::Usage, message)
    }

    pub fn usage_hint(message: impl Into<String>, hint: Option<String>) -> Self {
        Error {
            hint,
            ..Error::usage(message)
        }
    }

    /// The same error, with a hint line.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Refused by a budget (exit 3).
    pub fn budget(message: impl Into<String>) -> Self {
        Error::new(Kind::Budget, message)
    }

    /// Anything else that failed (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Error::new(Kind::Failed, message)
    }

    /// The same error, with the error that caused it.
    #[must_use]
    pub fn caused_by(mut self, cause: impl Into<Cause>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// The exit status this error ends `route` with.
    pub fn status(&self) -> ExitStatus {
        self.kind.status()
    }
}

/// Text from outside (a server's error message, a value from the profile)
/// made safe to show in a one-line message: control characters, line ends
/// and terminal escape sequences included, are written as escapes (`\n`,
/// `\u{1b}`), so that such text can neither break the line nor drive the
/// terminal (issue 9).
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

impl From<std::io::Error> for Error {
    /// A closed stdout (`route … | head -c1`) is the reader's choice, not a
    /// failure: it ends the command quietly, with success.
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Error::new(Kind::StdoutClosed, String::new()).caused_by(e)
        } else {
            Error::failed(e.to_string()).caused_by(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Error, Kind, printable};
    use crate::exit::ExitStatus;

    #[test]
    fn the_kind_decides_the_status_and_the_cause_is_kept() {
        let e = Error::usage_hint("bad", Some("try this".into()));
        assert_eq!((e.kind, e.status()), (Kind::Usage, ExitStatus::Usage));
        assert_eq!(e.to_string(), "bad\n  hint: try this");
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "closed");
        let closed = Error::from(io);
        assert_eq!(closed.status(), ExitStatus::Success);
        assert_eq!(
            std::error::Error::source(&closed).map(ToString::to_string),
            Some("closed".to_owned())
        );
        assert_eq!(Error::budget("x").status(), ExitStatus::Budget);
        assert_eq!(Error::failed("x").to_string(), "x");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("plain é text"), "plain é text");
        assert_eq!(
            printable("a\nb\x1b[2J\x07\u{9b}c"),
            "a\\nb\\u{1b}[2J\\u{7}\\u{9b}c"
        );
    }
}
