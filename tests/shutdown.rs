//! Graceful shutdown with real binaries: the runtime registers as an internal extension only
//! when a hook is set, and SIGTERM runs the hook, then the process exits 0.

mod support;
use std::path::PathBuf;

use support::*;

/// A fresh path for the shutdown example's report, unique to this test.
fn report_path(test: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "lambda-loop-shutdown-{}-{test}.txt",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

fn sigterm(child: &Running) {
    let pid = libc::pid_t::try_from(child.pid()).expect("pid fits pid_t");
    // SAFETY: kill has no memory-safety preconditions; the pid is our own running child's.
    let status = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(status, 0, "kill -TERM {pid} failed");
}

fn position(requests: &[Recorded], method: &str, path: &str) -> usize {
    requests
        .iter()
        .position(|r| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("no {method} {path} in {requests:#?}"))
}

#[test]
fn a_hook_registers_an_extension_and_runs_on_sigterm() {
    let api = FakeApi::start();
    api.push_event(Event::new("one", b"1".to_vec()));
    api.push_event(Event::new("two", b"2".to_vec()));
    let report = report_path("hook");
    let mut child = spawn_example(
        "shutdown",
        &api,
        &[("SHUTDOWN_REPORT", report.to_str().unwrap())],
    );
    api.wait_for_answers(2);
    let requests = api.wait_until("the extension's event/next", |requests| {
        requests.iter().any(|r| r.path == EVENT_NEXT_PATH)
    });

    let register = &requests[position(&requests, "POST", REGISTER_PATH)];
    assert_eq!(
        register.header("lambda-extension-name"),
        Some("lambda-loop")
    );
    assert_eq!(register.body_json(), serde_json::json!({"events": []}));
    let event_next = &requests[position(&requests, "GET", EVENT_NEXT_PATH)];
    assert_eq!(
        event_next.header("lambda-extension-identifier"),
        Some(EXTENSION_IDENTIFIER)
    );
    // Lambda accepts registrations only during init, before the runtime's first `next`.
    assert!(
        position(&requests, "POST", REGISTER_PATH)
            < position(&requests, "GET", "/2018-06-01/runtime/invocation/next")
    );
    assert!(!report.exists(), "the hook ran before SIGTERM");

    sigterm(&child);
    let status = child.wait();
    assert_eq!(status.code(), Some(0), "stderr: {}", child.stderr());
    let written = std::fs::read_to_string(&report).expect("the hook wrote its report");
    assert_eq!(written, "shutting down after 2 invocations\n");
    let _ = std::fs::remove_file(&report);
}

#[test]
fn without_a_hook_nothing_is_registered() {
    let api = FakeApi::start();
    api.push_event(Event::new("one", b"1".to_vec()));
    api.push_event(Event::new("two", b"2".to_vec()));
    let mut child = spawn_example("echo", &api, &[]);
    api.wait_for_answers(2);
    // The third `next` shows the runtime is idle: any registration would have come first.
    api.wait_until("the third next", |requests| {
        requests
            .iter()
            .filter(|r| r.path.ends_with("/runtime/invocation/next"))
            .count()
            == 3
    });
    api.finish();
    assert!(!child.wait().success());
    let extension_calls: Vec<String> = api
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/2020-01-01"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(extension_calls.is_empty(), "{extension_calls:?}");
    assert_eq!(api.connections(), 1, "no second connection either");
}

#[test]
fn a_failed_registration_costs_one_line_and_the_function_serves_on() {
    let api = FakeApi::start();
    api.set_register_status(404);
    api.push_event(Event::new("one", b"still served".to_vec()));
    let report = report_path("failed-registration");
    let mut child = spawn_example(
        "shutdown",
        &api,
        &[("SHUTDOWN_REPORT", report.to_str().unwrap())],
    );
    let answers = api.wait_for_answers(1);
    assert_eq!(
        answers[0].path,
        "/2018-06-01/runtime/invocation/one/response"
    );
    assert_eq!(answers[0].body, b"still served");
    assert!(!api.requests().iter().any(|r| r.path == EVENT_NEXT_PATH));
    // The shutdown thread registers while the main thread serves: the answer can come first.
    let stderr = child.wait_for_stderr("serving without them");
    assert!(
        stderr.contains("POST /2020-01-01/extension/register answered 404"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // A SIGTERM from elsewhere (docker stop, an emulator) still runs the hook.
    sigterm(&child);
    assert_eq!(child.wait().code(), Some(0));
    let written = std::fs::read_to_string(&report).expect("the hook wrote its report");
    assert_eq!(written, "shutting down after 1 invocations\n");
    let _ = std::fs::remove_file(&report);
}
