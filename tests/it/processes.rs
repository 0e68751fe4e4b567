//! Many processes, kills, signals and pipes (issue 9): no ledger row is lost
//! when 16 processes write at once, a SIGKILL mid-write leaves a readable
//! ledger, SIGINT / SIGTERM stop a stream, a retry wait and a compare with
//! exit 130 / 143 and `cancelled` rows, and a closed stdout ends quietly.

#![cfg(unix)]

use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{
    Answer, MockServer, Reply, Script, TestEnv, ledger_rows, openai_servers, signal, spawn,
    wait_until,
};

/// One OpenAI-kind provider per server (`a`, `b`, …), each with a model alias
/// of the same name on `gpt-4o-mini` (a model with a catalog price).
fn setup(settings: &str, servers: &[&MockServer]) -> TestEnv {
    openai_servers(
        &format!("[settings]\nbackoff = \"10ms\"\n{settings}"),
        |_| "k".to_owned(),
        servers,
    )
}

/// The ledger's integrity check and row count, straight from SQLite.
fn integrity(env: &TestEnv) -> (String, i64) {
    let conn = rusqlite::Connection::open(env.data_dir().join("ledger.db")).expect("open");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM attempts", [], |r| r.get(0))
        .expect("count");
    (check, rows)
}

// -- Many writers ----------------------------------------------------------------------------

#[test]
fn sixteen_processes_of_fifty_requests_lose_no_row_and_cost_adds_up() {
    const PROCESSES: usize = 16;
    const REQUESTS: usize = 50;
    let server = MockServer::start(Script::default());
    let env = setup("", &[&server]);
    let started = Instant::now();
    let costs: Vec<f64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..PROCESSES)
            .map(|_| {
                let env = &env;
                scope.spawn(move || {
                    let mut costs = Vec::with_capacity(REQUESTS);
                    for _ in 0..REQUESTS {
                        let out = env
                            .command(&["ask", "--no-stream", "--json", "-m", "a", "hi"])
                            .output()
                            .expect("run route");
                        let stderr = String::from_utf8_lossy(&out.stderr);
                        assert_eq!(out.status.code(), Some(0), "{stderr}");
                        assert!(
                            !stderr.contains("not recorded"),
                            "a ledger write failed: {stderr}"
                        );
                        let j: serde_json::Value =
                            serde_json::from_slice(&out.stdout).expect("--json");
                        costs.push(j["cost_usd"].as_f64().expect("gpt-4o-mini has a price"));
                    }
                    costs
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    let elapsed = started.elapsed();
    assert_eq!(costs.len(), PROCESSES * REQUESTS);
    assert_eq!(server.request_count(), PROCESSES * REQUESTS);

    // -- Every row is there, once.
    let rows = ledger_rows(&env);
    assert_eq!(rows.len(), PROCESSES * REQUESTS, "rows lost or doubled");
    assert!(rows.iter().all(|r| r.1 == "ok"));
    let (check, _) = integrity(&env);
    assert_eq!(check, "ok");

    // -- `route cost` adds up to what the answers said they cost.
    let run = env.run(&["cost", "--by", "model", "--format", "json"]);
    run.expect_code(0);
    let groups = run.json();
    let groups = groups.as_array().expect("a JSON array");
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0]["requests"], PROCESSES * REQUESTS);
    assert_eq!(groups[0]["attempts"], PROCESSES * REQUESTS);
    let total = groups[0]["cost_usd"].as_f64().expect("cost");
    let sum: f64 = costs.iter().sum();
    assert!(
        (total - sum).abs() < 1e-9,
        "route cost says {total}, the answers said {sum}"
    );
    let listed = env.run(&["cost", "--format", "json", "--limit", "100000"]);
    listed.expect_code(0);
    assert_eq!(
        listed.json().as_array().map(Vec::len),
        Some(PROCESSES * REQUESTS)
    );
    assert!(
        elapsed < Duration::from_secs(120),
        "800 requests took {elapsed:?}"
    );
}

/// A shell in a process group of its own, killed with its whole group when
/// dropped (also when the test fails), so that nothing it started outlives
/// the test.
struct Group(Child, bool);

impl Group {
    /// SIGKILL to the whole group: the shell and the `route` it is running.
    /// Only once: after the shell is reaped its id may belong to another
    /// process group.
    fn kill(&mut self) {
        if std::mem::replace(&mut self.1, true) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn sigkill_while_many_write_leaves_a_readable_ledger() {
    let server = MockServer::start(Script::default());
    let env = setup("", &[&server]);
    // Six shells, each asking again and again (a bounded number of times, in
    // case the test itself dies), killed with their route at staggered
    // moments while the others keep writing.
    let script = format!(
        "i=0; while [ $i -lt 400 ]; do '{}' ask --no-stream -q -m a hi >/dev/null 2>&1; i=$((i+1)); done",
        env!("CARGO_BIN_EXE_route")
    );
    for round in 0..3 {
        let mut shells: Vec<Group> = (0..6)
            .map(|_| {
                Group(
                    env.command_of("sh", &["-c", &script])
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .process_group(0)
                        .spawn()
                        .expect("sh"),
                    false,
                )
            })
            .collect();
        let target = 20 * (round + 1);
        assert!(
            wait_until(Duration::from_secs(30), || server.request_count() >= target),
            "no progress"
        );
        for (i, shell) in shells.iter_mut().enumerate() {
            std::thread::sleep(Duration::from_millis(7 * i as u64));
            shell.kill();
        }
    }
    let (check, rows) = integrity(&env);
    assert_eq!(check, "ok");
    assert!(rows > 0);
    env.run(&["cost"]).expect_code(0);
    env.run(&["cost", "--by", "day", "--format", "json"])
        .expect_code(0);
    // And the ledger still takes new rows.
    env.run(&["ask", "-q", "-m", "a", "hi"]).expect_code(0);
    assert_eq!(integrity(&env).1, rows + 1);
}

// -- Signals ---------------------------------------------------------------------------------

/// An answer that streams for several seconds.
fn slow_answer() -> Script {
    Script::always(Reply::Answer(Answer {
        delay: Duration::from_millis(100),
        ..Answer::new("word ".repeat(100))
    }))
}

/// Reads from a child's stdout until `n` bytes came.
fn read_some(child: &mut Child, n: usize) -> std::process::ChildStdout {
    let mut stdout = child.stdout.take().expect("stdout");
    let mut buf = vec![0u8; n];
    stdout.read_exact(&mut buf).expect("the answer started");
    stdout
}

/// Signals `child` and checks it exited with `code` promptly, with nothing
/// but plain text on stderr.
#[track_caller]
fn interrupt(child: Child, sig: &str, code: i32) -> String {
    let sent = Instant::now();
    signal(&child, sig);
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "took {:?} to stop",
        sent.elapsed()
    );
    assert!(!stderr.contains('\u{1b}'), "escape codes: {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn sigint_and_sigterm_during_a_stream_are_130_and_143_and_cancelled() {
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let server = MockServer::start(slow_answer());
        let env = setup("", &[&server]);
        let mut child = spawn(&env, &["ask", "-m", "a", "hi"]);
        let _stdout = read_some(&mut child, 10);
        interrupt(child, sig, code);
        let rows = ledger_rows(&env);
        assert_eq!(rows.len(), 1, "{sig}: {rows:?}");
        assert_eq!(rows[0].1, "cancelled", "{sig}");
    }
}

#[test]
fn sigint_and_sigterm_during_a_retry_wait_are_130_and_143_and_cancelled() {
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        // The only model says 429, retry after 5 s: route waits, and is
        // interrupted while it waits.
        let server = MockServer::start(Script::always(Reply::Status {
            status: 429,
            message: None,
            headers: vec![("retry-after".into(), "5".into())],
        }));
        let env = setup("max_retry_wait = \"10s\"", &[&server]);
        let child = spawn(&env, &["ask", "-m", "a", "hi"]);
        assert!(wait_until(Duration::from_secs(10), || server
            .request_count()
            == 1));
        std::thread::sleep(Duration::from_millis(200));
        interrupt(child, sig, code);
        assert_eq!(server.request_count(), 1, "no retry after the signal");
        let rows = ledger_rows(&env);
        assert_eq!(
            rows.first().map(|r| r.2.as_deref()),
            Some(Some("rate_limit")),
            "{rows:?}"
        );
        assert_eq!(
            rows.last().map(|r| r.1.as_str()),
            Some("cancelled"),
            "{sig}: the request ends cancelled: {rows:?}"
        );
    }
}

#[test]
fn sigint_and_sigterm_during_compare_are_130_and_143_and_cancelled() {
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let a = MockServer::start(slow_answer());
        let b = MockServer::start(Script::always(Reply::Hang));
        let env = setup("first_token_timeout = \"60s\"", &[&a, &b]);
        let child = spawn(&env, &["compare", "-m", "a", "-m", "b", "hi"]);
        assert!(wait_until(Duration::from_secs(10), || a.request_count()
            == 1
            && b.request_count() == 1));
        std::thread::sleep(Duration::from_millis(300));
        interrupt(child, sig, code);
        let rows = ledger_rows(&env);
        assert_eq!(rows.len(), 2, "{sig}: {rows:?}");
        assert!(rows.iter().all(|r| r.1 == "cancelled"), "{sig}: {rows:?}");
    }
}

// -- Pipes -----------------------------------------------------------------------------------

#[test]
fn compare_into_a_closed_pipe_ends_quietly() {
    // Answers longer than a pipe's buffer, so that the write meets the closed pipe.
    let a = MockServer::start(Script::always(Reply::text("word ".repeat(30_000))));
    let b = MockServer::start(Script::always(Reply::text("other ".repeat(30_000))));
    let env = setup("", &[&a, &b]);
    for format in ["table", "json", "markdown"] {
        let mut child = spawn(
            &env,
            &["compare", "-m", "a", "-m", "b", "--format", format, "hi"],
        );
        drop(read_some(&mut child, 1));
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {stderr}");
        assert!(
            !stderr.contains("error") && !stderr.contains("panicked"),
            "{format}: {stderr}"
        );
    }
}

// -- The terminal ----------------------------------------------------------------------------

/// What an interrupted command left on a terminal: every escape sequence
/// complete, colours reset, a hidden cursor shown again, and the cursor at
/// the start of a line.
fn terminal_left_clean(transcript: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(transcript);
    let mut sgr_open = false;
    let mut cursor_hidden = false;
    let mut rest = text.as_ref();
    while let Some(at) = rest.find('\u{1b}') {
        rest = &rest[at + 1..];
        let Some(csi) = rest.strip_prefix('[') else {
            return Err(format!(
                "an escape that is not a CSI: {:?}",
                &rest[..rest.len().min(8)]
            ));
        };
        let Some(end) = csi.find(|c: char| ('\u{40}'..='\u{7e}').contains(&c)) else {
            return Err("an escape sequence cut short".into());
        };
        let (params, last) = (&csi[..end], &csi[end..=end]);
        match (params, last) {
            ("?25", "l") => cursor_hidden = true,
            ("?25", "h") => cursor_hidden = false,
            ("" | "0", "m") => sgr_open = false,
            (_, "m") => sgr_open = true,
            _ => {}
        }
        rest = &csi[end + 1..];
    }
    if sgr_open {
        return Err("a colour or style was left on".into());
    }
    if cursor_hidden {
        return Err("the cursor was left hidden".into());
    }
    if !text.ends_with('\n') {
        return Err(format!(
            "the last line was left open: {:?}",
            &text[text.len().saturating_sub(40)..]
        ));
    }
    Ok(())
}

#[test]
fn sigint_on_a_terminal_leaves_it_clean() {
    // `script` gives route a pseudo-terminal, so that the live view draws
    // and colours are on; skipped where util-linux `script` is missing.
    if Command::new("script").arg("--version").output().is_err() {
        return;
    }
    for (command, waits_for_b) in [("compare -m a -m b hi", true), ("ask -m a hi", false)] {
        let a = MockServer::start(slow_answer());
        let b = MockServer::start(Script::always(Reply::Hang));
        let mut env = setup("first_token_timeout = \"60s\"", &[&a, &b]);
        env.unset("NO_COLOR").env("TERM", "xterm");
        let inner = format!("exec '{}' {command}", env!("CARGO_BIN_EXE_route"));
        let mut script = env
            .command_of("script", &["-qfec", &inner, "/dev/null"])
            .spawn()
            .expect("script");
        let mut transcript = script.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            let _ = transcript.read_to_end(&mut all);
            all
        });
        assert!(wait_until(Duration::from_secs(10), || a.request_count()
            == 1
            && (b.request_count() == 1 || !waits_for_b)));
        std::thread::sleep(Duration::from_millis(600));
        // `exec`: route is script's own child.
        let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", script.id()))
            .expect("children of script");
        let route: u32 = children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .expect("route's pid");
        let status = Command::new("kill")
            .args(["-s", "INT", "--", &route.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let code = script.wait().expect("wait").code();
        let transcript = reader.join().expect("transcript");
        let shown = String::from_utf8_lossy(&transcript);
        assert_eq!(code, Some(130), "{command}: {shown}");
        if waits_for_b {
            assert!(
                shown.contains('\u{1b}'),
                "the live view never drew: {shown:?}"
            );
            assert!(shown.contains("cancelled"), "{shown}");
        }
        if let Err(why) = terminal_left_clean(&transcript) {
            panic!("{command}: {why}:\n{shown:?}");
        }
    }
}
