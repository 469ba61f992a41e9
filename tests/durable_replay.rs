//! Replay: a durable handler runs from the top on every invocation, and what already
//! happened comes back from the record instead of running again. Driven by the in-process
//! runner against the fake durable service (real HTTP on 127.0.0.1).

// Empty without the feature (not a [[test]] entry: packaging.rs builds a partial copy).
#![cfg(feature = "durable-testing")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lambda_loop::durable::testing::{FakeDurableService, Runner, Status};
use lambda_loop::durable::{self, OperationStatus, OperationType};

#[test]
fn finished_steps_return_their_records_without_running_again() {
    let service = FakeDurableService::start();
    let (adds, waits) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut runner = Runner::new(
        &service,
        durable::handler(|input: (u64, u64), ctx| {
            let sum: u64 = ctx.step("add", |_| {
                adds.fetch_add(1, Ordering::SeqCst);
                Ok(input.0 + input.1)
            })?;
            waits.fetch_add(1, Ordering::SeqCst);
            ctx.wait("pause", Duration::from_secs(30))?;
            ctx.wait("pause again", Duration::from_millis(1500))?;
            let doubled: u64 = ctx.step("double", |_| Ok(sum * 2))?;
            Ok(doubled)
        }),
    );
    let outcome = runner.run(&(2, 3));
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
    assert_eq!(outcome.result::<u64>(), 10);
    // Three invocations: the two waits each ended one; the step ran in the first only.
    assert_eq!(outcome.invocations, 3);
    assert_eq!(adds.load(Ordering::SeqCst), 1);
    assert_eq!(waits.load(Ordering::SeqCst), 3);
    let names: Vec<(OperationType, &str, OperationStatus)> = outcome
        .operations
        .iter()
        .skip(1)
        .map(|op| {
            (
                op.operation_type,
                op.name.as_deref().unwrap_or(""),
                op.status,
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            (OperationType::Step, "add", OperationStatus::Succeeded),
            (OperationType::Wait, "pause", OperationStatus::Succeeded),
            (
                OperationType::Wait,
                "pause again",
                OperationStatus::Succeeded
            ),
            (OperationType::Step, "double", OperationStatus::Succeeded),
        ]
    );
    assert_eq!(
        outcome
            .operation("add")
            .unwrap()
            .step_details
            .as_ref()
            .unwrap()
            .result
            .as_deref(),
        Some("5")
    );
    // Waits are whole seconds, rounded up.
    let waits: Vec<serde_json::Value> = service
        .updates()
        .into_iter()
        .filter(|update| update["Type"] == "WAIT")
        .map(|update| update["WaitOptions"].clone())
        .collect();
    assert_eq!(
        waits,
        [
            serde_json::json!({"WaitSeconds": 30}),
            serde_json::json!({"WaitSeconds": 2})
        ]
    );
}

/// The ids are the Python SDK's: `hashlib.blake2b(b"1").hexdigest()[:64]` for the first
/// operation of the root context, `blake2b(f"{parent}-1")` for the first of a child.
#[test]
fn operation_ids_are_the_python_sdks() {
    let service = FakeDurableService::start();
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            ctx.run_in_child_context("group", |child| child.step("inner", |_| Ok(1)))
        }),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
    let group = outcome.operation("group").unwrap();
    assert_eq!(
        group.id,
        "1ced8f5be2db23a6513eba4d819c73806424748a7bc6fa0d792cc1c7d1775a97"
    );
    assert_eq!(group.sub_type.as_deref(), Some("RunInChildContext"));
    let inner = outcome.operation("inner").unwrap();
    assert_eq!(
        inner.id,
        "974bfc6321e227b0ff101342eaf19b336f002dc6cc99c18f0941a7755cc20fc4"
    );
    assert_eq!(inner.parent_id.as_deref(), Some(group.id.as_str()));
}

#[test]
fn a_finished_child_context_replays_as_one_record() {
    let service = FakeDurableService::start();
    let runs = AtomicUsize::new(0);
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            let total: u32 = ctx.run_in_child_context("group", |child| {
                runs.fetch_add(1, Ordering::SeqCst);
                let a: u32 = child.step("a", |_| Ok(40))?;
                let b: u32 = child.step("b", |_| Ok(2))?;
                Ok(a + b)
            })?;
            ctx.wait("pause", Duration::from_secs(1))?;
            Ok(total)
        }),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
    assert_eq!(outcome.result::<u32>(), 42);
    assert_eq!(outcome.invocations, 2);
    // The second invocation took the context's record and did not enter it.
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let group = outcome.operation("group").unwrap();
    assert_eq!(
        group.context_details.as_ref().unwrap().result.as_deref(),
        Some("42")
    );
}

/// A child context's result over 256 KB is not checkpointed: the context is marked
/// ReplayChildren and a replay runs it again, its steps returning their records.
#[test]
fn a_large_child_result_replays_its_children() {
    let service = FakeDurableService::start();
    let (runs, steps) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            let text: String = ctx.run_in_child_context("big", |child| {
                runs.fetch_add(1, Ordering::SeqCst);
                let mut text = String::new();
                for part in 0..3 {
                    let chunk: String = child.step(&format!("part {part}"), |_| {
                        steps.fetch_add(1, Ordering::SeqCst);
                        Ok("x".repeat(100 * 1024))
                    })?;
                    text.push_str(&chunk);
                }
                Ok(text)
            })?;
            ctx.wait("pause", Duration::from_secs(1))?;
            Ok(text.len())
        }),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
    assert_eq!(outcome.result::<usize>(), 300 * 1024);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(steps.load(Ordering::SeqCst), 3);
    let details = outcome
        .operation("big")
        .unwrap()
        .context_details
        .clone()
        .unwrap();
    assert!(details.replay_children);
    assert_eq!(details.result.as_deref(), Some(""));
}

/// A result larger than the answer may carry is checkpointed as the EXECUTION's SUCCEED and
/// the answer's Result is empty, as the SDKs do.
#[test]
fn a_result_too_large_to_answer_is_checkpointed() {
    let service = FakeDurableService::start();
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), _ctx| Ok("y".repeat(7 << 20))),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.status, Status::Succeeded);
    let arn = runner.arn().unwrap();
    assert_eq!(
        service.checkpointed_result(arn).map(|r| r.len()),
        Some((7 << 20) + 2)
    );
    assert_eq!(outcome.result::<String>().len(), 7 << 20);
}

#[test]
fn a_replay_that_takes_another_path_is_a_non_determinism_error() {
    let service = FakeDurableService::start();
    let invocation = AtomicUsize::new(0);
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            // The first invocation meets "charge", a replay meets "refund" in its place.
            let name = match invocation.fetch_add(1, Ordering::SeqCst) {
                0 => "charge",
                _ => "refund",
            };
            ctx.step(name, |_| Ok(()))?;
            ctx.wait("pause", Duration::from_secs(1))?;
            Ok(())
        }),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.status, Status::Failed, "{outcome:#?}");
    let error = outcome.error.unwrap();
    assert_eq!(error.error_type, "NonDeterministicExecutionError");
    assert!(
        error.error_message.contains("\"charge\"") && error.error_message.contains("\"refund\""),
        "{}",
        error.error_message
    );
}

#[derive(Debug)]
struct OutOfStock(u32);

impl std::fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "item {} is out of stock", self.0)
    }
}

impl std::error::Error for OutOfStock {}

/// A handler's own failure ends the execution FAILED with the error's type and message.
#[test]
fn a_handler_error_fails_the_execution_with_its_type_and_message() {
    let service = FakeDurableService::start();
    let mut runner = Runner::new(
        &service,
        durable::handler(|item: u32, _ctx| -> durable::Result<()> { Err(OutOfStock(item))? }),
    );
    let outcome = runner.run(&7);
    assert_eq!(outcome.status, Status::Failed);
    let error = outcome.error.unwrap();
    assert!(
        error.error_type.ends_with("OutOfStock"),
        "{}",
        error.error_type
    );
    assert_eq!(error.error_message, "item 7 is out of stock");
    assert!(error.stack_trace.is_empty());
}

/// A failed child context is recorded with its error: a replay returns the error without
/// entering the context again.
#[test]
fn a_failed_child_context_replays_its_error() {
    let service = FakeDurableService::start();
    let runs = AtomicUsize::new(0);
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            let outcome: durable::Result<u32> = ctx.run_in_child_context("group", |child| {
                runs.fetch_add(1, Ordering::SeqCst);
                child.step("fine", |_| Ok(1))?;
                Err(durable::Error::new("GroupFailed", "the group gave up"))
            });
            let error = outcome.unwrap_err();
            ctx.wait("pause", Duration::from_secs(1))?;
            Ok(format!("{}: {}", error.error_type(), error.message()))
        }),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.result::<String>(), "GroupFailed: the group gave up");
    assert_eq!(outcome.invocations, 2);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(
        outcome.operation("group").unwrap().status,
        OperationStatus::Failed
    );
}
