//! Graceful shutdown: run the user's hooks when Lambda ends the execution environment.
//!
//! Lambda sends SIGTERM (and SIGKILL about 500 ms later) only to runtimes that have at least
//! one extension registered, so [`on_shutdown`] registers the runtime itself as an internal
//! extension ([`crate::extension`]). The signal is taken by an ordinary thread waiting in
//! `sigwait` ([`crate::sys`]), not by a signal handler, so the hooks may lock, allocate and do
//! I/O like any other code.
//!
//! Nothing here runs, and nothing is linked, unless `on_shutdown` is called.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::exit;
use std::sync::{Mutex, Once, PoisonError};
use std::thread;

use crate::extension::Extension;
use crate::runtime_line::runtime_line;
use crate::sys;

type Hook = Box<dyn FnOnce() + Send>;

/// The hooks, in the order they were registered.
static HOOKS: Mutex<Vec<Hook>> = Mutex::new(Vec::new());

/// Runs `hook` when Lambda shuts the execution environment down, then ends the process with
/// exit code 0. Call it first thing in `main`, before `run` or `run_init` and before any
/// other thread is started.
///
/// ```no_run
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
///
/// let served = Arc::new(AtomicU64::new(0));
/// let counter = Arc::clone(&served);
/// lambda_loop::runtime::on_shutdown(move || {
///     // Flush buffers, close connections, send the last metrics: within ~500 ms.
///     eprintln!("served {} invocations", counter.load(Ordering::Relaxed));
/// });
/// lambda_loop::run(move |event: &[u8], _ctx: lambda_loop::Context| {
///     served.fetch_add(1, Ordering::Relaxed);
///     Ok(event.to_vec())
/// })
/// ```
///
/// The first call:
/// 1. blocks SIGTERM for the calling thread, and so for every thread started after it;
/// 2. starts a thread that waits for SIGTERM with `sigwait`, then runs the hooks and exits;
/// 3. when `AWS_LAMBDA_RUNTIME_API` is set, registers the process as an internal extension
///    named `lambda-loop` (`POST /2020-01-01/extension/register` with no events), which is
///    what makes Lambda send SIGTERM at all, and starts a thread that keeps a
///    `GET /2020-01-01/extension/event/next` pending, as the Extensions API requires.
///
/// Later calls add their hook; hooks run one after the other, in the order they were added,
/// on the SIGTERM thread, while the loop may be waiting for an event or running one. A hook
/// that panics (under `panic = "unwind"`) does not stop the next ones; the exit code is then 1.
///
/// **Budget:** Lambda sends SIGKILL about 500 ms after SIGTERM when only internal extensions
/// are registered; whatever the hooks have not finished by then is lost.
///
/// **Why first in `main`:** a signal blocked on one thread can still be delivered to another
/// thread that does not block it, and the default action of SIGTERM ends the process without
/// running any hook. Threads inherit the signal mask of the thread that starts them, so every
/// thread started after `on_shutdown` is safe; a thread started before it is not.
///
/// **When registration fails** (an emulator without the Extensions API, say): one line on
/// stderr, and the function serves events as usual; a SIGTERM from elsewhere (`docker stop`)
/// still runs the hooks. Graceful shutdown is a nicety, not worth refusing every invocation
/// over. Without `AWS_LAMBDA_RUNTIME_API` (local invoke) nothing is registered either.
pub fn on_shutdown(hook: impl FnOnce() + Send + 'static) {
    HOOKS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Box::new(hook));
    static START: Once = Once::new();
    START.call_once(start);
}

fn start() {
    let sigterm = match sys::block_sigterm() {
        Ok(set) => set,
        Err(error) => {
            return runtime_line!(
                Error,
                "SIGTERM could not be blocked ({error}); the shutdown hooks will never run"
            );
        }
    };
    let waiter = thread::Builder::new()
        .name("lambda-loop-sigterm".into())
        .spawn(move || match sys::wait_for_sigterm(&sigterm) {
            Ok(()) => exit(run_hooks()),
            Err(error) => runtime_line!(
                Error,
                "waiting for SIGTERM failed ({error}); the shutdown hooks will never run"
            ),
        });
    if let Err(error) = waiter {
        return runtime_line!(
            Error,
            "the SIGTERM thread could not start ({error}); the shutdown hooks will never run"
        );
    }
    let Some(endpoint) = crate::environment::endpoint() else {
        return; // local invoke: there is no Extensions API to register with
    };
    match Extension::register(&endpoint) {
        Ok(extension) => keep_polling(extension),
        Err(failure) => runtime_line!(Warn, "{failure}: Lambda will not send SIGTERM, so the shutdown hooks will not run; serving without them"),
    }
}

/// Keeps one `event/next` call pending on its own thread, for the life of the environment.
fn keep_polling(extension: Extension) {
    let poller = thread::Builder::new()
        .name("lambda-loop-extension".into())
        .spawn(move || loop {
            if let Err(failure) = extension.next_event() {
                return runtime_line!(Warn, "{failure}; the extension stops polling");
            }
        });
    if let Err(error) = poller {
        runtime_line!(Error, "the extension thread could not start ({error}); Lambda may wait for it until the init timeout");
    }
}

/// Runs every hook, in order; the process's exit code: 0, or 1 when a hook panicked.
fn run_hooks() -> i32 {
    let hooks = std::mem::take(&mut *HOOKS.lock().unwrap_or_else(PoisonError::into_inner));
    let mut code = 0;
    for hook in hooks {
        if catch_unwind(AssertUnwindSafe(hook)).is_err() {
            code = 1;
        }
    }
    code
}
