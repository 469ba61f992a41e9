//! `Error::to_json` and the error-type header of arbitrary type names, messages and stack lines.
//!
//! The input is split at `0xFF` bytes (a byte that never occurs in UTF-8, so every string,
//! control characters and NUL included, can be written between them): the first part is the
//! error type, the second the message, the rest are stack-trace lines. Each part is read as
//! UTF-8, invalid sequences becoming U+FFFD.
//!
//! Checked: the JSON parses back with serde_json to exactly the same three fields and nothing
//! else, and the header form of the type holds only visible ASCII or spaces, one per character
//! of the type, with visible ASCII and spaces unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

use lambda_loop::fuzz_targets::header_safe;
use lambda_loop::Error;

fuzz_target!(|data: &[u8]| {
    let mut parts = data
        .split(|b| *b == 0xFF)
        .map(|part| String::from_utf8_lossy(part).into_owned());
    let error_type = parts.next().unwrap_or_default();
    let message = parts.next().unwrap_or_default();
    let stack: Vec<String> = parts.collect();

    let error = Error::new(error_type.clone(), message.clone()).with_stack_trace(stack.clone());
    let json = error.to_json();
    let parsed: serde_json::Value =
        serde_json::from_slice(&json).expect("the error JSON does not parse");
    let object = parsed.as_object().expect("the error JSON is not an object");
    assert_eq!(object.len(), 3, "unexpected fields in {parsed}");
    assert_eq!(object["errorType"].as_str(), Some(error_type.as_str()));
    assert_eq!(object["errorMessage"].as_str(), Some(message.as_str()));
    let lines: Vec<&str> = object["stackTrace"]
        .as_array()
        .expect("stackTrace is not an array")
        .iter()
        .map(|line| line.as_str().expect("a stackTrace line is not a string"))
        .collect();
    assert_eq!(lines, stack);

    let header = header_safe(&error_type);
    assert!(
        header.bytes().all(|b| b == b' ' || b.is_ascii_graphic()),
        "{header:?}"
    );
    assert_eq!(header.chars().count(), error_type.chars().count());
    for (safe, original) in header.chars().zip(error_type.chars()) {
        if original == ' ' || original.is_ascii_graphic() {
            assert_eq!(safe, original);
        }
    }
    // Whatever the type, it makes a value the HTTP client accepts as a header.
    assert!(
        ureq::http::HeaderValue::from_str(&header).is_ok(),
        "{header:?}"
    );
});
