//! What the loop serves: a [`Handler`], and the adapters that make one out of a typed or a
//! streaming function.
//!
//! | you write | you pass | the answer |
//! |---|---|---|
//! | `fn(&[u8], Context) -> Result<Vec<u8>>` (or a closure) | the function itself | buffered |
//! | `fn(T, Context) -> Result<U>`, `T: Deserialize`, `U: Serialize` | [`json`]`(f)` | buffered |
//! | `fn(&[u8], Context, &mut ResponseStream) -> Result<()>` | [`streaming`]`(f)` | streamed |
//! | `fn(T, Context, &mut ResponseStream) -> Result<()>` | [`streaming_json`]`(f)` | streamed |
//!
//! Each of them serves one invocation at a time (`FnMut`: it may keep state), or, wrapped in
//! [`concurrent`](crate::concurrent), several at once (each slot runs its own clone).

use std::any::type_name;
use std::io::Write;
use std::marker::PhantomData;

use serde_core::de::DeserializeOwned;
use serde_core::Serialize;

use crate::client::{check_buffered_response_size, Client};
use crate::context::{AnswerAddress, Context};
use crate::error::{Error, Result, RuntimeError};
use crate::protocol::error_type;
use crate::stream::ResponseStream;

/// A function the loop can serve: it gets the event and its [`Context`], and answers the way
/// its [`Answer`](Handler::Answer) says: [`Buffered`], by returning the response, or
/// [`Streamed`], by writing it into the [`ResponseStream`] it is given.
///
/// Plain functions and closures `FnMut(&[u8], Context) -> Result<Vec<u8>>` are handlers;
/// [`json`], [`streaming`] and [`streaming_json`] make the others. A closure passed straight
/// to [`run`](crate::run) names its argument types (`|event: &[u8], ctx: Context|`), because
/// `run` also takes those other kinds.
pub trait Handler {
    /// How the handler answers: [`Buffered`] or [`Streamed`].
    type Answer: AnswerKind;

    /// Handles one event. `out` is what the answer kind gives the handler besides the event:
    /// nothing (`()`) for a buffered handler, the `&mut ResponseStream` for a streamed one; it
    /// returns the response, or `()` once it has written it.
    fn call(&mut self, event: &[u8], context: Context, out: Out<'_, Self>)
        -> Result<Returns<Self>>;

    /// Handles one event, given the buffer it was read into, which the handler may take
    /// (leaving it empty) to write its answer into: a handler that is done with the event's
    /// bytes before it answers, as [`json`]'s is, then never holds a large event beside its
    /// answer, nor grows a second buffer for it. The loop calls this one; by default it is
    /// [`call`](Handler::call) on the bytes, and the buffer is left as it was.
    fn call_reusing(
        &mut self,
        buffer: &mut Vec<u8>,
        context: Context,
        out: Out<'_, Self>,
    ) -> Result<Returns<Self>> {
        self.call(buffer, context, out)
    }

    /// Called by the loop once the invocation's answer is sent, before it asks for the next
    /// event: a handler drops here what it kept of the invocation, so that the caller does
    /// not wait while it is freed ([`json`] keeps its reply, which for a `serde_json::Value`
    /// is a tree of allocations freed one by one). By default it does nothing.
    fn answered(&mut self) {}
}

/// What a handler `H` is given besides the event: `()`, or the stream.
pub type Out<'a, H> = <<H as Handler>::Answer as AnswerKind>::Out<'a>;

/// What a handler `H` returns: the response, or `()`.
pub type Returns<H> = <<H as Handler>::Answer as AnswerKind>::Returns;

/// How a [`Handler`] answers: one of [`Buffered`] and [`Streamed`] (there are no others). The
/// loop is the same for both; what differs is what the handler is given and what it returns,
/// and how the answer is sent, which the hidden methods here say for each kind.
pub trait AnswerKind: sealed::Sealed {
    /// What the handler is given besides the event.
    type Out<'a>;
    /// What the handler returns.
    type Returns;
    /// What the loop holds for the answer while the handler runs: nothing, or the stream.
    #[doc(hidden)]
    type Pending;

    /// The answer of `answer_to`, through `client`, before the handler runs.
    #[doc(hidden)]
    fn to_runtime_api(client: &Client, answer_to: &AnswerAddress) -> Self::Pending;

    /// The answer of a local invoke, on stdout.
    #[doc(hidden)]
    fn to_stdout() -> Self::Pending;

    /// What the handler is given, out of what the loop holds.
    #[doc(hidden)]
    fn out(pending: &mut Self::Pending) -> Self::Out<'_>;

    /// Sends the answer to the Runtime API: the response or the error. A buffered response's
    /// memory, once posted, goes to `spare` when that is empty (its handler took the event's
    /// buffer for it), for the next event to be read into.
    #[doc(hidden)]
    fn send(
        pending: Self::Pending,
        outcome: Result<Self::Returns>,
        client: &Client,
        answer_to: &AnswerAddress,
        spare: &mut Vec<u8>,
    ) -> Result<(), RuntimeError>;

    /// Ends a local invoke's answer on stdout; the error is the caller's to print.
    #[doc(hidden)]
    fn finish_local(pending: Self::Pending, outcome: Result<Self::Returns>) -> Result<()>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Buffered {}
    impl Sealed for super::Streamed {}
}

/// A buffered answer: the handler returns the response's bytes, posted in one
/// `/response` post (or its error in one `/error` post).
#[derive(Debug)]
pub enum Buffered {}

impl AnswerKind for Buffered {
    type Out<'a> = ();
    type Returns = Vec<u8>;
    type Pending = ();

    fn to_runtime_api(_: &Client, _: &AnswerAddress) {}

    fn to_stdout() {}

    fn out((): &mut ()) {}

    fn send(
        (): (),
        outcome: Result<Vec<u8>>,
        client: &Client,
        answer_to: &AnswerAddress,
        spare: &mut Vec<u8>,
    ) -> Result<(), RuntimeError> {
        match outcome {
            Ok(response) => {
                let answered = client.respond(answer_to, &response);
                if spare.capacity() == 0 {
                    *spare = response;
                }
                answered
            }
            Err(error) => client.report_error(answer_to, &error),
        }
    }

    fn finish_local((): (), outcome: Result<Vec<u8>>) -> Result<()> {
        let response = outcome?;
        // Lambda's limit applies to a local invoke as to a post: the same error everywhere.
        check_buffered_response_size(response.len())?;
        let mut stdout = std::io::stdout().lock();
        // What `?` would make of the io::Error, without the backtrace machinery `?` links in.
        let written = stdout.write_all(&response).and_then(|()| stdout.flush());
        written.map_err(|error| Error::new(type_name::<std::io::Error>(), error.to_string()))
    }
}

/// A streamed answer: the handler writes the response into a [`ResponseStream`], which
/// sends it while the handler runs.
#[derive(Debug)]
pub enum Streamed {}

impl AnswerKind for Streamed {
    type Out<'a> = &'a mut ResponseStream;
    type Returns = ();
    type Pending = ResponseStream;

    fn to_runtime_api(client: &Client, answer_to: &AnswerAddress) -> ResponseStream {
        ResponseStream::new(client, answer_to)
    }

    fn to_stdout() -> ResponseStream {
        ResponseStream::to_stdout()
    }

    fn out(stream: &mut ResponseStream) -> &mut ResponseStream {
        stream
    }

    fn send(
        stream: ResponseStream,
        outcome: Result<()>,
        _: &Client,
        _: &AnswerAddress,
        _: &mut Vec<u8>,
    ) -> Result<(), RuntimeError> {
        stream.finish(outcome)
    }

    fn finish_local(stream: ResponseStream, outcome: Result<()>) -> Result<()> {
        stream.finish_local(outcome)
    }
}

/// A raw handler: bytes in, bytes out.
impl<F> Handler for F
where
    F: FnMut(&[u8], Context) -> Result<Vec<u8>>,
{
    type Answer = Buffered;

    fn call(&mut self, event: &[u8], context: Context, (): ()) -> Result<Vec<u8>> {
        self(event, context)
    }
}

/// A handler function with the type its adapter reads (the event as `T`, an HTTP response
/// body as `B`), which the function's signature alone leaves open to the trait impls. `Clone`
/// whenever the function is, whatever that type is (a derive would ask `T: Clone`).
pub(crate) struct Typed<F, T> {
    pub(crate) handler: F,
    reads: PhantomData<fn(T)>,
}

impl<F, T> Typed<F, T> {
    pub(crate) fn new(handler: F) -> Typed<F, T> {
        Typed {
            handler,
            reads: PhantomData,
        }
    }
}

impl<F: Clone, T> Clone for Typed<F, T> {
    fn clone(&self) -> Self {
        Typed::new(self.handler.clone())
    }
}

/// A typed JSON handler made by [`json`]. It keeps its last reply until the answer is sent
/// (see [`Handler::answered`]).
pub struct Json<F: Replies<T>, T> {
    typed: Typed<F, T>,
    last_reply: Option<F::Reply>,
}

/// The reply type `U` of a typed handler function `FnMut(T, Context) -> Result<U>`: named so
/// that [`Json`] can hold its last reply. Every such function has it; there is nothing to
/// implement.
pub trait Replies<T> {
    /// What the function returns when it succeeds.
    type Reply;
}

impl<F, T, U> Replies<T> for F
where
    F: FnMut(T, Context) -> Result<U>,
{
    type Reply = U;
}

impl<F: Clone + Replies<T>, T> Clone for Json<F, T> {
    fn clone(&self) -> Self {
        Json {
            typed: self.typed.clone(),
            last_reply: None,
        }
    }
}

/// Turns a typed handler into one the loop serves: the event is parsed as `T`, the reply
/// serialized from `U`.
///
/// ```no_run
/// #[derive(serde::Deserialize)]
/// struct Order { id: u64 }
/// #[derive(serde::Serialize)]
/// struct Receipt { id: u64, accepted: bool }
///
/// lambda_loop::run(lambda_loop::json(|order: Order, _ctx| {
///     Ok(Receipt { id: order.id, accepted: true })
/// }))
/// ```
///
/// An event that is not valid JSON for `T` becomes the invocation's error, with `errorType`
/// `Runtime.UnmarshalError` and serde's explanation in the message; the loop goes on. A reply
/// that cannot be serialized is a `Runtime.MarshalError`. (These are the names AWS's own
/// runtimes use for the same failures.)
pub fn json<T, U, F>(handler: F) -> Json<F, T>
where
    T: DeserializeOwned,
    U: Serialize,
    F: FnMut(T, Context) -> Result<U>,
{
    Json {
        typed: Typed::new(handler),
        last_reply: None,
    }
}

impl<F: Replies<T>, T> Json<F, T> {
    /// Runs the typed handler on raw bytes: for a table of [`named`](crate::named) handlers,
    /// `("order", |event, ctx| lambda_loop::json(order).handle(event, ctx))`.
    pub fn handle<U>(&mut self, event: &[u8], context: Context) -> Result<Vec<u8>>
    where
        T: DeserializeOwned,
        U: Serialize,
        F: FnMut(T, Context) -> Result<U>,
    {
        serialize_reply(&(self.typed.handler)(parse_event(event)?, context)?)
    }
}

impl<F, T, U> Handler for Json<F, T>
where
    T: DeserializeOwned,
    U: Serialize,
    F: FnMut(T, Context) -> Result<U>,
{
    type Answer = Buffered;

    fn call(&mut self, event: &[u8], context: Context, (): ()) -> Result<Vec<u8>> {
        self.handle(event, context)
    }

    /// Parses the event, then serializes the reply into the event's buffer: the parsed value
    /// owns what it needs of the bytes, so an echo of a 5 MiB event holds two copies of it at
    /// its peak (the buffer and the value), not three, and the answer never regrows.
    fn call_reusing(&mut self, buffer: &mut Vec<u8>, context: Context, (): ()) -> Result<Vec<u8>> {
        let event = parse_event(buffer)?;
        let mut answer = std::mem::take(buffer);
        answer.clear();
        let reply = (self.typed.handler)(event, context)?;
        let answer = serialize_reply_into(&reply, answer);
        self.last_reply = Some(reply); // freed once the answer is sent
        answer
    }

    fn answered(&mut self) {
        self.last_reply = None;
    }
}

/// A streaming handler made by [`streaming`].
#[derive(Clone)]
pub struct Streaming<F> {
    handler: F,
}

/// Turns a streaming function into a handler: it gets the event, the context, and a
/// [`ResponseStream`] to write the response into, and the caller has the bytes while it runs.
///
/// ```no_run
/// use std::io::Write;
///
/// lambda_loop::run(lambda_loop::streaming(|event, _ctx, out| {
///     for line in event.split(|&byte| byte == b'\n') {
///         out.write_all(line)?;
///         out.write_all(b"\n")?;
///         out.flush()?; // the caller has this line now
///     }
///     Ok(())
/// }))
/// ```
///
/// Returning `Ok(())` ends the response. An `Err` (or a panic, under either panic strategy)
/// before the first byte is an ordinary `/error` post; after it, the error is sent in the
/// stream's trailers. In a local invoke the stream writes to stdout as it goes.
pub fn streaming<F>(handler: F) -> Streaming<F>
where
    F: FnMut(&[u8], Context, &mut ResponseStream) -> Result<()>,
{
    Streaming { handler }
}

impl<F> Handler for Streaming<F>
where
    F: FnMut(&[u8], Context, &mut ResponseStream) -> Result<()>,
{
    type Answer = Streamed;

    fn call(&mut self, event: &[u8], context: Context, out: &mut ResponseStream) -> Result<()> {
        (self.handler)(event, context, out)
    }
}

/// A streaming handler of typed JSON events, made by [`streaming_json`].
pub struct StreamingJson<F, T>(Typed<F, T>);

impl<F: Clone, T> Clone for StreamingJson<F, T> {
    fn clone(&self) -> Self {
        StreamingJson(self.0.clone())
    }
}

/// [`streaming`] for a typed event: the event is parsed as `T` (or the invocation gets a
/// `Runtime.UnmarshalError`), and the response is written into the stream.
///
/// ```no_run
/// use std::io::Write;
///
/// #[derive(serde::Deserialize)]
/// struct Report { rows: u32 }
///
/// lambda_loop::run(lambda_loop::streaming_json(|report: Report, _ctx, out| {
///     for row in 1..=report.rows {
///         writeln!(out, "row {row}")?;
///     }
///     Ok(())
/// }))
/// ```
pub fn streaming_json<T, F>(handler: F) -> StreamingJson<F, T>
where
    T: DeserializeOwned,
    F: FnMut(T, Context, &mut ResponseStream) -> Result<()>,
{
    StreamingJson(Typed::new(handler))
}

impl<F, T> Handler for StreamingJson<F, T>
where
    T: DeserializeOwned,
    F: FnMut(T, Context, &mut ResponseStream) -> Result<()>,
{
    type Answer = Streamed;

    fn call(&mut self, event: &[u8], context: Context, out: &mut ResponseStream) -> Result<()> {
        (self.0.handler)(parse_event(event)?, context, out)
    }
}

/// The event as `T`, or a `Runtime.UnmarshalError`.
fn parse_event<T: DeserializeOwned>(event: &[u8]) -> Result<T> {
    serde_json::from_slice(event).map_err(|error| {
        Error::new(
            error_type::UNMARSHAL,
            format!(
                "the event is not valid JSON for {}: {error}",
                type_name::<T>()
            ),
        )
    })
}

/// The reply as JSON bytes, or a `Runtime.MarshalError`.
fn serialize_reply<U: Serialize>(reply: &U) -> Result<Vec<u8>> {
    // serde_json::to_vec's first capacity.
    serialize_reply_into(reply, Vec::with_capacity(128))
}

/// [`serialize_reply`], written at the end of `out`.
fn serialize_reply_into<U: Serialize>(reply: &U, out: Vec<u8>) -> Result<Vec<u8>> {
    let mut out = JsonBytes(out);
    serde_json::to_writer(&mut out, reply)
        .map(|()| out.0)
        .map_err(|error| {
            Error::new(
                error_type::MARSHAL,
                format!("the reply could not be serialized as JSON: {error}"),
            )
        })
}

/// Writes up to this many bytes one by one: see [`JsonBytes`].
const SMALL_WRITE_BYTES: usize = 16;

/// A `Vec<u8>` for serde_json to write into, copying its small writes (a quote, a comma, a
/// key, a number) element by element. `Vec`'s own `write_all` calls `memcpy` for them
/// wherever it is not inlined (the size profile), and musl's `memcpy` is `rep movsq` then
/// `movsb`, whose start-up costs more than copying a few bytes: an answer of many small
/// values spent more time in those calls than in serializing.
struct JsonBytes(Vec<u8>);

impl std::io::Write for JsonBytes {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.write_all(bytes).map(|()| bytes.len())
    }

    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.len() <= SMALL_WRITE_BYTES {
            self.0.extend(bytes.iter().copied());
        } else {
            self.0.extend_from_slice(bytes);
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn context() -> Context {
        Context::new("8476a536-e9f4-11e8-9739-2dfe598c3fcd", Arc::default())
    }

    #[test]
    fn a_json_handler_frees_its_reply_once_the_answer_is_sent() {
        struct Reply(Arc<std::sync::atomic::AtomicBool>);
        impl serde::Serialize for Reply {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_u8(7)
            }
        }
        impl Drop for Reply {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let freed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = freed.clone();
        let mut handler = json(move |_: serde_json::Value, _| Ok(Reply(flag.clone())));
        let mut buffer = b"{}".to_vec();
        let answer = handler.call_reusing(&mut buffer, context(), ()).unwrap();
        assert_eq!(answer, b"7");
        assert!(
            !freed.load(std::sync::atomic::Ordering::SeqCst),
            "freed before the answer was sent"
        );
        handler.answered();
        assert!(
            freed.load(std::sync::atomic::Ordering::SeqCst),
            "kept after the answer was sent"
        );
    }

    #[test]
    fn a_json_handler_writes_its_answer_into_the_buffer_of_its_event() {
        let mut echo = json(|event: serde_json::Value, _| Ok(event));
        let event = br#"{"items":[1,true],"pad":"xxxx"}"#;
        let mut buffer = Vec::with_capacity(4096);
        buffer.extend_from_slice(event);
        let memory = buffer.as_ptr();
        let answer = echo.call_reusing(&mut buffer, context(), ()).unwrap();
        assert_eq!(answer, event);
        assert_eq!(answer.as_ptr(), memory, "the answer has memory of its own");
        assert_eq!(buffer.capacity(), 0, "the buffer was not taken");
    }

    #[test]
    fn small_and_large_writes_make_the_same_json_as_serde_json() {
        let long = "\"quoted\", then more than sixteen bytes\n".repeat(3);
        let value = serde_json::json!({"a": [1, -2, 3.5, true, null], "b": "", "c": long});
        let expected = serde_json::to_vec(&value).unwrap();
        assert_eq!(serialize_reply(&value).unwrap(), expected);
        let answer = serialize_reply_into(&value, b"kept ".to_vec()).unwrap();
        assert_eq!(answer, [&b"kept "[..], &expected].concat());
    }

    #[test]
    fn an_event_that_does_not_parse_leaves_its_buffer_to_the_loop() {
        let mut echo = json(|event: u64, _| Ok(event));
        let mut buffer = b"\"not a number\"".to_vec();
        let error = echo.call_reusing(&mut buffer, context(), ()).unwrap_err();
        assert_eq!(error.error_type(), error_type::UNMARSHAL);
        assert_eq!(buffer, b"\"not a number\"");
    }

    #[test]
    fn a_raw_handler_leaves_the_buffer_as_it_was() {
        let mut upper = |event: &[u8], _: Context| Ok(event.to_ascii_uppercase());
        let mut buffer = b"abc".to_vec();
        let answer = upper.call_reusing(&mut buffer, context(), ()).unwrap();
        assert_eq!(
            (answer.as_slice(), buffer.as_slice()),
            (&b"ABC"[..], &b"abc"[..])
        );
    }
}
