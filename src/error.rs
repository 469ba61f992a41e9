//! What a failed invocation reports, and why the runtime itself can stop.
//!
//! Two kinds of failure live here and never mix:
//! - [`Error`] is what a *handler* returns. It becomes the error JSON that Lambda shows the
//!   caller: `{"errorMessage", "errorType", "stackTrace"}`.
//! - [`RuntimeError`] is why the *runtime* cannot go on (the Runtime API is gone or broken).
//!   It ends the process with one line on stderr.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::fmt;

/// The result type handlers return: `Ok(response)` or an [`Error`] for Lambda to report.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A handler failure, reported to Lambda as
/// `{"errorMessage": …, "errorType": …, "stackTrace": […]}`.
///
/// `?` converts any `std::error::Error + Send + Sync + 'static` into an `Error` and keeps the
/// source's Rust type name as `errorType` (e.g. `core::num::error::ParseIntError`), its
/// `Display` text as `errorMessage`, and its `source()` chain as `stackTrace`, followed by a
/// backtrace when `RUST_BACKTRACE` (or `RUST_LIB_BACKTRACE`) asks for one.
///
/// ```
/// fn parse(event: &[u8]) -> lambda_loop::Result<u32> {
///     let text = std::str::from_utf8(event)?; // errorType core::str::error::Utf8Error
///     Ok(text.trim().parse()?) // errorType core::num::error::ParseIntError
/// }
/// let error = parse(b"ten").unwrap_err();
/// assert_eq!(error.error_type(), "core::num::error::ParseIntError");
/// assert_eq!(error.message(), "invalid digit found in string");
/// ```
///
/// `Error` deliberately does not implement `std::error::Error` itself: that is what lets `?`
/// accept every error type through one blanket `From` (the same trick `anyhow` uses).
pub struct Error {
    error_type: String,
    message: String,
    stack_trace: Vec<String>,
}

impl Error {
    /// An error with a type and message of your choosing, e.g.
    /// `Error::new("OrderNotFound", format!("no order {id}"))`. The caller of the function sees
    /// both; Lambda also puts the type in the `Lambda-Runtime-Function-Error-Type` header.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            error_type: error_type.into(),
            message: message.into(),
            stack_trace: Vec::new(),
        }
    }

    /// Adds lines to `stackTrace` (frames, causes, hints: free text, one entry per line).
    pub fn with_stack_trace(mut self, lines: impl IntoIterator<Item = String>) -> Self {
        self.stack_trace.extend(lines);
        self
    }

    /// The `errorType` Lambda will report.
    pub fn error_type(&self) -> &str {
        &self.error_type
    }

    /// The `errorMessage` Lambda will report.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `stackTrace` lines Lambda will report.
    pub fn stack_trace(&self) -> &[String] {
        &self.stack_trace
    }

    /// The `errorType` as it travels in the `Lambda-Runtime-Function-Error-Type` header (or
    /// trailer): a header value can't hold control characters (a line break would end the
    /// header), so those, and non-ASCII characters, become `_`. The JSON body keeps the exact
    /// `errorType`.
    pub fn error_type_header(&self) -> String {
        self.error_type
            .chars()
            .map(|c| {
                if c == ' ' || c.is_ascii_graphic() {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// The body of an `/error` or `/init/error` post:
    /// `{"errorMessage":"…","errorType":"…","stackTrace":["…"]}`.
    ///
    /// Each string is written by serde_json, so quotes, newlines, control characters and
    /// non-ASCII text in the message always come out as valid JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // The punctuation by hand, each string by serde_json, in the key order `json!` wrote:
        // smaller than a Serialize impl of the three fields (serialize_struct), measured
        // stripped, size profile, x86_64 musl (build.sh --example echo): 650,152 -> 649,768.
        let mut body = b"{\"errorMessage\":".to_vec();
        // Serializing strings into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut body, &self.message);
        body.extend_from_slice(b",\"errorType\":");
        let _ = serde_json::to_writer(&mut body, &self.error_type);
        body.extend_from_slice(b",\"stackTrace\":");
        let _ = serde_json::to_writer(&mut body, &self.stack_trace);
        body.push(b'}');
        body
    }
}

impl Error {
    /// The X-Ray cause that AWS's Java, Ruby and .NET runtimes send with an error post
    /// (header `Lambda-Runtime-Function-XRay-Error-Cause`):
    /// `{"working_directory":…,"exceptions":[{"type":…,"message":…,"stack":[{"label":…,"path":…,"line":…}]}],"paths":[…]}`.
    ///
    /// The stack holds the frames of a captured backtrace (`RUST_BACKTRACE=1`), with the
    /// files they name in `paths`; without one it is empty. The JSON is pure ASCII (other
    /// characters are `\u` escapes), so it is always a valid header value. `None` when it
    /// would be larger than `limit` bytes: the cause is then left out, never the error.
    pub(crate) fn xray_cause(&self, working_directory: &str, limit: usize) -> Option<String> {
        let frames = backtrace_frames(&self.stack_trace);
        let mut paths: Vec<&str> = Vec::new();
        for frame in &frames {
            if !frame.1.is_empty() && !paths.contains(&frame.1) {
                paths.push(frame.1);
            }
        }
        // Written by hand: the keys in serde_json's (sorted) order, every string pure ASCII (a
        // header value). Measured: the same JSON through serde_json (Serialize impls and a
        // Formatter that escapes non-ASCII) makes the stripped echo example 1,328 bytes larger
        // (size profile, x86_64: 597,200 -> 598,528), and this is on every binary's error path.
        let mut cause = String::from("{\"exceptions\":[{\"message\":");
        push_ascii_json(&mut cause, &self.message);
        cause.push_str(",\"stack\":[");
        for (at, (label, path, line)) in frames.iter().enumerate() {
            cause.push_str(if at == 0 {
                "{\"label\":"
            } else {
                ",{\"label\":"
            });
            push_ascii_json(&mut cause, label);
            cause.push_str(&format!(",\"line\":{line},\"path\":"));
            push_ascii_json(&mut cause, path);
            cause.push('}');
        }
        cause.push_str("],\"type\":");
        push_ascii_json(&mut cause, &self.error_type);
        cause.push_str("}],\"paths\":[");
        for (at, path) in paths.iter().enumerate() {
            if at > 0 {
                cause.push(',');
            }
            push_ascii_json(&mut cause, path);
        }
        cause.push_str("],\"working_directory\":");
        push_ascii_json(&mut cause, working_directory);
        cause.push('}');
        (cause.len() <= limit).then_some(cause)
    }
}

/// `text` as a JSON string of ASCII characters only: quotes, backslashes and control
/// characters escaped as JSON requires, every non-ASCII character as `\u` escapes (UTF-16).
fn push_ascii_json(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// The frames of a backtrace in `stackTrace` lines, as std prints them:
/// `   3: crate::handler` then `             at ./src/main.rs:12:5` (the second line is
/// missing when there is no debug info). (label, path, line).
fn backtrace_frames(lines: &[String]) -> Vec<(&str, &str, u32)> {
    let mut frames: Vec<(&str, &str, u32)> = Vec::new();
    for line in lines {
        let line = line.trim();
        if let Some(location) = line.strip_prefix("at ") {
            if let Some(frame) = frames.last_mut() {
                let mut parts = location.rsplitn(3, ':');
                let (_column, number, path) = (parts.next(), parts.next(), parts.next());
                if let (Some(number), Some(path)) = (number.and_then(|n| n.parse().ok()), path) {
                    (frame.1, frame.2) = (path, number);
                }
            }
        } else if let Some((index, label)) = line.split_once(": ") {
            if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) {
                frames.push((label, "", 0));
            }
        }
    }
    frames
}

impl<E> From<E> for Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        let mut stack_trace = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            stack_trace.push(format!("caused by: {cause}"));
            source = cause.source();
        }
        // `capture` is free unless RUST_BACKTRACE / RUST_LIB_BACKTRACE ask for it.
        let backtrace = Backtrace::capture();
        if backtrace.status() == BacktraceStatus::Captured {
            stack_trace.extend(backtrace.to_string().lines().map(str::to_owned));
        }
        Error {
            error_type: std::any::type_name::<E>().to_owned(),
            message: error.to_string(),
            stack_trace,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("error_type", &self.error_type)
            .field("message", &self.message)
            .field("stack_trace", &self.stack_trace)
            .finish()
    }
}

/// Why the runtime stopped serving. Each one ends the process with exit code 1 and one line on
/// stderr, because Lambda then starts a fresh execution environment: the only cure for a broken
/// Runtime API.
#[derive(Debug)]
#[non_exhaustive]
pub enum RuntimeError {
    /// `AWS_LAMBDA_RUNTIME_API` is set but is not `host:port` or `http://host:port[/prefix]`.
    BadEndpoint {
        /// The value found in the environment.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The Runtime API could not be reached, even after retrying.
    Unreachable {
        /// Which call failed, e.g. `GET /runtime/invocation/next`.
        call: String,
        /// The transport error's text.
        detail: String,
    },
    /// The Runtime API answered with a status that means the environment is broken
    /// (5xx on any call, or an unexpected status on `next`).
    Status {
        /// Which call got it.
        call: String,
        /// The HTTP status code.
        status: u16,
    },
    /// A call that must succeed for the runtime to go on (SnapStart's `restore/next`, a report
    /// posted before the process exits) was answered with a status other than 2xx.
    NotAccepted {
        /// Which call got it.
        call: String,
        /// The HTTP status code.
        status: u16,
    },
    /// A `next` answer broke the protocol (e.g. no request id): there is no invocation to
    /// answer to, so the environment cannot be trusted.
    Protocol {
        /// What was wrong with the answer.
        detail: String,
    },
    /// Initialisation failed; the error was posted to `/runtime/init/error`.
    Init {
        /// The error's type.
        error_type: String,
        /// The error's message.
        message: String,
        /// Why the post did not reach Lambda, when it did not.
        unreported: Option<String>,
    },
    /// SnapStart: an after-restore hook failed; the error was posted to
    /// `/runtime/restore/error`.
    AfterRestore {
        /// The error's message.
        message: String,
        /// Why the post did not reach Lambda, when it did not.
        unreported: Option<String>,
    },
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuntimeError::BadEndpoint { value, reason } => write!(
                f,
                "{}={value:?} is not usable ({reason}); expected host:port or http://host:port/prefix",
                crate::protocol::env::RUNTIME_API
            ),
            RuntimeError::Unreachable { call, detail } => {
                write!(f, "the Runtime API is unreachable ({call}: {detail})")
            }
            RuntimeError::Status { call, status } => {
                write!(f, "the Runtime API answered {status} to {call}; the environment is broken")
            }
            RuntimeError::NotAccepted { call, status } => write!(f, "{call} answered {status}"),
            RuntimeError::Protocol { detail } => {
                write!(f, "the Runtime API broke the protocol: {detail}")
            }
            RuntimeError::Init {
                error_type,
                message,
                unreported,
            } => {
                write!(f, "initialisation failed: {error_type}: {message}")?;
                write_unreported(f, unreported)
            }
            RuntimeError::AfterRestore {
                message,
                unreported,
            } => {
                write!(f, "the SnapStart restore failed: {message}")?;
                write_unreported(f, unreported)
            }
        }
    }
}

impl RuntimeError {
    /// Initialisation failed with `error`, and `report` is how posting it to
    /// `/runtime/init/error` went: why the runtime stops.
    pub(crate) fn init_failed(error: &Error, report: Result<(), RuntimeError>) -> RuntimeError {
        RuntimeError::Init {
            error_type: error.error_type().to_owned(),
            message: error.message().to_owned(),
            unreported: report.err().map(|failure| failure.to_string()),
        }
    }
}

/// ` (not reported to Lambda: why)` after a failure whose report did not reach Lambda.
fn write_unreported(f: &mut fmt::Formatter<'_>, unreported: &Option<String>) -> fmt::Result {
    match unreported {
        Some(why) => write!(f, " (not reported to Lambda: {why})"),
        None => Ok(()),
    }
}

impl std::error::Error for RuntimeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::num::ParseIntError);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("could not read the order")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn question_mark_keeps_the_type_name_and_the_source_chain() {
        fn fails() -> Result<()> {
            let inner = "x".parse::<i32>().unwrap_err();
            Err(Outer(inner))?
        }
        let error = fails().unwrap_err();
        assert!(error.error_type().ends_with("error::tests::Outer"));
        assert_eq!(error.message(), "could not read the order");
        assert_eq!(
            error.stack_trace()[0],
            "caused by: invalid digit found in string"
        );
    }

    #[test]
    fn error_types_become_safe_header_values() {
        let header = |error_type: &str| Error::new(error_type, "").error_type_header();
        assert_eq!(
            header("core::num::error::ParseIntError"),
            "core::num::error::ParseIntError"
        );
        assert_eq!(header("Bad\r\nInjected: yes"), "Bad__Injected: yes");
        assert_eq!(header("Fehlertyp-ü"), "Fehlertyp-_");
    }

    #[test]
    fn the_xray_cause_holds_the_error_and_its_frames() {
        let error = Error::new("OrderError", "no order ü").with_stack_trace(
            [
                "caused by: the table is gone",
                "   0: my_function::handler",
                "             at ./src/main.rs:12:5",
                "   1: lambda_loop::serve::serve",
                "             at /home/u/lambda-loop/src/serve.rs:60:13",
                "   2: std::rt::lang_start",
            ]
            .map(String::from),
        );
        let cause = error.xray_cause("/var/task", 1 << 20).unwrap();
        assert!(cause.is_ascii());
        let parsed: serde_json::Value = serde_json::from_str(&cause).unwrap();
        assert_eq!(parsed["working_directory"], "/var/task");
        let exception = &parsed["exceptions"][0];
        assert_eq!(exception["type"], "OrderError");
        assert_eq!(exception["message"], "no order ü");
        assert_eq!(
            exception["stack"],
            serde_json::json!([
                {"label": "my_function::handler", "path": "./src/main.rs", "line": 12},
                {"label": "lambda_loop::serve::serve", "path": "/home/u/lambda-loop/src/serve.rs", "line": 60},
                {"label": "std::rt::lang_start", "path": "", "line": 0},
            ])
        );
        assert_eq!(
            parsed["paths"],
            serde_json::json!(["./src/main.rs", "/home/u/lambda-loop/src/serve.rs"])
        );
        let plain = Error::new("E", "m").xray_cause("/", 1 << 20).unwrap();
        assert_eq!(
            plain,
            r#"{"exceptions":[{"message":"m","stack":[],"type":"E"}],"paths":[],"working_directory":"/"}"#
        );
        assert_eq!(Error::new("E", "x".repeat(100)).xray_cause("/", 64), None);
        let odd = "say \"hi\"\\ \n\t\u{1}\u{7f} é 🦀";
        let cause = Error::new(odd, odd).xray_cause(odd, 1 << 20).unwrap();
        assert!(cause.is_ascii(), "{cause}");
        let parsed: serde_json::Value = serde_json::from_str(&cause).unwrap();
        assert_eq!(parsed["exceptions"][0]["message"], odd);
        assert_eq!(parsed["exceptions"][0]["type"], odd);
        assert_eq!(parsed["working_directory"], odd);
    }

    #[test]
    fn json_escapes_any_message() {
        let error = Error::new("Weird\"Type", "line\nbreak \"quoted\" \u{0} ünïcode \\");
        let parsed: serde_json::Value = serde_json::from_slice(&error.to_json()).unwrap();
        assert_eq!(parsed["errorType"], "Weird\"Type");
        assert_eq!(
            parsed["errorMessage"],
            "line\nbreak \"quoted\" \u{0} ünïcode \\"
        );
        assert_eq!(parsed["stackTrace"], serde_json::json!([]));
    }

    #[test]
    fn the_body_is_byte_for_byte_what_serde_json_writes_for_the_same_object() {
        let error = Error::new("Weird\"Type", "line\nbreak \u{1f} ü")
            .with_stack_trace(["caused by: x\ty".to_owned(), "   0: main".to_owned()]);
        let expected = serde_json::json!({
            "errorMessage": error.message(),
            "errorType": error.error_type(),
            "stackTrace": error.stack_trace(),
        });
        assert_eq!(error.to_json(), expected.to_string().into_bytes());
    }
}
