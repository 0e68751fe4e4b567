//! `route-mock`: a local **mock** LLM provider for `route`'s integration tests,
//! its README demo and its benchmarks. It is not a real provider and produces
//! no real answers: it replays a [`Script`] of canned [`Reply`]s, speaking each
//! provider's real wire format so that `route`'s clients, stream parsers and
//! fallback rules are exercised exactly as against the real services, faults
//! included (hangs, stalls, cut streams, in-stream errors, odd framing).
//!
//! The provider is chosen by the request path (a query string is ignored):
//!
//! | path | provider | streams when |
//! |---|---|---|
//! | ends with `/chat/completions` (Azure's `/openai/deployments/{d}/chat/completions` too) | OpenAI Chat Completions | body `stream: true` |
//! | ends with `/v1/messages` | Anthropic Messages | body `stream: true` |
//! | contains `/models/{model}:generateContent` or `:streamGenerateContent` | Gemini | `streamGenerateContent` (SSE with `alt=sse`, else one streamed JSON array) |
//! | ends with `/api/chat` | Ollama | unless body `stream: false` |
//!
//! Every image and PDF in a request is decoded and checked (`attach.rs`): one
//! in another provider's shape, or whose bytes are not the MIME type it
//! declares, gets the provider's HTTP 400, as the real API would refuse it.
//!
//! A path starting with `/fail/{status}/` (e.g. `/fail/503/v1/chat/completions`)
//! answers that status with the provider's error body whatever the script says,
//! so one mock can stand for a good and a failing provider at once.
//!
//! Structured output: an Anthropic request that forces a tool (`tool_choice`
//! of type `tool`, as route's `--schema` does) is answered as that tool's
//! use, its input streamed as `input_json_delta` events, as the real API
//! does; the other wire formats answer structured output as text.
//! [`Script::expecting_schema`] makes the mock refuse (400) a request that
//! does not carry a JSON Schema where its wire format takes one, and
//! [`Reply::InvalidJson`] answers text that is not JSON.
//!
//! Refusals: [`Reply::Declined`] is a 200 answer in which the model declines
//! in each wire format's shape (a refusal field or stop reason, a content
//! filter's or safety finish, a blocked prompt: see [`Decline`]), and
//! [`Reply::ContentPolicy`] the provider's content-policy 400.
//!
//! The formats follow the providers' public API references:
//! - OpenAI Chat Completions, incl. streaming chunks and `stream_options.include_usage`:
//!   <https://platform.openai.com/docs/api-reference/chat/create>,
//!   <https://platform.openai.com/docs/api-reference/chat/streaming>,
//!   errors: <https://platform.openai.com/docs/guides/error-codes>
//! - Anthropic Messages and its SSE events: <https://docs.anthropic.com/en/api/messages>,
//!   <https://docs.anthropic.com/en/docs/build-with-claude/streaming>,
//!   errors: <https://docs.anthropic.com/en/api/errors>
//! - Gemini `generateContent` / `streamGenerateContent`:
//!   <https://ai.google.dev/api/generate-content>,
//!   errors: <https://ai.google.dev/gemini-api/docs/troubleshooting>
//! - Ollama `/api/chat`: <https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion>
//! - Refusals: OpenAI `refusal` (<https://platform.openai.com/docs/guides/structured-outputs#refusals>)
//!   and `finish_reason: "content_filter"`; Anthropic `stop_reason: "refusal"`
//!   and `stop_details` (<https://docs.anthropic.com/en/docs/test-and-evaluate/strengthen-guardrails/handle-streaming-refusals>);
//!   Gemini `finishReason` and `promptFeedback.blockReason`
//!   (<https://ai.google.dev/api/generate-content#FinishReason>,
//!   <https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/process-blocked-responses>)
//! - Structured output: OpenAI `response_format` (<https://platform.openai.com/docs/api-reference/chat/create#chat-create-response_format>),
//!   Anthropic tools and `tool_choice` (<https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#forcing-tool-use>),
//!   Gemini `generationConfig.responseJsonSchema` (<https://ai.google.dev/gemini-api/docs/structured-output>),
//!   Ollama `format` (<https://github.com/ollama/ollama/blob/main/docs/api.md#request-structured-outputs>)
//!
//! The server is a minimal HTTP/1.1 implementation on a tokio `TcpListener`
//! (keep-alive, `Content-Length` request bodies, chunked streamed responses with
//! one chunk per event), running on its own thread and runtime so synchronous
//! tests can use it. Responses are pre-formatted into one buffer per request
//! and written as each event falls due.
//!
//! ```no_run
//! use route_mock::{Answer, MockServer, Reply, Script};
//!
//! let mock = MockServer::start(Script::new(vec![
//!     Reply::status(503),
//!     Reply::Answer(Answer::new("Hello there.")),
//! ]));
//! let base_url = format!("{}/v1", mock.url()); // give this to the client under test
//! # let _ = base_url;
//! ```

mod attach;
mod http;
mod serve;
mod wire;

use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

use serve::Shared;

/// A running mock provider on `127.0.0.1`. Dropping it shuts the server down,
/// closing every connection (which also ends any hang or stall in progress).
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Starts a mock on a free port of 127.0.0.1. Panics if it cannot bind.
    pub fn start(script: Script) -> MockServer {
        Self::start_on(0, script).expect("route-mock: cannot bind 127.0.0.1:0")
    }

    /// Starts a mock on 127.0.0.1:`port` (0 picks a free port).
    pub fn start_on(port: u16, script: Script) -> std::io::Result<MockServer> {
        let listener = StdListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(script));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let server_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("route-mock:{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        () = serve::accept_loop(listener, server_shared) => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime drops every connection task, closing its socket.
                drop(runtime);
            })?;
        Ok(MockServer {
            addr,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every HTTP request received so far, in arrival order (including ones
    /// answered by a `/fail/` path, a 404, or never answered).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn request_count(&self) -> usize {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// TCP connections accepted so far, including ones closed by [`Reply::Refuse`]
    /// before any request was read.
    pub fn connection_count(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// The most requests that were being answered at the same time: read, and
    /// not yet answered in full (a [`Reply::Hang`] counts until the client hangs up).
    /// Shows whether a client sent requests at once or one after another.
    pub fn most_in_flight(&self) -> usize {
        self.shared.most_in_flight.load(Ordering::SeqCst)
    }

    /// Replaces the script; the next request gets its first reply.
    pub fn set_script(&self, script: Script) {
        self.shared.set_script(script);
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// One request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// The request target: path plus query string, as sent.
    pub path: String,
    /// Header names are lowercased; values as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON; `Value::Null` when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// The replies given to successive requests: the first request gets the first
/// reply, and so on; the last reply then repeats forever. Requests to a
/// `/fail/` path, to no provider endpoint, or with a body that is not JSON do
/// not use up a reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    replies: Vec<Reply>,
    answer: Answer,
    expect_prefix: bool,
    expect_schema: bool,
    expect_attachments: Option<Vec<String>>,
}

impl Script {
    /// An empty list behaves like [`Script::default`].
    pub fn new(replies: Vec<Reply>) -> Self {
        Script {
            replies,
            answer: Answer::default(),
            expect_prefix: false,
            expect_schema: false,
            expect_attachments: None,
        }
    }

    pub fn always(reply: Reply) -> Self {
        Self::new(vec![reply])
    }

    /// The answer that the fault replies without an answer of their own
    /// (`HangAfter`, `Cut`, `StreamError`, `RateLimitIn200`, `Http10`) stream
    /// or send; [`Answer::default`] unless set here.
    #[must_use]
    pub fn with_answer(mut self, answer: Answer) -> Self {
        self.answer = answer;
        self
    }

    /// Every answer must continue one that broke off: the request must carry
    /// the beginning of the answer's text as the assistant's reply, in the
    /// shape of the wire format it speaks (see the module docs), or the mock
    /// answers 400. It then sends only the rest of the text.
    #[must_use]
    pub fn expecting_prefix(mut self) -> Self {
        self.expect_prefix = true;
        self
    }

    /// Every request answered with [`Reply::Answer`] or [`Reply::InvalidJson`]
    /// must ask for structured output with a JSON Schema, in the shape of the
    /// wire format it speaks, or the mock answers 400 saying what is missing
    /// or misplaced:
    ///
    /// - OpenAI-compatible: `response_format` `{"type": "json_schema",
    ///   "json_schema": {"name", "schema", …}}`, `name` of `[a-zA-Z0-9_-]{1,64}`;
    /// - Anthropic: a tool in `tools` whose `input_schema` is an object schema,
    ///   forced by `tool_choice` `{"type": "tool", "name": …}`;
    /// - Gemini: `generationConfig` with `responseMimeType: "application/json"`
    ///   and a `responseJsonSchema` (or `responseSchema`) object;
    /// - Ollama: `format` holding a schema object (not just `"json"`).
    #[must_use]
    pub fn expecting_schema(mut self) -> Self {
        self.expect_schema = true;
        self
    }

    /// Every request must carry exactly these attachments, by MIME type and
    /// in order (`["image/png", "application/pdf"]`), in the shape of the
    /// wire format it speaks, or the mock answers 400. (Attachments are
    /// checked in every request; this also requires them.)
    #[must_use]
    pub fn expecting_attachments(mut self, mime_types: &[&str]) -> Self {
        self.expect_attachments = Some(mime_types.iter().map(|m| (*m).to_owned()).collect());
        self
    }
}

impl Default for Script {
    fn default() -> Self {
        Self::always(Reply::Answer(Answer::default()))
    }
}

/// What the mock does with one request.
///
/// The replies without an [`Answer`] of their own (`HangAfter`, `Cut`,
/// `StreamError`, `RateLimitIn200`, `Http10`) use the script's answer, see
/// [`Script::with_answer`]. The stream faults apply to streamed requests; to a non-streamed request `HangAfter` and `Cut` send the head and
/// (when `chunks > 0`) half the body before stalling or closing, and
/// `StreamError` answers its status as an HTTP error.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A successful answer.
    Answer(Answer),
    /// An HTTP error with the provider's error body; `message` replaces the
    /// default message, `headers` are added (e.g. `("retry-after", "2")`).
    Status {
        status: u16,
        message: Option<String>,
        headers: Vec<(String, String)>,
    },
    /// Exactly these bytes, with a `Content-Length`: for garbage and odd shapes.
    RawBody {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
    /// Read the request and never answer.
    Hang,
    /// Send the head and `chunks` text events, then go silent forever.
    HangAfter { chunks: usize },
    /// Send the head and `chunks` text events, then close the connection
    /// mid-body (no end marker, no final empty chunk).
    Cut { chunks: usize },
    /// Send `chunks` text events, then an error event in the provider's shape
    /// and end the body. `status` picks the error: 429 rate limit, 529 or 503
    /// overloaded, other 5xx server error.
    StreamError { chunks: usize, status: u16 },
    /// HTTP 200 whose body (or, streamed, first event) is the provider's
    /// rate-limit error.
    RateLimitIn200,
    /// Answer as HTTP/1.0 with a close-delimited body (no length, no
    /// chunking), then close.
    Http10,
    /// Close the connection without answering: right after accepting it when
    /// this is the next reply for a new connection, else after reading the
    /// request on a reused one.
    Refuse,
    /// HTTP 400 with the provider's "prompt is too long" error (OpenAI code
    /// `context_length_exceeded`).
    ContextLength,
    /// HTTP 200 with a complete answer in which the model declines, in the
    /// wire format's own shape (see [`Decline`]), after `chunks` text events
    /// of the script's answer (0: it declines at once).
    Declined { how: Decline, chunks: usize },
    /// HTTP 400 with the provider's content-policy error: OpenAI's flagged
    /// prompt (`code: "invalid_prompt"`), Anthropic's "Output blocked by
    /// content filtering policy" (`invalid_request_error`). Gemini blocks a
    /// prompt in a 200 answer instead, so it answers as
    /// [`Decline::BlockedPrompt`]; Ollama, which has no content policy, with
    /// its plain 400 naming one.
    ContentPolicy,
    /// A complete, successful answer whose text is not JSON: [`INVALID_JSON`],
    /// streamed and timed like the script's answer (see [`Script::with_answer`]).
    /// For a forced Anthropic tool it is the tool's `partial_json` (streamed),
    /// or its `input` written as a JSON string (not streamed).
    InvalidJson,
}

/// How a [`Reply::Declined`] answer declines, in each wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decline {
    /// The model's own refusal: OpenAI-compatible, [`REFUSAL`] in
    /// `message.refusal` (streamed as `delta.refusal`) with `finish_reason:
    /// "stop"`; Anthropic, `stop_reason: "refusal"` with `stop_details`
    /// ([`REFUSAL_EXPLANATION`]); Gemini, a candidate with `finishReason:
    /// "SAFETY"`; Ollama, which has no refusal field, [`REFUSAL`] as the
    /// answer's text.
    Refusal,
    /// A content filter stopped the answer: OpenAI-compatible,
    /// `finish_reason: "content_filter"`; Anthropic, `stop_reason:
    /// "refusal"` without details; Gemini, `finishReason:
    /// "PROHIBITED_CONTENT"`; Ollama as [`Decline::Refusal`].
    Filtered,
    /// The prompt was blocked before any answer: Gemini,
    /// `promptFeedback.blockReason: "SAFETY"` and no candidates (no text
    /// events are sent); the other wire formats as [`Decline::Refusal`].
    BlockedPrompt,
}

/// The refusal text of [`Decline::Refusal`] (OpenAI's structured-output
/// guide shows it).
pub const REFUSAL: &str = "I'm sorry, I cannot assist with that request.";

/// Anthropic's `stop_details.explanation` of [`Decline::Refusal`] (its
/// streaming-refusals guide shows it).
pub const REFUSAL_EXPLANATION: &str =
    "This request was declined because it could enable cyber harm.";

/// The text of [`Reply::InvalidJson`]: JSON cut off in the middle, as a model
/// stopped short leaves it.
pub const INVALID_JSON: &str = "{\"answer\": \"this JSON breaks off";

impl Reply {
    /// `Reply::Status` with the provider's default message and no extra headers.
    pub fn status(status: u16) -> Reply {
        Reply::Status {
            status,
            message: None,
            headers: Vec::new(),
        }
    }

    /// `Reply::Answer` with this text and everything else default.
    pub fn text(text: impl Into<String>) -> Reply {
        Reply::Answer(Answer::new(text))
    }
}

/// A successful answer and how it is streamed.
///
/// Token counts are given once and written in each provider's convention:
/// `input_tokens` is the whole prompt (cached part included), as OpenAI and
/// Gemini report it (Anthropic's `input_tokens` get the uncached remainder);
/// `output_tokens` is the visible answer, and `reasoning_tokens` come on top
/// (OpenAI `completion_tokens` and Anthropic/Ollama output counts include them,
/// Gemini reports them as `thoughtsTokenCount`).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub text: String,
    /// Split the text into this many events (per copy, see `repeat`);
    /// `None`: one event per whitespace-separated word, each word keeping the
    /// whitespace before it.
    pub chunks: Option<usize>,
    /// The text is sent this many times, back to back (for long answers).
    pub repeat: usize,
    /// Pause between text events.
    pub delay: Duration,
    /// Pause before the first text event (the head and any events before the
    /// text, like Anthropic's `message_start`, go out at once).
    pub first_delay: Duration,
    pub input_tokens: u64,
    /// `None`: the number of text events.
    pub output_tokens: Option<u64>,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    /// Prompt tokens written to the cache: Anthropic
    /// `cache_creation_input_tokens`; OpenAI-compatible
    /// `prompt_tokens_details.cache_write_tokens` (OpenRouter's usage
    /// accounting), sent only when not 0.
    pub cache_creation_tokens: u64,
    /// The part of `cache_creation_tokens` written to a 1-hour cache:
    /// Anthropic `usage.cache_creation.ephemeral_1h_input_tokens` (the rest
    /// is `ephemeral_5m_input_tokens`), sent with the breakdown only when
    /// there are cache writes.
    pub cache_creation_1h_tokens: u64,
    /// The model the answer claims to come from; `None`: the requested one.
    pub served_model: Option<String>,
    /// `None`: `stop` (OpenAI, Ollama), `end_turn` (Anthropic), `STOP` (Gemini).
    pub finish_reason: Option<String>,
    /// OpenRouter-style `usage.cost` (USD) in the OpenAI usage object.
    pub provider_cost: Option<f64>,
    /// Reasoning streamed at once, before [`Answer::first_delay`] and the
    /// text: a model that thinks before it answers. OpenAI-compatible wire
    /// only, as DeepSeek sends it (`delta.reasoning_content`).
    pub reasoning: Option<String>,
}

impl Answer {
    /// An answer with this text and everything else default.
    pub fn new(text: impl Into<String>) -> Self {
        Answer {
            text: text.into(),
            ..Answer::default()
        }
    }
}

impl Default for Answer {
    fn default() -> Self {
        Answer {
            text: "Hello from the route mock provider.".to_string(),
            chunks: None,
            repeat: 1,
            delay: Duration::ZERO,
            first_delay: Duration::ZERO,
            input_tokens: 12,
            output_tokens: None,
            cached_tokens: 0,
            reasoning_tokens: 0,
            cache_creation_tokens: 0,
            cache_creation_1h_tokens: 0,
            served_model: None,
            finish_reason: None,
            provider_cost: None,
            reasoning: None,
        }
    }
}

/// The text events of one copy of `text`.
pub(crate) fn split_text(text: &str, chunks: Option<usize>) -> Vec<&str> {
    match chunks {
        None => split_words(text),
        Some(n) => {
            let total = text.chars().count();
            if total == 0 {
                return Vec::new();
            }
            let n = n.clamp(1, total);
            let bounds: Vec<usize> = text
                .char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()))
                .collect();
            (0..n)
                .map(|k| &text[bounds[k * total / n]..bounds[(k + 1) * total / n]])
                .collect()
        }
    }
}

/// `"Hello from  the"` → `["Hello", " from", "  the"]`: tokens carry their leading space.
fn split_words(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut run_start) = (0, 0);
    let (mut prev_space, mut seen_word) = (false, false);
    for (i, c) in text.char_indices() {
        let space = c.is_whitespace();
        if space && !prev_space {
            run_start = i;
        }
        if !space && prev_space && seen_word {
            pieces.push(&text[start..run_start]);
            start = run_start;
        }
        seen_word |= !space;
        prev_space = space;
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_their_leading_space() {
        assert_eq!(
            split_words("Hello from  the mock."),
            ["Hello", " from", "  the", " mock."]
        );
        assert_eq!(split_words("  hi there "), ["  hi", " there "]);
        assert!(split_words("").is_empty());
        assert_eq!(split_words("   "), ["   "]);
    }

    #[test]
    fn fixed_chunks_cover_the_text() {
        assert_eq!(split_text("abcdefg", Some(3)), ["ab", "cd", "efg"]);
        assert_eq!(split_text("héé", Some(10)), ["h", "é", "é"]);
        assert_eq!(split_text("abc", Some(0)), ["abc"]);
        assert!(split_text("", Some(2)).is_empty());
    }
}
