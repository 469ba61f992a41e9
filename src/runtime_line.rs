//! The runtime's own lines on stderr: one line per runtime failure, saying what happened and
//! what comes next (`lambda-loop: POST … answered 410: …; going on`). Never a payload.
//!
//! Plain text, unless `logger::init` chose Lambda's JSON log format: it then installs a
//! writer here (a function pointer, so that the JSON formatting is linked only into binaries
//! that call it, and so that this bottom layer imports nothing above it).

use std::fmt;
use std::io::Write;
use std::sync::OnceLock;

use log::Level;

/// A writer of runtime lines, installed once by the logger.
pub(crate) type LineWriter = fn(Level, fmt::Arguments<'_>);

/// How to write the runtime's own lines once JSON is chosen; unset, they are plain text.
static WRITER: OnceLock<LineWriter> = OnceLock::new();

/// Makes every later runtime line go through `writer` (the first call wins).
pub(crate) fn install_writer(writer: LineWriter) {
    let _ = WRITER.set(writer);
}

/// Writes one of the runtime's own lines to stderr: `lambda-loop: message`, or through the
/// writer the logger installed.
pub(crate) fn write(level: Level, message: fmt::Arguments<'_>) {
    match WRITER.get() {
        Some(write) => write(level, message),
        // One write for the whole line, so that lines from several threads never interleave.
        None => {
            let line = format!("lambda-loop: {message}\n");
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }
}

/// The runtime's last words: `failure; exiting` on stderr, then exit code 1, so that Lambda
/// starts a fresh environment (the only cure for a broken Runtime API or a failed init).
pub(crate) fn exit_with(failure: &dyn fmt::Display) -> ! {
    write(Level::Error, format_args!("{failure}; exiting"));
    std::process::exit(1)
}

/// `runtime_line!(Warn, "format {args}")`: [`write`] with `format_args!`, so that each call
/// site stays one line.
macro_rules! runtime_line {
    ($level:ident, $($message:tt)+) => {
        $crate::runtime_line::write(::log::Level::$level, format_args!($($message)+))
    };
}
pub(crate) use runtime_line;
