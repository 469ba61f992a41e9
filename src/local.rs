//! Local invoke: with no `AWS_LAMBDA_RUNTIME_API` in the environment, the same binary runs the
//! handler once, on an event read from the file named by its first argument or from stdin.
//!
//! The response goes to stdout and the exit code is 0; an error goes to stderr as the same
//! JSON Lambda would get, and the exit code is 1. Lambda's limits apply as under the Runtime
//! API: a buffered response over 6 MB is a `Runtime.ResponseTooLarge` error. This is how to
//! try a function without any emulator: `echo '{"name":"Ada"}' | ./bootstrap`.

use std::io::{IsTerminal, Read, Write};
use std::process::exit;
use std::sync::Arc;
use std::time::Duration;

use crate::context::{AnswerAddress, Config, Context};
use crate::error::{Error, Result};
use crate::inflight::{self, AnswerWithError};
use crate::protocol::env;
use crate::runtime_line::{exit_with, runtime_line};
use crate::serve::{self, Runnable};

/// The deadline the synthesized context carries: Lambda's largest timeout, so that handlers
/// that budget their work by `remaining_time()` behave as with a generous real setting.
const LOCAL_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Runs `init`, then the handler once, and exits.
pub(crate) fn run_locally<I, R>(config: Arc<Config>, init: I) -> !
where
    I: FnOnce(&Config) -> Result<R>,
    R: Runnable,
{
    let event = match read_event(std::env::args_os().nth(1)) {
        Ok(event) => event,
        Err(reason) => exit_with(&format_args!("local invoke: {reason}")),
    };
    crate::panic::install_hook();
    // Under panic = "abort" the hook prints the error JSON through this slot.
    let _slot = inflight::register(Arc::new(Stderr));
    let outcome = init(&config).and_then(|runnable| {
        let context = Context::local(config, LOCAL_TIMEOUT);
        serve::invoke_locally(runnable.into_handler(), &event, context)
    });
    match outcome {
        Ok(()) => exit(0),
        Err(error) => {
            print_error(&error);
            exit(1);
        }
    }
}

/// Where a local invoke's error goes: one line of error JSON on stderr.
struct Stderr;

impl AnswerWithError for Stderr {
    fn answer_with_error(&self, _: &AnswerAddress, error: &Error, _: Duration) -> bool {
        print_error(error);
        true
    }
}

fn print_error(error: &Error) {
    let mut line = error.to_json();
    line.push(b'\n');
    let _ = std::io::stderr().write_all(&line);
}

fn read_event(path: Option<std::ffi::OsString>) -> std::result::Result<Vec<u8>, String> {
    match path {
        Some(path) => std::fs::read(&path)
            .map_err(|error| format!("cannot read the event file {path:?}: {error}")),
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                runtime_line!(
                    Info,
                    "{} is not set, so this is a local invoke: type the event, then Ctrl-D",
                    env::RUNTIME_API
                );
            }
            let mut event = Vec::new();
            stdin
                .lock()
                .read_to_end(&mut event)
                .map_err(|error| format!("cannot read the event from stdin: {error}"))?;
            Ok(event)
        }
    }
}
