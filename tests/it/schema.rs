//! Structured output (`--schema`, issue 14): the schema goes to each provider
//! in its own native shape, route checks every answer itself, an answer that
//! does not match is a failed attempt (`invalid_output`) that moves on to the
//! next model, and stdout only ever gets the value that matched, on one line.
//! route-mock (`Script::expecting_schema`) answers 400 to a request that does
//! not carry the schema where its wire format takes it, and
//! `Reply::InvalidJson` answers text that is not JSON.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::support::{MockServer, Reply, Script, TestEnv, ledger_rows, provider};

/// Every kind, and a model of it.
const KINDS: [(&str, &str); 5] = [
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-haiku-4-5"),
    ("gemini", "gemini-2.5-flash"),
    ("ollama", "llama3.2"),
    ("azure", "gpt-4o-mini"),
];

/// The schema of the tests: a person, closed, every property required (so
/// that OpenAI's strict mode takes it).
fn person() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "born": {"type": "integer"}
        },
        "required": ["name", "born"],
        "additionalProperties": false
    })
}

/// A matching answer, as a model might format it (spaces, a line break).
const ADA: &str = "{\"name\": \"Ada Lovelace\",\n \"born\": 1815}";
/// The same, as route prints it.
const ADA_LINE: &str = r#"{"name":"Ada Lovelace","born":1815}"#;

/// A mock that insists on a schema request and answers `reply`.
fn schema_server(reply: Reply) -> MockServer {
    MockServer::start(Script::always(reply).expecting_schema())
}

/// A profile of one provider and model per `(kind, model, server)`, named
/// `a`, `b`, …, and the person schema in `person.json`.
fn setup(models: &[(&str, &str, &MockServer)]) -> TestEnv {
    let mut env = TestEnv::new();
    let mut text = String::new();
    for (i, (kind, model, server)) in models.iter().enumerate() {
        let name = char::from(b'a' + u8::try_from(i).unwrap()).to_string();
        env.env(&format!("{}_KEY", name.to_uppercase()), "sk-test-key");
        text.push_str(&provider(&name, kind, server));
        let _ = writeln!(
            text,
            "[models.{name}]\nprovider = \"{name}\"\nmodel = \"{model}\""
        );
    }
    env.profile(&format!("[settings]\nretries = 0\n{text}"));
    std::fs::write(env.path().join("person.json"), person().to_string()).expect("write schema");
    env
}

/// The schema the request carried, from where `kind`'s wire format takes it.
fn sent_schema(kind: &str, body: &Value) -> Value {
    match kind {
        // <https://platform.openai.com/docs/api-reference/chat/create#chat-create-response_format>
        "openai" | "azure" => {
            assert_eq!(body["response_format"]["type"], "json_schema", "{body}");
            assert_eq!(
                body["response_format"]["json_schema"]["name"], "answer",
                "{body}"
            );
            assert_eq!(
                body["response_format"]["json_schema"]["strict"], true,
                "{body}"
            );
            body["response_format"]["json_schema"]["schema"].clone()
        }
        // <https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#forcing-tool-use>
        "anthropic" => {
            assert_eq!(
                body["tool_choice"],
                json!({"type": "tool", "name": "answer", "disable_parallel_tool_use": true}),
                "{body}"
            );
            assert_eq!(body["tools"][0]["name"], "answer", "{body}");
            body["tools"][0]["input_schema"].clone()
        }
        // <https://ai.google.dev/gemini-api/docs/structured-output>
        "gemini" => {
            let config = &body["generationConfig"];
            assert_eq!(config["responseMimeType"], "application/json", "{body}");
            config["responseJsonSchema"].clone()
        }
        // <https://github.com/ollama/ollama/blob/main/docs/api.md#request-structured-outputs>
        "ollama" => body["format"].clone(),
        other => panic!("no such kind {other}"),
    }
}

/// The person schema as providers get it: without `$schema`.
fn person_on_the_wire() -> Value {
    let mut s = person();
    s.as_object_mut().unwrap().remove("$schema");
    s
}

#[test]
fn every_kind_is_sent_the_schema_in_its_native_shape_and_stdout_gets_one_line() {
    for (kind, model) in KINDS {
        for stream in [true, false] {
            // -- Setup
            let server = schema_server(Reply::text(ADA));
            let env = setup(&[(kind, model, &server)]);
            let mut args = vec!["ask", "-m", "a", "--schema", "person.json"];
            if !stream {
                args.push("--no-stream");
            }
            args.push("Who wrote the first program?");
            // -- Exec
            let run = env.run(&args);
            // -- Check
            run.expect_code(0);
            assert_eq!(
                run.stdout,
                format!("{ADA_LINE}\n"),
                "{kind}: {}",
                run.stderr
            );
            assert_eq!(server.request_count(), 1, "{kind}");
            let body = server.requests()[0].json();
            assert_eq!(sent_schema(kind, &body), person_on_the_wire(), "{kind}");
            if kind != "gemini" {
                assert_eq!(body["stream"], json!(stream), "{kind}");
            }
        }
    }
}

#[test]
fn an_answer_that_is_not_json_fails_over_to_the_next_model_of_every_kind() {
    for (kind, model) in KINDS {
        // -- Setup: the same kind twice; the first answers text that is not JSON.
        let bad = schema_server(Reply::InvalidJson);
        let good = schema_server(Reply::text(ADA));
        let env = setup(&[(kind, model, &bad), (kind, model, &good)]);
        // -- Exec
        let run = env.run(&["ask", "-v", "-m", "a,b", "--schema", "person.json", "who?"]);
        // -- Check: exactly the value, from b; nothing of a's answer.
        run.expect_code(0);
        assert_eq!(
            run.stdout,
            format!("{ADA_LINE}\n"),
            "{kind}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("a · a/") && run.stderr.contains("invalid_output"),
            "{kind}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("the answer is not JSON"),
            "{kind}: {}",
            run.stderr
        );
        // No retry on the same model.
        assert_eq!(
            (bad.request_count(), good.request_count()),
            (1, 1),
            "{kind}"
        );
        assert_eq!(
            ledger_rows(&env),
            vec![
                ("a".into(), "error".into(), Some("invalid_output".into())),
                ("b".into(), "ok".into(), None),
            ],
            "{kind}"
        );
    }
}

#[test]
fn json_that_does_not_match_fails_over_across_kinds() {
    // Each kind's answer of the wrong shape, then the next kind in the list.
    let wrong = r#"{"name": "Ada Lovelace", "born": "1815"}"#;
    for pair in KINDS.windows(2) {
        let ((k1, m1), (k2, m2)) = (pair[0], pair[1]);
        let bad = schema_server(Reply::text(wrong));
        let good = schema_server(Reply::text(ADA));
        let env = setup(&[(k1, m1, &bad), (k2, m2, &good)]);
        let run = env.run(&[
            "ask",
            "--json",
            "-m",
            "a,b",
            "--schema",
            "person.json",
            "who?",
        ]);
        run.expect_code(0);
        let j = run.json();
        assert_eq!(j["model"], "b", "{k1} → {k2}");
        assert_eq!(j["valid"], true);
        assert_eq!(j["value"], json!({"name": "Ada Lovelace", "born": 1815}));
        assert_eq!(j["text"], ADA_LINE);
        let first = &j["attempts"][0];
        assert_eq!(first["error_kind"], "invalid_output", "{k1}: {j}");
        assert!(
            first["error"]
                .as_str()
                .unwrap()
                .starts_with("the answer does not match the schema: at /born:"),
            "{k1}: {j}"
        );
    }
}

#[test]
fn when_no_model_matches_stdout_gets_nothing_and_json_says_why() {
    // -- Setup
    let a = schema_server(Reply::InvalidJson);
    let b = schema_server(Reply::text(r#"{"name": "Ada"}"#));
    let env = setup(&[("openai", "gpt-4o-mini", &a), ("ollama", "llama3.2", &b)]);
    // -- Exec: plain, then --json.
    let plain = env.run(&["ask", "-m", "a,b", "--schema", "person.json", "who?"]);
    let json = env.run(&[
        "ask",
        "--json",
        "-m",
        "a,b",
        "--schema",
        "person.json",
        "who?",
    ]);
    // -- Check: never an invalid answer on stdout.
    plain.expect_code(1);
    assert_eq!(plain.stdout, "", "{}", plain.stderr);
    assert!(
        plain.stderr.contains("every model failed"),
        "{}",
        plain.stderr
    );
    assert!(plain.stderr.contains("invalid_output"), "{}", plain.stderr);
    json.expect_code(1);
    let j = json.json();
    assert_eq!(j["valid"], false);
    assert_eq!(j["value"], Value::Null);
    assert!(
        j["error"].as_str().unwrap().contains("invalid_output"),
        "{j}"
    );
    // What the last model said instead.
    assert_eq!(j["text"], r#"{"name": "Ada"}"#);
}

#[test]
fn schema_no_stream_and_json_together() {
    for (kind, model) in KINDS {
        let server = schema_server(Reply::text(ADA));
        let env = setup(&[(kind, model, &server)]);
        let run = env.run(&[
            "ask",
            "--schema",
            "person.json",
            "--no-stream",
            "--json",
            "-m",
            "a",
            "who?",
        ]);
        run.expect_code(0);
        let j = run.json();
        assert_eq!(run.stdout.lines().count(), 1, "{kind}: one object");
        assert_eq!(j["valid"], true, "{kind}: {j}");
        assert_eq!(j["text"], ADA_LINE, "{kind}");
        assert_eq!(j["value"], json!({"name": "Ada Lovelace", "born": 1815}));
        let body = server.requests()[0].json();
        if kind == "gemini" {
            assert!(server.requests()[0].path.contains(":generateContent"));
        } else {
            assert_eq!(body["stream"], false, "{kind}");
        }
    }
}

#[test]
fn a_schema_whose_root_is_not_an_object_is_sent_wrapped_and_printed_unwrapped() {
    // OpenAI's response_format and Anthropic's tool input want an object:
    // route asks for `{"value": […]}` and prints the array.
    let schema = r#"{"type": "array", "items": {"type": "string"}, "minItems": 3}"#;
    for (kind, model) in KINDS {
        let server = schema_server(Reply::text(r#"{"value": ["red", "green", "blue"]}"#));
        let env = setup(&[(kind, model, &server)]);
        let run = env.run(&["ask", "-m", "a", "--schema", schema, "Three colours"]);
        run.expect_code(0);
        assert_eq!(
            run.stdout, "[\"red\",\"green\",\"blue\"]\n",
            "{kind}: {}",
            run.stderr
        );
        let sent = sent_schema(kind, &server.requests()[0].json());
        assert_eq!(sent["type"], "object", "{kind}");
        assert_eq!(sent["required"], json!(["value"]));
        assert_eq!(sent["properties"]["value"]["type"], "array");
    }
}

#[test]
fn a_schema_that_strict_mode_does_not_take_is_sent_with_strict_false() {
    let server = schema_server(Reply::text(r#"{"name": "Ada"}"#));
    let env = setup(&[("openai", "gpt-4o-mini", &server)]);
    // An optional property: strict mode wants every property required.
    let schema = r#"{"type":"object","properties":{"name":{"type":"string"},"born":{"type":"integer"}},"required":["name"]}"#;
    let run = env.run(&["ask", "-m", "a", "--schema", schema, "who?"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "{\"name\":\"Ada\"}\n");
    let body = server.requests()[0].json();
    assert_eq!(body["response_format"]["json_schema"]["strict"], false);
}

#[test]
fn a_bad_schema_is_exit_2_naming_it_and_nothing_is_sent() {
    // -- Setup
    let server = MockServer::start(Script::always(Reply::text(ADA)));
    let env = setup(&[("openai", "gpt-4o-mini", &server)]);
    std::fs::write(env.path().join("broken.json"), "{\"type\": ").unwrap();
    std::fs::write(env.path().join("typo.json"), r#"{"type": "strnig"}"#).unwrap();
    std::fs::write(env.path().join("array.json"), "[1, 2]").unwrap();
    std::fs::create_dir(env.path().join("folder")).unwrap();
    let cases: [(&str, &str); 7] = [
        ("missing.json", "--schema missing.json: no such file"),
        ("broken.json", "--schema broken.json is not JSON"),
        ("typo.json", "--schema typo.json is not a valid JSON Schema"),
        (
            "array.json",
            "--schema array.json is not a JSON Schema object",
        ),
        ("folder", "--schema folder is a folder"),
        ("{\"type\": ", "--schema (inline JSON) is not JSON"),
        (
            r#"{"type":"object","properties":{"n":{"minimum":"zero"}}}"#,
            "--schema (inline JSON) is not a valid JSON Schema",
        ),
    ];
    for command in ["ask", "compare"] {
        for (arg, message) in cases {
            // -- Exec
            let run = env.run(&[command, "-m", "a", "--schema", arg, "hi"]);
            // -- Check
            run.expect_code(2);
            assert!(
                run.stderr.contains(message),
                "{command} {arg}: {}",
                run.stderr
            );
            assert_eq!(run.stdout, "", "{command} {arg}");
        }
    }
    assert_eq!(server.request_count(), 0, "nothing was sent");
}

#[test]
fn compare_shows_which_models_answered_valid_json() {
    // -- Setup
    let valid = schema_server(Reply::text(ADA));
    let invalid = schema_server(Reply::InvalidJson);
    let wrong = schema_server(Reply::text(r#"{"name": 1815}"#));
    let env = setup(&[
        ("anthropic", "claude-haiku-4-5", &valid),
        ("gemini", "gemini-2.5-flash", &invalid),
        ("ollama", "llama3.2", &wrong),
    ]);
    let args = [
        "compare",
        "-m",
        "a",
        "-m",
        "b",
        "-m",
        "c",
        "--schema",
        "person.json",
        "who?",
    ];
    // -- Exec
    let table = env.run(&args);
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let json = env.run(&with_json);
    // -- Check: the status row says which matched; one valid model is enough.
    table.expect_code(0);
    let status = table
        .stdout
        .lines()
        .find(|l| l.contains("status"))
        .unwrap_or_else(|| panic!("{}", table.stdout));
    assert!(status.contains("valid JSON"), "{status}");
    assert_eq!(status.matches("invalid_output").count(), 2, "{status}");
    assert!(table.stdout.contains(ADA_LINE), "{}", table.stdout);
    assert!(
        table
            .stdout
            .contains("[invalid: not JSON that matches --schema]"),
        "{}",
        table.stdout
    );
    json.expect_code(0);
    let all = json.json();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(
        (&all[0]["valid"], &all[0]["value"]["born"]),
        (&json!(true), &json!(1815))
    );
    for invalid in &all[1..] {
        assert_eq!(invalid["valid"], false, "{invalid}");
        assert_eq!(invalid["value"], Value::Null);
        assert_eq!(invalid["attempts"][0]["error_kind"], "invalid_output");
    }
    assert_eq!(all[1]["text"], route_mock::INVALID_JSON);
}

#[test]
fn compare_with_no_valid_answer_fails() {
    let a = schema_server(Reply::InvalidJson);
    let b = schema_server(Reply::InvalidJson);
    let env = setup(&[("openai", "gpt-4o-mini", &a), ("azure", "gpt-4o-mini", &b)]);
    let run = env.run(&[
        "compare",
        "-m",
        "a",
        "-m",
        "b",
        "--schema",
        "person.json",
        "who?",
    ]);
    run.expect_code(1);
    assert!(run.stderr.contains("no model answered"), "{}", run.stderr);
    assert!(run.stderr.contains("invalid_output"), "{}", run.stderr);
}

#[test]
fn answers_that_do_not_match_put_no_model_in_cooldown() {
    // The provider answered each time: its health is fine, and the next
    // request (another prompt, another schema, or none) may well match.
    let a = schema_server(Reply::InvalidJson);
    let b = schema_server(Reply::text(ADA));
    let env = setup(&[("openai", "gpt-4o-mini", &a), ("ollama", "llama3.2", &b)]);
    for _ in 0..4 {
        let run = env.run(&["ask", "-m", "a,b", "--schema", "person.json", "who?"]);
        run.expect_code(0);
        assert!(!run.stderr.contains("cooling down"), "{}", run.stderr);
    }
    assert_eq!(a.request_count(), 4, "a is tried every time");
}

#[test]
fn a_stream_cut_mid_answer_is_answered_afresh_by_the_next_model() {
    // Without a schema, a pipe would get the partial text and exit 4; with
    // one, nothing was shown, so the next model simply answers from the start.
    let cut = MockServer::start(Script::always(Reply::Cut { chunks: 2 }).with_answer(
        crate::support::Answer {
            chunks: Some(6),
            ..crate::support::Answer::new(ADA)
        },
    ));
    let good = schema_server(Reply::text(ADA));
    let env = setup(&[
        ("openai", "gpt-4o-mini", &cut),
        ("gemini", "gemini-2.5-flash", &good),
    ]);
    let run = env.run(&["ask", "-m", "a,b", "--schema", "person.json", "who?"]);
    run.expect_code(0);
    assert_eq!(run.stdout, format!("{ADA_LINE}\n"), "{}", run.stderr);
    assert!(!run.stderr.contains("broke off"), "{}", run.stderr);
    // b was asked the question, not to continue an answer.
    let body = good.requests()[0].json();
    assert_eq!(body["contents"].as_array().unwrap().len(), 1, "{body}");
}

#[test]
fn a_server_that_refuses_structured_output_moves_on_instead_of_stopping() {
    // Some OpenAI-compatible servers take no `json_schema` response format
    // and answer 400; without a schema a 400 stops the chain, with one the
    // next model may take it.
    let refuses = MockServer::start(Script::always(Reply::Status {
        status: 400,
        message: Some("This response_format type is unavailable now".into()),
        headers: Vec::new(),
    }));
    let good = schema_server(Reply::text(ADA));
    let env = setup(&[
        ("openai", "deepseek-chat", &refuses),
        ("anthropic", "claude-haiku-4-5", &good),
    ]);
    let run = env.run(&["ask", "-m", "a,b", "--schema", "person.json", "who?"]);
    run.expect_code(0);
    assert_eq!(run.stdout, format!("{ADA_LINE}\n"), "{}", run.stderr);
    assert_eq!((refuses.request_count(), good.request_count()), (1, 1));
    // Without a schema, the same 400 still stops.
    let run = env.run(&["ask", "-m", "a,b", "who?"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("rejected the request"),
        "{}",
        run.stderr
    );
}
