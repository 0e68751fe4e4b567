//! Where output goes: the answer (or the requested table / JSON) to stdout,
//! everything else to stderr; colour and progress only on a terminal, and
//! never with `NO_COLOR`. Whether a summary or a `-v` line is shown is
//! decided here too, so that commands only say what there is to say.

pub mod json;
pub mod progress;
pub mod summary;
pub mod table;

use std::io::{self, IsTerminal, Write};

/// The terminal facts every command needs, decided once.
// Five independent yes/no facts (-q and -v may be given together): an enum
// would only invent their combinations.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// stdout is a terminal.
    pub stdout_tty: bool,
    /// stderr is a terminal.
    pub stderr_tty: bool,
    /// Colour is allowed on stderr.
    pub color: bool,
    /// `-q`: no summary and no advice.
    pub quiet: bool,
    /// `-v`: a line per attempt.
    pub verbose: bool,
}

impl Printer {
    /// The facts of this process's terminal and `NO_COLOR`; `-q` and `-v`
    /// are off until a command sets them.
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

    /// The writer for an answer streamed to stdout as it arrives.
    pub fn answer(&self) -> Answer {
        Answer {
            out: io::stdout().lock(),
            pending: Vec::new(),
            closed: false,
        }
    }

    /// A line on stderr. Errors writing to stderr are ignored: there is
    /// nowhere left to report them.
    pub fn note(&self, line: &str) {
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }

    /// A `-v` line on stderr; nothing without `-v`.
    pub fn detail(&self, line: &str) {
        if self.verbose {
            self.note(line);
        }
    }

    /// The dimmed summary line on stderr; nothing under `-q`.
    pub fn summary(&self, line: &str) {
        if !self.quiet {
            self.note(&self.dim(line));
        }
    }

    /// A warning on stderr, `warning: …`.
    pub fn warn(&self, message: &str) {
        self.note(&format!("{}: {message}", self.paint("33", "warning")));
    }

    /// The error that ends a command, `error: …` on stderr.
    pub fn error(&self, message: &str) {
        self.note(&format!("{}: {message}", self.paint("1;31", "error")));
    }

    /// Dims a piece of stderr text when colour is on.
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    /// `text` in the SGR style `sgr` when colour is on; plain otherwise, so
    /// that every line reads the same without colour.
    fn paint(self, sgr: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{sgr}m{text}\x1b[0m")
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

/// The most answer text held back between two flushes.
const PENDING_CAP: usize = 64 * 1024;

/// A streamed answer on stdout. Text is held back until [`Answer::flush`]
/// (the router flushes before it waits for the network), so that a burst of
/// tokens is one write; stdout stays locked while the answer streams.
pub struct Answer {
    out: io::StdoutLock<'static>,
    pending: Vec<u8>,
    /// A write failed (stdout closed, `| head`): the rest is dropped.
    closed: bool,
}

impl Answer {
    /// Holds `text` back; writes once more than 64 KiB (`PENDING_CAP`) is held.
    pub fn push(&mut self, text: &str) -> io::Result<()> {
        self.pending.extend_from_slice(text.as_bytes());
        if self.pending.len() >= PENDING_CAP {
            return self.flush();
        }
        Ok(())
    }

    /// Writes the held text: one `write` call when it ends with a newline or
    /// holds none (stdout's line buffer adds a second one otherwise). The
    /// first failed write is returned; after it, text is dropped unwritten.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.closed || self.pending.is_empty() {
            self.pending.clear();
            return Ok(());
        }
        let written = self
            .out
            .write_all(&self.pending)
            .and_then(|()| self.out.flush());
        self.pending.clear();
        if written.is_err() {
            self.closed = true;
        }
        written
    }
}
