//! What a durable operation returns when it does not return a value: the execution must wait
//! (suspend), an operation failed, the code no longer matches the recorded history, or the
//! durable API could not be reached. `?` carries each of them up to the adapter, which turns
//! them into the invocation's answer.

use std::fmt;

use super::wire::ErrorObject;

/// The result of a durable handler and of every durable operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a durable operation gave no value. Return it with `?`: the adapter answers `PENDING`
/// for a suspension, `FAILED` (with the error) for a failure, and fails the invocation (the
/// service then retries it) when the durable API could not be reached.
///
/// `?` converts any `std::error::Error + Send + Sync + 'static` into a failure whose
/// `ErrorType` is the source's Rust type name and whose `ErrorMessage` is its `Display` text.
/// No backtrace is captured.
pub struct Error(Kind);

#[derive(Debug)]
enum Kind {
    Suspend,
    Failed(ErrorObject),
    NonDeterministic(String),
    Invocation(crate::Error),
}

/// The `ErrorType` of a replay that does not match the recorded history.
pub(crate) const NON_DETERMINISTIC: &str = "NonDeterministicExecutionError";

impl Error {
    /// A failure with this type and message, e.g. `Error::new("OrderRejected", "no stock")`.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Error {
        Error(Kind::Failed(ErrorObject {
            error_type: error_type.into(),
            error_message: message.into(),
            ..ErrorObject::default()
        }))
    }

    /// The execution must wait (a timer, a retry, a callback, a chained invoke): the invocation
    /// answers `PENDING` and the service invokes the function again when it is due.
    pub(crate) fn suspend() -> Error {
        Error(Kind::Suspend)
    }

    /// The durable API failed this invocation: it ends with an invocation error.
    pub(crate) fn invocation(error: crate::Error) -> Error {
        Error(Kind::Invocation(error))
    }

    /// The code did not do what the recorded history says it did.
    pub(crate) fn non_deterministic(message: String) -> Error {
        Error(Kind::NonDeterministic(message))
    }

    /// A failure carrying a recorded error.
    pub(crate) fn from_object(error: ErrorObject) -> Error {
        Error(Kind::Failed(error))
    }

    /// True for a suspension: the execution waits. Pass it on with `?`; never swallow it.
    pub fn is_suspend(&self) -> bool {
        matches!(self.0, Kind::Suspend)
    }

    /// The failure as the service records it: `Some` for a failure (of an operation, of the
    /// handler) and for a non-determinism error, `None` for a suspension and an invocation
    /// error.
    pub fn error_object(&self) -> Option<ErrorObject> {
        match &self.0 {
            Kind::Failed(error) => Some(error.clone()),
            Kind::NonDeterministic(message) => Some(ErrorObject {
                error_type: NON_DETERMINISTIC.to_owned(),
                error_message: message.clone(),
                ..ErrorObject::default()
            }),
            Kind::Suspend | Kind::Invocation(_) => None,
        }
    }

    /// The error's type: the failure's `ErrorType`, `NonDeterministicExecutionError`, the
    /// invocation error's type, or `Suspend`.
    pub fn error_type(&self) -> &str {
        match &self.0 {
            Kind::Suspend => "Suspend",
            Kind::Failed(error) => &error.error_type,
            Kind::NonDeterministic(_) => NON_DETERMINISTIC,
            Kind::Invocation(error) => error.error_type(),
        }
    }

    /// The error's message.
    pub fn message(&self) -> &str {
        match &self.0 {
            Kind::Suspend => "the execution waits",
            Kind::Failed(error) => &error.error_message,
            Kind::NonDeterministic(message) => message,
            Kind::Invocation(error) => error.message(),
        }
    }

    /// A failure that may be caught and handled (not a suspension, not a non-determinism or
    /// invocation error, which must reach the adapter).
    pub fn is_failure(&self) -> bool {
        matches!(self.0, Kind::Failed(_))
    }

    /// The answer this error makes: `Ok(None)` for `PENDING`, `Ok(Some(error))` for `FAILED`,
    /// `Err` for an invocation error.
    pub(crate) fn into_outcome(self) -> std::result::Result<Option<ErrorObject>, crate::Error> {
        match self.0 {
            Kind::Suspend => Ok(None),
            Kind::Invocation(error) => Err(error),
            _ => Ok(self.error_object()),
        }
    }
}

impl<E> From<E> for Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(error: E) -> Error {
        Error::new(std::any::type_name::<E>(), error.to_string())
    }
}

impl From<crate::Error> for Error {
    /// A handler error of the runtime (e.g. from a plain lambda-loop helper) as a failure with
    /// its type and message.
    fn from(error: crate::Error) -> Error {
        Error::new(error.error_type(), error.message())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type(), self.message())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
