//! `route`: ad-hoc prompting across LLM providers, with fallback chains,
//! side-by-side comparisons and a cost ledger.
//!
//! This library exists so that the integration tests, fuzz targets and
//! benchmarks can reach the parsers, the router and the cost code directly.
//! It makes no promise of a stable API.

pub mod attach;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod env;
pub mod error;
pub mod exit;
pub mod ledger;
pub mod money;
pub mod output;
pub mod pipeline;
pub mod profile;
pub mod provider;
pub mod router;
pub mod signal;
pub mod structured;
pub mod suggest;
pub mod time;
pub mod tokens;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::exit::ExitStatus;
use crate::output::Printer;

/// Runs `route` with the given arguments and returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors; clap prints them itself.
            let code = if e.use_stderr() {
                ExitStatus::Usage
            } else {
                ExitStatus::Success
            };
            let _ = e.print();
            return code.into();
        }
    };
    let env: &'static dyn Fn(&str) -> Option<String> = &env::var;
    let ctx = commands::Context {
        printer: Printer::detect(env),
        profile_flag: cli.global.profile.clone(),
        env,
    };
    match commands::dispatch(cli, &ctx) {
        Ok(status) => status.into(),
        // A closed stdout: nothing to say, and nowhere to say it.
        Err(e) if e.status() == ExitStatus::Success => ExitStatus::Success.into(),
        Err(e) => {
            ctx.printer.error(&e.to_string());
            e.status().into()
        }
    }
}
