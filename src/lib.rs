//! # lambda-loop: a minimal, synchronous AWS Lambda runtime
//!
//! A custom Lambda runtime is a program named `bootstrap` that asks the Runtime API for the
//! next event, runs a handler on it, and posts the result back, forever. lambda-loop does
//! exactly that with one blocking loop and a small blocking HTTP client: no async executor,
//! no extra threads, a small static binary, and very little work between `exec` and the first
//! request for an event.
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
//! Closures work too, and may own state that is built once, before the first event:
//!
//! ```no_run
//! use std::collections::HashMap;
//! let mut cache: HashMap<Vec<u8>, usize> = HashMap::new(); // lives as long as the process
//! lambda_loop::run(move |event, _ctx| {
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
//! lambda_loop::run_json(|order: Order, _ctx| Ok(Receipt { id: order.id, accepted: true }))
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
//! ## The life of an invocation
//!
//! 1. At start, the runtime reads `AWS_LAMBDA_RUNTIME_API` (`host:port`) and the function's
//!    [`Config`] from the environment, once, and runs your initialisation.
//! 2. `GET /2018-06-01/runtime/invocation/next` blocks, with no timeout, until there is an
//!    event. Lambda may freeze the whole process while it waits; that is normal.
//! 3. The answer's headers become a [`Context`] (request id, deadline, ARN, trace id, …) and
//!    its body is the event. The trace id is also put into `_X_AMZN_TRACE_ID` for X-Ray SDKs.
//! 4. Your handler runs. `Ok(bytes)` is posted to `/runtime/invocation/{id}/response`;
//!    `Err(error)` to `/runtime/invocation/{id}/error`; a panic is reported as an error too.
//! 5. Back to 2, on the same kept-alive TCP connection.
//!
//! Every event gets exactly one answer. A response larger than [`MAX_RESPONSE_BYTES`]
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
//! invocation in flight, then the process aborts and Lambda starts a fresh one for the next
//! event. Either way the caller gets the error.
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
//! ## Emulators
//!
//! `AWS_LAMBDA_RUNTIME_API` may also be `http://host:port/prefix` (cargo-lambda's emulator);
//! the prefix is kept. Any 2xx answer to a post counts as accepted. A deadline that is not a
//! plausible time gives a zero [`Context::remaining_time`].

mod api;
mod context;
mod error;
mod json;
mod local;
mod panic;
mod runtime;

pub use context::{Config, Context};
pub use error::{Error, Result, RuntimeError};
pub use json::{json, run_json};
pub use panic::PANIC_ERROR_TYPE;
pub use runtime::{run, run_init, MAX_RESPONSE_BYTES};

/// The README's examples compile as doc tests, so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
