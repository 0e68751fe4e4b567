//! Token counts before sending.
//!
//! `route cost estimate` counts OpenAI models' tokens exactly with their own
//! tokenizer (tiktoken-rs: `o200k_base` for gpt-4o and later, `cl100k_base` for
//! older models), for the kinds whose description says they use it
//! ([`Tokenizer::Tiktoken`]). For other providers, whose tokenizers are not public, and
//! for the pre-flight checks of every `ask` (which must not pay for loading a
//! tokenizer), the estimate is one token per four bytes, rounded up: close
//! for English and code with BPE tokenizers, and high for most other text.

use crate::provider::media::Facts;
use crate::provider::types::ChatRequest;
use crate::provider::{ProviderKind, Tokenizer};

/// Estimated tokens of a text (four bytes a token).
pub fn estimate(text: &str) -> u64 {
    estimate_bytes(text.len())
}

/// Estimated tokens of `bytes` bytes of text (four bytes a token).
pub fn estimate_bytes(bytes: usize) -> u64 {
    u64::try_from(bytes.div_ceil(4)).unwrap_or(u64::MAX)
}

/// Estimated tokens of the text a request sends (its attachments are
/// counted per provider kind: [`estimate_attachments`]).
pub fn estimate_chat(request: &ChatRequest) -> u64 {
    // Every message counts, the continuation's prefix included: it is sent.
    request
        .messages
        .iter()
        .map(|m| estimate(&m.joined()))
        .sum::<u64>()
        + request.schema.as_deref().map_or(0, estimate_schema)
        + FRAMING
}

/// Estimated tokens of a `--schema`: providers bill the schema they are
/// sent as input (OpenAI's `response_format`, Anthropic's tool).
pub fn estimate_schema(schema: &crate::structured::Schema) -> u64 {
    estimate(&schema.wire().to_string())
}

/// What the plan weighs of a request's attachments: kind, size in bytes and
/// pixels, pages.
pub fn attachment_facts(request: &ChatRequest) -> Vec<Facts> {
    request.attachments().map(Facts::of).collect()
}

/// Estimated tokens of attachments sent to a provider of `kind`, by that
/// provider's published rule ([`crate::provider::MediaSpec`], in each adapter
/// file): images by their size in pixels, PDFs by their pages.
pub fn estimate_attachments(kind: ProviderKind, attachments: &[Facts]) -> u64 {
    kind.spec().media.tokens(attachments)
}

/// Estimated tokens of a request: system prompt, prompt, and a few tokens of
/// message framing.
pub fn estimate_request(system: Option<&str>, prompt: &str) -> u64 {
    estimate(prompt) + system.map_or(0, estimate) + FRAMING
}

/// Tokens of message framing (roles, separators) per request.
const FRAMING: u64 = 8;

/// How a count was made, for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The model's own tokenizer.
    Exact(&'static str),
    /// Four bytes a token.
    Approximate,
}

/// Counts a request's tokens for a model: exactly for the models of kinds
/// that use OpenAI's tokenizers ([`Tokenizer::Tiktoken`]) when the model's is
/// known, approximately otherwise.
pub fn count_request(
    provider_kind: &str,
    model: &str,
    system: Option<&str>,
    prompt: &str,
) -> (u64, Method) {
    let tokenizer = ProviderKind::parse(provider_kind).map(|k| k.spec().tokenizer);
    if tokenizer == Some(Tokenizer::Tiktoken) {
        if let Some((name, bpe)) = openai_tokenizer(model) {
            let n = |t: &str| u64::try_from(bpe.encode_ordinary(t).len()).unwrap_or(u64::MAX);
            return (
                n(prompt) + system.map_or(0, n) + FRAMING,
                Method::Exact(name),
            );
        }
    }
    (estimate_request(system, prompt), Method::Approximate)
}

fn openai_tokenizer(model: &str) -> Option<(&'static str, &'static tiktoken_rs::CoreBPE)> {
    // Strip an OpenRouter-style `openai/` prefix.
    let model = model.strip_prefix("openai/").unwrap_or(model);
    let tokenizer = tiktoken_rs::tokenizer::get_tokenizer(model)?;
    let bpe = tiktoken_rs::bpe_for_tokenizer(tokenizer).ok()?;
    let name = match tokenizer {
        tiktoken_rs::tokenizer::Tokenizer::O200kBase => "o200k_base",
        tiktoken_rs::tokenizer::Tokenizer::Cl100kBase => "cl100k_base",
        _ => "tiktoken",
    };
    Some((name, bpe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up() {
        assert_eq!(estimate(""), 0);
        assert_eq!(estimate("abc"), 1);
        assert_eq!(estimate("abcdefgh"), 2);
        assert_eq!(estimate_request(Some("be brief"), "hello"), 2 + 2 + 8);
    }

    #[test]
    fn attachments_count_by_each_kinds_rule() {
        use crate::provider::media::samples;
        use crate::provider::types::{Attachment, Params, Part};
        let mut request = ChatRequest::prompt(None, "what is wrong here", Params::default(), true);
        let png = Attachment::new("shot.png", samples::png(1024, 1024)).unwrap();
        request.messages[0].parts.insert(0, Part::Attachment(png));
        // The text alone, then the image by each provider's rule.
        assert_eq!(estimate_chat(&request), 5 + FRAMING);
        let facts = attachment_facts(&request);
        assert_eq!(facts[0].dimensions, Some((1024, 1024)));
        let by = |kind: &str| estimate_attachments(ProviderKind::parse(kind).unwrap(), &facts);
        assert_eq!(by("openai"), 765);
        assert_eq!(by("azure"), 765);
        assert_eq!(by("anthropic"), 1399);
        assert_eq!(by("gemini"), 258 * 4);
        assert_eq!(by("ollama"), 576);
    }

    #[test]
    fn exact_for_openai_models() {
        // "hello world" is two tokens in o200k_base.
        assert_eq!(
            count_request("openai", "gpt-4o", None, "hello world"),
            (2 + FRAMING, Method::Exact("o200k_base"))
        );
        assert_eq!(
            count_request("anthropic", "claude-sonnet-4-5", None, "hello world").1,
            Method::Approximate
        );
    }
}
