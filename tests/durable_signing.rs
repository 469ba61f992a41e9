//! Every call to the durable API is signed (SigV4, service `lambda`) when the function has
//! credentials, exactly as it goes on the wire: each recorded call of a real invocation is
//! signed again by botocore (tests/fixtures/botocore_sigv4.py, `pip install botocore`), from
//! the method, URL, headers and body the fake service received, and the signatures agree.

// Empty without the feature (not a [[test]] entry: packaging.rs builds a partial copy).
#![cfg(feature = "durable-testing")]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use lambda_loop::durable::testing::{Call, FakeDurableService, Runner, Status};
use lambda_loop::durable::{self, Settings};

const KEY_ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SESSION: &str = "IQoJb3JpZ2luX2VjEXAMPLE/session+token==";

/// `YYYYMMDDTHHMMSSZ` as epoch seconds.
fn epoch_seconds(amz_date: &str) -> i64 {
    let number = |range: std::ops::Range<usize>| amz_date[range].parse::<i64>().unwrap();
    let (year, month, day) = (number(0..4), number(4..6), number(6..8));
    let (hour, minute, second) = (number(9..11), number(11..13), number(13..15));
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    days * 86400 + hour * 3600 + minute * 60 + second
}

#[test]
fn every_call_is_signed_as_botocore_signs_it() {
    let service = FakeDurableService::start();
    service.set_page_size(1); // the replay reads its state through signed GET calls too
    let vars = [
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", SESSION),
        ("AWS_REGION", "eu-central-1"),
        ("AWS_ENDPOINT_URL_LAMBDA", &service.url()),
    ];
    let settings = Settings::from_lookup(|name| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_string())
    })
    .with_call_retries(3, Duration::from_millis(10));
    let handler = durable::handler(|_: (), ctx| {
        let n: u32 = ctx.step("one", |_| Ok(1))?;
        ctx.wait("pause", Duration::from_secs(1))?;
        Ok(n)
    })
    .with_settings(settings);
    // The runner points the handler at the service with its own settings; these come first.
    let mut runner = Runner::new(&service, handler);
    assert_eq!(runner.run(&()).status, Status::Succeeded);
    let calls = service.calls();
    assert!(
        calls.iter().any(|call| call.call == Call::State)
            && calls.iter().any(|call| call.call == Call::Checkpoint)
    );
    let cases: Vec<serde_json::Value> = calls
        .iter()
        .map(|call| {
            let host = call.header("host").expect("a Host header");
            let mut headers = serde_json::json!({"host": host});
            if let Some(content_type) = call.header("content-type") {
                headers["content-type"] = content_type.into();
            }
            serde_json::json!({
                "method": if call.call == Call::Checkpoint { "POST" } else { "GET" },
                "url": format!("http://{host}{}", call.target),
                "headers": headers,
                "body": String::from_utf8(call.body.clone()).unwrap(),
                "access_key_id": KEY_ID, "secret_access_key": SECRET, "session_token": SESSION,
                "region": "eu-central-1", "service": "lambda",
                "time": epoch_seconds(call.header("x-amz-date").expect("an X-Amz-Date")),
            })
        })
        .collect();
    let theirs = botocore_sign(&cases);
    for (call, theirs) in calls.iter().zip(&theirs) {
        assert_eq!(call.header("x-amz-security-token"), Some(SESSION));
        assert_eq!(
            call.header("authorization"),
            theirs["authorization"].as_str(),
            "{} {}",
            call.target,
            String::from_utf8_lossy(&call.body)
        );
    }
    let post = calls
        .iter()
        .find(|call| call.call == Call::Checkpoint)
        .unwrap();
    assert!(post.header("authorization").unwrap().contains(
        "/eu-central-1/lambda/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
    ));
}

#[test]
fn without_credentials_calls_go_unsigned() {
    let service = FakeDurableService::start();
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| ctx.step("one", |_| Ok(1))),
    );
    assert_eq!(runner.run(&()).result::<u32>(), 1);
    assert!(service
        .calls()
        .iter()
        .all(|call| call.header("authorization").is_none()));
}

/// botocore's headers for each case.
fn botocore_sign(cases: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/botocore_sigv4.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect(
            "python3 starts (this test compares with botocore: `python3 -m pip install botocore`)",
        );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(cases).unwrap().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "botocore_sigv4.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}
