//! What users see, snapshotted (issue 12): stdout, stderr and the exit code of
//! the main commands against route-mock, so that a change of output is a
//! reviewed diff of `tests/it/snapshots/*.snap`.
//!
//! Only what changes from run to run is filtered: durations, dates, request
//! ids, ports and the test's temporary folder. Tables keep their layout; the
//! padding after a duration is filtered with it, because the duration's
//! width varies. To accept a change: `INSTA_UPDATE=always cargo test
//! snapshots`, then review the diff (or use `cargo insta review`).

use std::time::Duration;
#[cfg(unix)]
use std::time::Instant;

use crate::support::{
    Answer, Decline, MockServer, Reply, Run, Script, TestEnv, closed_port, openai_servers,
};
#[cfg(unix)]
use crate::support::{signal, spawn};

/// stdout, stderr and the exit code as one text, with the test's folder
/// replaced by `[TEMP]`.
fn shown(env: &TestEnv, run: &Run) -> String {
    let text = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    );
    let mut text = text.replace(&env.path().display().to_string(), "[TEMP]");
    if let Ok(real) = env.path().canonicalize() {
        text = text.replace(&real.display().to_string(), "[TEMP]");
    }
    text
}

/// Snapshots `run` under `name`, with the filters for what varies.
#[track_caller]
fn check(name: &str, env: &TestEnv, run: &Run) {
    check_with(name, env, run, &[]);
}

/// [`check`] with more filters, applied after the common ones.
#[track_caller]
fn check_with(name: &str, env: &TestEnv, run: &Run, extra: &[(&str, &str)]) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let common = [
        // A duration in a table cell (right-aligned or not, with the mark of
        // the fastest): its padding varies with its width.
        (r" +\d+(\.\d+)?(ms|s)( \(fastest\))? +\|", " [TIME]$3 |"),
        (r"\b\d+(\.\d+)?(ms|s)\b", "[TIME]"),
        (r#""(latency_ms|ttft_ms)":\d+"#, r#""$1":[MS]"#),
        (r#""request_id":"[0-9a-f]+""#, r#""request_id":"[ID]""#),
        (
            r#""conversation_id":"[0-9a-f]+""#,
            r#""conversation_id":"[ID]""#,
        ),
        (
            r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?\b",
            "[DATETIME]",
        ),
        (r"\b\d{4}-\d{2}-\d{2}\b", "[DATE]"),
        (r"127\.0\.0\.1:\d+", "[LOCALHOST]"),
        (r"\(os error \d+\)", "(os error [N])"),
    ];
    for (pattern, replacement) in common.iter().chain(extra) {
        settings.add_filter(pattern, *replacement);
    }
    settings.bind(|| insta::assert_snapshot!(name, shown(env, run)));
}

/// One provider per server (named a, b, c…, all OpenAI-compatible), a model
/// alias of the same name on each (gpt-4o-mini, priced by the built-in
/// catalog), `a` the default, and `extra` on top.
fn setup(extra: &str, servers: &[&MockServer]) -> TestEnv {
    openai_servers(
        &format!("default = \"a\"\n{extra}"),
        |_| "sk-test-key".to_owned(),
        servers,
    )
}

fn answer(text: &str) -> Script {
    Script::always(Reply::Answer(Answer {
        input_tokens: 120,
        output_tokens: Some(30),
        ..Answer::new(text)
    }))
}

const RETRIES_0: &str = "[settings]\nretries = 0\n";

#[test]
fn ask() {
    let server = MockServer::start(answer("Slow start doubles the window."));
    let env = setup("", &[&server]);
    check("ask", &env, &env.run(&["ask", "Explain TCP slow start"]));
}

#[test]
fn ask_json() {
    let server = MockServer::start(answer("Slow start doubles the window."));
    let env = setup("", &[&server]);
    check("ask_json", &env, &env.run(&["ask", "--json", "hi"]));
}

#[test]
fn ask_verbose_with_a_fallback() {
    let a = MockServer::start(Script::always(Reply::status(503)));
    let b = MockServer::start(answer("From b."));
    let env = setup(RETRIES_0, &[&a, &b]);
    check(
        "ask_verbose_fallback",
        &env,
        &env.run(&["ask", "-v", "-m", "a,b", "hi"]),
    );
}

#[test]
fn ask_dry_run() {
    let a = MockServer::start(Script::default());
    let b = MockServer::start(Script::default());
    let env = setup("", &[&a, &b]);
    let run = env.run(&["ask", "--dry-run", "-m", "a,b", "hi"]);
    check("ask_dry_run", &env, &run);
    assert_eq!(a.request_count() + b.request_count(), 0);
}

#[test]
fn compare() {
    // a is slow, so that b is reliably the fastest.
    let a = MockServer::start(Script::always(Reply::Answer(Answer {
        first_delay: Duration::from_millis(500),
        input_tokens: 120,
        output_tokens: Some(30),
        ..Answer::new("Answer of a.")
    })));
    let b = MockServer::start(answer("Answer of b."));
    let env = setup("", &[&a, &b]);
    check(
        "compare",
        &env,
        &env.run(&["compare", "-m", "a", "-m", "b", "Say hi"]),
    );
}

#[test]
fn models() {
    let a = MockServer::start(Script::default());
    let b = MockServer::start(Script::default());
    let env = setup("[chains.main]\nmodels = [\"a\", \"b\"]\n", &[&a, &b]);
    check("models", &env, &env.run(&["models"]));
}

#[test]
fn models_check() {
    let a = MockServer::start(Script::default());
    let b = MockServer::start(Script::always(Reply::Hang));
    let env = setup("", &[&a, &b]);
    let run = env.run(&["models", "--check", "--timeout", "1s"]);
    check("models_check", &env, &run);
}

/// An environment with a ledger of three requests: one answered at once, one
/// after a fallback, one failed.
fn with_history() -> (TestEnv, [MockServer; 2]) {
    let a = MockServer::start(Script::new(vec![
        Reply::Answer(Answer {
            input_tokens: 1200,
            output_tokens: Some(300),
            ..Answer::new("one")
        }),
        Reply::status(500),
    ]));
    let b = MockServer::start(Script::new(vec![
        Reply::Answer(Answer {
            input_tokens: 1000,
            output_tokens: Some(100),
            ..Answer::new("two")
        }),
        Reply::status(400),
    ]));
    let env = setup(RETRIES_0, &[&a, &b]);
    env.run(&["ask", "--tag", "first", "-m", "a,b", "hi"])
        .expect_code(0);
    env.run(&["ask", "--tag", "second", "-m", "a,b", "hi"])
        .expect_code(0);
    env.run(&["ask", "-m", "a,b", "hi"]).expect_code(1);
    (env, [a, b])
}

#[test]
fn cost() {
    let (env, _servers) = with_history();
    check("cost", &env, &env.run(&["cost"]));
}

#[test]
fn cost_by() {
    let (env, _servers) = with_history();
    check("cost_by_model", &env, &env.run(&["cost", "--by", "model"]));
    check("cost_by_tag", &env, &env.run(&["cost", "--by", "tag"]));
}

#[test]
fn cost_estimate() {
    let a = MockServer::start(Script::default());
    let b = MockServer::start(Script::default());
    let env = setup("", &[&a, &b]);
    let run = env.run(&[
        "cost",
        "estimate",
        "-m",
        "a,b",
        "Explain TCP slow start in three sentences",
    ]);
    check("cost_estimate", &env, &run);
}

#[test]
fn drill() {
    let a = MockServer::start(answer("OK"));
    let b = MockServer::start(Script::always(Reply::status(500)));
    let c = MockServer::start(answer("OK"));
    let env = setup(
        "[settings]\nretries = 0\n[chains.main]\nmodels = [\"a\", \"b\", \"c\"]\n",
        &[&a, &b, &c],
    );
    // The time column is as wide as its widest duration (or its header):
    // its padding and rule are filtered too.
    check_with(
        "drill",
        &env,
        &env.run(&["drill", "main"]),
        &[(r"-{3,}", "---"), (r" {2,}", " ")],
    );
}

#[test]
fn init_check_with_problems() {
    let mut env = TestEnv::new();
    env.profile(
        "default = \"mian\"\n\
         [settings]\nretries = 11\nfirst_token_timout = \"5s\"\n\
         [providers.lab]\nkind = \"opnai\"\n\
         [providers.openai]\nkind = \"openai\"\napi_key_env = \"MISSING_OPENAI_KEY\"\n\
         [models.gpt]\nprovider = \"openai\"\nmodel = \"gpt-4o\"\n\
         [models.stray]\nprovider = \"nowhere\"\nmodel = \"x\"\n\
         [chains.main]\nmodels = [\"gpt\", \"gtp\"]\n",
    );
    check("init_check_problems", &env, &env.run(&["init", "--check"]));
}

// -- One error per exit code --------------------------------------------------

#[test]
fn exit_1_every_model_failed() {
    let a = MockServer::start(Script::always(Reply::status(500)));
    let port = closed_port();
    let env = setup(RETRIES_0, &[&a]);
    let env = {
        let mut env = env;
        env.edit_profile(|text| {
            text + &format!(
                "[providers.down]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\napi_key_env = \"A_KEY\"\n"
            )
        });
        env
    };
    check(
        "exit_1_all_failed",
        &env,
        &env.run(&["ask", "-m", "a,down/gpt-4o-mini", "hi"]),
    );
}

#[test]
fn exit_1_the_last_model_refused() {
    let a = MockServer::start(Script::always(Reply::Declined {
        how: Decline::Filtered,
        chunks: 0,
    }));
    let b = MockServer::start(Script::always(Reply::Declined {
        how: Decline::Refusal,
        chunks: 0,
    }));
    let env = setup(RETRIES_0, &[&a, &b]);
    check(
        "exit_1_refused",
        &env,
        &env.run(&["ask", "-v", "-m", "a,b", "hi"]),
    );
}

#[test]
fn exit_1_bad_request_stops() {
    let a = MockServer::start(Script::always(Reply::status(400)));
    let b = MockServer::start(Script::default());
    let env = setup(RETRIES_0, &[&a, &b]);
    check(
        "exit_1_bad_request",
        &env,
        &env.run(&["ask", "-m", "a,b", "hi"]),
    );
    assert_eq!(b.request_count(), 0);
}

#[test]
fn exit_2_usage() {
    let a = MockServer::start(Script::default());
    let env = setup("", &[&a]);
    check(
        "exit_2_unknown_model",
        &env,
        &env.run(&["ask", "-m", "aa", "hi"]),
    );
    check(
        "exit_2_bad_flag",
        &env,
        &env.run(&["ask", "--temperature", "warm", "hi"]),
    );
    check("exit_2_no_prompt", &env, &env.run(&["ask"]));
}

#[test]
fn exit_2_no_profile() {
    let env = TestEnv::new();
    check("exit_2_no_profile", &env, &env.run(&["ask", "hi"]));
}

#[test]
fn exit_3_budget() {
    let a = MockServer::start(Script::default());
    let env = setup("[budget]\nper_request = 0.000001\n", &[&a]);
    check("exit_3_budget", &env, &env.run(&["ask", "hi"]));
    assert_eq!(a.request_count(), 0);
}

#[test]
fn exit_4_incomplete() {
    let a = MockServer::start(
        Script::always(Reply::Cut { chunks: 3 })
            .with_answer(Answer::new("one two three four five")),
    );
    let env = setup(RETRIES_0, &[&a]);
    check("exit_4_incomplete", &env, &env.run(&["ask", "hi"]));
}

#[cfg(unix)]
#[test]
fn exit_130_and_143_signalled() {
    for (sig, name) in [
        ("INT", "exit_130_interrupted"),
        ("TERM", "exit_143_terminated"),
    ] {
        let a = MockServer::start(Script::always(Reply::Hang));
        let env = setup("", &[&a]);
        let child = spawn(&env, &["ask", "hi"]);
        // The request is in flight, so the signal handlers are in place.
        let started = Instant::now();
        while a.request_count() == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no request came"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        signal(&child, sig);
        let out = child.wait_with_output().expect("wait");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        check(name, &env, &run);
    }
}
