//! Hostile and broken servers (issue 9): each gives a typed error and the
//! router's normal next step, within the profile's timeouts, with bounded
//! memory. The broken server is always model `a`; model `b` is a good mock,
//! so "the next step" is visible as b's answer.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::support::{
    Answer, HostileServer, MockServer, Reply, Script, TestEnv, measure, provider, wait_for_close,
    write_head,
};

/// A profile: provider `a` of `kind` at `url_a`, provider `b` (OpenAI) at the
/// good mock, models `a` and `b`, and `settings` lines.
fn setup(kind: &str, url_a: &str, good: &MockServer, settings: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.env("A_KEY", "key-of-a").env("B_KEY", "key-of-b");
    let base = crate::support::base_url(kind, url_a);
    let key = if kind == "ollama" {
        ""
    } else {
        "api_key_env = \"A_KEY\"\n"
    };
    let model = match kind {
        "anthropic" => "claude-haiku-4-5",
        "gemini" => "gemini-2.5-flash",
        "ollama" => "llama3.2",
        _ => "gpt-4o-mini",
    };
    let retries = if settings.contains("retries") {
        ""
    } else {
        "retries = 0\n"
    };
    env.profile(&format!(
        "[settings]\nbackoff = \"10ms\"\n{retries}{settings}\n\
         [providers.a]\nkind = \"{kind}\"\nbase_url = \"{base}\"\n{key}\
         {}\
         [models.a]\nprovider = \"a\"\nmodel = \"{model}\"\n\
         [models.b]\nprovider = \"b\"\nmodel = \"gpt-4o-mini\"\n",
        provider("b", "openai", good)
    ));
    env
}

fn good() -> MockServer {
    MockServer::start(Script::always(Reply::text("from b")))
}

/// One OpenAI stream chunk carrying `text`.
fn chunk(text: &str) -> String {
    format!(
        "data: {}\n\n",
        serde_json::json!({"choices": [{"index": 0, "delta": {"content": text}}]})
    )
}

/// Asserts that `a` failed with `kind` (its message containing `says`) and
/// that `b` then answered.
#[track_caller]
fn a_failed_then_b_answered(run: &crate::support::Run, kind: &str, says: &str) {
    run.expect_code(0);
    let j = run.json();
    let attempts = j["attempts"].as_array().expect("attempts");
    assert_eq!(attempts[0]["model"], "a", "{j}");
    assert_eq!(attempts[0]["error_kind"], kind, "{j}");
    let error = attempts[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains(says), "expected {says:?} in {error:?}");
    assert_eq!(j["text"], "from b", "{j}");
    assert_eq!(attempts.last().unwrap()["model"], "b", "{j}");
}

/// Asserts a peak memory bound when /proc could measure one.
#[track_caller]
#[allow(clippy::print_stderr)] // a note in the test's output, not route's
fn assert_rss_below(max_rss_kib: Option<u64>, mib: u64) {
    match max_rss_kib {
        Some(kib) => assert!(
            kib < mib * 1024,
            "route held {} MiB at its peak (limit {mib} MiB)",
            kib / 1024
        ),
        None => eprintln!("note: /proc/<pid>/status not readable; peak memory not checked"),
    }
}

// -- Endless streams -------------------------------------------------------------------------

#[test]
fn an_endless_trickle_of_text_stops_at_request_timeout() {
    // Text every 20 ms: never idle, never finished.
    let hostile = HostileServer::start(|s, _| {
        if write_head(s, 200, "text/event-stream", None, &[]).is_err() {
            return;
        }
        while s.write_all(chunk("more ").as_bytes()).is_ok() {
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let b = good();
    let env = setup(
        "openai",
        &hostile.url(),
        &b,
        "request_timeout = \"1500ms\"\nidle_timeout = \"1s\"",
    );
    let started = Instant::now();
    let run = env.run(&["ask", "--json", "-m", "a,b", "hi"]);
    assert!(started.elapsed() < Duration::from_secs(6), "{run:?}");
    a_failed_then_b_answered(&run, "timeout", "request_timeout");
    // The partial answer is never passed off as the answer.
    assert_eq!(run.json()["attempts"][0]["outcome"], "incomplete");
}

#[test]
fn an_endless_flood_of_text_is_capped_in_size_and_memory() {
    // 64 KiB of text per event, as fast as the socket takes it, for ever: the
    // answer cap ends it long before request_timeout, and memory stays bounded.
    let hostile = HostileServer::start(|s, _| {
        if write_head(s, 200, "text/event-stream", None, &[]).is_err() {
            return;
        }
        let event = chunk(&"x".repeat(64 * 1024));
        while s.write_all(event.as_bytes()).is_ok() {}
    });
    let b = good();
    let env = setup("openai", &hostile.url(), &b, "request_timeout = \"60s\"");
    let m = measure(
        &env,
        &["ask", "--json", "-m", "a,b", "hi"],
        Duration::from_secs(50),
    );
    a_failed_then_b_answered(&m.run, "invalid_response", "longer than 64 MiB");
    assert!(m.elapsed < Duration::from_secs(40), "took {:?}", m.elapsed);
    assert_rss_below(m.max_rss_kib, 200);
}

#[test]
fn keep_alive_comments_for_ever_hit_first_token_timeout() {
    let hostile = HostileServer::start(|s, _| {
        if write_head(s, 200, "text/event-stream", None, &[]).is_err() {
            return;
        }
        while s.write_all(b": keep-alive\n\n").is_ok() {
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let b = good();
    let env = setup(
        "openai",
        &hostile.url(),
        &b,
        "first_token_timeout = \"700ms\"",
    );
    let started = Instant::now();
    let run = env.run(&["ask", "--json", "-m", "a,b", "hi"]);
    assert!(started.elapsed() < Duration::from_secs(5));
    a_failed_then_b_answered(&run, "timeout", "first_token_timeout");
}

// -- Size caps -------------------------------------------------------------------------------

/// Writes `head` then 100 MB of `x` in 64 KiB pieces (stopping when the
/// client hangs up).
fn hundred_mb_line(s: &mut std::net::TcpStream, head: &[u8]) {
    if s.write_all(head).is_err() {
        return;
    }
    let piece = vec![b'x'; 64 * 1024];
    for _ in 0..(100 * 1024 * 1024 / piece.len()) {
        if s.write_all(&piece).is_err() {
            return;
        }
    }
    wait_for_close(s);
}

#[test]
fn a_100_mb_sse_line_is_rejected_naming_the_cap() {
    let hostile = HostileServer::start(|s, _| {
        if write_head(s, 200, "text/event-stream", None, &[]).is_ok() {
            hundred_mb_line(s, b"data: {\"choices\":[{\"delta\":{\"content\":\"");
        }
    });
    let b = good();
    let env = setup("openai", &hostile.url(), &b, "");
    let m = measure(
        &env,
        &["ask", "--json", "-m", "a,b", "hi"],
        Duration::from_secs(30),
    );
    a_failed_then_b_answered(&m.run, "invalid_response", "longer than 8 MiB");
    assert_rss_below(m.max_rss_kib, 100);
}

#[test]
fn a_100_mb_ndjson_line_is_rejected_naming_the_cap() {
    let hostile = HostileServer::start(|s, _| {
        if write_head(s, 200, "application/x-ndjson", None, &[]).is_ok() {
            hundred_mb_line(s, b"{\"message\":{\"content\":\"");
        }
    });
    let b = good();
    let env = setup("ollama", &hostile.url(), &b, "");
    let m = measure(
        &env,
        &["ask", "--json", "-m", "a,b", "hi"],
        Duration::from_secs(30),
    );
    a_failed_then_b_answered(&m.run, "invalid_response", "longer than 8 MiB");
    assert_rss_below(m.max_rss_kib, 100);
}

#[test]
fn a_100_mb_body_is_rejected_naming_the_cap() {
    let hostile = HostileServer::start(|s, _| {
        if write_head(s, 200, "application/json", Some(100 * 1024 * 1024), &[]).is_ok() {
            hundred_mb_line(s, b"");
        }
    });
    let b = good();
    let env = setup("openai", &hostile.url(), &b, "");
    let m = measure(
        &env,
        &["ask", "--no-stream", "--json", "-m", "a,b", "hi"],
        Duration::from_secs(30),
    );
    a_failed_then_b_answered(&m.run, "invalid_response", "larger than 64 MiB");
    assert_rss_below(m.max_rss_kib, 200);
}

#[test]
fn a_huge_error_body_is_read_only_in_part() {
    // A 500 whose body never ends: the error is classified from its first
    // MiB, and the router retries and moves on as for any 500.
    let hostile = HostileServer::start(|s, _| {
        if write_head(s, 500, "text/plain", None, &[]).is_ok() {
            hundred_mb_line(s, b"internal error ");
        }
    });
    let b = good();
    let env = setup("openai", &hostile.url(), &b, "retries = 1");
    let m = measure(
        &env,
        &["ask", "--json", "-m", "a,b", "hi"],
        Duration::from_secs(30),
    );
    a_failed_then_b_answered(&m.run, "server", "internal error");
    assert_eq!(hostile.request_count(), 2, "one retry on a 5xx");
    assert_rss_below(m.max_rss_kib, 100);
}

// -- Bytes that are not what they claim ------------------------------------------------------

#[test]
fn invalid_utf8_in_a_stream_is_an_invalid_response() {
    for kind in ["openai", "anthropic", "gemini", "ollama"] {
        let body: &'static [u8] = match kind {
            "ollama" => b"{\"message\":{\"content\":\"\xff\xfe\"},\"done\":false}\n",
            "anthropic" => {
                b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\xff\xfe\"}}\n\n"
            }
            "gemini" => b"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\xc3\x28\"}]}}]}\r\n\r\n",
            _ => b"data: {\"choices\":[{\"delta\":{\"content\":\"\xed\xa0\x80\"}}]}\n\n",
        };
        let content_type = if kind == "ollama" {
            "application/x-ndjson"
        } else {
            "text/event-stream"
        };
        let a = MockServer::start(Script::always(Reply::RawBody {
            status: 200,
            content_type: content_type.into(),
            body: body.to_vec(),
        }));
        let b = good();
        let env = setup(kind, &a.url(), &b, "");
        let run = env.run(&["ask", "--json", "-m", "a,b", "hi"]);
        a_failed_then_b_answered(&run, "invalid_response", "");
        let error = run.json()["attempts"][0]["error"]
            .to_string()
            .to_lowercase();
        assert!(
            error.contains("utf-8") || error.contains("unicode"),
            "{kind}: {error}"
        );
    }
}

#[test]
fn html_instead_of_an_answer_is_an_invalid_response_naming_the_content_type() {
    let page = b"<!doctype html><html><body><h1>Welcome to the captive portal</h1></body></html>";
    for args in [
        &["ask", "--json"][..],
        &["ask", "--json", "--no-stream"][..],
    ] {
        let a = MockServer::start(Script::always(Reply::RawBody {
            status: 200,
            content_type: "text/html; charset=utf-8".into(),
            body: page.to_vec(),
        }));
        let b = good();
        let env = setup("openai", &a.url(), &b, "");
        let mut full = args.to_vec();
        full.extend(["-m", "a,b", "hi"]);
        let run = env.run(&full);
        a_failed_then_b_answered(&run, "invalid_response", "text/html");
    }
}

#[test]
fn garbage_with_a_json_content_type_is_an_invalid_response() {
    let a = MockServer::start(Script::always(Reply::RawBody {
        status: 200,
        content_type: "application/json".into(),
        body: b"\x00\x01{{{not json".to_vec(),
    }));
    let b = good();
    let env = setup("openai", &a.url(), &b, "retries = 1");
    let run = env.run(&["ask", "--json", "-m", "a,b", "hi"]);
    a_failed_then_b_answered(&run, "invalid_response", "malformed");
    assert_eq!(a.request_count(), 2, "a malformed answer is retried once");
}

// -- Redirects -------------------------------------------------------------------------------

#[test]
fn a_redirect_loop_on_the_same_host_ends_and_moves_on() {
    let a = HostileServer::start(|s, r| {
        let target = r.head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let _ = write_head(s, 307, "text/plain", Some(0), &[("location", &target)]);
    });
    let b = good();
    let env = setup("openai", &a.url(), &b, "");
    let started = Instant::now();
    let run = env.run(&["ask", "--json", "-m", "a,b", "hi"]);
    assert!(started.elapsed() < Duration::from_secs(5));
    a_failed_then_b_answered(&run, "connect", "redirect");
    assert!(
        (2..=7).contains(&a.request_count()),
        "a bounded number of redirects: {}",
        a.request_count()
    );
    // Within the same host, the key goes along; it goes nowhere else.
    for r in a.requests() {
        assert_eq!(r.header("authorization"), Some("Bearer key-of-a"));
    }
}

#[test]
fn a_redirect_to_another_host_is_refused_for_every_status() {
    for status in [301u16, 302, 303, 307, 308] {
        let elsewhere = MockServer::start(Script::always(Reply::text("stolen")));
        // `localhost` is another host than `127.0.0.1`, even on the same machine.
        let location = format!("http://localhost:{}/v1/chat/completions", elsewhere.port());
        let a = MockServer::start(Script::always(Reply::Status {
            status,
            message: None,
            headers: vec![("location".into(), location)],
        }));
        let b = good();
        let env = setup("openai", &a.url(), &b, "");
        let run = env.run(&["ask", "--json", "-m", "a,b", "hi"]);
        a_failed_then_b_answered(&run, "connect", "another host");
        assert_eq!(elsewhere.request_count(), 0, "HTTP {status} was followed");
    }
}

// -- Framing ---------------------------------------------------------------------------------

#[test]
fn an_http_1_0_close_delimited_body_works_for_every_kind() {
    for kind in ["openai", "anthropic", "gemini", "ollama"] {
        for stream in [true, false] {
            let a = MockServer::start(
                Script::always(Reply::Http10).with_answer(Answer::new("old but whole")),
            );
            let b = good();
            let env = setup(kind, &a.url(), &b, "");
            let mut args = vec!["ask", "--json", "-m", "a,b", "hi"];
            if !stream {
                args.insert(1, "--no-stream");
            }
            let run = env.run(&args);
            run.expect_code(0);
            assert_eq!(
                run.json()["text"],
                "old but whole",
                "{kind} stream={stream}: {}",
                run.stderr
            );
            assert_eq!(b.request_count(), 0);
        }
    }
}

#[test]
fn a_stalled_handshake_times_out_then_the_next_model_answers() {
    // A listener that never accepts: the kernel completes the handshake and
    // buffers the request, and nothing ever answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let b = good();
    let env = setup(
        "openai",
        &url,
        &b,
        "first_token_timeout = \"600ms\"\nrequest_timeout = \"900ms\"",
    );
    let started = Instant::now();
    let run = env.run(&["ask", "--json", "-m", "a,b", "hi"]);
    assert!(started.elapsed() < Duration::from_secs(4));
    a_failed_then_b_answered(&run, "timeout", "first_token_timeout");

    // Not streamed, the whole request has request_timeout.
    let started = Instant::now();
    let run = env.run(&["ask", "--no-stream", "--json", "-m", "a,b", "hi"]);
    assert!(started.elapsed() < Duration::from_secs(4));
    a_failed_then_b_answered(&run, "timeout", "request_timeout");
    drop(silent);
}

#[test]
fn a_server_that_reads_and_never_answers_times_out() {
    let a = MockServer::start(Script::always(Reply::Hang));
    let b = good();
    let env = setup("anthropic", &a.url(), &b, "first_token_timeout = \"500ms\"");
    let started = Instant::now();
    let run = env.run(&["ask", "--json", "-m", "a,b", "hi"]);
    assert!(started.elapsed() < Duration::from_secs(4));
    a_failed_then_b_answered(&run, "timeout", "first_token_timeout");
    assert_eq!(a.request_count(), 1, "no retry after a timeout");
}

// -- What a server says is shown, never obeyed -----------------------------------------------

#[test]
fn escape_codes_and_line_ends_from_a_server_never_reach_the_terminal() {
    // A terminal title, a screen clear and a fake second line, in an error
    // message: route shows them escaped (NO_COLOR is set, so route itself
    // writes no escape code at all).
    let evil = "bad\u{1b}]0;owned\u{7}\u{1b}[2J\nerror: fake line";
    let a = MockServer::start(Script::always(Reply::Status {
        status: 500,
        message: Some(evil.into()),
        headers: vec![],
    }));
    let b = MockServer::start(Script::always(Reply::Status {
        status: 400,
        message: Some(evil.into()),
        headers: vec![],
    }));
    let env = setup("openai", &a.url(), &b, "");
    let run = env.run(&["ask", "-v", "-m", "a,b", "hi"]);
    run.expect_code(1);
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    assert!(!run.stderr.contains('\u{7}'), "{:?}", run.stderr);
    assert!(
        !run.stderr
            .lines()
            .any(|l| l.starts_with("error: fake line")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("\\u{1b}[2J"), "{}", run.stderr);
    let rows = crate::support::ledger_rows(&env);
    assert_eq!(rows.len(), 2);
}

#[test]
fn absurd_token_counts_are_recorded_and_added_up_without_overflow() {
    // A server may claim any usage: u64::MAX tokens must neither panic nor
    // lose the ledger row, and the totals saturate instead of wrapping.
    let max = u64::MAX;
    let body = format!(
        r#"{{"model":"gpt-4o-mini","choices":[{{"message":{{"content":"big numbers"}},"finish_reason":"stop"}}],
            "usage":{{"prompt_tokens":{max},"completion_tokens":{max},"prompt_tokens_details":{{"cached_tokens":{max}}}}}}}"#
    );
    let a = MockServer::start(Script::always(Reply::RawBody {
        status: 200,
        content_type: "application/json".into(),
        body: body.into_bytes(),
    }));
    let b = good();
    let env = setup("openai", &a.url(), &b, "");
    for _ in 0..2 {
        let run = env.run(&["ask", "--no-stream", "--json", "-m", "a", "hi"]);
        run.expect_code(0);
        assert_eq!(run.json()["text"], "big numbers");
        assert_eq!(run.json()["usage"]["input_tokens"], 100_000_000, "capped");
    }
    assert_eq!(crate::support::ledger_rows(&env).len(), 2);
    let run = env.run(&["cost", "--by", "model", "--format", "json"]);
    run.expect_code(0);
    assert_eq!(run.json()[0]["requests"], 2, "{}", run.stdout);
    env.run(&["cost"]).expect_code(0);
}

#[test]
fn streamed_reasoning_is_a_sign_of_life_before_the_answer() {
    // A model that streams its reasoning at once, then thinks for 1.5 s
    // before the first answer text, under a 1 s first-token timeout.
    let server = MockServer::start(Script::always(Reply::Answer(Answer {
        reasoning: Some("Let me think about slow start.".into()),
        first_delay: std::time::Duration::from_millis(1500),
        ..Answer::new("answered after thinking")
    })));
    let mut env = TestEnv::new();
    env.env("R_KEY", "k");
    env.profile(&format!(
        "[settings]\nretries = 0\nfirst_token_timeout = \"1s\"\n{}[models.r]\nprovider = \"r\"\nmodel = \"deepseek-reasoner\"\n",
        provider("r", "openai", &server)
    ));
    let run = env.run(&["ask", "-m", "r", "hi"]);
    run.expect_code(0);
    // Reasoning text never reaches stdout.
    assert_eq!(run.stdout, "answered after thinking\n");
    assert_eq!(server.request_count(), 1);
}
