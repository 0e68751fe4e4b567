//! `route models`: the profile's aliases and chains with their prices, pins and health
//! (CONTRACT.md "route models"); `--check`, a live request to each model; `--catalog`
//! and `--update-catalog`.
//!
//! The advice about a model (floating id, unknown price, retirement and successor) comes
//! from [`crate::pipeline::advice`], so that `route models`, `route init --check` and `route ask`
//! say the same thing. One file per job: `list` the table and its JSON, `check` the
//! live check, `catalog` the price catalog's listing and download.

mod catalog;
mod check;
mod list;

use std::fs;
use std::time::SystemTime;

use serde::Serialize;

use super::Context;
use crate::catalog::Catalog;
use crate::cli::ModelsArgs;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output::Printer;
use crate::pipeline::Session;
use crate::pipeline::advice::{self, ModelToCheck, warn_with_hint};
use crate::profile::check::{self as profile_check, CheckOptions, Problem, Severity, Topic};
use crate::profile::{Profile, Settings, Target, reference};

pub fn models(args: &ModelsArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    if let Some(which) = &args.names {
        return names(which, ctx);
    }
    if let Some(url) = &args.update_catalog {
        return catalog::update_catalog(url, ctx);
    }
    if let Some(filter) = &args.catalog {
        return catalog::list_catalog(filter, args.json, ctx);
    }
    let bound = check::Bound::from_flag(args.timeout.as_deref())?;
    let session = Session::with_profile(ctx, load_or_report(ctx)?);
    let catalog = session.catalog();
    let now = SystemTime::now();
    let entries = entries(&session.profile)?;
    report_problems(ctx, &session.profile, catalog, &entries, now);
    if args.check {
        return check::live_check(&session, &entries, &bound, args.json);
    }
    list::list(&session, &entries, args.json, now)
}

/// One model the profile can use: an alias, or a `provider/model` member of a chain.
struct Entry {
    target: Target,
    /// The settings its health is judged by (cooldown): the profile's for an alias,
    /// the chain's for a chain member.
    settings: Settings,
    /// The chains it is a member of.
    chains: Vec<String>,
}

/// Aliases in name order, then the `provider/model` members of chains.
fn entries(profile: &Profile) -> Result<Vec<Entry>, Error> {
    let mut out: Vec<Entry> = Vec::new();
    for name in profile.models.keys() {
        let target = single(profile, name)?;
        out.push(Entry {
            target,
            settings: profile.settings,
            chains: Vec::new(),
        });
    }
    for chain in profile.chains.values() {
        for member in &chain.models {
            if let Some(e) = out.iter_mut().find(|e| e.target.label == *member) {
                if !e.chains.contains(&chain.name) {
                    e.chains.push(chain.name.clone());
                }
                continue;
            }
            out.push(Entry {
                target: single(profile, member)?,
                settings: chain.settings,
                chains: vec![chain.name.clone()],
            });
        }
    }
    Ok(out)
}

fn single(profile: &Profile, name: &str) -> Result<Target, Error> {
    let resolved = reference::resolve(profile, name)?;
    resolved
        .targets
        .into_iter()
        .next()
        .ok_or_else(|| Error::usage(format!("`{name}` names no model")))
}

/// The path of the profile file in use, if there is one: `--profile`, else
/// `ROUTE_PROFILE`, else the default location when a file is there.
fn profile_file(ctx: &Context) -> Option<std::path::PathBuf> {
    super::init::target_path(ctx).filter(|p| p.is_file())
}

/// Loads the profile; when it is refused and has more than one error, lists them all
/// (the loader names only the first).
fn load_or_report(ctx: &Context) -> Result<Profile, Error> {
    let err = match ctx.load_profile() {
        Ok(p) => return Ok(p),
        Err(e) => e,
    };
    let Some(path) = profile_file(ctx) else {
        return Err(err);
    };
    let Ok(text) = fs::read_to_string(&path) else {
        return Err(err);
    };
    let catalog = ctx.catalog();
    let problems = profile_check::check(
        &path,
        &text,
        &CheckOptions {
            env: ctx.env,
            catalog: &catalog,
            run_key_commands: false,
            now: SystemTime::now(),
        },
    );
    let errors: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    if errors.len() < 2 {
        return Err(err);
    }
    for p in &errors {
        ctx.printer.note(&p.render(&path));
    }
    Err(Error::usage_hint(
        format!(
            "the profile {} has {} problems",
            path.display(),
            errors.len()
        ),
        Some("fix them, then run `route init --check`".into()),
    ))
}

/// Warnings on stderr: the profile's own problems (keys that cannot be found, ...) and
/// the advice about each model (floating id, unknown price, retirement).
fn report_problems(
    ctx: &Context,
    profile: &Profile,
    catalog: &Catalog,
    entries: &[Entry],
    now: SystemTime,
) {
    let printer = &ctx.printer;
    if let Some(path) = &profile.path {
        if let Ok(text) = fs::read_to_string(path) {
            let opts = CheckOptions {
                env: ctx.env,
                catalog,
                run_key_commands: false,
                now,
            };
            for p in profile_check::check(path, &text, &opts) {
                // The advice is given below for every model, file or not.
                if matches!(p.topic, Topic::Profile | Topic::Key) {
                    let place = match p.location {
                        Some((line, col)) => format!("{}:{line}:{col}", path.display()),
                        None => path.display().to_string(),
                    };
                    warn_with_hint(
                        printer,
                        &format!("{place}: {}", p.message),
                        p.hint.as_deref(),
                    );
                }
            }
        }
    }
    for e in entries {
        let t = &e.target;
        let what = match &t.alias {
            Some(a) => format!("`{a}`"),
            None => format!("chain `{}`: `{}`", e.chains.join("`, `"), t.label),
        };
        let o = &t.overrides;
        let model = ModelToCheck {
            what: &what,
            kind: t.provider.kind,
            provider: &t.provider.name,
            model: &t.model,
            priced_by_profile: o.input_cost.is_some() && o.output_cost.is_some(),
        };
        for p in advice::advice(catalog, &model, now) {
            warn_with_hint(printer, &p.message, p.hint.as_deref());
        }
    }
}

pub(super) fn print_json<T: Serialize>(printer: Printer, value: &T) -> Result<(), Error> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::failed(e.to_string()).caused_by(e))?;
    text.push('\n');
    printer.out(&text)?;
    Ok(())
}

// -- --names ---------------------------------------------------------------------------

/// Alias and chain names, one per line, for shell completion. Quiet on every error: a
/// completion must never print into the user's command line.
fn names(which: &str, ctx: &Context) -> Result<ExitStatus, Error> {
    let Ok(profile) = ctx.load_profile() else {
        return Ok(ExitStatus::Success);
    };
    let mut names: Vec<&str> = Vec::new();
    if which != "chains" {
        names.extend(profile.models.keys().map(String::as_str));
    }
    if which != "aliases" {
        names.extend(profile.chains.keys().map(String::as_str));
    }
    let mut out = names.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    ctx.printer.out(&out)?;
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn names_cover_aliases_and_chains() {
        let p = crate::profile::load::parse(
            Path::new("p.toml"),
            "[providers.o]\nkind = \"openai\"\n[models.a]\nprovider = \"o\"\nmodel = \"m\"\n[chains.c]\nmodels = [\"a\", \"o/x\"]\n", &|_| None,
        )
        .unwrap();
        let e = entries(&p).unwrap();
        let labels: Vec<&str> = e.iter().map(|e| e.target.label.as_str()).collect();
        assert_eq!(labels, ["a", "o/x"]);
        assert_eq!(e[0].chains, ["c"]);
    }
}
