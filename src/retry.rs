//! The one retry rule of the crate: a call is tried again only when its failure proves the API
//! never got it.

use std::io::ErrorKind;
use std::thread::sleep;

use crate::protocol::RETRY_PAUSES;

/// Runs `call` until it succeeds or fails in a way `again` does not accept, pausing
/// [`RETRY_PAUSES`] between tries. A call is tried again only when its failure proves the API
/// never got it (for `next`: no answer at all, so asking again loses nothing; for a post: the
/// connection was refused, so nothing was sent). Any later failure may have delivered a post,
/// and posting twice would answer one invocation twice.
pub(crate) fn retry<T, E>(
    mut call: impl FnMut() -> Result<T, E>,
    again: impl Fn(&E) -> bool,
) -> Result<T, E> {
    let mut pauses = RETRY_PAUSES.iter();
    loop {
        match call() {
            Err(failure) if again(&failure) => match pauses.next() {
                Some(pause) => sleep(*pause),
                None => return Err(failure),
            },
            answer => return answer,
        }
    }
}

/// A call's failure that proves no answer came (refused, reset or closed before any answer):
/// asking again for `next` (or `restore/next`) can lose nothing.
pub(crate) fn unanswered(failure: &ureq::Error) -> bool {
    matches!(failure, ureq::Error::Io(_) | ureq::Error::ConnectionFailed)
}

/// A post's failure that proves nothing was sent.
pub(crate) fn refused(failure: &ureq::Error) -> bool {
    matches!(failure, ureq::Error::Io(error) if refused_io(error))
}

/// [`refused`] for a socket of our own (the streamed post's).
pub(crate) fn refused_io(error: &std::io::Error) -> bool {
    error.kind() == ErrorKind::ConnectionRefused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_only_what_the_rule_accepts_and_only_three_times() {
        let mut calls = 0;
        let outcome: Result<(), &str> = retry(
            || {
                calls += 1;
                Err("refused")
            },
            |failure| *failure == "refused",
        );
        assert_eq!((outcome, calls), (Err("refused"), 4));
        let mut calls = 0;
        let outcome: Result<(), &str> = retry(
            || {
                calls += 1;
                Err("answered")
            },
            |failure| *failure == "refused",
        );
        assert_eq!((outcome, calls), (Err("answered"), 1));
    }
}
