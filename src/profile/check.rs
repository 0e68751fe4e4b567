//! Every problem of a profile at once, for `route init --check` and `route models`.
//!
//! The loader stops at the first error, which is right when a command is about to run;
//! a check wants the whole list. Both take it from the one validating walk
//! (`profile::walk`); the check adds what only it looks at: whether each key source
//! gives a key, empty model ids, and advice about the models themselves
//! ([`crate::catalog::advice`]).

use std::path::Path;
use std::time::SystemTime;

use super::KeySource;
use super::walk::{self, Style};
use crate::catalog::Catalog;

pub use super::problem::{Problem, Severity, Topic};
pub use crate::catalog::advice::{
    ModelToCheck, Pin, RETIRING_WITHIN_DAYS, Retirement, advice, days_until, is_near,
    newest_snapshot, pin, retirement, successor,
};

/// What a check may look at besides the file.
pub struct CheckOptions<'a> {
    /// Reads an environment variable, for `api_key_env`.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub catalog: &'a Catalog,
    /// Run each `api_key_cmd` to see that it prints a key (`init --check` does;
    /// `route models` does not, as a password manager may ask for a passphrase).
    pub run_key_commands: bool,
    pub now: SystemTime,
}

/// Every problem of the profile text `text` read from `path`, in file order.
pub fn check(path: &Path, text: &str, opts: &CheckOptions<'_>) -> Vec<Problem> {
    let walked = walk::walk(path, text, Style::Check, opts.env);
    let mut problems = walked.problems;
    for (name, source, span) in &walked.keys {
        if matches!(source, KeySource::Command(_)) && !opts.run_key_commands {
            continue;
        }
        if let Err(message) = source.resolve(opts.env) {
            let hint = match source {
                KeySource::Env(var) => Some(format!(
                    "export {var}=… in your shell, or use api_key_cmd to read it from a password manager"
                )),
                _ => None,
            };
            problems.push(Problem::at(
                text,
                span,
                Severity::Error,
                Topic::Key,
                format!("providers.{name}: {message}"),
                hint,
            ));
        }
    }
    for t in &walked.targets {
        let model = ModelToCheck {
            what: &t.what,
            kind: t.kind,
            provider: &t.provider,
            model: &t.model,
            priced_by_profile: t.priced_by_profile,
        };
        for mut p in advice(opts.catalog, &model, opts.now) {
            p.place(text, &t.span);
            problems.push(p);
        }
    }
    problems.sort_by_key(|p| (p.location.is_none(), p.offset, p.severity));
    problems.dedup_by(|a, b| a.location == b.location && a.message == b.message);
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str, env: &'static [(&'static str, &'static str)]) -> Vec<Problem> {
        let lookup = move |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let catalog = crate::catalog::builtin();
        check(
            Path::new("p.toml"),
            text,
            &CheckOptions {
                env: &lookup,
                catalog: &catalog,
                run_key_commands: true,
                now: crate::time::parse_date("2026-01-01").unwrap(),
            },
        )
    }

    fn rendered(p: &[Problem]) -> String {
        p.iter()
            .map(|p| p.render(Path::new("p.toml")))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn reports_every_problem_at_once() {
        let text = r#"default = "mian"
[settings]
retries = 99
cooldown = "5 parsecs"
idle_timout = "5s"
[providers.openai]
kind = "openai"
api_key_env = "NOT_SET_ANYWHERE"
[providers.bad]
kind = "opneai"
[providers.cmd]
kind = "openai"
api_key_cmd = "exit 3"
[models.gpt]
provider = "openai"
model = "gpt-4o"
[models.x]
provider = "nope"
model = "m"
[chains.main]
models = ["gpt", "main", "ghost", "zz/m"]
strategy = "cheapst"
"#;
        let p = problems(text, &[]);
        let all = rendered(&p);
        for needle in [
            "p.toml:1:11: error: default `mian`",
            "p.toml:3:11: error: settings.retries must be between 0 and 10 (got 99)",
            "p.toml:4:12: error: settings.cooldown: `5 parsecs`: unknown unit",
            "p.toml:5:1: error: unknown key `settings.idle_timout`",
            "did you mean `idle_timeout`?",
            "NOT_SET_ANYWHERE is not set",
            "p.toml:10:8: error: providers.bad: unknown kind `opneai`",
            "api_key_cmd `exit 3` failed",
            "warning: alias `gpt` uses the floating id `gpt-4o`",
            "pin the snapshot: model = \"gpt-4o-20",
            "models.x: unknown provider `nope`",
            "chain `main` names itself",
            "chain `main`: unknown model alias `ghost`",
            "unknown provider `zz` in `zz/m`",
            "chains.main: unknown strategy `cheapst`",
            "did you mean `cheapest`?",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in\n{all}");
        }
        // File order.
        let lines: Vec<usize> = p.iter().filter_map(|p| p.location.map(|l| l.0)).collect();
        assert!(lines.is_sorted(), "{lines:?}");
    }

    #[test]
    fn syntax_errors_do_not_stop_the_walk() {
        let text = "[settings]\nretries = 1\nretries = 2\n[budget]\ndaily = -1\nweekly = 3\n";
        let all = rendered(&problems(text, &[]));
        assert!(all.contains("p.toml:3:1: error"), "{all}");
        assert!(all.contains("budget.daily must be"), "{all}");
        assert!(all.contains("unknown key `budget.weekly`"), "{all}");
    }

    #[test]
    fn a_clean_profile_has_no_problems() {
        let text = r#"default = "main"
[providers.anthropic]
kind = "anthropic"
[models.haiku]
provider = "anthropic"
model = "claude-haiku-4-5-20251001"
[chains.main]
models = ["haiku"]
"#;
        let p = problems(text, &[("ANTHROPIC_API_KEY", "k")]);
        assert!(p.is_empty(), "{}", rendered(&p));
    }

    #[test]
    fn unknown_price_and_retirement_are_warnings() {
        let text = r#"[providers.openai]
kind = "openai"
[models.a]
provider = "openai"
model = "no-such-model-2025-01-01"
[models.b]
provider = "openai"
model = "gpt-4o-2024-05-13"
"#;
        let p = problems(text, &[("OPENAI_API_KEY", "k")]);
        let all = rendered(&p);
        assert!(
            all.contains("no known price for `no-such-model-2025-01-01`"),
            "{all}"
        );
        // Retires 2026-10-23: within 30 days of 2026-10-01? No: "now" is 2026-01-01.
        assert!(!all.contains("retired"), "{all}");
        assert!(p.iter().all(|p| p.severity == Severity::Warning), "{all}");
    }

    #[test]
    fn params_are_checked_by_the_loaders_rules_with_a_place() {
        let text = "[providers.o]\nkind = \"openai\"\n[models.m]\nprovider = \"o\"\nmodel = \"gpt-4o-2024-08-06\"\nparams = { max_tokens = \"many\" }\n";
        assert!(crate::profile::load::parse(Path::new("p.toml"), text, &|_| None).is_err());
        let p = problems(text, &[("OPENAI_API_KEY", "k")]);
        let errors: Vec<&Problem> = p.iter().filter(|p| p.severity == Severity::Error).collect();
        assert_eq!(errors.len(), 1, "{}", rendered(&p));
        assert!(errors[0].message.contains("max_tokens"), "{}", rendered(&p));
        assert_eq!(errors[0].location, Some((6, 25)), "{}", rendered(&p));
    }
    #[test]
    fn vision_and_pdf_are_model_keys_the_check_knows() {
        let text = "[providers.o]\nkind = \"ollama\"\n[models.m]\nprovider = \"o\"\nmodel = \"llava:13b\"\nvision = true\npdf = true\n[models.n]\nprovider = \"o\"\nmodel = \"llava:7b\"\nvision = \"yes\"\n";
        let profile = crate::profile::load::parse(
            Path::new("p.toml"),
            &text.replace("vision = \"yes\"", "vision = false"),
            &|_| None,
        )
        .unwrap();
        let m = &profile.models["m"].overrides;
        assert_eq!((m.vision, m.pdf), (Some(true), Some(true)));
        assert_eq!(profile.models["n"].overrides.vision, Some(false));
        let all = rendered(&problems(text, &[]));
        assert!(
            all.contains("p.toml:7:7: warning: models.m.pdf = true has no effect: ollama's API takes no PDF documents"),
            "{all}"
        );
        assert!(
            all.contains("p.toml:11:10: error: models.n.vision must be true or false"),
            "{all}"
        );
        assert!(!all.contains("models.m.vision"), "{all}");
    }
}
