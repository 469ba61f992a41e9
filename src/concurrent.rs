//! Concurrency for Lambda Managed Instances: when `AWS_LAMBDA_MAX_CONCURRENCY` is N > 1, the
//! Runtime API accepts N concurrent `next` calls, and a [`concurrent`] handler is served by N
//! OS threads ("slots"), each running the one loop ([`serve`](crate::runtime::serve)) on its own connection.
//!
//! No executor and no shared queue: N independent loops, each over its own clone of the
//! handler, except that `_X_AMZN_TRACE_ID` is left alone (one process-wide variable would race between slots; each
//! handler finds its trace id in its [`Context`](crate::Context)). The main thread only waits: the first slot
//! that meets a fatal Runtime API failure ends the process, with one line on stderr.

use std::convert::Infallible;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};
use std::thread;

use crate::client::Client;
use crate::context::Config;
use crate::error::{Result, RuntimeError};
use crate::handler::Handler;
use crate::runtime_line::exit_with;
use crate::serve::{self, Runnable};

/// Stack of each slot thread: 8 MiB, the main thread's usual limit, so that a handler (deep
/// recursion, deeply nested JSON) behaves the same in one loop and in N. Only the pages a
/// handler touches become resident.
const SLOT_STACK_BYTES: usize = 8 * 1024 * 1024;

/// A handler served by several slots at once, made by [`concurrent`].
pub struct Concurrent<H> {
    handler: H,
}

/// Serves up to `AWS_LAMBDA_MAX_CONCURRENCY` invocations at once, each on its own OS thread
/// with its own connection to the Runtime API.
///
/// Each slot runs its own clone of the handler (any kind: raw, [`json`](crate::json),
/// [`streaming`](crate::streaming), [`streaming_json`](crate::streaming_json)), so it is
/// `Clone + Send`: what a clone owns is that slot's own (a buffer, a connection), and what the
/// slots share lives behind a reference or an `Arc`, with atomics or a `Mutex` for what
/// changes, exactly as with any threaded server. A closure that borrows shared state is
/// `Clone` already.
///
/// ```no_run
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use lambda_loop::Context;
///
/// let served = AtomicU64::new(0); // shared by every slot
/// lambda_loop::run(lambda_loop::concurrent(|event: &[u8], ctx: Context| {
///     let n = served.fetch_add(1, Ordering::Relaxed) + 1;
///     let trace = ctx.xray_trace_id.unwrap_or_default(); // not in _X_AMZN_TRACE_ID here
///     Ok(format!("#{n} {trace}: {} bytes", event.len()).into_bytes())
/// }))
/// ```
///
/// - With the variable unset or `1`, this is the single loop: `_X_AMZN_TRACE_ID` is set per
///   invocation as usual.
/// - With a value that is not a whole number of at least 1, one line on stderr says so and
///   the single loop serves (fewer slots than allowed is always correct; guessing more is not).
/// - With N > 1, `_X_AMZN_TRACE_ID` is never set: the trace id is in [`Context::xray_trace_id`](crate::Context::xray_trace_id).
/// - A panic in one slot is reported for its invocation. Under `panic = "unwind"` that slot
///   keeps serving; under `panic = "abort"` the panic hook answers every slot's invocation in
///   flight (the others with `Runtime.Aborted`, naming the panic) before the process ends.
/// - A fatal Runtime API failure in any slot (such as a 500 on `next`) ends the process with
///   exit code 1 and one line on stderr.
pub fn concurrent<H>(handler: H) -> Concurrent<H>
where
    H: Handler + Clone + Send,
{
    Concurrent { handler }
}

impl<H> Runnable for Concurrent<H>
where
    H: Handler + Clone + Send,
{
    type Handler = H;

    fn run_loops(self, client: &Client, config: &Arc<Config>) -> Result<Infallible, RuntimeError> {
        let slots = config.max_concurrency;
        if slots == 1 {
            return serve::run_single_loop(client, config, self.handler);
        }
        let handler = &self.handler;
        thread::scope(|scope| {
            let (failures, first_failure) = mpsc::channel();
            for slot in 1..=slots {
                // A client (and a connection) of its own: the slots never wait for each other.
                let client = client.with_own_connection();
                let handler = handler.clone();
                let failures = failures.clone();
                let started = thread::Builder::new()
                    .name(format!("lambda-slot-{slot}"))
                    .stack_size(SLOT_STACK_BYTES)
                    .spawn_scoped(scope, move || {
                        // Handler panics are caught inside serve; this catches the runtime's own.
                        let failure = match catch_unwind(AssertUnwindSafe(|| {
                            serve::serve(&client, config, handler)
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
            // The other slots wait in `next`, which cannot be interrupted: end the process,
            // from the main thread only, so there is exactly one line.
            exit_with(&failure)
        })
    }

    fn into_handler(self) -> H {
        self.handler
    }
}
