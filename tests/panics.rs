//! Panics never lose an invocation, in both panic strategies (and in build.sh's tiny
//! profile), with real binaries.

mod support;
use support::*;

fn assert_panic_report(answer: &Recorded, id: &str) {
    assert_eq!(
        answer.path,
        format!("/2018-06-01/runtime/invocation/{id}/error")
    );
    assert_eq!(
        answer.header("lambda-runtime-function-error-type"),
        Some("Runtime.Panic")
    );
    let body = answer.body_json();
    assert_eq!(body["errorType"], "Runtime.Panic");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("the fail example was asked to panic"),
        "{message}"
    );
    assert!(
        message.contains("examples/fail.rs:"),
        "the location is missing: {message}"
    );
}

#[test]
fn under_unwind_a_panic_is_reported_and_the_loop_goes_on() {
    let api = FakeApi::start();
    api.push_event(Event::new("boom", b"panic".to_vec()));
    api.push_event(Event::new("after", b"alive".to_vec()));
    let _child = spawn_example("fail", &api, &[]);
    let answers = api.wait_for_answers(2);
    assert_panic_report(&answers[0], "boom");
    assert_eq!(
        answers[1].path,
        "/2018-06-01/runtime/invocation/after/response"
    );
    assert_eq!(answers[1].body, b"alive");
}

#[test]
fn under_abort_the_hook_reports_the_panic_before_the_process_ends() {
    let binary = example_in_profile("fail", "size");
    let api = FakeApi::start();
    api.push_event(Event::new("boom", b"panic".to_vec()));
    api.push_event(Event::new("never-taken", b"x".to_vec()));
    let mut child = spawn(&binary, &api, &[]);
    let status = child.wait();
    assert!(!status.success());
    let answers = api.answers();
    assert_eq!(answers.len(), 1, "{answers:#?}");
    assert_panic_report(&answers[0], "boom");
    assert!(child
        .stderr()
        .contains("the fail example was asked to panic"));
}

/// `./build.sh --profile tiny --panic abort` (nightly, std rebuilt for size) keeps the panic
/// hook, so its binary reports a panic like the size profile's (the tiny default,
/// `--panic immediate-abort`, cannot: it has no hook). One tiny build (x86_64, no smoke test).
/// It needs rustup's nightly toolchain and rebuilds std, so a plain `cargo test` leaves it out
/// and `.ci/run` runs it; without nightly it fails, naming what to install.
#[test]
#[ignore = "needs rustup's nightly toolchain and rebuilds std; .ci/run runs it: cargo test --test panics -- --ignored"]
fn under_tiny_with_panic_abort_the_hook_reports_the_panic_before_the_process_ends() {
    let nightly = std::process::Command::new("rustup")
        .args(["run", "nightly", "rustc", "-V"])
        .output();
    assert!(
        nightly.is_ok_and(|output| output.status.success()),
        "--profile tiny needs rustup's nightly toolchain: rustup toolchain install nightly"
    );
    let out = target_dir().join("panics-tiny");
    let output = std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/build.sh"))
        .args(["--profile", "tiny", "--panic", "abort", "--example", "fail"])
        .args(["--arch", "x86_64", "--no-smoke", "--out"])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .expect("run build.sh");
    assert!(
        output.status.success(),
        "build.sh --profile tiny --panic abort failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let api = FakeApi::start();
    api.push_event(Event::new("boom", b"panic".to_vec()));
    api.push_event(Event::new("never-taken", b"x".to_vec()));
    let mut child = spawn(&out.join("fail/x86_64/bootstrap"), &api, &[]);
    let status = child.wait();
    assert!(!status.success());
    let answers = api.answers();
    assert_eq!(answers.len(), 1, "{answers:#?}");
    assert_panic_report(&answers[0], "boom");
}

#[test]
fn under_abort_ordinary_invocations_still_work() {
    let binary = example_in_profile("fail", "size");
    let api = FakeApi::start();
    api.push_event(Event::new("one", b"hello".to_vec()));
    api.push_event(Event::new("two", b"custom".to_vec()));
    let _child = spawn(&binary, &api, &[]);
    let answers = api.wait_for_answers(2);
    assert_eq!(answers[0].body, b"hello");
    assert_eq!(answers[1].body_json()["errorType"], "CustomError");
}

/// Issue 11, point 5: under `panic = "abort"` with several slots, the panic hook answers every
/// invocation in flight before the process ends: the panicking one with `Runtime.Panic`, the
/// others (still sleeping in their handlers) with `Runtime.Aborted`, naming the panic.
#[test]
fn under_abort_with_concurrency_every_invocation_in_flight_is_answered() {
    let binary = example_in_profile("concurrent", "size");
    let api = FakeApi::start();
    let mut child = spawn(&binary, &api, &[("AWS_LAMBDA_MAX_CONCURRENCY", "3")]);
    api.wait_for_waiting_next(3);
    // Far longer than the test waits: only the hook can answer these two.
    api.push_event(Event::new("slow-1", br#"{"sleep_ms": 600000}"#.to_vec()));
    api.push_event(Event::new("slow-2", br#"{"sleep_ms": 600000}"#.to_vec()));
    // Their handlers are running once they say so (the example logs before it sleeps).
    child.wait_for_stderr("slow-1: sleeping");
    child.wait_for_stderr("slow-2: sleeping");
    api.push_event(Event::new("boom", br#""panic""#.to_vec()));
    let status = child.wait();
    assert!(!status.success(), "the process must end after the panic");
    let answers = api.answers();
    assert_eq!(answers.len(), 3, "{answers:#?}");
    let answer = |id: &str| {
        answers
            .iter()
            .find(|a| a.path == format!("/2018-06-01/runtime/invocation/{id}/error"))
            .unwrap_or_else(|| panic!("no error post for {id}: {answers:#?}"))
    };
    let boom = answer("boom").body_json();
    assert_eq!(boom["errorType"], "Runtime.Panic");
    let panic_message = boom["errorMessage"].as_str().unwrap();
    assert!(
        panic_message.contains("the concurrent example was asked to panic"),
        "{panic_message}"
    );
    for id in ["slow-1", "slow-2"] {
        let aborted = answer(id);
        assert_eq!(
            aborted.header("lambda-runtime-function-error-type"),
            Some("Runtime.Aborted")
        );
        let body = aborted.body_json();
        assert_eq!(body["errorType"], "Runtime.Aborted");
        let message = body["errorMessage"].as_str().unwrap();
        assert!(
            message.contains("the concurrent example was asked to panic"),
            "{id}: {message}"
        );
    }
}

/// A custom loop of the public low layer (`runtime::serve` without `runtime::start`) reports
/// a panic with its message and location, as the crate docs promise for unwind: `serve`
/// installs the panic hook itself. (No other test of this file serves in-process, so nothing
/// here installs the hook first.)
#[test]
fn under_unwind_a_custom_loop_reports_the_panic_message_and_location() {
    use lambda_loop::runtime::{serve, Client};
    let api = FakeApi::start();
    api.push_event(Event::new("boom", b"panic".to_vec()));
    let client = Client::new(&api.addr()).unwrap();
    let config = std::sync::Arc::new(test_config());
    let runtime = std::thread::spawn(move || {
        let Err(failure) = serve(&client, &config, |_: &[u8], _: lambda_loop::Context| {
            panic!("asked to panic in a custom loop")
        });
        failure
    });
    let answers = api.wait_for_answers(1);
    api.finish();
    assert_next_500(&runtime.join().unwrap());
    let message = answers[0].body_json()["errorMessage"].to_string();
    assert!(
        message.contains("asked to panic in a custom loop") && message.contains("tests/panics.rs:"),
        "{message}"
    );
}
