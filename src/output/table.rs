//! comfy-table builders shared by the table-printing commands: box drawing
//! on a terminal, plain ASCII when piped, always within the given width.

use comfy_table::{ContentArrangement, Table, presets};

/// A table styled for where it is going.
pub fn new(tty: bool, width: u16) -> Table {
    let mut t = Table::new();
    if tty {
        t.load_style(presets::UTF8_FULL_CONDENSED);
    } else {
        t.load_style(presets::ASCII_MARKDOWN);
    }
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_width(width);
    t
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
    fn trim_lines_ends_with_the_note() {
        let mut lines: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        assert!(trim_lines(&mut lines, 3, "…"));
        assert_eq!(lines, ["0", "1", "…"]);
        let mut short = vec!["x".to_owned()];
        assert!(!trim_lines(&mut short, 3, "…"));
    }
}
