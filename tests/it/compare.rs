//! `route compare` end to end (issue 6): answers side by side, failures in
//! their own column, concurrency, JSON and markdown, `--repeat`, the ledger's
//! group id, and the exit codes.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::support::{Answer, MockServer, Reply, Script, TestEnv, provider};

/// Starts one mock per reply and writes a profile with a provider and an
/// alias per mock: `a`, `b`, `c`, … each asking for `model`.
fn servers(env: &mut TestEnv, replies: Vec<Reply>, model: &str) -> Vec<MockServer> {
    let mut profile = String::new();
    let mut started = Vec::new();
    for (i, reply) in replies.into_iter().enumerate() {
        let name = char::from(b'a' + u8::try_from(i).unwrap()).to_string();
        let server = MockServer::start(Script::always(reply));
        env.env(
            &format!("{}_KEY", name.to_uppercase()),
            "sk-test-0123456789",
        );
        profile.push_str(&provider(&name, "openai", &server));
        let _ = write!(
            profile,
            "\n[models.{name}]\nprovider = \"{name}\"\nmodel = \"{model}\"\n\n"
        );
        started.push(server);
    }
    env.profile(&profile);
    started
}

/// Ten text events 100 ms apart: a one-second stream.
fn slow(text: &str) -> Reply {
    Reply::Answer(Answer {
        chunks: Some(10),
        delay: Duration::from_millis(100),
        ..Answer::new(text)
    })
}

/// The columns of a ledger row these tests look at.
#[derive(Debug)]
struct LedgerRow {
    request_id: String,
    group_id: Option<String>,
    command: String,
    label: String,
    outcome: String,
    tag: Option<String>,
}

fn ledger(env: &TestEnv) -> rusqlite::Connection {
    rusqlite::Connection::open(env.data_dir().join("ledger.db")).expect("open the ledger")
}

#[test]
fn one_failing_model_never_hides_the_others() {
    // -- Setup
    let mut env = TestEnv::new();
    let servers = servers(
        &mut env,
        vec![
            Reply::text("Alpha answers."),
            Reply::text("Bravo answers."),
            Reply::status(500),
        ],
        "gpt-4o-mini",
    );
    // -- Exec
    let run = env.run(&["compare", "-m", "a", "-m", "b", "-m", "c", "Say hi"]);
    // -- Check
    run.expect_code(0);
    assert!(run.stdout.contains("Alpha answers."), "{}", run.stdout);
    assert!(run.stdout.contains("Bravo answers."), "{}", run.stdout);
    assert!(run.stdout.contains("HTTP 500"), "{}", run.stdout);
    assert!(run.stdout.contains("a/gpt-4o-mini"), "{}", run.stdout);
    for row in [
        "status",
        "first token",
        "total time",
        "tokens in/out",
        "cost",
    ] {
        assert!(run.stdout.contains(row), "no `{row}` row:\n{}", run.stdout);
    }
    // The failing model's reason sits in its own column, the third.
    let status = run
        .stdout
        .lines()
        .find(|l| l.contains("status"))
        .expect("a status row");
    let cells: Vec<&str> = status.split('|').map(str::trim).collect();
    assert_eq!(cells[2], "ok", "{status}");
    assert_eq!(cells[3], "ok", "{status}");
    assert!(cells[4].contains("server, HTTP 500"), "{status}");
    // One attempt per model: no retries inside compare.
    for s in &servers {
        assert_eq!(s.request_count(), 1);
        assert_eq!(s.requests()[0].json()["stream"], true);
    }
}

#[test]
fn three_one_second_streams_finish_together() {
    let mut env = TestEnv::new();
    let servers = servers(
        &mut env,
        vec![
            slow("one two three four five six seven eight nine ten"),
            slow("eins zwei drei vier fünf sechs sieben acht neun zehn"),
            slow("un deux trois quatre cinq six sept huit neuf dix"),
        ],
        "gpt-4o-mini",
    );
    let clock = Instant::now();
    let run = env.run(&[
        "compare", "-m", "a", "-m", "b", "-m", "c", "--format", "json", "Count",
    ]);
    let wall = clock.elapsed();
    run.expect_code(0);
    assert!(
        wall < Duration::from_secs(2),
        "three 1 s streams took {wall:?}"
    );
    let j = run.json();
    for item in j.as_array().unwrap() {
        let ms = item["latency_ms"].as_u64().unwrap();
        assert!(ms >= 900, "each stream lasts about a second: {item}");
        assert!(item["ttft_ms"].as_u64().unwrap() < ms);
    }
    assert!(servers.iter().all(|s| s.request_count() == 1));
}

#[test]
fn concurrency_one_runs_the_models_one_after_another() {
    let mut env = TestEnv::new();
    let reply = |t: &str| {
        Reply::Answer(Answer {
            chunks: Some(4),
            delay: Duration::from_millis(100),
            ..Answer::new(t)
        })
    };
    let _servers = servers(
        &mut env,
        vec![reply("one two three four"), reply("five six seven eight")],
        "gpt-4o-mini",
    );
    let clock = Instant::now();
    let run = env.run(&["compare", "-m", "a,b", "--concurrency", "1", "go"]);
    run.expect_code(0);
    assert!(clock.elapsed() >= Duration::from_millis(600), "{run:?}");
}

#[test]
fn json_is_one_array_of_ask_objects_in_model_order() {
    let mut env = TestEnv::new();
    let _servers = servers(
        &mut env,
        vec![
            Reply::Answer(Answer {
                input_tokens: 30,
                output_tokens: Some(5),
                ..Answer::new("From a")
            }),
            Reply::status(503),
            Reply::text("From c"),
        ],
        "gpt-4o-mini",
    );
    let run = env.run(&[
        "compare", "-m", "a", "-m", "b", "-m", "c", "--format", "json", "hi",
    ]);
    run.expect_code(0);
    let j = run.json();
    let items = j.as_array().expect("an array");
    assert_eq!(items.len(), 3);
    let models: Vec<&str> = items.iter().map(|i| i["model"].as_str().unwrap()).collect();
    assert_eq!(models, ["a", "b", "c"]);
    let a = &items[0];
    assert_eq!(a["text"], "From a");
    assert_eq!(a["provider"], "a");
    assert_eq!(a["provider_model"], "gpt-4o-mini");
    assert_eq!(a["usage"]["input_tokens"], 30);
    assert_eq!(a["usage"]["output_tokens"], 5);
    assert!(a["cost_usd"].as_f64().is_some_and(|c| c > 0.0), "{a}");
    assert!(a["latency_ms"].is_u64());
    assert!(a["ttft_ms"].is_u64());
    assert_eq!(a["attempts"][0]["outcome"], "ok");
    assert!(a["request_id"].as_str().is_some_and(|s| !s.is_empty()));
    let b = &items[1];
    assert_eq!(b["text"], "");
    assert_eq!(b["attempts"][0]["outcome"], "error");
    assert_eq!(b["attempts"][0]["http_status"], 503);
    assert!(b["error"].as_str().is_some(), "{b}");
    assert_ne!(a["request_id"], items[2]["request_id"]);
    // Only the array on stdout.
    assert!(run.stdout.trim_end().ends_with(']'));
}

#[test]
fn json_flag_is_short_for_format_json_and_a_different_format_is_exit_2() {
    let mut env = TestEnv::new();
    let servers = servers(
        &mut env,
        vec![Reply::text("A"), Reply::text("B")],
        "gpt-4o-mini",
    );
    for args in [
        &["compare", "-m", "a", "-m", "b", "--json", "hi"][..],
        &[
            "compare", "-m", "a", "-m", "b", "--json", "--format", "json", "hi",
        ][..],
    ] {
        let run = env.run(args);
        run.expect_code(0);
        let j = run.json();
        let models: Vec<&str> = j
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["model"].as_str().unwrap())
            .collect();
        assert_eq!(models, ["a", "b"], "{args:?}: {j}");
        assert_eq!(j[0]["text"], "A");
    }
    let sent = servers[0].request_count();
    for format in ["table", "markdown"] {
        let run = env.run(&[
            "compare", "-m", "a", "-m", "b", "--json", "--format", format, "hi",
        ]);
        run.expect_code(2);
        assert!(
            run.stderr.contains("--json") && run.stderr.contains(&format!("--format {format}")),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
    assert_eq!(servers[0].request_count(), sent, "nothing more was sent");
}

#[test]
fn repeat_sends_n_requests_per_model_and_reports_median_and_p95() {
    let mut env = TestEnv::new();
    let servers = servers(
        &mut env,
        vec![Reply::text("A"), Reply::text("B"), Reply::text("C")],
        "gpt-4o-mini",
    );
    let run = env.run(&[
        "compare", "-m", "a", "-m", "b", "-m", "c", "--repeat", "3", "hi",
    ]);
    run.expect_code(0);
    for s in &servers {
        assert_eq!(s.request_count(), 3);
    }
    assert!(run.stdout.contains("ok 3/3"), "{}", run.stdout);
    assert!(run.stdout.contains("median"), "{}", run.stdout);
    assert!(run.stdout.contains("p95"), "{}", run.stdout);
    assert!(run.stdout.contains(" for 3 runs"), "{}", run.stdout);

    let run = env.run(&[
        "compare", "-m", "a", "-m", "b", "--repeat", "3", "--format", "json", "hi",
    ]);
    run.expect_code(0);
    let models: Vec<String> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["model"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(models, ["a", "a", "a", "b", "b", "b"]);
}

#[test]
fn piped_output_has_no_escape_codes_even_without_no_color() {
    let mut env = TestEnv::new();
    env.unset("NO_COLOR");
    let _servers = servers(
        &mut env,
        vec![Reply::text("Plain."), Reply::status(500)],
        "gpt-4o-mini",
    );
    for format in ["table", "json", "markdown"] {
        let run = env.run(&["compare", "-m", "a", "-m", "b", "--format", format, "hi"]);
        run.expect_code(0);
        assert!(!run.stdout.contains('\x1b'), "{format}: {:?}", run.stdout);
        assert!(!run.stderr.contains('\x1b'), "{format}: {:?}", run.stderr);
    }
}

#[test]
fn the_ledger_holds_one_row_per_attempt_under_one_group_id() {
    let mut env = TestEnv::new();
    let _servers = servers(
        &mut env,
        vec![Reply::text("A"), Reply::text("B"), Reply::status(500)],
        "gpt-4o-mini",
    );
    let run = env.run(&[
        "compare", "-m", "a", "-m", "b", "-m", "c", "--repeat", "2", "--tag", "eval", "hi",
    ]);
    run.expect_code(0);
    let db = ledger(&env);
    let rows: Vec<LedgerRow> = db
        .prepare(
            "SELECT request_id, group_id, command, label, outcome, tag FROM attempts ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| {
            Ok(LedgerRow {
                request_id: r.get(0)?,
                group_id: r.get(1)?,
                command: r.get(2)?,
                label: r.get(3)?,
                outcome: r.get(4)?,
                tag: r.get(5)?,
            })
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 6, "{rows:?}");
    let group = rows[0].group_id.clone().expect("a group id");
    assert!(
        rows.iter()
            .all(|r| r.group_id.as_deref() == Some(group.as_str()))
    );
    assert!(rows.iter().all(|r| r.command == "compare"));
    assert!(rows.iter().all(|r| r.tag.as_deref() == Some("eval")));
    let mut ids: Vec<&str> = rows.iter().map(|r| r.request_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6, "one request id per model run");
    for label in ["a", "b", "c"] {
        assert_eq!(rows.iter().filter(|r| r.label == label).count(), 2);
    }
    assert_eq!(rows.iter().filter(|r| r.outcome == "error").count(), 2);

    // A second comparison gets a group of its own; --no-log adds nothing.
    env.run(&["compare", "-m", "a", "hi"]).expect_code(0);
    env.run(&["compare", "-m", "a", "--no-log", "hi"])
        .expect_code(0);
    let groups: i64 = db
        .query_row("SELECT COUNT(DISTINCT group_id) FROM attempts", [], |r| {
            r.get(0)
        })
        .unwrap();
    let total: i64 = db
        .query_row("SELECT COUNT(*) FROM attempts", [], |r| r.get(0))
        .unwrap();
    assert_eq!((groups, total), (2, 7));
}

#[test]
fn every_model_failing_is_exit_1_with_the_reasons() {
    let mut env = TestEnv::new();
    let _servers = servers(
        &mut env,
        vec![Reply::status(500), Reply::status(401)],
        "gpt-4o-mini",
    );
    let run = env.run(&["compare", "-m", "a", "-m", "b", "hi"]);
    run.expect_code(1);
    assert!(run.stderr.contains("no model answered"), "{}", run.stderr);
    assert!(run.stdout.contains("HTTP 500"), "{}", run.stdout);
    assert!(run.stdout.contains("HTTP 401"), "{}", run.stdout);

    let run = env.run(&["compare", "-m", "a", "-m", "b", "--format", "json", "hi"]);
    run.expect_code(1);
    assert_eq!(run.json().as_array().unwrap().len(), 2);
}

#[test]
fn a_chain_and_a_comma_list_expand_to_their_members() {
    let mut env = TestEnv::new();
    let servers = servers(
        &mut env,
        vec![Reply::text("A"), Reply::status(500), Reply::text("C")],
        "gpt-4o-mini",
    );
    let profile = std::fs::read_to_string(env.path().join("profile.toml")).unwrap();
    env.profile(&format!(
        "{profile}\n[chains.main]\nmodels = [\"a\", \"b\"]\n"
    ));
    // -- A chain: both members are asked, the failure does not fall back.
    let run = env.run(&["compare", "-m", "main", "-m", "c", "--format", "json", "hi"]);
    run.expect_code(0);
    let j = run.json();
    let models: Vec<&str> = j
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["model"].as_str().unwrap())
        .collect();
    assert_eq!(models, ["a", "b", "c"]);
    assert!(servers.iter().all(|s| s.request_count() == 1));
    let chain: Option<String> = ledger(&env)
        .query_row("SELECT chain FROM attempts WHERE label = 'a'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(chain.as_deref(), Some("main"));
    // -- A comma list, and the same model twice is asked once.
    let run = env.run(&["compare", "-m", "a,c", "-m", "a", "--format", "json", "hi"]);
    run.expect_code(0);
    assert_eq!(run.json().as_array().unwrap().len(), 2);
    assert_eq!(servers[0].request_count(), 2);
    assert_eq!(servers[2].request_count(), 2);
}

#[test]
fn the_prompt_comes_from_stdin_and_words_with_the_ask_options() {
    let mut env = TestEnv::new();
    let servers = servers(&mut env, vec![Reply::text("ok")], "gpt-4o-mini");
    let run = env.run_with(
        &[
            "compare",
            "-m",
            "a",
            "-s",
            "Be terse",
            "--max-tokens",
            "50",
            "-t",
            "0.5",
            "-o",
            "seed=3",
            "Review",
        ],
        Some(b"some code\n"),
    );
    run.expect_code(0);
    let body = servers[0].requests()[0].json();
    assert_eq!(body["messages"][0]["content"], "Be terse");
    assert_eq!(body["messages"][1]["content"], "some code\n\nReview");
    assert_eq!(body["max_tokens"], 50);
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["seed"], 3);
}

#[test]
fn usage_errors_are_exit_2() {
    let mut env = TestEnv::new();
    let _servers = servers(&mut env, vec![Reply::text("A")], "gpt-4o-mini");
    env.run(&["compare", "-m", "nope", "hi"]).expect_code(2);
    env.run(&["compare", "hi"]).expect_code(2);
    env.run(&["compare", "-m", "a"]).expect_code(2);
    env.run(&["compare", "-m", "a", "--repeat", "0", "hi"])
        .expect_code(2);
    env.run(&["compare", "-m", "a", "--format", "yaml", "hi"])
        .expect_code(2);
}

#[test]
fn cheapest_and_fastest_are_marked_and_unknown_cost_is_a_question_mark() {
    let mut env = TestEnv::new();
    let a = MockServer::start(Script::always(Reply::text("cheap")));
    let b = MockServer::start(Script::always(Reply::Answer(Answer {
        first_delay: Duration::from_millis(300),
        ..Answer::new("dear")
    })));
    let c = MockServer::start(Script::always(Reply::text("mystery")));
    for k in ["A_KEY", "B_KEY", "C_KEY"] {
        env.env(k, "sk-test-0123456789");
    }
    env.profile(&format!(
        "{}{}{}\n[models.a]\nprovider = \"a\"\nmodel = \"gpt-4o-mini\"\n\
         [models.b]\nprovider = \"b\"\nmodel = \"gpt-4o\"\n\
         [models.c]\nprovider = \"c\"\nmodel = \"no-such-model-in-any-catalog\"\n",
        provider("a", "openai", &a),
        provider("b", "openai", &b),
        provider("c", "openai", &c),
    ));
    let run = env.run(&["compare", "-m", "a", "-m", "b", "-m", "c", "hi"]);
    run.expect_code(0);
    let cost = run.stdout.lines().find(|l| l.contains("| cost")).unwrap();
    let cells: Vec<&str> = cost.split('|').map(str::trim).collect();
    assert!(cells[2].ends_with("(cheapest)"), "{cost}");
    assert!(
        cells[3].starts_with('$') && !cells[3].contains("cheapest"),
        "{cost}"
    );
    assert_eq!(cells[4], "?", "{cost}");
    let total = run
        .stdout
        .lines()
        .find(|l| l.contains("total time"))
        .unwrap();
    let cells: Vec<&str> = total.split('|').map(str::trim).collect();
    assert!(!cells[3].contains("fastest"), "{total}");
    assert!(total.contains("(fastest)"), "{total}");
}

#[test]
fn long_answers_are_trimmed_in_the_table_and_whole_in_markdown() {
    let mut env = TestEnv::new();
    let long = Answer {
        repeat: 60,
        ..Answer::new("All work and no play makes a dull model. ")
    };
    let _servers = servers(
        &mut env,
        vec![Reply::Answer(long), Reply::text("Short.")],
        "gpt-4o-mini",
    );
    let run = env.run_tty(&["compare", "-m", "a", "-m", "b", "hi"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("trimmed, see --format json|markdown"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.lines().count() < 40, "{}", run.stdout);
    assert!(run.stdout.lines().all(|l| l.chars().count() <= 100));

    // Off a terminal the answer is whole, on the answer's one line.
    let run = env.run(&["compare", "-m", "a", "-m", "b", "hi"]);
    run.expect_code(0);
    let answer = run.stdout.lines().find(|l| l.contains("| answer")).unwrap();
    assert_eq!(answer.matches("dull model").count(), 60, "{}", run.stdout);
    assert!(!run.stdout.contains("trimmed"), "{}", run.stdout);

    // Markdown: the same side-by-side table, a column per model, answers whole.
    let run = env.run(&[
        "compare", "-m", "a", "-m", "b", "--format", "markdown", "hi",
    ]);
    run.expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "| | a (a/gpt-4o-mini) | b (b/gpt-4o-mini) |",
            "|---|---|---|"
        ],
        "{}",
        run.stdout
    );
    let names: Vec<&str> = lines[2..]
        .iter()
        .map(|l| l.split(" | ").next().unwrap().trim_start_matches("| "))
        .collect();
    assert_eq!(
        names,
        [
            "answer",
            "status",
            "first token",
            "total time",
            "tokens in/out",
            "cost"
        ],
        "{}",
        run.stdout
    );
    for line in &lines {
        assert_eq!(line.matches('|').count(), 4, "three cells: {line}");
    }
    let answer = lines[2];
    assert_eq!(answer.matches("dull model").count(), 60, "{}", run.stdout);
    assert!(answer.ends_with(" | Short. |"), "{answer}");
    assert!(lines[3].starts_with("| status | ok | ok |"), "{}", lines[3]);
    assert!(!run.stdout.contains("trimmed"));
}

#[test]
fn markdown_cells_escape_pipes_and_break_lines_with_br() {
    let mut env = TestEnv::new();
    let _servers = servers(
        &mut env,
        vec![
            Reply::text("left | right\nnext line"),
            Reply::Cut { chunks: 3 },
        ],
        "gpt-4o-mini",
    );
    let run = env.run(&[
        "compare", "-m", "a", "-m", "b", "--format", "markdown", "hi",
    ]);
    run.expect_code(0);
    let answer = run
        .stdout
        .lines()
        .find(|l| l.starts_with("| answer |"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        answer.starts_with("| answer | left \\| right<br>next line | "),
        "{answer}"
    );
    // What the cut model sent, then the mark on a line of its own.
    assert!(
        answer.ends_with("<br>[incomplete: the answer broke off here] |"),
        "{answer}"
    );
    assert_eq!(run.stdout.lines().count(), 8, "{}", run.stdout);
}

#[test]
fn a_narrow_terminal_gets_one_block_per_model() {
    let mut env = TestEnv::new();
    env.env("COLUMNS", "60");
    let _servers = servers(
        &mut env,
        vec![
            Reply::text("First."),
            Reply::text("Second."),
            Reply::text("Third."),
        ],
        "gpt-4o-mini",
    );
    let run = env.run_tty(&["compare", "-m", "a", "-m", "b", "-m", "c", "hi"]);
    run.expect_code(0);
    let out = &run.stdout;
    let a = out.find("a (a/gpt-4o-mini)").expect(out);
    let b = out.find("b (b/gpt-4o-mini)").expect(out);
    assert!(a < out.find("First.").unwrap() && out.find("First.").unwrap() < b);
    assert!(!out.contains('|'), "{out}");
    assert_eq!(out.matches("total time").count(), 3);
}

#[test]
fn ctrl_c_cancels_every_request_records_them_and_exits_130() {
    // -- Setup: two models that never answer.
    let mut env = TestEnv::new();
    let servers = servers(&mut env, vec![Reply::Hang, Reply::Hang], "gpt-4o-mini");
    let profile = env.path().join("profile.toml");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_route"))
        .env_clear()
        .env("HOME", env.path().join("home"))
        .env("XDG_CONFIG_HOME", env.path().join("config"))
        .env("XDG_DATA_HOME", env.path().join("share"))
        .env("ROUTE_DATA_DIR", env.data_dir())
        .env("ROUTE_PROFILE", &profile)
        .env("A_KEY", "sk-test-0123456789")
        .env("B_KEY", "sk-test-0123456789")
        .env("NO_COLOR", "1")
        .args(["compare", "-m", "a", "-m", "b", "hi"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn route");
    // -- Exec: interrupt once both requests are in flight.
    let deadline = Instant::now() + Duration::from_secs(20);
    while servers.iter().any(|s| s.request_count() == 0) {
        assert!(Instant::now() < deadline, "the requests never arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s.code();
        }
        assert!(Instant::now() < deadline, "route did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    // -- Check
    assert_eq!(code, Some(130));
    let outcomes: Vec<String> = ledger(&env)
        .prepare("SELECT outcome FROM attempts")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(outcomes, ["cancelled", "cancelled"]);
}

#[test]
fn a_failed_models_cost_is_shown_and_the_total_is_the_sum_shown() {
    let mut env = TestEnv::new();
    let cut = MockServer::start(
        Script::always(Reply::Cut { chunks: 3 })
            .with_answer(Answer::new("one two three four five six")),
    );
    let good = MockServer::start(Script::always(Reply::text("fine")));
    for k in ["A_KEY", "B_KEY"] {
        env.env(k, "sk-test-0123456789");
    }
    env.profile(&format!(
        "{}{}\n[models.a]\nprovider = \"a\"\nmodel = \"gpt-4o\"\n\
         [models.b]\nprovider = \"b\"\nmodel = \"gpt-4o\"\n",
        provider("a", "openai", &cut),
        provider("b", "openai", &good),
    ));
    let run = env.run(&["compare", "-m", "a", "-m", "b", "hi"]);
    run.expect_code(0);
    let row = run.stdout.lines().find(|l| l.contains("| cost")).unwrap();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let dollars = |cell: &str| -> f64 {
        let figure = cell.trim_start_matches('~').trim_start_matches('$');
        let figure = figure.split_whitespace().next().unwrap();
        figure
            .parse()
            .unwrap_or_else(|_| panic!("not a cost: {row}"))
    };
    assert!(cells[2].starts_with("~$"), "the cut model's cost: {row}");
    let (a, b) = (dollars(cells[2]), dollars(cells[3]));
    assert!(a > 0.0 && b > 0.0, "{row}");
    let total = run
        .stderr
        .split(" · ")
        .find_map(|part| {
            part.strip_suffix(" in all")
                .or_else(|| part.trim().strip_suffix(" in all"))
        })
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let total: f64 = total.trim_start_matches('$').parse().unwrap();
    assert!(
        (total - (a + b)).abs() < 1e-9,
        "{total} vs {a} + {b}\n{}",
        run.stderr
    );
}
