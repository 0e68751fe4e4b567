//! Every provider kind end to end (issue 3): the binary against route-mock
//! speaking that provider's wire format, streamed and not, with the same
//! `--json` fields filled for all of them.

use route::provider::ProviderKind;

use crate::support::{Answer, MockServer, Reply, Script, TestEnv};

/// Every kind route registers: a new one is tested here without being listed.
const KINDS: [&str; ProviderKind::NAMES.len()] = ProviderKind::NAMES;

/// A profile with one provider of `kind` at `server`, and the alias `m`.
fn setup(kind: &str, server: &MockServer, extra: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.env("P_KEY", "sk-distinct-key-0042");
    let base = match kind {
        "openai" => format!("{}/v1", server.url()),
        _ => server.url(),
    };
    let key = if kind == "ollama" {
        ""
    } else {
        "api_key_env = \"P_KEY\"\n"
    };
    let model = match kind {
        "anthropic" => "claude-haiku-4-5",
        "gemini" => "gemini-2.5-flash",
        "ollama" => "llama3.2",
        _ => "gpt-4o-mini",
    };
    env.profile(&format!(
        "[settings]\nbackoff = \"10ms\"\n{extra}\n[providers.p]\nkind = \"{kind}\"\nbase_url = \"{base}\"\n{key}\n[models.m]\nprovider = \"p\"\nmodel = \"{model}\"\n"
    ));
    env
}

fn usage_answer() -> Answer {
    Answer {
        input_tokens: 40,
        cached_tokens: 16,
        output_tokens: Some(9),
        ..Answer::new("The quick brown fox.")
    }
}

#[test]
fn every_kind_streams_with_the_same_json_fields() {
    for kind in KINDS {
        let server = MockServer::start(Script::always(Reply::Answer(usage_answer())));
        let env = setup(kind, &server, "");
        let run = env.run(&["ask", "--json", "-m", "m", "hi"]);
        run.expect_code(0);
        let j = run.json();
        assert_eq!(j["text"], "The quick brown fox.", "{kind}");
        assert_eq!(j["provider"], "p", "{kind}");
        assert_eq!(j["usage"]["input_tokens"], 40, "{kind}: {j}");
        assert_eq!(j["usage"]["output_tokens"], 9, "{kind}: {j}");
        if kind != "ollama" {
            assert_eq!(j["usage"]["cached_input_tokens"], 16, "{kind}: {j}");
        }
        assert!(j["served_model"].is_string(), "{kind}: {j}");
        assert!(j["ttft_ms"].is_u64(), "{kind}: {j}");
        assert_eq!(j["attempts"][0]["outcome"], "ok", "{kind}");
        if kind == "ollama" {
            assert_eq!(j["cost_usd"], 0.0, "local models cost nothing");
        }
    }
}

#[test]
fn every_kind_answers_without_streaming() {
    for kind in KINDS {
        let server = MockServer::start(Script::always(Reply::Answer(usage_answer())));
        let env = setup(kind, &server, "");
        let run = env.run(&["ask", "--no-stream", "--json", "-m", "m", "hi"]);
        run.expect_code(0);
        let j = run.json();
        assert_eq!(j["text"], "The quick brown fox.", "{kind}");
        assert_eq!(j["usage"]["output_tokens"], 9, "{kind}: {j}");
        let req = &server.requests()[0];
        match kind {
            "gemini" => assert!(req.path.contains(":generateContent"), "{}", req.path),
            _ => assert_eq!(req.json()["stream"], false, "{kind}"),
        }
    }
}

#[test]
fn each_kind_sends_its_own_url_and_key_header() {
    /// (kind, request path, the header that carries the key).
    type Expected<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>);
    let expect: [Expected<'_>; 5] = [
        (
            "openai",
            "/v1/chat/completions",
            Some(("authorization", "Bearer sk-distinct-key-0042")),
        ),
        (
            "anthropic",
            "/v1/messages",
            Some(("x-api-key", "sk-distinct-key-0042")),
        ),
        (
            "gemini",
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            Some(("x-goog-api-key", "sk-distinct-key-0042")),
        ),
        ("ollama", "/api/chat", None),
        (
            "azure",
            "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21",
            Some(("api-key", "sk-distinct-key-0042")),
        ),
    ];
    assert_eq!(
        expect.map(|(kind, _, _)| kind),
        KINDS,
        "one row for each kind"
    );
    for (kind, path, header) in expect {
        let server = MockServer::start(Script::default());
        let env = setup(kind, &server, "");
        env.run(&["ask", "-s", "be brief", "-m", "m", "hi"])
            .expect_code(0);
        let req = &server.requests()[0];
        assert_eq!(req.path, path, "{kind}");
        if let Some((name, value)) = header {
            assert_eq!(req.header(name), Some(value), "{kind}");
        }
        assert!(
            !req.path.contains("sk-distinct"),
            "{kind}: a key in the URL"
        );
        if kind == "anthropic" {
            assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
            let body = req.json();
            assert_eq!(body["system"], "be brief");
            assert!(
                body["max_tokens"].as_u64().is_some_and(|n| n > 0),
                "max_tokens is always sent: {body}"
            );
        }
        if kind == "gemini" {
            assert_eq!(
                req.json()["systemInstruction"]["parts"][0]["text"],
                "be brief"
            );
        }
    }
}

#[test]
fn options_map_to_each_providers_fields() {
    let args = [
        "ask",
        "-t",
        "0.5",
        "--max-tokens",
        "50",
        "-o",
        "top_p=0.9",
        "-o",
        "stop=END",
        "-o",
        "custom_field=1",
        "-m",
        "m",
        "hi",
    ];
    let check: [(&str, &[(&str, serde_json::Value)]); 4] = [
        (
            "openai",
            &[
                ("/temperature", 0.5.into()),
                ("/max_tokens", 50.into()),
                ("/top_p", 0.9.into()),
                ("/stop/0", "END".into()),
                ("/custom_field", 1.into()),
            ],
        ),
        (
            "anthropic",
            &[
                ("/temperature", 0.5.into()),
                ("/max_tokens", 50.into()),
                ("/top_p", 0.9.into()),
                ("/stop_sequences/0", "END".into()),
                ("/custom_field", 1.into()),
            ],
        ),
        (
            "gemini",
            &[
                ("/generationConfig/temperature", 0.5.into()),
                ("/generationConfig/maxOutputTokens", 50.into()),
                ("/generationConfig/topP", 0.9.into()),
                ("/generationConfig/stopSequences/0", "END".into()),
                ("/custom_field", 1.into()),
            ],
        ),
        (
            "ollama",
            &[
                ("/options/temperature", 0.5.into()),
                ("/options/num_predict", 50.into()),
                ("/options/top_p", 0.9.into()),
                ("/options/stop/0", "END".into()),
                ("/options/custom_field", 1.into()),
            ],
        ),
    ];
    for (kind, fields) in check {
        let server = MockServer::start(Script::default());
        let env = setup(kind, &server, "");
        env.run(&args).expect_code(0);
        let body = server.requests()[0].json();
        for (pointer, want) in fields {
            assert_eq!(
                body.pointer(pointer),
                Some(want),
                "{kind} {pointer}: {body}"
            );
        }
    }
}

#[test]
fn each_kinds_errors_are_typed() {
    // status → the error_kind the router sees, for every provider's own error body.
    let cases: [(u16, &str); 6] = [
        (401, "auth"),
        (429, "rate_limit"),
        (500, "server"),
        (503, "server"),
        (529, "overloaded"),
        (400, "bad_request"),
    ];
    for kind in KINDS {
        for (status, want) in cases {
            if status == 529 && kind != "anthropic" {
                continue;
            }
            let server = MockServer::start(Script::always(Reply::status(status)));
            let env = setup(kind, &server, "retries = 0");
            let run = env.run(&["ask", "--json", "-m", "m", "hi"]);
            run.expect_code(1);
            let j = run.json();
            let got = &j["attempts"][0]["error_kind"];
            // A 503 is "unavailable" or "overloaded" depending on the
            // provider's body; the router retries both alike.
            if status == 503 {
                assert!(
                    got == "server" || got == "overloaded",
                    "{kind} {status}: {j}"
                );
            } else {
                assert_eq!(got, want, "{kind} {status}: {j}");
            }
            assert_eq!(j["attempts"][0]["http_status"], status, "{kind}");
        }
    }
}

#[test]
fn each_kinds_context_length_error_is_recognised() {
    for kind in KINDS {
        let server = MockServer::start(Script::always(Reply::ContextLength));
        let env = setup(kind, &server, "");
        let run = env.run(&["ask", "--json", "-m", "m", "hi"]);
        run.expect_code(1);
        assert_eq!(
            run.json()["attempts"][0]["error_kind"],
            "context_length",
            "{kind}: {}",
            run.stdout
        );
    }
}

#[test]
fn each_kinds_cut_stream_falls_back_before_text_and_exits_4_after() {
    for kind in KINDS {
        // Before the first token: the next model answers, silently.
        let cut = MockServer::start(Script::always(Reply::Cut { chunks: 0 }));
        let good = MockServer::start(Script::always(Reply::Answer(Answer::new("rescued"))));
        let mut env = setup(kind, &cut, "retries = 0");
        env.edit_profile(|text| {
            text + &format!(
                "[providers.q]\nkind = \"openai\"\nbase_url = \"{}/v1\"\napi_key_env = \"P_KEY\"\n",
                good.url()
            )
        });
        let run = env.run(&["ask", "-m", "m,q/gpt-4o-mini", "hi"]);
        run.expect_code(0);
        assert_eq!(run.stdout, "rescued\n", "{kind}");

        // After text, on the last model: exit 4.
        let cut = MockServer::start(
            Script::always(Reply::Cut { chunks: 2 }).with_answer(Answer::new("one two three four")),
        );
        let env = setup(kind, &cut, "");
        let run = env.run(&["ask", "-m", "m", "hi"]);
        run.expect_code(4);
        assert!(run.stdout.starts_with("one two"), "{kind}: {}", run.stdout);
    }
}

#[test]
fn each_kinds_in_stream_error_is_a_failure() {
    for kind in KINDS {
        let server = MockServer::start(Script::always(Reply::StreamError {
            chunks: 1,
            status: 529,
        }));
        let env = setup(kind, &server, "retries = 0");
        let run = env.run(&["ask", "--json", "-m", "m", "hi"]);
        assert_ne!(run.code, 0, "{kind}: an error event is never a success");
        let attempt = &run.json()["attempts"][0];
        assert_ne!(attempt["outcome"], "ok", "{kind}");
    }
}

#[test]
fn anthropic_overloaded_event_mid_stream_is_typed() {
    let server = MockServer::start(Script::always(Reply::StreamError {
        chunks: 0,
        status: 529,
    }));
    let env = setup("anthropic", &server, "retries = 0");
    let run = env.run(&["ask", "--json", "-m", "m", "hi"]);
    run.expect_code(1);
    assert_eq!(run.json()["attempts"][0]["error_kind"], "overloaded");
}

#[test]
fn a_server_that_refuses_stream_options_is_asked_again_without_them_and_remembered() {
    // route-mock's `/strict/` answers 422 to `stream_options`, as Mistral does.
    let server = MockServer::start(Script::always(Reply::Answer(Answer::new("fine"))));
    let mut env = TestEnv::new();
    env.env("S_KEY", "k");
    let profile = |extra: &str| {
        format!(
            "[settings]\nretries = 0\n[providers.s]\nkind = \"openai\"\nbase_url = \"{}/strict/v1\"\napi_key_env = \"S_KEY\"\n{extra}\n[models.s]\nprovider = \"s\"\nmodel = \"mistral-small-latest\"\n",
            server.url()
        )
    };
    let asked_for_usage = |i: usize| server.requests()[i].json().get("stream_options").is_some();
    env.profile(&profile(""));
    // -- The first run: one 422, the same request again at once without
    // them, one attempt that answered.
    let first = env.run(&["ask", "--json", "-m", "s", "hi"]);
    first.expect_code(0);
    let j = first.json();
    assert_eq!(j["text"], "fine");
    assert_eq!(j["attempts"].as_array().map(Vec::len), Some(1), "{j}");
    assert_eq!(j["attempts"][0]["outcome"], "ok");
    assert_eq!(server.request_count(), 2);
    assert!(asked_for_usage(0) && !asked_for_usage(1));
    assert_eq!(server.requests()[1].json()["stream"], true);
    // -- The second run: the ledger remembers the server, no 422.
    let second = env.run(&["ask", "-m", "s", "hi"]);
    second.expect_code(0);
    assert_eq!(second.stdout, "fine\n");
    assert_eq!(server.request_count(), 3);
    assert!(!asked_for_usage(2));
    // -- The profile's `stream_usage = true` overrides the memory (and the
    // rejection is handled again).
    env.profile(&profile("stream_usage = true"));
    env.run(&["ask", "-m", "s", "hi"]).expect_code(0);
    assert_eq!(server.request_count(), 5);
    assert!(asked_for_usage(3) && !asked_for_usage(4));
    // -- `stream_usage = false` sends them to no one.
    env.profile(&profile("stream_usage = false"));
    env.run(&["ask", "-m", "s", "hi"]).expect_code(0);
    assert_eq!(server.request_count(), 6);
    assert!(!asked_for_usage(5));
}

#[test]
fn content_sent_as_typed_parts_is_read_streamed_and_whole() {
    // route-mock's `/typed/` sends `content` as a list of typed parts, thinking
    // before text, as Mistral's reasoning models do
    // (<https://docs.mistral.ai/capabilities/reasoning/>).
    let server = MockServer::start(Script::always(Reply::Answer(Answer {
        reasoning: Some("Weighing it up.".into()),
        ..Answer::new("Typed parts, read.")
    })));
    let mut env = TestEnv::new();
    env.env("T_KEY", "k");
    env.profile(&format!(
        "[settings]\nretries = 0\n[providers.t]\nkind = \"openai\"\nbase_url = \"{}/typed/v1\"\napi_key_env = \"T_KEY\"\n[models.t]\nprovider = \"t\"\nmodel = \"magistral-medium-2509\"\n",
        server.url()
    ));
    for args in [
        &["ask", "-m", "t", "hi"][..],
        &["ask", "--no-stream", "-m", "t", "hi"],
    ] {
        let run = env.run(args);
        run.expect_code(0);
        // The answer alone: the thinking part never reaches stdout.
        assert_eq!(run.stdout.trim_end(), "Typed parts, read.", "{args:?}");
        assert!(!run.stdout.contains("Weighing"), "{args:?}");
        assert!(!run.stdout.contains("Thinking"), "{args:?}");
    }
    // Nothing was retried as malformed: one request a run.
    assert_eq!(server.requests().len(), 2);
}

/// Each usage shape reaches `--json` as reported, is priced from the
/// catalog's fields (Anthropic's 5-minute and 1-hour cache writes, cache
/// reads), and the ledger keeps the cache writes and reasoning tokens.
#[test]
fn usage_shapes_are_reported_priced_and_recorded() {
    // -- Anthropic: 500 cache reads, 3000 cache writes of which 2000 for an hour.
    let server = MockServer::start(Script::always(Reply::Answer(Answer {
        input_tokens: 3_600,
        cached_tokens: 500,
        cache_creation_tokens: 3_000,
        cache_creation_1h_tokens: 2_000,
        output_tokens: Some(200),
        ..Answer::new("Cached.")
    })));
    let env = setup("anthropic", &server, "");
    for stream in [true, false] {
        let mut args = vec!["ask", "--json", "-m", "m", "hi"];
        if !stream {
            args.insert(1, "--no-stream");
        }
        let run = env.run(&args);
        run.expect_code(0);
        let j = run.json();
        let u = &j["usage"];
        assert_eq!(
            (
                &u["input_tokens"],
                &u["cached_input_tokens"],
                &u["cache_write_tokens"],
                &u["cache_write_1h_tokens"],
                &u["output_tokens"]
            ),
            (
                &serde_json::json!(3_600),
                &serde_json::json!(500),
                &serde_json::json!(3_000),
                &serde_json::json!(2_000),
                &serde_json::json!(200)
            ),
            "stream {stream}: {j}"
        );
        // claude-haiku-4-5 (LiteLLM): $1 / $5 per 1M, cache read $0.10, write
        // $1.25, 1-hour write $2: 100 × 1 + 500 × 0.1 + 1000 × 1.25 + 2000 × 2
        // + 200 × 5 µ$ = $0.0064.
        assert_eq!(j["cost_usd"], 0.0064, "stream {stream}: {j}");
    }
    // -- OpenAI-compatible: cache writes and reasoning tokens as reported.
    let server = MockServer::start(Script::always(Reply::Answer(Answer {
        input_tokens: 194,
        cache_creation_tokens: 100,
        reasoning_tokens: 7,
        output_tokens: Some(2),
        ..Answer::new("Hi.")
    })));
    let openai = setup("openai", &server, "");
    let j = openai.run(&["ask", "--json", "-m", "m", "hi"]).json();
    assert_eq!(j["usage"]["cache_write_tokens"], 100, "{j}");
    assert_eq!(j["usage"]["reasoning_tokens"], 7, "{j}");
    assert_eq!(j["usage"]["output_tokens"], 9, "{j}");
    let conn = rusqlite::Connection::open(openai.data_dir().join("ledger.db")).unwrap();
    let (written, reasoned): (i64, i64) = conn
        .query_row(
            "SELECT cache_write_tokens, reasoning_tokens FROM attempts",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((written, reasoned), (100, 7));
}
