//! What a provider kind is: the one description ([`KindSpec`]) that each adapter
//! file gives of itself, and [`ProviderKind`], a handle on it.
//!
//! Every kind-specific fact outside the wire format lives in that description:
//! the default base URL and key variable, the catalog's name for the kind, the
//! decorations of its model ids, its tokenizer, and what the profile built from
//! the environment makes of it. Nothing else matches on kinds, so adding one is
//! a new adapter file and one line in [`super::KINDS`] (issue 12).

use std::fmt;
use std::hash::{Hash, Hasher};

use super::{Adapter, KINDS, MediaSpec};

/// Reads an environment variable: the process's, or a test's.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Everything `route` knows about one provider kind, given by its adapter file.
pub struct KindSpec {
    /// `kind = "…"` in the profile.
    pub name: &'static str,
    /// The wire format.
    pub adapter: &'static dyn Adapter,
    /// Where requests go when the profile gives no `base_url`; `None` when
    /// every user has their own (Azure's resources).
    pub default_base_url: Option<&'static str>,
    /// A variable that, when set, replaces [`KindSpec::default_base_url`]
    /// (`OLLAMA_HOST`), and how its value becomes a base URL.
    pub base_url_var: Option<BaseUrlVar>,
    /// The hint when a profile gives no `base_url` and there is no default.
    pub base_url_hint: Option<&'static str>,
    /// The variable holding the key when the profile names no key source;
    /// `None` for kinds that need no key.
    pub key_var: Option<&'static str>,
    /// Runs on the user's machine: costs nothing, and a missing price there
    /// is not "unknown".
    pub local: bool,
    /// The profile's model id names a deployment, not a model (Azure), so the
    /// served model always differs from it.
    pub model_is_deployment: bool,
    /// The catalog's (LiteLLM's `litellm_provider`) name for this kind's
    /// models. It must be listed in `catalog/providers.txt`.
    pub litellm_provider: &'static str,
    /// The kind speaks for many hosted services (OpenAI-compatible servers):
    /// a profile provider named after one LiteLLM knows (`groq`, `together`)
    /// is priced as that one, not as [`KindSpec::litellm_provider`].
    pub litellm_by_name: bool,
    /// A model id without the kind's decorations (Gemini's `models/` prefix,
    /// Ollama's `:latest` tag), for the catalog; `None` when it has none.
    pub plain_model: fn(&str) -> Option<&str>,
    /// How `route cost estimate` counts the kind's tokens.
    pub tokenizer: Tokenizer,
    /// The providers of this kind in the profile built from the environment.
    pub from_env: &'static [EnvProvider],
    /// Whether the kind can continue an answer that broke off, given the
    /// text written so far as the beginning of the assistant's reply.
    pub continues: Continues,
    /// The part of the text written so far that the kind sends as that
    /// beginning (Anthropic refuses one that ends in whitespace).
    pub prefix_sent: fn(&str) -> &str,
    /// The largest temperature the kind takes (the least is 0); `None` when
    /// it sets no upper bound.
    pub temperature_max: Option<f64>,
    /// Whether a model of the kind can continue an answer, where the kind
    /// can ([`KindSpec::continues`]): newer Claude models take no prefill.
    pub model_continues: fn(&str) -> bool,
    /// What the kind takes as attachments (`-a`), how large, and how it
    /// counts their tokens.
    pub media: MediaSpec,
}

/// Whether a kind can continue an answer (CONTRACT.md "The router's rules").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continues {
    /// Every endpoint of the kind can.
    Always,
    /// The provider table says how (`continuation`, OpenAI-compatible servers).
    ByProfile,
    /// None can (Azure OpenAI).
    Never,
}

/// How an OpenAI-compatible server continues an answer: the profile's
/// `continuation` key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Continuation {
    /// It cannot (OpenAI's own Chat Completions).
    #[default]
    None,
    /// Mistral and DeepSeek: a last assistant message with `"prefix": true`.
    Prefix,
    /// vLLM and llama.cpp: `"continue_final_message": true` and
    /// `"add_generation_prompt": false` in the body.
    ContinueFinalMessage,
}

impl Continuation {
    /// Every value of the profile key, as written there.
    pub const NAMES: [&'static str; 3] = ["none", "prefix", "continue_final_message"];

    pub fn parse(s: &str) -> Option<Continuation> {
        match s {
            "none" => Some(Continuation::None),
            "prefix" => Some(Continuation::Prefix),
            "continue_final_message" => Some(Continuation::ContinueFinalMessage),
            _ => None,
        }
    }
}

/// The whole text is sent as the prefix.
pub fn whole_prefix(written: &str) -> &str {
    written
}

/// A variable that sets a kind's base URL.
pub struct BaseUrlVar {
    pub var: &'static str,
    /// Turns the variable's value (trimmed, not empty) into a base URL.
    pub to_url: fn(&str) -> String,
}

/// How a kind's tokens are counted before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokenizer {
    /// OpenAI's own tokenizers (tiktoken), for the models they know.
    Tiktoken,
    /// Four bytes a token: the kind's tokenizer is not public.
    Approximate,
}

/// One provider of the profile built from the environment when no profile
/// file exists.
pub struct EnvProvider {
    /// Its name in that profile (`openai`, `openrouter`).
    pub name: &'static str,
    /// The variables that make it, in order; the first one set (not empty)
    /// wins. Shown to the user as "A (or B)".
    pub vars: &'static [&'static str],
    /// The variable holds the key. Otherwise it only switches the provider on
    /// (`OLLAMA_HOST`, read again as [`KindSpec::base_url_var`]).
    pub var_is_key: bool,
    /// Its base URL, when not the kind's default (OpenRouter).
    pub base_url: Option<&'static str>,
    /// Its model aliases, `(alias, model)`; the first one joins the chain `main`.
    pub aliases: &'static [(&'static str, &'static str)],
    /// Its place in the list of variables the user is told to set.
    pub listed: u8,
    /// Its place in the chain `main`.
    pub chain: u8,
}

/// A provider kind: a handle on its [`KindSpec`]. Two kinds are equal when
/// their names are.
#[derive(Clone, Copy)]
pub struct ProviderKind(pub(super) &'static KindSpec);

impl PartialEq for ProviderKind {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for ProviderKind {}

impl Hash for ProviderKind {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.name.hash(state);
    }
}

impl fmt::Debug for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProviderKind({})", self.0.name)
    }
}

impl ProviderKind {
    /// Every kind's name, in [`KINDS`] order.
    pub const NAMES: [&'static str; KINDS.len()] = {
        let mut names = [""; KINDS.len()];
        let mut i = 0;
        while i < KINDS.len() {
            names[i] = KINDS[i].0.name;
            i += 1;
        }
        names
    };

    pub fn parse(s: &str) -> Option<ProviderKind> {
        KINDS.iter().copied().find(|k| k.0.name == s)
    }

    pub fn as_str(self) -> &'static str {
        self.0.name
    }

    /// The kind's whole description.
    pub fn spec(self) -> &'static KindSpec {
        self.0
    }

    pub fn adapter(self) -> &'static dyn Adapter {
        self.0.adapter
    }

    /// Where requests go when the profile gives no `base_url`: the kind's
    /// variable when set ([`KindSpec::base_url_var`]), else its default.
    pub fn default_base_url(self, env: Env<'_>) -> Option<String> {
        let from_var = self.0.base_url_var.as_ref().and_then(|v| {
            env(v.var)
                .filter(|value| !value.trim().is_empty())
                .map(|value| (v.to_url)(&value))
        });
        from_var.or_else(|| self.0.default_base_url.map(str::to_owned))
    }

    /// The default base URL, leaving the environment aside.
    pub fn fixed_base_url(self) -> Option<&'static str> {
        self.0.default_base_url
    }

    /// The variable that replaces the default base URL, if the kind has one.
    pub fn base_url_var(self) -> Option<&'static str> {
        self.0.base_url_var.as_ref().map(|v| v.var)
    }

    /// Whether a profile must give this kind a `base_url`.
    pub fn needs_base_url(self) -> bool {
        self.0.default_base_url.is_none() && self.0.base_url_var.is_none()
    }

    /// The hint when a needed `base_url` is missing.
    pub fn base_url_hint(self) -> Option<&'static str> {
        self.0.base_url_hint
    }

    /// The variable holding the key when the profile names no key source.
    pub fn key_var(self) -> Option<&'static str> {
        self.0.key_var
    }

    /// See [`KindSpec::model_is_deployment`].
    pub fn model_is_deployment(self) -> bool {
        self.0.model_is_deployment
    }

    /// See [`KindSpec::local`].
    pub fn is_local(self) -> bool {
        self.0.local
    }

    /// Whether `model` at an endpoint of this kind with the profile's
    /// `continuation` can continue an answer.
    pub fn can_continue(self, continuation: Continuation, model: &str) -> bool {
        let kind = match self.0.continues {
            Continues::Always => true,
            Continues::ByProfile => continuation != Continuation::None,
            Continues::Never => false,
        };
        kind && (self.0.model_continues)(model)
    }

    /// Whether the kind takes temperature `t` ([`KindSpec::temperature_max`]),
    /// and if not, the range it takes.
    pub fn check_temperature(self, t: f64) -> Result<(), String> {
        let max = self.spec().temperature_max;
        if t.is_finite() && t >= 0.0 && max.is_none_or(|m| t <= m) {
            return Ok(());
        }
        Err(match max {
            Some(m) => format!("{} takes a temperature from 0 to {m}", self.as_str()),
            None => format!("{} takes a temperature of at least 0", self.as_str()),
        })
    }

    /// See [`KindSpec::prefix_sent`].
    pub fn prefix_sent(self, written: &str) -> &str {
        (self.0.prefix_sent)(written)
    }
}

/// Every variable that makes a provider of the profile built from the
/// environment, as the user is told to set them:
/// `OPENAI_API_KEY, …, GEMINI_API_KEY (or GOOGLE_API_KEY), … or OLLAMA_HOST`.
pub fn env_profile_variables() -> String {
    let mut entries: Vec<&EnvProvider> = env_providers().collect();
    entries.sort_by_key(|e| e.listed);
    let names: Vec<String> = entries
        .iter()
        .map(|e| match e.vars {
            [first, rest @ ..] if !rest.is_empty() => format!("{first} (or {})", rest.join(", ")),
            vars => vars.join(", "),
        })
        .collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The providers of the profile built from the environment, every kind's, in
/// [`KINDS`] order.
pub fn env_providers() -> impl Iterator<Item = &'static EnvProvider> {
    KINDS.iter().flat_map(|k| k.0.from_env.iter())
}

/// Every environment variable a provider kind reads: keys, base URLs and the
/// variables of the profile built from the environment.
pub fn env_vars() -> Vec<&'static str> {
    let mut vars: Vec<&'static str> = Vec::new();
    for kind in KINDS {
        let spec = kind.0;
        let own = spec.key_var.into_iter().chain(kind.base_url_var());
        for var in own.chain(spec.from_env.iter().flat_map(|e| e.vars.iter().copied())) {
            if !vars.contains(&var) {
                vars.push(var);
            }
        }
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for name in ProviderKind::NAMES {
            assert_eq!(ProviderKind::parse(name).unwrap().as_str(), name);
        }
        assert_eq!(
            ProviderKind::NAMES,
            ["openai", "anthropic", "gemini", "ollama", "azure"]
        );
        assert!(ProviderKind::parse("OpenAI").is_none());
    }

    #[test]
    fn the_user_is_told_every_variable_in_order() {
        assert_eq!(
            env_profile_variables(),
            "OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY (or GOOGLE_API_KEY), \
             OPENROUTER_API_KEY or OLLAMA_HOST"
        );
    }

    #[test]
    fn env_profile_places_are_distinct() {
        let mut listed: Vec<u8> = env_providers().map(|e| e.listed).collect();
        let mut chain: Vec<u8> = env_providers().map(|e| e.chain).collect();
        let n = listed.len();
        listed.sort_unstable();
        listed.dedup();
        chain.sort_unstable();
        chain.dedup();
        assert_eq!((listed.len(), chain.len()), (n, n));
    }

    #[test]
    fn env_profile_names_and_aliases_do_not_collide() {
        // They merge into one profile, where a second one would replace the first.
        let mut names: Vec<&str> = env_providers().map(|e| e.name).collect();
        let mut aliases: Vec<&str> = env_providers()
            .flat_map(|e| e.aliases.iter().map(|(alias, _)| *alias))
            .collect();
        let (n, a) = (names.len(), aliases.len());
        names.sort_unstable();
        names.dedup();
        aliases.sort_unstable();
        aliases.dedup();
        assert_eq!((names.len(), aliases.len()), (n, a));
        assert!(env_providers().all(|e| !e.vars.is_empty() && !e.aliases.is_empty()));
    }

    #[test]
    fn default_base_url_reads_the_given_environment_only() {
        let ollama = ProviderKind::parse("ollama").unwrap();
        let none = |_: &str| None;
        assert_eq!(
            ollama.default_base_url(&none).as_deref(),
            Some("http://127.0.0.1:11434")
        );
        let set = crate::env::fixed(&[("OLLAMA_HOST", "box:9999")]);
        assert_eq!(
            ollama.default_base_url(&set).as_deref(),
            Some("http://box:9999")
        );
        let blank = crate::env::fixed(&[("OLLAMA_HOST", "  ")]);
        assert_eq!(
            ollama.default_base_url(&blank).as_deref(),
            Some("http://127.0.0.1:11434")
        );
        let azure = ProviderKind::parse("azure").unwrap();
        assert!(azure.default_base_url(&set).is_none() && azure.needs_base_url());
    }

    #[test]
    fn env_vars_lists_every_provider_variable() {
        assert_eq!(
            env_vars(),
            [
                "OPENAI_API_KEY",
                "OPENROUTER_API_KEY",
                "ANTHROPIC_API_KEY",
                "GEMINI_API_KEY",
                "GOOGLE_API_KEY",
                "OLLAMA_HOST",
                "AZURE_OPENAI_API_KEY",
            ]
        );
    }
}
