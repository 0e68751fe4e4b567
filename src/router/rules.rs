//! The router's rules (CONTRACT.md "The router's rules") as one pure function.

use std::time::Duration;

use crate::profile::Settings;
use crate::provider::{ErrorKind, ProviderError};

/// What happens after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try the same model again after this pause (backoff, or Retry-After).
    Retry(Duration),
    /// Move on to the next model.
    Next,
    /// Move on, skipping models whose context window is not larger.
    NextLargerWindow,
    /// Stop: our request is wrong, or the user interrupted.
    Stop,
}

/// Where the attempt stands.
#[derive(Debug, Clone, Copy)]
pub struct AttemptState {
    /// Tries already made on this model, this one included (1 for the first).
    pub tries: u32,
    /// Whether another model remains after this one.
    pub another_model: bool,
    /// Whether this attempt had printed answer text before it failed.
    pub printed: bool,
    /// The request carries a part that one model may refuse as a bad request
    /// where another takes it: a continuation's prefix (newer Claude models
    /// take no prefill) or a `--schema` (servers without structured output).
    /// A 400 then moves on instead of stopping: the request itself was fine.
    pub optional_parts: bool,
}

/// The contract's table:
///
/// | failure | same model | then |
/// |---|---|---|
/// | connection refused, DNS, TLS | no retry | next |
/// | 5xx, 529, malformed response | `retries` with backoff | next |
/// | 429 | no retry while another model remains; on the last, wait Retry-After ≤ `max_retry_wait` | next |
/// | timeout | no retry | next |
/// | 401 / 403 | no retry | next |
/// | context length | no retry | next with a larger window |
/// | refusal or content policy | no retry | next; the last one's refusal is reported, exit 1 |
/// | an answer that does not match `--schema` | no retry | next |
/// | other 4xx | no retry | stop |
///
/// A stream that broke off (`incomplete`) moves on: after printed text the
/// router sends the next model that can continue the answer the text so
/// far ([`super::run`]); retrying the same one from the start would print it twice.
pub fn decide(
    error: &ProviderError,
    state: AttemptState,
    settings: &Settings,
    jitter: f64,
) -> Decision {
    match error.kind {
        // An answer that does not match `--schema`, or one that declines:
        // the same model, asked again, most likely answers the same way;
        // another model may not.
        ErrorKind::Connect
        | ErrorKind::Timeout
        | ErrorKind::Auth
        | ErrorKind::Incomplete
        | ErrorKind::InvalidOutput
        | ErrorKind::Refusal
        | ErrorKind::ContentPolicy => Decision::Next,
        ErrorKind::Server | ErrorKind::Overloaded | ErrorKind::InvalidResponse => {
            if state.tries <= settings.retries && !state.printed {
                Decision::Retry(backoff(settings.backoff, state.tries, jitter))
            } else {
                Decision::Next
            }
        }
        ErrorKind::RateLimit => {
            if state.another_model {
                return Decision::Next;
            }
            match error.retry_after {
                Some(wait)
                    if wait <= settings.max_retry_wait
                        && state.tries <= settings.retries.max(1) =>
                {
                    Decision::Retry(wait)
                }
                _ => Decision::Next,
            }
        }
        ErrorKind::ContextLength => Decision::NextLargerWindow,
        ErrorKind::BadRequest if state.optional_parts => Decision::Next,
        ErrorKind::BadRequest | ErrorKind::Cancelled => Decision::Stop,
    }
}

/// Exponential backoff with jitter: `base × 2^(tries-1)`, scaled by a factor
/// in [0.5, 1.0) so that many processes retrying at once spread out.
pub fn backoff(base: Duration, tries: u32, jitter: f64) -> Duration {
    let exp = base.saturating_mul(1 << tries.saturating_sub(1).min(16));
    exp.mul_f64(0.5 + jitter.clamp(0.0, 1.0) * 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: ErrorKind, status: Option<u16>, retry_after: Option<Duration>) -> ProviderError {
        ProviderError {
            kind,
            status,
            retry_after,
            timeout: None,
            message: String::new(),
        }
    }

    const FIRST: AttemptState = AttemptState {
        tries: 1,
        another_model: true,
        printed: false,
        optional_parts: false,
    };
    const LAST: AttemptState = AttemptState {
        tries: 1,
        another_model: false,
        printed: false,
        optional_parts: false,
    };

    #[test]
    fn a_bad_request_moves_on_only_when_another_model_may_take_its_optional_parts() {
        let s = Settings::default();
        let bad = crate::provider::unshaped_error(400, b"{}");
        assert_eq!(decide(&bad, FIRST, &s, 0.0), Decision::Stop);
        let optional = AttemptState {
            optional_parts: true,
            ..FIRST
        };
        assert_eq!(decide(&bad, optional, &s, 0.0), Decision::Next);
    }

    #[test]
    fn the_table() {
        let s = Settings::default(); // retries = 1, backoff = 250ms, max_retry_wait = 10s
        let d = |kind, status, ra, state| decide(&err(kind, status, ra), state, &s, 0.0);
        assert_eq!(d(ErrorKind::Connect, None, None, FIRST), Decision::Next);
        assert_eq!(
            d(ErrorKind::Server, Some(500), None, FIRST),
            Decision::Retry(Duration::from_millis(125))
        );
        assert_eq!(
            d(
                ErrorKind::Server,
                Some(500),
                None,
                AttemptState { tries: 2, ..FIRST }
            ),
            Decision::Next
        );
        assert_eq!(
            d(ErrorKind::Overloaded, Some(529), None, FIRST),
            Decision::Retry(Duration::from_millis(125))
        );
        assert_eq!(
            d(ErrorKind::InvalidResponse, None, None, FIRST),
            Decision::Retry(Duration::from_millis(125))
        );
        let ra = Some(Duration::from_secs(1));
        assert_eq!(
            d(ErrorKind::RateLimit, Some(429), ra, FIRST),
            Decision::Next
        );
        assert_eq!(
            d(ErrorKind::RateLimit, Some(429), ra, LAST),
            Decision::Retry(Duration::from_secs(1))
        );
        assert_eq!(
            d(
                ErrorKind::RateLimit,
                Some(429),
                Some(Duration::from_secs(60)),
                LAST
            ),
            Decision::Next
        );
        assert_eq!(
            d(ErrorKind::RateLimit, Some(429), None, LAST),
            Decision::Next
        );
        assert_eq!(d(ErrorKind::Timeout, None, None, FIRST), Decision::Next);
        assert_eq!(d(ErrorKind::Auth, Some(401), None, FIRST), Decision::Next);
        assert_eq!(
            d(ErrorKind::ContextLength, Some(400), None, FIRST),
            Decision::NextLargerWindow
        );
        assert_eq!(
            d(ErrorKind::BadRequest, Some(400), None, FIRST),
            Decision::Stop
        );
        assert_eq!(d(ErrorKind::Incomplete, None, None, FIRST), Decision::Next);
        assert_eq!(
            d(ErrorKind::InvalidOutput, None, None, FIRST),
            Decision::Next
        );
        assert_eq!(
            d(ErrorKind::InvalidOutput, None, None, LAST),
            Decision::Next
        );
        // A refusal, in a 200 answer or as a content-policy 400, moves on.
        assert_eq!(d(ErrorKind::Refusal, None, None, FIRST), Decision::Next);
        assert_eq!(d(ErrorKind::Refusal, None, None, LAST), Decision::Next);
        assert_eq!(
            d(ErrorKind::ContentPolicy, Some(400), None, FIRST),
            Decision::Next
        );
        // After text was printed a transient error moves on instead of retrying.
        assert_eq!(
            d(
                ErrorKind::Server,
                Some(500),
                None,
                AttemptState {
                    printed: true,
                    ..FIRST
                }
            ),
            Decision::Next
        );
    }

    #[test]
    fn backoff_grows_with_jitter_bounds() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 1, 0.0), Duration::from_millis(50));
        assert_eq!(backoff(base, 1, 1.0), Duration::from_millis(100));
        assert_eq!(backoff(base, 3, 1.0), Duration::from_millis(400));
        assert!(backoff(base, 40, 1.0) < Duration::from_secs(86_400));
    }
}

/// The exhaustive check: every HTTP status 100..=599 and every [`ErrorKind`]
/// through [`decide`], against CONTRACT.md "The router's rules". The expected
/// decisions are written from the contract's table, not from the code.
#[cfg(test)]
mod contract_table {
    use std::time::Duration;

    use super::{AttemptState, Decision, decide};
    use crate::profile::Settings;
    use crate::provider::{ErrorKind, ProviderError, unshaped_error};

    /// The rows of the contract's table, plus the two rules of its bullet
    /// list that are failures too (a broken stream, Ctrl-C).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Row {
        /// "connection refused, DNS, TLS": no retry, next model at once.
        Connect,
        /// "HTTP 5xx, 529, malformed response": `retries` with backoff, next.
        Transient,
        /// "HTTP 429": no retry while another model remains; on the last one,
        /// wait `Retry-After` when ≤ `max_retry_wait`; then next.
        RateLimit,
        /// "timeout (connect, first token, idle, request)": no retry, next.
        Timeout,
        /// "HTTP 401 / 403": no retry, next.
        Auth,
        /// "context length exceeded": next model with a larger window.
        ContextLength,
        /// "refusal or content policy": no retry, next model.
        Refusal,
        /// "an answer that does not match `--schema`": no retry, next.
        InvalidOutput,
        /// "other HTTP 4xx (our request is wrong)": stop.
        OtherClientError,
        /// A stream that broke off: the next model, never the same one again
        /// ("stdout never holds two answers").
        Incomplete,
        /// "Ctrl-C stops every request in flight".
        Cancelled,
    }

    /// The row of an error kind. No wildcard: a new kind does not compile
    /// until someone places it in the contract's table (and in [`ErrorKind::ALL`]).
    fn row_of_kind(kind: ErrorKind) -> Row {
        match kind {
            ErrorKind::Connect => Row::Connect,
            ErrorKind::Server | ErrorKind::Overloaded | ErrorKind::InvalidResponse => {
                Row::Transient
            }
            ErrorKind::RateLimit => Row::RateLimit,
            ErrorKind::Timeout => Row::Timeout,
            ErrorKind::Auth => Row::Auth,
            ErrorKind::ContextLength => Row::ContextLength,
            ErrorKind::Refusal | ErrorKind::ContentPolicy => Row::Refusal,
            ErrorKind::BadRequest => Row::OtherClientError,
            ErrorKind::Incomplete => Row::Incomplete,
            ErrorKind::InvalidOutput => Row::InvalidOutput,
            ErrorKind::Cancelled => Row::Cancelled,
        }
    }

    /// The row of a bare HTTP error status (an error body route cannot read
    /// further).
    fn row_of_status(status: u16) -> Row {
        match status {
            401 | 403 => Row::Auth,
            429 => Row::RateLimit,
            500..=599 => Row::Transient,
            // 408 Request Timeout is the server's "timeout (request)".
            408 => Row::Timeout,
            // 413 Content Too Large: the prompt does not fit.
            413 => Row::ContextLength,
            // Other 4xx, and statuses the table has no row for (a 1xx, or a
            // 3xx the redirect policy did not follow): nothing says that
            // another model would fare better, so they stop like "other 4xx".
            _ => Row::OtherClientError,
        }
    }

    /// The situations the table distinguishes.
    fn states(settings: &Settings) -> Vec<AttemptState> {
        let mut all = Vec::new();
        for another_model in [true, false] {
            for printed in [false, true] {
                for tries in 1..=settings.retries + 1 {
                    all.push(AttemptState {
                        tries,
                        another_model,
                        printed,
                        optional_parts: false,
                    });
                }
            }
        }
        all
    }

    /// What the contract says happens, as a check on the decision taken.
    fn check(
        row: Row,
        state: AttemptState,
        retry_after: Option<Duration>,
        s: &Settings,
        got: Decision,
    ) {
        let context = format!("{row:?} in {state:?} with Retry-After {retry_after:?}");
        match row {
            Row::Connect
            | Row::Timeout
            | Row::Auth
            | Row::Incomplete
            | Row::InvalidOutput
            | Row::Refusal => {
                assert_eq!(got, Decision::Next, "{context}");
            }
            Row::ContextLength => assert_eq!(got, Decision::NextLargerWindow, "{context}"),
            Row::OtherClientError | Row::Cancelled => {
                assert_eq!(got, Decision::Stop, "{context}");
            }
            Row::Transient => {
                // After printed text a retry would print the answer twice.
                if state.tries <= s.retries && !state.printed {
                    let ceiling = s.backoff * (1 << (state.tries - 1));
                    assert!(
                        matches!(got, Decision::Retry(w) if w > Duration::ZERO && w <= ceiling),
                        "{context}: {got:?}, expected a backoff up to {ceiling:?}"
                    );
                } else {
                    assert_eq!(got, Decision::Next, "{context}");
                }
            }
            Row::RateLimit => {
                // How often route waits on the last model the table leaves
                // open: at most `retries` times (once when it is 0), so that a
                // server cannot hold route forever.
                let expect = match retry_after {
                    Some(wait)
                        if !state.another_model
                            && wait <= s.max_retry_wait
                            && state.tries <= s.retries.max(1) =>
                    {
                        Decision::Retry(wait)
                    }
                    _ => Decision::Next,
                };
                assert_eq!(got, expect, "{context}");
            }
        }
    }

    fn retry_afters(s: &Settings) -> [Option<Duration>; 4] {
        [
            None,
            Some(Duration::from_secs(1)),
            Some(s.max_retry_wait),
            Some(s.max_retry_wait + Duration::from_millis(1)),
        ]
    }

    fn settings() -> Vec<Settings> {
        [1, 3, 0]
            .into_iter()
            .map(|retries| Settings {
                retries,
                ..Settings::default()
            })
            .collect()
    }

    #[test]
    fn every_status_decides_as_the_contract_says() {
        for s in settings() {
            for status in 100..=599 {
                for retry_after in retry_afters(&s) {
                    let error = unshaped_error(status, b"").with_retry_after(retry_after);
                    assert_eq!(error.status, Some(status));
                    for state in states(&s) {
                        for jitter in [0.0, 0.5, 0.999] {
                            let got = decide(&error, state, &s, jitter);
                            check(row_of_status(status), state, retry_after, &s, got);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_error_kind_decides_as_the_contract_says() {
        for s in settings() {
            for kind in ErrorKind::ALL {
                for retry_after in retry_afters(&s) {
                    let error = ProviderError {
                        retry_after,
                        ..ProviderError::new(kind, "")
                    };
                    for state in states(&s) {
                        for jitter in [0.0, 0.5, 0.999] {
                            let got = decide(&error, state, &s, jitter);
                            check(row_of_kind(kind), state, retry_after, &s, got);
                        }
                    }
                }
            }
        }
    }
}
