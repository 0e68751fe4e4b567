//! Attachments in a request: every image and PDF found is decoded and
//! checked against the shape of the wire format the request is addressed to,
//! so that a client that sends an image in another provider's shape, or bytes
//! that are not what their MIME type says, gets the provider's HTTP 400
//! instead of an answer.
//!
//! The shapes follow the providers' API references:
//! - OpenAI Chat Completions: user content parts `image_url` (`url`, a base64
//!   `data:` URL here) and `file` (`file_data`, a base64 `data:` URL, and
//!   `filename`): <https://platform.openai.com/docs/api-reference/chat/create>
//! - Anthropic Messages: `image` and `document` blocks with a `base64` source
//!   (`media_type`, `data`): <https://docs.anthropic.com/en/docs/build-with-claude/vision>,
//!   <https://docs.anthropic.com/en/docs/build-with-claude/pdf-support>
//! - Gemini: parts with an `inline_data` (or `inlineData`) blob, `mime_type`
//!   (`mimeType`) and base64 `data`: <https://ai.google.dev/api/caching#Blob>
//! - Ollama `/api/chat`: a message's `images`, base64 strings, and a string
//!   `content`: <https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion>

use base64::Engine as _;
use serde_json::Value;

use crate::wire::Wire;

/// The MIME types of the attachments of a request in `wire`'s shape, in
/// order; an error saying what is wrong when one is not in that shape or its
/// bytes are not what it says.
pub(crate) fn attachments(wire: Wire, body: &Value) -> Result<Vec<&'static str>, String> {
    let mut found = Vec::new();
    match wire {
        Wire::OpenAi => {
            for m in list(body, "messages") {
                foreign_message_keys(m, &["images"])?;
                let Some(parts) = m.get("content").and_then(Value::as_array) else {
                    continue;
                };
                for part in parts {
                    found.extend(openai_part(part)?);
                }
            }
        }
        Wire::Anthropic => {
            for m in list(body, "messages") {
                foreign_message_keys(m, &["images"])?;
                let Some(blocks) = m.get("content").and_then(Value::as_array) else {
                    continue;
                };
                for block in blocks {
                    found.extend(anthropic_block(block)?);
                }
            }
        }
        Wire::Gemini => {
            for turn in list(body, "contents") {
                for part in list(turn, "parts") {
                    found.extend(gemini_part(part)?);
                }
            }
        }
        Wire::Ollama => {
            for m in list(body, "messages") {
                if let Some(content) = m.get("content") {
                    if !content.is_string() {
                        return Err("an Ollama message's `content` is a string".into());
                    }
                }
                if let Some(images) = m.get("images") {
                    let images = images
                        .as_array()
                        .ok_or("`images` is a list of base64 strings")?;
                    for image in images {
                        let data = image.as_str().ok_or("`images` holds base64 strings")?;
                        if data.starts_with("data:") {
                            return Err("Ollama's `images` are bare base64, not data: URLs".into());
                        }
                        let mime =
                            sniff(&decode(data)?).ok_or("an image in `images` is not an image")?;
                        if mime == PDF {
                            return Err("Ollama's `images` take images, not PDFs".into());
                        }
                        found.push(mime);
                    }
                }
            }
        }
    }
    Ok(found)
}

const PDF: &str = "application/pdf";

fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// Another provider's message fields.
fn foreign_message_keys(m: &Value, keys: &[&str]) -> Result<(), String> {
    match keys.iter().find(|k| m.get(**k).is_some()) {
        Some(k) => Err(format!("messages have no `{k}` field in this API")),
        None => Ok(()),
    }
}

fn openai_part(part: &Value) -> Result<Option<&'static str>, String> {
    match part.get("type").and_then(Value::as_str) {
        Some("text") => text_field(part).map(|()| None),
        Some("image_url") => {
            let url = part
                .pointer("/image_url/url")
                .and_then(Value::as_str)
                .ok_or("an image_url part needs image_url.url")?;
            let mime = data_url(url)?;
            if mime == PDF {
                return Err("a PDF goes in a `file` part, not `image_url`".into());
            }
            Ok(Some(mime))
        }
        Some("file") => {
            let file = part.get("file").ok_or("a file part needs `file`")?;
            if !file.get("filename").is_some_and(Value::is_string) {
                return Err("a file part sent as file_data needs file.filename".into());
            }
            let data = file
                .get("file_data")
                .and_then(Value::as_str)
                .ok_or("a file part needs file.file_data")?;
            Ok(Some(data_url(data)?))
        }
        Some("input_audio") => Ok(None),
        Some(other) => Err(format!("`{other}` is not a Chat Completions content part")),
        None => Err("a content part needs a `type`".into()),
    }
}

fn anthropic_block(block: &Value) -> Result<Option<&'static str>, String> {
    match block.get("type").and_then(Value::as_str) {
        Some("text") => text_field(block).map(|()| None),
        Some(kind @ ("image" | "document")) => {
            let source = block.get("source").ok_or("the block needs a `source`")?;
            match source.get("type").and_then(Value::as_str) {
                Some("base64") => {}
                Some("text") if kind == "document" => return Ok(None),
                _ => return Err(format!("the {kind} block's source must be base64 here")),
            }
            let declared = source
                .get("media_type")
                .and_then(Value::as_str)
                .ok_or("a base64 source needs `media_type`")?;
            let data = source
                .get("data")
                .and_then(Value::as_str)
                .ok_or("a base64 source needs `data`")?;
            let mime = checked(declared, &decode(data)?)?;
            match (kind, mime == PDF) {
                ("image", true) => Err("a PDF goes in a `document` block".into()),
                ("document", false) => Err("a document block takes a PDF".into()),
                _ => Ok(Some(mime)),
            }
        }
        Some(
            "tool_use" | "tool_result" | "thinking" | "redacted_thinking" | "search_result"
            | "server_tool_use" | "container_upload",
        ) => Ok(None),
        Some(other) => Err(format!("`{other}` is not a Messages content block")),
        None => Err("a content block needs a `type`".into()),
    }
}

fn gemini_part(part: &Value) -> Result<Option<&'static str>, String> {
    if part.get("type").is_some() {
        return Err("Gemini parts have no `type`: this is another API's shape".into());
    }
    let Some(blob) = part.get("inline_data").or_else(|| part.get("inlineData")) else {
        return Ok(None);
    };
    let declared = blob
        .get("mime_type")
        .or_else(|| blob.get("mimeType"))
        .and_then(Value::as_str)
        .ok_or("inline_data needs mime_type")?;
    let data = blob
        .get("data")
        .and_then(Value::as_str)
        .ok_or("inline_data needs data")?;
    if data.starts_with("data:") {
        return Err("inline_data.data is bare base64, not a data: URL".into());
    }
    checked(declared, &decode(data)?).map(Some)
}

fn text_field(part: &Value) -> Result<(), String> {
    if part.get("text").is_some_and(Value::is_string) {
        Ok(())
    } else {
        Err("a text part needs `text`".into())
    }
}

/// `data:<mime>;base64,<data>`: the bytes' MIME type, checked.
fn data_url(url: &str) -> Result<&'static str, String> {
    let rest = url
        .strip_prefix("data:")
        .ok_or("route-mock takes files as base64 data: URLs")?;
    let (declared, data) = rest
        .split_once(";base64,")
        .ok_or("a data: URL here is `data:<mime>;base64,<data>`")?;
    checked(declared, &decode(data)?)
}

fn decode(data: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| format!("the file's base64 does not decode ({e})"))
}

/// The MIME type of `bytes`, which must be the `declared` one.
fn checked(declared: &str, bytes: &[u8]) -> Result<&'static str, String> {
    let actual =
        sniff(bytes).ok_or_else(|| format!("the bytes declared {declared} are no image or PDF"))?;
    if actual == declared {
        Ok(actual)
    } else {
        Err(format!("the bytes declared {declared} are {actual}"))
    }
}

/// The MIME type of an image or PDF, by its magic numbers.
fn sniff(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some("image/webp")
    } else if b.starts_with(b"%PDF-") {
        Some(PDF)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAYAAAAAAAAA";
    const PDF_B64: &str = "JVBERi0xLjQK";

    #[test]
    fn each_wire_takes_its_own_shape() {
        let openai = json!({"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG}")}},
            {"type": "file", "file": {"filename": "a.pdf", "file_data": format!("data:application/pdf;base64,{PDF_B64}")}},
            {"type": "text", "text": "hi"}]}]});
        assert_eq!(
            attachments(Wire::OpenAi, &openai),
            Ok(vec!["image/png", PDF])
        );
        let anthropic = json!({"messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64}},
            {"type": "text", "text": "hi"}]}]});
        assert_eq!(
            attachments(Wire::Anthropic, &anthropic),
            Ok(vec!["image/png", PDF])
        );
        let gemini = json!({"contents": [{"role": "user", "parts": [
            {"inline_data": {"mime_type": "image/png", "data": PNG}},
            {"inlineData": {"mimeType": "application/pdf", "data": PDF_B64}},
            {"text": "hi"}]}]});
        assert_eq!(
            attachments(Wire::Gemini, &gemini),
            Ok(vec!["image/png", PDF])
        );
        let ollama = json!({"messages": [{"role": "user", "content": "hi", "images": [PNG]}]});
        assert_eq!(attachments(Wire::Ollama, &ollama), Ok(vec!["image/png"]));
        // And each refuses the others' shapes.
        for (wire, body) in [
            (Wire::OpenAi, &anthropic),
            (Wire::OpenAi, &ollama),
            (Wire::Anthropic, &openai),
            (Wire::Anthropic, &ollama),
            (
                Wire::Gemini,
                &json!({"contents": [{"parts": [{"type": "image_url"}]}]}),
            ),
            (Wire::Ollama, &openai),
        ] {
            assert!(attachments(wire, body).is_err(), "{wire:?} took {body}");
        }
    }

    #[test]
    fn bytes_must_be_what_they_say() {
        let lying = json!({"contents": [{"parts": [{"inline_data": {"mime_type": "image/jpeg", "data": PNG}}]}]});
        let err = attachments(Wire::Gemini, &lying).unwrap_err();
        assert!(err.contains("declared image/jpeg are image/png"), "{err}");
        let garbled =
            json!({"messages": [{"role": "user", "content": "x", "images": ["not base64!"]}]});
        assert!(
            attachments(Wire::Ollama, &garbled)
                .unwrap_err()
                .contains("base64")
        );
        let pdf_as_image = json!({"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": format!("data:application/pdf;base64,{PDF_B64}")}}]}]});
        assert!(attachments(Wire::OpenAi, &pdf_as_image).is_err());
        // Text-only requests carry none.
        let plain = json!({"messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(attachments(Wire::OpenAi, &plain), Ok(vec![]));
    }
}
