//! How one attempt ended, as the ledger, `--json` and the tables name it.
//!
//! [`Outcome::as_str`] is the one spelling of each outcome: serde writes it
//! into JSON and the ledger into its `outcome` column, and both read it back
//! through [`Outcome::parse`].

use std::fmt;

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Outcome {
    /// It answered.
    Ok,
    /// It failed before any answer text was shown.
    Error,
    /// It broke off after part of its answer, or its stream ended early.
    Incomplete,
    /// The user interrupted it.
    Cancelled,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Ok,
        Outcome::Error,
        Outcome::Incomplete,
        Outcome::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Incomplete => "incomplete",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// The outcome of a name [`Outcome::as_str`] gives.
    pub fn parse(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// A failure that counts against the model's health (`cancelled` counts
    /// as neither a success nor a failure).
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Error | Outcome::Incomplete)
    }
}

impl From<Outcome> for &'static str {
    fn from(o: Outcome) -> Self {
        o.as_str()
    }
}

impl TryFrom<String> for Outcome {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        Outcome::parse(&name).ok_or_else(|| format!("unknown outcome `{name}`"))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome;
    use crate::provider::ErrorKind;

    #[test]
    fn names_round_trip_through_the_one_mapping() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, format!("\"{o}\""));
            assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), o);
        }
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{k}\""));
            assert_eq!(serde_json::from_str::<ErrorKind>(&json).unwrap(), k);
        }
        assert_eq!(Outcome::parse("fine"), None);
        assert!(serde_json::from_str::<ErrorKind>("\"oops\"").is_err());
    }
}
