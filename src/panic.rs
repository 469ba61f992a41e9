//! Panics never lose an invocation, whichever panic strategy the binary was built with.
//!
//! - `panic = "unwind"` (the release profile): [`catching`] catches the unwind and returns
//!   the panic as the invocation's error; the loop posts it and goes on.
//! - `panic = "abort"` (the size profile): nothing can be caught, so the panic hook itself
//!   answers every invocation in flight ([`inflight::answer_all_in_flight`]): the one that panicked
//!   with the panic, the other slots' (under concurrency) with an error naming it. Then the
//!   process aborts and Lambda starts a fresh one.
//!
//! Both report `errorType` `Runtime.Panic` with the panic message and its location.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

use crate::error::{Error, Result};
use crate::inflight;
use crate::protocol::error_type;

thread_local! {
    /// Under unwind: the hook's description of the last panic, for `catching` to return.
    static LAST_PANIC: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// Installs the panic hook, once per process, before the first invocation. Rust's default
/// hook still runs first, so the usual "thread panicked at …" line reaches the logs.
pub(crate) fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            default_hook(info);
            let error = Error::new(error_type::PANIC, describe(info));
            if cfg!(panic = "abort") {
                let cause = Error::new(
                    error_type::ABORTED,
                    format!("the process ended while this invocation was in flight: another invocation {}", error.message()),
                );
                inflight::answer_all_in_flight(&error, &cause);
            } else {
                LAST_PANIC.with(|last| *last.borrow_mut() = Some(error));
            }
        }));
    });
}

/// Runs `handler`, turning a panic into the invocation's error.
pub(crate) fn catching<T>(handler: impl FnOnce() -> Result<T>) -> Result<T> {
    // AssertUnwindSafe: after a panic the handler is called again with whatever state it
    // left behind, as with any catch_unwind server; the crate docs say so.
    catch_unwind(AssertUnwindSafe(handler)).unwrap_or_else(|_payload| {
        Err(LAST_PANIC
            .with(|last| last.borrow_mut().take())
            .unwrap_or_else(|| Error::new(error_type::PANIC, "the handler panicked")))
    })
}

/// `panicked at src/main.rs:7:9: the message`.
fn describe(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string panic payload");
    match info.location() {
        Some(location) => format!("panicked at {location}: {message}"),
        None => format!("panicked: {message}"),
    }
}
