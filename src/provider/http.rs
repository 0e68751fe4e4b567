//! The network: one HTTP client per process, the profile's four timeouts, size
//! caps on everything read, and the redirect policy that keeps keys at home.
//!
//! Every adapter's request goes through [`execute`]; adapters never do I/O.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::time::{Instant, timeout_at};

use super::error::{ErrorKind, ProviderError, TimeoutKind};
use super::types::{StreamEvent, Usage};
use super::{Adapter, HttpRequest};
use crate::error::printable;

/// The largest error body read; the rest is not needed to classify it.
const ERROR_BODY_CAP: usize = 1024 * 1024;
/// The largest non-streamed answer accepted.
const BODY_CAP: usize = 64 * 1024 * 1024;
/// The most text (answer and reasoning) one streamed answer may carry. Each
/// event is capped by the framers; this caps their sum, so that a server
/// streaming for ever ends here rather than in the memory the text is kept in
/// (issue 9).
const STREAM_TEXT_CAP: usize = BODY_CAP;
/// Redirects followed, within the same origin only.
const MAX_REDIRECTS: usize = 5;

/// The four timeouts of one attempt (the caller takes them from its settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub first_token: Duration,
    pub idle: Duration,
    pub request: Duration,
}

static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
static PLAIN_CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();

/// The process's client for `url`: [`client`] for `https://`, and for plain
/// `http://` (a local server: Ollama, vLLM, a mock) one built with no root
/// certificates. Building a client with the platform verifier reads and parses
/// every system root certificate (some 150 files, about 2 ms); a plain-HTTP
/// request has no use for them.
pub fn client_for(
    url: &str,
    connect_timeout: Duration,
) -> Result<&'static reqwest::Client, ProviderError> {
    let plain = url
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"));
    if plain {
        // The redirect policy keeps the scheme, so this client never meets TLS.
        build(&PLAIN_CLIENT, connect_timeout, |b| {
            b.tls_certs_only(Vec::new())
        })
    } else {
        client(connect_timeout)
    }
}

/// The process's one TLS client, built on first use with the first caller's
/// connect timeout (every request of a run shares the profile's settings).
pub fn client(connect_timeout: Duration) -> Result<&'static reqwest::Client, ProviderError> {
    build(&CLIENT, connect_timeout, |b| b)
}

#[allow(clippy::disallowed_methods)] // the one place a client is built
fn build(
    cell: &'static OnceLock<Result<reqwest::Client, String>>,
    connect_timeout: Duration,
    tls: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
) -> Result<&'static reqwest::Client, ProviderError> {
    cell.get_or_init(|| {
        tls(reqwest::Client::builder())
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::custom(same_origin_only))
            .user_agent(concat!("route/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| error_text(&e))
    })
    .as_ref()
    .map_err(|e| ProviderError::new(ErrorKind::Connect, format!("cannot set up HTTP: {e}")))
}

/// Keys travel in headers that reqwest does not strip on redirects
/// (`x-api-key`, `api-key`, `x-goog-api-key`), so a redirect to another origin
/// is refused outright rather than followed without them.
fn same_origin_only(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let first = &attempt.previous()[0];
    let next = attempt.url();
    if attempt.previous().len() > MAX_REDIRECTS {
        let n = attempt.previous().len();
        attempt.error(format!("stopped after {n} redirects"))
    } else if next.scheme() != first.scheme()
        || next.host_str() != first.host_str()
        || next.port_or_known_default() != first.port_or_known_default()
    {
        let host = next.host_str().unwrap_or("?").to_owned();
        attempt.error(format!(
            "the provider redirected to another host ({host}); route sends keys only to the provider's own base_url"
        ))
    } else {
        attempt.follow()
    }
}

/// Sends one request and delivers its events to `on_event` as they arrive.
///
/// Returns `Ok` only when the answer is complete: the provider's end marker
/// arrived ([`StreamEvent::Done`] was delivered). Everything else is a typed
/// error: a timeout names which one fired, a stream cut short is `incomplete`.
///
/// An error's message may quote the server, which may echo the key it was
/// sent (in full, cut short or masked): every key of the request is redacted
/// from it, and it is made [`printable`], here, once for every adapter, since
/// it is shown on the user's terminal and kept in the ledger (issue 9).
pub async fn execute(
    adapter: &dyn Adapter,
    request: HttpRequest,
    stream: bool,
    timeouts: Timeouts,
    on_event: &mut dyn FnMut(StreamEvent),
) -> Result<(), ProviderError> {
    let secrets: Vec<String> = request
        .headers
        .values()
        .filter(|v| v.is_sensitive())
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim().to_owned())
        .collect();
    let mut believable = |event: StreamEvent| match event {
        StreamEvent::Usage(u) => on_event(StreamEvent::Usage(bounded(u))),
        StreamEvent::ProviderCost(c) if !(0.0..=MAX_PROVIDER_COST).contains(&c) => {}
        other => on_event(other),
    };
    exchange(adapter, request, stream, timeouts, &mut believable)
        .await
        .map_err(|mut e| {
            for secret in &secrets {
                e.message = redact(&e.message, secret);
            }
            if let Cow::Owned(clean) = printable(&e.message) {
                e.message = clean;
            }
            e
        })
}

/// The most tokens one count of a usage report is taken at: 50 times the
/// largest context window there is. Usage is the server's claim; `u64::MAX`
/// tokens once overflowed the ledger's sums and made `route cost` fail for
/// good (issue 9).
pub const MAX_TOKENS: u64 = 100_000_000;

/// The largest cost (USD) a provider's own figure is believed at; above it,
/// route's price catalog decides.
pub const MAX_PROVIDER_COST: f64 = 10_000.0;

/// `usage` with every count capped at [`MAX_TOKENS`].
fn bounded(usage: Usage) -> Usage {
    Usage {
        input_tokens: usage.input_tokens.min(MAX_TOKENS),
        output_tokens: usage.output_tokens.min(MAX_TOKENS),
        cached_input_tokens: usage.cached_input_tokens.min(MAX_TOKENS),
        cache_write_tokens: usage.cache_write_tokens.min(MAX_TOKENS),
        cache_write_1h_tokens: usage.cache_write_1h_tokens.min(MAX_TOKENS),
        reasoning_tokens: usage.reasoning_tokens.min(MAX_TOKENS),
    }
}

/// The shortest piece of a key that counts as the key when it shows up in a
/// message. A "key" shorter than this (a placeholder such as `none` for a
/// local server) is left alone: redacting it would mangle ordinary words.
const KEY_PREFIX: usize = 8;

/// `text` with every appearance of `secret` replaced by `[REDACTED]`: whole,
/// or cut short after at least its first [`KEY_PREFIX`] characters (a server
/// quoting `sk-proj-abcd…` or `sk-proj-****wxyz` shows that much of it).
fn redact(text: &str, secret: &str) -> String {
    let Some((last, c)) = secret.char_indices().nth(KEY_PREFIX - 1) else {
        return text.to_owned();
    };
    let prefix = &secret[..last + c.len_utf8()];
    if !text.contains(prefix) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        // The longest run of `tail` that matches the key from its start.
        let matched = tail
            .char_indices()
            .zip(secret.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, c), _)| i + c.len_utf8());
        out.push_str("[REDACTED]");
        rest = &tail[matched.max(prefix.len())..];
    }
    out.push_str(rest);
    out
}

async fn exchange(
    adapter: &dyn Adapter,
    request: HttpRequest,
    stream: bool,
    timeouts: Timeouts,
    on_event: &mut dyn FnMut(StreamEvent),
) -> Result<(), ProviderError> {
    let start = Instant::now();
    let deadline = start + timeouts.request;
    let first_deadline = (start + timeouts.first_token).min(deadline);
    let first_kind = if first_deadline < deadline {
        TimeoutKind::FirstToken
    } else {
        TimeoutKind::Request
    };

    let client = client_for(&request.url, timeouts.connect)?;
    let send = client
        .post(&request.url)
        .headers(request.headers)
        .body(request.body)
        .send();
    let (head_deadline, head_kind) = if stream {
        (first_deadline, first_kind)
    } else {
        (deadline, TimeoutKind::Request)
    };
    let response = match timeout_at(head_deadline, send).await {
        Err(_) => return Err(timeout_error(head_kind, timeouts, start)),
        Ok(Err(e)) => return Err(from_reqwest(&e, timeouts)),
        Ok(Ok(r)) => r,
    };

    let status = response.status().as_u16();
    if !response.status().is_success() {
        let headers = response.headers().clone();
        let body = read_capped(response, ERROR_BODY_CAP, deadline, timeouts, start, true).await?;
        return Err(adapter.parse_error(status, &headers, &body));
    }

    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    // An HTML page with a 200 (a captive portal, a proxy's login page, a
    // wrong base_url) is not an answer: say what came instead of letting the
    // parser report a "malformed" answer or a stream without an end marker.
    if content_type.starts_with("text/html") {
        let body = read_capped(response, ERROR_BODY_CAP, deadline, timeouts, start, true).await?;
        return Err(ProviderError::invalid(format!(
            "the provider answered with {content_type} instead of an answer: {}",
            super::snippet(&body)
        )));
    }
    // A JSON body where a stream was asked for is an answer (or an error,
    // such as a rate limit sent with 200) that the provider did not stream.
    let json_body = content_type.starts_with("application/json");
    if !stream || json_body {
        let body = read_capped(response, BODY_CAP, deadline, timeouts, start, false).await?;
        for event in adapter.parse_body(&body)? {
            on_event(event);
        }
        return Ok(());
    }

    let mut response = response;
    let mut decoder = adapter.decoder();
    let mut events = Vec::with_capacity(16);
    let mut got_text = false;
    let mut text_bytes = 0usize;
    // When the last chunk after the first text arrived: the idle timeout runs
    // from there.
    let mut last = start;
    let limit = |got_text: bool, last: Instant| {
        if !got_text {
            return (first_deadline, first_kind);
        }
        let idle = last + timeouts.idle;
        if idle < deadline {
            (idle, TimeoutKind::Idle)
        } else {
            (deadline, TimeoutKind::Request)
        }
    };
    // One timer for the whole stream, moved on only when it fires before the
    // limit (which only ever moves later): a timer armed per chunk, that is
    // per token, cost more than decoding the token.
    let timer = tokio::time::sleep_until(first_deadline);
    tokio::pin!(timer);
    loop {
        let next = tokio::select! {
            biased;
            next = response.chunk() => next,
            () = &mut timer => {
                let (until, kind) = limit(got_text, last);
                if Instant::now() < until {
                    timer.as_mut().reset(until);
                    continue;
                }
                return Err(timeout_error(kind, timeouts, start));
            }
        };
        let chunk = match next {
            Err(e) => {
                return Err(ProviderError::new(
                    ErrorKind::Incomplete,
                    format!("the stream broke off: {}", error_text(&e)),
                ));
            }
            Ok(None) => break,
            Ok(Some(bytes)) => bytes,
        };
        let fed = decoder.feed(&chunk, &mut events);
        let had_text = got_text;
        // Events decoded before an error still reach the caller.
        for event in events.drain(..) {
            match &event {
                // Reasoning is a sign of life too: a model that thinks
                // aloud before answering is not timed out (CONTRACT.md
                // "Reasoning").
                StreamEvent::Delta(text)
                | StreamEvent::Reasoning(text)
                | StreamEvent::Refusal(text) => {
                    got_text = true;
                    text_bytes = text_bytes.saturating_add(text.len());
                    if text_bytes > STREAM_TEXT_CAP {
                        return Err(ProviderError::invalid(format!(
                            "the answer is longer than {} MiB; giving up on it",
                            STREAM_TEXT_CAP / (1024 * 1024)
                        )));
                    }
                }
                StreamEvent::Done => {
                    on_event(event);
                    return Ok(());
                }
                _ => {}
            }
            on_event(event);
        }
        fed?;
        if got_text {
            last = Instant::now();
            if !had_text {
                // From the first-token limit to the idle one, which may be sooner.
                timer.as_mut().reset(limit(true, last).0);
            }
        }
    }
    let finished = decoder.finish(&mut events);
    let mut done = false;
    for event in events.drain(..) {
        done |= event == StreamEvent::Done;
        on_event(event);
    }
    finished?;
    if done {
        Ok(())
    } else {
        Err(ProviderError::new(
            ErrorKind::Incomplete,
            "the stream ended before the provider's end marker",
        ))
    }
}

async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
    deadline: Instant,
    timeouts: Timeouts,
    start: Instant,
    lenient: bool,
) -> Result<Vec<u8>, ProviderError> {
    let mut body = Vec::new();
    loop {
        match timeout_at(deadline, response.chunk()).await {
            Err(_) => return Err(timeout_error(TimeoutKind::Request, timeouts, start)),
            Ok(Err(e)) if lenient => {
                // An error body cut short still says what the error was.
                let _ = e;
                return Ok(body);
            }
            Ok(Err(e)) => {
                return Err(ProviderError::new(
                    ErrorKind::Incomplete,
                    format!("the response broke off: {}", error_text(&e)),
                ));
            }
            Ok(Ok(None)) => return Ok(body),
            Ok(Ok(Some(bytes))) => {
                if body.len() + bytes.len() > cap {
                    if lenient {
                        return Ok(body);
                    }
                    return Err(ProviderError::invalid(format!(
                        "the response is larger than {} MiB; giving up on it",
                        cap / (1024 * 1024)
                    )));
                }
                body.extend_from_slice(&bytes);
            }
        }
    }
}

fn timeout_error(kind: TimeoutKind, t: Timeouts, _start: Instant) -> ProviderError {
    let after = match kind {
        TimeoutKind::Connect => t.connect,
        TimeoutKind::FirstToken => t.first_token,
        TimeoutKind::Idle => t.idle,
        TimeoutKind::Request => t.request,
    };
    ProviderError::timeout(kind, after)
}

fn from_reqwest(e: &reqwest::Error, t: Timeouts) -> ProviderError {
    let text = error_text(e);
    if e.is_timeout() && e.is_connect() {
        return ProviderError::timeout(TimeoutKind::Connect, t.connect);
    }
    if e.is_timeout() {
        return ProviderError::timeout(TimeoutKind::Request, t.request);
    }
    if e.is_redirect() {
        return ProviderError::new(ErrorKind::Connect, text);
    }
    if e.is_builder() {
        return ProviderError::new(ErrorKind::BadRequest, text);
    }
    ProviderError::new(ErrorKind::Connect, text)
}

/// The error and its causes on one line ("error sending request: … : connection refused").
pub fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::redact;

    proptest! {
        #![proptest_config(crate::provider::fuzz::config(1000))]

        /// No message keeps 8 characters of the key in a row, whatever
        /// surrounds it and however it is cut.
        #[test]
        fn no_prefix_of_a_key_survives(
            key in "[a-zA-Z0-9_é-]{8,40}",
            before in ".{0,20}",
            after in ".{0,20}",
            cut in 8usize..48,
        ) {
            let shown: String = key.chars().take(cut).collect();
            let text = format!("{before}{shown}{after}{key}");
            let out = redact(&text, &key);
            let prefix: String = key.chars().take(8).collect();
            prop_assert!(!out.contains(&prefix), "{:?} -> {:?}", text, out);
        }
    }

    #[test]
    fn keys_are_redacted_whole_cut_short_or_masked() {
        let key = "sk-route-secret-A1B2C3D4E5";
        assert_eq!(
            redact(&format!("Incorrect API key provided: {key}."), key),
            "Incorrect API key provided: [REDACTED]."
        );
        assert_eq!(
            redact("key sk-route-secr… is bad", key),
            "key [REDACTED]… is bad"
        );
        assert_eq!(
            redact("sk-route****D4E5 and sk-route", key),
            "[REDACTED]****D4E5 and [REDACTED]"
        );
        assert_eq!(
            redact("nothing secret: sk-rout", key),
            "nothing secret: sk-rout"
        );
        assert_eq!(
            redact("a short key k1 is left", "k1"),
            "a short key k1 is left"
        );
        assert_eq!(redact("é sk-route-é", "sk-route-x"), "é [REDACTED]é");
        assert_eq!(redact("ab12345é-x", "ab12345é"), "[REDACTED]-x");
    }
}
