//! Every environment variable `route` itself reads, in one documented list.
//!
//! The variables of provider kinds (their keys, `OLLAMA_HOST`, the ones that
//! make the profile built from the environment) are facts of each kind and
//! live in its description ([`crate::provider::KindSpec`]);
//! [`crate::provider::kind::env_vars`] lists them all.

/// Path of the profile (overridden by `--profile`).
pub const ROUTE_PROFILE: &str = "ROUTE_PROFILE";
/// Folder for the ledger and the catalog cache.
pub const ROUTE_DATA_DIR: &str = "ROUTE_DATA_DIR";
/// Any value turns colour off (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
/// Terminal width, when set, for tables.
pub const COLUMNS: &str = "COLUMNS";

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
