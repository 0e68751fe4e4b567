//! The mock's exact framing per provider, checked with a raw std `TcpStream` so
//! nothing between the test and the bytes on the wire can smooth things over.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use route_mock::{Answer, Decline, MockServer, REFUSAL, REFUSAL_EXPLANATION, Reply, Script};
use serde_json::{Value, json};

const TEXT: &str = "Hello from the route mock provider.";

/// A response as it came off the wire.
struct Response {
    status_line: String,
    headers: Vec<(String, String)>,
    /// The body, de-chunked when chunked.
    body: Vec<u8>,
    /// The chunks as sent (empty when not chunked).
    chunks: Vec<Vec<u8>>,
    /// A chunked body ended with its zero-length chunk.
    terminated: bool,
}

impl Response {
    fn status(&self) -> u16 {
        self.status_line.split(' ').nth(1).unwrap().parse().unwrap()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

fn request(path: &str, body: &Value) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer sk-test\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends one request with `Connection: close` and reads until the server closes.
fn call(server: &MockServer, path: &str, body: &Value) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(&request(path, body)).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse(&raw)
}

fn parse(raw: &[u8]) -> Response {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no response head")
        + 4;
    let head = std::str::from_utf8(&raw[..head_end - 4]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap().to_string();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let mut response = Response {
        status_line,
        headers,
        body: Vec::new(),
        chunks: Vec::new(),
        terminated: false,
    };
    let rest = &raw[head_end..];
    if response.header("transfer-encoding") == Some("chunked") {
        let mut at = 0;
        while at < rest.len() {
            let line_end = at + rest[at..].windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[at..line_end]).unwrap(), 16)
                .unwrap();
            if size == 0 {
                response.terminated = true;
                break;
            }
            let data = &rest[line_end + 2..line_end + 2 + size];
            assert_eq!(&rest[line_end + 2 + size..line_end + 4 + size], b"\r\n");
            response.chunks.push(data.to_vec());
            response.body.extend_from_slice(data);
            at = line_end + 4 + size;
        }
    } else {
        response.body = rest.to_vec();
        if let Some(len) = response.header("content-length") {
            assert_eq!(len.parse::<usize>().unwrap(), rest.len(), "body length");
        }
    }
    response
}

/// `data:` payloads of an SSE body, parsed as JSON where they are JSON.
fn sse_data(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|event| {
            event
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn openai_stream_has_role_text_finish_usage_and_done() {
    let mock = MockServer::start(Script::always(Reply::Answer(Answer {
        cached_tokens: 4,
        reasoning_tokens: 3,
        provider_cost: Some(0.0012),
        ..Answer::default()
    })));
    let body = json!({"model": "gpt-4o-mini", "stream": true, "stream_options": {"include_usage": true}, "messages": []});
    let r = call(&mock, "/v1/chat/completions", &body);
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert!(r.terminated);
    // One HTTP chunk per SSE event.
    assert!(
        r.chunks
            .iter()
            .all(|c| c.starts_with(b"data: ") && c.ends_with(b"\n\n"))
    );

    let data = sse_data(&r.text());
    assert_eq!(data.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk" && c["model"] == "gpt-4o-mini")
    );
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, TEXT);
    // 1 role chunk + 6 words + finish + usage.
    assert_eq!(chunks.len(), 9);
    let finish = &chunks[7];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert!(finish["usage"].is_null());
    let usage = &chunks[8];
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["prompt_tokens"], 12);
    assert_eq!(usage["usage"]["completion_tokens"], 6 + 3);
    assert_eq!(usage["usage"]["total_tokens"], 12 + 9);
    assert_eq!(usage["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
    assert_eq!(
        usage["usage"]["completion_tokens_details"]["reasoning_tokens"],
        3
    );
    assert_eq!(usage["usage"]["cost"], 0.0012);
}

#[test]
fn openai_usage_chunk_only_when_asked_and_plain_body() {
    let mock = MockServer::start(Script::default());
    let r = call(
        &mock,
        "/v1/chat/completions",
        &json!({"model": "m", "stream": true}),
    );
    let data = sse_data(&r.text());
    assert_eq!(data.last().unwrap(), "[DONE]");
    assert!(!r.text().contains("\"usage\""));

    let r = call(
        &mock,
        "/v1/chat/completions",
        &json!({"model": "m", "messages": []}),
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let j = r.json();
    assert_eq!(j["object"], "chat.completion");
    assert_eq!(j["choices"][0]["message"]["content"], TEXT);
    assert_eq!(j["choices"][0]["finish_reason"], "stop");
    assert_eq!(j["usage"]["completion_tokens"], 6);
    assert!(r.header("x-request-id").is_some());

    // Azure: the deployment names the model.
    let r = call(
        &mock,
        "/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21",
        &json!({"messages": []}),
    );
    assert_eq!(r.json()["model"], "my-gpt");
}

#[test]
fn anthropic_stream_has_the_full_event_sequence() {
    let mock = MockServer::start(Script::always(Reply::Answer(Answer {
        input_tokens: 100,
        cached_tokens: 30,
        cache_creation_tokens: 20,
        output_tokens: Some(42),
        served_model: Some("claude-x-20250101".to_string()),
        ..Answer::default()
    })));
    let r = call(
        &mock,
        "/v1/messages",
        &json!({"model": "claude-x", "max_tokens": 100, "stream": true, "messages": []}),
    );
    assert_eq!(r.status(), 200);
    assert!(r.terminated);
    let body = r.text();
    let names: Vec<&str> = body
        .split("\n\n")
        .filter_map(|e| e.lines().next()?.strip_prefix("event: "))
        .collect();
    let mut expected = vec!["message_start", "content_block_start", "ping"];
    expected.extend(["content_block_delta"; 6]);
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(names, expected);
    assert_eq!(r.chunks.len(), expected.len());

    let data: Vec<Value> = sse_data(&body)
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let start = &data[0]["message"];
    assert_eq!(start["model"], "claude-x-20250101");
    assert_eq!(start["usage"]["input_tokens"], 50); // the uncached remainder
    assert_eq!(start["usage"]["cache_read_input_tokens"], 30);
    assert_eq!(start["usage"]["cache_creation_input_tokens"], 20);
    let text: String = data
        .iter()
        .filter_map(|d| d["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, TEXT);
    assert_eq!(data[3]["delta"]["type"], "text_delta");
    let delta = &data[data.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], 42);

    let r = call(
        &mock,
        "/v1/messages",
        &json!({"model": "claude-x", "max_tokens": 100, "messages": []}),
    );
    let j = r.json();
    assert_eq!(j["type"], "message");
    assert_eq!(j["content"][0]["text"], TEXT);
    assert_eq!(j["stop_reason"], "end_turn");
}

#[test]
fn anthropic_in_stream_error_and_529() {
    let mock = MockServer::start(Script::new(vec![
        Reply::StreamError {
            chunks: 2,
            status: 529,
        },
        Reply::status(529),
    ]));
    let body = json!({"model": "claude-x", "stream": true, "messages": []});
    let r = call(&mock, "/v1/messages", &body);
    assert_eq!(r.status(), 200);
    let text = r.text();
    assert!(!text.contains("message_stop"));
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    assert_eq!(
        last,
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"
    );
    assert_eq!(text.matches("content_block_delta").count(), 2 * 2); // event name + type field

    let r = call(&mock, "/v1/messages", &body);
    assert_eq!(r.status(), 529);
    assert_eq!(
        r.json(),
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    );
}

#[test]
fn gemini_sse_ends_with_finish_reason_and_usage() {
    let mock = MockServer::start(Script::always(Reply::Answer(Answer {
        reasoning_tokens: 5,
        cached_tokens: 2,
        ..Answer::default()
    })));
    let path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
    let r = call(&mock, path, &json!({"contents": []}));
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let body = r.text();
    // Google's SSE separates events with CRLF CRLF.
    let events: Vec<Value> = body
        .split("\r\n\r\n")
        .filter(|e| !e.is_empty())
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    assert_eq!(events.len(), 7);
    assert_eq!(r.chunks.len(), 7);
    let text: String = events
        .iter()
        .filter_map(|e| e["candidates"][0]["content"]["parts"][0]["text"].as_str())
        .collect();
    assert_eq!(text, TEXT);
    assert!(
        events[..6]
            .iter()
            .all(|e| e["candidates"][0].get("finishReason").is_none())
    );
    let last = &events[6];
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["modelVersion"], "gemini-2.5-flash");
    assert!(last["responseId"].is_string());
    assert_eq!(
        last["usageMetadata"],
        json!({"promptTokenCount": 12, "candidatesTokenCount": 6, "totalTokenCount": 23,
               "cachedContentTokenCount": 2, "thoughtsTokenCount": 5})
    );

    // Without alt=sse Gemini streams one JSON array.
    let r = call(
        &mock,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        &json!({"contents": []}),
    );
    let array: Value = r.json();
    assert_eq!(array.as_array().unwrap().len(), 7);

    let r = call(
        &mock,
        "/v1beta/models/gemini-2.5-flash:generateContent",
        &json!({"contents": []}),
    );
    let j = r.json();
    assert_eq!(j["candidates"][0]["content"]["parts"][0]["text"], TEXT);
    assert_eq!(j["candidates"][0]["finishReason"], "STOP");
}

#[test]
fn ollama_streams_ndjson_by_default_and_ends_done() {
    let mock = MockServer::start(Script::default());
    let r = call(
        &mock,
        "/api/chat",
        &json!({"model": "llama3.2", "messages": []}),
    );
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7);
    assert!(
        lines[..6]
            .iter()
            .all(|l| l["done"] == false && l["model"] == "llama3.2")
    );
    let text: String = lines
        .iter()
        .filter_map(|l| l["message"]["content"].as_str())
        .collect();
    assert_eq!(text, TEXT);
    let last = &lines[6];
    assert_eq!(last["done"], true);
    assert_eq!(last["done_reason"], "stop");
    assert_eq!(last["prompt_eval_count"], 12);
    assert_eq!(last["eval_count"], 6);
    assert!(last["total_duration"].as_u64().unwrap() > 0);
    assert!(last["created_at"].as_str().unwrap().ends_with('Z'));

    let r = call(
        &mock,
        "/api/chat",
        &json!({"model": "llama3.2", "stream": false, "messages": []}),
    );
    let j = r.json();
    assert_eq!(j["message"]["content"], TEXT);
    assert_eq!(j["done"], true);
}

#[test]
fn cut_closes_without_end_marker() {
    let mock = MockServer::start(Script::always(Reply::Cut { chunks: 3 }));
    let r = call(
        &mock,
        "/v1/chat/completions",
        &json!({"model": "m", "stream": true}),
    );
    assert_eq!(r.status(), 200);
    assert!(!r.terminated, "the chunked body must not be properly ended");
    assert!(!r.text().contains("[DONE]"));
    assert!(!r.text().contains("finish_reason\":\"stop"));
    assert_eq!(r.chunks.len(), 1 + 3); // role chunk + 3 words
}

#[test]
fn fail_prefix_answers_the_status_in_each_shape_without_using_the_script() {
    let mock = MockServer::start(Script::new(vec![
        Reply::text("first"),
        Reply::text("second"),
    ]));
    let r = call(
        &mock,
        "/fail/503/v1/chat/completions",
        &json!({"model": "m", "stream": true}),
    );
    assert_eq!(r.status(), 503);
    assert_eq!(r.json()["error"]["type"], "server_error");
    assert!(r.json()["error"]["message"].is_string());

    let r = call(
        &mock,
        "/fail/429/v1/chat/completions",
        &json!({"model": "m"}),
    );
    assert_eq!(r.status(), 429);
    assert_eq!(r.json()["error"]["code"], "rate_limit_exceeded");

    let r = call(
        &mock,
        "/fail/503/v1beta/models/g:generateContent",
        &json!({}),
    );
    assert_eq!(r.json()["error"]["status"], "UNAVAILABLE");
    assert_eq!(r.json()["error"]["code"], 503);
    let r = call(&mock, "/fail/429/v1/messages", &json!({}));
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");
    let r = call(&mock, "/fail/500/api/chat", &json!({}));
    assert_eq!(r.status(), 500);
    assert!(r.json()["error"].is_string());

    // The script was not touched by any of that.
    let r = call(&mock, "/v1/chat/completions", &json!({"model": "m"}));
    assert_eq!(r.json()["choices"][0]["message"]["content"], "first");
}

#[test]
fn script_order_then_last_repeats_and_requests_are_recorded() {
    let mock = MockServer::start(Script::new(vec![
        Reply::Status {
            status: 429,
            message: Some("slow down".to_string()),
            headers: vec![("retry-after".to_string(), "2".to_string())],
        },
        Reply::text("again"),
    ]));
    let r = call(
        &mock,
        "/v1/chat/completions?x=1",
        &json!({"model": "m", "n": 1}),
    );
    assert_eq!(r.status(), 429);
    assert_eq!(r.header("retry-after"), Some("2"));
    assert_eq!(r.json()["error"]["message"], "slow down");
    for _ in 0..2 {
        let r = call(&mock, "/v1/chat/completions", &json!({"model": "m"}));
        assert_eq!(r.json()["choices"][0]["message"]["content"], "again");
    }
    let r = call(&mock, "/nowhere", &json!({}));
    assert_eq!(r.status(), 404);

    assert_eq!(mock.request_count(), 4);
    let requests = mock.requests();
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/v1/chat/completions?x=1");
    assert_eq!(requests[0].header("Authorization"), Some("Bearer sk-test"));
    assert!(requests[0].headers.iter().any(|(n, _)| n == "content-type"));
    assert_eq!(requests[0].json(), json!({"model": "m", "n": 1}));
    assert_eq!(requests[3].path, "/nowhere");
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let mock = MockServer::start(Script::default());
    let mut stream = TcpStream::connect(("127.0.0.1", mock.port())).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = r#"{"model":"m","stream":true}"#;
    let one = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    // Pipelined: both requests in one write.
    stream.write_all(format!("{one}{one}").as_bytes()).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while raw.windows(14).filter(|w| w == b"data: [DONE]\n\n").count() < 2 {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed early");
        raw.extend_from_slice(&buf[..n]);
    }
    assert_eq!(mock.request_count(), 2);
    assert_eq!(mock.connection_count(), 1);
}

#[test]
fn hang_never_answers_until_the_server_is_dropped() {
    let mock = MockServer::start(Script::always(Reply::Hang));
    let mut stream = TcpStream::connect(("127.0.0.1", mock.port())).unwrap();
    stream
        .write_all(&request("/v1/messages", &json!({"model": "c"})))
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(stream.read(&mut buf).is_err(), "a hang must send nothing");
    drop(mock);
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(
        stream.read(&mut buf).unwrap_or(0),
        0,
        "dropping the server closes the hang"
    );
}

#[test]
fn most_in_flight_tells_requests_at_once_from_one_after_another() {
    let mock = MockServer::start(Script::new(vec![
        Reply::text("one"),
        Reply::text("two"),
        Reply::Hang,
    ]));
    // One after another: each is answered in full before its connection closes.
    for _ in 0..2 {
        assert_eq!(
            call(&mock, "/v1/chat/completions", &json!({"model": "m"})).status(),
            200
        );
    }
    assert_eq!(mock.most_in_flight(), 1);
    // Two hangs held open at once.
    let mut streams = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(("127.0.0.1", mock.port())).unwrap();
        stream
            .write_all(&request("/v1/chat/completions", &json!({"model": "m"})))
            .unwrap();
        streams.push(stream);
    }
    let waited = Instant::now();
    while mock.request_count() < 4 {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "the hangs never arrived"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(mock.most_in_flight(), 2);
}

#[test]
fn stall_sends_some_events_then_nothing() {
    let mock = MockServer::start(Script::always(Reply::HangAfter { chunks: 2 }));
    let mut stream = TcpStream::connect(("127.0.0.1", mock.port())).unwrap();
    stream
        .write_all(&request("/api/chat", &json!({"model": "l"})))
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        assert!(n > 0, "a stall must not close");
        raw.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(raw).unwrap();
    assert_eq!(text.matches("\"done\":false").count(), 2);
    assert!(!text.contains("\"done\":true"));
}

#[test]
fn http10_reply_is_close_delimited() {
    let mock = MockServer::start(Script::always(Reply::Http10));
    let r = call(
        &mock,
        "/v1/chat/completions",
        &json!({"model": "m", "stream": true}),
    );
    assert_eq!(r.status_line, "HTTP/1.0 200 OK");
    assert!(r.header("content-length").is_none() && r.header("transfer-encoding").is_none());
    assert!(r.text().ends_with("data: [DONE]\n\n"));
}

#[test]
fn refuse_closes_without_answering_and_rate_limit_in_200() {
    let mock = MockServer::start(Script::new(vec![Reply::Refuse, Reply::RateLimitIn200]));
    let mut stream = TcpStream::connect(("127.0.0.1", mock.port())).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = stream.write_all(&request("/v1/chat/completions", &json!({"model": "m"})));
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    assert!(raw.is_empty());
    assert_eq!(mock.request_count(), 0);

    let r = call(&mock, "/v1/chat/completions", &json!({"model": "m"}));
    assert_eq!(r.status(), 200);
    assert_eq!(r.json()["error"]["code"], "rate_limit_exceeded");
    let r = call(
        &mock,
        "/v1/messages",
        &json!({"model": "m", "stream": true}),
    );
    assert_eq!(r.status(), 200);
    assert!(r.text().starts_with(
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\""
    ));
}

#[test]
fn context_length_and_bad_body() {
    let mock = MockServer::start(Script::always(Reply::ContextLength));
    let r = call(&mock, "/v1/chat/completions", &json!({"model": "m"}));
    assert_eq!(r.status(), 400);
    assert_eq!(r.json()["error"]["code"], "context_length_exceeded");

    let mut stream = TcpStream::connect(("127.0.0.1", mock.port())).unwrap();
    stream
        .write_all(
            b"POST /v1/messages HTTP/1.1\r\nConnection: close\r\nContent-Length: 3\r\n\r\nnot",
        )
        .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let r = parse(&raw);
    assert_eq!(r.status(), 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
}

#[test]
fn delays_pace_the_stream() {
    let mock = MockServer::start(Script::always(Reply::Answer(Answer {
        text: "a b c d".to_string(),
        first_delay: Duration::from_millis(150),
        delay: Duration::from_millis(30),
        ..Answer::default()
    })));
    let mut stream = TcpStream::connect(("127.0.0.1", mock.port())).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    stream
        .write_all(&request(
            "/v1/messages",
            &json!({"model": "c", "stream": true}),
        ))
        .unwrap();
    // The head and message_start come at once; the first text only after first_delay.
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while !raw.windows(13).any(|w| w == b"message_start") {
        let n = stream.read(&mut buf).unwrap();
        raw.extend_from_slice(&buf[..n]);
    }
    assert!(!raw.windows(19).any(|w| w == b"content_block_delta"));
    stream.read_to_end(&mut raw).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150 + 3 * 30));
    assert!(String::from_utf8(raw).unwrap().contains("message_stop"));
}

#[test]
fn repeat_and_fixed_chunks() {
    let mock = MockServer::start(Script::always(Reply::Answer(Answer {
        text: "abcdef ".to_string(),
        chunks: Some(2),
        repeat: 3,
        ..Answer::default()
    })));
    let r = call(&mock, "/api/chat", &json!({"model": "l"}));
    let lines: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2 * 3 + 1);
    let text: String = lines
        .iter()
        .filter_map(|l| l["message"]["content"].as_str())
        .collect();
    assert_eq!(text, "abcdef ".repeat(3));
    assert_eq!(lines[6]["eval_count"], 6);
}

/// `Script::expecting_prefix`: each wire format's continuation is accepted in
/// its own shape only, and then only the rest of the answer is sent.
#[test]
fn a_continuation_is_checked_in_each_wire_formats_own_shape() {
    let server = MockServer::start(Script::always(Reply::text(TEXT)).expecting_prefix());
    let user = json!({"role": "user", "content": "hi"});
    let assistant = json!({"role": "assistant", "content": "Hello from"});
    let gemini_user = json!({"role": "user", "parts": [{"text": "hi"}]});
    let model_turn = json!({"role": "model", "parts": [{"text": "Hello from"}]});
    let openai = "/v1/chat/completions";
    let anthropic = "/v1/messages";
    let gemini = "/v1beta/models/gemini-2.5-flash:generateContent";
    let ollama = "/api/chat";
    let good: [(&str, Value); 5] = [
        (
            openai,
            json!({"model": "m", "messages": [user, {"role": "assistant", "content": "Hello from", "prefix": true}]}),
        ),
        (
            openai,
            json!({"model": "m", "messages": [user, assistant], "continue_final_message": true, "add_generation_prompt": false}),
        ),
        (
            anthropic,
            json!({"model": "m", "max_tokens": 9, "messages": [user, assistant]}),
        ),
        (gemini, json!({"contents": [gemini_user, model_turn]})),
        (
            ollama,
            json!({"model": "m", "stream": false, "messages": [user, assistant]}),
        ),
    ];
    for (path, body) in good {
        let r = call(&server, path, &body);
        assert_eq!(r.status(), 200, "{path}: {}", r.text());
        assert!(
            r.text().contains(" the route mock provider."),
            "{path}: {}",
            r.text()
        );
        assert!(
            !r.text().contains("Hello from"),
            "{path}: only the rest: {}",
            r.text()
        );
    }
    let bad: [(&str, Value); 5] = [
        // A bare assistant message: OpenAI would answer it, not continue it.
        (openai, json!({"model": "m", "messages": [user, assistant]})),
        // Gemini's shape sent to Anthropic, Anthropic's to Gemini.
        (
            anthropic,
            json!({"model": "m", "max_tokens": 9, "contents": [gemini_user, model_turn]}),
        ),
        (
            gemini,
            json!({"contents": [gemini_user, {"role": "assistant", "parts": [{"text": "Hello from"}]}]}),
        ),
        // Anthropic refuses a prefill ending in whitespace.
        (
            anthropic,
            json!({"model": "m", "max_tokens": 9, "messages": [user, {"role": "assistant", "content": "Hello "}]}),
        ),
        // No prefix at all.
        (
            ollama,
            json!({"model": "m", "stream": false, "messages": [user]}),
        ),
    ];
    for (path, body) in bad {
        let r = call(&server, path, &body);
        assert_eq!(r.status(), 400, "{path}: {body}: {}", r.text());
        // A turn in a role the wire format does not take is refused first.
        assert!(
            r.text().contains("expected a continuation") || r.text().contains("unexpected role"),
            "{}",
            r.text()
        );
    }
}

#[test]
fn a_schema_request_is_checked_in_each_wire_formats_own_shape() {
    let answer = r#"{"name": "Ada"}"#;
    let server = MockServer::start(Script::always(Reply::text(answer)).expecting_schema());
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}});
    let user = json!({"role": "user", "content": "hi"});
    let gemini_user = json!({"role": "user", "parts": [{"text": "hi"}]});
    let openai = "/v1/chat/completions";
    let anthropic = "/v1/messages";
    let gemini = "/v1beta/models/gemini-2.5-flash:generateContent";
    let ollama = "/api/chat";
    let tool = json!([{"name": "answer", "input_schema": schema}]);
    let good: [(&str, Value); 4] = [
        (
            openai,
            json!({"model": "m", "messages": [user], "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": false}}}),
        ),
        (
            anthropic,
            json!({"model": "m", "max_tokens": 9, "messages": [user], "tools": tool, "tool_choice": {"type": "tool", "name": "answer"}}),
        ),
        (
            gemini,
            json!({"contents": [gemini_user], "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": schema}}),
        ),
        (
            ollama,
            json!({"model": "m", "stream": false, "messages": [user], "format": schema}),
        ),
    ];
    for (path, body) in good {
        let r = call(&server, path, &body);
        assert_eq!(r.status(), 200, "{path}: {}", r.text());
    }
    let bad: [(&str, Value, &str); 7] = [
        // Ollama's shape sent to OpenAI; JSON mode without a schema.
        (
            openai,
            json!({"model": "m", "messages": [user], "format": schema}),
            "no `response_format`",
        ),
        (
            openai,
            json!({"model": "m", "messages": [user], "response_format": {"type": "json_object"}}),
            "not `json_schema`",
        ),
        // A tool that is offered but not forced.
        (
            anthropic,
            json!({"model": "m", "max_tokens": 9, "messages": [user], "tools": tool}),
            "no `tool_choice`",
        ),
        (
            anthropic,
            json!({"model": "m", "max_tokens": 9, "messages": [user], "tools": tool, "tool_choice": {"type": "tool", "name": "other"}}),
            "no tool in `tools`",
        ),
        // The schema beside generationConfig instead of inside it.
        (
            gemini,
            json!({"contents": [gemini_user], "responseJsonSchema": schema, "generationConfig": {"responseMimeType": "application/json"}}),
            "not inside `generationConfig`",
        ),
        (
            gemini,
            json!({"contents": [gemini_user], "generationConfig": {"responseJsonSchema": schema}}),
            "`generationConfig.responseMimeType` is not `application/json`",
        ),
        (
            ollama,
            json!({"model": "m", "stream": false, "messages": [user], "format": "json"}),
            "JSON mode, not a schema",
        ),
    ];
    for (path, body, why) in bad {
        let r = call(&server, path, &body);
        assert_eq!(r.status(), 400, "{path}: {body}: {}", r.text());
        assert!(
            r.text().contains("expected a structured-output request") && r.text().contains(why),
            "{path}: {}",
            r.text()
        );
    }
}

#[test]
fn a_forced_anthropic_tool_is_answered_as_that_tools_use() {
    let answer = r#"{"name": "Ada", "age": 36}"#;
    let server = MockServer::start(Script::always(Reply::text(answer)));
    let body = |stream: bool| {
        json!({"model": "claude-haiku-4-5", "max_tokens": 9, "stream": stream,
               "messages": [{"role": "user", "content": "hi"}],
               "tools": [{"name": "answer", "input_schema": {"type": "object"}}],
               "tool_choice": {"type": "tool", "name": "answer"}})
    };
    // Streamed: a tool_use block whose input arrives as input_json_delta.
    let r = call(&server, "/v1/messages", &body(true));
    let events: Vec<Value> = sse_data(&r.text())
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let start = events
        .iter()
        .find(|e| e["type"] == "content_block_start")
        .unwrap();
    assert_eq!(start["content_block"]["type"], "tool_use");
    assert_eq!(start["content_block"]["name"], "answer");
    let input: String = events
        .iter()
        .filter(|e| e["delta"]["type"] == "input_json_delta")
        .filter_map(|e| e["delta"]["partial_json"].as_str())
        .collect();
    assert_eq!(input, answer);
    assert!(!r.text().contains("text_delta"));
    let stop = events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    assert_eq!(stop["delta"]["stop_reason"], "tool_use");
    // Whole: one tool_use block with the answer as its input.
    let whole = call(&server, "/v1/messages", &body(false)).json();
    assert_eq!(whole["content"][0]["type"], "tool_use");
    assert_eq!(
        whole["content"][0]["input"],
        json!({"name": "Ada", "age": 36})
    );
    assert_eq!(whole["stop_reason"], "tool_use");
}

#[test]
fn invalid_json_on_demand_in_every_shape() {
    let server = MockServer::start(Script::always(Reply::InvalidJson));
    let openai = call(
        &server,
        "/v1/chat/completions",
        &json!({"model": "m", "messages": []}),
    )
    .json();
    assert_eq!(
        openai["choices"][0]["message"]["content"],
        route_mock::INVALID_JSON
    );
    let ollama = call(
        &server,
        "/api/chat",
        &json!({"model": "m", "stream": false, "messages": []}),
    )
    .json();
    assert_eq!(ollama["message"]["content"], route_mock::INVALID_JSON);
    assert!(serde_json::from_str::<Value>(route_mock::INVALID_JSON).is_err());
    // A forced tool's input that is not JSON is written as a JSON string.
    let anthropic = call(
        &server,
        "/v1/messages",
        &json!({"model": "m", "max_tokens": 9, "messages": [],
                "tools": [{"name": "answer", "input_schema": {"type": "object"}}],
                "tool_choice": {"type": "tool", "name": "answer"}}),
    )
    .json();
    assert_eq!(anthropic["content"][0]["input"], route_mock::INVALID_JSON);
}

/// The JSON `data:` events of an SSE body.
fn events(body: &str) -> Vec<Value> {
    sse_data(body)
        .iter()
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

#[test]
fn openai_refusals_streamed_and_whole() {
    let declined = |how, chunks| Reply::Declined { how, chunks };
    let mock = MockServer::start(Script::new(vec![
        declined(Decline::Refusal, 0),
        declined(Decline::Refusal, 0),
        declined(Decline::Filtered, 2),
        declined(Decline::Filtered, 0),
    ]));
    let path = "/v1/chat/completions";
    let body = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true}});
    // The refusal text in `delta.refusal`, a plain stop, the usage, [DONE].
    let r = call(&mock, path, &body);
    let text = r.text();
    let ev = events(&text);
    let refusal: String = ev
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["refusal"].as_str())
        .collect();
    assert_eq!(refusal, REFUSAL);
    assert!(
        ev.iter()
            .any(|e| e["choices"][0]["finish_reason"] == "stop")
    );
    assert!(ev.iter().any(|e| e["usage"]["prompt_tokens"].is_number()));
    assert!(text.ends_with("data: [DONE]\n\n"));
    // Whole: `message.refusal`, no content.
    let whole = call(&mock, path, &json!({"model": "m"})).json();
    assert_eq!(whole["choices"][0]["message"]["refusal"], REFUSAL);
    assert!(whole["choices"][0]["message"]["content"].is_null());
    // A content filter after two words of text.
    let text = call(&mock, path, &body).text();
    let ev = events(&text);
    let said: String = ev
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(said, "Hello from");
    assert!(
        ev.iter()
            .any(|e| e["choices"][0]["finish_reason"] == "content_filter")
    );
    let whole = call(&mock, path, &json!({"model": "m"})).json();
    assert_eq!(whole["choices"][0]["finish_reason"], "content_filter");
}

#[test]
fn anthropic_refusal_stop_streamed_and_whole() {
    let mock = MockServer::start(Script::always(Reply::Declined {
        how: Decline::Refusal,
        chunks: 1,
    }));
    let text = call(
        &mock,
        "/v1/messages",
        &json!({"model": "m", "stream": true}),
    )
    .text();
    let ev = events(&text);
    let delta = ev.iter().find(|e| e["type"] == "message_delta").unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "refusal");
    assert_eq!(
        delta["delta"]["stop_details"]["explanation"],
        REFUSAL_EXPLANATION
    );
    assert!(ev.iter().any(|e| e["delta"]["text"] == "Hello"));
    assert_eq!(ev.last().unwrap()["type"], "message_stop");
    let whole = call(&mock, "/v1/messages", &json!({"model": "m"})).json();
    assert_eq!(whole["stop_reason"], "refusal");
    assert_eq!(whole["content"][0]["text"], "Hello");
    assert!(whole["usage"]["output_tokens"].is_number());
}

#[test]
fn gemini_safety_finish_and_blocked_prompt() {
    let mock = MockServer::start(Script::new(vec![
        Reply::Declined {
            how: Decline::Refusal,
            chunks: 0,
        },
        Reply::Declined {
            how: Decline::BlockedPrompt,
            chunks: 3,
        },
        Reply::ContentPolicy,
    ]));
    let stream = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
    let ev = events(&call(&mock, stream, &json!({})).text().replace("\r\n", "\n"));
    assert_eq!(
        ev.last().unwrap()["candidates"][0]["finishReason"],
        "SAFETY"
    );
    // A blocked prompt: no candidates, and no text before it.
    let ev = events(&call(&mock, stream, &json!({})).text().replace("\r\n", "\n"));
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["promptFeedback"]["blockReason"], "SAFETY");
    assert!(ev[0].get("candidates").is_none());
    // Gemini's content policy is its blocked prompt, with a 200.
    let whole = call(
        &mock,
        "/v1beta/models/gemini-2.5-flash:generateContent",
        &json!({}),
    );
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.json()["promptFeedback"]["blockReason"], "SAFETY");
}

#[test]
fn content_policy_errors() {
    let mock = MockServer::start(Script::always(Reply::ContentPolicy));
    let r = call(&mock, "/v1/chat/completions", &json!({"model": "m"}));
    assert_eq!(r.status(), 400);
    assert_eq!(r.json()["error"]["code"], "invalid_prompt");
    let r = call(&mock, "/v1/messages", &json!({"model": "m"}));
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json()["error"]["message"],
        "Output blocked by content filtering policy"
    );
}
