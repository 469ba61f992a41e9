//! Steps: retries by suspension (RETRY with the strategy's delay, the next attempt in a later
//! invocation), the retryable-error predicate, at-least-once and at-most-once semantics, the
//! failure's own type and message, and START going out with the result in one call.

// Empty without the feature (not a [[test]] entry: packaging.rs builds a partial copy).
#![cfg(feature = "durable-testing")]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lambda_loop::durable::testing::{Call, FakeDurableService, Fault, Runner, Status};
use lambda_loop::durable::{self, Error, Jitter, OperationStatus, RetryStrategy, StepOptions};

fn updates(service: &FakeDurableService) -> Vec<Vec<serde_json::Value>> {
    service
        .calls()
        .iter()
        .filter(|call| call.call == Call::Checkpoint && call.status == Some(200))
        .map(|call| {
            call.body_json()["Updates"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn actions(updates: &[serde_json::Value]) -> Vec<String> {
    updates
        .iter()
        .map(|update| {
            format!(
                "{} {}",
                update["Type"].as_str().unwrap(),
                update["Action"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_failing_step_is_retried_with_the_strategys_delays_then_succeeds() {
    let service = FakeDurableService::start();
    let attempts = AtomicU32::new(0);
    let strategy = RetryStrategy::default()
        .max_attempts(4)
        .initial_delay(Duration::from_secs(2))
        .backoff_rate(3.0)
        .jitter(Jitter::None);
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            ctx.step_with(
                "flaky",
                StepOptions::new().retry(strategy.clone()),
                |step| {
                    attempts.fetch_add(1, Ordering::SeqCst);
                    if step.attempt < 3 {
                        return Err(Error::new(
                            "Flaky",
                            format!("attempt {} failed", step.attempt),
                        ));
                    }
                    Ok(step.attempt)
                },
            )
        }),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
    assert_eq!(outcome.result::<u32>(), 3);
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(outcome.invocations, 3);
    let delays: Vec<serde_json::Value> = updates(&service)
        .concat()
        .into_iter()
        .filter(|update| update["Action"] == "RETRY")
        .map(|update| update["StepOptions"]["NextAttemptDelaySeconds"].clone())
        .collect();
    assert_eq!(delays, [2, 6]);
    let retry = updates(&service)[0].clone();
    assert_eq!(actions(&retry), ["STEP START", "STEP RETRY"]);
    assert_eq!(retry[1]["Error"]["ErrorType"], "Flaky");
    assert_eq!(retry[1]["Error"]["ErrorMessage"], "attempt 1 failed");
}

#[derive(Debug)]
struct CardDeclined;

impl std::fmt::Display for CardDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the card was declined")
    }
}

impl std::error::Error for CardDeclined {}

/// The last attempt's error is the step's: FAIL is checkpointed with its own type and message,
/// and the handler gets it back (here it fails the execution with it).
#[test]
fn the_last_failure_is_the_steps_with_its_own_type() {
    let service = FakeDurableService::start();
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            let options = StepOptions::new().retry(
                RetryStrategy::default()
                    .max_attempts(2)
                    .jitter(Jitter::None),
            );
            ctx.step_with("charge", options, |_| -> durable::Result<()> {
                Err(CardDeclined)?
            })
        }),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.status, Status::Failed);
    let error = outcome.error.clone().unwrap();
    assert!(
        error.error_type.ends_with("::CardDeclined"),
        "{}",
        error.error_type
    );
    assert_eq!(error.error_message, "the card was declined");
    let charge = outcome.operation("charge").unwrap();
    assert_eq!(charge.status, OperationStatus::Failed);
    assert_eq!(
        charge.step_details.as_ref().unwrap().error.as_ref(),
        Some(&error)
    );
    // A step's failure can be caught like any value; a replay gives the same error.
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            let charged = ctx.step_with(
                "charge",
                StepOptions::new().retry(RetryStrategy::none()),
                |_| -> durable::Result<()> { Err(CardDeclined)? },
            );
            let error = charged.unwrap_err();
            assert!(error.is_failure());
            ctx.wait("pause", Duration::from_secs(1))?;
            Ok(error.message().to_owned())
        }),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.result::<String>(), "the card was declined");
}

#[test]
fn errors_the_predicate_rejects_are_not_retried() {
    let service = FakeDurableService::start();
    let attempts = AtomicU32::new(0);
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            let strategy =
                RetryStrategy::default().retryable(|error| error.error_type() != "Invalid");
            ctx.step_with(
                "validate",
                StepOptions::new().retry(strategy),
                |_| -> durable::Result<()> {
                    attempts.fetch_add(1, Ordering::SeqCst);
                    Err(Error::new("Invalid", "no"))
                },
            )
        }),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    assert_eq!(outcome.invocations, 1);
}

/// At least once (the default): START is queued and goes out with SUCCEED in one call.
/// At most once: START is confirmed in a call of its own before the work runs.
#[test]
fn start_goes_with_the_result_unless_the_step_is_at_most_once() {
    let service = FakeDurableService::start();
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            ctx.step("once or more", |_| Ok(1))?;
            ctx.step_with("at most once", StepOptions::new().at_most_once(), |_| Ok(2))
        }),
    );
    assert_eq!(runner.run(&()).status, Status::Succeeded);
    let calls: Vec<Vec<String>> = updates(&service)
        .iter()
        .map(|updates| actions(updates))
        .collect();
    assert_eq!(
        calls,
        [
            vec!["STEP START", "STEP SUCCEED"],
            vec!["STEP START"],
            vec!["STEP SUCCEED"],
        ]
    );
}

/// An at-most-once attempt found started but unfinished (its invocation ended between START
/// and SUCCEED: here the SUCCEED call is refused, which fails the invocation) is not run
/// again as the same attempt: it counts as failed and the strategy retries it as the next
/// attempt. An at-least-once step in the same spot simply runs again.
#[test]
fn an_interrupted_attempt_is_failed_at_most_once_and_rerun_at_least_once() {
    for (options, expected_attempts) in [
        (StepOptions::new().at_most_once(), [1, 2]),
        (StepOptions::new(), [1, 1]),
    ] {
        let service = FakeDurableService::start();
        let attempts = std::sync::Mutex::new(Vec::new());
        let options = options.retry(
            RetryStrategy::default()
                .max_attempts(2)
                .jitter(Jitter::None),
        );
        let mut runner = Runner::new(
            &service,
            durable::handler(|_: (), ctx| {
                ctx.step_with("pay", options.clone(), |step| {
                    let mut attempts = attempts.lock().unwrap();
                    if attempts.is_empty() {
                        // The first run's result never reaches the service.
                        service.inject(Call::Checkpoint, Fault::StaleToken);
                    }
                    attempts.push(step.attempt);
                    Ok(step.attempt)
                })
            }),
        );
        let outcome = runner.run(&());
        assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
        assert_eq!(*attempts.lock().unwrap(), expected_attempts);
        assert_eq!(outcome.result::<u32>(), expected_attempts[1]);
    }
}

/// A result larger than a checkpoint holds fails the step (the SDKs' limit, 256 KB of JSON),
/// with a message that says where such a result belongs.
#[test]
fn a_result_too_large_for_a_checkpoint_fails_the_step() {
    let service = FakeDurableService::start();
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| ctx.step("huge", |_| Ok("z".repeat(256 * 1024)))),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.status, Status::Failed);
    let error = outcome.error.clone().unwrap();
    assert_eq!(error.error_type, "PayloadTooLarge");
    assert!(
        error.error_message.contains("run_in_child_context"),
        "{}",
        error.error_message
    );
    assert_eq!(
        outcome.operation("huge").unwrap().status,
        OperationStatus::Failed
    );
    // Just under the limit (the JSON quotes included) is a result like any other.
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| ctx.step("large", |_| Ok("z".repeat(256 * 1024 - 2)))),
    );
    assert_eq!(runner.run(&()).status, Status::Succeeded);
}
