//! Conversations (`-c`, `--cid`): the stored turns of one, as the messages
//! that go before a new prompt (each adapter translates them for whichever
//! provider answers now), and the turn a request leaves in the ledger.

use std::sync::Arc;
use std::time::SystemTime;

use super::Recorder;
use crate::error::Error;
use crate::ledger::LedgerError;
use crate::ledger::content::{Found, StoredAttachment, Turn};
use crate::output::Printer;
use crate::provider::types::{Attachment, Message, Part, Role};
use crate::router::Routed;

/// Which stored conversation a request continues.
#[derive(Debug, Clone, Copy)]
pub enum Continue<'a> {
    /// `-c`: the one of the newest turn.
    Latest,
    /// `--cid ID`: a conversation or request id, or its first characters.
    Id(&'a str),
}

/// The stored part of a conversation being continued.
#[derive(Debug)]
pub struct History {
    pub conversation_id: String,
    /// The reference of its last turn: the model when `-m` names none.
    pub reference: String,
    /// The system prompt of its latest turn that had one.
    pub system: Option<String>,
    /// Its answered turns, oldest first: each prompt (with its attachments)
    /// and its answer.
    pub messages: Vec<Message>,
}

/// Reads the conversation to continue; exit 2 when there is none.
pub fn load(recorder: &Recorder, which: Continue<'_>, printer: Printer) -> Result<History, Error> {
    let flag = match which {
        Continue::Latest => "-c".to_owned(),
        Continue::Id(id) => format!("--cid {id}"),
    };
    let none_yet = || {
        Error::usage_hint(
            format!("{flag}: no conversation is stored yet"),
            Some("ask a first question with `route ask \"…\"`, then continue it with -c".into()),
        )
    };
    let Some(ledger) = recorder.ledger() else {
        return Err(match recorder.unreadable() {
            Some(why) => Error::usage(format!("{flag}: no conversation can be read: {why}")),
            None => none_yet(),
        });
    };
    let read = |e: LedgerError| {
        let hint = e.hint();
        Error::usage(format!("{flag}: {e}")).with_hint(hint)
    };
    let conversation_id = match which {
        Continue::Latest => ledger
            .latest_conversation()
            .map_err(read)?
            .ok_or_else(none_yet)?,
        Continue::Id(id) => match ledger.find(id).map_err(read)? {
            Found::Conversation(c)
            | Found::Request {
                conversation_id: c, ..
            } => c,
            Found::Ambiguous => {
                return Err(Error::usage(format!(
                    "{flag}: more than one conversation begins with `{id}`; give more of its id"
                )));
            }
            Found::None => {
                return Err(Error::usage_hint(
                    format!("{flag}: no conversation or request with id `{id}` is stored"),
                    Some("`route log` lists the stored requests and their conversations".into()),
                ));
            }
        },
    };
    let turns = ledger.history(&conversation_id).map_err(read)?;
    let mut messages = Vec::with_capacity(turns.len() * 2);
    let mut system = None;
    let mut reference = None;
    for turn in turns {
        reference = Some(turn.reference);
        if turn.system.is_some() {
            system = turn.system;
        }
        // A turn no model answered leaves nothing to answer to.
        let Some(answer) = turn.answer else {
            continue;
        };
        // As `-a` sends them: the files first, then the text.
        let mut parts = Vec::with_capacity(turn.attachments.len() + 1);
        for stored in &turn.attachments {
            match ledger.blob(&stored.hash).map_err(read)? {
                Some((media, bytes)) => parts.push(Part::Attachment(Attachment {
                    media,
                    name: stored.name.clone(),
                    hash: stored.hash.clone(),
                    bytes: Arc::from(bytes),
                })),
                None => printer.warn(&format!(
                    "{flag}: the attachment {} of an earlier turn is no longer in the ledger; it is left out",
                    stored.name
                )),
            }
        }
        parts.push(Part::Text(turn.prompt));
        messages.push(Message {
            role: Role::User,
            parts,
        });
        messages.push(Message::text(Role::Assistant, &answer));
    }
    Ok(History {
        conversation_id,
        reference: reference.ok_or_else(none_yet)?,
        system,
        messages,
    })
}

/// What one request asked, for the turn it leaves.
pub struct Asked<'a> {
    pub request_id: &'a str,
    /// The conversation continued, else `None`: the request begins one,
    /// named after itself.
    pub conversation_id: Option<&'a str>,
    pub at: SystemTime,
    pub reference: &'a str,
    pub system: Option<&'a str>,
    pub prompt: &'a str,
    pub attachments: &'a [&'a Attachment],
}

/// The turn a routed request leaves in the ledger: what was asked, and the
/// whole answer (its continued parts joined) when a model gave one.
pub fn turn(asked: &Asked<'_>, routed: &Routed<'_>) -> Turn {
    let answer = routed.answer();
    Turn {
        request_id: asked.request_id.to_owned(),
        conversation_id: asked.conversation_id.unwrap_or(asked.request_id).to_owned(),
        at: asked.at,
        reference: asked.reference.to_owned(),
        label: answer.map(|a| a.label().to_owned()),
        served_model: answer.and_then(|a| a.served_model.clone()),
        system: asked.system.map(str::to_owned),
        prompt: asked.prompt.to_owned(),
        attachments: asked
            .attachments
            .iter()
            .map(|a| StoredAttachment::of(a))
            .collect(),
        answer: answer.map(crate::router::Attempt::full_text),
    }
}
