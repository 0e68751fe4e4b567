//! `route log`: what was asked and answered, newest first, from the ledger's
//! turns; `route log show` prints one request or one whole conversation in
//! full. Both read only: a missing ledger is an empty log.

use std::fmt::Write as _;
use std::time::SystemTime;

use comfy_table::Cell;
use serde::Serialize;

use super::Context;
use super::cost::{Since, ledger_error};
use crate::cli::{LogArgs, LogCommand, LogShowArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::ledger::Ledger;
use crate::ledger::content::{Found, LogFilter, Logged, StoredAttachment};
use crate::output::{json, table};

pub fn log(args: &LogArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    if let Some(LogCommand::Show(show_args)) = &args.command {
        return show(show_args, ctx);
    }
    let since = args.since.as_deref().map(Since::parse).transpose()?;
    let Some(ledger) = open(ctx)? else {
        // A conversation named that does not exist is an error, ledger or not.
        if let Some(id) = args.cid.as_deref() {
            return Err(no_conversation(id, "--cid"));
        }
        return empty(ctx, args.json);
    };
    let conversation = match args.cid.as_deref() {
        Some(id) => Some(conversation_of(&ledger, id, "--cid")?),
        None => None,
    };
    let logged = ledger
        .log(&LogFilter {
            limit: args.limit,
            conversation_id: conversation.as_deref(),
            search: args.search.as_deref(),
            since: since.as_ref().map(|s| s.start(SystemTime::now())),
        })
        .map_err(ledger_error)?;
    if args.json {
        let all: Vec<TurnJson> = logged.iter().map(TurnJson::of).collect();
        ctx.printer.out(&json::line(&all)?)?;
        return Ok(ExitStatus::Success);
    }
    if logged.is_empty() {
        ctx.printer.note(
            if args.search.is_some() || since.is_some() || conversation.is_some() {
                "no stored request matches"
            } else {
                "no requests stored yet"
            },
        );
        return Ok(ExitStatus::Success);
    }
    let tty = ctx.printer.stdout_tty;
    let mut t = table::new(tty, ctx.printer.width(ctx.env));
    t.set_header([
        "time",
        "conversation",
        "model",
        "served",
        "prompt",
        "answer",
        "cost",
    ]);
    for l in &logged {
        let turn = &l.turn;
        t.add_row(vec![
            Cell::new(&l.local_time),
            Cell::new(short_id(&turn.conversation_id)),
            Cell::new(turn.label.as_deref().unwrap_or(&turn.reference)),
            Cell::new(turn.served_model.as_deref().unwrap_or("-")),
            Cell::new(first_line(&turn.prompt, tty)),
            Cell::new(
                turn.answer
                    .as_deref()
                    .map_or_else(|| "(no answer)".to_owned(), |a| first_line(a, tty)),
            ),
            table::right(cost_text(l.cost)),
        ]);
    }
    table::keep_whole(&mut t, &[0, 1, 6]);
    ctx.printer.out(&format!("{t}\n"))?;
    Ok(ExitStatus::Success)
}

/// `route log show [ID]`.
fn show(args: &LogShowArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let Some(ledger) = open(ctx)? else {
        return Err(nothing_stored(args.id.as_deref()));
    };
    let turns: Vec<Logged> = match args.id.as_deref() {
        None => ledger
            .latest_turn()
            .map_err(ledger_error)?
            .into_iter()
            .collect(),
        Some(id) => match ledger.find(id).map_err(ledger_error)? {
            Found::Conversation(c) => ledger.conversation(&c).map_err(ledger_error)?,
            Found::Request { request_id, .. } => ledger
                .turn(&request_id)
                .map_err(ledger_error)?
                .into_iter()
                .collect(),
            Found::Ambiguous => {
                return Err(Error::usage(format!(
                    "more than one stored request or conversation begins with `{id}`; give more of its id"
                )));
            }
            Found::None => return Err(nothing_stored(Some(id))),
        },
    };
    if turns.is_empty() {
        return Err(nothing_stored(args.id.as_deref()));
    }
    if args.json {
        let all: Vec<TurnJson> = turns.iter().map(TurnJson::of).collect();
        ctx.printer.out(&json::line(&all)?)?;
        return Ok(ExitStatus::Success);
    }
    let mut out = String::new();
    let count = turns.len();
    for (i, l) in turns.iter().enumerate() {
        let turn = &l.turn;
        if i > 0 {
            out.push('\n');
        }
        let model = match (&turn.label, &turn.served_model) {
            (Some(label), Some(served)) if served != label => format!("{label} ({served})"),
            (Some(label), _) => label.clone(),
            (None, _) => format!("{} (no answer)", turn.reference),
        };
        let place = if count > 1 {
            format!(" · turn {} of {count}", i + 1)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{}",
            ctx.printer.dim(&format!(
                "── {} · {model} · {} · conversation {}{place} · request {}",
                l.local_time,
                cost_text(l.cost),
                short_id(&turn.conversation_id),
                short_id(&turn.request_id),
            ))
        );
        if let Some(system) = &turn.system {
            let _ = writeln!(out, "system: {system}");
        }
        for line in turn.prompt.lines() {
            let _ = writeln!(out, "> {line}");
        }
        for a in &turn.attachments {
            let _ = writeln!(out, "> [attached: {} ({})]", a.name, a.media);
        }
        out.push('\n');
        match &turn.answer {
            Some(answer) => {
                out.push_str(answer.trim_end());
                out.push('\n');
            }
            None => out.push_str("(no model answered)\n"),
        }
    }
    ctx.printer.out(&out)?;
    Ok(ExitStatus::Success)
}

/// The ledger, when there is one; nothing is created.
fn open(ctx: &Context) -> Result<Option<Ledger>, Error> {
    match ctx.data_dir() {
        Some(dir) => Ledger::open_read(&dir).map_err(ledger_error),
        None => Ok(None),
    }
}

fn empty(ctx: &Context, json: bool) -> Result<ExitStatus, Error> {
    if json {
        ctx.printer.out("[]\n")?;
    } else {
        ctx.printer.note("no requests stored yet");
    }
    Ok(ExitStatus::Success)
}

/// The conversation an id or a prefix names, for `--cid`.
fn conversation_of(ledger: &Ledger, id: &str, flag: &str) -> Result<String, Error> {
    match ledger.find(id).map_err(ledger_error)? {
        Found::Conversation(c)
        | Found::Request {
            conversation_id: c, ..
        } => Ok(c),
        Found::Ambiguous => Err(Error::usage(format!(
            "{flag}: more than one conversation begins with `{id}`; give more of its id"
        ))),
        Found::None => Err(no_conversation(id, flag)),
    }
}

fn no_conversation(id: &str, flag: &str) -> Error {
    Error::usage_hint(
        format!("{flag}: no conversation or request with id `{id}` is stored"),
        Some("`route log` lists the stored requests and their conversations".into()),
    )
}

fn nothing_stored(id: Option<&str>) -> Error {
    match id {
        Some(id) => Error::usage_hint(
            format!("no request or conversation with id `{id}` is stored"),
            Some("`route log` lists the stored requests and their conversations".into()),
        ),
        None => Error::usage_hint(
            "no requests stored yet",
            Some("`route ask` stores what was asked and answered, unless --no-log or [settings] log_content = false".into()),
        ),
    }
}

/// The first 8 characters of an id: enough to name it (`--cid`, `log show`).
fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The first line of a text, marked `…` when more follows.
fn first_line(text: &str, tty: bool) -> String {
    let trimmed = text.trim();
    let line = trimmed.lines().next().unwrap_or_default();
    let line = if tty {
        table::shorten(line, 60)
    } else {
        line.to_owned()
    };
    if trimmed.lines().nth(1).is_some() && !line.ends_with('…') {
        format!("{line} …")
    } else {
        line
    }
}

fn cost_text(cost: Option<crate::money::Usd>) -> String {
    cost.map_or_else(|| "?".into(), |c| c.to_string())
}

/// One stored request, as `route log --json` and `log show --json` print it.
#[derive(Debug, Serialize)]
struct TurnJson<'a> {
    request_id: &'a str,
    conversation_id: &'a str,
    /// UTC, RFC 3339.
    at: String,
    reference: &'a str,
    /// The model that answered; `null` when none did.
    model: Option<&'a str>,
    served_model: Option<&'a str>,
    system: Option<&'a str>,
    prompt: &'a str,
    attachments: &'a [StoredAttachment],
    answer: Option<&'a str>,
    /// `null` when a price is unknown.
    cost_usd: Option<f64>,
}

impl<'a> TurnJson<'a> {
    fn of(l: &'a Logged) -> Self {
        let t = &l.turn;
        TurnJson {
            request_id: &t.request_id,
            conversation_id: &t.conversation_id,
            at: crate::time::rfc3339(t.at),
            reference: &t.reference,
            model: t.label.as_deref(),
            served_model: t.served_model.as_deref(),
            system: t.system.as_deref(),
            prompt: &t.prompt,
            attachments: &t.attachments,
            answer: t.answer.as_deref(),
            cost_usd: l.cost.map(crate::money::Usd::to_dollars),
        }
    }
}
