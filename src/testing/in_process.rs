//! A runtime served on a thread of the test process against a [`FakeApi`], through the public
//! low layer ([`runtime`]): no child process, and the process environment untouched.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Once};
use std::thread;

use super::fake_api::{FakeApi, Waker, PATIENCE};
use super::wire::Recorded;
use crate::runtime::{self, Client, Handler, Runnable, RuntimeError};
use crate::Config;

/// The variables of a typical function, so that a child process and an in-process loop can
/// be given the same configuration ([`config_with`]).
pub const LAMBDA_VARS: [(&str, &str); 7] = [
    ("AWS_LAMBDA_FUNCTION_NAME", "test-function"),
    ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
    ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/test-function"),
    ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/27/[$LATEST]abc"),
    ("AWS_REGION", "eu-west-1"),
    ("_HANDLER", "bootstrap"),
];

/// The configuration of [`LAMBDA_VARS`] with `extra` on top, built without reading the process
/// environment.
///
/// ```
/// let config = lambda_loop::testing::config_with(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")]);
/// assert_eq!(config.memory_size_mb, 1024);
/// assert_eq!(config.function_name, "test-function");
/// ```
pub fn config_with(extra: &[(&str, &str)]) -> Config {
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(move |name| {
        extra
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| {
                LAMBDA_VARS
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
    })
}

/// The configuration of [`LAMBDA_VARS`].
pub fn test_config() -> Config {
    config_with(&[])
}

/// A runtime serving on a thread of the test process, made by [`serve_in_thread`],
/// [`serve_with`], [`serve_concurrently`] or [`start_in_thread`]. It stops when the fake fails
/// it (for example [`FakeApi::finish`]: `next` then answers 500); [`Served::join`] says why.
pub struct Served {
    outcome: mpsc::Receiver<thread::Result<RuntimeError>>,
    stopped: Arc<AtomicBool>,
    waker: Waker,
}

impl Served {
    /// Waits for the runtime to stop (at most [`PATIENCE`]) and returns why. Panics when it is
    /// still serving by then, or when the runtime itself panicked.
    pub fn join(self) -> RuntimeError {
        match self.outcome.recv_timeout(PATIENCE) {
            Ok(Ok(failure)) => failure,
            Ok(Err(panic)) => panic!("the runtime thread panicked: {}", panic_text(&*panic)),
            Err(_) => panic!("the runtime did not stop within {PATIENCE:?}"),
        }
    }

    /// Ends the runtime the usual way ([`FakeApi::finish`]) and checks that it stopped for
    /// that reason only: the 500 on `next`.
    pub fn finish(self, api: &FakeApi) {
        api.finish();
        assert_next_500(&self.join());
    }

    /// True once the runtime has stopped.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Waits until `n` invocations are answered and returns the answers; panics at once (with
    /// the runtime's failure) if the runtime stops first, and after [`PATIENCE`] if neither
    /// happens.
    pub fn wait_for_answers(&self, api: &FakeApi, n: usize) -> Vec<Recorded> {
        self.wait_for_answers_or_stop(api, n);
        let answers = api.answers();
        if answers.len() < n {
            let failure = match self.outcome.try_recv() {
                Ok(Ok(failure)) => failure.to_string(),
                Ok(Err(panic)) => format!("the runtime panicked: {}", panic_text(&*panic)),
                Err(_) => "(no failure reported)".to_owned(),
            };
            panic!(
                "the runtime stopped after {} of {n} answers: {failure}; answers: {answers:#?}",
                answers.len()
            );
        }
        answers
    }

    /// Waits until `n` invocations are answered or the runtime has stopped, whichever comes
    /// first (at most [`PATIENCE`], then it panics); true when it stopped.
    pub fn wait_for_answers_or_stop(&self, api: &FakeApi, n: usize) -> bool {
        assert!(
            self.waker.is_of(api),
            "another fake API than the one served"
        );
        let done = api.wait_until_within(PATIENCE, |requests| {
            self.is_stopped() || requests.iter().filter(|r| r.is_answer()).count() >= n
        });
        assert!(
            done.is_some(),
            "timed out waiting for {n} answers or the runtime's stop; {} answers",
            api.answers().len()
        );
        self.is_stopped()
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic".to_owned())
}

/// Checks that `failure` is the 500 that [`FakeApi::finish`] makes `next` answer.
pub fn assert_next_500(failure: &RuntimeError) {
    assert!(
        matches!(failure, RuntimeError::Status { call, status: 500 } if call.ends_with("/runtime/invocation/next")),
        "expected the 500 on next, got: {failure}"
    );
}

/// Runs `body` (a runtime) on a thread; the fake's waits are woken when it stops.
fn spawn_runtime(api: &FakeApi, body: impl FnOnce() -> RuntimeError + Send + 'static) -> Served {
    let waker = api.waker();
    let stopped = Arc::new(AtomicBool::new(false));
    let (report, outcome) = mpsc::channel();
    let (thread_waker, thread_stopped) = (waker.clone(), Arc::clone(&stopped));
    thread::Builder::new()
        .name("in-process-runtime".into())
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
            thread_stopped.store(true, Ordering::SeqCst);
            thread_waker.wake();
            let _ = report.send(result);
        })
        .expect("spawn the runtime thread");
    Served {
        outcome,
        stopped,
        waker,
    }
}

/// Serves `handler` against `api` on a thread: [`runtime::serve`] with a [`Client`] of its own
/// and [`test_config`]. Never touches the process environment (unlike the entry points, which
/// set `_X_AMZN_TRACE_ID`), so tests of several handlers run side by side.
///
/// A panic in the handler is answered with `Runtime.Panic`, and the loop goes on:
///
/// ```
/// use lambda_loop::testing::{serve_in_thread, Event, FakeApi};
///
/// let api = FakeApi::start();
/// let served = serve_in_thread(&api, |event: &[u8], _ctx: lambda_loop::Context| {
///     assert!(!event.is_empty(), "an empty event");
///     Ok(event.to_vec())
/// });
/// api.push_event(Event::new("empty", ""));
/// api.push_event(Event::new("full", "x"));
/// let answers = served.wait_for_answers(&api, 2);
/// assert_eq!(answers[0].body_json()["errorType"], "Runtime.Panic");
/// assert_eq!(answers[1].answered(), Some(("full", "response")));
/// served.finish(&api);
/// ```
pub fn serve_in_thread<H: Handler + Send + 'static>(api: &FakeApi, handler: H) -> Served {
    serve_with(api, &api.addr(), test_config(), handler)
}

/// [`serve_in_thread`] with a given endpoint (e.g. with a path prefix) and configuration.
pub fn serve_with<H: Handler + Send + 'static>(
    api: &FakeApi,
    endpoint: &str,
    config: Config,
    handler: H,
) -> Served {
    install_panic_hook();
    let endpoint = endpoint.to_owned();
    let config = Arc::new(config);
    spawn_runtime(api, move || {
        let client = match Client::new(&endpoint) {
            Ok(client) => client,
            Err(failure) => return failure,
        };
        let Err(failure) = runtime::serve(&client, &config, handler);
        failure
    })
}

/// Serves [`concurrent`](crate::concurrent)`(handler)` against `api` on a thread, with `slots`
/// slots (at least 2: one slot is the single loop, [`serve_in_thread`]), as
/// `AWS_LAMBDA_MAX_CONCURRENCY=slots` would.
///
/// A slot that meets a fatal failure ends the process, so this runtime never stops by
/// itself: `api` is told to [leave its `next` calls waiting](FakeApi::hold_next_on_drop) when
/// dropped, and the slots wait there until the test process ends.
pub fn serve_concurrently<H>(api: &FakeApi, slots: usize, handler: H) -> Served
where
    H: Handler + Clone + Send + 'static,
{
    assert!(slots >= 2, "serve_concurrently is for 2 slots or more");
    install_panic_hook();
    api.hold_next_on_drop();
    let endpoint = api.addr();
    let config = Arc::new(config_with(&[(
        runtime::protocol::env::MAX_CONCURRENCY,
        &slots.to_string(),
    )]));
    spawn_runtime(api, move || {
        let client = match Client::new(&endpoint) {
            Ok(client) => client,
            Err(failure) => return failure,
        };
        let Err(failure) = crate::concurrent(handler).run_loops(&client, &config);
        failure
    })
}

/// [`runtime::start`] on a thread, for an initialisation that fails: a successful one would be
/// served by the single loop, which sets `_X_AMZN_TRACE_ID`, and tests should not write the
/// process environment (serve handlers with [`serve_in_thread`] instead). An `Ok` from `init`
/// panics.
///
/// ```
/// use lambda_loop::runtime::RuntimeError;
/// use lambda_loop::testing::{start_in_thread, test_config, FakeApi};
///
/// let api = FakeApi::start();
/// let started = start_in_thread(&api, test_config(), |_config| {
///     Err::<lambda_loop::runtime::HandlerFn, _>(lambda_loop::Error::new("App.NoTable", "TABLE is not set"))
/// });
/// let failure = started.join();
/// assert!(matches!(failure, RuntimeError::Init { unreported: None, .. }), "{failure}");
/// let posted = &api.requests()[0];
/// assert_eq!(posted.path, "/2018-06-01/runtime/init/error");
/// assert_eq!(posted.body_json()["errorType"], "App.NoTable");
/// ```
pub fn start_in_thread<I, S>(api: &FakeApi, config: Config, init: I) -> Served
where
    I: FnOnce(&Config) -> crate::Result<S> + Send + 'static,
{
    let endpoint = api.addr();
    spawn_runtime(api, move || {
        let init = move |config: &Config| match init(config) {
            Ok(_) => panic!("start_in_thread is for initialisations that fail"),
            Err(error) => Err::<runtime::HandlerFn, _>(error),
        };
        let Err(failure) = runtime::start(&endpoint, Arc::new(config), init);
        failure
    })
}

/// Installs the runtime's panic hook, once per process, the only way the public API offers: a
/// [`runtime::start`] (here with an initialisation that fails, against a fake of its own).
/// Without it a panic served by [`runtime::serve`] alone is still a `Runtime.Panic`, but
/// without its message and location. [`serve_in_thread`] calls it.
pub fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let api = FakeApi::start();
        let failure = runtime::start(&api.addr(), Arc::new(Config::default()), |_config| {
            Err::<runtime::HandlerFn, _>(crate::Error::new(
                "Test.InstallPanicHook",
                "an initialisation that fails, to install the panic hook",
            ))
        });
        assert!(
            matches!(
                failure,
                Err(RuntimeError::Init {
                    unreported: None,
                    ..
                })
            ),
            "installing the panic hook: {failure:?}"
        );
    });
}

impl Recorded {
    /// The body as JSON; panics, showing the body, when it is not JSON.
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body of {} is not JSON ({e}): {}",
                self.path,
                self.body_text()
            )
        })
    }
}

/// The request ids of `answers`, with the kind of post: `("id", "response" | "error")`.
pub fn answered(answers: &[Recorded]) -> Vec<(String, String)> {
    answers
        .iter()
        .filter_map(Recorded::answered)
        .map(|(id, kind)| (id.to_owned(), kind.to_owned()))
        .collect()
}
