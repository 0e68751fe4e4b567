//! Errors that end a command, each carrying the exit status it implies.
//! Rendered once, in `lib.rs`, as `error: …` plus an optional hint line.

use std::fmt;

use crate::exit::ExitStatus;

/// A failure a command reports to the user.
#[derive(Debug)]
pub struct Error {
    pub status: ExitStatus,
    pub message: String,
    pub hint: Option<String>,
}

impl Error {
    /// Usage, profile or input error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::usage_hint(message, None)
    }

    pub fn usage_hint(message: impl Into<String>, hint: Option<String>) -> Self {
        Error {
            status: ExitStatus::Usage,
            message: message.into(),
            hint,
        }
    }

    /// Refused by a budget (exit 3).
    pub fn budget(message: impl Into<String>) -> Self {
        Error {
            status: ExitStatus::Budget,
            message: message.into(),
            hint: None,
        }
    }

    /// Anything else that failed (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Error {
            status: ExitStatus::Failed,
            message: message.into(),
            hint: None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

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
            Error {
                status: ExitStatus::Success,
                message: String::new(),
                hint: None,
            }
        } else {
            Error::failed(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("plain é text"), "plain é text");
        assert_eq!(
            printable("a\nb\x1b[2J\x07\u{9b}c"),
            "a\\nb\\u{1b}[2J\\u{7}\\u{9b}c"
        );
    }
}
