//! Drawing a comparison: one column per model (as a terminal table or in
//! Markdown), one block per model on narrow terminals, or one `ask --json`
//! object per run.

use std::fmt::Write as _;

use super::figures::Figures;
use super::{ANSWER_LINES, Member, ModelResult, TRIMMED};
use crate::error::Error;
use crate::output::json::{AskJson, StructuredJson, UsageJson};
use crate::output::table;

/// The answer as lines of at most `width`, trimmed with a note when long.
fn answer_lines(figures: &Figures, width: usize) -> Vec<String> {
    let Some(text) = &figures.answer else {
        return vec!["(no answer)".to_owned()];
    };
    let mut lines = table::wrap(text, width);
    table::trim_lines(&mut lines, ANSWER_LINES, TRIMMED);
    if lines.is_empty() {
        lines.push("(empty answer)".to_owned());
    }
    lines
}

const ROWS: [&str; 5] = [
    "status",
    "first token",
    "total time",
    "tokens in/out",
    "cost",
];

fn figure_cells(f: &Figures) -> [&str; 5] {
    [&f.status, &f.ttft, &f.total, &f.tokens, &f.cost]
}

/// One column per model. On a terminal the columns share `width` and long
/// answers are trimmed; off one, every cell is whole and on one line.
pub(super) fn side_by_side(
    members: &[Member],
    figures: &[Figures],
    tty: bool,
    width: u16,
) -> String {
    let n = u16::try_from(members.len()).unwrap_or(u16::MAX);
    // "tokens in/out" and the cell padding.
    let label_column: u16 = 15;
    // Borders: one left of every column, and one at the right end.
    let column = width.saturating_sub(label_column + n + 1) / n.max(1);
    let content = usize::from(column.saturating_sub(2)).max(1);
    let mut t = table::new(tty, width);
    let mut header = vec![String::new()];
    header.extend(members.iter().map(|m| {
        let full = format!("{}/{}", m.target.provider.name, m.target.model);
        if tty && m.target.label != full {
            format!("{}\n{full}", m.target.label)
        } else {
            m.title()
        }
    }));
    t.set_header(header);
    let mut answers = vec!["answer".to_owned()];
    answers.extend(figures.iter().map(|f| {
        if tty {
            answer_lines(f, content).join("\n")
        } else {
            table::one_line(&whole_answer(f))
        }
    }));
    t.add_row(answers);
    for (row, name) in ROWS.iter().enumerate() {
        let mut cells = vec![(*name).to_owned()];
        cells.extend(figures.iter().map(|f| figure_cells(f)[row].to_owned()));
        t.add_row(cells);
    }
    if tty {
        let mut constraints = vec![comfy_table::ColumnConstraint::Absolute(
            comfy_table::Width::Fixed(label_column),
        )];
        constraints.extend((0..n).map(|_| {
            comfy_table::ColumnConstraint::UpperBoundary(comfy_table::Width::Fixed(column))
        }));
        t.set_constraints(constraints);
    }
    format!("{t}\n")
}

/// The answer untrimmed, or what stands for a missing or empty one.
fn whole_answer(figures: &Figures) -> String {
    match figures.answer.as_deref().map(str::trim_end) {
        None => "(no answer)".to_owned(),
        Some("") => "(empty answer)".to_owned(),
        Some(text) => text.to_owned(),
    }
}

/// One block per model, for terminals too narrow for columns.
pub(super) fn blocks(members: &[Member], figures: &[Figures], width: u16) -> String {
    let width = usize::from(width).max(20);
    let mut out = String::new();
    for (m, f) in members.iter().zip(figures) {
        let title = m.title();
        let _ = writeln!(out, "{title}");
        let _ = writeln!(out, "{}", "-".repeat(title.chars().count().min(width)));
        for line in answer_lines(f, width) {
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
        for (name, value) in ROWS.iter().zip(figure_cells(f)) {
            let _ = writeln!(out, "{name:<13}  {value}");
        }
        out.push('\n');
    }
    out
}

/// One `ask --json` object per model run, in model order; with `valid` and
/// `value` when `structured` (`--schema`).
pub(super) fn json(
    members: &[Member],
    results: &[ModelResult<'_>],
    structured: bool,
) -> Result<String, Error> {
    let mut all: Vec<AskJson> = Vec::new();
    for (m, r) in members.iter().zip(results) {
        if let Some(reason) = &r.skipped {
            all.push(AskJson {
                text: String::new(),
                incomplete: false,
                model: m.target.label.clone(),
                provider: m.target.provider.name.clone(),
                provider_model: m.target.model.clone(),
                served_model: None,
                usage: UsageJson::default(),
                cost_usd: None,
                estimated: false,
                provider_cost_usd: None,
                latency_ms: 0,
                ttft_ms: None,
                attempts: Vec::new(),
                request_id: String::new(),
                conversation_id: None,
                error: Some(format!("skipped: {reason}")),
                structured: structured.then(|| StructuredJson::of(None)),
            });
        }
        all.extend(
            r.runs
                .iter()
                .filter_map(|run| AskJson::from_routed(&run.routed, &run.request_id, structured)),
        );
    }
    let mut text =
        serde_json::to_string(&all).map_err(|e| Error::failed(e.to_string()).caused_by(e))?;
    text.push('\n');
    Ok(text)
}

/// The side-by-side table in Markdown: a column per model, the rows of the
/// terminal's table. Answers are whole (never trimmed); in every cell `|` is
/// escaped and a line break is `<br>`, so that each row stays one line.
pub(super) fn markdown(members: &[Member], figures: &[Figures]) -> String {
    let mut out = String::from("| |");
    for m in members {
        let _ = write!(out, " {} |", markdown_cell(&m.title()));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(members.len()));
    out.push('\n');
    let mut row = |name: &str, cells: &mut dyn Iterator<Item = String>| {
        let _ = write!(out, "| {name} |");
        for cell in cells {
            let _ = write!(out, " {} |", markdown_cell(&cell));
        }
        out.push('\n');
    };
    row("answer", &mut figures.iter().map(whole_answer));
    for (i, name) in ROWS.iter().enumerate() {
        row(
            name,
            &mut figures.iter().map(|f| figure_cells(f)[i].to_owned()),
        );
    }
    out
}

/// A Markdown table cell: `|` escaped, line breaks as `<br>`.
fn markdown_cell(text: &str) -> String {
    text.trim_end()
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('|', "\\|")
        .replace('\n', "<br>")
}

#[cfg(test)]
mod tests {
    use super::markdown_cell;

    #[test]
    fn a_markdown_cell_escapes_pipes_and_keeps_line_breaks_as_br() {
        assert_eq!(markdown_cell("a | b"), "a \\| b");
        assert_eq!(
            markdown_cell("one\ntwo\r\nthree\n\n"),
            "one<br>two<br>three"
        );
        assert_eq!(markdown_cell("x\n\ny"), "x<br><br>y");
    }
}
