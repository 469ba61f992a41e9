//! HTTP functions end to end: the sample events of `tests/events/` through the real
//! `http_echo`, `http_hello` and `http_stream` binaries, under the fake Runtime API and the
//! local invoke. (The mapping itself, field by field, is unit-tested in `src/http/tests.rs`.)

mod support;
use support::*;

use serde_json::Value;

/// Every sample event, with what an independent reading of it says the request is.
const SAMPLES: [&str; 14] = [
    "apigw-v2-get.json",
    "apigw-v2-post-binary.json",
    "apigw-v2-empty-body.json",
    "function-url-post.json",
    "function-url-get.json",
    "function-url-post-binary.json",
    "apigw-rest-get.json",
    "apigw-rest-post-binary.json",
    "apigw-rest-empty-body.json",
    "alb-get.json",
    "alb-multi-value-get.json",
    "alb-post-binary.json",
    "lattice-v2-get.json",
    "lattice-v2-post.json",
];

fn sample(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/events")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// The method and body bytes of a sample, read straight from its JSON.
fn method_and_body(event: &Value) -> (String, Vec<u8>) {
    let method = event["httpMethod"]
        .as_str()
        .or(event["requestContext"]["http"]["method"].as_str())
        .or(event["method"].as_str())
        .expect("a method")
        .to_owned();
    let body = event["body"].as_str().unwrap_or("");
    let body = if event["isBase64Encoded"] == true {
        base64_decode(body).expect("a base64 body")
    } else {
        body.as_bytes().to_vec()
    };
    (method, body)
}

#[test]
fn http_echo_answers_every_sample_in_its_sources_shape() {
    let api = FakeApi::start();
    for (i, name) in SAMPLES.iter().enumerate() {
        api.push_event(Event::new(&format!("sample-{i}"), sample(name)));
    }
    let mut child = spawn_example("http_echo", &api, &[]);
    let answers = api.wait_for_answers(SAMPLES.len());
    api.finish();
    assert_eq!(child.wait().code(), Some(1), "{}", child.stderr());

    for (i, name) in SAMPLES.iter().enumerate() {
        let answer = &answers[i];
        assert!(
            answer.path.ends_with(&format!("/sample-{i}/response")),
            "{name}: {}",
            answer.path
        );
        let event = json(&sample(name));
        let out = json(&answer.body);
        assert_eq!(out["statusCode"], 200, "{name}");
        assert_eq!(out["isBase64Encoded"], false, "{name}");
        // the response shape each source expects
        let multi = event.get("multiValueHeaders").is_some_and(|v| !v.is_null());
        let (header_field, other) = if multi {
            ("multiValueHeaders", "headers")
        } else {
            ("headers", "multiValueHeaders")
        };
        assert!(out.get(header_field).is_some(), "{name}: {out}");
        assert!(out.get(other).is_none(), "{name}: {out}");
        let has_description = event["requestContext"].get("elb").is_some()
            || event["requestContext"].get("serviceArn").is_some();
        assert_eq!(
            out.get("statusDescription").map(|d| d.as_str().unwrap()),
            has_description.then_some("200 OK"),
            "{name}"
        );
        // what the handler saw
        let seen = json(out["body"].as_str().unwrap().as_bytes());
        let (method, body) = method_and_body(&event);
        assert_eq!(seen["method"], method.as_str(), "{name}");
        let seen_body = base64_decode(seen["body_base64"].as_str().unwrap()).unwrap();
        assert_eq!(seen_body, body, "{name}");
        assert!(seen["path"].as_str().unwrap().starts_with('/'), "{name}");
    }

    // a few fields in detail
    let seen = |i: usize| json(json(&answers[i].body)["body"].as_str().unwrap().as_bytes());
    let v2 = seen(0);
    assert_eq!(v2["path"], "/my/path");
    assert_eq!(
        v2["query"],
        serde_json::json!({"parameter1": ["value1", "value2"], "parameter2": ["value"]})
    );
    assert_eq!(
        v2["headers"]["cookie"],
        serde_json::json!(["cookie1=one; cookie2=two"])
    );
    let rest = seen(6);
    assert_eq!(rest["path"], "/prod/orders/7");
    assert_eq!(rest["query"]["q"], serde_json::json!(["a b&c"]));
    assert_eq!(
        rest["headers"]["x-multi"],
        serde_json::json!(["first", "second"])
    );
    let alb = seen(10);
    assert_eq!(alb["query"]["name"], serde_json::json!(["Ada Lovelace"]));
    assert_eq!(alb["headers"]["cookie"], serde_json::json!(["a=1", "b=2"]));
    let lattice = seen(12);
    assert_eq!(
        lattice["query"]["color"],
        serde_json::json!(["red", "blue"])
    );
}

#[test]
fn an_event_of_no_http_shape_is_an_unmarshal_error_and_the_loop_goes_on() {
    let api = FakeApi::start();
    api.push_event(Event::new(
        "s3",
        br#"{"Records": [{"eventSource": "aws:s3"}]}"#.to_vec(),
    ));
    api.push_event(Event::new("text", b"hello".to_vec()));
    api.push_event(Event::new("ok", sample("alb-get.json")));
    let _child = spawn_example("http_echo", &api, &[]);
    let answers = api.wait_for_answers(3);

    for (answer, id) in answers[..2].iter().zip(["s3", "text"]) {
        assert!(
            answer.path.ends_with(&format!("/{id}/error")),
            "{}",
            answer.path
        );
        assert_eq!(
            answer.header("lambda-runtime-function-error-type"),
            Some("Runtime.UnmarshalError")
        );
        let message = answer.body_json()["errorMessage"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains("expected an HTTP event"), "{message}");
    }
    assert!(answers[2].path.ends_with("/ok/response"));
}

#[test]
fn http_hello_under_the_local_invoke() {
    let events = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/events");
    let run = |name: &str| {
        let path = events.join(name);
        let mut child =
            spawn_with_env(&example("http_hello"), &[path.to_str().unwrap()], &[], None);
        assert_eq!(child.wait().code(), Some(0), "{}", child.stderr());
        json(&child.stdout())
    };
    let greeted = run("function-url-get.json");
    assert_eq!(greeted["statusCode"], 200);
    assert_eq!(greeted["body"], "Hello, Ada Lovelace!");
    assert_eq!(
        greeted["headers"]["content-type"],
        "text/plain; charset=utf-8"
    );

    let missing = run("apigw-v2-get.json");
    assert_eq!(missing["statusCode"], 400);
    assert_eq!(missing["headers"]["content-type"], "application/json");
    let error = json(missing["body"].as_str().unwrap().as_bytes());
    assert!(error["error"].as_str().unwrap().contains("name"));

    let rest = run("apigw-rest-empty-body.json");
    assert_eq!(rest["statusCode"], 400);
    assert!(rest.get("multiValueHeaders").is_none()); // that event's multiValueHeaders are null
}

#[test]
fn http_stream_sends_the_head_then_one_chunk_per_line() {
    let api = FakeApi::start();
    let mut event: Value = json(&sample("function-url-get.json"));
    event["rawQueryString"] = "lines=2".into();
    api.push_event(Event::new("stream", serde_json::to_vec(&event).unwrap()));
    let _child = spawn_example("http_stream", &api, &[]);
    let answers = api.wait_for_answers(1);
    let answer = &answers[0];

    assert!(answer.path.ends_with("/stream/response"));
    assert_eq!(
        answer.header("lambda-runtime-function-response-mode"),
        Some("streaming")
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/vnd.awslambda.http-integration-response")
    );
    let expected = [
        &br#"{"statusCode":200,"headers":{"content-type":"text/plain; charset=utf-8"},"cookies":["streamed=yes; HttpOnly"]}"#[..],
        &[0; 8],
        b"line 1 of 2\nline 2 of 2\n",
    ]
    .concat();
    assert_eq!(answer.body, expected, "{}", answer.body_text());
    // the prelude and first line go in the first flush, the second line in its own
    assert_eq!(answer.chunk_sizes.len(), 2, "{:?}", answer.chunk_sizes);
    assert!(answer.trailers.is_empty(), "{:?}", answer.trailers);
}
