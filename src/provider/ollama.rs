//! Ollama's native chat API: `POST {base_url}/api/chat`, streamed as
//! newline-delimited JSON whose last object says `"done": true`.
//!
//! - Chat endpoint, streaming and final statistics: <https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion>
//! - Current reference (`think`, `message.thinking`): <https://docs.ollama.com/api/chat>
//! - Thinking: <https://docs.ollama.com/capabilities/thinking>
//! - `options` (Modelfile parameters): <https://github.com/ollama/ollama/blob/main/docs/modelfile.md#valid-parameters-and-values>
//! - Structured output (`format` holding a JSON Schema): <https://docs.ollama.com/capabilities/structured-outputs>,
//!   <https://github.com/ollama/ollama/blob/main/docs/api.md#request-structured-outputs>
//! - Images: a message's `images`, a list of base64 strings (the chat
//!   endpoint's "Chat request (with images)"); the API takes no other files.
//!
//! A local server needs no key. When the profile gives one anyway it is sent
//! as `Authorization: Bearer`, which hosted Ollama-compatible servers expect.
//! (Ollama's OpenAI-compatible `/v1` endpoint is `kind = "openai"`.)

use reqwest::header::{AUTHORIZATION, HeaderMap};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::{ErrorKind, ProviderError, kind_from_message, retry_after};
use super::kind::{
    BaseUrlVar, Continues, EnvProvider, KindSpec, ProviderKind, Tokenizer, whole_prefix,
};
use super::media::MediaSpec;
use super::types::{self, FinishReason, Media, ParamNames, StreamEvent, Usage};
use super::{Adapter, Call, HttpRequest, StreamDecoder, ndjson};

/// Extra parameters that are top-level request fields; every other extra
/// parameter is a model option and goes into `options`.
const TOP_LEVEL_FIELDS: [&str; 3] = ["format", "keep_alive", "think"];

/// Ollama's address (`host:port` or a URL): the default base URL when set, and
/// what puts Ollama in the profile built from the environment.
pub const HOST_VAR: &str = "OLLAMA_HOST";

/// The `ollama` kind.
pub const KIND: ProviderKind = ProviderKind(&KindSpec {
    name: "ollama",
    adapter: &Ollama,
    default_base_url: Some("http://127.0.0.1:11434"),
    base_url_var: Some(BaseUrlVar {
        var: HOST_VAR,
        to_url: base_url_of_host,
    }),
    base_url_hint: None,
    key_var: None,
    local: true,
    model_is_deployment: false,
    litellm_provider: "ollama",
    litellm_by_name: false,
    plain_model: |model| model.strip_suffix(":latest"),
    tokenizer: Tokenizer::Approximate,
    from_env: &[EnvProvider {
        name: "ollama",
        vars: &[HOST_VAR],
        var_is_key: false,
        base_url: None,
        aliases: &[("local", "llama3.2")],
        listed: 4,
        chain: 4,
    }],
    continues: Continues::Always,
    prefix_sent: whole_prefix,
    // Ollama passes it to llama.cpp, which takes any temperature of at least 0.
    temperature_max: None,
    model_continues: |_| true,
    media: MEDIA,
});

/// What `/api/chat` takes: images only, with no published size limit (the
/// model's context window bounds them). Ollama publishes no token rule; each
/// model's vision encoder decides, and the count of `LLaVA` 1.5 stands in
/// (576 tokens, one per 14 px patch of a 336 px image:
/// <https://arxiv.org/abs/2310.03744>).
pub const MEDIA: MediaSpec = MediaSpec {
    images: true,
    pdfs: false,
    max_image: None,
    max_images: None,
    max_pdfs: None,
    max_request: None,
    image_tokens: |_| 576,
    pdf_page_tokens: 0,
};

/// `OLLAMA_HOST` may be `host:port`, `http://host:port` or `0.0.0.0`.
pub fn base_url_of_host(host: &str) -> String {
    let host = host.trim().trim_end_matches('/');
    let with_scheme = if host.starts_with("http://") || host.starts_with("https://") {
        host.to_owned()
    } else {
        format!("http://{host}")
    };
    let after_scheme = with_scheme.split_once("://").map_or("", |(_, rest)| rest);
    if after_scheme.contains(':') {
        with_scheme
    } else {
        format!("{with_scheme}:11434")
    }
}

pub struct Ollama;

impl Adapter for Ollama {
    fn build(&self, call: &Call<'_>) -> Result<HttpRequest, ProviderError> {
        let mut headers = super::json_headers();
        if let Some(key) = &call.endpoint.key {
            headers.insert(
                AUTHORIZATION,
                super::secret_header(&format!("Bearer {}", key.expose()))?,
            );
        }
        super::extra_headers(&mut headers, call.endpoint)?;
        // The plan never sends Ollama a PDF; a request that carries one
        // anyway is refused here rather than sent without it.
        let pdf = call
            .request
            .messages
            .iter()
            .flat_map(types::Message::attachments)
            .find(|a| a.media == Media::Pdf);
        if let Some(pdf) = pdf {
            return Err(ProviderError::new(
                ErrorKind::BadRequest,
                format!("ollama's API takes no PDF documents ({})", pdf.name),
            ));
        }
        Ok(HttpRequest {
            url: format!("{}/api/chat", call.endpoint.base_url),
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

/// The JSON body of a chat request.
fn body(call: &Call<'_>) -> Vec<u8> {
    let req = call.request;
    let p = &req.params;
    // A last assistant message is continued, not answered: Ollama renders
    // the chat template without a new generation prompt after it.
    // <https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion>
    let messages: Vec<Value> = req
        .messages
        .iter()
        .map(|m| {
            let mut message = json!({"role": m.role.as_str(), "content": m.joined()});
            let images: Vec<String> = m.attachments().map(|a| super::base64(&a.bytes)).collect();
            if !images.is_empty() {
                message["images"] = json!(images);
            }
            message
        })
        .collect();

    let mut options = Map::new();
    p.write_typed(
        &ParamNames {
            temperature: "temperature",
            top_p: "top_p",
            max_tokens: Some("num_predict"),
            stop: "stop",
            seed: Some("seed"),
        },
        &mut options,
    );

    let mut body = Map::new();
    body.insert("model".into(), json!(call.model));
    body.insert("messages".into(), Value::Array(messages));
    // Ollama streams unless told otherwise: always say which.
    body.insert("stream".into(), json!(req.stream));
    // `--schema`: `format` takes a JSON Schema, and Ollama holds the model
    // to it as it writes.
    if let Some(schema) = &req.schema {
        body.insert("format".into(), schema.wire().clone());
    }
    // Extra parameters: `format`, `keep_alive` and `think` are request fields;
    // a whole `options` object is merged; anything else (`num_ctx`, `top_k`,
    // `repeat_penalty`, …) is a model option.
    for (k, v) in &p.extra {
        if TOP_LEVEL_FIELDS.contains(&k.as_str()) {
            body.insert(k.clone(), v.clone());
        } else if let ("options", Value::Object(fields)) = (k.as_str(), v) {
            for (field, value) in fields {
                options.insert(field.clone(), value.clone());
            }
        } else {
            options.insert(k.clone(), v.clone());
        }
    }
    if !options.is_empty() {
        body.insert("options".into(), Value::Object(options));
    }
    serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
}

/// One line of the stream, or the whole non-streamed answer.
#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    done_reason: Option<String>,
    /// Missing when the whole prompt came from Ollama's prompt cache.
    #[serde(default)]
    prompt_eval_count: Option<u64>,
    #[serde(default)]
    eval_count: Option<u64>,
    /// `{"error":"…"}`, as a line of the stream or as an error body.
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
    /// Present when the request asked for `think`.
    #[serde(default)]
    thinking: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

fn finish_reason(s: &str) -> FinishReason {
    match s {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// The kind of an error Ollama reported with `status` (`None`: inside a stream).
fn classify(status: Option<u16>, message: &str) -> ErrorKind {
    match status.map(ErrorKind::from_status) {
        Some(ErrorKind::BadRequest) => kind_from_message(message).unwrap_or(ErrorKind::BadRequest),
        Some(kind) => kind,
        None => kind_from_message(message).unwrap_or(ErrorKind::Server),
    }
}

fn parse_error(status: u16, headers: &HeaderMap, body: &[u8]) -> ProviderError {
    let message = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) if !b.error.is_empty() => b.error,
        _ => super::body_text(status, body),
    };
    // Older servers say only "model 'x' not found"; newer ones add the hint.
    let message = if status == 404 && message.contains("not found") && !message.contains("pull") {
        format!("{message}; pull it first with `ollama pull`")
    } else {
        message
    };
    ProviderError::http(status, classify(Some(status), &message), message)
        .with_retry_after(retry_after(headers))
}

/// A whole answer: one object (`"stream": false`), or, from a server that
/// streamed anyway, NDJSON lines; either way it must end with `"done": true`.
fn parse_body(body: &[u8]) -> Result<Vec<StreamEvent>, ProviderError> {
    let Decoder {
        mut framer,
        mut state,
    } = Decoder::default();
    let mut out = Vec::new();
    if let Ok(chunk) = serde_json::from_slice::<Chunk>(body) {
        state.on_chunk(chunk, &mut out)?;
    } else {
        let mut on_line = |l: &[u8]| state.on_line(l, &mut out);
        framer.feed(body, &mut on_line)?;
        // Unlike a stream's, a body's last line was not cut: a bad one is malformed.
        framer.finish(&mut on_line)?;
    }
    if !state.done {
        return Err(ProviderError::invalid(format!(
            "the answer has no final `\"done\": true` object: {}",
            super::snippet(body)
        )));
    }
    Ok(out)
}

/// Streaming decoder: one JSON object per line, the last with `"done": true`.
#[derive(Default)]
struct Decoder {
    framer: ndjson::Framer,
    state: LineState,
}

#[derive(Default)]
struct LineState {
    served_model_sent: bool,
    done: bool,
}

impl LineState {
    fn on_line(&mut self, line: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), ProviderError> {
        if self.done {
            return Ok(());
        }
        let chunk: Chunk = super::from_json("stream line", line)?;
        self.on_chunk(chunk, out)
    }

    fn on_chunk(&mut self, chunk: Chunk, out: &mut Vec<StreamEvent>) -> Result<(), ProviderError> {
        if let Some(message) = chunk.error {
            return Err(ProviderError::new(classify(None, &message), message));
        }
        if !self.served_model_sent {
            if let Some(model) = chunk.model.filter(|m| !m.is_empty()) {
                out.push(StreamEvent::ServedModel(model));
                self.served_model_sent = true;
            }
        }
        if let Some(m) = chunk.message {
            if let Some(thinking) = m.thinking.filter(|t| !t.is_empty()) {
                out.push(StreamEvent::Reasoning(thinking));
            }
            if let Some(text) = m.content.filter(|t| !t.is_empty()) {
                out.push(StreamEvent::Delta(text));
            }
        }
        if chunk.done {
            out.push(StreamEvent::Usage(Usage {
                input_tokens: chunk.prompt_eval_count.unwrap_or(0),
                // Thinking tokens are part of `eval_count`; no separate figure.
                output_tokens: chunk.eval_count.unwrap_or(0),
                ..Usage::default()
            }));
            // Servers before `done_reason` existed only ever stopped normally.
            out.push(StreamEvent::Finish(finish_reason(
                chunk.done_reason.as_deref().unwrap_or("stop"),
            )));
            self.done = true;
            out.push(StreamEvent::Done);
        }
        Ok(())
    }
}

impl StreamDecoder for Decoder {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), ProviderError> {
        let state = &mut self.state;
        self.framer.feed(bytes, &mut |l| state.on_line(l, out))
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), ProviderError> {
        // No implied end: without the `done` object the answer is incomplete.
        let state = &mut self.state;
        self.framer
            .finish(&mut |l| state.on_line(l, out))
            .map_err(super::cut_short)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Images go as the message's `images`, base64 strings
    /// (tests/fixtures/ollama/attachments.json names the reference); a PDF is
    /// refused before anything is sent.
    #[test]
    fn images_are_base64_strings_and_pdfs_are_refused() {
        use crate::provider::testing::{attachment_request, body_json, request_fixture};
        let expected =
            request_fixture(include_str!("../../tests/fixtures/ollama/attachments.json"));
        let body = body_json(KIND, &attachment_request(false)).unwrap();
        assert_eq!(body["messages"], expected["messages"]);
        let refused = body_json(KIND, &attachment_request(true)).unwrap_err();
        assert_eq!(refused.kind, ErrorKind::BadRequest);
        assert!(
            refused.message.contains("report.pdf"),
            "{}",
            refused.message
        );
    }
    use crate::provider::types::{ChatRequest, Params};
    use crate::provider::{ApiKey, Endpoint};

    /// A streamed answer from a thinking model (`"think": true`).
    const STREAM: &str = include_str!("../../tests/fixtures/ollama/stream.ndjson");
    /// A non-streamed answer cut by `num_predict`.
    const CHAT: &str = include_str!("../../tests/fixtures/ollama/chat.json");

    fn decode(chunks: &[&[u8]]) -> Result<Vec<StreamEvent>, ProviderError> {
        crate::provider::testing::decode(&mut Decoder::default(), chunks)
    }

    use crate::provider::testing::text;

    #[test]
    fn ollama_host_forms() {
        assert_eq!(base_url_of_host("127.0.0.1"), "http://127.0.0.1:11434");
        assert_eq!(base_url_of_host("localhost:9999"), "http://localhost:9999");
        assert_eq!(base_url_of_host("https://box:443/"), "https://box:443");
    }

    #[test]
    fn decodes_fixture_whole() {
        let events = decode(&[STREAM.as_bytes()]).unwrap();
        assert_eq!(
            events,
            vec![
                StreamEvent::ServedModel("qwen3:8b".into()),
                StreamEvent::Reasoning("The user says hi;".into()),
                StreamEvent::Reasoning(" greet them back.".into()),
                StreamEvent::Delta("Hello".into()),
                StreamEvent::Delta("! How can I help?".into()),
                StreamEvent::Usage(Usage {
                    input_tokens: 26,
                    output_tokens: 282,
                    ..Usage::default()
                }),
                StreamEvent::Finish(FinishReason::Stop),
                StreamEvent::Done,
            ]
        );
    }

    #[test]
    fn decodes_fixture_at_every_split() {
        let bytes = STREAM.as_bytes();
        let whole = decode(&[bytes]).unwrap();
        crate::provider::testing::assert_same_at_every_split(&whole, bytes, decode);
        // The last line needs no newline.
        assert_eq!(decode(&[STREAM.trim_end().as_bytes()]).unwrap(), whole);
    }

    #[test]
    fn cut_stream_has_no_done() {
        let last = STREAM.trim_end().rfind('\n').unwrap() + 1;
        let events = decode(&[&STREAM.as_bytes()[..last]]).unwrap();
        assert_eq!(text(&events), "Hello! How can I help?");
        assert!(!events.contains(&StreamEvent::Done));
        // Cut anywhere before the final object is whole: never Done, and a
        // line cut in half is `incomplete`.
        let end = STREAM.trim_end().len() - 1;
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
    fn error_line_is_typed() {
        let stream = b"{\"model\":\"llama3.2\",\"created_at\":\"2024-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n";
        let mut d = Decoder::default();
        let mut out = Vec::new();
        let err = d.feed(stream, &mut out).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Server);
        assert!(err.message.contains("unexpected EOF"));
        assert_eq!(text(&out), "Hi");
        let ctx = decode(&[b"{\"error\":\"the input length exceeds the context length\"}\n"])
            .unwrap_err();
        assert_eq!(ctx.kind, ErrorKind::ContextLength);
    }

    #[test]
    fn finish_reasons() {
        let reason = |line: &str| {
            decode(&[line.as_bytes()])
                .unwrap()
                .into_iter()
                .find_map(|e| match e {
                    StreamEvent::Finish(f) => Some(f),
                    _ => None,
                })
                .unwrap()
        };
        assert_eq!(
            reason(r#"{"model":"m","done":true,"done_reason":"length"}"#),
            FinishReason::Length
        );
        assert_eq!(
            reason(r#"{"model":"m","done":true,"done_reason":"unload"}"#),
            FinishReason::Other("unload".into())
        );
        assert_eq!(reason(r#"{"model":"m","done":true}"#), FinishReason::Stop);
    }

    #[test]
    fn whole_body() {
        let events = parse_body(CHAT.as_bytes()).unwrap();
        assert_eq!(
            events,
            vec![
                StreamEvent::ServedModel("llama3.2".into()),
                StreamEvent::Delta("Hello! How are you today?".into()),
                StreamEvent::Usage(Usage {
                    input_tokens: 26,
                    output_tokens: 298,
                    ..Usage::default()
                }),
                StreamEvent::Finish(FinishReason::Length),
                StreamEvent::Done,
            ]
        );
        // A server that streamed although asked not to.
        assert_eq!(
            text(&parse_body(STREAM.as_bytes()).unwrap()),
            "Hello! How can I help?"
        );
        assert_eq!(
            parse_body(br#"{"model":"m","done":false}"#)
                .unwrap_err()
                .kind,
            ErrorKind::InvalidResponse
        );
        assert_eq!(
            parse_body(br#"{"error":"too many requests"}"#)
                .unwrap_err()
                .kind,
            ErrorKind::RateLimit
        );
        assert_eq!(
            parse_body(br#"{"model":"m","#).unwrap_err().kind,
            ErrorKind::InvalidResponse
        );
    }

    #[test]
    fn error_bodies() {
        let h = HeaderMap::new();
        let not_found = parse_error(
            404,
            &h,
            br#"{"error":"model \"llama9\" not found, try pulling it first"}"#,
        );
        assert_eq!(not_found.kind, ErrorKind::BadRequest);
        assert_eq!(not_found.status, Some(404));
        assert_eq!(
            not_found.message,
            "model \"llama9\" not found, try pulling it first"
        );
        let old = parse_error(404, &h, br#"{"error":"model 'llama9' not found"}"#);
        assert!(old.message.contains("ollama pull"), "{}", old.message);

        let kind = |status, body: &[u8]| parse_error(status, &h, body).kind;
        assert_eq!(
            kind(
                400,
                br#"{"error":"the input length exceeds the context length"}"#
            ),
            ErrorKind::ContextLength
        );
        assert_eq!(
            kind(400, br#"{"error":"invalid options: foo"}"#),
            ErrorKind::BadRequest
        );
        assert_eq!(kind(401, br#"{"error":"unauthorized"}"#), ErrorKind::Auth);
        assert_eq!(
            kind(429, br#"{"error":"too many requests"}"#),
            ErrorKind::RateLimit
        );
        assert_eq!(
            kind(
                500,
                br#"{"error":"llama runner process has terminated: signal: killed"}"#
            ),
            ErrorKind::Server
        );
        assert_eq!(
            kind(
                503,
                br#"{"error":"server busy, please try again.  maximum pending requests exceeded"}"#
            ),
            ErrorKind::Server
        );
        assert_eq!(kind(502, b"<html>bad gateway</html>"), ErrorKind::Server);
        assert_eq!(
            parse_error(500, &h, b"").message,
            "HTTP 500 with an empty body"
        );
    }

    fn provider() -> Endpoint {
        Endpoint {
            name: "ollama".into(),
            kind: KIND,
            base_url: "http://127.0.0.1:11434".into(),
            key: None,
            headers: vec![],
            api_version: None,
            continuation: crate::provider::Continuation::None,
            stream_usage: None,
        }
    }

    #[test]
    fn request_url_and_body() {
        let provider = provider();
        let mut params = Params::default();
        params.set("temperature", json!(0.1)).unwrap();
        params.set("top_p", json!(0.8)).unwrap();
        params.set("max_tokens", json!(128)).unwrap();
        params.set("stop", json!(["\n\n"])).unwrap();
        params.set("seed", json!(3)).unwrap();
        params.set("num_ctx", json!(8192)).unwrap();
        params.set("think", json!(true)).unwrap();
        params.set("keep_alive", json!("10m")).unwrap();
        params.set("format", json!("json")).unwrap();
        params.set("options", json!({"top_k": 20})).unwrap();
        let request = ChatRequest {
            messages: ChatRequest::prompt(Some("Be brief."), "Hi", Params::default(), false)
                .messages,
            params,
            stream: true,
            ..ChatRequest::default()
        };
        let call = Call {
            request: &request,
            endpoint: &provider,
            model: "qwen3:8b",
            max_output_tokens: Some(4096),
        };
        let req = Ollama.build(&call).unwrap();
        assert_eq!(req.url, "http://127.0.0.1:11434/api/chat");
        assert!(req.headers.get("authorization").is_none());
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "qwen3:8b",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Hi"}
                ],
                "stream": true,
                "think": true,
                "keep_alive": "10m",
                "format": "json",
                "options": {
                    "temperature": 0.1,
                    "top_p": 0.8,
                    "num_predict": 128,
                    "stop": ["\n\n"],
                    "seed": 3,
                    "num_ctx": 8192,
                    "top_k": 20
                }
            })
        );
    }

    /// A continuation is a last assistant message:
    /// <https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion>
    #[test]
    fn continuation_is_a_last_assistant_message() {
        let provider = provider();
        let request = ChatRequest::prompt(None, "Hi", Params::default(), true).continuing("Hello ");
        let call = Call {
            request: &request,
            endpoint: &provider,
            model: "llama3.2",
            max_output_tokens: None,
        };
        let body: Value = serde_json::from_slice(&Ollama.build(&call).unwrap().body).unwrap();
        assert_eq!(
            body["messages"],
            json!([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello "}])
        );
    }

    #[test]
    fn stream_false_is_explicit_and_a_key_is_a_bearer() {
        let provider = provider();
        let key = ApiKey::new("hosted-secret".into());
        let request = ChatRequest {
            messages: ChatRequest::prompt(None, "Hi", Params::default(), false).messages,
            ..ChatRequest::default()
        };
        let call = Call {
            request: &request,
            endpoint: &Endpoint {
                key: Some(key.clone()),
                ..provider.clone()
            },
            model: "llama3.2",
            max_output_tokens: None,
        };
        let req = Ollama.build(&call).unwrap();
        assert_eq!(req.headers["authorization"], "Bearer hosted-secret");
        assert!(req.headers["authorization"].is_sensitive());
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            body,
            json!({"model": "llama3.2", "messages": [{"role": "user", "content": "Hi"}], "stream": false})
        );
    }

    /// `--schema` is `format` holding the schema
    /// (<https://github.com/ollama/ollama/blob/main/docs/api.md#request-structured-outputs>).
    #[test]
    fn a_schema_is_the_format() {
        let schema =
            json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]});
        let request = ChatRequest::prompt(None, "Hi", Params::default(), true).with_schema(Some(
            std::sync::Arc::new(crate::structured::Schema::new(schema.clone()).unwrap()),
        ));
        let body = crate::provider::testing::body_json(KIND, &request).unwrap();
        assert_eq!(body["format"], schema);
        assert!(body.get("options").is_none());
    }
}

/// Property tests (issue 9): see `provider::fuzz` for what each property means.
#[cfg(test)]
mod fuzz {
    use std::fmt::Write as _;

    use proptest::prelude::*;

    use super::Ollama;
    use crate::provider::fuzz::{
        body_is_total, bytes, config, cuts, error_is_total, headers, json, mutated, soup,
        split_invariant, status,
    };

    const STREAM: &[u8] = include_bytes!("../../tests/fixtures/ollama/stream.ndjson");
    const CHAT: &[u8] = include_bytes!("../../tests/fixtures/ollama/chat.json");
    const KEYS: &[&str] = &[
        "model",
        "created_at",
        "message",
        "role",
        "content",
        "thinking",
        "done",
        "done_reason",
        "stop",
        "length",
        "prompt_eval_count",
        "eval_count",
        "total_duration",
        "error",
    ];

    /// NDJSON: one JSON document per line.
    fn lines() -> impl Strategy<Value = Vec<u8>> {
        let end = prop::sample::select(&["\n", "\r\n", "\n\n"][..]);
        prop::collection::vec((json(KEYS), end), 0..12).prop_map(|lines| {
            let mut text = String::new();
            for (v, end) in &lines {
                let _ = write!(text, "{v}{end}");
            }
            text.into_bytes()
        })
    }

    proptest! {
        #![proptest_config(config(512))]

        #[test]
        fn decoder_on_any_bytes(b in bytes(), c in cuts()) {
            split_invariant(&Ollama, &b, &c)?;
        }

        #[test]
        fn decoder_on_token_soup(b in soup(KEYS), c in cuts()) {
            split_invariant(&Ollama, &b, &c)?;
        }

        #[test]
        fn decoder_on_lines_of_any_shape(b in lines(), c in cuts()) {
            split_invariant(&Ollama, &b, &c)?;
        }

        #[test]
        fn decoder_on_a_damaged_fixture(b in mutated(STREAM), c in cuts()) {
            split_invariant(&Ollama, &b, &c)?;
        }

        #[test]
        fn body_parser_is_total(v in json(KEYS), l in lines(), b in bytes(), m in mutated(CHAT)) {
            body_is_total(&Ollama, v.to_string().as_bytes())?;
            body_is_total(&Ollama, &l)?;
            body_is_total(&Ollama, &b)?;
            body_is_total(&Ollama, &m)?;
        }

        #[test]
        fn error_parser_is_total(s in status(), h in headers(), v in json(KEYS), b in bytes()) {
            error_is_total(&Ollama, s, &h, v.to_string().as_bytes())?;
            error_is_total(&Ollama, s, &h, &b)?;
        }
    }
}
