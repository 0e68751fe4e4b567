//! The API key as the provider side holds it: a type that cannot print its value.
//!
//! Where a key comes from (a variable, a command, the profile) is the profile's
//! business (`profile::secret`); once resolved it travels here, in an
//! [`Endpoint`](super::Endpoint), to the one adapter that puts it in a header.

use std::fmt;

/// An API key. `Debug` and `Display` print `REDACTED`; the value is reachable
/// only through [`ApiKey::expose`], called where a header is built.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(value: String) -> Self {
        ApiKey(value)
    }

    /// The key itself. Call only to put it into a request header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(REDACTED)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("REDACTED")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let key = ApiKey::new("sk-very-secret".into());
        assert_eq!(format!("{key}"), "REDACTED");
        assert_eq!(format!("{key:?}"), "ApiKey(REDACTED)");
    }
}
