//! The one hand-written HTTP request: a streamed `POST /runtime/invocation/{id}/response`
//! with `Transfer-Encoding: chunked` and, when the handler failed after its first bytes, HTTP
//! trailers. ureq, the client of every other call, cannot send request trailers; the wire
//! format is small enough to write directly:
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
//! vectored write, so a chunk costs one syscall, however it is framed.

use std::io::{self, BufRead, BufReader, ErrorKind, IoSlice, Read, Write};
use std::net::TcpStream;
use std::thread::sleep;

use crate::api::{header_safe, RETRY_PAUSES, USER_AGENT};
use crate::error::Error;

/// Trailer that carries the failed handler's `errorType`.
const ERROR_TYPE_TRAILER: &str = "Lambda-Runtime-Function-Error-Type";
/// Trailer that carries the failed handler's error JSON, base64-encoded.
const ERROR_BODY_TRAILER: &str = "Lambda-Runtime-Function-Error-Body";
/// The Runtime API's answer to a post is a short JSON status: anything longer is not read.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// The head of a streamed response post to `path` on `authority` (`host:port`).
///
/// `Connection: close`: each streamed response has its own connection (the loop's kept-alive
/// connection belongs to ureq), and the Runtime API closes it after its answer, so no idle
/// socket is left behind.
pub(crate) fn request_head(authority: &str, path: &str, content_type: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\n\
         Host: {authority}\r\n\
         User-Agent: {USER_AGENT}\r\n\
         Content-Type: {content_type}\r\n\
         Lambda-Runtime-Function-Response-Mode: streaming\r\n\
         Transfer-Encoding: chunked\r\n\
         Trailer: {ERROR_TYPE_TRAILER}, {ERROR_BODY_TRAILER}\r\n\
         Connection: close\r\n\
         \r\n"
    )
    .into_bytes()
}

/// The end of a chunked body: the last (empty) chunk, the error trailers when the handler
/// failed, and the empty line.
pub(crate) fn body_end(error: Option<&Error>) -> Vec<u8> {
    let mut end = b"0\r\n".to_vec();
    if let Some(error) = error {
        let error_type = header_safe(error.error_type());
        let error_body = base64(&error.to_json());
        end.extend_from_slice(format!("{ERROR_TYPE_TRAILER}: {error_type}\r\n").as_bytes());
        end.extend_from_slice(format!("{ERROR_BODY_TRAILER}: {error_body}\r\n").as_bytes());
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

/// `Write::write_all_vectored` (not yet stable): every byte of every slice, in order.
fn write_all_vectored(sink: &mut impl Write, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        match sink.write_vectored(slices) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(written) => IoSlice::advance_slices(&mut slices, written),
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Connects to the Runtime API at `authority`, trying again (as the other posts do) only
/// while the connection is refused, when nothing can have been sent.
pub(crate) fn connect(authority: &str) -> io::Result<TcpStream> {
    let mut pauses = RETRY_PAUSES.iter();
    loop {
        match TcpStream::connect(authority) {
            Ok(socket) => {
                // Chunks are whole writes already: Nagle's delay would only hold back the
                // small last one until the previous chunk is acknowledged.
                socket.set_nodelay(true)?;
                return Ok(socket);
            }
            Err(error) if error.kind() == ErrorKind::ConnectionRefused => match pauses.next() {
                Some(pause) => sleep(*pause),
                None => return Err(error),
            },
            Err(error) => return Err(error),
        }
    }
}

/// Reads the Runtime API's answer to a post (status line, headers, a short body) and returns
/// its status code.
pub(crate) fn read_answer(answer: impl Read) -> io::Result<u16> {
    let mut reader = BufReader::new(answer.take(MAX_ANSWER_BYTES));
    let invalid = |what: &str| io::Error::new(ErrorKind::InvalidData, what.to_owned());
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = match line.split(' ').collect::<Vec<_>>()[..] {
        [version, code, ..] if version.starts_with("HTTP/1.") => code.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| invalid("the answer has no HTTP status line"))?;
    let mut content_length = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(invalid("the answer ended inside its headers"));
        }
        let field = line.trim_end_matches(['\r', '\n']);
        if field.is_empty() {
            break;
        }
        if let Some((name, value)) = field.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    // Read the short body too, so that the server sees a clean close.
    io::copy(&mut reader.take(content_length), &mut io::sink())?;
    Ok(status)
}

/// Standard base64 (RFC 4648, with padding), for the error body trailer. Twenty lines here
/// rather than a dependency.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let byte = |i: usize| u32::from(group.get(i).copied().unwrap_or(0));
        let bits = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for sextet in 0..4 {
            if sextet <= group.len() {
                let index = (bits >> (18 - 6 * sextet)) & 63;
                encoded.push(char::from(ALPHABET[index as usize]));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_4648_test_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(base64(&[0xfb, 0xff, 0xbf]), "+/+/");
        assert_eq!(base64(&[0, 0, 0, 0]), "AAAAAA==");
    }

    #[test]
    fn the_head_declares_streaming_chunks_and_the_error_trailers() {
        let head = request_head(
            "127.0.0.1:9001",
            "/2018-06-01/runtime/invocation/abc/response",
            "application/octet-stream",
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
        for broken in [
            &b""[..],
            b"garbage\r\n\r\n",
            b"HTTP/1.1 202 OK\r\nHost: x\r\n",
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
