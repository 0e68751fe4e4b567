//! The one-line summary after an answer and the `-v` line per attempt, both
//! for stderr.

use std::fmt::Write as _;
use std::time::Duration;

use crate::money::Usd;
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

/// `model · provider · served model · time · tokens · cost · fallback`.
pub fn line(routed: &Routed<'_>) -> Option<String> {
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
    let failed: Vec<String> = routed
        .attempts
        .iter()
        .filter(|x| x.result.is_err())
        .map(|x| format!("{} ({})", x.label(), short_error(x)))
        .collect();
    if !failed.is_empty() {
        parts.push(format!("after {}", failed.join(", ")));
    }
    Some(parts.join(" · "))
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
