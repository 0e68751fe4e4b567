//! The hermetic harness: every test runs the real `route` binary in a fresh
//! temporary HOME, config dir and data dir, with a cleared environment, fixed
//! terminal width, no colour, and a timeout on every command.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use route_mock::{Answer, Decline, MockServer, Reply, Script};

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

    /// Writes a profile (mode 0600) and points `ROUTE_PROFILE` at it.
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

    /// Rewrites the profile written by [`TestEnv::profile`].
    pub(crate) fn edit_profile(&mut self, edit: impl FnOnce(String) -> String) -> PathBuf {
        let path = self.dir.path().join("profile.toml");
        let text = std::fs::read_to_string(&path).expect("read profile");
        self.profile(&edit(text))
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

/// A profile of `head` lines, then one OpenAI-kind provider per server (named
/// a, b, c…, each keyed by `key(name)` in `<NAME>_KEY`), each with a model alias
/// of the same name on `gpt-4o-mini` (a model the built-in catalog prices).
pub(crate) fn openai_servers(
    head: &str,
    key: impl Fn(&str) -> String,
    servers: &[&MockServer],
) -> TestEnv {
    let mut env = TestEnv::new();
    let mut text = format!("{head}\n");
    for (i, server) in servers.iter().enumerate() {
        let name = char::from(b'a' + u8::try_from(i).unwrap()).to_string();
        env.env(&format!("{}_KEY", name.to_uppercase()), &key(&name));
        text.push_str(&provider(&name, "openai", server));
        let _ = writeln!(
            text,
            "[models.{name}]\nprovider = \"{name}\"\nmodel = \"gpt-4o-mini\""
        );
    }
    env.profile(&text);
    env
}

impl TestEnv {
    /// Runs `route ARGS` with stdout on a pseudo-terminal (`script(1)`), so
    /// that a terminal's layout can be tested; stderr still goes to a file.
    /// Line endings are the terminal's `\r\n`, given back as `\n`.
    pub(crate) fn run_tty(&self, args: &[&str]) -> Run {
        self.under_script(args, true)
    }

    /// Runs `route ARGS` with stdout and stderr both on a pseudo-terminal, so
    /// that live lines are drawn; `stdout` holds both, as the terminal showed them.
    pub(crate) fn run_terminal(&self, args: &[&str]) -> Run {
        self.under_script(args, false)
    }

    fn under_script(&self, args: &[&str], stderr_to_file: bool) -> Run {
        let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        let err = self.dir.path().join("tty-stderr");
        let mut line = quote(env!("CARGO_BIN_EXE_route"));
        for a in args {
            line.push(' ');
            line.push_str(&quote(a));
        }
        if stderr_to_file {
            let _ = write!(line, " 2>{}", quote(&err.display().to_string()));
        }
        line.push_str(" </dev/null");
        let mut cmd = assert_cmd::Command::new("script");
        cmd.env_clear();
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        if !stderr_to_file {
            // Live lines are drawn only on a terminal that names its type.
            cmd.env("TERM", "xterm");
        }
        cmd.args(["-qec", &line, "/dev/null"])
            .current_dir(self.dir.path())
            .timeout(Duration::from_secs(60));
        let out = cmd.output().expect("run route under script(1)");
        let stdout = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
        let stderr = std::fs::read_to_string(&err).unwrap_or_default();
        let shown = if stderr_to_file { &stderr } else { &stdout };
        assert!(!shown.contains("panicked"), "route panicked:\n{shown}");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout,
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

/// The `base_url` a profile gives for a kind served at `url`.
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

/// The ledger's rows as (label, outcome, `error_kind`) in insertion order.
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

// -- Hostile servers and process measurements (issue 9) ----------------------

/// One request as a [`HostileServer`] read it.
#[derive(Debug, Clone)]
pub(crate) struct RawRequest {
    /// The request line and headers, as sent.
    pub head: String,
    pub body: Vec<u8>,
}

impl RawRequest {
    /// The first header of that name (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// A raw HTTP server for what no well-behaved provider does: each connection
/// gets its own thread, its request is read (head and `Content-Length` body)
/// and recorded, then `behaviour` writes whatever it likes. A behaviour that
/// loops forever ends when the client hangs up (its writes fail).
pub(crate) struct HostileServer {
    addr: std::net::SocketAddr,
    requests: std::sync::Arc<std::sync::Mutex<Vec<RawRequest>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HostileServer {
    pub(crate) fn start(
        behaviour: impl Fn(&mut std::net::TcpStream, &RawRequest) + Send + Sync + 'static,
    ) -> HostileServer {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let behaviour = Arc::new(behaviour);
        let (recorded, stopped) = (Arc::clone(&requests), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let (behaviour, recorded) = (Arc::clone(&behaviour), Arc::clone(&recorded));
                std::thread::spawn(move || {
                    let _ = stream.set_nodelay(true);
                    while let Some(request) = read_request(&mut stream) {
                        recorded.lock().expect("lock").push(request.clone());
                        behaviour(&mut stream, &request);
                    }
                });
            }
        });
        HostileServer {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn requests(&self) -> Vec<RawRequest> {
        self.requests.lock().expect("lock").clone()
    }

    pub(crate) fn request_count(&self) -> usize {
        self.requests.lock().expect("lock").len()
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = std::net::TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request: head up to the blank line, then `Content-Length` bytes.
/// `None` when the client closed the connection.
fn read_request(stream: &mut std::net::TcpStream) -> Option<RawRequest> {
    use std::io::Read;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut request = RawRequest {
        head,
        body: Vec::new(),
    };
    let length: usize = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    request.body = vec![0; length];
    stream.read_exact(&mut request.body).ok()?;
    Some(request)
}

/// Writes a response head. `length: None` is a close-delimited body
/// (`Connection: close`, no `Content-Length`).
pub(crate) fn write_head(
    stream: &mut std::net::TcpStream,
    status: u16,
    content_type: &str,
    length: Option<usize>,
    extra: &[(&str, &str)],
) -> std::io::Result<()> {
    use std::io::Write;
    let mut head = format!("HTTP/1.1 {status} Status\r\ncontent-type: {content_type}\r\n");
    match length {
        Some(n) => {
            let _ = write!(head, "content-length: {n}\r\n");
        }
        None => head.push_str("connection: close\r\n"),
    }
    for (name, value) in extra {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())
}

/// Waits until the client hangs up, reading (and dropping) whatever it sends.
pub(crate) fn wait_for_close(stream: &mut std::net::TcpStream) {
    use std::io::Read;
    let mut sink = [0u8; 1024];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}

/// What a `route` process did, with the most memory it held.
#[derive(Debug)]
pub(crate) struct Measured {
    pub run: Run,
    pub elapsed: Duration,
    /// Peak resident set in KiB (`VmHWM`), when /proc could tell.
    pub max_rss_kib: Option<u64>,
}

/// Runs `route ARGS` and samples its peak memory from /proc while it runs.
/// Panics if it runs for more than `limit`.
pub(crate) fn measure(env: &TestEnv, args: &[&str], limit: Duration) -> Measured {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut child = spawn(env, args);
    let pid = child.id();
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    // Drain both pipes on their own threads so that route never blocks on them.
    let stdout = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let stderr = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let mut peak = None;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak = Some(peak.map_or(kib, |p: u64| p.max(kib)));
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("route ran for more than {limit:?} (peak {peak:?} KiB): {args:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout.join().expect("stdout")).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.join().expect("stderr")).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "route panicked:\n{}",
        run.stderr
    );
    Measured {
        run,
        elapsed: started.elapsed(),
        max_rss_kib: peak,
    }
}

/// `VmHWM` of a running process, in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Sends a signal to a process by its id (`kill -SIG PID`).
#[cfg(unix)]
pub(crate) fn signal(child: &std::process::Child, sig: &str) {
    let status = std::process::Command::new("kill")
        .args(["-s", sig, "--", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{sig} failed");
}

/// Waits until `ready()` holds, for at most `limit`.
pub(crate) fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    ready()
}

impl TestEnv {
    /// `program ARGS` in this test's world (cleared environment, the test's
    /// variables, its folder), with piped stdout and stderr and no stdin:
    /// for threads, shells and process groups.
    pub(crate) fn command_of(&self, program: &str, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        cmd.env_clear();
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd.args(args)
            .current_dir(self.dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    }

    /// `route ARGS`, see [`TestEnv::command_of`].
    pub(crate) fn command(&self, args: &[&str]) -> std::process::Command {
        self.command_of(env!("CARGO_BIN_EXE_route"), args)
    }
}
