//! The catalog's advice about a model as the sending commands give it: the
//! once-a-day warning `route ask` gives about the model that answered, worded
//! as `route models` words it.
//!
//! The rules themselves ([`pin`], [`newest_snapshot`], [`retirement`],
//! [`advice`]) live beside the catalog, in [`crate::catalog::advice`], where
//! `route init --check` takes them too.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::SystemTime;

pub use crate::catalog::advice::{
    ModelToCheck, Pin, advice, days_until, is_near, newest_snapshot, pin, pin_in, retirement,
};

use crate::catalog::Catalog;
use crate::output::Printer;
use crate::profile::Target;
use crate::profile::problem::{Problem, Topic};

/// The file in the data dir that remembers which warnings `ask` gave today.
const WARNED_FILE: &str = "warned.json";

/// A warning with its hint on a second line.
pub fn warn_with_hint(printer: &Printer, message: &str, hint: Option<&str>) {
    match hint {
        Some(h) => printer.warn(&format!("{message}\n  hint: {h}")),
        None => printer.warn(message),
    }
}

/// `ask`'s warnings about the model that answered: the same floating-id and
/// retirement warnings `route models` gives (CONTRACT.md), at most once a day
/// per model. The days are remembered in `<data dir>/warned.json`; failing to
/// read or write it never fails the request.
pub fn warn_model_once_a_day(
    printer: &Printer,
    data_dir: Option<&Path>,
    target: &Target,
    catalog: &Catalog,
) {
    let now = SystemTime::now();
    let what = target.label.clone();
    let advice: Vec<Problem> = advice(
        catalog,
        &ModelToCheck {
            what: &what,
            kind: target.provider.kind,
            provider: &target.provider.name,
            model: &target.model,
            priced_by_profile: true,
        },
        now,
    )
    .into_iter()
    .filter(|p| matches!(p.topic, Topic::Floating | Topic::Retiring))
    .collect();
    if advice.is_empty() {
        return;
    }
    let key = target.health_key();
    let today = crate::ledger::query::local_date(now);
    let mut warned = data_dir.map(read_warned).unwrap_or_default();
    if warned.get(&key) == Some(&today) {
        return;
    }
    for p in &advice {
        let hint = p
            .hint
            .as_ref()
            .map(|h| format!("{h}; `route models` shows every model's status"));
        warn_with_hint(printer, &p.message, hint.as_deref());
    }
    if let Some(dir) = data_dir {
        warned.retain(|_, day| *day == today);
        warned.insert(key, today);
        write_warned(dir, &warned);
    }
}

fn read_warned(dir: &Path) -> BTreeMap<String, String> {
    fs::read(dir.join(WARNED_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Writes the state file atomically (a temporary file renamed over it); best effort.
fn write_warned(dir: &Path, warned: &BTreeMap<String, String>) {
    let Ok(bytes) = serde_json::to_vec(warned) else {
        return;
    };
    let tmp = dir.join(format!(".{WARNED_FILE}.{}.tmp", std::process::id()));
    let written = fs::create_dir_all(dir)
        .and_then(|()| fs::write(&tmp, bytes))
        .and_then(|()| fs::rename(&tmp, dir.join(WARNED_FILE)));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
}
