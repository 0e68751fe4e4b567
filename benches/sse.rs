//! Stream parser throughput: how many MB/s of a provider's streamed answer
//! `route` can decode, with no network in the way.
//!
//! `cargo bench --bench sse` (the bench profile inherits the release profile).
//! A plain `harness = false` bench timed with `std::time`: the figure wanted is
//! one throughput per parser, far above what any provider sends, so criterion's
//! statistics (and its dependencies) would add build time and nothing else.
//!
//! Each body is an answer of 100,000 tokens in the exact wire format
//! `route-mock` sends, fed to the decoder in 16 KiB pieces (a typical socket
//! read). Prints a line per parser, and `bench NAME median_mbps=…` lines that
//! `bench/run.py` reads.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

use route::provider::sse::{Event, Framer};
use route::provider::types::StreamEvent;
use route::provider::{ProviderKind, anthropic, openai};

const TOKENS: usize = 100_000;
const PIECE: usize = 16 * 1024;
const RUNS: usize = 15;
const WORDS: [&str; 8] = [
    "lorem",
    " ipsum",
    " dolor",
    " sit",
    " amet,",
    " consectetur",
    " adipiscing",
    " elit.",
];

/// An OpenAI Chat Completions stream, chunk for chunk as `route-mock` writes it.
fn openai_body() -> Vec<u8> {
    let head = r#"{"id":"chatcmpl-mock1","object":"chat.completion.chunk","created":1795326578,"model":"gpt-4o-mini","system_fingerprint":"fp_mock","choices":[{"index":0,"delta":"#;
    let mut b = String::with_capacity(TOKENS * 240);
    let _ = write!(
        b,
        "data: {head}{{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}},\"logprobs\":null,\"finish_reason\":null}}],\"usage\":null}}\n\n"
    );
    for i in 0..TOKENS {
        let _ = write!(
            b,
            "data: {head}{{\"content\":\"{}\"}},\"logprobs\":null,\"finish_reason\":null}}],\"usage\":null}}\n\n",
            WORDS[i % WORDS.len()]
        );
    }
    let _ = write!(
        b,
        "data: {head}{{}},\"logprobs\":null,\"finish_reason\":\"stop\"}}],\"usage\":null}}\n\n"
    );
    b.push_str("data: {\"id\":\"chatcmpl-mock1\",\"object\":\"chat.completion.chunk\",\"created\":1795326578,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":100000,\"total_tokens\":100012}}\n\n");
    b.push_str("data: [DONE]\n\n");
    b.into_bytes()
}

/// An Anthropic Messages stream of the same answer.
fn anthropic_body() -> Vec<u8> {
    let mut b = String::with_capacity(TOKENS * 160);
    b.push_str("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_mock1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n");
    b.push_str("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
    for i in 0..TOKENS {
        let _ = write!(
            b,
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{}\"}}}}\n\n",
            WORDS[i % WORDS.len()]
        );
    }
    b.push_str(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    );
    b.push_str("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":100000}}\n\n");
    b.push_str("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    b.into_bytes()
}

/// Decodes a whole body with a provider's decoder; returns the answer's length.
fn decode(kind: ProviderKind, body: &[u8]) -> usize {
    let mut decoder = kind.adapter().decoder();
    let mut events = Vec::with_capacity(16);
    let mut text = 0;
    let mut done = false;
    let mut count = |events: &mut Vec<StreamEvent>| {
        for e in events.drain(..) {
            match e {
                StreamEvent::Delta(t) => text += black_box(t).len(),
                StreamEvent::Done => done = true,
                _ => {}
            }
        }
    };
    for piece in body.chunks(PIECE) {
        decoder.feed(piece, &mut events).expect("the body decodes");
        count(&mut events);
    }
    decoder.finish(&mut events).expect("the body ends");
    count(&mut events);
    assert!(done, "the end marker was decoded");
    text
}

/// The SSE framing alone, without JSON: the floor under every SSE decoder.
fn frame(body: &[u8]) -> usize {
    let mut framer = Framer::default();
    let mut n = 0;
    let mut on = |e: Event<'_>| {
        n += black_box(e.data).len();
        Ok(())
    };
    for piece in body.chunks(PIECE) {
        framer.feed(piece, &mut on).expect("frames");
    }
    framer.finish(&mut on).expect("frames");
    n
}

fn measure(name: &str, bytes: usize, mut f: impl FnMut() -> usize) {
    black_box(f()); // warm-up
    let mut mbps: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            #[allow(clippy::cast_precision_loss)]
            let rate = bytes as f64 / start.elapsed().as_secs_f64() / 1e6;
            rate
        })
        .collect();
    mbps.sort_by(f64::total_cmp);
    let (q1, med, q3) = (mbps[RUNS / 4], mbps[RUNS / 2], mbps[RUNS * 3 / 4]);
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes as f64 / (1024.0 * 1024.0);
    #[allow(clippy::print_stdout)]
    {
        println!(
            "{name:<18} {med:>7.0} MB/s median (IQR {q1:.0}–{q3:.0}), {mib:.1} MiB body, {TOKENS} tokens"
        );
        println!("bench {name} median_mbps={med:.1} q1={q1:.1} q3={q3:.1} n={RUNS}");
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // then one quick pass checks that the bodies still decode.
    let benching = std::env::args().any(|a| a == "--bench");
    let openai = openai_body();
    let anthropic = anthropic_body();
    if !benching {
        assert!(decode(openai::KIND, &openai) > 0);
        assert!(decode(anthropic::KIND, &anthropic) > 0);
        assert!(frame(&openai) > 0);
        return;
    }
    measure("sse-framer", openai.len(), || frame(&openai));
    measure("openai-decoder", openai.len(), || {
        decode(openai::KIND, &openai)
    });
    measure("anthropic-decoder", anthropic.len(), || {
        decode(anthropic::KIND, &anthropic)
    });
}
