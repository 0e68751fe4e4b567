//! What a script reads (issue 13, sections 4 and 5): tables written to a pipe
//! are one record per line with whole cells whatever `COLUMNS` says, only a
//! terminal's width shapes them; and every table or plan has a JSON form.

use std::fmt::Write as _;

use crate::support::{MockServer, Reply, Script, TestEnv, provider};

/// A long answer, a long dated model id, at two mocks `a` and `b` whose
/// aliases have long names too.
const MODEL: &str = "gpt-4o-mini-2024-07-18";

fn two_models(env: &mut TestEnv) -> Vec<MockServer> {
    let mut profile = String::from("default = \"both-of-the-models\"\n");
    let mut servers = Vec::new();
    for name in ["a", "b"] {
        let server = MockServer::start(Script::always(Reply::text(
            "A rather long answer that would never fit in a narrow column of a table.",
        )));
        env.env(
            &format!("{}_KEY", name.to_uppercase()),
            "sk-test-0123456789",
        );
        profile.push_str(&provider(name, "openai", &server));
        let _ = write!(
            profile,
            "\n[models.alias-with-a-long-name-{name}]\nprovider = \"{name}\"\nmodel = \"{MODEL}\"\n\n"
        );
        servers.push(server);
    }
    profile.push_str(
        "[chains.both-of-the-models]\nmodels = [\"alias-with-a-long-name-a\", \"alias-with-a-long-name-b\"]\n",
    );
    env.profile(&profile);
    servers
}

/// Every line of a piped table is a record: a header, a rule or a row, each
/// starting and ending with `|`, with the cells of every row whole.
#[track_caller]
fn one_record_per_line(stdout: &str, cells: &[&str]) {
    let table: Vec<&str> = stdout.lines().filter(|l| l.starts_with('|')).collect();
    assert!(!table.is_empty(), "no table in:\n{stdout}");
    for line in &table {
        assert!(line.ends_with('|'), "a record is cut:\n{stdout}");
    }
    for cell in cells {
        assert!(stdout.contains(cell), "`{cell}` is not whole in:\n{stdout}");
    }
}

#[test]
fn piped_tables_are_never_wrapped_or_cut_whatever_columns_says() {
    let mut env = TestEnv::new();
    env.env("COLUMNS", "40");
    let _servers = two_models(&mut env);
    let alias = "alias-with-a-long-name-a";

    let run = env.run(&["models"]);
    run.expect_code(0);
    one_record_per_line(&run.stdout, &[alias, MODEL, "$0.15/$0.60"]);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains(alias) && l.contains(MODEL))
    );

    let run = env.run(&["compare", "-m", "both-of-the-models", "hi"]);
    run.expect_code(0);
    one_record_per_line(
        &run.stdout,
        &[
            "A rather long answer that would never fit in a narrow column of a table.",
            &format!("{alias} (a/{MODEL})"),
        ],
    );
    assert_eq!(
        run.stdout.lines().filter(|l| l.contains("status")).count(),
        1
    );

    let run = env.run(&["cost"]);
    run.expect_code(0);
    one_record_per_line(&run.stdout, &[alias, MODEL]);
    assert_eq!(
        run.stdout.lines().filter(|l| l.contains(MODEL)).count(),
        2,
        "one line per request:\n{}",
        run.stdout
    );

    let run = env.run(&["cost", "estimate", "-m", "both-of-the-models", "hello"]);
    run.expect_code(0);
    one_record_per_line(&run.stdout, &[alias, &format!("a/{MODEL}")]);
}

#[test]
fn a_terminal_table_keeps_within_the_terminal_width() {
    let mut env = TestEnv::new();
    env.env("COLUMNS", "80");
    let _servers = two_models(&mut env);
    let run = env.run_tty(&["compare", "-m", "both-of-the-models", "hi"]);
    run.expect_code(0);
    assert!(run.stdout.contains("status"), "{}", run.stdout);
    for line in run.stdout.lines() {
        assert!(line.chars().count() <= 80, "wider than 80:\n{}", run.stdout);
    }
    assert!(
        !run.stdout
            .contains("never fit in a narrow column of a table."),
        "the answer is wrapped to its column:\n{}",
        run.stdout
    );
}
