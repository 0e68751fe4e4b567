//! The command line, defined with clap's derive API. Doc comments are the help
//! text; `after_help` carries examples, and `route --help` ends with the
//! [`SECTIONS`] (exit status, environment, files, the profile) that the man pages
//! carry too (src/commands/completions.rs), so that the two cannot drift.
// The doc comments below are `--help` text, where `<placeholder>` is the
// convention, not HTML, and where backticks around names would show.
#![allow(rustdoc::invalid_html_tags, clippy::doc_markdown)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Ad-hoc prompting across LLM providers: fallback chains, side-by-side
/// comparisons and a cost ledger.
#[derive(Debug, Parser)]
#[command(
    name = "route",
    version,
    about,
    propagate_version = true,
    disable_help_subcommand = true,
    after_help = main_short_help(),
    after_long_help = main_long_help()
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The profile to use (default: <config dir>/route/profile.toml)
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        env = "ROUTE_PROFILE",
        hide_env = true
    )]
    pub profile: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ask one model, or a fallback chain; the answer streams to stdout
    Ask(AskArgs),
    /// Send the same prompt to several models at once, side by side
    Compare(CompareArgs),
    /// Show the profile's aliases and chains, with prices and health
    Models(ModelsArgs),
    /// Show what requests cost, from the local ledger
    Cost(CostArgs),
    /// Show what was asked and answered, newest first; `log show` prints one in full
    Log(LogArgs),
    /// Exercise every fallback path of a chain for real
    Drill(DrillArgs),
    /// Write a starter profile from the keys in the environment
    Init(InitArgs),
    /// Print shell completions (bash, zsh, fish, powershell, elvish)
    Completions(CompletionsArgs),
}

/// Options shared by everything that sends a prompt.
#[derive(Debug, Args, Clone, Default)]
pub struct PromptArgs {
    /// The prompt; stdin, when piped, comes first, then a blank line, then these words
    #[arg(value_name = "PROMPT")]
    pub prompt: Vec<String>,
    /// System prompt
    #[arg(short, long, value_name = "SYSTEM")]
    pub system: Option<String>,
    /// A file to send with the prompt (repeatable): a PNG, JPEG, GIF or WebP image or a PDF,
    /// in each provider's own form (models that cannot take it are skipped), or a text file,
    /// inlined
    #[arg(short = 'a', long = "attach", value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub attach: Vec<PathBuf>,
    /// Most tokens to generate
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = positive)]
    pub max_tokens: Option<u64>,
    /// Sampling temperature
    #[arg(short = 't', long = "temperature", value_name = "TEMP", allow_negative_numbers = true, value_parser = finite)]
    pub temperature: Option<f64>,
    /// A provider parameter, passed through (value parsed as JSON when it can be)
    #[arg(short = 'o', long = "option", value_name = "KEY=VALUE")]
    pub options: Vec<String>,
    /// Overrides every timeout of the profile for this request (e.g. 30s)
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Ask for one JSON value matching this JSON Schema (a file, or inline JSON): printed on one
    /// line once complete and checked; an answer that does not match moves on to the next model
    #[arg(long, value_name = "SCHEMA")]
    pub schema: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  route ask \"Explain TCP slow start in two sentences\"
  git diff | route ask -m gpt4o \"Write a commit message\"
  route ask -m sonnet,gpt,flash --no-stream \"Summarise RFC 9110 in one line\"
  route ask -a screenshot.png \"what is wrong here\"
  route ask -a report.pdf -a notes.md \"Summarise both in five bullets\"
  route ask --json -m groq/llama-3.3-70b-versatile \"hi\" | jq .usage
  route ask -c \"and in Python?\"            # continues the latest conversation
  route ask --schema person.json \"Who wrote the first program?\" | jq -r .name
  route ask --schema '{\"type\":\"array\",\"items\":{\"type\":\"string\"}}' \"Three primary colours\"
  route ask --dry-run -m main \"How much would this cost?\"
  route ask --dry-run --json -m main \"hi\" | jq '.models[].worst_case_usd'")]
// Command-line switches are yes/no by nature.
#[allow(clippy::struct_excessive_bools)]
pub struct AskArgs {
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// Model alias, chain, provider/model, or a comma list a,b,c
    #[arg(short, long = "model", value_name = "REF")]
    pub model: Option<String>,
    /// Wait for the whole answer instead of streaming it
    #[arg(long)]
    pub no_stream: bool,
    /// Print one JSON object (text, model, usage, cost, attempts) instead of the text; with
    /// --dry-run, the plan as one JSON object
    #[arg(long)]
    pub json: bool,
    /// A tag recorded in the ledger, for `route cost --by tag`
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Continue the latest conversation: its earlier turns are sent before this prompt
    #[arg(short = 'c', long = "continue", conflicts_with = "cid")]
    pub continue_latest: bool,
    /// Continue the conversation with this id (or its first few characters; see `route log`)
    #[arg(long, value_name = "ID")]
    pub cid: Option<String>,
    /// Do not record this request in the ledger (it cannot be continued later)
    #[arg(long)]
    pub no_log: bool,
    /// Print the plan (models in order, skips, estimated cost) and send nothing
    #[arg(long)]
    pub dry_run: bool,
    /// One line per attempt on stderr
    #[arg(short, long)]
    pub verbose: bool,
    /// No summary line on stderr
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    Table,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  route compare -m sonnet -m gpt -m flash \"Name three sorting algorithms\"
  route compare -m main --format json \"hi\" | jq '.[].cost_usd'
  route compare -m sonnet -m gpt --format markdown \"Review this plan\" > compare.md
  route compare -m gpt -m flash --repeat 5 \"Say OK\"
  route compare -m sonnet -m gpt -m flash -a chart.png \"What does this chart show?\"
  route compare -m sonnet -m gpt -m local --schema person.json \"Who wrote the first program?\"")]
pub struct CompareArgs {
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// A model to ask (repeatable); a chain stands for its members
    #[arg(short, long = "model", value_name = "REF", required = true)]
    pub models: Vec<String>,
    /// Output format (default: table); markdown is the same side-by-side table, answers whole
    #[arg(long, value_enum)]
    pub format: Option<CompareFormat>,
    /// Print one JSON array (the same as --format json)
    #[arg(long)]
    pub json: bool,
    /// Ask each model N times and report median and p95 latency
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Most requests in flight at once (default: all)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: Option<u32>,
    /// A tag recorded in the ledger
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Do not record these requests in the ledger
    #[arg(long)]
    pub no_log: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  route models
  route models --json | jq '.[].alias'
  route models --check
  route models --check --timeout 3s
  route models --catalog claude
  route models --update-catalog")]
pub struct ModelsArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// Send a minimal live request to every model and report reachability and latency
    #[arg(long, conflicts_with_all = ["catalog", "update_catalog"])]
    pub check: bool,
    /// With --check: how long each model may take to answer (default 10s)
    #[arg(long, value_name = "DURATION", requires = "check")]
    pub timeout: Option<String>,
    /// List the built-in price catalog, optionally filtered by a substring
    #[arg(long, value_name = "FILTER", num_args = 0..=1, default_missing_value = "")]
    pub catalog: Option<String>,
    /// Download a fresh price catalog into the data dir (default: LiteLLM's list)
    #[arg(
        long,
        value_name = "URL",
        num_args = 0..=1,
        default_missing_value = "",
        conflicts_with_all = ["catalog", "json"]
    )]
    pub update_catalog: Option<String>,
    /// Print the profile's alias and chain names, one per line (for shell completion)
    #[arg(
        long,
        hide = true,
        value_name = "WHICH",
        num_args = 0..=1,
        default_missing_value = "all",
        value_parser = ["all", "aliases", "chains"]
    )]
    pub names: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CostBy {
    Model,
    Provider,
    Alias,
    Tag,
    Day,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CostFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:
  route log
  route log -n 50 --since 7d
  route log --search \"slow start\"
  route log show                     # the latest request, in full
  route log show 3f2a9c1e            # a request or a whole conversation
  route log --json | jq '.[0].answer'"
)]
pub struct LogArgs {
    #[command(subcommand)]
    pub command: Option<LogCommand>,
    /// Most requests to list (newest first)
    #[arg(short = 'n', long = "limit", value_name = "N", default_value_t = 20, allow_negative_numbers = true, value_parser = positive_usize)]
    pub limit: usize,
    /// Only the requests of this conversation (an id or its first few characters)
    #[arg(long, value_name = "ID")]
    pub cid: Option<String>,
    /// Only requests whose prompt or answer holds every one of these words
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Only requests since a duration ago (24h, 7d) or a local date (2026-11-01)
    #[arg(long, value_name = "DUR|DATE")]
    pub since: Option<String>,
    /// Print one JSON array instead of the table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Print one request, or one whole conversation, in full (default: the latest request)
    Show(LogShowArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  route log show                     # the latest request
  route log show 3f2a9c1e            # a request, or a whole conversation, by id
  route log show --json 3f2a9c1e | jq '.[].answer'")]
pub struct LogShowArgs {
    /// A request id or a conversation id, or its first few characters
    #[arg(value_name = "ID")]
    pub id: Option<String>,
    /// Print one JSON array of the turns instead of the text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:
  route cost
  route cost --since 24h --by model
  route cost --since 2026-11-01 --by day --format csv
  route cost --json --since 7d | jq 'map(.cost_usd // 0) | add'
  route cost estimate -m sonnet -m gpt \"$(cat prompt.txt)\""
)]
pub struct CostArgs {
    #[command(subcommand)]
    pub command: Option<CostCommand>,
    /// Only requests since a duration ago (24h, 7d) or a date (2026-11-01)
    #[arg(long, value_name = "DUR|DATE")]
    pub since: Option<String>,
    /// Totals per model, provider, alias, tag or day
    #[arg(long, value_enum)]
    pub by: Option<CostBy>,
    /// Most rows to show (newest first)
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = positive_usize)]
    pub limit: Option<usize>,
    /// Output format (default: table)
    #[arg(long, value_enum)]
    pub format: Option<CostFormat>,
    /// Print JSON (the same as --format json)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum CostCommand {
    /// Count a prompt's tokens and show what it would cost on each model, sending nothing
    Estimate(EstimateArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  route cost estimate -m sonnet -m gpt \"$(cat prompt.txt)\"
  git diff | route cost estimate -m main --max-tokens 500
  route cost estimate --json -m main \"hi\" | jq '.[].cost_usd'")]
pub struct EstimateArgs {
    /// The prompt; stdin, when piped, comes first
    #[arg(value_name = "PROMPT")]
    pub prompt: Vec<String>,
    /// A model to price (repeatable; default: the profile's default)
    #[arg(short, long = "model", value_name = "REF")]
    pub models: Vec<String>,
    /// The output allowance to price (default: each model's max output)
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = positive)]
    pub max_tokens: Option<u64>,
    /// Print a JSON array, one object per model, instead of the table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  route drill
  route drill main --prompt \"Reply with OK\"
  route drill main --json | jq '.[] | select(.answered | not) | .path'")]
pub struct DrillArgs {
    /// The chain to drill (default: the profile's default)
    #[arg(value_name = "CHAIN")]
    pub chain: Option<String>,
    /// The prompt sent on each path
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "Reply with the single word OK."
    )]
    pub prompt: String,
    /// Print a JSON array, one object per path, instead of the table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  route init
  route init --force
  route init --check")]
pub struct InitArgs {
    /// Overwrite an existing profile
    #[arg(long)]
    pub force: bool,
    /// Check the existing profile and report every problem at once; write nothing
    #[arg(long, conflicts_with = "force")]
    pub check: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  route completions bash > ~/.local/share/bash-completion/completions/route
  route completions zsh > ~/.zfunc/_route
  route completions fish > ~/.config/fish/completions/route.fish")]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `route --help`'s examples and pointer to `route init`; `route -h` adds where to read
/// more.
pub const MAIN_EXAMPLES: &str = "Examples:
  route ask \"Explain TCP slow start in two sentences\"
  git diff | route ask -m sonnet \"Write a commit message\"
  route compare -m sonnet -m gpt -m flash \"Name three sorting algorithms\"
  route models
  route cost --by model --since 7d

The profile lives at ~/.config/route/profile.toml (see `route init`).";

/// A part of `route --help` that the man page `route(1)` carries as a section of its
/// own: a list of terms (exit codes, variables, paths) and an optional example.
#[derive(Debug, Clone, Copy)]
pub struct HelpSection {
    /// The heading, as `--help` shows it; the man page upper-cases it.
    pub title: &'static str,
    /// Prose before the terms (may be empty).
    pub intro: &'static str,
    /// (term, what it means).
    pub items: &'static [(&'static str, &'static str)],
    /// A block shown as written, e.g. a profile (may be empty).
    pub example: &'static str,
}

/// CONTRACT.md's exit code table.
pub const EXIT_STATUS: HelpSection = HelpSection {
    title: "Exit status",
    intro: "",
    items: &[
        ("0", "success (compare: at least one model answered)"),
        (
            "1",
            "every attempt failed, or the provider rejected the request",
        ),
        ("2", "usage, profile or input error"),
        ("3", "refused by a budget"),
        (
            "4",
            "an answer was started but could not be completed by any model",
        ),
        ("130", "interrupted (Ctrl-C)"),
        ("143", "terminated (SIGTERM)"),
    ],
    example: "",
};

/// Every variable in src/env.rs, and the ones the `directories` crate reads.
pub const ENVIRONMENT: HelpSection = HelpSection {
    title: "Environment",
    intro: "",
    items: &[
        (
            crate::env::ROUTE_PROFILE,
            "The profile to use when --profile is not given.",
        ),
        (
            crate::env::ROUTE_DATA_DIR,
            "The folder for the ledger and the catalog cache, instead of <data dir>/route.",
        ),
        (
            crate::env::NO_COLOR,
            "Any value turns colour off (https://no-color.org).",
        ),
        (
            crate::env::COLUMNS,
            "The terminal's width, for tables shown on a terminal.",
        ),
        (
            "OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY (or GOOGLE_API_KEY), OPENROUTER_API_KEY",
            "With no profile file, each key that is set adds its provider (openai, anthropic, \
             gemini, openrouter) to the profile built from the environment.",
        ),
        (
            crate::provider::ollama::HOST_VAR,
            "Ollama's address (host:port or a URL): adds the ollama provider with no profile \
             file, and is the default base_url of kind = \"ollama\".",
        ),
        (
            "AZURE_OPENAI_API_KEY",
            "The key of kind = \"azure\" providers whose table names no key source.",
        ),
        (
            "any api_key_env",
            "A provider's key is read from the variable its api_key_env names.",
        ),
        (
            "XDG_CONFIG_HOME, XDG_DATA_HOME",
            "On Linux, the <config dir> and <data dir> below (default ~/.config and \
             ~/.local/share).",
        ),
    ],
    example: "",
};

/// Where route reads and writes (CONTRACT.md "Where things live").
pub const FILES: HelpSection = HelpSection {
    title: "Files",
    intro: "<config dir> and <data dir> are ~/.config and ~/.local/share on Linux, \
            ~/Library/Application Support on macOS, and %APPDATA% on Windows.",
    items: &[
        (
            "<config dir>/route/profile.toml",
            "The profile (overridden by --profile or ROUTE_PROFILE); `route init` writes it.",
        ),
        (
            "<data dir>/route/ledger.db",
            "The ledger (SQLite): every attempt, its tokens and cost, and the cooldown and \
             Retry-After state; $ROUTE_DATA_DIR/ledger.db when that is set.",
        ),
        (
            "<data dir>/route/catalog.json",
            "The price catalog that `route models --update-catalog` downloaded; without it, \
             the built-in catalog is used.",
        ),
    ],
    example: "",
};

/// A concise profile; README.md and docs/providers.md in the source list every key.
pub const PROFILE: HelpSection = HelpSection {
    title: "Profile",
    intro: "A TOML file of providers (where and how to send), models (aliases for a \
            provider's model id, best pinned to a dated snapshot), chains (fallback orders), \
            and optional settings and budgets. A model reference (-m) is an alias, a chain, \
            provider/model, or a comma list a,b,c. `route init --check` reports every problem \
            of a profile at once.",
    items: &[],
    example: r#"default = "main"                  # what `ask` uses without -m

[providers.anthropic]
kind = "anthropic"                # openai | anthropic | gemini | ollama | azure
api_key_env = "ANTHROPIC_API_KEY" # or api_key_cmd = "pass show anthropic"

[providers.openai]
kind = "openai"                   # also any OpenAI-compatible server, with base_url
api_key_env = "OPENAI_API_KEY"

[models.opus]
provider = "anthropic"
model = "claude-opus-4-7-20260416"

[models.gpt]
provider = "openai"
model = "gpt-5.5-2026-04-23"

[chains.main]
models = ["opus", "gpt"]
strategy = "fallback"             # or cheapest | fastest | shuffle

[settings]
request_timeout = "120s"          # also retries, cooldown and the other timeouts

[budget]
daily = 5.00                      # USD; also monthly and per_request"#,
};

/// The sections `route --help` and `route(1)` end with, in order.
pub const SECTIONS: [HelpSection; 4] = [EXIT_STATUS, ENVIRONMENT, FILES, PROFILE];

/// `route -h`'s ending: the examples, and where the rest is.
/// A whole number of at least 1 (`--max-tokens`, `--limit`).
fn positive(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "must be a positive whole number (1 or more), got `{s}`"
        )),
    }
}

fn positive_usize(s: &str) -> Result<usize, String> {
    positive(s).map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// A finite number (`-t`): `NaN` and `inf` parse as floats but mean nothing
/// to a provider. Its range depends on the provider kind, checked later.
fn finite(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(t) if t.is_finite() => Ok(t),
        _ => Err(format!("must be a finite number, got `{s}`")),
    }
}

fn main_short_help() -> String {
    format!(
        "{MAIN_EXAMPLES}\n`route --help` also lists the exit codes, environment variables and files."
    )
}

/// `route --help`'s ending: the examples, then every [`SECTIONS`] entry.
fn main_long_help() -> String {
    use std::fmt::Write as _;
    let mut out = String::from(MAIN_EXAMPLES);
    for section in SECTIONS {
        // Writing into a String cannot fail.
        let _ = write!(out, "\n\n{}:", section.title);
        if !section.intro.is_empty() {
            let _ = write!(out, "\n  {}", section.intro);
        }
        // Short terms (exit codes) share a line with their meaning; long ones stand
        // above it, as clap shows options in --help.
        let width = section
            .items
            .iter()
            .map(|(t, _)| t.len())
            .max()
            .unwrap_or(0);
        for (term, meaning) in section.items {
            if width <= 8 {
                let _ = write!(out, "\n  {term:<width$}  {meaning}");
            } else {
                let _ = write!(out, "\n  {term}\n          {meaning}");
            }
        }
        if !section.example.is_empty() {
            out.push('\n');
            for line in section.example.lines() {
                out.push('\n');
                if !line.is_empty() {
                    let _ = write!(out, "    {line}");
                }
            }
        }
    }
    out
}
