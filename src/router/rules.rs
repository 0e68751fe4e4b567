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
/// | other 4xx | no retry | stop |
///
/// A stream that broke off (`incomplete`) moves on: after printed text the
/// next model starts over, and retrying the same one would print it twice.
pub fn decide(
    error: &ProviderError,
    state: AttemptState,
    settings: &Settings,
    jitter: f64,
) -> Decision {
    match error.kind {
        ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::Auth | ErrorKind::Incomplete => {
            Decision::Next
        }
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
        ErrorKind::BadRequest | ErrorKind::ContentPolicy | ErrorKind::Cancelled => Decision::Stop,
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
    };
    const LAST: AttemptState = AttemptState {
        tries: 1,
        another_model: false,
        printed: false,
    };

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
