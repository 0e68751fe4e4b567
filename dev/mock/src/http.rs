//! A deliberately small HTTP/1.1 layer: just enough to read requests (with
//! `Content-Length` bodies and keep-alive) and to write response heads. Written
//! by hand rather than with hyper so every byte and every stall is ours to decide.

use std::io::{self, Write as _};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest request head accepted; real clients send a few hundred bytes.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted; prompts in tests and benchmarks are far smaller.
const MAX_BODY: usize = 64 * 1024 * 1024;

pub(crate) struct Request {
    pub method: String,
    /// The request target as sent: path plus query string.
    pub target: String,
    /// The client spoke HTTP/1.0, so it cannot take a chunked response.
    pub http10: bool,
    /// Header names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub keep_alive: bool,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) enum ReadError {
    /// The client closed the connection (cleanly, between requests, or not).
    Closed,
    /// The request cannot be served; answer with this status and close.
    Bad(u16, &'static str),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Closed
    }
}

/// Reads one request. `buf` carries bytes already read past the previous
/// request (pipelining) and keeps any read past this one.
pub(crate) async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Result<Request, ReadError> {
    let mut scanned = 0;
    let head_end = loop {
        if let Some(pos) = find(&buf[scanned..], b"\r\n\r\n") {
            break scanned + pos + 4;
        }
        // Re-scan the last three bytes: the terminator may straddle two reads.
        scanned = buf.len().saturating_sub(3);
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Bad(431, "request head too large"));
        }
        if read_more(stream, buf).await? == 0 {
            return Err(ReadError::Closed);
        }
    };

    let head = String::from_utf8_lossy(&buf[..head_end - 4]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(400, "malformed request line"));
    };
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => {
            return Err(ReadError::Bad(
                505,
                "only HTTP/1.0 and HTTP/1.1 are spoken here",
            ));
        }
    };
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Bad(400, "malformed header line"));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut request = Request {
        method: method.to_string(),
        target: target.to_string(),
        http10,
        headers,
        body: Vec::new(),
        keep_alive: false,
    };
    let connection = request
        .header("connection")
        .unwrap_or("")
        .to_ascii_lowercase();
    request.keep_alive = if http10 {
        connection.contains("keep-alive")
    } else {
        !connection.contains("close")
    };
    if request.header("transfer-encoding").is_some() {
        return Err(ReadError::Bad(411, "send the body with a Content-Length"));
    }
    let body_len = match request.header("content-length") {
        None => 0,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n <= MAX_BODY => n,
            Ok(_) => return Err(ReadError::Bad(413, "request body too large")),
            Err(_) => return Err(ReadError::Bad(400, "bad Content-Length")),
        },
    };

    // curl asks before sending bodies over 1 KiB; say yes so it does not pause.
    let expects_continue = request
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if expects_continue && buf.len() < head_end + body_len {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    while buf.len() < head_end + body_len {
        if read_more(stream, buf).await? == 0 {
            return Err(ReadError::Closed);
        }
    }
    request.body = buf[head_end..head_end + body_len].to_vec();
    buf.drain(..head_end + body_len);
    Ok(request)
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.reserve(8192);
    stream.read_buf(buf).await
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(usize),
    Chunked,
    /// HTTP/1.0 style: the body ends when the connection closes.
    Close,
}

pub(crate) struct Head<'a> {
    pub status: u16,
    pub content_type: &'a str,
    pub framing: Framing,
    pub keep_alive: bool,
    pub http10: bool,
    pub headers: &'a [(String, String)],
}

impl Head<'_> {
    pub fn write_to(&self, buf: &mut Vec<u8>) {
        let version = if self.http10 { "HTTP/1.0" } else { "HTTP/1.1" };
        // Writing into a Vec cannot fail.
        let _ = write!(
            buf,
            "{version} {} {}\r\ncontent-type: {}\r\n",
            self.status,
            reason(self.status),
            self.content_type
        );
        match self.framing {
            Framing::Length(n) => {
                let _ = write!(buf, "content-length: {n}\r\n");
            }
            Framing::Chunked => buf.extend_from_slice(b"transfer-encoding: chunked\r\n"),
            Framing::Close => {}
        }
        let keep_alive = self.keep_alive && self.framing != Framing::Close;
        if keep_alive {
            if self.http10 {
                buf.extend_from_slice(b"connection: keep-alive\r\n");
            }
        } else {
            buf.extend_from_slice(b"connection: close\r\n");
        }
        for (name, value) in self.headers {
            let _ = write!(buf, "{name}: {value}\r\n");
        }
        buf.extend_from_slice(b"\r\n");
    }
}

pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        529 => "Site Overloaded",
        _ => "Unknown",
    }
}
