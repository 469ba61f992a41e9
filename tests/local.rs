//! Local invoke: no Runtime API, one event from stdin or a file, the answer on stdout/stderr.

mod support;
use support::*;

#[test]
fn an_event_from_stdin_is_answered_on_stdout() {
    let mut child = spawn_with_env(
        &example("hello_json"),
        &[],
        &[],
        Some(br#"{"name":"Ada"}"#.to_vec()),
    );
    assert_eq!(child.wait().code(), Some(0));
    assert_eq!(child.stdout(), br#"{"message":"Hello, Ada!"}"#);
}

#[test]
fn an_event_from_a_file_is_answered_on_stdout() {
    let path = std::env::temp_dir().join(format!("lambda-loop-local-{}.bin", std::process::id()));
    let event: Vec<u8> = vec![0, 159, 146, 150, 255, b'\n'];
    std::fs::write(&path, &event).unwrap();
    let mut child = spawn_with_env(&example("echo"), &[path.to_str().unwrap()], &[], None);
    assert_eq!(child.wait().code(), Some(0));
    assert_eq!(child.stdout(), event);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn an_error_is_printed_as_json_on_stderr_with_exit_1() {
    let mut child = spawn_with_env(&example("fail"), &[], &[], Some(b"parse".to_vec()));
    assert_eq!(child.wait().code(), Some(1));
    assert!(child.stdout().is_empty());
    let stderr = child.stderr();
    let error: serde_json::Value =
        serde_json::from_str(stderr.trim()).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(error["errorType"], "core::num::error::ParseIntError");
}

#[test]
fn a_missing_event_file_is_one_clear_line() {
    let mut child = spawn_with_env(&example("echo"), &["/nonexistent/event.json"], &[], None);
    assert_eq!(child.wait().code(), Some(1));
    let stderr = child.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot read the event file"), "{stderr}");
}

#[test]
fn an_init_error_is_printed_as_json() {
    let mut child = spawn_with_env(
        &example("fail"),
        &[],
        &[("FAIL_INIT", "1")],
        Some(Vec::new()),
    );
    assert_eq!(child.wait().code(), Some(1));
    let error: serde_json::Value = serde_json::from_str(child.stderr().trim()).unwrap();
    assert_eq!(error["errorType"], "InitError");
}

#[test]
fn a_response_over_lambdas_limit_is_runtime_response_too_large_as_under_the_runtime_api() {
    let limit = lambda_loop::runtime::protocol::MAX_RESPONSE_BYTES;
    let dir = std::env::temp_dir();
    for (bytes, fits) in [(limit, true), (limit + 1, false)] {
        let path = dir.join(format!(
            "lambda-loop-local-{}-{bytes}.bin",
            std::process::id()
        ));
        std::fs::write(&path, vec![b'x'; bytes]).unwrap();
        let mut child = spawn_with_env(&example("echo"), &[path.to_str().unwrap()], &[], None);
        let code = child.wait().code();
        std::fs::remove_file(&path).unwrap();
        if fits {
            assert_eq!(code, Some(0), "{bytes} bytes: {}", child.stderr());
            assert_eq!(child.stdout().len(), bytes);
            continue;
        }
        assert_eq!(code, Some(1), "{bytes} bytes");
        assert!(
            child.stdout().is_empty(),
            "{bytes} bytes: a too-large response is not printed"
        );
        let stderr = child.stderr();
        let error: serde_json::Value =
            serde_json::from_str(stderr.trim()).unwrap_or_else(|e| panic!("{e}: {stderr}"));
        assert_eq!(error["errorType"], "Runtime.ResponseTooLarge", "{stderr}");
        assert!(
            error["errorMessage"]
                .as_str()
                .unwrap()
                .contains(&format!("{} bytes", limit + 1)),
            "{stderr}"
        );
    }
}
