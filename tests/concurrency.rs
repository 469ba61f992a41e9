//! Thread-per-slot concurrency against the fake Runtime API. Overlap is counted (concurrent
//! `next` calls the fake saw waiting at once), never timed.
//!
//! `concurrent` is served in-process (`serve_concurrently`: its slots on threads of this
//! test, each with its own connection), as the single loop is. A child process serves only
//! where the process is the point: a failed slot ends the process, and what the environment
//! decides (`AWS_LAMBDA_MAX_CONCURRENCY`, `_X_AMZN_TRACE_ID`, a local invoke) is read and
//! written by the entry points from the process environment, which a test does not write.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

mod support;
use lambda_loop::runtime::Json;
use lambda_loop::{Context, Result};
use support::*;

#[derive(serde::Deserialize)]
struct Work {
    #[serde(default, rename = "sleepMs")]
    sleep_ms: u64,
    #[serde(default)]
    panic: bool,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Done {
    request_id: String,
    trace_id: Option<String>,
    /// `_X_AMZN_TRACE_ID` as the handler finds it (read, never written, by this test).
    trace_env: Option<String>,
    thread: Option<String>,
    served: u64,
}

fn work(work: Work, ctx: Context) -> Result<Done> {
    static SERVED: AtomicU64 = AtomicU64::new(0);
    std::thread::sleep(Duration::from_millis(work.sleep_ms));
    if work.panic {
        panic!("asked to panic in one slot");
    }
    Ok(Done {
        request_id: ctx.request_id,
        trace_id: ctx.xray_trace_id,
        trace_env: std::env::var("_X_AMZN_TRACE_ID").ok(),
        thread: std::thread::current().name().map(str::to_owned),
        served: SERVED.fetch_add(1, Ordering::Relaxed) + 1,
    })
}

type WorkFn = fn(Work, Context) -> Result<Done>;

/// A typed handler, of which `concurrent` gives each slot a clone.
fn shared_handler() -> Json<WorkFn, Work> {
    lambda_loop::json(work as WorkFn)
}

fn trace(i: usize) -> String {
    format!("Root=1-5bef4de7-{i:024x};Sampled=1")
}

#[test]
fn four_slots_poll_at_once_and_every_invocation_gets_one_answer() {
    let api = FakeApi::start();
    let served = serve_concurrently(&api, 4, shared_handler());
    // No event yet: four slots must all be waiting on `next` at the same time.
    api.wait_for_waiting_next(4);
    for i in 1..=8 {
        api.push_event(
            Event::new(&format!("id-{i}"), br#"{"sleepMs":200}"#.to_vec())
                .header("Lambda-Runtime-Trace-Id", trace(i)),
        );
    }
    let answers = served.wait_for_answers(&api, 8);
    assert_eq!(answers.len(), 8);

    let mut answered: BTreeMap<String, usize> = BTreeMap::new();
    for answer in &answers {
        let Some((id, "response")) = answer.answered() else {
            panic!("not a response: {}", answer.path);
        };
        let reply = answer.body_json();
        assert_eq!(reply["requestId"], id, "answered to the wrong id");
        let i: usize = id.strip_prefix("id-").unwrap().parse().unwrap();
        assert_eq!(
            reply["traceId"],
            trace(i),
            "the trace id of another invocation"
        );
        assert_eq!(
            reply["traceEnv"],
            serde_json::Value::Null,
            "the env var was set"
        );
        let thread = reply["thread"].as_str().unwrap();
        assert!(
            [
                "lambda-slot-1",
                "lambda-slot-2",
                "lambda-slot-3",
                "lambda-slot-4"
            ]
            .contains(&thread),
            "{thread}"
        );
        *answered.entry(id.to_owned()).or_default() += 1;
    }
    assert_eq!(answered.len(), 8, "{answered:?}");
    assert!(answered.values().all(|&count| count == 1), "{answered:?}");

    // All four are back at `next`, each on its own kept-alive connection.
    api.wait_for_waiting_next(4);
    assert_eq!(api.most_waiting_next(), 4);
    assert_eq!(api.connections(), 4);
    assert!(!served.is_stopped());
}

#[test]
fn a_panic_in_one_slot_is_reported_and_that_slot_keeps_serving() {
    let api = FakeApi::start();
    let served = serve_concurrently(&api, 2, shared_handler());
    api.wait_for_waiting_next(2);
    api.push_event(Event::new("boom", br#"{"panic":true}"#.to_vec()));
    let answers = served.wait_for_answers(&api, 1);
    assert_eq!(answers[0].answered(), Some(("boom", "error")));
    let error = answers[0].body_json();
    assert_eq!(error["errorType"], "Runtime.Panic");
    let message = error["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("asked to panic in one slot") && message.contains("tests/concurrency.rs:"),
        "{message}"
    );

    // Both slots wait on `next` again: the one that panicked is still serving.
    api.wait_for_waiting_next(2);
    api.push_event(Event::new("a", b"{}".to_vec()));
    api.push_event(Event::new("b", b"{}".to_vec()));
    let answers = served.wait_for_answers(&api, 3);
    assert!(answers[1..].iter().all(|a| a.path.ends_with("/response")));
    api.wait_for_waiting_next(2);
}

#[test]
fn process_a_500_on_next_in_any_slot_ends_the_process_with_one_line() {
    let api = FakeApi::start();
    let mut child = spawn_example("concurrent", &api, &[("AWS_LAMBDA_MAX_CONCURRENCY", "3")]);
    api.wait_for_waiting_next(3);
    api.finish(); // every waiting `next` now gets 500
    assert_eq!(child.wait().code(), Some(1));
    let stderr = child.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("answered 500 to GET /runtime/invocation/next")
            && stderr.contains("of 3)")
            && stderr.contains("exiting"),
        "{stderr}"
    );
}

/// The single loop: one `next` at a time, the trace id in `_X_AMZN_TRACE_ID`, the main thread.
/// The fake API is handed back with the child: dropping it answers the waiting `next` with 500,
/// which would add the exit line to the stderr the callers check.
fn assert_single_loop(extra: &[(&str, &str)]) -> (FakeApi, Running) {
    let api = FakeApi::start();
    let child = spawn_example("concurrent", &api, extra);
    api.push_event(Event::new("one", b"{}".to_vec()).header("Lambda-Runtime-Trace-Id", trace(1)));
    api.push_event(Event::new("two", b"{}".to_vec()));
    let answers = api.wait_for_answers(2);
    let first = answers[0].body_json();
    assert_eq!(first["traceEnv"], trace(1));
    assert_eq!(first["thread"], "main");
    assert_eq!(answers[1].body_json()["traceEnv"], serde_json::Value::Null);
    api.wait_for_waiting_next(1);
    assert_eq!(api.most_waiting_next(), 1);
    assert_eq!(api.connections(), 1);
    (api, child)
}

#[test]
fn process_unset_or_one_is_exactly_the_single_loop() {
    let (_api, child) = assert_single_loop(&[]);
    assert_eq!(child.stderr(), "");
    let (_api, child) = assert_single_loop(&[("AWS_LAMBDA_MAX_CONCURRENCY", "1")]);
    assert_eq!(child.stderr(), "");
}

#[test]
fn process_an_invalid_value_says_so_once_and_serves_one_at_a_time() {
    for bad in ["0", "four", ""] {
        let (_api, child) = assert_single_loop(&[("AWS_LAMBDA_MAX_CONCURRENCY", bad)]);
        let stderr = child.wait_for_stderr(
            "is not a whole number of at least 1; serving one invocation at a time",
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[test]
fn process_plain_run_under_concurrency_serves_one_at_a_time_and_says_so_once() {
    let api = FakeApi::start();
    let child = spawn_example("echo", &api, &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")]);
    for id in ["a", "b", "c"] {
        api.push_event(Event::new(id, id.as_bytes().to_vec()));
    }
    let answers = api.wait_for_answers(3);
    assert!(answers.iter().all(|a| a.path.ends_with("/response")));
    api.wait_for_waiting_next(1);
    assert_eq!(api.most_waiting_next(), 1);
    let stderr = child.wait_for_stderr(
        "AWS_LAMBDA_MAX_CONCURRENCY=4, but this handler is served one invocation at a time",
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn process_local_invoke_is_unchanged() {
    let mut child = spawn_with_env(
        &example("concurrent"),
        &[],
        &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")],
        Some(b"{}".to_vec()),
    );
    assert!(child.wait().success(), "{}", child.stderr());
    let reply: serde_json::Value = serde_json::from_slice(&child.stdout()).unwrap();
    assert_eq!(reply["thread"], "main");
    assert_eq!(reply["served"], 1);
}
