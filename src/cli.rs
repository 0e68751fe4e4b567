//! The command line, defined with clap's derive API. Doc comments are the help
//! text; `after_help` carries examples.
// The doc comments below are `--help` text, where `<placeholder>` is the
// convention, not HTML.
#![allow(rustdoc::invalid_html_tags)]

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
    after_help = "Examples:
  route ask \"Explain TCP slow start in two sentences\"
  git diff | route ask -m sonnet \"Write a commit message\"
  route compare -m sonnet -m gpt -m flash \"Name three sorting algorithms\"
  route models
  route cost --by model --since 7d

The profile lives at ~/.config/route/profile.toml (see `route init`)."
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
    /// Most tokens to generate
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u64>,
    /// Sampling temperature
    #[arg(short = 't', long = "temperature", value_name = "TEMP")]
    pub temperature: Option<f64>,
    /// A provider parameter, passed through (value parsed as JSON when it can be)
    #[arg(short = 'o', long = "option", value_name = "KEY=VALUE")]
    pub options: Vec<String>,
    /// Overrides every timeout of the profile for this request (e.g. 30s)
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  route ask \"Explain TCP slow start in two sentences\"
  git diff | route ask -m gpt4o \"Write a commit message\"
  route ask -m sonnet,gpt,flash --no-stream \"Summarise RFC 9110 in one line\"
  route ask --json -m groq/llama-3.3-70b-versatile \"hi\" | jq .usage
  route ask --dry-run -m main \"How much would this cost?\"")]
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
    /// Print one JSON object (text, model, usage, cost, attempts) instead of the text
    #[arg(long)]
    pub json: bool,
    /// A tag recorded in the ledger, for `route cost --by tag`
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Do not record this request in the ledger
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
  route compare -m gpt -m flash --repeat 5 \"Say OK\"")]
pub struct CompareArgs {
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// A model to ask (repeatable); a chain stands for its members
    #[arg(short, long = "model", value_name = "REF", required = true)]
    pub models: Vec<String>,
    /// Output format (default: table)
    #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
    pub format: CompareFormat,
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
  route models --catalog claude
  route models --update-catalog")]
pub struct ModelsArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// Send a minimal live request to every model and report reachability and latency
    #[arg(long, conflicts_with_all = ["catalog", "update_catalog"])]
    pub check: bool,
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
  route cost
  route cost --since 24h --by model
  route cost --since 2026-11-01 --by day --format csv
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
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Output format
    #[arg(long, value_enum, default_value_t = CostFormat::Table)]
    pub format: CostFormat,
}

#[derive(Debug, Subcommand)]
pub enum CostCommand {
    /// Count a prompt's tokens and show what it would cost on each model, sending nothing
    Estimate(EstimateArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  route cost estimate -m sonnet -m gpt \"$(cat prompt.txt)\"
  git diff | route cost estimate -m main --max-tokens 500")]
pub struct EstimateArgs {
    /// The prompt; stdin, when piped, comes first
    #[arg(value_name = "PROMPT")]
    pub prompt: Vec<String>,
    /// A model to price (repeatable; default: the profile's default)
    #[arg(short, long = "model", value_name = "REF")]
    pub models: Vec<String>,
    /// The output allowance to price (default: each model's max output)
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u64>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  route drill
  route drill main --prompt \"Reply with OK\"")]
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
