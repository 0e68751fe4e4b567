//! What the parsers' property tests share (issue 9): input strategies (raw
//! bytes, token soup, JSON of the providers' shapes, mutated fixtures, split
//! points) and the properties themselves. Each parser module has its own
//! `mod fuzz` that runs these on its adapter.
//!
//! The properties:
//! - no input makes a decoder, `parse_body` or `parse_error` panic;
//! - a decoder fed in pieces gives exactly what it gives fed whole: the same
//!   events and the same outcome (answer complete, or the same error), judged
//!   the way `http::execute` judges a stream;
//! - `parse_body` succeeds only with an answer that ends in `Done`.
//!
//! Case counts are small by default so that `cargo test` stays fast; set
//! `ROUTE_FUZZ_CASES` (e.g. 20000) for a longer run in CI.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use super::types::StreamEvent;
use super::{Adapter, ProviderError};

/// The runner configuration: `cases` unless `ROUTE_FUZZ_CASES` says otherwise,
/// and no regression files written into `src/` (a failure found here becomes
/// a named unit test instead).
pub(crate) fn config(cases: u32) -> Config {
    let cases = std::env::var("ROUTE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// A stream as `http::execute` sees it end: the events delivered, then
/// complete (`Ok`) or failed.
#[derive(Debug, PartialEq)]
pub(crate) struct Decoded {
    pub events: Vec<StreamEvent>,
    pub result: Result<(), ProviderError>,
}

/// Feeds `bytes` to a fresh decoder, cut at `cuts` (sorted byte offsets), and
/// judges the stream the way `http::execute` does: the first `Done` ends it
/// as complete, an error from `feed` ends it as failed, and a body that ends
/// without `Done` is incomplete.
pub(crate) fn decode(adapter: &dyn Adapter, bytes: &[u8], cuts: &[usize]) -> Decoded {
    let mut decoder = adapter.decoder();
    let mut events = Vec::new();
    let mut delivered = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let fed = decoder.feed(&bytes[start..end], &mut events);
        for event in events.drain(..) {
            let done = event == StreamEvent::Done;
            delivered.push(event);
            if done {
                return Decoded {
                    events: delivered,
                    result: Ok(()),
                };
            }
        }
        if let Err(e) = fed {
            return Decoded {
                events: delivered,
                result: Err(e),
            };
        }
        start = end;
    }
    let finished = decoder.finish(&mut events);
    let done = events.contains(&StreamEvent::Done);
    delivered.append(&mut events);
    let result = match finished {
        Err(e) => Err(e),
        Ok(()) if done => Ok(()),
        Ok(()) => Err(ProviderError::new(
            super::ErrorKind::Incomplete,
            "the stream ended before the provider's end marker",
        )),
    };
    Decoded {
        events: delivered,
        result,
    }
}

/// The decoder property: fed in the pieces `cuts` makes, the outcome is the
/// outcome of the whole body fed at once (and neither panics).
pub(crate) fn split_invariant(
    adapter: &dyn Adapter,
    bytes: &[u8],
    cuts: &[Index],
) -> Result<(), TestCaseError> {
    let whole = decode(adapter, bytes, &[]);
    let cuts = positions(bytes.len(), cuts);
    let pieces = decode(adapter, bytes, &cuts);
    prop_assert_eq!(&pieces, &whole, "cut at {:?}", cuts);
    // Fed one byte at a time too (short inputs only: it is quadratic in events).
    if bytes.len() <= 512 {
        let every: Vec<usize> = (1..bytes.len()).collect();
        prop_assert_eq!(&decode(adapter, bytes, &every), &whole, "byte by byte");
    }
    Ok(())
}

/// The body property: `parse_body` never panics, and an `Ok` is a complete
/// answer ending in `Done`.
pub(crate) fn body_is_total(adapter: &dyn Adapter, bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(events) = adapter.parse_body(bytes) {
        prop_assert_eq!(events.last(), Some(&StreamEvent::Done));
    }
    Ok(())
}

/// The error property: `parse_error` never panics on any status, header or
/// body, and keeps the status it was given.
pub(crate) fn error_is_total(
    adapter: &dyn Adapter,
    status: u16,
    headers: &[(String, String)],
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.append(n, v);
        }
    }
    let e = adapter.parse_error(status, &map, bytes);
    prop_assert_eq!(e.status, Some(status));
    Ok(())
}

/// Sorted byte offsets in `0..=len` from proptest indices.
pub(crate) fn positions(len: usize, cuts: &[Index]) -> Vec<usize> {
    let mut out: Vec<usize> = cuts.iter().map(|i| i.index(len + 1)).collect();
    out.sort_unstable();
    out
}

/// Up to 8 cut points.
pub(crate) fn cuts() -> impl Strategy<Value = Vec<Index>> {
    prop::collection::vec(any::<Index>(), 0..8)
}

/// Arbitrary bytes.
pub(crate) fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..1024)
}

/// Framing and JSON fragments mixed with random bytes: random input that
/// reaches past a framer's first check.
pub(crate) fn soup(tokens: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => prop::sample::select(tokens).prop_map(|t| t.as_bytes().to_vec()),
        4 => prop::sample::select(FRAMING).prop_map(|t| t.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 1..6),
    ];
    prop::collection::vec(piece, 0..64).prop_map(|pieces| pieces.concat())
}

/// SSE and NDJSON framing, and the JSON punctuation around it.
const FRAMING: &[&str] = &[
    "data: ",
    "data:",
    "event: ",
    "id: 1",
    ": comment",
    "retry: 10",
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    "\u{feff}",
    "[DONE]",
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "null",
    "true",
    "1",
    "-1",
    "1e400",
    "18446744073709551615",
    "\\u0000",
    "\\ud800",
    "é",
    "\u{10ffff}",
];

/// JSON values built from the providers' field names, so that random
/// documents reach the adapters' typed shapes (and their wrong types).
pub(crate) fn json(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(keys).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(keys), inner), 0..6).prop_map(|fields| {
                let mut map = Map::new();
                for (k, v) in fields {
                    map.insert((*k).to_owned(), v);
                }
                Value::Object(map)
            }),
        ]
    })
}

/// An SSE stream of JSON events, with `event:` names and a `[DONE]` here and there.
pub(crate) fn sse_of(
    events: &'static [&'static str],
    keys: &'static [&'static str],
) -> impl Strategy<Value = Vec<u8>> {
    let name = if events.is_empty() {
        Just(None).boxed()
    } else {
        prop::option::of(prop::sample::select(events)).boxed()
    };
    let one = (
        name,
        prop_oneof![9 => json(keys).prop_map(|v| v.to_string()), 1 => Just("[DONE]".to_owned())],
        prop::sample::select(&["\n\n", "\r\n\r\n", "\r\r", "\n"][..]),
    );
    prop::collection::vec(one, 0..12).prop_map(|events| {
        let mut out = String::new();
        for (name, data, end) in events {
            if let Some(name) = name {
                out.push_str("event: ");
                out.push_str(name);
                out.push('\n');
            }
            out.push_str("data: ");
            out.push_str(&data);
            out.push_str(end);
        }
        out.into_bytes()
    })
}

/// A real transcript, damaged: bytes flipped, inserted, removed, duplicated
/// or the whole cut short.
pub(crate) fn mutated(fixture: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    let edit = (0u8..5, any::<Index>(), any::<Index>(), any::<u8>());
    prop::collection::vec(edit, 1..6).prop_map(move |edits| {
        let mut b = fixture.to_vec();
        for (op, at, span, byte) in edits {
            let i = at.index(b.len() + 1);
            let n = span.index(16) + 1;
            match op {
                0 if i < b.len() => b[i] = byte,
                1 => b.insert(i, byte),
                2 => {
                    let end = (i + n).min(b.len());
                    b.drain(i..end);
                }
                3 => {
                    let end = (i + n).min(b.len());
                    let copy = b[i..end].to_vec();
                    b.splice(i..i, copy);
                }
                _ => b.truncate(i),
            }
        }
        b
    })
}

/// Response headers a hostile server might send, `retry-after` foremost.
pub(crate) fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop::sample::select(
        &[
            "retry-after",
            "retry-after-ms",
            "x-ratelimit-reset-requests",
            "content-type",
        ][..],
    );
    let value = prop_oneof![
        prop::sample::select(
            &[
                "0",
                "1",
                "-1",
                "1.5",
                "NaN",
                "inf",
                "-inf",
                "1e308",
                "1e19",
                "18446744073709551615",
                "18446744073709551616",
                "99999999999999999999999",
                "Sun, 06 Nov 1994 08:49:37 GMT",
                "Fri, 31 Dec 9999 23:59:59 GMT",
                "Mon, 99 Jan 2026 99:99:99 GMT",
                "",
            ][..]
        )
        .prop_map(str::to_owned),
        any::<f64>().prop_map(|f| f.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "[ -~]{0,40}",
    ];
    prop::collection::vec((name.prop_map(str::to_owned), value), 0..3)
}

/// HTTP statuses an error response may carry.
pub(crate) fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        prop::sample::select(
            &[
                400u16, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 529
            ][..]
        ),
        100u16..600,
    ]
}
