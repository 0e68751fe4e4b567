//! Accepting connections and carrying out each [`Reply`].

use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::http::{self, Framing, Head, ReadError, Request};
use crate::wire::{self, Events, Fmt, Route, RouteError, Usage, Wire};
use crate::{Answer, Decline, RecordedRequest, Reply, Script, split_text};

pub(crate) struct Shared {
    script: Mutex<Cursor>,
    pub requests: Mutex<Vec<RecordedRequest>>,
    pub connections: AtomicUsize,
    /// Requests read and not yet fully answered (a hang counts until the client hangs up).
    in_flight: AtomicUsize,
    /// The most requests that were in flight at once.
    pub most_in_flight: AtomicUsize,
    next_id: AtomicU64,
}

/// The script and how far it has been played.
struct Cursor {
    replies: Vec<Arc<Reply>>,
    /// What the answer-less fault replies stream.
    answer: Arc<Answer>,
    expect_prefix: bool,
    expect_schema: bool,
    expect_attachments: Option<Vec<String>>,
    next: usize,
}

impl Cursor {
    fn new(script: Script) -> Self {
        let mut replies: Vec<Arc<Reply>> = script.replies.into_iter().map(Arc::new).collect();
        if replies.is_empty() {
            replies.push(Arc::new(Reply::Answer(Answer::default())));
        }
        Cursor {
            replies,
            answer: Arc::new(script.answer),
            expect_prefix: script.expect_prefix,
            expect_schema: script.expect_schema,
            expect_attachments: script.expect_attachments,
            next: 0,
        }
    }

    fn peek(&self) -> &Reply {
        &self.replies[self.next.min(self.replies.len() - 1)]
    }

    fn take(&mut self) -> (Arc<Reply>, Arc<Answer>) {
        let reply = Arc::clone(&self.replies[self.next.min(self.replies.len() - 1)]);
        self.next += 1;
        (reply, Arc::clone(&self.answer))
    }
}

impl Shared {
    pub fn new(script: Script) -> Self {
        Shared {
            script: Mutex::new(Cursor::new(script)),
            requests: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
        }
    }

    pub fn set_script(&self, script: Script) {
        *self.cursor() = Cursor::new(script);
    }

    fn cursor(&self) -> std::sync::MutexGuard<'_, Cursor> {
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Uses up the next reply if it is `Refuse`, for a connection just accepted.
    fn refuse_new_connection(&self) -> bool {
        let mut cursor = self.cursor();
        let refuse = matches!(cursor.peek(), Reply::Refuse);
        if refuse {
            cursor.take();
        }
        refuse
    }

    fn record(&self, request: &Request) {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(RecordedRequest {
                method: request.method.clone(),
                path: request.target.clone(),
                headers: request.headers.clone(),
                body: request.body.clone(),
            });
    }
}

pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, Arc::clone(&shared)));
            }
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn connection(mut stream: TcpStream, shared: Arc<Shared>) {
    // Each event must leave as soon as it is written, not wait for Nagle.
    let _ = stream.set_nodelay(true);
    shared.connections.fetch_add(1, Ordering::Relaxed);
    if shared.refuse_new_connection() {
        return; // dropping the stream closes it
    }
    let mut buf = Vec::with_capacity(8192);
    loop {
        let request = match http::read_request(&mut stream, &mut buf).await {
            Ok(request) => request,
            Err(ReadError::Closed) => return,
            Err(ReadError::Bad(status, why)) => {
                let _ = plain_error(&mut stream, status, why, false, false).await;
                return;
            }
        };
        // Counted before it is recorded, so that a request seen is a request counted.
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.most_in_flight.fetch_max(now, Ordering::SeqCst);
        shared.record(&request);
        let answered = respond(&mut stream, &request, &shared).await;
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        match answered {
            Ok(true) if request.keep_alive => {}
            _ => return,
        }
    }
}

/// Answers one request; `Ok(true)` when the connection may carry another.
async fn respond(stream: &mut TcpStream, request: &Request, shared: &Shared) -> io::Result<bool> {
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let route = match wire::route(&request.method, &request.target, &request.body) {
        Ok(route) => route,
        Err(RouteError::NotFound) => {
            let why = format!(
                "route-mock: no provider endpoint at {} {}",
                request.method, request.target
            );
            return plain_error(stream, 404, &why, request.keep_alive, request.http10).await;
        }
        Err(RouteError::BadBody(route)) => {
            let fmt = Fmt::new(
                &route,
                &route.model,
                id,
                Default::default(),
                &Usage::default(),
            );
            let body = fmt.error_body(
                400,
                Some("route-mock: the request body is not a JSON object"),
            );
            return send(stream, request, &fmt, 400, &body, &[]).await;
        }
    };

    // Mistral's answer to a field it does not take: 422, FastAPI's shape
    // (<https://github.com/openai/openai-agents-python/issues/442>).
    if route.strict && request.body.windows(16).any(|w| w == b"\"stream_options\"") {
        let body = br#"{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","stream_options","include_usage"],"msg":"Extra inputs are not permitted","input":true}]},"type":"invalid_request_error","param":null,"code":null}"#;
        let fmt = plain_fmt(&route, id);
        return send(stream, request, &fmt, 422, body, &[]).await;
    }
    if let Some(status) = route.fail {
        let fmt = Fmt::new(
            &route,
            &route.model,
            id,
            Default::default(),
            &Usage::default(),
        );
        return send(
            stream,
            request,
            &fmt,
            status,
            &fmt.error_body(status, None),
            &[],
        )
        .await;
    }

    // A request the provider would refuse as malformed is its 400, whatever
    // the script says, and uses up no reply: messages in roles the wire
    // format does not take (a conversation translated into the wrong shape),
    // or attachments not in its shape.
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
    let expected = shared.cursor().expect_attachments.clone();
    let checked = wire::check_turns(route.wire, &body).and_then(|()| {
        crate::attach::attachments(route.wire, &body).and_then(|found| match expected {
            Some(expected) if expected != found => Err(format!(
                "expected the attachments {expected:?}, got {found:?}"
            )),
            _ => Ok(()),
        })
    });
    if let Err(why) = checked {
        let fmt = plain_fmt(&route, id);
        let message = format!("route-mock: {why}");
        return send(
            stream,
            request,
            &fmt,
            400,
            &fmt.error_body(400, Some(&message)),
            &[],
        )
        .await;
    }

    let (reply, fault_answer, expect_prefix, expect_schema) = {
        let mut cursor = shared.cursor();
        let (prefix, schema) = (cursor.expect_prefix, cursor.expect_schema);
        let (reply, answer) = cursor.take();
        (reply, answer, prefix, schema)
    };
    if expect_schema && matches!(&*reply, Reply::Answer(_) | Reply::InvalidJson) {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
        if let Err(why) = wire::requested_schema(route.wire, &body) {
            let fmt = plain_fmt(&route, id);
            let message = format!("route-mock: expected a structured-output request: {why}");
            let body = fmt.error_body(400, Some(&message));
            return send(stream, request, &fmt, 400, &body, &[]).await;
        }
    }
    match &*reply {
        Reply::Answer(answer) if expect_prefix => {
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
            let rest = wire::assistant_prefix(route.wire, &body).and_then(|prefix| {
                match answer.text.strip_prefix(prefix.as_str()) {
                    Some(rest) if !prefix.is_empty() => Ok(rest.to_owned()),
                    _ => Err("the assistant prefix is not the beginning of the answer"),
                }
            });
            match rest {
                Ok(rest) => {
                    let rest = Answer {
                        text: rest,
                        ..answer.clone()
                    };
                    serve_answer(stream, request, &route, id, &rest, Mode::Complete, false).await
                }
                Err(why) => {
                    let fmt = plain_fmt(&route, id);
                    let message = format!("route-mock: expected a continuation: {why}");
                    let body = fmt.error_body(400, Some(&message));
                    send(stream, request, &fmt, 400, &body, &[]).await
                }
            }
        }
        Reply::Answer(answer) => {
            serve_answer(stream, request, &route, id, answer, Mode::Complete, false).await
        }
        Reply::Status {
            status,
            message,
            headers,
        } => {
            let fmt = plain_fmt(&route, id);
            send(
                stream,
                request,
                &fmt,
                *status,
                &fmt.error_body(*status, message.as_deref()),
                headers,
            )
            .await
        }
        Reply::RawBody {
            status,
            content_type,
            body,
        } => {
            let mut out = Vec::with_capacity(body.len() + 128);
            Head {
                status: *status,
                content_type,
                framing: Framing::Length(body.len()),
                keep_alive: request.keep_alive,
                http10: request.http10,
                headers: &[],
            }
            .write_to(&mut out);
            out.extend_from_slice(body);
            stream.write_all(&out).await?;
            Ok(true)
        }
        Reply::Hang => {
            wait_for_close(stream).await;
            Ok(false)
        }
        Reply::HangAfter { chunks } => {
            serve_answer(
                stream,
                request,
                &route,
                id,
                &fault_answer,
                Mode::Stall(*chunks),
                false,
            )
            .await
        }
        Reply::Cut { chunks } => {
            serve_answer(
                stream,
                request,
                &route,
                id,
                &fault_answer,
                Mode::Cut(*chunks),
                false,
            )
            .await
        }
        Reply::StreamError { chunks, status } => {
            if route.stream {
                let mode = Mode::Error {
                    chunks: *chunks,
                    status: *status,
                };
                serve_answer(stream, request, &route, id, &fault_answer, mode, false).await
            } else {
                let fmt = plain_fmt(&route, id);
                send(
                    stream,
                    request,
                    &fmt,
                    *status,
                    &fmt.error_body(*status, None),
                    &[],
                )
                .await
            }
        }
        Reply::RateLimitIn200 => {
            if route.stream {
                let mode = Mode::Error {
                    chunks: 0,
                    status: 429,
                };
                serve_answer(stream, request, &route, id, &fault_answer, mode, false).await
            } else {
                let fmt = plain_fmt(&route, id);
                send(stream, request, &fmt, 200, &fmt.error_body(429, None), &[]).await
            }
        }
        Reply::Http10 => {
            serve_answer(
                stream,
                request,
                &route,
                id,
                &fault_answer,
                Mode::Complete,
                true,
            )
            .await
        }
        Reply::InvalidJson => {
            let answer = Answer {
                text: crate::INVALID_JSON.to_owned(),
                ..(*fault_answer).clone()
            };
            serve_answer(stream, request, &route, id, &answer, Mode::Complete, false).await
        }
        Reply::Refuse => Ok(false),
        Reply::ContextLength => {
            let fmt = plain_fmt(&route, id);
            send(stream, request, &fmt, 400, &fmt.context_length_body(), &[]).await
        }
        Reply::Declined { how, chunks } => {
            let mode = Mode::Declined(*how, *chunks);
            serve_answer(stream, request, &route, id, &fault_answer, mode, false).await
        }
        // Gemini blocks a prompt in a 200 answer, not with an error.
        Reply::ContentPolicy if route.wire == Wire::Gemini => {
            let mode = Mode::Declined(Decline::BlockedPrompt, 0);
            serve_answer(stream, request, &route, id, &fault_answer, mode, false).await
        }
        Reply::ContentPolicy => {
            let fmt = plain_fmt(&route, id);
            send(stream, request, &fmt, 400, &fmt.content_policy_body(), &[]).await
        }
    }
}

/// How an answer's stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Every event and the end marker.
    Complete,
    /// `n` text events, then silence until the client gives up.
    Stall(usize),
    /// `n` text events, then the connection closes mid-body.
    Cut(usize),
    /// `chunks` text events, then the provider's error event (with no
    /// prologue when `chunks` is 0: the error is the first thing sent).
    Error { chunks: usize, status: u16 },
    /// `n` text events, then the model declines as the wire format does,
    /// and the stream ends properly.
    Declined(Decline, usize),
}

fn plain_fmt(route: &Route, id: u64) -> Fmt {
    Fmt::new(
        route,
        &route.model,
        id,
        Default::default(),
        &Usage::default(),
    )
}

async fn serve_answer(
    stream: &mut TcpStream,
    request: &Request,
    route: &Route,
    id: u64,
    answer: &Answer,
    mode: Mode,
    force_http10: bool,
) -> io::Result<bool> {
    let pieces = split_text(&answer.text, answer.chunks);
    let events = pieces.len() * answer.repeat;
    let usage = Usage {
        input: answer.input_tokens,
        output: answer.output_tokens.unwrap_or(events as u64),
        cached: answer.cached_tokens,
        reasoning: answer.reasoning_tokens,
        cache_creation: answer.cache_creation_tokens,
        cache_creation_1h: answer.cache_creation_1h_tokens,
        cost: answer.provider_cost,
    };
    let gaps = answer.delay * u32::try_from(events.saturating_sub(1)).unwrap_or(u32::MAX);
    let model = answer.served_model.as_deref().unwrap_or(&route.model);
    let fmt = Fmt::new(route, model, id, (answer.first_delay, gaps), &usage);
    let finish = answer
        .finish_reason
        .as_deref()
        .unwrap_or(fmt.default_finish());
    // An HTTP/1.0 client cannot take chunks, so it gets a close-delimited body too.
    let http10 = force_http10 || request.http10;
    let keep_alive = request.keep_alive && !http10;
    let mut headers = fmt.id_headers();

    if !route.stream {
        let body = fmt.full_body(&pieces, answer.repeat, &usage, finish);
        let framing = if http10 {
            Framing::Close
        } else {
            Framing::Length(body.len())
        };
        let mut out = Vec::with_capacity(body.len() + 256);
        Head {
            status: 200,
            content_type: fmt.content_type(false),
            framing,
            keep_alive,
            http10,
            headers: &headers,
        }
        .write_to(&mut out);
        let head_len = out.len();
        out.extend_from_slice(&body);
        return match mode {
            Mode::Complete | Mode::Error { .. } => {
                sleep(answer.first_delay + gaps).await;
                stream.write_all(&out).await?;
                Ok(keep_alive)
            }
            Mode::Declined(how, chunks) => {
                let said = &pieces[..chunks.min(pieces.len())];
                let body = fmt.declined_body(said, &usage, how);
                let mut out = Vec::with_capacity(body.len() + 256);
                Head {
                    status: 200,
                    content_type: fmt.content_type(false),
                    framing: if http10 {
                        Framing::Close
                    } else {
                        Framing::Length(body.len())
                    },
                    keep_alive,
                    http10,
                    headers: &headers,
                }
                .write_to(&mut out);
                out.extend_from_slice(&body);
                sleep(answer.first_delay).await;
                stream.write_all(&out).await?;
                Ok(keep_alive)
            }
            Mode::Stall(chunks) | Mode::Cut(chunks) => {
                let partial = if chunks == 0 {
                    head_len
                } else {
                    head_len + body.len() / 2
                };
                stream.write_all(&out[..partial]).await?;
                if matches!(mode, Mode::Stall(_)) {
                    wait_for_close(stream).await;
                }
                Ok(false)
            }
        };
    }

    let chunked = !http10;
    let capacity = (pieces.iter().map(|p| p.len()).sum::<usize>() + pieces.len() * 200)
        * answer.repeat.min(1 << 20)
        + 2048;
    let mut ev = Events::new(chunked, capacity);
    headers.push(("cache-control".to_string(), "no-cache".to_string()));
    Head {
        status: 200,
        content_type: fmt.content_type(true),
        framing: if chunked {
            Framing::Chunked
        } else {
            Framing::Close
        },
        keep_alive,
        http10,
        headers: &headers,
    }
    .write_to(&mut ev.buf);
    let error_first = matches!(mode, Mode::Error { chunks: 0, .. });
    if !error_first {
        fmt.prologue(&mut ev, &usage);
        if let Some(reasoning) = &answer.reasoning {
            fmt.reasoning_event(&mut ev, reasoning);
        }
    }
    ev.mark(Duration::ZERO);

    let limit = match mode {
        Mode::Complete => usize::MAX,
        // A blocked prompt is answered before any text.
        Mode::Declined(Decline::BlockedPrompt, _) if route.wire == Wire::Gemini => 0,
        Mode::Stall(n) | Mode::Cut(n) | Mode::Error { chunks: n, .. } | Mode::Declined(_, n) => n,
    };
    let mut sent = 0;
    'copies: for _ in 0..answer.repeat {
        for piece in &pieces {
            if sent == limit {
                break 'copies;
            }
            fmt.text_event(&mut ev, piece);
            ev.mark(if sent == 0 {
                answer.first_delay
            } else {
                answer.delay
            });
            sent += 1;
        }
    }
    let tail_wait = if sent == 0 && !error_first {
        answer.first_delay
    } else {
        Duration::ZERO
    };
    match mode {
        Mode::Complete => fmt.epilogue(&mut ev, &usage, finish),
        Mode::Error { status, .. } => fmt.error_event(&mut ev, status),
        Mode::Declined(how, _) => fmt.decline(&mut ev, &usage, how),
        Mode::Stall(_) | Mode::Cut(_) => {}
    }
    if matches!(
        mode,
        Mode::Complete | Mode::Error { .. } | Mode::Declined(..)
    ) {
        ev.finish();
        ev.mark(tail_wait);
    }

    let mut start = 0;
    for &(wait, end) in &ev.segments {
        sleep(wait).await;
        stream.write_all(&ev.buf[start..end]).await?;
        start = end;
    }
    match mode {
        Mode::Complete | Mode::Error { .. } | Mode::Declined(..) => Ok(keep_alive),
        Mode::Cut(_) => Ok(false),
        Mode::Stall(_) => {
            wait_for_close(stream).await;
            Ok(false)
        }
    }
}

async fn sleep(wait: Duration) {
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}

/// A complete response with a `Content-Length` body.
async fn send(
    stream: &mut TcpStream,
    request: &Request,
    fmt: &Fmt,
    status: u16,
    body: &[u8],
    extra: &[(String, String)],
) -> io::Result<bool> {
    let mut headers = fmt.id_headers();
    headers.extend_from_slice(extra);
    let mut out = Vec::with_capacity(body.len() + 256);
    Head {
        status,
        content_type: fmt.content_type(false),
        framing: Framing::Length(body.len()),
        keep_alive: request.keep_alive,
        http10: request.http10,
        headers: &headers,
    }
    .write_to(&mut out);
    out.extend_from_slice(body);
    stream.write_all(&out).await?;
    Ok(true)
}

/// An error from the mock itself (not a provider): plain JSON.
async fn plain_error(
    stream: &mut TcpStream,
    status: u16,
    message: &str,
    keep_alive: bool,
    http10: bool,
) -> io::Result<bool> {
    let body = format!(
        "{{\"error\":{{\"message\":{},\"type\":\"route_mock\"}}}}",
        wire::Json(message)
    );
    let mut out = Vec::with_capacity(body.len() + 128);
    Head {
        status,
        content_type: "application/json",
        framing: Framing::Length(body.len()),
        keep_alive,
        http10,
        headers: &[],
    }
    .write_to(&mut out);
    out.extend_from_slice(body.as_bytes());
    stream.write_all(&out).await?;
    Ok(true)
}

/// Never answers, but notices when the client hangs up, so an abandoned hang
/// does not hold its socket until the server shuts down.
async fn wait_for_close(stream: &mut TcpStream) {
    let mut sink = [0u8; 1024];
    while let Ok(n) = stream.read(&mut sink).await {
        if n == 0 {
            break;
        }
    }
}
