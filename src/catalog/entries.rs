//! The catalog's entries, by key: parsed whole, or, for a file in route's own layout (one
//! entry a line, keys sorted: `catalog/catalog.json` as `catalog/regenerate.py` renders
//! it), each line parsed the first time it is looked at.
//!
//! A priced `ask` looks up one or two models; parsing all of the built-in catalog's
//! 1,500 entries for that cost more than a millisecond of every request. Indexing its
//! lines costs a few tens of microseconds.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::OnceLock;

use super::{Entry, litellm};

/// Every entry of a catalog, by key.
pub(super) enum Entries {
    /// A file in LiteLLM's layout, parsed whole.
    Parsed(BTreeMap<String, Entry>),
    /// A file in route's layout.
    Lines(Lines),
}

/// A file in route's layout: the keys, in order, and where each entry's value is.
pub(super) struct Lines {
    bytes: Cow<'static, [u8]>,
    lines: Vec<Line>,
}

struct Line {
    key: String,
    value: Range<usize>,
    /// The entry, once parsed; `None` for a value that is not a kept chat model.
    entry: OnceLock<Option<Entry>>,
}

impl Entries {
    /// Reads a catalog: by lines when it is in route's layout, whole otherwise.
    pub(super) fn read(bytes: Cow<'static, [u8]>) -> Result<Entries, String> {
        match Lines::index(bytes) {
            Ok(lines) => Ok(Entries::Lines(lines)),
            Err(bytes) => litellm::entries(&bytes).map(Entries::Parsed),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Entries::Parsed(map) => map.len(),
            Entries::Lines(lines) => lines.lines.len(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn get(&self, key: &str) -> Option<&Entry> {
        match self {
            Entries::Parsed(map) => map.get(key),
            Entries::Lines(lines) => {
                let at = lines
                    .lines
                    .binary_search_by(|line| line.key.as_str().cmp(key))
                    .ok()?;
                lines.entry(at)
            }
        }
    }

    /// The entries from `start` on, in key order.
    pub(super) fn from<'a>(
        &'a self,
        start: &str,
    ) -> Box<dyn Iterator<Item = (&'a str, &'a Entry)> + 'a> {
        match self {
            Entries::Parsed(map) => Box::new(
                map.range::<str, _>((std::ops::Bound::Included(start), std::ops::Bound::Unbounded))
                    .map(|(k, e)| (k.as_str(), e)),
            ),
            Entries::Lines(lines) => {
                let first = lines
                    .lines
                    .partition_point(|line| line.key.as_str() < start);
                Box::new(
                    (first..lines.lines.len())
                        .filter_map(|at| Some((lines.lines[at].key.as_str(), lines.entry(at)?))),
                )
            }
        }
    }
}

impl Lines {
    /// The index of a file in route's layout: `{`, then lines `"key":{…}` separated by
    /// `,` in strictly increasing key order, then `}`. Anything else is handed back to be
    /// parsed whole.
    fn index(bytes: Cow<'static, [u8]>) -> Result<Lines, Cow<'static, [u8]>> {
        let Some(lines) = index_lines(&bytes) else {
            return Err(bytes);
        };
        Ok(Lines { bytes, lines })
    }

    fn entry(&self, at: usize) -> Option<&Entry> {
        let line = &self.lines[at];
        line.entry
            .get_or_init(|| litellm::entry(&line.key, &self.bytes[line.value.clone()]))
            .as_ref()
    }
}

fn index_lines(bytes: &[u8]) -> Option<Vec<Line>> {
    let body = bytes.strip_prefix(b"{\n")?;
    let body = body
        .strip_suffix(b"\n}\n")
        .or_else(|| body.strip_suffix(b"\n}"))?;
    let mut lines = Vec::with_capacity(body.len() / 256);
    // Where the current line starts in `bytes`: after the opening "{\n".
    let mut offset = 2;
    for raw in body.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b",").unwrap_or(raw);
        let (key, value) = split_line(line)?;
        if lines.last().is_some_and(|last: &Line| last.key >= key) {
            return None;
        }
        lines.push(Line {
            key,
            value: offset + value.start..offset + value.end,
            entry: OnceLock::new(),
        });
        offset += raw.len() + 1;
    }
    (!lines.is_empty()).then_some(lines)
}

/// `"key":{…}` → the key, and where the value `{…}` is in the line.
fn split_line(line: &[u8]) -> Option<(String, Range<usize>)> {
    if line.first() != Some(&b'"') || line.last() != Some(&b'}') {
        return None;
    }
    let mut end = 1;
    let mut escaped = false;
    loop {
        match *line.get(end)? {
            b'\\' => escaped = true,
            b'"' if !escaped => break,
            _ => escaped = false,
        }
        end += 1;
    }
    if line.get(end + 1..end + 3) != Some(b":{") {
        return None;
    }
    let key = if line[1..end].contains(&b'\\') {
        serde_json::from_slice(&line[..=end]).ok()?
    } else {
        std::str::from_utf8(&line[1..end]).ok()?.to_owned()
    };
    Some((key, end + 2..line.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE_LAYOUT: &str = concat!(
        "{\n",
        r#""a/x":{"input_cost_per_token":1e-06,"litellm_provider":"openai","mode":"chat","output_cost_per_token":2e-06},"#,
        "\n",
        r#""b\"q":{"litellm_provider":"openai","mode":"chat"},"#,
        "\n",
        r#""c":{"litellm_provider":"openai","mode":"embedding"}"#,
        "\n}\n"
    );

    #[test]
    fn route_layout_is_read_by_lines_and_each_entry_on_demand() {
        let entries = Entries::read(Cow::Borrowed(ROUTE_LAYOUT.as_bytes())).unwrap();
        let Entries::Lines(lines) = &entries else {
            panic!("read whole")
        };
        assert_eq!(entries.len(), 3);
        assert!(lines.lines.iter().all(|l| l.entry.get().is_none()));
        assert!(entries.get("a/x").unwrap().info.pricing.is_some());
        assert_eq!(
            lines
                .lines
                .iter()
                .filter(|l| l.entry.get().is_some())
                .count(),
            1
        );
        // An escaped key; an entry that is not a chat model is not in the catalog.
        assert!(entries.get("b\"q").is_some());
        assert!(entries.get("c").is_none());
        assert!(entries.get("zz").is_none());
        let from_b: Vec<&str> = entries.from("b").map(|(k, _)| k).collect();
        assert_eq!(from_b, ["b\"q"]);
    }

    #[test]
    fn other_layouts_are_parsed_whole() {
        for text in [
            // LiteLLM's own: indented, several lines an entry.
            "{\n  \"a\": {\"litellm_provider\": \"openai\", \"mode\": \"chat\"}\n}\n",
            // Keys out of order.
            "{\n\"b\":{\"litellm_provider\":\"openai\",\"mode\":\"chat\"},\n\"a\":{\"litellm_provider\":\"openai\",\"mode\":\"chat\"}\n}\n",
        ] {
            let entries = Entries::read(Cow::Owned(text.as_bytes().to_vec())).unwrap();
            assert!(matches!(entries, Entries::Parsed(_)), "{text}");
            assert!(entries.get("a").is_some());
        }
        assert!(Entries::read(Cow::Borrowed(b"{\n\"a\":{,\n}\n")).is_err());
    }
}
