//! How failures reach Lambda: handler errors, oversize responses, and Runtime API failures.

mod support;
use support::*;

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

#[test]
fn question_mark_keeps_the_source_type_and_custom_errors_keep_theirs() {
    let api = FakeApi::start();
    api.push_event(Event::new("parse", b"parse".to_vec()));
    api.push_event(Event::new("custom", b"custom".to_vec()));
    api.push_event(Event::new("after", b"still alive".to_vec()));
    let _child = spawn_example("fail", &api, &[]);
    let answers = api.wait_for_answers(3);

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

    assert_eq!(
        answers[2].path,
        "/2018-06-01/runtime/invocation/after/response"
    );
    assert_eq!(answers[2].body, b"still alive");
}

#[test]
fn backtraces_join_the_stack_trace_when_asked_for() {
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
fn an_oversize_response_becomes_an_error_and_is_never_posted() {
    let api = FakeApi::start();
    api.push_event(Event::new("big", b"oversize".to_vec()));
    api.push_event(Event::new("small", b"ok".to_vec()));
    let _child = spawn_example("fail", &api, &[]);
    let answers = api.wait_for_answers(2);
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
}

#[test]
fn a_410_on_the_response_costs_one_line_and_the_loop_goes_on() {
    let api = FakeApi::start();
    api.push_event(Event::new("late", b"slow".to_vec()).answer_status(410));
    api.push_event(Event::new("next-one", b"fast".to_vec()));
    let mut child = spawn_example("echo", &api, &[]);
    let answers = api.wait_for_answers(2);
    assert_eq!(answers.len(), 2, "exactly one post per invocation");
    assert_eq!(
        answers[1].path,
        "/2018-06-01/runtime/invocation/next-one/response"
    );
    api.finish();
    child.wait();
    let stderr = child.stderr();
    assert_eq!(stderr.matches("410").count(), 1, "{stderr}");
    assert!(
        !stderr.contains("slow"),
        "the payload must never be logged: {stderr}"
    );
}

#[test]
fn next_answered_500_exits_promptly_with_one_clear_line() {
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
fn a_dropped_connection_mid_invocation_is_survived_without_double_answers() {
    let api = FakeApi::start();
    api.push_event(Event::new("dropped", b"one".to_vec()).drop_answer_connection());
    api.push_event(Event::new("fine", b"two".to_vec()));
    let mut child = spawn_example("echo", &api, &[]);
    let answers = api.wait_for_answers(2);
    assert_eq!(answers.len(), 2);
    assert_eq!(
        answers[0].path,
        "/2018-06-01/runtime/invocation/dropped/response"
    );
    assert_eq!(
        answers[1].path,
        "/2018-06-01/runtime/invocation/fine/response"
    );
    assert_eq!(
        api.connections(),
        2,
        "a new connection after the dropped one"
    );
    api.finish();
    child.wait();
    assert!(
        child
            .stderr()
            .contains("/runtime/invocation/dropped/response failed"),
        "{}",
        child.stderr()
    );
}

#[test]
fn malformed_request_ids_cannot_change_the_path() {
    let api = FakeApi::start();
    api.push_event(Event::new("../../init/error", b"x".to_vec()));
    api.push_event(Event::new("a b?c#d%", b"y".to_vec()));
    let _child = spawn_example("echo", &api, &[]);
    let answers = api.wait_for_answers(2);
    assert_eq!(
        answers[0].path,
        "/2018-06-01/runtime/invocation/%2E%2E%2F%2E%2E%2Finit%2Ferror/response"
    );
    assert_eq!(
        answers[1].path,
        "/2018-06-01/runtime/invocation/a%20b%3Fc%23d%25/response"
    );
    assert!(api
        .requests()
        .iter()
        .all(|r| !r.path.ends_with("/init/error")));
}

#[test]
fn a_next_answer_without_a_request_id_ends_the_process_clearly() {
    let api = FakeApi::start();
    api.push_event(Event::new("ignored", b"x".to_vec()).without_request_id());
    let mut child = spawn_example("echo", &api, &[]);
    assert_eq!(child.wait().code(), Some(1));
    let stderr = child.stderr();
    assert!(stderr.contains("request id header is missing"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(api.answers().is_empty());
}

#[test]
fn an_init_error_is_posted_then_the_process_exits() {
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
    assert_eq!(
        body["errorMessage"],
        "FAIL_INIT=1 asked initialisation to fail"
    );
    assert!(
        child.stderr().contains("initialisation failed"),
        "{}",
        child.stderr()
    );
}

#[test]
fn an_unreachable_api_is_retried_briefly_then_the_process_exits() {
    // Bind a port, then free it: nothing listens there any more.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let mut child = spawn_with_env(
        &example("echo"),
        &[],
        &[("AWS_LAMBDA_RUNTIME_API", &addr)],
        None,
    );
    assert_eq!(child.wait().code(), Some(1));
    let stderr = child.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("unreachable"), "{stderr}");
}

#[test]
fn a_malformed_endpoint_is_one_line_and_exit_1() {
    for endpoint in ["", "localhost", "https://127.0.0.1:9001", "127.0.0.1:port"] {
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
