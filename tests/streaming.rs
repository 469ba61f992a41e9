//! Response streaming against the fake Runtime API: the wire format, chunk boundaries, errors
//! and panics after the first byte, served in-process with the `stream` example's handler
//! (copied below); the `stream` binary where the process is the point: its peak memory, the
//! `panic = "abort"` build, its stderr.

mod support;
use std::io::Write;

use lambda_loop::runtime::RuntimeError;
use lambda_loop::{Context, Error, ResponseStream, Result};
use support::*;

/// The `stream` example's handler: the event picks what is streamed.
fn handle(event: &[u8], _ctx: Context, out: &mut ResponseStream) -> Result<()> {
    let text = String::from_utf8_lossy(event);
    let mut words = text.split_whitespace();
    match (words.next(), words.next()) {
        (Some("lines"), Some(count)) => {
            let count: u32 = count.parse()?;
            for line in 1..=count {
                writeln!(out, "line {line} of {count}")?;
                out.flush()?;
            }
        }
        (Some("mib"), Some(count)) => {
            let mut left: u64 = count.parse::<u64>()? * 1024 * 1024;
            let piece: Vec<u8> = (0..1004).map(|i| (i % 251) as u8).collect();
            while left > 0 {
                let n = piece.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                out.write_all(&piece[..n])?;
                left -= n as u64;
            }
        }
        (Some("http"), None) => {
            out.start_http_response(
                201,
                &[("content-type", "text/plain"), ("x-stream", "yes")],
                &["session=abc; HttpOnly"],
            )?;
            out.write_all(b"hello over HTTP\n")?;
        }
        (Some("fail-before"), None) => {
            return Err(Error::new("NotStarted", "failed before the first byte"));
        }
        (Some("fail-after"), None) => {
            writeln!(out, "the first line")?;
            out.flush()?;
            return Err(Error::new("StreamBroke", "failed after the first line"));
        }
        (Some("panic-after"), None) => {
            writeln!(out, "the first line")?;
            out.flush()?;
            panic!("the stream example was asked to panic mid-stream");
        }
        _ => out.write_all(event)?,
    }
    Ok(())
}

/// Serves [`handle`] in-process against `api`.
fn serve_stream(api: &FakeApi) -> Served {
    serve_in_thread(api, lambda_loop::streaming(handle))
}

const MIB: usize = 1024 * 1024;

/// The error JSON carried base64-encoded in the body trailer.
fn trailer_error(answer: &Recorded) -> serde_json::Value {
    let encoded = answer
        .trailer("lambda-runtime-function-error-body")
        .unwrap_or_else(|| panic!("no error body trailer: {:?}", answer.trailers));
    let json = base64_decode(encoded).expect("the error body trailer is base64");
    serde_json::from_slice(&json).expect("the error body trailer is JSON")
}

fn assert_streamed(answer: &Recorded, id: &str) {
    assert_eq!(
        answer.path,
        format!("/2018-06-01/runtime/invocation/{id}/response")
    );
    assert_eq!(
        answer.header("lambda-runtime-function-response-mode"),
        Some("streaming")
    );
    assert_eq!(answer.header("transfer-encoding"), Some("chunked"));
    assert_eq!(
        answer.header("trailer"),
        Some("Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body")
    );
    assert_eq!(answer.header("content-length"), None);
}

#[test]
fn chunk_boundaries_follow_flushes() {
    let api = FakeApi::start();
    api.push_event(Event::new("lines", b"lines 3".to_vec()));
    api.push_event(Event::new("one-write", b"hello".to_vec()));
    api.push_event(Event::new("empty", b"lines 0".to_vec()));
    api.push_event(Event::new("odd/id ?", b"x".to_vec()));
    let served = serve_stream(&api);
    let answers = served.wait_for_answers(&api, 4);

    assert_streamed(&answers[0], "lines");
    assert_eq!(
        answers[0].header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        answers[0].body_text(),
        "line 1 of 3\nline 2 of 3\nline 3 of 3\n"
    );
    assert_eq!(answers[0].chunk_sizes, [12, 12, 12], "one chunk per flush");
    assert!(answers[0].trailers.is_empty(), "{:?}", answers[0].trailers);

    // Unflushed bytes go out with the end of the body, as one chunk.
    assert_streamed(&answers[1], "one-write");
    assert_eq!(answers[1].body, b"hello");
    assert_eq!(answers[1].chunk_sizes, [5]);

    // A handler that writes nothing still answers: an empty stream.
    assert_streamed(&answers[2], "empty");
    assert!(answers[2].body.is_empty() && answers[2].chunk_sizes.is_empty());

    // The request id is one percent-encoded path segment.
    assert_streamed(&answers[3], "odd%2Fid%20%3F");
}

#[test]
fn process_a_100_mib_stream_keeps_memory_flat() {
    let api = FakeApi::start();
    api.keep_body_bytes(MIB);
    api.push_event(Event::new("big", b"mib 100".to_vec()));
    let child = spawn_example("stream", &api, &[]);
    let answers = api.wait_for_answers(1);

    let answer = &answers[0];
    assert_streamed(answer, "big");
    assert_eq!(answer.body_len, 100 * MIB);
    let mut expected = Digest::new();
    let piece: Vec<u8> = (0..1004).map(|i| (i % 251) as u8).collect();
    let mut left = 100 * MIB;
    while left > 0 {
        let n = left.min(piece.len());
        expected.update(&piece[..n]);
        left -= n;
    }
    assert_eq!(answer.body_digest(), expected.finish(), "the bytes differ");
    assert_eq!(answer.chunk_sizes.len(), 1600);
    assert!(answer.chunk_sizes.iter().all(|&size| size == 64 * 1024));
    assert!(answer.trailers.is_empty());

    // The child is alive, waiting on its next `next`: its peak memory so far is the stream's.
    api.wait_for_waiting_next(1);
    let peak_kib = peak_rss_kib(child.pid());
    eprintln!("VmHWM of the stream example after streaming 100 MiB: {peak_kib} KiB");
    assert!(
        peak_kib < 16 * 1024,
        "peak RSS {peak_kib} KiB: the stream is being held in memory"
    );
}

#[test]
fn past_200_mib_the_stream_is_cut_and_the_trailers_say_why() {
    let api = FakeApi::start();
    api.keep_body_bytes(0);
    api.push_event(Event::new("huge", b"mib 201".to_vec()));
    api.push_event(Event::new("after", b"still serving".to_vec()));
    let served = serve_stream(&api);
    let answers = served.wait_for_answers(&api, 2);

    assert_streamed(&answers[0], "huge");
    assert_eq!(answers[0].body_len, 200 * MIB, "exactly the limit is sent");
    assert_eq!(
        answers[0].trailer("lambda-runtime-function-error-type"),
        Some("Runtime.ResponseTooLarge")
    );
    let error = trailer_error(&answers[0]);
    assert_eq!(error["errorType"], "Runtime.ResponseTooLarge");
    assert!(error["errorMessage"]
        .as_str()
        .unwrap()
        .contains("209715200"));
    assert_eq!(answers[1].body_len, b"still serving".len());
}

#[test]
fn an_error_mid_stream_arrives_as_trailers() {
    let api = FakeApi::start();
    api.push_event(Event::new("broke", b"fail-after".to_vec()));
    api.push_event(Event::new("after", b"fine".to_vec()));
    let served = serve_stream(&api);
    let answers = served.wait_for_answers(&api, 2);

    assert_streamed(&answers[0], "broke");
    assert_eq!(answers[0].body_text(), "the first line\n");
    assert_eq!(
        answers[0].trailer("lambda-runtime-function-error-type"),
        Some("StreamBroke")
    );
    assert_eq!(
        trailer_error(&answers[0]),
        serde_json::json!({
            "errorMessage": "failed after the first line",
            "errorType": "StreamBroke",
            "stackTrace": [],
        })
    );
    assert_eq!(answers[1].body, b"fine");
    assert!(answers[1].trailers.is_empty());
}

#[test]
fn an_error_before_any_byte_is_an_error_post() {
    let api = FakeApi::start();
    api.push_event(Event::new("early", b"fail-before".to_vec()));
    let served = serve_stream(&api);
    let answers = served.wait_for_answers(&api, 1);

    assert_eq!(
        answers[0].path,
        "/2018-06-01/runtime/invocation/early/error"
    );
    assert_eq!(
        answers[0].header("lambda-runtime-function-error-type"),
        Some("NotStarted")
    );
    assert_eq!(answers[0].header("transfer-encoding"), None);
    assert_eq!(answers[0].body_json()["errorType"], "NotStarted");
    assert_eq!(
        answers[0].body_json()["errorMessage"],
        "failed before the first byte"
    );
}

/// The panic's trailers; `location` is the file that panicked (the test's handler in-process,
/// the example in a binary).
fn assert_panic_trailers(answer: &Recorded, id: &str, location: &str) {
    assert_streamed(answer, id);
    assert_eq!(answer.body_text(), "the first line\n");
    assert_eq!(
        answer.trailer("lambda-runtime-function-error-type"),
        Some("Runtime.Panic")
    );
    let error = trailer_error(answer);
    assert_eq!(error["errorType"], "Runtime.Panic");
    let message = error["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("asked to panic mid-stream") && message.contains(location),
        "{message}"
    );
}

#[test]
fn a_panic_mid_stream_ends_with_trailers_under_unwind() {
    let api = FakeApi::start();
    api.push_event(Event::new("boom", b"panic-after".to_vec()));
    api.push_event(Event::new("after", b"alive".to_vec()));
    let served = serve_stream(&api);
    let answers = served.wait_for_answers(&api, 2);
    assert_panic_trailers(&answers[0], "boom", "tests/streaming.rs:");
    assert_eq!(answers[1].body, b"alive");
    served.finish(&api);
}

#[test]
fn process_a_panic_mid_stream_ends_with_trailers_under_abort() {
    let binary = example_in_profile("stream", "size");
    let api = FakeApi::start();
    api.push_event(Event::new("boom", b"panic-after".to_vec()));
    api.push_event(Event::new("never-taken", b"x".to_vec()));
    let mut child = spawn(&binary, &api, &[]);
    assert!(!child.wait().success());
    let answers = api.answers();
    assert_eq!(answers.len(), 1, "{answers:#?}");
    assert_panic_trailers(&answers[0], "boom", "examples/stream.rs:");
}

#[test]
fn process_under_abort_an_early_panic_is_an_error_post_and_streams_still_work() {
    let binary = example_in_profile("stream", "size");
    let api = FakeApi::start();
    api.push_event(Event::new("lines", b"lines 2".to_vec()));
    api.push_event(Event::new("early", b"fail-before".to_vec()));
    let _child = spawn(&binary, &api, &[]);
    let answers = api.wait_for_answers(2);
    assert_eq!(answers[0].chunk_sizes, [12, 12]);
    assert!(answers[1].path.ends_with("/early/error"));
}

#[test]
fn the_http_prelude_bytes_are_exact() {
    let api = FakeApi::start();
    api.push_event(Event::new("web", b"http".to_vec()));
    let served = serve_stream(&api);
    let answers = served.wait_for_answers(&api, 1);

    assert_streamed(&answers[0], "web");
    assert_eq!(
        answers[0].header("content-type"),
        Some("application/vnd.awslambda.http-integration-response")
    );
    let expected = [
        &br#"{"statusCode":201,"headers":{"content-type":"text/plain","x-stream":"yes"},"cookies":["session=abc; HttpOnly"]}"#[..],
        &[0; 8],
        b"hello over HTTP\n",
    ]
    .concat();
    assert_eq!(answers[0].body, expected);
}

#[test]
fn a_500_answer_to_a_stream_stops_the_loop() {
    let api = FakeApi::start();
    api.push_event(Event::new("s", b"lines 1".to_vec()).answer_status(500));
    api.push_event(Event::new("never-taken", b"x".to_vec()));
    let failure = serve_stream(&api).join();
    assert!(
        matches!(&failure, RuntimeError::Status { status: 500, .. }),
        "{failure}"
    );
    assert!(
        failure
            .to_string()
            .contains("answered 500 to POST /2018-06-01/runtime/invocation/s/response"),
        "{failure}"
    );
    assert_eq!(api.answers().len(), 1);
}

#[test]
fn a_410_answer_to_a_stream_is_not_fatal_and_the_loop_goes_on() {
    let api = FakeApi::start();
    api.push_event(Event::new("late", b"lines 1".to_vec()).answer_status(410));
    api.push_event(Event::new("next", b"ok".to_vec()));
    let served = serve_stream(&api);
    let answers = served.wait_for_answers(&api, 2);
    assert_eq!(answers[1].body, b"ok");
    served.finish(&api);
}

#[test]
fn process_a_500_answer_to_a_stream_exits_with_one_line() {
    let api = FakeApi::start();
    api.push_event(Event::new("s", b"lines 1".to_vec()).answer_status(500));
    api.push_event(Event::new("never-taken", b"x".to_vec()));
    let mut child = spawn_example("stream", &api, &[]);
    assert_eq!(child.wait().code(), Some(1));
    let stderr = child.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("answered 500 to POST /2018-06-01/runtime/invocation/s/response"),
        "{stderr}"
    );
    assert_eq!(api.answers().len(), 1);
}

#[test]
fn process_a_410_answer_to_a_stream_costs_one_line() {
    let api = FakeApi::start();
    api.push_event(Event::new("late", b"lines 1".to_vec()).answer_status(410));
    api.push_event(Event::new("next", b"ok".to_vec()));
    let mut child = spawn_example("stream", &api, &[]);
    let answers = api.wait_for_answers(2);
    assert_eq!(answers[1].body, b"ok");
    api.finish();
    assert_eq!(child.wait().code(), Some(1));
    let stderr = child.stderr();
    assert_eq!(stderr.lines().count(), 2, "the 410, the exit: {stderr}");
    assert!(stderr.contains("answered 410"), "{stderr}");
}

/// The low layer streams too: a loop of your own (`Client::next`, `ResponseStream::new`,
/// `ResponseStream::finish`, as in `ResponseStream::new`'s docs) sends chunks, then ends the
/// stream; an error after the first byte goes in the trailers, one before it as an error post.
#[test]
fn a_custom_loop_streams_through_the_low_layer() {
    use lambda_loop::runtime::Client;
    let api = FakeApi::start();
    api.push_event(Event::new("ok", b"hi".to_vec()));
    api.push_event(Event::new("late", b"fail-after".to_vec()));
    api.push_event(Event::new("early", b"fail-before".to_vec()));
    let client = Client::new(&api.addr()).unwrap();
    let config = std::sync::Arc::new(test_config());
    let runtime = std::thread::spawn(move || -> RuntimeError {
        loop {
            let next = match client.next(&config) {
                Ok(next) => next,
                Err(failure) => return failure,
            };
            let mut stream = ResponseStream::new(&client, &next.answer_to);
            let outcome = next.event.and_then(|event| {
                if event == b"fail-before" {
                    return Err(Error::new("NotStarted", "nothing was written"));
                }
                writeln!(stream, "{} bytes", event.len())?;
                stream.flush()?;
                match &event[..] {
                    b"fail-after" => Err(Error::new("StreamBroke", "after the first line")),
                    _ => Ok(stream.write_all(&event)?),
                }
            });
            if let Err(failure) = stream.finish(outcome) {
                return failure;
            }
        }
    });
    let answers = api.wait_for_answers(3);
    api.finish();
    assert_next_500(&runtime.join().unwrap());
    assert!(
        answers[0].path.ends_with("/ok/response"),
        "{}",
        answers[0].path
    );
    assert_eq!(
        answers[0].header("Lambda-Runtime-Function-Response-Mode"),
        Some("streaming")
    );
    assert_eq!(answers[0].body_text(), "2 bytes\nhi");
    assert!(
        answers[1].path.ends_with("/late/response"),
        "{}",
        answers[1].path
    );
    assert_eq!(answers[1].body_text(), "10 bytes\n");
    assert_eq!(
        answers[1].trailer("Lambda-Runtime-Function-Error-Type"),
        Some("StreamBroke")
    );
    assert!(
        answers[2].path.ends_with("/early/error"),
        "{}",
        answers[2].path
    );
    assert_eq!(answers[2].body_json()["errorType"], "NotStarted");
}
