//! `route completions <shell>` and the man pages, both generated from `Cli::command()`
//! (`clap_complete`, `clap_mangen`). The generated files are committed under
//! `completions/` and `man/`, and `tests/it/generated.rs` fails when they are out of
//! date (`ROUTE_REGENERATE=1 cargo test --test it generated` rewrites them).
//!
//! Model names complete dynamically where the shell allows it. `clap_complete`'s static
//! scripts know the flags, not the profile, so a small hand-written piece is appended
//! to the bash, zsh and fish scripts: after `-m`/`--model` (and for `route drill`'s
//! chain) it asks `route models --names` (a hidden flag) for the profile's aliases and
//! chains. `clap_complete`'s own dynamic mode would need `route` to answer completion
//! requests at start-up (`COMPLETE=bash route`), an unstable feature and a hook in
//! every run; a hidden flag keeps start-up untouched. PowerShell and elvish get the
//! static scripts: their generated completers are single functions with no place to
//! hook into. `clap_complete` lists hidden flags and subcommands too, so the scripts are
//! generated from [`visible_command`], a copy of the command line without them.
//!
//! The man pages add what `--help` cannot show in a page of its own: EXAMPLES (from each
//! command's `after_help`) and, in `route(1)`, the [`crate::cli::SECTIONS`] that
//! `route --help` ends with (exit status, environment, files, the profile).

use std::fmt::Write as _;

use clap::builder::Resettable;
use clap::{Command, CommandFactory, Id};
use clap_complete::Shell as Target;

use super::Context;
use crate::cli::{Cli, CompletionsArgs, HelpSection, SECTIONS, Shell};
use crate::error::Error;
use crate::exit::ExitStatus;

pub fn completions(args: &CompletionsArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    ctx.printer.out(&script(args.shell))?;
    Ok(ExitStatus::Success)
}

/// The file each shell's script is committed as, under `completions/`.
pub fn file_name(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => "route.bash",
        Shell::Zsh => "_route",
        Shell::Fish => "route.fish",
        Shell::Powershell => "route.ps1",
        Shell::Elvish => "route.elv",
    }
}

/// Every shell, for the generation test.
pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Powershell,
    Shell::Elvish,
];

/// The completion script for `shell`: `clap_complete`'s, plus the dynamic model names.
pub fn script(shell: Shell) -> String {
    let target = match shell {
        Shell::Bash => Target::Bash,
        Shell::Zsh => Target::Zsh,
        Shell::Fish => Target::Fish,
        Shell::Powershell => Target::PowerShell,
        Shell::Elvish => Target::Elvish,
    };
    let mut buf = Vec::new();
    clap_complete::generate(target, &mut visible_command(), "route", &mut buf);
    let generated = String::from_utf8_lossy(&buf).into_owned();
    match shell {
        Shell::Bash => format!("{generated}{BASH_MODELS}"),
        Shell::Zsh => zsh(&generated),
        Shell::Fish => format!("{generated}{FISH_MODELS}"),
        Shell::Powershell | Shell::Elvish => generated,
    }
}

/// The hand-written part of `shell`'s script (empty for PowerShell and elvish): the
/// only place that may name the hidden `--names` flag, which it calls.
pub fn dynamic_part(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => BASH_MODELS,
        Shell::Zsh => ZSH_MODELS,
        Shell::Fish => FISH_MODELS,
        Shell::Powershell | Shell::Elvish => "",
    }
}

/// `Cli::command()`, built, without its hidden arguments and subcommands. clap has no
/// way to remove an argument, so each command is copied with what the completion
/// generators read: name, about, version, visible aliases, the visible arguments
/// (`--help` and `--version` included, as built), groups and subcommand settings.
pub fn visible_command() -> Command {
    let mut cmd = Cli::command();
    cmd.build();
    without_hidden(&cmd)
}

fn without_hidden(cmd: &Command) -> Command {
    let mut out = Command::new(leak(cmd.get_name()))
        .disable_help_flag(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true)
        .args_conflicts_with_subcommands(cmd.is_args_conflicts_with_subcommands_set())
        .subcommand_required(cmd.is_subcommand_required_set())
        .allow_external_subcommands(cmd.is_allow_external_subcommands_set())
        .visible_aliases(cmd.get_visible_aliases().map(leak).collect::<Vec<_>>());
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    if let Some(version) = cmd.get_version() {
        out = out.version(leak(version));
    }
    let visible: Vec<&clap::Arg> = cmd.get_arguments().filter(|a| !a.is_hide_set()).collect();
    for group in cmd.get_groups() {
        let ids = group
            .get_args()
            .filter(|id| visible.iter().any(|a| a.get_id() == *id));
        out = out.group(
            group
                .clone()
                .arg(Resettable::<Id>::Reset)
                .args(ids.collect::<Vec<_>>()),
        );
    }
    out = out.args(visible.into_iter().cloned());
    out.subcommands(
        cmd.get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(without_hidden),
    )
}

/// clap takes `'static` names unless its `string` feature is on; the copies are made
/// once, by `route completions`, for a process that ends right after.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// Bash: a wrapper around clap's `_route` that completes model names after `-m` and
/// `--model` (after the last comma of a list `a,b,`) and chain names for `drill`.
const BASH_MODELS: &str = r#"
# -- Dynamic model names (appended by `route completions bash`): after -m/--model,
# the aliases and chains of the profile in use, from `route models --names`.
_route_dynamic_names() {
    local i profile=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ "${COMP_WORDS[i]}" == "--profile" ]]; then
            profile=(--profile "${COMP_WORDS[i+1]}")
        fi
    done
    route "${profile[@]}" models --names="$1" 2>/dev/null
}

_route_dynamic_complete() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    if [[ "$prev" == "-m" || "$prev" == "--model" ]]; then
        local prefix="" word="$cur"
        if [[ "$cur" == *,* ]]; then
            prefix="${cur%,*},"
            word="${cur##*,}"
        fi
        local IFS=$'\n'
        COMPREPLY=($(compgen -P "$prefix" -W "$(_route_dynamic_names all)" -- "$word"))
        return 0
    fi
    if [[ "${COMP_WORDS[1]}" == "drill" && $COMP_CWORD -eq 2 && "$cur" != -* ]]; then
        local IFS=$'\n'
        COMPREPLY=($(compgen -W "$(_route_dynamic_names chains)" -- "$cur"))
        return 0
    fi
    _route "$@"
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _route_dynamic_complete -o nosort -o bashdefault -o default route
else
    complete -F _route_dynamic_complete -o bashdefault -o default route
fi
"#;

/// Fish: extra candidates for `-m`/`--model` (fish merges them with clap's).
const FISH_MODELS: &str = r#"
# -- Dynamic model names (appended by `route completions fish`): the aliases and
# chains of the profile in use, from `route models --names`.
function __fish_route_dynamic_names
    set -l profile
    set -l tokens (commandline -opc)
    for i in (seq (count $tokens))
        if test "$tokens[$i]" = --profile; and set -q tokens[(math $i + 1)]
            set profile --profile $tokens[(math $i + 1)]
        end
    end
    route $profile models --names=$argv[1] 2>/dev/null
end
complete -c route -n "__fish_route_using_subcommand ask" -s m -l model -x -a "(__fish_route_dynamic_names all)"
complete -c route -n "__fish_route_using_subcommand compare" -s m -l model -x -a "(__fish_route_dynamic_names all)"
complete -c route -n "__fish_route_using_subcommand cost; and __fish_seen_subcommand_from estimate" -s m -l model -x -a "(__fish_route_dynamic_names all)"
complete -c route -n "__fish_route_using_subcommand drill" -f -a "(__fish_route_dynamic_names chains)"
"#;

/// Zsh: clap writes `:REF:_default` as the value completer of `-m`/`--model`; it
/// becomes `:REF:_route_dynamic_models`, defined below, and `drill`'s CHAIN argument gets
/// `_route_dynamic_chains`. Lines that do not match are left as generated.
fn zsh(generated: &str) -> String {
    let mut out = String::with_capacity(generated.len() + ZSH_MODELS.len());
    for line in generated.split_inclusive('\n') {
        let is_model = line.contains("'*-m+[")
            || line.contains("'-m+[")
            || line.contains("'*--model=[")
            || line.contains("'--model=[");
        if is_model && line.contains(":REF:_default'") {
            out.push_str(&line.replace(":REF:_default'", ":REF:_route_dynamic_models'"));
        } else if line.contains("'::chain -- The chain to drill") && line.contains(":_default'") {
            out.push_str(&line.replace(":_default'", ":_route_dynamic_chains'"));
        } else {
            out.push_str(line);
        }
    }
    // `compdef` must stay the last line of a completion file: put ours before it.
    match out.rfind("\nif [ \"$funcstack[1]\" = \"_route\" ]") {
        Some(i) => {
            out.insert_str(i + 1, ZSH_MODELS);
            out
        }
        None => out + ZSH_MODELS,
    }
}

const ZSH_MODELS: &str = r#"# -- Dynamic model names (added by `route completions zsh`): the aliases and chains
# of the profile in use, from `route models --names`; comma lists complete too.
(( $+functions[_route_dynamic_names] )) ||
_route_dynamic_names() {
    local -a profile
    local i
    for (( i = 1; i < CURRENT; i++ )); do
        [[ "${words[i]}" == --profile ]] && profile=(--profile "${words[i+1]}")
    done
    route "${profile[@]}" models --names="$1" 2>/dev/null
}
(( $+functions[_route_dynamic_models] )) ||
_route_dynamic_models() {
    local -a names
    names=(${(f)"$(_route_dynamic_names all)"})
    compset -P '*,'
    _describe -t models 'model alias or chain' names
}
(( $+functions[_route_dynamic_chains] )) ||
_route_dynamic_chains() {
    local -a names
    names=(${(f)"$(_route_dynamic_names chains)"})
    _describe -t chains 'chain' names
}

"#;

/// The man pages: `route.1` and one page per subcommand (`route-ask.1`, …,
/// `route-cost-estimate.1`), as (file name, contents).
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut pages = Vec::new();
    collect_pages(&cmd, true, &mut pages);
    pages
}

fn collect_pages(cmd: &Command, top: bool, pages: &mut Vec<(String, Vec<u8>)>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect_pages(sub, false, pages);
    }
    let man = clap_mangen::Man::new(cmd.clone());
    pages.push((man.get_filename(), man_page(&man, cmd, top).into_bytes()));
}

/// `clap_mangen`'s sections, then EXAMPLES, the `--help` sections (in `route(1)`), SEE
/// ALSO and VERSION. `clap_mangen`'s own EXTRA section (the raw `after_help`) is replaced
/// by EXAMPLES.
fn man_page(man: &clap_mangen::Man, cmd: &Command, top: bool) -> String {
    type Part = fn(&clap_mangen::Man, &mut dyn std::io::Write) -> std::io::Result<()>;
    let mut parts: Vec<Part> = vec![
        clap_mangen::Man::render_title,
        clap_mangen::Man::render_name_section,
        clap_mangen::Man::render_synopsis_section,
        clap_mangen::Man::render_description_section,
    ];
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        parts.push(clap_mangen::Man::render_options_section);
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        parts.push(clap_mangen::Man::render_subcommands_section);
    }
    let mut page = String::from(PREAMBLE);
    for part in parts {
        page.push_str(&render(man, part));
    }
    let examples = examples(cmd);
    if !examples.is_empty() {
        page.push_str(".SH EXAMPLES\n.RS 4\n.nf\n");
        for example in examples {
            let _ = writeln!(page, "{}", roff_line(&example));
        }
        page.push_str(".fi\n.RE\n");
    }
    if top {
        for section in SECTIONS {
            page.push_str(&roff_section(&section));
        }
        let _ = writeln!(page, ".SH \"SEE ALSO\"\n{}", roff_prose(SEE_ALSO_TOP));
    } else {
        page.push_str(".SH \"SEE ALSO\"\nroute(1) for the exit status, environment, files and profile format\n");
    }
    if cmd.get_version().is_some() {
        page.push_str(&render(man, clap_mangen::Man::render_version_section));
    }
    page
}

/// `route(1)`'s SEE ALSO: the other `route`, and how to tell which one runs.
const SEE_ALSO_TOP: &str = "route(8), the routing table tool of net-tools, is another program \
    with the same name: `man 1 route` opens this page and `man 8 route` that one. \
    `type -a route` lists every `route` on PATH in the order the shell tries them; this one \
    answers `route --version` with `route` and its version.";

/// What every `clap_mangen` fragment starts with; a page has it once, at the top.
const PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";

/// One `clap_mangen` section, without its [`PREAMBLE`].
fn render(
    man: &clap_mangen::Man,
    part: fn(&clap_mangen::Man, &mut dyn std::io::Write) -> std::io::Result<()>,
) -> String {
    let mut buf = Vec::new();
    // Rendering into a Vec cannot fail.
    let _ = part(man, &mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    match text.strip_prefix(PREAMBLE) {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

/// The example lines of a command's `after_help`: the indented lines under `Examples:`.
fn examples(cmd: &Command) -> Vec<String> {
    let Some(after) = cmd.get_after_help() else {
        return Vec::new();
    };
    let after = after.to_string();
    after
        .lines()
        .skip_while(|l| l.trim() != "Examples:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim().to_owned())
        .collect()
}

/// A `--help` section as a man page section: intro, `.TP` terms, an example block.
fn roff_section(section: &HelpSection) -> String {
    let title = section.title.to_uppercase();
    // `.SH` takes one argument: a heading of several words is quoted.
    let mut out = if title.contains(' ') {
        format!(".SH \"{title}\"\n")
    } else {
        format!(".SH {title}\n")
    };
    if !section.intro.is_empty() {
        let _ = writeln!(out, "{}", roff_prose(section.intro));
    }
    for (term, meaning) in section.items {
        let _ = writeln!(
            out,
            ".TP\n\\fB{}\\fR\n{}",
            roff_line(term),
            roff_prose(meaning)
        );
    }
    if !section.example.is_empty() {
        out.push_str(".PP\n.RS 4\n.nf\n");
        for line in section.example.lines() {
            let _ = writeln!(out, "{}", roff_line(line));
        }
        out.push_str(".fi\n.RE\n");
    }
    out
}

/// Text escaped for roff: backslashes, dashes and apostrophes, and a leading `.`
/// that would read as a request.
fn roff_line(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('-', "\\-")
        .replace('\'', "\\*(Aq");
    if escaped.starts_with('.') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Prose: as [`roff_line`], with each `code` span in bold, as `--help` marks it.
fn roff_prose(text: &str) -> String {
    let mut out = String::new();
    for (i, piece) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "\\fB{}\\fR", roff_line(piece));
        } else {
            out.push_str(&roff_line(piece));
        }
    }
    out
}
