//! Provider adapters: one file per wire format, all behind [`Adapter`].
//!
//! Adapters are sans-IO translators: a [`ChatRequest`] in, an [`HttpRequest`]
//! out; bytes in, [`StreamEvent`]s out. [`http`] does every network call, with
//! the timeouts and size caps, once for all of them.
//!
//! Each adapter file also describes its kind ([`KindSpec`]: default base URL,
//! key variable, catalog name, tokenizer, ...). Adding a provider kind is one
//! new file, its `pub mod` line and one entry in [`KINDS`].
//!
//! This side imports nothing from the profile: a request names its provider by
//! an [`Endpoint`], built by the caller from whatever configured it.

pub mod anthropic;
pub mod azure;
pub mod error;
#[cfg(test)]
pub(crate) mod fuzz;
pub mod gemini;
pub mod http;
pub mod key;
pub mod kind;
pub mod media;
pub mod ndjson;
pub mod ollama;
pub mod openai;
pub mod sse;
pub mod types;

use reqwest::header::HeaderMap;

pub use error::{ErrorKind, ProviderError, TimeoutKind};
pub use key::ApiKey;
pub use kind::{Continuation, Env, KindSpec, ProviderKind, Tokenizer};
pub use media::MediaSpec;
use types::{ChatRequest, StreamEvent};

/// Every provider kind `route` speaks: the one registration point. The order
/// is the one users see in lists of kinds.
pub const KINDS: &[ProviderKind] = &[
    openai::KIND,
    anthropic::KIND,
    gemini::KIND,
    ollama::KIND,
    azure::KIND,
];

/// One provider to send to, as the adapter needs it: where, with which key
/// and which extra headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The profile's name for it, for messages.
    pub name: String,
    pub kind: ProviderKind,
    /// Where requests go; the key is sent to this host only.
    pub base_url: String,
    /// The resolved key, if the provider takes one.
    pub key: Option<ApiKey>,
    pub headers: Vec<(String, String)>,
    pub api_version: Option<String>,
    /// How an OpenAI-compatible server continues an answer (`continuation`).
    pub continuation: Continuation,
    /// The profile's `stream_usage`: whether to ask an OpenAI-compatible
    /// server for usage in a stream; `None` leaves it to the kind.
    pub stream_usage: Option<bool>,
}

/// Everything an adapter needs to build one request.
pub struct Call<'a> {
    pub request: &'a ChatRequest,
    pub endpoint: &'a Endpoint,
    /// The model id sent to the provider (Azure: the deployment).
    pub model: &'a str,
    /// The model's max output tokens (catalog or profile), for providers that
    /// require `max_tokens` (Anthropic) when the user gave none.
    pub max_output_tokens: Option<u64>,
}

/// A request ready to send. Header values holding a key are marked sensitive.
#[derive(Debug)]
pub struct HttpRequest {
    pub url: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A provider's wire format.
pub trait Adapter: Sync {
    /// Builds the HTTP request for a call.
    fn build(&self, call: &Call<'_>) -> Result<HttpRequest, ProviderError>;

    /// Parses a whole (non-streamed) success body into events ending in
    /// [`StreamEvent::Done`]. An error object inside a 200 body is an error.
    fn parse_body(&self, body: &[u8]) -> Result<Vec<StreamEvent>, ProviderError>;

    /// Turns an error response into a typed error.
    fn parse_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> ProviderError;

    /// A fresh decoder for one streamed answer.
    fn decoder(&self) -> Box<dyn StreamDecoder>;

    /// Whether `error` is the server rejecting the `stream_options` that
    /// `call` carried (CONTRACT.md "Wire formats"): the router then sends the
    /// same call again at once without them (`stream_usage = false`), and
    /// the ledger remembers the server. Only OpenAI-compatible servers are
    /// asked for them.
    fn rejects_stream_options(&self, _call: &Call<'_>, _error: &ProviderError) -> bool {
        false
    }
}

/// Turns a streamed body, fed in arbitrary pieces, into events.
pub trait StreamDecoder: Send {
    /// Feeds the next bytes; complete events are pushed to `out`.
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), ProviderError>;

    /// The body ended. Pushes [`StreamEvent::Done`] only if the provider's end
    /// marker was seen; otherwise the caller reports an incomplete stream.
    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), ProviderError>;
}

/// Adds the user's extra headers from the profile.
pub(crate) fn extra_headers(
    headers: &mut HeaderMap,
    provider: &Endpoint,
) -> Result<(), ProviderError> {
    for (name, value) in &provider.headers {
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ProviderError::new(
                ErrorKind::BadRequest,
                format!(
                    "providers.{}: `{name}` is not a valid header name",
                    provider.name
                ),
            )
        })?;
        let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
            ProviderError::new(
                ErrorKind::BadRequest,
                format!(
                    "providers.{}: the value of header `{name}` is not valid",
                    provider.name
                ),
            )
        })?;
        headers.insert(name, value);
    }
    Ok(())
}

/// A header value holding a secret: marked sensitive so that it never shows in
/// debug output.
pub(crate) fn secret_header(value: &str) -> Result<reqwest::header::HeaderValue, ProviderError> {
    let mut v = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
        ProviderError::new(
            ErrorKind::Auth,
            "the API key contains characters not allowed in a header",
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// JSON content type, for every adapter's request.
pub(crate) fn json_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    h
}

/// Parses JSON with a message that says which provider shape failed.
pub(crate) fn from_json<'a, T: serde::Deserialize<'a>>(
    what: &str,
    bytes: &'a [u8],
) -> Result<T, ProviderError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ProviderError::invalid(format!("malformed {what}: {e}")))
}

/// An error body that is not in the provider's shape (a proxy's page, a
/// load balancer's 502): the kind comes from the status, refined by the
/// words of the body for a 4xx.
pub(crate) fn unshaped_error(status: u16, body: &[u8]) -> ProviderError {
    let message = body_text(status, body);
    let kind = match ErrorKind::from_status(status) {
        ErrorKind::BadRequest => {
            error::kind_from_message(&message).unwrap_or(ErrorKind::BadRequest)
        }
        k => k,
    };
    ProviderError::http(status, kind, message)
}

/// What an error body says, or that it said nothing.
pub(crate) fn body_text(status: u16, body: &[u8]) -> String {
    let text = snippet(body);
    if text.is_empty() {
        format!("HTTP {status} with an empty body")
    } else {
        text
    }
}

/// The first part of a body, for messages about bodies that did not parse.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.trim().replace(['\n', '\r'], " ")
}

/// A tail that does not parse when the body ends is a stream cut inside an
/// event: incomplete (the router moves on), not malformed (it would retry).
pub(crate) fn cut_short(e: ProviderError) -> ProviderError {
    if e.kind == ErrorKind::InvalidResponse {
        ProviderError::new(
            ErrorKind::Incomplete,
            format!("the stream ended inside an event ({})", e.message),
        )
    } else {
        e
    }
}

/// Standard base64 with padding: how every wire format carries a file's bytes.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `data:<mime>;base64,<bytes>`: a file inline in a URL (RFC 2397), as
/// Chat Completions takes images and PDFs.
pub fn data_url(a: &types::Attachment) -> String {
    format!("data:{};base64,{}", a.media.mime(), base64(&a.bytes))
}

/// What the adapters' unit tests share.
#[cfg(test)]
pub(crate) mod testing {
    use super::types::StreamEvent;
    use super::{ProviderError, StreamDecoder};

    /// Feeds `chunks` one after the other, then ends the body.
    pub(crate) fn decode(
        decoder: &mut dyn StreamDecoder,
        chunks: &[&[u8]],
    ) -> Result<Vec<StreamEvent>, ProviderError> {
        let mut out = Vec::new();
        for c in chunks {
            decoder.feed(c, &mut out)?;
        }
        decoder.finish(&mut out)?;
        Ok(out)
    }

    /// Decoding `bytes` split at every point, and byte by byte, gives `whole`.
    pub(crate) fn assert_same_at_every_split(
        whole: &[StreamEvent],
        bytes: &[u8],
        decode: impl Fn(&[&[u8]]) -> Result<Vec<StreamEvent>, ProviderError>,
    ) {
        for i in 0..=bytes.len() {
            let split = decode(&[&bytes[..i], &bytes[i..]]).unwrap();
            assert_eq!(split, whole, "split at {i}");
        }
        let chunks: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(decode(&chunks).unwrap(), whole, "byte by byte");
    }

    /// The answer text of a list of events.
    pub(crate) fn text(events: &[StreamEvent]) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Delta(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    /// A request whose prompt carries a 2 × 2 PNG (`shots/screen.png`) and,
    /// with `pdf`, a one-page PDF (`report.pdf`) before its text, as `-a`
    /// builds it.
    pub(crate) fn attachment_request(pdf: bool) -> super::types::ChatRequest {
        use super::media::samples;
        use super::types::{Attachment, ChatRequest, Params, Part, Role};
        let mut request = ChatRequest::prompt(
            Some("Be brief."),
            "What is wrong here?",
            Params::default(),
            true,
        );
        let user = request
            .messages
            .iter_mut()
            .find(|m| m.role == Role::User)
            .unwrap();
        user.parts.insert(
            0,
            Part::Attachment(Attachment::new("shots/screen.png", samples::png(2, 2)).unwrap()),
        );
        if pdf {
            user.parts.insert(
                1,
                Part::Attachment(Attachment::new("report.pdf", samples::pdf(1)).unwrap()),
            );
        }
        request
    }

    /// The JSON body `kind`'s adapter builds for `request`.
    pub(crate) fn body_json(
        kind: super::ProviderKind,
        request: &super::types::ChatRequest,
    ) -> Result<serde_json::Value, ProviderError> {
        let endpoint = super::Endpoint {
            name: "p".into(),
            kind,
            base_url: "http://127.0.0.1:1".into(),
            key: None,
            headers: vec![],
            api_version: None,
            continuation: super::Continuation::None,
            stream_usage: None,
        };
        let call = super::Call {
            request,
            endpoint: &endpoint,
            model: "m",
            max_output_tokens: Some(100),
        };
        let built = kind.adapter().build(&call)?;
        Ok(serde_json::from_slice(&built.body).unwrap())
    }

    /// A fixture of an expected request (tests/fixtures/KIND/attachments.json):
    /// `__source__` names the reference it follows, `body` is the part of the
    /// body compared.
    pub(crate) fn request_fixture(text: &str) -> serde_json::Value {
        let fixture: serde_json::Value = serde_json::from_str(text).unwrap();
        assert!(
            fixture["__source__"].is_string(),
            "the fixture names its source"
        );
        fixture["body"].clone()
    }
}
