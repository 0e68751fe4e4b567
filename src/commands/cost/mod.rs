//! `route cost`: what requests cost, read from the ledger (CONTRACT.md "route cost").
//!
//! Without `--by`, one row per request: its final attempt (model, outcome,
//! latency) with the tokens and cost of all its attempts, and how many models it
//! fell back from. With `--by`, totals per model, provider, alias, tag or local
//! day. `--since` takes a duration ago (`30m`, `24h`, `7d`) or a date
//! (`YYYY-MM-DD`, from local midnight).
//!
//! Only reading: a missing ledger is an empty result, never a new file. An
//! unknown cost is `?` in the table, `null` in JSON and an empty cell in CSV,
//! never `$0`. JSON and CSV keep stdout machine-clean: notes and the budget line
//! go to stderr with them, and to stdout only under the table.
//! (`route cost estimate` lives in `estimate.rs`.) The table is drawn in
//! `table`, JSON and CSV in `machine`.

mod machine;
mod table;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Context, output_format};
use crate::cli::{CostArgs, CostBy, CostFormat};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::ledger::query::{self, Filter, GroupBy, GroupRow, RequestRow, Totals};
use crate::ledger::{Ledger, LedgerError};
use crate::output::Printer;
use crate::profile::Budget;
use crate::router::plan::Spent;

use machine::{render_csv, render_json};
use table::render_table;

/// Requests the table lists when `--limit` is not given: enough to see what
/// happened lately without scrolling a year of history. JSON and CSV list all.
const DEFAULT_TABLE_ROWS: usize = 50;

/// What `route cost` needs, filled in by the caller.
#[derive(Debug, Clone)]
pub struct CostContext {
    /// The ledger's folder; `None` when the platform has none.
    pub data_dir: Option<PathBuf>,
    /// The profile's caps, shown as spent / cap.
    pub budget: Budget,
    pub printer: Printer,
    /// The terminal's width in columns (only a table on a terminal uses it).
    pub width: u16,
}

impl CostContext {
    /// From the command context. The profile is read only for its budget: a
    /// broken or missing profile is a warning (the ledger can still be shown),
    /// and no profile at all is silently no budget.
    pub fn new(ctx: &Context) -> Result<CostContext, Error> {
        let budget = match ctx.load_profile() {
            Ok(profile) => profile.budget,
            Err(e) => {
                let named = ctx.profile_flag.is_some()
                    || (ctx.env)(crate::env::ROUTE_PROFILE).is_some_and(|p| !p.is_empty())
                    || crate::profile::load::default_path().is_some_and(|p| p.exists());
                if named {
                    ctx.printer
                        .warn(&format!("budgets are not shown: {}", e.message));
                }
                Budget::default()
            }
        };
        Ok(CostContext {
            data_dir: ctx.data_dir(),
            budget,
            printer: ctx.printer,
            width: ctx.printer.width(ctx.env),
        })
    }
}

/// Runs `route cost` (without `estimate`).
pub fn cost(args: &CostArgs, ctx: &CostContext) -> Result<ExitStatus, Error> {
    let output = produce(args, ctx, SystemTime::now())?;
    ctx.printer.out(&output.stdout)?;
    for note in &output.notes {
        ctx.printer.note(note);
    }
    Ok(ExitStatus::Success)
}

/// What `route cost` prints: stdout, and the lines for stderr.
#[derive(Debug, Default)]
struct Output {
    stdout: String,
    notes: Vec<String>,
}

fn produce(args: &CostArgs, ctx: &CostContext, now: SystemTime) -> Result<Output, Error> {
    // Validate every argument before touching the ledger, so a typo is exit 2
    // even when nothing is recorded yet.
    let format = output_format(args.format, args.json, CostFormat::Json, CostFormat::Table)?;
    let since = args.since.as_deref().map(Since::parse).transpose()?;
    let by = args.by.map(group_by);
    let table = format == CostFormat::Table;
    let limit = match (args.limit, by) {
        (Some(n), _) => Some(n),
        (None, None) if table => Some(DEFAULT_TABLE_ROWS),
        (None, _) => None,
    };

    let ledger = match &ctx.data_dir {
        Some(dir) => Ledger::open_read(dir).map_err(ledger_error)?,
        None => None,
    };
    let filter = Filter {
        since: since.as_ref().map(|s| s.start(now)),
        limit,
    };
    let data = match &ledger {
        Some(ledger) => {
            // What was spent is shown only against a daily or monthly cap.
            let capped = ctx.budget.daily.is_some() || ctx.budget.monthly.is_some();
            Data::read(ledger, by, &filter, table, capped.then_some(now)).map_err(ledger_error)?
        }
        None => Data::default(),
    };

    let mut out = Output {
        stdout: match format {
            CostFormat::Table => render_table(&data, by, ctx),
            CostFormat::Json => render_json(&data, by)?,
            CostFormat::Csv => render_csv(&data, by),
        },
        notes: Vec::new(),
    };

    if ledger.is_none() {
        out.notes.push("no requests recorded yet".into());
    } else if data.is_empty() {
        out.notes.push(match &since {
            Some(s) => format!("no requests since {}", s.text),
            None => "no requests recorded yet".into(),
        });
    } else if by.is_none() && args.limit.is_none() && table {
        let total = data.totals.requests;
        let shown = data.requests.len() as u64;
        if total > shown {
            out.notes.push(format!(
                "showing the newest {shown} of {total} requests (--limit N for more)"
            ));
        }
    }

    if let Some(line) = budget_line(&ctx.budget, data.spent) {
        if table {
            out.stdout.push_str(&line);
            out.stdout.push('\n');
        } else {
            out.notes.push(line);
        }
    }
    Ok(out)
}

/// A ledger `route cost` cannot read is the user's file to fix (exit 2),
/// with how to.
pub(crate) fn ledger_error(e: LedgerError) -> Error {
    Error::usage(e.to_string()).with_hint(e.hint()).caused_by(e)
}

fn group_by(by: CostBy) -> GroupBy {
    match by {
        CostBy::Model => GroupBy::Model,
        CostBy::Provider => GroupBy::Provider,
        CostBy::Alias => GroupBy::Alias,
        CostBy::Tag => GroupBy::Tag,
        CostBy::Day => GroupBy::Day,
    }
}

pub(super) fn by_name(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Model => "model",
        GroupBy::Provider => "provider",
        GroupBy::Alias => "alias",
        GroupBy::Tag => "tag",
        GroupBy::Day => "day",
    }
}

/// `--since`: a duration ago or the start of a local date.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Since {
    /// As the user wrote it, for messages.
    text: String,
    kind: SinceKind,
}

#[derive(Debug, Clone, PartialEq)]
enum SinceKind {
    Ago(Duration),
    Date(String),
}

impl Since {
    pub(crate) fn parse(s: &str) -> Result<Since, Error> {
        let t = s.trim();
        let kind = if crate::time::parse_date(t).is_some() {
            SinceKind::Date(t.to_owned())
        } else if t.len() == 10 && t.as_bytes().get(4) == Some(&b'-') {
            return Err(Error::usage(format!("--since `{s}` is not a valid date")));
        } else {
            let d = crate::profile::duration::parse(t).map_err(|_| {
                Error::usage_hint(
                    format!("--since `{s}` is neither a duration nor a date"),
                    Some("write a duration ago (30m, 24h, 7d) or a date (2026-11-01)".into()),
                )
            })?;
            SinceKind::Ago(d)
        };
        Ok(Since {
            text: t.to_owned(),
            kind,
        })
    }

    pub(crate) fn start(&self, now: SystemTime) -> SystemTime {
        match &self.kind {
            SinceKind::Ago(d) => now.checked_sub(*d).unwrap_or(UNIX_EPOCH),
            // Local midnight; UTC midnight only if SQLite cannot say.
            SinceKind::Date(date) => query::local_midnight(date)
                .or_else(|| crate::time::parse_date(date))
                .unwrap_or(UNIX_EPOCH),
        }
    }
}

/// What was read from the ledger.
#[derive(Debug, Default)]
struct Data {
    requests: Vec<RequestRow>,
    groups: Vec<GroupRow>,
    /// Over the whole `--since` range, for the table's total line.
    totals: Totals,
    spent: Spent,
}

impl Data {
    fn read(
        ledger: &Ledger,
        by: Option<GroupBy>,
        filter: &Filter,
        table: bool,
        spent_at: Option<SystemTime>,
    ) -> Result<Data, LedgerError> {
        let mut data = Data::default();
        match by {
            Some(by) => data.groups = ledger.totals_by(by, filter)?,
            None => data.requests = ledger.requests(filter)?,
        }
        if table {
            data.totals = ledger.totals(&Filter {
                since: filter.since,
                limit: None,
            })?;
        }
        // Summing the month's spend is the dearest read of a large ledger.
        if let Some(now) = spent_at {
            data.spent = ledger.spent(now)?;
        }
        Ok(data)
    }

    fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.groups.is_empty()
    }
}

/// `budget: daily $1.23 / $5.00 · monthly $10.00 / $50.00 · per request $0.50`,
/// or `None` when no cap is set.
fn budget_line(budget: &Budget, spent: Spent) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(cap) = budget.daily {
        parts.push(format!("daily {} / {}", spent.today, cap));
    }
    if let Some(cap) = budget.monthly {
        parts.push(format!("monthly {} / {}", spent.this_month, cap));
    }
    if let Some(cap) = budget.per_request {
        parts.push(format!("per request {cap}"));
    }
    (!parts.is_empty()).then(|| format!("budget: {}", parts.join(" · ")))
}

#[cfg(test)]
mod tests {
    use super::machine::{cost_value, csv_field, decimal};
    use super::table::cost_text;
    use super::*;
    use crate::ledger::tests::{noon, row};
    use crate::money::Usd;
    use crate::router::Outcome;
    use crate::time::from_unix_ms;

    fn args(by: Option<CostBy>, format: CostFormat) -> CostArgs {
        CostArgs {
            command: None,
            since: None,
            by,
            limit: None,
            format: Some(format),
            json: false,
        }
    }

    fn ctx(dir: Option<PathBuf>, budget: Budget) -> CostContext {
        CostContext {
            data_dir: dir,
            budget,
            printer: Printer {
                stdout_tty: false,
                stderr_tty: false,
                color: false,
                quiet: false,
                verbose: false,
            },
            width: 200,
        }
    }

    #[test]
    fn since_takes_durations_and_dates() {
        let now = from_unix_ms(noon());
        let s = Since::parse("24h").unwrap();
        assert_eq!(s.start(now), now - Duration::from_secs(86_400));
        assert_eq!(
            Since::parse("30m").unwrap().kind,
            SinceKind::Ago(Duration::from_secs(1800))
        );
        let d = Since::parse("2026-11-01").unwrap();
        assert_eq!(d.kind, SinceKind::Date("2026-11-01".into()));
        assert_eq!(query::local_date(d.start(now)), "2026-11-01");
        for bad in ["yesterday", "5", "2026-13-01", "2026-02-30", ""] {
            let e = Since::parse(bad).unwrap_err();
            assert_eq!(e.status(), ExitStatus::Usage, "{bad}");
            assert!(e.message.contains(&format!("`{bad}`")), "{}", e.message);
        }
    }

    #[test]
    fn a_bad_since_is_a_usage_error_even_without_a_ledger() {
        let mut a = args(None, CostFormat::Table);
        a.since = Some("last tuesday".into());
        let e = produce(&a, &ctx(None, Budget::default()), SystemTime::now()).unwrap_err();
        assert_eq!(e.status(), ExitStatus::Usage);
    }

    #[test]
    fn csv_quoting_follows_rfc_4180() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn money_is_never_a_made_up_zero() {
        assert_eq!(cost_text(Usd::ZERO, 1), "?");
        assert_eq!(cost_text(Usd::from_picos(10_000_000_000), 1), "$0.01 + ?");
        assert_eq!(cost_text(Usd::ZERO, 0), "$0.00");
        assert_eq!(cost_value(Usd::ZERO, 2), None);
        assert_eq!(decimal(Usd::from_picos(636_000_000)), "0.000636");
        assert_eq!(decimal(Usd::dollars(12)), "12");
        assert_eq!(decimal(Usd::from_picos(12_500_000_000_000)), "12.5");
        assert_eq!(decimal(Usd::from_picos(1)), "0.000000000001");
    }

    #[test]
    fn budget_line_shows_spent_over_cap() {
        let spent = Spent {
            today: Usd::from_picos(1_230_000_000_000),
            this_month: Usd::dollars(10),
        };
        let budget = Budget {
            daily: Some(Usd::dollars(5)),
            monthly: Some(Usd::dollars(50)),
            per_request: None,
        };
        assert_eq!(
            budget_line(&budget, spent).unwrap(),
            "budget: daily $1.23 / $5.00 · monthly $10.00 / $50.00"
        );
        assert_eq!(budget_line(&Budget::default(), spent), None);
    }

    #[test]
    fn the_budget_goes_to_stderr_with_machine_formats() {
        let dir = seeded();
        let budget = Budget {
            daily: Some(Usd::dollars(5)),
            monthly: None,
            per_request: Usd::from_dollars(0.5),
        };
        let c = ctx(Some(dir.path().into()), budget);
        let now = SystemTime::now();
        let table = produce(&args(None, CostFormat::Table), &c, now).unwrap();
        assert!(
            table
                .stdout
                .ends_with("budget: daily $0.01 / $5.00 · per request $0.50\n"),
            "{}",
            table.stdout
        );
        assert!(table.notes.is_empty(), "{:?}", table.notes);
        let json = produce(&args(None, CostFormat::Json), &c, now).unwrap();
        assert!(json.stdout.starts_with('['));
        assert!(!json.stdout.contains("budget"));
        assert_eq!(
            json.notes,
            ["budget: daily $0.01 / $5.00 · per request $0.50"]
        );
    }

    fn seeded() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(dir.path()).unwrap();
        let now = crate::time::unix_ms(SystemTime::now());
        let mut failed = row("r1", 1, now - 5000, "openai/gpt", Outcome::Error);
        failed.http_status = Some(500);
        let mut answered = row("r1", 2, now - 4000, "anthropic/sonnet", Outcome::Ok);
        answered.label = "sonnet, \"the\" model".into();
        answered.input_tokens = Some(100);
        answered.output_tokens = Some(50);
        answered.cost = Some(Usd::from_picos(10_000_000_000));
        let mut free = row("r2", 1, now - 3000, "ollama/llama", Outcome::Ok);
        free.input_tokens = Some(1);
        free.output_tokens = Some(1);
        ledger.record(&[failed, answered, free]).unwrap();
        dir
    }

    #[test]
    fn renders_requests_in_every_format() {
        let dir = seeded();
        let ledger = Ledger::open_read(dir.path()).unwrap().unwrap();
        let filter = Filter::default();
        let data = Data::read(&ledger, None, &filter, true, Some(SystemTime::now())).unwrap();
        let c = ctx(Some(dir.path().into()), Budget::default());

        let table = render_table(&data, None, &c);
        assert!(!table.contains('\x1b'));
        assert!(table.contains("$0.01"), "{table}");
        assert!(table.contains("| ok "), "{table}");
        assert!(table.contains(" ? "), "unknown cost shows as ?:\n{table}");
        assert!(
            table.ends_with("total: 2 requests · $0.01 + ?\n"),
            "{table}"
        );

        let json: serde_json::Value =
            serde_json::from_str(&render_json(&data, None).unwrap()).unwrap();
        assert_eq!(json[0]["request_id"], "r2");
        assert_eq!(json[0]["cost_usd"], serde_json::Value::Null);
        assert_eq!(json[1]["cost_usd"], 0.01);
        assert_eq!(json[1]["fallbacks"], 1);
        assert_eq!(json[1]["attempts"], 2);

        let csv = render_csv(&data, None);
        let lines: Vec<_> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("request_id,at,local_time,"));
        assert!(
            lines[2].contains(",\"sonnet, \"\"the\"\" model\","),
            "{csv}"
        );
        assert!(lines[2].contains(",0.01,"), "{csv}");
    }

    #[test]
    fn renders_groups() {
        let dir = seeded();
        let ledger = Ledger::open_read(dir.path()).unwrap().unwrap();
        let data = Data::read(
            &ledger,
            Some(GroupBy::Provider),
            &Filter::default(),
            true,
            Some(SystemTime::now()),
        )
        .unwrap();
        let c = ctx(Some(dir.path().into()), Budget::default());
        let table = render_table(&data, Some(GroupBy::Provider), &c);
        assert!(table.contains("anthropic"), "{table}");
        assert!(table.contains("100%"), "{table}");
        assert!(
            table.ends_with("total: 2 requests · 3 attempts · $0.01 + ? · 0 failed\n"),
            "{table}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render_json(&data, Some(GroupBy::Provider)).unwrap()).unwrap();
        assert_eq!(json[0]["key"], "anthropic");
        assert_eq!(json[0]["by"], "provider");
        let ollama = json
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == "ollama")
            .unwrap();
        assert_eq!(ollama["cost_usd"], serde_json::Value::Null);
        let csv = render_csv(&data, Some(GroupBy::Provider));
        assert!(csv.starts_with("provider,requests,attempts,"), "{csv}");
    }

    #[test]
    fn a_missing_ledger_is_an_empty_result_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let c = ctx(Some(dir.path().join("route")), Budget::default());
        let now = SystemTime::now();
        let table = produce(&args(None, CostFormat::Table), &c, now).unwrap();
        assert!(table.stdout.contains("| time"), "{}", table.stdout);
        assert_eq!(table.notes, ["no requests recorded yet"]);
        let json = produce(&args(None, CostFormat::Json), &c, now).unwrap();
        assert_eq!(json.stdout, "[]\n");
        let csv = produce(&args(Some(CostBy::Day), CostFormat::Csv), &c, now).unwrap();
        assert_eq!(
            csv.stdout,
            "day,requests,attempts,input_tokens,output_tokens,cost_usd,unknown_cost_attempts,failures,fallback_rate\n"
        );
        assert!(!dir.path().join("route").exists());
    }
}
