//! The one request pipeline every sending command (`ask`, `compare`, `drill`,
//! `models --check`) goes through: resolve → facts → plan → run(reporter) →
//! record.
//!
//! A [`Session`] holds what a command reads once (the profile, the price
//! catalog) and builds the async runtime and the signal handling once, on the
//! first send, so that no command builds them by hand. The commands keep what
//! is theirs: which references to resolve, what to print, and what a routed
//! request means for their exit status.

pub mod advice;
pub mod conversation;
mod record;

use std::cell::OnceCell;
use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use record::{RecordAs, Recorder};

use crate::catalog::{self, Catalog, Pricing};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output::Printer;
use crate::profile::reference::{self, Resolved};
use crate::profile::{self, Profile, Settings, Target};
use crate::provider::types::ChatRequest;
use crate::router::plan::{
    self, Candidate, Capability, ModelFacts, Plan, PlanInput, Planned, Skip,
};
use crate::router::{self, Reporter, Routed};
use crate::signal::Cancel;

/// What every command may need, decided once at start-up.
pub struct Context {
    pub printer: Printer,
    pub profile_flag: Option<PathBuf>,
    pub env: &'static dyn Fn(&str) -> Option<String>,
}

impl Context {
    pub fn load_profile(&self) -> Result<Profile, Error> {
        profile::load(&profile::LoadOptions {
            flag: self.profile_flag.as_deref(),
            env: self.env,
        })
    }

    /// The folder of the ledger and the catalog cache.
    pub fn data_dir(&self) -> Option<PathBuf> {
        crate::ledger::data_dir(self.env)
    }

    /// A `ROUTE_DATA_DIR` that is a file can hold neither the ledger nor the
    /// catalog: an input error, named before anything is tried.
    pub fn check_data_dir(&self) -> Result<(), Error> {
        let Some(dir) = (self.env)(crate::env::ROUTE_DATA_DIR).filter(|d| !d.is_empty()) else {
            return Ok(());
        };
        let path = std::path::Path::new(&dir);
        if path.exists() && !path.is_dir() {
            return Err(Error::usage_hint(
                format!("ROUTE_DATA_DIR is {dir}, which is a file, not a folder"),
                Some(
                    "point ROUTE_DATA_DIR at a folder (route creates it when missing), or unset it"
                        .into(),
                ),
            ));
        }
        Ok(())
    }

    /// The price catalog: the downloaded one when usable, else the built-in.
    pub fn catalog(&self) -> Arc<Catalog> {
        match self.data_dir() {
            Some(dir) => {
                let loaded = catalog::load(&dir);
                if let Some(w) = &loaded.warning {
                    self.printer.warn(w);
                }
                loaded.catalog
            }
            None => catalog::builtin(),
        }
    }
}

/// One command's run of the pipeline.
pub struct Session<'c> {
    pub ctx: &'c Context,
    pub profile: Profile,
    /// Read on first use, so that a usage error found before it is reported
    /// without a catalog warning in front of it.
    catalog: OnceCell<Arc<Catalog>>,
    sending: OnceCell<Sending>,
}

/// The async runtime and the cancellation signal, built on the first send.
struct Sending {
    runtime: tokio::runtime::Runtime,
    cancel: Cancel,
}

impl<'c> Session<'c> {
    /// Loads the profile.
    pub fn open(ctx: &'c Context) -> Result<Session<'c>, Error> {
        Ok(Session::with_profile(ctx, ctx.load_profile()?))
    }

    /// A session over a profile the command loaded itself.
    pub fn with_profile(ctx: &'c Context, profile: Profile) -> Session<'c> {
        Session {
            ctx,
            profile,
            catalog: OnceCell::new(),
            sending: OnceCell::new(),
        }
    }

    /// Resolve: a reference (alias, chain, `provider/model`, comma list) to
    /// its targets.
    pub fn resolve(&self, reference: &str) -> Result<Resolved, Error> {
        reference::resolve(&self.profile, reference)
    }

    /// The price catalog, read once.
    pub fn catalog(&self) -> &Catalog {
        self.catalog.get_or_init(|| self.ctx.catalog())
    }

    /// Facts: what the catalog knows about a target, with the profile's overrides.
    pub fn facts(&self, target: &Target) -> ModelFacts {
        facts(target, self.catalog()).0
    }

    /// The ledger for this command; `write = false` only reads.
    pub fn recorder(&self, write: bool) -> Recorder {
        Recorder::open(self.ctx, write)
    }

    /// Plan: the order of attempts of a request for a resolved reference,
    /// with the ledger's health and spend and the profile's budget. The
    /// request's text is estimated once, its attachments per provider kind.
    pub fn plan(
        &self,
        resolved: &Resolved,
        recorder: &Recorder,
        request: &ChatRequest,
        now: SystemTime,
    ) -> Result<Plan, Error> {
        let attachments = crate::tokens::attachment_facts(request);
        let keys: Vec<String> = resolved.targets.iter().map(Target::health_key).collect();
        let mut health = recorder.health(&keys, now);
        // A server the ledger knows to reject `stream_options` is not sent
        // them, unless the profile's `stream_usage` says otherwise.
        let unset: Vec<&str> = resolved
            .targets
            .iter()
            .filter(|t| t.provider.stream_usage.is_none())
            .map(|t| t.provider.base_url.as_str())
            .collect();
        let rejecting = if unset.is_empty() {
            HashSet::new()
        } else {
            recorder.rejecting_stream_options(&unset)
        };
        let candidates = resolved
            .targets
            .iter()
            .map(|t| {
                let mut target = t.clone();
                if target.provider.stream_usage.is_none()
                    && rejecting.contains(&target.provider.base_url)
                {
                    target.provider.stream_usage = Some(false);
                }
                Candidate {
                    facts: self.facts(t),
                    health: health.remove(&t.health_key()).unwrap_or_default(),
                    target,
                }
            })
            .collect();
        let budget = &self.profile.budget;
        let mut random = router::random_source();
        // Only the daily and monthly caps need what was spent; summing it is
        // the dearest read of a large ledger, so it is skipped without them.
        let spent = if budget.daily.is_some() || budget.monthly.is_some() {
            recorder.spent(now)?
        } else {
            plan::Spent::default()
        };
        Ok(plan::plan(PlanInput {
            candidates,
            strategy: resolved.strategy,
            settings: &resolved.settings,
            estimated_input_tokens: crate::tokens::estimate_chat(request),
            attachments: &attachments,
            max_tokens: request.params.max_tokens,
            budget,
            spent,
            now,
            random: &mut random,
        }))
    }

    /// A plan of every target in the given order, whatever health, strategy
    /// or budget would pick today, each with a fixed output allowance: what a
    /// drill or a check must try.
    pub fn fixed_plan<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t Target>,
        max_tokens: u64,
    ) -> Plan {
        let order = targets
            .into_iter()
            .map(|t| Planned {
                candidate: Candidate {
                    target: t.clone(),
                    facts: self.facts(t),
                    health: plan::Health::default(),
                },
                max_tokens: Some(max_tokens),
                asked_max_tokens: Some(max_tokens),
                worst_case: None,
                lowered: None,
                input_tokens: 0,
                unknown_capability: Vec::new(),
            })
            .collect();
        Plan {
            order,
            skipped: Vec::new(),
            estimated_input_tokens: 0,
            attachments: Vec::new(),
            forced: false,
        }
    }

    /// Run: drives `send` to its end on the session's runtime, with Ctrl-C and
    /// SIGTERM wired to the [`Sender`]'s cancellation signal.
    pub fn send<'s, F: Future>(
        &'s self,
        send: impl FnOnce(Sender<'s>) -> F,
    ) -> Result<F::Output, Error> {
        let sending = self.sending()?;
        let sender = Sender {
            env: self.ctx.env,
            cancel: &sending.cancel,
            restart: true,
        };
        Ok(sending.runtime.block_on(send(sender)))
    }

    /// The exit status a signal (or a closed stdout) asked for, if any did.
    pub fn cancelled(&self) -> Option<ExitStatus> {
        self.sending.get().and_then(|s| s.cancel.status())
    }

    fn sending(&self) -> Result<&Sending, Error> {
        if let Some(s) = self.sending.get() {
            return Ok(s);
        }
        let runtime = runtime()?;
        let cancel = {
            let _inside = runtime.enter();
            Cancel::on_signals()
        };
        Ok(self.sending.get_or_init(|| Sending { runtime, cancel }))
    }

    /// Record: the ledger rows of one routed request, under a fresh request id.
    pub fn rows(&self, attempts: &[router::Attempt<'_>], how: &RecordAs<'_>) -> record::Rows {
        let request_id = new_request_id();
        let rows = record::rows(
            attempts,
            &record::RowContext {
                request_id: &request_id,
                group_id: how.group_id,
                command: how.command,
                profile: self.profile.path.as_ref().map(|p| p.display().to_string()),
                chain: how.chain,
                tag: how.tag,
                catalog_version: self.catalog().version(),
                prompt: how.prompt.filter(|_| self.profile.store_text),
            },
        );
        record::Rows {
            request_id,
            rows,
            learned: record::learned(attempts),
        }
    }
}

/// What a request needs while it runs; cheap to copy into each model's task.
#[derive(Clone, Copy)]
pub struct Sender<'s> {
    env: &'static dyn Fn(&str) -> Option<String>,
    pub cancel: &'s Cancel,
    restart: bool,
}

impl Sender<'_> {
    /// Whether a model may start an answer over after another one's text was
    /// written and no model can continue it (see [`router::Request::restart`]);
    /// yes unless a command says otherwise.
    #[must_use]
    pub fn restarting(self, restart: bool) -> Self {
        Sender { restart, ..self }
    }

    /// Runs a plan through the router.
    pub async fn route<'p>(
        &self,
        plan: &'p Plan,
        base: &ChatRequest,
        settings: &Settings,
        reporter: &mut dyn Reporter,
    ) -> Routed<'p> {
        self.route_forcing(plan, base, settings, &|_| false, reporter)
            .await
    }

    /// Runs a plan through the router, the positions `force_fail` names made
    /// to fail without sending (`route drill`).
    pub async fn route_forcing<'p>(
        &self,
        plan: &'p Plan,
        base: &ChatRequest,
        settings: &Settings,
        force_fail: &dyn Fn(usize) -> bool,
        reporter: &mut dyn Reporter,
    ) -> Routed<'p> {
        let request = router::Request {
            base,
            settings,
            env: self.env,
            cancel: self.cancel,
            force_fail,
            restart: self.restart,
        };
        router::run(plan, &request, reporter).await
    }
}

/// A reporter that shows nothing (checks and drills print a table at the end).
pub struct Quiet;

impl Reporter for Quiet {}

/// A current-thread runtime: one request at a time needs no worker threads,
/// and starting none keeps start-up short.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failed(format!("cannot start the async runtime: {e}")).caused_by(e))
}

/// Applies `--timeout` to every timeout of the settings.
pub fn with_timeout(mut settings: Settings, timeout: Option<&str>) -> Result<Settings, Error> {
    if let Some(t) = timeout {
        let d = profile::duration::parse(t).map_err(|e| Error::usage(format!("--timeout: {e}")))?;
        if d == Duration::ZERO {
            return Err(Error::usage("--timeout must be more than 0"));
        }
        settings.connect_timeout = settings.connect_timeout.min(d);
        settings.first_token_timeout = d;
        settings.idle_timeout = d;
        settings.request_timeout = d;
    }
    Ok(settings)
}

/// What the catalog knows about a target, with the profile's overrides on
/// top, and the catalog's retirement date for it.
pub fn facts(target: &Target, catalog: &Catalog) -> (ModelFacts, Option<String>) {
    let kind = target.provider.kind;
    let info = catalog.lookup(kind.as_str(), &target.provider.name, &target.model);
    let o = &target.overrides;
    let mut pricing: Option<Pricing> = info.and_then(|i| i.pricing);
    if let (Some(input), Some(output)) = (o.input_cost, o.output_cost) {
        pricing = Some(Pricing::flat(input, output));
    } else if let Some(p) = pricing.as_mut() {
        if let Some(i) = o.input_cost {
            p.input = i;
        }
        if let Some(out) = o.output_cost {
            p.output = out;
        }
    }
    if let (Some(p), Some(c)) = (pricing.as_mut(), o.cached_input_cost) {
        p.cache_read = Some(c);
    }
    let facts = ModelFacts {
        context_window: o.context_window.or(info.and_then(|i| i.context_window)),
        max_output_tokens: o
            .max_output_tokens
            .or(info.and_then(|i| i.max_output_tokens)),
        pricing,
        local: kind.is_local(),
        vision: Capability::of(o.vision, info.and_then(|i| i.vision)),
        pdf: Capability::of(o.pdf, info.and_then(|i| i.pdf)),
    };
    (facts, info.and_then(|i| i.deprecation_date.clone()))
}

/// The error when the plan leaves nothing to try.
pub fn nothing_to_try(plan: &Plan) -> Error {
    let reasons: Vec<String> = plan
        .skipped
        .iter()
        .map(|(p, s)| format!("{}: {s}", p.candidate.target.label))
        .collect();
    let all_budget = plan
        .skipped
        .iter()
        .all(|(_, s)| matches!(s, Skip::Budget { .. }));
    let message = format!("no model can take this request ({})", reasons.join("; "));
    if all_budget && !plan.skipped.is_empty() {
        return Error::budget(message);
    }
    let attachments =
        !plan.skipped.is_empty() && plan.skipped.iter().all(|(_, s)| s.is_attachment());
    let hint = if attachments {
        let cannot = plan
            .skipped
            .iter()
            .any(|(_, s)| matches!(s, Skip::Attachment { .. }));
        let too_large = plan
            .skipped
            .iter()
            .any(|(_, s)| matches!(s, Skip::TooLarge { .. }));
        let mut ways = Vec::new();
        if cannot {
            ways.push("-m a model that takes these files (`vision = true` or `pdf = true` in the profile says a model does)");
        }
        if too_large {
            ways.push("a smaller file, or fewer at once");
        }
        ways.join("; or ")
    } else {
        "a shorter prompt, a smaller --max-tokens, or a model with a larger context window"
            .to_owned()
    };
    Error::usage_hint(message, Some(hint))
}

/// A fresh id for a request: time and randomness, 24 hex digits.
pub fn new_request_id() -> String {
    let mut random = router::random_source();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let r = (random() * f64::from(u32::MAX)) as u32;
    let ms = crate::time::unix_ms(SystemTime::now());
    format!("{ms:013x}{r:08x}{:03x}", std::process::id() & 0xfff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::ExitStatus;
    use crate::money::Usd;

    /// No data folder that exists: the built-in catalog, no ledger.
    fn env(key: &str) -> Option<String> {
        (key == crate::env::ROUTE_DATA_DIR).then(|| "/nonexistent/route-pipeline-test".into())
    }

    fn context() -> Context {
        Context {
            printer: Printer::detect(&env),
            profile_flag: None,
            env: &env,
        }
    }

    const PROFILE: &str = "[providers.o]\nkind = \"openai\"\n\
        [models.a]\nprovider = \"o\"\nmodel = \"gpt-4o\"\n\
        [models.b]\nprovider = \"o\"\nmodel = \"m\"\n\
        [chains.c]\nmodels = [\"b\", \"a\"]\n";

    #[test]
    fn a_fixed_plan_tries_every_member_in_order() {
        // -- Setup
        let ctx = context();
        let profile =
            crate::profile::load::parse(std::path::Path::new("p.toml"), PROFILE, &|_| None)
                .unwrap();
        let session = Session::with_profile(&ctx, profile);
        let resolved = session.resolve("c").unwrap();
        // -- Exec
        let plan = session.fixed_plan(&resolved.targets, 64);
        // -- Check
        let labels: Vec<&str> = plan
            .order
            .iter()
            .map(|p| p.candidate.target.label.as_str())
            .collect();
        assert_eq!(labels, ["b", "a"]);
        assert!(plan.order.iter().all(|p| p.max_tokens == Some(64)
            && p.asked_max_tokens == Some(64)
            && p.candidate.health == plan::Health::default()));
        assert!(plan.skipped.is_empty() && !plan.forced);
        // Nothing was sent: no runtime, no signal handler.
        assert_eq!(session.cancelled(), None);
    }

    #[test]
    fn nothing_to_try_is_a_budget_error_only_when_every_skip_is_the_budget() {
        let ctx = context();
        let profile =
            crate::profile::load::parse(std::path::Path::new("p.toml"), PROFILE, &|_| None)
                .unwrap();
        let session = Session::with_profile(&ctx, profile);
        let mut plan = session.fixed_plan(&session.resolve("c").unwrap().targets, 64);
        let budget = Skip::Budget {
            cap: "daily",
            limit: Usd::dollars(1),
            worst: Usd::dollars(1),
            left: Usd::ZERO,
        };
        plan.skipped = plan.order.drain(..).map(|p| (p, budget.clone())).collect();
        let e = nothing_to_try(&plan);
        assert_eq!(e.status(), ExitStatus::Budget);
        assert!(
            e.message.starts_with("no model can take this request (b: "),
            "{}",
            e.message
        );
        plan.skipped[1].1 = Skip::ContextWindow {
            window: 10,
            needed: 20,
        };
        assert_eq!(nothing_to_try(&plan).status(), ExitStatus::Usage);
    }

    #[test]
    fn request_ids_are_24_hex_digits() {
        let id = new_request_id();
        assert_eq!(id.len(), 24);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    }
}
