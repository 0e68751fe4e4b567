//! The router's rules (issue 5), one test per row of the contract's table,
//! each asserting the outcome and how many requests every server received.

use std::time::{Duration, Instant};

use crate::support::{
    Answer, MockServer, Reply, Script, TestEnv, closed_port, ledger_rows, openai_servers, spawn,
};

/// A profile with one provider per server (named a, b, c…), a model alias of
/// the same name on each, and `settings` lines on top.
fn setup(settings: &str, servers: &[&MockServer]) -> TestEnv {
    openai_servers(
        &format!("[settings]\nbackoff = \"10ms\"\n{settings}"),
        |name| format!("key-of-{name}"),
        servers,
    )
}

fn answer(text: &str) -> Script {
    Script::always(Reply::Answer(Answer::new(text)))
}

#[test]
fn connection_refused_moves_on_at_once_without_retry() {
    let good = MockServer::start(answer("ok from b"));
    let mut env = setup("retries = 3", &[&good]);
    let port = closed_port();
    env.edit_profile(|text| text + &format!("[providers.down]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\napi_key_env = \"A_KEY\"\n"));
    let run = env.run(&["ask", "--json", "-m", "down/x,a", "hi"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["text"], "ok from b");
    assert_eq!(j["attempts"][0]["error_kind"], "connect");
    assert_eq!(
        j["attempts"].as_array().unwrap().len(),
        2,
        "no retry on a refused connection"
    );
}

#[test]
fn server_errors_retry_then_move_on() {
    let a = MockServer::start(Script::always(Reply::status(502)));
    let b = MockServer::start(answer("ok"));
    let env = setup("retries = 2", &[&a, &b]);
    env.run(&["ask", "-m", "a,b", "hi"]).expect_code(0);
    assert_eq!(a.request_count(), 3, "1 try + 2 retries");
    assert_eq!(b.request_count(), 1);
}

#[test]
fn a_retry_that_succeeds_stays_on_the_same_model() {
    let a = MockServer::start(Script::new(vec![
        Reply::status(500),
        Reply::Answer(Answer::new("second try")),
    ]));
    let b = MockServer::start(answer("never"));
    let env = setup("retries = 1", &[&a, &b]);
    let run = env.run(&["ask", "-m", "a,b", "hi"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "second try\n");
    assert_eq!((a.request_count(), b.request_count()), (2, 0));
}

#[test]
fn overloaded_529_and_malformed_bodies_are_retried() {
    let a = MockServer::start(Script::always(Reply::status(529)));
    let b = MockServer::start(Script::always(Reply::RawBody {
        status: 200,
        content_type: "text/event-stream".into(),
        body: b"data: {not json\n\n".to_vec(),
    }));
    let c = MockServer::start(answer("ok"));
    let env = setup("retries = 1", &[&a, &b, &c]);
    let run = env.run(&["ask", "--json", "-m", "a,b,c", "hi"]);
    run.expect_code(0);
    assert_eq!(
        (a.request_count(), b.request_count(), c.request_count()),
        (2, 2, 1)
    );
    let kinds: Vec<_> = run.json()["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["error_kind"].clone())
        .collect();
    assert_eq!(kinds[0], "overloaded");
    assert_eq!(kinds[2], "invalid_response");
}

#[test]
fn rate_limit_moves_on_at_once_and_is_remembered() {
    let limited = Reply::Status {
        status: 429,
        message: None,
        headers: vec![("retry-after".into(), "30".into())],
    };
    let a = MockServer::start(Script::always(limited));
    let b = MockServer::start(answer("from b"));
    let env = setup("retries = 2\nmax_retry_wait = \"60s\"", &[&a, &b]);
    let started = Instant::now();
    let run = env.run(&["ask", "--json", "-m", "a,b", "hi"]);
    run.expect_code(0);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no sleeping on a rate limit while b is free"
    );
    assert_eq!((a.request_count(), b.request_count()), (1, 1));
    assert_eq!(run.json()["attempts"][0]["error_kind"], "rate_limit");
    // A second run skips a until its Retry-After time.
    let run = env.run(&["ask", "-v", "-m", "a,b", "hi"]);
    run.expect_code(0);
    assert_eq!((a.request_count(), b.request_count()), (1, 2));
    assert!(
        run.stderr.contains("skipping a: rate-limited until"),
        "{}",
        run.stderr
    );
}

#[test]
fn rate_limit_on_the_last_model_waits_for_retry_after() {
    let limited = Reply::Status {
        status: 429,
        message: None,
        headers: vec![("retry-after".into(), "1".into())],
    };
    let a = MockServer::start(Script::new(vec![
        limited,
        Reply::Answer(Answer::new("after the wait")),
    ]));
    let env = setup("", &[&a]);
    let started = Instant::now();
    let run = env.run(&["ask", "-m", "a", "hi"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "after the wait\n");
    assert_eq!(a.request_count(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
}

#[test]
fn rate_limit_longer_than_max_retry_wait_is_not_waited() {
    let limited = Reply::Status {
        status: 429,
        message: None,
        headers: vec![("retry-after-ms".into(), "30000".into())],
    };
    let a = MockServer::start(Script::always(limited));
    let env = setup("max_retry_wait = \"2s\"", &[&a]);
    let started = Instant::now();
    env.run(&["ask", "-m", "a", "hi"]).expect_code(1);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(a.request_count(), 1);
}

#[test]
fn rate_limit_inside_a_200_body_counts_as_429() {
    let a = MockServer::start(Script::always(Reply::RateLimitIn200));
    let b = MockServer::start(answer("ok"));
    let env = setup("retries = 2", &[&a, &b]);
    let run = env.run(&["ask", "--json", "-m", "a,b", "hi"]);
    run.expect_code(0);
    assert_eq!(run.json()["attempts"][0]["error_kind"], "rate_limit");
    assert_eq!(a.request_count(), 1);
}

#[test]
fn a_hanging_provider_costs_at_most_the_first_token_timeout() {
    let a = MockServer::start(Script::always(Reply::Hang));
    let b = MockServer::start(answer("rescued"));
    let env = setup("first_token_timeout = \"1s\"\nretries = 2", &[&a, &b]);
    let started = Instant::now();
    let run = env.run(&["ask", "--json", "-m", "a,b", "hi"]);
    run.expect_code(0);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert_eq!(run.json()["attempts"][0]["error_kind"], "timeout");
    assert_eq!(
        (a.request_count(), b.request_count()),
        (1, 1),
        "no retry after a timeout"
    );
}

#[test]
fn timeout_flag_overrides_the_profile() {
    let a = MockServer::start(Script::always(Reply::Hang));
    let env = setup("first_token_timeout = \"60s\"", &[&a]);
    let started = Instant::now();
    let run = env.run(&["ask", "--timeout", "500ms", "-m", "a", "hi"]);
    run.expect_code(1);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(run.stderr.contains("timeout"), "{}", run.stderr);
}

#[test]
fn auth_errors_move_on_without_retry() {
    let a = MockServer::start(Script::always(Reply::status(401)));
    let b = MockServer::start(Script::always(Reply::status(403)));
    let c = MockServer::start(answer("ok"));
    let env = setup("retries = 3", &[&a, &b, &c]);
    let run = env.run(&["ask", "--json", "-m", "a,b,c", "hi"]);
    run.expect_code(0);
    assert_eq!(
        (a.request_count(), b.request_count(), c.request_count()),
        (1, 1, 1)
    );
    assert_eq!(run.json()["attempts"][1]["error_kind"], "auth");
}

#[test]
fn context_length_skips_to_a_model_with_a_larger_window() {
    let a = MockServer::start(Script::always(Reply::ContextLength));
    let b = MockServer::start(answer("never"));
    let c = MockServer::start(answer("big window"));
    let mut env = setup("retries = 3", &[&a, &b, &c]);
    env.edit_profile(|text| {
        text.replace("[models.a]\n", "[models.a]\ncontext_window = 8000\n")
            .replace("[models.b]\n", "[models.b]\ncontext_window = 8000\n")
            .replace("[models.c]\n", "[models.c]\ncontext_window = 1000000\n")
    });
    let run = env.run(&["ask", "--json", "-m", "a,b,c", "hi"]);
    run.expect_code(0);
    assert_eq!(run.json()["text"], "big window");
    assert_eq!(run.json()["attempts"][0]["error_kind"], "context_length");
    assert_eq!(
        (a.request_count(), b.request_count(), c.request_count()),
        (1, 0, 1)
    );
}

#[test]
fn other_4xx_stops_and_exits_1() {
    let a = MockServer::start(Script::always(Reply::status(422)));
    let b = MockServer::start(answer("never"));
    let env = setup("retries = 3", &[&a, &b]);
    env.run(&["ask", "-m", "a,b", "hi"]).expect_code(1);
    assert_eq!((a.request_count(), b.request_count()), (1, 0));
}

#[test]
fn a_stream_cut_before_the_first_token_falls_back_silently() {
    let a = MockServer::start(Script::always(Reply::Cut { chunks: 0 }));
    let b = MockServer::start(answer("whole answer"));
    let env = setup("retries = 0", &[&a, &b]);
    let run = env.run(&["ask", "-m", "a,b", "hi"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "whole answer\n");
    assert!(!run.stderr.contains("broke off"), "{}", run.stderr);
}

#[test]
fn a_stream_cut_after_text_into_a_pipe_starts_no_second_answer() {
    // Issue 13 changed this: stdout is not a terminal and neither model can
    // continue (OpenAI Chat Completions), so b is not asked at all.
    let cut = Script::always(Reply::Cut { chunks: 2 })
        .with_answer(Answer::new("one two three four five"));
    let a = MockServer::start(cut);
    let b = MockServer::start(answer("complete answer"));
    let env = setup("retries = 2", &[&a, &b]);
    let run = env.run(&["ask", "-m", "a,b", "hi"]);
    run.expect_code(4);
    assert_eq!(run.stdout, "one two");
    assert!(
        run.stderr.contains("a broke off after part of its answer")
            && run.stderr.contains("no model left can continue it"),
        "{}",
        run.stderr
    );
    assert_eq!(
        (a.request_count(), b.request_count()),
        (1, 0),
        "printed text is never retried, nor started again"
    );
}

#[test]
fn a_cut_stream_on_the_last_model_exits_4_and_is_marked_incomplete() {
    let cut = Script::always(Reply::Cut { chunks: 2 })
        .with_answer(Answer::new("one two three four five"));
    let a = MockServer::start(cut);
    let env = setup("", &[&a]);
    let run = env.run(&["ask", "-m", "a", "hi"]);
    run.expect_code(4);
    assert!(
        run.stderr.contains("no model could complete it"),
        "{}",
        run.stderr
    );
    let rows = ledger_rows(&env);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "incomplete");
}

#[test]
fn a_stream_that_stalls_past_idle_timeout_fails() {
    let stall = Script::always(Reply::HangAfter { chunks: 2 })
        .with_answer(Answer::new("one two three four"));
    let a = MockServer::start(stall);
    let b = MockServer::start(answer("fresh"));
    let env = setup("idle_timeout = \"500ms\"", &[&a, &b]);
    let started = Instant::now();
    let run = env.run(&["ask", "--json", "-m", "a,b", "hi"]);
    run.expect_code(0);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(run.json()["attempts"][0]["error_kind"], "timeout");
    assert_eq!(run.json()["text"], "fresh");
}

#[test]
fn an_in_stream_error_event_is_a_failure() {
    let a = MockServer::start(Script::always(Reply::StreamError {
        chunks: 0,
        status: 500,
    }));
    let b = MockServer::start(answer("ok"));
    let env = setup("retries = 0", &[&a, &b]);
    let run = env.run(&["ask", "--json", "-m", "a,b", "hi"]);
    run.expect_code(0);
    assert_eq!(run.json()["attempts"][0]["outcome"], "error");
}

#[test]
fn cooldown_persists_across_runs() {
    let a = MockServer::start(Script::always(Reply::status(500)));
    let b = MockServer::start(answer("ok"));
    let env = setup(
        "retries = 0\nallowed_fails = 2\ncooldown = \"60s\"",
        &[&a, &b],
    );
    env.run(&["ask", "-m", "a,b", "hi"]).expect_code(0);
    env.run(&["ask", "-m", "a,b", "hi"]).expect_code(0);
    assert_eq!(a.request_count(), 2);
    let run = env.run(&["ask", "-v", "-m", "a,b", "hi"]);
    run.expect_code(0);
    assert_eq!(
        a.request_count(),
        2,
        "the third run sends nothing to a model in cooldown"
    );
    assert!(
        run.stderr.contains("skipping a: cooling down until"),
        "{}",
        run.stderr
    );
}

#[test]
fn when_every_model_cools_down_they_are_tried_anyway() {
    let a = MockServer::start(Script::new(vec![
        Reply::status(500),
        Reply::Answer(Answer::new("back")),
    ]));
    let env = setup("retries = 0\nallowed_fails = 1\ncooldown = \"60s\"", &[&a]);
    env.run(&["ask", "-m", "a", "hi"]).expect_code(1);
    let run = env.run(&["ask", "-m", "a", "hi"]);
    run.expect_code(0);
    assert!(run.stderr.contains("trying them anyway"), "{}", run.stderr);
    assert_eq!(a.request_count(), 2);
}

#[test]
fn cheapest_strategy_tries_the_cheapest_first() {
    let a = MockServer::start(answer("from a"));
    let b = MockServer::start(answer("from b"));
    let mut env = setup("", &[&a, &b]);
    env.edit_profile(|text| {
        text.replace(
            "[models.a]\n",
            "[models.a]\ninput_cost = 10.0\noutput_cost = 30.0\n",
        )
        .replace(
            "[models.b]\n",
            "[models.b]\ninput_cost = 0.1\noutput_cost = 0.4\n",
        ) + "[chains.cheap]\nmodels = [\"a\", \"b\"]\nstrategy = \"cheapest\"\n"
    });
    let run = env.run(&["ask", "-m", "cheap", "hi"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "from b\n");
    assert_eq!(a.request_count(), 0);
}

#[test]
fn fastest_strategy_uses_the_ledger_latencies() {
    let slow = Answer {
        first_delay: Duration::from_millis(400),
        ..Answer::new("slow")
    };
    let a = MockServer::start(Script::always(Reply::Answer(slow)));
    let b = MockServer::start(answer("fast"));
    let mut env = setup("", &[&a, &b]);
    env.edit_profile(|text| {
        text + "[chains.quick]\nmodels = [\"a\", \"b\"]\nstrategy = \"fastest\"\n"
    });
    // Unknown latencies are tried first so that they get measured.
    env.run(&["ask", "-m", "a", "hi"]).expect_code(0);
    env.run(&["ask", "-m", "b", "hi"]).expect_code(0);
    let run = env.run(&["ask", "-m", "quick", "hi"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "fast\n");
    assert_eq!((a.request_count(), b.request_count()), (1, 2));
}

#[test]
fn shuffle_strategy_varies_the_first_model() {
    let a = MockServer::start(answer("a"));
    let b = MockServer::start(answer("b"));
    let mut env = setup("", &[&a, &b]);
    env.edit_profile(|text| {
        text + "[chains.mix]\nmodels = [\"a\", \"b\"]\nstrategy = \"shuffle\"\n"
    });
    for _ in 0..24 {
        env.run(&["ask", "--no-log", "-m", "mix", "hi"])
            .expect_code(0);
        if a.request_count() > 0 && b.request_count() > 0 {
            return;
        }
    }
    panic!("24 shuffled runs all started with the same model");
}

#[test]
fn a_model_whose_window_cannot_hold_the_prompt_is_skipped() {
    let a = MockServer::start(answer("small"));
    let b = MockServer::start(answer("large"));
    let mut env = setup("", &[&a, &b]);
    env.edit_profile(|text| text.replace("[models.a]\n", "[models.a]\ncontext_window = 100\n"));
    let prompt = "word ".repeat(400);
    let run = env.run(&["ask", "-v", "-m", "a,b", &prompt]);
    run.expect_code(0);
    assert_eq!(run.stdout, "large\n");
    assert_eq!(a.request_count(), 0);
    assert!(
        run.stderr.contains("skipping a: context window 100 tokens"),
        "{}",
        run.stderr
    );
    let dry = env.run(&["ask", "--dry-run", "-m", "a,b", &prompt]);
    dry.expect_code(0);
    assert!(
        dry.stdout.contains("skipped: a") && dry.stdout.contains("context window 100"),
        "{}",
        dry.stdout
    );
}

#[test]
fn dry_run_sends_nothing_and_prints_the_plan() {
    let a = MockServer::start(answer("x"));
    let b = MockServer::start(answer("y"));
    let env = setup("", &[&a, &b]);
    let run = env.run(&["ask", "--dry-run", "-m", "a,b", "hello"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("1. a (a/gpt-4o-mini)") && run.stdout.contains("2. b (b/gpt-4o-mini)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("worst case $"), "{}", run.stdout);
    assert_eq!(a.request_count() + b.request_count(), 0);
    assert!(
        !env.data_dir().join("ledger.db").exists(),
        "a dry run records nothing"
    );
}

#[test]
fn dry_run_json_is_one_object_with_the_plan() {
    let a = MockServer::start(answer("x"));
    let b = MockServer::start(answer("y"));
    let c = MockServer::start(answer("z"));
    let mut env = setup("", &[&a, &b, &c]);
    env.edit_profile(|text| {
        text.replace("[models.a]\n", "[models.a]\ncontext_window = 100\n")
            .replace(
                "[models.c]\nprovider = \"c\"\nmodel = \"gpt-4o-mini\"",
                "[models.c]\nprovider = \"c\"\nmodel = \"no-such-model-in-any-catalog\"",
            )
    });
    let prompt = "word ".repeat(400);
    let run = env.run(&[
        "ask",
        "--dry-run",
        "--json",
        "--max-tokens",
        "100",
        "-m",
        "a,b,c",
        &prompt,
    ]);
    run.expect_code(0);
    assert_eq!(run.stdout.lines().count(), 1, "one object: {}", run.stdout);
    let j = run.json();
    assert_eq!(j["reference"], "a,b,c");
    assert_eq!(j["strategy"], "fallback");
    let estimated = j["estimated_input_tokens"].as_u64().unwrap();
    assert!(estimated > 100, "{j}");
    let models = j["models"].as_array().unwrap();
    let aliases: Vec<&str> = models
        .iter()
        .map(|m| m["alias"].as_str().unwrap())
        .collect();
    assert_eq!(aliases, ["b", "c"], "{j}");
    assert_eq!(models[0]["provider"], "b");
    assert_eq!(models[0]["provider_model"], "gpt-4o-mini");
    assert_eq!(models[0]["max_tokens"], 100);
    // gpt-4o-mini: $0.15 in and $0.60 out per 1M tokens.
    let worst = models[0]["worst_case_usd"].as_f64().unwrap();
    #[allow(clippy::cast_precision_loss)]
    let expected = (estimated as f64).mul_add(0.15, 100.0 * 0.60) / 1e6;
    assert!((worst - expected).abs() < 1e-9, "{worst} vs {expected}");
    assert_eq!(models[1]["provider_model"], "no-such-model-in-any-catalog");
    assert!(
        models[1]["worst_case_usd"].is_null(),
        "an unknown price is null: {j}"
    );
    let skipped = j["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{j}");
    assert_eq!(skipped[0]["alias"], "a");
    assert_eq!(skipped[0]["reason_kind"], "context_window");
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("context window 100 tokens"),
        "{j}"
    );
    assert_eq!(j["forced"], false);
    assert_eq!(a.request_count() + b.request_count() + c.request_count(), 0);
    assert!(!env.data_dir().join("ledger.db").exists());
}

#[test]
fn keys_go_only_to_their_own_provider() {
    let a = MockServer::start(Script::always(Reply::status(500)));
    let b = MockServer::start(answer("ok"));
    let env = setup("retries = 0", &[&a, &b]);
    env.run(&["ask", "-m", "a,b", "hi"]).expect_code(0);
    for r in a.requests() {
        assert_eq!(r.header("authorization"), Some("Bearer key-of-a"));
    }
    for r in b.requests() {
        assert_eq!(r.header("authorization"), Some("Bearer key-of-b"));
    }
}

#[test]
fn a_redirect_to_another_host_is_refused_and_the_key_never_follows() {
    let elsewhere = MockServer::start(answer("stolen"));
    let location = format!("{}/v1/chat/completions", elsewhere.url());
    let a = MockServer::start(Script::always(Reply::Status {
        status: 307,
        message: None,
        headers: vec![("location".into(), location)],
    }));
    let b = MockServer::start(answer("safe"));
    let env = setup("retries = 0", &[&a, &b]);
    let run = env.run(&["ask", "--json", "-m", "a,b", "hi"]);
    run.expect_code(0);
    assert_eq!(run.json()["text"], "safe");
    assert_eq!(
        elsewhere.request_count(),
        0,
        "the redirect target never saw a request"
    );
    assert!(
        run.json()["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("redirected to another host")
    );
}

#[test]
fn drill_exercises_every_path_of_a_chain() {
    let a = MockServer::start(answer("from a"));
    let b = MockServer::start(answer("from b"));
    let c = MockServer::start(answer("from c"));
    let mut env = setup("", &[&a, &b, &c]);
    env.edit_profile(|text| text + "[chains.main]\nmodels = [\"a\", \"b\", \"c\"]\n");
    let run = env.run(&["drill", "main"]);
    run.expect_code(0);
    // Forced failures send nothing: each server answered exactly its own path.
    assert_eq!(
        (a.request_count(), b.request_count(), c.request_count()),
        (1, 1, 1)
    );
    assert!(run.stdout.contains("a ✗ → b ✗ → c"), "{}", run.stdout);
    assert_eq!(run.stdout.matches("yes").count(), 3, "{}", run.stdout);
    // Forced failures are not recorded, so they cannot put a model in cooldown.
    let rows = ledger_rows(&env);
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.1 == "ok"));
}

#[test]
fn drill_reports_a_broken_path_and_exits_1() {
    let a = MockServer::start(answer("from a"));
    let b = MockServer::start(Script::always(Reply::status(500)));
    let mut env = setup("retries = 0", &[&a, &b]);
    env.edit_profile(|text| text + "[chains.main]\nmodels = [\"a\", \"b\"]\n");
    let run = env.run(&["drill", "main"]);
    run.expect_code(1);
    assert!(
        run.stdout.contains("no: server, HTTP 500"),
        "{}",
        run.stdout
    );
    // stderr names each path that did not answer, one line each.
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("did not answer"))
        .collect();
    assert_eq!(
        lines,
        ["error: path a ✗ → b did not answer (server, HTTP 500)"],
        "{}",
        run.stderr
    );
}

#[test]
fn drill_json_is_one_object_per_path() {
    let a = MockServer::start(answer("from a"));
    let b = MockServer::start(Script::always(Reply::status(500)));
    let c = MockServer::start(answer("from c"));
    let mut env = setup("retries = 0", &[&a, &b, &c]);
    env.edit_profile(|text| text + "[chains.main]\nmodels = [\"a\", \"b\", \"c\"]\n");
    let run = env.run(&["drill", "main", "--json"]);
    run.expect_code(1);
    let j = run.json();
    let paths = j.as_array().unwrap_or_else(|| panic!("not an array: {j}"));
    assert_eq!(paths.len(), 3, "{j}");
    let members: Vec<Vec<&str>> = paths
        .iter()
        .map(|p| {
            p["path"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(members, [vec!["a"], vec!["a", "b"], vec!["a", "b", "c"]]);
    let answered: Vec<bool> = paths
        .iter()
        .map(|p| p["answered"].as_bool().unwrap())
        .collect();
    assert_eq!(answered, [true, false, true]);
    assert_eq!(paths[0]["model"], "a");
    assert_eq!(paths[0]["provider"], "a");
    assert_eq!(paths[0]["provider_model"], "gpt-4o-mini");
    assert!(paths[0]["error"].is_null(), "{j}");
    assert!(paths[0]["cost_usd"].as_f64().unwrap() > 0.0, "{j}");
    assert!(paths[0]["latency_ms"].is_u64(), "{j}");
    assert!(paths[1]["model"].is_null(), "{j}");
    assert_eq!(paths[1]["error_kind"], "server");
    assert_eq!(paths[1]["http_status"], 500);
    assert!(paths[1]["error"].is_string(), "{j}");
    assert_eq!(paths[1]["cost_usd"], 0.0, "nothing was billed: {j}");
    assert_eq!(paths[2]["model"], "c");
    // Forced failures still send nothing.
    assert_eq!(
        (a.request_count(), b.request_count(), c.request_count()),
        (1, 1, 1)
    );
    assert!(
        run.stderr
            .contains("error: path a ✗ → b did not answer (server, HTTP 500)"),
        "{}",
        run.stderr
    );
}

#[cfg(unix)]
#[test]
fn sigint_during_a_hang_exits_130_and_records_cancelled() {
    let a = MockServer::start(Script::always(Reply::Hang));
    let env = setup("first_token_timeout = \"60s\"", &[&a]);
    let child = spawn(&env, &["ask", "-m", "a", "hi"]);
    let started = Instant::now();
    while a.request_count() == 0 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = ledger_rows(&env);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "cancelled");
}

#[cfg(unix)]
#[test]
fn sigterm_exits_143() {
    let a = MockServer::start(Script::always(Reply::Hang));
    let env = setup("first_token_timeout = \"60s\"", &[&a]);
    let child = spawn(&env, &["ask", "-m", "a", "hi"]);
    let started = Instant::now();
    while a.request_count() == 0 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143));
}

#[test]
fn a_closed_stdout_ends_quietly() {
    use std::io::Read;
    let long = Answer {
        delay: Duration::from_millis(20),
        ..Answer::new("word ".repeat(200))
    };
    let a = MockServer::start(Script::always(Reply::Answer(long)));
    let env = setup("", &[&a]);
    let mut child = spawn(&env, &["ask", "-m", "a", "hi"]);
    let mut stdout = child.stdout.take().unwrap();
    let mut one = [0u8; 1];
    stdout.read_exact(&mut one).unwrap();
    drop(stdout);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "route kept streaming into a closed pipe"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn the_summary_names_a_member_skipped_for_cooldown_and_counts_retries() {
    let a = MockServer::start(Script::always(Reply::status(503)));
    let b = MockServer::start(answer("ok"));
    let env = setup(
        "retries = 1\nallowed_fails = 2\ncooldown = \"60s\"",
        &[&a, &b],
    );
    // Two tries of a (503, 503), then b: the summary says it once, ×2.
    let first = env.run(&["ask", "-m", "a,b", "hi"]);
    first.expect_code(0);
    let summary = first.stderr.lines().last().unwrap_or_default();
    assert!(
        summary.contains("after a (server, HTTP 503) ×2") && !summary.contains("503), a ("),
        "{}",
        first.stderr
    );
    // Now a cools down: without -v the summary still says a was skipped.
    let second = env.run(&["ask", "-m", "a,b", "hi"]);
    second.expect_code(0);
    assert_eq!(a.request_count(), 2);
    let summary = second.stderr.lines().last().unwrap_or_default();
    assert!(
        summary.contains("skipped a (cooling down until "),
        "{}",
        second.stderr
    );
}
