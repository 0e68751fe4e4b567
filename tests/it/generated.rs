//! Generated files stay in step with the command line (issue 7): the completion
//! scripts under `completions/` and the man pages under `man/` are regenerated here
//! and compared with the committed ones. `ROUTE_REGENERATE=1 cargo test --test it
//! generated` rewrites them. Also: every `--help` carries examples, bash completes
//! model names from the profile, no script offers a hidden flag, and the man pages
//! carry the sections `route --help` ends with (issue 13).

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use route::cli::{Cli, SECTIONS};
use route::commands::completions::{SHELLS, dynamic_part, file_name, man_pages};
use route::exit::ExitStatus;

use crate::support::TestEnv;

const HOW: &str = "regenerate with: ROUTE_REGENERATE=1 cargo test --test it generated";

fn repo(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)
}

fn regenerate() -> bool {
    std::env::var_os("ROUTE_REGENERATE").is_some_and(|v| v != "0")
}

/// Compares `fresh` with the committed file, or rewrites it under `ROUTE_REGENERATE`.
fn compare(path: &Path, fresh: &[u8]) {
    if regenerate() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, fresh).unwrap();
        return;
    }
    let committed = std::fs::read(path)
        .unwrap_or_else(|e| panic!("{} cannot be read ({e}); {HOW}", path.display()));
    assert!(
        committed == fresh,
        "{} is out of date with the command line; {HOW}",
        path.display()
    );
}

#[test]
fn completions_are_up_to_date() {
    let env = TestEnv::new();
    for shell in SHELLS {
        let name = format!("{shell:?}").to_lowercase();
        let run = env.run(&["completions", &name]);
        run.expect_code(0);
        assert!(run.stdout.contains("route"), "{name}: {}", run.stdout);
        compare(
            &repo("completions").join(file_name(shell)),
            run.stdout.as_bytes(),
        );
    }
}

#[test]
fn man_pages_are_up_to_date() {
    let pages = man_pages();
    let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"route.1") && names.contains(&"route-ask.1"),
        "{names:?}"
    );
    assert!(names.contains(&"route-cost-estimate.1"), "{names:?}");
    for (name, bytes) in &pages {
        compare(&repo("man").join(name), bytes);
    }
    // No page is left for a subcommand that is gone.
    if !regenerate() {
        for entry in std::fs::read_dir(repo("man")).unwrap() {
            let file = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                names.contains(&file.as_str()),
                "man/{file} is not generated any more; delete it"
            );
        }
    }
    let main = String::from_utf8_lossy(&pages.iter().find(|(n, _)| n == "route.1").unwrap().1)
        .into_owned();
    assert!(main.contains("route\\-ask(1)"), "{main}");
}

/// Every subcommand path, `["ask"]`, …, `["cost", "estimate"]`.
fn subcommand_paths(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_owned());
        out.push(path.clone());
        subcommand_paths(sub, &path, out);
    }
}

#[test]
fn every_help_has_examples() {
    let env = TestEnv::new();
    let mut paths = vec![Vec::new()];
    subcommand_paths(&route::cli::Cli::command(), &[], &mut paths);
    assert!(paths.len() >= 8, "{paths:?}");
    let missing: Vec<String> = paths
        .iter()
        .filter(|path| {
            let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
            args.push("--help");
            let run = env.run(&args);
            run.expect_code(0);
            !run.stdout.contains("Examples:")
        })
        .map(|p| format!("route {} --help", p.join(" ")))
        .collect();
    assert!(missing.is_empty(), "no \"Examples:\" in: {missing:?}");
}

#[test]
fn bash_completes_model_names_from_the_profile() {
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_err()
    {
        return; // no bash here
    }
    let mut env = TestEnv::new();
    let profile = env.profile(
        "[providers.o]\nkind = \"openai\"\n[models.sonnet]\nprovider = \"o\"\nmodel = \"m\"\n\
         [models.gpt]\nprovider = \"o\"\nmodel = \"m\"\n[chains.main]\nmodels = [\"gpt\"]\n",
    );
    let bin = Path::new(env!("CARGO_BIN_EXE_route")).parent().unwrap();
    let script = repo("completions").join("route.bash");
    let complete = |words: &str, cword: usize| {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}'; COMP_WORDS=({words}); COMP_CWORD={cword}; _route_dynamic_complete; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                script.display()
            ))
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("ROUTE_PROFILE", &profile)
            .env("HOME", env.path())
            .output()
            .expect("bash");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(complete("route ask -m ''", 3), "gpt\nsonnet\nmain\n");
    assert_eq!(complete("route ask -m s", 3), "sonnet\n");
    assert_eq!(complete("route compare --model gpt,m", 3), "gpt,main\n");
    assert_eq!(complete("route drill ''", 2), "main\n");
}

/// What would give a hidden flag or subcommand away in a script: `--flag`, fish's
/// `-l flag`, and the first words of its help.
fn hidden_needles(cmd: &clap::Command, out: &mut Vec<String>) {
    let first_words = |help: String| -> String {
        help.chars()
            .take_while(|c| c.is_alphanumeric() || *c == ' ')
            .collect()
    };
    for arg in cmd.get_arguments().filter(|a| a.is_hide_set()) {
        if let Some(long) = arg.get_long() {
            out.push(format!("--{long}"));
            out.push(format!("-l {long}"));
        }
        if let Some(help) = arg.get_help() {
            out.push(first_words(help.to_string()));
        }
    }
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() {
            out.push(format!("{}__", sub.get_name()));
            if let Some(about) = sub.get_about() {
                out.push(first_words(about.to_string()));
            }
        }
        hidden_needles(sub, out);
    }
}

#[test]
fn no_completion_script_offers_a_hidden_flag() {
    let mut needles = Vec::new();
    hidden_needles(&Cli::command(), &mut needles);
    assert!(needles.iter().any(|n| n == "--names"), "{needles:?}");
    for shell in SHELLS {
        let path = repo("completions").join(file_name(shell));
        let committed = std::fs::read_to_string(&path).unwrap();
        // The hand-written part calls `route models --names`; it offers nothing.
        let generated = committed.replace(dynamic_part(shell), "");
        for needle in &needles {
            assert!(
                !generated.contains(needle.as_str()),
                "{} offers the hidden `{needle}`",
                path.display()
            );
        }
    }
}

/// route's own variables (src/env.rs) and those of every provider kind.
fn env_vars() -> Vec<String> {
    let source = std::fs::read_to_string(repo("src").join("env.rs")).unwrap();
    source
        .lines()
        .filter_map(|l| l.strip_prefix("pub const "))
        .filter_map(|l| l.split('"').nth(1))
        .map(str::to_owned)
        .chain(
            route::provider::kind::env_vars()
                .into_iter()
                .map(str::to_owned),
        )
        .collect()
}

/// Every exit code, by an exhaustive match so that a new one fails to compile here.
fn exit_codes() -> Vec<u8> {
    let all = [
        ExitStatus::Success,
        ExitStatus::Failed,
        ExitStatus::Usage,
        ExitStatus::Budget,
        ExitStatus::Incomplete,
        ExitStatus::Interrupted,
        ExitStatus::Terminated,
    ];
    for status in all {
        match status {
            ExitStatus::Success
            | ExitStatus::Failed
            | ExitStatus::Usage
            | ExitStatus::Budget
            | ExitStatus::Incomplete
            | ExitStatus::Interrupted
            | ExitStatus::Terminated => {}
        }
    }
    all.iter().map(|s| s.code()).collect()
}

/// roff's spelling of plain text, as the man pages write it.
fn roff(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('-', "\\-")
        .replace('\'', "\\*(Aq")
}

#[test]
fn the_man_page_and_help_carry_exit_status_environment_files_and_profile() {
    let pages = man_pages();
    let page = |name: &str| {
        let (_, bytes) = pages.iter().find(|(n, _)| n == name).unwrap();
        String::from_utf8(bytes.clone()).unwrap()
    };
    let main = page("route.1");
    let help = TestEnv::new().run(&["--help"]);
    help.expect_code(0);
    let help = help.stdout;
    for heading in [
        ".SH EXAMPLES",
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH PROFILE",
        ".SH \"SEE ALSO\"",
    ] {
        assert!(main.contains(heading), "route.1 has no {heading}:\n{main}");
    }
    // One source: every term of every section is in both.
    for section in SECTIONS {
        assert!(help.contains(&format!("\n{}:\n", section.title)), "{help}");
        for (term, _) in section.items {
            assert!(help.contains(term), "route --help lacks {term}");
            assert!(main.contains(&roff(term)), "route.1 lacks {term}");
        }
        for line in section.example.lines().filter(|l| !l.is_empty()) {
            assert!(help.contains(line), "route --help lacks {line}");
            assert!(main.contains(&roff(line)), "route.1 lacks {line}");
        }
    }
    let exit_status = &main[main.find(".SH \"EXIT STATUS\"").unwrap()..];
    for code in exit_codes() {
        assert!(
            exit_status.contains(&format!(".TP\n\\fB{code}\\fR\n")),
            "route.1 does not explain exit code {code}"
        );
    }
    let environment = &main[main.find(".SH ENVIRONMENT").unwrap()..];
    let vars = env_vars();
    assert!(vars.len() >= 10, "{vars:?}");
    for var in vars {
        assert!(environment.contains(&var), "route.1 does not explain {var}");
    }
    let files = &main[main.find(".SH FILES").unwrap()..];
    for file in [
        "profile.toml",
        route::ledger::FILE_NAME,
        route::catalog::CACHE_FILE_NAME,
    ] {
        assert!(files.contains(file), "route.1 does not name {file}");
    }
    assert!(
        main.contains("route(8)") && main.contains("man 1 route"),
        "{main}"
    );
    // Every page shows its examples, and points at route(1) for the rest.
    for (name, bytes) in &pages {
        let text = String::from_utf8_lossy(bytes);
        assert!(text.contains(".SH EXAMPLES\n"), "{name} has no EXAMPLES");
        assert!(!text.contains(".SH EXTRA"), "{name} still has EXTRA");
        assert!(text.contains("route(1)") || name == "route.1", "{name}");
    }
}
