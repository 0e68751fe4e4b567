//! The hermetic harness: every test runs the real `route` binary in a fresh
//! temporary HOME, config dir and data dir, with a cleared environment, fixed
//! terminal width, no colour, and a timeout on every command.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use route_mock::{Answer, MockServer, Reply, Script};

/// One test's world.
pub(crate) struct TestEnv {
    pub dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

/// What a run of `route` gave.
#[derive(Debug)]
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with the whole output when the exit code differs.
    #[track_caller]
    pub(crate) fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n--- stderr\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl TestEnv {
    pub(crate) fn new() -> TestEnv {
        let dir = tempfile::tempdir().expect("tempdir");
        let vars = vec![
            ("HOME".into(), dir.path().join("home").display().to_string()),
            (
                "XDG_CONFIG_HOME".into(),
                dir.path().join("config").display().to_string(),
            ),
            (
                "XDG_DATA_HOME".into(),
                dir.path().join("share").display().to_string(),
            ),
            (
                "ROUTE_DATA_DIR".into(),
                dir.path().join("data").display().to_string(),
            ),
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("NO_COLOR".into(), "1".into()),
            ("COLUMNS".into(), "100".into()),
        ];
        TestEnv { dir, vars }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Sets an environment variable for every later run.
    pub(crate) fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.into(), value.into()));
        self
    }

    pub(crate) fn unset(&mut self, key: &str) -> &mut Self {
        self.vars.retain(|(k, _)| k != key);
        self
    }

    /// Writes a profile (mode 0600) and points ROUTE_PROFILE at it.
    pub(crate) fn profile(&mut self, text: &str) -> PathBuf {
        let path = self.dir.path().join("profile.toml");
        std::fs::write(&path, text).expect("write profile");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        let p = path.display().to_string();
        self.env("ROUTE_PROFILE", &p);
        path
    }

    /// Runs `route ARGS` with no stdin.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, None)
    }

    /// Runs `route ARGS`, feeding `stdin` when given (else stdin is empty).
    pub(crate) fn run_with(&self, args: &[&str], stdin: Option<&[u8]>) -> Run {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_route"));
        cmd.env_clear();
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd.args(args)
            .current_dir(self.dir.path())
            .timeout(Duration::from_secs(60));
        cmd.write_stdin(stdin.unwrap_or_default().to_vec());
        let out = cmd.output().expect("run route");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "route panicked:\n{stderr}");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
        }
    }
}

/// A provider table for a mock of the given kind.
pub(crate) fn provider(name: &str, kind: &str, server: &MockServer) -> String {
    let key = match kind {
        "ollama" => String::new(),
        _ => format!("api_key_env = \"{}_KEY\"\n", name.to_uppercase()),
    };
    format!(
        "[providers.{name}]\nkind = \"{kind}\"\nbase_url = \"{}\"\n{key}",
        base_url(kind, &server.url())
    )
}

/// The base_url a profile gives for a kind served at `url`.
pub(crate) fn base_url(kind: &str, url: &str) -> String {
    match kind {
        "openai" => format!("{url}/v1"),
        _ => url.to_owned(),
    }
}

/// A port with nothing listening: connections to it are refused.
pub(crate) fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// A `route` process left running, for signals and pipes.
pub(crate) fn spawn(env: &TestEnv, args: &[&str]) -> std::process::Child {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_route"));
    cmd.env_clear();
    for (k, v) in &env.vars {
        cmd.env(k, v);
    }
    cmd.args(args)
        .current_dir(env.dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd.spawn().expect("spawn route")
}

/// The ledger's rows as (label, outcome, error_kind) in insertion order.
pub(crate) fn ledger_rows(env: &TestEnv) -> Vec<(String, String, Option<String>)> {
    let conn = rusqlite::Connection::open(env.data_dir().join("ledger.db")).expect("open ledger");
    let mut stmt = conn
        .prepare("SELECT label, outcome, error_kind FROM attempts ORDER BY id")
        .expect("query ledger");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}
