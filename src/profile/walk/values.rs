//! The values: ranges, durations, names that must name something; and the
//! [`Profile`] built from what is good. They are checked in the order the loader has
//! always checked them, so that it reports the same first error.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Stage, Style, Target, Value, Walk, float, integer, string, table};
use crate::money::{Price, Usd};
use crate::profile::problem::{Problem, Severity, Topic};
use crate::profile::schema::{self, Field, Type};
use crate::profile::{
    ApiKey, Budget, Chain, KeySource, ModelAlias, ModelOverrides, Profile, Provider, Settings,
    Strategy, duration,
};
use crate::provider::ProviderKind;
use crate::provider::types::Params;
use crate::suggest;

impl Walk<'_> {
    pub(super) fn profile(&mut self, root: &DeTable<'_>) -> Profile {
        let named = |key: &str| match root.get(key).map(Spanned::get_ref) {
            Some(DeValue::Table(t)) => Some(t),
            _ => None,
        };
        let settings = match named("settings") {
            Some(t) => self.settings(t, Settings::default(), "settings."),
            None => Settings::default(),
        };
        let mut providers = BTreeMap::new();
        for (name, v) in named("providers").into_iter().flatten() {
            if let Some(p) = self.provider(name.get_ref(), v) {
                providers.insert(p.name.clone(), p);
            }
        }
        let mut models = BTreeMap::new();
        for (name, v) in named("models").into_iter().flatten() {
            if let Some(m) = self.model(name.get_ref(), v) {
                models.insert(m.name.clone(), m);
            }
        }
        let mut chains = BTreeMap::new();
        for (name, v) in named("chains").into_iter().flatten() {
            if let Some(c) = self.chain(name, v, settings) {
                chains.insert(c.name.clone(), c);
            }
        }
        let default = root.get("default").and_then(|d| self.default(d));
        let mut budget = Budget::default();
        if let Some(t) = named("budget") {
            budget.daily = self
                .dollars(t, "daily", "budget")
                .and_then(Usd::from_dollars);
            budget.monthly = self
                .dollars(t, "monthly", "budget")
                .and_then(Usd::from_dollars);
            budget.per_request = self
                .dollars(t, "per_request", "budget")
                .and_then(Usd::from_dollars);
        }
        let store_text = named("ledger")
            .and_then(|t| t.get("store_text"))
            .is_some_and(|v| matches!(v.get_ref(), DeValue::Boolean(true)));
        Profile {
            path: Some(self.path.to_owned()),
            default,
            settings,
            providers,
            models,
            chains,
            budget,
            store_text,
        }
    }

    /// Layers the settings keys of `keys` over `base`, checking each value and its
    /// range; `at` names the table, with a trailing dot.
    fn settings(&mut self, keys: &DeTable<'_>, base: Settings, at: &str) -> Settings {
        let mut out = base;
        for setting in schema::SETTING_FIELDS {
            let name = setting.key.name;
            let Some(v) = keys.get(name) else {
                continue;
            };
            let what = match self.style {
                Style::Load => name.to_owned(),
                Style::Check => format!("{at}{name}"),
            };
            match (setting.field, setting.key.ty, v.get_ref()) {
                (Field::Duration(field), Type::Duration { zero }, DeValue::String(s)) => {
                    match duration::parse(s) {
                        Err(e) => self.error(v.span(), format!("{what}: {e}"), None),
                        Ok(d) if d.is_zero() && !zero => {
                            self.error(v.span(), format!("{what} must be more than 0"), None);
                        }
                        Ok(d) => *field(&mut out) = d,
                    }
                }
                (Field::Count(field), Type::Integer { range }, DeValue::Integer(int)) => {
                    let n = integer(int).unwrap_or(i64::MIN);
                    match u32::try_from(n) {
                        Ok(c) if range.contains(n) => *field(&mut out) = c,
                        _ => self.error(
                            v.span(),
                            format!(
                                "{what} must be between {} and {} (got {n})",
                                range.min, range.max
                            ),
                            None,
                        ),
                    }
                }
                (Field::Flag(field), Type::Bool, DeValue::Boolean(b)) => *field(&mut out) = *b,
                // Of the wrong type: the shape has said so.
                _ => {}
            }
        }
        out
    }

    fn provider(&mut self, name: &str, v: &Value<'_>) -> Option<Provider> {
        let at = format!("providers.{name}");
        let t = table(v)?;
        let span = v.span();
        let kind_value = t.get("kind");
        let kind = match kind_value.and_then(|k| string(k).map(|s| (s, k.span()))) {
            None => None,
            Some((s, kind_span)) => {
                let kind = ProviderKind::parse(s);
                if kind.is_none() {
                    self.error(
                        kind_span,
                        format!("{at}: unknown kind `{s}`"),
                        suggest::did_you_mean(s, ProviderKind::NAMES.iter().copied())
                            .or_else(|| Some(format!("kinds: {}", ProviderKind::NAMES.join(", ")))),
                    );
                }
                if let Some(kind) = kind {
                    self.kinds.insert(name.to_owned(), kind);
                }
                kind
            }
        };
        let given: Vec<(&str, &Value<'_>)> = schema::KEY_SOURCES
            .into_iter()
            .filter_map(|k| t.get(k).map(|v| (k, v)))
            .collect();
        let key = if given.len() > 1 {
            let place = if self.check() {
                given[1].1.span()
            } else {
                span.clone()
            };
            self.error(
                place,
                format!("{at}: give only one of api_key_env, api_key_cmd and api_key"),
                None,
            );
            None
        } else {
            self.key_source(name, given.first().copied(), kind, t, &span)
        };
        let base_url = if let Some(u) = t.get("base_url") {
            let s = string(u)?;
            let trimmed = s.trim_end_matches('/');
            if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
                self.error(
                    u.span(),
                    format!("{at}.base_url must start with http:// or https://"),
                    None,
                );
                return None;
            }
            trimmed.to_owned()
        } else {
            let kind = kind?;
            let Some(url) = kind.default_base_url(self.env) else {
                self.error(
                    span,
                    format!("{at}: kind `{}` needs a base_url", kind.as_str()),
                    kind.base_url_hint().map(Into::into),
                );
                return None;
            };
            url
        };
        let headers = t
            .get("headers")
            .and_then(table)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.get_ref().to_string(), string(v)?.to_owned())))
            .collect();
        Some(Provider {
            name: name.to_owned(),
            kind: kind?,
            base_url,
            key: key?,
            headers,
            api_version: t.get("api_version").and_then(string).map(str::to_owned),
            continuation: t
                .get("continuation")
                .and_then(string)
                .and_then(crate::provider::Continuation::parse)
                .unwrap_or_default(),
            stream_usage: t.get("stream_usage").and_then(|v| match v.get_ref() {
                DeValue::Boolean(b) => Some(*b),
                _ => None,
            }),
        })
    }

    /// The provider's key source: the one given, or the one its kind implies.
    fn key_source(
        &mut self,
        name: &str,
        given: Option<(&str, &Value<'_>)>,
        kind: Option<ProviderKind>,
        t: &DeTable<'_>,
        span: &Range<usize>,
    ) -> Option<KeySource> {
        let Some((key, v)) = given else {
            let source = KeySource::implied(kind?, t.contains_key("base_url"));
            self.keys
                .push((name.to_owned(), source.clone(), span.clone()));
            return Some(source);
        };
        let s = string(v)?;
        let source = match key {
            "api_key_env" => KeySource::Env(s.to_owned()),
            "api_key_cmd" => KeySource::Command(s.to_owned()),
            _ => {
                self.private(name, v.span());
                return Some(KeySource::Inline(ApiKey::new(s.to_owned())));
            }
        };
        self.keys.push((name.to_owned(), source.clone(), v.span()));
        Some(source)
    }

    /// The 0600 rule: an inline key is accepted only from a file its owner alone can read.
    fn private(&mut self, provider: &str, span: Range<usize>) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let Ok(meta) = std::fs::metadata(self.path) else {
                return;
            };
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                self.push_topic(
                    Stage::Value,
                    Topic::Key,
                    span,
                    format!(
                        "providers.{provider}.api_key is written in a file that others can read (mode {mode:04o})"
                    ),
                    Some(format!(
                        "run `chmod 600 {}`, or use api_key_env / api_key_cmd instead",
                        self.path.display()
                    )),
                );
            }
        }
        #[cfg(not(unix))]
        let _ = (provider, span);
    }

    fn model(&mut self, name: &str, v: &Value<'_>) -> Option<ModelAlias> {
        let at = format!("models.{name}");
        let t = table(v)?;
        let provider = t.get("provider").and_then(|p| Some((string(p)?, p.span())));
        let provider = match provider {
            Some((p, span)) if !self.names.providers.contains(p) => {
                self.error(
                    span,
                    format!("{at}: unknown provider `{p}`"),
                    suggest::did_you_mean(p, self.names.providers.iter().map(String::as_str))
                        .or_else(|| Some(format!("define it under [providers.{p}]"))),
                );
                None
            }
            other => other.map(|(p, _)| p),
        };
        let mut params = Params::default();
        if let Some(values) = t.get("params").and_then(table) {
            for (key, value) in values {
                if let Err(e) = params.set(key.get_ref(), to_json(value.get_ref())) {
                    self.error(value.span(), format!("{at}.params: {e}"), None);
                }
            }
        }
        // The loader has always named a model's prices without `models.`.
        let price_table = if self.check() { at.as_str() } else { name };
        let input_cost = self.dollars(t, "input_cost", price_table);
        let output_cost = self.dollars(t, "output_cost", price_table);
        let overrides = ModelOverrides {
            input_cost: input_cost.and_then(Price::per_million),
            output_cost: output_cost.and_then(Price::per_million),
            cached_input_cost: self
                .dollars(t, "cached_input_cost", price_table)
                .and_then(Price::per_million),
            context_window: self.tokens(t, "context_window", &at),
            max_output_tokens: self.tokens(t, "max_output_tokens", &at),
            params,
            vision: flag(t, "vision"),
            pdf: flag(t, "pdf"),
        };
        let model = t.get("model").and_then(|m| Some((string(m)?, m.span())));
        let (provider, (model, span)) = (provider?, model?);
        if self.check() && model.trim().is_empty() {
            self.error(span, format!("{at}.model is empty"), None);
        } else if let Some(&kind) = self.kinds.get(provider) {
            self.takes_what_it_claims(&at, t, kind);
            self.targets.push(Target {
                what: format!("alias `{name}`"),
                kind,
                provider: provider.to_owned(),
                model: model.to_owned(),
                span,
                priced_by_profile: input_cost.is_some() && output_cost.is_some(),
            });
        }
        Some(ModelAlias {
            name: name.to_owned(),
            provider: provider.to_owned(),
            model: model.to_owned(),
            overrides,
        })
    }

    /// `vision = true` / `pdf = true` on a model whose provider kind cannot
    /// send that kind of file (Ollama's API takes no PDFs): a warning of the
    /// check, as the setting changes nothing.
    fn takes_what_it_claims(&mut self, at: &str, t: &DeTable<'_>, kind: ProviderKind) {
        if !self.check() {
            return;
        }
        let media = kind.spec().media;
        for (key, carried, what) in [
            ("vision", media.images, "images"),
            ("pdf", media.pdfs, "PDF documents"),
        ] {
            let Some(v) = t.get(key) else { continue };
            if carried || !matches!(v.get_ref(), DeValue::Boolean(true)) {
                continue;
            }
            let mut p = Problem::at(
                self.text,
                &v.span(),
                Severity::Warning,
                Topic::Profile,
                format!(
                    "{at}.{key} = true has no effect: {}'s API takes no {what}",
                    kind.as_str()
                ),
                Some(format!(
                    "remove it; route skips this model for requests with {what}"
                )),
            );
            p.stage = Stage::Value;
            self.problems.push(p);
        }
    }

    /// A number of dollars, 0 or more; `table` names its table in the message.
    fn dollars(&mut self, t: &DeTable<'_>, key: &str, table: &str) -> Option<f64> {
        let v = t.get(key)?;
        let n = float(v.get_ref())?;
        if n.is_finite() && n >= 0.0 {
            Some(n)
        } else {
            self.error(
                v.span(),
                format!("{table}.{key} must be a number of dollars, 0 or more (got {n})"),
                None,
            );
            None
        }
    }

    fn tokens(&mut self, t: &DeTable<'_>, key: &str, at: &str) -> Option<u64> {
        let v = t.get(key)?;
        let DeValue::Integer(i) = v.get_ref() else {
            return None;
        };
        let n = integer(i)?;
        match u64::try_from(n) {
            Ok(n) if n > 0 => Some(n),
            _ => {
                self.error(
                    v.span(),
                    format!("{at}.{key} must be a positive number of tokens (got {n})"),
                    None,
                );
                None
            }
        }
    }

    fn chain(
        &mut self,
        name: &Spanned<Cow<'_, str>>,
        v: &Value<'_>,
        base: Settings,
    ) -> Option<Chain> {
        let span = v.span();
        let name_span = name.span();
        let name = name.get_ref().as_ref();
        let at = format!("chains.{name}");
        let t = table(v)?;
        let mut good = true;
        if self.names.models.contains(name) {
            good = false;
            self.error(
                if self.check() {
                    name_span
                } else {
                    span.clone()
                },
                format!("`{name}` is both a model alias and a chain"),
                Some("rename one of them".into()),
            );
        }
        let members = match t.get("models").map(|m| (m, m.get_ref())) {
            Some((m, DeValue::Array(items))) if items.is_empty() => {
                let place = if self.check() { m.span() } else { span.clone() };
                self.error(place, format!("{at}.models is empty"), None);
                None
            }
            Some((_, DeValue::Array(items))) => Some(items),
            _ => None,
        };
        let mut models = Vec::new();
        for member in members.into_iter().flat_map(|m| m.iter()) {
            let Some(m) = string(member) else {
                good = false;
                continue;
            };
            good &= self.member(name, m, member.span());
            models.push(m.to_owned());
        }
        let strategy = match t.get("strategy").and_then(|s| Some((string(s)?, s.span()))) {
            None => Strategy::Fallback,
            Some((s, place)) => {
                if let Some(strategy) = Strategy::parse(s) {
                    strategy
                } else {
                    let strategies = format!("strategies: {}", Strategy::NAMES.join(", "));
                    let hint = if self.check() {
                        suggest::did_you_mean(s, Strategy::NAMES.iter().copied())
                            .or(Some(strategies))
                    } else {
                        Some(strategies)
                    };
                    self.error(place, format!("{at}: unknown strategy `{s}`"), hint);
                    good = false;
                    Strategy::Fallback
                }
            }
        };
        let settings = self.settings(t, base, &format!("{at}."));
        (good && !models.is_empty()).then(|| Chain {
            name: name.to_owned(),
            models,
            strategy,
            settings,
        })
    }

    /// One member of chain `chain`; whether it is good.
    fn member(&mut self, chain: &str, m: &str, span: Range<usize>) -> bool {
        if m == chain {
            self.error(span, format!("chain `{chain}` names itself"), None);
        } else if self.names.chains.contains(m) {
            self.error(
                span,
                format!("chain `{chain}` names the chain `{m}`; a chain lists models only"),
                None,
            );
        } else if let Some((provider, model)) = m.split_once('/') {
            if !self.names.providers.contains(provider) || model.is_empty() {
                let mut hint = suggest::did_you_mean(
                    provider,
                    self.names.providers.iter().map(String::as_str),
                );
                if self.check() {
                    hint = hint.or_else(|| Some(self.providers_hint()));
                }
                self.error(
                    span,
                    format!("chain `{chain}`: unknown provider `{provider}` in `{m}`"),
                    hint,
                );
            } else {
                if let Some(&kind) = self.kinds.get(provider) {
                    self.targets.push(Target {
                        what: format!("chain `{chain}`: `{m}`"),
                        kind,
                        provider: provider.to_owned(),
                        model: model.to_owned(),
                        span,
                        priced_by_profile: false,
                    });
                }
                return true;
            }
        } else if !self.names.models.contains(m) {
            let mut hint = suggest::did_you_mean(m, self.names.models.iter().map(String::as_str));
            if self.check() {
                hint = hint.or_else(|| {
                    Some("name an alias from [models], or write provider/model".into())
                });
            }
            self.error(
                span,
                format!("chain `{chain}`: unknown model alias `{m}`"),
                hint,
            );
        } else {
            return true;
        }
        false
    }

    fn default(&mut self, d: &Value<'_>) -> Option<String> {
        let name = string(d)?;
        let names = &self.names;
        let known = names.models.contains(name)
            || names.chains.contains(name)
            || name.split(',').all(|part| {
                let part = part.trim();
                names.models.contains(part)
                    || part
                        .split_once('/')
                        .is_some_and(|(p, m)| names.providers.contains(p) && !m.is_empty())
            });
        if known {
            return Some(name.to_owned());
        }
        let hint = suggest::did_you_mean(
            name,
            names
                .models
                .iter()
                .chain(names.chains.iter())
                .map(String::as_str),
        );
        self.error(
            d.span(),
            format!("default `{name}` is not a model alias, chain or provider/model"),
            hint,
        );
        None
    }
}

/// A TOML value as JSON for [`Params::set`] (dates as strings).
/// A boolean key; a value of another type was reported by the shape walk.
fn flag(t: &DeTable<'_>, key: &str) -> Option<bool> {
    match t.get(key).map(Spanned::get_ref) {
        Some(DeValue::Boolean(b)) => Some(*b),
        _ => None,
    }
}

fn to_json(v: &DeValue<'_>) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        DeValue::String(s) => J::String(s.to_string()),
        DeValue::Integer(i) => integer(i).map_or(J::Null, J::from),
        DeValue::Float(f) => f.as_str().parse::<f64>().map_or(J::Null, J::from),
        DeValue::Boolean(b) => J::Bool(*b),
        DeValue::Datetime(d) => J::String(d.to_string()),
        DeValue::Array(a) => J::Array(a.iter().map(|v| to_json(v.get_ref())).collect()),
        DeValue::Table(t) => J::Object(
            t.iter()
                .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
                .collect(),
        ),
    }
}
