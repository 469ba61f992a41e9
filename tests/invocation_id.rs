//! `Lambda-Runtime-Invocation-Id` goes back, unchanged, on every answer of its invocation
//! (buffered, streamed, error), and only when `next` sent one; the X-Ray error cause goes
//! with error posts. In-process against the fake Runtime API (which checks the invocation id
//! of every answer, in every test that uses it).

mod support;

use std::io::Write;
use std::sync::{mpsc, Arc};

use lambda_loop::runtime::{self, Runnable, RuntimeError};
use lambda_loop::{Config, Context, Error};
use support::*;

fn serve_in_thread<S: Runnable + Send + 'static>(
    api: &FakeApi,
    handler: S,
) -> mpsc::Receiver<RuntimeError> {
    let endpoint = api.addr();
    let (done, failure) = mpsc::channel();
    std::thread::spawn(move || {
        let Err(error) = runtime::start(&endpoint, Arc::new(Config::default()), |_| Ok(handler));
        let _ = done.send(error);
    });
    failure
}

fn raw(event: &[u8], _ctx: Context) -> lambda_loop::Result<Vec<u8>> {
    match event {
        b"fail" => Err(Error::new("Asked", "to fail")),
        other => Ok(other.to_vec()),
    }
}

const ID: &str = "Lambda-Runtime-Invocation-Id";

#[test]
fn buffered_responses_and_errors_echo_the_invocation_id() {
    let api = FakeApi::start();
    api.push_event(Event::new("ok", b"fine".to_vec()).header(ID, "inv-ok-1"));
    api.push_event(Event::new("bad", b"fail".to_vec()).header(ID, "inv-bad-2"));
    api.push_event(Event::new("none", b"plain".to_vec()));
    let failure = serve_in_thread(&api, raw);
    let answers = api.wait_for_answers(3);
    assert_eq!(
        answers[0].header("lambda-runtime-invocation-id"),
        Some("inv-ok-1")
    );
    assert!(answers[1].path.ends_with("/bad/error"));
    assert_eq!(
        answers[1].header("lambda-runtime-invocation-id"),
        Some("inv-bad-2")
    );
    assert_eq!(answers[2].header("lambda-runtime-invocation-id"), None);
    api.finish();
    failure
        .recv_timeout(PATIENCE)
        .expect("the loop ends on 500");
}

#[test]
fn a_streamed_response_echoes_the_invocation_id() {
    let api = FakeApi::start();
    api.push_event(Event::new("s1", b"abc".to_vec()).header(ID, "inv-stream-1"));
    api.push_event(Event::new("s2", b"def".to_vec()));
    let failure = serve_in_thread(
        &api,
        lambda_loop::streaming(|event, _ctx, out| {
            out.write_all(event)?;
            Ok(())
        }),
    );
    let answers = api.wait_for_answers(2);
    assert_eq!(
        answers[0].header("lambda-runtime-function-response-mode"),
        Some("streaming")
    );
    assert_eq!(answers[0].body, b"abc");
    assert_eq!(
        answers[0].header("lambda-runtime-invocation-id"),
        Some("inv-stream-1")
    );
    assert_eq!(answers[1].header("lambda-runtime-invocation-id"), None);
    api.finish();
    failure
        .recv_timeout(PATIENCE)
        .expect("the loop ends on 500");
}

#[test]
fn the_context_carries_every_header_next_sends() {
    let api = FakeApi::start();
    api.push_event(
        Event::new("all", b"{}".to_vec())
            .header(ID, "inv-9")
            .header("Lambda-Runtime-Aws-Tenant-Id", "tenant-3")
            .header("Lambda-Runtime-Trace-Id", "Root=1-2-3")
            .header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:eu-west-1:1:function:f",
            ),
    );
    let failure = serve_in_thread(&api, |_event: &[u8], ctx: Context| {
        Ok(format!(
            "{:?} {:?} {:?} {:?}",
            ctx.invocation_id, ctx.tenant_id, ctx.xray_trace_id, ctx.invoked_function_arn
        )
        .into_bytes())
    });
    let answers = api.wait_for_answers(1);
    assert_eq!(
        answers[0].body_text(),
        r#"Some("inv-9") Some("tenant-3") Some("Root=1-2-3") Some("arn:aws:lambda:eu-west-1:1:function:f")"#
    );
    api.finish();
    failure
        .recv_timeout(PATIENCE)
        .expect("the loop ends on 500");
}

#[test]
fn error_posts_carry_an_xray_cause_built_from_the_error() {
    let api = FakeApi::start();
    api.push_event(Event::new("x", b"fail".to_vec()));
    let failure = serve_in_thread(&api, raw);
    let answers = api.wait_for_answers(1);
    let cause = answers[0]
        .header("lambda-runtime-function-xray-error-cause")
        .expect("an X-Ray cause header");
    let cause: serde_json::Value = serde_json::from_str(cause).unwrap();
    assert_eq!(cause["exceptions"][0]["type"], "Asked");
    assert_eq!(cause["exceptions"][0]["message"], "to fail");
    assert!(cause["working_directory"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    api.finish();
    failure
        .recv_timeout(PATIENCE)
        .expect("the loop ends on 500");
}
