//! Several handlers in one binary, chosen by `_HANDLER`: the pick served in-process with a
//! table of the test's own; the `named` example where the process environment is the point.

mod support;
use lambda_loop::runtime::{HandlerFn, RuntimeError};
use lambda_loop::{Context, Result};
use serde::{Deserialize, Serialize};
use support::*;

fn upper(event: &[u8], _ctx: Context) -> Result<Vec<u8>> {
    Ok(event.to_ascii_uppercase())
}

fn reverse(event: &[u8], _ctx: Context) -> Result<Vec<u8>> {
    Ok(event.iter().rev().copied().collect())
}

#[derive(Deserialize)]
struct Greeting {
    name: String,
}

#[derive(Serialize)]
struct Reply {
    message: String,
}

fn greet(greeting: Greeting, _ctx: Context) -> Result<Reply> {
    Ok(Reply {
        message: format!("Hello, {}!", greeting.name),
    })
}

static TABLE: [(&str, HandlerFn); 3] = [
    ("upper", upper),
    ("reverse", reverse),
    ("greet", |event, ctx| {
        lambda_loop::json(greet).handle(event, ctx)
    }),
];

/// The handler `named` picks for `_HANDLER=handler`.
fn picked(handler: &str) -> HandlerFn {
    match lambda_loop::named(&TABLE)(&config_with(&[("_HANDLER", handler)])) {
        Ok(picked) => picked,
        Err(error) => panic!("_HANDLER={handler:?}: {error}"),
    }
}

#[test]
fn the_handler_setting_picks_a_raw_handler() {
    let api = FakeApi::start();
    api.push_event(Event::new("r1", b"abc".to_vec()));
    api.push_event(Event::new("r2", b"\x00\x01\xff".to_vec()));
    let served = serve_in_thread(&api, picked("reverse"));
    let answers = served.wait_for_answers(&api, 2);
    assert_eq!(answers[0].body, b"cba");
    assert_eq!(answers[1].body, b"\xff\x01\x00");
    served.finish(&api);
}

#[test]
fn the_handler_setting_picks_a_typed_handler() {
    let api = FakeApi::start();
    api.push_event(Event::new("g1", br#"{"name":"Ada"}"#.to_vec()));
    api.push_event(Event::new("g2", b"not json".to_vec()));
    let served = serve_in_thread(&api, picked("greet"));
    let answers = served.wait_for_answers(&api, 2);
    assert_eq!(
        answers[0].body_json(),
        serde_json::json!({"message": "Hello, Ada!"})
    );
    assert_eq!(answers[1].path, "/2018-06-01/runtime/invocation/g2/error");
    assert_eq!(
        answers[1].body_json()["errorType"],
        "Runtime.UnmarshalError"
    );
    served.finish(&api);
}

/// Starts `named` with `handler` as `_HANDLER` in-process and returns its init error post.
fn init_error_for(handler: &str) -> Recorded {
    let api = FakeApi::start();
    api.push_event(Event::new("never-taken", b"x".to_vec()));
    let config = config_with(&[("_HANDLER", handler)]);
    let failure = start_in_thread(&api, config, lambda_loop::named(&TABLE)).join();
    assert!(
        matches!(&failure, RuntimeError::Init { error_type, unreported: None, .. } if error_type == "Runtime.HandlerNotFound"),
        "{failure}"
    );
    only_init_error_post(&api)
}

fn only_init_error_post(api: &FakeApi) -> Recorded {
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

fn message(post: &Recorded) -> String {
    post.body_json()["errorMessage"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn an_unknown_handler_is_an_init_error_listing_the_known_names() {
    let message = message(&init_error_for("resize"));
    assert!(message.contains("\"resize\""), "{message}");
    assert!(
        message.ends_with("set it to one of: \"upper\", \"reverse\", \"greet\""),
        "{message}"
    );
}

#[test]
fn an_empty_handler_is_an_init_error_too() {
    let message = message(&init_error_for(""));
    assert!(message.contains("is empty"), "{message}");
    assert!(
        message.ends_with("set it to one of: \"upper\", \"reverse\", \"greet\""),
        "{message}"
    );
}

#[test]
fn process_the_named_example_reads_handler_from_the_environment() {
    let api = FakeApi::start();
    api.push_event(Event::new("r1", b"abc".to_vec()));
    let _reverse = spawn_example("named", &api, &[("_HANDLER", "reverse")]);
    assert_eq!(api.wait_for_answers(1)[0].body, b"cba");

    let api = FakeApi::start();
    api.push_event(Event::new("never-taken", b"x".to_vec()));
    let mut child = spawn_example("named", &api, &[("_HANDLER", "resize")]);
    assert_eq!(child.wait().code(), Some(1), "stderr: {}", child.stderr());
    let message = message(&only_init_error_post(&api));
    assert!(
        message.ends_with("set it to one of: \"upper\", \"reverse\", \"greet\""),
        "{message}"
    );
    let stderr = child.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
