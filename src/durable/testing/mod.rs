//! Testing durable functions from `cargo test`, without AWS and without Python (feature
//! `durable-testing`): [`FakeDurableService`] is the durable-execution API on 127.0.0.1 (it
//! records, replays, completes callbacks and fires timers at once), and [`Runner`] invokes a
//! durable handler in-process against it, again and again as the service would, until the
//! execution ends or waits for a callback.
//!
//! ```
//! use std::time::Duration;
//! use lambda_loop::durable::testing::{FakeDurableService, Runner, Status};
//! use lambda_loop::durable::OperationStatus;
//!
//! let service = FakeDurableService::start();
//! let mut runner = Runner::new(&service, lambda_loop::durable::handler(|n: u64, ctx| {
//!     let doubled: u64 = ctx.step("double", |_| Ok(n * 2))?;
//!     ctx.wait("pause", Duration::from_secs(3600))?; // fired at once by the fake service
//!     let approved: bool = ctx.wait_for_callback("approval", Default::default(), |_id, _step| Ok(()))?;
//!     Ok(if approved { doubled } else { 0 })
//! }));
//! let outcome = runner.run(&21);
//! assert_eq!(outcome.status, Status::Pending); // waits for the callback
//! let callback = outcome.callback_id("approval create callback id").unwrap();
//! assert!(service.complete_callback(&callback, "true"));
//! let outcome = runner.resume();
//! assert_eq!(outcome.status, Status::Succeeded);
//! assert_eq!(outcome.result::<u64>(), 42);
//! assert_eq!(outcome.operation("double").unwrap().status, OperationStatus::Succeeded);
//! ```
//!
//! Faults for the client's own tests (and for a function's): [`FakeDurableService::inject`]
//! queues a [`Fault`] for the next call of a kind.

mod server;
mod service;

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use server::{Call, Fault, RecordedCall};
use server::{Inner, Server, Shared};
use service::{CallbackOutcome, Service};

use super::adapter::DurableHandler;
use super::client::Settings;
use super::context::DurableContext;
use super::error::Result;
use super::wire::{Answer, ErrorObject, Operation};
use crate::context::Context;

/// A function the fake service answers chained invokes of: the payload (JSON text) in, the
/// result (JSON text) or an error out.
type InvokeTarget = Box<dyn FnMut(Option<&str>) -> std::result::Result<String, ErrorObject> + Send>;

/// The durable-execution API on 127.0.0.1, in this process: CheckpointDurableExecution and
/// GetDurableExecutionState over real HTTP, with the service's rules (each checkpoint token
/// once, answers cached by `ClientToken`, a finished operation never restarted).
pub struct FakeDurableService {
    shared: Arc<Shared>,
    server: Server,
    functions: Mutex<HashMap<String, InvokeTarget>>,
}

impl FakeDurableService {
    /// Starts the service on a port of its own.
    pub fn start() -> FakeDurableService {
        let shared = Arc::new(Shared {
            state: Mutex::new(Inner {
                service: Service::default(),
                faults: Default::default(),
                calls: Vec::new(),
                page_size: 1000,
            }),
            changed: Condvar::new(),
        });
        let server = Server::start(Arc::clone(&shared));
        FakeDurableService {
            shared,
            server,
            functions: Mutex::new(HashMap::new()),
        }
    }

    /// `http://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Settings for a handler that calls this service: its URL, no credentials, and short
    /// pauses between the retries of a call (10 ms, doubling).
    pub fn settings(&self) -> Settings {
        Settings::from_lookup(|_| None)
            .with_endpoint(self.url())
            .with_call_retries(6, Duration::from_millis(10))
            .with_timeout(Duration::from_secs(10))
    }

    /// Operations per page, in an event's first page and in each state call's answer (1000
    /// unless set): a small size makes every replay read its state through
    /// GetDurableExecutionState.
    pub fn set_page_size(&self, operations: usize) {
        self.shared.lock().page_size = operations.max(1);
    }

    /// Queues `fault` for the next call of kind `call` (faults are applied in the order
    /// queued, each to one call).
    pub fn inject(&self, call: Call, fault: Fault) {
        self.shared.lock().faults.push_back((call, fault));
    }

    /// Starts an execution named `name` with `input` and returns its ARN.
    pub fn start_execution(&self, name: &str, input: &impl Serialize) -> String {
        let input = serde_json::to_string(input).expect("the input serializes as JSON");
        self.shared.lock().service.start(name, input)
    }

    /// The event of the next invocation of execution `arn` (with a new checkpoint token).
    pub fn invocation_event(&self, arn: &str) -> Vec<u8> {
        let mut inner = self.shared.lock();
        let page_size = inner.page_size;
        inner.service.invocation_event(arn, page_size)
    }

    /// Fires every timer of `arn` at once (waits end, retries are due) and runs the chained
    /// invokes of functions given to [`on_invoke`](Self::on_invoke). True when anything
    /// changed: another invocation then makes progress.
    pub fn advance(&self, arn: &str) -> bool {
        let mut functions = self.functions.lock().unwrap_or_else(|p| p.into_inner());
        let mut invoke = |function: &str, payload: Option<&str>| {
            functions.get_mut(function).map(|target| target(payload))
        };
        let mut inner = self.shared.lock();
        inner
            .service
            .execution(arn)
            .is_some_and(|execution| execution.advance(&mut invoke))
    }

    /// Answers chained invokes of `function` with `target`.
    pub fn on_invoke(
        &self,
        function: &str,
        target: impl FnMut(Option<&str>) -> std::result::Result<String, ErrorObject> + Send + 'static,
    ) {
        self.functions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(function.to_owned(), Box::new(target));
    }

    /// Completes callback `callback_id` with `result` (JSON text), as
    /// SendDurableExecutionCallbackSuccess does; false when no such callback waits.
    pub fn complete_callback(&self, callback_id: &str, result: &str) -> bool {
        self.finish_callback(callback_id, CallbackOutcome::Succeed(result.to_owned()))
    }

    /// Fails callback `callback_id`, as SendDurableExecutionCallbackFailure does.
    pub fn fail_callback(&self, callback_id: &str, error_type: &str, message: &str) -> bool {
        let error = ErrorObject {
            error_type: error_type.to_owned(),
            error_message: message.to_owned(),
            ..ErrorObject::default()
        };
        self.finish_callback(callback_id, CallbackOutcome::Fail(error))
    }

    /// Times callback `callback_id` out.
    pub fn time_out_callback(&self, callback_id: &str) -> bool {
        self.finish_callback(callback_id, CallbackOutcome::TimeOut)
    }

    fn finish_callback(&self, callback_id: &str, outcome: CallbackOutcome) -> bool {
        let mut inner = self.shared.lock();
        let mut outcome = Some(outcome);
        inner.service.executions.iter_mut().any(|execution| {
            let ours = execution.operations.iter().any(|operation| {
                operation
                    .callback_details
                    .as_ref()
                    .is_some_and(|details| details.callback_id == callback_id)
            });
            ours && execution.complete_callback(callback_id, outcome.take().expect("once"))
        })
    }

    /// Every operation of `arn`, in the order they were first recorded.
    pub fn operations(&self, arn: &str) -> Vec<Operation> {
        let mut inner = self.shared.lock();
        inner
            .service
            .execution(arn)
            .map(|execution| execution.operations.clone())
            .unwrap_or_default()
    }

    /// The result checkpointed on the EXECUTION operation of `arn` (one too large for the
    /// answer).
    pub fn checkpointed_result(&self, arn: &str) -> Option<String> {
        let mut inner = self.shared.lock();
        inner
            .service
            .execution(arn)
            .and_then(|execution| execution.checkpointed_result.clone())
    }

    /// Every call received so far, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.lock().calls.clone()
    }

    /// The updates of every checkpoint call answered 200, in order, as JSON
    /// (`{"Id", "Type", "Action", "SubType", "Name", ...}`).
    pub fn updates(&self) -> Vec<serde_json::Value> {
        self.calls()
            .iter()
            .filter(|call| call.call == Call::Checkpoint && call.status == Some(200))
            .flat_map(|call| match call.body_json()["Updates"].take() {
                serde_json::Value::Array(updates) => updates,
                _ => Vec::new(),
            })
            .collect()
    }

    /// Waits until `predicate` holds for the calls received (at most `bound`; fails loudly
    /// after it) and returns them.
    pub fn wait_for_calls(
        &self,
        bound: Duration,
        predicate: impl Fn(&[RecordedCall]) -> bool,
    ) -> Vec<RecordedCall> {
        let deadline = Instant::now() + bound;
        let mut inner = self.shared.lock();
        loop {
            if predicate(&inner.calls) {
                return inner.calls.clone();
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "the expected calls did not arrive within {bound:?}: {:#?}",
                inner.calls
            );
            inner = self
                .shared
                .changed
                .wait_timeout(inner, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The execution succeeded.
    Succeeded,
    /// The execution failed.
    Failed,
    /// The execution waits for something only the test can give (a callback).
    Pending,
    /// The invocation itself failed (an invocation error, three times in a row).
    InvocationFailed,
}

/// What [`Runner::run`] and [`Runner::resume`] return.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Outcome {
    /// How the run ended.
    pub status: Status,
    /// The execution's result (JSON text) when it succeeded.
    pub result: Option<String>,
    /// The execution's error when it failed (or the invocation's).
    pub error: Option<ErrorObject>,
    /// Every operation recorded, in the order first recorded.
    pub operations: Vec<Operation>,
    /// How many invocations this run took.
    pub invocations: usize,
}

impl Outcome {
    /// The result as `T`; panics (failing the test) when there is none or it is not a `T`.
    pub fn result<T: DeserializeOwned>(&self) -> T {
        let result = self
            .result
            .as_deref()
            .unwrap_or_else(|| panic!("the execution has no result: {self:#?}"));
        serde_json::from_str(result).unwrap_or_else(|error| {
            panic!(
                "the result {result} is not a {}: {error}",
                std::any::type_name::<T>()
            )
        })
    }

    /// The operation named `name` (the first, when several have that name).
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .find(|operation| operation.name.as_deref() == Some(name))
    }

    /// The id of the callback named `name`.
    pub fn callback_id(&self, name: &str) -> Option<String> {
        self.operation(name)?
            .callback_details
            .as_ref()
            .map(|details| details.callback_id.clone())
    }
}

/// The handler as the runner calls it: an event in, the answer or an invocation error out.
type RawHandler<'a> = dyn FnMut(&[u8]) -> crate::Result<Vec<u8>> + 'a;

/// Invocations at most per run: more means the execution makes no progress.
const MAX_INVOCATIONS: usize = 200;

/// Runs a durable handler in this process against a [`FakeDurableService`], as the service
/// would: invoke, fire the timers, invoke again, until the execution ends or waits for the
/// test.
pub struct Runner<'a> {
    service: &'a FakeDurableService,
    handler: Box<RawHandler<'a>>,
    arn: Option<String>,
}

impl<'a> Runner<'a> {
    /// A runner of `handler`, which is pointed at `service` (unless it was given settings of
    /// its own with [`DurableHandler::with_settings`]).
    pub fn new<F, I, O>(
        service: &'a FakeDurableService,
        handler: DurableHandler<F, I>,
    ) -> Runner<'a>
    where
        F: FnMut(I, &mut DurableContext) -> Result<O> + 'a,
        I: DeserializeOwned + 'a,
        O: Serialize,
    {
        let mut handler = match handler.has_settings() {
            true => handler,
            false => handler.with_settings(service.settings()),
        };
        let config = Arc::new(crate::context::Config::default());
        let mut invocation = 0u64;
        Runner {
            service,
            handler: Box::new(move |event: &[u8]| {
                invocation += 1;
                let context = Context::new(format!("invocation-{invocation}"), Arc::clone(&config));
                handler.handle(event, context)
            }),
            arn: None,
        }
    }

    /// Starts an execution of `input` and runs it.
    pub fn run(&mut self, input: &impl Serialize) -> Outcome {
        self.arn = Some(self.service.start_execution("test", input));
        self.resume()
    }

    /// Runs the execution on (after the test completed a callback).
    pub fn resume(&mut self) -> Outcome {
        let arn = self.arn.clone().expect("run starts an execution first");
        let mut invocations = 0;
        let mut failures_in_a_row = 0;
        loop {
            assert!(
                invocations < MAX_INVOCATIONS,
                "the execution made no progress in {MAX_INVOCATIONS} invocations"
            );
            invocations += 1;
            let event = self.service.invocation_event(&arn);
            let answer = (self.handler)(&event);
            let outcome = |status, result, error| Outcome {
                status,
                result,
                error,
                operations: self.service.operations(&arn),
                invocations,
            };
            let answer = match answer {
                Ok(answer) => answer,
                Err(error) => {
                    failures_in_a_row += 1;
                    if failures_in_a_row == 3 {
                        let error = ErrorObject {
                            error_type: error.error_type().to_owned(),
                            error_message: error.message().to_owned(),
                            ..ErrorObject::default()
                        };
                        return outcome(Status::InvocationFailed, None, Some(error));
                    }
                    continue;
                }
            };
            failures_in_a_row = 0;
            let answer: Answer = serde_json::from_slice(&answer).unwrap_or_else(|error| {
                panic!(
                    "the answer {:?} is not a durable answer: {error}",
                    String::from_utf8_lossy(&answer)
                )
            });
            match answer {
                Answer::Succeeded { result } => {
                    let result = match result.is_empty() {
                        true => self.service.checkpointed_result(&arn).or(Some(result)),
                        false => Some(result),
                    };
                    return outcome(Status::Succeeded, result, None);
                }
                Answer::Failed { error } => return outcome(Status::Failed, None, Some(error)),
                Answer::Pending => {
                    if !self.service.advance(&arn) {
                        return outcome(Status::Pending, None, None);
                    }
                }
            }
        }
    }

    /// The ARN of the execution being run.
    pub fn arn(&self) -> Option<&str> {
        self.arn.as_deref()
    }
}
