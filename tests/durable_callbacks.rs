//! Callbacks: `create_callback` hands out an id and suspends on `result()` until the id is
//! completed; `wait_for_callback` runs the submitter once, in a child context; failures and
//! timeouts come back as errors; the timeouts are checkpointed as options.

// Empty without the feature (not a [[test]] entry: packaging.rs builds a partial copy).
#![cfg(feature = "durable-testing")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lambda_loop::durable::testing::{FakeDurableService, Runner, Status};
use lambda_loop::durable::{self, CallbackOptions, OperationStatus};

#[test]
fn a_callback_suspends_until_it_is_completed() {
    let service = FakeDurableService::start();
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            let options = CallbackOptions::new()
                .timeout(Duration::from_secs(600))
                .heartbeat_timeout(Duration::from_secs(60));
            let callback = ctx.create_callback::<serde_json::Value>("approval", options)?;
            let id = callback.id().to_owned();
            let answer = callback.result()?;
            Ok(serde_json::json!({"id": id, "answer": answer}))
        }),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.status, Status::Pending);
    let id = outcome
        .callback_id("approval")
        .expect("the callback has an id");
    let start = service
        .updates()
        .into_iter()
        .find(|update| update["Type"] == "CALLBACK")
        .unwrap();
    assert_eq!(
        start["CallbackOptions"],
        serde_json::json!({"TimeoutSeconds": 600, "HeartbeatTimeoutSeconds": 60})
    );
    // Nothing changes until the callback is completed: the execution still waits.
    assert_eq!(runner.resume().status, Status::Pending);
    assert!(service.complete_callback(&id, r#"{"approved": true}"#));
    let outcome = runner.resume();
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
    assert_eq!(
        outcome.result::<serde_json::Value>(),
        serde_json::json!({"id": id, "answer": {"approved": true}})
    );
}

#[test]
fn wait_for_callback_submits_once_and_returns_the_result() {
    let service = FakeDurableService::start();
    let submitted = std::sync::Mutex::new(Vec::new());
    let mut runner = Runner::new(
        &service,
        durable::handler(|order: u32, ctx| {
            let approved: bool =
                ctx.wait_for_callback("approval", CallbackOptions::new(), |callback_id, _step| {
                    submitted.lock().unwrap().push(callback_id.to_owned());
                    Ok(())
                })?;
            Ok(format!("order {order}: {approved}"))
        }),
    );
    let outcome = runner.run(&7);
    assert_eq!(outcome.status, Status::Pending);
    let id = outcome.callback_id("approval create callback id").unwrap();
    assert_eq!(
        submitted.lock().unwrap().as_slice(),
        std::slice::from_ref(&id)
    );
    let group = outcome.operation("approval").unwrap();
    assert_eq!(group.sub_type.as_deref(), Some("WaitForCallback"));
    assert_eq!(
        outcome.operation("approval submitter").unwrap().status,
        OperationStatus::Succeeded
    );
    assert!(service.complete_callback(&id, "false"));
    let outcome = runner.resume();
    assert_eq!(outcome.result::<String>(), "order 7: false");
    // The submitter ran in the first invocation only.
    assert_eq!(submitted.lock().unwrap().len(), 1);
}

#[test]
fn a_failed_or_timed_out_callback_is_an_error() {
    for timed_out in [false, true] {
        let service = FakeDurableService::start();
        let seen = AtomicUsize::new(0);
        let mut runner = Runner::new(
            &service,
            durable::handler(|_: (), ctx| {
                let callback = ctx.create_callback::<u32>("payment", CallbackOptions::new())?;
                match callback.result() {
                    Err(error) if error.is_failure() => {
                        seen.fetch_add(1, Ordering::SeqCst);
                        Ok(format!("{}: {}", error.error_type(), error.message()))
                    }
                    other => other.map(|n| n.to_string()),
                }
            }),
        );
        let id = runner.run(&()).callback_id("payment").unwrap();
        if timed_out {
            assert!(service.time_out_callback(&id));
        } else {
            assert!(service.fail_callback(&id, "PaymentRejected", "card expired"));
        }
        let outcome = runner.resume();
        assert_eq!(outcome.status, Status::Succeeded);
        let expected = if timed_out {
            format!("CallbackTimeoutError: callback {id} timed out")
        } else {
            "PaymentRejected: card expired".to_owned()
        };
        assert_eq!(outcome.result::<String>(), expected);
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }
}
