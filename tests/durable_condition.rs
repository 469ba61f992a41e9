//! `wait_for_condition`: each poll's state is checkpointed with RETRY and the delay, the next
//! poll starts from it in a later invocation, and the final state is the result.

// Empty without the feature (not a [[test]] entry: packaging.rs builds a partial copy).
#![cfg(feature = "durable-testing")]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lambda_loop::durable::testing::{FakeDurableService, Runner, Status};
use lambda_loop::durable::{self, WaitDecision};

#[test]
fn polls_until_the_condition_holds_keeping_the_state() {
    let service = FakeDurableService::start();
    let checks = AtomicU32::new(0);
    let mut runner = Runner::new(
        &service,
        durable::handler(|target: u32, ctx| {
            ctx.wait_for_condition(
                "until ready",
                0u32,
                |progress, step| {
                    checks.fetch_add(1, Ordering::SeqCst);
                    assert_eq!(step.attempt, progress + 1);
                    Ok(progress + 1)
                },
                |progress, _attempt| match *progress >= target {
                    true => WaitDecision::Done,
                    false => WaitDecision::RetryAfter(Duration::from_secs(5)),
                },
            )
        }),
    );
    let outcome = runner.run(&3);
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
    assert_eq!(outcome.result::<u32>(), 3);
    assert_eq!(checks.load(Ordering::SeqCst), 3);
    assert_eq!(outcome.invocations, 3);
    let poll = outcome.operation("until ready").unwrap();
    assert_eq!(poll.sub_type.as_deref(), Some("WaitForCondition"));
    let retries: Vec<serde_json::Value> = service
        .updates()
        .into_iter()
        .filter(|update| update["Action"] == "RETRY")
        .map(|update| {
            serde_json::json!([
                update["Payload"],
                update["StepOptions"]["NextAttemptDelaySeconds"]
            ])
        })
        .collect();
    assert_eq!(
        retries,
        [serde_json::json!(["1", 5]), serde_json::json!(["2", 5])]
    );
}
