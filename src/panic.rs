//! Panics never lose an invocation, whichever panic strategy the binary was built with.
//!
//! - `panic = "unwind"` (the release profile): [`call_handler`] catches the unwind and returns
//!   the panic as the invocation's error; the loop posts it and goes on.
//! - `panic = "abort"` (the size profile): nothing can be caught, so the panic hook itself posts
//!   the error for the invocation in flight on its thread, and then the process aborts.
//!
//! Both report `errorType` [`PANIC_ERROR_TYPE`] with the panic message and its location.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe, PanicHookInfo};

use crate::api::Api;
use crate::context::Context;
use crate::error::{Error, Result};

/// `errorType` of a panicking handler.
pub const PANIC_ERROR_TYPE: &str = "Runtime.Panic";

thread_local! {
    /// Where this thread's panics are reported under `panic = "abort"`: the loop's API client,
    /// or `None` in local invoke (the error JSON then goes to stderr).
    static REPORTER: RefCell<Option<Api>> = const { RefCell::new(None) };
    /// The request id of the invocation this thread is running, if any.
    static IN_FLIGHT: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Under unwind: the hook's description of the last panic, for `call_handler` to return.
    static LAST_PANIC: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// Installs the panic hook, once, before the first invocation. Rust's default hook still runs
/// first, so the usual "thread panicked at …" line reaches the logs.
pub(crate) fn install_hook() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        let error = Error::new(PANIC_ERROR_TYPE, describe(info));
        if cfg!(panic = "abort") {
            report_before_abort(&error);
        } else {
            LAST_PANIC.with(|last| *last.borrow_mut() = Some(error));
        }
    }));
}

/// Makes this thread's panics under `panic = "abort"` reach `api` (call once per loop thread).
pub(crate) fn report_to(api: &Api) {
    REPORTER.with(|reporter| *reporter.borrow_mut() = Some(api.clone()));
}

/// Calls the handler, turning a panic into the invocation's error.
pub(crate) fn call_handler<F>(handler: &mut F, event: &[u8], context: Context) -> Result<Vec<u8>>
where
    F: FnMut(&[u8], Context) -> Result<Vec<u8>>,
{
    IN_FLIGHT.with(|id| *id.borrow_mut() = Some(context.request_id.clone()));
    // AssertUnwindSafe: after a panic the handler is called again with whatever state it
    // left behind, as with any catch_unwind server; the crate docs say so.
    let outcome = catch_unwind(AssertUnwindSafe(|| handler(event, context)));
    IN_FLIGHT.with(|id| *id.borrow_mut() = None);
    outcome.unwrap_or_else(|_payload| {
        Err(LAST_PANIC
            .with(|last| last.borrow_mut().take())
            .unwrap_or_else(|| Error::new(PANIC_ERROR_TYPE, "the handler panicked")))
    })
}

/// Calls `f` with the request id of the invocation running on this thread (for log lines).
pub(crate) fn with_in_flight_request_id<R>(f: impl FnOnce(Option<&str>) -> R) -> R {
    let id = IN_FLIGHT.try_with(|id| id.try_borrow().ok().and_then(|id| id.clone()));
    f(id.ok().flatten().as_deref())
}

/// Under `panic = "abort"`: posts the panic as the in-flight invocation's error (or prints it
/// in local invoke) while the process still can.
fn report_before_abort(error: &Error) {
    let Some(request_id) = IN_FLIGHT.with(|id| id.borrow_mut().take()) else {
        return; // a panic outside any invocation: nothing to answer
    };
    if crate::stream::end_in_flight_after_panic(error) {
        return; // a response stream had begun: its trailers carry the error
    }
    let reporter = REPORTER.with(|reporter| reporter.borrow().clone());
    match reporter {
        Some(api) => {
            if let Err(failure) = api.fail(&request_id, error) {
                crate::logger::runtime_line!(Error, "the panic could not be reported: {failure}");
            }
        }
        None => crate::local::print_error(error),
    }
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
