//! `route drill`: exercises every fallback path of a chain for real. For
//! position k, the members before k are made to fail inside `route` (nothing
//! is sent to them) and member k must answer.

use super::ask::runtime;
use super::record::{Recorder, RowContext, rows};
use super::{Context, facts};
use crate::cli::DrillArgs;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output::{summary, table};
use crate::profile::reference;
use crate::provider::types::{ChatRequest, Params};
use crate::router::plan::{Candidate, Plan, Planned};
use crate::router::{self, Reporter};
use crate::signal::Cancel;

struct Quiet;
impl Reporter for Quiet {}

pub fn drill(args: &DrillArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let profile = ctx.load_profile()?;
    let name = match &args.chain {
        Some(c) => c.as_str(),
        None => reference::default_reference(&profile)?,
    };
    if !profile.chains.contains_key(name) {
        return Err(Error::usage_hint(
            format!("`{name}` is not a chain"),
            crate::suggest::did_you_mean(name, profile.chains.keys().map(String::as_str)).or_else(
                || {
                    Some(format!(
                        "chains: {}",
                        profile
                            .chains
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                },
            ),
        ));
    }
    let resolved = reference::resolve(&profile, name)?;
    let catalog = ctx.catalog();
    // Every member, in the chain's order: a drill tests each path whatever
    // the strategy, cooldown or budget would pick today.
    let order: Vec<Planned> = resolved
        .targets
        .iter()
        .map(|t| {
            let f = facts(t, &catalog).0;
            Planned {
                // A drill needs a short answer, not a long one.
                max_tokens: Some(64),
                asked_max_tokens: Some(64),
                worst_case: None,
                candidate: Candidate {
                    target: t.clone(),
                    facts: f,
                    health: Default::default(),
                },
            }
        })
        .collect();
    let plan = Plan {
        order,
        skipped: Vec::new(),
        estimated_input_tokens: 0,
        forced: false,
    };
    let request = ChatRequest {
        system: None,
        prompt: args.prompt.clone(),
        params: Params::default(),
        stream: true,
    };
    let mut recorder = Recorder::open(ctx, true);
    let group = super::new_request_id();

    let mut t = table::new(ctx.printer.stdout_tty, ctx.printer.width(ctx.env));
    t.set_header(["path", "answered", "served by", "time", "cost"]);
    let runtime = runtime()?;
    let mut all_ok = true;
    for k in 0..plan.order.len() {
        let path: Vec<String> = plan.order[..=k]
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if i < k {
                    format!("{} ✗", p.candidate.target.label)
                } else {
                    p.candidate.target.label.clone()
                }
            })
            .collect();
        // Only the paths that end at k: the members after it are left out.
        let sub = Plan {
            order: plan.order[..=k].to_vec(),
            ..plan.clone()
        };
        let (routed, status) = runtime.block_on(async {
            let cancel = Cancel::on_signals();
            let req = router::Request {
                base: &request,
                settings: &resolved.settings,
                env: ctx.env,
                cancel: &cancel,
                force_fail: &|i| i < k,
            };
            (router::run(&sub, &req, &mut Quiet).await, cancel.status())
        });
        if let Some(status) = status {
            return Ok(status);
        }
        let request_id = super::new_request_id();
        let real: Vec<_> = routed
            .attempts
            .iter()
            .filter(|a| !a.forced)
            .cloned()
            .collect();
        recorder.record(&rows(
            &real,
            &RowContext {
                request_id: &request_id,
                group_id: Some(&group),
                command: "drill",
                profile: profile.path.as_ref().map(|p| p.display().to_string()),
                chain: Some(name),
                tag: None,
                catalog_version: catalog.version(),
                prompt: None,
            },
        ));
        let answered = routed.answer();
        all_ok &= answered.is_some();
        let last = real.last();
        t.add_row([
            path.join(" → "),
            match (answered, last) {
                (Some(_), _) => "yes".to_owned(),
                (None, Some(a)) => format!("no: {}", summary::short_error(a)),
                (None, None) => "no".to_owned(),
            },
            answered.map_or_else(String::new, |a| {
                a.served_model.clone().unwrap_or_else(|| a.model.clone())
            }),
            last.map_or_else(String::new, |a| summary::elapsed(a.latency)),
            answered.map_or_else(String::new, |a| summary::cost(a.cost)),
        ]);
    }
    ctx.printer.out(&format!("{t}\n"))?;
    Ok(if all_ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failed
    })
}
