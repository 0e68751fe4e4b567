//! The shape of the document: every key against the schema, required keys, and the
//! type of every value. The loader has always given serde's wording for these.

use std::borrow::Cow;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Stage, Style, Value, Walk, integer};
use crate::profile::schema::{self, Key, Type};
use crate::provider::ProviderKind;
use crate::suggest;

/// serde's name for the type of a value, as in "invalid type: integer `5`".
fn unexpected(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("string {:?}", s.as_ref()),
        DeValue::Integer(i) => format!("integer `{}`", integer(i).unwrap_or_default()),
        DeValue::Float(f) => {
            let n: f64 = f.as_str().parse().unwrap_or(f64::NAN);
            let shown = n.to_string();
            if n.is_finite() && !shown.contains(['.', 'e']) {
                format!("floating point `{shown}.0`")
            } else {
                format!("floating point `{shown}`")
            }
        }
        DeValue::Boolean(b) => format!("boolean `{b}`"),
        DeValue::Array(_) => "sequence".into(),
        DeValue::Table(_) | DeValue::Datetime(_) => "map".into(),
    }
}

/// serde's "expected one of `a`, `b`".
fn one_of(names: &[&str]) -> String {
    match names {
        [] => "nothing".into(),
        [a] => format!("`{a}`"),
        [a, b] => format!("`{a}` or `{b}`"),
        _ => format!(
            "one of {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl Walk<'_> {
    /// The keys of table `t` (at `span`, named `at` with a trailing dot) against `keys`.
    pub(super) fn shape(
        &mut self,
        t: &DeTable<'_>,
        keys: &'static [Key],
        at: &str,
        span: Range<usize>,
    ) {
        for (k, v) in t {
            let name = k.get_ref().as_ref();
            match schema::find(keys, name) {
                Some(key) => self.shape_value(v, key.ty, &format!("{at}{name}")),
                None => self.unknown_key(k, at, keys),
            }
        }
        for key in keys.iter().filter(|k| k.required) {
            if !t.contains_key(key.name) {
                self.missing(span.clone(), at, key.name);
            }
        }
    }

    fn unknown_key(&mut self, k: &Spanned<Cow<'_, str>>, at: &str, keys: &[Key]) {
        let name = k.get_ref();
        let known: Vec<&str> = schema::names(keys).collect();
        let hint = suggest::did_you_mean(name, known.iter().copied());
        let (message, hint) = match self.style {
            Style::Load => (
                format!("unknown field `{name}`, expected {}", one_of(&known)),
                hint,
            ),
            Style::Check => (
                format!("unknown key `{at}{name}`"),
                hint.or_else(|| Some(format!("known keys: {}", known.join(", ")))),
            ),
        };
        self.push(Stage::Shape, k.span(), message, hint);
    }

    fn missing(&mut self, span: Range<usize>, at: &str, key: &str) {
        let (message, hint) = match self.style {
            Style::Load => (format!("missing field `{key}`"), None),
            Style::Check => {
                let hint = match key {
                    "kind" => Some(format!("kinds: {}", ProviderKind::NAMES.join(", "))),
                    "provider" => Some(self.providers_hint()),
                    _ => None,
                };
                let table = at.trim_end_matches('.');
                (format!("{table}: `{key}` is missing"), hint)
            }
        };
        self.push(Stage::Shape, span, message, hint);
    }

    /// A value of the wrong type. `load` is what serde expected, `check` how the
    /// check says it.
    fn wrong_type(&mut self, v: &Value<'_>, what: &str, load: &str, check: &str) {
        let got = match v.get_ref() {
            // serde reads a datetime as a map: say what it is where a table is wanted.
            DeValue::Datetime(_) if check == "a table" => "datetime".to_owned(),
            other => unexpected(other),
        };
        let message = match self.style {
            Style::Load => format!("invalid type: {got}, expected {load}"),
            Style::Check => format!("{what} must be {check} (got {})", v.get_ref().type_str()),
        };
        self.push(Stage::Shape, v.span(), message, None);
    }

    fn shape_value(&mut self, v: &Value<'_>, ty: Type, what: &str) {
        let value = v.get_ref();
        match ty {
            Type::String | Type::Choice(_) | Type::Url | Type::Duration { .. } => {
                if !matches!(value, DeValue::String(_)) {
                    self.wrong_type(v, what, "a string", "a string");
                }
            }
            Type::Bool => {
                if !matches!(value, DeValue::Boolean(_)) {
                    self.wrong_type(v, what, "a boolean", "true or false");
                }
            }
            Type::Integer { .. } | Type::Tokens => {
                if !matches!(value, DeValue::Integer(_)) {
                    self.wrong_type(v, what, "i64", "an integer");
                }
            }
            Type::Dollars => {
                if !matches!(value, DeValue::Integer(_) | DeValue::Float(_)) {
                    self.wrong_type(v, what, "f64", "a number");
                }
            }
            Type::Strings => match value {
                DeValue::Array(items) => {
                    for item in items {
                        if !matches!(item.get_ref(), DeValue::String(_)) {
                            self.wrong_type(item, &format!("{what}[]"), "a string", "a string");
                        }
                    }
                }
                _ => self.wrong_type(v, what, "a sequence", "a list"),
            },
            Type::StringTable => match value {
                DeValue::Table(t) => {
                    for (k, item) in t {
                        if !matches!(item.get_ref(), DeValue::String(_)) {
                            let what = format!("{what}.{}", k.get_ref());
                            self.wrong_type(item, &what, "a string", "a string");
                        }
                    }
                }
                _ => self.wrong_type(v, what, "a map", "a table"),
            },
            Type::AnyTable => {
                if !matches!(value, DeValue::Table(_)) {
                    self.wrong_type(v, what, "a map", "a table");
                }
            }
            Type::Table(keys) => match value {
                DeValue::Table(t) => self.shape(t, keys, &format!("{what}."), v.span()),
                _ => self.wrong_type(v, what, "a table", "a table"),
            },
            Type::Named(keys) => match value {
                DeValue::Table(t) => {
                    for (name, entry) in t {
                        let at = format!("{what}.{}", name.get_ref());
                        match entry.get_ref() {
                            DeValue::Table(e) => {
                                self.shape(e, keys, &format!("{at}."), entry.span());
                            }
                            _ => self.wrong_type(entry, &at, "a table", "a table"),
                        }
                    }
                }
                _ => self.wrong_type(v, what, "a map", "a table"),
            },
        }
    }
}
