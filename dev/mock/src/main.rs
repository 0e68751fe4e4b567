//! `route-mock`: run the mock provider as a process (README demo, benchmarks,
//! manual poking with curl). Prints its base URL on one line, then serves
//! until killed.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use route_mock::{Answer, Decline, MockServer, Reply, Script};

const USAGE: &str = "\
usage: route-mock [--port N] [--text S | --tokens N] [--delay-ms N] [--first-delay-ms N] [--expect-prefix] [--expect-schema] [--reply SPEC]...

A local mock LLM provider speaking the OpenAI, Anthropic, Gemini and Ollama wire
formats, for route's tests, demo and benchmarks. Prints http://127.0.0.1:PORT,
then serves until killed. A path starting with /fail/STATUS/ always answers STATUS;
one starting with /strict/ answers 422 to `stream_options`, as Mistral does; one
starting with /typed/ sends OpenAI-compatible content as typed parts (thinking, text).

options:
  --port N            port on 127.0.0.1 (default 0: any free port)
  --text S            the answer text (default: \"Hello from the route mock provider.\")
  --tokens N          an answer of N words instead (one streamed event per word)
  --delay-ms N        pause between streamed events
  --first-delay-ms N  pause before the first streamed text
  --expect-prefix     every answer must continue one that broke off: a request
                      without the answer's beginning as an assistant prefix in
                      its wire format's shape gets a 400; otherwise only the
                      rest of the text is sent
  --expect-schema     every answer must be asked for as structured output: a
                      request without a JSON Schema where its wire format takes
                      one (OpenAI response_format, Anthropic forced tool, Gemini
                      generationConfig.responseJsonSchema, Ollama format) gets a 400
  --reply SPEC        a reply for the next request; repeat to script several, the
                      last one repeats forever (default: ok). SPEC is one of:
                        ok                    the answer
                        status:CODE[:SECS]    HTTP error CODE with the provider's error
                                              body (and retry-after: SECS)
                        hang                  never answer
                        stall:N               stream N events, then go silent
                        cut:N                 stream N events, then close mid-body
                        error:N[:CODE]        stream N events, then an in-stream error
                                              (CODE 429, 529 (default), 503 or 500)
                        ratelimit200          HTTP 200 carrying a rate-limit error
                        context               the provider's context-length error (400)
                        invalid-json          a complete answer whose text is not JSON
                        refusal[:N]           N text events (default 0), then the model's
                                              refusal (OpenAI `refusal`, Anthropic refusal
                                              stop, Gemini SAFETY finish)
                        content-filter[:N]    N text events, then a content filter's stop
                                              (OpenAI content_filter, Gemini PROHIBITED_CONTENT)
                        blocked-prompt        the prompt blocked (Gemini promptFeedback)
                        content-policy        the provider's content-policy error (400)
                        garbage               HTTP 200 whose body is not JSON
                        http10                the answer over HTTP/1.0, close-delimited
                        refuse                close the connection without answering
  -h, --help          this help
";

fn main() -> ExitCode {
    let script = match parse(std::env::args().skip(1)) {
        Ok(Some(script)) => script,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("route-mock: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (port, script) = script;
    let server = match MockServer::start_on(port, script) {
        Ok(server) => server,
        Err(err) => {
            eprintln!("route-mock: cannot listen on 127.0.0.1:{port}: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    // Scripts wait for this one line to learn the port.
    if writeln!(stdout, "{}", server.url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(stdout);
    // The server runs on its own thread; SIGTERM / SIGINT end the process.
    loop {
        std::thread::park();
    }
}

/// `Ok(None)` asks for the help text.
fn parse(args: impl Iterator<Item = String>) -> Result<Option<(u16, Script)>, String> {
    let mut port = 0u16;
    let mut answer = Answer::default();
    let mut text_given = false;
    let mut tokens: Option<usize> = None;
    let mut specs = Vec::new();
    let mut expect_prefix = false;
    let mut expect_schema = false;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        if flag == "--expect-prefix" {
            expect_prefix = true;
            continue;
        }
        if flag == "--expect-schema" {
            expect_schema = true;
            continue;
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--port" => port = number(&flag, &value()?)?,
            "--text" => {
                answer.text = value()?;
                text_given = true;
            }
            "--tokens" => tokens = Some(number(&flag, &value()?)?),
            "--delay-ms" => answer.delay = Duration::from_millis(number(&flag, &value()?)?),
            "--first-delay-ms" => {
                answer.first_delay = Duration::from_millis(number(&flag, &value()?)?);
            }
            "--reply" => specs.push(value()?),
            _ => return Err(format!("unknown argument '{arg}'")),
        }
    }
    if let Some(n) = tokens {
        if text_given {
            return Err("give --text or --tokens, not both".to_string());
        }
        answer.text = words(n);
    }
    let replies = if specs.is_empty() {
        vec![Reply::Answer(answer.clone())]
    } else {
        specs
            .iter()
            .map(|spec| reply(spec, &answer))
            .collect::<Result<_, _>>()?
    };
    let mut script = Script::new(replies).with_answer(answer);
    if expect_prefix {
        script = script.expecting_prefix();
    }
    if expect_schema {
        script = script.expecting_schema();
    }
    Ok(Some((port, script)))
}

fn reply(spec: &str, answer: &Answer) -> Result<Reply, String> {
    let mut parts = spec.split(':');
    let name = parts.next().unwrap_or_default();
    let args: Vec<&str> = parts.collect();
    let bad = || format!("bad --reply '{spec}' (see --help)");
    let arg = |i: usize| -> Result<Option<u64>, String> {
        args.get(i)
            .map(|a| a.parse::<u64>().map_err(|_| bad()))
            .transpose()
    };
    let count = |max_args: usize| -> Result<usize, String> {
        if args.len() > max_args {
            return Err(bad());
        }
        arg(0)?
            .map(|n| usize::try_from(n).map_err(|_| bad()))
            .transpose()?
            .ok_or_else(bad)
    };
    let no_args = |reply: Reply| {
        if args.is_empty() {
            Ok(reply)
        } else {
            Err(bad())
        }
    };
    match name {
        "ok" => no_args(Reply::Answer(answer.clone())),
        "status" => {
            let status = status_code(arg(0)?.ok_or_else(bad)?).ok_or_else(bad)?;
            if args.len() > 2 {
                return Err(bad());
            }
            let headers = match arg(1)? {
                Some(secs) => vec![("retry-after".to_string(), secs.to_string())],
                None => Vec::new(),
            };
            Ok(Reply::Status {
                status,
                message: None,
                headers,
            })
        }
        "hang" => no_args(Reply::Hang),
        "stall" => Ok(Reply::HangAfter { chunks: count(1)? }),
        "cut" => Ok(Reply::Cut { chunks: count(1)? }),
        "error" => {
            let chunks = count(2)?;
            let status = match arg(1)? {
                Some(code) => status_code(code).ok_or_else(bad)?,
                None => 529,
            };
            Ok(Reply::StreamError { chunks, status })
        }
        "ratelimit200" => no_args(Reply::RateLimitIn200),
        "context" => no_args(Reply::ContextLength),
        "invalid-json" => no_args(Reply::InvalidJson),
        "refusal" | "content-filter" => {
            let how = if name == "refusal" {
                Decline::Refusal
            } else {
                Decline::Filtered
            };
            let chunks = if args.is_empty() { 0 } else { count(1)? };
            Ok(Reply::Declined { how, chunks })
        }
        "blocked-prompt" => no_args(Reply::Declined {
            how: Decline::BlockedPrompt,
            chunks: 0,
        }),
        "content-policy" => no_args(Reply::ContentPolicy),
        "garbage" => no_args(Reply::RawBody {
            status: 200,
            content_type: "application/json".to_string(),
            body: b"<html><body>route-mock: this is not JSON {".to_vec(),
        }),
        "http10" => no_args(Reply::Http10),
        "refuse" => no_args(Reply::Refuse),
        _ => Err(bad()),
    }
}

fn status_code(n: u64) -> Option<u16> {
    u16::try_from(n).ok().filter(|s| (100..=999).contains(s))
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} takes a non-negative number, not '{value}'"))
}

/// N words of filler, ending in a full stop.
fn words(n: usize) -> String {
    const WORDS: [&str; 16] = [
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet",
        "consectetur",
        "adipiscing",
        "elit",
        "sed",
        "do",
        "eiusmod",
        "tempor",
        "incididunt",
        "ut",
        "labore",
        "magna",
    ];
    let mut text = String::with_capacity(n * 7);
    for i in 0..n {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(WORDS[i % WORDS.len()]);
    }
    if n > 0 {
        text.push('.');
    }
    text
}
