//! `route init` and `route init --check` (issue 7): the starter profile in an empty
//! config dir (content, mode 0600, it loads), the refusal to overwrite, `--force`,
//! and the check that lists every problem at once.

use crate::support::TestEnv;

/// Where `route init` writes in a test env (`XDG_CONFIG_HOME` is `<dir>/config`).
fn default_profile(env: &TestEnv) -> std::path::PathBuf {
    env.path().join("config").join("route").join("profile.toml")
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_writes_a_private_profile_from_the_keys_found() {
    // -- Setup
    let mut env = TestEnv::new();
    env.env("OPENAI_API_KEY", "sk-openai-secret-value");
    env.env("GOOGLE_API_KEY", "google-secret-value");
    // -- Exec
    let run = env.run(&["init"]);
    // -- Check
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    let path = default_profile(&env);
    assert!(
        run.stderr.contains(&path.display().to_string()),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("route models"), "{}", run.stderr);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("[providers.openai]"), "{text}");
    assert!(text.contains("api_key_env = \"OPENAI_API_KEY\""), "{text}");
    assert!(text.contains("[providers.gemini]"), "{text}");
    assert!(text.contains("api_key_env = \"GOOGLE_API_KEY\""), "{text}");
    assert!(text.contains("[chains.main]"), "{text}");
    assert!(text.contains("models = [\"gpt\", \"flash\"]"), "{text}");
    assert!(text.contains("default = \"main\""), "{text}");
    assert!(text.contains("# [providers.anthropic]"), "{text}");
    assert!(text.contains("# [budget]"), "{text}");
    assert!(text.contains("# retries = 1"), "{text}");
    assert!(!text.contains("secret-value"), "a key was written:\n{text}");
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);

    // It loads: `route models` uses it (the env profile has no pinned gpt4o).
    let models = env.run(&["models", "--json"]);
    models.expect_code(0);
    let rows = models.json().as_array().cloned().unwrap();
    let gpt4o = rows.iter().find(|r| r["name"] == "gpt4o").unwrap();
    assert_eq!(gpt4o["pinned"], true, "{gpt4o:#}");
    assert!(
        rows.iter()
            .any(|r| r["name"] == "main" && r["type"] == "chain")
    );
    assert!(!rows.iter().any(|r| r["provider"] == "anthropic"));
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let mut env = TestEnv::new();
    env.env("ANTHROPIC_API_KEY", "k");
    env.run(&["init"]).expect_code(0);
    let path = default_profile(&env);
    std::fs::write(&path, "# my own edits\n").unwrap();

    let again = env.run(&["init"]);
    again.expect_code(2);
    assert!(
        again.stderr.contains(&path.display().to_string()) && again.stderr.contains("--force"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# my own edits\n");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let forced = env.run(&["init", "--force"]);
    forced.expect_code(0);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("[providers.anthropic]"), "{text}");
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn init_without_keys_writes_nothing_and_says_what_to_set() {
    let mut env = TestEnv::new();
    let run = env.run(&["init"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("no provider key was found")
            && run.stderr.contains("OPENAI_API_KEY")
            && run.stderr.contains("ANTHROPIC_API_KEY"),
        "{}",
        run.stderr
    );
    // No profile of comments only that would shadow the keys set later.
    assert!(!default_profile(&env).exists());
    env.env("OPENAI_API_KEY", "sk-later");
    let models = env.run(&["models"]);
    models.expect_code(0);
    assert!(models.stdout.contains("gpt"), "{}", models.stdout);
}

#[test]
fn init_writes_where_profile_points() {
    let mut env = TestEnv::new();
    env.env("OLLAMA_HOST", "127.0.0.1:9");
    let target = env.path().join("elsewhere").join("p.toml");
    let run = env.run(&["init", "--profile", &target.display().to_string()]);
    run.expect_code(0);
    let text = std::fs::read_to_string(&target).unwrap();
    assert!(text.contains("[providers.ollama]"), "{text}");
    assert!(!default_profile(&env).exists());
}

#[test]
fn check_lists_every_problem_at_once() {
    let mut env = TestEnv::new();
    env.env("SET_KEY", "sk-should-never-be-printed");
    let path = env.profile(
        r#"default = "mian"
[settings]
retries = 11
idle_timeout = "5 parsecs"
first_token_timout = "5s"

[providers.openai]
kind = "openai"
api_key_env = "MISSING_OPENAI_KEY"

[providers.lab]
kind = "opnai"

[providers.cmd]
kind = "openai"
api_key_cmd = "exit 7"

[providers.inline]
kind = "openai"
api_key = "sk-inline-secret"

[providers.fine]
kind = "openai"
api_key_env = "SET_KEY"

[models.gpt]
provider = "openai"
model = "gpt-4o"

[models.stray]
provider = "nowhere"
model = "x"

[models.unpriced]
provider = "fine"
model = "house-model-2025-01-01"

[chains.main]
models = ["gpt", "main", "gtp"]
"#,
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let run = env.run(&["init", "--check"]);
    run.expect_code(2);
    let p = path.display().to_string();
    let mut expected = vec![
        format!("{p}:1:11: error: default `mian`"),
        format!("{p}:3:11: error: settings.retries must be between 0 and 10 (got 11)"),
        format!("{p}:4:16: error: settings.idle_timeout"),
        format!("{p}:5:1: error: unknown key `settings.first_token_timout`"),
        "did you mean `first_token_timeout`?".to_owned(),
        "MISSING_OPENAI_KEY is not set".to_owned(),
        format!("{p}:12:8: error: providers.lab: unknown kind `opnai`"),
        "api_key_cmd `exit 7` failed".to_owned(),
        "warning: alias `gpt` uses the floating id `gpt-4o`".to_owned(),
        "models.stray: unknown provider `nowhere`".to_owned(),
        "no known price for `house-model-2025-01-01`".to_owned(),
        "chain `main` names itself".to_owned(),
        "chain `main`: unknown model alias `gtp`".to_owned(),
    ];
    #[cfg(unix)]
    expected.push("written in a file that others can read (mode 0644)".to_owned());
    for needle in &expected {
        assert!(
            run.stdout.contains(needle),
            "missing {needle:?} in\n{}",
            run.stdout
        );
    }
    // Values never appear; each problem has its place.
    assert!(!run.stdout.contains("sk-inline-secret") && !run.stderr.contains("sk-inline-secret"));
    assert!(!run.stdout.contains("sk-should-never") && !run.stderr.contains("sk-should-never"));
    for line in run.stdout.lines().filter(|l| !l.starts_with("  hint:")) {
        assert!(line.starts_with(&format!("{p}:")), "{line}");
    }
    assert!(run.stderr.contains("errors and"), "{}", run.stderr);
}

#[test]
fn check_of_a_clean_profile_is_exit_0() {
    let mut env = TestEnv::new();
    env.env("ANTHROPIC_API_KEY", "k");
    env.profile(
        "default = \"main\"\n[providers.anthropic]\nkind = \"anthropic\"\napi_key_env = \"ANTHROPIC_API_KEY\"\n\
         [models.haiku]\nprovider = \"anthropic\"\nmodel = \"claude-haiku-4-5-20251001\"\n\
         [chains.main]\nmodels = [\"haiku\"]\n",
    );
    let run = env.run(&["init", "--check"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("no problems found"), "{}", run.stderr);
}

#[test]
fn check_without_a_profile_says_to_run_init() {
    let env = TestEnv::new();
    let run = env.run(&["init", "--check"]);
    run.expect_code(2);
    assert!(run.stderr.contains("route init"), "{}", run.stderr);
}

#[test]
fn check_and_ask_agree_that_an_own_server_needs_no_key() {
    // A provider with its own base_url and no api_key_*: no key is needed, and
    // OPENAI_API_KEY is never sent there.
    let server = crate::support::MockServer::start(crate::support::Script::default());
    let mut env = TestEnv::new();
    env.env("OPENAI_API_KEY", "sk-real-openai-key");
    env.profile(&format!(
        "[providers.local]\nkind = \"openai\"\nbase_url = \"{}/v1\"\n\
         [models.l]\nprovider = \"local\"\nmodel = \"llama-2024-01-01\"\ninput_cost = 0.0\noutput_cost = 0.0\n",
        server.url()
    ));
    let check = env.run(&["init", "--check"]);
    check.expect_code(0);
    env.run(&["ask", "-m", "l", "hi"]).expect_code(0);
    assert_eq!(server.requests()[0].header("authorization"), None);
}
