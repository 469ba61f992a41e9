//! How failures reach Lambda: handler errors, oversize responses, and Runtime API failures.
//! The loop is served in-process, and a Runtime API failure is the `RuntimeError` it returns;
//! the `process_*` tests run the `fail` and `echo` examples where the process is the point:
//! the exit code, the one stderr line, environment variables.

mod support;
use lambda_loop::runtime::protocol::MAX_RESPONSE_BYTES;
use lambda_loop::runtime::{Client, RuntimeError};
use lambda_loop::{Context, Error, Result};
use support::*;

/// The `fail` example's handler, in-process: the event picks the failure.
fn fail(event: &[u8], _ctx: Context) -> Result<Vec<u8>> {
    match event {
        b"parse" => {
            let number: i32 = "forty-two".parse()?;
            Ok(number.to_string().into_bytes())
        }
        b"custom" => Err(Error::new("CustomError", "failed on purpose, as asked")),
        b"oversize" => Ok(vec![b'x'; MAX_RESPONSE_BYTES + 1]),
        other => Ok(other.to_vec()),
    }
}

fn echo(event: &[u8], _ctx: Context) -> Result<Vec<u8>> {
    Ok(event.to_vec())
}

fn error_post(answer: &Recorded) -> serde_json::Value {
    assert!(
        answer.path.ends_with("/error"),
        "expected an error post, got {}",
        answer.path
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/vnd.aws.lambda.error+json")
    );
    let body = answer.body_json();
    assert_eq!(
        answer.header("lambda-runtime-function-error-type"),
        body["errorType"].as_str(),
        "the header must equal errorType"
    );
    assert!(body["stackTrace"].is_array());
    body
}

/// An address where nothing listens: a port bound, then freed.
fn dead_address() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string()
}

#[test]
fn question_mark_keeps_the_source_type_and_custom_errors_keep_theirs() {
    let api = FakeApi::start();
    api.push_event(Event::new("parse", b"parse".to_vec()));
    api.push_event(Event::new("custom", b"custom".to_vec()));
    api.push_event(Event::new("after", b"still alive".to_vec()));
    let served = serve_in_thread(&api, fail);
    let answers = served.wait_for_answers(&api, 3);

    let parse = error_post(&answers[0]);
    assert_eq!(
        answers[0].path,
        "/2018-06-01/runtime/invocation/parse/error"
    );
    assert_eq!(parse["errorType"], "core::num::error::ParseIntError");
    assert_eq!(parse["errorMessage"], "invalid digit found in string");

    let custom = error_post(&answers[1]);
    assert_eq!(custom["errorType"], "CustomError");
    assert_eq!(custom["errorMessage"], "failed on purpose, as asked");
    assert_eq!(custom["stackTrace"], serde_json::json!([]));

    assert_eq!(
        answers[2].path,
        "/2018-06-01/runtime/invocation/after/response"
    );
    assert_eq!(answers[2].body, b"still alive");
    served.finish(&api);
}

#[test]
fn an_oversize_response_becomes_an_error_and_is_never_posted() {
    let api = FakeApi::start();
    api.push_event(Event::new("big", b"oversize".to_vec()));
    api.push_event(Event::new("small", b"ok".to_vec()));
    let served = serve_in_thread(&api, fail);
    let answers = served.wait_for_answers(&api, 2);
    assert_eq!(answers[0].path, "/2018-06-01/runtime/invocation/big/error");
    let error = error_post(&answers[0]);
    assert_eq!(error["errorType"], "Runtime.ResponseTooLarge");
    let message = error["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("6291557") && message.contains("6291556"),
        "{message}"
    );
    assert!(
        answers.iter().all(|a| a.body.len() < 1024 * 1024),
        "the oversize body was posted"
    );
    assert_eq!(answers[1].body, b"ok");
    served.finish(&api);
}

#[test]
fn a_410_on_the_response_is_not_fatal_and_the_loop_goes_on() {
    let api = FakeApi::start();
    api.push_event(Event::new("late", b"slow".to_vec()).answer_status(410));
    api.push_event(Event::new("next-one", b"fast".to_vec()));
    let served = serve_in_thread(&api, echo);
    served.wait_for_answers(&api, 2);
    served.finish(&api);
    assert_eq!(
        answered(&api.answers()),
        [
            ("late".to_owned(), "response".to_owned()),
            ("next-one".to_owned(), "response".to_owned())
        ],
        "exactly one post per invocation"
    );
}

#[test]
fn next_answered_500_stops_the_loop_with_the_status() {
    let api = FakeApi::start();
    api.finish();
    let failure = serve_in_thread(&api, echo).join();
    assert_next_500(&failure);
    let line = failure.to_string();
    assert!(
        line.contains("answered 500") && line.contains("next"),
        "{line}"
    );
    assert!(api.answers().is_empty());
}

#[test]
fn a_dropped_connection_mid_invocation_is_survived_without_double_answers() {
    let api = FakeApi::start();
    api.push_event(Event::new("dropped", b"one".to_vec()).drop_answer_connection());
    api.push_event(Event::new("fine", b"two".to_vec()));
    let served = serve_in_thread(&api, echo);
    served.wait_for_answers(&api, 2);
    served.finish(&api);
    assert_eq!(
        answered(&api.answers()),
        [
            ("dropped".to_owned(), "response".to_owned()),
            ("fine".to_owned(), "response".to_owned())
        ]
    );
    assert_eq!(
        api.connections(),
        2,
        "a new connection after the dropped one"
    );
}

#[test]
fn malformed_request_ids_cannot_change_the_path() {
    let api = FakeApi::start();
    api.push_event(Event::new("../../init/error", b"x".to_vec()));
    api.push_event(Event::new("a b?c#d%", b"y".to_vec()));
    let served = serve_in_thread(&api, echo);
    let answers = served.wait_for_answers(&api, 2);
    assert_eq!(
        answers[0].path,
        "/2018-06-01/runtime/invocation/%2E%2E%2F%2E%2E%2Finit%2Ferror/response"
    );
    assert_eq!(
        answers[1].path,
        "/2018-06-01/runtime/invocation/a%20b%3Fc%23d%25/response"
    );
    served.finish(&api);
    assert!(api
        .requests()
        .iter()
        .all(|r| !r.path.ends_with("/init/error")));
}

#[test]
fn a_next_answer_without_a_request_id_stops_the_loop_with_a_protocol_error() {
    let api = FakeApi::start();
    api.push_event(Event::new("ignored", b"x".to_vec()).without_request_id());
    let failure = serve_in_thread(&api, echo).join();
    assert!(
        matches!(&failure, RuntimeError::Protocol { detail } if detail.contains("request id header is missing")),
        "{failure}"
    );
    assert!(api.answers().is_empty());
}

#[test]
fn an_init_error_is_posted_before_any_next() {
    let api = FakeApi::start();
    api.push_event(Event::new("never", b"x".to_vec()));
    let failure = start_in_thread(&api, test_config(), |_config| {
        Err::<(), _>(Error::new("InitError", "asked initialisation to fail"))
    })
    .join();
    assert!(
        matches!(&failure, RuntimeError::Init { error_type, message, unreported: None }
            if error_type == "InitError" && message == "asked initialisation to fail"),
        "{failure}"
    );
    assert!(
        failure.to_string().contains("initialisation failed"),
        "{failure}"
    );
    let requests = api.requests();
    assert_eq!(
        requests.len(),
        1,
        "only the init error, no next: {requests:#?}"
    );
    assert_eq!(requests[0].path, "/2018-06-01/runtime/init/error");
    assert_eq!(
        requests[0].header("lambda-runtime-function-error-type"),
        Some("InitError")
    );
    assert_eq!(
        requests[0].header("content-type"),
        Some("application/vnd.aws.lambda.error+json")
    );
    let body = requests[0].body_json();
    assert_eq!(body["errorType"], "InitError");
    assert_eq!(body["errorMessage"], "asked initialisation to fail");
}

#[test]
fn an_unreachable_api_is_retried_briefly_then_the_loop_stops() {
    let api = FakeApi::start(); // only to be woken when the runtime stops
    let started = std::time::Instant::now();
    let failure = serve_with(&api, &dead_address(), test_config(), echo).join();
    assert!(
        matches!(&failure, RuntimeError::Unreachable { call, .. } if call.contains("next")),
        "{failure}"
    );
    assert!(failure.to_string().contains("unreachable"), "{failure}");
    // Three pauses of 20, 60 and 180 ms: well under the time a test may take.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(260),
        "retried for only {:?}",
        started.elapsed()
    );
}

#[test]
fn a_malformed_endpoint_is_refused_with_the_variable_named() {
    for endpoint in [
        "",
        "localhost",
        "https://127.0.0.1:9001",
        "127.0.0.1:port",
        "rie:8080",
    ] {
        let failure = Client::new(endpoint).unwrap_err();
        assert!(
            matches!(&failure, RuntimeError::BadEndpoint { value, .. } if value == endpoint),
            "{endpoint:?}: {failure}"
        );
        assert!(
            failure.to_string().contains("AWS_LAMBDA_RUNTIME_API"),
            "{failure}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The process: exit codes, the one stderr line, environment variables.

#[test]
fn process_backtraces_join_the_stack_trace_when_rust_backtrace_asks() {
    let api = FakeApi::start();
    api.push_event(Event::new("parse", b"parse".to_vec()));
    let _child = spawn_example("fail", &api, &[("RUST_BACKTRACE", "1")]);
    let answers = api.wait_for_answers(1);
    let trace = error_post(&answers[0])["stackTrace"].to_string();
    assert!(
        trace.contains("fail::handle"),
        "no backtrace frame in {trace}"
    );
}

#[test]
fn process_without_rust_backtrace_the_stack_trace_is_empty() {
    let api = FakeApi::start();
    api.push_event(Event::new("parse", b"parse".to_vec()));
    let _child = spawn_example("fail", &api, &[]);
    let answers = api.wait_for_answers(1);
    assert_eq!(error_post(&answers[0])["stackTrace"], serde_json::json!([]));
}

#[test]
fn process_a_410_costs_one_line_without_the_payload() {
    let api = FakeApi::start();
    api.push_event(Event::new("late", b"slow".to_vec()).answer_status(410));
    api.push_event(Event::new("next-one", b"fast".to_vec()));
    let mut child = spawn_example("echo", &api, &[]);
    api.wait_for_answers(2);
    api.finish();
    assert_eq!(child.wait().code(), Some(1));
    let stderr = child.stderr();
    assert_eq!(stderr.lines().count(), 2, "the 410, the exit: {stderr}");
    assert_eq!(stderr.matches("410").count(), 1, "{stderr}");
    assert!(
        !stderr.contains("slow"),
        "the payload must never be logged: {stderr}"
    );
}

#[test]
fn process_next_answered_500_exits_promptly_with_one_clear_line() {
    let api = FakeApi::start();
    api.finish();
    let mut child = spawn_example("echo", &api, &[]);
    let status = child.wait();
    assert_eq!(status.code(), Some(1));
    let stderr = child.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("answered 500") && stderr.contains("next"),
        "{stderr}"
    );
}

#[test]
fn process_a_dropped_answer_connection_costs_one_line_naming_the_post() {
    let api = FakeApi::start();
    api.push_event(Event::new("dropped", b"one".to_vec()).drop_answer_connection());
    api.push_event(Event::new("fine", b"two".to_vec()));
    let mut child = spawn_example("echo", &api, &[]);
    api.wait_for_answers(2);
    api.finish();
    assert_eq!(child.wait().code(), Some(1));
    let stderr = child.stderr();
    assert_eq!(stderr.lines().count(), 2, "the post, the exit: {stderr}");
    assert!(
        stderr.contains("/runtime/invocation/dropped/response failed"),
        "{stderr}"
    );
}

#[test]
fn process_a_next_answer_without_a_request_id_exits_with_one_line() {
    let api = FakeApi::start();
    api.push_event(Event::new("ignored", b"x".to_vec()).without_request_id());
    let mut child = spawn_example("echo", &api, &[]);
    assert_eq!(child.wait().code(), Some(1));
    let stderr = child.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("request id header is missing"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(api.answers().is_empty());
}

#[test]
fn process_an_init_error_is_posted_then_the_process_exits() {
    let api = FakeApi::start();
    api.push_event(Event::new("never", b"x".to_vec()));
    let mut child = spawn_example("fail", &api, &[("FAIL_INIT", "1")]);
    assert_eq!(child.wait().code(), Some(1));
    let requests = api.requests();
    assert_eq!(
        requests.len(),
        1,
        "only the init error, no next: {requests:#?}"
    );
    assert_eq!(requests[0].path, "/2018-06-01/runtime/init/error");
    let body = requests[0].body_json();
    assert_eq!(body["errorType"], "InitError");
    assert_eq!(
        body["errorMessage"],
        "FAIL_INIT=1 asked initialisation to fail"
    );
    let stderr = child.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("initialisation failed"), "{stderr}");
}

#[test]
fn process_an_unreachable_api_exits_with_one_line() {
    let mut child = spawn_with_env(
        &example("echo"),
        &[],
        &[("AWS_LAMBDA_RUNTIME_API", &dead_address())],
        None,
    );
    assert_eq!(child.wait().code(), Some(1));
    let stderr = child.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("unreachable"), "{stderr}");
}

#[test]
fn process_a_malformed_endpoint_is_one_line_and_exit_1() {
    for endpoint in ["", "https://127.0.0.1:9001", "rie:8080"] {
        let mut child = spawn_with_env(
            &example("echo"),
            &[],
            &[("AWS_LAMBDA_RUNTIME_API", endpoint)],
            None,
        );
        assert_eq!(child.wait().code(), Some(1), "{endpoint:?}");
        let stderr = child.stderr();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("AWS_LAMBDA_RUNTIME_API"), "{stderr}");
    }
}
