//! `route init`: writes a commented starter profile, filled from the provider keys
//! found in the environment, and `route init --check`: every problem of the profile
//! at once (see `profile::check`).
//!
//! The starter profile holds the same providers, aliases and `main` chain as the
//! profile `route` builds from the environment when there is no file
//! ([`profile::load::from_env`]), so that writing it changes nothing about what
//! `route ask` does; floating ids are pinned to the catalog's newest snapshot. Keys are
//! never written, only the names of the variables that hold them. The file is created
//! readable by its owner alone (0600).

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::Context;
use crate::catalog::Catalog;
use crate::cli::InitArgs;
use crate::env;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::profile::check::{self, CheckOptions, Pin, Severity};
use crate::profile::schema::{self, Field};
use crate::profile::{self, KeySource, Profile, Provider, Settings, Strategy, duration};

pub fn init(args: &InitArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let path = target_path(ctx).ok_or_else(|| {
        Error::usage_hint(
            "no config folder was found for the profile",
            Some("pass --profile PATH (or set ROUTE_PROFILE)".into()),
        )
    })?;
    if args.check {
        return check_profile(&path, ctx);
    }
    if path.exists() && !args.force {
        return Err(refusal(&path));
    }
    // Without a key there is nothing to write: a profile of comments only
    // would shadow the keys set later (it has no `default`), while without a
    // profile route already asks whichever providers' keys are set.
    let Ok(found) = profile::load::from_env(ctx.env) else {
        return Err(Error::usage_hint(
            "no provider key was found in the environment, so nothing was written",
            Some(format!(
                "set one of {}, then run `route init` again (until then, route asks the providers whose keys are set, with no profile at all)",
                key_variables()
            )),
        ));
    };
    let catalog = ctx.catalog();
    let text = starter(&found, ctx.env, &catalog, SystemTime::now());
    write_private(&path, &text, args.force)?;

    let printer = &ctx.printer;
    let providers: Vec<&str> = found.providers.keys().map(String::as_str).collect();
    let chain = found
        .chains
        .get("main")
        .map(|c| c.models.join(" → "))
        .unwrap_or_default();
    printer.note(&format!(
        "route: wrote {} (providers: {}; default chain main: {chain})",
        path.display(),
        providers.join(", ")
    ));
    printer.note(&format!(
        "next:\n  route models                  your models, prices and health\n  route ask \"Say hello\"         ask the default chain\n  route init --check            check the profile after editing it\n  {}",
        "route completions --help      tab completion for your shell"
    ));
    Ok(ExitStatus::Success)
}

/// What to set, in the words of the environment profile's own error.
fn key_variables() -> String {
    crate::provider::kind::env_profile_variables()
}

/// Where the profile is: `--profile` (clap also reads `ROUTE_PROFILE` into it), else
/// `ROUTE_PROFILE` from the context's environment, else `<config dir>/route/profile.toml`.
pub(super) fn target_path(ctx: &Context) -> Option<PathBuf> {
    ctx.profile_flag
        .clone()
        .or_else(|| {
            (ctx.env)(env::ROUTE_PROFILE)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        })
        .or_else(profile::load::default_path)
}

fn refusal(path: &Path) -> Error {
    Error::usage_hint(
        format!("{} already exists; not overwriting it", path.display()),
        Some("pass --force to replace it, or run `route init --check` to check it as it is".into()),
    )
}

/// Writes `text` to `path`, readable by its owner alone. Without `force` the file is
/// created only if it does not exist (no race with another writer); with `force` a
/// temporary file is renamed over the old one, so that the old profile stays whole
/// until the new one is.
fn write_private(path: &Path, text: &str, force: bool) -> Result<(), Error> {
    let fail = |what: &str, p: &Path, e: std::io::Error| {
        Error::failed(format!("cannot {what} {}: {e}", p.display()))
    };
    // Through a symlink (dotfiles), write the file it points to.
    let path = if force {
        fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
    } else {
        path.to_owned()
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    if !dir.as_os_str().is_empty() {
        fs::create_dir_all(dir).map_err(|e| fail("create", dir, e))?;
    }
    let open = |p: &Path| {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        opts.open(p)
    };
    let write = |p: &Path| {
        let mut f = open(p)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    };
    if !force {
        return write(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                refusal(&path)
            } else {
                fail("write", &path, e)
            }
        });
    }
    let name = path.file_name().map_or_else(
        || "profile.toml".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let done = write(&tmp).and_then(|()| fs::rename(&tmp, &path));
    if let Err(e) = done {
        let _ = fs::remove_file(&tmp);
        return Err(fail("write", &path, e));
    }
    Ok(())
}

/// `route init --check`: every problem on stdout, `path:line:col: severity: message`,
/// a count on stderr; exit 2 when there is an error. Warnings alone (a floating
/// id, an unknown price) exit 0: that profile works.
fn check_profile(path: &Path, ctx: &Context) -> Result<ExitStatus, Error> {
    if !path.exists() {
        return Err(Error::usage_hint(
            format!("there is no profile at {}", path.display()),
            Some("run `route init` to write one".into()),
        ));
    }
    let text = fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read profile {}: {e}", path.display())))?;
    let catalog = ctx.catalog();
    let problems = check::check(
        path,
        &text,
        &CheckOptions {
            env: ctx.env,
            catalog: &catalog,
            run_key_commands: true,
            now: SystemTime::now(),
        },
    );
    if problems.is_empty() {
        ctx.printer
            .note(&format!("route: {}: no problems found", path.display()));
        return Ok(ExitStatus::Success);
    }
    let mut out = String::new();
    for p in &problems {
        out.push_str(&p.render(path));
        out.push('\n');
    }
    ctx.printer.out(&out)?;
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = problems.len() - errors;
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    ctx.printer.note(&format!(
        "route: {}: {} and {}",
        path.display(),
        count(errors, "error"),
        count(warnings, "warning")
    ));
    Ok(if errors > 0 {
        ExitStatus::Usage
    } else {
        ExitStatus::Success
    })
}

/// The starter profile's text. `found` is the profile built from the environment (its
/// providers, aliases and `main` chain are written out); providers it lacks are shown
/// as commented examples, taken from the same table with every key assumed set.
fn starter(
    found: &Profile,
    env_var: &dyn Fn(&str) -> Option<String>,
    catalog: &Catalog,
    now: SystemTime,
) -> String {
    // Every provider the environment profile knows, as if each key were set.
    let all = profile::load::from_env(&|name| {
        Some(if name == crate::provider::ollama::HOST_VAR {
            env_var(name).unwrap_or_else(|| "127.0.0.1".into())
        } else {
            "set".into()
        })
    })
    .ok();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# route profile, written by `route init`.\n\
         #\n\
         # Keys are never written here: each provider names the environment variable that\n\
         # holds its key (api_key_env), or a command that prints it (api_key_cmd, such as\n\
         # `pass show openai`). Check this file with `route init --check`; list what it gives\n\
         # you with `route models`.\n"
    );
    t.push_str(
        "# What `route ask` uses without -m: a model alias or a chain.\ndefault = \"main\"\n\n",
    );
    settings_block(&mut t);

    let used: Vec<&Provider> = found.providers.values().collect();
    for provider in &used {
        provider_block(&mut t, provider, "");
        aliases_block(&mut t, found, provider, catalog, now, "");
    }
    if let Some(main) = found.chains.get("main") {
        let members: Vec<String> = main.models.iter().map(|m| format!("\"{m}\"")).collect();
        let _ = writeln!(
            t,
            "[chains.main]\n\
                 # Tried in order: when one fails (outage, rate limit, timeout), the next answers.\n\
                 models = [{}]\n\
                 strategy = \"fallback\"      # {}\n\
                 # Any [settings] key may be overridden here, e.g. first_token_timeout = \"10s\".\n",
            members.join(", "),
            Strategy::NAMES.join(" | ")
        );
    }

    // The providers not set up, as commented examples.
    if let Some(all) = &all {
        let missing: Vec<&Provider> = all
            .providers
            .values()
            .filter(|p| !used.iter().any(|u| u.name == p.name))
            .collect();
        if !missing.is_empty() {
            t.push_str(
                "# -- Other providers: set the key, uncomment, and add the alias to a chain.\n\n",
            );
        }
        for provider in missing {
            provider_block(&mut t, provider, "# ");
            aliases_block(&mut t, all, provider, catalog, now, "# ");
        }
    }
    t.push_str(
        "# Any OpenAI-compatible server works: kind \"openai\" and its base_url.\n\
         # [providers.groq]\n\
         # kind = \"openai\"\n\
         # base_url = \"https://api.groq.com/openai/v1\"\n\
         # api_key_env = \"GROQ_API_KEY\"\n\
         #\n\
         # [models.llama]\n\
         # provider = \"groq\"\n\
         # model = \"llama-3.3-70b-versatile\"\n\
         # input_cost = 0.59            # USD per 1M tokens, when the catalog has no price\n\
         # output_cost = 0.79\n\n",
    );
    t.push_str(
        "# Spending caps in USD, checked before every request:\n\
         # [budget]\n\
         # daily = 5.00\n\
         # monthly = 50.00\n\
         # per_request = 0.50          # refuse when a request's worst case costs more\n",
    );
    t
}

fn settings_block(t: &mut String) {
    let mut s = Settings::default();
    t.push_str("[settings]\n# Every key is optional; these are the defaults.\n");
    for setting in schema::SETTING_FIELDS {
        let value = match setting.field {
            Field::Duration(at) => format!("\"{}\"", duration::format(*at(&mut s))),
            Field::Count(at) => at(&mut s).to_string(),
            Field::Flag(at) => at(&mut s).to_string(),
        };
        let assignment = format!("# {} = {value}", setting.key.name);
        if setting.key.doc.is_empty() {
            let _ = writeln!(t, "{assignment}");
        } else {
            let _ = writeln!(t, "{assignment:<34}# {}", setting.key.doc);
        }
    }
    t.push('\n');
}

fn provider_block(t: &mut String, p: &Provider, c: &str) {
    let _ = writeln!(t, "{c}[providers.{}]", p.name);
    let _ = writeln!(t, "{c}kind = \"{}\"", p.kind.as_str());
    if let Some(var) = p.kind.base_url_var() {
        let default = p.kind.fixed_base_url().unwrap_or_default();
        let _ = writeln!(
            t,
            "{c}# base_url = \"{default}\"   # default: ${var} when set"
        );
    } else if Some(p.base_url.as_str()) != p.kind.fixed_base_url() {
        let _ = writeln!(t, "{c}base_url = \"{}\"", p.base_url);
    }
    if let KeySource::Env(var) = &p.key {
        let _ = writeln!(t, "{c}api_key_env = \"{var}\"");
    }
    t.push_str(if c.is_empty() { "\n" } else { "#\n" });
}

/// Every alias `profile` gives for `provider`, each as a `[models]` table
/// (commented out with `c = "# "`).
fn aliases_block(
    t: &mut String,
    profile: &Profile,
    provider: &Provider,
    catalog: &Catalog,
    now: SystemTime,
    c: &str,
) {
    for alias in profile
        .models
        .values()
        .filter(|m| m.provider == provider.name)
    {
        model_block(t, &alias.name, provider, &alias.model, catalog, now, c);
    }
}

#[allow(clippy::too_many_arguments)]
fn model_block(
    t: &mut String,
    alias: &str,
    p: &Provider,
    model: &str,
    catalog: &Catalog,
    now: SystemTime,
    c: &str,
) {
    let kind = p.kind;
    let (model, note) = match check::pin(kind, model) {
        Pin::Floating => match check::newest_snapshot(catalog, kind, &p.name, model) {
            Some(s) => (s, format!("pinned snapshot of `{model}`")),
            None => (model.to_owned(), String::new()),
        },
        _ => (model.to_owned(), String::new()),
    };
    let _ = writeln!(t, "{c}[models.{alias}]");
    let _ = writeln!(t, "{c}provider = \"{}\"", p.name);
    let line = format!("{c}model = \"{model}\"");
    if note.is_empty() {
        let _ = writeln!(t, "{line}");
    } else {
        let _ = writeln!(t, "{line:<44}# {note}");
    }
    let info = catalog.lookup(kind.as_str(), &p.name, &model);
    let deprecation = info.and_then(|i| i.deprecation_date.as_deref());
    if let Some(r) = check::retirement(catalog, kind, &p.name, &model, deprecation, now) {
        let then = r
            .successor
            .as_ref()
            .map(|s| format!("; consider `{s}`"))
            .unwrap_or_default();
        let _ = writeln!(t, "{c}# note: {r}{then}");
    }
    t.push_str(if c.is_empty() { "\n" } else { "#\n" });
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::env::fixed as env_of;

    #[test]
    fn starter_from_keys_loads_and_names_no_values() {
        let env = env_of(&[
            ("OPENAI_API_KEY", "sk-secret-1"),
            ("GOOGLE_API_KEY", "g-secret"),
        ]);
        let found = profile::load::from_env(&env).unwrap();
        let catalog = crate::catalog::builtin();
        let text = starter(&found, &env, &catalog, SystemTime::now());
        assert!(!text.contains("sk-secret-1") && !text.contains("g-secret"));
        assert!(text.contains("api_key_env = \"OPENAI_API_KEY\""), "{text}");
        assert!(text.contains("api_key_env = \"GOOGLE_API_KEY\""), "{text}");
        assert!(text.contains("# [providers.anthropic]"), "{text}");
        let p = profile::load::parse(Path::new("p.toml"), &text, &|_| None).unwrap();
        assert_eq!(p.default.as_deref(), Some("main"));
        assert_eq!(p.chains["main"].models, found.chains["main"].models);
        assert_eq!(
            p.providers.keys().collect::<Vec<_>>(),
            found.providers.keys().collect::<Vec<_>>()
        );
        // The floating gpt-4o is pinned to a snapshot.
        assert!(p.models["gpt4o"].model.starts_with("gpt-4o-20"), "{text}");
    }

    #[test]
    fn every_commented_example_of_the_starter_loads_once_uncommented() {
        let env = env_of(&[("OPENAI_API_KEY", "k")]);
        let found = profile::load::from_env(&env).unwrap();
        let catalog = crate::catalog::builtin();
        let text = starter(&found, &env, &catalog, SystemTime::now());
        assert!(text.contains("# [providers.anthropic]"), "{text}");
        let uncommented: String = text
            .lines()
            .map(|l| {
                let l = l.strip_prefix("# ").unwrap_or(l);
                let key = l.split_once(" = ").is_some_and(|(k, _)| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
                if l.starts_with('[') || key {
                    format!("{l}\n")
                } else {
                    "\n".to_owned()
                }
            })
            .collect();
        let p = profile::load::parse(Path::new("p.toml"), &uncommented, &|_| None)
            .unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        assert!(p.providers.contains_key("anthropic") && p.providers.contains_key("groq"));
    }
}
