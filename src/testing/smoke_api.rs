//! build.sh's smoke test: starts a packaged function binary against the fake Runtime API
//! (`fake_api.rs`, the one of `lambda_loop::testing`), hands it one event, and reports how the
//! event was answered and what the process did next.
//!
//! Usage: `smoke-api EVENT_FILE LOG_FILE COMMAND [ARGS...]`. Prints one tab-separated line
//! (see [`main`]); build.sh judges it. build.sh compiles this file alone with `rustc` (it
//! includes the fake's two files, which use the standard library only), so it works on a
//! user's crate as well as here.

// The smoke test uses only part of the fake. The crate's tests compile this file as a module
// too (src/testing/mod.rs), beside the fake's own modules, so that clippy sees it.
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "fake_api.rs"]
mod fake_api;
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "wire.rs"]
mod wire;

use std::fs::File;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use fake_api::{Event, FakeApi};
use wire::Recorded;

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
/// From the start to the answer of the event.
const STARTUP_BOUND: Duration = Duration::from_secs(60);
/// From the answer to the next `next`.
const AFTER_ANSWER_BOUND: Duration = Duration::from_secs(20);

/// How one run went: what answered the event (`response`, `error` or `fail`), a detail, and
/// what the process did then (`next`, `exit: STATUS` or `timeout: ...`).
struct Outcome {
    kind: &'static str,
    detail: String,
    after: String,
}

fn fail(detail: String) -> Outcome {
    Outcome {
        kind: "fail",
        detail,
        after: String::new(),
    }
}

fn printable(bytes: &[u8], limit: usize) -> String {
    bytes
        .iter()
        .take(limit)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

/// The error type of an error post: its header, or the `errorType` of its body.
fn error_type(request: &Recorded) -> String {
    if let Some(kind) = request.header("lambda-runtime-function-error-type") {
        return kind.to_owned();
    }
    let body = request.body_text();
    match body.split_once("\"errorType\":\"") {
        Some((_, rest)) => rest.split('"').next().unwrap_or("").to_owned(),
        None => "(no errorType)".to_owned(),
    }
}

/// The errorMessage of an error post, its JSON escapes undone (\uXXXX shown as '?'), or "".
fn error_message(body: &str) -> String {
    let Some((_, rest)) = body.split_once("\"errorMessage\"") else {
        return String::new();
    };
    let Some(rest) = rest.trim_start().strip_prefix(':') else {
        return String::new();
    };
    let Some(rest) = rest.trim_start().strip_prefix('"') else {
        return String::new();
    };
    let mut message = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') | Some('r') | Some('t') => message.push(' '),
                Some('u') => {
                    chars.by_ref().take(4).for_each(drop);
                    message.push('?');
                }
                Some(other) => message.push(other),
                None => break,
            },
            other => message.push(other),
        }
    }
    message
}

fn is_next(request: &Recorded) -> bool {
    request.method == "GET" && request.path.ends_with("/runtime/invocation/next")
}

fn is_init_error(request: &Recorded) -> bool {
    request.method == "POST" && request.path.ends_with("/runtime/init/error")
}

/// How the event was answered, from the answer post: (kind, detail).
fn judge_answer(answer: &Recorded) -> (&'static str, String) {
    match answer.answered() {
        Some((_, "response")) => match answer.trailer("lambda-runtime-function-error-type") {
            None => ("response", printable(&answer.body, 40)),
            Some(kind) => (
                "error",
                format!(
                    "{} (in the stream's trailer)",
                    printable(kind.as_bytes(), 60)
                ),
            ),
        },
        _ => ("error", printable(error_type(answer).as_bytes(), 60)),
    }
}

/// Copies the child's `pipe` into the log until the child closes it (it exited).
fn copy_to_log(mut pipe: impl Read, mut log: File) {
    let mut buffer = [0u8; 8192];
    while let Ok(n @ 1..) = pipe.read(&mut buffer) {
        let _ = log.write_all(&buffer[..n]);
    }
}

/// One run of the binary: the outcome, or the names of the handlers it offers (the first of
/// them) when it found no `_HANDLER` among several.
fn run(
    event: &[u8],
    log: &str,
    command: &[String],
    handler: Option<&str>,
) -> Result<Outcome, String> {
    let api = FakeApi::start();
    api.push_event(
        Event::new(REQUEST_ID, event)
            .header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:000000000000:function:smoke",
            )
            .header(
                "Lambda-Runtime-Trace-Id",
                "Root=1-00000000-000000000000000000000000;Sampled=0",
            )
            .header(
                "Lambda-Runtime-Deadline-Ms",
                (now_ms() + 300_000).to_string(),
            ),
    );
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("open the log file");
    let mut child_command = Command::new(&command[0]);
    child_command
        .args(&command[1..])
        .env("AWS_LAMBDA_RUNTIME_API", api.addr())
        .env("AWS_LAMBDA_FUNCTION_NAME", "smoke")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_REGION", "us-east-1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(handler) = handler {
        child_command.env("_HANDLER", handler);
    }
    let mut child = match child_command.spawn() {
        Ok(child) => child,
        Err(error) => return Ok(fail(format!("cannot start {}: {error}", command[0]))),
    };
    let exited = AtomicBool::new(false);
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    thread::scope(|scope| {
        // The pipes close when the process ends: that wakes the waits below.
        scope.spawn(|| {
            let copies = [
                stdout.map(|pipe| {
                    let log = log_file.try_clone().expect("log file");
                    scope.spawn(move || copy_to_log(pipe, log))
                }),
                stderr.map(|pipe| {
                    let log = log_file.try_clone().expect("log file");
                    scope.spawn(move || copy_to_log(pipe, log))
                }),
            ];
            for copy in copies.into_iter().flatten() {
                let _ = copy.join();
            }
            exited.store(true, Ordering::SeqCst);
            api.finish();
        });
        let outcome = watch(&api, &mut child, &exited, handler);
        end(&mut child);
        outcome
    })
}

/// Watches the run until the outcome is known.
fn watch(
    api: &FakeApi,
    child: &mut Child,
    exited: &AtomicBool,
    handler: Option<&str>,
) -> Result<Outcome, String> {
    let ended = || exited.load(Ordering::SeqCst);
    let exit_status = |child: &mut Child| match child.wait() {
        Ok(status) => status.to_string(),
        Err(error) => format!("unknown ({error})"),
    };
    let answered = |requests: &[Recorded]| {
        requests
            .iter()
            .find(|r| r.is_answer() || is_init_error(r))
            .cloned()
    };
    let Some(requests) = api.wait_until_within(STARTUP_BOUND, |requests| {
        ended() || answered(requests).is_some()
    }) else {
        let reached_next = api.requests().iter().any(is_next);
        return Ok(fail(if reached_next {
            format!(
                "no answer within {}s of its first `next`",
                STARTUP_BOUND.as_secs()
            )
        } else {
            format!("no `next` within {}s of the start", STARTUP_BOUND.as_secs())
        }));
    };
    let Some(answer) = answered(&requests) else {
        let status = exit_status(child);
        return Ok(fail(if requests.iter().any(is_next) {
            format!("the process ended ({status}) without answering its event")
        } else {
            format!("the process ended ({status}) before its first `next`")
        }));
    };
    if is_init_error(&answer) {
        let kind = error_type(&answer);
        if kind == "Runtime.HandlerNotFound" && handler.is_none() {
            let body = answer.body_text();
            if let Some((_, names)) = body.split_once("one of: \\\"") {
                if let Some(first) = names.split("\\\"").next() {
                    return Err(first.to_owned());
                }
            }
        }
        let message = error_message(&answer.body_text());
        let detail = if message.is_empty() {
            format!("init error {}", printable(kind.as_bytes(), 60))
        } else {
            format!(
                "init error {}: {}",
                printable(kind.as_bytes(), 60),
                printable(message.as_bytes(), 300)
            )
        };
        // The process writes its own line about the failure, then exits: wait for that
        // (bounded), so the log shown with the failure has it.
        api.wait_until_within(AFTER_ANSWER_BOUND, |_| ended());
        return Ok(fail(detail));
    }
    let (kind, detail) = judge_answer(&answer);
    let violations = api.take_violations();
    if !violations.is_empty() {
        return Ok(fail(format!(
            "it broke the protocol: {}",
            violations.join("; ")
        )));
    }
    let came_back = |requests: &[Recorded]| requests.iter().filter(|r| is_next(r)).count() >= 2;
    let after = match api.wait_until_within(AFTER_ANSWER_BOUND, |requests| {
        ended() || came_back(requests)
    }) {
        Some(requests) if came_back(&requests) => "next".to_owned(),
        Some(_) => format!("exit: {}", exit_status(child)),
        None => format!(
            "timeout: no second `next` within {}s",
            AFTER_ANSWER_BOUND.as_secs()
        ),
    };
    Ok(Outcome {
        kind,
        detail,
        after,
    })
}

/// Ends the binary once the smoke test has its outcome (or gives up).
fn end(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

/// Runs the binary once (twice when it offers several handlers and `_HANDLER` names none:
/// then with the first of them), and prints one line, tab-separated: what answered the
/// event, its detail, what the process did next, and the handler chosen for a binary of
/// several handlers (empty if none).
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: smoke-api EVENT_FILE LOG_FILE COMMAND [ARGS...]");
        std::process::exit(2);
    }
    let event = std::fs::read(&args[0]).expect("read the event file");
    let handler = std::env::var("_HANDLER").ok();
    let (outcome, chosen) = match run(&event, &args[1], &args[2..], handler.as_deref()) {
        Ok(outcome) => (outcome, String::new()),
        Err(first) => match run(&event, &args[1], &args[2..], Some(&first)) {
            Ok(outcome) => (outcome, first),
            Err(_) => (fail("init error Runtime.HandlerNotFound".to_owned()), first),
        },
    };
    println!(
        "{}\t{}\t{}\t{chosen}",
        outcome.kind, outcome.detail, outcome.after
    );
}
