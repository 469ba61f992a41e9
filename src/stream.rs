//! Response streaming: the handler writes its response into a [`ResponseStream`], an
//! [`std::io::Write`], and the bytes reach the caller while it runs.
//!
//! The loop is the same as the buffered one (`next`, call the handler, answer), except for how
//! the answer goes out: the stream posts `/response` itself, chunk by chunk (see
//! `chunked.rs` for the wire). Nothing is sent until the handler writes its first byte, so a
//! handler that fails before that is answered with an ordinary `/error` post; after it, the
//! error can only travel in the stream's trailers.

use std::cell::RefCell;
use std::convert::Infallible;
use std::fmt;
use std::io::{self, ErrorKind, Write};
use std::net::TcpStream;
use std::process::exit;
use std::rc::{Rc, Weak};

use crate::api::{encode_id, Api, Invocation, RUNTIME_API_VAR};
use crate::chunked::{self, ChunkedWriter};
use crate::context::{Config, Context};
use crate::error::{Error, Result, RuntimeError};
use crate::logger::runtime_line;
use crate::{concurrent, local, panic, runtime};

/// Lambda's limit for a streamed response: 200 MiB (209,715,200 bytes). A [`ResponseStream`]
/// refuses the bytes past it with an `io::Error`, and the invocation then ends with a
/// `Runtime.ResponseTooLarge` error in the trailers, whatever the handler returns: the caller
/// gets the first 200 MiB and learns that the rest is missing.
pub const MAX_STREAM_BYTES: u64 = 200 * 1024 * 1024;

/// Bytes written without a flush are sent in chunks of this size. 64 KiB is one loopback
/// segment, a fraction of a socket's send buffer, and makes the chunk framing (about 8
/// bytes) negligible: a 100 MB response costs 1,600 writes and never more than 64 KiB of
/// memory. Smaller buffers mean more syscalls; larger ones hold bytes back longer from a
/// handler that never flushes.
const BUFFER_BYTES: usize = 64 * 1024;

/// The error every write gets once the stream's connection has failed.
fn broken_stream(detail: &str) -> io::Error {
    io::Error::new(
        ErrorKind::BrokenPipe,
        format!("the response stream is broken: {detail}"),
    )
}

/// Content type of a streamed response, unless it is an HTTP response.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Content type that tells Lambda the stream starts with an HTTP prelude (function URLs).
const HTTP_INTEGRATION_CONTENT_TYPE: &str = "application/vnd.awslambda.http-integration-response";

/// `errorType` when a stream was cut at [`MAX_STREAM_BYTES`].
const TOO_LARGE_ERROR_TYPE: &str = "Runtime.ResponseTooLarge";

/// Serves invocations with a streaming `handler`: it gets the event, the context, and a
/// [`ResponseStream`] to write the response into.
///
/// ```no_run
/// use std::io::Write;
///
/// lambda_loop::run_streaming(|event, _ctx, out| {
///     for line in event.split(|&byte| byte == b'\n') {
///         out.write_all(line)?;
///         out.write_all(b"\n")?;
///         out.flush()?; // the caller has this line now
///     }
///     Ok(())
/// })
/// ```
///
/// Returning `Ok(())` ends the response. An `Err` (or a panic, under either panic strategy)
/// before the first byte is an ordinary `/error` post; after it, the error is sent in the
/// stream's trailers. Without `AWS_LAMBDA_RUNTIME_API` (local invoke) the stream writes to
/// stdout as it goes. Never returns, like [`run`](crate::run).
pub fn run_streaming<F>(mut handler: F) -> !
where
    F: FnMut(&[u8], Context, &mut ResponseStream) -> Result<()>,
{
    let config = runtime::prepare();
    let Some(endpoint) = std::env::var_os(RUNTIME_API_VAR) else {
        local::invoke_once(config, |_config| {
            Ok(move |event: &[u8], context| {
                let mut out = ResponseStream::new(Sink::Stdout);
                let outcome = handler(event, context, &mut out);
                out.finish_local(outcome).map(|()| Vec::new())
            })
        })
    };
    concurrent::note_single_loop();
    let outcome = Api::new(&endpoint.to_string_lossy()).and_then(|api| {
        panic::report_to(&api);
        serve_streaming(&api, config, handler)
    });
    let Err(failure) = outcome;
    runtime_line!(Error, "{failure}; exiting");
    exit(1)
}

/// The life of a streamed invocation, over and over: as `runtime::serve`, but the stream
/// answers.
fn serve_streaming<F>(
    api: &Api,
    config: &'static Config,
    mut handler: F,
) -> Result<Infallible, RuntimeError>
where
    F: FnMut(&[u8], Context, &mut ResponseStream) -> Result<()>,
{
    loop {
        let Invocation { context, event } = api.next(config)?;
        runtime::set_trace_id_env(context.xray_trace_id.as_deref());
        let request_id = context.request_id.clone();
        let mut out = ResponseStream::to_runtime_api(api, &request_id);
        let mut streaming =
            |event: &[u8], context| handler(event, context, &mut out).map(|()| Vec::new());
        let outcome = event.and_then(|event| panic::call_handler(&mut streaming, &event, context));
        out.finish(api, &request_id, outcome.map(drop))?;
    }
}

/// The response of a streaming handler, written as it is produced: implements
/// [`std::io::Write`].
///
/// - Bytes are sent in chunks: everything written so far goes out on [`flush`](Write::flush),
///   and otherwise whenever 64 KiB have gathered (a single write of 64 KiB or more is sent
///   as it is). Memory stays flat whatever the size of the response.
/// - Nothing is sent before the first byte: a handler that fails before writing anything
///   gets an ordinary error post, exactly as a buffered handler would.
/// - At most [`MAX_STREAM_BYTES`] can be written; past it, `write` fails.
/// - If the Runtime API connection breaks, `write` and `flush` fail from then on; returning
///   the error with `?` is right (the runtime has already logged the broken stream).
///
/// A stream belongs to the thread of its invocation (it is not `Send`).
pub struct ResponseStream {
    // Shared with a thread-local weak reference, so that the panic hook can end the stream
    // with error trailers when a panic is about to abort the process.
    state: Rc<RefCell<State>>,
}

thread_local! {
    /// The stream of the invocation this thread is running, for the panic hook.
    static IN_FLIGHT_STREAM: RefCell<Weak<RefCell<State>>> = const { RefCell::new(Weak::new()) };
}

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
    /// The Runtime API: the response post, connected on the first chunk.
    RuntimeApi {
        authority: String,
        path: String,
        connection: Connection,
    },
    /// Local invoke: straight to stdout.
    Stdout,
}

enum Connection {
    /// Nothing sent yet.
    NotOpened,
    Open(ChunkedWriter<TcpStream>),
    /// The Runtime API could not be reached: nothing of the response was sent.
    Unreachable(String),
    /// A write failed after the head went out: the rest of the response is lost.
    Broken(String),
}

/// How the end of a stream went.
enum Ended {
    /// The Runtime API answered the whole post with this status.
    Answered(u16),
    /// Nothing was sent: the invocation can still be answered with an error post.
    NothingSent(String),
    /// The post broke part way: the invocation cannot be answered again.
    Lost(String),
}

impl ResponseStream {
    fn new(sink: Sink) -> ResponseStream {
        let state = Rc::new(RefCell::new(State {
            sink,
            buffer: Vec::new(),
            written: 0,
            cut: false,
            content_type: DEFAULT_CONTENT_TYPE,
        }));
        IN_FLIGHT_STREAM.with(|in_flight| *in_flight.borrow_mut() = Rc::downgrade(&state));
        ResponseStream { state }
    }

    fn to_runtime_api(api: &Api, request_id: &str) -> ResponseStream {
        let (authority, base_path) = api.authority_and_base_path();
        ResponseStream::new(Sink::RuntimeApi {
            authority: authority.to_owned(),
            path: format!(
                "{base_path}/runtime/invocation/{}/response",
                encode_id(request_id)
            ),
            connection: Connection::NotOpened,
        })
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
    /// lambda_loop::run_streaming(|_event, _ctx, out| {
    ///     out.start_http_response(200, &[("content-type", "text/html")], &["visited=1"])?;
    ///     out.write_all(b"<h1>Hello</h1>")?;
    ///     Ok(())
    /// })
    /// ```
    pub fn start_http_response(
        &mut self,
        status_code: u16,
        headers: &[(&str, &str)],
        cookies: &[&str],
    ) -> io::Result<()> {
        let mut state = self.state.borrow_mut();
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
        state.content_type = HTTP_INTEGRATION_CONTENT_TYPE;
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
    fn finish(self, api: &Api, request_id: &str, outcome: Result<()>) -> Result<(), RuntimeError> {
        IN_FLIGHT_STREAM.with(|in_flight| *in_flight.borrow_mut() = Weak::new());
        let mut state = self.state.borrow_mut();
        let error = state.cut_error().or(outcome.err());
        if let Some(error) = &error {
            if state.written == 0 {
                return api.fail(request_id, error);
            }
        }
        let call = state.call();
        match state.end(error.as_ref()) {
            Ended::Answered(status) => judge_answer(call, status),
            Ended::NothingSent(detail) => {
                runtime_line!(
                    Error,
                    "{call} could not be sent ({detail}); reporting an error instead"
                );
                let error = error.unwrap_or_else(|| {
                    Error::new(
                        "Runtime.StreamError",
                        format!("the response stream could not be opened: {detail}"),
                    )
                });
                api.fail(request_id, &error)
            }
            Ended::Lost(detail) => {
                runtime_line!(
                    Error,
                    "{call} failed part way ({detail}); going on to the next event"
                );
                Ok(())
            }
        }
    }

    /// Ends a local invoke's response: the outcome, or the limit's error.
    fn finish_local(self, outcome: Result<()>) -> Result<()> {
        IN_FLIGHT_STREAM.with(|in_flight| *in_flight.borrow_mut() = Weak::new());
        let state = self.state.borrow();
        match state.cut_error() {
            Some(error) => Err(error),
            None => outcome,
        }
    }
}

impl Write for ResponseStream {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.state.borrow_mut().write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.state.borrow_mut().flush()
    }
}

impl fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("ResponseStream")
            .field("written", &state.written)
            .field("buffered", &state.buffer.len())
            .field("content_type", &state.content_type)
            .finish()
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
        let content_type = self.content_type;
        let Sink::RuntimeApi {
            authority,
            path,
            connection,
        } = &mut self.sink
        else {
            return Ok(()); // stdout is written directly
        };
        if data.is_empty() {
            return Ok(());
        }
        if let Connection::NotOpened = connection {
            *connection = open(authority, path, content_type);
        }
        let failure = match connection {
            Connection::Open(body) => match body.chunk(data) {
                Ok(()) => return Ok(()),
                Err(error) => error.to_string(),
            },
            Connection::Unreachable(detail) | Connection::Broken(detail) => {
                return Err(broken_stream(detail))
            }
            Connection::NotOpened => unreachable!("opened above"),
        };
        // Logged once, when the invocation ends.
        let error = broken_stream(&failure);
        *connection = Connection::Broken(failure);
        Err(error)
    }

    /// Sends the rest of the response, the end of the body (with trailers for `error`), and
    /// reads the Runtime API's answer.
    fn end(&mut self, error: Option<&Error>) -> Ended {
        let content_type = self.content_type;
        let Sink::RuntimeApi {
            authority,
            path,
            connection,
        } = &mut self.sink
        else {
            return Ended::Answered(200); // stdout has everything already
        };
        if let Connection::NotOpened = connection {
            *connection = open(authority, path, content_type);
        }
        let ended = match connection {
            Connection::Open(body) => match body.end(&self.buffer, error) {
                Ok(()) => match chunked::read_answer(body.sink()) {
                    Ok(status) => Ended::Answered(status),
                    Err(error) => Ended::Lost(format!("no answer: {error}")),
                },
                Err(error) => Ended::Lost(error.to_string()),
            },
            Connection::Unreachable(detail) => Ended::NothingSent(detail.clone()),
            Connection::Broken(detail) => Ended::Lost(detail.clone()),
            Connection::NotOpened => unreachable!("opened above"),
        };
        self.buffer.clear();
        // The connection is done either way: drop the socket now.
        *connection = Connection::Broken("the response has ended".into());
        ended
    }

    /// `Runtime.ResponseTooLarge` if bytes past the limit were refused.
    fn cut_error(&self) -> Option<Error> {
        self.cut.then(|| {
            Error::new(
                TOO_LARGE_ERROR_TYPE,
                format!("the streamed response reached Lambda's limit of {MAX_STREAM_BYTES} bytes; the bytes past it were not sent"),
            )
        })
    }

    /// `POST <path>`, for messages.
    fn call(&self) -> String {
        match &self.sink {
            Sink::RuntimeApi { path, .. } => format!("POST {path}"),
            Sink::Stdout => "stdout".into(),
        }
    }
}

fn open(authority: &str, path: &str, content_type: &str) -> Connection {
    match chunked::connect(authority) {
        Ok(socket) => Connection::Open(ChunkedWriter::new(
            socket,
            chunked::request_head(authority, path, content_type),
        )),
        Err(error) => Connection::Unreachable(error.to_string()),
    }
}

/// What the answer to a streamed post means for the loop: the same rules as for every other
/// post (`api.rs`): 2xx is done, 5xx ends the runtime, any other status costs one line.
fn judge_answer(call: String, status: u16) -> Result<(), RuntimeError> {
    match status {
        200..=299 => Ok(()),
        500.. => Err(RuntimeError::Status { call, status }),
        410 => {
            runtime_line!(
                Warn,
                "{call} answered 410: the invocation had already timed out; going on"
            );
            Ok(())
        }
        _ => {
            runtime_line!(
                Error,
                "{call} answered {status}; the answer was not accepted; going on"
            );
            Ok(())
        }
    }
}

/// Called by the panic hook under `panic = "abort"`, before the process ends: if this
/// thread's invocation has begun streaming, ends the stream with the panic in its trailers
/// and returns true. Returns false when the panic is still to be reported the usual way.
pub(crate) fn end_in_flight_after_panic(error: &Error) -> bool {
    let Some(state) = IN_FLIGHT_STREAM.with(|in_flight| in_flight.borrow().upgrade()) else {
        return false;
    };
    // Borrowed means the panic came from inside a write: the stream is in an unknown state,
    // and an error post is the best that can still be done.
    let Ok(mut state) = state.try_borrow_mut() else {
        return false;
    };
    if state.written == 0 {
        return false;
    }
    if let Sink::Stdout = state.sink {
        let _ = io::stdout().lock().flush(); // then the error JSON goes to stderr as usual
        return false;
    }
    let call = state.call();
    let outcome = match state.end(Some(error)) {
        Ended::Answered(status) => judge_answer(call.clone(), status).map_err(|e| e.to_string()),
        Ended::NothingSent(detail) | Ended::Lost(detail) => Err(detail),
    };
    if let Err(detail) = outcome {
        runtime_line!(
            Error,
            "the panic could not be reported in the trailers of {call}: {detail}"
        );
    }
    true
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
    let text = |text: &str| serde_json::Value::from(text).to_string();
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
