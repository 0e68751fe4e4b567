//! First impressions (issue 13): the profiles that README.md, `route --help` and
//! `dev/demo.sh` show are current (no floating id, no retired snapshot, no error), the
//! README says how to tell this `route` from net-tools' `/usr/sbin/route`, and the demo
//! says what it builds and shows the build's progress.

use std::path::Path;

use route::cli::PROFILE;

use crate::support::TestEnv;

fn repo_file(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The first fenced block of `lang` after `heading` in a Markdown text.
fn block_after<'a>(text: &'a str, heading: &str, lang: &str) -> &'a str {
    let from = text.find(heading).unwrap_or_else(|| panic!("no {heading}"));
    let fence = format!("```{lang}\n");
    let start = from + text[from..].find(&fence).expect("a fenced block") + fence.len();
    let len = text[start..].find("```").expect("the closing fence");
    &text[start..start + len]
}

/// `route init --check` on `profile`, with every key variable set and a `pass` that
/// prints a key: it must find nothing to say, not even a warning.
#[track_caller]
fn check_is_clean(what: &str, profile: &str) {
    let mut env = TestEnv::new();
    env.profile(profile);
    for var in ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GROQ_API_KEY"] {
        env.env(var, "test-key");
    }
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let pass = bin.join("pass");
    std::fs::write(&pass, "#!/bin/sh\necho test-key\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    env.env("PATH", &path);
    let run = env.run(&["init", "--check"]);
    run.expect_code(0);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        !said.contains("warning") && !said.contains("error"),
        "{what}: `route init --check` is not clean:\n{said}"
    );
}

#[test]
fn the_readme_profile_is_current() {
    let readme = repo_file("README.md");
    let profile = block_after(&readme, "## A first profile", "toml");
    assert!(profile.contains("[models."), "{profile}");
    check_is_clean("README.md's profile", profile);
}

#[test]
fn the_help_profile_is_current() {
    check_is_clean("route --help's profile", PROFILE.example);
}

#[test]
fn the_demo_profile_is_current() {
    let demo = repo_file("dev/demo.sh");
    let start = demo.find("<<TOML\n").expect("the demo's profile") + "<<TOML\n".len();
    let len = demo[start..].find("\nTOML\n").expect("its end");
    let profile = demo[start..start + len].replace("$url", "http://127.0.0.1:9");
    check_is_clean("dev/demo.sh's profile", &profile);
}

#[test]
fn the_readme_says_which_route_runs() {
    let readme = repo_file("README.md");
    let install =
        &readme[readme.find("## Install").unwrap()..readme.find("## A first profile").unwrap()];
    for needle in [
        "/usr/sbin/route",
        "type -a route",
        "route --version",
        "man 1 route",
        "man -w route",
    ] {
        assert!(
            install.contains(needle),
            "README's install section lacks `{needle}`"
        );
    }
    // What the README promises `route --version` prints.
    let run = TestEnv::new().run(&["--version"]);
    run.expect_code(0);
    assert_eq!(run.stdout, format!("route {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn the_demo_shows_its_build() {
    let demo = repo_file("dev/demo.sh");
    let builds: Vec<&str> = demo
        .lines()
        .filter(|l| l.trim_start().starts_with("cargo build"))
        .collect();
    assert!(!builds.is_empty(), "the demo builds nothing");
    for line in builds {
        assert!(
            !line.contains("--quiet") && !line.contains(" -q"),
            "a silent build: {line}"
        );
    }
    assert!(
        demo.contains("building route and route-mock (first time: a few minutes)"),
        "the demo does not say what it builds"
    );
}
