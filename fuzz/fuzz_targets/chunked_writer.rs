//! The chunked writer of streamed responses, against a reference decoder.
//!
//! The input is split at 0xFF bytes (never part of UTF-8): the first part's first byte sets
//! how many bytes the sink accepts per write (1 to 256, to exercise partial writes), the
//! second part, when it starts with `E`, makes the stream end in error (type and message are
//! the rest of it, split at `:`), and every later part is one chunk of the body.
//!
//! Checked: the head comes first and once; decoding the chunked body gives back exactly the
//! chunks that were not empty, in order, with the same boundaries; the body ends with the last
//! chunk and, on error, exactly the two trailers, the type made header-safe and the body the
//! base64 of the error JSON; nothing follows the final empty line.
#![no_main]

use libfuzzer_sys::fuzz_target;

use lambda_loop::fuzz_targets::{base64, chunked_body, header_safe};

const HEAD: &[u8] = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";

/// Reads one CRLF-terminated line at `at`, returning it and the position after it.
fn line(wire: &[u8], at: usize) -> (&[u8], usize) {
    let end = wire[at..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or_else(|| panic!("no CRLF after byte {at}"));
    (&wire[at..at + end], at + end + 2)
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0xFF);
    let max_write = parts
        .next()
        .and_then(|p| p.first())
        .map_or(7, |b| *b as usize + 1);
    let error_part = parts.next().unwrap_or(b"");
    let error_text =
        String::from_utf8_lossy(error_part.strip_prefix(b"E").unwrap_or(b"")).into_owned();
    let error = error_part
        .starts_with(b"E")
        .then(|| error_text.split_once(':').unwrap_or((&error_text, "")));
    let chunks: Vec<&[u8]> = parts.collect();

    let wire = chunked_body(HEAD, &chunks, error, max_write);

    assert!(wire.starts_with(HEAD), "the head must come first");
    let mut at = HEAD.len();
    let mut decoded: Vec<&[u8]> = Vec::new();
    loop {
        let (size_line, next) = line(&wire, at);
        let size = usize::from_str_radix(std::str::from_utf8(size_line).unwrap(), 16).unwrap();
        at = next;
        if size == 0 {
            break;
        }
        decoded.push(&wire[at..at + size]);
        at += size;
        assert_eq!(&wire[at..at + 2], b"\r\n", "chunk data must end with CRLF");
        at += 2;
    }
    let expected: Vec<&[u8]> = chunks.iter().copied().filter(|c| !c.is_empty()).collect();
    assert_eq!(decoded, expected, "the chunks must come back as written");

    let mut trailers = Vec::new();
    loop {
        let (field, next) = line(&wire, at);
        at = next;
        if field.is_empty() {
            break;
        }
        trailers.push(String::from_utf8(field.to_vec()).expect("trailers are ASCII"));
    }
    assert_eq!(at, wire.len(), "nothing may follow the end of the body");
    match error {
        None => assert!(trailers.is_empty(), "{trailers:?}"),
        Some((error_type, message)) => {
            let json = lambda_loop::Error::new(error_type, message).to_json();
            assert_eq!(
                trailers,
                [
                    format!(
                        "Lambda-Runtime-Function-Error-Type: {}",
                        header_safe(error_type)
                    ),
                    format!("Lambda-Runtime-Function-Error-Body: {}", base64(&json)),
                ]
            );
        }
    }
});
