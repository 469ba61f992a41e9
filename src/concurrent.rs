//! Concurrency for Lambda Managed Instances: when `AWS_LAMBDA_MAX_CONCURRENCY` is N > 1, the
//! Runtime API accepts N concurrent `next` calls, and [`run_concurrent`] serves them with N
//! OS threads ("slots"), each running the ordinary blocking loop on its own connection.
//!
//! No executor and no shared queue: N independent loops, each exactly `runtime::serve`, except
//! that `_X_AMZN_TRACE_ID` is left alone (one process-wide variable would race between slots;
//! each handler finds its trace id in its [`Context`]). The main thread only waits: the first
//! slot that meets a fatal Runtime API failure ends the process, with one line on stderr.

use std::ffi::OsStr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::exit;
use std::sync::mpsc;
use std::thread;

use serde_core::de::DeserializeOwned;
use serde_core::Serialize;

use crate::api::{Api, RUNTIME_API_VAR};
use crate::context::Context;
use crate::error::Result;
use crate::json::{parse_event, serialize_reply};
use crate::logger::runtime_line;
use crate::panic;
use crate::runtime::{self, serve, TraceEnv};

/// The variable Lambda Managed Instances set to the number of concurrent invocations an
/// execution environment may serve.
const MAX_CONCURRENCY_VAR: &str = "AWS_LAMBDA_MAX_CONCURRENCY";

/// Stack of each slot thread: 8 MiB, the main thread's usual limit, so that a handler (deep
/// recursion, deeply nested JSON) behaves the same under `run` and `run_concurrent`. Only the
/// pages a handler touches become resident.
const SLOT_STACK_BYTES: usize = 8 * 1024 * 1024;

/// Serves up to `AWS_LAMBDA_MAX_CONCURRENCY` invocations at once, each on its own OS thread
/// with its own connection to the Runtime API.
///
/// The handler is shared by every slot, so it is `Fn + Sync`: state it keeps across
/// invocations needs atomics or a `Mutex`, exactly as with any threaded server.
///
/// ```no_run
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// let served = AtomicU64::new(0); // shared by every slot
/// lambda_loop::run_concurrent(move |event, ctx| {
///     let n = served.fetch_add(1, Ordering::Relaxed) + 1;
///     let trace = ctx.xray_trace_id.unwrap_or_default(); // not in _X_AMZN_TRACE_ID here
///     Ok(format!("#{n} {trace}: {} bytes", event.len()).into_bytes())
/// })
/// ```
///
/// - With the variable unset or `1`, this is exactly [`run`](crate::run): one loop, and
///   `_X_AMZN_TRACE_ID` is set per invocation as usual.
/// - With a value that is not a whole number of at least 1, one line on stderr says so and
///   the single loop serves (fewer slots than allowed is always correct; guessing more is not).
/// - With N > 1, `_X_AMZN_TRACE_ID` is never set: the trace id is in [`Context::xray_trace_id`].
/// - A panic in one slot is reported for its invocation, and that slot keeps serving (with
///   `panic = "unwind"`; under `panic = "abort"` the process ends after reporting it, and
///   Lambda fails the other slots' invocations in flight).
/// - A fatal Runtime API failure in any slot (such as a 500 on `next`) ends the process with
///   exit code 1 and one line on stderr.
/// - Without `AWS_LAMBDA_RUNTIME_API`, local invoke runs the handler once, as with `run`.
pub fn run_concurrent<F>(handler: F) -> !
where
    F: Fn(&[u8], Context) -> Result<Vec<u8>> + Sync,
{
    let Some(endpoint) = std::env::var_os(RUNTIME_API_VAR) else {
        crate::run(handler) // local invoke
    };
    let slots = match max_concurrency(std::env::var_os(MAX_CONCURRENCY_VAR).as_deref()) {
        Ok(slots) => slots,
        Err(reason) => {
            runtime_line!(Warn, "{reason}; serving one invocation at a time");
            1
        }
    };
    if slots == 1 {
        crate::run(handler)
    }
    serve_slots(&endpoint.to_string_lossy(), slots, &handler)
}

/// [`run_concurrent`] for a typed JSON handler, as [`run_json`](crate::run_json) is for
/// [`run`](crate::run).
pub fn run_concurrent_json<T, U, F>(handler: F) -> !
where
    T: DeserializeOwned,
    U: Serialize,
    F: Fn(T, Context) -> Result<U> + Sync,
{
    run_concurrent(move |event, context| serialize_reply(&handler(parse_event(event)?, context)?))
}

/// Starts `slots` loops and waits for the first fatal failure among them.
fn serve_slots<F>(endpoint: &str, slots: usize, handler: &F) -> !
where
    F: Fn(&[u8], Context) -> Result<Vec<u8>> + Sync,
{
    let config = runtime::prepare();
    thread::scope(|scope| {
        let (failures, first_failure) = mpsc::channel();
        for slot in 1..=slots {
            let api = match Api::new(endpoint) {
                Ok(api) => api, // a client (and a connection) of its own
                Err(failure) => exit_with(&failure.to_string()),
            };
            let failures = failures.clone();
            let started = thread::Builder::new()
                .name(format!("lambda-slot-{slot}"))
                .stack_size(SLOT_STACK_BYTES)
                .spawn_scoped(scope, move || {
                    // The panic hook's state is per thread.
                    panic::report_to(&api);
                    // Handler panics are caught inside serve; this catches the runtime's own.
                    let failure = match catch_unwind(AssertUnwindSafe(|| {
                        serve(&api, config, handler, TraceEnv::LeaveAlone)
                    })) {
                        Ok(Err(failure)) => failure.to_string(),
                        Err(_) => "the runtime itself panicked".to_owned(),
                    };
                    let _ = failures.send(format!("{failure} (slot {slot} of {slots})"));
                });
            if let Err(error) = started {
                exit_with(&format!("could not start slot {slot} of {slots}: {error}"));
            }
        }
        // Every slot holds a sender until it fails, so this waits for the first failure.
        let failure = first_failure
            .recv()
            .unwrap_or_else(|_| "every slot stopped".to_owned());
        exit_with(&failure)
    })
}

/// One line on stderr, exit code 1; from the main thread only, so there is exactly one line.
fn exit_with(failure: &str) -> ! {
    runtime_line!(Error, "{failure}; exiting");
    exit(1)
}

/// The number of slots `AWS_LAMBDA_MAX_CONCURRENCY` asks for: 1 when unset.
fn max_concurrency(value: Option<&OsStr>) -> Result<usize, String> {
    let Some(value) = value else {
        return Ok(1);
    };
    match value.to_str().map(|text| text.trim().parse::<usize>()) {
        Some(Ok(slots)) if slots >= 1 => Ok(slots),
        _ => Err(format!(
            "{MAX_CONCURRENCY_VAR}={value:?} is not a whole number of at least 1"
        )),
    }
}

/// Says once, at start, that a single-loop entry point serves a concurrent environment one
/// invocation at a time (it is still correct, only slower).
pub(crate) fn note_single_loop() {
    if let Ok(slots @ 2..) = max_concurrency(std::env::var_os(MAX_CONCURRENCY_VAR).as_deref()) {
        runtime_line!(Warn, "{MAX_CONCURRENCY_VAR}={slots}, but this handler is served one invocation at a time; run_concurrent serves {slots} at once");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_concurrency_is_a_whole_number_of_at_least_one() {
        let parse = |value: &str| max_concurrency(Some(OsStr::new(value)));
        assert_eq!(max_concurrency(None), Ok(1));
        assert_eq!(parse("1"), Ok(1));
        assert_eq!(parse("4"), Ok(4));
        assert_eq!(parse(" 16\n"), Ok(16));
        for bad in ["0", "", "-2", "four", "2.5", "99999999999999999999999"] {
            let reason = parse(bad).unwrap_err();
            assert!(
                reason.contains("AWS_LAMBDA_MAX_CONCURRENCY"),
                "{bad:?}: {reason}"
            );
        }
    }
}
