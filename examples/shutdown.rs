//! Graceful shutdown: a hook that runs when Lambda ends the execution environment.
//!
//! Here the handler counts invocations and the hook reports the count, as a function would
//! flush buffered metrics or close a connection. The report goes to the file named by
//! `SHUTDOWN_REPORT` when that is set (the tests read it), and to stderr otherwise.
//!
//! Try it locally: run it against an emulator, then `kill -TERM <pid>`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn main() {
    let served = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&served);
    // First thing in main: before `run`, and before any other thread starts.
    lambda_loop::runtime::on_shutdown(move || {
        let report = format!(
            "shutting down after {} invocations\n",
            counted.load(Ordering::Relaxed)
        );
        match std::env::var_os("SHUTDOWN_REPORT") {
            Some(path) => {
                if let Err(error) = std::fs::write(&path, &report) {
                    eprintln!("cannot write {path:?}: {error}");
                }
            }
            None => eprint!("{report}"),
        }
    });
    lambda_loop::run(move |event: &[u8], _ctx: lambda_loop::Context| {
        served.fetch_add(1, Ordering::Relaxed);
        Ok(event.to_vec())
    })
}
