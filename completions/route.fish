# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_route_global_optspecs
    string join \n profile= h/help V/version
end

function __fish_route_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_route_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_route_using_subcommand
    set -l cmd (__fish_route_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c route -n "__fish_route_needs_command" -l profile -d 'The profile to use (default: <config dir>/route/profile.toml)' -r -F
complete -c route -n "__fish_route_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c route -n "__fish_route_needs_command" -s V -l version -d 'Print version'
complete -c route -n "__fish_route_needs_command" -f -a "ask" -d 'Ask one model, or a fallback chain; the answer streams to stdout'
complete -c route -n "__fish_route_needs_command" -f -a "compare" -d 'Send the same prompt to several models at once, side by side'
complete -c route -n "__fish_route_needs_command" -f -a "models" -d 'Show the profile\'s aliases and chains, with prices and health'
complete -c route -n "__fish_route_needs_command" -f -a "cost" -d 'Show what requests cost, from the local ledger'
complete -c route -n "__fish_route_needs_command" -f -a "log" -d 'Show what was asked and answered, newest first; `log show` prints one in full'
complete -c route -n "__fish_route_needs_command" -f -a "drill" -d 'Exercise every fallback path of a chain for real'
complete -c route -n "__fish_route_needs_command" -f -a "init" -d 'Write a starter profile from the keys in the environment'
complete -c route -n "__fish_route_needs_command" -f -a "completions" -d 'Print shell completions (bash, zsh, fish, powershell, elvish)'
complete -c route -n "__fish_route_using_subcommand ask" -s s -l system -d 'System prompt' -r
complete -c route -n "__fish_route_using_subcommand ask" -s a -l attach -d 'A file to send with the prompt (repeatable): a PNG, JPEG, GIF or WebP image or a PDF, in each provider\'s own form (models that cannot take it are skipped), or a text file, inlined' -r -F
complete -c route -n "__fish_route_using_subcommand ask" -l max-tokens -d 'Most tokens to generate' -r
complete -c route -n "__fish_route_using_subcommand ask" -s t -l temperature -d 'Sampling temperature' -r
complete -c route -n "__fish_route_using_subcommand ask" -s o -l option -d 'A provider parameter, passed through (value parsed as JSON when it can be)' -r
complete -c route -n "__fish_route_using_subcommand ask" -l timeout -d 'Overrides every timeout of the profile for this request (e.g. 30s)' -r
complete -c route -n "__fish_route_using_subcommand ask" -l schema -d 'Ask for one JSON value matching this JSON Schema (a file, or inline JSON): printed on one line once complete and checked; an answer that does not match moves on to the next model' -r
complete -c route -n "__fish_route_using_subcommand ask" -s m -l model -d 'Model alias, chain, provider/model, or a comma list a,b,c' -r
complete -c route -n "__fish_route_using_subcommand ask" -l tag -d 'A tag recorded in the ledger, for `route cost --by tag`' -r
complete -c route -n "__fish_route_using_subcommand ask" -l cid -d 'Continue the conversation with this id (or its first few characters; see `route log`)' -r
complete -c route -n "__fish_route_using_subcommand ask" -l profile -d 'The profile to use (default: <config dir>/route/profile.toml)' -r -F
complete -c route -n "__fish_route_using_subcommand ask" -l no-stream -d 'Wait for the whole answer instead of streaming it'
complete -c route -n "__fish_route_using_subcommand ask" -l json -d 'Print one JSON object (text, model, usage, cost, attempts) instead of the text; with --dry-run, the plan as one JSON object'
complete -c route -n "__fish_route_using_subcommand ask" -s c -l continue -d 'Continue the latest conversation: its earlier turns are sent before this prompt'
complete -c route -n "__fish_route_using_subcommand ask" -l no-log -d 'Do not record this request in the ledger (it cannot be continued later)'
complete -c route -n "__fish_route_using_subcommand ask" -l dry-run -d 'Print the plan (models in order, skips, estimated cost) and send nothing'
complete -c route -n "__fish_route_using_subcommand ask" -s v -l verbose -d 'One line per attempt on stderr'
complete -c route -n "__fish_route_using_subcommand ask" -s q -l quiet -d 'No summary line on stderr'
complete -c route -n "__fish_route_using_subcommand ask" -s h -l help -d 'Print help'
complete -c route -n "__fish_route_using_subcommand ask" -s V -l version -d 'Print version'
complete -c route -n "__fish_route_using_subcommand compare" -s s -l system -d 'System prompt' -r
complete -c route -n "__fish_route_using_subcommand compare" -s a -l attach -d 'A file to send with the prompt (repeatable): a PNG, JPEG, GIF or WebP image or a PDF, in each provider\'s own form (models that cannot take it are skipped), or a text file, inlined' -r -F
complete -c route -n "__fish_route_using_subcommand compare" -l max-tokens -d 'Most tokens to generate' -r
complete -c route -n "__fish_route_using_subcommand compare" -s t -l temperature -d 'Sampling temperature' -r
complete -c route -n "__fish_route_using_subcommand compare" -s o -l option -d 'A provider parameter, passed through (value parsed as JSON when it can be)' -r
complete -c route -n "__fish_route_using_subcommand compare" -l timeout -d 'Overrides every timeout of the profile for this request (e.g. 30s)' -r
complete -c route -n "__fish_route_using_subcommand compare" -l schema -d 'Ask for one JSON value matching this JSON Schema (a file, or inline JSON): printed on one line once complete and checked; an answer that does not match moves on to the next model' -r
complete -c route -n "__fish_route_using_subcommand compare" -s m -l model -d 'A model to ask (repeatable); a chain stands for its members' -r
complete -c route -n "__fish_route_using_subcommand compare" -l format -d 'Output format (default: table); markdown is the same side-by-side table, answers whole' -r -f -a "table\t''
json\t''
markdown\t''"
complete -c route -n "__fish_route_using_subcommand compare" -l repeat -d 'Ask each model N times and report median and p95 latency' -r
complete -c route -n "__fish_route_using_subcommand compare" -l concurrency -d 'Most requests in flight at once (default: all)' -r
complete -c route -n "__fish_route_using_subcommand compare" -l tag -d 'A tag recorded in the ledger' -r
complete -c route -n "__fish_route_using_subcommand compare" -l profile -d 'The profile to use (default: <config dir>/route/profile.toml)' -r -F
complete -c route -n "__fish_route_using_subcommand compare" -l json -d 'Print one JSON array (the same as --format json)'
complete -c route -n "__fish_route_using_subcommand compare" -l no-log -d 'Do not record these requests in the ledger'
complete -c route -n "__fish_route_using_subcommand compare" -s h -l help -d 'Print help'
complete -c route -n "__fish_route_using_subcommand compare" -s V -l version -d 'Print version'
complete -c route -n "__fish_route_using_subcommand models" -l timeout -d 'With --check: how long each model may take to answer (default 10s)' -r
complete -c route -n "__fish_route_using_subcommand models" -l catalog -d 'List the built-in price catalog, optionally filtered by a substring' -r
complete -c route -n "__fish_route_using_subcommand models" -l update-catalog -d 'Download a fresh price catalog into the data dir (default: LiteLLM\'s list)' -r
complete -c route -n "__fish_route_using_subcommand models" -l profile -d 'The profile to use (default: <config dir>/route/profile.toml)' -r -F
complete -c route -n "__fish_route_using_subcommand models" -l json -d 'Print JSON instead of a table'
complete -c route -n "__fish_route_using_subcommand models" -l check -d 'Send a minimal live request to every model and report reachability and latency'
complete -c route -n "__fish_route_using_subcommand models" -s h -l help -d 'Print help'
complete -c route -n "__fish_route_using_subcommand models" -s V -l version -d 'Print version'
complete -c route -n "__fish_route_using_subcommand cost; and not __fish_seen_subcommand_from estimate" -l since -d 'Only requests since a duration ago (24h, 7d) or a date (2026-11-01)' -r
complete -c route -n "__fish_route_using_subcommand cost; and not __fish_seen_subcommand_from estimate" -l by -d 'Totals per model, provider, alias, tag or day' -r -f -a "model\t''
provider\t''
alias\t''
tag\t''
day\t''"
complete -c route -n "__fish_route_using_subcommand cost; and not __fish_seen_subcommand_from estimate" -l limit -d 'Most rows to show (newest first)' -r
complete -c route -n "__fish_route_using_subcommand cost; and not __fish_seen_subcommand_from estimate" -l format -d 'Output format (default: table)' -r -f -a "table\t''
json\t''
csv\t''"
complete -c route -n "__fish_route_using_subcommand cost; and not __fish_seen_subcommand_from estimate" -l profile -d 'The profile to use (default: <config dir>/route/profile.toml)' -r -F
complete -c route -n "__fish_route_using_subcommand cost; and not __fish_seen_subcommand_from estimate" -l json -d 'Print JSON (the same as --format json)'
complete -c route -n "__fish_route_using_subcommand cost; and not __fish_seen_subcommand_from estimate" -s h -l help -d 'Print help'
complete -c route -n "__fish_route_using_subcommand cost; and not __fish_seen_subcommand_from estimate" -s V -l version -d 'Print version'
complete -c route -n "__fish_route_using_subcommand cost; and not __fish_seen_subcommand_from estimate" -f -a "estimate" -d 'Count a prompt\'s tokens and show what it would cost on each model, sending nothing'
complete -c route -n "__fish_route_using_subcommand cost; and __fish_seen_subcommand_from estimate" -s m -l model -d 'A model to price (repeatable; default: the profile\'s default)' -r
complete -c route -n "__fish_route_using_subcommand cost; and __fish_seen_subcommand_from estimate" -l max-tokens -d 'The output allowance to price (default: each model\'s max output)' -r
complete -c route -n "__fish_route_using_subcommand cost; and __fish_seen_subcommand_from estimate" -l profile -d 'The profile to use (default: <config dir>/route/profile.toml)' -r -F
complete -c route -n "__fish_route_using_subcommand cost; and __fish_seen_subcommand_from estimate" -l json -d 'Print a JSON array, one object per model, instead of the table'
complete -c route -n "__fish_route_using_subcommand cost; and __fish_seen_subcommand_from estimate" -s h -l help -d 'Print help'
complete -c route -n "__fish_route_using_subcommand cost; and __fish_seen_subcommand_from estimate" -s V -l version -d 'Print version'
complete -c route -n "__fish_route_using_subcommand log; and not __fish_seen_subcommand_from show" -s n -l limit -d 'Most requests to list (newest first)' -r
complete -c route -n "__fish_route_using_subcommand log; and not __fish_seen_subcommand_from show" -l cid -d 'Only the requests of this conversation (an id or its first few characters)' -r
complete -c route -n "__fish_route_using_subcommand log; and not __fish_seen_subcommand_from show" -l search -d 'Only requests whose prompt or answer holds every one of these words' -r
complete -c route -n "__fish_route_using_subcommand log; and not __fish_seen_subcommand_from show" -l since -d 'Only requests since a duration ago (24h, 7d) or a local date (2026-11-01)' -r
complete -c route -n "__fish_route_using_subcommand log; and not __fish_seen_subcommand_from show" -l profile -d 'The profile to use (default: <config dir>/route/profile.toml)' -r -F
complete -c route -n "__fish_route_using_subcommand log; and not __fish_seen_subcommand_from show" -l json -d 'Print one JSON array instead of the table'
complete -c route -n "__fish_route_using_subcommand log; and not __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c route -n "__fish_route_using_subcommand log; and not __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c route -n "__fish_route_using_subcommand log; and not __fish_seen_subcommand_from show" -f -a "show" -d 'Print one request, or one whole conversation, in full (default: the latest request)'
complete -c route -n "__fish_route_using_subcommand log; and __fish_seen_subcommand_from show" -l profile -d 'The profile to use (default: <config dir>/route/profile.toml)' -r -F
complete -c route -n "__fish_route_using_subcommand log; and __fish_seen_subcommand_from show" -l json -d 'Print one JSON array of the turns instead of the text'
complete -c route -n "__fish_route_using_subcommand log; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c route -n "__fish_route_using_subcommand log; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c route -n "__fish_route_using_subcommand drill" -l prompt -d 'The prompt sent on each path' -r
complete -c route -n "__fish_route_using_subcommand drill" -l profile -d 'The profile to use (default: <config dir>/route/profile.toml)' -r -F
complete -c route -n "__fish_route_using_subcommand drill" -l json -d 'Print a JSON array, one object per path, instead of the table'
complete -c route -n "__fish_route_using_subcommand drill" -s h -l help -d 'Print help'
complete -c route -n "__fish_route_using_subcommand drill" -s V -l version -d 'Print version'
complete -c route -n "__fish_route_using_subcommand init" -l profile -d 'The profile to use (default: <config dir>/route/profile.toml)' -r -F
complete -c route -n "__fish_route_using_subcommand init" -l force -d 'Overwrite an existing profile'
complete -c route -n "__fish_route_using_subcommand init" -l check -d 'Check the existing profile and report every problem at once; write nothing'
complete -c route -n "__fish_route_using_subcommand init" -s h -l help -d 'Print help'
complete -c route -n "__fish_route_using_subcommand init" -s V -l version -d 'Print version'
complete -c route -n "__fish_route_using_subcommand completions" -l profile -d 'The profile to use (default: <config dir>/route/profile.toml)' -r -F
complete -c route -n "__fish_route_using_subcommand completions" -s h -l help -d 'Print help'
complete -c route -n "__fish_route_using_subcommand completions" -s V -l version -d 'Print version'

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
