//! comfy-table builders and cell helpers shared by the table-printing
//! commands: box drawing within the terminal's width on a terminal; plain
//! ASCII, one record per line with whole cells, when piped (CONTRACT.md "The
//! binary": only a terminal's width shapes a table, so `grep` and `awk` work).

use comfy_table::{
    Cell, CellAlignment, ColumnConstraint, ContentArrangement, Table, Width, presets,
};

/// A table styled for where it is going: `width` shapes it on a terminal
/// only; off one, no cell is wrapped or cut, whatever `COLUMNS` says.
pub fn new(tty: bool, width: u16) -> Table {
    let mut t = Table::new();
    if tty {
        t.load_style(presets::UTF8_FULL_CONDENSED);
        t.set_content_arrangement(ContentArrangement::Dynamic);
        t.set_width(width);
    } else {
        t.load_style(presets::ASCII_MARKDOWN);
        t.set_content_arrangement(ContentArrangement::Disabled);
    }
    t
}

/// A cell's text on one line, for a table that is not on a terminal: its
/// line breaks written `\n`, so that one record stays one line.
pub fn one_line(text: &str) -> String {
    text.trim_end().replace("\r\n", "\n").replace('\n', "\\n")
}

/// A right-aligned cell, for numbers.
pub fn right(text: impl Into<String>) -> Cell {
    Cell::new(text.into()).set_alignment(CellAlignment::Right)
}

/// Columns that are never wrapped (times, numbers, names and model ids read
/// badly cut in two).
pub fn keep_whole(t: &mut Table, columns: &[usize]) {
    for &i in columns {
        if let Some(c) = t.column_mut(i) {
            c.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
}

/// Columns that keep at least this many characters, padding included (so
/// that headers stay whole when the width is short).
pub fn at_least(t: &mut Table, columns: &[(usize, u16)]) {
    for &(i, width) in columns {
        if let Some(c) = t.column_mut(i) {
            c.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(width)));
        }
    }
}

/// `text` cut to at most `max` characters, the last one `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Word-wraps `text` to lines of at most `width` characters, keeping its own
/// line breaks; a word longer than the width is split.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        let mut len = 0;
        for word in paragraph.split_whitespace() {
            let mut word: Vec<char> = word.chars().collect();
            if len > 0 && len + 1 + word.len() <= width {
                line.push(' ');
                line.extend(&word);
                len += 1 + word.len();
                continue;
            }
            if len > 0 {
                lines.push(std::mem::take(&mut line));
            }
            while word.len() > width {
                lines.push(word.drain(..width).collect());
            }
            len = word.len();
            line = word.into_iter().collect();
        }
        lines.push(line);
    }
    // No trailing blank lines: they only pad the cell.
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// Keeps the first `max` lines; when some are dropped, the last kept line
/// is `note`. Returns whether anything was dropped.
pub fn trim_lines(lines: &mut Vec<String>, max: usize, note: &str) -> bool {
    if lines.len() <= max {
        return false;
    }
    lines.truncate(max.saturating_sub(1));
    lines.push(note.to_owned());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_words_keeps_line_breaks_and_splits_long_words() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("a\n\nb", 10), ["a", "", "b"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("héllo wörld", 5), ["héllo", "wörld"]);
        assert!(wrap("", 5).is_empty());
    }

    #[test]
    fn shorten_cuts_by_characters_and_ends_with_an_ellipsis() {
        assert_eq!(shorten("short", 5), "short");
        assert_eq!(shorten("héllo wörld", 6), "héllo…");
        assert_eq!(shorten("abc", 0), "…");
    }

    #[test]
    fn a_piped_table_ignores_the_width_and_keeps_every_cell_whole() {
        let long = "oai/gpt-4o-mini-2024-07-18 ".repeat(6);
        for (tty, width) in [(false, 20), (false, 100), (true, 40)] {
            let mut t = new(tty, width);
            t.set_header(["model", "until"]);
            t.add_row([long.trim_end(), "2026-11-30"]);
            keep_whole(&mut t, &[1]);
            at_least(&mut t, &[(0, 10)]);
            let text = t.to_string();
            if tty {
                assert!(text.lines().all(|l| l.chars().count() <= 40), "{text}");
            } else {
                assert_eq!(text.lines().count(), 3, "{text}");
                assert!(text.contains(long.trim_end()), "{text}");
            }
        }
        assert_eq!(one_line("a\nb\r\nc\n"), "a\\nb\\nc");
    }

    #[test]
    fn trim_lines_ends_with_the_note() {
        let mut lines: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        assert!(trim_lines(&mut lines, 3, "…"));
        assert_eq!(lines, ["0", "1", "…"]);
        let mut short = vec!["x".to_owned()];
        assert!(!trim_lines(&mut short, 3, "…"));
    }
}
