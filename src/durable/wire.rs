//! The durable-execution API's words (`2025-12-01`), as serde types: the event an invocation
//! gets, the operations the service records, the updates the function checkpoints, the calls'
//! bodies and the invocation's answer. No logic: the rules that use them are in `replay.rs`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The event of a durable invocation (what `next` delivers).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Envelope {
    pub durable_execution_arn: String,
    pub checkpoint_token: String,
    pub initial_execution_state: StatePage,
}

/// One page of recorded operations: the event's `InitialExecutionState`, a checkpoint
/// answer's `NewExecutionState`, or a GetDurableExecutionState answer.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StatePage {
    #[serde(default)]
    pub operations: Vec<Operation>,
    /// Empty or missing on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// What an operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum OperationType {
    /// The execution itself; its details hold the input.
    Execution,
    /// A step, or a `wait_for_condition` poll.
    Step,
    /// A timer.
    Wait,
    /// A callback an external system completes.
    Callback,
    /// A call of another function.
    ChainedInvoke,
    /// A child context (also `map`, `parallel`, their branches, `wait_for_callback`).
    Context,
}

/// Where an operation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum OperationStatus {
    /// Started, not finished.
    Started,
    /// Waiting for a retry's time to come.
    Pending,
    /// A retry is due: the next invocation runs the next attempt.
    Ready,
    /// Finished with a result.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Cancelled.
    Cancelled,
    /// Ran out of time (a callback's timeout or heartbeat timeout).
    TimedOut,
    /// Stopped from outside.
    Stopped,
}

/// An error as the durable API carries it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorObject {
    /// The error's type, e.g. the Rust type name of the error a step returned.
    #[serde(default)]
    pub error_type: String,
    /// The error's message.
    #[serde(default)]
    pub error_message: String,
    /// Extra data, free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_data: Option<String>,
    /// Lines of a stack trace, when one was asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack_trace: Vec<String>,
}

/// An operation as the service recorded it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Operation {
    /// The operation's id (deterministic: see the module docs).
    pub id: String,
    /// The id of the child context it belongs to; `None` in the root context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The name given in the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it is.
    #[serde(rename = "Type")]
    pub operation_type: OperationType,
    /// The SDK's finer kind: `Step`, `Wait`, `Map`, `MapIteration`, `WaitForCallback`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<String>,
    /// Where it is.
    pub status: OperationStatus,
    /// The execution's details (its input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_details: Option<ExecutionDetails>,
    /// A child context's details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_details: Option<ContextDetails>,
    /// A step's details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_details: Option<StepDetails>,
    /// A wait's details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_details: Option<WaitDetails>,
    /// A callback's details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_details: Option<CallbackDetails>,
    /// A chained invoke's details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chained_invoke_details: Option<ChainedInvokeDetails>,
}

/// `ExecutionDetails`: the user's input, as a JSON string.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct ExecutionDetails {
    /// The input, JSON-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_payload: Option<String>,
}

/// `ContextDetails`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct ContextDetails {
    /// The context's result, JSON-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// True when the result was too large to checkpoint: replay runs the children again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replay_children: bool,
    /// The context's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// `StepDetails`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct StepDetails {
    /// How many attempts have run (0 before the first).
    #[serde(default)]
    pub attempt: u32,
    /// The result, JSON-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The last attempt's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
    /// When the next attempt is due (as the service writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_timestamp: Option<Value>,
}

/// `WaitDetails`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct WaitDetails {
    /// When the wait ends (as the service writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_end_timestamp: Option<Value>,
}

/// `CallbackDetails`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct CallbackDetails {
    /// The id an external system completes the callback with.
    #[serde(default)]
    pub callback_id: String,
    /// The result it sent (the raw text of its success call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The error it sent, or the timeout's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// `ChainedInvokeDetails`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct ChainedInvokeDetails {
    /// The invoked function's result, JSON-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Its error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// What an update does to its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum Action {
    Start,
    Succeed,
    Fail,
    Retry,
    Cancel,
}

/// One entry of a checkpoint's `Updates`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct OperationUpdate {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "Type")]
    pub operation_type: OperationType,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_options: Option<StepUpdateOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_options: Option<WaitUpdateOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_options: Option<CallbackUpdateOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chained_invoke_options: Option<ChainedInvokeUpdateOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_options: Option<ContextUpdateOptions>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StepUpdateOptions {
    pub next_attempt_delay_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WaitUpdateOptions {
    pub wait_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CallbackUpdateOptions {
    pub timeout_seconds: u64,
    pub heartbeat_timeout_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ChainedInvokeUpdateOptions {
    pub function_name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ContextUpdateOptions {
    pub replay_children: bool,
}

/// The body of CheckpointDurableExecution.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CheckpointRequest {
    pub checkpoint_token: String,
    pub client_token: String,
    pub updates: Vec<OperationUpdate>,
}

/// Its answer.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CheckpointAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_execution_state: Option<StatePage>,
}

/// The body of an error answer of the durable API.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ApiErrorBody {
    #[serde(rename = "Type", alias = "__type", default)]
    pub error_type: Option<String>,
    #[serde(alias = "Message", default)]
    pub message: Option<String>,
}

/// The invocation's answer: `{"Status": "PENDING" | "SUCCEEDED" | "FAILED", ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "Status", rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum Answer {
    Pending,
    Succeeded {
        #[serde(rename = "Result")]
        result: String,
    },
    Failed {
        #[serde(rename = "Error")]
        error: ErrorObject,
    },
}
