//! The fake service's memory and rules, without any I/O: executions and their operations, the
//! checkpoint token of each (each works once), the answers cached by `ClientToken`, and what
//! each update does, as the durable-execution service does it. Strict where the service is:
//! an update that would run a finished operation again is refused, so a test sees it.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::durable::wire::{
    Action, CallbackDetails, ChainedInvokeDetails, CheckpointAnswer, CheckpointRequest,
    ContextDetails, ErrorObject, ExecutionDetails, Operation, OperationStatus, OperationType,
    OperationUpdate, StatePage, StepDetails, WaitDetails,
};

/// An error answer: the status and the exception's type and message.
pub(crate) type Refusal = (u16, &'static str, String);

#[derive(Default)]
pub(crate) struct Service {
    pub executions: Vec<Execution>,
    /// Answers already given, by `ClientToken`.
    answered: HashMap<String, Vec<u8>>,
    tokens_issued: u64,
    callbacks_issued: u64,
}

pub(crate) struct Execution {
    pub arn: String,
    /// In the order they were first recorded.
    pub operations: Vec<Operation>,
    /// The only token a checkpoint or state call may use now.
    pub token: Option<String>,
    /// Chained invokes started and not finished: operation id, function, payload.
    pub invokes: Vec<(String, String, Option<String>)>,
    /// The result checkpointed on the EXECUTION operation (a result too large to answer).
    pub checkpointed_result: Option<String>,
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

fn invalid(message: impl Into<String>) -> Refusal {
    (400, "InvalidParameterValueException", message.into())
}

impl Service {
    /// Starts an execution of `input` (JSON text) and returns its ARN.
    pub(crate) fn start(&mut self, name: &str, input: String) -> String {
        let arn = format!(
            "arn:aws:lambda:us-east-1:123456789012:function:fake/durable-execution/{name}/{}",
            self.executions.len() + 1
        );
        let execution_op = Operation {
            id: format!("execution-{}", self.executions.len() + 1),
            parent_id: None,
            name: Some(name.to_owned()),
            operation_type: OperationType::Execution,
            sub_type: None,
            status: OperationStatus::Started,
            execution_details: Some(ExecutionDetails {
                input_payload: Some(input),
            }),
            context_details: None,
            step_details: None,
            wait_details: None,
            callback_details: None,
            chained_invoke_details: None,
        };
        self.executions.push(Execution {
            arn: arn.clone(),
            operations: vec![execution_op],
            token: None,
            invokes: Vec::new(),
            checkpointed_result: None,
        });
        arn
    }

    pub(crate) fn execution(&mut self, arn: &str) -> Option<&mut Execution> {
        self.executions
            .iter_mut()
            .find(|execution| execution.arn == arn)
    }

    /// The event of the next invocation of `arn`: a new token (the old one stops working) and
    /// the first `page_size` operations, with a marker when there are more.
    pub(crate) fn invocation_event(&mut self, arn: &str, page_size: usize) -> Vec<u8> {
        self.tokens_issued += 1;
        let token = format!("token-{}", self.tokens_issued);
        let execution = self.execution(arn).expect("a started execution");
        execution.token = Some(token.clone());
        let page = page_of(&execution.operations, 0, page_size);
        let event = json!({
            "DurableExecutionArn": arn,
            "CheckpointToken": token,
            "InitialExecutionState": page,
        });
        event.to_string().into_bytes()
    }

    /// A checkpoint call: the answer's body, or the refusal.
    pub(crate) fn checkpoint(&mut self, arn: &str, body: &[u8]) -> Result<Vec<u8>, Refusal> {
        let request: CheckpointRequest = serde_json::from_slice(body)
            .map_err(|error| invalid(format!("the body is not a checkpoint: {error}")))?;
        if let Some(answer) = self.answered.get(&request.client_token) {
            return Ok(answer.clone());
        }
        self.tokens_issued += 1;
        let next_token = format!("token-{}", self.tokens_issued);
        let execution = self.execution(arn).ok_or((
            404,
            "ResourceNotFoundException",
            format!("no execution {arn}"),
        ))?;
        if execution.token.as_deref() != Some(request.checkpoint_token.as_str()) {
            return Err(invalid("Invalid checkpoint token"));
        }
        let mut changed = Vec::new();
        // All or nothing: the updates are applied to a copy first.
        let mut operations = execution.operations.clone();
        let mut invokes = execution.invokes.clone();
        let mut result = execution.checkpointed_result.clone();
        for update in request.updates {
            let id = update.id.clone();
            apply(
                &mut operations,
                &mut invokes,
                &mut result,
                update,
                &mut self.callbacks_issued,
            )?;
            if !changed.contains(&id) {
                changed.push(id);
            }
        }
        let execution = self.execution(arn).expect("found above");
        execution.operations = operations;
        execution.invokes = invokes;
        execution.checkpointed_result = result;
        execution.token = Some(next_token.clone());
        let new_state = StatePage {
            operations: execution
                .operations
                .iter()
                .filter(|operation| changed.contains(&operation.id))
                .cloned()
                .collect(),
            next_marker: None,
        };
        let answer = serde_json::to_vec(&CheckpointAnswer {
            checkpoint_token: Some(next_token),
            new_execution_state: Some(new_state),
        })
        .expect("answers serialize");
        self.answered.insert(request.client_token, answer.clone());
        Ok(answer)
    }

    /// A state call: the page after `marker`.
    pub(crate) fn state(
        &mut self,
        arn: &str,
        token: &str,
        marker: &str,
        max_items: usize,
    ) -> Result<Vec<u8>, Refusal> {
        let execution = self.execution(arn).ok_or((
            404,
            "ResourceNotFoundException",
            format!("no execution {arn}"),
        ))?;
        if execution.token.as_deref() != Some(token) {
            return Err(invalid("Invalid checkpoint token"));
        }
        let start = marker.parse::<usize>().unwrap_or(0);
        let page = page_of(&execution.operations, start, max_items);
        Ok(serde_json::to_vec(&page).expect("pages serialize"))
    }
}

/// `size` operations from `start`, with the marker of the rest.
fn page_of(operations: &[Operation], start: usize, size: usize) -> StatePage {
    let end = (start + size.max(1)).min(operations.len());
    StatePage {
        operations: operations[start.min(end)..end].to_vec(),
        next_marker: (end < operations.len()).then(|| end.to_string()),
    }
}

/// The record a first update makes.
fn started(update: &OperationUpdate) -> Operation {
    Operation {
        id: update.id.clone(),
        parent_id: update.parent_id.clone(),
        name: update.name.clone(),
        operation_type: update.operation_type,
        sub_type: update.sub_type.clone(),
        status: OperationStatus::Started,
        execution_details: None,
        context_details: None,
        step_details: None,
        wait_details: None,
        callback_details: None,
        chained_invoke_details: None,
    }
}

/// What one update does to the operations.
fn apply(
    operations: &mut Vec<Operation>,
    invokes: &mut Vec<(String, String, Option<String>)>,
    execution_result: &mut Option<String>,
    update: OperationUpdate,
    callbacks_issued: &mut u64,
) -> Result<(), Refusal> {
    let position = operations
        .iter()
        .position(|operation| operation.id == update.id);
    if update.operation_type == OperationType::Execution {
        let operation = position
            .map(|at| &mut operations[at])
            .ok_or_else(|| invalid("no such execution operation"))?;
        match update.action {
            Action::Succeed => {
                operation.status = OperationStatus::Succeeded;
                *execution_result = update.payload;
            }
            Action::Fail => operation.status = OperationStatus::Failed,
            _ => return Err(invalid("an EXECUTION update only succeeds or fails")),
        }
        return Ok(());
    }
    let operation = match (position, update.action) {
        // A step (or a context) may succeed, fail or retry in the call that starts it.
        (None, action)
            if action == Action::Start
                || matches!(
                    update.operation_type,
                    OperationType::Step | OperationType::Context
                ) =>
        {
            operations.push(started(&update));
            operations.last_mut().expect("just pushed")
        }
        (None, _) => {
            return Err(invalid(format!(
                "operation {} was never started",
                update.id
            )))
        }
        (Some(at), _) => &mut operations[at],
    };
    if operation.operation_type != update.operation_type {
        return Err(invalid(format!(
            "operation {} is a {:?}",
            update.id, operation.operation_type
        )));
    }
    let finished = matches!(
        operation.status,
        OperationStatus::Succeeded
            | OperationStatus::Failed
            | OperationStatus::Cancelled
            | OperationStatus::TimedOut
            | OperationStatus::Stopped
    );
    if finished {
        return Err(invalid(format!(
            "operation {} ({:?}) already finished {:?}: it cannot {:?} again",
            update.id, operation.name, operation.status, update.action
        )));
    }
    let OperationUpdate {
        action,
        payload,
        error,
        step_options,
        wait_options,
        callback_options: _,
        chained_invoke_options,
        context_options,
        ..
    } = update;
    match (operation.operation_type, action) {
        (OperationType::Step, Action::Start) => {
            operation.status = OperationStatus::Started;
            operation
                .step_details
                .get_or_insert_with(StepDetails::default);
        }
        (OperationType::Step, Action::Succeed) => {
            let details = operation
                .step_details
                .get_or_insert_with(StepDetails::default);
            details.attempt += 1;
            details.result = payload;
            operation.status = OperationStatus::Succeeded;
        }
        (OperationType::Step, Action::Fail) => {
            let details = operation
                .step_details
                .get_or_insert_with(StepDetails::default);
            details.attempt += 1;
            details.error = error;
            operation.status = OperationStatus::Failed;
        }
        (OperationType::Step, Action::Retry) => {
            let delay = step_options.map_or(1, |options| options.next_attempt_delay_seconds);
            let details = operation
                .step_details
                .get_or_insert_with(StepDetails::default);
            details.attempt += 1;
            details.error = error;
            if payload.is_some() {
                details.result = payload;
            }
            details.next_attempt_timestamp = Some(json!(now_seconds() + delay as f64));
            operation.status = OperationStatus::Pending;
        }
        (OperationType::Wait, Action::Start) => {
            let seconds = wait_options.map_or(0, |options| options.wait_seconds);
            operation.wait_details = Some(WaitDetails {
                scheduled_end_timestamp: Some(json!(now_seconds() + seconds as f64)),
            });
        }
        (OperationType::Callback, Action::Start) => {
            *callbacks_issued += 1;
            operation.callback_details = Some(CallbackDetails {
                callback_id: format!("callback-{callbacks_issued}"),
                result: None,
                error: None,
            });
        }
        (OperationType::ChainedInvoke, Action::Start) => {
            let function = chained_invoke_options
                .map(|options| options.function_name)
                .ok_or_else(|| {
                    invalid("a chained invoke needs ChainedInvokeOptions.FunctionName")
                })?;
            invokes.push((operation.id.clone(), function, payload));
            operation.chained_invoke_details = Some(ChainedInvokeDetails::default());
        }
        (OperationType::Context, Action::Start) => {}
        (OperationType::Context, Action::Succeed) => {
            operation.status = OperationStatus::Succeeded;
            operation.context_details = Some(ContextDetails {
                result: payload,
                replay_children: context_options.is_some_and(|options| options.replay_children),
                error: None,
            });
        }
        (OperationType::Context, Action::Fail) => {
            operation.status = OperationStatus::Failed;
            operation.context_details = Some(ContextDetails {
                error,
                ..ContextDetails::default()
            });
        }
        (kind, action) => {
            return Err(invalid(format!("{kind:?} does not take {action:?}")));
        }
    }
    Ok(())
}

impl Execution {
    /// Fires every timer at once (waits end, retries become due) and finishes the chained
    /// invokes `invoke` can answer; true when anything changed.
    pub(crate) fn advance(&mut self, invoke: &mut Invoke<'_>) -> bool {
        let mut changed = false;
        for operation in &mut self.operations {
            match (operation.operation_type, operation.status) {
                (OperationType::Wait, OperationStatus::Started) => {
                    operation.status = OperationStatus::Succeeded;
                    changed = true;
                }
                (OperationType::Step, OperationStatus::Pending) => {
                    operation.status = OperationStatus::Ready;
                    changed = true;
                }
                _ => {}
            }
        }
        let mut still_running = Vec::new();
        for (id, function, payload) in std::mem::take(&mut self.invokes) {
            let Some(outcome) = invoke(&function, payload.as_deref()) else {
                still_running.push((id, function, payload));
                continue;
            };
            if let Some(operation) = self
                .operations
                .iter_mut()
                .find(|operation| operation.id == id)
            {
                let details = operation
                    .chained_invoke_details
                    .get_or_insert_with(Default::default);
                match outcome {
                    Ok(result) => {
                        details.result = Some(result);
                        operation.status = OperationStatus::Succeeded;
                    }
                    Err(error) => {
                        details.error = Some(error);
                        operation.status = OperationStatus::Failed;
                    }
                }
                changed = true;
            }
        }
        self.invokes = still_running;
        changed
    }

    /// Completes the callback `callback_id`: with a result (JSON text), an error, or a
    /// timeout. False when no callback of that id waits.
    pub(crate) fn complete_callback(
        &mut self,
        callback_id: &str,
        outcome: CallbackOutcome,
    ) -> bool {
        let Some(operation) = self.operations.iter_mut().find(|operation| {
            operation.status == OperationStatus::Started
                && operation
                    .callback_details
                    .as_ref()
                    .is_some_and(|details| details.callback_id == callback_id)
        }) else {
            return false;
        };
        let details = operation
            .callback_details
            .as_mut()
            .expect("found by its details");
        match outcome {
            CallbackOutcome::Succeed(result) => {
                details.result = Some(result);
                operation.status = OperationStatus::Succeeded;
            }
            CallbackOutcome::Fail(error) => {
                details.error = Some(error);
                operation.status = OperationStatus::Failed;
            }
            CallbackOutcome::TimeOut => {
                details.error = Some(ErrorObject {
                    error_type: "CallbackTimeoutError".into(),
                    error_message: format!("callback {callback_id} timed out"),
                    ..ErrorObject::default()
                });
                operation.status = OperationStatus::TimedOut;
            }
        }
        true
    }
}

/// Runs a chained invoke of a function with a payload: `None` when the function is unknown
/// (the invoke stays running), else its result or error.
pub(crate) type Invoke<'a> =
    dyn FnMut(&str, Option<&str>) -> Option<Result<String, ErrorObject>> + 'a;

/// How a callback is completed.
pub(crate) enum CallbackOutcome {
    Succeed(String),
    Fail(ErrorObject),
    TimeOut,
}
