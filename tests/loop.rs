//! The loop against the fake Runtime API: events in, responses out, one kept-alive connection.

mod support;
use support::*;

#[test]
fn echoes_empty_binary_and_large_events_over_one_connection() {
    let api = FakeApi::start();
    let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let large: Vec<u8> = (0..5 * 1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    api.push_event(Event::new("empty", Vec::new()));
    api.push_event(Event::new("binary", binary.clone()));
    api.push_event(Event::new("large", large.clone()));
    api.push_event(Event::new("chunked", large.clone()).chunked());
    let mut child = spawn_example("echo", &api, &[]);

    let answers = api.wait_for_answers(4);
    let paths: Vec<&str> = answers.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/2018-06-01/runtime/invocation/empty/response",
            "/2018-06-01/runtime/invocation/binary/response",
            "/2018-06-01/runtime/invocation/large/response",
            "/2018-06-01/runtime/invocation/chunked/response",
        ]
    );
    assert!(answers[0].body.is_empty());
    assert_eq!(answers[1].body, binary);
    assert_eq!(answers[2].body, large);
    assert_eq!(answers[3].body, large);

    api.finish();
    assert!(!child.wait().success());
    assert_eq!(
        api.connections(),
        1,
        "every call must reuse one kept-alive connection"
    );
    assert!(api.requests().iter().all(|r| r.connection == 0));
}

#[test]
fn every_call_identifies_the_runtime_and_never_expects_100_continue() {
    let api = FakeApi::start();
    api.push_event(Event::new("ok", b"fine".to_vec()));
    api.push_event(Event::new("err", b"custom".to_vec()));
    let _child = spawn_example("fail", &api, &[]);
    api.wait_for_answers(2);
    let requests = api.requests();
    assert!(
        requests.len() >= 4,
        "expected next, response, next, error: {requests:#?}"
    );
    for request in &requests {
        assert_eq!(
            request.header("user-agent"),
            Some(concat!("lambda-loop/", env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(
            request.header("expect"),
            None,
            "{} sent Expect",
            request.path
        );
    }
}

#[test]
fn a_closure_keeps_its_state_across_invocations() {
    let api = FakeApi::start();
    for id in ["a", "b", "c"] {
        api.push_event(Event::new(id, b"{}".to_vec()));
    }
    let _child = spawn_example("stateful", &api, &[]);
    let answers = api.wait_for_answers(3);
    let counts: Vec<u64> = answers
        .iter()
        .map(|a| a.body_json()["invocation"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [1, 2, 3]);
    assert_eq!(answers[2].body_json()["requestId"], "c");
    assert_eq!(answers[2].body_json()["function"], "test-function");
}

#[test]
fn an_endpoint_with_a_path_prefix_keeps_the_prefix() {
    let api = FakeApi::start();
    api.push_event(Event::new("p", b"x".to_vec()));
    // The fake serves any prefix: what matters is the path the runtime asks for.
    let endpoint = format!("http://{}/.rt", api.addr());
    let _child = spawn(
        &example("echo"),
        &api,
        &[("AWS_LAMBDA_RUNTIME_API", &endpoint)],
    );
    api.wait_until("a next call", |requests| !requests.is_empty());
    assert_eq!(
        api.requests()[0].path,
        "/.rt/2018-06-01/runtime/invocation/next"
    );
}

#[test]
fn typed_json_handlers_answer_and_report_invalid_events() {
    let api = FakeApi::start();
    api.push_event(Event::new("good", br#"{"name":"Ada"}"#.to_vec()));
    api.push_event(Event::new("bad", b"{not json".to_vec()));
    api.push_event(Event::new("again", br#"{"name":"Grace"}"#.to_vec()));
    let _child = spawn_example("hello_json", &api, &[]);
    let answers = api.wait_for_answers(3);

    assert_eq!(
        answers[0].path,
        "/2018-06-01/runtime/invocation/good/response"
    );
    assert_eq!(
        answers[0].body_json(),
        serde_json::json!({"message": "Hello, Ada!"})
    );

    assert_eq!(answers[1].path, "/2018-06-01/runtime/invocation/bad/error");
    let error = answers[1].body_json();
    assert_eq!(error["errorType"], "Runtime.UnmarshalError");
    let message = error["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("hello_json::Greeting") && message.contains("line 1 column 2"),
        "{message}"
    );

    assert_eq!(
        answers[2].body_json(),
        serde_json::json!({"message": "Hello, Grace!"})
    );
}

#[test]
fn a_connection_the_api_closed_while_idle_is_replaced_quietly() {
    let api = FakeApi::start();
    api.push_event(Event::new("first", b"1".to_vec()).close_after_answer());
    api.push_event(Event::new("second", b"2".to_vec()).close_after_answer());
    api.push_event(Event::new("third", b"3".to_vec()));
    let mut child = spawn_example("echo", &api, &[]);
    let answers = api.wait_for_answers(3);
    let bodies: Vec<&[u8]> = answers.iter().map(|a| a.body.as_slice()).collect();
    assert_eq!(bodies, [b"1", b"2", b"3"]);
    assert_eq!(api.connections(), 3);
    api.finish();
    child.wait();
    let stderr = child.stderr();
    assert_eq!(stderr.lines().count(), 1, "only the exit line: {stderr}");
}
