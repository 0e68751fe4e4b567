//! Model references (`-m`): an alias, a chain, `provider/model`, or a comma
//! list `a,b,c` (an ad-hoc chain, in order).

use super::{ModelOverrides, Profile, Provider, Settings, Strategy};
use crate::error::Error;
use crate::suggest;

/// One model at one provider, ready to be asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// How the user named it: the alias, or `provider/model`.
    pub label: String,
    /// The alias, when it was named by one.
    pub alias: Option<String>,
    pub provider: Provider,
    /// The model id sent to the provider.
    pub model: String,
    pub overrides: ModelOverrides,
}

impl Target {
    /// A stable key for this model's health and latency in the ledger.
    pub fn health_key(&self) -> String {
        format!("{}/{}", self.provider.name, self.model)
    }
}

/// What a reference stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The reference as given.
    pub reference: String,
    /// The chain's name, when it named one.
    pub chain: Option<String>,
    pub targets: Vec<Target>,
    pub strategy: Strategy,
    pub settings: Settings,
}

/// Resolves a reference against the profile.
pub fn resolve(profile: &Profile, reference: &str) -> Result<Resolved, Error> {
    let reference = reference.trim();
    if reference.is_empty() {
        return Err(Error::usage("the model reference is empty"));
    }
    if let Some(chain) = profile.chains.get(reference) {
        let targets = chain
            .models
            .iter()
            .map(|m| single(profile, m))
            .collect::<Result<_, _>>()?;
        return Ok(Resolved {
            reference: reference.to_owned(),
            chain: Some(chain.name.clone()),
            targets,
            strategy: chain.strategy,
            settings: chain.settings,
        });
    }
    let mut targets = Vec::new();
    for part in reference.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(Error::usage(format!("`{reference}` has an empty entry")));
        }
        // A chain inside a comma list contributes its members, in its order.
        if let Some(chain) = profile.chains.get(part) {
            for m in &chain.models {
                targets.push(single(profile, m)?);
            }
        } else {
            targets.push(single(profile, part)?);
        }
    }
    Ok(Resolved {
        reference: reference.to_owned(),
        chain: None,
        targets,
        strategy: Strategy::Fallback,
        settings: profile.settings,
    })
}

/// The reference `ask` uses without `-m`.
pub fn default_reference(profile: &Profile) -> Result<&str, Error> {
    if let Some(e) = defines_nothing(profile) {
        return Err(e);
    }
    profile.default.as_deref().ok_or_else(|| {
        Error::usage_hint(
            format!("no model given and {} has no `default`", profile.origin()),
            Some("pass -m ALIAS, or add `default = \"...\"` to the profile".into()),
        )
    })
}

/// The error for a profile with neither models nor providers (an empty file):
/// no reference can resolve, and "unknown model" would not say why.
fn defines_nothing(profile: &Profile) -> Option<Error> {
    (profile.models.is_empty() && profile.chains.is_empty() && profile.providers.is_empty()).then(
        || {
            Error::usage_hint(
                format!("{} defines no models", profile.origin()),
                Some(
                    "run `route init` to write a profile from the API keys in the environment, \
                     or add [providers.NAME] and [models.NAME] tables"
                        .into(),
                ),
            )
        },
    )
}

fn single(profile: &Profile, name: &str) -> Result<Target, Error> {
    if let Some(e) = defines_nothing(profile) {
        return Err(e);
    }
    if let Some(alias) = profile.models.get(name) {
        let provider = profile.providers.get(&alias.provider).ok_or_else(|| {
            Error::usage(format!(
                "alias `{name}` names unknown provider `{}`",
                alias.provider
            ))
        })?;
        return Ok(Target {
            label: name.to_owned(),
            alias: Some(name.to_owned()),
            provider: provider.clone(),
            model: alias.model.clone(),
            overrides: alias.overrides.clone(),
        });
    }
    if let Some((provider_name, model)) = name.split_once('/') {
        let providers = || join_or_none(profile.providers.keys().map(String::as_str));
        if provider_name.is_empty() {
            return Err(Error::usage_hint(
                format!("model reference `{name}` has no provider before the `/`"),
                Some(format!(
                    "write PROVIDER/MODEL; providers in {}: {}",
                    profile.origin(),
                    providers()
                )),
            ));
        }
        if model.is_empty() && profile.providers.contains_key(provider_name) {
            return Err(Error::usage_hint(
                format!("model reference `{name}` has no model id after the `/`"),
                Some(format!(
                    "write {provider_name}/MODEL, or an alias; `route models --catalog` lists model ids"
                )),
            ));
        }
        if let Some(provider) = profile
            .providers
            .get(provider_name)
            .filter(|_| !model.is_empty())
        {
            return Ok(Target {
                label: name.to_owned(),
                alias: None,
                provider: provider.clone(),
                model: model.to_owned(),
                overrides: ModelOverrides::default(),
            });
        }
        let hint =
            suggest::did_you_mean(provider_name, profile.providers.keys().map(String::as_str))
                .unwrap_or_else(|| format!("providers in {}: {}", profile.origin(), providers()));
        return Err(Error::usage_hint(
            format!("unknown provider `{provider_name}` in model reference `{name}`"),
            Some(hint),
        ));
    }
    let hint = suggest::did_you_mean(name, profile.reference_names()).unwrap_or_else(|| {
        format!(
            "known aliases and chains: {} (or use provider/model)",
            join_or_none(profile.reference_names())
        )
    });
    Err(Error::usage_hint(
        format!("unknown model `{name}`"),
        Some(hint),
    ))
}

fn join_or_none<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = names.collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn profile() -> Profile {
        crate::profile::load::parse(
            Path::new("p.toml"),
            r#"
[providers.openai]
kind = "openai"
[providers.anthropic]
kind = "anthropic"
[models.sonnet]
provider = "anthropic"
model = "claude-sonnet-4-5-20250929"
[models.gpt]
provider = "openai"
model = "gpt-4o"
[chains.main]
models = ["sonnet", "gpt"]
strategy = "shuffle"
"#,
            &|_| None,
        )
        .unwrap()
    }

    #[test]
    fn resolves_each_form() {
        let p = profile();
        let alias = resolve(&p, "gpt").unwrap();
        assert_eq!(alias.targets[0].model, "gpt-4o");
        let chain = resolve(&p, "main").unwrap();
        assert_eq!(chain.chain.as_deref(), Some("main"));
        assert_eq!(chain.strategy, Strategy::Shuffle);
        assert_eq!(chain.targets.len(), 2);
        let direct = resolve(&p, "anthropic/claude-haiku-4-5").unwrap();
        assert_eq!(direct.targets[0].model, "claude-haiku-4-5");
        assert_eq!(direct.targets[0].alias, None);
        let list = resolve(&p, "gpt, anthropic/x,sonnet").unwrap();
        let labels: Vec<_> = list.targets.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["gpt", "anthropic/x", "sonnet"]);
    }

    #[test]
    fn unknown_names_suggest() {
        let p = profile();
        let err = resolve(&p, "sonet").unwrap_err().to_string();
        assert!(
            err.contains("unknown model `sonet`") && err.contains("sonnet"),
            "{err}"
        );
        let err = resolve(&p, "opnai/gpt-4o").unwrap_err().to_string();
        assert!(err.contains("openai"), "{err}");
    }
}
