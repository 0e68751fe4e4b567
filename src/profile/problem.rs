//! A problem of a profile: where it is, how bad, and what is wrong; and how the
//! loader turns the first one into an error that names file, line and column.

use std::ops::Range;
use std::path::Path;

use crate::error::Error;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// `route` refuses the profile, or a request cannot be sent.
    Error,
    /// The profile works, but something about a model deserves attention.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// What a problem is about, so that callers can pick the ones they show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Syntax, unknown keys, wrong types, values out of range, unknown names.
    Profile,
    /// A key that cannot be found: variable not set, command failing, 0600 rule.
    Key,
    /// A floating model id.
    Floating,
    /// A model with no known price.
    Price,
    /// A snapshot the provider retires soon, or has retired.
    Retiring,
}

/// Which of the loader's steps would have met the problem first: the loader reports
/// the first problem of the earliest step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    /// The TOML itself.
    Syntax,
    /// Unknown keys, missing keys, values of the wrong type.
    Shape,
    /// Values out of range, names that name nothing.
    Value,
}

/// One problem, with its place in the file when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub topic: Topic,
    /// 1-based line and column.
    pub location: Option<(usize, usize)>,
    pub message: String,
    pub hint: Option<String>,
    /// Byte offset, for ordering.
    pub(crate) offset: usize,
    pub(crate) stage: Stage,
}

impl Problem {
    /// A problem at the byte range `span` of `text`.
    pub(crate) fn at(
        text: &str,
        span: &Range<usize>,
        severity: Severity,
        topic: Topic,
        message: String,
        hint: Option<String>,
    ) -> Problem {
        Problem {
            severity,
            topic,
            location: Some(line_col(text, span.start)),
            message,
            hint,
            offset: span.start,
            stage: Stage::Value,
        }
    }

    /// A warning that has no place yet.
    pub(crate) fn warning(topic: Topic, message: String, hint: Option<String>) -> Problem {
        Problem {
            severity: Severity::Warning,
            topic,
            location: None,
            message,
            hint,
            offset: usize::MAX,
            stage: Stage::Value,
        }
    }

    /// Puts the problem at the byte range `span` of `text`.
    pub(crate) fn place(&mut self, text: &str, span: &Range<usize>) {
        self.location = Some(line_col(text, span.start));
        self.offset = span.start;
    }

    /// `path:line:col: error: message`, and the hint on its own line.
    pub fn render(&self, path: &Path) -> String {
        let place = match self.location {
            Some((line, col)) => format!("{}:{line}:{col}", path.display()),
            None => path.display().to_string(),
        };
        let mut out = format!("{place}: {}: {}", self.severity.as_str(), self.message);
        if let Some(hint) = &self.hint {
            out.push_str("\n  hint: ");
            out.push_str(hint);
        }
        out
    }

    /// The loader's error: `path:line:col: message`, with the hint. The message may
    /// quote the profile's values, which may hold any character: control characters
    /// are escaped so that it stays one line.
    pub(crate) fn into_error(self, path: &Path) -> Error {
        let (line, col) = self.location.unwrap_or((1, 1));
        Error::usage_hint(
            format!(
                "{}:{line}:{col}: {}",
                path.display(),
                crate::error::printable(&self.message)
            ),
            self.hint.map(|h| crate::error::printable(&h).into_owned()),
        )
    }
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 9), (2, 4));
        assert_eq!(line_col("ab\ncdé\nf", 5), (2, 3));
    }
}
