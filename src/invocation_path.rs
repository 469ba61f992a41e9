//! The path of an invocation's answer, `/runtime/invocation/{id}/response` (or `/error`): the
//! request id as one percent-encoded path segment, whatever its bytes.

use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::context::AnswerAddress;
use crate::protocol::path;

/// The request id as one safe path segment: ASCII letters, digits, `-` and `_` pass (every
/// real id is a UUID); every other byte is percent-encoded, so an id such as `../../x` or
/// `a?b#c` can never change which path is posted to.
const ID_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');

/// The bytes [`push`] writes when the id passes unencoded, as every real id does: the capacity
/// to reserve, so that the path is written in one allocation.
pub(crate) fn len(address: &AnswerAddress, suffix: &str) -> usize {
    path::INVOCATION.len() + address.request_id().len() + suffix.len()
}

/// Appends `/runtime/invocation/{encoded id}{suffix}` to `out`.
pub(crate) fn push(out: &mut String, address: &AnswerAddress, suffix: &str) {
    out.push_str(path::INVOCATION);
    out.extend(utf8_percent_encode(address.request_id(), ID_SEGMENT));
    out.push_str(suffix);
}

/// `/runtime/invocation/{encoded id}{suffix}` for messages: written only when one is printed.
pub(crate) struct InvocationPath<'a>(pub &'a AnswerAddress, pub &'static str);

impl fmt::Display for InvocationPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let InvocationPath(address, suffix) = self;
        let id = utf8_percent_encode(address.request_id(), ID_SEGMENT);
        write!(f, "{}{id}{suffix}", path::INVOCATION)
    }
}

/// The request id as it appears in the path (for the fuzz target).
#[cfg(fuzzing)]
pub(crate) fn encode_id(request_id: &str) -> String {
    utf8_percent_encode(request_id, ID_SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Context;
    use std::sync::Arc;

    fn path(id: &str) -> String {
        let address = AnswerAddress::of(&Context::new(id, Arc::default()));
        let mut path = String::with_capacity(len(&address, "/response"));
        push(&mut path, &address, "/response");
        assert_eq!(path, InvocationPath(&address, "/response").to_string());
        path
    }

    #[test]
    fn request_ids_can_never_change_the_path() {
        assert_eq!(
            path("8476a536-e9f4-11e8-9739-2dfe598c3fcd"),
            "/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/response"
        );
        assert_eq!(
            path("../../init/error"),
            "/runtime/invocation/%2E%2E%2F%2E%2E%2Finit%2Ferror/response"
        );
        assert_eq!(
            path("a?b#c d"),
            "/runtime/invocation/a%3Fb%23c%20d/response"
        );
        assert_eq!(path("é"), "/runtime/invocation/%C3%A9/response");
        let odd = "x/../..?#%\u{0}\r\n é";
        let segment = utf8_percent_encode(odd, ID_SEGMENT).to_string();
        assert!(segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_%".contains(&b)));
    }
}
