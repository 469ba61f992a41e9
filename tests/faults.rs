//! The fault matrix: every way the Runtime API can misbehave, at every step, and what
//! lambda-loop does about it. The same table is in the crate docs (section "Faults").
//!
//! Each case is a test of its own (so the first failure hides none of the others): a loop
//! served in-process against a fake API that misbehaves once, checked for every event handed
//! out getting exactly one answer (never zero, never two, never to a wrong id), or for the loop
//! stopping with the `RuntimeError` that ends the process; the runtime never panics (a panic
//! of the runtime thread fails the test) and nothing hangs (every wait is bounded). The
//! `process_*` tests at the end run the `fail` example for what only a process shows: exit
//! code 1 and the number of stderr lines.

mod support;
use std::time::Duration;

use lambda_loop::runtime::RuntimeError;
use lambda_loop::{Context, Error, Result};
use support::*;

/// What a case must end in.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    /// Both events answered as usual, and the loop goes on.
    Served,
    /// The first event answered with an error of this type, the second as usual.
    FirstFails(&'static str),
    /// The loop stops with the Runtime API's status; nothing (more) is answered.
    Stops(u16),
    /// Initialisation fails; `reported`: whether the init error post reached the API.
    InitFails { reported: bool },
}
use Outcome::*;

/// The handler of every case: `custom` fails, anything else is echoed.
fn handler(event: &[u8], _ctx: Context) -> Result<Vec<u8>> {
    match event {
        b"custom" => Err(Error::new("CustomError", "failed on purpose, as asked")),
        other => Ok(other.to_vec()),
    }
}

/// Runs one case in-process and checks the invariants every case shares.
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

    if step == Step::InitError {
        let failure = start_in_thread(&api, test_config(), |_config| {
            Err::<(), _>(Error::new("InitError", "asked initialisation to fail"))
        })
        .join();
        let requests = api.requests();
        assert_eq!(requests.len(), 1, "{label}: {requests:#?}");
        assert_eq!(
            requests[0].path, "/2018-06-01/runtime/init/error",
            "{label}"
        );
        let InitFails { reported } = expected else {
            panic!("{label}: an init case must expect InitFails");
        };
        match &failure {
            RuntimeError::Init { unreported, .. } => {
                assert_eq!(unreported.is_none(), reported, "{label}: {failure}")
            }
            other => panic!("{label}: expected an init failure, got: {other}"),
        }
        return;
    }

    let served = serve_in_thread(&api, handler);
    let stopped = served.wait_for_answers_or_stop(&api, 2);
    let failure = if stopped {
        served.join()
    } else {
        api.finish();
        served.join()
    };
    let answers = api.answers();
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
        Served | FirstFails(_) => {
            assert!(!stopped, "{label}: stopped early: {failure}");
            assert_next_500(&failure);
            let first = answer("first").unwrap_or_else(|| panic!("{label}: first unanswered"));
            let expected_kind = match expected {
                Served if step != Step::Error => "/response",
                _ => "/error",
            };
            assert!(
                first.path.ends_with(expected_kind),
                "{label}: {}",
                first.path
            );
            if let FirstFails(error_type) = expected {
                assert_eq!(first.body_json()["errorType"], error_type, "{label}");
            }
            assert_eq!(
                answer("second").map(|a| a.body.as_slice()),
                Some(&b"ok"[..]),
                "{label}"
            );
        }
        Stops(status) => {
            assert!(stopped, "{label}: kept serving");
            let call = match step {
                Step::Next => "GET /runtime/invocation/next".to_owned(),
                Step::Response => "POST /runtime/invocation/first/response".to_owned(),
                _ => "POST /runtime/invocation/first/error".to_owned(),
            };
            assert!(
                matches!(&failure, RuntimeError::Status { call: c, status: s } if *c == call && *s == status),
                "{label}: expected {status} to {call}, got: {failure}"
            );
            assert!(
                answer("second").is_none(),
                "{label}: answered after a fatal failure"
            );
        }
        InitFails { .. } => panic!("{label}: InitFails is for the init step"),
    }
}

fn stall() -> Fault {
    Fault::Stall(Duration::from_millis(1200))
}

/// One `#[test]` per case: `name: step, fault => outcome;`.
macro_rules! fault_cases {
    ($($name:ident: $step:ident, $fault:expr => $outcome:expr;)*) => {$(
        #[test]
        fn $name() {
            run_case(Step::$step, $fault, $outcome);
        }
    )*};
}

// Statuses a Runtime API (or a broken proxy in front of it) may answer with: 400 403 404 408
// 410 413 429 500 502 503 504.
fault_cases! {
    next_closed_before_answer: Next, Fault::CloseBeforeAnswer => Served;
    next_closed_after_headers: Next, Fault::CloseAfterHeaders => FirstFails("Runtime.InvalidEvent");
    next_short_body: Next, Fault::ShortBody => FirstFails("Runtime.InvalidEvent");
    next_stalls: Next, stall() => Served;
    next_status_400: Next, Fault::Status(400) => Stops(400);
    next_status_403: Next, Fault::Status(403) => Stops(403);
    next_status_404: Next, Fault::Status(404) => Stops(404);
    next_status_408: Next, Fault::Status(408) => Stops(408);
    next_status_410: Next, Fault::Status(410) => Stops(410);
    next_status_413: Next, Fault::Status(413) => Stops(413);
    next_status_429: Next, Fault::Status(429) => Stops(429);
    next_status_500: Next, Fault::Status(500) => Stops(500);
    next_status_502: Next, Fault::Status(502) => Stops(502);
    next_status_503: Next, Fault::Status(503) => Stops(503);
    next_status_504: Next, Fault::Status(504) => Stops(504);

    response_closed_before_answer: Response, Fault::CloseBeforeAnswer => Served;
    response_closed_after_headers: Response, Fault::CloseAfterHeaders => Served;
    response_short_body: Response, Fault::ShortBody => Served;
    response_stalls: Response, stall() => Served;
    response_status_400: Response, Fault::Status(400) => Served;
    response_status_403: Response, Fault::Status(403) => Served;
    response_status_404: Response, Fault::Status(404) => Served;
    response_status_408: Response, Fault::Status(408) => Served;
    response_status_410: Response, Fault::Status(410) => Served;
    response_status_413: Response, Fault::Status(413) => Served;
    response_status_429: Response, Fault::Status(429) => Served;
    response_status_500: Response, Fault::Status(500) => Stops(500);
    response_status_502: Response, Fault::Status(502) => Stops(502);
    response_status_503: Response, Fault::Status(503) => Stops(503);
    response_status_504: Response, Fault::Status(504) => Stops(504);

    error_closed_before_answer: Error, Fault::CloseBeforeAnswer => Served;
    error_closed_after_headers: Error, Fault::CloseAfterHeaders => Served;
    error_short_body: Error, Fault::ShortBody => Served;
    error_stalls: Error, stall() => Served;
    error_status_400: Error, Fault::Status(400) => Served;
    error_status_403: Error, Fault::Status(403) => Served;
    error_status_404: Error, Fault::Status(404) => Served;
    error_status_408: Error, Fault::Status(408) => Served;
    error_status_410: Error, Fault::Status(410) => Served;
    error_status_413: Error, Fault::Status(413) => Served;
    error_status_429: Error, Fault::Status(429) => Served;
    error_status_500: Error, Fault::Status(500) => Stops(500);
    error_status_502: Error, Fault::Status(502) => Stops(502);
    error_status_503: Error, Fault::Status(503) => Stops(503);
    error_status_504: Error, Fault::Status(504) => Stops(504);

    init_error_closed_before_answer: InitError, Fault::CloseBeforeAnswer => InitFails { reported: false };
    init_error_closed_after_headers: InitError, Fault::CloseAfterHeaders => InitFails { reported: true };
    init_error_short_body: InitError, Fault::ShortBody => InitFails { reported: true };
    init_error_stalls: InitError, stall() => InitFails { reported: true };
    init_error_status_400: InitError, Fault::Status(400) => InitFails { reported: false };
    init_error_status_403: InitError, Fault::Status(403) => InitFails { reported: false };
    init_error_status_404: InitError, Fault::Status(404) => InitFails { reported: false };
    init_error_status_408: InitError, Fault::Status(408) => InitFails { reported: false };
    init_error_status_410: InitError, Fault::Status(410) => InitFails { reported: false };
    init_error_status_413: InitError, Fault::Status(413) => InitFails { reported: false };
    init_error_status_429: InitError, Fault::Status(429) => InitFails { reported: false };
    init_error_status_500: InitError, Fault::Status(500) => InitFails { reported: false };
    init_error_status_502: InitError, Fault::Status(502) => InitFails { reported: false };
    init_error_status_503: InitError, Fault::Status(503) => InitFails { reported: false };
    init_error_status_504: InitError, Fault::Status(504) => InitFails { reported: false };
}

// ---------------------------------------------------------------------------------------
// Malformed `next` answers: the event itself is odd.

/// Answers `context` with the context as JSON; echoes anything else.
fn describing(event: &[u8], ctx: Context) -> Result<Vec<u8>> {
    match event {
        b"context" => Ok(context_json(&ctx).to_string().into_bytes()),
        other => Ok(other.to_vec()),
    }
}

/// The event was answered once, at exactly `expected_path`, and the loop went on to the plain
/// event after it.
fn assert_answered(event: Event, expected_path: &str) -> Recorded {
    let api = FakeApi::start();
    api.push_event(event);
    api.push_event(Event::new("second", b"ok".to_vec()));
    let served = serve_in_thread(&api, describing);
    let answers = served.wait_for_answers(&api, 2);
    served.finish(&api);
    assert_eq!(answers.len(), 2, "{answers:#?}");
    assert_eq!(answers[0].path, expected_path);
    assert_eq!(
        answers[1].path,
        "/2018-06-01/runtime/invocation/second/response"
    );
    answers[0].clone()
}

/// The loop stopped with a protocol failure whose text contains `reason`, answering nothing.
fn assert_stops(event: Event, reason: &str) {
    let api = FakeApi::start();
    api.push_event(event);
    api.push_event(Event::new("second", b"ok".to_vec()));
    let failure = serve_in_thread(&api, describing).join();
    assert!(
        matches!(failure, RuntimeError::Protocol { .. }),
        "expected a protocol failure, got: {failure}"
    );
    assert!(failure.to_string().contains(reason), "{failure}");
    let answers = api.answers();
    assert!(answers.is_empty(), "{answers:#?}");
}

#[test]
fn a_missing_request_id_stops_the_loop() {
    assert_stops(
        Event::new("x", b"ok".to_vec()).without_request_id(),
        "request id header is missing",
    );
}

#[test]
fn an_empty_request_id_stops_the_loop() {
    assert_stops(Event::new("", b"ok".to_vec()), "request id header is empty");
}

#[test]
fn a_request_id_given_twice_stops_the_loop() {
    assert_stops(
        Event::new("one", b"ok".to_vec()).extra_header("Lambda-Runtime-Aws-Request-Id", "two"),
        "request id header appears 2 times",
    );
}

#[test]
fn a_request_id_that_is_not_utf8_stops_the_loop() {
    assert_stops(
        Event::new("x", b"ok".to_vec())
            .without_request_id()
            .header("Lambda-Runtime-Aws-Request-Id", b"id-\xff".to_vec()),
        "not UTF-8",
    );
}

#[test]
fn a_10_kb_request_id_is_answered_at_its_own_path() {
    let long = "a".repeat(10 * 1024);
    assert_answered(
        Event::new(&long, b"ok".to_vec()),
        &format!("/2018-06-01/runtime/invocation/{long}/response"),
    );
}

#[test]
fn a_request_id_of_path_characters_is_one_encoded_segment() {
    assert_answered(
        Event::new("../x y?z#w%/", b"ok".to_vec()),
        "/2018-06-01/runtime/invocation/%2E%2E%2Fx%20y%3Fz%23w%25%2F/response",
    );
}

#[test]
fn a_request_id_with_a_tab_is_encoded() {
    assert_answered(
        Event::new("tab\there", b"ok".to_vec()),
        "/2018-06-01/runtime/invocation/tab%09here/response",
    );
}

/// The event is served whatever its deadline header says; returns the context it saw.
fn served_with_deadline(deadline: Option<&str>) -> serde_json::Value {
    let mut event = Event::new("first", b"context".to_vec());
    event = match deadline {
        Some(value) => event.header("Lambda-Runtime-Deadline-Ms", value),
        None => event.without_header("Lambda-Runtime-Deadline-Ms"),
    };
    let answer = assert_answered(event, "/2018-06-01/runtime/invocation/first/response");
    let context = answer.body_json();
    assert!(context["remainingMs"].is_u64(), "{context}");
    context
}

#[test]
fn a_missing_deadline_is_none() {
    let context = served_with_deadline(None);
    assert!(context["deadlineMs"].is_null(), "{context}");
    assert_eq!(context["remainingMs"], 0);
}

#[test]
fn a_negative_deadline_is_none() {
    let context = served_with_deadline(Some("-1"));
    assert!(context["deadlineMs"].is_null(), "{context}");
    assert_eq!(context["remainingMs"], 0);
}

#[test]
fn a_deadline_that_is_not_a_number_is_none() {
    let context = served_with_deadline(Some("soon"));
    assert!(context["deadlineMs"].is_null(), "{context}");
    assert_eq!(context["remainingMs"], 0);
}

#[test]
fn a_deadline_beyond_u64_still_serves() {
    served_with_deadline(Some("99999999999999999999999"));
}

#[test]
fn a_deadline_of_u64_max_still_serves() {
    served_with_deadline(Some("18446744073709551615"));
}

#[test]
fn a_tab_in_a_header_reaches_the_handler() {
    // A tab is legal in a header value and reaches the handler as is.
    let answer = assert_answered(
        Event::new("first", b"context".to_vec()).header("Lambda-Runtime-Trace-Id", "Root=1-a\tb"),
        "/2018-06-01/runtime/invocation/first/response",
    );
    assert_eq!(answer.body_json()["xrayTraceId"], "Root=1-a\tb");
}

// Other control characters and NUL make the answer invalid HTTP: the HTTP parser rejects the
// whole answer, so there is no request id to answer to, and the loop stops.
#[test]
fn a_nul_in_a_header_stops_the_loop() {
    assert_stops(
        Event::new("first", b"ok".to_vec())
            .header("Lambda-Runtime-Trace-Id", b"Root=1-\x00-nul".to_vec()),
        "the Runtime API broke the protocol",
    );
}

#[test]
fn control_characters_in_a_header_stop_the_loop() {
    assert_stops(
        Event::new("first", b"ok".to_vec()).header(
            "Lambda-Runtime-Client-Context",
            b"{\"a\":\"\x01\x7f\"}".to_vec(),
        ),
        "the Runtime API broke the protocol",
    );
}

#[test]
fn the_first_of_duplicate_headers_wins() {
    let answer = assert_answered(
        Event::new("first", b"context".to_vec())
            .header("Lambda-Runtime-Trace-Id", "Root=first")
            .extra_header("Lambda-Runtime-Trace-Id", "Root=second"),
        "/2018-06-01/runtime/invocation/first/response",
    );
    assert_eq!(answer.body_json()["xrayTraceId"], "Root=first");
}

#[test]
fn a_64_kb_header_reaches_the_handler() {
    let huge = "c".repeat(64 * 1024);
    let answer = assert_answered(
        Event::new("first", b"context".to_vec())
            .header("Lambda-Runtime-Client-Context", huge.clone()),
        "/2018-06-01/runtime/invocation/first/response",
    );
    assert_eq!(answer.body_json()["clientContext"], huge);
}

#[test]
fn an_empty_event_is_served() {
    let answer = assert_answered(
        Event::new("first", Vec::new()),
        "/2018-06-01/runtime/invocation/first/response",
    );
    assert!(answer.body.is_empty());
}

#[test]
fn an_event_over_six_megabytes_is_served() {
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

/// A post whose connection is refused was never sent, so it is tried again after each of the
/// pauses (20, 60, 180 ms); a port that stays closed then costs one line and the loop goes on.
#[test]
fn a_refused_post_is_tried_again_after_each_pause_then_goes_on() {
    // A port where nothing listens: bound, its number read, closed again.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = lambda_loop::runtime::Client::new(&format!("127.0.0.1:{port}"))
        .expect("a client connects lazily");
    let answer_to = lambda_loop::runtime::AnswerAddress::of(&Context::new(
        "refused",
        std::sync::Arc::new(test_config()),
    ));
    let started = std::time::Instant::now();
    let outcome = client.respond(&answer_to, b"ok");
    let waited = started.elapsed();
    assert!(
        outcome.is_ok(),
        "a refused post is no reason to stop: {outcome:?}"
    );
    // Four tries: the sum of the pauses was slept (a lower bound, so no timing can flake).
    assert!(
        waited >= Duration::from_millis(20 + 60 + 180),
        "tried again for only {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(30),
        "a refused post must not wait long: {waited:?}"
    );
}

// ---------------------------------------------------------------------------------------
// The process: exit code 1 and how many stderr lines, for one case of each kind of outcome.

/// Runs the `fail` example with the fault injected; returns its stderr once it has exited
/// (by itself when `exits`, else after both events were answered and `next` answered 500).
fn run_process_case(step: Step, fault: Fault, exits: bool) -> String {
    let label = format!("{step:?} / {fault:?}");
    let api = FakeApi::start();
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
    if !exits {
        api.wait_for_answers(2);
        assert!(child.is_running(), "{label}: exited: {}", child.stderr());
        api.finish();
    }
    let status = child.wait();
    let stderr = child.stderr();
    assert_eq!(status.code(), Some(1), "{label}: {status:?}; {stderr}");
    assert!(!stderr.contains("panicked"), "{label}: {stderr}");
    if exits {
        assert!(
            api.answers()
                .iter()
                .all(|a| !a.path.contains("/invocation/second/")),
            "{label}: answered after a fatal failure"
        );
    }
    stderr
}

#[test]
fn process_a_next_retried_after_a_close_is_quiet() {
    let stderr = run_process_case(Step::Next, Fault::CloseBeforeAnswer, false);
    assert_eq!(stderr.lines().count(), 1, "only the exit line: {stderr}");
}

#[test]
fn process_a_post_answer_cut_after_its_headers_is_quiet() {
    let stderr = run_process_case(Step::Response, Fault::CloseAfterHeaders, false);
    assert_eq!(stderr.lines().count(), 1, "only the exit line: {stderr}");
}

#[test]
fn process_a_post_closed_before_its_answer_costs_one_line() {
    let stderr = run_process_case(Step::Error, Fault::CloseBeforeAnswer, false);
    assert_eq!(stderr.lines().count(), 2, "one line, the exit: {stderr}");
    assert!(
        stderr.contains("/invocation/first/error failed"),
        "{stderr}"
    );
}

#[test]
fn process_a_4xx_to_a_post_costs_one_line() {
    let stderr = run_process_case(Step::Response, Fault::Status(403), false);
    assert_eq!(stderr.lines().count(), 2, "one line, the exit: {stderr}");
    assert!(stderr.contains("answered 403"), "{stderr}");
}

#[test]
fn process_a_5xx_to_a_post_exits_with_one_line() {
    let stderr = run_process_case(Step::Error, Fault::Status(502), true);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("answered 502"), "{stderr}");
}

#[test]
fn process_a_status_on_next_exits_with_one_line() {
    let stderr = run_process_case(Step::Next, Fault::Status(429), true);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("answered 429"), "{stderr}");
}

#[test]
fn process_an_init_error_post_that_failed_says_so_in_one_line() {
    let stderr = run_process_case(Step::InitError, Fault::Status(500), true);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not reported to Lambda"), "{stderr}");
}

#[test]
fn process_an_init_error_post_closed_before_its_answer_is_one_line() {
    let stderr = run_process_case(Step::InitError, Fault::CloseBeforeAnswer, true);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not reported to Lambda"), "{stderr}");
}
