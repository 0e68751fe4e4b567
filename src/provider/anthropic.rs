//! Anthropic's Messages API: `POST {base_url}/v1/messages`, streamed as named
//! server-sent events that end with `message_stop`.
//!
//! - Request and response: <https://docs.anthropic.com/en/api/messages>
//! - Streaming events: <https://docs.anthropic.com/en/docs/build-with-claude/streaming>
//! - Errors (types, 529, errors inside a stream): <https://docs.anthropic.com/en/api/errors>
//! - The `anthropic-version` header: <https://docs.anthropic.com/en/api/versioning>
//! - Cache fields of `usage`: <https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching>
//! - Thinking blocks: <https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking>
//! - Refusals: `stop_reason: "refusal"`, with `stop_details` (`category`,
//!   `explanation`) beside it, in a whole message and on `message_delta`:
//!   <https://docs.anthropic.com/en/docs/test-and-evaluate/strengthen-guardrails/handle-streaming-refusals>
//! - Tools, a forced tool (`tool_choice`) and their streamed input (`input_json_delta`):
//!   <https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#forcing-tool-use>,
//!   <https://docs.anthropic.com/en/docs/build-with-claude/streaming>; the SDK's
//!   `ToolChoiceTool`: <https://github.com/anthropics/anthropic-sdk-python/blob/main/src/anthropic/types/tool_choice_tool_param.py>
//! - Attachments: `image` and `document` blocks with a `base64` source
//!   (<https://docs.anthropic.com/en/docs/build-with-claude/vision>,
//!   <https://docs.anthropic.com/en/docs/build-with-claude/pdf-support>; the
//!   SDK's `ImageBlockParam` / `Base64ImageSourceParam` and `DocumentBlockParam`
//!   / `Base64PDFSourceParam`:
//!   <https://github.com/anthropics/anthropic-sdk-python/tree/main/src/anthropic/types>)
//!
//! Usage is normalised on the way out: Anthropic's `input_tokens` are only the
//! uncached remainder of the prompt, so cache reads and cache writes are added
//! back to make `input_tokens` everything the prompt was billed for.

use reqwest::header::{HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::{ErrorKind, ProviderError, kind_from_message, retry_after};
use super::kind::{Continues, EnvProvider, KindSpec, ProviderKind, Tokenizer};
use super::media::{Limit, MB, MediaSpec, scaled};
use super::types::{self, FinishReason, Media, ParamNames, Role, StreamEvent, Usage};
use super::{Adapter, Call, HttpRequest, StreamDecoder, sse};

/// The API version sent when the profile names none (`api_version`).
pub const DEFAULT_API_VERSION: &str = "2023-06-01";

/// `max_tokens` is required by the Messages API; this is sent when neither
/// the user nor the catalog gives one.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// The `anthropic` kind.
pub const KIND: ProviderKind = ProviderKind(&KindSpec {
    name: "anthropic",
    adapter: &Anthropic,
    default_base_url: Some("https://api.anthropic.com"),
    base_url_var: None,
    base_url_hint: None,
    key_var: Some("ANTHROPIC_API_KEY"),
    local: false,
    model_is_deployment: false,
    litellm_provider: "anthropic",
    litellm_by_name: false,
    plain_model: |_| None,
    tokenizer: Tokenizer::Approximate,
    from_env: &[EnvProvider {
        name: "anthropic",
        vars: &["ANTHROPIC_API_KEY"],
        var_is_key: true,
        base_url: None,
        aliases: &[
            ("sonnet", "claude-sonnet-4-6"),
            ("haiku", "claude-haiku-4-5-20251001"),
            ("opus", "claude-opus-4-7-20260416"),
        ],
        listed: 1,
        chain: 0,
    }],
    continues: Continues::Always,
    prefix_sent: str::trim_end,
    // Anthropic Messages API: `temperature` ranges from 0.0 to 1.0 (docs.anthropic.com, Messages API reference).
    temperature_max: Some(1.0),
    model_continues: takes_prefill,
    media: MEDIA,
});

/// What the Messages API takes: at most 5 MB per image and 32 MB per request
/// (the vision guide's "Image size limits" and FAQ,
/// <https://docs.anthropic.com/en/docs/build-with-claude/vision>; the PDF
/// guide's "PDF support" requirements, 32 MB per request,
/// <https://docs.anthropic.com/en/docs/build-with-claude/pdf-support>). Both
/// count what is sent: the base64 text.
pub const MEDIA: MediaSpec = MediaSpec {
    images: true,
    pdfs: true,
    max_image: Some(Limit::encoded(5 * MB)),
    max_images: None,
    max_pdfs: None,
    max_request: Some(Limit::encoded(32 * MB)),
    image_tokens,
    // The PDF guide ("Estimate your costs"): 1,500 to 3,000 tokens of text per
    // page, plus the page as an image (at most some 1,600 tokens by the rule
    // below); the lower text figure and a whole page image.
    pdf_page_tokens: 1_500 + 1_600,
};

/// An image's tokens: width × height / 750, after an image whose long edge
/// is over 1568 px is scaled down to it, and at most about 1,600 (the vision
/// guide, "Calculate image costs"). An image route cannot measure counts as
/// the largest one that is not scaled (1092 × 1092, 1,590 tokens).
pub fn image_tokens(dimensions: Option<(u32, u32)>) -> u64 {
    let (w, h) = dimensions.unwrap_or((1092, 1092));
    let (w, h) = scaled((w, h), 1568.0 / f64::from(w.max(h)));
    (u64::from(w) * u64::from(h)).div_ceil(750).min(1_600)
}

/// Whether the model takes a prefill (a last assistant message to continue).
/// Claude Opus and Sonnet 4.6 and every later model reject one with HTTP 400
/// ("This model does not support assistant message prefill"), as Anthropic's
/// "What's new in Claude 4.6" says under "Prefill removal"
/// (<https://platform.claude.com/docs/en/about-claude/models/whats-new-claude-4-6>).
/// An id route cannot read (no `claude-FAMILY-MAJOR[-MINOR]`) is taken to.
fn takes_prefill(model: &str) -> bool {
    let Some(rest) = ["claude-opus-", "claude-sonnet-", "claude-haiku-"]
        .iter()
        .find_map(|p| model.strip_prefix(p))
    else {
        return true;
    };
    let mut parts = rest.split('-');
    let Some(major) = parts.next().and_then(|m| m.parse::<u32>().ok()) else {
        return true;
    };
    // A minor version is one or two digits; eight are a date.
    let minor = parts
        .next()
        .filter(|m| m.len() <= 2)
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0);
    (major, minor) < (4, 6)
}

pub struct Anthropic;

impl Adapter for Anthropic {
    fn build(&self, call: &Call<'_>) -> Result<HttpRequest, ProviderError> {
        let mut headers = super::json_headers();
        if let Some(key) = &call.endpoint.key {
            headers.insert("x-api-key", super::secret_header(key.expose())?);
        }
        let version = call
            .endpoint
            .api_version
            .as_deref()
            .unwrap_or(DEFAULT_API_VERSION);
        let version = HeaderValue::from_str(version).map_err(|_| {
            ProviderError::new(
                ErrorKind::BadRequest,
                format!(
                    "providers.{}: api_version `{version}` is not a valid header value",
                    call.endpoint.name
                ),
            )
        })?;
        headers.insert("anthropic-version", version);
        // Last, so that a profile can add `anthropic-beta` or override the version.
        super::extra_headers(&mut headers, call.endpoint)?;
        Ok(HttpRequest {
            url: format!("{}/v1/messages", call.endpoint.base_url),
            headers,
            body: body(call),
        })
    }

    fn parse_body(&self, body: &[u8]) -> Result<Vec<StreamEvent>, ProviderError> {
        parse_body(body)
    }

    fn parse_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> ProviderError {
        parse_error(status, headers, body)
    }

    fn decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(Decoder::default())
    }
}

/// The JSON body of a Messages request.
fn body(call: &Call<'_>) -> Vec<u8> {
    let req = call.request;
    let p = &req.params;
    let mut body = Map::new();
    body.insert("model".into(), json!(call.model));
    // Required by the API: the user's value, else the model's own limit, else a default.
    let max_tokens = p
        .max_tokens
        .or(call.max_output_tokens.filter(|n| *n > 0))
        .unwrap_or(DEFAULT_MAX_TOKENS);
    body.insert("max_tokens".into(), json!(max_tokens));
    if let Some(system) = req.system() {
        body.insert("system".into(), json!(system));
    }
    // A last assistant message is a prefill: Claude continues it. The API
    // refuses one that ends in whitespace, so that is left out (the router
    // drops it again from the start of the continuation), and one with
    // nothing left is not sent at all.
    // <https://docs.anthropic.com/en/docs/build-with-claude/prompt-engineering/prefill-claudes-response>
    let messages: Vec<Value> = req
        .turns()
        .filter_map(|m| match m.role {
            Role::Assistant => {
                let text = m.joined();
                let sent = (KIND.spec().prefix_sent)(&text);
                (!sent.is_empty()).then(|| json!({"role": "assistant", "content": sent}))
            }
            _ => Some(json!({"role": "user", "content": content(m)})),
        })
        .collect();
    body.insert("messages".into(), Value::Array(messages));
    body.insert("stream".into(), json!(req.stream));
    // `max_tokens` is set above; `p.seed` is deliberately not sent: the Messages API has no seed and
    // rejects unknown fields with a 400, and a seed set in a chain's shared
    // params must not break the chain's Anthropic member. Anything in `extra`
    // is the user's explicit choice and goes through as given.
    p.write_typed(
        &ParamNames {
            temperature: "temperature",
            top_p: "top_p",
            max_tokens: None,
            stop: "stop_sequences",
            seed: None,
        },
        &mut body,
    );
    if let Some(schema) = &req.schema {
        let (tools, choice) = answer_tool(schema.wire());
        body.insert("tools".into(), tools);
        body.insert("tool_choice".into(), choice);
    }
    for (k, v) in &p.extra {
        body.insert(k.clone(), v.clone());
    }
    serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
}

/// `--schema` as a tool whose input is the answer, and `tool_choice` making
/// the model call it, once: Anthropic's "JSON mode"
/// (<https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#json-mode>).
/// The answer then arrives as the tool's input, not as text.
///
/// Why not structured outputs (`output_config.format`,
/// <https://platform.claude.com/docs/en/build-with-claude/structured-outputs>):
/// only Claude 4.5 and later models take it, with a subset of JSON Schema,
/// and a request an older model or a compatible server does not take fails
/// with a 400 that ends the chain ("other 4xx: stop"). A forced tool works on
/// every Claude model and every server that speaks the Messages API, takes
/// any JSON Schema as `input_schema`, and route checks the answer either way.
/// (A forced tool cannot go with extended thinking; route sends none.)
fn answer_tool(schema: &Value) -> (Value, Value) {
    let name = crate::structured::ANSWER_NAME;
    (
        json!([{
            "name": name,
            "description": "Give your answer: the input of this tool is the answer itself, \
                            one JSON value that matches the input schema.",
            "input_schema": schema,
        }]),
        json!({"type": "tool", "name": name, "disable_parallel_tool_use": true}),
    )
}

/// A user message's `content`: its text as one string, or, when it carries
/// attachments, content blocks in order: `text`, `image` and `document`, the
/// files as base64 sources.
fn content(m: &types::Message) -> Value {
    if m.attachments().next().is_none() {
        return json!(m.joined());
    }
    let blocks: Vec<Value> = m
        .parts
        .iter()
        .map(|p| match p {
            types::Part::Text(t) => json!({"type": "text", "text": t}),
            types::Part::Attachment(a) => {
                let source = json!({
                    "type": "base64",
                    "media_type": a.media.mime(),
                    "data": super::base64(&a.bytes),
                });
                if a.media == Media::Pdf {
                    json!({"type": "document", "source": source, "title": a.file_name()})
                } else {
                    json!({"type": "image", "source": source})
                }
            }
        })
        .collect();
    Value::Array(blocks)
}

/// A whole message (non-streamed body), also the `message` of `message_start`.
#[derive(Deserialize, Default)]
struct Message {
    /// `"message"` for an answer, `"error"` for an error object.
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    content: Vec<Block>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    stop_details: Option<StopDetails>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<WireError>,
}

/// Why the model stopped, beside a `refusal` stop reason.
#[derive(Deserialize, Default)]
struct StopDetails {
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    explanation: Option<String>,
}

/// What the user is told of a refusal: the provider's explanation when it
/// gives one, else that the model declined.
fn refusal(details: Option<&StopDetails>) -> String {
    let explanation = details.and_then(|d| d.explanation.as_deref());
    let category = details.and_then(|d| d.category.as_deref());
    match (explanation.filter(|e| !e.trim().is_empty()), category) {
        (Some(e), _) => e.trim().to_owned(),
        (None, Some(c)) if !c.is_empty() => {
            format!("the model declined to answer (stop_reason: refusal, category {c})")
        }
        _ => "the model declined to answer (stop_reason: refusal)".to_owned(),
    }
}

/// A content block. Redacted thinking and the rest are not answer text, and
/// neither is the use of a tool other than route's `--schema` answer.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        #[serde(default)]
        text: String,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
    },
    /// A tool call; with `name` [`crate::structured::ANSWER_NAME`], the
    /// `--schema` answer (its input, read by [`answer_input`]).
    ToolUse {
        #[serde(default)]
        name: String,
    },
    #[serde(other)]
    Other,
}

/// The raw text of the `input` of route's answer tool in a whole message,
/// as the server wrote it (key order kept, unlike a parsed value).
fn answer_input(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Raw<'a> {
        #[serde(borrow, default)]
        content: Vec<&'a serde_json::value::RawValue>,
    }
    #[derive(Deserialize)]
    struct RawBlock<'a> {
        #[serde(default, rename = "type")]
        kind: String,
        #[serde(default)]
        name: String,
        #[serde(borrow, default)]
        input: Option<&'a serde_json::value::RawValue>,
    }
    let raw: Raw<'_> = serde_json::from_slice(body).ok()?;
    raw.content.iter().find_map(|block| {
        let block: RawBlock<'_> = serde_json::from_str(block.get()).ok()?;
        (block.kind == "tool_use" && block.name == crate::structured::ANSWER_NAME)
            .then(|| block.input.map_or_else(String::new, |i| i.get().to_owned()))
    })
}

/// One streamed event, told apart by its `type`. `ping`, `content_block_stop`
/// and types added later are ignored.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MessageStart {
        message: Message,
    },
    ContentBlockStart {
        content_block: Block,
    },
    ContentBlockDelta {
        delta: BlockDelta,
    },
    MessageDelta {
        #[serde(default)]
        delta: MessageDelta,
        #[serde(default)]
        usage: Option<WireUsage>,
    },
    MessageStop,
    Error {
        error: WireError,
    },
    #[serde(other)]
    Unknown,
}

/// `signature_delta` and `citations_delta` carry no answer text, and
/// `input_json_delta` only inside route's answer tool.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        #[serde(default)]
        text: String,
    },
    ThinkingDelta {
        #[serde(default)]
        thinking: String,
    },
    InputJsonDelta {
        #[serde(default)]
        partial_json: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default)]
struct MessageDelta {
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    stop_details: Option<StopDetails>,
}

/// Anthropic's token counts. Every field may be missing or null; in a stream,
/// `message_delta` counts are cumulative and replace those of `message_start`.
#[derive(Deserialize, Default, Clone, Copy)]
#[allow(clippy::struct_field_names)] // the wire's own names
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    /// The cache writes by lifetime: 5-minute and 1-hour ones are billed
    /// differently (the prompt-caching guide's "1-hour cache duration"; the
    /// SDK's `CacheCreation`).
    #[serde(default)]
    cache_creation: Option<CacheCreation>,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct CacheCreation {
    #[serde(default)]
    ephemeral_5m_input_tokens: Option<u64>,
    #[serde(default)]
    ephemeral_1h_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Takes every count `later` carries, keeping the others.
    fn merge(&mut self, later: &WireUsage) {
        self.input_tokens = later.input_tokens.or(self.input_tokens);
        self.output_tokens = later.output_tokens.or(self.output_tokens);
        self.cache_creation_input_tokens = later
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
        self.cache_read_input_tokens = later
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
        self.cache_creation = later.cache_creation.or(self.cache_creation);
    }

    fn normalised(&self) -> Usage {
        let by_ttl = self.cache_creation.unwrap_or_default();
        let written_1h = by_ttl.ephemeral_1h_input_tokens.unwrap_or(0);
        // The total is `cache_creation_input_tokens`; a report with only the
        // breakdown is summed.
        let written = self.cache_creation_input_tokens.unwrap_or_else(|| {
            by_ttl
                .ephemeral_5m_input_tokens
                .unwrap_or(0)
                .saturating_add(written_1h)
        });
        let read = self.cache_read_input_tokens.unwrap_or(0);
        Usage {
            // Saturating: the counts are the server's numbers (issue 9: a
            // hostile u64::MAX overflowed here).
            input_tokens: self
                .input_tokens
                .unwrap_or(0)
                .saturating_add(written)
                .saturating_add(read),
            // Thinking is billed as output and already counted in it; the
            // API gives no separate figure for it.
            output_tokens: self.output_tokens.unwrap_or(0),
            cached_input_tokens: read,
            cache_write_tokens: written,
            cache_write_1h_tokens: written_1h.min(written),
            reasoning_tokens: 0,
        }
    }
}

#[derive(Deserialize)]
struct WireError {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// `{"type":"error","error":{"type":…,"message":…},"request_id":…}`
#[derive(Deserialize)]
struct ErrorBody {
    error: WireError,
}

fn finish_reason(s: &str) -> FinishReason {
    match s {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        // Cut short by the context window rather than `max_tokens`: still a length stop.
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// The kind an Anthropic error `type` names, if it is one we know.
fn kind_of_type(kind: &str, message: &str) -> Option<ErrorKind> {
    Some(match kind {
        "overloaded_error" => ErrorKind::Overloaded,
        "rate_limit_error" => ErrorKind::RateLimit,
        "api_error" => ErrorKind::Server,
        // A billing problem is this account's, like a missing permission:
        // another provider may still answer.
        "authentication_error" | "permission_error" | "billing_error" => ErrorKind::Auth,
        "request_too_large" => ErrorKind::ContextLength,
        // "prompt is too long: 210000 tokens > 200000 maximum", "Output
        // blocked by content filtering policy": the words tell them apart.
        "invalid_request_error" => match kind_from_message(message) {
            Some(k @ (ErrorKind::ContextLength | ErrorKind::ContentPolicy)) => k,
            _ => ErrorKind::BadRequest,
        },
        "not_found_error" => ErrorKind::BadRequest,
        _ => return None,
    })
}

/// Classifies an Anthropic error object; `status` is `None` inside a stream.
fn classify(status: Option<u16>, error: &WireError) -> ProviderError {
    let message = error
        .message
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "no message".into());
    let by_type = error
        .kind
        .as_deref()
        .and_then(|k| kind_of_type(k, &message));
    let kind = match (status, by_type) {
        // 529 is Anthropic's "overloaded" whatever the body says.
        (Some(529), _) => ErrorKind::Overloaded,
        (_, Some(kind)) => kind,
        (Some(s), None) => match ErrorKind::from_status(s) {
            ErrorKind::BadRequest => kind_from_message(&message).unwrap_or(ErrorKind::BadRequest),
            k => k,
        },
        (None, None) => kind_from_message(&message).unwrap_or(ErrorKind::Server),
    };
    ProviderError {
        kind,
        status,
        retry_after: None,
        timeout: None,
        message,
    }
}

fn parse_error(status: u16, headers: &HeaderMap, body: &[u8]) -> ProviderError {
    let error = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => classify(Some(status), &b.error),
        Err(_) => {
            // Not Anthropic's shape: a proxy's page, or Cloudflare's 413.
            super::unshaped_error(status, body)
        }
    };
    error.with_retry_after(retry_after(headers))
}

fn parse_body(body: &[u8]) -> Result<Vec<StreamEvent>, ProviderError> {
    let m: Message = super::from_json("message", body)?;
    if let Some(error) = &m.error {
        return Err(classify(None, error));
    }
    if m.kind.as_deref() != Some("message") && m.content.is_empty() {
        return Err(ProviderError::invalid(format!(
            "the answer is not a message: {}",
            super::snippet(body)
        )));
    }
    let mut out = Vec::new();
    if let Some(model) = m.model.filter(|m| !m.is_empty()) {
        out.push(StreamEvent::ServedModel(model));
    }
    let mut reasoning = String::new();
    let mut text = String::new();
    let mut answer_tool = false;
    for block in m.content {
        match block {
            Block::Text { text: t } => text.push_str(&t),
            Block::Thinking { thinking } => reasoning.push_str(&thinking),
            Block::ToolUse { name } => answer_tool |= name == crate::structured::ANSWER_NAME,
            Block::Other => {}
        }
    }
    // A `--schema` answer is the input of route's tool, and nothing else.
    if answer_tool {
        text = answer_input(body).unwrap_or_default();
    }
    if !reasoning.is_empty() {
        out.push(StreamEvent::Reasoning(reasoning));
    }
    out.push(StreamEvent::Delta(text));
    if let Some(usage) = &m.usage {
        out.push(StreamEvent::Usage(usage.normalised()));
    }
    let stop = m.stop_reason.as_deref().unwrap_or("end_turn");
    if stop == "refusal" {
        out.push(StreamEvent::Refusal(refusal(m.stop_details.as_ref())));
    }
    out.push(StreamEvent::Finish(finish_reason(stop)));
    out.push(StreamEvent::Done);
    Ok(out)
}

/// Streaming decoder: named events from `message_start` to `message_stop`.
#[derive(Default)]
struct Decoder {
    framer: sse::Framer,
    state: EventState,
}

#[derive(Default)]
struct EventState {
    usage: WireUsage,
    served_model_sent: bool,
    /// The block being streamed is route's answer tool (`--schema`): its
    /// `input_json_delta`s are the answer.
    in_answer_tool: bool,
    done: bool,
}

impl EventState {
    fn on_event(
        &mut self,
        event: sse::Event<'_>,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProviderError> {
        let data = event.data.trim();
        if self.done || data.is_empty() {
            return Ok(());
        }
        match super::from_json::<Event>("stream event", data.as_bytes())? {
            Event::MessageStart { message } => {
                if !self.served_model_sent {
                    if let Some(model) = message.model.filter(|m| !m.is_empty()) {
                        out.push(StreamEvent::ServedModel(model));
                        self.served_model_sent = true;
                    }
                }
                if let Some(usage) = &message.usage {
                    self.usage.merge(usage);
                    out.push(StreamEvent::Usage(self.usage.normalised()));
                }
            }
            Event::ContentBlockStart { content_block } => {
                self.in_answer_tool = matches!(&content_block,
                    Block::ToolUse { name } if name == crate::structured::ANSWER_NAME);
                match content_block {
                    Block::Text { text } if !text.is_empty() => {
                        out.push(StreamEvent::Delta(text));
                    }
                    Block::Thinking { thinking } if !thinking.is_empty() => {
                        out.push(StreamEvent::Reasoning(thinking));
                    }
                    _ => {}
                }
            }
            Event::ContentBlockDelta { delta } => match delta {
                BlockDelta::TextDelta { text } if !text.is_empty() => {
                    out.push(StreamEvent::Delta(text));
                }
                BlockDelta::ThinkingDelta { thinking } if !thinking.is_empty() => {
                    out.push(StreamEvent::Reasoning(thinking));
                }
                BlockDelta::InputJsonDelta { partial_json }
                    if self.in_answer_tool && !partial_json.is_empty() =>
                {
                    out.push(StreamEvent::Delta(partial_json));
                }
                _ => {}
            },
            Event::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.stop_reason {
                    if reason == "refusal" {
                        out.push(StreamEvent::Refusal(refusal(delta.stop_details.as_ref())));
                    }
                    out.push(StreamEvent::Finish(finish_reason(&reason)));
                }
                if let Some(usage) = &usage {
                    self.usage.merge(usage);
                    out.push(StreamEvent::Usage(self.usage.normalised()));
                }
            }
            Event::MessageStop => {
                self.done = true;
                out.push(StreamEvent::Done);
            }
            Event::Error { error } => return Err(classify(None, &error)),
            Event::Unknown => {}
        }
        Ok(())
    }
}

impl StreamDecoder for Decoder {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), ProviderError> {
        let state = &mut self.state;
        self.framer.feed(bytes, &mut |e| state.on_event(e, out))
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), ProviderError> {
        // No implied end: without `message_stop` the answer is incomplete.
        let state = &mut self.state;
        self.framer
            .finish(&mut |e| state.on_event(e, out))
            .map_err(super::cut_short)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Images go as `image` blocks and PDFs as `document` blocks, each with a
    /// `base64` source (tests/fixtures/anthropic/attachments.json names the
    /// reference).
    #[test]
    fn attachments_are_blocks_with_base64_sources() {
        use crate::provider::testing::{attachment_request, body_json, request_fixture};
        let expected = request_fixture(include_str!(
            "../../tests/fixtures/anthropic/attachments.json"
        ));
        let body = body_json(KIND, &attachment_request(true)).unwrap();
        assert_eq!(body["messages"], expected["messages"]);
        assert_eq!(body["system"], expected["system"]);
    }

    #[test]
    fn image_tokens_are_the_area_over_750() {
        // The vision guide's table: 200 × 200 is about 54 tokens, 1000 × 1000
        // about 1334, 1092 × 1092 about 1590.
        assert_eq!(image_tokens(Some((200, 200))), 54);
        assert_eq!(image_tokens(Some((1000, 1000))), 1334);
        assert_eq!(image_tokens(Some((1092, 1092))), 1590);
        // A larger one is scaled down: never more than about 1,600.
        assert_eq!(image_tokens(Some((4000, 3000))), 1600);
    }
    use crate::provider::types::{ChatRequest, Params};
    use crate::provider::{ApiKey, Endpoint};

    /// A streamed answer with a thinking block and prompt-cache usage.
    const STREAM: &str = include_str!("../../tests/fixtures/anthropic/stream.sse");
    /// A stream that fails with `overloaded_error` after some text.
    const ERROR_STREAM: &str = include_str!("../../tests/fixtures/anthropic/error.sse");
    /// A non-streamed answer with a thinking block.
    const MESSAGE: &str = include_str!("../../tests/fixtures/anthropic/message.json");
    /// A `--schema` answer streamed as the input of route's forced tool.
    const TOOL_STREAM: &str = include_str!("../../tests/fixtures/anthropic/tool_use.sse");
    /// The same, not streamed.
    const TOOL_MESSAGE: &str = include_str!("../../tests/fixtures/anthropic/tool_use.json");

    fn decode(chunks: &[&[u8]]) -> Result<Vec<StreamEvent>, ProviderError> {
        crate::provider::testing::decode(&mut Decoder::default(), chunks)
    }

    use crate::provider::testing::text;

    fn reasoning(events: &[StreamEvent]) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Reasoning(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    fn last_usage(events: &[StreamEvent]) -> Option<Usage> {
        events.iter().rev().find_map(|e| match e {
            StreamEvent::Usage(u) => Some(*u),
            _ => None,
        })
    }

    #[test]
    fn decodes_fixture_whole() {
        let events = decode(&[STREAM.as_bytes()]).unwrap();
        assert_eq!(text(&events), "Hello! How can I help?");
        assert_eq!(reasoning(&events), "The user greets me; answer briefly.");
        assert_eq!(events.last(), Some(&StreamEvent::Done));
        assert_eq!(
            events.first(),
            Some(&StreamEvent::ServedModel(
                "claude-sonnet-4-5-20250929".into()
            ))
        );
        assert!(events.contains(&StreamEvent::Finish(FinishReason::Stop)));
        // input = 25 uncached + 100 written + 2000 read; output from message_delta.
        assert_eq!(
            last_usage(&events),
            Some(Usage {
                input_tokens: 2125,
                output_tokens: 42,
                cached_input_tokens: 2000,
                cache_write_tokens: 100,
                cache_write_1h_tokens: 0,
                reasoning_tokens: 0,
            })
        );
    }

    #[test]
    fn decodes_fixture_at_every_split() {
        let bytes = STREAM.as_bytes();
        let whole = decode(&[bytes]).unwrap();
        crate::provider::testing::assert_same_at_every_split(&whole, bytes, decode);
    }

    #[test]
    fn cut_stream_has_no_done() {
        // Cut between events: everything before is delivered, and no `Done`.
        for cut in [
            STREAM.find("event: message_stop").unwrap(),
            STREAM.find("event: message_delta").unwrap(),
        ] {
            let events = decode(&[&STREAM.as_bytes()[..cut]]).unwrap();
            assert!(!events.contains(&StreamEvent::Done), "cut at {cut}");
        }
        // Cut at every point before the end marker is complete: never `Done`,
        // and an event cut in half is `incomplete`, not a malformed answer.
        let end = STREAM.rfind('}').unwrap();
        for cut in 0..=end {
            let bytes = &STREAM.as_bytes()[..cut];
            let mut d = Decoder::default();
            let mut out = Vec::new();
            let fed = d.feed(bytes, &mut out);
            assert!(fed.is_ok(), "cut at {cut}");
            if let Err(e) = d.finish(&mut out) {
                assert_eq!(e.kind, ErrorKind::Incomplete, "cut at {cut}: {e}");
            }
            assert!(!out.contains(&StreamEvent::Done), "cut at {cut}");
        }
    }

    #[test]
    fn error_event_is_typed_at_every_split() {
        let bytes = ERROR_STREAM.as_bytes();
        for i in 0..=bytes.len() {
            let err = decode(&[&bytes[..i], &bytes[i..]]).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Overloaded, "split at {i}");
            assert_eq!(err.status, None);
            assert_eq!(err.message, "Overloaded");
        }
        // The text before the error still reached the caller.
        let mut d = Decoder::default();
        let mut out = Vec::new();
        assert!(d.feed(bytes, &mut out).is_err());
        assert_eq!(text(&out), "Hel");
    }

    #[test]
    fn in_stream_errors_by_type() {
        let event = |kind: &str, message: &str| {
            format!(
                "event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"{kind}\",\"message\":\"{message}\"}}}}\n\n"
            )
        };
        let kind = |kind: &str, message: &str| {
            decode(&[event(kind, message).as_bytes()]).unwrap_err().kind
        };
        assert_eq!(kind("rate_limit_error", "slow down"), ErrorKind::RateLimit);
        assert_eq!(
            kind("api_error", "Internal server error"),
            ErrorKind::Server
        );
        assert_eq!(
            kind(
                "invalid_request_error",
                "prompt is too long: 210000 tokens > 200000 maximum"
            ),
            ErrorKind::ContextLength
        );
        assert_eq!(
            kind("invalid_request_error", "messages: field required"),
            ErrorKind::BadRequest
        );
        assert_eq!(kind("something_new", "Overloaded"), ErrorKind::Overloaded);
        assert_eq!(kind("something_new", "huh"), ErrorKind::Server);
    }

    #[test]
    fn message_delta_usage_replaces_start_counts() {
        let stream = "event: message_start\n\
data: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-opus-4-1\",\"content\":[],\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n\
event: message_delta\n\
data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":null,\"output_tokens\":64}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        let events = decode(&[stream.as_bytes()]).unwrap();
        assert!(events.contains(&StreamEvent::Finish(FinishReason::Length)));
        assert_eq!(
            last_usage(&events),
            Some(Usage {
                input_tokens: 17,
                output_tokens: 64,
                cached_input_tokens: 5,
                cache_write_tokens: 0,
                cache_write_1h_tokens: 0,
                reasoning_tokens: 0,
            })
        );
    }

    #[test]
    fn unknown_events_and_data_after_stop_are_ignored() {
        let stream = "event: future_thing\ndata: {\"type\":\"future_thing\",\"x\":1}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"ok\"}}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"late\"}}\n\n";
        let events = decode(&[stream.as_bytes()]).unwrap();
        assert_eq!(
            events,
            vec![
                StreamEvent::Delta("ok".into()),
                StreamEvent::Finish(FinishReason::ToolCalls),
                StreamEvent::Done,
            ]
        );
    }

    #[test]
    fn a_schema_answer_is_the_input_of_the_answer_tool_at_every_split() {
        let bytes = TOOL_STREAM.as_bytes();
        let whole = decode(&[bytes]).unwrap();
        assert_eq!(text(&whole), r#"{"name": "Ada", "age": 36}"#);
        assert!(whole.contains(&StreamEvent::Finish(FinishReason::ToolCalls)));
        assert_eq!(whole.last(), Some(&StreamEvent::Done));
        crate::provider::testing::assert_same_at_every_split(&whole, bytes, decode);
        // Another tool's input is not the answer.
        let other = TOOL_STREAM.replace("\"name\":\"answer\"", "\"name\":\"get_weather\"");
        assert_eq!(text(&decode(&[other.as_bytes()]).unwrap()), "");
    }

    #[test]
    fn a_whole_schema_answer_is_the_tools_input_as_written() {
        let events = parse_body(TOOL_MESSAGE.as_bytes()).unwrap();
        assert_eq!(
            text(&events),
            r#"{"name": "Ada", "age": 36, "languages": ["en", "fr"]}"#
        );
        assert!(events.contains(&StreamEvent::Finish(FinishReason::ToolCalls)));
        let other = TOOL_MESSAGE.replace("\"answer\"", "\"get_weather\"");
        assert_eq!(text(&parse_body(other.as_bytes()).unwrap()), "");
    }

    /// `--schema` is a tool of that input schema, and `tool_choice` forcing
    /// it: <https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#forcing-tool-use>.
    #[test]
    fn a_schema_is_a_forced_answer_tool() {
        let schema =
            json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]});
        let request = ChatRequest::prompt(None, "Hi", Params::default(), true).with_schema(Some(
            std::sync::Arc::new(crate::structured::Schema::new(schema.clone()).unwrap()),
        ));
        let body = crate::provider::testing::body_json(KIND, &request).unwrap();
        assert_eq!(body["tools"][0]["name"], "answer");
        assert_eq!(body["tools"][0]["input_schema"], schema);
        assert!(
            body["tools"][0]["description"]
                .as_str()
                .unwrap()
                .contains("the answer itself, one JSON value")
        );
        assert_eq!(
            body["tool_choice"],
            json!({"type": "tool", "name": "answer", "disable_parallel_tool_use": true})
        );
    }

    #[test]
    fn whole_body() {
        let events = parse_body(MESSAGE.as_bytes()).unwrap();
        assert_eq!(
            events,
            vec![
                StreamEvent::ServedModel("claude-sonnet-4-5-20250929".into()),
                StreamEvent::Reasoning("A greeting; keep it short.".into()),
                StreamEvent::Delta("Hi! My name is Claude.".into()),
                StreamEvent::Usage(Usage {
                    input_tokens: 3895,
                    output_tokens: 503,
                    cached_input_tokens: 1800,
                    cache_write_tokens: 0,
                    cache_write_1h_tokens: 0,
                    reasoning_tokens: 0,
                }),
                StreamEvent::Finish(FinishReason::Length),
                StreamEvent::Done,
            ]
        );
        let refused = br#"{"type":"message","model":"m","content":[],"stop_reason":"refusal","usage":{"input_tokens":3,"output_tokens":0}}"#;
        let events = parse_body(refused).unwrap();
        assert!(events.contains(&StreamEvent::Finish(FinishReason::ContentFilter)));
        assert!(events.contains(&StreamEvent::Refusal(
            "the model declined to answer (stop_reason: refusal)".into()
        )));
        // With the details the refusal guide shows, its explanation.
        let explained = br#"{"role":"assistant","type":"message","model":"m","content":[{"type":"text","text":"Hello.."}],"stop_reason":"refusal","stop_details":{"type":"refusal","category":"cyber","explanation":"This request was declined because it could enable cyber harm."},"usage":{"input_tokens":3,"output_tokens":2}}"#;
        let events = parse_body(explained).unwrap();
        assert_eq!(text(&events), "Hello..");
        assert!(events.contains(&StreamEvent::Refusal(
            "This request was declined because it could enable cyber harm.".into()
        )));
    }

    /// A refusal stop reason on `message_delta`, after some text
    /// (tests/fixtures/anthropic/refusal.sse names its source), at every split.
    #[test]
    fn a_streamed_refusal_stop_is_a_refusal_at_every_split() {
        let bytes = include_bytes!("../../tests/fixtures/anthropic/refusal.sse");
        let whole = decode(&[bytes]).unwrap();
        assert_eq!(text(&whole), "Hello..");
        assert!(whole.contains(&StreamEvent::Refusal(
            "This request was declined because it could enable cyber harm.".into()
        )));
        assert_eq!(last_usage(&whole).map(|u| u.output_tokens), Some(3));
        assert_eq!(whole.last(), Some(&StreamEvent::Done));
        crate::provider::testing::assert_same_at_every_split(&whole, bytes, decode);
        // Without details, the stop reason alone.
        let bare = b"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"refusal\"}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        assert!(decode(&[bare]).unwrap().contains(&StreamEvent::Refusal(
            "the model declined to answer (stop_reason: refusal)".into()
        )));
    }

    /// 5-minute and 1-hour cache writes (tests/fixtures/anthropic/cache-ttl.json
    /// names its source), whole and on `message_start` / `message_delta`.
    #[test]
    fn cache_writes_keep_their_1_hour_part() {
        let events = parse_body(include_bytes!(
            "../../tests/fixtures/anthropic/cache-ttl.json"
        ))
        .unwrap();
        let written = Usage {
            input_tokens: 3_100,
            output_tokens: 200,
            cached_input_tokens: 0,
            cache_write_tokens: 3_000,
            cache_write_1h_tokens: 2_000,
            reasoning_tokens: 0,
        };
        assert_eq!(last_usage(&events), Some(written));
        let stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5-20250929\",\"usage\":{\"input_tokens\":100,\"cache_creation_input_tokens\":3000,\"cache_read_input_tokens\":0,\"cache_creation\":{\"ephemeral_5m_input_tokens\":1000,\"ephemeral_1h_input_tokens\":2000},\"output_tokens\":1}}}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":200}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        let whole = decode(&[stream.as_bytes()]).unwrap();
        assert_eq!(last_usage(&whole), Some(written));
        crate::provider::testing::assert_same_at_every_split(&whole, stream.as_bytes(), decode);
        // Only the breakdown: its sum is the total.
        let bare = br#"{"type":"message","content":[],"usage":{"input_tokens":1,"cache_creation":{"ephemeral_5m_input_tokens":5,"ephemeral_1h_input_tokens":7},"output_tokens":1}}"#;
        let u = last_usage(&parse_body(bare).unwrap()).unwrap();
        assert_eq!((u.cache_write_tokens, u.cache_write_1h_tokens), (12, 7));
    }

    #[test]
    fn error_in_a_200_body() {
        let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#;
        assert_eq!(parse_body(body).unwrap_err().kind, ErrorKind::Overloaded);
        assert_eq!(
            parse_body(b"{}").unwrap_err().kind,
            ErrorKind::InvalidResponse
        );
        assert_eq!(
            parse_body(b"not json").unwrap_err().kind,
            ErrorKind::InvalidResponse
        );
    }

    fn error_body(kind: &str, message: &str) -> Vec<u8> {
        format!(
            r#"{{"type":"error","error":{{"type":"{kind}","message":"{message}"}},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}}"#
        )
        .into_bytes()
    }

    #[test]
    fn error_bodies() {
        let h = HeaderMap::new();
        let kind = |status, kind: &str, message: &str| {
            parse_error(status, &h, &error_body(kind, message)).kind
        };
        assert_eq!(
            kind(
                400,
                "invalid_request_error",
                "prompt is too long: 210000 tokens > 200000 maximum"
            ),
            ErrorKind::ContextLength
        );
        // The content filter's 400 (as the API sends it; seen in
        // <https://github.com/anthropics/claude-code/issues/6195>).
        assert_eq!(
            kind(
                400,
                "invalid_request_error",
                "Output blocked by content filtering policy"
            ),
            ErrorKind::ContentPolicy
        );
        assert_eq!(
            kind(400, "invalid_request_error", "max_tokens: Field required"),
            ErrorKind::BadRequest
        );
        assert_eq!(
            kind(401, "authentication_error", "invalid x-api-key"),
            ErrorKind::Auth
        );
        assert_eq!(kind(403, "permission_error", "no access"), ErrorKind::Auth);
        assert_eq!(
            kind(404, "not_found_error", "model: claude-9"),
            ErrorKind::BadRequest
        );
        assert_eq!(
            kind(
                413,
                "request_too_large",
                "Request exceeds the maximum allowed number of bytes."
            ),
            ErrorKind::ContextLength
        );
        assert_eq!(
            kind(
                429,
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit"
            ),
            ErrorKind::RateLimit
        );
        assert_eq!(
            kind(500, "api_error", "Internal server error"),
            ErrorKind::Server
        );
        assert_eq!(
            kind(529, "overloaded_error", "Overloaded"),
            ErrorKind::Overloaded
        );
        // 529 is "overloaded" even with a body that does not say so.
        assert_eq!(parse_error(529, &h, b"").kind, ErrorKind::Overloaded);
        assert_eq!(
            kind(504, "timeout_error", "Request timed out"),
            ErrorKind::Server
        );
        assert_eq!(
            parse_error(502, &h, b"<html>Bad gateway</html>").kind,
            ErrorKind::Server
        );

        let e = parse_error(
            400,
            &h,
            &error_body("invalid_request_error", "temperature: out of range"),
        );
        assert_eq!(e.status, Some(400));
        assert_eq!(e.message, "temperature: out of range");
    }

    #[test]
    fn retry_after_is_kept() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("12"));
        let e = parse_error(429, &h, &error_body("rate_limit_error", "slow down"));
        assert_eq!(e.kind, ErrorKind::RateLimit);
        assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(12)));
    }

    fn provider(api_version: Option<&str>) -> Endpoint {
        Endpoint {
            name: "anthropic".into(),
            kind: KIND,
            base_url: "https://api.anthropic.com".into(),
            key: None,
            headers: vec![("anthropic-beta".into(), "output-128k-2025-02-19".into())],
            api_version: api_version.map(str::to_owned),
            continuation: crate::provider::Continuation::None,
            stream_usage: None,
        }
    }

    fn json_body(req: &HttpRequest) -> Value {
        serde_json::from_slice(&req.body).unwrap()
    }

    #[test]
    fn request_url_headers_and_body() {
        let provider = provider(None);
        let key = ApiKey::new("sk-ant-secret".into());
        let mut params = Params::default();
        params.set("temperature", json!(0.2)).unwrap();
        params.set("top_p", json!(0.9)).unwrap();
        params.set("stop", json!(["END"])).unwrap();
        params.set("seed", json!(7)).unwrap();
        params.set("top_k", json!(40)).unwrap();
        let request = ChatRequest {
            messages: ChatRequest::prompt(Some("Be brief."), "Hi", Params::default(), false)
                .messages,
            params,
            stream: true,
            ..ChatRequest::default()
        };
        let call = Call {
            request: &request,
            endpoint: &Endpoint {
                key: Some(key.clone()),
                ..provider.clone()
            },
            model: "claude-sonnet-4-5-20250929",
            max_output_tokens: Some(64_000),
        };
        let req = Anthropic.build(&call).unwrap();
        assert_eq!(req.url, "https://api.anthropic.com/v1/messages");
        assert_eq!(req.headers["x-api-key"], "sk-ant-secret");
        assert!(req.headers["x-api-key"].is_sensitive());
        assert!(req.headers.get("authorization").is_none());
        assert_eq!(req.headers["anthropic-version"], DEFAULT_API_VERSION);
        assert_eq!(req.headers["anthropic-beta"], "output-128k-2025-02-19");
        assert_eq!(req.headers["content-type"], "application/json");
        assert!(!format!("{req:?}").contains("sk-ant-secret"));
        assert_eq!(
            json_body(&req),
            json!({
                "model": "claude-sonnet-4-5-20250929",
                "max_tokens": 64000,
                "system": "Be brief.",
                "messages": [{"role": "user", "content": "Hi"}],
                "stream": true,
                "temperature": 0.2,
                "top_p": 0.9,
                "stop_sequences": ["END"],
                "top_k": 40
            })
        );
    }

    /// A continuation is a prefill, without the trailing whitespace the
    /// API refuses: <https://docs.anthropic.com/en/docs/build-with-claude/prompt-engineering/prefill-claudes-response>
    #[test]
    fn claude_4_6_and_later_take_no_prefill() {
        for old in [
            "claude-haiku-4-5-20251001",
            "claude-sonnet-4-5",
            "claude-opus-4-1-20250805",
            "claude-3-7-sonnet-20250219",
            "claude-sonnet-4-20250514",
        ] {
            assert!(takes_prefill(old), "{old}");
        }
        for new in [
            "claude-sonnet-4-6",
            "claude-opus-4-6-20260205",
            "claude-opus-4-7-20260416",
            "claude-sonnet-5",
            "claude-haiku-5-5",
        ] {
            assert!(!takes_prefill(new), "{new}");
        }
        assert!(KIND.can_continue(
            crate::provider::Continuation::None,
            "claude-haiku-4-5-20251001"
        ));
        assert!(!KIND.can_continue(crate::provider::Continuation::None, "claude-sonnet-4-6"));
    }

    #[test]
    fn continuation_is_a_prefill_without_trailing_whitespace() {
        let provider = provider(None);
        let base = ChatRequest::prompt(None, "Hi", Params::default(), true);
        let build = |request: &ChatRequest| {
            let call = Call {
                request,
                endpoint: &provider,
                model: "claude-haiku-4-5",
                max_output_tokens: None,
            };
            json_body(&Anthropic.build(&call).unwrap())["messages"].clone()
        };
        assert_eq!(
            build(&base.continuing("Hello, \n")),
            json!([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello,"}])
        );
        // Only whitespace written: nothing left to prefill.
        assert_eq!(
            build(&base.continuing("  ")),
            json!([{"role": "user", "content": "Hi"}])
        );
        assert_eq!(KIND.prefix_sent("a b "), "a b");
    }

    #[test]
    fn max_tokens_is_always_sent() {
        let provider = provider(Some("2024-01-01"));
        let mut request = ChatRequest {
            messages: ChatRequest::prompt(None, "Hi", Params::default(), false).messages,
            ..ChatRequest::default()
        };
        let build = |request: &ChatRequest, max_output_tokens| {
            let call = Call {
                request,
                endpoint: &provider,
                model: "claude-haiku-4-5",
                max_output_tokens,
            };
            Anthropic.build(&call).unwrap()
        };
        let req = build(&request, None);
        let body = json_body(&req);
        assert_eq!(body["max_tokens"], json!(DEFAULT_MAX_TOKENS));
        assert_eq!(body["stream"], json!(false));
        assert!(body.get("system").is_none());
        assert!(body.get("seed").is_none());
        assert_eq!(req.headers["anthropic-version"], "2024-01-01");
        assert!(req.headers.get("x-api-key").is_none());

        assert_eq!(
            json_body(&build(&request, Some(8192)))["max_tokens"],
            json!(8192)
        );
        request.params.max_tokens = Some(100);
        assert_eq!(
            json_body(&build(&request, Some(8192)))["max_tokens"],
            json!(100)
        );
    }
}

/// Property tests (issue 9): see `provider::fuzz` for what each property means.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::Anthropic;
    use crate::provider::fuzz::{
        body_is_total, bytes, config, cuts, error_is_total, headers, json, mutated, soup,
        split_invariant, sse_of, status,
    };

    const STREAM: &[u8] = include_bytes!("../../tests/fixtures/anthropic/stream.sse");
    const ERROR: &[u8] = include_bytes!("../../tests/fixtures/anthropic/error.sse");
    const MESSAGE: &[u8] = include_bytes!("../../tests/fixtures/anthropic/message.json");
    const TOOL_STREAM: &[u8] = include_bytes!("../../tests/fixtures/anthropic/tool_use.sse");
    const TOOL_MESSAGE: &[u8] = include_bytes!("../../tests/fixtures/anthropic/tool_use.json");
    const EVENTS: &[&str] = &[
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
    ];
    const KEYS: &[&str] = &[
        "type",
        "message",
        "id",
        "model",
        "role",
        "content",
        "content_block",
        "index",
        "delta",
        "text",
        "thinking",
        "signature",
        "text_delta",
        "thinking_delta",
        "input_json_delta",
        "partial_json",
        "tool_use",
        "name",
        "answer",
        "input",
        "stop_reason",
        "stop_details",
        "explanation",
        "refusal",
        "end_turn",
        "max_tokens",
        "usage",
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
        "cache_creation",
        "ephemeral_5m_input_tokens",
        "ephemeral_1h_input_tokens",
        "error",
        "overloaded_error",
        "rate_limit_error",
        "message_start",
        "content_block_start",
        "content_block_delta",
        "message_delta",
        "message_stop",
    ];

    proptest! {
        #![proptest_config(config(512))]

        #[test]
        fn decoder_on_any_bytes(b in bytes(), c in cuts()) {
            split_invariant(&Anthropic, &b, &c)?;
        }

        #[test]
        fn decoder_on_token_soup(b in soup(KEYS), c in cuts()) {
            split_invariant(&Anthropic, &b, &c)?;
        }

        #[test]
        fn decoder_on_events_of_any_shape(b in sse_of(EVENTS, KEYS), c in cuts()) {
            split_invariant(&Anthropic, &b, &c)?;
        }

        #[test]
        fn decoder_on_a_damaged_fixture(b in mutated(STREAM), e in mutated(ERROR), t in mutated(TOOL_STREAM), c in cuts()) {
            split_invariant(&Anthropic, &b, &c)?;
            split_invariant(&Anthropic, &e, &c)?;
            split_invariant(&Anthropic, &t, &c)?;
        }

        #[test]
        fn body_parser_is_total(v in json(KEYS), b in bytes(), m in mutated(MESSAGE), t in mutated(TOOL_MESSAGE)) {
            body_is_total(&Anthropic, v.to_string().as_bytes())?;
            body_is_total(&Anthropic, &b)?;
            body_is_total(&Anthropic, &m)?;
            body_is_total(&Anthropic, &t)?;
        }

        /// Token counts are the server's numbers: any u64 at all.
        #[test]
        fn any_token_counts(counts in prop::array::uniform4(prop_oneof![any::<u64>(), Just(u64::MAX)])) {
            let [input, output, write, read] = counts;
            let usage = format!(
                r#"{{"input_tokens":{input},"output_tokens":{output},"cache_creation_input_tokens":{write},"cache_read_input_tokens":{read}}}"#
            );
            let stream = format!(
                "event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"usage\":{usage}}}}}\n\n\
                 event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{}},\"usage\":{usage}}}\n\n\
                 event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
            );
            split_invariant(&Anthropic, stream.as_bytes(), &[])?;
            let body = format!(r#"{{"type":"message","content":[],"usage":{usage}}}"#);
            body_is_total(&Anthropic, body.as_bytes())?;
        }

        #[test]
        fn error_parser_is_total(s in status(), h in headers(), v in json(KEYS), b in bytes()) {
            error_is_total(&Anthropic, s, &h, v.to_string().as_bytes())?;
            error_is_total(&Anthropic, s, &h, &b)?;
        }
    }
}
