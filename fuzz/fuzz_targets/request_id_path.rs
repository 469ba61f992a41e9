//! `encode_id`: a request id (from the `next` answer, untrusted) as one path segment.
//!
//! The input is read as UTF-8 (invalid sequences become U+FFFD), as the runtime reads the
//! request-id header.
//!
//! Checked: the segment holds only `[A-Za-z0-9_%-]`, a reference percent-decoder gives back
//! exactly the id's bytes, the response path built from it has exactly the expected `/`
//! segments, and it parses as a URL whose path is the one that was built.
#![no_main]

use libfuzzer_sys::fuzz_target;

use lambda_loop::fuzz_targets::encode_id;

/// Strict percent-decoding: `%` must be followed by two upper-case hex digits (what the
/// encoder writes); anything else is an error.
fn percent_decode(segment: &str) -> Result<Vec<u8>, String> {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .ok_or_else(|| format!("truncated escape at {i} in {segment:?}"))?;
            let digit = |b: u8| match b {
                b'0'..=b'9' => Ok(b - b'0'),
                b'A'..=b'F' => Ok(b - b'A' + 10),
                _ => Err(format!("bad hex digit {b:#04x} at {i} in {segment:?}")),
            };
            decoded.push(digit(hex[0])? << 4 | digit(hex[1])?);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    Ok(decoded)
}

fuzz_target!(|data: &[u8]| {
    let request_id = String::from_utf8_lossy(data);
    let segment = encode_id(&request_id);
    assert!(
        segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'%' || b == b'-'),
        "{segment:?}"
    );
    assert_eq!(percent_decode(&segment).unwrap(), request_id.as_bytes());

    let path = format!("/2018-06-01/runtime/invocation/{segment}/response");
    let segments: Vec<&str> = path.split('/').collect();
    assert_eq!(segments.len(), 6, "{path:?}");
    assert_eq!(segments[4], segment);
    assert_eq!(segments[5], "response");

    let url: ureq::http::Uri = format!("http://127.0.0.1:9001{path}")
        .parse()
        .expect("the response URL does not parse");
    assert_eq!(url.path(), path);
    assert!(url.query().is_none());
});
