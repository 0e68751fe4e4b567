//! Keys never leak (issue 9): every subcommand, run against providers that
//! fail in every way (some of them echoing the key they were sent), with
//! distinctive keys from an environment variable, an `api_key_cmd` and an
//! inline (0600) profile key. No key, nor its first 8 characters, may appear
//! on stdout, on stderr, in the ledger or in any other file route wrote; and
//! each key reaches its own provider's server only, across redirects too.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use route_mock::RecordedRequest;

use crate::support::{MockServer, Reply, Script, TestEnv};

/// (provider, kind, key, the header that carries it, its value there, model).
const PROVIDERS: [(&str, &str, &str, &str, &str, &str); 4] = [
    (
        "a",
        "openai",
        "sk-route-secret-A1B2C3D4E5",
        "authorization",
        "Bearer sk-route-secret-A1B2C3D4E5",
        "gpt-4o-mini",
    ),
    (
        "b",
        "anthropic",
        "sk-ant-route-secret-F6G7H8J9",
        "x-api-key",
        "sk-ant-route-secret-F6G7H8J9",
        "claude-haiku-4-5",
    ),
    (
        "c",
        "gemini",
        "AIza-route-secret-K1L2M3N4",
        "x-goog-api-key",
        "AIza-route-secret-K1L2M3N4",
        "gemini-2.5-flash",
    ),
    (
        "d",
        "azure",
        "azure-route-secret-P5Q6R7S8",
        "api-key",
        "azure-route-secret-P5Q6R7S8",
        "gpt-4o-mini",
    ),
];

/// Everything that must never be seen: each key and its first 8 characters.
fn needles() -> Vec<String> {
    PROVIDERS
        .iter()
        .flat_map(|p| [p.2.to_owned(), p.2.chars().take(8).collect()])
        .collect()
}

/// The needles found in `haystack`.
fn leaked(haystack: &[u8]) -> Vec<String> {
    needles()
        .into_iter()
        .filter(|n| haystack.windows(n.len()).any(|w| w == n.as_bytes()))
        .collect()
}

/// A failure mode: the script of the provider whose key is the argument.
type Failure = Box<dyn Fn(&str) -> Script + Send + Sync>;

/// The ways a provider fails, each as the script of the provider whose key is `key`.
fn failures(elsewhere: &MockServer) -> Vec<(&'static str, Failure)> {
    let away = elsewhere.port();
    vec![
        (
            "401 echoing the key",
            Box::new(|key: &str| {
                Script::always(Reply::Status {
                    status: 401,
                    message: Some(format!("Incorrect API key provided: {key}")),
                    headers: vec![],
                })
            }),
        ),
        (
            "429 echoing part of the key",
            Box::new(|key: &str| {
                let masked = format!("{}****{}", &key[..12], &key[key.len() - 4..]);
                Script::always(Reply::Status {
                    status: 429,
                    message: Some(format!("Rate limit reached for key {masked}")),
                    headers: vec![("retry-after".into(), "1".into())],
                })
            }),
        ),
        (
            "500 echoing the key",
            Box::new(|key: &str| {
                Script::always(Reply::Status {
                    status: 500,
                    message: Some(format!("internal error (request had key={key})")),
                    headers: vec![],
                })
            }),
        ),
        (
            "502 HTML page echoing the headers",
            Box::new(|key: &str| {
                Script::always(Reply::RawBody {
                    status: 502,
                    content_type: "text/html".into(),
                    body: format!(
                        "<html><pre>Authorization: Bearer {key}\nx-api-key: {key}</pre></html>"
                    )
                    .into_bytes(),
                })
            }),
        ),
        (
            "200 garbage",
            Box::new(|key: &str| {
                Script::always(Reply::RawBody {
                    status: 200,
                    content_type: "application/json".into(),
                    body: format!("{{\"key\": \"{key}\", \"choices\": [[[").into_bytes(),
                })
            }),
        ),
        ("hang", Box::new(|_: &str| Script::always(Reply::Hang))),
        (
            "cut mid-stream",
            Box::new(|_: &str| Script::always(Reply::Cut { chunks: 1 })),
        ),
        (
            "error event mid-stream",
            Box::new(|_: &str| {
                Script::always(Reply::StreamError {
                    chunks: 1,
                    status: 500,
                })
            }),
        ),
        (
            "redirect to another host",
            Box::new(move |_: &str| {
                Script::always(Reply::Status {
                    status: 307,
                    message: None,
                    headers: vec![(
                        "location".into(),
                        format!("http://localhost:{away}/v1/chat/completions"),
                    )],
                })
            }),
        ),
    ]
}

/// The profile: one provider of each kind, each key from a different source.
fn profile(env: &mut TestEnv, servers: &[MockServer]) {
    let key_file = env.path().join("b.key");
    std::fs::write(&key_file, format!("{}\n", PROVIDERS[1].2)).unwrap();
    env.env("A_SECRET", PROVIDERS[0].2);
    env.env("C_SECRET", PROVIDERS[2].2);
    let mut text = String::from(
        "default = \"main\"\n\
         [settings]\nretries = 1\nbackoff = \"10ms\"\nconnect_timeout = \"1s\"\n\
         first_token_timeout = \"400ms\"\nrequest_timeout = \"1s\"\nmax_retry_wait = \"2s\"\n\
         allowed_fails = 1000\n",
    );
    for (i, (name, kind, key, _, _, model)) in PROVIDERS.iter().enumerate() {
        let url = servers[i].url();
        let base = if *kind == "openai" {
            format!("{url}/v1")
        } else {
            url
        };
        let source = match *name {
            "a" => "api_key_env = \"A_SECRET\"".to_owned(),
            "b" => format!("api_key_cmd = \"cat '{}'\"", key_file.display()),
            "c" => "api_key_env = \"C_SECRET\"".to_owned(),
            _ => format!("api_key = \"{key}\""),
        };
        let _ = write!(
            text,
            "[providers.{name}]\nkind = \"{kind}\"\nbase_url = \"{base}\"\n{source}\n\
             [models.{name}]\nprovider = \"{name}\"\nmodel = \"{model}\"\n"
        );
    }
    text.push_str("[chains.main]\nmodels = [\"a\", \"b\", \"c\", \"d\"]\n");
    env.profile(&text);
}

/// Every subcommand, the way a user or a script runs it.
fn commands(new_profile: &Path) -> Vec<Vec<String>> {
    let own = |args: &[&str]| args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        own(&["ask", "-v", "hi"]),
        own(&["ask", "-v", "--json", "hi"]),
        own(&["ask", "-v", "--no-stream", "--json", "hi"]),
        own(&["ask", "-v", "-m", "d", "hi"]),
        own(&["ask", "--dry-run", "-v", "hi"]),
        own(&["ask", "--dry-run", "--json", "hi"]),
        // An answer that does not match is quoted in the error: still no key.
        own(&[
            "ask",
            "-v",
            "--json",
            "--schema",
            r#"{"type":"object","required":["x"]}"#,
            "hi",
        ]),
        own(&[
            "compare",
            "-m",
            "main",
            "--schema",
            r#"{"type":"array"}"#,
            "hi",
        ]),
        own(&[
            "compare", "-m", "a", "-m", "b", "-m", "c", "-m", "d", "--format", "json", "hi",
        ]),
        own(&["compare", "-m", "main", "hi"]),
        own(&["compare", "-m", "main", "--format", "markdown", "hi"]),
        own(&["models"]),
        own(&["models", "--json"]),
        own(&["models", "--check"]),
        own(&["cost"]),
        own(&["cost", "--format", "json"]),
        own(&["cost", "--format", "csv"]),
        own(&["cost", "--by", "model"]),
        own(&["cost", "estimate", "-m", "main", "hi"]),
        own(&["cost", "estimate", "--json", "-m", "main", "hi"]),
        own(&["drill", "main"]),
        own(&["drill", "main", "--json"]),
        own(&["init", "--check"]),
        vec![
            "--profile".into(),
            new_profile.display().to_string(),
            "init".into(),
        ],
    ]
}

/// Every file under `dir`, but the ones the test wrote itself.
fn files_route_wrote(dir: &Path, ours: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if !ours.contains(&path) {
                out.push(path);
            }
        }
    }
    out
}

/// The keys of the other providers must not appear in a request at all, and
/// this provider's key only in its own header.
fn check_requests(failure: &str, index: usize, requests: &[RecordedRequest]) -> Vec<String> {
    let (name, _, key, header, value, _) = PROVIDERS[index];
    let mut wrong = Vec::new();
    for r in requests {
        if r.header(header) != Some(value) {
            wrong.push(format!(
                "{failure}: {name} got {header} = {:?} on {}",
                r.header(header),
                r.path
            ));
        }
        let mut rest = format!("{}\n{}\n", r.method, r.path).into_bytes();
        for (n, v) in &r.headers {
            if !n.eq_ignore_ascii_case(header) {
                rest.extend_from_slice(format!("{n}: {v}\n").as_bytes());
            }
        }
        rest.extend_from_slice(&r.body);
        for found in leaked(&rest) {
            let own = key.starts_with(&found);
            wrong.push(format!(
                "{failure}: {name} received {}{found:?} outside its key header",
                if own {
                    "its own key "
                } else {
                    "another provider's key "
                }
            ));
        }
    }
    wrong
}

#[test]
fn no_subcommand_leaks_a_key_whatever_the_servers_do() {
    let elsewhere = MockServer::start(Script::always(Reply::text("stolen")));
    let failures = failures(&elsewhere);
    let problems: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = failures
            .iter()
            .map(|(failure, script)| {
                scope.spawn(move || {
                    let servers: Vec<MockServer> = PROVIDERS
                        .iter()
                        .map(|p| MockServer::start(script(p.2)))
                        .collect();
                    let mut env = TestEnv::new();
                    profile(&mut env, &servers);
                    let new_profile = env.path().join("config").join("new-profile.toml");
                    let mut problems = Vec::new();
                    for args in commands(&new_profile) {
                        let args: Vec<&str> = args.iter().map(String::as_str).collect();
                        // `run` fails the test on a panic.
                        let run = env.run(&args);
                        for found in leaked(run.stdout.as_bytes()) {
                            problems.push(format!(
                                "{failure}: `{}` stdout shows {found:?}",
                                args.join(" ")
                            ));
                        }
                        for found in leaked(run.stderr.as_bytes()) {
                            problems.push(format!(
                                "{failure}: `{}` stderr shows {found:?}:\n{}",
                                args.join(" "),
                                run.stderr
                            ));
                        }
                    }
                    let ours = [env.path().join("profile.toml"), env.path().join("b.key")];
                    let written = files_route_wrote(env.path(), &ours);
                    assert!(
                        written.iter().any(|p| p.ends_with("ledger.db")),
                        "{failure}: no ledger was written: {written:?}"
                    );
                    for path in written {
                        let bytes = std::fs::read(&path).unwrap_or_default();
                        for found in leaked(&bytes) {
                            problems.push(format!("{failure}: {} holds {found:?}", path.display()));
                        }
                    }
                    for (i, server) in servers.iter().enumerate() {
                        let requests = server.requests();
                        if requests.is_empty() {
                            problems.push(format!("{failure}: {} was never asked", PROVIDERS[i].0));
                        }
                        problems.extend(check_requests(failure, i, &requests));
                    }
                    problems
                })
            })
            .collect();
        runs.into_iter()
            .flat_map(|r| r.join().expect("a failure mode's run"))
            .collect()
    });
    assert_eq!(
        elsewhere.request_count(),
        0,
        "a redirect took a request to another host"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn keys_stay_with_their_provider_across_same_host_redirects() {
    // Each provider first redirects (307) to its own endpoint on its own
    // host: followed, with the key, to that host only.
    let servers: Vec<MockServer> = PROVIDERS
        .iter()
        .map(|_| MockServer::start(Script::default()))
        .collect();
    let paths = [
        "/v1/chat/completions?moved=1",
        "/v1/messages?moved=1",
        "/v1beta/models/gemini-2.5-flash:generateContent?moved=1",
        "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21&moved=1",
    ];
    for (server, path) in servers.iter().zip(paths) {
        server.set_script(Script::new(vec![
            Reply::Status {
                status: 307,
                message: None,
                headers: vec![("location".into(), format!("{}{path}", server.url()))],
            },
            Reply::text("moved but fine"),
        ]));
    }
    let mut env = TestEnv::new();
    profile(&mut env, &servers);
    for name in ["a", "b", "c", "d"] {
        let run = env.run(&["ask", "--no-stream", "-m", name, "hi"]);
        run.expect_code(0);
        assert_eq!(run.stdout, "moved but fine\n", "{name}: {}", run.stderr);
        assert!(leaked(run.stderr.as_bytes()).is_empty());
    }
    for (i, server) in servers.iter().enumerate() {
        let requests = server.requests();
        assert_eq!(requests.len(), 2, "{}: {requests:?}", PROVIDERS[i].0);
        assert!(
            requests[1].path.ends_with("moved=1"),
            "{:?}",
            requests[1].path
        );
        let wrong = check_requests("redirected", i, &requests);
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}

/// A profile whose one model takes its key from `cmd`, at `server`.
fn key_command(env: &mut TestEnv, server: &MockServer, cmd: &str) {
    env.profile(&format!(
        "[providers.vault]\nkind = \"openai\"\nbase_url = \"{}/v1\"\napi_key_cmd = \"{cmd}\"\n\
         [models.m]\nprovider = \"vault\"\nmodel = \"gpt-4o-mini\"\n",
        server.url()
    ));
}

#[test]
fn a_failing_api_key_cmd_shows_its_stderr_never_its_stdout() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    // Its stdout is a key (spelled so that the command's text does not hold it).
    let cmd = "echo sk-fake-leak-$((7000+788)); echo vault is sealed, run vault login >&2; exit 1";
    key_command(&mut env, &server, cmd);
    let run = env.run(&["ask", "-m", "m", "hi"]);
    run.expect_code(2);
    assert!(run.stderr.contains(&format!("`{cmd}`")), "{}", run.stderr);
    assert!(
        run.stderr.contains("vault is sealed, run vault login"),
        "{}",
        run.stderr
    );
    for out in [&run.stdout, &run.stderr] {
        assert!(!out.contains("sk-fake-leak-7788"), "{out}");
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn an_api_key_cmd_that_hangs_is_stopped_after_10s_and_named() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    key_command(&mut env, &server, "sleep 60");
    let started = std::time::Instant::now();
    let run = env.run(&["ask", "-m", "m", "hi"]);
    // Not before its 10 seconds, and not much after (the harness allows 60).
    let took = started.elapsed();
    assert!(took >= std::time::Duration::from_secs(10), "{took:?}");
    assert!(took < std::time::Duration::from_secs(40), "{took:?}");
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("api_key_cmd `sleep 60` did not finish in 10s"),
        "{}",
        run.stderr
    );
    assert_eq!(server.request_count(), 0);
}
