//! The ledger, `route cost` and budgets end to end (issue 4).

use crate::support::{Answer, MockServer, Reply, Script, TestEnv, ledger_rows, provider};

/// One priced model `m` (gpt-4o-mini, in the built-in catalog) on a mock.
fn setup(server: &MockServer, extra: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.env("MOCK_KEY", "k");
    env.profile(&format!(
        "{extra}\n{}[models.m]\nprovider = \"mock\"\nmodel = \"gpt-4o-mini\"\n[models.priced]\nprovider = \"mock\"\nmodel = \"custom\"\ninput_cost = 2.0\noutput_cost = 10.0\n",
        provider("mock", "openai", server)
    ));
    env
}

fn usage(input: u64, output: u64) -> Script {
    Script::always(Reply::Answer(Answer {
        input_tokens: input,
        output_tokens: Some(output),
        ..Answer::new("answer")
    }))
}

#[test]
fn each_attempt_is_a_ledger_row_with_its_figures() {
    /// `attempt`, `outcome`, `http_status`, `input_tokens`, `cost`, `tag`, `catalog_version`, `prompt`
    type LedgerRow = (
        i64,
        String,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let server = MockServer::start(Script::new(vec![
        Reply::status(500),
        Reply::Answer(Answer {
            input_tokens: 100,
            output_tokens: Some(20),
            ..Answer::new("ok")
        }),
    ]));
    let env = setup(&server, "[settings]\nretries = 1\nbackoff = \"10ms\"");
    env.run(&["ask", "--tag", "t1", "-m", "priced", "hi"])
        .expect_code(0);
    let conn = rusqlite::Connection::open(env.data_dir().join("ledger.db")).unwrap();
    let rows: Vec<LedgerRow> = conn
        .prepare("SELECT attempt, outcome, http_status, input_tokens, cost, tag, catalog_version, prompt FROM attempts ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].0, rows[0].1.as_str(), rows[0].2),
        (1, "error", Some(500))
    );
    assert_eq!(
        (rows[1].0, rows[1].1.as_str(), rows[1].3),
        (2, "ok", Some(100))
    );
    // 100 × $2/1M + 20 × $10/1M = $0.0004 = 400,000,000 picodollars.
    assert_eq!(rows[1].4, Some(400_000_000));
    assert_eq!(rows[1].5.as_deref(), Some("t1"));
    assert!(
        rows[1]
            .6
            .as_deref()
            .is_some_and(|v| v.starts_with("builtin-"))
    );
    assert_eq!(
        rows[1].7, None,
        "prompts are not stored unless the profile says so"
    );
}

#[test]
fn store_text_keeps_prompt_and_answer() {
    let server = MockServer::start(Script::always(Reply::Answer(Answer::new("stored answer"))));
    let env = setup(&server, "[ledger]\nstore_text = true");
    env.run(&["ask", "-m", "m", "the prompt"]).expect_code(0);
    let conn = rusqlite::Connection::open(env.data_dir().join("ledger.db")).unwrap();
    let (p, a): (String, String) = conn
        .query_row("SELECT prompt, answer FROM attempts", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((p.as_str(), a.as_str()), ("the prompt", "stored answer"));
}

#[test]
fn no_log_records_nothing() {
    let server = MockServer::start(Script::default());
    let env = setup(&server, "");
    env.run(&["ask", "--no-log", "-m", "m", "hi"])
        .expect_code(0);
    assert!(!env.data_dir().join("ledger.db").exists());
}

#[test]
fn cost_by_model_totals_equal_the_ask_costs() {
    let server = MockServer::start(usage(1234, 567));
    let env = setup(&server, "");
    let mut sum = 0.0;
    for model in ["m", "m", "priced"] {
        let run = env.run(&["ask", "--json", "-m", model, "hi"]);
        run.expect_code(0);
        sum += run.json()["cost_usd"].as_f64().unwrap();
    }
    let run = env.run(&["cost", "--by", "model", "--format", "json"]);
    run.expect_code(0);
    let groups = run.json();
    let total: f64 = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["cost_usd"].as_f64().unwrap())
        .sum();
    assert!((total - sum).abs() < 1e-9, "{total} vs {sum}");
    let requests: u64 = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(requests, 3);
}

#[test]
fn cost_lists_requests_and_parses_as_csv() {
    let server = MockServer::start(usage(10, 5));
    let env = setup(&server, "");
    env.run(&["ask", "-m", "m", "one"]).expect_code(0);
    env.run(&["ask", "-m", "priced", "two"]).expect_code(0);
    let json = env.run(&["cost", "--format", "json"]);
    json.expect_code(0);
    assert_eq!(json.json().as_array().unwrap().len(), 2);
    let csv = env.run(&["cost", "--format", "csv"]);
    csv.expect_code(0);
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", csv.stdout);
    let columns = lines[0].split(',').count();
    assert!(
        lines.iter().all(|l| l.split(',').count() == columns),
        "{}",
        csv.stdout
    );
    let table = env.run(&["cost"]);
    table.expect_code(0);
    assert!(
        table.stdout.contains("priced") && table.stdout.contains('m'),
        "{}",
        table.stdout
    );
    assert!(!table.stdout.contains('\x1b'));
    let limited = env.run(&["cost", "--limit", "1", "--format", "json"]);
    assert_eq!(limited.json().as_array().unwrap().len(), 1);
}

#[test]
fn cost_since_filters_and_rejects_nonsense() {
    let server = MockServer::start(Script::default());
    let env = setup(&server, "");
    env.run(&["ask", "-m", "m", "hi"]).expect_code(0);
    assert_eq!(
        env.run(&["cost", "--since", "24h", "--format", "json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        env.run(&["cost", "--since", "2999-01-01", "--format", "json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let bad = env.run(&["cost", "--since", "last tuesday"]);
    bad.expect_code(2);
    assert!(bad.stderr.contains("last tuesday"), "{}", bad.stderr);
}

#[test]
fn a_budget_refusal_sends_nothing_and_exits_3() {
    let server = MockServer::start(Script::default());
    let env = setup(&server, "[budget]\nper_request = 0.000001");
    let run = env.run(&["ask", "-m", "priced", "hi"]);
    run.expect_code(3);
    assert!(run.stderr.contains("per-request budget"), "{}", run.stderr);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn the_daily_budget_counts_what_was_spent() {
    let server = MockServer::start(usage(400_000, 100_000));
    let env = setup(&server, "[budget]\ndaily = 1.0");
    // The first request's worst case is tiny, so it is sent; what it really
    // cost (400k × $2/1M + 100k × $10/1M = $1.80) then uses up the day.
    env.run(&["ask", "--max-tokens", "10", "-m", "priced", "hi"])
        .expect_code(0);
    let run = env.run(&["ask", "--max-tokens", "10", "-m", "priced", "hi"]);
    run.expect_code(3);
    assert!(run.stderr.contains("daily"), "{}", run.stderr);
    assert_eq!(server.request_count(), 1);
    let cost = env.run(&["cost"]);
    assert!(
        cost.stdout.contains("$1.80") && cost.stdout.contains("$1.00"),
        "{}",
        cost.stdout
    );
}

#[test]
fn an_unwritable_ledger_still_prints_the_answer() {
    let server = MockServer::start(Script::always(Reply::Answer(Answer::new("still here"))));
    let mut env = setup(&server, "");
    // A file where the data folder should be: nothing can be created there.
    let blocker = env.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    env.env(
        "ROUTE_DATA_DIR",
        &blocker.join("data").display().to_string(),
    );
    let run = env.run(&["ask", "-m", "m", "hi"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "still here\n");
    assert!(
        run.stderr.contains("warning") && run.stderr.contains("not recorded"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_corrupt_ledger_still_prints_the_answer() {
    let server = MockServer::start(Script::always(Reply::Answer(Answer::new("still here"))));
    let env = setup(&server, "");
    std::fs::create_dir_all(env.data_dir()).unwrap();
    std::fs::write(
        env.data_dir().join("ledger.db"),
        b"this is not a database at all, just text".repeat(200),
    )
    .unwrap();
    let run = env.run(&["ask", "-m", "m", "hi"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "still here\n");
    assert!(run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn eight_processes_writing_at_once_lose_no_row() {
    let server = MockServer::start(usage(10, 5));
    let env = setup(&server, "");
    std::thread::scope(|s| {
        for _ in 0..8 {
            let env = &env;
            s.spawn(move || {
                for _ in 0..25 {
                    env.run(&["ask", "--no-stream", "-q", "-m", "m", "hi"])
                        .expect_code(0);
                }
            });
        }
    });
    assert_eq!(ledger_rows(&env).len(), 200);
    assert_eq!(server.request_count(), 200);
}

#[test]
fn json_flag_is_short_for_format_json_and_a_different_format_is_exit_2() {
    let server = MockServer::start(usage(100, 20));
    let env = setup(&server, "");
    env.run(&["ask", "-m", "priced", "hi"]).expect_code(0);
    let formatted = env.run(&["cost", "--format", "json"]);
    formatted.expect_code(0);
    let expected = formatted.json();
    assert_eq!(expected.as_array().map(Vec::len), Some(1), "{expected}");
    for args in [
        &["cost", "--json"][..],
        &["cost", "--json", "--format", "json"][..],
    ] {
        let run = env.run(args);
        run.expect_code(0);
        assert_eq!(run.json(), expected, "{args:?}");
    }
    let by = env.run(&["cost", "--json", "--by", "model"]);
    by.expect_code(0);
    assert_eq!(by.json()[0]["key"], "mock/custom", "{}", by.stdout);
    for format in ["table", "csv"] {
        let run = env.run(&["cost", "--json", "--format", format]);
        run.expect_code(2);
        assert!(
            run.stderr.contains("--json") && run.stderr.contains(&format!("--format {format}")),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
}

#[test]
fn estimate_prices_a_prompt_without_sending_it() {
    let server = MockServer::start(Script::default());
    let env = setup(&server, "");
    let run = env.run(&["cost", "estimate", "-m", "m", "-m", "priced", "hello world"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("o200k_base"),
        "gpt-4o-mini is counted with its tokenizer: {}",
        run.stdout
    );
    assert!(run.stdout.contains("priced"), "{}", run.stdout);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn estimate_json_is_one_object_per_model() {
    let server = MockServer::start(Script::default());
    let env = setup(&server, "");
    let run = env.run(&[
        "cost",
        "estimate",
        "--json",
        "--max-tokens",
        "10",
        "-m",
        "m",
        "-m",
        "priced",
        "-m",
        "mock/no-such-model-in-any-catalog",
        "hello world",
    ]);
    run.expect_code(0);
    let j = run.json();
    let rows = j.as_array().unwrap_or_else(|| panic!("not an array: {j}"));
    let aliases: Vec<&str> = rows.iter().map(|r| r["alias"].as_str().unwrap()).collect();
    assert_eq!(
        aliases,
        ["m", "priced", "mock/no-such-model-in-any-catalog"],
        "{j}"
    );
    let m = &rows[0];
    assert_eq!(m["provider"], "mock");
    assert_eq!(m["provider_model"], "gpt-4o-mini");
    assert_eq!(m["counted"], "exact", "{m}");
    assert_eq!(m["tokenizer"], "o200k_base", "{m}");
    assert_eq!(m["fits"], true, "{m}");
    assert_eq!(m["max_tokens"], 10);
    let tokens = m["input_tokens"].as_u64().unwrap();
    assert!(tokens > 0, "{m}");
    // gpt-4o-mini: $0.15 per 1M input tokens, $0.60 per 1M output tokens.
    #[allow(clippy::cast_precision_loss)]
    let input = tokens as f64 * 0.15 / 1e6;
    assert!(
        (m["cost_usd"].as_f64().unwrap() - input).abs() < 1e-12,
        "{m}"
    );
    let worst = m["worst_case_usd"].as_f64().unwrap();
    assert!((worst - (input + 10.0 * 0.60 / 1e6)).abs() < 1e-12, "{m}");
    // A model whose tokenizer is not public: approximated, window unknown.
    let priced = &rows[1];
    assert_eq!(priced["counted"], "approximate", "{priced}");
    assert!(priced["tokenizer"].is_null(), "{priced}");
    assert!(priced["fits"].is_null(), "{priced}");
    assert!(priced["cost_usd"].as_f64().unwrap() > 0.0, "{priced}");
    let unknown = &rows[2];
    assert!(unknown["cost_usd"].is_null(), "{unknown}");
    assert!(unknown["worst_case_usd"].is_null(), "{unknown}");
    assert_eq!(server.request_count(), 0);

    // No output allowance to price: no worst case, rather than the input's cost.
    let run = env.run(&["cost", "estimate", "--json", "-m", "priced", "hello world"]);
    run.expect_code(0);
    let priced = &run.json()[0];
    assert!(priced["max_tokens"].is_null(), "{priced}");
    assert!(priced["worst_case_usd"].is_null(), "{priced}");
    assert!(priced["cost_usd"].as_f64().unwrap() > 0.0, "{priced}");
}

/// `outcome`, `input_tokens`, `output_tokens`, `cost`, `estimated`
type PricedRow = (String, Option<i64>, Option<i64>, Option<i64>, bool);

/// The ledger's priced figures per attempt.
fn priced_rows(env: &TestEnv) -> Vec<PricedRow> {
    let conn = rusqlite::Connection::open(env.data_dir().join("ledger.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT outcome, input_tokens, output_tokens, cost, estimated FROM attempts ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn a_cut_stream_is_priced_from_routes_own_count_and_marked_estimated() {
    // OpenAI streams usage only in its last chunk: a cut stream reports none.
    let cut = Script::always(Reply::Cut { chunks: 3 })
        .with_answer(Answer::new("one two three four five six seven eight"));
    let server = MockServer::start(cut);
    let env = setup(&server, "");
    let run = env.run(&["ask", "--json", "-m", "priced", "hello there"]);
    run.expect_code(4);
    let rows = priced_rows(&env);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (outcome, input, output, cost, estimated) = rows[0].clone();
    assert_eq!(outcome, "incomplete");
    assert!(estimated, "{rows:?}");
    let (input, output) = (input.unwrap(), output.unwrap());
    assert!(input > 0 && output > 0, "{rows:?}");
    // $2 / $10 per 1M tokens, in picodollars.
    assert_eq!(cost, Some(input * 2_000_000 + output * 10_000_000));
    let attempt = &run.json()["attempts"][0];
    assert_eq!(attempt["estimated"], true, "{attempt}");
    assert!(attempt["cost_usd"].as_f64().unwrap() > 0.0, "{attempt}");

    let table = env.run(&["cost"]);
    table.expect_code(0);
    assert!(table.stdout.contains("~$0.0"), "{}", table.stdout);
    assert!(table.stdout.contains("~ estimated"), "{}", table.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&env.run(&["cost", "--format", "json"]).stdout).unwrap();
    assert_eq!(json[0]["estimated"], true);
    let csv = env.run(&["cost", "--format", "csv"]).stdout;
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().ends_with(",estimated"), "{csv}");
    assert!(lines.next().unwrap().ends_with(",true"), "{csv}");
}

#[test]
fn a_complete_answer_keeps_its_reported_usage_unmarked() {
    // A complete answer's reported usage stands as reported.
    let server = MockServer::start(usage(10, 5));
    let env = setup(&server, "");
    env.run(&["ask", "-m", "priced", "hi"]).expect_code(0);
    let rows = priced_rows(&env);
    assert_eq!(rows[0].1, Some(10));
    assert_eq!(rows[0].2, Some(5));
    assert!(!rows[0].4, "{rows:?}");
}

/// The `max_tokens` the mock received in its only request.
fn sent_max_tokens(server: &MockServer) -> Option<u64> {
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one request expected");
    requests[0].json()["max_tokens"].as_u64()
}

#[test]
fn the_output_allowance_is_lowered_to_fit_a_per_request_cap() {
    let server = MockServer::start(Script::always(Reply::Answer(Answer::new("short"))));
    // `priced` may write 64k tokens at $10/1M: a $0.64 worst case.
    let env = setup(
        &server,
        "[budget]\nper_request = 0.01\n[models.big]\nprovider = \"mock\"\nmodel = \"custom\"\ninput_cost = 2.0\noutput_cost = 10.0\nmax_output_tokens = 64000\n",
    );
    let run = env.run(&["ask", "-m", "big", "hi"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "short\n");
    let sent = sent_max_tokens(&server).expect("max_tokens is sent");
    // What $0.01 leaves room for after the prompt's few tokens at $2/1M.
    assert!((990..1000).contains(&sent), "max_tokens {sent}");
    assert!(
        run.stderr.contains(&format!(
            "big: max_tokens lowered from 64000 to {sent} to fit the per-request budget ($0.01 left)"
        )),
        "{}",
        run.stderr
    );
    // The dry run shows the same.
    let dry = env.run(&["ask", "--dry-run", "-m", "big", "hi"]);
    assert!(
        dry.stdout
            .contains(&format!("max_tokens lowered from 64000 to {sent}")),
        "{}",
        dry.stdout
    );
    let json = env
        .run(&["ask", "--dry-run", "--json", "-m", "big", "hi"])
        .json();
    let planned = &json["models"][0];
    assert_eq!(planned["max_tokens"], sent);
    assert_eq!(planned["lowered"]["from_max_tokens"], 64000);
    assert_eq!(planned["lowered"]["budget"], "per-request");
    assert!(
        planned["worst_case_usd"].as_f64().unwrap() <= 0.01,
        "{json}"
    );
}

#[test]
fn an_explicit_max_tokens_is_never_lowered_and_the_refusal_says_why() {
    let server = MockServer::start(Script::default());
    let env = setup(&server, "[budget]\nper_request = 0.01");
    let run = env.run(&["ask", "--max-tokens", "5000", "-m", "priced", "hi"]);
    run.expect_code(3);
    // 5000 × $10/1M + the prompt: the worst case, the cap and what is left.
    assert!(
        run.stderr.contains("worst case $0.05")
            && run
                .stderr
                .contains("exceeds the per-request budget of $0.01"),
        "{}",
        run.stderr
    );
    assert_eq!(server.request_count(), 0);
}

#[test]
fn an_unknown_largest_output_is_bounded_and_sent_under_a_budget() {
    let server = MockServer::start(Script::always(Reply::Answer(Answer::new("ok"))));
    let mut env = TestEnv::new();
    env.env("AZ_KEY", "k");
    // An Azure deployment the catalog does not know: no largest output.
    env.profile(&format!(
        "[budget]\nper_request = 1.0\n{}api_version = \"2024-10-21\"\n[models.dep]\nprovider = \"az\"\nmodel = \"prod-deployment\"\ninput_cost = 2.0\noutput_cost = 10.0\n",
        provider("az", "azure", &server)
    ));
    let dry = env.run(&["ask", "--dry-run", "-m", "dep", "hi"]);
    dry.expect_code(0);
    // Not just the input's cost: 4096 tokens of output at $10/1M.
    assert!(
        dry.stdout.contains("max output 4096, worst case $0.0409"),
        "{}",
        dry.stdout
    );
    env.run(&["ask", "-m", "dep", "hi"]).expect_code(0);
    assert_eq!(sent_max_tokens(&server), Some(4096));
}

/// A ledger file that is not a database.
fn corrupt_ledger(env: &TestEnv) -> std::path::PathBuf {
    let path = env.data_dir().join("ledger.db");
    std::fs::create_dir_all(env.data_dir()).unwrap();
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    path
}

#[test]
fn a_corrupt_ledger_with_a_daily_cap_refuses_and_says_how_to_repair() {
    let server = MockServer::start(Script::always(Reply::Answer(Answer::new("ok"))));
    let env = setup(&server, "[budget]\ndaily = 1.0");
    let path = corrupt_ledger(&env);
    let run = env.run(&["ask", "--max-tokens", "10", "-m", "priced", "hi"]);
    run.expect_code(3);
    let shown = path.display().to_string();
    assert!(
        run.stderr
            .contains("daily and monthly budgets cannot be checked")
            && run.stderr.contains(&format!("mv {shown} {shown}.broken")),
        "{}",
        run.stderr
    );
    assert_eq!(server.request_count(), 0, "nothing is sent");
    // Following the hint makes it work again.
    std::fs::rename(&path, format!("{shown}.broken")).unwrap();
    env.run(&["ask", "--max-tokens", "10", "-m", "priced", "hi"])
        .expect_code(0);
}

#[test]
fn a_corrupt_ledger_without_caps_warns_and_answers() {
    let server = MockServer::start(Script::always(Reply::Answer(Answer::new("still answered"))));
    let env = setup(&server, "");
    corrupt_ledger(&env);
    let run = env.run(&["ask", "-m", "m", "hi"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "still answered\n");
    assert!(run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn a_corrupt_ledger_under_route_cost_is_exit_2_with_the_path_and_a_hint() {
    let server = MockServer::start(Script::default());
    let env = setup(&server, "");
    let path = corrupt_ledger(&env);
    let run = env.run(&["cost"]);
    run.expect_code(2);
    let shown = path.display().to_string();
    assert!(
        run.stderr.contains(&format!("the ledger at {shown}"))
            && run.stderr.contains(&format!("hint: move the damaged file aside and route starts a new ledger: mv {shown} {shown}.broken")),
        "{}",
        run.stderr
    );
}

#[test]
fn a_data_dir_that_is_a_file_is_named_with_its_variable() {
    let server = MockServer::start(Script::always(Reply::Answer(Answer::new("ok"))));
    let mut env = setup(&server, "");
    let file = env.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    env.env("ROUTE_DATA_DIR", &file.display().to_string());
    for args in [&["ask", "-m", "m", "hi"][..], &["cost"], &["models"]] {
        let run = env.run(args);
        run.expect_code(2);
        assert!(
            run.stderr.starts_with(&format!(
                "error: ROUTE_DATA_DIR is {}, which is a file, not a folder",
                file.display()
            )),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(server.request_count(), 0);
}
