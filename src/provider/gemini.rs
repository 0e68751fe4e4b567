//! Google's Gemini API (`generativelanguage.googleapis.com`, API version
//! `v1beta`): `models/{model}:generateContent`, or `:streamGenerateContent?alt=sse`
//! for server-sent events whose `data:` are whole `GenerateContentResponse`s.
//!
//! - Request and response: <https://ai.google.dev/api/generate-content>
//! - `GenerationConfig`: <https://ai.google.dev/api/generate-content#v1beta.GenerationConfig>
//! - Thought parts and `thoughtsTokenCount`: <https://ai.google.dev/gemini-api/docs/thinking>
//! - Error statuses: <https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes>
//! - Blocked prompts and answers (`promptFeedback.blockReason`, a candidate's
//!   `finishReason` such as `SAFETY`; Vertex AI adds `blockReasonMessage` and
//!   `finishMessage`): <https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse>,
//!   <https://ai.google.dev/api/generate-content#FinishReason>,
//!   <https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/process-blocked-responses>
//! - The `x-goog-api-key` header: <https://ai.google.dev/gemini-api/docs/api-key>
//! - Structured output (`responseMimeType` + `responseJsonSchema`):
//!   <https://ai.google.dev/gemini-api/docs/structured-output>,
//!   <https://ai.google.dev/api/generate-content#FIELDS.response_json_schema>
//! - Attachments: a part's `inline_data` blob, base64 bytes and their MIME type
//!   (<https://ai.google.dev/api/caching#Blob>; the REST examples of
//!   <https://ai.google.dev/gemini-api/docs/image-understanding> and
//!   <https://ai.google.dev/gemini-api/docs/document-processing> spell it in
//!   snake case, which the API takes as well as `inlineData`)
//!
//! The key travels only in the `x-goog-api-key` header, never as `?key=` in the
//! URL, where it would end up in logs and error messages.
//!
//! A stream has no end marker of its own: the last chunk carries the
//! candidate's `finishReason` together with the final `usageMetadata`, then the
//! server closes. The decoder therefore emits [`StreamEvent::Done`] only when the
//! body ends after a `finishReason` was seen.

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::azure::encode_path_segment;
use super::error::{ErrorKind, ProviderError, kind_from_message, retry_after};
use super::kind::{Continues, EnvProvider, KindSpec, ProviderKind, Tokenizer, whole_prefix};
use super::media::{Limit, MB, MediaSpec};
use super::types::{self, FinishReason, ParamNames, Role, StreamEvent, Usage};
use super::{Adapter, Call, HttpRequest, StreamDecoder, sse};

/// The fields of `GenerationConfig` (v1beta). An extra parameter with one of
/// these names (or its `snake_case` spelling) goes inside `generationConfig`;
/// any other goes at the top level of the request (`safetySettings`, `tools`,
/// `cachedContent`, …).
const GENERATION_CONFIG_FIELDS: [&str; 20] = [
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseModalities",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "enableEnhancedCivicAnswers",
    "speechConfig",
    "thinkingConfig",
    "imageConfig",
    "mediaResolution",
];

/// The `gemini` kind.
pub const KIND: ProviderKind = ProviderKind(&KindSpec {
    name: "gemini",
    adapter: &Gemini,
    default_base_url: Some("https://generativelanguage.googleapis.com"),
    base_url_var: None,
    base_url_hint: None,
    key_var: Some("GEMINI_API_KEY"),
    local: false,
    model_is_deployment: false,
    litellm_provider: "gemini",
    litellm_by_name: false,
    plain_model: |model| model.strip_prefix("models/"),
    tokenizer: Tokenizer::Approximate,
    from_env: &[EnvProvider {
        name: "gemini",
        vars: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
        var_is_key: true,
        base_url: None,
        aliases: &[("flash", "gemini-2.5-flash"), ("pro", "gemini-2.5-pro")],
        listed: 2,
        chain: 2,
    }],
    continues: Continues::Always,
    prefix_sent: whole_prefix,
    // Gemini `generationConfig.temperature`: 0.0 to 2.0 for the 2.x and 3 models (ai.google.dev, GenerationConfig reference).
    temperature_max: Some(2.0),
    model_continues: |_| true,
    media: MEDIA,
});

/// What `generateContent` takes inline: images and PDFs, the whole request
/// (prompt and base64 bytes together) at most 20 MB ("Passing images inline"
/// in <https://ai.google.dev/gemini-api/docs/image-understanding>, and
/// <https://ai.google.dev/gemini-api/docs/document-processing>).
pub const MEDIA: MediaSpec = MediaSpec {
    images: true,
    pdfs: true,
    max_image: None,
    max_images: None,
    max_pdfs: None,
    max_request: Some(Limit::encoded(20 * MB)),
    image_tokens,
    // "Each document page is equivalent to 258 tokens" (document processing).
    pdf_page_tokens: 258,
};

/// An image's tokens (<https://ai.google.dev/gemini-api/docs/tokens#multimodal-tokens>):
/// 258 when both sides are at most 384 px; a larger image is cut into
/// 768 × 768 tiles of 258 tokens each. An image route cannot measure counts
/// as 1024 × 1024 (four tiles).
pub fn image_tokens(dimensions: Option<(u32, u32)>) -> u64 {
    match dimensions.unwrap_or((1024, 1024)) {
        (w, h) if w <= 384 && h <= 384 => 258,
        (w, h) => 258 * u64::from(w.div_ceil(768)) * u64::from(h.div_ceil(768)),
    }
}

pub struct Gemini;

impl Adapter for Gemini {
    fn build(&self, call: &Call<'_>) -> Result<HttpRequest, ProviderError> {
        let mut headers = super::json_headers();
        if let Some(key) = &call.endpoint.key {
            headers.insert("x-goog-api-key", super::secret_header(key.expose())?);
        }
        super::extra_headers(&mut headers, call.endpoint)?;
        let method = if call.request.stream {
            "streamGenerateContent?alt=sse"
        } else {
            "generateContent"
        };
        Ok(HttpRequest {
            url: format!(
                "{}/{}:{method}",
                api_root(&call.endpoint.base_url),
                model_path(call.model)
            ),
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

/// `{base_url}/v1beta`, unless the profile's `base_url` already names an API version.
fn api_root(base_url: &str) -> String {
    if base_url.ends_with("/v1beta") || base_url.ends_with("/v1") {
        base_url.to_owned()
    } else {
        format!("{base_url}/v1beta")
    }
}

/// The model's resource path. The API names models `models/x`; the profile may
/// give either form. A tuned model keeps its own collection.
fn model_path(model: &str) -> String {
    let model = model.strip_prefix("models/").unwrap_or(model);
    match model.strip_prefix("tunedModels/") {
        Some(tuned) => format!("tunedModels/{}", encode_path_segment(tuned)),
        None => format!("models/{}", encode_path_segment(model)),
    }
}

/// `top_k` → `topK`: the API's JSON names are lowerCamelCase.
fn camel_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The JSON body of a `generateContent` request.
fn body(call: &Call<'_>) -> Vec<u8> {
    let req = call.request;
    let p = &req.params;
    let mut config = Map::new();
    p.write_typed(
        &ParamNames {
            temperature: "temperature",
            top_p: "topP",
            max_tokens: Some("maxOutputTokens"),
            stop: "stopSequences",
            seed: Some("seed"),
        },
        &mut config,
    );

    let mut body = Map::new();
    // A last `model` turn is continued: Gemini's roles are `user` and `model`.
    // <https://ai.google.dev/api/caching#Content>
    let contents: Vec<Value> = req
        .turns()
        .map(|m| {
            let role = if m.role == Role::Assistant {
                "model"
            } else {
                "user"
            };
            let parts: Vec<Value> = m
                .parts
                .iter()
                .map(|p| match p {
                    types::Part::Text(t) => json!({"text": t}),
                    // <https://ai.google.dev/api/caching#Blob>: base64 bytes and their MIME type.
                    types::Part::Attachment(a) => json!({"inline_data": {
                        "mime_type": a.media.mime(),
                        "data": super::base64(&a.bytes),
                    }}),
                })
                .collect();
            json!({"role": role, "parts": parts})
        })
        .collect();
    body.insert("contents".into(), Value::Array(contents));
    if let Some(system) = req.system() {
        body.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": system}]}),
        );
    }
    // `--schema`: JSON out, held to the schema. `responseJsonSchema` takes
    // JSON Schema as it is written (`responseSchema` wants Google's own
    // OpenAPI subset, with upper-case types).
    if let Some(schema) = &req.schema {
        config.insert("responseMimeType".into(), json!("application/json"));
        config.insert("responseJsonSchema".into(), schema.wire().clone());
    }
    // Extra parameters: a GenerationConfig field goes inside generationConfig,
    // a whole `generationConfig` object is merged into it, anything else is a
    // top-level request field.
    for (k, v) in &p.extra {
        let name = camel_case(k);
        if GENERATION_CONFIG_FIELDS.contains(&name.as_str()) {
            config.insert(name, v.clone());
        } else if let ("generationConfig", Value::Object(fields)) = (name.as_str(), v) {
            for (field, value) in fields {
                config.insert(camel_case(field), value.clone());
            }
        } else {
            body.insert(k.clone(), v.clone());
        }
    }
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
}

/// A `GenerateContentResponse`: the whole answer, or one streamed chunk of it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Response {
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(default)]
    prompt_feedback: Option<PromptFeedback>,
    #[serde(default)]
    usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    model_version: Option<String>,
    /// An error sent inside a 200 stream.
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    #[serde(default)]
    content: Option<Content>,
    #[serde(default)]
    finish_reason: Option<String>,
    /// Why it stopped, in words (Vertex AI).
    #[serde(default)]
    finish_message: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

/// A part. Function calls, inline data and bare `thoughtSignature`s carry no text.
#[derive(Deserialize)]
struct Part {
    #[serde(default)]
    text: Option<String>,
    /// A thought summary, not answer text.
    #[serde(default)]
    thought: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    #[serde(default)]
    block_reason: Option<String>,
    /// The block reason in words (Vertex AI).
    #[serde(default)]
    block_reason_message: Option<String>,
}

/// What the user is told of a blocked prompt or answer: the provider's
/// words when it gives them, and its reason's name.
fn blocked(what: &str, field: &str, reason: &str, message: Option<&str>) -> String {
    match message.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => format!("{m} ({field} {reason})"),
        None => format!("the {what} was blocked ({field} {reason})"),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_field_names)] // the wire's own names
struct UsageMetadata {
    /// The whole prompt, cached part included.
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    cached_content_token_count: u64,
    /// The answer, without the thoughts.
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
    /// Prompt tokens added by tool use (search grounding, code execution), billed as input.
    #[serde(default)]
    tool_use_prompt_token_count: u64,
}

impl UsageMetadata {
    fn normalised(&self) -> Usage {
        Usage {
            // Saturating: the counts are the server's numbers (issue 9: a
            // hostile u64::MAX overflowed here).
            input_tokens: self
                .prompt_token_count
                .saturating_add(self.tool_use_prompt_token_count),
            // Thoughts are billed as output but counted apart from the candidates.
            output_tokens: self
                .candidates_token_count
                .saturating_add(self.thoughts_token_count),
            cached_input_tokens: self.cached_content_token_count,
            cache_write_tokens: 0,
            cache_write_1h_tokens: 0,
            reasoning_tokens: self.thoughts_token_count,
        }
    }
}

/// `{"error":{"code":429,"message":…,"status":"RESOURCE_EXHAUSTED","details":[…]}}`
#[derive(Deserialize)]
struct WireError {
    /// The HTTP status, as a number.
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<String>,
    /// The `google.rpc.Code` name.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    details: Vec<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    /// `google.rpc.ErrorInfo.reason`, such as `API_KEY_INVALID`.
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: WireError,
}

/// The finish reasons of a blocked answer ([`FinishReason::ContentFilter`])
/// are refusals: a safety, content or recitation filter stopped it.
fn finish_reason(s: &str) -> FinishReason {
    match s {
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_ascii_lowercase()),
    }
}

/// Classifies a Gemini error object; `status` is the HTTP status, `None` inside a stream.
fn classify(status: Option<u16>, error: &WireError) -> ProviderError {
    let message = error
        .message
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "no message".into());
    let code = status.or_else(|| {
        error
            .code
            .as_ref()
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
    });
    // A bad key is a 400 INVALID_ARGUMENT whose ErrorInfo says API_KEY_INVALID.
    let bad_key = error
        .details
        .iter()
        .any(|d| d.reason.as_deref() == Some("API_KEY_INVALID"));
    let kind = match error.status.as_deref().unwrap_or("") {
        _ if bad_key => ErrorKind::Auth,
        "RESOURCE_EXHAUSTED" => ErrorKind::RateLimit,
        // HTTP 503, "The model is overloaded. Please try again later."
        "UNAVAILABLE"
            if code == Some(503) || message.to_ascii_lowercase().contains("overloaded") =>
        {
            ErrorKind::Overloaded
        }
        // Transient on Google's side; DEADLINE_EXCEEDED (504) is the server's
        // own deadline, not one of ours.
        "UNAVAILABLE" | "INTERNAL" | "DEADLINE_EXCEEDED" | "ABORTED" | "UNKNOWN" | "CANCELLED" => {
            ErrorKind::Server
        }
        "PERMISSION_DENIED" | "UNAUTHENTICATED" => ErrorKind::Auth,
        // "The input token count (N) exceeds the maximum number of tokens allowed (M)."
        "INVALID_ARGUMENT" | "OUT_OF_RANGE" => {
            if kind_from_message(&message) == Some(ErrorKind::ContextLength) {
                ErrorKind::ContextLength
            } else {
                ErrorKind::BadRequest
            }
        }
        // FAILED_PRECONDITION: e.g. the API is not available in the user's region.
        "FAILED_PRECONDITION" | "NOT_FOUND" => ErrorKind::BadRequest,
        _ => match code {
            Some(s) => match ErrorKind::from_status(s) {
                ErrorKind::BadRequest => {
                    kind_from_message(&message).unwrap_or(ErrorKind::BadRequest)
                }
                k => k,
            },
            None => kind_from_message(&message).unwrap_or(ErrorKind::Server),
        },
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
    // The error object, alone or (from the JSON-array stream form) in a one-element list.
    let parsed = serde_json::from_slice::<ErrorBody>(body).or_else(|_| {
        serde_json::from_slice::<Vec<ErrorBody>>(body).and_then(|list| {
            list.into_iter()
                .next()
                .ok_or_else(|| serde::de::Error::custom("empty list"))
        })
    });
    let error = match parsed {
        Ok(b) => classify(Some(status), &b.error),
        Err(_) => super::unshaped_error(status, body),
    };
    error.with_retry_after(retry_after(headers))
}

fn parse_body(body: &[u8]) -> Result<Vec<StreamEvent>, ProviderError> {
    // A JSON array is the stream without `alt=sse`: the chunks, in order.
    let responses: Vec<Response> = if body.trim_ascii_start().starts_with(b"[") {
        super::from_json("response list", body)?
    } else {
        vec![super::from_json("response", body)?]
    };
    let mut state = ChunkState::default();
    let mut out = Vec::new();
    for r in responses {
        state.on_response(r, &mut out)?;
    }
    if !state.answered {
        return Err(ProviderError::invalid("the answer has no candidates"));
    }
    if !state.finished {
        out.push(StreamEvent::Finish(FinishReason::Stop));
    }
    out.push(StreamEvent::Done);
    Ok(out)
}

/// Streaming decoder: `data: {GenerateContentResponse}` events; the body's end
/// after a `finishReason` is the end marker.
#[derive(Default)]
struct Decoder {
    framer: sse::Framer,
    state: ChunkState,
}

#[derive(Default)]
#[allow(clippy::struct_excessive_bools)] // four facts a stream learns independently
struct ChunkState {
    served_model_sent: bool,
    /// A candidate arrived.
    answered: bool,
    /// A candidate's `finishReason` arrived.
    finished: bool,
    done: bool,
}

impl ChunkState {
    fn on_event(
        &mut self,
        event: sse::Event<'_>,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProviderError> {
        let data = event.data.trim();
        if self.done || data.is_empty() {
            return Ok(());
        }
        let chunk: Response = super::from_json("stream chunk", data.as_bytes())?;
        self.on_response(chunk, out)
    }

    fn on_response(
        &mut self,
        r: Response,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProviderError> {
        if let Some(error) = &r.error {
            return Err(classify(None, error));
        }
        // A blocked prompt has no candidates: the answer is the refusal,
        // and the usage that comes with it.
        if r.candidates.is_empty() {
            if let Some(f) = r.prompt_feedback {
                if let Some(reason) = f.block_reason.filter(|b| !b.is_empty()) {
                    out.push(StreamEvent::Refusal(blocked(
                        "prompt",
                        "promptFeedback.blockReason",
                        &reason,
                        f.block_reason_message.as_deref(),
                    )));
                    self.answered = true;
                    self.finished = true;
                }
            }
        }
        if !self.served_model_sent {
            if let Some(model) = r.model_version.filter(|m| !m.is_empty()) {
                let model = model
                    .strip_prefix("models/")
                    .map(str::to_owned)
                    .unwrap_or(model);
                out.push(StreamEvent::ServedModel(model));
                self.served_model_sent = true;
            }
        }
        // Only the first candidate: `candidateCount` > 1 is not an answer to print.
        if let Some(candidate) = r.candidates.into_iter().next() {
            self.answered = true;
            for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
                match part.text {
                    Some(text) if !text.is_empty() => out.push(if part.thought == Some(true) {
                        StreamEvent::Reasoning(text)
                    } else {
                        StreamEvent::Delta(text)
                    }),
                    _ => {}
                }
            }
            if let Some(reason) = candidate.finish_reason.filter(|r| !r.is_empty()) {
                if !self.finished {
                    self.finished = true;
                    let finish = finish_reason(&reason);
                    if finish == FinishReason::ContentFilter {
                        out.push(StreamEvent::Refusal(blocked(
                            "answer",
                            "finishReason",
                            &reason,
                            candidate.finish_message.as_deref(),
                        )));
                    }
                    out.push(StreamEvent::Finish(finish));
                }
            }
        }
        if let Some(usage) = &r.usage_metadata {
            out.push(StreamEvent::Usage(usage.normalised()));
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
        // The body ended after the finish reason: the answer is complete, and
        // the usage that came with (or after) the finish reason was kept.
        if state.finished && !state.done {
            state.done = true;
            out.push(StreamEvent::Done);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Images and PDFs go as `inline_data` parts before the text
    /// (tests/fixtures/gemini/attachments.json names the reference).
    #[test]
    fn attachments_are_inline_data_parts() {
        use crate::provider::testing::{attachment_request, body_json, request_fixture};
        let expected =
            request_fixture(include_str!("../../tests/fixtures/gemini/attachments.json"));
        let body = body_json(KIND, &attachment_request(true)).unwrap();
        assert_eq!(body["contents"], expected["contents"]);
        assert_eq!(body["systemInstruction"], expected["systemInstruction"]);
    }

    #[test]
    fn image_tokens_count_tiles() {
        assert_eq!(image_tokens(Some((384, 200))), 258);
        assert_eq!(image_tokens(Some((1000, 700))), 516);
        assert_eq!(image_tokens(Some((1920, 1080))), 258 * 6);
    }
    use crate::provider::types::{ChatRequest, Params};
    use crate::provider::{ApiKey, Endpoint};

    /// A streamed answer with a thought summary and implicit-cache usage, CRLF line ends.
    const STREAM: &str = include_str!("../../tests/fixtures/gemini/stream.sse");
    /// A non-streamed answer with a thought summary, cut by `maxOutputTokens`.
    const RESPONSE: &str = include_str!("../../tests/fixtures/gemini/response.json");

    fn decode(chunks: &[&[u8]]) -> Result<Vec<StreamEvent>, ProviderError> {
        crate::provider::testing::decode(&mut Decoder::default(), chunks)
    }

    use crate::provider::testing::text;

    fn last_usage(events: &[StreamEvent]) -> Option<Usage> {
        events.iter().rev().find_map(|e| match e {
            StreamEvent::Usage(u) => Some(*u),
            _ => None,
        })
    }

    #[test]
    fn fixture_keeps_crlf_line_ends() {
        // A checkout that rewrote the line ends would no longer test them.
        assert!(STREAM.contains("}\r\n\r\ndata: "));
        assert!(!STREAM.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn decodes_fixture_whole() {
        let events = decode(&[STREAM.as_bytes()]).unwrap();
        assert_eq!(text(&events), "Hello! How can I help?");
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, StreamEvent::ServedModel(_)))
                .count(),
            1
        );
        assert_eq!(
            events[0],
            StreamEvent::ServedModel("gemini-2.5-flash".into())
        );
        assert_eq!(
            events[1],
            StreamEvent::Reasoning(
                "**Answering a greeting**\n\nA short, friendly reply fits.".into()
            )
        );
        assert!(events.contains(&StreamEvent::Finish(FinishReason::Stop)));
        assert_eq!(events.last(), Some(&StreamEvent::Done));
        assert_eq!(
            last_usage(&events),
            Some(Usage {
                input_tokens: 2100,
                output_tokens: 103,
                cached_input_tokens: 2048,
                cache_write_tokens: 0,
                cache_write_1h_tokens: 0,
                reasoning_tokens: 95,
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
    fn done_only_at_the_end_of_the_body() {
        // `feed` never says Done: usage may still follow the finish reason.
        let mut d = Decoder::default();
        let mut out = Vec::new();
        d.feed(STREAM.as_bytes(), &mut out).unwrap();
        assert!(!out.contains(&StreamEvent::Done));
        assert!(out.contains(&StreamEvent::Finish(FinishReason::Stop)));
        d.finish(&mut out).unwrap();
        assert_eq!(out.last(), Some(&StreamEvent::Done));

        let usage_after = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"},\"finishReason\":\"STOP\"}]}\r\n\r\n\
data: {\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":1}}\r\n\r\n";
        let events = decode(&[usage_after.as_bytes()]).unwrap();
        assert_eq!(last_usage(&events).map(|u| u.input_tokens), Some(3));
        assert_eq!(events.last(), Some(&StreamEvent::Done));
    }

    #[test]
    fn cut_stream_has_no_done() {
        // Cut between chunks, before the one with the finish reason.
        let cut = STREAM.rfind("data: ").unwrap();
        let events = decode(&[&STREAM.as_bytes()[..cut]]).unwrap();
        assert_eq!(text(&events), "Hello");
        assert!(!events.contains(&StreamEvent::Done));
        // Cut anywhere inside the last chunk: never Done, and `incomplete` if
        // half an event was left.
        let end = STREAM.rfind('}').unwrap();
        for cut in 0..end {
            let mut d = Decoder::default();
            let mut out = Vec::new();
            d.feed(&STREAM.as_bytes()[..cut], &mut out).unwrap();
            if let Err(e) = d.finish(&mut out) {
                assert_eq!(e.kind, ErrorKind::Incomplete, "cut at {cut}: {e}");
            }
            assert!(!out.contains(&StreamEvent::Done), "cut at {cut}");
        }
    }

    #[test]
    fn finish_reasons() {
        let chunk = |reason: &str| {
            format!(
                "data: {{\"candidates\":[{{\"content\":{{\"parts\":[],\"role\":\"model\"}},\"finishReason\":\"{reason}\",\"index\":0}}]}}\r\n\r\n"
            )
        };
        let reason = |r: &str| {
            decode(&[chunk(r).as_bytes()])
                .unwrap()
                .into_iter()
                .find_map(|e| match e {
                    StreamEvent::Finish(f) => Some(f),
                    _ => None,
                })
                .unwrap()
        };
        assert_eq!(reason("STOP"), FinishReason::Stop);
        assert_eq!(reason("MAX_TOKENS"), FinishReason::Length);
        for r in [
            "SAFETY",
            "RECITATION",
            "BLOCKLIST",
            "PROHIBITED_CONTENT",
            "SPII",
        ] {
            assert_eq!(reason(r), FinishReason::ContentFilter, "{r}");
        }
        assert_eq!(
            reason("MALFORMED_FUNCTION_CALL"),
            FinishReason::Other("malformed_function_call".into())
        );
    }

    fn refusals(events: &[StreamEvent]) -> Vec<&str> {
        events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Refusal(r) => Some(r.as_str()),
                _ => None,
            })
            .collect()
    }

    /// A blocked prompt has no candidates: a refusal naming the block
    /// reason, with the usage that came with it, whole and streamed.
    #[test]
    fn a_blocked_prompt_is_a_refusal() {
        let blocked = br#"{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH"}]},"usageMetadata":{"promptTokenCount":12,"totalTokenCount":12},"modelVersion":"gemini-2.5-flash"}"#;
        let events = parse_body(blocked).unwrap();
        assert_eq!(
            refusals(&events),
            ["the prompt was blocked (promptFeedback.blockReason SAFETY)"]
        );
        assert_eq!(last_usage(&events).map(|u| u.input_tokens), Some(12));
        assert_eq!(events.last(), Some(&StreamEvent::Done));
        let mut stream = b"data: ".to_vec();
        stream.extend_from_slice(blocked);
        stream.extend_from_slice(b"\r\n\r\n");
        let streamed = decode(&[&stream]).unwrap();
        assert_eq!(refusals(&streamed), refusals(&events));
        assert_eq!(streamed.last(), Some(&StreamEvent::Done));
        // Vertex AI's words for it, when it gives them.
        let worded = br#"{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT","blockReasonMessage":"The prompt contains prohibited content."}}"#;
        assert_eq!(
            refusals(&parse_body(worded).unwrap()),
            [
                "The prompt contains prohibited content. (promptFeedback.blockReason PROHIBITED_CONTENT)"
            ]
        );
    }

    /// An answer stopped by a safety finish after some text
    /// (tests/fixtures/gemini/refusal.sse names its source), at every split;
    /// each blocking finish reason is a refusal.
    #[test]
    fn a_safety_finish_is_a_refusal_at_every_split() {
        let bytes = include_bytes!("../../tests/fixtures/gemini/refusal.sse");
        let whole = decode(&[bytes]).unwrap();
        assert_eq!(text(&whole), "Here is how");
        assert_eq!(
            refusals(&whole),
            ["the answer was blocked (finishReason SAFETY)"]
        );
        assert_eq!(whole.last(), Some(&StreamEvent::Done));
        crate::provider::testing::assert_same_at_every_split(&whole, bytes, decode);
        for reason in [
            "SAFETY",
            "PROHIBITED_CONTENT",
            "BLOCKLIST",
            "SPII",
            "RECITATION",
            "IMAGE_SAFETY",
        ] {
            let body = format!(r#"{{"candidates":[{{"finishReason":"{reason}","index":0}}]}}"#);
            assert_eq!(
                refusals(&parse_body(body.as_bytes()).unwrap()).len(),
                1,
                "{reason}"
            );
        }
        for reason in ["STOP", "MAX_TOKENS", "OTHER", "MALFORMED_FUNCTION_CALL"] {
            let body = format!(
                r#"{{"candidates":[{{"content":{{"parts":[{{"text":"x"}}]}},"finishReason":"{reason}","index":0}}]}}"#
            );
            assert!(
                refusals(&parse_body(body.as_bytes()).unwrap()).is_empty(),
                "{reason}"
            );
        }
    }

    #[test]
    fn error_in_stream_is_typed() {
        let chunk = |code: u16, status: &str, message: &str| {
            format!(
                "data: {{\"error\":{{\"code\":{code},\"message\":\"{message}\",\"status\":\"{status}\"}}}}\r\n\r\n"
            )
        };
        let kind = |code, status, message| {
            decode(&[chunk(code, status, message).as_bytes()])
                .unwrap_err()
                .kind
        };
        assert_eq!(
            kind(
                503,
                "UNAVAILABLE",
                "The model is overloaded. Please try again later."
            ),
            ErrorKind::Overloaded
        );
        assert_eq!(
            kind(
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota)."
            ),
            ErrorKind::RateLimit
        );
        assert_eq!(
            kind(500, "INTERNAL", "An internal error has occurred."),
            ErrorKind::Server
        );
    }

    #[test]
    fn whole_body() {
        let events = parse_body(RESPONSE.as_bytes()).unwrap();
        assert_eq!(
            events,
            vec![
                StreamEvent::ServedModel("gemini-2.5-pro".into()),
                StreamEvent::Reasoning("**Counting**\n\nOne plus one is two.".into()),
                StreamEvent::Delta("1 + 1 = 2.".into()),
                StreamEvent::Finish(FinishReason::Length),
                StreamEvent::Usage(Usage {
                    input_tokens: 8,
                    output_tokens: 52,
                    cached_input_tokens: 0,
                    cache_write_tokens: 0,
                    cache_write_1h_tokens: 0,
                    reasoning_tokens: 45,
                }),
                StreamEvent::Done,
            ]
        );
        assert_eq!(
            parse_body(b"{}").unwrap_err().kind,
            ErrorKind::InvalidResponse
        );
        let in_200 =
            br#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}"#;
        assert_eq!(parse_body(in_200).unwrap_err().kind, ErrorKind::RateLimit);
        // The JSON-array form of a stream.
        let array = br#"[{"candidates":[{"content":{"parts":[{"text":"a"}]}}]},
{"candidates":[{"content":{"parts":[{"text":"b"}]},"finishReason":"STOP"}]}]"#;
        let events = parse_body(array).unwrap();
        assert_eq!(text(&events), "ab");
        assert_eq!(events.last(), Some(&StreamEvent::Done));
    }

    fn error_body(code: u16, status: &str, message: &str) -> Vec<u8> {
        format!(r#"{{"error":{{"code":{code},"message":"{message}","status":"{status}"}}}}"#)
            .into_bytes()
    }

    #[test]
    fn error_bodies() {
        let h = HeaderMap::new();
        let kind =
            |code, status, message| parse_error(code, &h, &error_body(code, status, message)).kind;
        assert_eq!(
            kind(
                400,
                "INVALID_ARGUMENT",
                "The input token count (2100000) exceeds the maximum number of tokens allowed (1048576)."
            ),
            ErrorKind::ContextLength
        );
        assert_eq!(
            kind(
                400,
                "INVALID_ARGUMENT",
                "Request contains an invalid argument."
            ),
            ErrorKind::BadRequest
        );
        assert_eq!(
            kind(
                400,
                "FAILED_PRECONDITION",
                "User location is not supported for the API use."
            ),
            ErrorKind::BadRequest
        );
        assert_eq!(
            kind(
                403,
                "PERMISSION_DENIED",
                "The caller does not have permission"
            ),
            ErrorKind::Auth
        );
        assert_eq!(
            kind(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials."
            ),
            ErrorKind::Auth
        );
        assert_eq!(
            kind(
                404,
                "NOT_FOUND",
                "models/gemini-9 is not found for API version v1beta"
            ),
            ErrorKind::BadRequest
        );
        assert_eq!(
            kind(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota"),
            ErrorKind::RateLimit
        );
        assert_eq!(
            kind(500, "INTERNAL", "An internal error has occurred."),
            ErrorKind::Server
        );
        assert_eq!(
            kind(
                503,
                "UNAVAILABLE",
                "The model is overloaded. Please try again later."
            ),
            ErrorKind::Overloaded
        );
        assert_eq!(
            kind(503, "UNAVAILABLE", "The service is currently unavailable."),
            ErrorKind::Overloaded
        );
        assert_eq!(kind(502, "UNAVAILABLE", "Bad gateway."), ErrorKind::Server);
        assert_eq!(
            kind(
                504,
                "DEADLINE_EXCEEDED",
                "Deadline expired before operation could complete."
            ),
            ErrorKind::Server
        );
        assert_eq!(
            parse_error(502, &h, b"<html>bad gateway</html>").kind,
            ErrorKind::Server
        );

        // A bad key is a 400 INVALID_ARGUMENT, but it is the key that is wrong.
        let bad_key = br#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",
          "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com",
          "metadata":{"service":"generativelanguage.googleapis.com"}}]}}"#;
        let e = parse_error(400, &h, bad_key);
        assert_eq!(e.kind, ErrorKind::Auth);
        assert_eq!(e.status, Some(400));
        assert_eq!(e.message, "API key not valid. Please pass a valid API key.");

        // The same object wrapped in a list.
        let listed =
            br#"[{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}]"#;
        assert_eq!(parse_error(429, &h, listed).kind, ErrorKind::RateLimit);

        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            reqwest::header::HeaderValue::from_static("3"),
        );
        let limited = parse_error(
            429,
            &h,
            &error_body(429, "RESOURCE_EXHAUSTED", "Quota exceeded"),
        );
        assert_eq!(limited.retry_after, Some(std::time::Duration::from_secs(3)));
    }

    fn provider(base_url: &str) -> Endpoint {
        Endpoint {
            name: "gemini".into(),
            kind: KIND,
            base_url: base_url.into(),
            key: None,
            headers: vec![],
            api_version: None,
            continuation: crate::provider::Continuation::None,
            stream_usage: None,
        }
    }

    /// A continuation is a last `model` turn: <https://ai.google.dev/api/caching#Content>
    #[test]
    fn continuation_is_a_last_model_turn() {
        let provider = provider("https://generativelanguage.googleapis.com");
        let request =
            ChatRequest::prompt(Some("Sys"), "Hi", Params::default(), true).continuing("Hello ");
        let call = Call {
            request: &request,
            endpoint: &provider,
            model: "gemini-2.5-flash",
            max_output_tokens: None,
        };
        let body: Value = serde_json::from_slice(&Gemini.build(&call).unwrap().body).unwrap();
        assert_eq!(
            body["contents"],
            json!([{"role": "user", "parts": [{"text": "Hi"}]},
                   {"role": "model", "parts": [{"text": "Hello "}]}])
        );
        assert_eq!(
            body["systemInstruction"],
            json!({"parts": [{"text": "Sys"}]})
        );
    }

    #[test]
    fn request_url_key_and_body() {
        let provider = provider("https://generativelanguage.googleapis.com");
        let key = ApiKey::new("AIza-secret".into());
        let mut params = Params::default();
        params.set("temperature", json!(0.5)).unwrap();
        params.set("top_p", json!(0.9)).unwrap();
        params.set("max_tokens", json!(256)).unwrap();
        params.set("stop", json!("END")).unwrap();
        params.set("seed", json!(42)).unwrap();
        params.set("top_k", json!(40)).unwrap();
        params
            .set("responseMimeType", json!("application/json"))
            .unwrap();
        params
            .set("thinkingConfig", json!({"thinkingBudget": 0}))
            .unwrap();
        params
            .set(
                "safetySettings",
                json!([{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]),
            )
            .unwrap();
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
            model: "models/gemini-2.5-flash",
            max_output_tokens: Some(65_536),
        };
        let req = Gemini.build(&call).unwrap();
        assert_eq!(
            req.url,
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
        assert!(!req.url.contains("key="));
        assert!(!req.url.contains("AIza"));
        assert_eq!(req.headers["x-goog-api-key"], "AIza-secret");
        assert!(req.headers["x-goog-api-key"].is_sensitive());
        assert!(req.headers.get("authorization").is_none());
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            body,
            json!({
                "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
                "systemInstruction": {"parts": [{"text": "Be brief."}]},
                "generationConfig": {
                    "temperature": 0.5,
                    "topP": 0.9,
                    "maxOutputTokens": 256,
                    "stopSequences": ["END"],
                    "seed": 42,
                    "topK": 40,
                    "responseMimeType": "application/json",
                    "thinkingConfig": {"thinkingBudget": 0}
                },
                "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
            })
        );
    }

    #[test]
    fn request_without_stream_or_params() {
        let provider = provider("https://proxy.example/v1beta");
        let request = ChatRequest {
            messages: ChatRequest::prompt(None, "Hi", Params::default(), false).messages,
            ..ChatRequest::default()
        };
        let call = Call {
            request: &request,
            endpoint: &provider,
            model: "gemini 2.5/x",
            max_output_tokens: None,
        };
        let req = Gemini.build(&call).unwrap();
        assert_eq!(
            req.url,
            "https://proxy.example/v1beta/models/gemini%202.5%2Fx:generateContent"
        );
        assert!(req.headers.get("x-goog-api-key").is_none());
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            body,
            json!({"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]})
        );

        assert_eq!(model_path("tunedModels/my-model"), "tunedModels/my-model");
    }

    #[test]
    fn a_generation_config_object_is_merged() {
        let provider = provider("https://generativelanguage.googleapis.com");
        let mut params = Params::default();
        params.set("temperature", json!(1.0)).unwrap();
        params
            .set("generationConfig", json!({"candidate_count": 1, "topK": 3}))
            .unwrap();
        let request = ChatRequest {
            messages: ChatRequest::prompt(None, "Hi", Params::default(), false).messages,
            params,
            ..ChatRequest::default()
        };
        let call = Call {
            request: &request,
            endpoint: &provider,
            model: "gemini-2.5-pro",
            max_output_tokens: None,
        };
        let body: Value = serde_json::from_slice(&Gemini.build(&call).unwrap().body).unwrap();
        assert_eq!(
            body["generationConfig"],
            json!({"temperature": 1.0, "candidateCount": 1, "topK": 3})
        );
        assert!(body.get("candidate_count").is_none());
    }

    /// `--schema`: `responseMimeType` and `responseJsonSchema` inside
    /// `generationConfig` (<https://ai.google.dev/gemini-api/docs/structured-output>);
    /// a `-o` of the same field still wins.
    #[test]
    fn a_schema_is_response_json_schema_in_generation_config() {
        let provider = provider("https://generativelanguage.googleapis.com");
        let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}});
        let mut params = Params::default();
        params.set("max_tokens", json!(50)).unwrap();
        let request = ChatRequest::prompt(None, "Hi", params, true).with_schema(Some(
            std::sync::Arc::new(crate::structured::Schema::new(schema.clone()).unwrap()),
        ));
        let body = |request: &ChatRequest| {
            let call = Call {
                request,
                endpoint: &provider,
                model: "gemini-2.5-flash",
                max_output_tokens: None,
            };
            serde_json::from_slice::<Value>(&Gemini.build(&call).unwrap().body).unwrap()
        };
        assert_eq!(
            body(&request)["generationConfig"],
            json!({"maxOutputTokens": 50, "responseMimeType": "application/json", "responseJsonSchema": schema})
        );
        let mut own = request.clone();
        own.params
            .set("response_mime_type", json!("text/x.enum"))
            .unwrap();
        assert_eq!(
            body(&own)["generationConfig"]["responseMimeType"],
            "text/x.enum"
        );
    }
}

/// Property tests (issue 9): see `provider::fuzz` for what each property means.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::Gemini;
    use crate::provider::fuzz::{
        body_is_total, bytes, config, cuts, error_is_total, headers, json, mutated, soup,
        split_invariant, sse_of, status,
    };

    const STREAM: &[u8] = include_bytes!("../../tests/fixtures/gemini/stream.sse");
    const RESPONSE: &[u8] = include_bytes!("../../tests/fixtures/gemini/response.json");
    const KEYS: &[&str] = &[
        "candidates",
        "content",
        "parts",
        "text",
        "thought",
        "role",
        "finishReason",
        "STOP",
        "MAX_TOKENS",
        "SAFETY",
        "promptFeedback",
        "blockReason",
        "blockReasonMessage",
        "finishMessage",
        "SAFETY",
        "usageMetadata",
        "promptTokenCount",
        "candidatesTokenCount",
        "cachedContentTokenCount",
        "thoughtsTokenCount",
        "toolUsePromptTokenCount",
        "totalTokenCount",
        "modelVersion",
        "error",
        "code",
        "message",
        "status",
        "details",
        "reason",
        "RESOURCE_EXHAUSTED",
        "API_KEY_INVALID",
    ];

    proptest! {
        #![proptest_config(config(512))]

        #[test]
        fn decoder_on_any_bytes(b in bytes(), c in cuts()) {
            split_invariant(&Gemini, &b, &c)?;
        }

        #[test]
        fn decoder_on_token_soup(b in soup(KEYS), c in cuts()) {
            split_invariant(&Gemini, &b, &c)?;
        }

        #[test]
        fn decoder_on_chunks_of_any_shape(b in sse_of(&[], KEYS), c in cuts()) {
            split_invariant(&Gemini, &b, &c)?;
        }

        #[test]
        fn decoder_on_a_damaged_fixture(b in mutated(STREAM), c in cuts()) {
            split_invariant(&Gemini, &b, &c)?;
        }

        #[test]
        fn body_parser_is_total(v in json(KEYS), b in bytes(), m in mutated(RESPONSE)) {
            body_is_total(&Gemini, v.to_string().as_bytes())?;
            // A JSON array is the stream sent without `alt=sse`.
            body_is_total(&Gemini, format!("[{v}]").as_bytes())?;
            body_is_total(&Gemini, &b)?;
            body_is_total(&Gemini, &m)?;
        }

        /// Token counts are the server's numbers: any u64 at all.
        #[test]
        fn any_token_counts(counts in prop::array::uniform5(prop_oneof![any::<u64>(), Just(u64::MAX)])) {
            let [prompt, cached, candidates, thoughts, tool] = counts;
            let chunk = format!(
                r#"{{"candidates":[{{"content":{{"parts":[{{"text":"x"}}]}},"finishReason":"STOP"}}],"usageMetadata":{{"promptTokenCount":{prompt},"cachedContentTokenCount":{cached},"candidatesTokenCount":{candidates},"thoughtsTokenCount":{thoughts},"toolUsePromptTokenCount":{tool}}}}}"#
            );
            split_invariant(&Gemini, format!("data: {chunk}\r\n\r\n").as_bytes(), &[])?;
            body_is_total(&Gemini, chunk.as_bytes())?;
        }

        #[test]
        fn error_parser_is_total(s in status(), h in headers(), v in json(KEYS), b in bytes()) {
            error_is_total(&Gemini, s, &h, v.to_string().as_bytes())?;
            error_is_total(&Gemini, s, &h, &b)?;
        }
    }
}
