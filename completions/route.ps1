
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'route' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'route'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'route' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile to use (default: <config dir>/route/profile.toml)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('ask', 'ask', [CompletionResultType]::ParameterValue, 'Ask one model, or a fallback chain; the answer streams to stdout')
            [CompletionResult]::new('compare', 'compare', [CompletionResultType]::ParameterValue, 'Send the same prompt to several models at once, side by side')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'Show the profile''s aliases and chains, with prices and health')
            [CompletionResult]::new('cost', 'cost', [CompletionResultType]::ParameterValue, 'Show what requests cost, from the local ledger')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'Show what was asked and answered, newest first; `log show` prints one in full')
            [CompletionResult]::new('drill', 'drill', [CompletionResultType]::ParameterValue, 'Exercise every fallback path of a chain for real')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a starter profile from the keys in the environment')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions (bash, zsh, fish, powershell, elvish)')
            break
        }
        'route;ask' {
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'System prompt')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'System prompt')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'A file to send with the prompt (repeatable): a PNG, JPEG, GIF or WebP image or a PDF, in each provider''s own form (models that cannot take it are skipped), or a text file, inlined')
            [CompletionResult]::new('--attach', '--attach', [CompletionResultType]::ParameterName, 'A file to send with the prompt (repeatable): a PNG, JPEG, GIF or WebP image or a PDF, in each provider''s own form (models that cannot take it are skipped), or a text file, inlined')
            [CompletionResult]::new('--max-tokens', '--max-tokens', [CompletionResultType]::ParameterName, 'Most tokens to generate')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Sampling temperature')
            [CompletionResult]::new('--temperature', '--temperature', [CompletionResultType]::ParameterName, 'Sampling temperature')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'A provider parameter, passed through (value parsed as JSON when it can be)')
            [CompletionResult]::new('--option', '--option', [CompletionResultType]::ParameterName, 'A provider parameter, passed through (value parsed as JSON when it can be)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Overrides every timeout of the profile for this request (e.g. 30s)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'Ask for one JSON value matching this JSON Schema (a file, or inline JSON): printed on one line once complete and checked; an answer that does not match moves on to the next model')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Model alias, chain, provider/model, or a comma list a,b,c')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Model alias, chain, provider/model, or a comma list a,b,c')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'A tag recorded in the ledger, for `route cost --by tag`')
            [CompletionResult]::new('--cid', '--cid', [CompletionResultType]::ParameterName, 'Continue the conversation with this id (or its first few characters; see `route log`)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile to use (default: <config dir>/route/profile.toml)')
            [CompletionResult]::new('--no-stream', '--no-stream', [CompletionResultType]::ParameterName, 'Wait for the whole answer instead of streaming it')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object (text, model, usage, cost, attempts) instead of the text; with --dry-run, the plan as one JSON object')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Continue the latest conversation: its earlier turns are sent before this prompt')
            [CompletionResult]::new('--continue', '--continue', [CompletionResultType]::ParameterName, 'Continue the latest conversation: its earlier turns are sent before this prompt')
            [CompletionResult]::new('--no-log', '--no-log', [CompletionResultType]::ParameterName, 'Do not record this request in the ledger (it cannot be continued later)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (models in order, skips, estimated cost) and send nothing')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per attempt on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per attempt on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary line on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary line on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'route;compare' {
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'System prompt')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'System prompt')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'A file to send with the prompt (repeatable): a PNG, JPEG, GIF or WebP image or a PDF, in each provider''s own form (models that cannot take it are skipped), or a text file, inlined')
            [CompletionResult]::new('--attach', '--attach', [CompletionResultType]::ParameterName, 'A file to send with the prompt (repeatable): a PNG, JPEG, GIF or WebP image or a PDF, in each provider''s own form (models that cannot take it are skipped), or a text file, inlined')
            [CompletionResult]::new('--max-tokens', '--max-tokens', [CompletionResultType]::ParameterName, 'Most tokens to generate')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Sampling temperature')
            [CompletionResult]::new('--temperature', '--temperature', [CompletionResultType]::ParameterName, 'Sampling temperature')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'A provider parameter, passed through (value parsed as JSON when it can be)')
            [CompletionResult]::new('--option', '--option', [CompletionResultType]::ParameterName, 'A provider parameter, passed through (value parsed as JSON when it can be)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Overrides every timeout of the profile for this request (e.g. 30s)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'Ask for one JSON value matching this JSON Schema (a file, or inline JSON): printed on one line once complete and checked; an answer that does not match moves on to the next model')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'A model to ask (repeatable); a chain stands for its members')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'A model to ask (repeatable); a chain stands for its members')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (default: table); markdown is the same side-by-side table, answers whole')
            [CompletionResult]::new('--repeat', '--repeat', [CompletionResultType]::ParameterName, 'Ask each model N times and report median and p95 latency')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Most requests in flight at once (default: all)')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'A tag recorded in the ledger')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile to use (default: <config dir>/route/profile.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON array (the same as --format json)')
            [CompletionResult]::new('--no-log', '--no-log', [CompletionResultType]::ParameterName, 'Do not record these requests in the ledger')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'route;models' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'With --check: how long each model may take to answer (default 10s)')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'List the built-in price catalog, optionally filtered by a substring')
            [CompletionResult]::new('--update-catalog', '--update-catalog', [CompletionResultType]::ParameterName, 'Download a fresh price catalog into the data dir (default: LiteLLM''s list)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile to use (default: <config dir>/route/profile.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of a table')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Send a minimal live request to every model and report reachability and latency')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'route;cost' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only requests since a duration ago (24h, 7d) or a date (2026-11-01)')
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'Totals per model, provider, alias, tag or day')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Most rows to show (newest first)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (default: table)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile to use (default: <config dir>/route/profile.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (the same as --format json)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('estimate', 'estimate', [CompletionResultType]::ParameterValue, 'Count a prompt''s tokens and show what it would cost on each model, sending nothing')
            break
        }
        'route;cost;estimate' {
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'A model to price (repeatable; default: the profile''s default)')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'A model to price (repeatable; default: the profile''s default)')
            [CompletionResult]::new('--max-tokens', '--max-tokens', [CompletionResultType]::ParameterName, 'The output allowance to price (default: each model''s max output)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile to use (default: <config dir>/route/profile.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON array, one object per model, instead of the table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'route;log' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Most requests to list (newest first)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Most requests to list (newest first)')
            [CompletionResult]::new('--cid', '--cid', [CompletionResultType]::ParameterName, 'Only the requests of this conversation (an id or its first few characters)')
            [CompletionResult]::new('--search', '--search', [CompletionResultType]::ParameterName, 'Only requests whose prompt or answer holds every one of these words')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only requests since a duration ago (24h, 7d) or a local date (2026-11-01)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile to use (default: <config dir>/route/profile.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON array instead of the table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print one request, or one whole conversation, in full (default: the latest request)')
            break
        }
        'route;log;show' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile to use (default: <config dir>/route/profile.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON array of the turns instead of the text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'route;drill' {
            [CompletionResult]::new('--prompt', '--prompt', [CompletionResultType]::ParameterName, 'The prompt sent on each path')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile to use (default: <config dir>/route/profile.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON array, one object per path, instead of the table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'route;init' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile to use (default: <config dir>/route/profile.toml)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite an existing profile')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Check the existing profile and report every problem at once; write nothing')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'route;completions' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile to use (default: <config dir>/route/profile.toml)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
