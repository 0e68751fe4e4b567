//! The provider-neutral request and the one stream of events every adapter produces.
//!
//! The router, the ledger and the output never see a wire format: they see a
//! [`ChatRequest`] going in and [`StreamEvent`]s coming out.

use serde_json::{Map, Value};

/// What the user asked, before any provider's wire format is applied.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    /// The conversation, in order: an optional system prompt, the user's
    /// prompt, and, when an answer that broke off is being continued, an
    /// assistant message holding the text already written. Each adapter
    /// translates the list into its own wire format.
    pub messages: Vec<Message>,
    /// Generation parameters: the typed ones every provider understands.
    pub params: Params,
    /// Whether the answer is streamed.
    pub stream: bool,
    /// `--schema`: the answer must be one JSON value matching it. Each
    /// adapter asks for it in its provider's native structured output
    /// ([`Schema::wire`](crate::structured::Schema::wire)); the router checks
    /// the answer against it.
    pub schema: Option<std::sync::Arc<crate::structured::Schema>>,
}

impl ChatRequest {
    /// A request of one prompt (`-s` and the words): the messages of a plain `ask`.
    pub fn prompt(system: Option<&str>, prompt: &str, params: Params, stream: bool) -> ChatRequest {
        let mut messages = Vec::with_capacity(2);
        if let Some(system) = system {
            messages.push(Message::text(Role::System, system));
        }
        messages.push(Message::text(Role::User, prompt));
        ChatRequest {
            messages,
            params,
            stream,
            schema: None,
        }
    }

    /// Puts a stored conversation's earlier turns before the prompt (after
    /// the system prompt): the request of `-c` / `--cid`.
    pub fn insert_history(&mut self, earlier: &[Message]) {
        let at = usize::from(
            self.messages
                .first()
                .is_some_and(|m| m.role == Role::System),
        );
        self.messages.splice(at..at, earlier.iter().cloned());
    }

    /// The same request, asking for one JSON value that matches `schema` (`--schema`).
    #[must_use]
    pub fn with_schema(self, schema: Option<std::sync::Arc<crate::structured::Schema>>) -> Self {
        ChatRequest { schema, ..self }
    }

    /// The same request, asking the model to continue an answer that begins
    /// with `written`: an assistant message at the end of the list.
    #[must_use]
    pub fn continuing(&self, written: &str) -> ChatRequest {
        let mut request = self.clone();
        request
            .messages
            .push(Message::text(Role::Assistant, written));
        request
    }

    /// The text of the answer being continued, when the last message is the
    /// assistant's.
    pub fn prefix(&self) -> Option<&Message> {
        self.messages.last().filter(|m| m.role == Role::Assistant)
    }

    /// The system prompt's text, if the request has one.
    pub fn system(&self) -> Option<String> {
        let system: Vec<String> = self
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(Message::joined)
            .collect();
        (!system.is_empty()).then(|| system.join("\n\n"))
    }

    /// The messages that are not the system prompt, in order.
    pub fn turns(&self) -> impl Iterator<Item = &Message> {
        self.messages.iter().filter(|m| m.role != Role::System)
    }

    /// Every attachment of every message, in order.
    pub fn attachments(&self) -> impl Iterator<Item = &Attachment> {
        self.messages.iter().flat_map(Message::attachments)
    }
}

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    /// The role's name in the wire formats that share OpenAI's spelling
    /// (Chat Completions, Ollama).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub parts: Vec<Part>,
}

/// A piece of a message: text, or a file sent in its provider's native form.
/// Adapters match on it instead of assuming text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// An image or a PDF (`-a`); a text file is inlined as a [`Part::Text`].
    Attachment(Attachment),
}

/// A file sent with a prompt (`-a FILE`). Its bytes are shared between the
/// requests of a chain, and named by their SHA-256 so that the ledger keeps
/// them once however many turns send them again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub media: Media,
    /// The file name as the user gave it, for messages and the ledger.
    pub name: String,
    /// The SHA-256 of the bytes, in lower-case hex.
    pub hash: String,
    pub bytes: std::sync::Arc<[u8]>,
}

impl Attachment {
    /// Reads an attachment from its bytes: `None` when they are neither an
    /// image route sends (PNG, JPEG, GIF, WebP) nor a PDF.
    pub fn new(name: &str, bytes: Vec<u8>) -> Option<Attachment> {
        use sha2::Digest as _;
        use std::fmt::Write as _;
        let media = Media::sniff(&bytes)?;
        let mut hash = String::with_capacity(64);
        for byte in sha2::Sha256::digest(&bytes) {
            let _ = write!(hash, "{byte:02x}");
        }
        Some(Attachment {
            media,
            name: name.to_owned(),
            hash,
            bytes: bytes.into(),
        })
    }

    /// The last part of its name, without the folders: what a wire format's
    /// `filename` or `title` gets.
    pub fn file_name(&self) -> &str {
        self.name
            .rsplit(['/', std::path::MAIN_SEPARATOR])
            .next()
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.name)
    }
}

/// What kind of file an attachment is, detected from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Png,
    Jpeg,
    Gif,
    Webp,
    Pdf,
}

impl Media {
    /// The MIME type the wire formats name it by.
    pub fn mime(self) -> &'static str {
        match self {
            Media::Png => "image/png",
            Media::Jpeg => "image/jpeg",
            Media::Gif => "image/gif",
            Media::Webp => "image/webp",
            Media::Pdf => "application/pdf",
        }
    }

    pub fn is_image(self) -> bool {
        self != Media::Pdf
    }

    /// `PNG image`, `PDF`: for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Media::Png => "PNG image",
            Media::Jpeg => "JPEG image",
            Media::Gif => "GIF image",
            Media::Webp => "WebP image",
            Media::Pdf => "PDF",
        }
    }

    /// The kind of file these bytes begin with, by their magic numbers, not
    /// the file's name.
    pub fn sniff(bytes: &[u8]) -> Option<Media> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Media::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Media::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Media::Gif)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Media::Webp)
        } else if bytes.starts_with(b"%PDF-") {
            Some(Media::Pdf)
        } else {
            None
        }
    }
}

impl Message {
    /// A message of one text part.
    pub fn text(role: Role, text: &str) -> Message {
        Message {
            role,
            parts: vec![Part::Text(text.to_owned())],
        }
    }

    /// Its text parts, joined: for wire formats whose content is one string.
    /// Attachments are not text and are left out.
    pub fn joined(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Attachment(_) => {}
            }
        }
        out
    }

    /// Its attachments, in order.
    pub fn attachments(&self) -> impl Iterator<Item = &Attachment> {
        self.parts.iter().filter_map(|p| match p {
            Part::Attachment(a) => Some(a),
            Part::Text(_) => None,
        })
    }
}

/// Generation parameters. Known keys are mapped by each adapter onto its own
/// field; anything else in `extra` is passed through unchanged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: Option<u64>,
    pub stop: Vec<String>,
    pub seed: Option<i64>,
    /// Unknown `-o KEY=VALUE` / profile `params` keys, sent as given.
    pub extra: Map<String, Value>,
}

impl Params {
    /// Sets one parameter from a JSON value: a known key fills its typed field,
    /// anything else goes to `extra`. Returns an error naming the key when a
    /// known key has the wrong type.
    pub fn set(&mut self, key: &str, value: Value) -> Result<(), String> {
        match key {
            "temperature" => self.temperature = Some(number(key, &value)?),
            "top_p" => self.top_p = Some(number(key, &value)?),
            "max_tokens" | "max_output_tokens" | "num_predict" => {
                self.max_tokens = Some(value.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                    format!("`{key}` must be a whole number of at least 1, got {value}")
                })?);
            }
            "seed" => {
                self.seed = Some(
                    value
                        .as_i64()
                        .ok_or_else(|| format!("`{key}` must be an integer, got {value}"))?,
                );
            }
            "stop" => {
                self.stop = match value {
                    Value::String(s) => vec![s],
                    Value::Array(items) => items
                        .into_iter()
                        .map(|v| match v {
                            Value::String(s) => Ok(s),
                            other => Err(format!("`stop` must hold strings, got {other}")),
                        })
                        .collect::<Result<_, _>>()?,
                    other => return Err(format!("`stop` must be a string or a list, got {other}")),
                };
            }
            _ => {
                self.extra.insert(key.to_owned(), value);
            }
        }
        Ok(())
    }

    /// Layers `over` on top of `self` (profile params, then the command line).
    #[must_use]
    pub fn merged_with(&self, over: &Params) -> Params {
        let mut out = self.clone();
        out.temperature = over.temperature.or(out.temperature);
        out.top_p = over.top_p.or(out.top_p);
        out.max_tokens = over.max_tokens.or(out.max_tokens);
        out.seed = over.seed.or(out.seed);
        if !over.stop.is_empty() {
            out.stop.clone_from(&over.stop);
        }
        for (k, v) in &over.extra {
            out.extra.insert(k.clone(), v.clone());
        }
        out
    }
}

/// A provider's own names for the typed parameters; `None` where it has no
/// such field (the parameter is then not sent).
#[derive(Debug, Clone, Copy)]
pub struct ParamNames {
    pub temperature: &'static str,
    pub top_p: &'static str,
    pub max_tokens: Option<&'static str>,
    pub stop: &'static str,
    pub seed: Option<&'static str>,
}

impl Params {
    /// Writes the typed parameters into a provider's JSON object under that
    /// provider's names. `extra` is each adapter's own business.
    pub fn write_typed(&self, names: &ParamNames, into: &mut Map<String, Value>) {
        if let Some(t) = self.temperature {
            into.insert(names.temperature.into(), Value::from(t));
        }
        if let Some(t) = self.top_p {
            into.insert(names.top_p.into(), Value::from(t));
        }
        if let (Some(n), Some(name)) = (self.max_tokens, names.max_tokens) {
            into.insert(name.into(), Value::from(n));
        }
        if !self.stop.is_empty() {
            into.insert(names.stop.into(), Value::from(self.stop.clone()));
        }
        if let (Some(s), Some(name)) = (self.seed, names.seed) {
            into.insert(name.into(), Value::from(s));
        }
    }
}

fn number(key: &str, value: &Value) -> Result<f64, String> {
    value
        .as_f64()
        .ok_or_else(|| format!("`{key}` must be a number, got {value}"))
}

/// Token counts, normalised across providers.
///
/// `input_tokens` is everything the prompt was billed for, including cached
/// reads and cache writes; `output_tokens` includes reasoning tokens, since
/// every provider bills them as output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Part of `input_tokens` read from the provider's prompt cache.
    pub cached_input_tokens: u64,
    /// Part of `input_tokens` written to the provider's prompt cache
    /// (Anthropic's `cache_creation_input_tokens`, OpenAI-compatible
    /// `prompt_tokens_details.cache_write_tokens`).
    pub cache_write_tokens: u64,
    /// Part of `cache_write_tokens` written to a 1-hour cache (Anthropic's
    /// `cache_creation.ephemeral_1h_input_tokens`), billed higher than the
    /// 5-minute rest.
    pub cache_write_1h_tokens: u64,
    /// Part of `output_tokens` spent on reasoning / thinking.
    pub reasoning_tokens: u64,
}

/// Why the model stopped, in the provider's own words where they differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    Stop,
    Length,
    ContentFilter,
    ToolCalls,
    Other(String),
}

impl FinishReason {
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::Other(s) => s,
        }
    }
}

/// One event of a provider's answer. Every adapter turns its wire format into
/// these, streamed or not.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A piece of the answer text.
    Delta(String),
    /// Reasoning text: never printed as part of the answer.
    Reasoning(String),
    /// The model declined to answer (CONTRACT.md "The router's rules": a
    /// refusal): a piece of its refusal text (Chat Completions' `refusal`),
    /// or, where the provider gives none, its words for why the answer
    /// stopped (a refusal stop reason, a content-filter or safety finish, a
    /// blocked prompt). Never answer text. The stream still runs to its end
    /// (the usage after it is billed); the attempt then fails as
    /// [`ErrorKind::Refusal`](super::ErrorKind::Refusal), the pieces joined
    /// being what the user is told.
    Refusal(String),
    /// The model the provider says it ran.
    ServedModel(String),
    /// Token counts; a later event replaces an earlier one.
    Usage(Usage),
    /// The provider's own cost figure (OpenRouter's `usage.cost`), USD.
    ProviderCost(f64),
    /// Why generation stopped.
    Finish(FinishReason),
    /// The provider's end-of-answer marker arrived: the answer is complete.
    /// A stream that ends without it has failed.
    Done,
}
