//! One file per subcommand; [`dispatch`] is a flat table that does no work
//! beyond checking that the data folder is one.
//! The helpers below read what the user typed for a request: the prompt and
//! `-o`. Sending it is [`crate::pipeline`]'s job.

pub mod ask;
pub mod compare;
pub mod completions;
pub mod cost;
pub mod drill;
pub mod estimate;
pub mod init;
pub mod log;
pub mod models;

use std::io::{IsTerminal, Read};
use std::sync::Arc;

pub use crate::pipeline::Context;

use crate::cli::{Cli, Command, PromptArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::profile::Target;
use crate::provider::types::Params;
use crate::structured::Schema;

pub fn dispatch(cli: Cli, ctx: &Context) -> Result<ExitStatus, Error> {
    if !matches!(cli.command, Command::Completions(_)) {
        ctx.check_data_dir()?;
    }
    match cli.command {
        Command::Ask(args) => ask::ask(&args, ctx),
        Command::Compare(args) => compare::compare(&args, ctx),
        Command::Models(args) => models::models(&args, ctx),
        Command::Cost(args) => match &args.command {
            Some(crate::cli::CostCommand::Estimate(e)) => estimate::estimate(e, ctx),
            None => cost::cost(&args, &cost::CostContext::new(ctx)?),
        },
        Command::Log(args) => log::log(&args, ctx),
        Command::Drill(args) => drill::drill(&args, ctx),
        Command::Init(args) => init::init(&args, ctx),
        Command::Completions(args) => completions::completions(&args, ctx),
    }
}

/// The output format that `--format` and `--json` (short for `--format
/// json`) ask for: `default` when neither is given. Both may be given only
/// when they agree; otherwise it is a usage error naming the two flags.
pub fn output_format<F: clap::ValueEnum + PartialEq + Copy>(
    format: Option<F>,
    json: bool,
    json_format: F,
    default: F,
) -> Result<F, Error> {
    match (format, json) {
        (Some(f), true) if f != json_format => {
            let name = f
                .to_possible_value()
                .map_or_else(String::new, |v| v.get_name().to_owned());
            Err(Error::usage_hint(
                format!("--json and --format {name} ask for different formats"),
                Some("--json is short for --format json: give one of them".into()),
            ))
        }
        (Some(f), _) => Ok(f),
        (None, true) => Ok(json_format),
        (None, false) => Ok(default),
    }
}

/// The prompt: stdin (when it is not a terminal) first, then a blank line,
/// then the words. No prompt at all is an error, with `examples` (of the
/// command at hand) as its hint.
pub fn read_prompt(words: &[String], examples: &str) -> Result<String, Error> {
    let stdin = std::io::stdin();
    let piped = if stdin.is_terminal() {
        String::new()
    } else {
        let mut bytes = Vec::new();
        stdin
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::usage(format!("cannot read stdin: {e}")).caused_by(e))?;
        String::from_utf8(bytes).map_err(|e| {
            Error::usage(format!(
                "stdin is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
            .caused_by(e)
        })?
    };
    let words = words.join(" ");
    let prompt = match (piped.trim().is_empty(), words.trim().is_empty()) {
        (true, true) => {
            return Err(Error::usage_hint(
                "no prompt: give it as words or pipe it on stdin",
                Some(examples.into()),
            ));
        }
        (false, true) => piped,
        (true, false) => words,
        (false, false) => format!("{}\n\n{words}", piped.trim_end_matches(['\n', '\r'])),
    };
    Ok(prompt)
}

/// Checks the temperature each target would be sent against what its
/// provider kind takes, before anything is sent: `-t` / `-o temperature`,
/// else the profile's `params.temperature` of that model.
pub fn check_temperature<'t>(
    args: &PromptArgs,
    params: &Params,
    targets: impl IntoIterator<Item = &'t Target>,
) -> Result<(), Error> {
    for target in targets {
        let (t, source) = match (params.temperature, target.overrides.params.temperature) {
            (Some(t), _) if args.temperature == Some(t) => (t, "-t".to_owned()),
            (Some(t), _) => (t, "-o temperature".to_owned()),
            (None, Some(t)) => (
                t,
                format!(
                    "`params.temperature` of model `{}` in the profile",
                    target.label
                ),
            ),
            (None, None) => continue,
        };
        if let Err(range) = target.provider.kind.check_temperature(t) {
            return Err(Error::usage(format!(
                "{source} {t} is out of range for `{}`: {range} (provider `{}`)",
                target.label, target.provider.name
            )));
        }
    }
    Ok(())
}

/// `--schema`, read and compiled before anything is sent: a file that cannot
/// be read, text that is not JSON or a schema that is not one is exit 2,
/// naming the flag and the file.
pub fn schema(args: &PromptArgs) -> Result<Option<Arc<Schema>>, Error> {
    args.schema
        .as_deref()
        .map(|s| Schema::load(s).map(Arc::new))
        .transpose()
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
