//! Finding and reading the profile: `--profile` > `ROUTE_PROFILE` > the config
//! dir; and, when there is no file at all, the profile built from the
//! environment's API keys.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::walk::{self, Style};
use super::{Chain, KeySource, ModelAlias, ModelOverrides, Profile, Provider, Settings, Strategy};
use crate::env;
use crate::error::Error;

/// What decides which profile is loaded.
pub struct LoadOptions<'a> {
    /// `--profile PATH`.
    pub flag: Option<&'a Path>,
    /// Reads an environment variable (the process's, or a test's).
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// The default profile location: `<config dir>/route/profile.toml`.
pub fn default_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.config_dir().join("route").join("profile.toml"))
}

/// Loads and validates the profile.
pub fn load(opts: &LoadOptions<'_>) -> Result<Profile, Error> {
    let explicit = opts.flag.map(Path::to_path_buf).or_else(|| {
        (opts.env)(env::ROUTE_PROFILE)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    });
    let path = match explicit {
        Some(path) => {
            if !path.exists() {
                return Err(Error::usage_hint(
                    format!("profile {} does not exist", path.display()),
                    Some("run `route init` to write a starter profile".into()),
                ));
            }
            path
        }
        None => match default_path().filter(|p| p.exists()) {
            Some(path) => path,
            None => return from_env(opts.env),
        },
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::usage(format!("cannot read profile {}: {e}", path.display())))?;
    parse(&path, &text, opts.env)
}

/// Parses profile text; `path` is only used in messages and for the 0600 rule.
pub fn parse(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Profile, Error> {
    let mut walked = walk::walk(path, text, Style::Load, env);
    match walked.first_error() {
        Some(problem) => Err(problem.into_error(path)),
        None => Ok(walked.profile),
    }
}

/// The profile built from API keys in the environment when no file exists:
/// every kind's [`EnvProvider`](crate::provider::kind::EnvProvider) whose
/// variable is set, its aliases, and a chain `main` of their first aliases.
pub fn from_env(env_var: &dyn Fn(&str) -> Option<String>) -> Result<Profile, Error> {
    let set = |name: &str| env_var(name).is_some_and(|v| !v.trim().is_empty());
    let mut providers = BTreeMap::new();
    let mut found = Vec::new();
    for kind in crate::provider::KINDS {
        for entry in kind.spec().from_env {
            let Some(var) = entry.vars.iter().copied().find(|v| set(v)) else {
                continue;
            };
            let key = if entry.var_is_key {
                KeySource::Env(var.to_owned())
            } else {
                KeySource::None
            };
            let base_url = entry
                .base_url
                .map(str::to_owned)
                .or_else(|| kind.default_base_url(env_var))
                .unwrap_or_default();
            providers.insert(
                entry.name.to_owned(),
                Provider {
                    name: entry.name.to_owned(),
                    kind: *kind,
                    base_url,
                    key,
                    headers: Vec::new(),
                    api_version: None,
                    continuation: crate::provider::Continuation::None,
                    stream_usage: None,
                },
            );
            found.push(entry);
        }
    }
    if providers.is_empty() {
        return Err(Error::usage_hint(
            "no profile and no provider keys in the environment",
            Some(format!(
                "set one of {}, or run `route init` to write a profile",
                crate::provider::kind::env_profile_variables()
            )),
        ));
    }

    let models: BTreeMap<String, ModelAlias> = found
        .iter()
        .flat_map(|entry| {
            entry.aliases.iter().map(|(alias, model)| {
                (
                    (*alias).to_owned(),
                    ModelAlias {
                        name: (*alias).to_owned(),
                        provider: entry.name.to_owned(),
                        model: (*model).to_owned(),
                        overrides: ModelOverrides::default(),
                    },
                )
            })
        })
        .collect();
    // The main chain: each provider's first alias, in the providers' chain order.
    found.sort_by_key(|entry| entry.chain);
    let main = found
        .iter()
        .filter_map(|entry| entry.aliases.first())
        .map(|(alias, _)| (*alias).to_owned())
        .collect();
    let settings = Settings::default();
    let chains = BTreeMap::from([(
        "main".to_owned(),
        Chain {
            name: "main".into(),
            models: main,
            strategy: Strategy::Fallback,
            settings,
        },
    )]);
    Ok(Profile {
        path: None,
        default: Some("main".into()),
        settings,
        providers,
        models,
        chains,
        budget: super::Budget::default(),
        store_text: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::env::fixed as env_of;

    #[test]
    fn env_profile_from_keys() {
        let p = from_env(&env_of(&[
            ("OPENAI_API_KEY", "x"),
            ("ANTHROPIC_API_KEY", "y"),
        ]))
        .unwrap();
        assert_eq!(p.providers.len(), 2);
        assert_eq!(p.chains["main"].models, vec!["sonnet", "gpt"]);
        assert!(p.models.contains_key("gpt4o"));
        assert!(!p.models.contains_key("flash"));
    }

    #[test]
    fn env_profile_without_keys_says_what_to_set() {
        let err = from_env(&env_of(&[])).unwrap_err().to_string();
        assert!(
            err.contains("OPENAI_API_KEY") && err.contains("route init"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_names_line_and_suggests() {
        let text = "[settings]\nretries = 2\nidle_timout = \"5s\"\n";
        let err = parse(Path::new("p.toml"), text, &|_| None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("p.toml:3:1"), "{err}");
        assert!(err.contains("idle_timeout"), "{err}");
    }

    #[test]
    fn bad_duration_names_key_and_place() {
        let text = "[settings]\ncooldown = \"5 parsecs\"\n";
        let err = parse(Path::new("p.toml"), text, &|_| None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("p.toml:2:12") && err.contains("cooldown"),
            "{err}"
        );
    }

    #[test]
    fn full_profile_parses() {
        let text = r#"
default = "main"
[settings]
retries = 2
backoff = "100ms"
[providers.openai]
kind = "openai"
api_key_env = "OPENAI_API_KEY"
[providers.local]
kind = "ollama"
[models.gpt]
provider = "openai"
model = "gpt-4o-2024-08-06"
input_cost = 2.5
params = { temperature = 0.2, custom = "x" }
[chains.main]
models = ["gpt", "local/llama3.2"]
strategy = "cheapest"
idle_timeout = "3s"
[budget]
daily = 5
"#;
        let p = parse(Path::new("p.toml"), text, &|_| None).unwrap();
        assert_eq!(p.settings.retries, 2);
        assert_eq!(p.chains["main"].settings.idle_timeout.as_secs(), 3);
        assert_eq!(p.chains["main"].settings.retries, 2);
        assert_eq!(p.chains["main"].strategy, Strategy::Cheapest);
        assert_eq!(p.models["gpt"].overrides.params.temperature, Some(0.2));
        assert_eq!(p.providers["local"].base_url, "http://127.0.0.1:11434");
        assert_eq!(p.budget.daily, Some(crate::money::Usd::dollars(5)));
    }

    #[test]
    fn chain_errors() {
        let base =
            "[providers.o]\nkind = \"openai\"\n[models.a]\nprovider = \"o\"\nmodel = \"m\"\n";
        let selfref = format!("{base}[chains.c]\nmodels = [\"a\", \"c\"]\n");
        let err = parse(Path::new("p.toml"), &selfref, &|_| None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("names itself") && err.contains(":7:"), "{err}");
        let unknown = format!("{base}[chains.c]\nmodels = [\"b\"]\n");
        assert!(
            parse(Path::new("p.toml"), &unknown, &|_| None)
                .unwrap_err()
                .to_string()
                .contains("unknown model alias `b`")
        );
    }
}

/// Property tests (issue 9): no profile text makes the parser panic, and
/// every error it gives names the file, the line and the column, on one line.
#[cfg(test)]
mod fuzz {
    use std::fmt::Write as _;
    use std::path::Path;

    use proptest::prelude::*;
    use proptest::sample::Index;

    use super::parse;
    use crate::provider::fuzz::config;

    const PATH: &str = "/nonexistent/route-fuzz/p.toml";

    /// The names the fuzzed tables are given; the values below refer to them.
    const INSTANCES: &[(&str, [&str; 2])] = &[
        ("providers", ["o", "a"]),
        ("models", ["m", "n"]),
        ("chains", ["c", "d"]),
    ];

    /// Every table of the schema (named ones twice, their sub-tables once), and one
    /// that is not.
    fn tables() -> Vec<String> {
        use crate::profile::schema::{TOP, Type};
        let mut out = vec!["unknown".to_owned()];
        for top in TOP {
            match top.ty {
                Type::Table(_) => out.push(top.name.to_owned()),
                Type::Named(keys) => {
                    let names = INSTANCES
                        .iter()
                        .find(|(table, _)| *table == top.name)
                        .map_or(["x", "y"], |(_, names)| *names);
                    for name in names {
                        out.push(format!("{}.{name}", top.name));
                    }
                    for key in keys {
                        if matches!(key.ty, Type::StringTable | Type::AnyTable) {
                            out.push(format!("{}.{}.{}", top.name, names[0], key.name));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }
    /// Every key of the schema, and some that are not: a parameter and a misspelling.
    fn keys() -> Vec<&'static str> {
        let mut keys = crate::profile::schema::every_name();
        keys.extend(["temperature", "idle_timout"]);
        keys
    }
    const VALUES: &[&str] = &[
        "\"5s\"",
        "\"250ms\"",
        "\"5 parsecs\"",
        "\"0s\"",
        "\"\"",
        "\"1e400s\"",
        "\"99999999999999999999999h\"",
        "\".s\"",
        "\"openai\"",
        "\"anthropic\"",
        "\"gemini\"",
        "\"ollama\"",
        "\"azure\"",
        "\"m\"",
        "\"n\"",
        "\"c\"",
        "\"o/x\"",
        "\"a,b\"",
        "\"http://127.0.0.1:1/v1\"",
        "\"not a url\"",
        "\"fallback\"",
        "\"cheapest\"",
        "\"fastest\"",
        "\"shuffle\"",
        "\"sideways\"",
        "0",
        "1",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "0.5",
        "-0.5",
        "1e308",
        "nan",
        "inf",
        "-inf",
        "true",
        "false",
        "1979-05-27T07:32:00Z",
        "1979-05-27",
        "07:32:00",
        "[]",
        "[\"m\"]",
        "[\"m\", \"c\"]",
        "[\"c\"]",
        "[\"zzz\"]",
        "[1, 2]",
        "{}",
        "{ temperature = 0.2 }",
        "{ when = 1979-05-27 }",
        "{ \"X-A\" = \"b\" }",
        "{ \"bad header\" = \"\\n\" }",
    ];

    /// Profiles built from the real table names, keys and tricky values.
    fn profile() -> impl Strategy<Value = String> {
        let line = (
            prop::sample::select(keys()),
            prop::sample::select(VALUES),
            any::<bool>(),
        );
        let table = (
            prop::sample::select(tables()),
            prop::collection::vec(line.clone(), 0..6),
        );
        (
            prop::collection::vec(line, 0..2),
            prop::collection::vec(table, 0..6),
        )
            .prop_map(|(top, tables)| {
                let mut text = String::new();
                let put = |text: &mut String, (k, v, quote): (&str, &str, bool)| {
                    if quote {
                        let _ = writeln!(text, "\"{k}\" = {v}");
                    } else {
                        let _ = writeln!(text, "{k} = {v}");
                    }
                };
                for l in top {
                    put(&mut text, l);
                }
                for (name, lines) in tables {
                    let _ = writeln!(text, "[{name}]");
                    for l in lines {
                        put(&mut text, l);
                    }
                }
                text
            })
    }

    const GOOD: &str = r#"default = "main"

[settings]
connect_timeout = "5s"
retries = 1
cooldown = "60s"

[providers.openai]
kind = "openai"
api_key_env = "OPENAI_API_KEY"
base_url = "https://api.openai.com/v1"
headers = { "OpenAI-Organization" = "org-123" }

[models.gpt]
provider = "openai"
model = "gpt-4o-mini"
input_cost = 0.15
output_cost = 0.6
context_window = 128000
params = { temperature = 0.2 }

[chains.main]
models = ["gpt", "openai/gpt-4o"]
strategy = "fallback"
idle_timeout = "10s"

[budget]
daily = 5.0
per_request = 0.5
"#;

    /// The good profile with a few characters changed, added or removed.
    fn damaged() -> impl Strategy<Value = String> {
        let edit = (
            0u8..3,
            any::<Index>(),
            prop::sample::select(
                &[
                    "\"", "=", "[", "]", "{", "}", ",", "\n", "#", "-", ".", "0", "x", "'", "\\",
                    "é",
                ][..],
            ),
        );
        prop::collection::vec(edit, 1..5).prop_map(|edits| {
            let mut s = GOOD.to_owned();
            for (op, at, text) in edits {
                let mut i = at.index(s.len() + 1);
                while !s.is_char_boundary(i) {
                    i -= 1;
                }
                match op {
                    0 => s.insert_str(i, text),
                    1 => {
                        let mut end = (i + text.len()).min(s.len());
                        while !s.is_char_boundary(end) {
                            end += 1;
                        }
                        s.replace_range(i..end, text);
                    }
                    _ => {
                        let mut end = (i + 1).min(s.len());
                        while !s.is_char_boundary(end) {
                            end += 1;
                        }
                        s.replace_range(i..end, "");
                    }
                }
            }
            s
        })
    }

    /// An error names `PATH:LINE:COL:` and is one line (a hint may follow).
    fn check(text: &str) -> Result<(), TestCaseError> {
        if let Err(e) = parse(Path::new(PATH), text, &|_| None) {
            let rest = e
                .message
                .strip_prefix(PATH)
                .and_then(|r| r.strip_prefix(':'));
            let place = rest.and_then(|r| {
                let mut parts = r.splitn(3, ':');
                let line = parts.next()?.parse::<usize>().ok()?;
                let col = parts.next()?.parse::<usize>().ok()?;
                Some((line, col))
            });
            prop_assert!(
                place.is_some(),
                "no file:line:col in {:?}\n{}",
                e.message,
                text
            );
            prop_assert!(!e.message.contains('\n'), "not one line: {:?}", e.message);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(config(1000))]

        #[test]
        fn any_text(text in ".{0,400}") {
            check(&text)?;
        }

        #[test]
        fn profiles_of_any_shape(text in profile()) {
            check(&text)?;
        }

        #[test]
        fn a_damaged_good_profile(text in damaged()) {
            check(&text)?;
        }
    }

    #[test]
    fn the_fuzzed_tables_are_the_schemas() {
        let mut tables = tables();
        tables.sort();
        assert_eq!(
            tables,
            [
                "budget",
                "chains.c",
                "chains.d",
                "ledger",
                "models.m",
                "models.m.params",
                "models.n",
                "providers.a",
                "providers.o",
                "providers.o.headers",
                "settings",
                "unknown",
            ]
        );
    }

    #[test]
    fn the_good_profile_parses() {
        parse(Path::new(PATH), GOOD, &|_| None).unwrap();
    }
}
