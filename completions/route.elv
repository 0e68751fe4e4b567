
use builtin;
use str;

set edit:completion:arg-completer[route] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'route'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'route'= {
            cand --profile 'The profile to use (default: <config dir>/route/profile.toml)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand ask 'Ask one model, or a fallback chain; the answer streams to stdout'
            cand compare 'Send the same prompt to several models at once, side by side'
            cand models 'Show the profile''s aliases and chains, with prices and health'
            cand cost 'Show what requests cost, from the local ledger'
            cand log 'Show what was asked and answered, newest first; `log show` prints one in full'
            cand drill 'Exercise every fallback path of a chain for real'
            cand init 'Write a starter profile from the keys in the environment'
            cand completions 'Print shell completions (bash, zsh, fish, powershell, elvish)'
        }
        &'route;ask'= {
            cand -s 'System prompt'
            cand --system 'System prompt'
            cand -a 'A file to send with the prompt (repeatable): a PNG, JPEG, GIF or WebP image or a PDF, in each provider''s own form (models that cannot take it are skipped), or a text file, inlined'
            cand --attach 'A file to send with the prompt (repeatable): a PNG, JPEG, GIF or WebP image or a PDF, in each provider''s own form (models that cannot take it are skipped), or a text file, inlined'
            cand --max-tokens 'Most tokens to generate'
            cand -t 'Sampling temperature'
            cand --temperature 'Sampling temperature'
            cand -o 'A provider parameter, passed through (value parsed as JSON when it can be)'
            cand --option 'A provider parameter, passed through (value parsed as JSON when it can be)'
            cand --timeout 'Overrides every timeout of the profile for this request (e.g. 30s)'
            cand --schema 'Ask for one JSON value matching this JSON Schema (a file, or inline JSON): printed on one line once complete and checked; an answer that does not match moves on to the next model'
            cand -m 'Model alias, chain, provider/model, or a comma list a,b,c'
            cand --model 'Model alias, chain, provider/model, or a comma list a,b,c'
            cand --tag 'A tag recorded in the ledger, for `route cost --by tag`'
            cand --cid 'Continue the conversation with this id (or its first few characters; see `route log`)'
            cand --profile 'The profile to use (default: <config dir>/route/profile.toml)'
            cand --no-stream 'Wait for the whole answer instead of streaming it'
            cand --json 'Print one JSON object (text, model, usage, cost, attempts) instead of the text; with --dry-run, the plan as one JSON object'
            cand -c 'Continue the latest conversation: its earlier turns are sent before this prompt'
            cand --continue 'Continue the latest conversation: its earlier turns are sent before this prompt'
            cand --no-log 'Do not record this request in the ledger (it cannot be continued later)'
            cand --dry-run 'Print the plan (models in order, skips, estimated cost) and send nothing'
            cand -v 'One line per attempt on stderr'
            cand --verbose 'One line per attempt on stderr'
            cand -q 'No summary line on stderr'
            cand --quiet 'No summary line on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'route;compare'= {
            cand -s 'System prompt'
            cand --system 'System prompt'
            cand -a 'A file to send with the prompt (repeatable): a PNG, JPEG, GIF or WebP image or a PDF, in each provider''s own form (models that cannot take it are skipped), or a text file, inlined'
            cand --attach 'A file to send with the prompt (repeatable): a PNG, JPEG, GIF or WebP image or a PDF, in each provider''s own form (models that cannot take it are skipped), or a text file, inlined'
            cand --max-tokens 'Most tokens to generate'
            cand -t 'Sampling temperature'
            cand --temperature 'Sampling temperature'
            cand -o 'A provider parameter, passed through (value parsed as JSON when it can be)'
            cand --option 'A provider parameter, passed through (value parsed as JSON when it can be)'
            cand --timeout 'Overrides every timeout of the profile for this request (e.g. 30s)'
            cand --schema 'Ask for one JSON value matching this JSON Schema (a file, or inline JSON): printed on one line once complete and checked; an answer that does not match moves on to the next model'
            cand -m 'A model to ask (repeatable); a chain stands for its members'
            cand --model 'A model to ask (repeatable); a chain stands for its members'
            cand --format 'Output format (default: table); markdown is the same side-by-side table, answers whole'
            cand --repeat 'Ask each model N times and report median and p95 latency'
            cand --concurrency 'Most requests in flight at once (default: all)'
            cand --tag 'A tag recorded in the ledger'
            cand --profile 'The profile to use (default: <config dir>/route/profile.toml)'
            cand --json 'Print one JSON array (the same as --format json)'
            cand --no-log 'Do not record these requests in the ledger'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'route;models'= {
            cand --timeout 'With --check: how long each model may take to answer (default 10s)'
            cand --catalog 'List the built-in price catalog, optionally filtered by a substring'
            cand --update-catalog 'Download a fresh price catalog into the data dir (default: LiteLLM''s list)'
            cand --profile 'The profile to use (default: <config dir>/route/profile.toml)'
            cand --json 'Print JSON instead of a table'
            cand --check 'Send a minimal live request to every model and report reachability and latency'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'route;cost'= {
            cand --since 'Only requests since a duration ago (24h, 7d) or a date (2026-11-01)'
            cand --by 'Totals per model, provider, alias, tag or day'
            cand --limit 'Most rows to show (newest first)'
            cand --format 'Output format (default: table)'
            cand --profile 'The profile to use (default: <config dir>/route/profile.toml)'
            cand --json 'Print JSON (the same as --format json)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand estimate 'Count a prompt''s tokens and show what it would cost on each model, sending nothing'
        }
        &'route;cost;estimate'= {
            cand -m 'A model to price (repeatable; default: the profile''s default)'
            cand --model 'A model to price (repeatable; default: the profile''s default)'
            cand --max-tokens 'The output allowance to price (default: each model''s max output)'
            cand --profile 'The profile to use (default: <config dir>/route/profile.toml)'
            cand --json 'Print a JSON array, one object per model, instead of the table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'route;log'= {
            cand -n 'Most requests to list (newest first)'
            cand --limit 'Most requests to list (newest first)'
            cand --cid 'Only the requests of this conversation (an id or its first few characters)'
            cand --search 'Only requests whose prompt or answer holds every one of these words'
            cand --since 'Only requests since a duration ago (24h, 7d) or a local date (2026-11-01)'
            cand --profile 'The profile to use (default: <config dir>/route/profile.toml)'
            cand --json 'Print one JSON array instead of the table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand show 'Print one request, or one whole conversation, in full (default: the latest request)'
        }
        &'route;log;show'= {
            cand --profile 'The profile to use (default: <config dir>/route/profile.toml)'
            cand --json 'Print one JSON array of the turns instead of the text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'route;drill'= {
            cand --prompt 'The prompt sent on each path'
            cand --profile 'The profile to use (default: <config dir>/route/profile.toml)'
            cand --json 'Print a JSON array, one object per path, instead of the table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'route;init'= {
            cand --profile 'The profile to use (default: <config dir>/route/profile.toml)'
            cand --force 'Overwrite an existing profile'
            cand --check 'Check the existing profile and report every problem at once; write nothing'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'route;completions'= {
            cand --profile 'The profile to use (default: <config dir>/route/profile.toml)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
