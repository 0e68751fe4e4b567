//! The `route-mock` binary: one URL line on stdout, then it serves; bad usage exits 2.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_route-mock");

#[test]
fn prints_its_url_then_serves_the_scripted_replies() {
    let mut child = Command::new(BIN)
        .args(["--tokens", "3", "--reply", "status:503:1", "--reply=ok"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("http://127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();

    let ask = || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let body = r#"{"model":"m"}"#;
        write!(
            stream,
            "POST /v1/chat/completions HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    };
    let first = ask();
    let second = ask();
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(first.starts_with("HTTP/1.1 503 "), "{first}");
    assert!(first.contains("retry-after: 1\r\n"));
    assert!(second.starts_with("HTTP/1.1 200 OK"), "{second}");
    assert!(
        second.contains("\"content\":\"lorem ipsum dolor.\""),
        "{second}"
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["--reply", "sometimes"][..],
        &["--port", "x"],
        &["--bogus"],
        &["--text", "a", "--tokens", "2"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(String::from_utf8_lossy(&out.stderr).contains("route-mock:"));
    }
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--reply SPEC"));
}
