//! A fake Lambda Runtime API for your own `cargo test` (feature `testing`): serve a handler
//! on a thread of the test against it, send events, read the answers and errors, and make the
//! API misbehave the ways the [fault table](crate#faults-what-the-runtime-does-when-the-runtime-api-misbehaves)
//! lists. No child process, no process environment, nothing async.
//!
//! ```toml
//! [dev-dependencies]
//! lambda-loop = { version = "0.1", features = ["testing"] }
//! ```
//!
//! The fake ([`FakeApi`]) listens on 127.0.0.1 (a free port), speaks HTTP/1.1 over real
//! sockets, hands out the [`Event`]s you queue on `next`, and records every request it
//! receives ([`Recorded`]). [`serve_in_thread`] serves a handler against it through the
//! crate's low layer ([`runtime::serve`](crate::runtime::serve)), exactly the loop that
//! [`run`](crate::run) serves in Lambda. Every wait is bounded by [`PATIENCE`] and fails the
//! test loudly, with what the fake saw.
//!
//! ```
//! use lambda_loop::testing::{serve_in_thread, Event, FakeApi};
//! use lambda_loop::{Context, Error};
//!
//! fn upper(event: &[u8], _ctx: Context) -> lambda_loop::Result<Vec<u8>> {
//!     if event.is_empty() {
//!         return Err(Error::new("App.Empty", "nothing to shout"));
//!     }
//!     Ok(event.to_ascii_uppercase())
//! }
//!
//! let api = FakeApi::start();
//! let served = serve_in_thread(&api, upper);
//! api.push_event(Event::new("id-1", "hello"));
//! api.push_event(Event::new("id-2", ""));
//! let answers = served.wait_for_answers(&api, 2);
//! assert_eq!(answers[0].path, "/2018-06-01/runtime/invocation/id-1/response");
//! assert_eq!(answers[0].body, b"HELLO");
//! assert_eq!(answers[1].answered(), Some(("id-2", "error")));
//! assert_eq!(answers[1].body_json()["errorType"], "App.Empty");
//! served.finish(&api); // `next` answers 500 from now on: the loop returns, the test checks why
//! ```
//!
//! Faults are injected once, at a step of the protocol ([`FakeApi::inject`]), per event
//! ([`Event`]'s builders: headers missing, doubled or malformed, a chunked or cut body, how the
//! answer post is met), or for the fake's life (`set_*_status`,
//! [`FakeApi::drop_connection_after_restore`]). A refused connection needs no fake: give the
//! runtime a port where nothing listens.
//!
//! ```
//! use lambda_loop::testing::{serve_in_thread, Event, FakeApi, Fault, Step};
//! use lambda_loop::Context;
//!
//! let api = FakeApi::start();
//! // The first response post is met with a closed connection before any answer: the
//! // runtime says so on stderr and goes on, without posting that answer twice.
//! api.inject(Step::Response, Fault::CloseBeforeAnswer);
//! let served = serve_in_thread(&api, |event: &[u8], _ctx: Context| Ok(event.to_vec()));
//! api.push_event(Event::new("lost", "1"));
//! api.push_event(Event::new("kept", "2").header("Lambda-Runtime-Trace-Id", "Root=1-2-3"));
//! let answers = served.wait_for_answers(&api, 2);
//! assert_eq!(answers[1].answered(), Some(("kept", "response")));
//! assert_eq!(api.connections(), 2); // the closed connection was replaced
//! served.finish(&api);
//! ```
//!
//! The same fake serves a function binary started as a child process: give it
//! `AWS_LAMBDA_RUNTIME_API=`[`FakeApi::addr`]. build.sh's smoke test does exactly that (its
//! program, `src/testing/smoke_api.rs`, is compiled from this module's files with `rustc`
//! alone, which is why the fake itself uses the standard library only).

mod fake_api;
mod in_process;
mod wire;

pub use fake_api::{
    Event, FakeApi, Fault, Step, EVENT_NEXT_PATH, EXTENSION_IDENTIFIER, PATIENCE, REGISTER_PATH,
};
pub use in_process::{
    answered, assert_next_500, config_with, install_panic_hook, serve_concurrently,
    serve_in_thread, serve_with, start_in_thread, test_config, Served, LAMBDA_VARS,
};
pub use wire::{digest, read_request, write_status, Digest, Recorded};

/// build.sh's smoke program, compiled with the crate's own tests so that the lints and
/// `cargo fmt` see it too (build.sh compiles it alone, with `rustc`).
#[cfg(test)]
#[allow(dead_code)]
#[path = "smoke_api.rs"]
mod smoke_api;
