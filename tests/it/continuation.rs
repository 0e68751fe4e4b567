//! An answer cut mid-stream (issue 13): the next model that can continue it
//! is sent the text already written as the beginning of its reply, in its
//! provider's own shape, and stdout reads as one answer; where none can,
//! a pipe gets no second answer (exit 4) and a terminal gets a notice on its
//! own line, then a fresh answer. route-mock (`Script::expecting_prefix`)
//! answers 400 to a continuation that does not carry the prefix in the shape
//! of its wire format, and otherwise only the rest of the text.

use std::io::Read as _;
use std::process::Command;
use std::time::Duration;

use crate::support::{Answer, MockServer, Reply, Script, TestEnv, base_url};

/// The whole answer. Cut after two of its nine pieces, "one " has been
/// written: it ends in whitespace, which Anthropic does not take in a prefill.
const FULL: &str = "one two three four";
const WRITTEN: &str = "one ";

/// An OpenAI-compatible server (which cannot continue) that cuts its stream after `WRITTEN`.
fn cutter() -> MockServer {
    MockServer::start(
        Script::always(Reply::Cut { chunks: 2 }).with_answer(Answer {
            chunks: Some(9),
            ..Answer::new(FULL)
        }),
    )
}

/// A profile with the cutter as model `a`, then model `b` of `kind` at
/// `server` with the provider lines `extra` (e.g. `continuation = …`).
fn setup(cut: &MockServer, kind: &str, extra: &str, server: &MockServer) -> TestEnv {
    let mut env = TestEnv::new();
    env.env("A_KEY", "key-a").env("B_KEY", "key-b");
    let model = match kind {
        "anthropic" => "claude-haiku-4-5",
        "gemini" => "gemini-2.5-flash",
        "ollama" => "llama3.2",
        _ => "gpt-4o-mini",
    };
    env.profile(&format!(
        "[settings]\nretries = 0\n\
         [providers.a]\nkind = \"openai\"\nbase_url = \"{}/v1\"\napi_key_env = \"A_KEY\"\n\
         [providers.b]\nkind = \"{kind}\"\nbase_url = \"{}\"\napi_key_env = \"B_KEY\"\n{extra}\n\
         [models.a]\nprovider = \"a\"\nmodel = \"gpt-4o-mini\"\n\
         [models.b]\nprovider = \"b\"\nmodel = \"{model}\"\n",
        cut.url(),
        base_url(kind, &server.url()),
    ));
    env
}

/// A server that continues `FULL` and checks that it was asked to.
fn continuer() -> MockServer {
    MockServer::start(Script::always(Reply::text(FULL)).expecting_prefix())
}

/// The seam columns of the ledger, in order.
fn seams(env: &TestEnv) -> Vec<(String, String, Option<u32>, Option<i64>)> {
    let conn = rusqlite::Connection::open(env.data_dir().join("ledger.db")).expect("open ledger");
    let mut stmt = conn
        .prepare("SELECT label, outcome, continued_from, answer_from FROM attempts ORDER BY id")
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Every kind that can continue, with the provider lines that make it so
/// and the shape of the continuation in its request body.
#[test]
fn every_kind_that_can_continue_leaves_one_answer_in_a_file() {
    let cases: [(&str, &str); 5] = [
        // Mistral/DeepSeek: <https://api-docs.deepseek.com/guides/chat_prefix_completion>
        ("openai", "continuation = \"prefix\""),
        // vLLM: <https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html>
        ("openai", "continuation = \"continue_final_message\""),
        // <https://docs.anthropic.com/en/docs/build-with-claude/prompt-engineering/prefill-claudes-response>
        ("anthropic", ""),
        // <https://ai.google.dev/api/caching#Content> (roles `user` and `model`)
        ("gemini", ""),
        // <https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion>
        ("ollama", ""),
    ];
    for (kind, extra) in cases {
        let cut = cutter();
        let good = continuer();
        let env = setup(&cut, kind, extra, &good);
        // -- Exec: stdout is a pipe, as in `route ask … > file`.
        let run = env.run(&["ask", "-v", "-m", "a,b", "hi"]);
        // -- Check
        run.expect_code(0);
        assert_eq!(
            run.stdout,
            format!("{FULL}\n"),
            "{kind} {extra}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("continuing from a"),
            "{kind}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("b continues it"),
            "{kind}: {}",
            run.stderr
        );
        assert_eq!(good.request_count(), 1, "{kind}");
        let body = good.requests()[0].json();
        match (kind, extra) {
            (_, "continuation = \"prefix\"") => {
                assert_eq!(body["messages"][1]["prefix"], true, "{body}");
                assert!(body.get("continue_final_message").is_none(), "{body}");
            }
            ("openai", _) => {
                assert_eq!(body["continue_final_message"], true, "{body}");
                assert_eq!(body["add_generation_prompt"], false, "{body}");
                assert!(body["messages"][1].get("prefix").is_none(), "{body}");
            }
            // The prefill without the whitespace Anthropic refuses.
            ("anthropic", _) => assert_eq!(body["messages"][1]["content"], "one", "{body}"),
            ("gemini", _) => assert_eq!(body["contents"][1]["parts"][0]["text"], WRITTEN),
            _ => assert_eq!(body["messages"][1]["content"], WRITTEN, "{body}"),
        }
        // The ledger marks the seam: b continued attempt 1 from byte 4.
        let rows = seams(&env);
        assert_eq!(rows.len(), 2, "{kind}: {rows:?}");
        assert_eq!(
            (rows[0].1.as_str(), rows[0].2, rows[0].3),
            ("incomplete", None, None)
        );
        assert_eq!(
            (rows[1].1.as_str(), rows[1].2, rows[1].3),
            ("ok", Some(1), Some(4))
        );
    }
}

#[test]
fn a_continuation_in_another_providers_shape_is_refused_by_the_mock() {
    // An OpenAI-compatible server left at `continuation = "none"` is never
    // sent a continuation; one that is told the wrong way gets a bare
    // assistant message, which the mock refuses as OpenAI would misread it.
    let cut = cutter();
    let good = continuer();
    let env = setup(&cut, "openai", "", &good);
    let run = env.run(&["ask", "-m", "a,b", "hi"]);
    run.expect_code(4);
    assert_eq!(
        good.request_count(),
        0,
        "openai without `continuation` cannot continue"
    );
    let mut body = serde_json::json!({"messages": [{"role": "user", "content": "hi"},
        {"role": "assistant", "content": WRITTEN}]});
    // The same bare body straight at the mock: 400.
    let refused = post(&good.url(), "/v1/chat/completions", &body);
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
    body["messages"][1]["prefix"] = serde_json::json!(true);
    let accepted = post(&good.url(), "/v1/chat/completions", &body);
    assert!(
        accepted.starts_with("HTTP/1.1 200") && accepted.contains("two three four"),
        "{accepted}"
    );
    assert!(
        !accepted.contains("one two"),
        "only the rest is sent: {accepted}"
    );
}

/// A bare HTTP/1.1 POST, the whole response as text.
fn post(url: &str, path: &str, body: &serde_json::Value) -> String {
    use std::io::Write as _;
    let mut s = std::net::TcpStream::connect(url.trim_start_matches("http://")).expect("connect");
    let body = body.to_string();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn where_no_model_can_continue_a_file_gets_only_the_partial_text_and_exit_4() {
    for (kind, extra) in [("azure", ""), ("openai", "continuation = \"none\"")] {
        let cut = cutter();
        let other = MockServer::start(Script::always(Reply::text("a second answer")));
        let env = setup(&cut, kind, extra, &other);
        let run = env.run(&["ask", "-m", "a,b", "hi"]);
        run.expect_code(4);
        assert_eq!(run.stdout, WRITTEN, "{kind}: exactly the partial text");
        assert_eq!(
            other.request_count(),
            0,
            "{kind}: no second answer was started"
        );
        assert!(
            run.stderr.contains("no model left can continue it"),
            "{}",
            run.stderr
        );
        let rows = seams(&env);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].1, "incomplete");
    }
}

#[test]
fn json_and_compare_keep_the_text_of_an_answer_that_broke_off() {
    let cut = cutter();
    let other = MockServer::start(Script::always(Reply::text("unused")));
    let env = setup(&cut, "azure", "", &other);
    let run = env.run(&["ask", "--json", "-m", "a", "hi"]);
    run.expect_code(4);
    let j = run.json();
    assert_eq!(
        (j["text"].as_str(), j["incomplete"].as_bool()),
        (Some(WRITTEN), Some(true)),
        "{j}"
    );
    assert_eq!(j["attempts"][0]["outcome"], "incomplete");

    let run = env.run(&["compare", "-m", "a", "--format", "json", "hi"]);
    let j = run.json();
    assert_eq!(
        (j[0]["text"].as_str(), j[0]["incomplete"].as_bool()),
        (Some(WRITTEN), Some(true)),
        "{j}"
    );
    let run = env.run(&["compare", "-m", "a", "hi"]);
    assert!(
        run.stdout.contains("one") && run.stdout.contains("[incomplete"),
        "{}",
        run.stdout
    );

    // An answer that was finished is not marked.
    let good = MockServer::start(Script::always(Reply::text("fine")));
    let env = setup(&good, "azure", "", &other);
    let j = env.run(&["ask", "--json", "-m", "a", "hi"]).json();
    assert!(j.get("incomplete").is_none(), "{j}");
}

#[test]
fn on_a_terminal_the_next_model_starts_over_after_a_notice_on_its_own_line() {
    // `script` gives route a pseudo-terminal; skipped where util-linux `script` is missing.
    if Command::new("script").arg("--version").output().is_err() {
        return;
    }
    let cut = cutter();
    let other = MockServer::start(Script::always(Reply::text("a fresh answer")));
    let env = setup(&cut, "azure", "", &other);
    let inner = format!("exec '{}' ask -v -m a,b hi", env!("CARGO_BIN_EXE_route"));
    let mut script = env
        .command_of("script", &["-qfec", &inner, "/dev/null"])
        .spawn()
        .expect("script");
    let mut out = script.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = out.read_to_end(&mut all);
        all
    });
    let started = std::time::Instant::now();
    let code = loop {
        if let Some(status) = script.try_wait().expect("wait") {
            break status.code();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "route did not finish"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let shown = String::from_utf8_lossy(&reader.join().expect("transcript")).replace("\r\n", "\n");
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(other.request_count(), 1);
    let lines: Vec<&str> = shown.lines().collect();
    assert!(
        lines.contains(&WRITTEN),
        "the partial text keeps its own line: {shown:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("warning: a broke off") && l.ends_with("b starts over")),
        "{shown:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("route: attempt 1 · a")),
        "{shown:?}"
    );
    assert!(lines.contains(&"a fresh answer"), "{shown:?}");
}

#[test]
fn a_claude_model_that_takes_no_prefill_is_never_asked_to_continue() {
    // Claude Sonnet 4.6 refuses a prefill (HTTP 400): in a file, the answer
    // cut on `a` ends there (exit 4), and nothing is sent to it.
    let cut = cutter();
    let other = MockServer::start(Script::always(Reply::text("a second answer")));
    let mut env = setup(&cut, "anthropic", "", &other);
    env.edit_profile(|p| p.replace("claude-haiku-4-5", "claude-sonnet-4-6"));
    let run = env.run(&["ask", "-m", "a,b", "hi"]);
    run.expect_code(4);
    assert_eq!(run.stdout, WRITTEN, "{}", run.stderr);
    assert_eq!(other.request_count(), 0);
}

#[test]
fn a_continuation_refused_as_a_bad_request_moves_on_to_one_that_continues() {
    // `b` is thought able to continue, but refuses the prefill with HTTP 400
    // (as a Claude model route does not know may): that is not the request's
    // fault, so `c` continues instead of the chain stopping.
    let cut = cutter();
    let refusing = MockServer::start(Script::always(Reply::status(400)));
    let good = continuer();
    let mut env = TestEnv::new();
    env.env("A_KEY", "key-a").env("B_KEY", "key-b");
    env.profile(&format!(
        "[settings]\nretries = 0\n\
         [providers.a]\nkind = \"openai\"\nbase_url = \"{}/v1\"\napi_key_env = \"A_KEY\"\n\
         [providers.b]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key_env = \"B_KEY\"\n\
         [providers.c]\nkind = \"gemini\"\nbase_url = \"{}\"\napi_key_env = \"B_KEY\"\n\
         [models.a]\nprovider = \"a\"\nmodel = \"gpt-4o-mini\"\n\
         [models.b]\nprovider = \"b\"\nmodel = \"claude-haiku-4-5\"\n\
         [models.c]\nprovider = \"c\"\nmodel = \"gemini-2.5-flash\"\n",
        cut.url(),
        base_url("anthropic", &refusing.url()),
        base_url("gemini", &good.url()),
    ));
    let run = env.run(&["ask", "-v", "-m", "a,b,c", "hi"]);
    run.expect_code(0);
    assert_eq!(run.stdout, format!("{FULL}\n"), "{}", run.stderr);
    assert_eq!(refusing.request_count(), 1);
    assert_eq!(good.request_count(), 1);
    assert!(
        run.stderr.contains("→ c continues the answer"),
        "{}",
        run.stderr
    );
}
