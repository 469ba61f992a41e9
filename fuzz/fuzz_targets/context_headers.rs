//! The `next` answer's headers → `Context`.
//!
//! The input is read as a header block: lines split at `\n` (a trailing `\r` dropped), each
//! `name: value` split at the first `:`, the value's surrounding spaces and tabs trimmed as an
//! HTTP parser would; a line without `:` is a name with an empty value. The value bytes are
//! otherwise untouched, so they may hold anything, including bytes that are not UTF-8.
//!
//! Checked against a reference model: `from_headers` never panics; fails exactly when the
//! request id is missing, empty, not UTF-8, or given more than once; keeps every other field as
//! the first matching header's text; and `remaining_time()` never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

use lambda_loop::fuzz_targets::context_from_headers;

const REQUEST_ID: &str = "Lambda-Runtime-Aws-Request-Id";
const DEADLINE_MS: &str = "Lambda-Runtime-Deadline-Ms";
const OPTIONAL: [&str; 6] = [
    "Lambda-Runtime-Invoked-Function-Arn",
    "Lambda-Runtime-Trace-Id",
    "Lambda-Runtime-Client-Context",
    "Lambda-Runtime-Cognito-Identity",
    "Lambda-Runtime-Aws-Tenant-Id",
    "Lambda-Runtime-Invocation-Id",
];

fn trim(bytes: &[u8]) -> &[u8] {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

fn header_pairs(data: &[u8]) -> Vec<(String, &[u8])> {
    data.split(|b| *b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.is_empty())
        .map(|line| match line.iter().position(|b| *b == b':') {
            Some(colon) => (
                String::from_utf8_lossy(&line[..colon]).into_owned(),
                trim(&line[colon + 1..]),
            ),
            None => (String::from_utf8_lossy(line).into_owned(), &b""[..]),
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let pairs = header_pairs(data);
    let headers: Vec<(&str, &[u8])> = pairs.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let first = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
    };

    let parsed = context_from_headers(&headers);
    let ids: Vec<&[u8]> = headers
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case(REQUEST_ID))
        .map(|(_, value)| *value)
        .collect();
    let expected_id = match ids[..] {
        [id] if !id.is_empty() => std::str::from_utf8(id).ok().map(str::to_owned),
        _ => None,
    };
    let context = match (parsed, expected_id) {
        (Ok(context), Some(id)) => {
            assert_eq!(context.request_id, id);
            context
        }
        (Err(_), None) => return,
        (Ok(context), None) => panic!("accepted without a request id: {context:?}"),
        (Err(reason), Some(id)) => panic!("rejected request id {id:?}: {reason}"),
    };
    assert!(!context.request_id.is_empty());

    let expected_deadline = headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(DEADLINE_MS))
        .and_then(|(_, ms)| std::str::from_utf8(ms).ok())
        .and_then(|ms| ms.trim().parse::<u64>().ok())
        .and_then(|ms| std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_millis(ms)));
    assert_eq!(context.deadline, expected_deadline);
    let optional = [
        &context.invoked_function_arn,
        &context.xray_trace_id,
        &context.client_context,
        &context.identity,
        &context.tenant_id,
        &context.invocation_id,
    ];
    for (name, field) in OPTIONAL.iter().zip(optional) {
        assert_eq!(*field, first(name), "{name}");
    }
    let _ = context.remaining_time();
});
