//! Local invoke: with no `AWS_LAMBDA_RUNTIME_API` in the environment, the same binary runs the
//! handler once, on an event read from the file named by its first argument or from stdin.
//!
//! The response goes to stdout and the exit code is 0; an error goes to stderr as the same
//! JSON Lambda would get, and the exit code is 1. Lambda's limits apply as under the Runtime
//! API: a buffered response over 6 MB is a `Runtime.ResponseTooLarge` error. This is how to try a function without any
//! emulator: `echo '{"name":"Ada"}' | ./bootstrap`.

use std::io::{IsTerminal, Read, Write};
use std::process::exit;
use std::sync::Arc;
use std::time::Duration;

use crate::api::check_buffered_response_size;
use crate::context::{Config, Context, Invocation};
use crate::error::{Error, Result};
use crate::inflight::{self, Abandon};
use crate::protocol::env;
use crate::runtime_line::runtime_line;
use crate::serve::Serve;

/// The deadline the synthesized context carries: Lambda's largest timeout, so that handlers
/// that budget their work by `remaining_time()` behave as with a generous real setting.
const LOCAL_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Runs `init`, then the handler once, and exits.
pub(crate) fn invoke_once<I, S>(config: Arc<Config>, init: I) -> !
where
    I: FnOnce(&Config) -> Result<S>,
    S: Serve,
{
    let event = match read_event(std::env::args_os().nth(1)) {
        Ok(event) => event,
        Err(reason) => {
            runtime_line!(Error, "local invoke: {reason}");
            exit(1);
        }
    };
    crate::panic::install_hook();
    // Under panic = "abort" the hook prints the error JSON through this slot.
    let _slot = inflight::register(Arc::new(Stderr));
    let outcome = init(&config)
        .and_then(|served| served.invoke_once(&event, Context::local(config, LOCAL_TIMEOUT)))
        .and_then(|response| check_buffered_response_size(response.len()).map(|()| response));
    match outcome {
        Ok(response) => {
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(&response)
                .and_then(|()| stdout.flush())
                .is_err()
            {
                exit(1);
            }
            exit(0);
        }
        Err(error) => {
            print_error(&error);
            exit(1);
        }
    }
}

/// Where a local invoke's error goes: one line of error JSON on stderr.
struct Stderr;

impl Abandon for Stderr {
    fn abandon(&self, _invocation: &Invocation, error: &Error) -> bool {
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
