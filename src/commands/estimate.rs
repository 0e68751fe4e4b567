//! `route cost estimate`: what a prompt would cost on each model, counted
//! before anything is sent.

use super::{Context, read_prompt};
use crate::cli::EstimateArgs;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::money::Usd;
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

    let mut t = table::new(ctx.printer.stdout_tty, ctx.printer.width(ctx.env));
    t.set_header([
        "model",
        "provider/model",
        "input tokens",
        "input cost",
        "max output",
        "worst case",
    ]);
    let mut approximate = false;
    for target in &targets {
        let (count, method) =
            tokens::count_request(target.provider.kind.as_str(), &target.model, None, &prompt);
        approximate |= method == Method::Approximate;
        let (f, _) = facts(target, &catalog);
        let output = args.max_tokens.or(f.max_output_tokens);
        let input_cost = f.cost(&Usage {
            input_tokens: count,
            ..Usage::default()
        });
        let worst = f.cost(&Usage {
            input_tokens: count,
            output_tokens: output.unwrap_or(0),
            ..Usage::default()
        });
        let tokens = match method {
            Method::Exact(name) => format!("{count} ({name})"),
            Method::Approximate => format!("~{count}"),
        };
        let show = |c: Option<Usd>| c.map_or_else(|| "?".to_owned(), |c| c.to_string());
        let fits = f.context_window.is_none_or(|w| count <= w);
        t.add_row([
            target.label.clone(),
            format!("{}/{}", target.provider.name, target.model),
            if fits {
                tokens
            } else {
                format!("{tokens} > window {}", f.context_window.unwrap_or(0))
            },
            show(input_cost),
            output.map_or_else(|| "?".to_owned(), |o| o.to_string()),
            show(worst),
        ]);
    }
    ctx.printer.out(&format!("{t}\n"))?;
    if approximate {
        ctx.printer.note("~ estimated at four bytes a token (the provider's tokenizer is not public); ? = price unknown");
    }
    Ok(ExitStatus::Success)
}
