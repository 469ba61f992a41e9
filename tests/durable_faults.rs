//! The durable client under faults, each on its own: durable handlers served in-process by
//! the real loop against the fake Runtime API, checkpointing to the fake durable service,
//! which drops a connection, throttles, fails, cuts an answer or refuses a token. No step's
//! result is lost, and none runs twice where its semantics forbid it.

// Empty without the feature (not a [[test]] entry: packaging.rs builds a partial copy).
#![cfg(feature = "durable-testing")]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lambda_loop::durable::testing::{Call, FakeDurableService, Fault, RecordedCall};
use lambda_loop::durable::{self, OperationStatus, StepOptions};
use support::{Event, FakeApi, Recorded};

/// The one-step order flow; `runs` counts how often the step's work ran.
fn order_flow(
    runs: Arc<AtomicUsize>,
    options: StepOptions,
) -> impl FnMut(u32, &mut durable::DurableContext) -> durable::Result<String> + Send {
    move |order: u32, ctx| {
        let receipt: String = ctx.step_with("charge", options.clone(), |_| {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(format!("charged order {order}"))
        })?;
        Ok(receipt)
    }
}

fn checkpoints(service: &FakeDurableService) -> Vec<RecordedCall> {
    service
        .calls()
        .into_iter()
        .filter(|call| call.call == Call::Checkpoint)
        .collect()
}

fn client_token(call: &RecordedCall) -> String {
    call.body_json()["ClientToken"].as_str().unwrap().to_owned()
}

/// The durable answer of a posted response.
fn durable_answer(answer: &Recorded) -> serde_json::Value {
    assert!(
        answer.path.ends_with("/response"),
        "not a response: {} {}",
        answer.path,
        answer.body_text()
    );
    answer.body_json()
}

/// Serves one invocation of a fresh execution with the faults queued first; returns the
/// service, the answers and how often the step ran.
fn serve_once(
    faults: &[(Call, Fault)],
    options: StepOptions,
) -> (FakeDurableService, Vec<Recorded>, usize) {
    let service = FakeDurableService::start();
    for (call, fault) in faults {
        service.inject(*call, *fault);
    }
    let arn = service.start_execution("order", &7);
    let api = FakeApi::start();
    api.push_event(Event::new("r1", service.invocation_event(&arn)));
    let runs = Arc::new(AtomicUsize::new(0));
    let handler =
        durable::handler(order_flow(Arc::clone(&runs), options)).with_settings(service.settings());
    let served = support::serve_in_thread(&api, handler);
    let answers = served.wait_for_answers(&api, 1);
    served.finish(&api);
    let runs = runs.load(Ordering::SeqCst);
    (service, answers, runs)
}

#[test]
fn a_connection_dropped_after_the_checkpoint_is_retried_with_the_same_client_token() {
    let (service, answers, runs) = serve_once(
        &[(Call::Checkpoint, Fault::DropAfterApply)],
        StepOptions::new(),
    );
    assert_eq!(
        durable_answer(&answers[0]),
        serde_json::json!({"Status": "SUCCEEDED", "Result": "\"charged order 7\""})
    );
    let calls = checkpoints(&service);
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!((calls[0].status, calls[1].status), (None, Some(200)));
    // The same call again: same ClientToken, same token, same updates. The service had
    // applied the first one, and answered the second from its cache.
    assert_eq!(calls[0].body, calls[1].body);
    assert_eq!(runs, 1);
    let operations = service.operations(&service_arn(&service));
    let charges: Vec<_> = operations
        .iter()
        .filter(|op| op.name.as_deref() == Some("charge"))
        .collect();
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0].status, OperationStatus::Succeeded);
}

/// The ARN of the one execution a test started (from its first call).
fn service_arn(service: &FakeDurableService) -> String {
    let target = &service.calls()[0].target;
    let encoded = target
        .strip_prefix("/2025-12-01/durable-executions/")
        .and_then(|rest| rest.split('/').next())
        .unwrap();
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

#[test]
fn throttling_and_server_errors_are_retried_after_growing_pauses() {
    let faults = [
        (Call::Checkpoint, Fault::Status(429)),
        (Call::Checkpoint, Fault::Status(500)),
        (Call::Checkpoint, Fault::Status(503)),
    ];
    let (service, answers, runs) = serve_once(&faults, StepOptions::new());
    assert_eq!(durable_answer(&answers[0])["Status"], "SUCCEEDED");
    let calls = checkpoints(&service);
    let statuses: Vec<Option<u16>> = calls.iter().map(|call| call.status).collect();
    assert_eq!(statuses, [Some(429), Some(500), Some(503), Some(200)]);
    assert!(
        calls.iter().all(|call| call.body == calls[0].body),
        "every retry sends the same call"
    );
    assert_eq!(runs, 1);
    // FakeDurableService::settings pauses up to 10 ms, 20 ms, 40 ms (never under a tenth).
    let gaps: Vec<Duration> = calls
        .windows(2)
        .map(|pair| pair[1].received - pair[0].received)
        .collect();
    for (gap, least) in gaps.iter().zip([1, 2, 4]) {
        assert!(*gap >= Duration::from_millis(least), "gaps {gaps:?}");
    }
}

/// When every sending fails, the invocation fails through the Runtime API (the service then
/// retries the invocation). An at-most-once step whose START never got through did not run.
#[test]
fn a_call_that_never_gets_through_fails_the_invocation_and_nothing_ran() {
    let faults = [(Call::Checkpoint, Fault::Status(503)); 6];
    let (service, answers, runs) = serve_once(&faults, StepOptions::new().at_most_once());
    assert!(answers[0].path.ends_with("/error"), "{}", answers[0].path);
    let error = answers[0].body_json();
    assert_eq!(error["errorType"], "DurableApiUnavailable");
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("in 6 attempts"),
        "{error}"
    );
    assert_eq!(checkpoints(&service).len(), 6);
    assert_eq!(runs, 0);
}

#[test]
fn a_stale_token_fails_the_invocation_without_retrying() {
    let (service, answers, runs) =
        serve_once(&[(Call::Checkpoint, Fault::StaleToken)], StepOptions::new());
    assert!(answers[0].path.ends_with("/error"));
    let error = answers[0].body_json();
    assert_eq!(error["errorType"], "InvalidParameterValueException");
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("Invalid checkpoint token"),
        "{error}"
    );
    assert_eq!(checkpoints(&service).len(), 1);
    // At least once: the work ran; its result was not recorded, so a replay runs it again.
    assert_eq!(runs, 1);
}

#[test]
fn a_malformed_answer_is_retried_with_the_same_client_token() {
    let (service, answers, runs) =
        serve_once(&[(Call::Checkpoint, Fault::Malformed)], StepOptions::new());
    assert_eq!(durable_answer(&answers[0])["Status"], "SUCCEEDED");
    let calls = checkpoints(&service);
    assert_eq!(calls.len(), 2);
    assert_eq!(client_token(&calls[0]), client_token(&calls[1]));
    assert_eq!(runs, 1);
}

/// An invocation whose state comes in pages reads the rest with GetDurableExecutionState,
/// with the event's token and each page's marker, before running: every step replays.
#[test]
fn a_paginated_state_is_read_page_by_page() {
    let service = FakeDurableService::start();
    service.set_page_size(2);
    let arn = service.start_execution("pages", &());
    let api = FakeApi::start();
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    let handler = durable::handler(move |_: (), ctx| {
        let mut total = 0u32;
        for n in 0..5u32 {
            total += ctx.step(&format!("step {n}"), |_| {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok(n)
            })?;
        }
        ctx.wait("pause", Duration::from_secs(1))?;
        Ok(total)
    })
    .with_settings(service.settings());
    api.push_event(Event::new("r1", service.invocation_event(&arn)));
    let served = support::serve_in_thread(&api, handler);
    assert_eq!(
        durable_answer(&served.wait_for_answers(&api, 1)[0])["Status"],
        "PENDING"
    );
    assert!(service.advance(&arn));
    // One state call fails once on the way: it is retried.
    service.inject(Call::State, Fault::Status(500));
    let event = service.invocation_event(&arn);
    let token =
        serde_json::from_slice::<serde_json::Value>(&event).unwrap()["CheckpointToken"].clone();
    api.push_event(Event::new("r2", event));
    let answers = served.wait_for_answers(&api, 2);
    assert_eq!(
        durable_answer(&answers[1]),
        serde_json::json!({"Status": "SUCCEEDED", "Result": "10"})
    );
    served.finish(&api);
    assert_eq!(runs.load(Ordering::SeqCst), 5);
    // 7 operations (execution, 5 steps, the wait) in pages of 2: markers 2, 4, 6, the one
    // at 2 sent twice (its first answer was the 500).
    let states: Vec<(Option<u16>, String)> = service
        .calls()
        .iter()
        .filter(|call| call.call == Call::State)
        .map(|call| {
            (
                call.status,
                call.target.split_once('?').unwrap().1.to_owned(),
            )
        })
        .collect();
    let token = token.as_str().unwrap();
    let query = |marker: u32| format!("CheckpointToken={token}&Marker={marker}&MaxItems=1000");
    assert_eq!(
        states,
        [
            (Some(500), query(2)),
            (Some(200), query(2)),
            (Some(200), query(4)),
            (Some(200), query(6))
        ]
    );
}
