//! HTTP/1.1 as the fake Runtime API reads and writes it: one request at a time off a
//! connection, recorded whole (or its start, its length and its digest), and short answers.
//!
//! Standard library only, like the fake itself: build.sh compiles both into its smoke test
//! with `rustc` alone (src/testing/smoke_api.rs).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

/// A request as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET` or `POST`.
    pub method: String,
    /// The request target, e.g. `/2018-06-01/runtime/invocation/next`.
    pub path: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, or its first bytes when the fake keeps only those
    /// ([`FakeApi::keep_body_bytes`](super::fake_api::FakeApi::keep_body_bytes)).
    pub body: Vec<u8>,
    /// Length of the whole body, also when only its start was kept.
    pub body_len: usize,
    /// Trailer fields of a chunked body, names in lower case.
    pub trailers: Vec<(String, String)>,
    /// Sizes of the chunks of a chunked body, in order (empty for Content-Length bodies).
    pub chunk_sizes: Vec<usize>,
    /// Which accepted connection (0, 1, …) the request came on.
    pub connection: usize,
    /// When the last byte of the request was read.
    pub received_at: Instant,
    /// The digest of the whole body when only its start was kept.
    cut_body_digest: Option<u64>,
}

impl Recorded {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        field(&self.headers, name)
    }

    /// The first value of trailer field `name` (any case).
    pub fn trailer(&self, name: &str) -> Option<&str> {
        field(&self.trailers, name)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The [`digest`] of the whole body, also when only its start was kept.
    pub fn body_digest(&self) -> u64 {
        self.cut_body_digest.unwrap_or_else(|| digest(&self.body))
    }

    /// True for posts that answer an invocation (`.../response` or `.../error`).
    pub fn is_answer(&self) -> bool {
        self.method == "POST"
            && self.path.contains("/runtime/invocation/")
            && (self.path.ends_with("/response") || self.path.ends_with("/error"))
    }

    /// For an answer post: the request id it answers and `"response"` or `"error"`.
    pub fn answered(&self) -> Option<(&str, &str)> {
        if !self.is_answer() {
            return None;
        }
        let rest = self.path.split_once("/runtime/invocation/")?.1;
        rest.rsplit_once('/')
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Writes an answer of `status` with a small JSON body: `{"status":"OK"}` for a 2xx, an
/// error document otherwise.
pub fn write_status(writer: &mut TcpStream, status: u16) -> std::io::Result<()> {
    let body = if (200..300).contains(&status) {
        "{\"status\":\"OK\"}".to_owned()
    } else {
        format!("{{\"errorMessage\":\"fake status {status}\",\"errorType\":\"Fake.Status\"}}")
    };
    let answer = format!(
        "HTTP/1.1 {status} Fake\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    writer.write_all(answer.as_bytes())
}

/// Reads one HTTP/1.1 request, keeping at most `keep` bytes of its body; `None` at end of
/// stream or on anything malformed.
pub fn read_request(
    reader: &mut BufReader<TcpStream>,
    connection: usize,
    keep: usize,
) -> Option<Recorded> {
    let line = read_line(reader)?;
    let mut parts = line.split(' ');
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let headers = read_fields(reader)?;
    let mut body = BodySink::new(keep);
    let mut trailers = Vec::new();
    let mut chunk_sizes = Vec::new();
    if field(&headers, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let size_line = read_line(reader)?;
            let size_hex = size_line.split(';').next()?.trim();
            let size = usize::from_str_radix(size_hex, 16).ok()?;
            if size == 0 {
                break;
            }
            body.read(reader, size)?;
            chunk_sizes.push(size);
            if !read_line(reader)?.is_empty() {
                return None; // chunk data must end with CRLF
            }
        }
        trailers = read_fields(reader)?;
    } else if let Some(length) = field(&headers, "content-length") {
        body.read(reader, length.trim().parse().ok()?)?;
    }
    let (body, body_len, cut_body_digest) = body.finish();
    Some(Recorded {
        method,
        path,
        headers,
        body,
        body_len,
        trailers,
        chunk_sizes,
        connection,
        received_at: Instant::now(),
        cut_body_digest,
    })
}

/// A 64-bit FNV-1a over 8-byte words (and the last few bytes one at a time): enough to tell
/// two long bodies apart without keeping them, at memory speed.
#[derive(Clone)]
pub struct Digest {
    state: u64,
    /// Bytes of a word not yet complete.
    pending: [u8; 8],
    pending_len: usize,
}

impl Digest {
    const PRIME: u64 = 0x0100_0000_01b3;

    /// The digest of nothing.
    pub fn new() -> Digest {
        Digest {
            state: 0xcbf2_9ce4_8422_2325,
            pending: [0; 8],
            pending_len: 0,
        }
    }

    /// Adds `bytes`; the result depends only on the bytes, not on how they were split.
    pub fn update(&mut self, mut bytes: &[u8]) {
        if self.pending_len > 0 {
            let take = bytes.len().min(8 - self.pending_len);
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&bytes[..take]);
            self.pending_len += take;
            bytes = &bytes[take..];
            if self.pending_len < 8 {
                return;
            }
            self.word(self.pending);
            self.pending_len = 0;
        }
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.word(word.try_into().expect("8 bytes"));
        }
        let rest = words.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    fn word(&mut self, word: [u8; 8]) {
        self.state = (self.state ^ u64::from_le_bytes(word)).wrapping_mul(Self::PRIME);
    }

    /// The digest of every byte added so far.
    pub fn finish(&self) -> u64 {
        let mut state = self.state;
        for &byte in &self.pending[..self.pending_len] {
            state = (state ^ u64::from(byte)).wrapping_mul(Self::PRIME);
        }
        state
    }
}

impl Default for Digest {
    fn default() -> Digest {
        Digest::new()
    }
}

/// The [`Digest`] of `bytes`.
pub fn digest(bytes: &[u8]) -> u64 {
    let mut digest = Digest::new();
    digest.update(bytes);
    digest.finish()
}

/// A request body as it arrives: its first `keep` bytes, its length, and (once a byte is
/// left out) the digest of all of it.
struct BodySink {
    kept: Vec<u8>,
    keep: usize,
    len: usize,
    digest: Digest,
}

impl BodySink {
    fn new(keep: usize) -> BodySink {
        BodySink {
            kept: Vec::new(),
            keep,
            len: 0,
            digest: Digest::new(),
        }
    }

    /// Reads exactly `size` bytes of body.
    fn read(&mut self, reader: &mut BufReader<TcpStream>, size: usize) -> Option<()> {
        if self.keep == usize::MAX {
            // Everything is kept: read straight into the body, no digest needed.
            let start = self.kept.len();
            self.kept.resize(start + size, 0);
            reader.read_exact(&mut self.kept[start..]).ok()?;
            self.len += size;
            return Some(());
        }
        let mut left = size;
        let mut scratch = vec![0; size.min(64 * 1024)];
        while left > 0 {
            let piece = &mut scratch[..left.min(64 * 1024)];
            reader.read_exact(piece).ok()?;
            self.digest.update(piece);
            let room = self.keep.saturating_sub(self.kept.len());
            self.kept.extend_from_slice(&piece[..piece.len().min(room)]);
            self.len += piece.len();
            left -= piece.len();
        }
        Some(())
    }

    /// The kept bytes, the whole length, and the digest when bytes were left out.
    fn finish(self) -> (Vec<u8>, usize, Option<u64>) {
        let cut = self.kept.len() < self.len;
        (self.kept, self.len, cut.then(|| self.digest.finish()))
    }
}

/// Header (or trailer) fields up to the empty line; names lower-cased.
fn read_fields(reader: &mut BufReader<TcpStream>) -> Option<Vec<(String, String)>> {
    let mut fields = Vec::new();
    loop {
        let line = read_line(reader)?;
        if line.is_empty() {
            return Some(fields);
        }
        let (name, value) = line.split_once(':')?;
        fields.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
}

/// One CRLF-terminated line without its CRLF; `None` at end of stream.
fn read_line(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut line = Vec::new();
    let read = reader.read_until(b'\n', &mut line).ok()?;
    if read == 0 || !line.ends_with(b"\r\n") {
        return None;
    }
    line.truncate(line.len() - 2);
    Some(String::from_utf8_lossy(&line).into_owned())
}
