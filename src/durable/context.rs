//! What a durable handler gets: the [`DurableContext`], whose methods are the operations.
//! Each method takes the next operation id of its context, reads the record (replay.rs says
//! what a record means), and then returns the recorded result, runs the work and checkpoints
//! it, or returns the suspension that `?` carries to the adapter.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{Error, Result};
use super::options::{CallbackOptions, StepOptions};
use super::replay::{
    self, await_plan, context_plan, step_plan, AwaitPlan, ContextPlan, Identity, Start, StepPlan,
};
use super::session::Execution;
use super::wire::{
    Action, CallbackUpdateOptions, ChainedInvokeUpdateOptions, ContextUpdateOptions, ErrorObject,
    OperationStatus, OperationType, OperationUpdate, StepUpdateOptions, WaitUpdateOptions,
};
use crate::context::Context;

/// The durable context of one invocation (or of one child context, map item or parallel
/// branch): its methods are the durable operations.
///
/// Every operation is named, and the names, types and order of the operations must be the
/// same on every replay (see the [module docs](super)).
pub struct DurableContext {
    execution: Arc<Execution>,
    lambda: Context,
    /// The id of the child context this is, `None` for the root.
    parent_id: Option<String>,
    /// Operations taken so far.
    counter: u64,
}

/// What a step's work gets.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StepContext {
    /// The attempt this is, from 1.
    pub attempt: u32,
    /// The step's operation id.
    pub operation_id: String,
}

/// What a `wait_for_condition` check decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitDecision {
    /// The condition holds: the operation returns the state.
    Done,
    /// Not yet: check again after this long (whole seconds, at least one).
    RetryAfter(Duration),
}

impl DurableContext {
    pub(crate) fn root(execution: Arc<Execution>, lambda: Context) -> DurableContext {
        DurableContext {
            execution,
            lambda,
            parent_id: None,
            counter: 0,
        }
    }

    pub(crate) fn child(&self, id: String) -> DurableContext {
        DurableContext {
            execution: Arc::clone(&self.execution),
            lambda: self.lambda.clone(),
            parent_id: Some(id),
            counter: 0,
        }
    }

    /// The invocation's Lambda context (request id, deadline, function configuration).
    pub fn lambda_context(&self) -> &Context {
        &self.lambda
    }

    pub(crate) fn parent_id(&self) -> Option<&str> {
        self.parent_id.as_deref()
    }

    /// The invocation's execution, which every context of it shares.
    pub(crate) fn execution(&self) -> &Execution {
        &self.execution
    }

    /// The identity of the next operation of this context.
    pub(crate) fn next_identity(
        &mut self,
        operation_type: OperationType,
        sub_type: &'static str,
        name: Option<String>,
    ) -> Identity {
        self.counter += 1;
        Identity {
            id: replay::operation_id(self.parent_id.as_deref(), self.counter),
            parent_id: self.parent_id.clone(),
            name,
            operation_type,
            sub_type,
        }
    }

    /// The record of `identity`, checked against it.
    fn record(&self, identity: &Identity) -> Result<Option<super::wire::Operation>> {
        let record = self.execution.record(&identity.id);
        Ok(identity.check(record.as_ref())?.cloned())
    }

    /// Runs `work` as a step named `name`, with the default options (6 attempts, exponential
    /// backoff from 5 s; at least once per retry). On replay a finished step returns its
    /// recorded result without running.
    ///
    /// A failed attempt is retried by suspending: the invocation answers `PENDING` and the
    /// service invokes the function again when the retry is due. The last failure is the
    /// step's: its error type and message, recorded, come back as the `Err`.
    pub fn step<T, F>(&mut self, name: &str, work: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(StepContext) -> Result<T>,
    {
        self.step_with(name, StepOptions::default(), work)
    }

    /// [`step`](Self::step) with options: a retry strategy, at-most-once semantics.
    pub fn step_with<T, F>(&mut self, name: &str, options: StepOptions, work: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(StepContext) -> Result<T>,
    {
        // Only running `work` and the JSON of `T` are generic: the rest is in the non-generic
        // functions below, once in the binary instead of once per closure.
        let (identity, attempt) = match self.start_step(name, &options)? {
            StepStart::Replayed(result) => return decode(result.as_deref()),
            StepStart::Run { identity, attempt } => (identity, attempt),
        };
        let outcome = work(StepContext {
            attempt,
            operation_id: identity.id.clone(),
        });
        match outcome.and_then(|value| round_trip(&value)) {
            Ok((payload, value)) => {
                self.step_succeeded(name, &identity, payload)?;
                Ok(value)
            }
            Err(error) => Err(self.step_errored(&identity, &options, attempt, error)),
        }
    }

    /// A step's identity and plan: its recorded result, or the attempt to run (with its START
    /// checkpointed as the semantics say).
    fn start_step(&mut self, name: &str, options: &StepOptions) -> Result<StepStart> {
        let identity = self.next_identity(OperationType::Step, "Step", Some(name.to_owned()));
        let record = self.record(&identity)?;
        let (attempt, start) = match step_plan(record.as_ref(), options.semantics) {
            StepPlan::Done(result) => return Ok(StepStart::Replayed(result)),
            StepPlan::Failed(error) => return Err(error),
            StepPlan::Suspend => return Err(Error::suspend()),
            StepPlan::Interrupted { attempt } => {
                let error = Error::new(
                    "StepInterruptedError",
                    format!("step {name:?} was interrupted during attempt {attempt} (at most once per retry)"),
                );
                return Err(self.step_failed(&identity, options, attempt, error));
            }
            StepPlan::Run { attempt, start } => (attempt, start),
        };
        match start {
            Start::None => {}
            Start::Queued => self.execution.queue(update(&identity, Action::Start)),
            Start::Confirmed => self.checkpoint(update(&identity, Action::Start))?,
        }
        Ok(StepStart::Run { identity, attempt })
    }

    /// Checkpoints a step's result (JSON text), or its failure when the text is more than a
    /// checkpoint holds.
    fn step_succeeded(&self, name: &str, identity: &Identity, payload: String) -> Result<()> {
        if payload.len() > replay::CHECKPOINT_RESULT_LIMIT {
            let error = Error::new(
                "PayloadTooLarge",
                format!(
                    "step {name:?} returned {} bytes of JSON, more than the {} a checkpoint holds; return it from run_in_child_context, which replays its children instead",
                    payload.len(),
                    replay::CHECKPOINT_RESULT_LIMIT
                ),
            );
            let mut fail = update(identity, Action::Fail);
            fail.error = error.error_object();
            self.checkpoint(fail)?;
            return Err(error);
        }
        let mut succeed = update(identity, Action::Succeed);
        succeed.payload = Some(payload);
        self.checkpoint(succeed)
    }

    /// What a step's error becomes: a failure is the attempt's (see `step_failed`); anything
    /// else (a suspension) goes up as it is.
    fn step_errored(
        &self,
        identity: &Identity,
        options: &StepOptions,
        attempt: u32,
        error: Error,
    ) -> Error {
        if error.is_failure() {
            self.step_failed(identity, options, attempt, error)
        } else {
            error
        }
    }

    /// Checkpoints a failed attempt: RETRY with the delay when the strategy retries it (and
    /// returns the suspension), FAIL otherwise (and returns the error).
    fn step_failed(
        &self,
        identity: &Identity,
        options: &StepOptions,
        attempt: u32,
        error: Error,
    ) -> Error {
        let recorded = error.error_object();
        let (action, delay) = match options.retry.delay_after(attempt, &error) {
            Some(delay) => (Action::Retry, Some(delay)),
            None => (Action::Fail, None),
        };
        let mut failed = update(identity, action);
        failed.error = recorded;
        failed.step_options = delay.map(|delay| StepUpdateOptions {
            next_attempt_delay_seconds: whole_seconds(delay),
        });
        if let Err(checkpoint_error) = self.checkpoint(failed) {
            return checkpoint_error;
        }
        match delay {
            Some(_) => Error::suspend(),
            None => error,
        }
    }

    /// Waits `duration` (whole seconds, at least one) without running: the invocation ends
    /// `PENDING` and the service invokes the function again when the time is up.
    pub fn wait(&mut self, name: &str, duration: Duration) -> Result<()> {
        let identity = self.next_identity(OperationType::Wait, "Wait", Some(name.to_owned()));
        let record = self.record(&identity)?;
        match await_plan(record.as_ref()) {
            AwaitPlan::Succeeded(_) => Ok(()),
            AwaitPlan::Failed(error) => Err(error),
            AwaitPlan::Waiting => Err(Error::suspend()),
            AwaitPlan::Start => {
                let mut start = update(&identity, Action::Start);
                start.wait_options = Some(WaitUpdateOptions {
                    wait_seconds: whole_seconds(duration),
                });
                self.checkpoint(start)?;
                match self
                    .execution
                    .record(&identity.id)
                    .map(|record| record.status)
                {
                    Some(OperationStatus::Succeeded) => Ok(()),
                    _ => Err(Error::suspend()),
                }
            }
        }
    }

    /// Runs `work` in a child context named `name`: its operations are numbered in a space of
    /// their own, and when it finishes its result is checkpointed as one operation, so a
    /// replay returns it without replaying the children. A result larger than a checkpoint
    /// holds (256 KB of JSON) is not checkpointed: the context is marked `ReplayChildren`, and
    /// replays run `work` again, its children returning their recorded results.
    pub fn run_in_child_context<T, F>(&mut self, name: &str, work: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(&mut DurableContext) -> Result<T>,
    {
        let identity = self.next_identity(
            OperationType::Context,
            "RunInChildContext",
            Some(name.to_owned()),
        );
        self.run_context(identity, work)
    }

    /// A child context operation of `identity`, run by `work`.
    pub(crate) fn run_context<T, F>(&self, identity: Identity, work: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(&mut DurableContext) -> Result<T>,
    {
        let record = self.record(&identity)?;
        let checkpoint_end = match context_plan(record.as_ref()) {
            ContextPlan::Done(result) => return decode(result.as_deref()),
            ContextPlan::Failed(error) => return Err(error),
            ContextPlan::Run {
                start,
                checkpoint_end,
            } => {
                if start {
                    self.execution.queue(update(&identity, Action::Start));
                }
                checkpoint_end
            }
        };
        let mut child = self.child(identity.id.clone());
        match work(&mut child).and_then(|value| round_trip(&value)) {
            Ok((payload, value)) => {
                if checkpoint_end {
                    let replay_children = payload.len() > replay::CHECKPOINT_RESULT_LIMIT;
                    let mut succeed = update(&identity, Action::Succeed);
                    succeed.payload = Some(if replay_children {
                        String::new()
                    } else {
                        payload
                    });
                    succeed.context_options = Some(ContextUpdateOptions { replay_children });
                    self.checkpoint(succeed)?;
                }
                Ok(value)
            }
            Err(error) if error.is_failure() => {
                let mut fail = update(&identity, Action::Fail);
                fail.error = error.error_object();
                self.checkpoint(fail)?;
                Err(error)
            }
            Err(error) => Err(error),
        }
    }

    /// Creates a callback named `name`: an id an external system completes with
    /// SendDurableExecutionCallbackSuccess (or Failure, or keeps alive with Heartbeat).
    /// [`Callback::result`] is the result once it came; until then it suspends.
    pub fn create_callback<T: DeserializeOwned>(
        &mut self,
        name: &str,
        options: CallbackOptions,
    ) -> Result<Callback<T>> {
        let identity =
            self.next_identity(OperationType::Callback, "Callback", Some(name.to_owned()));
        let mut record = self.record(&identity)?;
        if record.is_none() {
            let mut start = update(&identity, Action::Start);
            start.callback_options = Some(CallbackUpdateOptions {
                timeout_seconds: options.timeout.map_or(0, whole_seconds),
                heartbeat_timeout_seconds: options.heartbeat_timeout.map_or(0, whole_seconds),
            });
            self.checkpoint(start)?;
            record = self.execution.record(&identity.id);
        }
        let callback_id = record
            .and_then(|record| record.callback_details)
            .map(|details| details.callback_id)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                Error::invocation(crate::Error::new(
                    super::client::UNAVAILABLE,
                    format!("the service gave callback {name:?} no CallbackId"),
                ))
            })?;
        Ok(Callback {
            callback_id,
            operation_id: identity.id,
            execution: Arc::clone(&self.execution),
            result: PhantomData,
        })
    }

    /// Creates a callback, hands its id to `submitter` (run as a step, so it runs once unless
    /// it fails), and waits for the result: all in a child context named `name`, as the
    /// official SDKs do.
    pub fn wait_for_callback<T, S>(
        &mut self,
        name: &str,
        options: CallbackOptions,
        submitter: S,
    ) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        S: FnOnce(&str, StepContext) -> Result<()>,
    {
        let identity = self.next_identity(
            OperationType::Context,
            "WaitForCallback",
            Some(name.to_owned()),
        );
        let step_options = StepOptions::new().retry(options.retry.clone().unwrap_or_default());
        self.run_context(identity, |child| {
            let callback =
                child.create_callback::<T>(&format!("{name} create callback id"), options)?;
            child.step_with(&format!("{name} submitter"), step_options, |step| {
                submitter(callback.id(), step)
            })?;
            callback.result()
        })
    }

    /// Invokes the function `function_name` (a name, an ARN, or a qualified one) with `input`
    /// and waits for its result, as an operation named `name`: the invocation ends `PENDING`
    /// and the service invokes this function again with the result.
    pub fn invoke<I, O>(&mut self, name: &str, function_name: &str, input: &I) -> Result<O>
    where
        I: Serialize,
        O: DeserializeOwned,
    {
        let identity = self.next_identity(
            OperationType::ChainedInvoke,
            "ChainedInvoke",
            Some(name.to_owned()),
        );
        let mut record = self.record(&identity)?;
        if record.is_none() {
            let mut start = update(&identity, Action::Start);
            start.payload = Some(encode(input)?);
            start.chained_invoke_options = Some(ChainedInvokeUpdateOptions {
                function_name: function_name.to_owned(),
            });
            self.checkpoint(start)?;
            record = self.execution.record(&identity.id);
        }
        awaited(record.as_ref())
    }

    /// Polls until a condition holds: `check` turns the state (first `initial`) into the next
    /// state, `decide` says whether that one is done or when to check again. Each state is
    /// checkpointed, so a poll is never lost; between polls the invocation ends `PENDING`.
    pub fn wait_for_condition<S, C, D>(
        &mut self,
        name: &str,
        initial: S,
        check: C,
        decide: D,
    ) -> Result<S>
    where
        S: Serialize + DeserializeOwned,
        C: FnOnce(S, StepContext) -> Result<S>,
        D: FnOnce(&S, u32) -> WaitDecision,
    {
        let identity = self.next_identity(
            OperationType::Step,
            "WaitForCondition",
            Some(name.to_owned()),
        );
        let record = self.record(&identity)?;
        let details = record
            .as_ref()
            .and_then(|record| record.step_details.clone())
            .unwrap_or_default();
        match record.as_ref().map(|record| record.status) {
            Some(OperationStatus::Succeeded) => return decode(details.result.as_deref()),
            Some(OperationStatus::Pending) => return Err(Error::suspend()),
            Some(
                OperationStatus::Failed
                | OperationStatus::Cancelled
                | OperationStatus::TimedOut
                | OperationStatus::Stopped,
            ) => {
                return Err(Error::from_object(details.error.unwrap_or_else(|| {
                    ErrorObject {
                        error_type: "WaitForConditionError".into(),
                        error_message: format!("{name:?} ended without a result"),
                        ..ErrorObject::default()
                    }
                })))
            }
            None => self.execution.queue(update(&identity, Action::Start)),
            Some(_) => {}
        }
        let state = match details.result.as_deref() {
            Some(result) => decode(Some(result))?,
            None => round_trip(&initial)?.1,
        };
        let attempt = details.attempt + 1;
        let checked = check(
            state,
            StepContext {
                attempt,
                operation_id: identity.id.clone(),
            },
        )
        .and_then(|state| round_trip(&state));
        let (payload, state) = match checked {
            Ok(checked) => checked,
            Err(error) if error.is_failure() => {
                let mut fail = update(&identity, Action::Fail);
                fail.error = error.error_object();
                self.checkpoint(fail)?;
                return Err(error);
            }
            Err(error) => return Err(error),
        };
        match decide(&state, attempt) {
            WaitDecision::Done => {
                let mut succeed = update(&identity, Action::Succeed);
                succeed.payload = Some(payload);
                self.checkpoint(succeed)?;
                Ok(state)
            }
            WaitDecision::RetryAfter(delay) => {
                let mut retry = update(&identity, Action::Retry);
                retry.payload = Some(payload);
                retry.step_options = Some(StepUpdateOptions {
                    next_attempt_delay_seconds: whole_seconds(delay),
                });
                self.checkpoint(retry)?;
                Err(Error::suspend())
            }
        }
    }

    /// Sends `update` and waits for the answer; a failed call is an invocation error.
    pub(crate) fn checkpoint(&self, update: OperationUpdate) -> Result<()> {
        self.execution.checkpoint(update).map_err(Error::invocation)
    }
}

/// A callback made by [`DurableContext::create_callback`].
pub struct Callback<T> {
    callback_id: String,
    operation_id: String,
    execution: Arc<Execution>,
    result: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Callback<T> {
    /// The id to hand to the system that completes the callback.
    pub fn id(&self) -> &str {
        &self.callback_id
    }

    /// The result the callback was completed with (the JSON text sent with
    /// SendDurableExecutionCallbackSuccess, as `T`); its error when it failed or timed out;
    /// the suspension while it has neither.
    pub fn result(&self) -> Result<T> {
        let record = self.execution.record(&self.operation_id);
        awaited(record.as_ref())
    }
}

/// The result of a callback or a chained invoke: the recorded one, its error, or the
/// suspension while it has neither.
fn awaited<T: DeserializeOwned>(record: Option<&super::wire::Operation>) -> Result<T> {
    match await_plan(record) {
        AwaitPlan::Succeeded(result) => decode(result.as_deref()),
        AwaitPlan::Failed(error) => Err(error),
        AwaitPlan::Waiting | AwaitPlan::Start => Err(Error::suspend()),
    }
}

/// How a step begins: with its recorded result, or with an attempt to run.
enum StepStart {
    /// It finished in an earlier invocation: this result (JSON text), without running.
    Replayed(Option<String>),
    /// Run attempt `attempt` of the operation `identity`.
    Run { identity: Identity, attempt: u32 },
}

/// An update of `identity`'s operation.
pub(crate) fn update(identity: &Identity, action: Action) -> OperationUpdate {
    OperationUpdate {
        id: identity.id.clone(),
        parent_id: identity.parent_id.clone(),
        name: identity.name.clone(),
        operation_type: identity.operation_type,
        action,
        sub_type: Some(identity.sub_type.to_owned()),
        payload: None,
        error: None,
        step_options: None,
        wait_options: None,
        callback_options: None,
        chained_invoke_options: None,
        context_options: None,
    }
}

fn whole_seconds(duration: Duration) -> u64 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    seconds.max(1)
}

/// The value as JSON text, or a `SerializationError` failure.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(not_serializable)
}

/// `encode`'s failure, out of the generic function.
fn not_serializable(error: serde_json::Error) -> Error {
    Error::new(
        "SerializationError",
        format!("the value could not be serialized as JSON: {error}"),
    )
}

/// A recorded result (JSON text; none means `null`) as `T`.
pub(crate) fn decode<T: DeserializeOwned>(payload: Option<&str>) -> Result<T> {
    let payload = payload.filter(|text| !text.is_empty()).unwrap_or("null");
    // From bytes, not `from_str`: the wire types and the JSON handlers parse bytes, so every
    // parse shares one reader's code instead of two.
    serde_json::from_slice(payload.as_bytes())
        .map_err(|error| not_valid_json_for(std::any::type_name::<T>(), error))
}

/// `decode`'s failure, out of the generic function.
fn not_valid_json_for(type_name: &str, error: serde_json::Error) -> Error {
    Error::new(
        "SerializationError",
        format!("the recorded result is not valid JSON for {type_name}: {error}"),
    )
}

/// The value as JSON text and as read back from it, so that a first run returns exactly what
/// a replay will.
pub(crate) fn round_trip<T: Serialize + DeserializeOwned>(value: &T) -> Result<(String, T)> {
    let payload = encode(value)?;
    let value = decode(Some(&payload))?;
    Ok((payload, value))
}
