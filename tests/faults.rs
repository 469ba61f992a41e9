//! The fault matrix: every way the Runtime API can misbehave, at every step, and what
//! lambda-loop does about it. The same table is in the crate docs (section "Faults").
//!
//! Each case runs the `fail` example against a fake API that misbehaves once, then checks
//! that every event handed out got exactly one answer (never zero, never two, never to a
//! wrong id), or that the process exited with code 1 and one clear stderr line; that the
//! runtime never panicked; and that nothing hung (every wait is bounded).

mod support;
use std::time::{Duration, Instant};
use support::*;

/// What a case must end in.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    /// Both events answered as usual; `warnings` extra stderr lines on the way.
    Served { warnings: usize },
    /// The first event answered with an error of this type, the second as usual.
    FirstFails(&'static str),
    /// The process exits with code 1 and one stderr line; nothing (more) is answered.
    Exits,
}

/// Statuses a Runtime API (or a broken proxy in front of it) may answer with.
const STATUSES: [u16; 10] = [400, 403, 404, 408, 410, 413, 429, 500, 502, 503];
const MORE_STATUSES: [u16; 1] = [504];

fn statuses() -> impl Iterator<Item = u16> {
    STATUSES.into_iter().chain(MORE_STATUSES)
}

/// Runs one case; returns the answers (id, kind) and the exit code, checking the invariants
/// every case shares.
fn run_case(step: Step, fault: Fault, expected: Outcome) {
    let label = format!("{step:?} / {fault:?}");
    let api = FakeApi::start();
    // The first event's body picks its handler outcome: a response, or an error post.
    let first_body: &[u8] = if step == Step::Error {
        b"custom"
    } else {
        b"ok"
    };
    api.push_event(Event::new("first", first_body.to_vec()));
    api.push_event(Event::new("second", b"ok".to_vec()));
    api.inject(step, fault);
    let init_fails = if step == Step::InitError { "1" } else { "0" };
    let mut child = spawn(&example("fail"), &api, &[("FAIL_INIT", init_fails)]);

    // Bounded wait: until both events are answered or the process is gone.
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.is_running() && api.answers().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "{label}: hung; stderr: {}",
            child.stderr()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let exited_by_itself = !child.is_running();
    api.finish();
    let status = child.wait();
    let stderr = child.stderr();
    let answers = api.answers();

    assert!(
        !stderr.contains("panicked"),
        "{label}: the runtime panicked: {stderr}"
    );
    assert_eq!(
        status.code(),
        Some(1),
        "{label}: exit status {status:?}; stderr: {stderr}"
    );
    for id in ["first", "second"] {
        let count = answers
            .iter()
            .filter(|a| a.path.contains(&format!("/invocation/{id}/")))
            .count();
        assert!(count <= 1, "{label}: {id} answered {count} times");
    }
    assert!(
        answers.iter().all(
            |a| a.path.contains("/invocation/first/") || a.path.contains("/invocation/second/")
        ),
        "{label}: an answer to an unknown id: {answers:#?}"
    );
    let answer = |id: &str| {
        answers
            .iter()
            .find(|a| a.path.contains(&format!("/invocation/{id}/")))
    };
    match expected {
        Outcome::Served { warnings } => {
            assert!(!exited_by_itself, "{label}: exited early: {stderr}");
            let first = answer("first").unwrap_or_else(|| panic!("{label}: first unanswered"));
            let expected_kind = if step == Step::Error {
                "/error"
            } else {
                "/response"
            };
            assert!(
                first.path.ends_with(expected_kind),
                "{label}: {}",
                first.path
            );
            assert_eq!(
                answer("second").map(|a| a.body.as_slice()),
                Some(&b"ok"[..]),
                "{label}"
            );
            // The warnings, then the exit line caused by finish().
            assert_eq!(stderr.lines().count(), warnings + 1, "{label}: {stderr}");
        }
        Outcome::FirstFails(error_type) => {
            let first = answer("first").unwrap_or_else(|| panic!("{label}: first unanswered"));
            assert!(first.path.ends_with("/error"), "{label}: {}", first.path);
            assert_eq!(first.body_json()["errorType"], error_type, "{label}");
            assert_eq!(
                answer("second").map(|a| a.body.as_slice()),
                Some(&b"ok"[..]),
                "{label}"
            );
        }
        Outcome::Exits => {
            assert!(exited_by_itself, "{label}: kept running; stderr: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{label}: {stderr}");
            assert!(
                answer("second").is_none(),
                "{label}: answered after a fatal failure"
            );
        }
    }
}

fn stall() -> Fault {
    Fault::Stall(Duration::from_millis(1200))
}

#[test]
fn faults_on_next() {
    run_case(
        Step::Next,
        Fault::CloseBeforeAnswer,
        Outcome::Served { warnings: 0 },
    );
    run_case(
        Step::Next,
        Fault::CloseAfterHeaders,
        Outcome::FirstFails("Runtime.InvalidEvent"),
    );
    run_case(
        Step::Next,
        Fault::ShortBody,
        Outcome::FirstFails("Runtime.InvalidEvent"),
    );
    run_case(Step::Next, stall(), Outcome::Served { warnings: 0 });
    for status in statuses() {
        run_case(Step::Next, Fault::Status(status), Outcome::Exits);
    }
}

#[test]
fn faults_on_response() {
    faults_on_answer(Step::Response);
}

#[test]
fn faults_on_error() {
    faults_on_answer(Step::Error);
}

fn faults_on_answer(step: Step) {
    run_case(
        step,
        Fault::CloseBeforeAnswer,
        Outcome::Served { warnings: 1 },
    );
    run_case(
        step,
        Fault::CloseAfterHeaders,
        Outcome::Served { warnings: 0 },
    );
    run_case(step, Fault::ShortBody, Outcome::Served { warnings: 0 });
    run_case(step, stall(), Outcome::Served { warnings: 0 });
    for status in statuses() {
        let outcome = if status >= 500 {
            Outcome::Exits
        } else {
            Outcome::Served { warnings: 1 }
        };
        run_case(step, Fault::Status(status), outcome);
    }
}

#[test]
fn faults_on_init_error() {
    for fault in [
        Fault::CloseBeforeAnswer,
        Fault::CloseAfterHeaders,
        Fault::ShortBody,
        stall(),
    ] {
        run_case(Step::InitError, fault, Outcome::Exits);
    }
    for status in statuses() {
        run_case(Step::InitError, Fault::Status(status), Outcome::Exits);
    }
}

// ---------------------------------------------------------------------------------------
// Malformed `next` answers: the event itself is odd.

/// Runs `fail` with `event` first and a plain event after it; returns the answer posts, the
/// exit code and stderr (the process is ended by `finish` when it does not exit by itself).
fn run_event(event: Event) -> (Vec<Recorded>, bool, String) {
    let api = FakeApi::start();
    api.push_event(event);
    api.push_event(Event::new("second", b"ok".to_vec()));
    let mut child = spawn(&example("fail"), &api, &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.is_running() && api.answers().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "hung; stderr: {}",
            child.stderr()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let exited_by_itself = !child.is_running();
    api.finish();
    assert_eq!(child.wait().code(), Some(1));
    let stderr = child.stderr();
    assert!(
        !stderr.contains("panicked"),
        "the runtime panicked: {stderr}"
    );
    (api.answers(), exited_by_itself, stderr)
}

/// The event was answered once, at exactly `expected_path`, and the loop went on.
fn assert_answered(event: Event, expected_path: &str) -> Recorded {
    let (answers, exited, stderr) = run_event(event);
    assert!(!exited, "exited: {stderr}");
    assert_eq!(answers.len(), 2, "{answers:#?}");
    assert_eq!(answers[0].path, expected_path);
    assert_eq!(
        answers[1].path,
        "/2018-06-01/runtime/invocation/second/response"
    );
    answers[0].clone()
}

/// The process exited with one line that contains `reason`, answering nothing.
fn assert_exits(event: Event, reason: &str) {
    let (answers, exited, stderr) = run_event(event);
    assert!(exited, "kept running: {stderr}");
    assert!(answers.is_empty(), "{answers:#?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(reason), "{stderr}");
}

#[test]
fn request_ids_missing_empty_or_ambiguous_end_the_process() {
    assert_exits(
        Event::new("x", b"ok".to_vec()).without_request_id(),
        "request id header is missing",
    );
    assert_exits(Event::new("", b"ok".to_vec()), "request id header is empty");
    assert_exits(
        Event::new("one", b"ok".to_vec()).extra_header("Lambda-Runtime-Aws-Request-Id", "two"),
        "request id header appears 2 times",
    );
    assert_exits(
        Event::new("x", b"ok".to_vec())
            .without_request_id()
            .header("Lambda-Runtime-Aws-Request-Id", b"id-\xff".to_vec()),
        "not UTF-8",
    );
}

#[test]
fn odd_request_ids_are_answered_at_their_own_encoded_path() {
    let long = "a".repeat(10 * 1024);
    assert_answered(
        Event::new(&long, b"ok".to_vec()),
        &format!("/2018-06-01/runtime/invocation/{long}/response"),
    );
    assert_answered(
        Event::new("../x y?z#w%/", b"ok".to_vec()),
        "/2018-06-01/runtime/invocation/%2E%2E%2Fx%20y%3Fz%23w%25%2F/response",
    );
    assert_answered(
        Event::new("tab\there", b"ok".to_vec()),
        "/2018-06-01/runtime/invocation/tab%09here/response",
    );
}

#[test]
fn odd_deadlines_still_serve_the_event() {
    for deadline in [
        None,
        Some("-1"),
        Some("soon"),
        Some("99999999999999999999999"),
        Some("18446744073709551615"),
    ] {
        let mut event = Event::new("first", b"context".to_vec());
        event = match deadline {
            Some(value) => event.header("Lambda-Runtime-Deadline-Ms", value),
            None => event.without_header("Lambda-Runtime-Deadline-Ms"),
        };
        let answer = assert_answered(event, "/2018-06-01/runtime/invocation/first/response");
        let context = answer.body_json();
        assert!(context["remainingMs"].is_u64(), "{context}");
    }
}

#[test]
fn control_characters_in_headers() {
    // A tab is legal in a header value and reaches the handler as is.
    let answer = assert_answered(
        Event::new("first", b"context".to_vec()).header("Lambda-Runtime-Trace-Id", "Root=1-a\tb"),
        "/2018-06-01/runtime/invocation/first/response",
    );
    assert_eq!(answer.body_json()["xrayTraceId"], "Root=1-a\tb");
    // Other control characters and NUL make the answer invalid HTTP: the HTTP parser rejects
    // the whole answer, so there is no request id to answer to, and the runtime exits.
    for (header, value) in [
        ("Lambda-Runtime-Trace-Id", b"Root=1-\x00-nul".to_vec()),
        (
            "Lambda-Runtime-Client-Context",
            b"{\"a\":\"\x01\x7f\"}".to_vec(),
        ),
    ] {
        assert_exits(
            Event::new("first", b"ok".to_vec()).header(header, value),
            "the Runtime API broke the protocol",
        );
    }
}

#[test]
fn duplicate_and_huge_headers() {
    let answer = assert_answered(
        Event::new("first", b"context".to_vec())
            .header("Lambda-Runtime-Trace-Id", "Root=first")
            .extra_header("Lambda-Runtime-Trace-Id", "Root=second"),
        "/2018-06-01/runtime/invocation/first/response",
    );
    assert_eq!(
        answer.body_json()["xrayTraceId"],
        "Root=first",
        "the first of duplicate headers wins"
    );

    let huge = "c".repeat(64 * 1024);
    let answer = assert_answered(
        Event::new("first", b"context".to_vec())
            .header("Lambda-Runtime-Client-Context", huge.clone()),
        "/2018-06-01/runtime/invocation/first/response",
    );
    assert_eq!(answer.body_json()["clientContext"], huge);
}

#[test]
fn empty_and_over_six_megabyte_events() {
    let answer = assert_answered(
        Event::new("first", Vec::new()),
        "/2018-06-01/runtime/invocation/first/response",
    );
    assert!(answer.body.is_empty());
    let big = vec![b'e'; 6 * 1024 * 1024 + 1];
    let answer = assert_answered(
        Event::new("first", big.clone()),
        "/2018-06-01/runtime/invocation/first/response",
    );
    assert_eq!(
        answer.body, big,
        "6 MB + 1 is still under the 6,291,556-byte response limit"
    );
}
