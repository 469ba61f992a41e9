//! Response streaming: the handler writes its response into a [`ResponseStream`], an
//! [`std::io::Write`], and the bytes reach the caller while it runs.
//!
//! The loop is the same as for a buffered handler (`next`, call the handler, answer); only the
//! answer differs: the stream posts `/response` itself, chunk by chunk, through
//! [`Client::open_stream`] (see `chunked.rs` for the wire). Nothing is sent until the handler
//! writes its first byte, so a handler that fails before that is answered with an ordinary
//! `/error` post; after it, the error can only travel in the stream's trailers.

use std::fmt;
use std::io::{self, ErrorKind, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::api::{Client, StreamPost};
use crate::context::Invocation;
use crate::error::{Error, Result, RuntimeError};
use crate::inflight::{self, Abandon};
use crate::protocol::{content_type, error_type, MAX_STREAM_BYTES};
use crate::runtime_line::runtime_line;

/// Bytes written without a flush are sent in chunks of this size. 64 KiB is one loopback
/// segment, a fraction of a socket's send buffer, and makes the chunk framing (about 8
/// bytes) negligible: a 100 MB response costs 1,600 writes and never more than 64 KiB of
/// memory. Smaller buffers mean more syscalls; larger ones hold bytes back longer from a
/// handler that never flushes.
const BUFFER_BYTES: usize = 64 * 1024;

/// The response of a streaming handler, written as it is produced: implements
/// [`std::io::Write`].
///
/// - Bytes are sent in chunks: everything written so far goes out on [`flush`](Write::flush),
///   and otherwise whenever 64 KiB have gathered (a single write of 64 KiB or more is sent
///   as it is). Memory stays flat whatever the size of the response.
/// - Nothing is sent before the first byte: a handler that fails before writing anything
///   gets an ordinary error post, exactly as a buffered handler would.
/// - At most [`MAX_STREAM_BYTES`](crate::runtime::protocol::MAX_STREAM_BYTES) can be written;
///   past it, `write` fails.
/// - If the Runtime API connection breaks, `write` and `flush` fail from then on; returning
///   the error with `?` is right (the runtime has already logged the broken stream).
///
/// Handlers get one from [`streaming`](crate::streaming); a buffered handler's stream is
/// unused, and writing to it fails.
pub struct ResponseStream {
    /// Shared with the in-flight registry, so that the panic hook can end the stream with error
    /// trailers when a panic is about to abort the process. `None`: a buffered handler's.
    shared: Option<Arc<Shared>>,
}

struct Shared(Mutex<State>);

struct State {
    sink: Sink,
    /// Bytes written but not yet sent (the Runtime API sink only).
    buffer: Vec<u8>,
    /// Bytes the handler has written so far (sent or buffered).
    written: u64,
    /// True once bytes past [`MAX_STREAM_BYTES`] were refused.
    cut: bool,
    content_type: &'static str,
}

enum Sink {
    /// The Runtime API: the response post, opened on the first chunk.
    RuntimeApi {
        client: Client,
        invocation: Invocation,
        post: Post,
    },
    /// Local invoke: straight to stdout.
    Stdout,
}

enum Post {
    /// Nothing sent yet.
    NotOpened,
    Open(StreamPost),
    /// The Runtime API could not be reached: nothing of the response was sent.
    Unreachable(String),
    /// A write failed after the head went out, or the post has ended.
    Broken(String),
}

/// How the end of a stream went.
enum Ended {
    /// The Runtime API answered the whole post; its answer judged.
    Answered(Result<(), RuntimeError>),
    /// Nothing was sent: the invocation can still be answered with an error post.
    NothingSent(String),
    /// The post broke part way: the invocation cannot be answered again.
    Lost(String),
}

/// The error every write gets once the stream's connection has failed.
fn broken_stream(detail: &str) -> io::Error {
    io::Error::new(
        ErrorKind::BrokenPipe,
        format!("the response stream is broken: {detail}"),
    )
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.0.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ResponseStream {
    fn new(sink: Sink) -> ResponseStream {
        let shared = Arc::new(Shared(Mutex::new(State {
            sink,
            buffer: Vec::new(),
            written: 0,
            cut: false,
            content_type: content_type::STREAM,
        })));
        let weak = Arc::downgrade(&shared);
        inflight::stream_attached(weak);
        ResponseStream {
            shared: Some(shared),
        }
    }

    /// The stream a buffered handler is given: it is never used.
    pub(crate) fn unused() -> ResponseStream {
        ResponseStream { shared: None }
    }

    /// A stream that answers `invocation` through `client`.
    pub(crate) fn to_runtime_api(client: &Client, invocation: &Invocation) -> ResponseStream {
        ResponseStream::new(Sink::RuntimeApi {
            client: client.clone(),
            invocation: invocation.clone(),
            post: Post::NotOpened,
        })
    }

    /// A stream to stdout, for local invoke.
    pub(crate) fn to_stdout() -> ResponseStream {
        ResponseStream::new(Sink::Stdout)
    }

    fn state(&self) -> io::Result<MutexGuard<'_, State>> {
        match &self.shared {
            Some(shared) => Ok(lock(shared)),
            None => Err(io::Error::new(
                ErrorKind::Unsupported,
                "this handler's answer is buffered: wrap it in lambda_loop::streaming to stream",
            )),
        }
    }

    /// Starts an HTTP response for a Lambda function URL (or another HTTP integration):
    /// writes the prelude `{"statusCode":…,"headers":{…},"cookies":[…]}` and the 8 NUL bytes
    /// that end it, and sends the stream as
    /// `application/vnd.awslambda.http-integration-response`. What is written next is the
    /// HTTP body.
    ///
    /// A header name given more than once (in any case) gets its values joined with `, `;
    /// cookies go in `cookies`, one `Set-Cookie` value each. Fails if anything was written
    /// before, or if `status_code` is not from 100 to 599.
    ///
    /// ```no_run
    /// use std::io::Write;
    ///
    /// lambda_loop::run(lambda_loop::streaming(|_event, _ctx, out| {
    ///     out.start_http_response(200, &[("content-type", "text/html")], &["visited=1"])?;
    ///     out.write_all(b"<h1>Hello</h1>")?;
    ///     Ok(())
    /// }))
    /// ```
    pub fn start_http_response(
        &mut self,
        status_code: u16,
        headers: &[(&str, &str)],
        cookies: &[&str],
    ) -> io::Result<()> {
        let mut state = self.state()?;
        if state.written > 0 {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                "the HTTP prelude must come before any other byte of the response",
            ));
        }
        if !(100..=599).contains(&status_code) {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!("{status_code} is not an HTTP status code (100 to 599)"),
            ));
        }
        state.content_type = content_type::HTTP_INTEGRATION;
        let prelude = http_prelude(status_code, headers, cookies);
        let mut rest = &prelude[..];
        while !rest.is_empty() {
            let accepted = state.write(rest)?;
            rest = &rest[accepted..];
        }
        Ok(())
    }

    /// Ends the response of an invocation on the Runtime API: the last chunk and, for a
    /// failure, the error trailers; or an error post if nothing was sent.
    pub(crate) fn finish(self, outcome: Result<()>) -> Result<(), RuntimeError> {
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        let mut state = lock(shared);
        let error = state.cut_error().or(outcome.err());
        let (client, invocation) = match &state.sink {
            Sink::RuntimeApi {
                client, invocation, ..
            } => (client.clone(), invocation.clone()),
            Sink::Stdout => return Ok(()),
        };
        if let Some(error) = &error {
            if state.written == 0 {
                return client.fail(&invocation, error);
            }
        }
        match state.end(error.as_ref()) {
            Ended::Answered(judged) => judged,
            Ended::NothingSent(detail) => {
                runtime_line!(
                    Error,
                    "the response stream could not be sent ({detail}); reporting an error instead"
                );
                let error = error.unwrap_or_else(|| {
                    Error::new(
                        error_type::STREAM,
                        format!("the response stream could not be opened: {detail}"),
                    )
                });
                client.fail(&invocation, &error)
            }
            Ended::Lost(detail) => {
                runtime_line!(Error, "{detail}; going on to the next event");
                Ok(())
            }
        }
    }

    /// Ends a local invoke's response: the outcome, or the limit's error.
    pub(crate) fn finish_local(self, outcome: Result<()>) -> Result<()> {
        let cut = self
            .shared
            .as_deref()
            .and_then(|shared| lock(shared).cut_error());
        match cut {
            Some(error) => Err(error),
            None => outcome,
        }
    }
}

impl Write for ResponseStream {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.state()?.write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.state()?.flush()
    }
}

impl fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("ResponseStream");
        if let Some(shared) = &self.shared {
            let state = lock(shared);
            debug
                .field("written", &state.written)
                .field("buffered", &state.buffer.len())
                .field("content_type", &state.content_type);
        }
        debug.finish()
    }
}

/// The panic hook ends a begun stream with the panic in its trailers.
impl Abandon for Shared {
    fn abandon(&self, _invocation: &Invocation, error: &Error) -> bool {
        // Held means a write is in progress: on another slot's thread it ends in a moment; on
        // this thread (a panic from inside a write) it never will, and an error post is the
        // best that can still be done.
        let deadline = Instant::now() + Duration::from_millis(200);
        let mut state = loop {
            match self.0.try_lock() {
                Ok(state) => break state,
                Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(1)),
                Err(_) => return false,
            }
        };
        if state.written == 0 {
            return false;
        }
        if let Sink::Stdout = state.sink {
            let _ = io::stdout().lock().flush(); // then the error JSON goes to stderr as usual
            return false;
        }
        let failure = match state.end(Some(error)) {
            Ended::Answered(Ok(())) => return true,
            Ended::Answered(Err(judged)) => judged.to_string(),
            Ended::NothingSent(detail) | Ended::Lost(detail) => detail,
        };
        runtime_line!(
            Error,
            "the panic could not be reported in the stream's trailers: {failure}"
        );
        true
    }
}

impl State {
    /// Takes as much of `data` as the limit allows, sending a chunk whenever the buffer fills.
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let room = MAX_STREAM_BYTES - self.written;
        if room == 0 {
            self.cut = true;
            return Err(io::Error::new(
                ErrorKind::FileTooLarge,
                format!("a streamed response is limited to {MAX_STREAM_BYTES} bytes; the rest was refused"),
            ));
        }
        let data = &data[..data.len().min(usize::try_from(room).unwrap_or(usize::MAX))];
        if matches!(self.sink, Sink::Stdout) {
            let mut stdout = io::stdout().lock();
            stdout.write_all(data)?;
            self.written += data.len() as u64;
            return Ok(data.len());
        }
        if self.buffer.is_empty() && data.len() >= BUFFER_BYTES {
            self.send(data)?; // a large write goes out as it is, without a copy
            self.written += data.len() as u64;
            return Ok(data.len());
        }
        if self.buffer.capacity() == 0 {
            self.buffer.reserve_exact(BUFFER_BYTES);
        }
        let taken = data.len().min(BUFFER_BYTES - self.buffer.len());
        self.buffer.extend_from_slice(&data[..taken]);
        self.written += taken as u64;
        if self.buffer.len() == BUFFER_BYTES {
            self.send_buffer()?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.sink {
            Sink::Stdout => io::stdout().lock().flush(),
            Sink::RuntimeApi { .. } => self.send_buffer(),
        }
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        let buffer = std::mem::take(&mut self.buffer);
        let sent = self.send(&buffer);
        self.buffer = buffer;
        self.buffer.clear();
        sent
    }

    /// Sends `data` as one chunk, opening the post first if this is the first one.
    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let content_type = self.content_type;
        let Sink::RuntimeApi {
            client,
            invocation,
            post,
        } = &mut self.sink
        else {
            return Ok(()); // stdout is written directly
        };
        open_if_needed(post, client, invocation, content_type);
        let failure = match post {
            Post::Open(body) => match body.chunk(data) {
                Ok(()) => return Ok(()),
                Err(error) => format!("{} failed part way ({error})", body.call()),
            },
            Post::Unreachable(detail) | Post::Broken(detail) => return Err(broken_stream(detail)),
            Post::NotOpened => unreachable!("opened above"),
        };
        // Logged once, when the invocation ends.
        let error = broken_stream(&failure);
        *post = Post::Broken(failure);
        Err(error)
    }

    /// Sends the rest of the response and the end of the body (with trailers for `error`),
    /// and judges the Runtime API's answer.
    fn end(&mut self, error: Option<&Error>) -> Ended {
        let content_type = self.content_type;
        let Sink::RuntimeApi {
            client,
            invocation,
            post,
        } = &mut self.sink
        else {
            return Ended::Answered(Ok(())); // stdout has everything already
        };
        open_if_needed(post, client, invocation, content_type);
        // The post is done either way: its socket is dropped here.
        let ended = match std::mem::replace(post, Post::Broken("the response has ended".into())) {
            Post::Open(body) => match body.end(&self.buffer, error) {
                Ok(judged) => Ended::Answered(judged),
                Err(detail) => Ended::Lost(detail),
            },
            Post::Unreachable(detail) => Ended::NothingSent(detail),
            Post::Broken(detail) => Ended::Lost(detail),
            Post::NotOpened => unreachable!("opened above"),
        };
        self.buffer.clear();
        ended
    }

    /// `Runtime.ResponseTooLarge` if bytes past the limit were refused.
    fn cut_error(&self) -> Option<Error> {
        self.cut.then(|| {
            Error::new(
                error_type::RESPONSE_TOO_LARGE,
                format!("the streamed response reached Lambda's limit of {MAX_STREAM_BYTES} bytes; the bytes past it were not sent"),
            )
        })
    }
}

fn open_if_needed(post: &mut Post, client: &Client, invocation: &Invocation, body_type: &str) {
    if let Post::NotOpened = post {
        *post = match client.open_stream(invocation, body_type) {
            Ok(opened) => Post::Open(opened),
            Err(detail) => Post::Unreachable(detail),
        };
    }
}

/// The prelude of an HTTP integration response: `{"statusCode":…,"headers":{…},"cookies":[…]}`
/// and 8 NUL bytes. Headers keep their order; repeated names are joined.
fn http_prelude(status_code: u16, headers: &[(&str, &str)], cookies: &[&str]) -> Vec<u8> {
    let mut merged: Vec<(&str, String)> = Vec::new();
    for &(name, value) in headers {
        match merged
            .iter_mut()
            .find(|(seen, _)| seen.eq_ignore_ascii_case(name))
        {
            Some((_, joined)) => {
                joined.push_str(", ");
                joined.push_str(value);
            }
            None => merged.push((name, value.to_owned())),
        }
    }
    // A string to JSON cannot fail.
    let text = |text: &str| serde_json::to_string(text).unwrap_or_default();
    let headers: Vec<String> = merged
        .iter()
        .map(|(name, value)| format!("{}:{}", text(name), text(value)))
        .collect();
    let cookies: Vec<String> = cookies.iter().map(|cookie| text(cookie)).collect();
    let mut prelude = format!(
        "{{\"statusCode\":{status_code},\"headers\":{{{}}},\"cookies\":[{}]}}",
        headers.join(","),
        cookies.join(",")
    )
    .into_bytes();
    prelude.extend_from_slice(&[0; 8]);
    prelude
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http_prelude_is_json_then_eight_nul_bytes() {
        let prelude = http_prelude(
            201,
            &[
                ("Content-Type", "text/plain"),
                ("x-a", "1"),
                ("X-A", "2"),
                ("x-quote", "say \"hi\""),
            ],
            &["a=b; Secure", "c=d"],
        );
        let expected = concat!(
            r#"{"statusCode":201,"headers":{"Content-Type":"text/plain","x-a":"1, 2","x-quote":"say \"hi\""},"#,
            r#""cookies":["a=b; Secure","c=d"]}"#,
            "\0\0\0\0\0\0\0\0"
        );
        assert_eq!(String::from_utf8(prelude).unwrap(), expected);
        assert_eq!(
            http_prelude(204, &[], &[]),
            b"{\"statusCode\":204,\"headers\":{},\"cookies\":[]}\0\0\0\0\0\0\0\0"
        );
    }
}
