//! Nothing from the environment (credentials above all) or from payloads is written by the
//! runtime to its logs or error reports, on any failure path; and no `next` answer can make
//! the runtime post anywhere but `/2018-06-01/runtime/invocation/<its id>/…`.

mod support;
use support::*;

const SECRET: &str = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
const PAYLOAD_MARK: &str = "payload-mark-7f3a";

fn secret_env<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut envs = vec![
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", SECRET),
    ];
    envs.extend_from_slice(extra);
    envs
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} leaks a credential: {text}");
    assert!(
        !text.contains("AKIAIOSFODNN7EXAMPLE"),
        "{what} leaks a credential: {text}"
    );
    assert!(
        !text.contains(PAYLOAD_MARK),
        "{what} leaks a payload: {text}"
    );
}

#[test]
fn no_failure_path_writes_credentials_or_payloads() {
    // Failures in the loop: handler errors, a panic, an oversize response, a 410, a 403, a
    // dropped connection, a broken next answer, then a 500 on next.
    let api = FakeApi::start();
    let marked = |id: &str, body: &str| {
        Event::new(id, body.as_bytes().to_vec())
            .header("Lambda-Runtime-Client-Context", PAYLOAD_MARK)
    };
    api.push_event(marked("a", "parse"));
    api.push_event(marked("b", "custom"));
    api.push_event(marked("c", "panic"));
    api.push_event(marked("d", "oversize"));
    api.push_event(Event::new("e", PAYLOAD_MARK).answer_status(410));
    api.push_event(Event::new("f", PAYLOAD_MARK).answer_status(403));
    api.push_event(Event::new("g", PAYLOAD_MARK).drop_answer_connection());
    api.push_event(Event::new("h", PAYLOAD_MARK).short_body());
    let mut child = spawn(
        &example("fail"),
        &api,
        &secret_env(&[("RUST_BACKTRACE", "1")]),
    );
    let answers = api.wait_for_answers(8);
    api.finish();
    child.wait();
    assert_clean("stderr", &child.stderr());
    assert_clean("stdout", &String::from_utf8_lossy(&child.stdout()));
    for answer in answers.iter().filter(|a| a.path.ends_with("/error")) {
        assert_clean(&answer.path, &answer.body_text());
    }
    for request in api.requests() {
        let path = request.path.as_str();
        assert!(
            path == "/2018-06-01/runtime/invocation/next"
                || ["a", "b", "c", "d", "e", "f", "g", "h"]
                    .iter()
                    .any(
                        |id| path == format!("/2018-06-01/runtime/invocation/{id}/response")
                            || path == format!("/2018-06-01/runtime/invocation/{id}/error")
                    ),
            "unexpected path {path}"
        );
    }

    // Failures before the loop: init error, an unreachable API, a malformed endpoint.
    let api = FakeApi::start();
    let mut child = spawn(&example("fail"), &api, &secret_env(&[("FAIL_INIT", "1")]));
    child.wait();
    assert_clean("init stderr", &child.stderr());
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    for endpoint in [free.as_str(), "not an endpoint"] {
        let mut child = spawn_with_env(
            &example("echo"),
            &[],
            &secret_env(&[("AWS_LAMBDA_RUNTIME_API", endpoint)]),
            None,
        );
        child.wait();
        assert_clean("startup stderr", &child.stderr());
    }

    // Local invoke failures.
    let mut child = spawn_with_env(
        &example("fail"),
        &[],
        &secret_env(&[]),
        Some(b"panic".to_vec()),
    );
    child.wait();
    assert_clean("local stderr", &child.stderr());
}
