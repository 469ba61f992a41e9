//! The loop: `next` → the handler → the answer, for ever.
//!
//! Everything a Lambda runtime does with an invocation is in [`serve`], in the order it
//! happens; every other module is one thing the loop uses. What differs between functions is
//! what the loop is given, not a copy of it: the [`Handler`] says whether the answer is
//! buffered or streamed, and [`concurrent`](crate::concurrent) runs this same loop on N
//! threads.

use std::convert::Infallible;
use std::sync::Arc;

use crate::api::{Client, Delivery};
use crate::context::{Config, Context, Invocation};
use crate::error::{Result, RuntimeError};
use crate::handler::Handler;
use crate::inflight;
use crate::panic;
use crate::protocol::env;
use crate::runtime_line::runtime_line;
use crate::snapstart;
use crate::stream::ResponseStream;

/// The life of an invocation, over and over. Returns only when the Runtime API fails (the
/// caller should then end the process: Lambda starts a fresh environment).
///
/// This is the low layer the entry points are made of: a custom `main` (or a test) can serve
/// against any endpoint and [`Config`], without the process environment:
///
/// ```no_run
/// use std::sync::Arc;
/// use lambda_loop::runtime::{serve, Client};
///
/// let client = Client::new("127.0.0.1:9001")?;
/// let config = Arc::new(lambda_loop::Config::default());
/// let echo = |event: &[u8], _ctx: lambda_loop::Context| Ok(event.to_vec());
/// let Err(failure) = serve(&client, &config, echo);
/// eprintln!("{failure}");
/// # Ok::<(), lambda_loop::runtime::RuntimeError>(())
/// ```
pub fn serve<H: Handler>(
    client: &Client,
    config: &Arc<Config>,
    mut handler: H,
) -> Result<Infallible, RuntimeError> {
    panic::install_hook();
    let _slot = inflight::register(Arc::new(client.clone()));
    // The last event's buffer, read into again by the next `next` (kept up to SPARE_BYTES).
    let mut spare = Vec::new();
    loop {
        // 1. The next event: blocks until Lambda has one.
        let Delivery {
            invocation,
            context,
            event,
        } = client.next_into(config, std::mem::take(&mut spare))?;
        // 2. The handler (a panic becomes the invocation's error).
        inflight::begin(&invocation);
        let mut stream = match H::STREAMS {
            true => ResponseStream::to_runtime_api(client, &invocation),
            false => ResponseStream::unused(),
        };
        let outcome = match event {
            Ok(mut event) => {
                let outcome =
                    panic::catching(|| handler.call_reusing(&mut event, context, &mut stream));
                // Empty when the handler took the buffer for its answer.
                if event.capacity() <= SPARE_BYTES {
                    spare = event;
                }
                outcome
            }
            Err(error) => Err(error),
        };
        // 3. The answer: exactly one, unless a panic elsewhere gave it already.
        if inflight::answer_now() {
            let answered = match (H::STREAMS, outcome) {
                (true, outcome) => stream.finish(outcome.map(drop)),
                (false, Ok(response)) => {
                    let answered = client.respond(&invocation, &response);
                    // A handler that took the event's buffer gave it back as its answer.
                    if spare.capacity() == 0 && response.capacity() <= SPARE_BYTES {
                        spare = response;
                    }
                    answered
                }
                (false, Err(error)) => client.fail(&invocation, &error),
            };
            inflight::answered();
            answered?;
        }
    }
}

/// The largest event buffer the loop keeps for the next event: small events then cost no
/// allocation, and a large one's memory is not held between invocations.
const SPARE_BYTES: usize = 64 * 1024;

/// The loop's one-shot sibling for a local invoke: the handler once, on a given event, with
/// a streamed answer going to stdout as it is written. Returns what a buffered handler
/// returned (a streaming handler's bytes are out already).
pub(crate) fn invoke_once<H: Handler>(
    mut handler: H,
    event: &[u8],
    context: Context,
) -> Result<Vec<u8>> {
    inflight::begin(&Invocation::of(&context));
    let mut stream = match H::STREAMS {
        true => ResponseStream::to_stdout(),
        false => ResponseStream::unused(),
    };
    let outcome = panic::catching(|| handler.call(event, context, &mut stream));
    inflight::answered();
    match H::STREAMS {
        true => stream.finish_local(outcome.map(drop)).map(|()| Vec::new()),
        false => outcome,
    }
}

/// What an entry point can serve: any [`Handler`] (one invocation at a time), or
/// [`concurrent`](crate::concurrent)`(handler)` (as many at once as Lambda allows).
pub trait Serve: Sized {
    /// Serves invocations from `client` until the Runtime API fails.
    fn serve(self, client: &Client, config: &Arc<Config>) -> Result<Infallible, RuntimeError>;

    /// Runs once on a local event, answering on stdout (local invoke).
    fn invoke_once(self, event: &[u8], context: Context) -> Result<Vec<u8>>;
}

/// One invocation at a time, on this thread; `_X_AMZN_TRACE_ID` is set per invocation when
/// the configuration was read from the process environment.
impl<H: Handler> Serve for H {
    fn serve(self, client: &Client, config: &Arc<Config>) -> Result<Infallible, RuntimeError> {
        if config.max_concurrency > 1 {
            let slots = config.max_concurrency;
            runtime_line!(Warn, "{}={slots}, but this handler is served one invocation at a time; wrap it in lambda_loop::concurrent to serve {slots} at once", env::MAX_CONCURRENCY);
        }
        serve_one_at_a_time(client, config, self)
    }

    fn invoke_once(self, event: &[u8], context: Context) -> Result<Vec<u8>> {
        invoke_once(self, event, context)
    }
}

/// Connects to `endpoint`, runs `init` (an error goes to `/runtime/init/error`), runs
/// SnapStart's restore phase when `config.initialization_type` is `snap-start` (see
/// [`before_snapshot`](crate::runtime::before_snapshot)), and serves what `init` returned:
/// what [`run_init`](crate::run_init) does once it has read the environment.
/// Returns only when initialisation or the Runtime API fails. (A [`concurrent`](crate::concurrent)
/// handler with more than one slot ends the process itself, with one line: the other slots
/// cannot be stopped while they wait in `next`.)
pub fn start<I, S>(endpoint: &str, config: Arc<Config>, init: I) -> Result<Infallible, RuntimeError>
where
    I: FnOnce(&Config) -> Result<S>,
    S: Serve,
{
    panic::install_hook();
    let client = Client::new(endpoint)?;
    match init(&config) {
        Ok(served) => {
            let client = match config.initialization_type == env::SNAP_START {
                true => snapstart::restore(client)?,
                false => client,
            };
            served.serve(&client, &config)
        }
        Err(error) => Err(client.init_failed(&error)),
    }
}

/// The single loop: with `_X_AMZN_TRACE_ID` written per invocation when the process
/// environment is the function's ([`Config::from_env`]), never for a caller's configuration.
pub(crate) fn serve_one_at_a_time<H: Handler>(
    client: &Client,
    config: &Arc<Config>,
    handler: H,
) -> Result<Infallible, RuntimeError> {
    // One loop either way (a flag, not a second copy of the loop in the binary).
    serve(client, config, SetsTraceEnv::new(handler, config.from_env))
}

/// Puts each invocation's trace id into `_X_AMZN_TRACE_ID` for X-Ray SDKs, and removes a
/// previous one when the invocation has none. Given to the single loop only: one process-wide
/// variable cannot serve concurrent invocations.
struct SetsTraceEnv<H> {
    handler: H,
    /// False for a caller's configuration: then the environment is never written.
    enabled: bool,
    /// Whether the variable may hold a value (one inherited at start counts): removing it is a
    /// scan of the environment, paid only when there is something to remove.
    maybe_set: bool,
}

impl<H> SetsTraceEnv<H> {
    fn new(handler: H, enabled: bool) -> SetsTraceEnv<H> {
        SetsTraceEnv {
            handler,
            enabled,
            maybe_set: true,
        }
    }

    /// Writes (or removes) `_X_AMZN_TRACE_ID` for this invocation.
    fn export_trace(&mut self, context: &Context) {
        match context.xray_trace_id.as_deref() {
            _ if !self.enabled => {}
            // set_var panics on a NUL byte; such a header is no trace id anyway.
            Some(id) if !id.contains('\0') => {
                std::env::set_var(env::TRACE_ID, id);
                self.maybe_set = true;
            }
            _ if self.maybe_set => {
                std::env::remove_var(env::TRACE_ID);
                self.maybe_set = false;
            }
            _ => {}
        }
    }
}

impl<H: Handler> Handler for SetsTraceEnv<H> {
    const STREAMS: bool = H::STREAMS;

    fn call(
        &mut self,
        event: &[u8],
        context: Context,
        out: &mut ResponseStream,
    ) -> Result<Vec<u8>> {
        self.export_trace(&context);
        self.handler.call(event, context, out)
    }

    fn call_reusing(
        &mut self,
        buffer: &mut Vec<u8>,
        context: Context,
        out: &mut ResponseStream,
    ) -> Result<Vec<u8>> {
        self.export_trace(&context);
        self.handler.call_reusing(buffer, context, out)
    }
}
