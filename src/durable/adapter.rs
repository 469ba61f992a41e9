//! The only glue between `lambda_loop::durable` and the runtime: a durable handler made into
//! a handler the loop serves. The envelope comes in, the handler runs against its execution,
//! and `{"Status": "PENDING" | "SUCCEEDED" | "FAILED"}` goes out.

use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::client::{Client, Settings};
use super::context::{decode, encode, update, DurableContext};
use super::error::Result;
use super::replay::{Identity, ANSWER_RESULT_LIMIT};
use super::session::Execution;
use super::wire::{Action, Answer, Envelope, OperationType};
use crate::context::Context;
use crate::handler::{Buffered, Handler};
use crate::protocol::error_type;

/// A durable handler made into one the loop serves, by [`handler`].
pub struct DurableHandler<F, I> {
    handler: F,
    /// Made on the first invocation (from the environment) unless given: shared by clones.
    client: Arc<OnceLock<Arc<Client>>>,
    input: PhantomData<fn(I)>,
}

impl<F: Clone, I> Clone for DurableHandler<F, I> {
    fn clone(&self) -> Self {
        DurableHandler {
            handler: self.handler.clone(),
            client: Arc::clone(&self.client),
            input: PhantomData,
        }
    }
}

/// Makes a durable handler into a runtime handler: a plain blocking function of the typed
/// input and a [`DurableContext`], whose operations checkpoint and replay.
///
/// ```no_run
/// use std::time::Duration;
///
/// #[derive(serde::Deserialize)]
/// struct Order { id: u64 }
///
/// lambda_loop::run(lambda_loop::durable::handler(|order: Order, ctx| {
///     let total: u64 = ctx.step("price", |_| Ok(order.id * 10))?;
///     ctx.wait("cool down", Duration::from_secs(60))?;
///     ctx.step("charge", |_| Ok(format!("charged {total}")))
/// }))
/// ```
///
/// The input is the execution's input (`InputPayload` of the event's EXECUTION operation,
/// `null` when there is none). The durable API is found as [`Settings::from_env`] says, on the
/// first invocation; [`DurableHandler::with_settings`] gives it explicitly.
///
/// The answer: `SUCCEEDED` with the result as JSON; `FAILED` with the error of an `Err` that
/// is a failure or a non-determinism error; `PENDING` for a suspension. A durable API that
/// cannot be reached, or an event that is not a durable execution's, is the invocation's
/// error (the service retries the invocation, which replays).
pub fn handler<I, O, F>(handler: F) -> DurableHandler<F, I>
where
    I: DeserializeOwned,
    O: Serialize,
    F: FnMut(I, &mut DurableContext) -> Result<O>,
{
    DurableHandler {
        handler,
        client: Arc::new(OnceLock::new()),
        input: PhantomData,
    }
}

impl<F, I> DurableHandler<F, I> {
    /// Uses these settings instead of the environment's (a test's fake service, a custom
    /// endpoint).
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.client = Arc::new(OnceLock::from(Arc::new(Client::new(settings))));
        self
    }

    /// True once settings were given (or read from the environment).
    #[cfg(feature = "durable-testing")]
    pub(crate) fn has_settings(&self) -> bool {
        self.client.get().is_some()
    }

    /// Runs the durable handler on one raw event: for a table of
    /// [`named`](crate::named) handlers, or a custom loop.
    pub fn handle<O>(&mut self, event: &[u8], context: Context) -> crate::Result<Vec<u8>>
    where
        I: DeserializeOwned,
        O: Serialize,
        F: FnMut(I, &mut DurableContext) -> Result<O>,
    {
        let envelope: Envelope = serde_json::from_slice(event).map_err(|error| {
            crate::Error::new(
                error_type::UNMARSHAL,
                format!("the event is not a durable execution's (DurableExecutionArn, CheckpointToken, InitialExecutionState): {error}"),
            )
        })?;
        let client = Arc::clone(
            self.client
                .get_or_init(|| Arc::new(Client::new(Settings::from_env()))),
        );
        let execution = Arc::new(Execution::start(client, envelope)?);
        let answer = run(&mut self.handler, &execution, context)?;
        let answer = serde_json::to_vec(&answer).map_err(|error| {
            crate::Error::new(
                error_type::MARSHAL,
                format!("the answer could not be serialized: {error}"),
            )
        })?;
        Ok(answer)
    }
}

/// Runs the handler once against `execution` and makes its answer.
fn run<I, O, F>(
    handler: &mut F,
    execution: &Arc<Execution>,
    context: Context,
) -> crate::Result<Answer>
where
    I: DeserializeOwned,
    O: Serialize,
    F: FnMut(I, &mut DurableContext) -> Result<O>,
{
    let (execution_id, input) = execution.input();
    let mut ctx = DurableContext::root(Arc::clone(execution), context);
    let outcome = decode::<I>(input.as_deref()).and_then(|input| handler(input, &mut ctx));
    let outcome = outcome.and_then(|value| encode(&value));
    // Whatever was queued (a step's START before a suspension) goes out before the answer.
    execution.flush()?;
    let error = match outcome {
        Ok(result) if result.len() <= ANSWER_RESULT_LIMIT => {
            return Ok(Answer::Succeeded { result })
        }
        Ok(result) => {
            // Too large for the answer: the SDKs checkpoint it as the execution's result.
            let identity = Identity {
                id: execution_id.unwrap_or_default(),
                parent_id: None,
                name: None,
                operation_type: OperationType::Execution,
                sub_type: "Execution",
            };
            let mut succeed = update(&identity, Action::Succeed);
            succeed.sub_type = None;
            succeed.payload = Some(result);
            execution.checkpoint(succeed)?;
            return Ok(Answer::Succeeded {
                result: String::new(),
            });
        }
        Err(error) => error,
    };
    Ok(match error.into_outcome()? {
        None => Answer::Pending,
        Some(error) => Answer::Failed { error },
    })
}

impl<F, I, O> Handler for DurableHandler<F, I>
where
    I: DeserializeOwned,
    O: Serialize,
    F: FnMut(I, &mut DurableContext) -> Result<O>,
{
    type Answer = Buffered;

    fn call(&mut self, event: &[u8], context: Context, (): ()) -> crate::Result<Vec<u8>> {
        self.handle(event, context)
    }
}
