//! Newline-delimited JSON framing (Ollama's streaming format), sans-IO, with a
//! cap on the length of a line.

use super::ProviderError;

/// The longest line accepted.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// Incremental NDJSON line splitter.
#[derive(Debug, Default)]
pub struct Framer {
    partial: Vec<u8>,
}

impl Framer {
    /// Feeds bytes, calling `on_line` with each complete, non-blank line.
    pub fn feed(
        &mut self,
        mut bytes: &[u8],
        on_line: &mut dyn FnMut(&[u8]) -> Result<(), ProviderError>,
    ) -> Result<(), ProviderError> {
        while let Some(i) = memchr::memchr(b'\n', bytes) {
            if self.partial.is_empty() {
                emit(&bytes[..i], on_line)?;
            } else {
                self.partial.extend_from_slice(&bytes[..i]);
                let line = std::mem::take(&mut self.partial);
                let result = emit(&line, on_line);
                self.partial = line;
                self.partial.clear();
                result?;
            }
            bytes = &bytes[i + 1..];
        }
        if self.partial.len() + bytes.len() > MAX_LINE_BYTES {
            return Err(ProviderError::invalid(format!(
                "a stream line is longer than {} MiB; giving up on it",
                MAX_LINE_BYTES / (1024 * 1024)
            )));
        }
        self.partial.extend_from_slice(bytes);
        Ok(())
    }

    /// The body ended: a last line without a newline still counts.
    pub fn finish(
        &mut self,
        on_line: &mut dyn FnMut(&[u8]) -> Result<(), ProviderError>,
    ) -> Result<(), ProviderError> {
        let line = std::mem::take(&mut self.partial);
        emit(&line, on_line)
    }
}

fn emit(
    line: &[u8],
    on_line: &mut dyn FnMut(&[u8]) -> Result<(), ProviderError>,
) -> Result<(), ProviderError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    on_line(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &[u8] = b"{\"a\":1}\n\n{\"b\":\"x y\"}\r\n{\"done\":true}";

    fn collect(chunks: &[&[u8]]) -> Vec<String> {
        let mut framer = Framer::default();
        let mut out = Vec::new();
        let mut push = |l: &[u8]| {
            out.push(String::from_utf8(l.to_vec()).unwrap());
            Ok(())
        };
        for c in chunks {
            framer.feed(c, &mut push).unwrap();
        }
        framer.finish(&mut push).unwrap();
        out
    }

    #[test]
    fn every_split_point() {
        let want = vec!["{\"a\":1}", "{\"b\":\"x y\"}", "{\"done\":true}"];
        for i in 0..=STREAM.len() {
            for j in i..=STREAM.len() {
                assert_eq!(
                    collect(&[&STREAM[..i], &STREAM[i..j], &STREAM[j..]]),
                    want,
                    "{i} {j}"
                );
            }
        }
    }

    #[test]
    fn long_line_is_capped() {
        let mut framer = Framer::default();
        let mut noop = |_: &[u8]| Ok(());
        let chunk = vec![b'x'; MAX_LINE_BYTES + 1];
        assert!(framer.feed(&chunk, &mut noop).is_err());
    }
}

/// Property tests (issue 9): the framer never panics, and cuts anywhere give
/// the same lines.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::Framer;
    use crate::provider::fuzz::{bytes, config, cuts, positions, soup};

    fn frame(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut framer = Framer::default();
        let mut lines = Vec::new();
        let mut push = |l: &[u8]| {
            lines.push(l.to_vec());
            Ok(())
        };
        let mut start = 0;
        for &end in cuts.iter().chain(std::iter::once(&bytes.len())) {
            framer
                .feed(&bytes[start..end], &mut push)
                .expect("no line here reaches the cap");
            start = end;
        }
        framer.finish(&mut push).expect("finish");
        lines
    }

    proptest! {
        #![proptest_config(config(1000))]

        #[test]
        fn any_bytes_any_cuts(b in bytes(), c in cuts()) {
            let whole = frame(&b, &[]);
            prop_assert_eq!(frame(&b, &positions(b.len(), &c)), whole);
        }

        #[test]
        fn token_soup_any_cuts(b in soup(&["{\"done\":true}"]), c in cuts()) {
            let whole = frame(&b, &[]);
            let every: Vec<usize> = (1..b.len()).collect();
            prop_assert_eq!(&frame(&b, &positions(b.len(), &c)), &whole);
            prop_assert_eq!(&frame(&b, &every), &whole);
            // No line is blank or holds a line end.
            for line in &whole {
                prop_assert!(!line.iter().all(u8::is_ascii_whitespace));
                prop_assert!(!line.contains(&b'\n'));
            }
        }
    }
}
