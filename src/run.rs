//! The entry points: read the environment once, then serve (or, without a Runtime API, run
//! the handler once on a local event).

use std::sync::Arc;

use crate::context::Config;
use crate::environment;
use crate::error::Result;
use crate::local;
use crate::runtime_line::{exit_with, runtime_line};
use crate::serve::{self, Runnable};

/// Serves invocations with `handler` until Lambda freezes or ends the process.
///
/// `handler` is any [`Handler`](crate::runtime::Handler): a function or closure
/// `FnMut(&[u8], Context) -> Result<Vec<u8>>`, or what [`json`](crate::json),
/// [`streaming`](crate::streaming) and [`streaming_json`](crate::streaming_json) make of a
/// typed or streaming one; wrapped in [`concurrent`](crate::concurrent), it serves several
/// invocations at once.
///
/// Without `AWS_LAMBDA_RUNTIME_API` in the environment, runs the handler once on a local event
/// instead (see the crate docs). Never returns: a broken Runtime API ends the process with
/// exit code 1 and one line on stderr.
pub fn run<R: Runnable>(handler: R) -> ! {
    run_init(move |_config| Ok(handler))
}

/// Like [`run`], with a fallible initialisation that builds the handler once, before the first
/// event: open clients, read settings, warm caches. An `Err` from `init` is posted to
/// `/runtime/init/error` (so the caller sees why) and the process exits with code 1.
///
/// ```no_run
/// lambda_loop::run_init(|config| {
///     let table = std::env::var("TABLE")
///         .map_err(|_| lambda_loop::Error::new("ConfigError", "TABLE is not set"))?;
///     let name = config.function_name.clone();
///     Ok(lambda_loop::json(move |key: String, _ctx| Ok(format!("{name}: {table}/{key}"))))
/// })
/// ```
pub fn run_init<I, R>(init: I) -> !
where
    I: FnOnce(&Config) -> Result<R>,
    R: Runnable,
{
    let (config, endpoint) = environment::read_at_start();
    let config = Arc::new(config);
    for problem in &config.problems {
        runtime_line!(Warn, "{problem}");
    }
    let Some(endpoint) = endpoint else {
        local::run_locally(config, init)
    };
    let Err(failure) = serve::start(&endpoint, config, init);
    exit_with(&failure)
}
