//! `route completions <shell>` and the man pages, both generated from `Cli::command()`
//! (clap_complete, clap_mangen). The generated files are committed under
//! `completions/` and `man/`, and `tests/it/generated.rs` fails when they are out of
//! date (`ROUTE_REGENERATE=1 cargo test --test it generated` rewrites them).
//!
//! Model names complete dynamically where the shell allows it. clap_complete's static
//! scripts know the flags, not the profile, so a small hand-written piece is appended
//! to the bash, zsh and fish scripts: after `-m`/`--model` (and for `route drill`'s
//! chain) it asks `route models --names` (a hidden flag) for the profile's aliases and
//! chains. clap_complete's own dynamic mode would need `route` to answer completion
//! requests at start-up (`COMPLETE=bash route`), an unstable feature and a hook in
//! every run; a hidden flag keeps start-up untouched. PowerShell and elvish get the
//! static scripts: their generated completers are single functions with no place to
//! hook into.

use clap::CommandFactory;
use clap_complete::Shell as Target;

use super::Context;
use crate::cli::{Cli, CompletionsArgs, Shell};
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

/// The completion script for `shell`: clap_complete's, plus the dynamic model names.
pub fn script(shell: Shell) -> String {
    let target = match shell {
        Shell::Bash => Target::Bash,
        Shell::Zsh => Target::Zsh,
        Shell::Fish => Target::Fish,
        Shell::Powershell => Target::PowerShell,
        Shell::Elvish => Target::Elvish,
    };
    let mut buf = Vec::new();
    clap_complete::generate(target, &mut Cli::command(), "route", &mut buf);
    let generated = String::from_utf8_lossy(&buf).into_owned();
    match shell {
        Shell::Bash => format!("{generated}{BASH_MODELS}"),
        Shell::Zsh => zsh(&generated),
        Shell::Fish => format!("{generated}{FISH_MODELS}"),
        Shell::Powershell | Shell::Elvish => generated,
    }
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
    collect_pages(cmd, &mut pages);
    pages
}

fn collect_pages(cmd: clap::Command, pages: &mut Vec<(String, Vec<u8>)>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect_pages(sub.clone(), pages);
    }
    let man = clap_mangen::Man::new(cmd);
    let mut buf = Vec::new();
    // Rendering into a Vec cannot fail.
    let _ = man.render(&mut buf);
    pages.push((man.get_filename(), buf));
}
