//! SnapStart's restore phase, in-process against the fake Runtime API: hooks, `restore/next`,
//! the connection dropped by the snapshot, and each way it can fail.

mod support;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use lambda_loop::runtime::{self, after_restore, before_snapshot, RuntimeError};
use lambda_loop::{Config, Context, Error};
use support::*;

fn config(initialization_type: &str) -> Arc<Config> {
    let value = initialization_type.to_owned();
    Arc::new(Config::from_lookup(move |name| {
        (name == "AWS_LAMBDA_INITIALIZATION_TYPE").then(|| value.clone())
    }))
}

/// Runs `runtime::start` on a thread; the returned receiver yields its failure.
fn start_in_thread(
    api: &FakeApi,
    config: Arc<Config>,
    log: Arc<Mutex<Vec<String>>>,
    hooks: impl FnOnce(Arc<Mutex<Vec<String>>>) + Send + 'static,
) -> mpsc::Receiver<RuntimeError> {
    let endpoint = api.addr();
    let (done, failure) = mpsc::channel();
    std::thread::spawn(move || {
        let Err(error) = runtime::start(&endpoint, config, move |_config| {
            hooks(Arc::clone(&log));
            Ok(|event: &[u8], _ctx: Context| Ok(event.to_vec()))
        });
        let _ = done.send(error);
    });
    failure
}

fn ended(failure: &mpsc::Receiver<RuntimeError>) -> RuntimeError {
    failure
        .recv_timeout(PATIENCE)
        .expect("the runtime should have stopped")
}

fn logging(log: &Arc<Mutex<Vec<String>>>, entry: &str) -> impl FnOnce() -> lambda_loop::Result<()> {
    let log = Arc::clone(log);
    let entry = entry.to_owned();
    move || {
        log.lock().unwrap().push(entry);
        Ok(())
    }
}

fn paths(api: &FakeApi) -> Vec<String> {
    api.requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn hooks_run_around_restore_next_in_their_orders_then_the_loop_serves() {
    let api = FakeApi::start();
    api.push_event(Event::new("after-restore", b"hi".to_vec()));
    let log = Arc::new(Mutex::new(Vec::new()));
    let failure = start_in_thread(&api, config("snap-start"), Arc::clone(&log), |log| {
        before_snapshot(logging(&log, "before 1"));
        before_snapshot(logging(&log, "before 2"));
        after_restore(logging(&log, "after 1"));
        after_restore(logging(&log, "after 2"));
    });
    let answers = api.wait_for_answers(1);
    assert_eq!(answers[0].body, b"hi");
    api.finish();
    assert!(matches!(
        ended(&failure),
        RuntimeError::Status { status: 500, .. }
    ));
    assert_eq!(
        *log.lock().unwrap(),
        ["before 2", "before 1", "after 1", "after 2"]
    );
    let seen = paths(&api);
    assert_eq!(seen[0], "GET /2018-06-01/runtime/restore/next", "{seen:#?}");
    assert_eq!(
        seen[1], "GET /2018-06-01/runtime/invocation/next",
        "{seen:#?}"
    );
}

#[test]
fn the_connection_dropped_by_the_snapshot_is_replaced_by_a_new_one() {
    let api = FakeApi::start();
    api.drop_connection_after_restore();
    api.push_event(Event::new("restored", b"x".to_vec()));
    let failure = start_in_thread(&api, config("snap-start"), Arc::default(), |_| {});
    let answers = api.wait_for_answers(1);
    assert_eq!(answers[0].body, b"x");
    api.finish();
    ended(&failure);
    let requests = api.requests();
    assert_eq!(requests[0].connection, 0);
    assert!(
        requests[1..].iter().all(|r| r.connection == 1),
        "every call after restore/next goes on the new connection: {requests:#?}"
    );
    assert_eq!(api.connections(), 2);
}

#[test]
fn without_snapstart_there_is_no_restore_phase_and_no_hook_runs() {
    for initialization_type in ["", "on-demand", "provisioned-concurrency"] {
        let api = FakeApi::start();
        api.push_event(Event::new("plain", b"y".to_vec()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let failure = start_in_thread(&api, config(initialization_type), Arc::clone(&log), |log| {
            before_snapshot(logging(&log, "before"));
            after_restore(logging(&log, "after"));
        });
        api.wait_for_answers(1);
        api.finish();
        ended(&failure);
        assert!(log.lock().unwrap().is_empty(), "{initialization_type:?}");
        assert!(
            paths(&api).iter().all(|p| !p.contains("restore")),
            "{initialization_type:?}: {:#?}",
            paths(&api)
        );
    }
}

#[test]
fn a_failing_before_snapshot_hook_is_an_init_error() {
    let api = FakeApi::start();
    let failure = start_in_thread(&api, config("snap-start"), Arc::default(), |_| {
        before_snapshot(|| Err(Error::new("FlushError", "the buffer would not flush")));
    });
    let error = ended(&failure);
    assert!(
        matches!(&error, RuntimeError::Init { error_type, unreported: None, .. } if error_type == "Runtime.BeforeSnapshotError"),
        "{error:?}"
    );
    let seen = paths(&api);
    assert_eq!(seen, ["POST /2018-06-01/runtime/init/error"]);
    let post = &api.requests()[0];
    assert_eq!(
        post.header("lambda-runtime-function-error-type"),
        Some("Runtime.BeforeSnapshotError")
    );
    let body = post.body_json();
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("FlushError: the buffer would not flush"),
        "{body}"
    );
}

#[test]
fn a_restore_next_that_is_not_2xx_is_an_init_error() {
    let api = FakeApi::start();
    api.set_restore_next_status(500);
    let log = Arc::new(Mutex::new(Vec::new()));
    let failure = start_in_thread(&api, config("snap-start"), Arc::clone(&log), |log| {
        after_restore(logging(&log, "after"));
    });
    let error = ended(&failure);
    assert!(
        matches!(&error, RuntimeError::Init { error_type, .. } if error_type == "Runtime.RestoreError"),
        "{error:?}"
    );
    assert_eq!(
        paths(&api),
        [
            "GET /2018-06-01/runtime/restore/next",
            "POST /2018-06-01/runtime/init/error"
        ]
    );
    assert!(log.lock().unwrap().is_empty(), "no after-restore hook runs");
}

#[test]
fn a_failing_after_restore_hook_is_posted_to_restore_error_and_ends_the_runtime() {
    let api = FakeApi::start();
    api.push_event(Event::new("never-taken", b"z".to_vec()));
    let failure = start_in_thread(&api, config("snap-start"), Arc::default(), |_| {
        after_restore(|| Err(Error::new("ReconnectError", "the database is gone")));
    });
    let error = ended(&failure);
    assert!(
        matches!(
            &error,
            RuntimeError::AfterRestore {
                unreported: None,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        paths(&api),
        [
            "GET /2018-06-01/runtime/restore/next",
            "POST /2018-06-01/runtime/restore/error"
        ]
    );
    let post = &api.requests()[1];
    assert_eq!(
        post.header("lambda-runtime-function-error-type"),
        Some("Runtime.AfterRestoreError")
    );
    assert_eq!(
        post.header("content-type"),
        Some("application/vnd.aws.lambda.error+json")
    );
    let body = post.body_json();
    assert_eq!(body["errorType"], "Runtime.AfterRestoreError");
    assert!(body["errorMessage"]
        .as_str()
        .unwrap()
        .contains("ReconnectError: the database is gone"));
}
