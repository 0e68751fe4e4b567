//! The figures of a comparison: per model, the status, first-token and total
//! times (median and p95 over `--repeat`), tokens and mean cost, with the
//! fastest and the cheapest marked.

use std::fmt::Write as _;
use std::time::Duration;

use super::{OK, Run, Runs, VALID, status_of};
use crate::money::Usd;
use crate::output::summary;
use crate::router::{self, Attempt, Routed};

/// The mark after the text of an answer that broke off.
pub(super) const INCOMPLETE: &str = "[incomplete: the answer broke off here]";

/// The mark after an answer that did not match `--schema`.
pub(super) const INVALID: &str = "[invalid: not JSON that matches --schema]";

/// Median and 95th percentile of some durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Spread {
    median: Duration,
    p95: Duration,
}

impl Spread {
    fn of(mut values: Vec<Duration>) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        values.sort_unstable();
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2
        };
        // Nearest rank: the smallest value with at least 95% at or below it.
        let rank = (n * 95).div_ceil(100).max(1);
        Some(Spread {
            median,
            p95: values[rank - 1],
        })
    }

    fn show(self, repeat: u32) -> String {
        if repeat > 1 {
            format!(
                "median {} · p95 {}",
                summary::elapsed(self.median),
                summary::elapsed(self.p95)
            )
        } else {
            summary::elapsed(self.median)
        }
    }
}

/// What some attempts cost: every attempt that reported (or was counted
/// with) usage, answered or not, so that a failed model's spending is shown
/// too and the shown costs add up to the total on stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Spent {
    /// The sum of the known costs.
    pub(super) known: Usd,
    /// Some attempt with usage has an unknown price.
    pub(super) unknown: bool,
    /// Some cost is from route's own token count.
    pub(super) estimated: bool,
    /// No attempt had usage: nothing was billed.
    pub(super) nothing: bool,
}

/// What `attempts` cost.
pub(super) fn spent<'a, 'p: 'a>(attempts: impl Iterator<Item = &'a Attempt<'p>>) -> Spent {
    let mut s = Spent {
        nothing: true,
        ..Spent::default()
    };
    for a in attempts.filter(|a| a.usage.is_some()) {
        s.nothing = false;
        s.estimated |= a.estimated;
        match a.cost {
            Some(c) => s.known = s.known.saturating_add(c),
            None => s.unknown = true,
        }
    }
    s
}

impl Spent {
    /// `$0.0012`, `~$0.0012` (estimated), `$0.0012 + ?`, `?`, or `-` when
    /// nothing was billed.
    pub(super) fn show(self) -> String {
        let tilde = if self.estimated { "~" } else { "" };
        match (self.nothing, self.unknown, self.known) {
            (true, _, _) => "-".to_owned(),
            (false, false, c) => format!("{tilde}{c}"),
            (false, true, Usd::ZERO) => "?".to_owned(),
            (false, true, c) => format!("{tilde}{c} + ?"),
        }
    }
}

fn attempts_of(r: Runs<'_>) -> impl Iterator<Item = &Attempt<'_>> {
    r.runs.iter().flat_map(|run| run.routed.attempts.iter())
}

/// The figures of one model, ready to print.
pub(super) struct Figures {
    pub(super) answer: Option<String>,
    pub(super) status: String,
    pub(super) ttft: String,
    pub(super) total: String,
    pub(super) tokens: String,
    pub(super) cost: String,
}

/// The figures of every model, with the cheapest and the fastest marked;
/// `structured` when the models were asked for a `--schema`.
pub(super) fn figures_of(results: &[Runs<'_>], repeat: u32, structured: bool) -> Vec<Figures> {
    let totals: Vec<Option<Spread>> = results
        .iter()
        .map(|r| Spread::of(r.answered().map(|run| total_time(&run.routed)).collect()))
        .collect();
    let costs: Vec<Spent> = results.iter().map(|r| spent(attempts_of(*r))).collect();
    let fastest = best(
        &totals
            .iter()
            .map(|t| t.map(|s| s.median.as_nanos()))
            .collect::<Vec<_>>(),
    );
    let cheapest = best(
        &costs
            .iter()
            .map(|c| (!c.nothing && !c.unknown).then_some(c.known.picos()))
            .collect::<Vec<_>>(),
    );
    results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let r = *r;
            let answered: Vec<&Run> = r.answered().collect();
            let ttft = Spread::of(
                answered
                    .iter()
                    .filter_map(|run| run.routed.answer().and_then(|a| a.ttft))
                    .collect(),
            );
            let mut total = match (totals[i], r.runs) {
                (Some(s), _) => s.show(repeat),
                // A single failed run: how long it took to fail.
                (None, [only]) => {
                    format!("{} (failed)", summary::elapsed(total_time(&only.routed)))
                }
                (None, _) => "-".to_owned(),
            };
            if fastest == Some(i) {
                total.push_str(" (fastest)");
            }
            let mut cost = costs[i].show();
            if repeat > 1 && !costs[i].nothing {
                let _ = write!(cost, " for {} runs", r.runs.len());
            }
            if cheapest == Some(i) {
                cost.push_str(" (cheapest)");
            }
            Figures {
                // A model that broke off after streaming shows what it got,
                // marked as such.
                answer: answered
                    .first()
                    .and_then(|run| run.routed.answer())
                    .map(router::Attempt::full_text)
                    .or_else(|| {
                        r.runs
                            .iter()
                            .find_map(|run| run.routed.partial())
                            .map(|a| format!("{}\n{INCOMPLETE}", a.full_text()))
                    })
                    // What a model said instead of JSON that matches.
                    .or_else(|| {
                        r.runs
                            .iter()
                            .find_map(|run| run.routed.invalid_output())
                            .map(|a| format!("{}\n{INVALID}", a.text))
                    }),
                status: status_of(r, if structured { VALID } else { OK }),
                ttft: ttft.map_or_else(|| "-".to_owned(), |s| s.show(repeat)),
                total,
                tokens: tokens_of(&answered),
                cost,
            }
        })
        .collect()
}

/// The index of the smallest figure, when at least two models have one.
fn best<T: Ord + Copy>(values: &[Option<T>]) -> Option<usize> {
    if values.iter().filter(|v| v.is_some()).count() < 2 {
        return None;
    }
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (v, i)))
        .min()
        .map(|(_, i)| i)
}

fn total_time(routed: &Routed<'_>) -> Duration {
    routed.attempts.iter().map(|a| a.latency).sum()
}

/// `12 in / 40 out`, the mean over the answered runs.
fn tokens_of(answered: &[&Run<'_>]) -> String {
    let usages: Vec<_> = answered
        .iter()
        .filter_map(|run| run.routed.answer().and_then(|a| a.usage))
        .collect();
    if answered.is_empty() {
        return "-".to_owned();
    }
    if usages.is_empty() {
        return "not reported".to_owned();
    }
    let n = u64::try_from(usages.len()).unwrap_or(u64::MAX);
    let input: u64 = usages.iter().map(|u| u.input_tokens).sum::<u64>() / n;
    let output: u64 = usages.iter().map(|u| u.output_tokens).sum::<u64>() / n;
    format!("{input} in / {output} out")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|m| Duration::from_millis(*m)).collect()
    }

    #[test]
    fn spread_is_the_median_and_the_nearest_rank_p95() {
        assert_eq!(Spread::of(Vec::new()), None);
        let one = Spread::of(ms(&[300])).unwrap();
        assert_eq!((one.median, one.p95), (ms(&[300])[0], ms(&[300])[0]));
        let three = Spread::of(ms(&[300, 100, 200])).unwrap();
        assert_eq!(three.median, Duration::from_millis(200));
        assert_eq!(three.p95, Duration::from_millis(300));
        let four = Spread::of(ms(&[100, 400, 200, 300])).unwrap();
        assert_eq!(four.median, Duration::from_millis(250));
        let twenty = Spread::of((1..=20).map(|i| Duration::from_millis(i * 10)).collect()).unwrap();
        assert_eq!(twenty.p95, Duration::from_millis(190));
        assert_eq!(three.show(3), "median 200ms · p95 300ms");
        assert_eq!(three.show(1), "200ms");
    }

    #[test]
    fn best_needs_two_figures_and_takes_the_first_smallest() {
        assert_eq!(best::<u32>(&[None, Some(3)]), None);
        assert_eq!(best(&[Some(5), None, Some(3), Some(3)]), Some(2));
    }
}
