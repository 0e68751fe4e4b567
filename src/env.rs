//! Every environment variable `route` reads, in one documented list.

/// Path of the profile (overridden by `--profile`).
pub const ROUTE_PROFILE: &str = "ROUTE_PROFILE";
/// Folder for the ledger and the catalog cache.
pub const ROUTE_DATA_DIR: &str = "ROUTE_DATA_DIR";
/// Any value turns colour off (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
/// Terminal width, when set, for tables.
pub const COLUMNS: &str = "COLUMNS";

/// Provider keys read by the profile built from the environment.
pub const OPENAI_API_KEY: &str = "OPENAI_API_KEY";
pub const ANTHROPIC_API_KEY: &str = "ANTHROPIC_API_KEY";
pub const GEMINI_API_KEY: &str = "GEMINI_API_KEY";
pub const GOOGLE_API_KEY: &str = "GOOGLE_API_KEY";
pub const OPENROUTER_API_KEY: &str = "OPENROUTER_API_KEY";
/// Ollama's address (`host:port` or a URL); also the default for `kind = "ollama"`.
pub const OLLAMA_HOST: &str = "OLLAMA_HOST";

/// Reads a variable of the real process environment.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// An environment of fixed variables, for tests.
#[cfg(test)]
pub(crate) fn fixed(
    pairs: &'static [(&'static str, &'static str)],
) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}
