//! Bad input (issue 9): one table of inputs that are wrong, each of which
//! must exit 2 with an error that says what is wrong and where (the profile's
//! `file:line:col`, or the flag), on one line, optionally followed by a `hint:`
//! line, and never a panic. Nothing may reach the provider.

use crate::support::{MockServer, Script, TestEnv, provider};

/// One bad input.
struct Case {
    name: &'static str,
    /// The profile text; `None` keeps the good one.
    profile: Option<String>,
    /// The profile's mode (the good one is 0600).
    mode: Option<u32>,
    args: Vec<&'static str>,
    stdin: Option<Vec<u8>>,
    env: Vec<(&'static str, String)>,
    /// Text the error must contain: what is wrong, and where.
    says: Vec<String>,
    /// clap reports this one, in its own format (error line, then help).
    clap: bool,
}

fn case(name: &'static str, args: &[&'static str], says: &[&str]) -> Case {
    Case {
        name,
        profile: None,
        mode: None,
        args: args.to_vec(),
        stdin: None,
        env: Vec::new(),
        says: says.iter().map(|s| (*s).to_owned()).collect(),
        clap: false,
    }
}

/// A profile case: the text replaces the good profile, and the error must
/// name `profile.toml:LINE:` plus `says`.
fn profile_case(name: &'static str, text: &str, line: u32, says: &[&str]) -> Case {
    let mut c = case(name, &["ask", "hi"], says);
    c.profile = Some(text.to_owned());
    c.says.push(format!("profile.toml:{line}:"));
    c
}

impl Case {
    fn stdin(mut self, bytes: Vec<u8>) -> Self {
        self.stdin = Some(bytes);
        self
    }

    fn mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    fn env(mut self, key: &'static str, value: &str) -> Self {
        self.env.push((key, value.to_owned()));
        self
    }

    fn clap(mut self) -> Self {
        self.clap = true;
        self
    }
}

const PROVIDER: &str = "[providers.o]\nkind = \"openai\"\napi_key_env = \"O_KEY\"\n";

fn cases() -> Vec<Case> {
    let mut cases = vec![
        // -- The profile: TOML syntax and types
        profile_case("syntax error", "[settings\nretries = 1\n", 1, &[]),
        profile_case(
            "duplicate key",
            "[settings]\nretries = 1\nretries = 2\n",
            3,
            &["duplicate key"],
        ),
        profile_case("unterminated string", "default = \"main\n", 1, &[]),
        profile_case(
            "retries is not a number",
            "[settings]\nretries = \"two\"\n",
            2,
            &["i64"],
        ),
        profile_case(
            "timeout is not a string",
            "[settings]\nconnect_timeout = 5\n",
            2,
            &["string"],
        ),
        profile_case(
            "chain models is not a list",
            &format!("{PROVIDER}[chains.c]\nmodels = \"o/x\"\n"),
            5,
            &["sequence"],
        ),
        // -- Unknown keys and tables
        profile_case(
            "unknown settings key",
            "[settings]\nidle_timout = \"5s\"\n",
            2,
            &["idle_timout", "idle_timeout"],
        ),
        profile_case(
            "unknown table",
            "[setings]\nretries = 1\n",
            1,
            &["setings", "settings"],
        ),
        profile_case(
            "unknown provider key",
            "[providers.o]\nkind = \"openai\"\napi_key_evn = \"X\"\n",
            3,
            &["api_key_evn", "api_key_env"],
        ),
        profile_case(
            "unknown provider kind",
            "[providers.o]\nkind = \"openia\"\n",
            2,
            &["openia", "openai"],
        ),
        profile_case(
            "provider without a kind",
            "[providers.o]\nbase_url = \"http://127.0.0.1:1\"\n",
            1,
            &["kind"],
        ),
        // -- Values
        profile_case(
            "duration in parsecs",
            "[settings]\ncooldown = \"5 parsecs\"\n",
            2,
            &["cooldown", "parsecs"],
        ),
        profile_case(
            "duration without a unit",
            "[settings]\nidle_timeout = \"30\"\n",
            2,
            &["idle_timeout", "no unit"],
        ),
        profile_case(
            "zero request timeout",
            "[settings]\nrequest_timeout = \"0s\"\n",
            2,
            &["request_timeout"],
        ),
        profile_case(
            "negative retries",
            "[settings]\nretries = -1\n",
            2,
            &["retries"],
        ),
        profile_case(
            "negative daily budget",
            "[budget]\ndaily = -5.0\n",
            2,
            &["daily"],
        ),
        profile_case(
            "budget that is not a number",
            "[budget]\nmonthly = nan\n",
            2,
            &["monthly"],
        ),
        profile_case(
            "negative price",
            &format!("{PROVIDER}[models.m]\nprovider = \"o\"\nmodel = \"x\"\ninput_cost = -3.0\n"),
            7,
            &["input_cost"],
        ),
        profile_case(
            "zero context window",
            &format!("{PROVIDER}[models.m]\nprovider = \"o\"\nmodel = \"x\"\ncontext_window = 0\n"),
            7,
            &["context_window"],
        ),
        profile_case(
            "two key sources",
            "[providers.o]\nkind = \"openai\"\napi_key_env = \"A\"\napi_key_cmd = \"echo b\"\n",
            1,
            &["api_key"],
        ),
        profile_case(
            "base_url that is not a URL",
            "[providers.o]\nkind = \"openai\"\nbase_url = \"not a url\"\n",
            3,
            &["base_url"],
        ),
        profile_case(
            "alias of an unknown provider",
            &format!("{PROVIDER}[models.m]\nprovider = \"oo\"\nmodel = \"x\"\n"),
            5,
            &["oo"],
        ),
        // -- Chains and the default
        profile_case(
            "chain that names itself",
            &format!(
                "{PROVIDER}[models.m]\nprovider = \"o\"\nmodel = \"x\"\n[chains.c]\nmodels = [\"m\", \"c\"]\n"
            ),
            8,
            &["names itself"],
        ),
        profile_case(
            "chain of an unknown alias",
            &format!("{PROVIDER}[chains.c]\nmodels = [\"nobody\"]\n"),
            5,
            &["nobody"],
        ),
        profile_case(
            "empty chain",
            &format!("{PROVIDER}[chains.c]\nmodels = []\n"),
            4,
            &["empty"],
        ),
        profile_case(
            "unknown strategy",
            &format!("{PROVIDER}[chains.c]\nmodels = [\"o/x\"]\nstrategy = \"sideways\"\n"),
            6,
            &["sideways"],
        ),
        profile_case(
            "default names nothing",
            &format!("default = \"nowhere\"\n{PROVIDER}"),
            1,
            &["nowhere"],
        ),
        // -- The 0600 rule
        profile_case(
            "inline key in a profile others can read",
            "[providers.o]\nkind = \"openai\"\napi_key = \"sk-inline-A1B2C3\"\n",
            3,
            &["0644", "chmod 600"],
        )
        .mode(0o644),
        // -- The profile file itself
        case(
            "profile that does not exist",
            &["ask", "hi"],
            &["/nonexistent/profile.toml", "does not exist"],
        )
        .env("ROUTE_PROFILE", "/nonexistent/profile.toml"),
        case(
            "profile that is a folder",
            &["ask", "hi"],
            &["cannot read profile"],
        )
        .env("ROUTE_PROFILE", "/"),
        // -- The prompt
        case("no prompt at all", &["ask"], &["no prompt"]),
        case("a prompt of spaces", &["ask", "   "], &["no prompt"]).stdin(b"\n\t \n".to_vec()),
        case(
            "stdin that is not UTF-8",
            &["ask", "hi"],
            &["stdin", "UTF-8", "offset 3"],
        )
        .stdin(b"abc\xff\xfedef".to_vec()),
        case(
            "50 MB of stdin against a small context window",
            &["ask", "-m", "small", "summarise"],
            &["small", "context window"],
        )
        .stdin(vec![b'a'; 50 * 1024 * 1024]),
        // -- Flags
        case(
            "-o without =",
            &["ask", "-o", "temperature", "hi"],
            &["-o `temperature`", "="],
        ),
        case(
            "-o with an empty key",
            &["ask", "-o", "=5", "hi"],
            &["-o `=5`", "key"],
        ),
        case(
            "-o with a known key of the wrong type",
            &["ask", "-o", "temperature=hot", "hi"],
            &["temperature", "number"],
        ),
        case(
            "--timeout in parsecs",
            &["ask", "--timeout", "5 parsecs", "hi"],
            &["--timeout", "parsecs"],
        ),
        case(
            "-m of an unknown alias",
            &["ask", "-m", "mm", "hi"],
            &["unknown model `mm`"],
        ),
        case("-m that is empty", &["ask", "-m", "", "hi"], &["model"]),
        case(
            "-m with an empty member",
            &["ask", "-m", "m,,m", "hi"],
            &["m,,m"],
        ),
        case(
            "unknown --format for compare",
            &["compare", "-m", "m", "--format", "yaml", "hi"],
            &["yaml", "--format"],
        )
        .clap(),
        case(
            "unknown --format for cost",
            &["cost", "--format", "xml"],
            &["xml", "--format"],
        )
        .clap(),
        case(
            "--max-tokens that is not a number",
            &["ask", "--max-tokens", "many", "hi"],
            &["many", "--max-tokens"],
        )
        .clap(),
        case(
            "-t that is not a number",
            &["ask", "-t", "hot", "hi"],
            &["hot"],
        )
        .clap(),
        // -- Parameters, checked before anything is sent (issue 13 §6)
        case(
            "-t NaN",
            &["ask", "-t", "NaN", "hi"],
            &["NaN", "--temperature", "finite number"],
        )
        .clap(),
        case(
            "-t inf",
            &["ask", "-t", "inf", "hi"],
            &["inf", "--temperature", "finite number"],
        )
        .clap(),
        case(
            "-t beyond the kind's range",
            &["ask", "-t", "99", "hi"],
            &["-t 99", "`m`", "openai takes a temperature from 0 to 2"],
        ),
        case(
            "-t below 0",
            &["ask", "-t", "-1", "hi"],
            &["-t -1", "from 0 to 2"],
        ),
        case(
            "-t 1.5 for an Anthropic model",
            &["ask", "-m", "claude", "-t", "1.5", "hi"],
            &[
                "-t 1.5",
                "`claude`",
                "anthropic takes a temperature from 0 to 1",
            ],
        ),
        case(
            "-t beyond the range of one chain member",
            &["compare", "-m", "m", "-m", "claude", "-t", "1.5", "hi"],
            &["-t 1.5", "`claude`"],
        ),
        case(
            "-o temperature out of range",
            &["ask", "-o", "temperature=3", "hi"],
            &["-o temperature 3", "from 0 to 2"],
        ),
        case(
            "a profile temperature out of range",
            &["ask", "-m", "hot", "hi"],
            &["params.temperature", "`hot`", "from 0 to 2"],
        ),
        case(
            "--max-tokens 0",
            &["ask", "--max-tokens", "0", "hi"],
            &["--max-tokens", "positive whole number", "`0`"],
        )
        .clap(),
        case(
            "--max-tokens -5",
            &["ask", "--max-tokens", "-5", "hi"],
            &["--max-tokens", "positive whole number", "`-5`"],
        )
        .clap(),
        case(
            "-o max_tokens=0",
            &["ask", "-o", "max_tokens=0", "hi"],
            &["max_tokens", "at least 1"],
        ),
        case(
            "--max-tokens 0 for cost estimate",
            &["cost", "estimate", "--max-tokens", "0", "hi"],
            &["--max-tokens", "positive whole number"],
        )
        .clap(),
        case(
            "--limit -1",
            &["cost", "--limit", "-1"],
            &["--limit", "positive whole number", "`-1`"],
        )
        .clap(),
        case(
            "--limit 0",
            &["cost", "--limit", "0"],
            &["--limit", "positive whole number", "`0`"],
        )
        .clap(),
        // -- route log (issue 14)
        case(
            "route log -n 0",
            &["log", "-n", "0"],
            &["--limit", "positive whole number", "`0`"],
        )
        .clap(),
        case(
            "route log -n -3",
            &["log", "-n", "-3"],
            &["--limit", "positive whole number", "`-3`"],
        )
        .clap(),
        case(
            "route log --since that is neither a duration nor a date",
            &["log", "--since", "last tuesday"],
            &["--since", "last tuesday"],
        ),
        case(
            "route log show of an id that is stored nowhere",
            &["log", "show", "not-an-id"],
            &["not-an-id", "route log"],
        ),
        case(
            "route log --cid of a conversation stored nowhere",
            &["log", "--cid", "not-an-id"],
            &["--cid", "not-an-id", "route log"],
        ),
        // -- References
        case(
            "a provider reference without a model id",
            &["ask", "-m", "mock/", "hi"],
            &["`mock/`", "no model id after the `/`", "mock/MODEL"],
        ),
        case(
            "a model reference without a provider",
            &["ask", "-m", "/x", "hi"],
            &["`/x`", "no provider before the `/`"],
        ),
        {
            let mut c = case(
                "an empty profile",
                &["ask", "-m", "gpt", "hi"],
                &["profile.toml defines no models", "route init"],
            );
            c.profile = Some(String::new());
            c
        },
        {
            let mut c = case(
                "an empty profile, no -m",
                &["ask", "hi"],
                &["profile.toml defines no models", "route init"],
            );
            c.profile = Some(String::new());
            c
        },
        case(
            "compare without a prompt",
            &["compare", "-m", "m"],
            &["no prompt", "route compare -m"],
        ),
        case("unknown shell", &["completions", "tcsh"], &["tcsh"]).clap(),
        case("unknown subcommand", &["aks", "hi"], &["aks"]).clap(),
        // -- Keys
        case(
            "api_key_cmd that fails",
            &["ask", "-m", "cmdfail", "hi"],
            &["api_key_cmd", "exit 3", "failed"],
        ),
        case(
            "api_key_cmd that prints nothing",
            &["ask", "-m", "cmdempty", "hi"],
            &["api_key_cmd", "printed nothing"],
        ),
        case(
            "api_key_env that is not set",
            &["ask", "-m", "nokey", "hi"],
            &["NOT_SET_ANYWHERE_KEY", "not set"],
        ),
    ];
    // A bad profile is reported whatever the command.
    let mut for_cost = profile_case(
        "bad profile under cost estimate",
        "[settings]\nretries = \"x\"\n",
        2,
        &["expected i64"],
    );
    for_cost.args = vec!["cost", "estimate", "-m", "m", "hi"];
    cases.push(for_cost);
    cases
}

#[test]
fn every_bad_input_exits_2_saying_what_and_where() {
    let server = MockServer::start(Script::default());
    let good = format!(
        "default = \"m\"\n{}\
         [providers.cmdfail]\nkind = \"openai\"\nbase_url = \"{url}/v1\"\napi_key_cmd = \"exit 3\"\n\
         [providers.cmdempty]\nkind = \"openai\"\nbase_url = \"{url}/v1\"\napi_key_cmd = \"true\"\n\
         [providers.nokey]\nkind = \"openai\"\nbase_url = \"{url}/v1\"\napi_key_env = \"NOT_SET_ANYWHERE_KEY\"\n\
         [models.m]\nprovider = \"mock\"\nmodel = \"gpt-4o-mini\"\n\
         [models.small]\nprovider = \"mock\"\nmodel = \"gpt-4o-mini\"\ncontext_window = 1000\n\
         [models.cmdfail]\nprovider = \"cmdfail\"\nmodel = \"gpt-4o-mini\"\n\
         [models.cmdempty]\nprovider = \"cmdempty\"\nmodel = \"gpt-4o-mini\"\n\
         [models.nokey]\nprovider = \"nokey\"\nmodel = \"gpt-4o-mini\"\n\
         [providers.ant]\nkind = \"anthropic\"\nbase_url = \"{url}\"\napi_key_env = \"MOCK_KEY\"\n\
         [models.claude]\nprovider = \"ant\"\nmodel = \"claude-haiku-4-5-20251001\"\n\
         [models.hot]\nprovider = \"mock\"\nmodel = \"gpt-4o-mini\"\nparams = {{ temperature = 7.0 }}\n",
        provider("mock", "openai", &server),
        url = server.url(),
    );
    let cases = cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let mut env = TestEnv::new();
        env.env("MOCK_KEY", "sk-test");
        let path = env.profile(c.profile.as_deref().unwrap_or(&good));
        #[cfg(unix)]
        if let Some(mode) = c.mode {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        for (k, v) in &c.env {
            env.env(k, v);
        }
        // `run_with` itself fails the test on "panicked" in stderr.
        let run = env.run_with(&c.args, c.stdin.as_deref());
        let lines: Vec<&str> = run.stderr.lines().collect();
        let first = lines.first().copied().unwrap_or_default();
        let mut wrong = Vec::new();
        if run.code != 2 {
            wrong.push(format!("exit {}", run.code));
        }
        if !first.starts_with("error: ") {
            wrong.push("the first line is not `error: …`".to_owned());
        }
        for text in &c.says {
            if !run.stderr.contains(text.as_str()) {
                wrong.push(format!("does not say {text:?}"));
            }
        }
        if !c.clap {
            let extra: Vec<&&str> = lines[1.min(lines.len())..]
                .iter()
                .filter(|l| !l.starts_with("  hint: "))
                .collect();
            if !extra.is_empty() {
                wrong.push(format!("more than an error and a hint: {extra:?}"));
            }
        }
        if !run.stdout.is_empty() {
            wrong.push(format!("stdout is not empty: {:?}", run.stdout));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {}\n    stderr: {}",
                c.name,
                wrong.join("; "),
                run.stderr.trim_end().replace('\n', "\n            ")
            ));
        }
    }
    assert_eq!(
        server.request_count(),
        0,
        "a bad input reached the provider"
    );
    assert!(
        failures.is_empty(),
        "{} of {} bad inputs were not reported as they should be:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
