//! Local invoke: with no `AWS_LAMBDA_RUNTIME_API` in the environment, the same binary runs the
//! handler once, on an event read from the file named by its first argument or from stdin.
//!
//! The response goes to stdout and the exit code is 0; an error goes to stderr as the same
//! JSON Lambda would get, and the exit code is 1. This is how to try a function without any
//! emulator: `echo '{"name":"Ada"}' | ./bootstrap`.

use std::io::{IsTerminal, Read, Write};
use std::process::exit;
use std::time::Duration;

use crate::context::{Config, Context};
use crate::error::{Error, Result};
use crate::panic::call_handler;

/// The deadline the synthesized context carries: Lambda's largest timeout, so that handlers
/// that budget their work by `remaining_time()` behave as with a generous real setting.
const LOCAL_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Runs `init`, then the handler once, and exits.
pub(crate) fn invoke_once<I, F>(config: &'static Config, init: I) -> !
where
    I: FnOnce(&'static Config) -> Result<F>,
    F: FnMut(&[u8], Context) -> Result<Vec<u8>>,
{
    let event = match read_event(std::env::args_os().nth(1)) {
        Ok(event) => event,
        Err(reason) => {
            crate::logger::runtime_line!(Error, "local invoke: {reason}");
            exit(1);
        }
    };
    let outcome = init(config).and_then(|mut handler| {
        call_handler(&mut handler, &event, Context::local(config, LOCAL_TIMEOUT))
    });
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

/// Writes the error JSON, one line, to stderr.
pub(crate) fn print_error(error: &Error) {
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
                crate::logger::runtime_line!(Info, "AWS_LAMBDA_RUNTIME_API is not set, so this is a local invoke: type the event, then Ctrl-D");
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
