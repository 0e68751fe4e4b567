//! `route ask` end to end (issue 2): streaming and not, stdin, `--json`,
//! fallback in a comma list, and the usage errors.

use crate::support::{Answer, MockServer, Reply, Script, TestEnv, closed_port, provider};

fn one_provider(env: &mut TestEnv, server: &MockServer) {
    env.env("MOCK_KEY", "sk-test-0123456789");
    env.profile(&format!(
        "default = \"m\"\n{}\n[models.m]\nprovider = \"mock\"\nmodel = \"gpt-4o-mini\"\n",
        provider("mock", "openai", server)
    ));
}

#[test]
fn streams_the_answer_to_stdout_and_a_summary_to_stderr() {
    // -- Setup
    let server = MockServer::start(Script::always(Reply::Answer(Answer::new(
        "Slow start doubles the window.",
    ))));
    let mut env = TestEnv::new();
    one_provider(&mut env, &server);
    // -- Exec
    let run = env.run(&["ask", "Explain TCP slow start"]);
    // -- Check
    run.expect_code(0);
    assert_eq!(run.stdout, "Slow start doubles the window.\n");
    assert!(run.stderr.contains("m · mock"), "{}", run.stderr);
    let req = &server.requests()[0];
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(
        req.header("authorization"),
        Some("Bearer sk-test-0123456789")
    );
    let body = req.json();
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["messages"][0]["content"], "Explain TCP slow start");
}

#[test]
fn no_stream_sends_stream_false_and_prints_the_answer() {
    let server = MockServer::start(Script::always(Reply::Answer(Answer::new("Whole answer."))));
    let mut env = TestEnv::new();
    one_provider(&mut env, &server);
    let run = env.run(&["ask", "--no-stream", "-q", "hi"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "Whole answer.\n");
    assert_eq!(run.stderr, "");
    assert_eq!(server.requests()[0].json()["stream"], false);
}

#[test]
fn stdin_comes_first_then_a_blank_line_then_the_words() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    one_provider(&mut env, &server);
    let run = env.run_with(
        &["ask", "Write", "a commit message"],
        Some(b"diff --git a/x b/x\n+line\n"),
    );
    run.expect_code(0);
    let body = server.requests()[0].json();
    assert_eq!(
        body["messages"][0]["content"],
        "diff --git a/x b/x\n+line\n\nWrite a commit message"
    );
}

#[test]
fn system_prompt_temperature_max_tokens_and_options_are_sent() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    one_provider(&mut env, &server);
    let run = env.run(&[
        "ask",
        "-s",
        "Be terse",
        "-t",
        "0.3",
        "--max-tokens",
        "77",
        "-o",
        "seed=7",
        "-o",
        "logit_bias={\"50256\":-100}",
        "-o",
        "user=abc",
        "hi",
    ]);
    run.expect_code(0);
    let body = server.requests()[0].json();
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][0]["content"], "Be terse");
    assert_eq!(body["temperature"], 0.3);
    assert_eq!(body["max_tokens"], 77);
    assert_eq!(body["seed"], 7);
    assert_eq!(body["user"], "abc");
    assert_eq!(body["logit_bias"]["50256"], -100);
}

#[test]
fn json_output_has_the_contract_fields() {
    let answer = Answer {
        input_tokens: 30,
        cached_tokens: 10,
        output_tokens: Some(5),
        served_model: Some("gpt-4o-mini-2024-07-18".into()),
        ..Answer::new("Hi there")
    };
    let server = MockServer::start(Script::always(Reply::Answer(answer)));
    let mut env = TestEnv::new();
    one_provider(&mut env, &server);
    let run = env.run(&["ask", "--json", "hi"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["text"], "Hi there");
    assert_eq!(j["model"], "m");
    assert_eq!(j["provider"], "mock");
    assert_eq!(j["provider_model"], "gpt-4o-mini");
    assert_eq!(j["served_model"], "gpt-4o-mini-2024-07-18");
    assert_eq!(j["usage"]["input_tokens"], 30);
    assert_eq!(j["usage"]["output_tokens"], 5);
    assert_eq!(j["usage"]["cached_input_tokens"], 10);
    assert!(
        j["cost_usd"].as_f64().is_some_and(|c| c > 0.0),
        "gpt-4o-mini has a catalog price: {j}"
    );
    assert!(j["latency_ms"].is_u64());
    assert!(j["ttft_ms"].is_u64());
    assert_eq!(j["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(j["attempts"][0]["outcome"], "ok");
    assert!(j["request_id"].as_str().is_some_and(|s| !s.is_empty()));
    // The served model differs: a warning on stderr, never on stdout.
    assert!(
        run.stderr.contains("gpt-4o-mini-2024-07-18"),
        "{}",
        run.stderr
    );
}

#[test]
fn unknown_price_is_null_not_zero() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    env.env("MOCK_KEY", "k");
    env.profile(&format!(
        "{}\n[models.x]\nprovider = \"mock\"\nmodel = \"no-such-model-in-any-catalog\"\n",
        provider("mock", "openai", &server)
    ));
    let run = env.run(&["ask", "--json", "-m", "x", "hi"]);
    run.expect_code(0);
    assert!(run.json()["cost_usd"].is_null());
    assert!(run.stderr.contains("cost unknown"), "{}", run.stderr);
}

#[test]
fn a_500_falls_back_to_the_next_model_in_a_comma_list() {
    let bad = MockServer::start(Script::always(Reply::status(500)));
    let good = MockServer::start(Script::always(Reply::Answer(Answer::new(
        "from the second",
    ))));
    let mut env = TestEnv::new();
    env.env("BAD_KEY", "k1").env("GOOD_KEY", "k2");
    env.profile(&format!(
        "[settings]\nretries = 1\nbackoff = \"10ms\"\n{}{}",
        provider("bad", "openai", &bad),
        provider("good", "openai", &good)
    ));
    let run = env.run(&["ask", "--json", "-m", "bad/gpt-4o,good/gpt-4o", "hi"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["text"], "from the second");
    // 5xx: one retry on the same model, then the next model.
    assert_eq!(bad.request_count(), 2);
    assert_eq!(good.request_count(), 1);
    let attempts = j["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[0]["error_kind"], "server");
    assert_eq!(attempts[0]["http_status"], 500);
    assert_eq!(attempts[2]["outcome"], "ok");
    assert!(
        run.stderr.contains("after bad/gpt-4o (server, HTTP 500)"),
        "{}",
        run.stderr
    );
}

#[test]
fn verbose_prints_a_line_per_attempt() {
    let port = closed_port();
    let good = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    env.env("GOOD_KEY", "k");
    env.profile(&format!(
        "[providers.down]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\napi_key_env = \"GOOD_KEY\"\n{}",
        provider("good", "openai", &good)
    ));
    let run = env.run(&["ask", "-v", "-m", "down/a,good/b", "hi"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("attempt 1 · down/a · down/a · connect"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("→ next: good/b"), "{}", run.stderr);
    assert!(run.stderr.contains("attempt 2 · good/b"), "{}", run.stderr);
}

#[test]
fn every_model_failing_is_exit_1_with_the_reasons() {
    let bad = MockServer::start(Script::always(Reply::status(503)));
    let mut env = TestEnv::new();
    env.env("BAD_KEY", "k");
    env.profile(&format!(
        "[settings]\nretries = 0\n{}",
        provider("bad", "openai", &bad)
    ));
    let run = env.run(&["ask", "-m", "bad/x", "hi"]);
    run.expect_code(1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("every model failed") && run.stderr.contains("HTTP 503"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_bad_request_stops_with_exit_1() {
    let bad = MockServer::start(Script::always(Reply::status(400)));
    let next = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    env.env("BAD_KEY", "k").env("NEXT_KEY", "k");
    env.profile(&format!(
        "{}{}",
        provider("bad", "openai", &bad),
        provider("next", "openai", &next)
    ));
    let run = env.run(&["ask", "-m", "bad/x,next/y", "hi"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("rejected the request"),
        "{}",
        run.stderr
    );
    assert_eq!(next.request_count(), 0);
}

#[test]
fn malformed_profile_is_exit_2_with_file_line_and_column() {
    let mut env = TestEnv::new();
    let path = env.profile("[settings]\nretries = 1\nretries = 2\n");
    let run = env.run(&["ask", "hi"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains(&format!("{}:3:", path.display())),
        "{}",
        run.stderr
    );
}

#[test]
fn unknown_profile_key_suggests_the_right_one() {
    let mut env = TestEnv::new();
    env.profile("[settings]\nfirst_token_timout = \"5s\"\n");
    let run = env.run(&["ask", "hi"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains(":2:1:") && run.stderr.contains("did you mean `first_token_timeout`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn unknown_alias_is_exit_2_with_a_suggestion() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    one_provider(&mut env, &server);
    let run = env.run(&["ask", "-m", "mm", "hi"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("unknown model `mm`") && run.stderr.contains("`m`"),
        "{}",
        run.stderr
    );
    assert_eq!(server.request_count(), 0);
}

#[test]
fn missing_key_variable_is_exit_2_and_named() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    env.profile(&format!(
        "{}\n[models.m]\nprovider = \"mock\"\nmodel = \"x\"\n",
        provider("mock", "openai", &server)
    ));
    let run = env.run(&["ask", "-m", "m", "hi"]);
    run.expect_code(2);
    assert!(run.stderr.contains("MOCK_KEY"), "{}", run.stderr);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn api_key_cmd_supplies_the_key() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    env.profile(&format!(
        "[providers.mock]\nkind = \"openai\"\nbase_url = \"{}/v1\"\napi_key_cmd = \"echo from-cmd-key\"\n",
        server.url()
    ));
    env.run(&["ask", "-m", "mock/x", "hi"]).expect_code(0);
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer from-cmd-key")
    );
}

#[test]
fn inline_key_in_a_readable_profile_is_refused() {
    let mut env = TestEnv::new();
    let path = env.profile("[providers.o]\nkind = \"openai\"\napi_key = \"sk-inline-secret\"\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let run = env.run(&["ask", "-m", "o/x", "hi"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("0644") && run.stderr.contains("chmod 600"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("sk-inline-secret"));
}

#[test]
fn no_profile_and_no_keys_says_what_to_set() {
    let env = TestEnv::new();
    let run = env.run(&["ask", "hi"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("OPENAI_API_KEY") && run.stderr.contains("route init"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_environment_profile_uses_openai_with_its_key() {
    // No profile file: OPENAI_API_KEY alone makes a working default, and the
    // provider's base_url is the only thing a test needs to move.
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    env.env("OPENAI_API_KEY", "sk-env");
    env.env("OLLAMA_HOST", &server.url());
    let run = env.run(&["ask", "-m", "ollama/llama3.2", "hi"]);
    run.expect_code(0);
    assert_eq!(server.requests()[0].path, "/api/chat");
}

#[test]
fn no_prompt_is_exit_2() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    one_provider(&mut env, &server);
    let run = env.run(&["ask"]);
    run.expect_code(2);
    assert!(run.stderr.contains("no prompt"), "{}", run.stderr);
}

#[test]
fn option_without_equals_is_exit_2() {
    let server = MockServer::start(Script::default());
    let mut env = TestEnv::new();
    one_provider(&mut env, &server);
    let run = env.run(&["ask", "-o", "temperature", "hi"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("-o `temperature` has no `=`"),
        "{}",
        run.stderr
    );
}

#[test]
fn version_and_help() {
    let env = TestEnv::new();
    let run = env.run(&["--version"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout.trim(),
        format!("route {}", env!("CARGO_PKG_VERSION"))
    );
    let help = env.run(&["ask", "--help"]);
    help.expect_code(0);
    assert!(help.stdout.contains("Examples:"));
}
