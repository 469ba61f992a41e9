//! The loop: `next` → call the handler → `response` (or `error`), forever.
//!
//! Everything a Lambda runtime does is in this file, in the order it happens; every other
//! module is one thing the loop uses.

use std::convert::Infallible;
use std::ffi::OsString;
use std::process::exit;

use crate::api::{Api, Invocation, RUNTIME_API_VAR};
use crate::context::{Config, Context};
use crate::error::{Error, Result, RuntimeError};
use crate::{concurrent, local, panic};

/// Lambda's limit for a buffered response body, in bytes. A larger post would get 413, and
/// the invocation's later `/error` a 403: so we check first and report an error instead.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// Serves invocations with `handler` until Lambda freezes or ends the process.
///
/// Without `AWS_LAMBDA_RUNTIME_API` in the environment, runs the handler once on a local event
/// instead (see the crate docs). Never returns: a broken Runtime API ends the process with
/// exit code 1 and one line on stderr.
pub fn run<F>(handler: F) -> !
where
    F: FnMut(&[u8], Context) -> Result<Vec<u8>>,
{
    run_init(move |_config| Ok(handler))
}

/// Like [`run`], with a fallible initialisation that builds the handler once, before the first
/// event: open clients, read settings, warm caches. An `Err` from `init` is posted to
/// `/runtime/init/error` (so the caller sees why) and the process exits with code 1.
pub fn run_init<I, F>(init: I) -> !
where
    I: FnOnce(&'static Config) -> Result<F>,
    F: FnMut(&[u8], Context) -> Result<Vec<u8>>,
{
    let config = prepare();
    let Some(endpoint) = std::env::var_os(RUNTIME_API_VAR) else {
        local::invoke_once(config, init)
    };
    concurrent::note_single_loop();
    let Err(failure) = start(endpoint, config, init);
    crate::logger::runtime_line!(Error, "{failure}; exiting");
    exit(1)
}

/// What every entry point does first: read the function's configuration once (shared by every
/// invocation's Context for the life of the process) and install the panic hook.
pub(crate) fn prepare() -> &'static Config {
    let config = Box::leak(Box::new(Config::from_env()));
    panic::install_hook();
    config
}

/// Connects, initialises, and serves: only a runtime failure ever comes back.
fn start<I, F>(
    endpoint: OsString,
    config: &'static Config,
    init: I,
) -> Result<Infallible, RuntimeError>
where
    I: FnOnce(&'static Config) -> Result<F>,
    F: FnMut(&[u8], Context) -> Result<Vec<u8>>,
{
    let api = Api::new(&endpoint.to_string_lossy())?;
    panic::report_to(&api);
    match init(config) {
        Ok(handler) => serve(&api, config, handler, TraceEnv::Set),
        Err(error) => Err(RuntimeError::Init {
            error_type: error.error_type().to_owned(),
            message: error.message().to_owned(),
            unreported: api.init_fail(&error).err(),
        }),
    }
}

/// Whether the loop puts each invocation's trace id into `_X_AMZN_TRACE_ID`.
pub(crate) enum TraceEnv {
    /// The single loop: one invocation at a time, so the process-wide variable is right.
    Set,
    /// Concurrent slots: one variable would race between them; the trace id is in the Context.
    LeaveAlone,
}

/// The life of an invocation, over and over.
pub(crate) fn serve<F>(
    api: &Api,
    config: &'static Config,
    mut handler: F,
    trace_env: TraceEnv,
) -> Result<Infallible, RuntimeError>
where
    F: FnMut(&[u8], Context) -> Result<Vec<u8>>,
{
    loop {
        let Invocation { context, event } = api.next(config)?;
        if let TraceEnv::Set = trace_env {
            set_trace_id_env(context.xray_trace_id.as_deref());
        }
        let request_id = context.request_id.clone();
        let outcome = event.and_then(|event| panic::call_handler(&mut handler, &event, context));
        match outcome {
            Ok(response) if response.len() > MAX_RESPONSE_BYTES => {
                api.fail(&request_id, &too_large(response.len()))?
            }
            Ok(response) => api.respond(&request_id, &response)?,
            Err(error) => api.fail(&request_id, &error)?,
        }
    }
}

/// X-Ray SDKs read the trace id from `_X_AMZN_TRACE_ID`: set it for this invocation, and
/// remove a previous one when this invocation has none. (Only the single loop does this; one
/// process-wide variable cannot serve concurrent invocations.)
pub(crate) fn set_trace_id_env(trace_id: Option<&str>) {
    const VAR: &str = "_X_AMZN_TRACE_ID";
    match trace_id {
        // set_var panics on a NUL byte; such a header is no trace id anyway.
        Some(id) if !id.contains('\0') => std::env::set_var(VAR, id),
        _ => std::env::remove_var(VAR),
    }
}

fn too_large(bytes: usize) -> Error {
    Error::new(
        "Runtime.ResponseTooLarge",
        format!("the response is {bytes} bytes, more than the {MAX_RESPONSE_BYTES} bytes Lambda accepts for a buffered response"),
    )
}
