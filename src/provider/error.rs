//! The one error type every adapter produces, typed so that the router can
//! decide on it (`kind`, `status`, `retry_after`) and readable so that a human
//! can act on it (`message`).

use std::fmt;
use std::time::Duration;

/// What went wrong, as the router needs to know it. The names are the ones
/// `--json` and the ledger show (`error_kind`); [`ErrorKind::as_str`] is the
/// one spelling of them, which serde and the ledger's column both use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum ErrorKind {
    /// Connection refused, DNS failure, TLS failure: nothing reached the provider.
    Connect,
    /// A timeout; which one is in [`ProviderError::timeout`].
    Timeout,
    /// HTTP 401 / 403, or a key that could not be resolved.
    Auth,
    /// HTTP 429, or a rate-limit error inside a 200 body.
    RateLimit,
    /// HTTP 5xx.
    Server,
    /// HTTP 529 or the provider's "overloaded" error.
    Overloaded,
    /// The prompt plus `max_tokens` does not fit the model's context window.
    ContextLength,
    /// The provider refused the request's content with an error (a
    /// content-policy 4xx, or an error object naming its content policy).
    /// Like [`ErrorKind::Refusal`], another model may answer.
    ContentPolicy,
    /// A 200 answer that declines: a refusal stop reason or refusal text, a
    /// content-filter or safety finish, a blocked prompt. The message is what
    /// the provider said (see [`ProviderError::refusal`]).
    Refusal,
    /// Any other 4xx: our request is wrong, no other model will fix it.
    BadRequest,
    /// A body or stream that does not parse, or exceeds a size cap.
    InvalidResponse,
    /// A stream that ended without the provider's end marker.
    Incomplete,
    /// A complete answer that is not JSON, or does not match `--schema`.
    InvalidOutput,
    /// The user interrupted the request.
    Cancelled,
}

impl ErrorKind {
    /// Every kind, in the order of the contract's table.
    pub const ALL: [ErrorKind; 14] = [
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Auth,
        ErrorKind::RateLimit,
        ErrorKind::Server,
        ErrorKind::Overloaded,
        ErrorKind::ContextLength,
        ErrorKind::ContentPolicy,
        ErrorKind::Refusal,
        ErrorKind::BadRequest,
        ErrorKind::InvalidResponse,
        ErrorKind::Incomplete,
        ErrorKind::InvalidOutput,
        ErrorKind::Cancelled,
    ];

    /// The kind of a name [`ErrorKind::as_str`] gives.
    pub fn parse(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Auth => "auth",
            ErrorKind::RateLimit => "rate_limit",
            ErrorKind::Server => "server",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::ContextLength => "context_length",
            ErrorKind::ContentPolicy => "content_policy",
            ErrorKind::Refusal => "refusal",
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::InvalidResponse => "invalid_response",
            ErrorKind::Incomplete => "incomplete",
            ErrorKind::InvalidOutput => "invalid_output",
            ErrorKind::Cancelled => "cancelled",
        }
    }

    /// The kind a bare HTTP status implies, before the body is read.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            401 | 403 => ErrorKind::Auth,
            408 => ErrorKind::Timeout,
            413 => ErrorKind::ContextLength,
            429 => ErrorKind::RateLimit,
            529 => ErrorKind::Overloaded,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::BadRequest,
        }
    }
}

impl From<ErrorKind> for &'static str {
    fn from(kind: ErrorKind) -> Self {
        kind.as_str()
    }
}

impl TryFrom<String> for ErrorKind {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        ErrorKind::parse(&name).ok_or_else(|| format!("unknown error kind `{name}`"))
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of the profile's timeouts fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    Connect,
    FirstToken,
    Idle,
    Request,
}

impl TimeoutKind {
    pub fn setting(self) -> &'static str {
        match self {
            TimeoutKind::Connect => "connect_timeout",
            TimeoutKind::FirstToken => "first_token_timeout",
            TimeoutKind::Idle => "idle_timeout",
            TimeoutKind::Request => "request_timeout",
        }
    }
}

/// A failed attempt at one provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderError {
    pub kind: ErrorKind,
    /// The HTTP status, when the provider answered with one.
    pub status: Option<u16>,
    /// How long the provider asked us to wait (`Retry-After`, `retry-after-ms`).
    pub retry_after: Option<Duration>,
    /// Which timeout fired, for `ErrorKind::Timeout`.
    pub timeout: Option<TimeoutKind>,
    /// What the provider said, or what we saw. Never contains a key.
    pub message: String,
}

impl ProviderError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ProviderError {
            kind,
            status: None,
            retry_after: None,
            timeout: None,
            message: message.into(),
        }
    }

    pub fn http(status: u16, kind: ErrorKind, message: impl Into<String>) -> Self {
        ProviderError {
            status: Some(status),
            ..ProviderError::new(kind, message)
        }
    }

    pub fn timeout(which: TimeoutKind, after: Duration) -> Self {
        ProviderError {
            timeout: Some(which),
            ..ProviderError::new(
                ErrorKind::Timeout,
                format!(
                    "no answer within {} ({})",
                    crate::time::format_duration(after),
                    which.setting()
                ),
            )
        }
    }

    /// A model that declined to answer; `said` is its refusal text or the
    /// provider's words for why it stopped, as [`StreamEvent::Refusal`]
    /// pieces deliver them (joined). Nothing said reads as a plain refusal.
    ///
    /// [`StreamEvent::Refusal`]: super::types::StreamEvent::Refusal
    pub fn refusal(said: &str) -> Self {
        let said = said.trim();
        ProviderError::new(
            ErrorKind::Refusal,
            if said.is_empty() {
                "the model declined to answer"
            } else {
                said
            },
        )
    }

    /// Whether the model (or the provider's filter) declined the request: a
    /// refusal in a 200 answer, or a content-policy error.
    pub fn is_refusal(&self) -> bool {
        matches!(self.kind, ErrorKind::Refusal | ErrorKind::ContentPolicy)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ProviderError::new(ErrorKind::InvalidResponse, message)
    }

    #[must_use]
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{} (HTTP {status}): {}", self.kind, self.message),
            None => write!(f, "{}: {}", self.kind, self.message),
        }
    }
}

impl std::error::Error for ProviderError {}

/// Classifies an error message by the words providers use for the failures
/// the router treats specially. Adapters call it after their own typed codes.
pub fn kind_from_message(message: &str) -> Option<ErrorKind> {
    let m = message.to_ascii_lowercase();
    let context = [
        "context length",
        "context_length",
        "context window",
        "maximum context",
        "too many tokens",
        "prompt is too long",
        "input is too long",
        "exceeds the maximum number of tokens",
        "input token count",
        "reduce the length",
    ];
    if context.iter().any(|p| m.contains(p)) {
        return Some(ErrorKind::ContextLength);
    }
    if m.contains("rate limit") || m.contains("rate_limit") || m.contains("too many requests") {
        return Some(ErrorKind::RateLimit);
    }
    if m.contains("overloaded") {
        return Some(ErrorKind::Overloaded);
    }
    // OpenAI's "flagged as potentially violating our usage policy",
    // Anthropic's "Output blocked by content filtering policy".
    let policy = [
        "content policy",
        "content_filter",
        "content filtering",
        "usage policy",
        "safety",
    ];
    if policy.iter().any(|p| m.contains(p)) {
        return Some(ErrorKind::ContentPolicy);
    }
    None
}

/// The longest wait a `Retry-After` is taken at. A server's value is not to be
/// trusted: `1e308` once made `Duration::from_secs_f64` panic, and a model
/// told to wait for years would be skipped for years (issue 9). A day covers
/// every real quota reset.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Parses `Retry-After` (seconds or an HTTP date) and `retry-after-ms`, capped
/// at [`MAX_RETRY_AFTER`].
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        return Some(seconds(ms / 1000.0));
    }
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| seconds(secs));
    }
    let at = httpdate(value)?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// A finite, non-negative number of seconds as a duration, capped.
fn seconds(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs)
        .unwrap_or(MAX_RETRY_AFTER)
        .min(MAX_RETRY_AFTER)
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only HTTP date
/// form servers send today.
fn httpdate(s: &str) -> Option<std::time::SystemTime> {
    let mut parts = s.split_whitespace();
    let _weekday = parts.next()?;
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let h: u64 = hms.next()?.parse().ok()?;
    let mi: u64 = hms.next()?.parse().ok()?;
    let se: u64 = hms.next()?.parse().ok()?;
    if parts.next()? != "GMT" || h > 23 || mi > 59 || se > 60 || day == 0 || day > 31 {
        return None;
    }
    let days = crate::time::days_from_civil(year, month, day)?;
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + mi * 60 + se;
    Some(std::time::UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn retry_after_seconds_ms_and_date() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));

        let mut past = HeaderMap::new();
        past.insert(
            "retry-after",
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(retry_after(&past), Some(Duration::ZERO));

        let mut bad = HeaderMap::new();
        bad.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&bad), None);
    }

    /// Issue 9: `Retry-After: 1e308` panicked in `Duration::from_secs_f64`.
    #[test]
    fn absurd_retry_after_is_capped_not_a_panic() {
        for value in [
            "1e308",
            "18446744073709551615",
            "99999999999",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            let mut h = HeaderMap::new();
            h.insert("retry-after", HeaderValue::from_str(value).unwrap());
            assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER), "{value}");
        }
        let mut ms = HeaderMap::new();
        ms.insert("retry-after-ms", HeaderValue::from_static("1e300"));
        assert_eq!(retry_after(&ms), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn httpdate_known_value() {
        let t = httpdate("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
            784_111_777
        );
    }

    #[test]
    fn messages_classify() {
        assert_eq!(
            kind_from_message("This model's maximum context length is 128000 tokens"),
            Some(ErrorKind::ContextLength)
        );
        assert_eq!(
            kind_from_message("prompt is too long: 210000 tokens > 200000 maximum"),
            Some(ErrorKind::ContextLength)
        );
        assert_eq!(kind_from_message("Overloaded"), Some(ErrorKind::Overloaded));
        assert_eq!(
            kind_from_message("Output blocked by content filtering policy"),
            Some(ErrorKind::ContentPolicy)
        );
        assert_eq!(kind_from_message("bad things"), None);
    }
}
