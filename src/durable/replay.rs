//! The replay rules, in one place: how operations are named, how a recorded operation is
//! matched to the code that meets it again, and what each kind of operation does with its
//! record (return it, run, checkpoint, or suspend).
//!
//! The handler runs from the top on every invocation. Each durable operation takes the next
//! number of its context (1, 2, 3, ...) and its id is `blake2b("{n}")` in the root context and
//! `blake2b("{parent_id}-{n}")` in a child context (the first 64 hex digits), exactly as the
//! Python SDK names them. The code between operations must be deterministic: the same inputs
//! must meet the same operations in the same order. A record whose type, subtype, name or
//! parent differs from what the code asks for is a non-determinism error, which fails the
//! execution rather than replaying a wrong result.

use std::collections::HashMap;

use super::blake2b;
use super::error::{Error, Result};
use super::wire::{Operation, OperationStatus, OperationType, StatePage};

/// The id of the `n`-th operation (from 1) of the context whose operations are named under
/// `prefix` (`None` for the root context).
pub(crate) fn operation_id(prefix: Option<&str>, n: u64) -> String {
    let text = match prefix {
        Some(parent) => format!("{parent}-{n}"),
        None => n.to_string(),
    };
    let mut id = blake2b::hex_digest(text.as_bytes());
    id.truncate(64);
    id
}

/// Every recorded operation, by id, as the service last described it.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    operations: HashMap<String, Operation>,
}

impl Journal {
    /// Takes in a page of operations (of the event, a checkpoint answer, or a state call); a
    /// later description of an operation replaces the earlier one.
    pub(crate) fn merge(&mut self, page: StatePage) {
        for operation in page.operations {
            self.operations.insert(operation.id.clone(), operation);
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Operation> {
        self.operations.get(id)
    }

    /// The EXECUTION operation (it holds the input).
    pub(crate) fn execution(&self) -> Option<&Operation> {
        self.operations
            .values()
            .find(|operation| operation.operation_type == OperationType::Execution)
    }
}

/// What the code says an operation is; checked against its record before the record is used.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub id: String,
    pub parent_id: Option<String>,
    pub name: Option<String>,
    pub operation_type: OperationType,
    pub sub_type: &'static str,
}

impl Identity {
    /// The record, when there is one and it is this operation's; a non-determinism error when
    /// it is another one's.
    pub(crate) fn check<'r>(&self, record: Option<&'r Operation>) -> Result<Option<&'r Operation>> {
        let Some(record) = record else {
            return Ok(None);
        };
        let mut mismatches = Vec::new();
        if record.operation_type != self.operation_type {
            mismatches.push(format!(
                "type: recorded {:?}, now {:?}",
                record.operation_type, self.operation_type
            ));
        }
        if record.sub_type.as_deref().unwrap_or(self.sub_type) != self.sub_type {
            mismatches.push(format!(
                "subtype: recorded {:?}, now {:?}",
                record.sub_type, self.sub_type
            ));
        }
        if non_empty(&record.name) != non_empty(&self.name) {
            mismatches.push(format!(
                "name: recorded {:?}, now {:?}",
                record.name, self.name
            ));
        }
        if non_empty(&record.parent_id) != non_empty(&self.parent_id) {
            mismatches.push(format!(
                "parent: recorded {:?}, now {:?}",
                record.parent_id, self.parent_id
            ));
        }
        if mismatches.is_empty() {
            return Ok(Some(record));
        }
        Err(Error::non_deterministic(format!(
            "operation {} ({:?}) does not match its record: {}; the code between operations must take the same path on every replay",
            self.id,
            self.name.as_deref().unwrap_or(""),
            mismatches.join(", ")
        )))
    }
}

fn non_empty(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|text| !text.is_empty())
}

/// Whether a step's START is checkpointed before the work runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepSemantics {
    /// The work may run more than once per attempt (when an invocation ends between the work
    /// and its checkpoint). START goes out with the result, in one call.
    #[default]
    AtLeastOncePerRetry,
    /// The work runs at most once per attempt: START is checkpointed (and confirmed) before it
    /// runs, and an attempt found started but unfinished on replay counts as failed.
    AtMostOncePerRetry,
}

/// What a step does with its record. Attempts count from 1: the recorded `Attempt` plus one is
/// the attempt this invocation runs (or found interrupted), as the Python SDK counts them.
#[derive(Debug)]
pub(crate) enum StepPlan {
    /// It finished: return this result (JSON text) without running.
    Done(Option<String>),
    /// It failed for good: return the recorded error.
    Failed(Error),
    /// A retry is scheduled and not due yet.
    Suspend,
    /// An at-most-once attempt was interrupted: count attempt `attempt` as failed.
    Interrupted { attempt: u32 },
    /// Run attempt `attempt` (from 1); `start` says how START is checkpointed.
    Run { attempt: u32, start: Start },
}

/// How an operation's START is checkpointed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Not at all: the record already says it started.
    None,
    /// Queued: it goes out with the next checkpoint call.
    Queued,
    /// Sent and confirmed before going on.
    Confirmed,
}

pub(crate) fn step_plan(record: Option<&Operation>, semantics: StepSemantics) -> StepPlan {
    let Some(record) = record else {
        return StepPlan::Run {
            attempt: 1,
            start: start_for(semantics),
        };
    };
    let details = record.step_details.clone().unwrap_or_default();
    match record.status {
        OperationStatus::Succeeded => StepPlan::Done(details.result),
        OperationStatus::Failed
        | OperationStatus::Cancelled
        | OperationStatus::TimedOut
        | OperationStatus::Stopped => StepPlan::Failed(recorded_error(details.error, record)),
        OperationStatus::Pending => StepPlan::Suspend,
        OperationStatus::Started => match semantics {
            StepSemantics::AtMostOncePerRetry => StepPlan::Interrupted {
                attempt: details.attempt + 1,
            },
            StepSemantics::AtLeastOncePerRetry => StepPlan::Run {
                attempt: details.attempt + 1,
                start: Start::None,
            },
        },
        // A retry is due: the next attempt starts again.
        OperationStatus::Ready => StepPlan::Run {
            attempt: details.attempt + 1,
            start: start_for(semantics),
        },
    }
}

fn start_for(semantics: StepSemantics) -> Start {
    match semantics {
        StepSemantics::AtLeastOncePerRetry => Start::Queued,
        StepSemantics::AtMostOncePerRetry => Start::Confirmed,
    }
}

/// What a wait, a callback or a chained invoke does with its record: each starts once, then
/// waits for the service to finish it.
#[derive(Debug)]
pub(crate) enum AwaitPlan {
    /// No record: checkpoint START (confirmed), then look again.
    Start,
    /// Started, not finished: suspend.
    Waiting,
    /// Finished well, with this result (JSON text; a wait has none).
    Succeeded(Option<String>),
    /// Failed, timed out, cancelled or stopped: the error.
    Failed(Error),
}

pub(crate) fn await_plan(record: Option<&Operation>) -> AwaitPlan {
    let Some(record) = record else {
        return AwaitPlan::Start;
    };
    match record.status {
        OperationStatus::Succeeded => AwaitPlan::Succeeded(
            record
                .callback_details
                .as_ref()
                .and_then(|details| details.result.clone())
                .or_else(|| {
                    record
                        .chained_invoke_details
                        .as_ref()
                        .and_then(|details| details.result.clone())
                }),
        ),
        OperationStatus::Started | OperationStatus::Pending | OperationStatus::Ready => {
            AwaitPlan::Waiting
        }
        OperationStatus::Failed
        | OperationStatus::Cancelled
        | OperationStatus::TimedOut
        | OperationStatus::Stopped => {
            let error = record
                .callback_details
                .as_ref()
                .and_then(|details| details.error.clone())
                .or_else(|| {
                    record
                        .chained_invoke_details
                        .as_ref()
                        .and_then(|details| details.error.clone())
                });
            AwaitPlan::Failed(recorded_error(error, record))
        }
    }
}

/// What a child context (also map, parallel and their branches) does with its record.
#[derive(Debug)]
pub(crate) enum ContextPlan {
    /// It finished and its result was checkpointed: return it without running the children.
    Done(Option<String>),
    /// It failed: the recorded error.
    Failed(Error),
    /// Run the children: with `start` when there is no record yet; `checkpoint_end` false when
    /// the context finished with a result too large to checkpoint (ReplayChildren), whose
    /// children replay from their own records.
    Run { start: bool, checkpoint_end: bool },
}

pub(crate) fn context_plan(record: Option<&Operation>) -> ContextPlan {
    let Some(record) = record else {
        return ContextPlan::Run {
            start: true,
            checkpoint_end: true,
        };
    };
    let details = record.context_details.clone().unwrap_or_default();
    match record.status {
        OperationStatus::Succeeded if details.replay_children => ContextPlan::Run {
            start: false,
            checkpoint_end: false,
        },
        OperationStatus::Succeeded => ContextPlan::Done(details.result),
        OperationStatus::Failed
        | OperationStatus::Cancelled
        | OperationStatus::TimedOut
        | OperationStatus::Stopped => ContextPlan::Failed(recorded_error(details.error, record)),
        _ => ContextPlan::Run {
            start: false,
            checkpoint_end: true,
        },
    }
}

/// The recorded error, or one that says what the status was when none was recorded.
fn recorded_error(error: Option<super::wire::ErrorObject>, record: &Operation) -> Error {
    match error {
        Some(error) => Error::from_object(error),
        None => Error::new(
            format!("{:?}", record.status),
            format!(
                "operation {:?} ended {:?}",
                record.name.as_deref().unwrap_or(&record.id),
                record.status
            ),
        ),
    }
}

/// Bytes of a result the SDKs checkpoint at most (`CHECKPOINT_SIZE_LIMIT_BYTES`); a child
/// context's larger result is not checkpointed: its children replay instead.
pub(crate) const CHECKPOINT_RESULT_LIMIT: usize = 256 * 1024;

/// Bytes of the execution's result the answer carries at most (the SDKs' 6 MB less 50 bytes
/// of envelope); a larger one is checkpointed as the EXECUTION's SUCCEED and the answer's
/// `Result` is empty.
pub(crate) const ANSWER_RESULT_LIMIT: usize = 6 * 1024 * 1024 - 50;

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids computed with the Python SDK's rule,
    /// `hashlib.blake2b(text.encode()).hexdigest()[:64]`.
    #[test]
    fn ids_are_the_python_sdks() {
        let first = operation_id(None, 1);
        assert_eq!(
            first,
            "1ced8f5be2db23a6513eba4d819c73806424748a7bc6fa0d792cc1c7d1775a97"
        );
        assert_eq!(
            operation_id(None, 2),
            "c5faca15ac2f93578b39ef4b6bbb871bdedce4ddd584fd31f0bb66fade3947e6"
        );
        assert_eq!(
            operation_id(None, 10),
            "f2e74cbc3eff574bbc45333c30edb947858543afda4cafdde2903324c9de0bd9"
        );
        assert_eq!(
            operation_id(Some(&first), 1),
            "974bfc6321e227b0ff101342eaf19b336f002dc6cc99c18f0941a7755cc20fc4"
        );
    }

    fn record(operation_type: OperationType, name: &str) -> Operation {
        serde_json::from_value(serde_json::json!({
            "Id": "x", "Type": operation_type, "Status": "SUCCEEDED", "Name": name, "SubType": "Step"
        }))
        .unwrap()
    }

    #[test]
    fn a_record_of_another_operation_is_a_non_determinism_error() {
        let identity = Identity {
            id: "x".into(),
            parent_id: None,
            name: Some("charge".into()),
            operation_type: OperationType::Step,
            sub_type: "Step",
        };
        let same = record(OperationType::Step, "charge");
        assert!(identity.check(Some(&same)).unwrap().is_some());
        for other in [
            record(OperationType::Step, "refund"),
            record(OperationType::Wait, "charge"),
        ] {
            let error = identity.check(Some(&other)).unwrap_err();
            assert_eq!(error.error_type(), "NonDeterministicExecutionError");
            assert!(!error.is_failure() && !error.is_suspend());
        }
    }

    #[test]
    fn at_most_once_steps_count_an_interrupted_attempt_as_failed() {
        let started: Operation = serde_json::from_value(serde_json::json!({
            "Id": "x", "Type": "STEP", "Status": "STARTED", "StepDetails": {"Attempt": 2}
        }))
        .unwrap();
        assert!(matches!(
            step_plan(Some(&started), StepSemantics::AtMostOncePerRetry),
            StepPlan::Interrupted { attempt: 3 }
        ));
        assert!(matches!(
            step_plan(Some(&started), StepSemantics::AtLeastOncePerRetry),
            StepPlan::Run {
                attempt: 3,
                start: Start::None
            }
        ));
        assert!(matches!(
            step_plan(None, StepSemantics::AtMostOncePerRetry),
            StepPlan::Run {
                attempt: 1,
                start: Start::Confirmed
            }
        ));
    }
}
