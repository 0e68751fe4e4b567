//! Turns the raw TOML into a [`Profile`], checking every value and naming the
//! line and column of anything wrong.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::raw::{RawProfile, RawSettings};
use super::{
    Budget, Chain, KeySource, ModelAlias, ModelOverrides, Profile, Provider, Settings, Strategy,
    duration,
};
use crate::error::Error;
use crate::provider::ProviderKind;
use crate::provider::types::Params;
use crate::suggest;

/// Where in the file, for messages.
pub(super) struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    /// `path:line:col: message`, with an optional hint on its own line.
    pub(crate) fn error(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Error {
        let (line, col) = line_col(self.text, span.start);
        // The message may quote the profile's values, which may hold any
        // character: escape control characters so that it stays one line.
        let message = message.into();
        Error::usage_hint(
            format!(
                "{}:{line}:{col}: {}",
                self.path.display(),
                crate::error::printable(&message)
            ),
            hint.map(|h| crate::error::printable(&h).into_owned()),
        )
    }
}

/// 1-based line and column of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

pub(super) fn profile(raw: RawProfile, src: &Source<'_>) -> Result<Profile, Error> {
    let settings = settings(&raw.settings, Settings::default(), src)?;

    let mut providers = BTreeMap::new();
    for (name, p) in raw.providers {
        let span = p.span();
        let p = p.into_inner();
        let kind = ProviderKind::parse(p.kind.get_ref()).ok_or_else(|| {
            src.error(
                p.kind.span(),
                format!("providers.{name}: unknown kind `{}`", p.kind.get_ref()),
                suggest::did_you_mean(p.kind.get_ref(), ProviderKind::NAMES.iter().copied())
                    .or_else(|| Some(format!("kinds: {}", ProviderKind::NAMES.join(", ")))),
            )
        })?;
        let sources = usize::from(p.api_key_env.is_some())
            + usize::from(p.api_key_cmd.is_some())
            + usize::from(p.api_key.is_some());
        if sources > 1 {
            return Err(src.error(
                span,
                format!("providers.{name}: give only one of api_key_env, api_key_cmd and api_key"),
                None,
            ));
        }
        let key = if let Some(var) = p.api_key_env {
            KeySource::Env(var)
        } else if let Some(cmd) = p.api_key_cmd {
            KeySource::Command(cmd)
        } else if let Some(key) = p.api_key {
            crate::profile::load::check_private(src.path, &name, key.span(), src)?;
            KeySource::Inline(super::ApiKey::new(key.into_inner()))
        } else {
            KeySource::implied(kind, p.base_url.is_some())
        };
        let base_url = match p.base_url {
            Some(url) => {
                let u = url.get_ref().trim_end_matches('/').to_owned();
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    return Err(src.error(
                        url.span(),
                        format!("providers.{name}.base_url must start with http:// or https://"),
                        None,
                    ));
                }
                u
            }
            // The profile is parsed without the loader's environment: the real one.
            None => kind.default_base_url(&crate::env::var).ok_or_else(|| {
                src.error(
                    span.clone(),
                    format!(
                        "providers.{name}: kind `{}` needs a base_url",
                        kind.as_str()
                    ),
                    kind.base_url_hint().map(Into::into),
                )
            })?,
        };
        providers.insert(
            name.clone(),
            Provider {
                name,
                kind,
                base_url,
                key,
                headers: p.headers.into_iter().collect(),
                api_version: p.api_version,
            },
        );
    }

    let mut models = BTreeMap::new();
    for (name, m) in raw.models {
        let m = m.into_inner();
        if !providers.contains_key(m.provider.get_ref()) {
            return Err(src.error(
                m.provider.span(),
                format!("models.{name}: unknown provider `{}`", m.provider.get_ref()),
                suggest::did_you_mean(m.provider.get_ref(), providers.keys().map(String::as_str))
                    .or_else(|| {
                        Some(format!(
                            "define it under [providers.{}]",
                            m.provider.get_ref()
                        ))
                    }),
            ));
        }
        let mut params = Params::default();
        for (key, value) in m.params {
            let json = serde_json::to_value(&value).map_err(|e| Error::usage(e.to_string()))?;
            params.set(&key, json).map_err(|e| {
                Error::usage(format!("{}: models.{name}.params: {e}", src.path.display()))
            })?;
        }
        let overrides = ModelOverrides {
            input_cost: price(m.input_cost, &name, "input_cost", src)?,
            output_cost: price(m.output_cost, &name, "output_cost", src)?,
            cached_input_cost: price(m.cached_input_cost, &name, "cached_input_cost", src)?,
            context_window: count(m.context_window, &name, "context_window", src)?,
            max_output_tokens: count(m.max_output_tokens, &name, "max_output_tokens", src)?,
            params,
        };
        models.insert(
            name.clone(),
            ModelAlias {
                name,
                provider: m.provider.into_inner(),
                model: m.model,
                overrides,
            },
        );
    }

    let mut chains = BTreeMap::new();
    for (name, c) in &raw.chains {
        let span = c.span();
        let c = c.get_ref();
        if models.contains_key(name) {
            return Err(src.error(
                span,
                format!("`{name}` is both a model alias and a chain"),
                Some("rename one of them".into()),
            ));
        }
        if c.models.is_empty() {
            return Err(src.error(span, format!("chains.{name}.models is empty"), None));
        }
        for member in &c.models {
            let m = member.get_ref();
            if m == name {
                return Err(src.error(member.span(), format!("chain `{name}` names itself"), None));
            }
            if raw.chains.contains_key(m) {
                return Err(src.error(
                    member.span(),
                    format!("chain `{name}` names the chain `{m}`; a chain lists models only"),
                    None,
                ));
            }
            if let Some((provider, model)) = m.split_once('/') {
                if !providers.contains_key(provider) || model.is_empty() {
                    return Err(src.error(
                        member.span(),
                        format!("chain `{name}`: unknown provider `{provider}` in `{m}`"),
                        suggest::did_you_mean(provider, providers.keys().map(String::as_str)),
                    ));
                }
            } else if !models.contains_key(m) {
                return Err(src.error(
                    member.span(),
                    format!("chain `{name}`: unknown model alias `{m}`"),
                    suggest::did_you_mean(m, models.keys().map(String::as_str)),
                ));
            }
        }
        let strategy = match &c.strategy {
            None => Strategy::Fallback,
            Some(s) => Strategy::parse(s.get_ref()).ok_or_else(|| {
                src.error(
                    s.span(),
                    format!("chains.{name}: unknown strategy `{}`", s.get_ref()),
                    Some(format!("strategies: {}", Strategy::NAMES.join(", "))),
                )
            })?,
        };
        chains.insert(
            name.clone(),
            Chain {
                name: name.clone(),
                models: c.models.iter().map(|m| m.get_ref().clone()).collect(),
                strategy,
                settings: self::settings(&c.settings(), settings, src)?,
            },
        );
    }

    let default = match raw.default {
        None => None,
        Some(d) => {
            let name = d.get_ref();
            let known = models.contains_key(name)
                || chains.contains_key(name)
                || name.split(',').all(|part| {
                    let part = part.trim();
                    models.contains_key(part)
                        || part
                            .split_once('/')
                            .is_some_and(|(p, m)| providers.contains_key(p) && !m.is_empty())
                });
            if !known {
                return Err(src.error(
                    d.span(),
                    format!("default `{name}` is not a model alias, chain or provider/model"),
                    suggest::did_you_mean(
                        name,
                        models.keys().chain(chains.keys()).map(String::as_str),
                    ),
                ));
            }
            Some(d.into_inner())
        }
    };

    let budget = Budget {
        daily: price(raw.budget.daily, "budget", "daily", src)?,
        monthly: price(raw.budget.monthly, "budget", "monthly", src)?,
        per_request: price(raw.budget.per_request, "budget", "per_request", src)?,
    };

    Ok(Profile {
        path: Some(src.path.to_owned()),
        default,
        settings,
        providers,
        models,
        chains,
        budget,
        store_text: raw.ledger.store_text,
    })
}

fn price(
    v: Option<Spanned<f64>>,
    table: &str,
    key: &str,
    src: &Source<'_>,
) -> Result<Option<f64>, Error> {
    match v {
        None => Ok(None),
        Some(v) if v.get_ref().is_finite() && *v.get_ref() >= 0.0 => Ok(Some(*v.get_ref())),
        Some(v) => Err(src.error(
            v.span(),
            format!(
                "{table}.{key} must be a number of dollars, 0 or more (got {})",
                v.get_ref()
            ),
            None,
        )),
    }
}

fn count(
    v: Option<Spanned<i64>>,
    table: &str,
    key: &str,
    src: &Source<'_>,
) -> Result<Option<u64>, Error> {
    match v {
        None => Ok(None),
        Some(v) => match u64::try_from(*v.get_ref()) {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(src.error(
                v.span(),
                format!(
                    "models.{table}.{key} must be a positive number of tokens (got {})",
                    v.get_ref()
                ),
                None,
            )),
        },
    }
}

/// Layers raw settings over `base`, checking each value and its range.
fn settings(raw: &RawSettings, base: Settings, src: &Source<'_>) -> Result<Settings, Error> {
    let dur = |v: &Option<Spanned<String>>, key: &str, default| -> Result<_, Error> {
        match v {
            None => Ok(default),
            Some(v) => {
                let d = duration::parse(v.get_ref())
                    .map_err(|e| src.error(v.span(), format!("{key}: {e}"), None))?;
                if d.is_zero() && key != "backoff" && key != "max_retry_wait" && key != "cooldown" {
                    return Err(src.error(v.span(), format!("{key} must be more than 0"), None));
                }
                Ok(d)
            }
        }
    };
    let int =
        |v: &Option<Spanned<i64>>, key: &str, range: Range<i64>, default| -> Result<_, Error> {
            match v {
                None => Ok(default),
                Some(v) if range.contains(v.get_ref()) => {
                    Ok(u32::try_from(*v.get_ref()).unwrap_or(default))
                }
                Some(v) => Err(src.error(
                    v.span(),
                    format!(
                        "{key} must be between {} and {} (got {})",
                        range.start,
                        range.end - 1,
                        v.get_ref()
                    ),
                    None,
                )),
            }
        };
    Ok(Settings {
        connect_timeout: dur(
            &raw.connect_timeout,
            "connect_timeout",
            base.connect_timeout,
        )?,
        first_token_timeout: dur(
            &raw.first_token_timeout,
            "first_token_timeout",
            base.first_token_timeout,
        )?,
        idle_timeout: dur(&raw.idle_timeout, "idle_timeout", base.idle_timeout)?,
        request_timeout: dur(
            &raw.request_timeout,
            "request_timeout",
            base.request_timeout,
        )?,
        retries: int(&raw.retries, "retries", 0..11, base.retries)?,
        backoff: dur(&raw.backoff, "backoff", base.backoff)?,
        max_retry_wait: dur(&raw.max_retry_wait, "max_retry_wait", base.max_retry_wait)?,
        allowed_fails: int(
            &raw.allowed_fails,
            "allowed_fails",
            1..1001,
            base.allowed_fails,
        )?,
        cooldown: dur(&raw.cooldown, "cooldown", base.cooldown)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 9), (2, 4));
    }
}
