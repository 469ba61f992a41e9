//! Logging the way Lambda reads it: a backend for the [`log`] facade, in Lambda's `Text` or
//! `JSON` log format, at the level Lambda's configuration asks for. See [`init`].
//!
//! It costs nothing unless [`init`] is called: the runtime's own lines on stderr are plain
//! text until `init`, in JSON mode, installs the JSON writer behind them (a function pointer,
//! so that the formatting code is linked only into binaries that call `init`).

use std::fmt;
use std::io::Write;
use std::time::SystemTime;

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::context::epoch_ms;
use crate::inflight;
use crate::protocol::env;
use crate::runtime_line::{self, runtime_line};

/// The `logger` field of the runtime's own lines.
const RUNTIME_TARGET: &str = "lambda_loop";

/// Installs the Lambda logger as the [`log`] crate's backend, configured from the environment
/// that Lambda sets:
///
/// - `AWS_LAMBDA_LOG_FORMAT`: `JSON` writes every record as one JSON object per line on stdout,
///   `{"timestamp":"2026-11-27T21:13:50.123Z","level":"INFO","requestId":"…","message":"…","logger":"my_function"}`
///   (`requestId` only while an invocation is in flight on the logging thread). `Text` (the
///   default) writes `2026-11-27T21:13:50.123Z<TAB>requestId<TAB>INFO<TAB>target: message`,
///   with `-` for the request id outside an invocation.
/// - `AWS_LAMBDA_LOG_LEVEL`: `TRACE`, `DEBUG`, `INFO` (the default), `WARN`, `ERROR` or `FATAL`
///   (the `log` crate has no fatal level: `FATAL` keeps `ERROR` records). Records below the
///   level are not even formatted. Records of the HTTP client (targets `ureq` and
///   `ureq_proto`) are kept only at `WARN` and `ERROR`: below that they describe every Runtime
///   API call, and at `TRACE` they would hex-dump every event and response.
///
/// What Lambda does with these: it sets both variables from the function's logging
/// configuration, the level only with the JSON format (log-level filtering exists only
/// there). With JSON, Lambda also filters by itself: it reads each line's `level` and drops
/// lines below the configured application log level before they reach CloudWatch Logs; a line
/// that is not JSON, or lacks a valid `level` or RFC 3339 `timestamp`, counts as `INFO`.
/// Filtering here as well saves the formatting, and keeps local runs and emulators faithful.
///
/// With the JSON format, the runtime's own lines on stderr (a failed post, the reason the
/// process exits) become JSON objects of the same shape too, with `"logger":"lambda_loop"`.
///
/// Call it once, first thing in `main`. A second call, or a call after another logger was
/// installed, leaves the first logger in place and says so in one line on stderr; so does a
/// value of the two variables that is not one of the above (the default is used).
pub fn init() {
    // Through std, which locks the environment: a logger may be installed while a loop runs.
    let settings = Settings::from_lookup(|name| std::env::var(name).ok());
    static TEXT: LambdaLogger = LambdaLogger { json: false };
    static JSON: LambdaLogger = LambdaLogger { json: true };
    let logger = if settings.json { &JSON } else { &TEXT };
    match log::set_logger(logger) {
        Ok(()) => {
            log::set_max_level(settings.level);
            if settings.json {
                runtime_line::install_writer(write_runtime_line_as_json);
            }
        }
        Err(_) => runtime_line!(
            Warn,
            "a logger is already installed; lambda_loop::logger::init() left it in place"
        ),
    }
    for problem in settings.problems {
        runtime_line!(Warn, "{problem}");
    }
}

fn write_runtime_line_as_json(level: Level, message: fmt::Arguments<'_>) {
    if level <= log::max_level() {
        let line = json_line(&now_rfc3339(), level, RUNTIME_TARGET, message);
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// The format and level chosen by the environment, and what was wrong with it.
#[derive(Debug, PartialEq)]
struct Settings {
    json: bool,
    level: LevelFilter,
    problems: Vec<String>,
}

impl Settings {
    /// Reads `AWS_LAMBDA_LOG_FORMAT` and `AWS_LAMBDA_LOG_LEVEL` through `var` (a lookup, so
    /// that tests never touch the process environment). Case does not matter.
    fn from_lookup(mut var: impl FnMut(&str) -> Option<String>) -> Settings {
        let mut problems = Vec::new();
        let format = var(env::LOG_FORMAT).unwrap_or_default();
        let json = match format.trim().to_ascii_uppercase().as_str() {
            "JSON" => true,
            "" | "TEXT" => false,
            _ => {
                problems.push(format!(
                    "{}={format:?} is neither Text nor JSON; logging as Text",
                    env::LOG_FORMAT
                ));
                false
            }
        };
        let level_name = var(env::LOG_LEVEL).unwrap_or_default();
        let level = match level_name.trim().to_ascii_uppercase().as_str() {
            "TRACE" => LevelFilter::Trace,
            "DEBUG" => LevelFilter::Debug,
            "" | "INFO" => LevelFilter::Info,
            "WARN" => LevelFilter::Warn,
            "ERROR" | "FATAL" => LevelFilter::Error,
            _ => {
                problems.push(format!(
                    "{}={level_name:?} is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL; logging at INFO",
                    env::LOG_LEVEL
                ));
                LevelFilter::Info
            }
        };
        Settings {
            json,
            level,
            problems,
        }
    }
}

/// The `log` backend: one line per record on stdout, written with a single `write_all` so that
/// lines from concurrent invocations never interleave.
struct LambdaLogger {
    json: bool,
}

impl Log for LambdaLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let level = metadata.level();
        level <= log::max_level() && (level <= Level::Warn || !is_http_client(metadata.target()))
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let timestamp = now_rfc3339();
        let line = if self.json {
            json_line(&timestamp, record.level(), record.target(), *record.args())
        } else {
            text_line(&timestamp, record.level(), record.target(), *record.args())
        };
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stdout().flush();
    }
}

/// The HTTP client's crates log every Runtime API call at DEBUG, and at TRACE hex-dump every
/// byte sent and received: events and responses included, which must never reach the logs.
const HTTP_CLIENT_TARGETS: [&str; 2] = ["ureq", "ureq_proto"];

/// True for records of the HTTP client's crates (their targets are module paths).
fn is_http_client(target: &str) -> bool {
    HTTP_CLIENT_TARGETS.iter().any(|client| {
        target
            .strip_prefix(client)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// `{"timestamp":…,"level":…,"requestId":…,"message":…,"logger":…}` and a newline, written by
/// serde_json (which escapes the strings: quotes, newlines and any Unicode stay valid JSON on
/// one line).
fn json_line(timestamp: &str, level: Level, target: &str, message: fmt::Arguments<'_>) -> String {
    inflight::with_request_id(|request_id| {
        let record = JsonRecord {
            timestamp,
            level: level.as_str(),
            request_id,
            message: &message.to_string(),
            logger: target,
        };
        let mut line = serde_json::to_string(&record).unwrap_or_default();
        line.push('\n');
        line
    })
}

/// One JSON log line's fields, in the order Lambda's own runtimes write them. (Smaller than a
/// `format!` with `serde_json::to_string` per field, stripped, size profile, x86_64 musl:
/// examples/logging 680,904 -> 680,744 bytes; echo the same either way, 649,768.)
struct JsonRecord<'a> {
    timestamp: &'a str,
    level: &'a str,
    request_id: Option<&'a str>,
    message: &'a str,
    logger: &'a str,
}

impl serde_core::Serialize for JsonRecord<'_> {
    fn serialize<S: serde_core::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde_core::ser::SerializeStruct;
        let fields = 4 + usize::from(self.request_id.is_some());
        let mut record = serializer.serialize_struct("JsonRecord", fields)?;
        record.serialize_field("timestamp", self.timestamp)?;
        record.serialize_field("level", self.level)?;
        if let Some(request_id) = self.request_id {
            record.serialize_field("requestId", request_id)?;
        }
        record.serialize_field("message", self.message)?;
        record.serialize_field("logger", self.logger)?;
        record.end()
    }
}

/// `timestamp<TAB>requestId<TAB>LEVEL<TAB>target: message` and a newline. Line breaks inside
/// the message become carriage returns, as in AWS's own runtimes, so that CloudWatch keeps a
/// multi-line message in one log event.
fn text_line(timestamp: &str, level: Level, target: &str, message: fmt::Arguments<'_>) -> String {
    let message = message.to_string().replace('\n', "\r");
    let mut line = String::new();
    inflight::with_request_id(|request_id| {
        line = format!(
            "{timestamp}\t{}\t{level}\t{target}: {message}\n",
            request_id.unwrap_or("-")
        );
    });
    line
}

fn now_rfc3339() -> String {
    rfc3339_utc(epoch_ms(SystemTime::now()))
}

/// RFC 3339 in UTC with milliseconds, `2026-11-27T21:13:50.123Z`, for `epoch_ms` milliseconds
/// since 1970-01-01T00:00:00Z.
fn rfc3339_utc(epoch_ms: u64) -> String {
    let (seconds, millis) = (epoch_ms / 1000, epoch_ms % 1000);
    let (days, second_of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    );
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z")
}

/// The Gregorian (year, month, day) of `days` days after 1970-01-01: Howard Hinnant's
/// `civil_from_days`. It counts in 400-year eras that start on a 1 March, so that the leap
/// day is the last day of its year and the month lengths repeat in a 153-day pattern.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let since_0000_03_01 = days + 719_468;
    let era = since_0000_03_01 / 146_097;
    let day_of_era = since_0000_03_01 % 146_097; // 0..=146_096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153; // 0 = March … 11 = February
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_format_exactly() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (999, "1970-01-01T00:00:00.999Z"),
            (946_684_799_999, "1999-12-31T23:59:59.999Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (951_827_696_007, "2000-02-29T12:34:56.007Z"),
            (951_868_800_000, "2000-03-01T00:00:00.000Z"),
            (1_709_251_199_000, "2024-02-29T23:59:59.000Z"),
            (1_795_814_030_123, "2026-11-27T21:13:50.123Z"),
            (2_147_483_647_000, "2038-01-19T03:14:07.000Z"),
            (2_147_483_648_000, "2038-01-19T03:14:08.000Z"),
            (4_107_456_000_000, "2100-02-28T00:00:00.000Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        ];
        for (epoch_ms, expected) in cases {
            assert_eq!(rfc3339_utc(epoch_ms), expected, "{epoch_ms}");
        }
    }

    #[test]
    fn every_day_follows_the_previous_one_until_2500() {
        let leap = |y: u64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let month_length = |y: u64, m: u64| match m {
            2 if leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let mut expected = (1970, 1, 1);
        for days in 0..(531 * 365) {
            assert_eq!(civil_from_days(days), expected, "day {days}");
            let (y, m, d) = expected;
            expected = if d < month_length(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
        assert!(expected.0 >= 2500);
    }

    #[test]
    fn settings_come_from_the_two_variables() {
        let lookup = |format: &'static str, level: &'static str| {
            Settings::from_lookup(move |name| match name {
                "AWS_LAMBDA_LOG_FORMAT" => Some(format.to_owned()),
                "AWS_LAMBDA_LOG_LEVEL" => Some(level.to_owned()),
                _ => None,
            })
        };
        let unset = Settings::from_lookup(|_| None);
        assert_eq!(
            unset,
            Settings {
                json: false,
                level: LevelFilter::Info,
                problems: vec![]
            }
        );
        assert!(lookup("JSON", "").json);
        assert!(lookup("json", "").json);
        assert!(!lookup("Text", "").json);
        assert_eq!(lookup("JSON", "DEBUG").level, LevelFilter::Debug);
        assert_eq!(lookup("JSON", "warn").level, LevelFilter::Warn);
        assert_eq!(lookup("JSON", "FATAL").level, LevelFilter::Error);
        assert_eq!(lookup("JSON", "TRACE").level, LevelFilter::Trace);

        let odd = lookup("xml", "LOUD");
        assert!(!odd.json);
        assert_eq!(odd.level, LevelFilter::Info);
        assert_eq!(odd.problems.len(), 2, "{:?}", odd.problems);
        assert!(odd.problems[0].contains("\"xml\""));
        assert!(odd.problems[1].contains("\"LOUD\""));
    }

    #[test]
    fn the_http_clients_chatter_is_recognised_by_target() {
        for target in ["ureq", "ureq::run", "ureq_proto::util", "ureq_proto"] {
            assert!(is_http_client(target), "{target}");
        }
        for target in ["ureqx", "my_ureq", "app::ureq", "ureq_protocol", ""] {
            assert!(!is_http_client(target), "{target}");
        }
    }

    #[test]
    fn json_lines_escape_anything() {
        let message = "say \"hi\"\nthen\ttab \\ ünïcödé 🦀 \u{1}";
        let line = json_line(
            "2026-11-27T21:13:50.123Z",
            Level::Warn,
            "my::target",
            format_args!("{message}"),
        );
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1);
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["message"], message);
        assert_eq!(parsed["level"], "WARN");
        assert_eq!(parsed["logger"], "my::target");
        assert_eq!(parsed["timestamp"], "2026-11-27T21:13:50.123Z");
        assert!(parsed.get("requestId").is_none());
    }

    #[test]
    fn text_lines_keep_one_line_per_record() {
        let line = text_line(
            "2026-11-27T21:13:50.123Z",
            Level::Info,
            "app",
            format_args!("two\nlines"),
        );
        assert_eq!(line, "2026-11-27T21:13:50.123Z\t-\tINFO\tapp: two\rlines\n");
    }
}
