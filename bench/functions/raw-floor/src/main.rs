//! The floor: what a Lambda JSON echo costs with nothing in the way.
//!
//! std only (plus serde_json for the echo itself), one keep-alive `TcpStream`, a hand-written
//! HTTP/1.1 client. Each request leaves in one `write` (head and body in one buffer) and each
//! answer is read with as few `read`s as the bytes allow, so a small invocation costs four
//! syscalls: write `next`, read the event, write the response, read the 202.
//!
//! It is a measuring stick, not a runtime: no chunked bodies, no error posts, no context.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

const API_PREFIX: &str = "/2018-06-01/runtime/invocation/";
/// Bytes read at once for an answer's head; a small event arrives in the same read.
const READ_CHUNK: usize = 64 * 1024;

fn main() -> ExitCode {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        eprintln!("raw-floor: AWS_LAMBDA_RUNTIME_API is not set; exiting");
        return ExitCode::FAILURE;
    };
    match serve(&api) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("raw-floor: {error}; exiting");
            ExitCode::FAILURE
        }
    }
}

/// One answer from the Runtime API: status, the request id header, the body.
struct Answer {
    status: u16,
    request_id: Option<String>,
    body: Vec<u8>,
}

fn serve(api: &str) -> io::Result<()> {
    let mut stream = TcpStream::connect(api)?;
    stream.set_nodelay(true)?;
    let next_request =
        format!("GET {API_PREFIX}next HTTP/1.1\r\nHost: {api}\r\nUser-Agent: raw-floor\r\n\r\n");
    let mut reader = AnswerReader {
        buf: vec![0; READ_CHUNK],
        start: 0,
        end: 0,
    };
    let mut out = Vec::with_capacity(READ_CHUNK);
    loop {
        stream.write_all(next_request.as_bytes())?;
        let event = reader.read_answer(&mut stream)?;
        if event.status != 200 {
            return Err(io::Error::other(format!("next answered {}", event.status)));
        }
        let id = event
            .request_id
            .ok_or_else(|| io::Error::other("next answer without Lambda-Runtime-Aws-Request-Id"))?;
        let value: serde_json::Value = serde_json::from_slice(&event.body)
            .map_err(|e| io::Error::other(format!("event is not JSON: {e}")))?;
        let reply = serde_json::to_vec(&value).map_err(io::Error::other)?;

        out.clear();
        write!(
            out,
            "POST {API_PREFIX}{id}/response HTTP/1.1\r\nHost: {api}\r\nUser-Agent: raw-floor\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            reply.len()
        )?;
        out.extend_from_slice(&reply);
        stream.write_all(&out)?;
        let accepted = reader.read_answer(&mut stream)?;
        if accepted.status != 202 {
            return Err(io::Error::other(format!(
                "response answered {}",
                accepted.status
            )));
        }
    }
}

/// Reads HTTP/1.1 answers off one connection, keeping bytes that arrived early.
struct AnswerReader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl AnswerReader {
    fn read_answer(&mut self, stream: &mut TcpStream) -> io::Result<Answer> {
        let head_len = loop {
            if let Some(pos) = find_head_end(&self.buf[self.start..self.end]) {
                break pos;
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                return Err(io::Error::other("answer head larger than 64 KiB"));
            }
            let n = stream.read(&mut self.buf[self.end..])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            self.end += n;
        };
        let head = std::str::from_utf8(&self.buf[self.start..self.start + head_len])
            .map_err(|_| io::Error::other("answer head is not UTF-8"))?;
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| io::Error::other("bad status line"))?;
        let mut content_length = 0usize;
        let mut request_id = None;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value
                    .parse()
                    .map_err(|_| io::Error::other("bad Content-Length"))?;
            } else if name.eq_ignore_ascii_case("lambda-runtime-aws-request-id") {
                request_id = Some(value.to_owned());
            }
        }
        self.start += head_len + 4;

        let buffered = (self.end - self.start).min(content_length);
        let mut body = Vec::with_capacity(content_length);
        body.extend_from_slice(&self.buf[self.start..self.start + buffered]);
        self.start += buffered;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if buffered < content_length {
            body.resize(content_length, 0);
            stream.read_exact(&mut body[buffered..])?;
        }
        Ok(Answer {
            status,
            request_id,
            body,
        })
    }
}

fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|window| window == b"\r\n\r\n")
}
