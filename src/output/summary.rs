//! The one-line summary after an answer and the `-v` line per attempt, both
//! for stderr.

use std::fmt::Write as _;
use std::time::Duration;

use crate::money::Usd;
use crate::router::plan::{Planned, Skip};
use crate::router::rules::Decision;
use crate::router::{AfterText, Attempt, Routed};

/// `1.2s`, `340ms`.
pub fn elapsed(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// A cost for people: the figure, or `cost unknown`.
pub fn cost(c: Option<Usd>) -> String {
    c.map_or_else(|| "cost unknown".to_owned(), |c| c.to_string())
}

/// `model · provider · served model · time · tokens · cost · fallback ·
/// skipped`: the attempts that failed (a retried one once, `×2`), and the
/// models the plan left out (cooling down, rate-limited, too small, too dear).
pub fn line(routed: &Routed<'_>, skipped: &[(Planned, Skip)]) -> Option<String> {
    let a = routed.answer()?;
    let mut parts = vec![a.label().to_owned(), a.provider().to_owned()];
    let served = a.served_model.as_deref().unwrap_or(a.model());
    if served != a.label() {
        parts.push(served.to_owned());
    }
    let total: Duration = routed.attempts.iter().map(|a| a.latency).sum();
    parts.push(elapsed(total));
    if let Some(u) = &a.usage {
        let mut tokens = format!("{} in / {} out", u.input_tokens, u.output_tokens);
        if u.cached_input_tokens > 0 {
            let _ = write!(tokens, " ({} cached)", u.cached_input_tokens);
        }
        parts.push(tokens);
    } else {
        parts.push("no usage reported".into());
    }
    let shown = a.provider_cost.and_then(Usd::from_dollars).or(a.cost);
    parts.push(cost(shown));
    let failed = counted(
        routed
            .attempts
            .iter()
            .filter(|x| x.result.is_err())
            .map(|x| format!("{} ({})", x.label(), short_error(x))),
    );
    if !failed.is_empty() {
        parts.push(format!("after {failed}"));
    }
    if !skipped.is_empty() {
        let names: Vec<String> = skipped
            .iter()
            .map(|(p, why)| format!("{} ({why})", p.candidate.target.label))
            .collect();
        parts.push(format!("skipped {}", names.join(", ")));
    }
    Some(parts.join(" · "))
}

/// The items, in order, with a run of the same one said once: `a ×2, b`.
fn counted(items: impl Iterator<Item = String>) -> String {
    let mut runs: Vec<(String, usize)> = Vec::new();
    for item in items {
        match runs.last_mut() {
            Some((last, n)) if *last == item => *n += 1,
            _ => runs.push((item, 1)),
        }
    }
    let said: Vec<String> = runs
        .into_iter()
        .map(|(item, n)| if n > 1 { format!("{item} ×{n}") } else { item })
        .collect();
    said.join(", ")
}

/// `server, HTTP 500` / `timeout` / `connect`.
pub fn short_error(a: &Attempt<'_>) -> String {
    match a.error() {
        None => "ok".into(),
        Some(e) => match e.status {
            Some(s) => format!("{}, HTTP {s}", e.kind),
            None => e.kind.to_string(),
        },
    }
}

/// The `-v` line for one attempt: what happened and what the router does next.
pub fn attempt_line(a: &Attempt<'_>, next: Option<&str>) -> String {
    let mut line = format!(
        "route: attempt {} · {} · {}/{} · ",
        a.number,
        a.label(),
        a.provider(),
        a.model()
    );
    if let Some((_, from)) = a.continued_from {
        let _ = write!(line, "continuing from {from} · ");
    }
    // Writing to a String cannot fail.
    match a.error() {
        None => {
            let _ = write!(line, "ok in {}", elapsed(a.latency));
            if let Some(t) = a.ttft {
                let _ = write!(line, " (first token {})", elapsed(t));
            }
        }
        Some(e) => {
            let _ = write!(
                line,
                "{} after {}: {}",
                short_error(a),
                elapsed(a.latency),
                e.message
            );
            let _ = match (&a.after_text, a.decision, next) {
                (Some(AfterText::Continue(n)), _, _) => write!(line, " → {n} continues the answer"),
                (Some(AfterText::StartOver(n)), _, _) => write!(line, " → next: {n} (starts over)"),
                (Some(AfterText::Abandon), _, _) => {
                    write!(line, " → no model can continue the answer")
                }
                (None, d, next) => match (d, next) {
                    (Some(Decision::Retry(wait)), _) => {
                        write!(line, " → retry in {}", elapsed(wait))
                    }
                    (Some(Decision::Stop), _) => write!(line, " → stop"),
                    (_, Some(n)) => write!(line, " → next: {n}"),
                    (_, None) => write!(line, " → no model left"),
                },
            };
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_the_same_failure_is_said_once_with_its_count() {
        let items = [
            "a (server, HTTP 503)",
            "a (server, HTTP 503)",
            "b (timeout)",
            "a (server, HTTP 503)",
        ];
        assert_eq!(
            counted(items.iter().map(|s| (*s).to_owned())),
            "a (server, HTTP 503) ×2, b (timeout), a (server, HTTP 503)"
        );
        assert_eq!(counted(std::iter::empty()), "");
    }
}
