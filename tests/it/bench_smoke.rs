//! Keeps the benchmark runner from rotting: `bench/run.py --quick` against the
//! debug binaries must finish and print every figure. The numbers are not
//! checked (debug builds, a busy machine); BENCHMARKS.md holds real figures.
//!
//! Skips (passing) when python3 ≥ 3.9 is not installed, or when `route-mock`
//! was not built next to `route` (`cargo test --workspace` builds it).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The figure names the runner prints, in bench/run.py's `FIGURES`.
const FIGURES: [&str; 10] = [
    "start-up",
    "per-request overhead",
    "first token",
    "stream throughput",
    "failover",
    "fan-out",
    "memory",
    "ledger",
    "conversations",
    "peer",
];

fn python() -> Option<&'static str> {
    let ok = Command::new("python3")
        .args(["-c", "import sys; sys.exit(sys.version_info < (3, 9))"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some("python3")
}

#[test]
#[allow(clippy::print_stderr)] // a skip says why, in the test's output
fn quick_run_prints_every_figure() {
    let Some(python) = python() else {
        eprintln!("skipped: python3 (3.9 or later) is not installed");
        return;
    };
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_route"))
        .parent()
        .expect("the binary has a folder");
    if !bin_dir.join("route-mock").exists() {
        eprintln!(
            "skipped: {} not built (cargo build -p route-mock)",
            bin_dir.join("route-mock").display()
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::NamedTempFile::new().expect("temp file");
    let err = tempfile::NamedTempFile::new().expect("temp file");
    let mut child = Command::new(python)
        .arg(root.join("bench/run.py"))
        .arg("--quick")
        .arg("--bin-dir")
        .arg(bin_dir)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(out.reopen().expect("reopen"))
        .stderr(err.reopen().expect("reopen"))
        .spawn()
        .expect("python3 runs");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("bench/run.py --quick took more than 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(out.path()).expect("read the output");
    let stderr = std::fs::read_to_string(err.path()).unwrap_or_default();
    assert!(
        status.success(),
        "bench/run.py --quick failed ({status})\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    for figure in FIGURES {
        assert!(
            stdout.contains(&format!("| {figure} |")),
            "no `{figure}` row\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
    }
}
