//! The streamed `POST /runtime/invocation/{id}/response`: a socket of its own, the head, the
//! chunks, the end (with error trailers after a failure), and its answer, judged as every
//! post's answer is. `chunked.rs` writes the wire format.

use std::io;
use std::net::TcpStream;

use crate::answer::judge_post;
use crate::chunked::{self, ChunkedWriter};
use crate::context::AnswerAddress;
use crate::endpoint::Endpoint;
use crate::error::{Error, RuntimeError};
use crate::invocation_path;
use crate::protocol::{header, path, STREAMING};
use crate::retry::{refused_io, retry};

/// A streamed response post in progress: chunks, then the end (with trailers on failure).
/// Made by [`Client::open_stream`](crate::runtime::Client::open_stream); a
/// [`ResponseStream`](crate::ResponseStream) drives one for you.
pub struct StreamPost {
    call: String,
    body: ChunkedWriter<TcpStream>,
}

impl StreamPost {
    /// Opens the post on a connection of its own; the head goes out with the first chunk.
    /// Fails only when the Runtime API cannot be reached, so nothing was sent and the
    /// invocation can still get an error post.
    pub(crate) fn open(
        endpoint: &Endpoint,
        address: &AnswerAddress,
        content_type: &str,
    ) -> Result<StreamPost, RuntimeError> {
        let authority = endpoint.authority();
        let base_path = endpoint.base.path();
        let mut path_text =
            String::with_capacity(base_path.len() + invocation_path::len(address, path::RESPONSE));
        path_text.push_str(base_path);
        invocation_path::push(&mut path_text, address, path::RESPONSE);
        let call = format!("POST {path_text}");
        let socket = retry(|| TcpStream::connect(authority), refused_io)
            .and_then(|socket| {
                // Chunks are whole writes already: Nagle's delay would only hold back the
                // small last one until the previous chunk is acknowledged.
                socket.set_nodelay(true)?;
                Ok(socket)
            })
            .map_err(|error| RuntimeError::Unreachable {
                call: call.clone(),
                detail: error.to_string(),
            })?;
        let mut headers = vec![
            (header::CONTENT_TYPE, content_type),
            (header::RESPONSE_MODE, STREAMING),
        ];
        if let Some(id) = address.invocation_id() {
            headers.push((header::INVOCATION_ID, id));
        }
        let head = chunked::request_head(authority, &path_text, &headers);
        Ok(StreamPost {
            call,
            body: ChunkedWriter::new(socket, head),
        })
    }

    /// `POST <path>`, for messages.
    pub fn call(&self) -> &str {
        &self.call
    }

    /// Sends `data` as one chunk (nothing for empty `data`).
    pub fn chunk(&mut self, data: &[u8]) -> io::Result<()> {
        self.body.chunk(data)
    }

    /// Sends `last` and the end of the body (trailers for `error`), reads the answer, and
    /// judges it as every post's answer is judged: `Err` only when the environment is broken
    /// (a 5xx); a post that broke part way costs one stderr line (the invocation cannot be
    /// answered again).
    pub fn end(mut self, last: &[u8], error: Option<&Error>) -> Result<(), RuntimeError> {
        let answer = self
            .body
            .end(last, error)
            .and_then(|()| chunked::read_answer(self.body.sink()));
        judge_post(&self.call, answer)
    }
}
