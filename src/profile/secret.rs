//! Where a provider's key comes from, and its resolution. The key itself
//! ([`ApiKey`]) is a provider-side type.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::output::table::shorten;
pub use crate::provider::ApiKey;
use crate::provider::ProviderKind;

/// How long an `api_key_cmd` may run; then it is stopped and the key is missing.
pub const KEY_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a failing command's stderr that its error shows, in characters.
const STDERR_SHOWN: usize = 300;

/// Where a provider's key comes from. Resolved only when a request to that
/// provider is about to be made, so a chain whose first model answers never
/// runs the `api_key_cmd` of the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// No key (ollama, local servers).
    None,
    /// An environment variable.
    Env(String),
    /// A shell command whose first line of output is the key.
    Command(String),
    /// A key at hand: written into a 0600 profile, or given by a command already run.
    Inline(ApiKey),
    /// A command already run that gave no key: why, as resolving would say it.
    Failed(String),
}

impl KeySource {
    /// The key source of a provider whose profile table names none: the
    /// kind's own variable. A server of the user's own (`base_url` given:
    /// llama.cpp, vLLM, a proxy) needs no key, and must never receive the real
    /// provider's key by default.
    pub fn implied(kind: ProviderKind, own_base_url: bool) -> KeySource {
        match kind.key_var() {
            Some(var) if !own_base_url => KeySource::Env(var.to_owned()),
            _ => KeySource::None,
        }
    }

    /// Resolves the key. The error names the variable or command, never a value.
    pub fn resolve(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<ApiKey>, String> {
        match self {
            KeySource::None => Ok(None),
            KeySource::Inline(key) => Ok(Some(key.clone())),
            KeySource::Env(var) => match lookup(var) {
                Some(v) if !v.trim().is_empty() => Ok(Some(ApiKey::new(v.trim().to_owned()))),
                Some(_) => Err(format!("the environment variable {var} is empty")),
                None => Err(format!("the environment variable {var} is not set")),
            },
            KeySource::Command(cmd) => key_from_command(cmd, KEY_COMMAND_TIMEOUT).map(Some),
            KeySource::Failed(message) => Err(message.clone()),
        }
    }

    /// Runs an `api_key_cmd` now and keeps what it gave (the key, or why there is
    /// none), so that resolving does not run it again; any other source is kept.
    #[must_use]
    pub fn run_command(self) -> KeySource {
        match self {
            KeySource::Command(cmd) => match key_from_command(&cmd, KEY_COMMAND_TIMEOUT) {
                Ok(key) => KeySource::Inline(key),
                Err(message) => KeySource::Failed(message),
            },
            other => other,
        }
    }
}

/// Runs an `api_key_cmd` for at most `timeout`; the key is the first line of its
/// stdout. Errors name the command and show its stderr, never its stdout.
fn key_from_command(cmd: &str, timeout: Duration) -> Result<ApiKey, String> {
    let done = run_bounded(cmd, timeout)?;
    if !done.status.success() {
        let said = String::from_utf8_lossy(&done.stderr);
        let said = said.trim();
        let mut message = format!("api_key_cmd `{cmd}` failed ({})", done.status);
        if !said.is_empty() {
            message.push_str(": ");
            // The characters shown and the mark of the cut.
            message.push_str(&shorten(said, STDERR_SHOWN + 1));
        }
        return Err(message);
    }
    let stdout = String::from_utf8(done.stdout)
        .map_err(|_| format!("api_key_cmd `{cmd}` printed something that is not UTF-8"))?;
    match stdout.lines().next().map(str::trim) {
        Some(key) if !key.is_empty() => Ok(ApiKey::new(key.to_owned())),
        _ => Err(format!("api_key_cmd `{cmd}` printed nothing")),
    }
}

/// What a finished command gave.
struct Finished {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Runs `cmd` in the shell until it exits and closes its output, or until
/// `timeout`, when it and everything it started are killed.
fn run_bounded(cmd: &str, timeout: Duration) -> Result<Finished, String> {
    let deadline = Instant::now() + timeout;
    let mut command = shell(cmd);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    // Its own process group, so that what it started can be killed with it.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| format!("api_key_cmd `{cmd}` could not run: {e}"))?;
    // Read on threads, so that a full pipe never stops the command.
    let (sender, received) = mpsc::channel::<(bool, Vec<u8>)>();
    let pipes: [(bool, Option<Box<dyn Read + Send>>); 2] = [
        (true, child.stdout.take().map(|p| Box::new(p) as _)),
        (false, child.stderr.take().map(|p| Box::new(p) as _)),
    ];
    for (is_stdout, pipe) in pipes {
        let sender = sender.clone();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            let _ = sender.send((is_stdout, bytes));
        });
    }
    drop(sender);
    let (mut stdout, mut stderr, mut open) = (Vec::new(), Vec::new(), 2);
    let mut status = None;
    loop {
        if status.is_none() {
            status = child
                .try_wait()
                .map_err(|e| format!("api_key_cmd `{cmd}` could not be waited for: {e}"))?;
        }
        if let (Some(status), 0) = (status, open) {
            return Ok(Finished {
                status,
                stdout,
                stderr,
            });
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            kill(&mut child);
            return Err(format!(
                "api_key_cmd `{cmd}` did not finish in {}; it was stopped",
                crate::time::format_duration(timeout)
            ));
        }
        let tick = left.min(Duration::from_millis(10));
        if open == 0 {
            // Output closed, the command still running.
            std::thread::sleep(tick);
            continue;
        }
        match received.recv_timeout(tick) {
            Ok((true, bytes)) => (stdout, open) = (bytes, open - 1),
            Ok((false, bytes)) => (stderr, open) = (bytes, open - 1),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => open = 0,
        }
    }
}

/// Kills the command and its process group, and reaps it.
fn kill(child: &mut Child) {
    #[cfg(unix)]
    {
        // The shell's own `kill`: the group's id is the command's pid.
        let group = format!("kill -s KILL -- -{} 2>/dev/null", child.id());
        let _ = Command::new("sh")
            .args(["-c", &group])
            .stdin(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn shell(cmd: &str) -> Command {
    let mut c = if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.arg("/C");
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c");
        c
    };
    c.arg(cmd).stdin(std::process::Stdio::null());
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn never_prints_an_inline_key() {
        let key = ApiKey::new("sk-very-secret".into());
        let source = KeySource::Inline(key);
        assert!(!format!("{source:?}").contains("sk-very"));
    }

    #[test]
    fn a_failing_command_shows_its_stderr_and_never_its_stdout() {
        let err = key_from_command(
            "printf 'sk-fake-%s\\n' key-0042; echo 'the vault is locked' >&2; exit 4",
            KEY_COMMAND_TIMEOUT,
        )
        .unwrap_err();
        assert!(err.contains("the vault is locked"), "{err}");
        assert!(err.contains("failed"), "{err}");
        // The command is named; what it printed on stdout is not shown.
        assert!(!err.contains("sk-fake-key-0042"), "{err}");
        // A long explanation is cut.
        let err =
            key_from_command("printf '%0500d' 0 >&2; exit 1", KEY_COMMAND_TIMEOUT).unwrap_err();
        let shown = err.rsplit(": ").next().unwrap();
        assert_eq!(shown.chars().count(), STDERR_SHOWN + 1, "{err}");
        assert!(err.ends_with('…'), "{err}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_command_that_does_not_finish_is_killed_with_what_it_started() {
        // -- Setup: the shell starts a sleep of its own and waits for it.
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("sleep.pid");
        let cmd = format!("sleep 30 & echo $! > '{}'; wait", pid_file.display());
        // -- Exec
        let started = Instant::now();
        let err = key_from_command(&cmd, Duration::from_millis(300)).unwrap_err();
        // -- Check
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(err.contains(&format!("`{cmd}`")), "{err}");
        assert!(err.contains("did not finish in 300ms"), "{err}");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let stat = Path::new("/proc").join(pid.trim()).join("stat");
        // Gone, or a zombie waiting for its new parent to reap it.
        let waited = Instant::now();
        while let Ok(line) = std::fs::read_to_string(&stat) {
            if line
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
            {
                break;
            }
            assert!(
                waited.elapsed() < Duration::from_secs(5),
                "still running: {line}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_command_run_ahead_keeps_its_key_or_its_error() {
        let none = |_: &str| None;
        let got = KeySource::Command("echo k-ahead".into()).run_command();
        assert_eq!(got.resolve(&none).unwrap().unwrap().expose(), "k-ahead");
        let failed = KeySource::Command("echo why >&2; exit 3".into()).run_command();
        let err = failed.resolve(&none).unwrap_err();
        assert!(
            err.contains("`echo why >&2; exit 3` failed") && err.ends_with("why"),
            "{err}"
        );
        assert_eq!(KeySource::None.run_command(), KeySource::None);
    }

    #[test]
    fn env_and_command_sources() {
        let lookup = |name: &str| (name == "SET").then(|| "abc".to_owned());
        assert_eq!(
            KeySource::Env("SET".into())
                .resolve(&lookup)
                .unwrap()
                .unwrap()
                .expose(),
            "abc"
        );
        let err = KeySource::Env("MISSING_KEY".into())
            .resolve(&lookup)
            .unwrap_err();
        assert!(err.contains("MISSING_KEY"), "{err}");

        let key = KeySource::Command("echo k-123; echo second".into())
            .resolve(&lookup)
            .unwrap()
            .unwrap();
        assert_eq!(key.expose(), "k-123");
        assert!(
            KeySource::Command("exit 3".into())
                .resolve(&lookup)
                .unwrap_err()
                .contains("failed")
        );
        assert!(
            KeySource::Command("true".into())
                .resolve(&lookup)
                .unwrap_err()
                .contains("printed nothing")
        );
    }
}
