//! Refusals (CONTRACT.md "The router's rules": refusal or content policy):
//! a 200 answer that declines, in each wire format's shape, and a
//! content-policy 400 move on to the next model without a retry; the last
//! model's refusal goes to stderr and the exit code is 1.

use crate::support::{Answer, Decline, MockServer, Reply, Script, TestEnv, base_url, ledger_rows};

/// A profile with model `a` of `kind` at `first` and model `b` (OpenAI) at
/// `second`, three retries allowed: a refusal must use none of them.
fn setup(kind: &str, first: &MockServer, second: &MockServer, extra: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.env("A_KEY", "key-a").env("B_KEY", "key-b");
    let model = match kind {
        "anthropic" => "claude-haiku-4-5",
        "gemini" => "gemini-2.5-flash",
        _ => "gpt-4o-mini",
    };
    env.profile(&format!(
        "[settings]\nretries = 3\nbackoff = \"10ms\"\n{extra}\n\
         [providers.a]\nkind = \"{kind}\"\nbase_url = \"{}\"\napi_key_env = \"A_KEY\"\n\
         [providers.b]\nkind = \"openai\"\nbase_url = \"{}/v1\"\napi_key_env = \"B_KEY\"\n\
         [models.a]\nprovider = \"a\"\nmodel = \"{model}\"\n\
         [models.b]\nprovider = \"b\"\nmodel = \"gpt-4o-mini\"\n",
        base_url(kind, &first.url()),
        second.url(),
    ));
    env
}

fn declined(how: Decline, chunks: usize) -> Script {
    Script::always(Reply::Declined { how, chunks })
}

/// Every wire format's refusal, and the content-policy 400s: no retry, the
/// next model answers, and `--json` names the refusal.
#[test]
fn a_refusal_moves_on_to_the_next_model() {
    let cases = [
        (
            "openai",
            Reply::Declined {
                how: Decline::Refusal,
                chunks: 0,
            },
            "refusal",
        ),
        (
            "openai",
            Reply::Declined {
                how: Decline::Filtered,
                chunks: 0,
            },
            "refusal",
        ),
        ("openai", Reply::ContentPolicy, "content_policy"),
        (
            "anthropic",
            Reply::Declined {
                how: Decline::Refusal,
                chunks: 0,
            },
            "refusal",
        ),
        ("anthropic", Reply::ContentPolicy, "content_policy"),
        (
            "gemini",
            Reply::Declined {
                how: Decline::Refusal,
                chunks: 0,
            },
            "refusal",
        ),
        (
            "gemini",
            Reply::Declined {
                how: Decline::BlockedPrompt,
                chunks: 0,
            },
            "refusal",
        ),
    ];
    for (kind, reply, error_kind) in cases {
        for stream in [true, false] {
            let case = format!("{kind} {reply:?}, stream {stream}");
            let a = MockServer::start(Script::always(reply.clone()));
            let b = MockServer::start(Script::always(Reply::text("an answer")));
            let env = setup(kind, &a, &b, "");
            let mut args = vec!["ask", "--json", "-m", "a,b", "hi"];
            if !stream {
                args.insert(1, "--no-stream");
            }
            let run = env.run(&args);
            run.expect_code(0);
            let j = run.json();
            assert_eq!(j["text"], "an answer", "{case}: {j}");
            assert_eq!(j["attempts"][0]["error_kind"], error_kind, "{case}: {j}");
            assert_eq!(j["attempts"][0]["outcome"], "error", "{case}: {j}");
            assert_eq!(
                (a.request_count(), b.request_count()),
                (1, 1),
                "{case}: a refusal is not retried"
            );
        }
    }
}

#[test]
fn the_last_models_refusal_goes_to_stderr_and_exits_1() {
    let a = MockServer::start(Script::always(Reply::status(500)));
    let b = MockServer::start(declined(Decline::Refusal, 0));
    let mut env = setup("openai", &a, &b, "");
    env.edit_profile(|t| t.replace("retries = 3", "retries = 0"));
    let run = env.run(&["ask", "-m", "a,b", "hi"]);
    run.expect_code(1);
    assert_eq!(run.stdout, "", "a refusal is no answer");
    assert!(
        run.stderr.contains(
            "b declined to answer: I'm sorry, I cannot assist with that request. (after a (server, HTTP 500))"
        ),
        "{}",
        run.stderr
    );
    // The ledger keeps it as a failed attempt of kind `refusal`.
    let rows = ledger_rows(&env);
    assert_eq!(
        rows.last(),
        Some(&(
            "b".to_owned(),
            "error".to_owned(),
            Some("refusal".to_owned())
        ))
    );
    // --json: one object, the refusal named, exit 1.
    let run = env.run(&["ask", "--json", "-m", "b", "hi"]);
    run.expect_code(1);
    let j = run.json();
    assert_eq!(j["attempts"][0]["error_kind"], "refusal", "{j}");
    assert_eq!(
        j["attempts"][0]["error"],
        "I'm sorry, I cannot assist with that request."
    );
    assert_eq!(j["text"], "");
    // A refusal is no failure of the model's health: it is not cooling down.
    let dry = env.run(&["ask", "--dry-run", "-m", "b", "hi"]);
    dry.expect_code(0);
    assert!(!dry.stdout.contains("cooling"), "{}", dry.stdout);
}

/// Anthropic's refusal explanation and Gemini's blocked prompt are what the
/// user is told.
#[test]
fn what_each_provider_said_is_the_message() {
    let cases = [
        (
            "anthropic",
            Decline::Refusal,
            "This request was declined because it could enable cyber harm.",
        ),
        (
            "gemini",
            Decline::BlockedPrompt,
            "the prompt was blocked (promptFeedback.blockReason SAFETY)",
        ),
        (
            "gemini",
            Decline::Filtered,
            "the answer was blocked (finishReason PROHIBITED_CONTENT)",
        ),
        (
            "openai",
            Decline::Filtered,
            "content filter stopped the answer (finish_reason: content_filter)",
        ),
    ];
    for (kind, how, said) in cases {
        let a = MockServer::start(declined(how, 0));
        let b = MockServer::start(Script::always(Reply::text("unused")));
        let env = setup(kind, &a, &b, "");
        let run = env.run(&["ask", "-m", "a", "hi"]);
        run.expect_code(1);
        assert!(
            run.stderr.contains("a declined to answer: ") && run.stderr.contains(said),
            "{kind} {how:?}: {}",
            run.stderr
        );
    }
}

/// OpenAI's structured-output refusal is a refusal, not an answer that did
/// not match the schema.
#[test]
fn a_refusal_under_a_schema_is_not_invalid_output() {
    let a = MockServer::start(declined(Decline::Refusal, 0));
    let b = MockServer::start(Script::always(Reply::text("{\"name\":\"x\"}")));
    let env = setup("openai", &a, &b, "");
    let schema = r#"{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}"#;
    let run = env.run(&["ask", "--json", "--schema", schema, "-m", "a,b", "hi"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["attempts"][0]["error_kind"], "refusal", "{j}");
    assert_eq!(j["value"], serde_json::json!({"name": "x"}));
}

/// A refusal after answer text was written is a stream that failed after
/// text: a notice on stderr with what the model said, then the next model
/// continues the answer (Anthropic can), so stdout holds one answer.
#[test]
fn a_refusal_after_text_is_continued_by_the_next_model() {
    let full = "one two three four";
    let a = MockServer::start(declined(Decline::Refusal, 2).with_answer(Answer::new(full)));
    let b = MockServer::start(Script::always(Reply::text(full)).expecting_prefix());
    let mut env = TestEnv::new();
    env.env("A_KEY", "key-a").env("B_KEY", "key-b");
    env.profile(&format!(
        "[settings]\nretries = 3\n\
         [providers.a]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key_env = \"A_KEY\"\n\
         [providers.b]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key_env = \"B_KEY\"\n\
         [models.a]\nprovider = \"a\"\nmodel = \"claude-haiku-4-5\"\n\
         [models.b]\nprovider = \"b\"\nmodel = \"claude-haiku-4-5\"\n",
        a.url(),
        b.url()
    ));
    let run = env.run(&["ask", "-m", "a,b", "hi"]);
    run.expect_code(0);
    assert_eq!(run.stdout, format!("{full}\n"), "one answer");
    assert!(
        run.stderr
            .contains("a broke off after part of its answer (refusal: This request was declined")
            && run.stderr.contains("b continues it"),
        "{}",
        run.stderr
    );
    assert_eq!((a.request_count(), b.request_count()), (1, 1));
    let rows = ledger_rows(&env);
    assert_eq!(rows[0].1, "incomplete");
    assert_eq!(rows[0].2.as_deref(), Some("refusal"));
}

/// Where no model can continue, into a pipe, no second answer starts: the
/// partial answer stays alone and the exit code is 4.
#[test]
fn a_refusal_after_text_into_a_pipe_with_no_continuer_exits_4() {
    let a =
        MockServer::start(declined(Decline::Refusal, 2).with_answer(Answer::new("one two three")));
    let b = MockServer::start(Script::always(Reply::text("a second answer")));
    let env = setup("anthropic", &a, &b, "");
    let run = env.run(&["ask", "-m", "a,b", "hi"]);
    run.expect_code(4);
    assert_eq!(run.stdout, "one two");
    assert!(
        run.stderr.contains("no model left can continue it"),
        "{}",
        run.stderr
    );
    assert_eq!(b.request_count(), 0);
}

/// `route drill` names a path whose model declined, with what it said.
#[test]
fn drill_names_a_refusing_path() {
    let a = MockServer::start(Script::always(Reply::text("from a")));
    let b = MockServer::start(declined(Decline::Refusal, 0));
    let mut env = setup("openai", &a, &b, "");
    env.edit_profile(|t| t + "[chains.main]\nmodels = [\"a\", \"b\"]\n");
    let run = env.run(&["drill", "main", "--json"]);
    run.expect_code(1);
    let j = run.json();
    assert_eq!(j[1]["error_kind"], "refusal", "{j}");
    assert_eq!(
        j[1]["error"],
        "I'm sorry, I cannot assist with that request."
    );
    let run = env.run(&["drill", "main"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(
            "path a ✗ → b did not answer (refusal: I'm sorry, I cannot assist with that request.)"
        ),
        "{}",
        run.stderr
    );
}
