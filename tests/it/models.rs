//! `route models` (issue 7): the table and `--json`, the floating-id and retirement
//! warnings, `--check` against live local servers, health from the ledger,
//! `--catalog`, `--update-catalog`, and `ask`'s once-a-day retirement warning.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, SystemTime};

use crate::support::{MockServer, Reply, Script, TestEnv, closed_port, provider};

/// A profile with a pinned alias, a floating alias, and a chain with a
/// `provider/model` member, all at one mock provider.
fn three_models(env: &mut TestEnv, server: &MockServer) {
    env.env("MOCK_KEY", "sk-test-models");
    env.profile(&format!(
        "default = \"main\"\n{}\n\
         [models.pinned]\nprovider = \"mock\"\nmodel = \"gpt-4o-2024-08-06\"\n\n\
         [models.floaty]\nprovider = \"mock\"\nmodel = \"gpt-4o\"\n\n\
         [chains.main]\nmodels = [\"pinned\", \"mock/gpt-4o-mini\"]\nstrategy = \"cheapest\"\n",
        provider("mock", "openai", server)
    ));
}

fn find<'a>(rows: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row named {name} in {rows:#?}"))
}

#[test]
fn json_has_aliases_chain_members_and_chains_with_their_fields() {
    // -- Setup
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    three_models(&mut env, &server);
    // -- Exec
    let run = env.run(&["models", "--json"]);
    // -- Check
    run.expect_code(0);
    let rows = run.json().as_array().cloned().expect("an array");
    let pinned = find(&rows, "pinned");
    assert_eq!(pinned["type"], "alias");
    assert_eq!(pinned["alias"], "pinned");
    assert_eq!(pinned["provider"], "mock");
    assert_eq!(pinned["model"], "gpt-4o-2024-08-06");
    assert_eq!(pinned["pin"], "pinned");
    assert_eq!(pinned["pinned"], true);
    assert_eq!(pinned["floating"], false);
    assert_eq!(pinned["context_window"], 128_000);
    assert_eq!(pinned["input_per_1m"], 2.5);
    assert_eq!(pinned["output_per_1m"], 10.0);
    assert_eq!(pinned["health"]["status"], "unknown");
    assert!(pinned["median_latency_ms"].is_null());
    assert_eq!(pinned["chains"], serde_json::json!(["main"]));

    let floaty = find(&rows, "floaty");
    assert_eq!(floaty["floating"], true);
    assert_eq!(floaty["pinned"], false);
    let snapshot = floaty["snapshot"].as_str().expect("a snapshot to pin");
    assert!(snapshot.starts_with("gpt-4o-20"), "{snapshot}");

    let member = find(&rows, "mock/gpt-4o-mini");
    assert_eq!(member["type"], "model");
    assert!(member["alias"].is_null());
    assert_eq!(member["floating"], true);

    let chain = find(&rows, "main");
    assert_eq!(chain["type"], "chain");
    assert_eq!(chain["strategy"], "cheapest");
    assert_eq!(
        chain["members"],
        serde_json::json!(["pinned", "mock/gpt-4o-mini"])
    );
    assert_eq!(chain["default"], true);
    // Nothing is sent to list models.
    assert_eq!(server.request_count(), 0);
}

#[test]
fn floating_ids_are_flagged_on_stderr_with_the_snapshot_to_pin() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    three_models(&mut env, &server);
    let run = env.run(&["models"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("`floaty` uses the floating id `gpt-4o`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("pin the snapshot: model = \"gpt-4o-20"),
        "{}",
        run.stderr
    );
    // The pinned alias is not flagged; the table goes to stdout only.
    assert!(!run.stderr.contains("`pinned` uses"), "{}", run.stderr);
    assert!(run.stdout.contains("floaty") && run.stdout.contains("floating"));
    assert!(run.stdout.contains("main (default)"), "{}", run.stdout);
    assert!(!run.stdout.contains("warning"), "{}", run.stdout);
}

#[test]
fn check_sends_one_request_to_each_model_and_fails_when_one_fails() {
    // -- Setup
    let good = MockServer::start(Script::always(Reply::text("OK")));
    let bad = MockServer::start(Script::always(Reply::status(500)));
    let mut env = TestEnv::new();
    env.env("GOOD_KEY", "k1").env("BAD_KEY", "k2");
    env.profile(&format!(
        "[settings]\nretries = 3\n{}{}\
         [models.fine]\nprovider = \"good\"\nmodel = \"gpt-4o-mini-2024-07-18\"\n\n\
         [models.broken]\nprovider = \"bad\"\nmodel = \"gpt-4o-mini-2024-07-18\"\n",
        provider("good", "openai", &good),
        provider("bad", "openai", &bad)
    ));
    // -- Exec
    let run = env.run(&["models", "--check"]);
    // -- Check
    run.expect_code(1);
    let line = |name: &str| {
        run.stdout
            .lines()
            .find(|l| l.contains(&format!("| {name} ")))
            .unwrap_or_else(|| panic!("no line for {name}:\n{}", run.stdout))
            .to_owned()
    };
    assert!(line("fine").contains("| ok "), "{}", run.stdout);
    assert!(line("broken").contains("HTTP 500"), "{}", run.stdout);
    assert!(
        run.stderr.contains("1 of 2 models failed"),
        "{}",
        run.stderr
    );
    // One try each, however many retries the profile allows, and a tiny request.
    assert_eq!(good.request_count(), 1);
    assert_eq!(bad.request_count(), 1);
    assert_eq!(good.requests()[0].json()["max_tokens"], 16);

    // Recorded as `check` attempts, so health follows.
    let conn = rusqlite::Connection::open(env.data_dir().join("ledger.db")).unwrap();
    let commands: Vec<(String, String)> = conn
        .prepare("SELECT label, command FROM attempts ORDER BY label")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        commands,
        [
            ("broken".to_owned(), "check".to_owned()),
            ("fine".to_owned(), "check".to_owned())
        ]
    );
    let json = env.run(&["models", "--json"]);
    let rows = json.json().as_array().cloned().unwrap();
    assert_eq!(find(&rows, "fine")["health"]["status"], "ok");
    assert!(find(&rows, "fine")["median_latency_ms"].is_u64());
    assert_eq!(find(&rows, "broken")["health"]["status"], "failing");
}

#[test]
fn check_json_and_a_refused_connection() {
    let good = MockServer::start(Script::default());
    let port = closed_port();
    let mut env = TestEnv::new();
    env.env("GOOD_KEY", "k");
    env.profile(&format!(
        "{}[providers.down]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\napi_key_env = \"GOOD_KEY\"\n\
         [models.up]\nprovider = \"good\"\nmodel = \"m\"\n\
         [models.gone]\nprovider = \"down\"\nmodel = \"m\"\n",
        provider("good", "openai", &good)
    ));
    let run = env.run(&["models", "--check", "--json"]);
    run.expect_code(1);
    let rows = run.json().as_array().cloned().unwrap();
    assert_eq!(find(&rows, "up")["ok"], true);
    assert!(find(&rows, "up")["latency_ms"].is_u64());
    assert_eq!(find(&rows, "gone")["ok"], false);
    assert_eq!(find(&rows, "gone")["error_kind"], "connect");
}

/// A profile of `names`, each an alias at the one mock (which need not answer).
fn models_at(env: &mut TestEnv, server: &MockServer, names: &[&str]) {
    env.env("MOCK_KEY", "sk-test-models");
    let mut text = provider("mock", "openai", server);
    for name in names {
        let _ = writeln!(
            text,
            "[models.{name}]\nprovider = \"mock\"\nmodel = \"gpt-4o-mini-2024-07-18\""
        );
    }
    env.profile(&text);
}

#[test]
fn check_asks_every_model_at_once_each_bounded_by_timeout() {
    // -- Setup: three models at an endpoint that never answers, with the profile's
    // two-minute request_timeout.
    let hang = MockServer::start(Script::always(Reply::Hang));
    let mut env = TestEnv::new();
    models_at(&mut env, &hang, &["one", "two", "three"]);
    // -- Exec
    let run = env.run(&["models", "--check", "--timeout", "1s"]);
    // -- Check
    run.expect_code(1);
    for name in ["one", "two", "three"] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(&format!("| {name} ")))
            .unwrap_or_else(|| panic!("no line for {name}:\n{}", run.stdout));
        assert!(line.contains("| timed out after 1s "), "{}", run.stdout);
    }
    // In profile (name) order.
    let at = |name: &str| run.stdout.find(&format!("| {name} ")).unwrap();
    assert!(
        at("one") < at("three") && at("three") < at("two"),
        "{}",
        run.stdout
    );
    // All three were waiting on the mock at the same moment: sent at once, not in turn.
    assert_eq!(hang.request_count(), 3);
    assert_eq!(hang.most_in_flight(), 3);
    // Off a terminal, no live lines.
    assert!(!run.stderr.contains("waiting"), "{}", run.stderr);
    assert!(
        run.stderr.contains("3 of 3 models failed"),
        "{}",
        run.stderr
    );

    let run = env.run(&["models", "--check", "--timeout", "1s", "--json"]);
    run.expect_code(1);
    let rows = run.json().as_array().cloned().unwrap();
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(row["ok"], false, "{row}");
        assert_eq!(row["timed_out"], true, "{row}");
        assert_eq!(row["error_kind"], "timeout", "{row}");
        assert_eq!(row["message"], "timed out after 1s", "{row}");
    }
}

#[test]
fn check_runs_the_key_commands_at_once() {
    // -- Setup: two providers whose api_key_cmd each waits for the other to start,
    // so that run one after another the first would never finish.
    let server = MockServer::start(Script::always(Reply::text("OK")));
    let mut env = TestEnv::new();
    let mark = |name: &str| env.path().join(name).display().to_string();
    let cmd = |me: &str, other: &str| {
        format!(
            "echo ran >> {}.runs; touch {}; while [ ! -e {} ]; do sleep 0.05; done; echo k-{me}",
            mark(me),
            mark(me),
            mark(other)
        )
    };
    let (first, second) = (cmd("one", "two"), cmd("two", "one"));
    let url = server.url();
    env.profile(&format!(
        "[providers.p1]\nkind = \"openai\"\nbase_url = \"{url}/v1\"\napi_key_cmd = \"{first}\"\n\
         [providers.p2]\nkind = \"openai\"\nbase_url = \"{url}/v1\"\napi_key_cmd = \"{second}\"\n\
         [models.one]\nprovider = \"p1\"\nmodel = \"gpt-4o-mini-2024-07-18\"\n\
         [models.two]\nprovider = \"p2\"\nmodel = \"gpt-4o-mini-2024-07-18\"\n\
         [models.again]\nprovider = \"p1\"\nmodel = \"gpt-4o-2024-08-06\"\n"
    ));
    // -- Exec
    let run = env.run(&["models", "--check", "--timeout", "5s", "--json"]);
    // -- Check
    run.expect_code(0);
    let rows = run.json().as_array().cloned().unwrap();
    assert!(rows.iter().all(|r| r["ok"] == true), "{rows:#?}");
    // Each provider's key went with its own requests, its command run once.
    let mut keys: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap_or_default().to_owned())
        .collect();
    keys.sort();
    assert_eq!(keys, ["Bearer k-one", "Bearer k-one", "Bearer k-two"]);
    let runs = std::fs::read_to_string(env.path().join("one.runs")).unwrap();
    assert_eq!(runs, "ran\n");
}

#[test]
fn check_timeout_must_be_a_duration() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    models_at(&mut env, &server, &["one"]);
    for bad in ["soon", "10", "0s"] {
        let run = env.run(&["models", "--check", "--timeout", bad]);
        run.expect_code(2);
        assert!(run.stderr.contains("--timeout"), "{bad}: {}", run.stderr);
    }
    let run = env.run(&["models", "--timeout", "1s"]);
    run.expect_code(2);
    assert!(run.stderr.contains("--check"), "{}", run.stderr);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn check_draws_a_live_line_per_model_on_a_terminal() {
    let good = MockServer::start(Script::always(Reply::text("OK")));
    let hang = MockServer::start(Script::always(Reply::Hang));
    let mut env = TestEnv::new();
    env.env("GOOD_KEY", "k1").env("HANG_KEY", "k2");
    env.profile(&format!(
        "{}{}\
         [models.fine]\nprovider = \"good\"\nmodel = \"gpt-4o-mini-2024-07-18\"\n\n\
         [models.stuck]\nprovider = \"hang\"\nmodel = \"gpt-4o-mini-2024-07-18\"\n",
        provider("good", "openai", &good),
        provider("hang", "openai", &hang)
    ));
    let run = env.run_terminal(&["models", "--check", "--timeout", "1s"]);
    run.expect_code(1);
    let shown = &run.stdout;
    assert!(shown.contains("stuck  waiting"), "{shown}");
    assert!(shown.contains("fine   done in "), "{shown}");
    assert!(shown.contains("stuck  failed: timeout"), "{shown}");
    // The table follows the lines.
    let table = shown.rfind("│ fine ").expect(shown);
    assert!(shown.rfind("waiting").unwrap() < table, "{shown}");
    assert!(shown[table..].contains("┆ ok "), "{shown}");
    assert!(shown[table..].contains("┆ timed out after 1s "), "{shown}");
}

#[test]
fn catalog_lists_only_the_matching_models() {
    let env = TestEnv::new();
    let run = env.run(&["models", "--catalog", "claude"]);
    run.expect_code(0);
    let rows: Vec<&str> = run
        .stdout
        .lines()
        .skip(2) // header and separator
        .filter(|l| l.starts_with("| ") && !l.starts_with("|  "))
        .collect();
    assert!(!rows.is_empty(), "{}", run.stdout);
    for row in &rows {
        let model = row.split('|').nth(1).unwrap().trim();
        assert!(model.contains("claude"), "{row}");
    }
    assert!(run.stdout.contains("anthropic"), "{}", run.stdout);

    let json = env.run(&["models", "--catalog", "claude", "--json"]);
    json.expect_code(0);
    let all = json.json().as_array().cloned().unwrap();
    assert_eq!(all.len(), rows.len());
    assert!(
        all.iter()
            .all(|m| m["model"].as_str().unwrap().contains("claude"))
    );
    assert!(all.iter().any(|m| m["input_per_1m"].is_f64()));
    // No profile is needed to read the catalog.
    assert!(!json.stderr.contains("error"), "{}", json.stderr);
}

#[test]
fn health_shows_cooling_down_after_failures() {
    let bad = MockServer::start(Script::always(Reply::status(500)));
    let mut env = TestEnv::new();
    env.env("BAD_KEY", "k");
    env.profile(&format!(
        "[settings]\nretries = 0\nallowed_fails = 1\ncooldown = \"1h\"\n{}\
         [models.flaky]\nprovider = \"bad\"\nmodel = \"gpt-4o-mini-2024-07-18\"\n",
        provider("bad", "openai", &bad)
    ));
    env.run(&["ask", "-m", "flaky", "hi"]).expect_code(1);

    let run = env.run(&["models", "--json"]);
    run.expect_code(0);
    let rows = run.json().as_array().cloned().unwrap();
    let flaky = find(&rows, "flaky");
    assert_eq!(flaky["health"]["status"], "cooling_down", "{flaky:#}");
    assert!(flaky["health"]["until"].is_string());
    assert_eq!(flaky["health"]["consecutive_failures"], 1);
    assert_eq!(flaky["health"]["last_error"], "server (HTTP 500)");

    env.env("COLUMNS", "200");
    let table = env.run(&["models"]);
    assert!(
        table.stdout.contains("cooling down until"),
        "{}",
        table.stdout
    );
}

/// `YYYY-MM-DD`, `days` from today (UTC).
fn date_in(days: i64) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let day = i64::try_from(now / 86_400).unwrap() + days;
    let (y, m, d) = route::time::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A LiteLLM-format catalog: a snapshot retiring in 10 days and a newer one.
fn retiring_catalog() -> String {
    format!(
        r#"{{
  "gpt-old-2025-01-01": {{"litellm_provider": "openai", "mode": "chat",
      "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
      "max_input_tokens": 100000, "deprecation_date": "{}"}},
  "gpt-old-2026-06-01": {{"litellm_provider": "openai", "mode": "chat",
      "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
      "max_input_tokens": 100000}}
}}"#,
        date_in(10)
    )
}

#[test]
fn retiring_snapshots_are_flagged_and_ask_warns_once_a_day() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    std::fs::create_dir_all(env.data_dir()).unwrap();
    std::fs::write(env.data_dir().join("catalog.json"), retiring_catalog()).unwrap();
    env.env("MOCK_KEY", "k");
    env.profile(&format!(
        "{}[models.old]\nprovider = \"mock\"\nmodel = \"gpt-old-2025-01-01\"\n",
        provider("mock", "openai", &server)
    ));
    let retire = date_in(10);

    let run = env.run(&["models", "--json"]);
    run.expect_code(0);
    let rows = run.json().as_array().cloned().unwrap();
    let old = find(&rows, "old");
    assert_eq!(old["retiring"], true);
    assert_eq!(old["deprecation_date"], retire.as_str());
    assert_eq!(old["successor"], "gpt-old-2026-06-01");
    assert!(
        run.stderr
            .contains(&format!("retired by the provider on {retire} (in 10 days)")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("move to `gpt-old-2026-06-01`"),
        "{}",
        run.stderr
    );

    // ask: the warning once, then not again today.
    let first = env.run(&["ask", "-m", "old", "hi"]);
    first.expect_code(0);
    assert!(first.stderr.contains(&retire), "{}", first.stderr);
    let second = env.run(&["ask", "-m", "old", "hi"]);
    second.expect_code(0);
    assert!(!second.stderr.contains(&retire), "{}", second.stderr);
    let state = std::fs::read_to_string(env.data_dir().join("warned.json")).unwrap();
    assert!(state.contains("mock/gpt-old-2025-01-01"), "{state}");
}

#[test]
fn ask_is_not_failed_by_an_unwritable_state_file() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    std::fs::create_dir_all(env.data_dir()).unwrap();
    std::fs::write(env.data_dir().join("catalog.json"), retiring_catalog()).unwrap();
    // A folder where the state file should be: it can be neither read nor replaced.
    std::fs::create_dir_all(env.data_dir().join("warned.json").join("x")).unwrap();
    env.env("MOCK_KEY", "k");
    env.profile(&format!(
        "{}[models.old]\nprovider = \"mock\"\nmodel = \"gpt-old-2025-01-01\"\n",
        provider("mock", "openai", &server)
    ));
    let run = env.run(&["ask", "-m", "old", "hi"]);
    run.expect_code(0);
    assert!(run.stderr.contains(&date_in(10)), "{}", run.stderr);
}

/// Serves `body` to every GET until the test ends, on its own thread.
fn serve_file(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/catalog.json", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn update_catalog_installs_a_download_and_keeps_the_old_one_on_failure() {
    let env = TestEnv::new();
    let url = serve_file(retiring_catalog());
    let run = env.run(&["models", "--update-catalog", &url]);
    run.expect_code(0);
    assert!(run.stderr.contains("installed 2 models"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    let listed = env.run(&["models", "--catalog", "gpt-old", "--json"]);
    assert_eq!(listed.json().as_array().unwrap().len(), 2);

    let down = format!("http://127.0.0.1:{}/catalog.json", closed_port());
    let failed = env.run(&["models", "--update-catalog", &down]);
    failed.expect_code(1);
    assert!(
        failed.stderr.contains("cannot download the price catalog"),
        "{}",
        failed.stderr
    );
    let still = env.run(&["models", "--catalog", "gpt-old", "--json"]);
    assert_eq!(still.json().as_array().unwrap().len(), 2);

    let not_json = serve_file("<html>rate limited</html>".into());
    let refused = env.run(&["models", "--update-catalog", &not_json]);
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("not a usable price catalog"),
        "{}",
        refused.stderr
    );
}

#[test]
fn names_lists_aliases_and_chains_for_completion() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    three_models(&mut env, &server);
    let run = env.run(&["models", "--names"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "floaty\npinned\nmain\n");
    let chains = env.run(&["models", "--names=chains"]);
    assert_eq!(chains.stdout, "main\n");
    // Never noisy: a broken profile gives nothing, and exit 0.
    env.profile("[settings\n");
    let broken = env.run(&["models", "--names"]);
    broken.expect_code(0);
    assert_eq!(broken.stdout, "");
}

#[test]
fn a_refused_profile_lists_every_error() {
    let mut env = TestEnv::new();
    let path = env.profile(
        "[settings]\nretries = 99\ncooldown = \"soon\"\n[chains.c]\nmodels = [\"ghost\"]\n",
    );
    let run = env.run(&["models"]);
    run.expect_code(2);
    let p = path.display().to_string();
    for needle in [
        format!("{p}:2:11"),
        format!("{p}:3:12"),
        "unknown model alias `ghost`".to_owned(),
        "3 problems".to_owned(),
    ] {
        assert!(run.stderr.contains(&needle), "{needle}\n{}", run.stderr);
    }
}

#[test]
fn ask_warns_about_a_floating_id_once_a_day() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    env.env("MOCK_KEY", "k");
    env.profile(&format!(
        "{}[models.g]\nprovider = \"mock\"\nmodel = \"gpt-4o\"\n",
        provider("mock", "openai", &server)
    ));
    let first = env.run(&["ask", "-m", "g", "hi"]);
    first.expect_code(0);
    assert!(
        first.stderr.contains("floating id `gpt-4o`"),
        "{}",
        first.stderr
    );
    let second = env.run(&["ask", "-m", "g", "hi"]);
    second.expect_code(0);
    assert!(!second.stderr.contains("floating id"), "{}", second.stderr);
}

#[test]
fn the_default_profiles_pin_current_snapshots_and_raise_no_pin_warning() {
    let mut env = TestEnv::new();
    for key in ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"] {
        env.env(key, "k");
    }
    // The profile built from the environment.
    let models = env.run(&["models"]);
    models.expect_code(0);
    assert!(
        !models.stderr.contains("floating") && !models.stderr.contains("retired"),
        "{}",
        models.stderr
    );
    assert!(!models.stdout.contains("floating"), "{}", models.stdout);
    // The profile `route init` writes, as `init --check` and `models` see it.
    env.run(&["init"]).expect_code(0);
    let check = env.run(&["init", "--check"]);
    check.expect_code(0);
    assert!(
        check.stdout.is_empty() && check.stderr.contains("no problems found"),
        "{}{}",
        check.stdout,
        check.stderr
    );
    let models = env.run(&["models"]);
    assert!(
        !models.stderr.contains("floating") && !models.stdout.contains("floating"),
        "{}{}",
        models.stdout,
        models.stderr
    );
}
