//! SnapStart's restore phase: when `AWS_LAMBDA_INITIALIZATION_TYPE` is `snap-start`, after a
//! successful init and before the first `next`, Lambda snapshots the initialised environment
//! and later resumes copies of it. The runtime:
//!
//! 1. runs the before-snapshot hooks, in reverse order of registration;
//! 2. calls `GET /runtime/restore/next`: Lambda takes the snapshot while it waits, and the
//!    answer arrives in a restored environment;
//! 3. drops every connection opened before it (the snapshot does not keep them: the next call
//!    opens a fresh one);
//! 4. runs the after-restore hooks, in order of registration.
//!
//! A failing before-snapshot hook, or a `restore/next` that does not answer 2xx, is an init
//! failure (`/runtime/init/error`, exit); a failing after-restore hook is posted to
//! `/runtime/restore/error` as `Runtime.AfterRestoreError`, and the process exits.
//!
//! When SnapStart applies to a custom runtime: AWS documents runtime hooks for custom runtimes
//! (the page "runtime hooks for custom runtimes") for functions packaged as container images
//! on `provided` base images; a zip function on `provided.al2023` is not offered SnapStart. In
//! an after-restore hook, rebuild what a copy of the snapshot must not share: network
//! connections (dropped by the snapshot), random seeds and unique ids (every copy would repeat
//! them), and credentials or tokens cached before the snapshot (they may have expired).
//!
//! Without SnapStart none of this runs: the hooks are kept and never called, and no call or
//! syscall is made.

use std::cell::RefCell;

use crate::client::Client;
use crate::error::{Error, Result, RuntimeError};
use crate::protocol::error_type;

type Hook = Box<dyn FnOnce() -> Result<()>>;

thread_local! {
    /// Hooks registered on this thread (the one that calls `run` or `run_init`), in order.
    static BEFORE_SNAPSHOT: RefCell<Vec<Hook>> = const { RefCell::new(Vec::new()) };
    static AFTER_RESTORE: RefCell<Vec<Hook>> = const { RefCell::new(Vec::new()) };
}

/// Registers `hook` to run before Lambda takes the SnapStart snapshot (hooks run in reverse
/// order of registration: the last registered runs first). Call it on the thread that calls
/// [`run`](crate::run) or [`run_init`](crate::run_init), before it or inside the
/// initialisation. An `Err` fails the initialisation.
///
/// ```no_run
/// use lambda_loop::runtime::{after_restore, before_snapshot};
///
/// lambda_loop::run_init(|_config| {
///     before_snapshot(|| {
///         // flush and close what must not be in the snapshot
///         Ok(())
///     });
///     after_restore(|| {
///         // reconnect, reseed random generators, refresh credentials
///         Ok(())
///     });
///     Ok(|event: &[u8], _ctx: lambda_loop::Context| Ok(event.to_vec()))
/// })
/// ```
pub fn before_snapshot(hook: impl FnOnce() -> Result<()> + 'static) {
    BEFORE_SNAPSHOT.with(|hooks| hooks.borrow_mut().push(Box::new(hook)));
}

/// Registers `hook` to run after the environment was restored from a SnapStart snapshot,
/// before the first `next` (hooks run in order of registration). Call it on the thread that
/// calls [`run`](crate::run) or [`run_init`](crate::run_init). An `Err` is posted to
/// `/runtime/restore/error` and the process exits.
pub fn after_restore(hook: impl FnOnce() -> Result<()> + 'static) {
    AFTER_RESTORE.with(|hooks| hooks.borrow_mut().push(Box::new(hook)));
}

/// The restore phase, on `client`; returns the client to serve with (a fresh connection).
pub(crate) fn restore(client: Client) -> std::result::Result<Client, RuntimeError> {
    let before = BEFORE_SNAPSHOT.with(|hooks| std::mem::take(&mut *hooks.borrow_mut()));
    let after = AFTER_RESTORE.with(|hooks| std::mem::take(&mut *hooks.borrow_mut()));
    for hook in before.into_iter().rev() {
        if let Err(error) = run_hook(hook, error_type::BEFORE_SNAPSHOT, "a before-snapshot") {
            return Err(RuntimeError::init_failed(
                &error,
                client.report_init_error(&error),
            ));
        }
    }
    if let Err(failure) = client.restore_next() {
        let error = Error::new(error_type::RESTORE, failure.to_string());
        return Err(RuntimeError::init_failed(
            &error,
            client.report_init_error(&error),
        ));
    }
    // The snapshot kept no connection: the restored process starts on a new one.
    let client = client.with_own_connection();
    for hook in after {
        if let Err(error) = run_hook(hook, error_type::AFTER_RESTORE, "an after-restore") {
            return Err(RuntimeError::AfterRestore {
                message: error.message().to_owned(),
                unreported: client
                    .report_restore_error(&error)
                    .err()
                    .map(|failure| failure.to_string()),
            });
        }
    }
    Ok(client)
}

/// Runs one hook (a panic is its failure); a failure becomes an error of `error_type` whose
/// message names the hook's kind and the hook's own error, with the hook's stack trace.
fn run_hook(hook: Hook, error_type: &str, kind: &str) -> Result<()> {
    crate::panic::catching(hook).map_err(|error| {
        Error::new(error_type, format!("{kind} hook failed: {error}"))
            .with_stack_trace(error.stack_trace().iter().cloned())
    })
}
