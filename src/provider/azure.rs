//! Azure OpenAI: the OpenAI wire format at a per-deployment URL with an
//! `api-key` header. Only the URL and the header differ from [`super::openai`].
//!
//! - <https://learn.microsoft.com/azure/ai-services/openai/reference>
//! - API versions: <https://learn.microsoft.com/azure/ai-services/openai/api-version-lifecycle>

use std::fmt::Write as _;

use reqwest::header::HeaderMap;

use super::error::ProviderError;
use super::kind::{Continues, KindSpec, ProviderKind, Tokenizer, whole_prefix};
use super::types::StreamEvent;
use super::{Adapter, Call, HttpRequest, StreamDecoder, openai};

/// The GA API version used when the profile names none.
pub const DEFAULT_API_VERSION: &str = "2024-10-21";

/// The `azure` kind: Azure OpenAI deployments.
pub const KIND: ProviderKind = ProviderKind(&KindSpec {
    name: "azure",
    adapter: &Azure,
    // Each Azure resource has its own endpoint.
    default_base_url: None,
    base_url_var: None,
    base_url_hint: Some(
        "for azure, the resource endpoint: base_url = \"https://NAME.openai.azure.com\"",
    ),
    key_var: Some("AZURE_OPENAI_API_KEY"),
    local: false,
    model_is_deployment: true,
    litellm_provider: "azure",
    litellm_by_name: false,
    plain_model: |_| None,
    tokenizer: Tokenizer::Tiktoken,
    from_env: &[],
    continues: Continues::Never,
    prefix_sent: whole_prefix,
    // Azure OpenAI: the same 0–2 as OpenAI (learn.microsoft.com, Azure OpenAI REST reference, chat completions `temperature`).
    temperature_max: Some(2.0),
    model_continues: |_| true,
    // The same content parts and limits as OpenAI's Chat Completions
    // (<https://learn.microsoft.com/azure/ai-services/openai/how-to/gpt-with-vision>;
    // PDFs as `file` parts need an api-version that has them).
    media: openai::MEDIA,
});

pub struct Azure;

impl Adapter for Azure {
    fn build(&self, call: &Call<'_>) -> Result<HttpRequest, ProviderError> {
        let mut headers = super::json_headers();
        if let Some(key) = &call.endpoint.key {
            headers.insert("api-key", super::secret_header(key.expose())?);
        }
        super::extra_headers(&mut headers, call.endpoint)?;
        let version = call
            .endpoint
            .api_version
            .as_deref()
            .unwrap_or(DEFAULT_API_VERSION);
        Ok(HttpRequest {
            url: format!(
                "{}/openai/deployments/{}/chat/completions?api-version={}",
                call.endpoint.base_url,
                encode_path_segment(call.model),
                encode_path_segment(version)
            ),
            headers,
            body: openai::body(call, "max_tokens"),
        })
    }

    fn parse_body(&self, body: &[u8]) -> Result<Vec<StreamEvent>, ProviderError> {
        openai::parse_body(body)
    }

    fn parse_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> ProviderError {
        openai::parse_error(status, headers, body)
    }

    fn decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(openai::Decoder::default())
    }
}

/// Percent-encodes what may not appear raw in a URL path segment or query value.
pub(crate) fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::types::ChatRequest;
    use crate::provider::{ApiKey, Endpoint};

    #[test]
    fn url_and_key_header() {
        let provider = Endpoint {
            name: "az".into(),
            kind: KIND,
            base_url: "https://res.openai.azure.com".into(),
            key: None,
            headers: vec![],
            api_version: None,
            continuation: crate::provider::Continuation::None,
            stream_usage: None,
        };
        let key = ApiKey::new("azure-secret".into());
        let request = ChatRequest {
            messages: ChatRequest::prompt(
                None,
                "hi",
                crate::provider::types::Params::default(),
                false,
            )
            .messages,
            stream: true,
            ..ChatRequest::default()
        };
        let call = Call {
            request: &request,
            endpoint: &Endpoint {
                key: Some(key.clone()),
                ..provider.clone()
            },
            model: "my gpt4o",
            max_output_tokens: None,
        };
        let req = Azure.build(&call).unwrap();
        assert_eq!(
            req.url,
            "https://res.openai.azure.com/openai/deployments/my%20gpt4o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(req.headers["api-key"], "azure-secret");
        assert!(req.headers["api-key"].is_sensitive());
        assert!(req.headers.get("authorization").is_none());
    }
}
