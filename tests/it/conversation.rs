//! Conversations (issue 14): `-c` / `--cid` send the stored turns before the
//! new prompt, translated for whichever provider answers now; `route log`
//! lists and shows them. route-mock refuses messages in roles its wire
//! format does not take, and the tests read the bodies it received.

use crate::support::{Answer, MockServer, Reply, Script, TestEnv, provider};

/// Models `gpt` (OpenAI), `claude` (Anthropic) and `gem` (Gemini), each on
/// its own mock answering `answer`.
fn three_kinds(servers: [&MockServer; 3], extra: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.env("OAI_KEY", "k1")
        .env("ANT_KEY", "k2")
        .env("GEM_KEY", "k3");
    env.profile(&format!(
        "{extra}\n{}{}{}\
         [models.gpt]\nprovider = \"oai\"\nmodel = \"gpt-4o-mini\"\n\
         [models.claude]\nprovider = \"ant\"\nmodel = \"claude-haiku-4-5\"\n\
         [models.gem]\nprovider = \"gem\"\nmodel = \"gemini-2.5-flash\"\n",
        provider("oai", "openai", servers[0]),
        provider("ant", "anthropic", servers[1]),
        provider("gem", "gemini", servers[2]),
    ));
    env
}

fn answering(text: &str) -> MockServer {
    MockServer::start(Script::always(Reply::Answer(Answer::new(text))))
}

/// `(role, text)` of each message in a recorded body, in that wire format's
/// own field names.
fn turns(body: &serde_json::Value, key: &str, parts: &str) -> Vec<(String, String)> {
    body[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let content = &m[parts];
            let text = match content {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .filter_map(|p| p["text"].as_str())
                    .collect::<String>(),
                _ => String::new(),
            };
            (m["role"].as_str().unwrap().to_owned(), text)
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(r, t)| ((*r).to_owned(), (*t).to_owned()))
        .collect()
}

#[test]
fn a_conversation_begun_on_one_provider_continues_on_two_others() {
    let (oai, ant, gem) = (answering("one"), answering("two"), answering("three"));
    let env = three_kinds([&oai, &ant, &gem], "");
    // -- Exec: three turns, each answered by another kind.
    let first = env.run(&[
        "ask",
        "--json",
        "-s",
        "be brief",
        "-m",
        "gpt",
        "first question",
    ]);
    first.expect_code(0);
    let id = first.json()["conversation_id"].as_str().unwrap().to_owned();
    assert_eq!(
        first.json()["request_id"],
        id,
        "a new conversation is named after its first request"
    );
    let second = env.run(&["ask", "--json", "-c", "-m", "claude", "second question"]);
    second.expect_code(0);
    assert_eq!(second.json()["conversation_id"], id);
    let third = env.run(&["ask", "-c", "-m", "gem", "third question"]);
    third.expect_code(0);
    assert_eq!(third.stdout, "three\n");

    // -- Check: each provider got the history in its own shape.
    let body = ant.requests()[0].json();
    // Anthropic: the system prompt apart, then user / assistant / user.
    assert_eq!(body["system"], "be brief");
    assert_eq!(
        turns(&body, "messages", "content"),
        pairs(&[
            ("user", "first question"),
            ("assistant", "one"),
            ("user", "second question")
        ])
    );
    // Gemini: roles `user` and `model`, the system prompt as systemInstruction.
    let body = gem.requests()[0].json();
    assert_eq!(body["systemInstruction"]["parts"][0]["text"], "be brief");
    assert_eq!(
        turns(&body, "contents", "parts"),
        pairs(&[
            ("user", "first question"),
            ("model", "one"),
            ("user", "second question"),
            ("model", "two"),
            ("user", "third question"),
        ])
    );

    // -- A fourth turn without -m goes to the conversation's last model.
    env.run(&["ask", "--cid", &id[..8], "fourth"])
        .expect_code(0);
    assert_eq!(gem.request_count(), 2);
    let body = gem.requests()[1].json();
    assert_eq!(turns(&body, "contents", "parts").len(), 7);
    assert_eq!(oai.request_count(), 1);

    // -- route log: newest first, one row per turn.
    let log = env.run(&["log", "--json"]);
    log.expect_code(0);
    let rows = log.json();
    let prompts: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["prompt"].as_str().unwrap())
        .collect();
    assert_eq!(
        prompts,
        [
            "fourth",
            "third question",
            "second question",
            "first question"
        ]
    );
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["conversation_id"] == id.as_str())
    );
    assert_eq!(rows[1]["model"], "gem");
    assert_eq!(rows[1]["answer"], "three");
    let table = env.run(&["log"]);
    assert!(
        table.stdout.contains("first question") && table.stdout.contains(&id[..8]),
        "{}",
        table.stdout
    );
    // log show: the whole conversation, in order.
    let show = env.run(&["log", "show", &id]);
    show.expect_code(0);
    let at = |s: &str| {
        show.stdout
            .find(s)
            .unwrap_or_else(|| panic!("{s}: {}", show.stdout))
    };
    assert!(at("> first question") < at("> second question"));
    assert!(at("turn 1 of 4") < at("turn 4 of 4"));
    // log show alone: the latest request.
    let latest = env.run(&["log", "show"]);
    assert!(latest.stdout.contains("> fourth") && !latest.stdout.contains("> third"));
}

#[test]
fn route_log_search_finds_words_in_prompts_and_answers() {
    let server = answering("TCP slow start doubles the window");
    let env = three_kinds([&server, &server, &server], "");
    env.run(&["ask", "-m", "gpt", "explain congestion control"])
        .expect_code(0);
    env.run(&["ask", "-m", "gpt", "what is a haiku"])
        .expect_code(0);
    let found = env.run(&["log", "--json", "--search", "congestion"]).json();
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["prompt"], "explain congestion control");
    // Words of the answer count too, and every word must be there.
    assert_eq!(
        env.run(&["log", "--json", "--search", "window haiku"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        env.run(&["log", "--json", "--search", "window"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Search syntax in the text is searched for, never an error.
    env.run(&["log", "--search", "\"AND* (NEAR"]).expect_code(0);
    // -n keeps the newest.
    let newest = env.run(&["log", "--json", "-n", "1"]).json();
    assert_eq!(newest[0]["prompt"], "what is a haiku");
}

#[test]
fn continuing_without_a_stored_conversation_is_exit_2_and_sends_nothing() {
    let server = answering("x");
    let env = three_kinds([&server, &server, &server], "");
    let none = env.run(&["ask", "-m", "gpt", "-c", "hi"]);
    none.expect_code(2);
    assert!(
        none.stderr.contains("-c: no conversation is stored yet"),
        "{}",
        none.stderr
    );
    // A request with --no-log leaves nothing to continue.
    env.run(&["ask", "--no-log", "-m", "gpt", "hi"])
        .expect_code(0);
    env.run(&["ask", "-m", "gpt", "-c", "again"]).expect_code(2);
    env.run(&["ask", "-m", "gpt", "first"]).expect_code(0);
    let unknown = env.run(&["ask", "--cid", "abcdef12", "hi"]);
    unknown.expect_code(2);
    assert!(
        unknown
            .stderr
            .contains("--cid abcdef12: no conversation or request with id `abcdef12`"),
        "{}",
        unknown.stderr
    );
    let both = env.run(&["ask", "-c", "--cid", "abcd", "hi"]);
    both.expect_code(2);
    assert_eq!(server.request_count(), 2);
    let show = env.run(&["log", "show", "ffff0000"]);
    show.expect_code(2);
}

#[test]
fn log_content_false_keeps_the_accounting_only() {
    let server = answering("secret answer");
    let env = three_kinds(
        [&server, &server, &server],
        "[settings]\nlog_content = false",
    );
    env.run(&["ask", "-m", "gpt", "secret prompt"])
        .expect_code(0);
    let log = env.run(&["log"]);
    log.expect_code(0);
    assert!(
        log.stderr.contains("no requests stored yet"),
        "{}",
        log.stderr
    );
    assert!(env.run(&["cost", "--json"]).stdout.contains("gpt-4o-mini"));
    let ledger = std::fs::read(env.data_dir().join("ledger.db")).unwrap();
    let text = String::from_utf8_lossy(&ledger);
    assert!(!text.contains("secret prompt") && !text.contains("secret answer"));
}

#[test]
fn a_conversation_too_long_for_every_window_is_exit_2_with_its_size() {
    let server = answering(&"long answer ".repeat(60));
    let env = three_kinds(
        [&server, &server, &server],
        "[models.small]\nprovider = \"oai\"\nmodel = \"gpt-4o-mini\"\ncontext_window = 150\n",
    );
    env.run(&["ask", "-m", "small", "hi"]).expect_code(0);
    let run = env.run(&["ask", "-c", "and then?"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("the conversation holds about") && run.stderr.contains("tokens"),
        "{}",
        run.stderr
    );
    assert_eq!(server.request_count(), 1);
}

#[cfg(unix)]
#[test]
fn the_ledger_and_its_folder_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt as _;
    let server = answering("x");
    let env = three_kinds([&server, &server, &server], "");
    std::fs::create_dir_all(env.data_dir()).unwrap();
    std::fs::set_permissions(env.data_dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    env.run(&["ask", "-m", "gpt", "hi"]).expect_code(0);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.data_dir()), 0o700);
    assert_eq!(mode(&env.data_dir().join("ledger.db")), 0o600);
}
