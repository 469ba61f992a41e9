//! The signer against AWS's SigV4 test suite (`tests/fixtures/sigv4/`, the `v4` cases of
//! awslabs/aws-c-auth's `aws-signing-test-suite`): for every case, the canonical request, the
//! string to sign and the signature must equal AWS's files byte for byte.

use super::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sigv4")
}

fn read(case: &Path, file: &str) -> String {
    std::fs::read_to_string(case.join(file))
        .unwrap_or_else(|error| panic!("{}/{file}: {error}", case.display()))
}

/// A request of the suite, `METHOD PATH[?QUERY] HTTP/1.1`, header lines (a line that starts
/// with whitespace continues the one before), an empty line, the body.
struct SuiteRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse_request(text: &str) -> SuiteRequest {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().expect("a request line");
    let (method, target) = request_line.split_once(' ').expect("METHOD TARGET");
    let target = target
        .strip_suffix(" HTTP/1.1")
        .expect("HTTP/1.1 at the end");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let (_, value) = headers.last_mut().expect("a continued header");
            value.push(' ');
            value.push_str(line);
        } else {
            let (name, value) = line.split_once(':').expect("name:value");
            headers.push((name.to_string(), value.to_string()));
        }
    }
    SuiteRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` as a time, through the inverse of `civil_from_days`.
fn parse_timestamp(text: &str) -> SystemTime {
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().expect("a digit");
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let year_of_march = if month <= 2 { year - 1 } else { year };
    let era = year_of_march.div_euclid(400);
    let year_of_era = year_of_march - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + number(11..13) * 3600 + number(14..16) * 60 + number(17..19);
    UNIX_EPOCH + Duration::from_secs(seconds as u64)
}

/// Signs one case as its `context.json` says and compares the three results and the
/// `Authorization` line of the signed request; the differences, or nothing.
fn check_case(case: &Path) -> Vec<String> {
    let context: serde_json::Value =
        serde_json::from_str(&read(case, "context.json")).expect("context.json is JSON");
    let text = |key: &str| {
        context[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} in context"))
    };
    let given = &context["credentials"];
    let omit_token = context["omit_session_token"].as_bool().unwrap_or(false);
    let credentials = Credentials {
        access_key_id: given["access_key_id"]
            .as_str()
            .expect("a key id")
            .to_string(),
        secret_access_key: given["secret_access_key"]
            .as_str()
            .expect("a secret")
            .to_string(),
        // The token of "omit_session_token" is added after signing, not signed.
        session_token: given["token"]
            .as_str()
            .filter(|_| !omit_token)
            .map(str::to_string),
    };
    let request = parse_request(&read(case, "request.txt"));
    let mut headers: Vec<(&str, &str)> = Vec::new();
    let mut host = None;
    for (name, value) in &request.headers {
        if name.eq_ignore_ascii_case("host") {
            host = Some(value.as_str());
        } else {
            headers.push((name, value));
        }
    }
    let body_hash = sha256_hex(&request.body);
    if context["sign_body"].as_bool() == Some(true) {
        headers.push(("x-amz-content-sha256", &body_hash));
    }
    let signed = sign_request(
        &Request {
            method: &request.method,
            host: host.expect("a Host header"),
            path: &request.path,
            query: &request.query,
            headers: &headers,
            payload: &request.body,
        },
        &credentials,
        text("region"),
        text("service"),
        parse_timestamp(text("timestamp")),
        context["normalize"]
            .as_bool()
            .expect("normalize in context"),
    );
    let authorization = &signed.headers[0].1;
    let signature = authorization
        .rsplit_once("Signature=")
        .expect("a signature")
        .1;
    let signed_request = read(case, "header-signed-request.txt");
    let expected_authorization = signed_request
        .lines()
        .find_map(|line| line.strip_prefix("Authorization:"))
        .expect("an Authorization line");
    let checks = [
        (
            "canonical request",
            signed.canonical_request.as_str(),
            read(case, "header-canonical-request.txt"),
        ),
        (
            "string to sign",
            &signed.string_to_sign,
            read(case, "header-string-to-sign.txt"),
        ),
        ("signature", signature, read(case, "header-signature.txt")),
        (
            "authorization",
            authorization,
            expected_authorization.to_string(),
        ),
    ];
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    checks
        .into_iter()
        .filter(|(_, ours, theirs)| ours != theirs)
        .map(|(what, ours, theirs)| {
            format!("{name}: {what}\n--- ours\n{ours}\n--- AWS's\n{theirs}")
        })
        .collect()
}

#[test]
fn every_case_of_the_aws_test_suite_signs_as_aws_does() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(suite())
        .expect("tests/fixtures/sigv4")
        .map(|entry| entry.expect("a case").path())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 38, "the suite has 38 cases");
    let failures: Vec<String> = cases.iter().flat_map(|case| check_case(case)).collect();
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn sign_adds_the_date_the_authorization_and_the_token() {
    let credentials = Credentials {
        access_key_id: "AKIDEXAMPLE".to_string(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_string(),
        session_token: Some(
            "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267".to_string(),
        ),
    };
    let time = parse_timestamp("2015-08-30T12:36:00Z");
    let headers = sign(
        "GET",
        "example.amazonaws.com",
        "/",
        "",
        &[],
        b"",
        &credentials,
        "us-east-1",
        "service",
        time,
    );
    let names: Vec<&str> = headers.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        ["authorization", "x-amz-date", "x-amz-security-token"]
    );
    // The same request as the suite's get-vanilla-with-session-token.
    let expected = read(
        &suite().join("get-vanilla-with-session-token"),
        "header-signature.txt",
    );
    assert!(
        headers[0].1.ends_with(&format!("Signature={expected}")),
        "{}",
        headers[0].1
    );
    assert_eq!(headers[1].1, "20150830T123600Z");
    assert_eq!(headers[2].1, credentials.session_token.unwrap());
}

#[test]
fn amz_date_is_utc_across_month_year_and_leap_days() {
    let at = |seconds: u64| amz_date(UNIX_EPOCH + Duration::from_secs(seconds));
    assert_eq!(at(0), "19700101T000000Z");
    assert_eq!(at(951_782_399), "20000228T235959Z");
    assert_eq!(at(951_782_400), "20000229T000000Z");
    assert_eq!(at(1_798_761_599), "20261231T235959Z");
    assert_eq!(at(1_798_761_600), "20270101T000000Z");
    for timestamp in [
        "2015-08-30T12:36:00Z",
        "2024-02-29T23:59:59Z",
        "2100-03-01T00:00:00Z",
    ] {
        let compact: String = timestamp
            .chars()
            .filter(|c| !matches!(c, '-' | ':'))
            .collect();
        assert_eq!(amz_date(parse_timestamp(timestamp)), compact);
    }
}

#[test]
fn credentials_need_a_key_id_and_a_secret_and_take_a_token_when_set() {
    let from = |pairs: &[(&str, &str)]| {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Credentials::from_lookup(&move |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
    };
    let full = from(&[
        ("AWS_ACCESS_KEY_ID", "id"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ])
    .expect("all three set");
    assert_eq!(
        (full.access_key_id.as_str(), full.secret_access_key.as_str()),
        ("id", "secret")
    );
    assert_eq!(full.session_token.as_deref(), Some("token"));
    let no_token = from(&[
        ("AWS_ACCESS_KEY_ID", "id"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", ""),
    ]);
    assert_eq!(no_token.expect("a token is optional").session_token, None);
    assert!(from(&[("AWS_ACCESS_KEY_ID", "id")]).is_none());
    assert!(from(&[
        ("AWS_ACCESS_KEY_ID", ""),
        ("AWS_SECRET_ACCESS_KEY", "secret")
    ])
    .is_none());
}

/// One request of the botocore comparison: a durable API call as the client sends it.
struct BotocoreCase {
    method: &'static str,
    scheme_and_host: (&'static str, &'static str),
    path: &'static str,
    query: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    session_token: Option<&'static str>,
}

// An execution's ARN as one path segment (`:`, `$` and `/` encoded), as the client sends it.
const CHECKPOINT_PATH: &str = "/2025-12-01/durable-executions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aorders%3A%24LATEST%2Fdurable-execution%2Forder-7%2F0b1c2d3e/checkpoint";
const STATE_PATH: &str = "/2025-12-01/durable-executions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aorders%3A%24LATEST%2Fdurable-execution%2Forder-7%2F0b1c2d3e/state";
const CHECKPOINT_BODY: &str = r#"{"CheckpointToken":"tok+/=","ClientToken":"8d0f7f4e-4c1b-4a57-9d2e-1f3a5b7c9d0e","Updates":[{"Id":"c4ca4238a0b92382","Type":"STEP","Action":"START","Name":"add","SubType":"Step"}]}"#;
const SESSION_TOKEN: &str =
    "IQoJb3JpZ2luX2VjEOT//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+example/token==";

const BOTOCORE_CASES: &[BotocoreCase] = &[
    BotocoreCase {
        method: "POST",
        scheme_and_host: ("https", "lambda.us-east-1.amazonaws.com"),
        path: CHECKPOINT_PATH,
        query: "",
        headers: &[("Content-Type", "application/json")],
        body: CHECKPOINT_BODY,
        session_token: Some(SESSION_TOKEN),
    },
    BotocoreCase {
        method: "POST",
        scheme_and_host: ("https", "lambda.us-east-1.amazonaws.com"),
        path: CHECKPOINT_PATH,
        query: "",
        headers: &[("Content-Type", "application/json")],
        body: CHECKPOINT_BODY,
        session_token: None,
    },
    BotocoreCase {
        method: "GET",
        scheme_and_host: ("https", "lambda.us-east-1.amazonaws.com"),
        path: STATE_PATH,
        query: "CheckpointToken=tok%2B%2F%3D&Marker=op-1000&MaxItems=1000",
        headers: &[],
        body: "",
        session_token: Some(SESSION_TOKEN),
    },
    BotocoreCase {
        method: "GET",
        scheme_and_host: ("https", "lambda.us-east-1.amazonaws.com"),
        path: STATE_PATH,
        query: "MaxItems=1000&CheckpointToken=tok%2B%2F%3D",
        headers: &[],
        body: "",
        session_token: None,
    },
    // A local endpoint (the emulator): plain HTTP, the port in the Host header.
    BotocoreCase {
        method: "POST",
        scheme_and_host: ("http", "127.0.0.1:9014"),
        path: CHECKPOINT_PATH,
        query: "",
        headers: &[("Content-Type", "application/json")],
        body: CHECKPOINT_BODY,
        session_token: Some(SESSION_TOKEN),
    },
];

/// Runs tests/fixtures/botocore_sigv4.py on `cases`: botocore's headers for each.
fn botocore_sign(cases: &[serde_json::Value]) -> Vec<serde_json::Value> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/botocore_sigv4.py");
    let missing =
        "this test compares the signer with botocore's: `python3 -m pip install botocore`";
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("python3 did not start ({error}); {missing}"));
    let input = serde_json::to_vec(cases).expect("cases as JSON");
    child
        .stdin
        .take()
        .expect("a stdin")
        .write_all(&input)
        .expect("cases written");
    let output = child.wait_with_output().expect("python3 ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.code() != Some(3), "{stderr}{missing}");
    assert!(
        output.status.success(),
        "botocore_sigv4.py failed: {stderr}"
    );
    serde_json::from_slice(&output.stdout).expect("botocore_sigv4.py answers JSON")
}

#[test]
fn durable_api_calls_sign_as_botocore_signs_them() {
    let time = parse_timestamp("2026-12-03T17:05:09Z");
    let (key_id, secret) = (
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    let inputs: Vec<serde_json::Value> = BOTOCORE_CASES
        .iter()
        .map(|case| {
            let (scheme, host) = case.scheme_and_host;
            let query = if case.query.is_empty() {
                String::new()
            } else {
                format!("?{}", case.query)
            };
            let headers: serde_json::Map<String, serde_json::Value> = case
                .headers
                .iter()
                .map(|(name, value)| (name.to_string(), (*value).into()))
                .collect();
            serde_json::json!({
                "method": case.method,
                "url": format!("{scheme}://{host}{}{query}", case.path),
                "headers": headers,
                "body": case.body,
                "access_key_id": key_id,
                "secret_access_key": secret,
                "session_token": case.session_token,
                "region": "us-east-1",
                "service": "lambda",
                "time": time.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            })
        })
        .collect();
    let theirs = botocore_sign(&inputs);
    assert_eq!(theirs.len(), BOTOCORE_CASES.len());
    for (case, theirs) in BOTOCORE_CASES.iter().zip(theirs) {
        let credentials = Credentials {
            access_key_id: key_id.to_string(),
            secret_access_key: secret.to_string(),
            session_token: case.session_token.map(str::to_string),
        };
        let (_, host) = case.scheme_and_host;
        let ours = sign(
            case.method,
            host,
            case.path,
            case.query,
            case.headers,
            case.body.as_bytes(),
            &credentials,
            "us-east-1",
            "lambda",
            time,
        );
        let ours: serde_json::Map<String, serde_json::Value> = ours
            .into_iter()
            .map(|(name, value)| (name.to_string(), value.into()))
            .collect();
        assert_eq!(
            serde_json::Value::Object(ours),
            theirs,
            "{} {}{}?{} (session token: {})",
            case.method,
            host,
            case.path,
            case.query,
            case.session_token.is_some()
        );
    }
}
