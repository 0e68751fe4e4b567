//! One file per subcommand; [`dispatch`] is a flat table that does no work.
//! The helpers below are the steps several commands share: reading the
//! prompt, parsing `-o`, loading the profile, and looking up model facts.

pub mod ask;
pub mod compare;
pub mod completions;
pub mod cost;
pub mod drill;
pub mod estimate;
pub mod init;
pub mod models;
mod record;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::time::Duration;

use crate::catalog::{self, Catalog, Pricing};
use crate::cli::{Cli, Command, PromptArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output::Printer;
use crate::profile::{self, Profile, Settings, Target};
use crate::provider::types::Params;
use crate::router::plan::ModelFacts;

/// What every command may need, decided once at start-up.
pub struct Context {
    pub printer: Printer,
    pub profile_flag: Option<PathBuf>,
    pub env: &'static dyn Fn(&str) -> Option<String>,
}

impl Context {
    pub fn load_profile(&self) -> Result<Profile, Error> {
        profile::load(&profile::LoadOptions {
            flag: self.profile_flag.as_deref(),
            env: self.env,
        })
    }

    /// The folder of the ledger and the catalog cache.
    pub fn data_dir(&self) -> Option<PathBuf> {
        crate::ledger::data_dir(self.env)
    }

    /// The price catalog: the downloaded one when usable, else the built-in.
    pub fn catalog(&self) -> std::sync::Arc<Catalog> {
        match self.data_dir() {
            Some(dir) => {
                let loaded = catalog::load(&dir);
                if let Some(w) = &loaded.warning {
                    self.printer.warn(w);
                }
                loaded.catalog
            }
            None => catalog::builtin(),
        }
    }
}

pub fn dispatch(cli: Cli, ctx: &Context) -> Result<ExitStatus, Error> {
    match cli.command {
        Command::Ask(args) => ask::ask(&args, ctx),
        Command::Compare(args) => compare::compare(&args, ctx),
        Command::Models(args) => models::models(&args, ctx),
        Command::Cost(args) => match &args.command {
            Some(crate::cli::CostCommand::Estimate(e)) => estimate::estimate(e, ctx),
            None => cost::cost(&args, &cost::CostContext::new(ctx)?),
        },
        Command::Drill(args) => drill::drill(&args, ctx),
        Command::Init(args) => init::init(&args, ctx),
        Command::Completions(args) => completions::completions(&args, ctx),
    }
}

/// The prompt: stdin (when it is not a terminal) first, then a blank line,
/// then the words. No prompt at all is an error.
pub fn read_prompt(words: &[String]) -> Result<String, Error> {
    let stdin = std::io::stdin();
    let piped = if stdin.is_terminal() {
        String::new()
    } else {
        let mut bytes = Vec::new();
        stdin
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::usage(format!("cannot read stdin: {e}")))?;
        String::from_utf8(bytes).map_err(|e| {
            Error::usage(format!(
                "stdin is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })?
    };
    let words = words.join(" ");
    let prompt = match (piped.trim().is_empty(), words.trim().is_empty()) {
        (true, true) => {
            return Err(Error::usage_hint(
                "no prompt: give it as words or pipe it on stdin",
                Some("route ask \"Explain TCP slow start\"  or  git diff | route ask \"review this\"".into()),
            ));
        }
        (false, true) => piped,
        (true, false) => words,
        (false, false) => format!("{}\n\n{words}", piped.trim_end_matches(['\n', '\r'])),
    };
    Ok(prompt)
}

/// `-t`, `--max-tokens` and every `-o KEY=VALUE`. A value is parsed as JSON
/// when it can be (`-o seed=7`, `-o stop='["\n"]'`), and is a string otherwise.
pub fn params(args: &PromptArgs) -> Result<Params, Error> {
    let mut p = Params::default();
    for option in &args.options {
        let Some((key, value)) = option.split_once('=') else {
            return Err(Error::usage_hint(
                format!("-o `{option}` has no `=`"),
                Some("write -o KEY=VALUE, for example -o top_p=0.9".into()),
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(Error::usage(format!("-o `{option}` has an empty key")));
        }
        let json = serde_json::from_str(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
        p.set(key, json)
            .map_err(|e| Error::usage(format!("-o {e}")))?;
    }
    if let Some(t) = args.temperature {
        p.temperature = Some(t);
    }
    if let Some(n) = args.max_tokens {
        p.max_tokens = Some(n);
    }
    Ok(p)
}

/// Applies `--timeout` to every timeout of the settings.
pub fn with_timeout(mut settings: Settings, timeout: Option<&str>) -> Result<Settings, Error> {
    if let Some(t) = timeout {
        let d = profile::duration::parse(t).map_err(|e| Error::usage(format!("--timeout: {e}")))?;
        if d == Duration::ZERO {
            return Err(Error::usage("--timeout must be more than 0"));
        }
        settings.connect_timeout = settings.connect_timeout.min(d);
        settings.first_token_timeout = d;
        settings.idle_timeout = d;
        settings.request_timeout = d;
    }
    Ok(settings)
}

/// What the catalog knows about a target, with the profile's overrides on top.
pub fn facts(target: &Target, catalog: &Catalog) -> (ModelFacts, Option<String>) {
    let kind = target.provider.kind;
    let info = catalog.lookup(kind.as_str(), &target.provider.name, &target.model);
    let o = &target.overrides;
    let mut pricing: Option<Pricing> = info.and_then(|i| i.pricing);
    if let (Some(input), Some(output)) = (o.input_cost, o.output_cost) {
        pricing = Some(Pricing::flat(input, output));
    } else if let Some(p) = pricing.as_mut() {
        if let Some(i) = o.input_cost {
            p.input = i;
        }
        if let Some(out) = o.output_cost {
            p.output = out;
        }
    }
    if let (Some(p), Some(c)) = (pricing.as_mut(), o.cached_input_cost) {
        p.cache_read = Some(c);
    }
    let facts = ModelFacts {
        context_window: o.context_window.or(info.and_then(|i| i.context_window)),
        max_output_tokens: o
            .max_output_tokens
            .or(info.and_then(|i| i.max_output_tokens)),
        pricing,
        local: kind.is_local(),
    };
    (facts, info.and_then(|i| i.deprecation_date.clone()))
}

/// A fresh id for a request: time and randomness, 24 hex digits.
pub fn new_request_id() -> String {
    let mut random = crate::router::random_source();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let r = (random() * f64::from(u32::MAX)) as u32;
    let ms = crate::time::unix_ms(std::time::SystemTime::now());
    format!("{ms:013x}{r:08x}{:03x}", std::process::id() & 0xfff)
}
