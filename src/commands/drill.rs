//! `route drill`: exercises every fallback path of a chain for real. For
//! position k, the members before k are made to fail inside `route` (nothing
//! is sent to them) and member k must answer.

use super::Context;
use crate::cli::DrillArgs;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output::{summary, table};
use crate::pipeline::{Quiet, RecordAs, Sender, Session, new_request_id};
use crate::profile::reference;
use crate::provider::types::{ChatRequest, Params};
use crate::router::Reach;
use crate::router::plan::Plan;

pub fn drill(args: &DrillArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let session = Session::open(ctx)?;
    let profile = &session.profile;
    let name = match &args.chain {
        Some(c) => c.as_str(),
        None => reference::default_reference(profile)?,
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
    let resolved = session.resolve(name)?;
    // Every member, in the chain's order: a drill tests each path whatever
    // the strategy, cooldown or budget would pick today. A drill needs a
    // short answer, not a long one.
    let plan = session.fixed_plan(&resolved.targets, 64);
    let request = ChatRequest::prompt(None, &args.prompt, Params::default(), true);
    let mut recorder = session.recorder(true);
    let group = new_request_id();

    let mut t = table::new(ctx.printer.stdout_tty, ctx.printer.width(ctx.env));
    t.set_header(["path", "answered", "served by", "time", "cost"]);
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
        let routed = session.send(async |send: Sender<'_>| {
            send.route_forcing(&sub, &request, &resolved.settings, &|i| i < k, &mut Quiet)
                .await
        })?;
        if let Some(status) = session.cancelled() {
            return Ok(status);
        }
        let real: Vec<_> = routed
            .attempts
            .iter()
            .filter(|a| a.reach != Reach::Forced)
            .cloned()
            .collect();
        let ledger_rows = session.rows(
            &real,
            &RecordAs {
                command: "drill",
                group_id: Some(&group),
                chain: Some(name),
                ..RecordAs::default()
            },
        );
        recorder.record(&ledger_rows.rows);
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
                a.served_model
                    .clone()
                    .unwrap_or_else(|| a.model().to_owned())
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
