//! # lambda-loop: a minimal, synchronous AWS Lambda runtime
//!
//! A custom Lambda runtime is a program named `bootstrap` that asks the Runtime API for the
//! next event, runs a handler on it, and posts the result back, forever. lambda-loop does
//! exactly that with one blocking loop and a small blocking HTTP client: no async executor,
//! no extra threads (unless [`concurrent`] is asked for them), a small static binary, and
//! very little work between `exec` and the first request for an event.
//!
//! ## A handler
//!
//! ```no_run
//! fn handler(event: &[u8], ctx: lambda_loop::Context) -> lambda_loop::Result<Vec<u8>> {
//!     let _ = ctx.remaining_time(); // the deadline, request id, ARN, trace id, config…
//!     Ok(event.to_vec())
//! }
//! fn main() {
//!     lambda_loop::run(handler)
//! }
//! ```
//!
//! Closures work too, and may own state that is built once, before the first event (a
//! closure passed straight to `run` names its argument types):
//!
//! ```no_run
//! use std::collections::HashMap;
//! use lambda_loop::Context;
//!
//! let mut cache: HashMap<Vec<u8>, usize> = HashMap::new(); // lives as long as the process
//! lambda_loop::run(move |event: &[u8], _ctx: Context| {
//!     let seen = cache.entry(event.to_vec()).or_insert(0);
//!     *seen += 1;
//!     Ok(seen.to_string().into_bytes())
//! })
//! ```
//!
//! Typed JSON handlers go through serde:
//!
//! ```no_run
//! #[derive(serde::Deserialize)]
//! struct Order { id: u64 }
//! #[derive(serde::Serialize)]
//! struct Receipt { id: u64, accepted: bool }
//!
//! lambda_loop::run(lambda_loop::json(|order: Order, _ctx| {
//!     Ok(Receipt { id: order.id, accepted: true })
//! }))
//! ```
//!
//! Initialisation that can fail goes in [`run_init`]; its error is reported to Lambda before
//! any event arrives:
//!
//! ```no_run
//! lambda_loop::run_init(|config| {
//!     let table = std::env::var("TABLE")
//!         .map_err(|_| lambda_loop::Error::new("ConfigError", "TABLE is not set"))?;
//!     let name = config.function_name.clone();
//!     Ok(lambda_loop::json(move |key: String, _ctx| Ok(format!("{name}: {table}/{key}"))))
//! })
//! ```
//!
//! ## Every kind of function, from a few pieces
//!
//! Two entry points, [`run`] and [`run_init`] (the same with a fallible initialisation), serve
//! any [`Handler`](runtime::Handler); four adapters make one of every kind:
//!
//! | the function | buffered answer | streamed answer |
//! |---|---|---|
//! | bytes in | `f` itself: `fn(&[u8], Context) -> Result<Vec<u8>>` | [`streaming`]`(f)`: `fn(&[u8], Context, &mut ResponseStream) -> Result<()>` |
//! | typed JSON in | [`json`]`(f)`: `fn(T, Context) -> Result<U>` | [`streaming_json`]`(f)`: `fn(T, Context, &mut ResponseStream) -> Result<()>` |
//!
//! Any of the four, wrapped in [`concurrent`], serves several invocations at once (Lambda
//! Managed Instances), and any of them can come out of [`run_init`]'s initialisation:
//! `run_init(|config| Ok(concurrent(streaming_json(f))))` is a streamed, typed, concurrent
//! function with a fallible init. [`named`] is an initialisation that picks one of several
//! handlers by the function's Handler setting.
//!
//! Below the entry points, [`runtime`] has the building blocks for a loop of your own: a
//! [`Client`](runtime::Client) with one method per Runtime API call, the loop itself
//! ([`runtime::serve`]) against any endpoint and [`Config`], and every header name, path,
//! error type and limit as a named constant ([`runtime::protocol`]).
//!
//! ## The life of an invocation
//!
//! 1. At start, the runtime reads `AWS_LAMBDA_RUNTIME_API` (`host:port`) and the function's
//!    [`Config`] from the environment, once, and runs your initialisation.
//! 2. `GET /2018-06-01/runtime/invocation/next` blocks, with no timeout, until there is an
//!    event. Lambda may freeze the whole process while it waits; that is normal.
//! 3. The answer's headers become a [`Context`] (request id, deadline, ARN, trace id, …) and
//!    its body is the event. The trace id is also put into `_X_AMZN_TRACE_ID` for X-Ray SDKs
//!    (by the single loop; see [concurrency](#concurrency-one-loop-or-n)).
//! 4. Your handler runs. `Ok(bytes)` is posted to `/runtime/invocation/{id}/response`;
//!    `Err(error)` to `/runtime/invocation/{id}/error`; a panic is reported as an error too.
//! 5. Back to 2, on the same kept-alive TCP connection.
//!
//! Every event gets exactly one answer. A response larger than
//! [`MAX_RESPONSE_BYTES`](runtime::protocol::MAX_RESPONSE_BYTES)
//! (Lambda's 6 MB limit) is not posted; the invocation gets a `Runtime.ResponseTooLarge`
//! error instead, because a too-large post would get 413 and leave the caller with nothing.
//!
//! ## Errors
//!
//! Handlers return [`Result`]. `?` works on any `std::error::Error + Send + Sync + 'static`
//! and keeps its Rust type name as `errorType`; [`Error::new`] makes your own. Lambda gets:
//!
//! ```text
//! POST /2018-06-01/runtime/invocation/{id}/error
//! Content-Type: application/vnd.aws.lambda.error+json
//! Lambda-Runtime-Function-Error-Type: core::num::error::ParseIntError
//!
//! {"errorMessage":"invalid digit found in string","errorType":"core::num::error::ParseIntError","stackTrace":[]}
//! ```
//!
//! `stackTrace` lists the error's `source()` chain, and a backtrace when `RUST_BACKTRACE=1`.
//! The runtime's own error types start with `Runtime.`: `Runtime.Panic`,
//! `Runtime.ResponseTooLarge`, `Runtime.UnmarshalError` (the event is not valid JSON for the
//! typed handler), `Runtime.MarshalError`, `Runtime.InvalidEvent` (the event body could not be
//! read).
//!
//! When the Runtime API itself fails, the process exits with code 1 and one line on stderr,
//! so that Lambda starts a fresh environment: a 5xx answer to any call, a `next` answer that is
//! not 200 or has no request id, or an API that stays unreachable after three quick retries
//! (under half a second). A 4xx answer to a post (410 when the invocation already timed out,
//! for example) costs one stderr line and the loop goes on.
//!
//! ## Panics: unwind or abort
//!
//! With `panic = "unwind"` (the `release` profile) a panic is caught, reported as
//! `Runtime.Panic` with its message and location, and the loop goes on with the same handler
//! (whatever state it left behind). With `panic = "abort"` (the `size` profile, for the smallest
//! binary) nothing can be caught: the panic hook posts the `Runtime.Panic` error for the
//! invocation in flight (with [`concurrent`], every slot's: the others get `Runtime.Aborted`,
//! naming the panic), then the process aborts and Lambda starts a fresh one for the next
//! event. Either way every caller gets an error.
//!
//! ## Response streaming
//!
//! A streaming handler writes its response into a [`ResponseStream`], an [`std::io::Write`];
//! the caller (`InvokeWithResponseStream`, or a function URL in `RESPONSE_STREAM` mode) gets
//! the bytes while the handler runs, and a 100 MB response never sits in memory:
//!
//! ```no_run
//! use std::io::Write;
//!
//! lambda_loop::run(lambda_loop::streaming(|event, ctx, out| {
//!     writeln!(out, "working on {} for {}", event.len(), ctx.request_id)?;
//!     out.flush()?; // sent now, as one chunk
//!     for step in 1..=3 {
//!         writeln!(out, "step {step} done")?;
//!         out.flush()?;
//!     }
//!     Ok(())
//! }))
//! ```
//!
//! - `flush` sends what was written as one HTTP chunk; without flushes the stream sends 64 KiB
//!   chunks. Memory stays flat: in the test suite a 100 MiB stream peaks under 4 MiB of
//!   resident memory (`VmHWM` of the debug build, `tests/streaming.rs`).
//! - Nothing is sent before the first byte: a handler that fails before writing is answered
//!   with an ordinary `/error` post. Once bytes are out, an `Err` or a panic (with either panic
//!   strategy) ends the stream with HTTP trailers, `Lambda-Runtime-Function-Error-Type` and
//!   `Lambda-Runtime-Function-Error-Body` (the error JSON, base64), which Lambda turns into the
//!   invocation's error.
//! - Streamed responses are not held to the 6 MB buffered limit but to
//!   [`MAX_STREAM_BYTES`](runtime::protocol::MAX_STREAM_BYTES)
//!   (200 MiB). Past it, `write` fails, nothing more is sent, and the stream ends with a
//!   `Runtime.ResponseTooLarge` error in its trailers, even if the handler ignores the failed
//!   write and returns `Ok`. (Lambda sends the first 6 MB at full speed and the rest
//!   bandwidth-limited.)
//! - For a function URL, start with [`ResponseStream::start_http_response`]: it writes the
//!   HTTP prelude (status, headers, cookies) before the body.
//! - In local invoke the stream writes straight to stdout.
//!
//! ## Concurrency: one loop or N
//!
//! On Lambda Managed Instances one execution environment serves up to
//! `AWS_LAMBDA_MAX_CONCURRENCY` invocations at once. A handler wrapped in [`concurrent`] is
//! then served by that many OS threads, each running the same blocking loop on its own
//! connection; there is no executor and no shared queue. Each slot runs its own clone of the
//! handler (`Clone + Send`); what the slots share lives behind a reference or an `Arc`:
//!
//! ```no_run
//! use std::sync::Mutex;
//! use lambda_loop::Context;
//!
//! let seen = Mutex::new(Vec::<String>::new()); // shared by every slot
//! lambda_loop::run(lambda_loop::concurrent(|event: &[u8], ctx: Context| {
//!     seen.lock().unwrap().push(ctx.request_id.clone());
//!     // With N > 1, _X_AMZN_TRACE_ID is never set (it would race): use the context.
//!     let trace = ctx.xray_trace_id.as_deref().unwrap_or("-");
//!     Ok(format!("{trace}: {} bytes", event.len()).into_bytes())
//! }))
//! ```
//!
//! | | `run(handler)` (`FnMut`) | `run(concurrent(handler))` (`Clone + Send`) |
//! |---|---|---|
//! | variable unset or `1` | one loop | the same one loop |
//! | `N > 1` | one loop, and one stderr line saying so | N threads, N connections |
//! | `_X_AMZN_TRACE_ID` | set per invocation | set only when it is one loop |
//! | a panic (unwind) | reported, the loop goes on | reported, that slot goes on |
//! | a panic (abort) | reported, the process ends | every slot's invocation answered, the process ends |
//! | a 500 from the Runtime API | exit 1, one line | exit 1, one line, whichever slot |
//!
//! **`_X_AMZN_TRACE_ID` and threads of your own.** The single loop writes the variable with
//! `std::env::set_var` before each invocation. A thread you start sees it change under its
//! feet: through `std::env` (which takes std's lock) it reads the value of whichever
//! invocation is current, and [`Config::from_env`] is safe from any thread; but a thread that
//! reads the environment any other way (C code calling `getenv`, or a C library that does, such
//! as glibc's `getaddrinfo` or `localtime`) races with that write, which is undefined behaviour
//! (the reason Rust 2024 makes `set_var` unsafe). A function with such threads should read the
//! trace id from [`Context::xray_trace_id`] and serve a configuration that never has the
//! environment written: `runtime::start(endpoint, Arc::new(Config::from_lookup(|name|
//! std::env::var(name).ok())), init)`.
//!
//! A value that is not a whole number of at least 1 is reported on stderr and served by one
//! loop. Choose the plain handler for mutable state (`FnMut`) or when one invocation at a time
//! is what the function needs; choose `concurrent` when the handler mostly waits on I/O and
//! its state is shareable.
//!
//! ## Local invoke
//!
//! Without `AWS_LAMBDA_RUNTIME_API` the same binary runs the handler once: the event is read
//! from the file named by the first argument, or from stdin; the response is written to stdout
//! (exit code 0) or the error JSON to stderr (exit code 1). The context is synthesized: a
//! `local-…` request id and a deadline 15 minutes ahead.
//!
//! ```text
//! $ echo '{"name":"Ada"}' | target/release/examples/hello_json
//! {"message":"Hello, Ada!"}
//! ```
//!
//! ## Operating a function: logs, shutdown, several handlers
//!
//! Three optional parts, each linked into a binary only when its `main` calls it.
//!
//! **Logging the way Lambda reads it.** [`logger::init`] installs a backend for the
//! [`log`](https://docs.rs/log) crate. With the function's log format set to JSON
//! (`AWS_LAMBDA_LOG_FORMAT=JSON`) each record becomes one JSON line on stdout with
//! `timestamp`, `level`, `requestId` (of the invocation in flight), `message` and `logger`;
//! otherwise a plain tab-separated line with the same facts. `AWS_LAMBDA_LOG_LEVEL` sets the
//! level. With JSON, the runtime's own lines on stderr are JSON too.
//!
//! ```no_run
//! lambda_loop::logger::init();
//! log::info!("cold start");
//! lambda_loop::run(|event: &[u8], _ctx: lambda_loop::Context| {
//!     log::info!("got {} bytes", event.len()); // carries this invocation's requestId
//!     Ok(event.to_vec())
//! })
//! ```
//!
//! **Graceful shutdown.** [`runtime::on_shutdown`] registers the runtime as an internal Lambda
//! extension, which is what makes Lambda send SIGTERM before it ends the environment; a thread
//! waiting in `sigwait` then runs the hook, and the process exits 0. Call it first in `main`.
//!
//! ```no_run
//! lambda_loop::runtime::on_shutdown(|| eprintln!("flushing before the environment ends"));
//! lambda_loop::run(|event: &[u8], _ctx: lambda_loop::Context| Ok(event.to_vec()))
//! ```
//!
//! **Several handlers in one binary.** [`named`] picks a handler out of a table by the
//! function's Handler setting (`_HANDLER`); an unknown name is an init error that lists the
//! known ones.
//!
//! ```no_run
//! fn upper(event: &[u8], _ctx: lambda_loop::Context) -> lambda_loop::Result<Vec<u8>> {
//!     Ok(event.to_ascii_uppercase())
//! }
//! fn length(text: String, _ctx: lambda_loop::Context) -> lambda_loop::Result<usize> {
//!     Ok(text.len())
//! }
//! lambda_loop::run_init(lambda_loop::named(&[
//!     ("upper", upper),
//!     ("length", |event, ctx| lambda_loop::json(length).handle(event, ctx)), // typed JSON
//! ]))
//! ```
//!
//! ## Faults: what the runtime does when the Runtime API misbehaves
//!
//! Every row names the tests that check it, each run against a fake Runtime API that
//! misbehaves once: most are cases of `tests/faults.rs` (one test per fault), the rest live
//! with their subject (`tests/errors.rs`, `tests/panics.rs`, `tests/snapstart.rs`);
//! `tests/docs.rs` fails when a named test does not exist. Throughout: each event handed out gets exactly one answer post or the process exits
//! with code 1 and one stderr line; the runtime never panics and never waits without end
//! (except, by design, in `next`).
//!
//! | fault | what lambda-loop does | why | checked by (`tests/FILE.rs`: test) |
//! |---|---|---|---|
//! | `next`: connection refused, reset, or closed before any answer | asks again after 20, 60, 180 ms; then exits 1 | no event was handed out, so asking again loses nothing; a dead API costs under 0.3 s | `faults::next_closed_before_answer`, `errors::an_unreachable_api_is_retried_briefly_then_the_loop_stops` |
//! | `next`: closed after the headers, or a body shorter than its Content-Length | posts `Runtime.InvalidEvent` to that request id, goes on | the id is known, so the invocation can still be answered | `faults::next_closed_after_headers`, `faults::next_short_body` |
//! | `next`: stalls (any time) | waits | `next` has no timeout: Lambda holds it until there is an event | `faults::next_stalls` |
//! | `next`: any status but 200 (400 … 504) | exits 1, one line | the spec says to exit on 500; any other answer means the environment is broken too, and Lambda starts a fresh one | `faults::next_status_400` … `faults::next_status_504`, `faults::process_a_status_on_next_exits_with_one_line` |
//! | `next`: answer that is not valid HTTP (NUL or control characters in a header) | exits 1, one line | the parser rejects the answer, so there is no id to answer; asking again would skip the event silently | `faults::a_nul_in_a_header_stops_the_loop`, `faults::control_characters_in_a_header_stop_the_loop` |
//! | `next`: request id missing, empty, given twice, or not UTF-8 | exits 1, one line | there is no single invocation to answer; a lossy or guessed id would answer the wrong one | `faults::a_missing_request_id_stops_the_loop`, `faults::an_empty_request_id_stops_the_loop`, `faults::a_request_id_given_twice_stops_the_loop`, `faults::a_request_id_that_is_not_utf8_stops_the_loop` |
//! | `next`: request id with `/`, `..`, `?`, `#`, `%`, spaces, tabs, 10 KB long | answers at `…/invocation/<percent-encoded id>/…` | the id is one path segment, whatever its bytes | `faults::a_request_id_of_path_characters_is_one_encoded_segment`, `faults::a_request_id_with_a_tab_is_encoded`, `faults::a_10_kb_request_id_is_answered_at_its_own_path` |
//! | `next`: deadline missing, negative, not a number, or huge | serves; `deadline` is `None` (or the far-off time), `remaining_time()` is zero (or large) | a deadline is information for the handler, never a reason to fail | `faults::a_missing_deadline_is_none`, `faults::a_negative_deadline_is_none`, `faults::a_deadline_that_is_not_a_number_is_none`, `faults::a_deadline_beyond_u64_still_serves` |
//! | `next`: a header of 64 KB, duplicate optional headers | serves; the first duplicate wins | headers up to 128 KiB are accepted | `faults::a_64_kb_header_reaches_the_handler`, `faults::the_first_of_duplicate_headers_wins` |
//! | `next`: an event of 0 bytes, or over 6 MB | serves | bodies up to 64 MiB are read; the response limit is checked separately | `faults::an_empty_event_is_served`, `faults::an_event_over_six_megabytes_is_served` |
//! | `response`/`error` post: closed before any answer | one stderr line, goes on | the post may have arrived: posting again could answer twice | `faults::response_closed_before_answer`, `faults::error_closed_before_answer`, `faults::process_a_post_closed_before_its_answer_costs_one_line` |
//! | `response`/`error` post: closed after the headers, short body, stall | goes on (the status was read) | the answer was accepted | `faults::response_closed_after_headers`, `faults::response_short_body`, `faults::response_stalls` |
//! | `response`/`error` post: 4xx (400, 403, 404, 408, 410, 413, 429) | one stderr line, goes on | the invocation is over (410: it timed out); the next one may be fine | `faults::response_status_403`, `faults::error_status_410`, `faults::process_a_4xx_to_a_post_costs_one_line` |
//! | `response`/`error` post: 5xx | exits 1, one line | the spec: a 500 means a non-recoverable state | `faults::response_status_500`, `faults::error_status_502`, `faults::process_a_5xx_to_a_post_exits_with_one_line` |
//! | `response`/`error` post: connection refused | tries again (20, 60, 180 ms); then one stderr line, goes on | nothing was sent, so trying again cannot answer twice | `faults::a_refused_post_is_tried_again_after_each_pause_then_goes_on` |
//! | `init/error` post: any failure or status | exits 1 with one line that says the report did not reach Lambda | initialisation failed either way | `faults::init_error_status_500`, `faults::init_error_closed_before_answer`, `faults::process_an_init_error_post_that_failed_says_so_in_one_line` |
//! | a response over 6,291,556 bytes | posts `Runtime.ResponseTooLarge` instead | a larger post gets 413, and the `/error` after it 403: the caller would get nothing | `errors::an_oversize_response_becomes_an_error_and_is_never_posted` |
//! | a panic in the handler | posts `Runtime.Panic` (under abort: from the panic hook, which also answers the other slots' invocations with `Runtime.Aborted`, then the process ends) | every event gets its answer | `panics::under_unwind_a_panic_is_reported_and_the_loop_goes_on`, `panics::under_abort_with_concurrency_every_invocation_in_flight_is_answered` |
//! | SnapStart: a before-snapshot hook fails | posts `Runtime.BeforeSnapshotError` to `init/error`, exits 1 | the snapshot would hold a broken init | `snapstart::a_failing_before_snapshot_hook_is_an_init_error` |
//! | SnapStart: `restore/next` answers anything but 2xx | posts `Runtime.RestoreError` to `init/error`, exits 1 | there is no restored environment to serve | `snapstart::a_restore_next_that_is_not_2xx_is_an_init_error` |
//! | SnapStart: the connection is gone after `restore/next` | the next call opens a new one | a snapshot keeps no connection: the runtime drops its own anyway | `snapstart::the_connection_dropped_by_the_snapshot_is_replaced_by_a_new_one` |
//! | SnapStart: an after-restore hook fails | posts `Runtime.AfterRestoreError` to `restore/error`, exits 1 | the restored copy is not fit to serve | `snapstart::a_failing_after_restore_hook_is_posted_to_restore_error_and_ends_the_runtime` |
//!
//! ## What every answer carries
//!
//! - `Lambda-Runtime-Invocation-Id`: when `next` sent one, it goes back unchanged on the
//!   invocation's `response` post (buffered or streamed) and its `error` post, so Lambda can
//!   tell a late answer to a timed-out delivery from the answer to the current one; when
//!   `next` sent none (as cargo-lambda, @vercel/fun and AWS's emulator do), none is sent.
//! - On an `error` post, `Lambda-Runtime-Function-XRay-Error-Cause`: the X-Ray cause that
//!   AWS's Java, Ruby and .NET runtimes send, `{"working_directory":…,"exceptions":[{"type":…,
//!   "message":…,"stack":[{"label":…,"path":…,"line":…}]}],"paths":[…]}`, with the frames of a
//!   captured backtrace (`RUST_BACKTRACE=1`) where there is one. It is pure ASCII and left
//!   out when larger than 1 MiB; it never fails the error post.
//!
//! ## SnapStart
//!
//! With `AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`, after a successful init and before the
//! first `next`, the runtime runs the hooks registered with
//! [`runtime::before_snapshot`] (last registered first), calls
//! `GET /runtime/restore/next` (Lambda takes the snapshot while it waits), drops the
//! connections it had, and runs the hooks registered with [`runtime::after_restore`] (in
//! order). Without SnapStart the hooks never run and the phase costs nothing. AWS offers
//! SnapStart to custom runtimes for container-image functions ("runtime hooks for custom
//! runtimes"); after a restore, rebuild connections, random seeds and cached credentials.
//!
//! ## Emulators
//!
//! `AWS_LAMBDA_RUNTIME_API` may also be `http://host:port/prefix` (cargo-lambda's emulator);
//! the prefix is kept. The host is an IP address or `localhost`: the Runtime API is on
//! loopback, so no other name is resolved (a value such as `rie:8080` is refused at start,
//! with the reason). Any 2xx answer to a post counts as accepted. A deadline that is not a
//! plausible time gives a zero [`Context::remaining_time`].

// The layers, from the bottom up; a module imports only from the layers below it
// (docs/how-it-works.md, "The layout", has each file's one job).
// 1. Words and values, no I/O.
mod context;
mod error;
mod protocol;
// 2. The process: system calls, the environment, the socket, the stderr line, the in-flight
// registry.
mod environment;
mod inflight;
mod runtime_line;
mod sys;
mod transport;
// 3. The Runtime API's calls, and the rules around them: where the API is, the HTTP client,
// retrying, what an answer means, the path of an invocation's answer, the streamed post.
mod agent;
mod answer;
mod chunked;
mod client;
mod endpoint;
mod invocation_path;
mod retry;
mod stream_post;
// 4. What the loop uses: panics, the response stream, handlers, SnapStart's restore phase.
mod handler;
mod panic;
mod snapstart;
mod stream;
// 5. The loop.
mod serve;
// 6. Entry points and adapters.
mod concurrent;
#[cfg(feature = "durable")]
pub mod durable;
mod extension;
#[cfg(feature = "http")]
pub mod http;
mod local;
pub mod logger;
mod named;
mod run;
mod shutdown;
#[cfg(feature = "testing")]
pub mod testing;

pub use concurrent::concurrent;
pub use context::{Config, Context};
pub use error::{Error, Result};
pub use handler::{json, streaming, streaming_json};
pub use named::named;
pub use run::{run, run_init};
pub use stream::ResponseStream;

pub mod runtime {
    //! The low layer: the building blocks of the loop, for a custom loop, a custom `main`, or a
    //! test that serves against a fake Runtime API without touching the process environment.
    //!
    //! The pieces, from the bottom: [`protocol`] names every path, header, error type and
    //! limit; [`Client`] makes the Runtime API's calls, one method each ([`Client::next`],
    //! [`Client::respond`], [`Client::report_error`], [`Client::report_init_error`],
    //! [`Client::restore_next`], [`Client::report_restore_error`], [`Client::open_stream`]),
    //! and every one of them fails with a [`RuntimeError`]; a
    //! [`ResponseStream`](crate::ResponseStream) made with
    //! [`ResponseStream::new`](crate::ResponseStream::new) streams an answer from a loop of your
    //! own (its docs have such a loop), over a [`StreamPost`]; [`serve`] is the loop (`next` →
    //! handler → answer) over a [`Handler`]; [`start`] is what the entry points do after
    //! reading the environment (connect, init, serve).
    //!
    //! ```no_run
    //! use std::sync::Arc;
    //! use lambda_loop::{runtime, Config, Context};
    //!
    //! // Serve against an endpoint and a configuration of your choosing.
    //! let config = Arc::new(Config::default());
    //! let Err(failure) = runtime::start("127.0.0.1:9001", config, |_config| {
    //!     Ok(|event: &[u8], _ctx: Context| Ok(event.to_ascii_uppercase()))
    //! });
    //! eprintln!("{failure}");
    //! ```

    pub use crate::client::{Client, NextEvent};
    pub use crate::concurrent::Concurrent;
    pub use crate::context::AnswerAddress;
    pub use crate::error::RuntimeError;
    pub use crate::handler::{
        AnswerKind, Buffered, Handler, Json, Out, Returns, Streamed, Streaming, StreamingJson,
    };
    pub use crate::named::HandlerFn;
    /// The words of the Lambda Runtime API, each named once: paths, header names, content
    /// types, the `Runtime.*` error types, the environment variables, and the limits.
    pub mod protocol {
        pub use crate::protocol::*;
    }
    pub use crate::serve::{serve, start, Runnable};
    pub use crate::shutdown::on_shutdown;
    pub use crate::snapstart::{after_restore, before_snapshot};
    pub use crate::stream_post::StreamPost;
}

/// The README's examples compile as doc tests, so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Entry points for the `cargo fuzz` targets in `fuzz/` (see the file).
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz_targets;
