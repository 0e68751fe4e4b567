//! Provider wire formats: which provider a request is addressed to, and the
//! exact bytes that provider would send back (bodies, stream events, errors).
//!
//! JSON is written by hand, in the key order the real APIs use, straight into
//! the output buffer: no intermediate `Value`s, no allocation per event.

use std::fmt;
use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::Decline;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    OpenAi,
    Anthropic,
    Gemini,
    Ollama,
}

/// What a request asks for, read from its path and body.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub wire: Wire,
    pub stream: bool,
    /// The requested model (body `model`, the Azure deployment or the Gemini path model).
    pub model: String,
    /// `/fail/{status}/...`: answer this status whatever the script says.
    pub fail: Option<u16>,
    /// `/strict/...`: a server that refuses the fields it does not document,
    /// as Mistral's does `stream_options` (HTTP 422).
    pub strict: bool,
    /// `/typed/...`: an OpenAI-compatible server that sends `content` as a list
    /// of typed parts, `{"type":"text"}` and `{"type":"thinking"}`, as
    /// Mistral's reasoning models do (<https://docs.mistral.ai/capabilities/reasoning/>).
    pub typed: bool,
    /// OpenAI `stream_options.include_usage`: only then is a usage chunk sent.
    pub include_usage: bool,
    /// Gemini `streamGenerateContent` without `alt=sse` streams one JSON array.
    pub json_array: bool,
    /// Anthropic `tool_choice: {"type": "tool", "name": …}`: the answer is
    /// the use of that tool, its input the answer's text.
    pub tool: Option<String>,
}

pub(crate) enum RouteError {
    /// No provider endpoint at this path.
    NotFound,
    /// A provider endpoint, but the body is not a JSON object: the provider's 400.
    BadBody(Route),
}

pub(crate) fn route(method: &str, target: &str, body: &[u8]) -> Result<Route, RouteError> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (fail, path) = strip_fail(path);
    let (strict, path) = strip_flag(path, "/strict");
    let (typed, path) = strip_flag(path, "/typed");
    if method != "POST" {
        return Err(RouteError::NotFound);
    }
    let json: Option<Value> = serde_json::from_slice(body).ok().filter(Value::is_object);
    let field = |name: &str| json.as_ref().and_then(|j| j.get(name));
    let body_model = field("model").and_then(Value::as_str).unwrap_or("");
    let stream_flag = field("stream").and_then(Value::as_bool);

    let mut route = Route {
        wire: Wire::OpenAi,
        stream: false,
        model: body_model.to_string(),
        fail,
        strict,
        typed,
        include_usage: false,
        json_array: false,
        tool: None,
    };
    if path.ends_with("/chat/completions") {
        route.stream = stream_flag == Some(true);
        route.include_usage = field("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            == Some(true);
        // Azure names the model by deployment in the path and need not repeat it in the body.
        if route.model.is_empty() {
            if let Some((_, rest)) = path.split_once("/deployments/") {
                route.model = rest.split('/').next().unwrap_or("").to_string();
            }
        }
    } else if path.ends_with("/v1/messages") {
        route.wire = Wire::Anthropic;
        route.stream = stream_flag == Some(true);
        route.tool = field("tool_choice")
            .filter(|c| c.get("type").and_then(Value::as_str) == Some("tool"))
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned);
    } else if let Some((model, action)) = gemini_model_action(path) {
        route.wire = Wire::Gemini;
        route.model = model.to_string();
        route.stream = action == "streamGenerateContent";
        route.json_array = route.stream && !query.split('&').any(|kv| kv == "alt=sse");
    } else if path.ends_with("/api/chat") {
        route.wire = Wire::Ollama;
        // Ollama streams unless told not to.
        route.stream = stream_flag != Some(false);
    } else {
        return Err(RouteError::NotFound);
    }
    if json.is_none() && route.fail.is_none() {
        return Err(RouteError::BadBody(route));
    }
    Ok(route)
}

/// `/strict/v1/…` → (true, "/v1/…") for `flag` "/strict".
fn strip_flag<'a>(path: &'a str, flag: &str) -> (bool, &'a str) {
    match path.strip_prefix(flag) {
        Some(rest) if rest.starts_with('/') => (true, rest),
        _ => (false, path),
    }
}

/// `/fail/503/v1/chat/completions` → (Some(503), "/v1/chat/completions").
fn strip_fail(path: &str) -> (Option<u16>, &str) {
    if let Some(rest) = path.strip_prefix("/fail/") {
        let code = rest.split('/').next().unwrap_or(rest);
        if let Ok(status @ 100..=999) = code.parse::<u16>() {
            return (Some(status), &rest[code.len()..]);
        }
    }
    (None, path)
}

/// `/v1beta/models/gemini-2.5-flash:streamGenerateContent` → ("gemini-2.5-flash", "streamGenerateContent").
fn gemini_model_action(path: &str) -> Option<(&str, &str)> {
    let (_, rest) = path.split_once("/models/")?;
    let (model, action) = rest.split_once(':')?;
    matches!(action, "generateContent" | "streamGenerateContent").then_some((model, action))
}

/// Token counts as the provider reports them; see `Answer` for the meaning of each.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    pub input: u64,
    pub output: u64,
    pub cached: u64,
    pub reasoning: u64,
    pub cache_creation: u64,
    pub cache_creation_1h: u64,
    pub cost: Option<f64>,
}

/// Writes a string as a JSON string literal (quotes included) without allocating.
pub(crate) struct Json<'a>(pub &'a str);

impl fmt::Display for Json<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        write_escaped(f, self.0)?;
        f.write_str("\"")
    }
}

/// The inside of a JSON string literal: `write_escaped` twice in a row is the
/// escaped concatenation, which the non-streamed bodies use for `repeat`.
fn write_escaped(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        f.write_str(&s[start..i])?;
        if escape.is_empty() {
            write!(f, "\\u{b:04x}")?;
        } else {
            f.write_str(escape)?;
        }
        start = i + 1;
    }
    f.write_str(&s[start..])
}

struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0)
    }
}

/// A stream body under construction: events framed for the connection
/// (one HTTP chunk per event, or raw bytes for a close-delimited body), with
/// the moments at which each run of bytes is due.
pub(crate) struct Events {
    pub buf: Vec<u8>,
    scratch: Vec<u8>,
    chunked: bool,
    count: usize,
    /// (wait before writing, end offset in `buf`); consecutive events with no
    /// wait are merged so a zero-delay stream goes out in a single write.
    pub segments: Vec<(Duration, usize)>,
}

impl Events {
    pub fn new(chunked: bool, capacity: usize) -> Self {
        Events {
            buf: Vec::with_capacity(capacity),
            scratch: Vec::with_capacity(512),
            chunked,
            count: 0,
            segments: Vec::new(),
        }
    }

    /// Appends one event, written by `write` into a reused scratch buffer.
    fn push(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        self.scratch.clear();
        write(&mut self.scratch);
        if self.scratch.is_empty() {
            return; // an empty chunk would read as the end of the body
        }
        if self.chunked {
            let _ = write!(self.buf, "{:x}\r\n", self.scratch.len());
            self.buf.extend_from_slice(&self.scratch);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.buf.extend_from_slice(&self.scratch);
        }
        self.count += 1;
    }

    /// Everything written so far is due `wait` after the previous mark.
    pub fn mark(&mut self, wait: Duration) {
        let end = self.buf.len();
        match self.segments.last_mut() {
            Some(last) if wait.is_zero() => last.1 = end,
            _ => self.segments.push((wait, end)),
        }
    }

    /// Ends a chunked body properly (the zero-length chunk).
    pub fn finish(&mut self) {
        if self.chunked {
            self.buf.extend_from_slice(b"0\r\n\r\n");
        }
    }
}

/// The per-response constants of one provider's answer, with the fixed parts
/// of a text event pre-formatted so each event is prefix + text + suffix.
pub(crate) struct Fmt {
    wire: Wire,
    model: String,
    id: u64,
    created: u64,
    created_at: String,
    include_usage: bool,
    json_array: bool,
    /// `Route::typed`: content as a list of typed parts.
    typed: bool,
    text_prefix: Vec<u8>,
    text_suffix: Vec<u8>,
    /// Anthropic: the forced tool whose use is the answer.
    tool: Option<String>,
    /// Ollama reports durations in nanoseconds: (total, prompt eval, eval).
    durations: (u128, u128, u128),
}

impl Fmt {
    pub fn new(
        route: &Route,
        model: &str,
        id: u64,
        planned: (Duration, Duration),
        usage: &Usage,
    ) -> Fmt {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let (first, rest) = planned;
        let mut fmt = Fmt {
            wire: route.wire,
            model: model.to_string(),
            id,
            created: now.as_secs(),
            created_at: rfc3339(now),
            include_usage: route.include_usage,
            json_array: route.json_array,
            typed: route.typed && route.wire == Wire::OpenAi,
            text_prefix: Vec::new(),
            text_suffix: Vec::new(),
            tool: route.tool.clone().filter(|_| route.wire == Wire::Anthropic),
            durations: (
                (first + rest).as_nanos() + 1_500_000,
                first.as_nanos() + 500_000,
                rest.as_nanos() + 1_000_000,
            ),
        };
        let (mut prefix, mut suffix) = (Vec::new(), Vec::new());
        let m = Json(model);
        match route.wire {
            Wire::OpenAi => {
                let _ = write!(
                    prefix,
                    "data: {{\"id\":\"chatcmpl-mock{id}\",\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":{m},\"system_fingerprint\":\"fp_mock\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{}",
                    fmt.created,
                    if fmt.typed {
                        "[{\"type\":\"text\",\"text\":"
                    } else {
                        ""
                    }
                );
                let _ = write!(
                    suffix,
                    "{}}},\"logprobs\":null,\"finish_reason\":null}}]{}}}\n\n",
                    if fmt.typed { "}]" } else { "" },
                    fmt.usage_null()
                );
            }
            // A forced tool's input streams as `input_json_delta`:
            // <https://docs.anthropic.com/en/docs/build-with-claude/streaming>.
            Wire::Anthropic if route.tool.is_some() => {
                prefix.extend_from_slice(
                    b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":",
                );
                suffix.extend_from_slice(b"}}\n\n");
            }
            Wire::Anthropic => {
                prefix.extend_from_slice(
                    b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":",
                );
                suffix.extend_from_slice(b"}}\n\n");
            }
            Wire::Gemini => {
                if !fmt.json_array {
                    prefix.extend_from_slice(b"data: ");
                }
                prefix.extend_from_slice(b"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":");
                let _ = write!(
                    suffix,
                    "}}],\"role\":\"model\"}},\"index\":0}}],\"usageMetadata\":{{\"promptTokenCount\":{p},\"totalTokenCount\":{p}}},\"modelVersion\":{m},\"responseId\":\"mock-{id}\"}}",
                    p = usage.input
                );
                if !fmt.json_array {
                    // Google's SSE ends lines with CRLF; clients must cope.
                    suffix.extend_from_slice(b"\r\n\r\n");
                }
            }
            Wire::Ollama => {
                let _ = write!(
                    prefix,
                    "{{\"model\":{m},\"created_at\":\"{}\",\"message\":{{\"role\":\"assistant\",\"content\":",
                    fmt.created_at
                );
                suffix.extend_from_slice(b"},\"done\":false}\n");
            }
        }
        fmt.text_prefix = prefix;
        fmt.text_suffix = suffix;
        fmt
    }

    /// OpenAI sends `"usage":null` on every chunk but the last once usage is asked for.
    fn usage_null(&self) -> &'static str {
        if self.include_usage {
            ",\"usage\":null"
        } else {
            ""
        }
    }

    pub fn content_type(&self, stream: bool) -> &'static str {
        match (self.wire, stream) {
            (Wire::Ollama, true) => "application/x-ndjson",
            (Wire::Gemini, true) if self.json_array => "application/json; charset=UTF-8",
            (Wire::Gemini, true) => "text/event-stream",
            (_, true) => "text/event-stream; charset=utf-8",
            (Wire::Gemini, false) => "application/json; charset=UTF-8",
            (Wire::Ollama, false) => "application/json; charset=utf-8",
            (_, false) => "application/json",
        }
    }

    /// The provider's request-id header, which real clients log.
    pub fn id_headers(&self) -> Vec<(String, String)> {
        let name = match self.wire {
            Wire::OpenAi => "x-request-id",
            Wire::Anthropic => "request-id",
            Wire::Gemini | Wire::Ollama => return Vec::new(),
        };
        vec![(name.to_string(), format!("req_mock{}", self.id))]
    }

    pub fn default_finish(&self) -> &'static str {
        match self.wire {
            Wire::OpenAi | Wire::Ollama => "stop",
            Wire::Anthropic if self.tool.is_some() => "tool_use",
            Wire::Anthropic => "end_turn",
            Wire::Gemini => "STOP",
        }
    }

    /// Events before the first text: OpenAI's role chunk; Anthropic's
    /// `message_start`, `content_block_start` and ping.
    /// Reasoning before the answer, as DeepSeek streams it: a chunk whose
    /// delta holds `reasoning_content`
    /// (<https://api-docs.deepseek.com/guides/reasoning_model>). Other wire
    /// formats send nothing here.
    pub fn reasoning_event(&self, ev: &mut Events, text: &str) {
        if self.wire != Wire::OpenAi {
            return;
        }
        let m = Json(&self.model);
        let id = self.id;
        ev.push(|b| {
            let _ = write!(
                b,
                "data: {{\"id\":\"chatcmpl-mock{id}\",\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":{m},\"choices\":[{{\"index\":0,\"delta\":{{",
                self.created,
            );
            if self.typed {
                let _ = write!(
                    b,
                    "\"content\":[{{\"type\":\"thinking\",\"thinking\":[{{\"type\":\"text\",\"text\":{}}}]}}]",
                    Json(text)
                );
            } else {
                let _ = write!(b, "\"reasoning_content\":{}", Json(text));
            }
            let _ = write!(
                b,
                "}},\"finish_reason\":null}}]{}}}\n\n",
                self.usage_null()
            );
        });
    }

    pub fn prologue(&self, ev: &mut Events, usage: &Usage) {
        let m = Json(&self.model);
        let id = self.id;
        match self.wire {
            Wire::OpenAi => ev.push(|b| {
                let _ = write!(
                    b,
                    "data: {{\"id\":\"chatcmpl-mock{id}\",\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":{m},\"system_fingerprint\":\"fp_mock\",\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}},\"logprobs\":null,\"finish_reason\":null}}]{}}}\n\n",
                    self.created,
                    self.usage_null()
                );
            }),
            Wire::Anthropic => {
                ev.push(|b| {
                    let _ = write!(
                        b,
                        "event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"id\":\"msg_mock{id}\",\"type\":\"message\",\"role\":\"assistant\",\"model\":{m},\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{{{},\"output_tokens\":1}}}}}}\n\n",
                        anthropic_input_usage(usage)
                    );
                });
                ev.push(|b| match &self.tool {
                    Some(tool) => {
                        let _ = write!(
                            b,
                            "event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"tool_use\",\"id\":\"toolu_mock{id}\",\"name\":{},\"input\":{{}}}}}}\n\n",
                            Json(tool)
                        );
                    }
                    None => b.extend_from_slice(b"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"),
                });
                ev.push(|b| b.extend_from_slice(b"event: ping\ndata: {\"type\": \"ping\"}\n\n"));
            }
            Wire::Gemini | Wire::Ollama => {}
        }
    }

    pub fn text_event(&self, ev: &mut Events, text: &str) {
        let array_sep = self.array_separator(ev);
        ev.push(|b| {
            b.extend_from_slice(array_sep);
            b.extend_from_slice(&self.text_prefix);
            let _ = write!(b, "{}", Json(text));
            b.extend_from_slice(&self.text_suffix);
        });
    }

    /// In Gemini's JSON-array stream, elements are separated by ",\r\n".
    fn array_separator(&self, ev: &Events) -> &'static [u8] {
        match (self.json_array, ev.count) {
            (false, _) => b"",
            (true, 0) => b"[",
            (true, _) => b",\r\n",
        }
    }

    /// The events that complete a stream, end marker included.
    pub fn epilogue(&self, ev: &mut Events, usage: &Usage, finish: &str) {
        let m = Json(&self.model);
        let f = Json(finish);
        let id = self.id;
        match self.wire {
            Wire::OpenAi => {
                ev.push(|b| {
                    let _ = write!(
                        b,
                        "data: {{\"id\":\"chatcmpl-mock{id}\",\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":{m},\"system_fingerprint\":\"fp_mock\",\"choices\":[{{\"index\":0,\"delta\":{{}},\"logprobs\":null,\"finish_reason\":{f}}}]{}}}\n\n",
                        self.created,
                        self.usage_null()
                    );
                });
                if self.include_usage {
                    ev.push(|b| {
                        let _ = write!(
                            b,
                            "data: {{\"id\":\"chatcmpl-mock{id}\",\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":{m},\"system_fingerprint\":\"fp_mock\",\"choices\":[],\"usage\":",
                            self.created
                        );
                        openai_usage(b, usage);
                        b.extend_from_slice(b"}\n\n");
                    });
                }
                ev.push(|b| b.extend_from_slice(b"data: [DONE]\n\n"));
            }
            Wire::Anthropic => {
                ev.push(|b| {
                    b.extend_from_slice(b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
                });
                ev.push(|b| {
                    let _ = write!(
                        b,
                        "event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":{f},\"stop_sequence\":null}},\"usage\":{{\"output_tokens\":{}}}}}\n\n",
                        usage.output + usage.reasoning
                    );
                });
                ev.push(|b| {
                    b.extend_from_slice(b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
                });
            }
            Wire::Gemini => {
                let sep = self.array_separator(ev);
                ev.push(|b| {
                    b.extend_from_slice(sep);
                    if !self.json_array {
                        b.extend_from_slice(b"data: ");
                    }
                    let _ = write!(
                        b,
                        "{{\"candidates\":[{{\"content\":{{\"parts\":[{{\"text\":\"\"}}],\"role\":\"model\"}},\"finishReason\":{f},\"index\":0}}],\"usageMetadata\":"
                    );
                    gemini_usage(b, usage);
                    let _ = write!(b, ",\"modelVersion\":{m},\"responseId\":\"mock-{id}\"}}");
                    b.extend_from_slice(if self.json_array { b"]" } else { b"\r\n\r\n" });
                });
            }
            Wire::Ollama => ev.push(|b| {
                let _ = write!(
                    b,
                    "{{\"model\":{m},\"created_at\":\"{}\",\"message\":{{\"role\":\"assistant\",\"content\":\"\"}},",
                    self.created_at
                );
                self.ollama_done(b, usage, finish);
                b.extend_from_slice(b"}\n");
            }),
        }
    }

    fn ollama_done(&self, b: &mut Vec<u8>, usage: &Usage, finish: &str) {
        let (total, prompt, eval) = self.durations;
        let _ = write!(
            b,
            "\"done_reason\":{},\"done\":true,\"total_duration\":{total},\"load_duration\":500000,\"prompt_eval_count\":{},\"prompt_eval_duration\":{prompt},\"eval_count\":{},\"eval_duration\":{eval}",
            Json(finish),
            usage.input,
            usage.output + usage.reasoning
        );
    }

    /// An error inside an otherwise successful (HTTP 200) stream, in the
    /// provider's own shape; the stream ends after it, with no end marker.
    pub fn error_event(&self, ev: &mut Events, status: u16) {
        let sep = self.array_separator(ev);
        ev.push(|b| match self.wire {
            Wire::OpenAi => {
                b.extend_from_slice(b"data: ");
                self.error_object(b, status, None);
                b.extend_from_slice(b"\n\n");
            }
            Wire::Anthropic => {
                b.extend_from_slice(b"event: error\ndata: ");
                self.error_object(b, status, None);
                b.extend_from_slice(b"\n\n");
            }
            Wire::Gemini => {
                b.extend_from_slice(sep);
                if !self.json_array {
                    b.extend_from_slice(b"data: ");
                }
                self.error_object(b, status, None);
                b.extend_from_slice(if self.json_array { b"]" } else { b"\r\n\r\n" });
            }
            Wire::Ollama => {
                self.error_object(b, status, None);
                b.push(b'\n');
            }
        });
    }

    /// The whole non-streamed answer.
    pub fn full_body(
        &self,
        pieces: &[&str],
        repeat: usize,
        usage: &Usage,
        finish: &str,
    ) -> Vec<u8> {
        let text_len: usize = pieces.iter().map(|p| p.len()).sum::<usize>() * repeat;
        let mut b = Vec::with_capacity(text_len + text_len / 8 + 600);
        let text = FullText { pieces, repeat };
        let m = Json(&self.model);
        let f = Json(finish);
        let id = self.id;
        let _ = match self.wire {
            Wire::OpenAi => {
                let _ = write!(
                    b,
                    "{{\"id\":\"chatcmpl-mock{id}\",\"object\":\"chat.completion\",\"created\":{},\"model\":{m},\"choices\":[{{\"index\":0,\"message\":{{\"role\":\"assistant\",\"content\":",
                    self.created
                );
                if self.typed {
                    let _ = write!(
                        b,
                        "[{{\"type\":\"thinking\",\"thinking\":[{{\"type\":\"text\",\"text\":\"Thinking it over.\"}}]}},{{\"type\":\"text\",\"text\":\"{text}\"}}]"
                    );
                } else {
                    let _ = write!(b, "\"{text}\"");
                }
                let _ = write!(
                    b,
                    ",\"refusal\":null,\"annotations\":[]}},\"logprobs\":null,\"finish_reason\":{f}}}],\"usage\":"
                );
                openai_usage(&mut b, usage);
                write!(
                    b,
                    ",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_mock\"}}"
                )
            }
            Wire::Anthropic => {
                let _ = write!(
                    b,
                    "{{\"id\":\"msg_mock{id}\",\"type\":\"message\",\"role\":\"assistant\",\"model\":{m},\"content\":["
                );
                let _ = match &self.tool {
                    // The tool's input is the text, as JSON when it is JSON,
                    // else (an invalid answer on demand) as a JSON string.
                    Some(tool) => {
                        let whole: String =
                            (0..repeat).flat_map(|_| pieces.iter().copied()).collect();
                        let _ = write!(
                            b,
                            "{{\"type\":\"tool_use\",\"id\":\"toolu_mock{id}\",\"name\":{},\"input\":",
                            Json(tool)
                        );
                        if serde_json::from_str::<Value>(&whole).is_ok() {
                            b.extend_from_slice(whole.as_bytes());
                        } else {
                            let _ = write!(b, "{}", Json(&whole));
                        }
                        write!(b, "}}")
                    }
                    None => write!(b, "{{\"type\":\"text\",\"text\":\"{text}\"}}"),
                };
                write!(
                    b,
                    "],\"stop_reason\":{f},\"stop_sequence\":null,\"usage\":{{{},\"output_tokens\":{}}}}}",
                    anthropic_input_usage(usage),
                    usage.output + usage.reasoning
                )
            }
            Wire::Gemini => {
                let _ = write!(
                    b,
                    "{{\"candidates\":[{{\"content\":{{\"parts\":[{{\"text\":\"{text}\"}}],\"role\":\"model\"}},\"finishReason\":{f},\"index\":0}}],\"usageMetadata\":"
                );
                gemini_usage(&mut b, usage);
                write!(b, ",\"modelVersion\":{m},\"responseId\":\"mock-{id}\"}}")
            }
            Wire::Ollama => {
                let _ = write!(
                    b,
                    "{{\"model\":{m},\"created_at\":\"{}\",\"message\":{{\"role\":\"assistant\",\"content\":\"{text}\"}},",
                    self.created_at
                );
                self.ollama_done(&mut b, usage, finish);
                write!(b, "}}")
            }
        };
        b
    }

    /// The provider's HTTP error body for `status`.
    pub fn error_body(&self, status: u16, message: Option<&str>) -> Vec<u8> {
        let mut b = Vec::with_capacity(256);
        self.error_object(&mut b, status, message);
        b
    }

    fn error_object(&self, b: &mut Vec<u8>, status: u16, message: Option<&str>) {
        let model = self.model.as_str();
        let _ = match self.wire {
            Wire::OpenAi => {
                let (kind, code, default) = match status {
                    400 => ("invalid_request_error", None, "route-mock: invalid request.".to_string()),
                    401 => (
                        "invalid_request_error",
                        Some("invalid_api_key"),
                        "Incorrect API key provided: sk-mock***. You can find your API key at https://platform.openai.com/account/api-keys.".to_string(),
                    ),
                    403 => (
                        "invalid_request_error",
                        Some("unsupported_country_region_territory"),
                        "Country, region, or territory not supported".to_string(),
                    ),
                    404 => (
                        "invalid_request_error",
                        Some("model_not_found"),
                        format!("The model `{model}` does not exist or you do not have access to it."),
                    ),
                    // OpenAI's rate-limit `type` names the exhausted limit ("tokens" or
                    // "requests"); the stable marker is the code.
                    429 => (
                        "tokens",
                        Some("rate_limit_exceeded"),
                        format!("Rate limit reached for {model} in organization org-mock on tokens per min (TPM): Limit 30000, Used 30000, Requested 120. Please try again in 240ms. Visit https://platform.openai.com/account/rate-limits to learn more."),
                    ),
                    503 | 529 => (
                        "server_error",
                        None,
                        "The engine is currently overloaded, please try again later".to_string(),
                    ),
                    500..=599 => (
                        "server_error",
                        None,
                        "The server had an error while processing your request. Sorry about that!".to_string(),
                    ),
                    _ => ("invalid_request_error", None, format!("route-mock: status {status}.")),
                };
                openai_error(b, message.unwrap_or(&default), kind, None, code)
            }
            Wire::Anthropic => {
                let (kind, default) = match status {
                    400 => ("invalid_request_error", "route-mock: invalid request.".to_string()),
                    401 => ("authentication_error", "invalid x-api-key".to_string()),
                    403 => (
                        "permission_error",
                        "Your API key does not have permission to use the specified resource.".to_string(),
                    ),
                    404 => ("not_found_error", format!("model: {model}")),
                    413 => ("request_too_large", "Request exceeds the maximum allowed number of bytes.".to_string()),
                    429 => (
                        "rate_limit_error",
                        "This request would exceed the rate limit for your organization of 50,000 input tokens per minute. Please try again later.".to_string(),
                    ),
                    503 | 529 => ("overloaded_error", "Overloaded".to_string()),
                    500..=599 => ("api_error", "Internal server error".to_string()),
                    _ => ("invalid_request_error", format!("route-mock: status {status}.")),
                };
                anthropic_error(b, kind, message.unwrap_or(&default))
            }
            Wire::Gemini => {
                let (state, default) = match status {
                    400 => ("INVALID_ARGUMENT", "Request contains an invalid argument.".to_string()),
                    401 => (
                        "UNAUTHENTICATED",
                        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.".to_string(),
                    ),
                    403 => ("PERMISSION_DENIED", "The caller does not have permission".to_string()),
                    404 => (
                        "NOT_FOUND",
                        format!("models/{model} is not found for API version v1beta, or is not supported for generateContent."),
                    ),
                    409 => ("ABORTED", "The operation was aborted.".to_string()),
                    429 => (
                        "RESOURCE_EXHAUSTED",
                        "You exceeded your current quota, please check your plan and billing details.".to_string(),
                    ),
                    499 => ("CANCELLED", "The operation was cancelled.".to_string()),
                    501 => ("UNIMPLEMENTED", "Method not implemented.".to_string()),
                    503 | 529 => ("UNAVAILABLE", "The model is overloaded. Please try again later.".to_string()),
                    504 => ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete.".to_string()),
                    500..=599 => (
                        "INTERNAL",
                        "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting".to_string(),
                    ),
                    _ => ("FAILED_PRECONDITION", format!("route-mock: status {status}.")),
                };
                gemini_error(b, status, message.unwrap_or(&default), state)
            }
            Wire::Ollama => {
                let default = match status {
                    400 => "route-mock: invalid request".to_string(),
                    401 | 403 => "unauthorized".to_string(),
                    404 => format!("model '{model}' not found"),
                    429 => "too many requests: rate limit exceeded".to_string(),
                    503 | 529 => {
                        "server busy, please try again.  maximum pending requests exceeded"
                            .to_string()
                    }
                    _ => format!("route-mock: status {status}"),
                };
                write!(b, "{{\"error\":{}}}", Json(message.unwrap_or(&default)))
            }
        };
    }

    /// The provider's content-policy error (HTTP 400): OpenAI's flagged
    /// prompt, Anthropic's content filter, and for Ollama (which has none)
    /// a plain error naming the content policy.
    pub fn content_policy_body(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(256);
        let _ = match self.wire {
            // <https://platform.openai.com/docs/guides/reasoning#advice-on-prompting>
            // is the link OpenAI's message carries.
            Wire::OpenAi => openai_error(
                &mut b,
                "Invalid prompt: your prompt was flagged as potentially violating our usage policy. Please try again with a different prompt: https://platform.openai.com/docs/guides/reasoning#advice-on-prompting",
                "invalid_request_error",
                None,
                Some("invalid_prompt"),
            ),
            Wire::Anthropic => anthropic_error(
                &mut b,
                "invalid_request_error",
                "Output blocked by content filtering policy",
            ),
            Wire::Gemini => gemini_error(
                &mut b,
                400,
                "route-mock: the prompt was blocked by the content policy.",
                "INVALID_ARGUMENT",
            ),
            Wire::Ollama => write!(
                b,
                "{{\"error\":\"route-mock: the prompt was refused by the content policy\"}}"
            ),
        };
        b
    }

    /// The events that end a stream in which the model declines (after
    /// the text events sent so far), end marker included.
    pub fn decline(&self, ev: &mut Events, usage: &Usage, how: Decline) {
        let m = Json(&self.model);
        let id = self.id;
        match self.wire {
            Wire::OpenAi => {
                let finish = if how == Decline::Filtered {
                    "content_filter"
                } else {
                    // The refusal text streams in `delta.refusal`, then a plain stop.
                    ev.push(|b| {
                        let _ = write!(
                            b,
                            "data: {{\"id\":\"chatcmpl-mock{id}\",\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":{m},\"system_fingerprint\":\"fp_mock\",\"choices\":[{{\"index\":0,\"delta\":{{\"refusal\":{}}},\"logprobs\":null,\"finish_reason\":null}}]{}}}\n\n",
                            self.created,
                            Json(crate::REFUSAL),
                            self.usage_null()
                        );
                    });
                    "stop"
                };
                self.epilogue(ev, usage, finish);
            }
            Wire::Anthropic => {
                ev.push(|b| {
                    b.extend_from_slice(b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
                });
                ev.push(|b| {
                    let _ = write!(
                        b,
                        "event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"refusal\",\"stop_sequence\":null{}}},\"usage\":{{\"output_tokens\":{}}}}}\n\n",
                        anthropic_stop_details(how),
                        usage.output + usage.reasoning
                    );
                });
                ev.push(|b| {
                    b.extend_from_slice(
                        b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
                    );
                });
            }
            Wire::Gemini => {
                let sep = self.array_separator(ev);
                ev.push(|b| {
                    b.extend_from_slice(sep);
                    if !self.json_array {
                        b.extend_from_slice(b"data: ");
                    }
                    self.gemini_declined(b, usage, how);
                    b.extend_from_slice(if self.json_array { b"]" } else { b"\r\n\r\n" });
                });
            }
            Wire::Ollama => {
                self.text_event(ev, crate::REFUSAL);
                self.epilogue(ev, usage, "stop");
            }
        }
    }

    /// Gemini's last chunk (or whole body) of an answer that was blocked: a
    /// candidate with a blocking `finishReason` and its safety ratings, or,
    /// for a blocked prompt, `promptFeedback` and no candidates.
    fn gemini_declined(&self, b: &mut Vec<u8>, usage: &Usage, how: Decline) {
        let m = Json(&self.model);
        let id = self.id;
        let ratings = "\"safetyRatings\":[{\"category\":\"HARM_CATEGORY_DANGEROUS_CONTENT\",\"probability\":\"HIGH\",\"blocked\":true}]";
        match how {
            Decline::BlockedPrompt => {
                let _ = write!(
                    b,
                    "{{\"promptFeedback\":{{\"blockReason\":\"SAFETY\",{ratings}}},\"usageMetadata\":{{\"promptTokenCount\":{p},\"totalTokenCount\":{p}}},\"modelVersion\":{m},\"responseId\":\"mock-{id}\"}}",
                    p = usage.input
                );
            }
            Decline::Refusal | Decline::Filtered => {
                let reason = if how == Decline::Filtered {
                    "PROHIBITED_CONTENT"
                } else {
                    "SAFETY"
                };
                let _ = write!(
                    b,
                    "{{\"candidates\":[{{\"finishReason\":\"{reason}\",\"index\":0,{ratings}}}],\"usageMetadata\":"
                );
                gemini_usage(b, usage);
                let _ = write!(b, ",\"modelVersion\":{m},\"responseId\":\"mock-{id}\"}}");
            }
        }
    }

    /// The whole non-streamed answer in which the model declines, after the
    /// text of `pieces`.
    pub fn declined_body(&self, pieces: &[&str], usage: &Usage, how: Decline) -> Vec<u8> {
        let text = FullText { pieces, repeat: 1 };
        let m = Json(&self.model);
        let id = self.id;
        let mut b = Vec::with_capacity(1024);
        let _ = match self.wire {
            Wire::OpenAi => {
                let content = if pieces.is_empty() {
                    "null".to_owned()
                } else {
                    format!("\"{text}\"")
                };
                let (refusal, finish) = if how == Decline::Filtered {
                    ("null".to_owned(), "content_filter")
                } else {
                    (Json(crate::REFUSAL).to_string(), "stop")
                };
                let _ = write!(
                    b,
                    "{{\"id\":\"chatcmpl-mock{id}\",\"object\":\"chat.completion\",\"created\":{},\"model\":{m},\"choices\":[{{\"index\":0,\"message\":{{\"role\":\"assistant\",\"content\":{content},\"refusal\":{refusal},\"annotations\":[]}},\"logprobs\":null,\"finish_reason\":\"{finish}\"}}],\"usage\":",
                    self.created
                );
                openai_usage(&mut b, usage);
                write!(b, ",\"system_fingerprint\":\"fp_mock\"}}")
            }
            Wire::Anthropic => {
                let _ = write!(
                    b,
                    "{{\"id\":\"msg_mock{id}\",\"type\":\"message\",\"role\":\"assistant\",\"model\":{m},\"content\":["
                );
                if !pieces.is_empty() {
                    let _ = write!(b, "{{\"type\":\"text\",\"text\":\"{text}\"}}");
                }
                write!(
                    b,
                    "],\"stop_reason\":\"refusal\",\"stop_sequence\":null{},\"usage\":{{{},\"output_tokens\":{}}}}}",
                    anthropic_stop_details(how),
                    anthropic_input_usage(usage),
                    usage.output + usage.reasoning
                )
            }
            Wire::Gemini => {
                self.gemini_declined(&mut b, usage, how);
                Ok(())
            }
            Wire::Ollama => {
                return self.full_body(&[crate::REFUSAL], 1, usage, "stop");
            }
        };
        b
    }

    /// The provider's "prompt too long" error (HTTP 400).
    pub fn context_length_body(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(256);
        let _ = match self.wire {
            Wire::OpenAi => openai_error(
                &mut b,
                "This model's maximum context length is 128000 tokens. However, your messages resulted in 210000 tokens. Please reduce the length of the messages.",
                "invalid_request_error",
                Some("messages"),
                Some("context_length_exceeded"),
            ),
            Wire::Anthropic => anthropic_error(
                &mut b,
                "invalid_request_error",
                "prompt is too long: 210000 tokens > 200000 maximum",
            ),
            Wire::Gemini => gemini_error(
                &mut b,
                400,
                "The input token count (2100000) exceeds the maximum number of tokens allowed (1048576).",
                "INVALID_ARGUMENT",
            ),
            Wire::Ollama => write!(
                b,
                "{{\"error\":\"the input length exceeds the context length\"}}"
            ),
        };
        b
    }
}

fn openai_error(
    b: &mut Vec<u8>,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> std::io::Result<()> {
    let opt = |v: Option<&str>| v.map_or("null".to_string(), |s| Json(s).to_string());
    write!(
        b,
        "{{\"error\":{{\"message\":{},\"type\":{},\"param\":{},\"code\":{}}}}}",
        Json(message),
        Json(kind),
        opt(param),
        opt(code)
    )
}

fn anthropic_error(b: &mut Vec<u8>, kind: &str, message: &str) -> std::io::Result<()> {
    write!(
        b,
        "{{\"type\":\"error\",\"error\":{{\"type\":{},\"message\":{}}}}}",
        Json(kind),
        Json(message)
    )
}

fn gemini_error(b: &mut Vec<u8>, status: u16, message: &str, state: &str) -> std::io::Result<()> {
    write!(
        b,
        "{{\"error\":{{\"code\":{status},\"message\":{},\"status\":{}}}}}",
        Json(message),
        Json(state)
    )
}

/// The answer's text as the inside of one JSON string: every piece, `repeat` times.
struct FullText<'a> {
    pieces: &'a [&'a str],
    repeat: usize,
}

impl fmt::Display for FullText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for _ in 0..self.repeat {
            for piece in self.pieces {
                write!(f, "{}", Escaped(piece))?;
            }
        }
        Ok(())
    }
}

/// OpenAI's `prompt_tokens` include the cached ones; `completion_tokens` include reasoning.
fn openai_usage(b: &mut Vec<u8>, u: &Usage) {
    let completion = u.output + u.reasoning;
    let _ = write!(
        b,
        "{{\"prompt_tokens\":{},\"completion_tokens\":{completion},\"total_tokens\":{},\"prompt_tokens_details\":{{\"cached_tokens\":{},{}\"audio_tokens\":0}},\"completion_tokens_details\":{{\"reasoning_tokens\":{},\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}",
        u.input,
        u.input + completion,
        u.cached,
        if u.cache_creation > 0 {
            format!("\"cache_write_tokens\":{},", u.cache_creation)
        } else {
            String::new()
        },
        u.reasoning
    );
    if let Some(cost) = u.cost {
        b.extend_from_slice(b",\"cost\":");
        let _ = serde_json::to_writer(&mut *b, &cost);
    }
    b.push(b'}');
}

/// `,"stop_details":{…}` beside Anthropic's refusal stop reason, for the
/// model's own refusal; nothing for a bare filter stop.
fn anthropic_stop_details(how: Decline) -> String {
    if how == Decline::Filtered {
        return String::new();
    }
    format!(
        ",\"stop_details\":{{\"type\":\"refusal\",\"category\":\"cyber\",\"explanation\":{}}}",
        Json(crate::REFUSAL_EXPLANATION)
    )
}

/// Anthropic's `input_tokens` are only the uncached remainder of the prompt;
/// cache writes come with their split by lifetime (`cache_creation`).
fn anthropic_input_usage(u: &Usage) -> String {
    let mut out = format!(
        "\"input_tokens\":{},\"cache_creation_input_tokens\":{},\"cache_read_input_tokens\":{}",
        u.input
            .saturating_sub(u.cached)
            .saturating_sub(u.cache_creation),
        u.cache_creation,
        u.cached
    );
    if u.cache_creation > 0 {
        let one_hour = u.cache_creation_1h.min(u.cache_creation);
        out.push_str(&format!(
            ",\"cache_creation\":{{\"ephemeral_5m_input_tokens\":{},\"ephemeral_1h_input_tokens\":{one_hour}}}",
            u.cache_creation - one_hour
        ));
    }
    out
}

/// Gemini's `promptTokenCount` includes cached tokens; thoughts are counted apart
/// from `candidatesTokenCount` but are part of `totalTokenCount`.
fn gemini_usage(b: &mut Vec<u8>, u: &Usage) {
    let _ = write!(
        b,
        "{{\"promptTokenCount\":{},\"candidatesTokenCount\":{},\"totalTokenCount\":{}",
        u.input,
        u.output,
        u.input + u.output + u.reasoning
    );
    if u.cached > 0 {
        let _ = write!(b, ",\"cachedContentTokenCount\":{}", u.cached);
    }
    if u.reasoning > 0 {
        let _ = write!(b, ",\"thoughtsTokenCount\":{}", u.reasoning);
    }
    b.push(b'}');
}

/// `2024-08-07T03:57:33.036588800Z`, as Ollama writes `created_at`.
fn rfc3339(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm), valid for any date after 1970.
    let z = i64::try_from(days).expect("days since 1970 fit in an i64") + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since_epoch.subsec_nanos()
    )
}

/// The roles of a request's messages, as each provider checks them:
/// Anthropic takes `user` and `assistant` only, the system prompt apart, and
/// the first message must be the user's
/// (<https://docs.anthropic.com/en/api/messages>, `messages`); Gemini takes
/// `user` and `model` (<https://ai.google.dev/api/caching#Content>); Chat
/// Completions and Ollama take `system`, `developer`, `user`, `assistant`
/// and `tool` (<https://platform.openai.com/docs/api-reference/chat/create>,
/// <https://github.com/ollama/ollama/blob/main/docs/api.md#chat-request-with-history>).
pub(crate) fn check_turns(wire: Wire, body: &Value) -> Result<(), String> {
    let (key, roles, first): (&str, &[&str], Option<&str>) = match wire {
        Wire::OpenAi | Wire::Ollama => (
            "messages",
            &["system", "developer", "user", "assistant", "tool"],
            None,
        ),
        Wire::Anthropic => ("messages", &["user", "assistant"], Some("user")),
        Wire::Gemini => ("contents", &["user", "model"], Some("user")),
    };
    // A request without the list is left to the rest of the mock (its own
    // tests send bare bodies); one with it is held to the provider's roles.
    let Some(list) = body.get(key).and_then(Value::as_array) else {
        return Ok(());
    };
    for (i, m) in list.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        if !roles.contains(&role) {
            return Err(format!("{key}.{i}: unexpected role `{role}`"));
        }
        if i == 0 && first.is_some_and(|f| f != role) {
            return Err(format!(
                "{key}.0: the first message must use the `user` role"
            ));
        }
    }
    Ok(())
}

/// The beginning of the reply a continuation request carries, in the shape
/// of `wire`, or `None` when the request holds none in that shape:
///
/// - OpenAI-compatible: a last `assistant` message marked `"prefix": true`
///   (Mistral, DeepSeek: <https://api-docs.deepseek.com/guides/chat_prefix_completion>),
///   or a body with `"continue_final_message": true` and
///   `"add_generation_prompt": false` (vLLM:
///   <https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html#extra-parameters-for-chat-api>).
///   A bare last assistant message is not one: OpenAI would answer after it.
/// - Anthropic: a last `assistant` message (prefill), whose text may not end
///   in whitespace (the API refuses that):
///   <https://docs.anthropic.com/en/docs/build-with-claude/prompt-engineering/prefill-claudes-response>
/// - Gemini: a last `contents` turn with role `model`: <https://ai.google.dev/api/caching#Content>
/// - Ollama: a last `assistant` message of `/api/chat`:
///   <https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion>
pub(crate) fn assistant_prefix(wire: Wire, body: &Value) -> Result<String, &'static str> {
    let text_of = |content: &Value| -> Option<String> {
        match content {
            Value::String(s) => Some(s.clone()),
            Value::Array(parts) => Some(
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect(),
            ),
            _ => None,
        }
    };
    let last_of = |key: &str| {
        body.get(key)
            .and_then(Value::as_array)
            .and_then(|m| m.last())
    };
    match wire {
        Wire::OpenAi => {
            let last = last_of("messages").ok_or("no messages")?;
            if last.get("role").and_then(Value::as_str) != Some("assistant") {
                return Err("the last message is not the assistant's");
            }
            let marked = last.get("prefix").and_then(Value::as_bool) == Some(true);
            let open = body.get("continue_final_message").and_then(Value::as_bool) == Some(true)
                && body.get("add_generation_prompt").and_then(Value::as_bool) == Some(false);
            if !marked && !open {
                return Err(
                    "the assistant message is neither marked `prefix` nor sent with `continue_final_message`",
                );
            }
            text_of(last.get("content").unwrap_or(&Value::Null)).ok_or("no assistant content")
        }
        Wire::Anthropic | Wire::Ollama => {
            let last = last_of("messages").ok_or("no messages")?;
            if last.get("role").and_then(Value::as_str) != Some("assistant") {
                return Err("the last message is not the assistant's");
            }
            let text = text_of(last.get("content").unwrap_or(&Value::Null))
                .ok_or("no assistant content")?;
            if wire == Wire::Anthropic && text.trim_end() != text {
                return Err("final assistant content cannot end with trailing whitespace");
            }
            Ok(text)
        }
        Wire::Gemini => {
            let last = last_of("contents").ok_or("no contents")?;
            if last.get("role").and_then(Value::as_str) != Some("model") {
                return Err("the last turn is not the model's");
            }
            text_of(last.get("parts").unwrap_or(&Value::Null)).ok_or("no model parts")
        }
    }
}

/// The JSON Schema a structured-output request carries in the shape of
/// `wire`, or what is missing or misplaced (see `Script::expecting_schema`):
///
/// - OpenAI-compatible: `response_format` of type `json_schema`:
///   <https://platform.openai.com/docs/api-reference/chat/create#chat-create-response_format>
/// - Anthropic: a tool forced by `tool_choice`, its `input_schema` the schema:
///   <https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#forcing-tool-use>
/// - Gemini: `generationConfig.responseMimeType` and `responseJsonSchema`:
///   <https://ai.google.dev/gemini-api/docs/structured-output>
/// - Ollama: `format` holding the schema:
///   <https://github.com/ollama/ollama/blob/main/docs/api.md#request-structured-outputs>
pub(crate) fn requested_schema(wire: Wire, body: &Value) -> Result<&Value, &'static str> {
    fn object<'v>(v: Option<&'v Value>, why: &'static str) -> Result<&'v Value, &'static str> {
        v.filter(|v| v.is_object()).ok_or(why)
    }
    match wire {
        Wire::OpenAi => {
            let format = body.get("response_format").ok_or("no `response_format`")?;
            if format.get("type").and_then(Value::as_str) != Some("json_schema") {
                return Err("`response_format.type` is not `json_schema`");
            }
            let spec = object(
                format.get("json_schema"),
                "`response_format.json_schema` is not an object",
            )?;
            let name_ok = spec.get("name").and_then(Value::as_str).is_some_and(|n| {
                (1..=64).contains(&n.len())
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            });
            if !name_ok {
                return Err(
                    "`response_format.json_schema.name` is not 1 to 64 of a-z, A-Z, 0-9, _ and -",
                );
            }
            object(
                spec.get("schema"),
                "`response_format.json_schema.schema` is not an object",
            )
        }
        Wire::Anthropic => {
            let choice = body.get("tool_choice").ok_or("no `tool_choice`")?;
            if choice.get("type").and_then(Value::as_str) != Some("tool") {
                return Err("`tool_choice.type` is not `tool`");
            }
            let name = choice
                .get("name")
                .and_then(Value::as_str)
                .ok_or("`tool_choice.name` is missing")?;
            let tool = body
                .get("tools")
                .and_then(Value::as_array)
                .and_then(|tools| {
                    tools
                        .iter()
                        .find(|t| t.get("name").and_then(Value::as_str) == Some(name))
                })
                .ok_or("no tool in `tools` has the name `tool_choice` forces")?;
            let schema = object(tool.get("input_schema"), "the tool has no `input_schema`")?;
            if schema.get("type").and_then(Value::as_str) != Some("object") {
                return Err("the tool's `input_schema` is not of type `object`");
            }
            Ok(schema)
        }
        Wire::Gemini => {
            if body.get("responseJsonSchema").is_some() || body.get("responseSchema").is_some() {
                return Err("the schema is at the top level, not inside `generationConfig`");
            }
            let config = object(body.get("generationConfig"), "no `generationConfig`")?;
            if config.get("responseMimeType").and_then(Value::as_str) != Some("application/json") {
                return Err("`generationConfig.responseMimeType` is not `application/json`");
            }
            object(
                config
                    .get("responseJsonSchema")
                    .or_else(|| config.get("responseSchema")),
                "no `generationConfig.responseJsonSchema` object",
            )
        }
        Wire::Ollama => match body.get("format") {
            Some(Value::Object(_)) => Ok(&body["format"]),
            Some(Value::String(_)) => Err("`format` is JSON mode, not a schema"),
            _ => Err("no `format` schema"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escaping() {
        assert_eq!(
            Json("a\"b\\c\nd\u{1}é").to_string(),
            r#""a\"b\\c\nd\u0001é""#
        );
    }

    #[test]
    fn dates() {
        assert_eq!(
            rfc3339(Duration::from_secs(0)),
            "1970-01-01T00:00:00.000000000Z"
        );
        assert_eq!(
            rfc3339(Duration::new(1_723_003_053, 36_588_800)),
            "2024-08-07T03:57:33.036588800Z"
        );
        assert_eq!(
            rfc3339(Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000000000Z"
        );
    }

    #[test]
    fn routing() {
        let body = br#"{"model":"m","stream":true}"#;
        let r = route("POST", "/v1/chat/completions", body).ok().unwrap();
        assert_eq!(
            (r.wire, r.stream, r.model.as_str()),
            (Wire::OpenAi, true, "m")
        );
        let r = route(
            "POST",
            "/openai/deployments/dep/chat/completions?api-version=2024-10-21",
            b"{}",
        )
        .ok()
        .unwrap();
        assert_eq!(
            (r.wire, r.stream, r.model.as_str()),
            (Wire::OpenAi, false, "dep")
        );
        let r = route("POST", "/fail/503/v1/messages", b"").ok().unwrap();
        assert_eq!((r.wire, r.fail), (Wire::Anthropic, Some(503)));
        let r = route(
            "POST",
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            b"{}",
        )
        .ok()
        .unwrap();
        assert_eq!(
            (r.wire, r.stream, r.json_array),
            (Wire::Gemini, true, false)
        );
        assert_eq!(r.model, "gemini-2.5-flash");
        let r = route("POST", "/api/chat", br#"{"model":"llama3"}"#)
            .ok()
            .unwrap();
        assert_eq!((r.wire, r.stream), (Wire::Ollama, true));
        assert!(matches!(
            route("POST", "/v2/other", b"{}"),
            Err(RouteError::NotFound)
        ));
        assert!(matches!(
            route("GET", "/api/chat", b"{}"),
            Err(RouteError::NotFound)
        ));
        assert!(matches!(
            route("POST", "/api/chat", b"nope"),
            Err(RouteError::BadBody(_))
        ));
    }
}
