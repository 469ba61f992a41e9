//! What an answer of a Lambda API means, each rule stated once: how the status of an
//! invocation's answer post is judged ([`judge`]), what a post lost on the way costs
//! ([`judge_post`]), what a call that must succeed needs ([`require_success`]), and that every
//! answer is read to its end ([`drain`]).

use std::fmt::Display;
use std::io::{self, Read};

use ureq::http::Response;

use crate::error::RuntimeError;
use crate::protocol::MAX_ANSWER_BYTES;
use crate::runtime_line::runtime_line;

/// Reads a (small) answer's body to its end, so that the connection can carry the next call;
/// at most [`MAX_ANSWER_BYTES`] are read.
pub(crate) fn drain(body: impl Read) {
    let _ = io::copy(&mut body.take(MAX_ANSWER_BYTES), &mut io::sink());
}

/// The status of a ureq answer, once its body has been [`drain`]ed.
pub(crate) fn drained_status(mut response: Response<ureq::Body>) -> u16 {
    drain(response.body_mut().as_reader());
    response.status().as_u16()
}

/// What the answer to an invocation's answer post (buffered or streamed) means: a post lost on
/// the way costs one line (it may have arrived: posting again could answer twice); a status is
/// [`judge`]d. `call` is written only when a line needs it.
pub(crate) fn judge_post<E: Display>(
    call: &dyn Display,
    answer: Result<u16, E>,
) -> Result<(), RuntimeError> {
    match answer {
        Ok(status) => judge(call, status),
        Err(failure) => {
            runtime_line!(
                Error,
                "{call} failed ({failure}); going on to the next event"
            );
            Ok(())
        }
    }
}

/// What the status of an invocation's answer post means for the loop, buffered or streamed:
/// 2xx is done; 5xx means the environment is broken and the runtime must exit; anything else
/// (410 after a timeout, 413, 400, 403) is this invocation's problem only: one stderr line,
/// then on to the next event.
pub(crate) fn judge(call: &dyn Display, status: u16) -> Result<(), RuntimeError> {
    match status {
        200..=299 => Ok(()),
        500.. => Err(RuntimeError::Status {
            call: call.to_string(),
            status,
        }),
        410 => {
            runtime_line!(
                Warn,
                "{call} answered 410: the invocation had already timed out; going on"
            );
            Ok(())
        }
        _ => {
            runtime_line!(
                Error,
                "{call} answered {status}; the answer was not accepted; going on"
            );
            Ok(())
        }
    }
}

/// The answer of a call that must succeed for the runtime to go on (SnapStart's
/// `restore/next`, the init and restore error posts before the process exits, the Extensions
/// API's calls): drained, and returned only when its status is a 2xx.
pub(crate) fn require_success(
    call: &dyn Display,
    answer: Result<Response<ureq::Body>, ureq::Error>,
) -> Result<Response<ureq::Body>, RuntimeError> {
    match answer {
        Ok(mut response) => {
            drain(response.body_mut().as_reader());
            match response.status().as_u16() {
                200..=299 => Ok(response),
                status => Err(RuntimeError::NotAccepted {
                    call: call.to_string(),
                    status,
                }),
            }
        }
        Err(failure) => Err(RuntimeError::Unreachable {
            call: call.to_string(),
            detail: failure.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_judged_once_for_every_post() {
        assert!(judge(&"POST /x", 202).is_ok());
        assert!(judge(&"POST /x", 410).is_ok());
        assert!(judge(&"POST /x", 413).is_ok());
        assert!(matches!(
            judge(&"POST /x", 500),
            Err(RuntimeError::Status { status: 500, .. })
        ));
        assert!(judge_post(&"POST /x", Err::<u16, _>("reset")).is_ok());
    }

    #[test]
    fn draining_stops_at_the_bound() {
        let mut long = io::repeat(b'x').take(MAX_ANSWER_BYTES * 2);
        drain(&mut long);
        assert_eq!(long.limit(), MAX_ANSWER_BYTES);
    }
}
