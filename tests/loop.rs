//! The loop against the fake Runtime API: events in, responses out, one kept-alive connection.
//! Served in-process (`runtime::serve` on a thread); the example binaries are run where the
//! process is the point.

mod support;
use lambda_loop::{Context, Error, Result};
use support::*;

fn echo(event: &[u8], _ctx: Context) -> Result<Vec<u8>> {
    Ok(event.to_vec())
}

#[test]
fn echoes_empty_binary_and_large_events_over_one_connection() {
    let api = FakeApi::start();
    let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let large: Vec<u8> = (0..5 * 1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    api.push_event(Event::new("empty", Vec::new()));
    api.push_event(Event::new("binary", binary.clone()));
    api.push_event(Event::new("large", large.clone()));
    api.push_event(Event::new("chunked", large.clone()).chunked());
    let served = serve_in_thread(&api, echo);

    let answers = served.wait_for_answers(&api, 4);
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

    served.finish(&api);
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
    let served = serve_in_thread(&api, |event: &[u8], _ctx: Context| match event {
        b"custom" => Err(Error::new("CustomError", "failed on purpose")),
        other => Ok(other.to_vec()),
    });
    served.wait_for_answers(&api, 2);
    served.finish(&api);
    let requests = api.requests();
    let calls: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("GET", "/2018-06-01/runtime/invocation/next"),
            ("POST", "/2018-06-01/runtime/invocation/ok/response"),
            ("GET", "/2018-06-01/runtime/invocation/next"),
            ("POST", "/2018-06-01/runtime/invocation/err/error"),
            ("GET", "/2018-06-01/runtime/invocation/next"),
        ]
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
    let mut invocations: u64 = 0;
    let served = serve_in_thread(&api, move |_event: &[u8], ctx: Context| {
        invocations += 1;
        let reply = serde_json::json!({
            "invocation": invocations,
            "requestId": ctx.request_id,
            "function": ctx.config.function_name,
        });
        Ok(reply.to_string().into_bytes())
    });
    let answers = served.wait_for_answers(&api, 3);
    let counts: Vec<u64> = answers
        .iter()
        .map(|a| a.body_json()["invocation"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [1, 2, 3]);
    assert_eq!(answers[2].body_json()["requestId"], "c");
    assert_eq!(answers[2].body_json()["function"], "test-function");
    served.finish(&api);
}

#[test]
fn an_endpoint_with_a_path_prefix_keeps_the_prefix() {
    let api = FakeApi::start();
    api.push_event(Event::new("p", b"x".to_vec()));
    // The fake serves any prefix: what matters is the path the runtime asks for.
    let endpoint = format!("http://{}/.rt", api.addr());
    let served = serve_with(&api, &endpoint, test_config(), echo);
    served.wait_for_answers(&api, 1);
    served.finish(&api);
    let paths: Vec<String> = api.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/.rt/2018-06-01/runtime/invocation/next",
            "/.rt/2018-06-01/runtime/invocation/p/response",
            "/.rt/2018-06-01/runtime/invocation/next",
        ]
    );
}

#[derive(serde::Deserialize)]
struct Greeting {
    name: String,
}

#[derive(serde::Serialize)]
struct Reply {
    message: String,
}

#[test]
fn typed_json_handlers_answer_and_report_invalid_events() {
    let api = FakeApi::start();
    api.push_event(Event::new("good", br#"{"name":"Ada"}"#.to_vec()));
    api.push_event(Event::new("bad", b"{not json".to_vec()));
    api.push_event(Event::new("again", br#"{"name":"Grace"}"#.to_vec()));
    let served = serve_in_thread(
        &api,
        lambda_loop::json(|greeting: Greeting, _ctx| {
            Ok(Reply {
                message: format!("Hello, {}!", greeting.name),
            })
        }),
    );
    let answers = served.wait_for_answers(&api, 3);

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
        message.contains("::Greeting") && message.contains("line 1 column 2"),
        "{message}"
    );

    assert_eq!(
        answers[2].body_json(),
        serde_json::json!({"message": "Hello, Grace!"})
    );
    served.finish(&api);
}

/// The json handler writes its answer into the event's buffer, and the loop reads the next
/// event into a small answer's buffer: no answer may carry bytes of another event or answer.
#[test]
fn a_typed_json_echo_answers_each_event_alone_whatever_the_sizes_before_it() {
    let api = FakeApi::start();
    let sized = |bytes: usize| serde_json::json!({"pad": "x".repeat(bytes), "n": bytes});
    // Large (its buffer is not kept), small after large, smaller after small (a recycled
    // answer's buffer), larger after smaller, and an invalid one after a recycled buffer.
    let sizes = [200_000, 300, 10, 5_000, 0];
    for (at, &bytes) in sizes.iter().enumerate() {
        let body = serde_json::to_vec(&sized(bytes)).unwrap();
        api.push_event(Event::new(&format!("e{at}"), body));
    }
    api.push_event(Event::new("bad", b"{\"pad\"".to_vec()));
    api.push_event(Event::new("last", br#"{"n":1}"#.to_vec()));
    let served = serve_in_thread(
        &api,
        lambda_loop::json(|event: serde_json::Value, _ctx| Ok(event)),
    );
    let answers = served.wait_for_answers(&api, sizes.len() + 2);
    for (answer, &bytes) in answers.iter().zip(&sizes) {
        assert_eq!(answer.body_json(), sized(bytes), "{}", answer.path);
    }
    let error = answers[sizes.len()].body_json();
    assert_eq!(error["errorType"], "Runtime.UnmarshalError");
    assert_eq!(answers[sizes.len() + 1].body, br#"{"n":1}"#);
    served.finish(&api);
}

#[test]
fn a_connection_the_api_closed_while_idle_is_replaced() {
    let api = FakeApi::start();
    api.push_event(Event::new("first", b"1".to_vec()).close_after_answer());
    api.push_event(Event::new("second", b"2".to_vec()).close_after_answer());
    api.push_event(Event::new("third", b"3".to_vec()));
    let served = serve_in_thread(&api, echo);
    let answers = served.wait_for_answers(&api, 3);
    let bodies: Vec<&[u8]> = answers.iter().map(|a| a.body.as_slice()).collect();
    assert_eq!(bodies, [b"1", b"2", b"3"]);
    served.finish(&api);
    assert_eq!(api.connections(), 3);
}

// ---------------------------------------------------------------------------------------
// The process: the example binaries, and what they write on stderr.

/// Replacing a connection the API closed is quiet: the only stderr line is the exit line.
#[test]
fn process_replaces_a_closed_idle_connection_without_a_line() {
    let api = FakeApi::start();
    api.push_event(Event::new("first", b"1".to_vec()).close_after_answer());
    api.push_event(Event::new("second", b"2".to_vec()));
    let mut child = spawn_example("echo", &api, &[]);
    api.wait_for_answers(2);
    assert_eq!(api.connections(), 2);
    api.finish();
    assert_eq!(child.wait().code(), Some(1));
    let stderr = child.stderr();
    assert_eq!(stderr.lines().count(), 1, "only the exit line: {stderr}");
}

/// The examples the README names serve as binaries: echo, stateful, hello_json.
#[test]
fn process_the_examples_serve() {
    let api = FakeApi::start();
    let binary: Vec<u8> = (0..=255u8).collect();
    api.push_event(Event::new("bytes", binary.clone()));
    let mut echo = spawn_example("echo", &api, &[]);
    assert_eq!(api.wait_for_answers(1)[0].body, binary);
    api.finish();
    assert_eq!(echo.wait().code(), Some(1));

    let api = FakeApi::start();
    for id in ["a", "b"] {
        api.push_event(Event::new(id, b"{}".to_vec()));
    }
    let _stateful = spawn_example("stateful", &api, &[]);
    let answers = api.wait_for_answers(2);
    assert_eq!(answers[1].body_json()["invocation"], 2);
    assert_eq!(answers[1].body_json()["requestId"], "b");
    assert_eq!(answers[1].body_json()["function"], "test-function");

    let api = FakeApi::start();
    api.push_event(Event::new("good", br#"{"name":"Ada"}"#.to_vec()));
    api.push_event(Event::new("bad", b"{not json".to_vec()));
    let _hello = spawn_example("hello_json", &api, &[]);
    let answers = api.wait_for_answers(2);
    assert_eq!(answers[0].body_json()["message"], "Hello, Ada!");
    let message = answers[1].body_json()["errorMessage"].to_string();
    assert!(message.contains("hello_json::Greeting"), "{message}");
}
