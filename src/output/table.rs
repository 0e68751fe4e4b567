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
