//! The one validating walk over a profile's TOML: it checks every key against the
//! schema ([`super::schema`]), checks every value, and builds the [`Profile`] from what
//! is good, collecting every problem with its place on the way.
//!
//! toml's [`DeTable`] keeps a span on every key and value, and a syntax error does not
//! stop it ([`DeTable::parse_recoverable`]), so one walk serves both callers: the loader
//! takes the first error (see [`Walked::first_error`]), `route init --check` shows them
//! all. The two speak a little differently ([`Style`]): the loader keeps the wording it
//! has always had (serde's for unknown keys and wrong types), the check names every key
//! by its full path.

mod shape;
mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::problem::{Problem, Severity, Stage, Topic};
use super::schema;
use super::{KeySource, Profile};
use crate::provider::ProviderKind;

/// Whose words the problems are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// The loader's: short, and serde's wording for the shape of the document.
    Load,
    /// `route init --check`'s: every key by its full path, with more hints.
    Check,
}

/// A model the check gives advice about, with the place to give it.
pub(crate) struct Target {
    /// How messages name it: "alias `gpt`", "chain `main`: `openai/gpt-4o`".
    pub what: String,
    pub kind: ProviderKind,
    pub provider: String,
    pub model: String,
    pub span: Range<usize>,
    /// The profile gives both `input_cost` and `output_cost`.
    pub priced_by_profile: bool,
}

/// What the walk found.
pub(crate) struct Walked {
    /// Everything that is good; complete when there is no error.
    pub profile: Profile,
    pub problems: Vec<Problem>,
    /// Each provider's key source (stated or implied) and where it is stated, for the
    /// check to try; inline keys are left out.
    pub keys: Vec<(String, KeySource, Range<usize>)>,
    /// The models named by aliases and chains.
    pub targets: Vec<Target>,
}

impl Walked {
    /// The error the loader reports: the first of the earliest stage.
    pub(super) fn first_error(&mut self) -> Option<Problem> {
        let i = (0..self.problems.len())
            .filter(|&i| self.problems[i].severity == Severity::Error)
            .min_by_key(|&i| (self.problems[i].stage, i))?;
        Some(self.problems.swap_remove(i))
    }
}

/// Walks the profile text `text`, read from `path` (for the 0600 rule).
pub(crate) fn walk(
    path: &Path,
    text: &str,
    style: Style,
    env: &dyn Fn(&str) -> Option<String>,
) -> Walked {
    let (root, errors) = DeTable::parse_recoverable(text);
    let mut w = Walk {
        path,
        env,
        text,
        style,
        problems: Vec::new(),
        names: Names::default(),
        kinds: BTreeMap::new(),
        keys: Vec::new(),
        targets: Vec::new(),
    };
    for e in &errors {
        let span = e.span().unwrap_or(0..0);
        w.push(Stage::Syntax, span, e.message().trim().to_owned(), None);
    }
    let root = root.get_ref();
    w.names = Names::of(root);
    w.shape(root, schema::TOP, "", 0..0);
    let profile = w.profile(root);
    Walked {
        profile,
        problems: w.problems,
        keys: w.keys,
        targets: w.targets,
    }
}

type Value<'i> = Spanned<DeValue<'i>>;

/// Every name the profile declares, good or not, for the references between tables.
#[derive(Default)]
struct Names {
    providers: BTreeSet<String>,
    models: BTreeSet<String>,
    chains: BTreeSet<String>,
}

impl Names {
    fn of(root: &DeTable<'_>) -> Names {
        let names = |table: &str| -> BTreeSet<String> {
            match root.get(table).map(Spanned::get_ref) {
                Some(DeValue::Table(t)) => t.keys().map(|k| k.get_ref().to_string()).collect(),
                _ => BTreeSet::new(),
            }
        };
        Names {
            providers: names("providers"),
            models: names("models"),
            chains: names("chains"),
        }
    }
}

struct Walk<'a> {
    path: &'a Path,
    /// The environment, for the default base URLs that come from it (`OLLAMA_HOST`).
    env: &'a dyn Fn(&str) -> Option<String>,
    text: &'a str,
    style: Style,
    problems: Vec<Problem>,
    names: Names,
    /// The kind of each provider whose kind is good.
    kinds: BTreeMap<String, ProviderKind>,
    keys: Vec<(String, KeySource, Range<usize>)>,
    targets: Vec<Target>,
}

fn integer(i: &toml::de::DeInteger<'_>) -> Option<i64> {
    i64::from_str_radix(i.as_str(), i.radix()).ok()
}

fn float(v: &DeValue<'_>) -> Option<f64> {
    match v {
        DeValue::Integer(i) => integer(i).and_then(|n| n.to_string().parse().ok()),
        DeValue::Float(f) => f.as_str().parse().ok(),
        _ => None,
    }
}

fn string<'v>(v: &'v Value<'_>) -> Option<&'v str> {
    match v.get_ref() {
        DeValue::String(s) => Some(s.as_ref()),
        _ => None,
    }
}

fn table<'v, 'i>(v: &'v Value<'i>) -> Option<&'v DeTable<'i>> {
    match v.get_ref() {
        DeValue::Table(t) => Some(t),
        _ => None,
    }
}

impl Walk<'_> {
    fn push(&mut self, stage: Stage, span: Range<usize>, message: String, hint: Option<String>) {
        self.push_topic(stage, Topic::Profile, span, message, hint);
    }

    fn push_topic(
        &mut self,
        stage: Stage,
        topic: Topic,
        span: Range<usize>,
        message: String,
        hint: Option<String>,
    ) {
        let mut p = Problem::at(self.text, &span, Severity::Error, topic, message, hint);
        p.stage = stage;
        self.problems.push(p);
    }

    fn error(&mut self, span: Range<usize>, message: String, hint: Option<String>) {
        self.push(Stage::Value, span, message, hint);
    }

    fn check(&self) -> bool {
        self.style == Style::Check
    }

    fn providers_hint(&self) -> String {
        if self.names.providers.is_empty() {
            "no provider is defined: add a [providers.NAME] table".into()
        } else {
            format!(
                "providers: {}",
                self.names
                    .providers
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Style, walk};

    /// The loader's first error, as `line:col: message`.
    fn first(text: &str) -> String {
        let mut w = walk(Path::new("p.toml"), text, Style::Load, &|_| None);
        let p = w.first_error().expect("an error");
        let (line, col) = p.location.unwrap();
        format!("{line}:{col}: {}", p.message)
    }

    /// The loader's words for the shape of the document are serde's, as they were when
    /// serde read the profile.
    #[test]
    fn the_loader_speaks_as_serde_did() {
        assert_eq!(
            first("[settings]\nretries = \"two\"\n"),
            "2:11: invalid type: string \"two\", expected i64"
        );
        assert_eq!(
            first("[settings]\nretries = 2.0\n"),
            "2:11: invalid type: floating point `2.0`, expected i64"
        );
        assert_eq!(
            first("[budget]\ndaily = \"x\"\n"),
            "2:9: invalid type: string \"x\", expected f64"
        );
        assert_eq!(
            first("[ledger]\nkeep = 1\n"),
            "2:1: unknown field `keep`, expected `store_text`"
        );
        assert_eq!(
            first("[providers.o]\nbase_url = \"http://h\"\n"),
            "1:1: missing field `kind`"
        );
        assert_eq!(
            first("[providers.o]\nkind = \"openai\"\n[chains.c]\nmodels = \"o/x\"\n"),
            "4:10: invalid type: string \"o/x\", expected a sequence"
        );
        let unknown = first("[settings]\nidle_timout = \"5s\"\n");
        assert!(
            unknown.starts_with(
                "2:1: unknown field `idle_timout`, expected one of `connect_timeout`, \
                 `first_token_timeout`, `idle_timeout`, `request_timeout`, `retries`,"
            ),
            "{unknown}"
        );
    }

    /// Shape comes before values, and values go in the loader's order: settings
    /// first, each in the schema's order.
    #[test]
    fn the_loader_reports_the_first_error_of_the_earliest_stage() {
        assert_eq!(
            first("[budget]\ndaily = -1\n[settings]\nretries = \"x\"\n"),
            "4:11: invalid type: string \"x\", expected i64"
        );
        assert_eq!(
            first("[settings]\ncooldown = \"x\"\nidle_timeout = \"y\"\n"),
            "3:16: idle_timeout: `y` is not a duration (try \"250ms\", \"5s\", \"2m\", \"1h\")"
        );
    }
}
