//! `route cost estimate`: what a prompt would cost on each model, counted
//! before anything is sent.

use super::{Context, read_prompt};
use crate::cli::EstimateArgs;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::money::Usd;
use crate::output::json::{self, EstimateJson};
use crate::output::table;
use crate::pipeline::facts;
use crate::profile::reference;
use crate::provider::types::Usage;
use crate::tokens::{self, Method};

pub fn estimate(args: &EstimateArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let profile = ctx.load_profile()?;
    let refs: Vec<&str> = if args.models.is_empty() {
        vec![reference::default_reference(&profile)?]
    } else {
        args.models.iter().map(String::as_str).collect()
    };
    let mut targets = Vec::new();
    for r in refs {
        targets.extend(reference::resolve(&profile, r)?.targets);
    }
    let prompt = read_prompt(
        &args.prompt,
        "route cost estimate -m sonnet \"Explain TCP slow start\"  or  git diff | route cost estimate -m main",
    )?;
    let catalog = ctx.catalog();

    let rows: Vec<Row> = targets
        .iter()
        .map(|target| {
            let (count, method) =
                tokens::count_request(target.provider.kind.as_str(), &target.model, None, &prompt);
            let (f, _) = facts(target, &catalog);
            // The allowance a budget would check: --max-tokens, else the
            // profile's max_tokens, else the model's largest output.
            let output = args
                .max_tokens
                .or(target.overrides.params.max_tokens)
                .or(f.max_output_tokens);
            let input_cost = f.cost(&Usage {
                input_tokens: count,
                ..Usage::default()
            });
            // No worst case without an output allowance to price.
            let worst = output.and_then(|output| {
                f.cost(&Usage {
                    input_tokens: count,
                    output_tokens: output,
                    ..Usage::default()
                })
            });
            Row {
                method,
                input_cost,
                worst,
                json: EstimateJson {
                    alias: target.label.clone(),
                    provider: target.provider.name.clone(),
                    provider_model: target.model.clone(),
                    input_tokens: count,
                    counted: match method {
                        Method::Exact(_) => "exact",
                        Method::Approximate => "approximate",
                    },
                    tokenizer: match method {
                        Method::Exact(name) => Some(name),
                        Method::Approximate => None,
                    },
                    context_window: f.context_window,
                    fits: f.context_window.map(|w| count <= w),
                    cost_usd: input_cost.map(Usd::to_dollars),
                    max_tokens: output,
                    worst_case_usd: worst.map(Usd::to_dollars),
                },
            }
        })
        .collect();
    if args.json {
        let all: Vec<&EstimateJson> = rows.iter().map(|r| &r.json).collect();
        ctx.printer.out(&json::pretty(&all)?)?;
        return Ok(ExitStatus::Success);
    }
    ctx.printer.out(&render_table(&rows, ctx))?;
    if rows.iter().any(|r| r.method == Method::Approximate) {
        ctx.printer.note("~ estimated at four bytes a token (the provider's tokenizer is not public); ? = price unknown");
    }
    Ok(ExitStatus::Success)
}

/// One model's estimate: the exact figures, and the JSON made of them.
struct Row {
    method: Method,
    input_cost: Option<Usd>,
    worst: Option<Usd>,
    json: EstimateJson,
}

fn render_table(rows: &[Row], ctx: &Context) -> String {
    let mut t = table::new(ctx.printer.stdout_tty, ctx.printer.width(ctx.env));
    t.set_header([
        "model",
        "provider/model",
        "input tokens",
        "input cost",
        "max output",
        "worst case",
    ]);
    let show = |c: Option<Usd>| c.map_or_else(|| "?".to_owned(), |c| c.to_string());
    for row in rows {
        let j = &row.json;
        let tokens = match row.method {
            Method::Exact(name) => format!("{} ({name})", j.input_tokens),
            Method::Approximate => format!("~{}", j.input_tokens),
        };
        t.add_row([
            j.alias.clone(),
            format!("{}/{}", j.provider, j.provider_model),
            match (j.fits, j.context_window) {
                (Some(false), Some(w)) => format!("{tokens} > window {w}"),
                _ => tokens,
            },
            show(row.input_cost),
            j.max_tokens
                .map_or_else(|| "?".to_owned(), |o| o.to_string()),
            show(row.worst),
        ]);
    }
    format!("{t}\n")
}
