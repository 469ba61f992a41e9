//! The only glue between `lambda_loop::http` and the runtime: an HTTP handler made into the
//! loop's byte handlers (buffered, and streamed for function URLs). Everything else in this
//! module is pure mapping.

use std::fmt;
use std::io::Write;

use http::{Request, Response};

use super::body::Body;
use super::request::parse;
use super::response::prelude;
use crate::context::Context;
use crate::error::Result;
use crate::handler::{Buffered, Handler, Streamed, Typed};
use crate::stream::ResponseStream;

/// An HTTP handler made into one the loop serves, by [`handler`].
pub struct HttpHandler<F, B>(Typed<F, B>);

impl<F: Clone, B> Clone for HttpHandler<F, B> {
    fn clone(&self) -> Self {
        HttpHandler(self.0.clone())
    }
}

/// Makes an HTTP handler into a runtime handler: the event becomes an
/// [`http::Request<Body>`](super::Request), the handler's response becomes the JSON its
/// source expects.
///
/// ```no_run
/// use lambda_loop::http::{Body, Request, Response};
///
/// lambda_loop::run(lambda_loop::http::handler(|request: Request<Body>, _ctx| {
///     Ok(Response::new(format!("you asked for {}", request.uri().path())))
/// }))
/// ```
///
/// An event of no known HTTP shape is answered with a `Runtime.UnmarshalError` (the source
/// then shows its own 502). A handler's `Err` is the invocation's error, as for any handler:
/// to answer the client with a 4xx or 5xx, return `Ok` with that status. Like every handler, it
/// can be wrapped in [`concurrent`](crate::concurrent) or come out of
/// [`run_init`](crate::run_init).
pub fn handler<F, B>(handler: F) -> HttpHandler<F, B>
where
    F: FnMut(Request<Body>, Context) -> Result<Response<B>>,
    B: Into<Body>,
{
    HttpHandler(Typed::new(handler))
}

impl<F, B> Handler for HttpHandler<F, B>
where
    F: FnMut(Request<Body>, Context) -> Result<Response<B>>,
    B: Into<Body>,
{
    type Answer = Buffered;

    fn call(&mut self, event: &[u8], context: Context, (): ()) -> Result<Vec<u8>> {
        let (request, shape) = parse(event)?;
        shape.encode((self.0.handler)(request, context)?)
    }
}

/// A streaming HTTP handler made into one the loop serves, by [`streaming`].
#[derive(Clone)]
pub struct HttpStreaming<F> {
    handler: F,
}

/// Makes a streaming HTTP handler into a streaming runtime handler, for function URLs whose
/// invoke mode is `RESPONSE_STREAM`: `lambda_loop::run(lambda_loop::http::streaming(handler))`.
///
/// The handler returns the response's head (status, headers, cookies as `Set-Cookie`) with a
/// [`StreamBody`] that writes the body; the runtime sends the head as the stream's HTTP
/// prelude, then runs the body, whose bytes reach the client as they are written (each
/// `flush` sends what was written so far).
///
/// ```no_run
/// use std::io::Write;
/// use lambda_loop::http::{Body, Request, Response, StreamBody};
///
/// lambda_loop::run(lambda_loop::http::streaming(|_request: Request<Body>, _ctx| {
///     let body = StreamBody::new(|out| {
///         for n in 1..=3 {
///             writeln!(out, "tick {n}")?;
///             out.flush()?;
///         }
///         Ok(())
///     });
///     Ok(Response::builder().header("content-type", "text/plain").body(body)?)
/// }))
/// ```
///
/// An error before the head is an ordinary error post; an error from the body, once the head
/// went out, ends the stream with the error in its trailers.
pub fn streaming<F>(handler: F) -> HttpStreaming<F>
where
    F: FnMut(Request<Body>, Context) -> Result<Response<StreamBody>>,
{
    HttpStreaming { handler }
}

impl<F> Handler for HttpStreaming<F>
where
    F: FnMut(Request<Body>, Context) -> Result<Response<StreamBody>>,
{
    type Answer = Streamed;

    fn call(&mut self, event: &[u8], context: Context, out: &mut ResponseStream) -> Result<()> {
        let (request, _shape) = parse(event)?;
        let (parts, body) = (self.handler)(request, context)?.into_parts();
        let (status, headers, cookies) = prelude(&parts);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let cookies: Vec<&str> = cookies.iter().map(String::as_str).collect();
        out.start_http_response(status, &headers, &cookies)?;
        body.write_to(out)
    }
}

/// The body of a streamed response: a closure that writes it, run after the head was sent.
///
/// `StreamBody::from(body)` streams a [`Body`] that is already whole.
pub struct StreamBody(Box<WriteBody>);

/// What a [`StreamBody`] runs.
type WriteBody = dyn FnOnce(&mut dyn Write) -> Result<()>;

impl StreamBody {
    /// A body written by `write`, which gets the stream (an [`std::io::Write`]).
    pub fn new(write: impl FnOnce(&mut dyn Write) -> Result<()> + 'static) -> StreamBody {
        StreamBody(Box::new(write))
    }

    /// Runs the body into `out`.
    pub fn write_to(self, out: &mut dyn Write) -> Result<()> {
        (self.0)(out)
    }
}

impl<B: Into<Body>> From<B> for StreamBody {
    fn from(body: B) -> StreamBody {
        let body = body.into();
        StreamBody::new(move |out| Ok(out.write_all(body.as_bytes())?))
    }
}

impl fmt::Debug for StreamBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamBody")
    }
}
