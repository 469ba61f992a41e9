//! The S3 example against a real S3 API on 127.0.0.1: a moto server (`pip install
//! 'moto[server]'`) started by this test and stopped after it, and lambda-loop's fake Runtime
//! API (`lambda_loop::testing`, through the project's `tests/support`) handing the function its
//! events.
//!
//! Without `moto_server` on the PATH this test fails and says so.

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};
use support::*;

/// A moto server on 127.0.0.1, killed when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_moto() -> Moto {
    // A free port: bound, read, closed; moto binds it next.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start moto_server ({e}): install it with pip install 'moto[server]'")
        });
    let mut moto = Moto { child, port };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = moto.child.try_wait().unwrap() {
            panic!("moto_server exited ({status}) before it listened on 127.0.0.1:{port}");
        }
        assert!(
            started.elapsed() < PATIENCE,
            "moto_server did not listen on 127.0.0.1:{port} within {PATIENCE:?}"
        );
        thread::sleep(Duration::from_millis(50));
    }
    moto
}

/// An authorization header moto takes as the (fake) account's: moto does not check signatures,
/// but without one a request is anonymous, and a private object answers 403.
const FAKE_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0000";

/// One plain HTTP/1.1 request to moto; returns status and body.
fn moto_request(port: u16, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
         Authorization: {FAKE_AUTHORIZATION}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    let body = rest
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    (status, body)
}

#[test]
fn the_handler_writes_and_reads_s3_objects_on_moto_through_the_runtime_api() {
    let moto = start_moto();
    let (status, body) = moto_request(moto.port, "PUT", "/lambda-loop-test");
    assert_eq!(status, 200, "create bucket: {body}");

    let api = FakeApi::start();
    api.push_event(Event::new(
        "s3-0",
        br#"{"key":"notes/1.txt","body":"hello from lambda-loop"}"#.to_vec(),
    ));
    api.push_event(Event::new(
        "s3-1",
        br#"{"key":"notes/2.txt","body":"again"}"#.to_vec(),
    ));
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    let mut function = spawn_with_env(
        std::path::Path::new(env!("CARGO_BIN_EXE_s3-example")),
        &[],
        &[
            ("AWS_LAMBDA_RUNTIME_API", api.addr().as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", "s3-example"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_REGION", "us-east-1"),
            // Fake credentials, and nothing else to look for them in.
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_ENDPOINT_URL_S3", endpoint.as_str()),
            ("BUCKET", "lambda-loop-test"),
        ],
        None,
    );
    let answers = api.wait_for_answers(2);
    for (index, (key, text)) in [
        ("notes/1.txt", "hello from lambda-loop"),
        ("notes/2.txt", "again"),
    ]
    .iter()
    .enumerate()
    {
        let answer = &answers[index];
        assert_eq!(
            answer.path,
            format!("/2018-06-01/runtime/invocation/s3-{index}/response"),
            "{}",
            answer.body_text()
        );
        let json = answer.body_json();
        assert_eq!(json["key"], *key);
        assert_eq!(json["readBack"], *text);
        assert_eq!(json["bytesWritten"], text.len());
        assert!(json["eTag"].is_string(), "{json}");
        // The object really is in moto's bucket.
        let (status, body) = moto_request(moto.port, "GET", &format!("/lambda-loop-test/{key}"));
        assert_eq!((status, body.as_str()), (200, *text));
    }
    api.finish();
    function.wait();
    drop(moto);
}
