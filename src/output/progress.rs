//! The live view of `route compare`: one line per model on stderr (waiting,
//! streaming with a token count, done, failed), drawn with indicatif only
//! when stderr is a terminal and cleared before the table is printed.
//!
//! Each model's line is a [`ModelProgress`], the router's [`Reporter`] for
//! that model's requests, so indicatif stays inside `output/`.

use std::fmt::Write as _;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::summary;
use crate::router::plan::Planned;
use crate::router::{Attempt, Reporter};

/// How often the spinner and the elapsed time are redrawn.
const TICK: Duration = Duration::from_millis(100);

/// The lines of every model, drawn together.
pub struct LiveView {
    multi: MultiProgress,
    shown: bool,
}

impl LiveView {
    /// A view drawn to stderr when `terminal`, else hidden (nothing is drawn).
    pub fn new(terminal: bool) -> LiveView {
        let target = if terminal {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        LiveView {
            multi: MultiProgress::with_draw_target(target),
            shown: terminal,
        }
    }

    /// Adds the line of one model. `label` is padded to `width` so that the
    /// states line up; `runs` is `--repeat`.
    pub fn add(&self, label: &str, width: usize, runs: u32) -> ModelProgress {
        // Styled before it is added, so that its first drawing is complete.
        let bar = ProgressBar::new_spinner()
            .with_style(running_style())
            .with_prefix(format!("{label:<width$}"))
            .with_message(if runs > 1 {
                format!("run 1 of {runs} · waiting")
            } else {
                "waiting".to_owned()
            });
        let bar = self.multi.add(bar);
        if self.shown {
            bar.enable_steady_tick(TICK);
        }
        ModelProgress {
            bar,
            runs,
            run: 1,
            tokens: 0,
            ok: 0,
            last: None,
        }
    }

    /// Adds one line per label, padded to the longest so that the states line up.
    pub fn lines<'l>(
        &self,
        labels: impl Iterator<Item = &'l str> + Clone,
        runs: u32,
    ) -> Vec<ModelProgress> {
        let width = labels.clone().map(|l| l.chars().count()).max().unwrap_or(0);
        labels.map(|label| self.add(label, width, runs)).collect()
    }

    /// Runs `f` with the lines lifted, so that what it writes to stderr
    /// (a warning) shows above them instead of through them.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.multi.suspend(f)
    }

    /// Removes every line, before the table goes out.
    pub fn clear(&self) {
        // A failure to redraw stderr leaves nothing to report it to.
        let _ = self.multi.clear();
    }
}

fn running_style() -> ProgressStyle {
    // `{t}`: the time since the current attempt started, as `summary::elapsed`.
    ProgressStyle::with_template("{spinner} {prefix}  {msg} {t}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key("t", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&summary::elapsed(state.elapsed()));
        })
}

fn finished_style() -> ProgressStyle {
    ProgressStyle::with_template("  {prefix}  {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// One model's line; the router reports its attempts here.
pub struct ModelProgress {
    bar: ProgressBar,
    runs: u32,
    /// 1-based run in progress.
    run: u32,
    /// Text pieces streamed by the attempt in progress.
    tokens: u64,
    /// Runs that answered.
    ok: u32,
    /// How the last attempt ended, for the final line.
    last: Option<String>,
}

impl ModelProgress {
    /// Starts run `run` (1-based) of `--repeat`.
    pub fn start_run(&mut self, run: u32) {
        self.run = run;
        self.tokens = 0;
        self.bar.reset_elapsed();
        self.bar.set_message(self.with_run("waiting"));
    }

    fn with_run(&self, state: &str) -> String {
        if self.runs > 1 {
            format!("run {} of {} · {state}", self.run, self.runs)
        } else {
            state.to_owned()
        }
    }

    /// The model was not asked: the plan left it out.
    pub fn skipped(&self, reason: &str) {
        self.bar.set_style(finished_style());
        self.bar.finish_with_message(format!("skipped: {reason}"));
    }

    /// Every run of the model is over.
    pub fn finish(&self) {
        let message = if self.runs > 1 {
            let mut m = format!("done: ok {}/{}", self.ok, self.runs);
            if self.ok < self.runs {
                if let Some(last) = &self.last {
                    let _ = write!(m, " (last: {last})");
                }
            }
            m
        } else {
            self.last.clone().unwrap_or_else(|| "not run".to_owned())
        };
        self.bar.set_style(finished_style());
        self.bar.finish_with_message(message);
    }
}

impl Reporter for ModelProgress {
    fn attempt_started(&mut self, _planned: &Planned, _number: u32) {
        self.tokens = 0;
        self.bar.reset_elapsed();
        self.bar.set_message(self.with_run("waiting"));
    }

    fn delta(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.tokens += 1;
        let unit = if self.tokens == 1 { "token" } else { "tokens" };
        self.bar
            .set_message(self.with_run(&format!("streaming {} {unit},", self.tokens)));
    }

    /// A `--schema` answer streams the same, though none of it is shown yet.
    fn held(&mut self, text: &str) {
        self.delta(text);
    }

    fn attempt_finished(&mut self, attempt: &Attempt, _next: Option<&str>) {
        let state = match attempt.error() {
            None => {
                self.ok += 1;
                format!("done in {}", summary::elapsed(attempt.latency))
            }
            // The kind and status only: the message is in the table.
            Some(_) => format!("failed: {}", summary::short_error(attempt)),
        };
        self.bar.set_message(self.with_run(&state));
        self.last = Some(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hidden_view_counts_runs_without_a_terminal() {
        // -- Setup
        let view = LiveView::new(false);
        let mut line = view.add("gpt", 5, 3);
        // -- Exec
        line.start_run(2);
        line.delta("Hel");
        line.delta("");
        line.delta("lo");
        // -- Check
        assert_eq!(line.tokens, 2);
        assert_eq!(line.with_run("x"), "run 2 of 3 · x");
        line.finish();
        view.clear();
    }
}
