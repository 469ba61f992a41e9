//! The wire format of the one hand-written HTTP request: a streamed
//! `POST /runtime/invocation/{id}/response` with `Transfer-Encoding: chunked` and, when the
//! handler failed after its first bytes, HTTP trailers. ureq, the client of every other call,
//! cannot send request trailers; the format is small enough to write directly:
//!
//! ```text
//! POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1      the head, sent with the first chunk
//! Host: 127.0.0.1:9001
//! User-Agent: lambda-loop/0.1.0
//! Content-Type: application/octet-stream
//! Lambda-Runtime-Function-Response-Mode: streaming
//! Transfer-Encoding: chunked
//! Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body
//! Connection: close
//!
//! 6                                                                one chunk per flush or full buffer:
//! hello                                                            size in hex, bytes
//! 0                                                                the last chunk
//! Lambda-Runtime-Function-Error-Type: Runtime.Panic                trailers, only after a failure
//! Lambda-Runtime-Function-Error-Body: eyJlcnJvck1lc3NhZ2UiOi4uLn0= (the error JSON, base64)
//!                                                                  the empty line that ends the body
//! ```
//!
//! (Every line ends with CRLF, and so does every chunk's data.) Each piece goes out in one
//! vectored write, so a chunk costs one syscall, however it is framed. Which headers the head
//! carries is `stream_post.rs`'s business, and what the answer means `answer.rs`'s.

use std::io::{self, ErrorKind, IoSlice, Read, Write};

use base64::Engine;

use crate::answer::drain;
use crate::error::Error;
use crate::protocol::{header, MAX_ANSWER_BYTES, USER_AGENT};
use crate::transport::write_all_vectored;

/// The head of a streamed post to `path` on `authority` (`host:port`), with `headers`.
///
/// `Connection: close`: each streamed response has its own connection (the loop's kept-alive
/// connection belongs to ureq), and the Runtime API closes it after its answer, so no idle
/// socket is left behind.
pub(crate) fn request_head(authority: &str, path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut head =
        format!("POST {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {USER_AGENT}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Transfer-Encoding: chunked\r\n\
         Trailer: {}, {}\r\n\
         Connection: close\r\n\
         \r\n",
        header::ERROR_TYPE,
        header::ERROR_BODY
    ));
    head.into_bytes()
}

/// The end of a chunked body: the last (empty) chunk, the error trailers when the handler
/// failed, and the empty line.
pub(crate) fn body_end(error: Option<&Error>) -> Vec<u8> {
    let mut end = b"0\r\n".to_vec();
    if let Some(error) = error {
        let error_type = error.error_type_header();
        let error_body = base64::engine::general_purpose::STANDARD.encode(error.to_json());
        end.extend_from_slice(format!("{}: {error_type}\r\n", header::ERROR_TYPE).as_bytes());
        end.extend_from_slice(format!("{}: {error_body}\r\n", header::ERROR_BODY).as_bytes());
    }
    end.extend_from_slice(b"\r\n");
    end
}

/// A chunked request body being written to `sink`; the request head goes out together with
/// the first chunk (or with the end of an empty body).
pub(crate) struct ChunkedWriter<W: Write> {
    sink: W,
    head: Option<Vec<u8>>,
}

impl<W: Write> ChunkedWriter<W> {
    /// A body for the request whose `head` is sent with the first write.
    pub fn new(sink: W, head: Vec<u8>) -> Self {
        ChunkedWriter {
            sink,
            head: Some(head),
        }
    }

    /// Sends `data` as one chunk. Empty data sends nothing: a chunk of size 0 ends the body.
    pub fn chunk(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let size = format!("{:x}\r\n", data.len());
        self.send(&[size.as_bytes(), data, b"\r\n"])
    }

    /// Sends `data` as a final chunk (if any), then the end of the body with the trailers for
    /// `error`.
    pub fn end(&mut self, data: &[u8], error: Option<&Error>) -> io::Result<()> {
        let end = body_end(error);
        if data.is_empty() {
            return self.send(&[&end]);
        }
        let size = format!("{:x}\r\n", data.len());
        self.send(&[size.as_bytes(), data, b"\r\n", &end])
    }

    /// The sink, to read the answer from once the body has ended.
    pub fn sink(&self) -> &W {
        &self.sink
    }

    fn send(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let head = self.head.take();
        let mut slices: Vec<IoSlice<'_>> = head
            .iter()
            .map(|head| IoSlice::new(head))
            .chain(parts.iter().map(|part| IoSlice::new(part)))
            .collect();
        write_all_vectored(&mut self.sink, &mut slices)
    }
}

/// Reads the Runtime API's answer to a post (status line, headers, a short body) with
/// `httparse`, and returns its status code. The body is read too (bounded), so that the
/// server sees a clean close.
pub(crate) fn read_answer(mut answer: impl Read) -> io::Result<u16> {
    let invalid = |what: String| io::Error::new(ErrorKind::InvalidData, what);
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let read = answer.read(&mut chunk)?;
        if read == 0 {
            return Err(invalid(if buffer.is_empty() {
                "no answer at all".into()
            } else {
                "the answer ended inside its headers".into()
            }));
        }
        buffer.extend_from_slice(&chunk[..read]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Response::new(&mut headers);
        match parsed.parse(&buffer) {
            Ok(httparse::Status::Complete(head_len)) => {
                let status = parsed.code.unwrap_or(0);
                let length: u64 = parsed
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                    .unwrap_or(0);
                let rest = length
                    .min(MAX_ANSWER_BYTES)
                    .saturating_sub((buffer.len() - head_len) as u64);
                drain(answer.take(rest));
                return Ok(status);
            }
            Ok(httparse::Status::Partial) if (buffer.len() as u64) < MAX_ANSWER_BYTES => {}
            Ok(httparse::Status::Partial) => {
                return Err(invalid("the answer's headers are too long".into()))
            }
            Err(error) => return Err(invalid(format!("the answer is not HTTP ({error})"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn the_head_declares_streaming_chunks_and_the_error_trailers() {
        let head = request_head(
            "127.0.0.1:9001",
            "/2018-06-01/runtime/invocation/abc/response",
            &[
                ("Content-Type", "application/octet-stream"),
                ("Lambda-Runtime-Function-Response-Mode", "streaming"),
            ],
        );
        let expected = concat!(
            "POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\n",
            "Host: 127.0.0.1:9001\r\n",
            "User-Agent: lambda-loop/",
            env!("CARGO_PKG_VERSION"),
            "\r\n",
            "Content-Type: application/octet-stream\r\n",
            "Lambda-Runtime-Function-Response-Mode: streaming\r\n",
            "Transfer-Encoding: chunked\r\n",
            "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n",
            "Connection: close\r\n",
            "\r\n",
        );
        assert_eq!(String::from_utf8(head).unwrap(), expected);
    }

    #[test]
    fn chunks_are_framed_exactly_and_the_head_goes_with_the_first() {
        let mut body = ChunkedWriter::new(Vec::new(), b"HEAD\r\n\r\n".to_vec());
        body.chunk(b"").unwrap(); // nothing: an empty chunk would end the body
        assert!(body.sink().is_empty());
        body.chunk(b"hello\n").unwrap();
        body.chunk(&[b'x'; 26]).unwrap();
        body.end(b"", None).unwrap();
        let expected = [
            &b"HEAD\r\n\r\n"[..],
            b"6\r\nhello\n\r\n",
            b"1a\r\nxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n",
            b"0\r\n\r\n",
        ]
        .concat();
        assert_eq!(body.sink(), &expected);
    }

    #[test]
    fn an_error_ends_the_body_with_both_trailers() {
        let error = Error::new("Stream\r\nBroke", "half way");
        let mut body = ChunkedWriter::new(Vec::new(), b"H\r\n\r\n".to_vec());
        body.end(b"tail", Some(&error)).unwrap();
        let text = String::from_utf8(body.sink().clone()).unwrap();
        let json = base64(&error.to_json());
        assert_eq!(
            text,
            format!(
                "H\r\n\r\n4\r\ntail\r\n0\r\n\
                 Lambda-Runtime-Function-Error-Type: Stream__Broke\r\n\
                 Lambda-Runtime-Function-Error-Body: {json}\r\n\r\n"
            )
        );
    }

    #[test]
    fn an_empty_body_is_the_head_and_the_last_chunk() {
        let mut body = ChunkedWriter::new(Vec::new(), b"H\r\n\r\n".to_vec());
        body.end(b"", None).unwrap();
        assert_eq!(body.sink(), b"H\r\n\r\n0\r\n\r\n");
    }

    #[test]
    fn answers_are_read_to_their_end() {
        let answer = b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n";
        assert_eq!(read_answer(&answer[..]).unwrap(), 202);
        assert_eq!(read_answer(&b"HTTP/1.1 500 Oops\r\n\r\n"[..]).unwrap(), 500);
        assert_eq!(
            read_answer(&b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}"[..]).unwrap(),
            202
        );
        for broken in [
            &b""[..],
            b"garbage\r\n\r\n",
            b"HTTP/1.1 202 OK\r\nHost: x\r\n",
            b"HTTP/1.1 202 OK\r\nBad\x01Header: x\r\n\r\n",
        ] {
            assert!(read_answer(broken).is_err(), "{broken:?}");
        }
    }

    /// A writer that takes at most 3 bytes per call, to exercise partial vectored writes.
    struct Trickle(Vec<u8>);
    impl Write for Trickle {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            let n = data.len().min(3);
            self.0.extend_from_slice(&data[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn partial_writes_still_send_every_byte_in_order() {
        let mut body = ChunkedWriter::new(Trickle(Vec::new()), b"HEAD\r\n\r\n".to_vec());
        body.chunk(b"abcdefghij").unwrap();
        body.end(b"xyz", None).unwrap();
        assert_eq!(
            body.sink().0,
            b"HEAD\r\n\r\na\r\nabcdefghij\r\n3\r\nxyz\r\n0\r\n\r\n"
        );
    }
}
