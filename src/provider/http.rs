//! The network: one HTTP client per process, the profile's four timeouts, size
//! caps on everything read, and the redirect policy that keeps keys at home.
//!
//! Every adapter's request goes through [`execute`]; adapters never do I/O.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::time::{Instant, timeout_at};

use super::error::{ErrorKind, ProviderError, TimeoutKind};
use super::types::StreamEvent;
use super::{Adapter, HttpRequest};
use crate::profile::Settings;

/// The largest error body read; the rest is not needed to classify it.
const ERROR_BODY_CAP: usize = 1024 * 1024;
/// The largest non-streamed answer accepted.
const BODY_CAP: usize = 64 * 1024 * 1024;
/// Redirects followed, within the same origin only.
const MAX_REDIRECTS: usize = 5;

/// The profile's timeouts for one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub first_token: Duration,
    pub idle: Duration,
    pub request: Duration,
}

impl From<&Settings> for Timeouts {
    fn from(s: &Settings) -> Self {
        Timeouts {
            connect: s.connect_timeout,
            first_token: s.first_token_timeout,
            idle: s.idle_timeout,
            request: s.request_timeout,
        }
    }
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
pub async fn execute(
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

    // A JSON body where a stream was asked for is an answer (or an error,
    // such as a rate limit sent with 200) that the provider did not stream.
    let json_body = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"));
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
    loop {
        let (until, kind) = if got_text {
            let idle = Instant::now() + timeouts.idle;
            if idle < deadline {
                (idle, TimeoutKind::Idle)
            } else {
                (deadline, TimeoutKind::Request)
            }
        } else {
            (first_deadline, first_kind)
        };
        let chunk = match timeout_at(until, response.chunk()).await {
            Err(_) => return Err(timeout_error(kind, timeouts, start)),
            Ok(Err(e)) => {
                return Err(ProviderError::new(
                    ErrorKind::Incomplete,
                    format!("the stream broke off: {}", error_text(&e)),
                ));
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(bytes))) => bytes,
        };
        let fed = decoder.feed(&chunk, &mut events);
        // Events decoded before an error still reach the caller.
        for event in events.drain(..) {
            match event {
                StreamEvent::Delta(_) => got_text = true,
                StreamEvent::Done => {
                    on_event(event);
                    return Ok(());
                }
                _ => {}
            }
            on_event(event);
        }
        fed?;
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
