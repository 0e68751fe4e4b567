//! Where output goes: the answer (or the requested table / JSON) to stdout,
//! everything else to stderr; colour and progress only on a terminal, and
//! never with `NO_COLOR`.

pub mod json;
pub mod progress;
pub mod summary;
pub mod table;

use std::io::{self, IsTerminal, Write};

/// The terminal facts every command needs, decided once.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// stdout is a terminal.
    pub stdout_tty: bool,
    /// stderr is a terminal.
    pub stderr_tty: bool,
    /// Colour is allowed on stderr.
    pub color: bool,
    /// `-q`: no summary.
    pub quiet: bool,
    /// `-v`: a line per attempt.
    pub verbose: bool,
}

impl Printer {
    pub fn detect(env: &dyn Fn(&str) -> Option<String>) -> Printer {
        let stderr_tty = io::stderr().is_terminal();
        let no_color = env(crate::env::NO_COLOR).is_some_and(|v| !v.is_empty());
        Printer {
            stdout_tty: io::stdout().is_terminal(),
            stderr_tty,
            color: stderr_tty && !no_color,
            quiet: false,
            verbose: false,
        }
    }

    /// Writes to stdout (the answer, the table, the JSON).
    pub fn out(&self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// A line on stderr. Errors writing to stderr are ignored: there is
    /// nowhere left to report them.
    pub fn note(&self, line: &str) {
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }

    /// A warning on stderr, `warning: …`.
    pub fn warn(&self, message: &str) {
        if self.color {
            self.note(&format!("\x1b[33mwarning\x1b[0m: {message}"));
        } else {
            self.note(&format!("warning: {message}"));
        }
    }

    /// Dims a piece of stderr text when colour is on.
    pub fn dim(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[2m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// The terminal width for tables: `COLUMNS`, else the terminal's, else 100.
    pub fn width(&self, env: &dyn Fn(&str) -> Option<String>) -> u16 {
        env(crate::env::COLUMNS)
            .and_then(|c| c.trim().parse().ok())
            .filter(|w| *w >= 20)
            .or_else(|| comfy_table::Table::new().width())
            .unwrap_or(100)
    }
}
