//! Server-sent events framing (<https://html.spec.whatwg.org/multipage/server-sent-events.html>),
//! sans-IO: bytes in, `(event, data)` pairs out.
//!
//! Hand-written rather than eventsource-stream because it must be fed in
//! arbitrary pieces without an async stream, cap the size of a line (a hostile
//! server can send one endless line), and stay allocation-free per event on the
//! hot path of a long answer. It is tested at every byte boundary below.

use super::ProviderError;

/// The longest line or event accepted; beyond it the stream is rejected.
pub const MAX_EVENT_BYTES: usize = 8 * 1024 * 1024;

/// One dispatched event. `event` is empty when the server sent no `event:` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    pub event: &'a str,
    pub data: &'a str,
}

/// Incremental SSE parser.
#[derive(Debug, Default)]
pub struct Framer {
    /// An incomplete line carried over from the previous feed.
    partial: Vec<u8>,
    /// The previous feed ended on `\r`: a leading `\n` belongs to that line end.
    skip_lf: bool,
    started: bool,
    event: String,
    data: Vec<u8>,
    has_data: bool,
}

impl Framer {
    /// Feeds bytes, calling `on_event` for each complete event.
    pub fn feed(
        &mut self,
        mut bytes: &[u8],
        on_event: &mut dyn FnMut(Event<'_>) -> Result<(), ProviderError>,
    ) -> Result<(), ProviderError> {
        if self.skip_lf && !bytes.is_empty() {
            self.skip_lf = false;
            if let Some(rest) = bytes.strip_prefix(b"\n") {
                bytes = rest;
            }
        }
        while let Some(i) = memchr::memchr2(b'\n', b'\r', bytes) {
            if self.partial.is_empty() {
                self.line(&bytes[..i], on_event)?;
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&bytes[..i]);
                let result = self.line(&line, on_event);
                line.clear();
                self.partial = line;
                result?;
            }
            let mut next = i + 1;
            if bytes[i] == b'\r' {
                match bytes.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            bytes = &bytes[next..];
        }
        if self.partial.len() + bytes.len() > MAX_EVENT_BYTES {
            return Err(too_long());
        }
        self.partial.extend_from_slice(bytes);
        Ok(())
    }

    /// The body ended. A last event not followed by a blank line is dispatched
    /// too: servers often close right after their final `data:` line.
    pub fn finish(
        &mut self,
        on_event: &mut dyn FnMut(Event<'_>) -> Result<(), ProviderError>,
    ) -> Result<(), ProviderError> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, on_event)?;
        }
        self.dispatch(on_event)
    }

    fn line(
        &mut self,
        mut line: &[u8],
        on_event: &mut dyn FnMut(Event<'_>) -> Result<(), ProviderError>,
    ) -> Result<(), ProviderError> {
        if !self.started {
            self.started = true;
            line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
        }
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(0) => return Ok(()), // a comment
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                if self.data.len() + value.len() > MAX_EVENT_BYTES {
                    return Err(too_long());
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(&String::from_utf8_lossy(value));
            }
            _ => {} // id, retry and unknown fields do not matter for one answer
        }
        Ok(())
    }

    fn dispatch(
        &mut self,
        on_event: &mut dyn FnMut(Event<'_>) -> Result<(), ProviderError>,
    ) -> Result<(), ProviderError> {
        let result = if self.has_data {
            let data = std::str::from_utf8(&self.data).map_err(|_| {
                ProviderError::invalid("the stream carried bytes that are not UTF-8")
            })?;
            on_event(Event {
                event: &self.event,
                data,
            })
        } else {
            Ok(())
        };
        self.data.clear();
        self.event.clear();
        self.has_data = false;
        result
    }
}

fn too_long() -> ProviderError {
    ProviderError::invalid(format!(
        "a stream event is longer than {} MiB; giving up on it",
        MAX_EVENT_BYTES / (1024 * 1024)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(chunks: &[&[u8]]) -> Vec<(String, String)> {
        let mut framer = Framer::default();
        let mut out = Vec::new();
        let mut push = |e: Event<'_>| {
            out.push((e.event.to_owned(), e.data.to_owned()));
            Ok(())
        };
        for c in chunks {
            framer.feed(c, &mut push).unwrap();
        }
        framer.finish(&mut push).unwrap();
        out
    }

    const STREAM: &str = "\u{feff}: comment\r\nevent: message_start\r\ndata: {\"a\":1}\r\n\r\n\
data: first\ndata: second\n\n\
id: 7\rdata:no-space\r\r\
event: ping\ndata: {}\n\n\
data: [DONE]\n\n";

    fn expected() -> Vec<(String, String)> {
        vec![
            ("message_start".into(), "{\"a\":1}".into()),
            (String::new(), "first\nsecond".into()),
            (String::new(), "no-space".into()),
            ("ping".into(), "{}".into()),
            (String::new(), "[DONE]".into()),
        ]
    }

    #[test]
    fn whole_stream() {
        assert_eq!(collect(&[STREAM.as_bytes()]), expected());
    }

    #[test]
    fn every_single_split_point() {
        let bytes = STREAM.as_bytes();
        for i in 0..=bytes.len() {
            assert_eq!(
                collect(&[&bytes[..i], &bytes[i..]]),
                expected(),
                "split at {i}"
            );
        }
    }

    #[test]
    fn every_pair_of_split_points() {
        let bytes = STREAM.as_bytes();
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                assert_eq!(
                    collect(&[&bytes[..i], &bytes[i..j], &bytes[j..]]),
                    expected(),
                    "split at {i} and {j}"
                );
            }
        }
    }

    #[test]
    fn byte_by_byte() {
        let chunks: Vec<&[u8]> = STREAM.as_bytes().chunks(1).collect();
        assert_eq!(collect(&chunks), expected());
    }

    #[test]
    fn last_event_without_blank_line() {
        assert_eq!(
            collect(&[b"data: tail"]),
            vec![(String::new(), "tail".to_owned())]
        );
    }

    #[test]
    fn endless_line_is_capped() {
        let mut framer = Framer::default();
        let chunk = vec![b'x'; 1024 * 1024];
        let mut noop = |_: Event<'_>| Ok(());
        let mut failed = None;
        for _ in 0..9 {
            if let Err(e) = framer.feed(&chunk, &mut noop) {
                failed = Some(e);
                break;
            }
        }
        let err = failed.expect("an endless line must be rejected");
        assert!(err.message.contains("MiB"), "{err}");
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut framer = Framer::default();
        let mut noop = |_: Event<'_>| Ok(());
        let err = framer.feed(b"data: \xff\xfe\n\n", &mut noop).unwrap_err();
        assert!(err.message.contains("UTF-8"));
    }
}

/// Property tests (issue 9): the framer never panics, cuts anywhere give the
/// same events and the same error, and any events written out with any of
/// the three line ends read back as written.
#[cfg(test)]
mod fuzz {
    use std::fmt::Write as _;

    use proptest::prelude::*;

    use super::{Event, Framer};
    use crate::provider::ProviderError;
    use crate::provider::fuzz::{bytes, config, cuts, positions, soup};

    type Out = (Vec<(String, String)>, Option<ProviderError>);

    fn frame(bytes: &[u8], cuts: &[usize]) -> Out {
        let mut framer = Framer::default();
        let mut events = Vec::new();
        let mut push = |e: Event<'_>| {
            events.push((e.event.to_owned(), e.data.to_owned()));
            Ok(())
        };
        let mut start = 0;
        let mut error = None;
        for &end in cuts.iter().chain(std::iter::once(&bytes.len())) {
            if let Err(e) = framer.feed(&bytes[start..end], &mut push) {
                error = Some(e);
                break;
            }
            start = end;
        }
        if error.is_none() {
            error = framer.finish(&mut push).err();
        }
        (events, error)
    }

    /// An event name or data line: no line ends, no leading space (the one
    /// space after the colon is not part of the value).
    fn field() -> impl Strategy<Value = String> {
        "[^\r\n ][^\r\n]{0,20}|"
    }

    proptest! {
        #![proptest_config(config(1000))]

        #[test]
        fn any_bytes_any_cuts(b in bytes(), c in cuts()) {
            let whole = frame(&b, &[]);
            prop_assert_eq!(frame(&b, &positions(b.len(), &c)), whole);
        }

        #[test]
        fn token_soup_any_cuts(b in soup(&["data: x", "event: y"]), c in cuts()) {
            let whole = frame(&b, &[]);
            let every: Vec<usize> = (1..b.len()).collect();
            prop_assert_eq!(&frame(&b, &positions(b.len(), &c)), &whole);
            prop_assert_eq!(&frame(&b, &every), &whole);
        }

        #[test]
        fn written_events_read_back(
            events in prop::collection::vec(
                (prop::option::of(field()), prop::collection::vec(field(), 1..4)),
                0..8,
            ),
            end in prop::sample::select(&["\n", "\r\n", "\r"][..]),
            c in cuts(),
        ) {
            let mut text = String::new();
            let mut want = Vec::new();
            for (name, lines) in &events {
                if let Some(name) = name {
                    let _ = write!(text, "event: {name}{end}");
                }
                for line in lines {
                    let _ = write!(text, "data: {line}{end}");
                }
                text.push_str(end);
                want.push((name.clone().unwrap_or_default(), lines.join("\n")));
            }
            let b = text.as_bytes();
            let got = frame(b, &positions(b.len(), &c));
            prop_assert_eq!(got, (want, None));
        }
    }
}
