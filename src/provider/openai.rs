//! OpenAI Chat Completions, spoken by OpenAI and every OpenAI-compatible
//! server (OpenRouter, Groq, Mistral, DeepSeek, Together, vLLM, llama.cpp,
//! LM Studio, Ollama's `/v1`).
//!
//! - Request and response: <https://platform.openai.com/docs/api-reference/chat/create>
//! - Streaming chunks: <https://platform.openai.com/docs/api-reference/chat-streaming>
//! - Errors: <https://platform.openai.com/docs/guides/error-codes>
//! - OpenRouter's `usage.cost`: <https://openrouter.ai/docs/use-cases/usage-accounting>
//! - Structured output (`response_format` of type `json_schema`):
//!   <https://platform.openai.com/docs/api-reference/chat/create#chat-create-response_format>,
//!   the SDK's shape of it: <https://github.com/openai/openai-python/blob/main/src/openai/types/shared/response_format_json_schema.py>,
//!   and what strict mode takes: <https://platform.openai.com/docs/guides/structured-outputs#supported-schemas>
//! - Attachments: user content parts `image_url` (a `data:` URL) and `file`
//!   (`file_data`, a `data:` URL, and `filename`), as the API reference's
//!   `ChatCompletionRequestUserMessage` and the SDK's types spell them
//!   (<https://github.com/openai/openai-python/blob/main/src/openai/types/chat/chat_completion_content_part_param.py>,
//!   `chat_completion_content_part_image_param.py` beside it); the guides:
//!   <https://platform.openai.com/docs/guides/images-vision>,
//!   <https://platform.openai.com/docs/guides/pdf-files>

use reqwest::header::{AUTHORIZATION, HeaderMap};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::{ErrorKind, ProviderError, kind_from_message, retry_after};
use super::kind::{Continues, EnvProvider, KindSpec, ProviderKind, Tokenizer, whole_prefix};
use super::media::{Limit, MB, MediaSpec, scaled};
use super::types::{self, FinishReason, Media, ParamNames, StreamEvent, Usage};
use super::{Adapter, Call, Continuation, HttpRequest, StreamDecoder, sse};

/// The `openai` kind: OpenAI itself, and every OpenAI-compatible server.
pub const KIND: ProviderKind = ProviderKind(&KindSpec {
    name: "openai",
    adapter: &OpenAi,
    default_base_url: Some("https://api.openai.com/v1"),
    base_url_var: None,
    base_url_hint: None,
    key_var: Some("OPENAI_API_KEY"),
    local: false,
    model_is_deployment: false,
    litellm_provider: "openai",
    litellm_by_name: true,
    plain_model: |_| None,
    tokenizer: Tokenizer::Tiktoken,
    from_env: &[
        EnvProvider {
            name: "openai",
            vars: &["OPENAI_API_KEY"],
            var_is_key: true,
            base_url: None,
            aliases: &[
                ("gpt", "gpt-4.1-2025-04-14"),
                ("gpt4o", "gpt-4o-2024-11-20"),
                ("mini", "gpt-4.1-mini-2025-04-14"),
            ],
            listed: 0,
            chain: 1,
        },
        EnvProvider {
            name: "openrouter",
            vars: &["OPENROUTER_API_KEY"],
            var_is_key: true,
            base_url: Some("https://openrouter.ai/api/v1"),
            aliases: &[("openrouter", "openai/gpt-4o-mini-2024-07-18")],
            listed: 3,
            chain: 3,
        },
    ],
    continues: Continues::ByProfile,
    prefix_sent: whole_prefix,
    // OpenAI Chat Completions: `temperature` between 0 and 2 (platform.openai.com, API reference).
    temperature_max: Some(2.0),
    model_continues: |_| true,
    media: MEDIA,
});

/// What Chat Completions takes, from the images guide's "Image input
/// requirements" (<https://platform.openai.com/docs/guides/images-vision>: up
/// to 20 MB per image, 50 MB of images per request) and the PDF guide's "File
/// size limitations" (<https://platform.openai.com/docs/guides/pdf-files>: 32 MB
/// of files per request). Azure OpenAI, which shares this body, takes the same.
pub const MEDIA: MediaSpec = MediaSpec {
    images: true,
    pdfs: true,
    max_image: Some(Limit::raw(20 * MB)),
    max_images: Some(Limit::raw(50 * MB)),
    max_pdfs: Some(Limit::raw(32 * MB)),
    max_request: None,
    image_tokens,
    // A PDF page is its extracted text and an image of the page (the PDF
    // guide, "How it works"): a letter page at 150 dpi (1275 × 1650 px, 765
    // tokens by the rule below) and some 500 tokens of text.
    pdf_page_tokens: 765 + 500,
};

/// An image's tokens at `detail: "auto"` / `"high"` for the GPT-4o family
/// (<https://platform.openai.com/docs/guides/images-vision#calculating-costs>):
/// scaled to fit 2048 × 2048, then down to 768 px on its shortest side; 170
/// tokens per 512 px tile, plus 85. An image route cannot measure counts as
/// 1024 × 1024 (765 tokens).
pub fn image_tokens(dimensions: Option<(u32, u32)>) -> u64 {
    let (w, h) = dimensions.unwrap_or((1024, 1024));
    let (w, h) = scaled((w, h), 2048.0 / f64::from(w.max(h)));
    let (w, h) = scaled((w, h), 768.0 / f64::from(w.min(h)));
    85 + 170 * u64::from(w.div_ceil(512)) * u64::from(h.div_ceil(512))
}

pub struct OpenAi;

impl Adapter for OpenAi {
    fn build(&self, call: &Call<'_>) -> Result<HttpRequest, ProviderError> {
        let mut headers = super::json_headers();
        if let Some(key) = &call.endpoint.key {
            headers.insert(
                AUTHORIZATION,
                super::secret_header(&format!("Bearer {}", key.expose()))?,
            );
        }
        super::extra_headers(&mut headers, call.endpoint)?;
        // OpenAI's own API has replaced `max_tokens` by `max_completion_tokens`
        // (reasoning models reject the old name); compatible servers mostly
        // know only the old one.
        let max_tokens_field = if call.endpoint.base_url.contains("api.openai.com") {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        Ok(HttpRequest {
            url: format!("{}/chat/completions", call.endpoint.base_url),
            headers,
            body: body(call, max_tokens_field),
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

    /// A 400 or 422 that names `stream_options`, to a request that carried
    /// them: Mistral's 422 "Extra inputs are not permitted" (its `loc` names
    /// the field), an older server's "Unrecognized request argument
    /// supplied: `stream_options`".
    fn rejects_stream_options(&self, call: &Call<'_>, error: &ProviderError) -> bool {
        asks_stream_usage(call)
            && matches!(error.status, Some(400 | 422))
            && error.message.contains("stream_options")
    }
}

/// Whether the request asks for usage in its stream (`stream_options`).
fn asks_stream_usage(call: &Call<'_>) -> bool {
    call.request.stream
        && call
            .endpoint
            .stream_usage
            .unwrap_or_else(|| takes_stream_options(&call.endpoint.base_url))
}

/// The JSON body of a Chat Completions request.
pub(super) fn body(call: &Call<'_>, max_tokens_field: &'static str) -> Vec<u8> {
    let req = call.request;
    let continuing = req.prefix().is_some();
    let continuation = call.endpoint.continuation;
    let mut messages: Vec<Value> = req
        .messages
        .iter()
        .map(|m| json!({"role": m.role.as_str(), "content": content(m)}))
        .collect();
    // Mistral's and DeepSeek's form: the last assistant message is marked
    // as the beginning of the reply.
    // <https://docs.mistral.ai/api/#tag/chat/operation/chat_completion_v1_chat_completions_post>
    // (AssistantMessage `prefix`), <https://api-docs.deepseek.com/guides/chat_prefix_completion>
    if continuing && continuation == Continuation::Prefix {
        if let Some(Value::Object(last)) = messages.last_mut() {
            last.insert("prefix".into(), json!(true));
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(call.model));
    body.insert("messages".into(), Value::Array(messages));
    // vLLM's (and llama.cpp's) form: the chat template leaves the last
    // message open instead of starting a new one.
    // <https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html#extra-parameters-for-chat-api>
    if continuing && continuation == Continuation::ContinueFinalMessage {
        body.insert("continue_final_message".into(), json!(true));
        body.insert("add_generation_prompt".into(), json!(false));
    }
    body.insert("stream".into(), json!(req.stream));
    if asks_stream_usage(call) {
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    let p = &req.params;
    p.write_typed(
        &ParamNames {
            temperature: "temperature",
            top_p: "top_p",
            max_tokens: Some(max_tokens_field),
            stop: "stop",
            seed: Some("seed"),
        },
        &mut body,
    );
    if let Some(schema) = &req.schema {
        body.insert("response_format".into(), response_format(schema.wire()));
    }
    for (k, v) in &p.extra {
        body.insert(k.clone(), v.clone());
    }
    serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
}

/// `--schema` as Chat Completions' structured output. Strict mode (the
/// model is held to the schema as it writes) only takes schemas that keep
/// its rules, and refuses the request otherwise; a schema that does not is
/// sent with `strict: false`, and route checks the answer either way.
fn response_format(schema: &Value) -> Value {
    json!({
        "type": "json_schema",
        "json_schema": {
            "name": crate::structured::ANSWER_NAME,
            "schema": schema,
            "strict": strict_compatible(schema),
        }
    })
}

/// Whether strict mode takes the schema, as OpenAI's guide lists its rules
/// (<https://platform.openai.com/docs/guides/structured-outputs#supported-schemas>):
/// an object at the root, not an `anyOf`; in every object
/// `additionalProperties: false` and every property `required`; a `$ref`
/// with nothing beside it; and no keyword outside the supported ones.
pub(super) fn strict_compatible(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
        && schema.get("anyOf").is_none()
        && strict_node(schema)
}

/// The `format`s strict mode knows.
const STRICT_FORMATS: [&str; 9] = [
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

fn strict_node(node: &Value) -> bool {
    let Some(fields) = node.as_object() else {
        return false;
    };
    if fields.contains_key("$ref") && fields.len() > 1 {
        return false;
    }
    let all = |v: &Value, each: fn(&Value) -> bool| match v {
        Value::Object(m) => m.values().all(each),
        Value::Array(a) => a.iter().all(each),
        _ => false,
    };
    let keywords_ok = fields.iter().all(|(k, v)| match k.as_str() {
        "type" | "description" | "title" | "enum" | "const" | "$ref" | "required" | "pattern"
        | "multipleOf" | "maximum" | "exclusiveMaximum" | "minimum" | "exclusiveMinimum"
        | "minItems" | "maxItems" => true,
        "additionalProperties" => v == &Value::Bool(false),
        "format" => v.as_str().is_some_and(|f| STRICT_FORMATS.contains(&f)),
        "items" => strict_node(v),
        "properties" | "$defs" | "definitions" => v.is_object() && all(v, strict_node),
        "anyOf" => v.is_array() && all(v, strict_node),
        _ => false,
    });
    let is_object = match fields.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => fields.contains_key("properties"),
    };
    if !is_object {
        return keywords_ok;
    }
    let required: Vec<&str> = fields
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let every_property_required = fields
        .get("properties")
        .and_then(Value::as_object)
        .is_none_or(|p| p.keys().all(|k| required.contains(&k.as_str())));
    keywords_ok
        && fields.get("additionalProperties") == Some(&Value::Bool(false))
        && every_property_required
}

/// A message's `content`: its text as one string, or, when it carries
/// attachments, an array of content parts in order (text, `image_url`, `file`).
fn content(m: &types::Message) -> Value {
    if m.attachments().next().is_none() {
        return json!(m.joined());
    }
    let parts: Vec<Value> = m
        .parts
        .iter()
        .map(|p| match p {
            types::Part::Text(t) => json!({"type": "text", "text": t}),
            types::Part::Attachment(a) if a.media == Media::Pdf => json!({
                "type": "file",
                "file": {"filename": a.file_name(), "file_data": super::data_url(a)},
            }),
            types::Part::Attachment(a) => json!({
                "type": "image_url",
                "image_url": {"url": super::data_url(a)},
            }),
        })
        .collect();
    Value::Array(parts)
}

/// Whether a server takes `stream_options` (OpenAI's way to ask for usage in
/// a stream) unless the profile says (`stream_usage`). Mistral refuses any
/// field it does not document with a 422 ("Extra inputs are not permitted",
/// <https://github.com/openai/openai-agents-python/issues/442>) and sends the
/// usage in its last chunk unasked; every other server route knows takes it
/// or ignores it.
fn takes_stream_options(base_url: &str) -> bool {
    !base_url.contains("api.mistral.ai")
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct Choice {
    /// Streamed chunks carry `delta`, whole answers `message`.
    #[serde(default, alias = "message")]
    delta: Option<Message>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<Content>,
    /// DeepSeek and vLLM name it `reasoning_content`, OpenRouter `reasoning`.
    #[serde(default, alias = "reasoning")]
    reasoning_content: Option<String>,
    /// The model's refusal message, instead of an answer (the API
    /// reference's `message.refusal` and streamed `delta.refusal`, which
    /// structured output fills when the model declines).
    #[serde(default)]
    refusal: Option<String>,
}

/// A message's `content`: a string as OpenAI sends it, or, from some
/// compatible servers (Mistral's reasoning models, LiteLLM-style proxies), a
/// list of typed parts: `{"type": "text", "text": …}` is answer text,
/// `{"type": "thinking" | "reasoning", …}` is reasoning, anything else is left
/// out. Read without buffering, so that the string case stays as fast.
#[derive(Default)]
struct Content {
    text: String,
    reasoning: String,
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Content;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a list of content parts")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Content, E> {
                Ok(Content {
                    text: v.to_owned(),
                    reasoning: String::new(),
                })
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Content, E> {
                Ok(Content {
                    text: v,
                    reasoning: String::new(),
                })
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Content, E> {
                Ok(Content::default())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Content, A::Error> {
                let mut out = Content::default();
                while let Some(part) = seq.next_element::<ContentPart>()? {
                    match part.kind.as_deref() {
                        Some("text") | None => {
                            out.text.push_str(part.text.as_deref().unwrap_or_default());
                        }
                        Some("thinking" | "reasoning") => {
                            // Mistral: `thinking` holds a list of text parts.
                            let text = part
                                .text
                                .or_else(|| part.thinking.map(|t| t.text))
                                .unwrap_or_default();
                            out.reasoning.push_str(&text);
                        }
                        Some(_) => {}
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_any(Visit)
    }
}

#[derive(Deserialize)]
struct ContentPart {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    thinking: Option<Content>,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
    /// DeepSeek reports its cache hits here instead of in
    /// `prompt_tokens_details` (<https://api-docs.deepseek.com/api/create-chat-completion>,
    /// `usage.prompt_cache_hit_tokens`).
    #[serde(default)]
    prompt_cache_hit_tokens: Option<u64>,
    /// OpenRouter's own figure, USD.
    #[serde(default)]
    cost: Option<f64>,
}

#[derive(Deserialize, Default)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
    /// Prompt tokens written to the cache, part of `prompt_tokens`, as
    /// OpenAI-compatible servers that bill cache writes report them
    /// (OpenRouter's usage accounting:
    /// <https://openrouter.ai/docs/use-cases/usage-accounting>).
    #[serde(default)]
    cache_write_tokens: Option<u64>,
}

#[derive(Deserialize, Default)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<Value>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: WireError,
}

impl WireUsage {
    fn events(&self, out: &mut Vec<StreamEvent>) {
        // prompt_tokens already includes cached tokens, completion_tokens
        // already includes reasoning tokens: the normalised meaning.
        out.push(StreamEvent::Usage(Usage {
            input_tokens: self.prompt_tokens,
            output_tokens: self.completion_tokens,
            cached_input_tokens: self
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
                .or(self.prompt_cache_hit_tokens)
                .unwrap_or(0),
            cache_write_tokens: self
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cache_write_tokens)
                .unwrap_or(0),
            cache_write_1h_tokens: 0,
            reasoning_tokens: self
                .completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }));
        if let Some(cost) = self.cost.filter(|c| c.is_finite() && *c >= 0.0) {
            out.push(StreamEvent::ProviderCost(cost));
        }
    }
}

/// What route says when a content filter stopped the answer and the model
/// gave no refusal text of its own.
const CONTENT_FILTER: &str =
    "the provider's content filter stopped the answer (finish_reason: content_filter)";

fn finish_reason(s: &str) -> FinishReason {
    match s {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "content_filter" => FinishReason::ContentFilter,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// Classifies an OpenAI-shaped error object.
fn classify(status: Option<u16>, error: &WireError) -> ProviderError {
    let message = error.message.clone().unwrap_or_else(|| "no message".into());
    let code = match &error.code {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let kind_str = error.kind.clone().unwrap_or_default();
    let by_code = match (code.as_str(), kind_str.as_str()) {
        ("context_length_exceeded" | "string_above_max_length", _) => {
            Some(ErrorKind::ContextLength)
        }
        ("rate_limit_exceeded" | "insufficient_quota" | "429", _)
        | (_, "rate_limit_exceeded" | "rate_limit_error" | "insufficient_quota") => {
            Some(ErrorKind::RateLimit)
        }
        // `invalid_prompt`: "your prompt was flagged as potentially violating
        // our usage policy" (reasoning models); `content_filter`: Azure's filter.
        ("content_filter" | "content_policy_violation" | "invalid_prompt", _) => {
            Some(ErrorKind::ContentPolicy)
        }
        ("invalid_api_key" | "401" | "403", _) | (_, "authentication_error") => {
            Some(ErrorKind::Auth)
        }
        (_, "server_error") if status.is_none() => Some(ErrorKind::Server),
        _ => None,
    };
    let kind = match status {
        // The status decides for the failures the router treats by status;
        // the body refines only the 400s and a 200 that carried an error.
        Some(s @ (401 | 403 | 429 | 500..=599)) => ErrorKind::from_status(s),
        Some(s) => by_code
            .or_else(|| kind_from_message(&message))
            .unwrap_or_else(|| ErrorKind::from_status(s)),
        None => by_code
            .or_else(|| kind_from_message(&message))
            .unwrap_or(ErrorKind::Server),
    };
    ProviderError {
        kind,
        status,
        retry_after: None,
        timeout: None,
        message,
    }
}

/// Mistral's validation error (the shape of `FastAPI`'s), which is not OpenAI's:
/// `{"object":"error","message":{"detail":[{"type":"extra_forbidden",
/// "loc":["body","stream_options"],"msg":"Extra inputs are not permitted"}]},…}`
/// (<https://github.com/openai/openai-agents-python/issues/442>).
#[derive(Deserialize)]
struct DetailBody {
    message: DetailMessage,
}

#[derive(Deserialize)]
struct DetailMessage {
    detail: Vec<Detail>,
}

#[derive(Deserialize)]
struct Detail {
    #[serde(default)]
    loc: Vec<Value>,
    #[serde(default)]
    msg: String,
}

impl DetailBody {
    /// `Extra inputs are not permitted (body.stream_options)`, one per detail.
    fn message(&self) -> String {
        let each: Vec<String> = self
            .message
            .detail
            .iter()
            .map(|d| {
                let at: Vec<String> = d
                    .loc
                    .iter()
                    .map(|l| l.as_str().map_or_else(|| l.to_string(), str::to_owned))
                    .collect();
                format!("{} ({})", d.msg, at.join("."))
            })
            .collect();
        each.join("; ")
    }
}

pub(super) fn parse_error(status: u16, headers: &HeaderMap, body: &[u8]) -> ProviderError {
    let error = if let Ok(b) = serde_json::from_slice::<ErrorBody>(body) {
        classify(Some(status), &b.error)
    } else if let Ok(d) = serde_json::from_slice::<DetailBody>(body) {
        let message = d.message();
        let kind = match ErrorKind::from_status(status) {
            ErrorKind::BadRequest => kind_from_message(&message).unwrap_or(ErrorKind::BadRequest),
            k => k,
        };
        ProviderError::http(status, kind, message)
    } else {
        super::unshaped_error(status, body)
    };
    error.with_retry_after(retry_after(headers))
}

pub(super) fn parse_body(body: &[u8]) -> Result<Vec<StreamEvent>, ProviderError> {
    let c: Completion = super::from_json("chat completion", body)?;
    if let Some(error) = &c.error {
        return Err(classify(None, error));
    }
    let mut out = Vec::new();
    if let Some(model) = c.model.filter(|m| !m.is_empty()) {
        out.push(StreamEvent::ServedModel(model));
    }
    let Some(choice) = c.choices.into_iter().next() else {
        return Err(ProviderError::invalid("the answer has no choices"));
    };
    let mut refused = false;
    if let Some(m) = choice.delta {
        let content = m.content.unwrap_or_default();
        let reasoning = m.reasoning_content.unwrap_or_default() + &content.reasoning;
        if !reasoning.is_empty() {
            out.push(StreamEvent::Reasoning(reasoning));
        }
        out.push(StreamEvent::Delta(content.text));
        if let Some(refusal) = m.refusal.filter(|r| !r.is_empty()) {
            refused = true;
            out.push(StreamEvent::Refusal(refusal));
        }
    }
    if let Some(usage) = &c.usage {
        usage.events(&mut out);
    }
    let finish = finish_reason(choice.finish_reason.as_deref().unwrap_or("stop"));
    if finish == FinishReason::ContentFilter && !refused {
        out.push(StreamEvent::Refusal(CONTENT_FILTER.into()));
    }
    out.push(StreamEvent::Finish(finish));
    out.push(StreamEvent::Done);
    Ok(out)
}

/// Streaming decoder: `data: {chunk}` events, then `data: [DONE]`.
#[derive(Default)]
pub(super) struct Decoder {
    framer: sse::Framer,
    state: ChunkState,
}

#[derive(Default)]
#[allow(clippy::struct_excessive_bools)] // four facts a stream learns independently
struct ChunkState {
    served_model_sent: bool,
    finished: bool,
    done: bool,
    /// Refusal text arrived: a content-filter finish needs no words of ours.
    refused: bool,
}

impl ChunkState {
    fn on_event(
        &mut self,
        event: sse::Event<'_>,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProviderError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.done = true;
            out.push(StreamEvent::Done);
            return Ok(());
        }
        if self.done || data.is_empty() {
            return Ok(());
        }
        let chunk: Completion = super::from_json("stream chunk", data.as_bytes())?;
        if let Some(error) = &chunk.error {
            // An error event inside the stream (also rate limits sent with a 200).
            return Err(classify(None, error));
        }
        if !self.served_model_sent {
            if let Some(model) = chunk.model.filter(|m| !m.is_empty()) {
                out.push(StreamEvent::ServedModel(model));
                self.served_model_sent = true;
            }
        }
        for choice in chunk.choices {
            if let Some(delta) = choice.delta {
                if let Some(r) = delta.reasoning_content.filter(|r| !r.is_empty()) {
                    out.push(StreamEvent::Reasoning(r));
                }
                if let Some(content) = delta.content {
                    if !content.reasoning.is_empty() {
                        out.push(StreamEvent::Reasoning(content.reasoning));
                    }
                    if !content.text.is_empty() {
                        out.push(StreamEvent::Delta(content.text));
                    }
                }
                if let Some(refusal) = delta.refusal.filter(|r| !r.is_empty()) {
                    self.refused = true;
                    out.push(StreamEvent::Refusal(refusal));
                }
            }
            if let Some(reason) = choice.finish_reason {
                self.finished = true;
                let finish = finish_reason(&reason);
                if finish == FinishReason::ContentFilter && !self.refused {
                    self.refused = true;
                    out.push(StreamEvent::Refusal(CONTENT_FILTER.into()));
                }
                out.push(StreamEvent::Finish(finish));
            }
        }
        if let Some(usage) = &chunk.usage {
            usage.events(out);
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
        let state = &mut self.state;
        self.framer
            .finish(&mut |e| state.on_event(e, out))
            .map_err(super::cut_short)?;
        // Some compatible servers close after the finish reason without
        // `[DONE]`; a finish reason is the model's own end marker too.
        if !state.done && state.finished {
            state.done = true;
            out.push(StreamEvent::Done);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Images go as `image_url` parts and PDFs as `file` parts, both `data:`
    /// URLs (tests/fixtures/openai/attachments.json names the reference);
    /// Azure shares the body; a message without attachments keeps a string.
    #[test]
    fn attachments_are_content_parts() {
        use crate::provider::testing::{attachment_request, body_json, request_fixture};
        let request = attachment_request(true);
        let expected =
            request_fixture(include_str!("../../tests/fixtures/openai/attachments.json"));
        let body = body_json(KIND, &request).unwrap();
        assert_eq!(body["messages"], expected["messages"]);
        let azure = body_json(crate::provider::azure::KIND, &request).unwrap();
        assert_eq!(azure["messages"], expected["messages"]);
        assert_eq!(body["messages"][0]["content"], "Be brief.");
    }

    #[test]
    fn image_tokens_follow_the_tile_rule() {
        // The guide's examples: 1024 × 1024 is 765 tokens, 2048 × 4096 is 1105.
        assert_eq!(image_tokens(Some((1024, 1024))), 765);
        assert_eq!(image_tokens(Some((2048, 4096))), 1105);
        assert_eq!(image_tokens(Some((100, 100))), 255);
        assert_eq!(image_tokens(None), 765);
    }

    /// A streamed answer as OpenAI sends it with `include_usage`
    /// (source: the chat-streaming API reference, chunk object examples).
    const STREAM: &str = include_str!("../../tests/fixtures/openai/stream.sse");

    fn decode(chunks: &[&[u8]]) -> Result<Vec<StreamEvent>, ProviderError> {
        crate::provider::testing::decode(&mut Decoder::default(), chunks)
    }

    use crate::provider::testing::text;

    /// A continuation in each OpenAI-compatible form (Mistral's `prefix`:
    /// <https://docs.mistral.ai/api/#tag/chat/operation/chat_completion_v1_chat_completions_post>,
    /// DeepSeek's chat prefix completion:
    /// <https://api-docs.deepseek.com/guides/chat_prefix_completion>, vLLM's
    /// `continue_final_message`:
    /// <https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html#extra-parameters-for-chat-api>).
    #[test]
    fn continuation_bodies() {
        use crate::provider::types::{ChatRequest, Params};
        use crate::provider::{Continuation, Endpoint};
        let request = ChatRequest::prompt(Some("Be brief."), "Hi", Params::default(), true)
            .continuing("Hello, ");
        let body = |continuation| {
            let endpoint = Endpoint {
                name: "o".into(),
                kind: KIND,
                base_url: "http://x/v1".into(),
                key: None,
                headers: vec![],
                api_version: None,
                continuation,
                stream_usage: None,
            };
            let call = Call {
                request: &request,
                endpoint: &endpoint,
                model: "m",
                max_output_tokens: None,
            };
            serde_json::from_slice::<Value>(&OpenAi.build(&call).unwrap().body).unwrap()
        };
        let prefix = body(Continuation::Prefix);
        assert_eq!(
            prefix["messages"],
            json!([{"role": "system", "content": "Be brief."},
                   {"role": "user", "content": "Hi"},
                   {"role": "assistant", "content": "Hello, ", "prefix": true}])
        );
        assert!(prefix.get("continue_final_message").is_none());
        let open = body(Continuation::ContinueFinalMessage);
        assert_eq!(
            open["messages"][2],
            json!({"role": "assistant", "content": "Hello, "})
        );
        assert_eq!(
            (
                &open["continue_final_message"],
                &open["add_generation_prompt"]
            ),
            (&json!(true), &json!(false))
        );
        assert!(
            KIND.can_continue(Continuation::Prefix, "m")
                && !KIND.can_continue(Continuation::None, "m")
        );
        assert!(!crate::provider::azure::KIND.can_continue(Continuation::Prefix, "m"));
    }

    fn schema(value: Value) -> std::sync::Arc<crate::structured::Schema> {
        std::sync::Arc::new(crate::structured::Schema::new(value).unwrap())
    }

    /// `--schema` is `response_format` of type `json_schema`, as the API
    /// reference and the SDK's `ResponseFormatJSONSchema` give it
    /// (<https://github.com/openai/openai-python/blob/main/src/openai/types/shared/response_format_json_schema.py>).
    #[test]
    fn a_schema_is_sent_as_response_format_json_schema() {
        use crate::provider::types::{ChatRequest, Params};
        use crate::provider::{Continuation, Endpoint};
        let strict = json!({
            "type": "object",
            "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
            "required": ["name", "tags"],
            "additionalProperties": false
        });
        let request = ChatRequest::prompt(None, "Hi", Params::default(), true)
            .with_schema(Some(schema(strict.clone())));
        let endpoint = Endpoint {
            name: "o".into(),
            kind: KIND,
            base_url: "https://api.openai.com/v1".into(),
            key: None,
            headers: vec![],
            api_version: None,
            continuation: Continuation::None,
            stream_usage: None,
        };
        let call = Call {
            request: &request,
            endpoint: &endpoint,
            model: "gpt-4o-mini",
            max_output_tokens: None,
        };
        let body: Value = serde_json::from_slice(&OpenAi.build(&call).unwrap().body).unwrap();
        assert_eq!(
            body["response_format"],
            json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": strict, "strict": true}})
        );
        // Azure shares the body.
        let azure = crate::provider::azure::Azure.build(&call).unwrap();
        let azure: Value = serde_json::from_slice(&azure.body).unwrap();
        assert_eq!(azure["response_format"], body["response_format"]);
    }

    #[test]
    fn strict_mode_only_for_schemas_that_keep_its_rules() {
        let ok = json!({
            "type": "object",
            "properties": {
                "when": {"type": "string", "format": "date"},
                "kind": {"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "null"}]},
                "item": {"$ref": "#/$defs/item"}
            },
            "required": ["when", "kind", "item"],
            "additionalProperties": false,
            "$defs": {"item": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}},
                               "required": ["n"], "additionalProperties": false}}
        });
        assert!(strict_compatible(&ok));
        let not = |edit: &dyn Fn(&mut Value)| {
            let mut s = ok.clone();
            edit(&mut s);
            !strict_compatible(&s)
        };
        // An optional property, an open object, a nested open object.
        assert!(not(&|s| s["required"] = json!(["when", "kind"])));
        assert!(not(&|s| {
            s.as_object_mut().unwrap().remove("additionalProperties");
        }));
        assert!(not(
            &|s| s["$defs"]["item"]["additionalProperties"] = json!(true)
        ));
        // Keywords strict mode does not take, a format it does not know, a $ref with company.
        assert!(not(&|s| s["properties"]["when"]["minLength"] = json!(1)));
        assert!(not(&|s| s["properties"]["when"]["format"] = json!("uri")));
        assert!(not(&|s| s["properties"]["item"]["description"] = json!("x")));
        assert!(not(
            &|s| s["properties"]["when"]["default"] = json!("2024-01-01")
        ));
        // The root must be a plain object.
        assert!(!strict_compatible(&json!({"anyOf": [ok.clone()]})));
        assert!(!strict_compatible(
            &json!({"type": "array", "items": ok.clone()})
        ));
    }

    #[test]
    fn decodes_fixture_at_every_split() {
        let bytes = STREAM.as_bytes();
        let whole = decode(&[bytes]).unwrap();
        assert_eq!(text(&whole), "Hello! How can I help?");
        assert_eq!(whole.last(), Some(&StreamEvent::Done));
        assert!(whole.contains(&StreamEvent::ServedModel("gpt-4o-mini-2024-07-18".into())));
        assert!(whole.contains(&StreamEvent::Usage(Usage {
            input_tokens: 19,
            output_tokens: 10,
            cached_input_tokens: 4,
            cache_write_tokens: 0,
            cache_write_1h_tokens: 0,
            reasoning_tokens: 2,
        })));
        crate::provider::testing::assert_same_at_every_split(&whole, bytes, decode);
    }

    /// Content as a list of typed parts, thinking first, as Mistral's
    /// reasoning models stream it (source: Mistral's reasoning guide,
    /// <https://docs.mistral.ai/capabilities/reasoning/>, `ThinkChunk` and
    /// `TextChunk`), with a plain string chunk mixed in and the usage in the
    /// last chunk, unasked.
    const TYPED_PARTS: &str = include_str!("../../tests/fixtures/openai/typed-parts.sse");

    #[test]
    fn content_as_typed_parts_is_text_and_reasoning_at_every_split() {
        let bytes = TYPED_PARTS.as_bytes();
        let whole = decode(&[bytes]).unwrap();
        assert_eq!(text(&whole), "Hello!");
        let reasoning: String = whole
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Reasoning(r) => Some(r.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(reasoning, "The user wants a greeting.");
        assert!(whole.contains(&StreamEvent::Usage(Usage {
            input_tokens: 12,
            output_tokens: 18,
            ..Usage::default()
        })));
        assert_eq!(whole.last(), Some(&StreamEvent::Done));
        crate::provider::testing::assert_same_at_every_split(&whole, bytes, decode);
    }

    #[test]
    fn a_whole_answer_with_typed_parts_is_not_malformed() {
        let body = br#"{"id":"cmpl-1","object":"chat.completion","model":"magistral-medium-2509",
          "choices":[{"index":0,"message":{"role":"assistant","content":[
            {"type":"thinking","thinking":[{"type":"text","text":"Reasoning traces..."}]},
            {"type":"text","text":"The answer."},
            {"type":"reference","reference_ids":[1]}]},"finish_reason":"stop"}],
          "usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}"#;
        let events = parse_body(body).unwrap();
        assert_eq!(text(&events), "The answer.");
        assert!(events.contains(&StreamEvent::Reasoning("Reasoning traces...".into())));
        // A null content (a tool call, a refusal) is no text, not an error.
        let null = br#"{"choices":[{"message":{"role":"assistant","content":null},"finish_reason":"stop"}]}"#;
        assert_eq!(text(&parse_body(null).unwrap()), "");
    }

    #[test]
    fn stream_options_go_only_where_they_are_taken() {
        use crate::provider::types::{ChatRequest, Params};
        use crate::provider::{Continuation, Endpoint};
        let request = ChatRequest::prompt(None, "Hi", Params::default(), true);
        let asks = |base_url: &str, stream_usage| {
            let endpoint = Endpoint {
                name: "o".into(),
                kind: KIND,
                base_url: base_url.into(),
                key: None,
                headers: vec![],
                api_version: None,
                continuation: Continuation::None,
                stream_usage,
            };
            let call = Call {
                request: &request,
                endpoint: &endpoint,
                model: "m",
                max_output_tokens: None,
            };
            let body: Value = serde_json::from_slice(&body(&call, "max_tokens")).unwrap();
            body.get("stream_options").is_some()
        };
        assert!(asks("https://api.openai.com/v1", None));
        assert!(asks("http://127.0.0.1:8000/v1", None));
        assert!(!asks("https://api.mistral.ai/v1", None));
        // The profile's `stream_usage` decides either way.
        assert!(asks("https://api.mistral.ai/v1", Some(true)));
        assert!(!asks("https://api.openai.com/v1", Some(false)));
    }

    /// Mistral's 422 to `stream_options` (the body route-mock's `/strict/`
    /// path sends) reads as what it says, and is the rejection the router
    /// sends again without them; a 422 about another field is not.
    #[test]
    fn a_422_naming_stream_options_is_their_rejection() {
        use crate::provider::types::{ChatRequest, Params};
        use crate::provider::{Continuation, Endpoint};
        let body = br#"{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","stream_options","include_usage"],"msg":"Extra inputs are not permitted","input":true}]},"type":"invalid_request_error","param":null,"code":null}"#;
        let error = parse_error(422, &HeaderMap::new(), body);
        assert_eq!(
            (error.kind, error.message.as_str()),
            (
                ErrorKind::BadRequest,
                "Extra inputs are not permitted (body.stream_options.include_usage)"
            )
        );
        let request = ChatRequest::prompt(None, "Hi", Params::default(), true);
        let endpoint = |stream_usage| Endpoint {
            name: "m".into(),
            kind: KIND,
            base_url: "http://127.0.0.1:9/v1".into(),
            key: None,
            headers: vec![],
            api_version: None,
            continuation: Continuation::None,
            stream_usage,
        };
        let asked = endpoint(None);
        let call = Call {
            request: &request,
            endpoint: &asked,
            model: "m",
            max_output_tokens: None,
        };
        assert!(OpenAi.rejects_stream_options(&call, &error));
        // Not asked for them: nothing to drop.
        let unasked = endpoint(Some(false));
        let without = Call {
            endpoint: &unasked,
            ..call
        };
        assert!(!OpenAi.rejects_stream_options(&without, &error));
        let other = parse_error(
            422,
            &HeaderMap::new(),
            br#"{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","foo"],"msg":"Extra inputs are not permitted"}]}}"#,
        );
        assert!(!OpenAi.rejects_stream_options(&call, &other));
        let old = parse_error(
            400,
            &HeaderMap::new(),
            br#"{"error":{"message":"Unrecognized request argument supplied: stream_options","type":"invalid_request_error","param":null,"code":null}}"#,
        );
        assert!(OpenAi.rejects_stream_options(&call, &old));
    }

    /// Cache writes as an OpenAI-compatible server reports them
    /// (tests/fixtures/openai/cache-write.json names its source).
    #[test]
    fn cache_writes_are_read_from_prompt_tokens_details() {
        let events = parse_body(include_bytes!(
            "../../tests/fixtures/openai/cache-write.json"
        ))
        .unwrap();
        assert!(events.contains(&StreamEvent::Usage(Usage {
            input_tokens: 194,
            output_tokens: 2,
            cache_write_tokens: 100,
            ..Usage::default()
        })));
        assert!(events.contains(&StreamEvent::ProviderCost(0.95)));
    }

    #[test]
    fn deepseek_cache_hits_are_cached_input() {
        // Source: DeepSeek's chat completion reference, the `usage` object.
        let body = br#"{"id":"d1","object":"chat.completion","model":"deepseek-chat",
          "choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],
          "usage":{"prompt_tokens":120,"completion_tokens":3,"total_tokens":123,
                   "prompt_cache_hit_tokens":64,"prompt_cache_miss_tokens":56}}"#;
        let events = parse_body(body).unwrap();
        assert!(events.contains(&StreamEvent::Usage(Usage {
            input_tokens: 120,
            output_tokens: 3,
            cached_input_tokens: 64,
            ..Usage::default()
        })));
    }

    /// The refusal pieces of a list of events, joined.
    fn refusal(events: &[StreamEvent]) -> Option<String> {
        let pieces: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Refusal(r) => Some(r.as_str()),
                _ => None,
            })
            .collect();
        (!pieces.is_empty()).then(|| pieces.concat())
    }

    /// A streamed refusal (tests/fixtures/openai/refusal.sse names its
    /// source): refusal text, never answer text, then the usage, at every split.
    #[test]
    fn a_streamed_refusal_is_refusal_text_at_every_split() {
        let bytes = include_bytes!("../../tests/fixtures/openai/refusal.sse");
        let whole = decode(&[bytes]).unwrap();
        assert_eq!(text(&whole), "");
        assert_eq!(
            refusal(&whole).as_deref(),
            Some("I'm sorry, I cannot assist with that request.")
        );
        assert!(
            whole
                .iter()
                .any(|e| matches!(e, StreamEvent::Usage(u) if u.output_tokens == 10))
        );
        assert_eq!(whole.last(), Some(&StreamEvent::Done));
        crate::provider::testing::assert_same_at_every_split(&whole, bytes, decode);
    }

    #[test]
    fn a_content_filter_finish_is_a_refusal_in_words_of_its_own() {
        let chunk = |delta: &str, finish: &str| {
            format!(
                "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n"
            )
        };
        let stream = chunk(r#"{"content":"Once upon"}"#, "null")
            + &chunk("{}", r#""content_filter""#)
            + "data: [DONE]\n\n";
        let events = decode(&[stream.as_bytes()]).unwrap();
        assert_eq!(text(&events), "Once upon");
        assert_eq!(refusal(&events).as_deref(), Some(CONTENT_FILTER));
        assert!(events.contains(&StreamEvent::Finish(FinishReason::ContentFilter)));
        // A plain stop is no refusal.
        let plain = chunk(r#"{"content":"Hi"}"#, r#""stop""#) + "data: [DONE]\n\n";
        assert_eq!(refusal(&decode(&[plain.as_bytes()]).unwrap()), None);
    }

    /// A whole answer's `message.refusal` (structured output's refusal,
    /// <https://platform.openai.com/docs/guides/structured-outputs#refusals>),
    /// and a content-filter finish.
    #[test]
    fn a_whole_refusal_is_refusal_text() {
        let body = br#"{"id":"chatcmpl-9nYAG9LPNonX8DAyrkwYfemr3C8HC","object":"chat.completion","created":1721596428,"model":"gpt-4o-2024-08-06",
          "choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I'm sorry, I cannot assist with that request."},"logprobs":null,"finish_reason":"stop"}],
          "usage":{"prompt_tokens":81,"completion_tokens":11,"total_tokens":92}}"#;
        let events = parse_body(body).unwrap();
        assert_eq!(text(&events), "");
        assert_eq!(
            refusal(&events).as_deref(),
            Some("I'm sorry, I cannot assist with that request.")
        );
        let filtered = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"content_filter"}]}"#;
        assert_eq!(
            refusal(&parse_body(filtered).unwrap()).as_deref(),
            Some(CONTENT_FILTER)
        );
        // OpenAI's flagged prompt and Azure's content-policy 400 are content-policy errors.
        let flagged = br#"{"error":{"message":"Invalid prompt: your prompt was flagged as potentially violating our usage policy. Please try again with a different prompt: https://platform.openai.com/docs/guides/reasoning#advice-on-prompting","type":"invalid_request_error","param":null,"code":"invalid_prompt"}}"#;
        assert_eq!(
            parse_error(400, &HeaderMap::new(), flagged).kind,
            ErrorKind::ContentPolicy
        );
        let azure = br#"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}}"#;
        assert_eq!(
            parse_error(400, &HeaderMap::new(), azure).kind,
            ErrorKind::ContentPolicy
        );
    }

    #[test]
    fn cut_stream_has_no_done() {
        // Cut between two events: no end marker, no error.
        let at = STREAM.find("data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[{\"index\":0,\"delta\":{},").unwrap();
        let events = decode(&[&STREAM.as_bytes()[..at]]).unwrap();
        assert!(!events.contains(&StreamEvent::Done));
        // Cut inside an event: the tail does not parse.
        let err = decode(&[&STREAM.as_bytes()[..at + 40]]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Incomplete);
    }

    #[test]
    fn error_in_stream_is_typed() {
        let err = decode(&[b"data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}\n\n"])
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::RateLimit);
    }

    #[test]
    fn whole_body() {
        let body = br#"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-2024-08-06",
          "choices":[{"index":0,"message":{"role":"assistant","content":"Hi."},"finish_reason":"stop"}],
          "usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"cost":0.00012,
                   "prompt_tokens_details":{"cached_tokens":0}}}"#;
        let events = parse_body(body).unwrap();
        assert_eq!(text(&events), "Hi.");
        assert!(events.contains(&StreamEvent::ProviderCost(0.00012)));
        assert_eq!(events.last(), Some(&StreamEvent::Done));
    }

    #[test]
    fn error_bodies() {
        let h = HeaderMap::new();
        let ctx = br#"{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#;
        assert_eq!(parse_error(400, &h, ctx).kind, ErrorKind::ContextLength);
        let auth = br#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#;
        assert_eq!(parse_error(401, &h, auth).kind, ErrorKind::Auth);
        let bad = br#"{"error":{"message":"Unrecognized request argument supplied: foo","type":"invalid_request_error","code":null}}"#;
        assert_eq!(parse_error(400, &h, bad).kind, ErrorKind::BadRequest);
        assert_eq!(
            parse_error(502, &h, b"<html>bad gateway</html>").kind,
            ErrorKind::Server
        );
        let limited =
            parse_body(br#"{"error":{"message":"Rate limit exceeded","code":429}}"#).unwrap_err();
        assert_eq!(limited.kind, ErrorKind::RateLimit);
    }
}

/// Property tests (issue 9): see `provider::fuzz` for what each property means.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::OpenAi;
    use crate::provider::fuzz::{
        body_is_total, bytes, config, cuts, error_is_total, headers, json, mutated, soup,
        split_invariant, sse_of, status,
    };

    const STREAM: &[u8] = include_bytes!("../../tests/fixtures/openai/stream.sse");
    const KEYS: &[&str] = &[
        "id",
        "object",
        "model",
        "choices",
        "index",
        "delta",
        "message",
        "content",
        "reasoning_content",
        "reasoning",
        "refusal",
        "content_filter",
        "role",
        "finish_reason",
        "usage",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "prompt_tokens_details",
        "cached_tokens",
        "cache_write_tokens",
        "completion_tokens_details",
        "reasoning_tokens",
        "cost",
        "error",
        "type",
        "code",
        "stop",
        "length",
        "rate_limit_exceeded",
        "context_length_exceeded",
        "server_error",
    ];

    proptest! {
        #![proptest_config(config(512))]

        #[test]
        fn decoder_on_any_bytes(b in bytes(), c in cuts()) {
            split_invariant(&OpenAi, &b, &c)?;
        }

        #[test]
        fn decoder_on_token_soup(b in soup(KEYS), c in cuts()) {
            split_invariant(&OpenAi, &b, &c)?;
        }

        #[test]
        fn decoder_on_chunks_of_any_shape(b in sse_of(&[], KEYS), c in cuts()) {
            split_invariant(&OpenAi, &b, &c)?;
        }

        #[test]
        fn decoder_on_a_damaged_fixture(b in mutated(STREAM), c in cuts()) {
            split_invariant(&OpenAi, &b, &c)?;
        }

        #[test]
        fn body_parser_is_total(v in json(KEYS), b in bytes()) {
            body_is_total(&OpenAi, v.to_string().as_bytes())?;
            body_is_total(&OpenAi, &b)?;
        }

        #[test]
        fn error_parser_is_total(s in status(), h in headers(), v in json(KEYS), b in bytes()) {
            error_is_total(&OpenAi, s, &h, v.to_string().as_bytes())?;
            error_is_total(&OpenAi, s, &h, &b)?;
        }
    }
}
