//! Several handlers in one binary, chosen by `_HANDLER`, with the named example.

mod support;
use support::*;

#[test]
fn the_handler_setting_picks_a_raw_or_a_typed_handler() {
    let api = FakeApi::start();
    api.push_event(Event::new("r1", b"abc".to_vec()));
    api.push_event(Event::new("r2", b"\x00\x01\xff".to_vec()));
    let _reverse = spawn_example("named", &api, &[("_HANDLER", "reverse")]);
    let answers = api.wait_for_answers(2);
    assert_eq!(answers[0].body, b"cba");
    assert_eq!(answers[1].body, b"\xff\x01\x00");

    let api = FakeApi::start();
    api.push_event(Event::new("g1", br#"{"name":"Ada"}"#.to_vec()));
    api.push_event(Event::new("g2", b"not json".to_vec()));
    let _greet = spawn_example("named", &api, &[("_HANDLER", "greet")]);
    let answers = api.wait_for_answers(2);
    assert_eq!(
        answers[0].body_json(),
        serde_json::json!({"message": "Hello, Ada!"})
    );
    assert_eq!(answers[1].path, "/2018-06-01/runtime/invocation/g2/error");
    assert_eq!(
        answers[1].body_json()["errorType"],
        "Runtime.UnmarshalError"
    );
}

/// Runs the named example with `handler` as `_HANDLER` and returns its init error post.
fn init_error_for(handler: &str) -> Recorded {
    let api = FakeApi::start();
    api.push_event(Event::new("never-taken", b"x".to_vec()));
    let mut child = spawn_example("named", &api, &[("_HANDLER", handler)]);
    assert_eq!(child.wait().code(), Some(1), "stderr: {}", child.stderr());
    let requests = api.requests();
    assert_eq!(requests.len(), 1, "only the init error: {requests:#?}");
    let post = requests.into_iter().next().unwrap();
    assert_eq!(
        (post.method.as_str(), post.path.as_str()),
        ("POST", "/2018-06-01/runtime/init/error")
    );
    assert_eq!(
        post.header("lambda-runtime-function-error-type"),
        Some("Runtime.HandlerNotFound")
    );
    assert_eq!(post.body_json()["errorType"], "Runtime.HandlerNotFound");
    post
}

#[test]
fn an_unknown_handler_is_an_init_error_listing_the_known_names() {
    let post = init_error_for("resize");
    let message = post.body_json()["errorMessage"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("\"resize\""), "{message}");
    assert!(
        message.ends_with("set it to one of: \"upper\", \"reverse\", \"greet\""),
        "{message}"
    );
}

#[test]
fn an_empty_handler_is_an_init_error_too() {
    let post = init_error_for("");
    let message = post.body_json()["errorMessage"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("is empty"), "{message}");
    assert!(
        message.ends_with("set it to one of: \"upper\", \"reverse\", \"greet\""),
        "{message}"
    );
}
