//! The loop: `next` → the handler → the answer, for ever.
//!
//! Everything a Lambda runtime does with an invocation is in [`serve`], in the order it
//! happens; every other module is one thing the loop uses. What differs between functions is
//! what the loop is given, not a copy of it: the [`Handler`] says whether the answer is
//! buffered or streamed, and [`concurrent`](crate::concurrent) runs this same loop on N
//! threads.

use std::convert::Infallible;
use std::sync::Arc;

use crate::client::{Client, NextEvent};
use crate::context::{AnswerAddress, Config, Context};
use crate::error::{Result, RuntimeError};
use crate::handler::{AnswerKind, Handler, Out, Returns};
use crate::inflight;
use crate::panic;
use crate::protocol::env;
use crate::runtime_line::runtime_line;
use crate::snapstart;

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
        let NextEvent {
            answer_to,
            context,
            event,
        } = client.next_into(config, std::mem::take(&mut spare))?;
        // 2. The handler (a panic becomes the invocation's error).
        if !inflight::begin(&answer_to) {
            continue; // the process is ending: the hook's cause answered this one
        }
        // Nothing for a buffered answer; the response stream for a streamed one.
        let mut pending = H::Answer::to_runtime_api(client, &answer_to);
        let outcome = match event {
            Ok(mut event) => {
                let out = H::Answer::out(&mut pending);
                let outcome = panic::catching(|| handler.call_reusing(&mut event, context, out));
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
            // The response or the error post; the end of the stream (or an error post when
            // nothing was streamed). A response written into the event's buffer comes back.
            let answered = H::Answer::send(pending, outcome, client, &answer_to, &mut spare);
            inflight::answered();
            handler.answered();
            answered?;
            if spare.capacity() > SPARE_BYTES {
                spare = Vec::new();
            }
        }
    }
}

/// The largest event buffer the loop keeps for the next event: small events then cost no
/// allocation, and a large one's memory is not held between invocations.
const SPARE_BYTES: usize = 64 * 1024;

/// The loop's one-shot sibling for a local invoke: the handler once, on a given event, its
/// answer on stdout (a streamed one as it is written). The error is the caller's to print.
pub(crate) fn invoke_locally<H: Handler>(
    mut handler: H,
    event: &[u8],
    context: Context,
) -> Result<()> {
    if !inflight::begin(&AnswerAddress::of(&context)) {
        return Ok(()); // the process is ending: the hook's cause answered this one
    }
    let mut pending = H::Answer::to_stdout();
    let out = H::Answer::out(&mut pending);
    let outcome = panic::catching(|| handler.call(event, context, out));
    inflight::answered();
    H::Answer::finish_local(pending, outcome)
}

/// What the entry points ([`run`](crate::run), [`run_init`](crate::run_init),
/// [`start`]) accept: any [`Handler`], run by one loop, or
/// [`concurrent`](crate::concurrent)`(handler)`, run by as many loops as Lambda allows.
pub trait Runnable: Sized {
    /// The handler itself, for a local invoke (one event, no loop).
    type Handler: Handler;

    /// Runs the loop (or the loops) on invocations from `client` until the Runtime API fails.
    fn run_loops(self, client: &Client, config: &Arc<Config>) -> Result<Infallible, RuntimeError>;

    /// The handler, for a local invoke.
    fn into_handler(self) -> Self::Handler;
}

/// One invocation at a time, on this thread; `_X_AMZN_TRACE_ID` is set per invocation when
/// the configuration was read from the process environment.
impl<H: Handler> Runnable for H {
    type Handler = H;

    fn run_loops(self, client: &Client, config: &Arc<Config>) -> Result<Infallible, RuntimeError> {
        if config.max_concurrency > 1 {
            let slots = config.max_concurrency;
            runtime_line!(Warn, "{}={slots}, but this handler is served one invocation at a time; wrap it in lambda_loop::concurrent to serve {slots} at once", env::MAX_CONCURRENCY);
        }
        run_single_loop(client, config, self)
    }

    fn into_handler(self) -> H {
        self
    }
}

/// Connects to `endpoint`, runs `init` (an error goes to `/runtime/init/error`), runs
/// SnapStart's restore phase when `config.initialization_type` is `snap-start` (see
/// [`before_snapshot`](crate::runtime::before_snapshot)), and serves what `init` returned:
/// what [`run_init`](crate::run_init) does once it has read the environment.
/// Returns only when initialisation or the Runtime API fails. (A [`concurrent`](crate::concurrent)
/// handler with more than one slot ends the process itself, with one line: the other slots
/// cannot be stopped while they wait in `next`.)
pub fn start<I, R>(endpoint: &str, config: Arc<Config>, init: I) -> Result<Infallible, RuntimeError>
where
    I: FnOnce(&Config) -> Result<R>,
    R: Runnable,
{
    panic::install_hook();
    let client = Client::new(endpoint)?;
    match init(&config) {
        Ok(runnable) => {
            let client = match config.initialization_type == env::SNAP_START {
                true => snapstart::restore(client)?,
                false => client,
            };
            runnable.run_loops(&client, &config)
        }
        Err(error) => Err(RuntimeError::init_failed(
            &error,
            client.report_init_error(&error),
        )),
    }
}

/// The single loop: with `_X_AMZN_TRACE_ID` written per invocation when the process
/// environment is the function's ([`Config::from_env`]), never for a caller's configuration.
pub(crate) fn run_single_loop<H: Handler>(
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
    type Answer = H::Answer;

    fn call(&mut self, event: &[u8], context: Context, out: Out<'_, H>) -> Result<Returns<H>> {
        self.export_trace(&context);
        self.handler.call(event, context, out)
    }

    fn call_reusing(
        &mut self,
        buffer: &mut Vec<u8>,
        context: Context,
        out: Out<'_, H>,
    ) -> Result<Returns<H>> {
        self.export_trace(&context);
        self.handler.call_reusing(buffer, context, out)
    }

    fn answered(&mut self) {
        self.handler.answered();
    }
}
