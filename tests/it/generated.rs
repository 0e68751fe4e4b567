//! Generated files stay in step with the command line (issue 7): the completion
//! scripts under `completions/` and the man pages under `man/` are regenerated here
//! and compared with the committed ones. `ROUTE_REGENERATE=1 cargo test --test it
//! generated` rewrites them. Also: every `--help` carries examples, and bash
//! completes model names from the profile.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use route::commands::completions::{SHELLS, file_name, man_pages};

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
