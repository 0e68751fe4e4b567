//! `route drill`: exercises every fallback path of a chain for real. For
//! position k, the members before k are made to fail inside `route` (nothing
//! is sent to them) and member k must answer.

use std::time::Duration;

use super::Context;
use crate::cli::DrillArgs;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::money::Usd;
use crate::output::json::{self, DrillPathJson, millis};
use crate::output::{summary, table};
use crate::pipeline::{Quiet, RecordAs, Sender, Session, new_request_id};
use crate::profile::reference;
use crate::provider::ErrorKind;
use crate::provider::types::{ChatRequest, Params};
use crate::router::plan::Plan;
use crate::router::{Attempt, Reach};

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

    let mut paths: Vec<Path> = Vec::new();
    for k in 0..plan.order.len() {
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
        recorder.record(&ledger_rows);
        paths.push(Path::of(&sub, routed.answer(), &real));
    }
    let failed: Vec<&DrillPathJson> = paths
        .iter()
        .map(|p| &p.json)
        .filter(|p| !p.answered)
        .collect();
    let text = if args.json {
        json::pretty(&paths.iter().map(|p| &p.json).collect::<Vec<_>>())?
    } else {
        render_table(&paths, ctx)
    };
    ctx.printer.out(&text)?;
    // One line per path that did not answer, for whoever reads stderr.
    for p in &failed {
        ctx.printer.error(&format!(
            "path {} did not answer ({})",
            path_text(&p.path),
            why(p)
        ));
    }
    let all_ok = failed.is_empty();
    Ok(if all_ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failed
    })
}

/// What one path did.
struct Path {
    json: DrillPathJson,
    /// What its requests cost (`json.cost_usd`, exactly).
    cost: Option<Usd>,
    /// How long its requests took.
    latency: Duration,
}

impl Path {
    /// `real` are the attempts really sent (the last member's).
    fn of(sub: &Plan, answered: Option<&Attempt<'_>>, real: &[Attempt<'_>]) -> Path {
        let cost = cost_of(real);
        let latency: Duration = real.iter().map(|a| a.latency).sum();
        Path {
            json: path_json(sub, answered, real, cost, latency),
            cost,
            latency,
        }
    }
}

/// Every billed attempt's cost: zero when none was billed, unknown when one of
/// them has no price.
fn cost_of(real: &[Attempt<'_>]) -> Option<Usd> {
    real.iter()
        .filter(|a| a.usage.is_some())
        .try_fold(Usd::ZERO, |sum, a| a.cost.map(|c| sum.saturating_add(c)))
}

fn path_json(
    sub: &Plan,
    answered: Option<&Attempt<'_>>,
    real: &[Attempt<'_>],
    cost: Option<Usd>,
    latency: Duration,
) -> DrillPathJson {
    let last = real.last();
    let error = if answered.is_some() {
        None
    } else {
        last.and_then(Attempt::error)
    };
    DrillPathJson {
        path: sub
            .order
            .iter()
            .map(|p| p.candidate.target.label.clone())
            .collect(),
        answered: answered.is_some(),
        model: answered.map(|a| a.label().to_owned()),
        provider: answered.map(|a| a.provider().to_owned()),
        provider_model: answered.map(|a| a.model().to_owned()),
        served_model: answered.and_then(|a| a.served_model.clone()),
        latency_ms: millis(latency),
        cost_usd: cost.map(Usd::to_dollars),
        estimated: real.iter().any(|a| a.usage.is_some() && a.estimated),
        error_kind: error.map(|e| e.kind),
        http_status: error.and_then(|e| e.status),
        error: if answered.is_some() {
            None
        } else {
            Some(error.map_or_else(|| "no request was sent".to_owned(), |e| e.message.clone()))
        },
    }
}

/// `a ✗ → b ✗ → c`: the members made to fail are crossed out.
fn path_text(path: &[String]) -> String {
    let n = path.len();
    path.iter()
        .enumerate()
        .map(|(i, m)| {
            if i + 1 < n {
                format!("{m} ✗")
            } else {
                m.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

/// `server, HTTP 500`: why a path did not answer, in short.
fn why(p: &DrillPathJson) -> String {
    match (p.error_kind, p.http_status) {
        // A model that declined: what it said, which says more than the kind.
        (Some(kind @ (ErrorKind::Refusal | ErrorKind::ContentPolicy)), _) => {
            format!("{kind}: {}", p.error.as_deref().unwrap_or_default())
        }
        (Some(kind), Some(status)) => format!("{kind}, HTTP {status}"),
        (Some(kind), None) => kind.to_string(),
        (None, _) => p.error.clone().unwrap_or_default(),
    }
}

/// The table: path, answered or why not, served by, time, cost.
fn render_table(paths: &[Path], ctx: &Context) -> String {
    let mut t = table::new(ctx.printer.stdout_tty, ctx.printer.width(ctx.env));
    t.set_header(["path", "answered", "served by", "time", "cost"]);
    for path in paths {
        let p = &path.json;
        t.add_row([
            path_text(&p.path),
            if p.answered {
                "yes".to_owned()
            } else {
                format!("no: {}", why(p))
            },
            p.served_model
                .clone()
                .or_else(|| p.provider_model.clone())
                .unwrap_or_default(),
            summary::elapsed(path.latency),
            if p.answered {
                summary::cost(path.cost)
            } else {
                String::new()
            },
        ]);
    }
    format!("{t}\n")
}
