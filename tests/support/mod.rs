//! Test support: a fake Lambda Runtime API on 127.0.0.1, helpers to serve a handler against it
//! in-process (on a thread, through the public low layer), and helpers to run example binaries
//! against it where the process is the point.
//!
//! The fake speaks HTTP/1.1 over real sockets, keeps connections alive, hands out scripted
//! events on `next`, and records every request it receives (method, path, headers, body,
//! trailers, chunk sizes, and which connection it came on).
#![allow(dead_code)] // each test file uses a different part of the support code

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, Once, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use lambda_loop::runtime::{self, Client, Handler, RuntimeError};
use lambda_loop::{Config, Context};

/// How long any wait in a test may last before the test fails: generous, because CI machines
/// are slow and shared; it only turns a hang into a clear failure.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A step of the protocol where a fault can be injected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Next,
    Response,
    Error,
    InitError,
}

/// What the fake does wrong, once, at a step.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Reads the request, then closes the connection without a byte of answer.
    CloseBeforeAnswer,
    /// Sends the status line and headers (announcing a body), then closes.
    CloseAfterHeaders,
    /// Sends a body shorter than its Content-Length, then closes.
    ShortBody,
    /// Waits this long, then answers normally.
    Stall(Duration),
    /// Answers with this status (for `next`: instead of an event, which stays queued).
    Status(u16),
}

/// One scripted event, answered to a `GET .../invocation/next`.
#[derive(Clone, Debug)]
pub struct Event {
    pub request_id: Option<String>,
    pub body: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    /// Send the body with `Transfer-Encoding: chunked` instead of `Content-Length`.
    pub chunked: bool,
    /// Close the connection, without answering, when the runtime posts this event's answer.
    pub drop_answer_connection: bool,
    /// Status for this event's answer post (default 202).
    pub answer_status: u16,
    /// Close the connection right after answering this event's post (an idle-timeout close).
    pub close_after_answer: bool,
    /// Send a body shorter than the Content-Length of the `next` answer, then close.
    pub short_body: bool,
}

impl Event {
    /// An event with a request id header, a deadline 60 s ahead, and `body`.
    pub fn new(request_id: &str, body: impl Into<Vec<u8>>) -> Event {
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 60_000;
        Event {
            request_id: Some(request_id.to_owned()),
            body: body.into(),
            headers: vec![(
                "Lambda-Runtime-Deadline-Ms".into(),
                deadline.to_string().into_bytes(),
            )],
            chunked: false,
            drop_answer_connection: false,
            answer_status: 202,
            close_after_answer: false,
            short_body: false,
        }
    }

    /// Adds (or replaces) a header of the `next` answer.
    pub fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Event {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Adds a header line even if the name is already there (a duplicate header).
    pub fn extra_header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Event {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Removes a header (e.g. the deadline) from the `next` answer.
    pub fn without_header(mut self, name: &str) -> Event {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// An event whose `next` answer has no request id header at all.
    pub fn without_request_id(mut self) -> Event {
        self.request_id = None;
        self
    }

    pub fn chunked(mut self) -> Event {
        self.chunked = true;
        self
    }

    pub fn drop_answer_connection(mut self) -> Event {
        self.drop_answer_connection = true;
        self
    }

    /// The `next` answer's body is shorter than its Content-Length, then the connection closes.
    pub fn short_body(mut self) -> Event {
        self.short_body = true;
        self
    }

    pub fn close_after_answer(mut self) -> Event {
        self.close_after_answer = true;
        self
    }

    pub fn answer_status(mut self, status: u16) -> Event {
        self.answer_status = status;
        self
    }
}

/// A request as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Length of the whole body, also when only its start was kept (see
    /// [`FakeApi::keep_body_bytes`]).
    pub body_len: usize,
    /// [`digest`] of the whole body, also when only its start was kept.
    pub body_digest: u64,
    /// Trailer fields of a chunked body, names in lower case.
    pub trailers: Vec<(String, String)>,
    /// Sizes of the chunks of a chunked body, in order (empty for Content-Length bodies).
    pub chunk_sizes: Vec<usize>,
    /// Which accepted connection (0, 1, …) the request came on.
    pub connection: usize,
}

impl Recorded {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn trailer(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.trailers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn body_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body of {} is not JSON ({e}): {}",
                self.path,
                self.body_text()
            )
        })
    }

    /// True for posts that answer an invocation (`.../response` or `.../error`).
    pub fn is_answer(&self) -> bool {
        self.method == "POST"
            && self.path.contains("/runtime/invocation/")
            && (self.path.ends_with("/response") || self.path.ends_with("/error"))
    }
}

#[derive(Default)]
struct State {
    events: VecDeque<Event>,
    /// Events handed out, by request id, to find how to answer their posts.
    handed_out: Vec<Event>,
    requests: Vec<Recorded>,
    connections: usize,
    finished: bool,
    /// Status for `next` once finished (500 = "environment broken, exit").
    finish_status: u16,
    /// Status for `/runtime/init/error` posts.
    init_error_status: u16,
    /// `next` calls received and not yet answered.
    waiting_next: usize,
    /// The most `next` calls that were waiting at the same time.
    most_waiting_next: usize,
    /// Bodies longer than this are recorded by length and digest, and only this many bytes.
    keep_body_bytes: Option<usize>,
    /// One-shot faults, applied in order at their step.
    faults: Vec<(Step, Fault)>,
    /// Status for `POST /2020-01-01/extension/register` (default 200).
    register_status: u16,
    /// Status for `GET /runtime/restore/next` (default 200).
    restore_next_status: u16,
    /// Close the connection right after answering `restore/next`, as a snapshot does.
    drop_after_restore: bool,
    /// Answers that broke a rule the fake checks on every answer (the invocation id echoed
    /// exactly when `next` sent one); dropping the fake fails the test if there are any.
    violations: Vec<String>,
}

/// The identifier the fake hands out to a registered extension.
pub const EXTENSION_IDENTIFIER: &str = "fake-extension-7c1f";
/// Path of the Extensions API's register call.
pub const REGISTER_PATH: &str = "/2020-01-01/extension/register";
/// Path of the Extensions API's event/next call.
pub const EVENT_NEXT_PATH: &str = "/2020-01-01/extension/event/next";

/// The fake Runtime API. Dropping it stops answering (`next` gets 500).
pub struct FakeApi {
    addr: String,
    shared: Arc<(Mutex<State>, Condvar)>,
}

impl FakeApi {
    /// Starts the fake on 127.0.0.1 with a free port.
    pub fn start() -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap().to_string();
        let shared = Arc::new((
            Mutex::new(State {
                finish_status: 500,
                init_error_status: 202,
                register_status: 200,
                restore_next_status: 200,
                ..State::default()
            }),
            Condvar::new(),
        ));
        let accept_shared = Arc::clone(&shared);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                // Answers go out in pieces (head, body): without this, Nagle's algorithm holds
                // the body back until the runtime's delayed ACK, 40 ms per answer.
                let _ = stream.set_nodelay(true);
                let connection = {
                    let mut state = accept_shared.0.lock().unwrap();
                    state.connections += 1;
                    state.connections - 1
                };
                let conn_shared = Arc::clone(&accept_shared);
                thread::spawn(move || serve_connection(stream, connection, conn_shared));
            }
        });
        FakeApi { addr, shared }
    }

    /// `127.0.0.1:PORT`, the value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> String {
        self.addr.clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.0.lock().unwrap()
    }

    /// Queues an event for the next `next` call.
    pub fn push_event(&self, event: Event) {
        self.state().events.push_back(event);
        self.shared.1.notify_all();
    }

    /// From now on `next` is answered with 500, so a runtime exits.
    pub fn finish(&self) {
        self.state().finished = true;
        self.shared.1.notify_all();
    }

    /// Makes the next request at `step` meet `fault` (once).
    pub fn inject(&self, step: Step, fault: Fault) {
        self.state().faults.push((step, fault));
    }

    /// Status for `/runtime/init/error` posts (default 202).
    pub fn set_init_error_status(&self, status: u16) {
        self.state().init_error_status = status;
    }

    /// Records only the first `bytes` of each body from now on (length and digest stay exact),
    /// so that a test of a 100 MB stream does not hold 100 MB.
    pub fn keep_body_bytes(&self, bytes: usize) {
        self.state().keep_body_bytes = Some(bytes);
    }

    /// How many `next` calls are waiting for an event right now.
    pub fn waiting_next(&self) -> usize {
        self.state().waiting_next
    }

    /// The most `next` calls that were ever waiting at the same time: how many loops poll
    /// concurrently (a count, not a timing).
    pub fn most_waiting_next(&self) -> usize {
        self.state().most_waiting_next
    }

    /// Waits until `n` `next` calls are waiting at the same time; panics after [`PATIENCE`].
    pub fn wait_for_waiting_next(&self, n: usize) {
        let deadline = Instant::now() + PATIENCE;
        let mut state = self.state();
        while state.waiting_next < n {
            let now = Instant::now();
            assert!(
                now < deadline,
                "timed out waiting for {n} concurrent next calls; {} are waiting",
                state.waiting_next
            );
            state = self.shared.1.wait_timeout(state, deadline - now).unwrap().0;
        }
    }

    /// Status for `GET /runtime/restore/next` (default 200).
    pub fn set_restore_next_status(&self, status: u16) {
        self.state().restore_next_status = status;
    }

    /// Closes the connection right after answering `restore/next`: a restored snapshot keeps
    /// no connection, so the runtime must open a new one.
    pub fn drop_connection_after_restore(&self) {
        self.state().drop_after_restore = true;
    }

    /// Status for extension registrations (default 200, with an identifier header).
    pub fn set_register_status(&self, status: u16) {
        self.state().register_status = status;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    /// Posts that answer invocations, in arrival order.
    pub fn answers(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(Recorded::is_answer)
            .collect()
    }

    /// How many TCP connections were accepted.
    pub fn connections(&self) -> usize {
        self.state().connections
    }

    /// Waits until `predicate` holds over the recorded requests; panics after [`PATIENCE`].
    pub fn wait_until(&self, what: &str, predicate: impl Fn(&[Recorded]) -> bool) -> Vec<Recorded> {
        let deadline = Instant::now() + PATIENCE;
        let mut state = self.state();
        loop {
            if predicate(&state.requests) {
                return state.requests.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                let seen: Vec<String> = state
                    .requests
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect();
                panic!("timed out waiting for {what}; requests seen: {seen:#?}");
            }
            state = self.shared.1.wait_timeout(state, deadline - now).unwrap().0;
        }
    }

    /// Waits for at least `n` answer posts and returns all of them.
    pub fn wait_for_answers(&self, n: usize) -> Vec<Recorded> {
        self.wait_until(&format!("{n} answer posts"), |requests| {
            requests.iter().filter(|r| r.is_answer()).count() >= n
        });
        self.answers()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.finish();
        let violations = std::mem::take(&mut self.state().violations);
        if !violations.is_empty() && !thread::panicking() {
            panic!("the runtime broke the protocol: {violations:#?}");
        }
    }
}

/// The rule every answer to an invocation is held to: `Lambda-Runtime-Invocation-Id` echoed
/// unchanged when `next` sent one, and absent when it did not.
fn invocation_id_violation(answer: &Recorded, event: &Event) -> Option<String> {
    let sent = event
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("lambda-runtime-invocation-id"))
        .map(|(_, value)| String::from_utf8_lossy(value).into_owned());
    let echoed = answer.header("lambda-runtime-invocation-id");
    (sent.as_deref() != echoed).then(|| {
        format!(
            "{} {}: next sent invocation id {sent:?}, the answer carried {echoed:?}",
            answer.method, answer.path
        )
    })
}

// ---------------------------------------------------------------------------------------
// In-process serving: the loop on a thread of the test process, through the public low layer

/// The variables [`spawn`] gives a child, so that a child and an in-process loop see the same
/// configuration.
pub const LAMBDA_VARS: [(&str, &str); 7] = [
    ("AWS_LAMBDA_FUNCTION_NAME", "test-function"),
    ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
    ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/test-function"),
    ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/27/[$LATEST]abc"),
    ("AWS_REGION", "eu-west-1"),
    ("_HANDLER", "bootstrap"),
];

/// The configuration of [`LAMBDA_VARS`], with `extra` on top, built without the process
/// environment.
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

/// A runtime serving on a thread of this test process, made by [`serve_in_thread`],
/// [`serve_with`] or [`start_in_thread`]. It stops when the fake API fails it (for example
/// [`FakeApi::finish`]: `next` then answers 500); [`Served::join`] says why.
pub struct Served {
    outcome: mpsc::Receiver<thread::Result<RuntimeError>>,
    stopped: Arc<AtomicBool>,
    shared: Arc<(Mutex<State>, Condvar)>,
}

impl Served {
    /// Waits for the runtime to stop (at most [`PATIENCE`]) and returns why. Fails loudly when
    /// it is still serving by then, or when the runtime itself panicked.
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

    /// Waits until `n` invocations are answered and returns the answers; fails at once (with
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
    /// first (at most [`PATIENCE`]); true when it stopped.
    pub fn wait_for_answers_or_stop(&self, api: &FakeApi, n: usize) -> bool {
        assert!(
            Arc::ptr_eq(&self.shared, &api.shared),
            "another fake API than the one served"
        );
        let deadline = Instant::now() + PATIENCE;
        let mut state = api.state();
        loop {
            if self.is_stopped() {
                return true;
            }
            if state.requests.iter().filter(|r| r.is_answer()).count() >= n {
                return false;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "timed out waiting for {n} answers or the runtime's stop; {} answers",
                state.requests.iter().filter(|r| r.is_answer()).count()
            );
            state = api.shared.1.wait_timeout(state, deadline - now).unwrap().0;
        }
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

/// Runs `body` (a runtime) on a thread; the fake API's waiters are woken when it stops.
fn spawn_runtime(api: &FakeApi, body: impl FnOnce() -> RuntimeError + Send + 'static) -> Served {
    let shared = Arc::clone(&api.shared);
    let stopped = Arc::new(AtomicBool::new(false));
    let (report, outcome) = mpsc::channel();
    let (thread_shared, thread_stopped) = (Arc::clone(&shared), Arc::clone(&stopped));
    thread::Builder::new()
        .name("in-process-runtime".into())
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
            thread_stopped.store(true, Ordering::SeqCst);
            let guard = thread_shared
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            thread_shared.1.notify_all();
            drop(guard);
            let _ = report.send(result);
        })
        .expect("spawn the runtime thread");
    Served {
        outcome,
        stopped,
        shared,
    }
}

/// Serves `handler` against `api` on a thread: [`runtime::serve`] with a [`Client`] of its own
/// and [`test_config`]. Never touches the process environment (unlike the entry points, which
/// set `_X_AMZN_TRACE_ID`).
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

/// [`runtime::start`] on a thread, for an initialisation that fails: a successful one would be
/// served by the single loop, which sets `_X_AMZN_TRACE_ID`, and tests never write the process
/// environment (serve handlers with [`serve_in_thread`] instead). An `Ok` from `init` fails
/// the test.
pub fn start_in_thread<I, S>(api: &FakeApi, config: Config, init: I) -> Served
where
    I: FnOnce(&Config) -> lambda_loop::Result<S> + Send + 'static,
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

/// Installs the runtime's panic hook, once per test process, the only way the public API
/// offers: a [`runtime::start`] (here with an initialisation that fails). Without it a panic
/// served by [`runtime::serve`] alone is still a `Runtime.Panic`, but without its message and
/// location.
pub fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let api = FakeApi::start();
        let failure = runtime::start(&api.addr(), Arc::new(Config::default()), |_config| {
            Err::<runtime::HandlerFn, _>(lambda_loop::Error::new(
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

/// The request ids of `answers`, with the kind of post: `("id", "response" | "error")`.
pub fn answered(answers: &[Recorded]) -> Vec<(String, String)> {
    answers
        .iter()
        .map(|answer| {
            let rest = answer
                .path
                .strip_prefix("/2018-06-01/runtime/invocation/")
                .unwrap_or(&answer.path);
            let (id, kind) = rest.rsplit_once('/').unwrap_or((rest, ""));
            (id.to_owned(), kind.to_owned())
        })
        .collect()
}

/// A context as JSON, for handlers that answer with what they were told.
pub fn context_json(ctx: &Context) -> serde_json::Value {
    serde_json::json!({
        "requestId": ctx.request_id,
        "deadlineMs": ctx
            .deadline
            .and_then(|deadline| deadline.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|since| since.as_millis() as u64),
        "remainingMs": ctx.remaining_time().as_millis() as u64,
        "invokedFunctionArn": ctx.invoked_function_arn,
        "xrayTraceId": ctx.xray_trace_id,
        "clientContext": ctx.client_context,
        "identity": ctx.identity,
        "tenantId": ctx.tenant_id,
        "invocationId": ctx.invocation_id,
        "functionName": ctx.config.function_name,
        "functionVersion": ctx.config.function_version,
        "memorySizeMb": ctx.config.memory_size_mb,
        "logGroupName": ctx.config.log_group_name,
        "logStreamName": ctx.config.log_stream_name,
        "region": ctx.config.region,
        "handler": ctx.config.handler,
    })
}

fn serve_connection(stream: TcpStream, connection: usize, shared: Arc<(Mutex<State>, Condvar)>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    loop {
        let keep = shared
            .0
            .lock()
            .unwrap()
            .keep_body_bytes
            .unwrap_or(usize::MAX);
        let Some(request) = read_request(&mut reader, connection, keep) else {
            return;
        };
        let path = request.path.clone();
        let step = step_of(&request);
        let extension_name = request.header("lambda-extension-name").map(str::to_owned);
        let extension_id = request
            .header("lambda-extension-identifier")
            .map(str::to_owned);
        let (answer_event, fault) = {
            let (lock, condvar) = &*shared;
            let mut state = lock.lock().unwrap();
            let event = state.handed_out.iter().find(|e| {
                e.request_id.as_deref().is_some_and(|id| {
                    path.starts_with(&format!("/2018-06-01/runtime/invocation/{id}/"))
                })
            });
            if let Some(violation) =
                event.and_then(|event| invocation_id_violation(&request, event))
            {
                state.violations.push(violation);
            }
            state.requests.push(request);
            condvar.notify_all();
            let fault = step.and_then(|step| {
                let index = state.faults.iter().position(|(s, _)| *s == step)?;
                Some(state.faults.remove(index).1)
            });
            let event = state
                .handed_out
                .iter()
                .find(|e| {
                    e.request_id.as_deref().is_some_and(|id| {
                        path.starts_with(&format!("/2018-06-01/runtime/invocation/{id}/"))
                    })
                })
                .cloned();
            (event, fault)
        };
        if let Some(Fault::Stall(pause)) = fault {
            thread::sleep(pause);
        }
        let fault = fault.filter(|f| !matches!(f, Fault::Stall(_)));
        let written = match (step, fault) {
            _ if path.ends_with("/runtime/restore/next") => {
                let (status, drop_after) = {
                    let state = shared.0.lock().unwrap();
                    (state.restore_next_status, state.drop_after_restore)
                };
                let written = write_status(&mut writer, status);
                if drop_after {
                    let _ = writer.shutdown(Shutdown::Both);
                    return;
                }
                written
            }
            _ if path.ends_with("/runtime/restore/error") => write_status(&mut writer, 202),
            _ if path.ends_with(REGISTER_PATH) => {
                answer_register(&mut writer, &shared, extension_name.as_deref())
            }
            _ if path.ends_with(EVENT_NEXT_PATH) => {
                answer_extension_next(&mut writer, &shared, extension_id.as_deref())
            }
            (_, Some(Fault::CloseBeforeAnswer)) => {
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            (Some(Step::Next), Some(Fault::Status(status))) => write_status(&mut writer, status),
            (Some(Step::Next), fault) => answer_next(&mut writer, &shared, fault),
            (Some(_), Some(Fault::Status(status))) => write_status(&mut writer, status),
            (Some(_), Some(Fault::CloseAfterHeaders)) => {
                let _ = writer.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n");
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            (Some(_), Some(Fault::ShortBody)) => {
                let _ =
                    writer.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"st");
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            (Some(Step::InitError), _) => {
                let status = shared.0.lock().unwrap().init_error_status;
                write_status(&mut writer, status)
            }
            (Some(_), _) => match answer_event {
                Some(event) if event.drop_answer_connection => {
                    let _ = writer.shutdown(Shutdown::Both);
                    return;
                }
                Some(event) if event.close_after_answer => {
                    let _ = write_status(&mut writer, event.answer_status);
                    let _ = writer.shutdown(Shutdown::Both);
                    return;
                }
                Some(event) => write_status(&mut writer, event.answer_status),
                None => write_status(&mut writer, 202),
            },
            (None, _) => write_status(&mut writer, 404),
        };
        if written.is_err() {
            return;
        }
    }
}

/// Which protocol step a request is.
fn step_of(request: &Recorded) -> Option<Step> {
    let path = request.path.as_str();
    match request.method.as_str() {
        "GET" if path.ends_with("/runtime/invocation/next") => Some(Step::Next),
        "POST" if path.ends_with("/runtime/init/error") => Some(Step::InitError),
        "POST" if path.contains("/runtime/invocation/") && path.ends_with("/response") => {
            Some(Step::Response)
        }
        "POST" if path.contains("/runtime/invocation/") && path.ends_with("/error") => {
            Some(Step::Error)
        }
        _ => None,
    }
}

/// Blocks until an event is queued (or the fake is finished), then writes the `next` answer.
fn answer_next(
    writer: &mut TcpStream,
    shared: &Arc<(Mutex<State>, Condvar)>,
    fault: Option<Fault>,
) -> std::io::Result<()> {
    let (lock, condvar) = &**shared;
    let mut state = lock.lock().unwrap();
    state.waiting_next += 1;
    state.most_waiting_next = state.most_waiting_next.max(state.waiting_next);
    condvar.notify_all();
    let event = loop {
        if let Some(event) = state.events.pop_front() {
            break event;
        }
        if state.finished {
            state.waiting_next -= 1;
            let status = state.finish_status;
            drop(state);
            return write_status(writer, status);
        }
        state = condvar.wait(state).unwrap();
    };
    state.waiting_next -= 1;
    state.handed_out.push(event.clone());
    drop(state);
    let fault = if event.short_body {
        Some(Fault::ShortBody)
    } else {
        fault
    };

    let mut head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n".to_vec();
    if let Some(id) = &event.request_id {
        head.extend_from_slice(format!("Lambda-Runtime-Aws-Request-Id: {id}\r\n").as_bytes());
    }
    for (name, value) in &event.headers {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    match fault {
        Some(Fault::CloseAfterHeaders) => {
            head.extend_from_slice(
                format!("Content-Length: {}\r\n\r\n", event.body.len() + 1).as_bytes(),
            );
            writer.write_all(&head)?;
            return writer.shutdown(Shutdown::Both);
        }
        Some(Fault::ShortBody) => {
            head.extend_from_slice(
                format!("Content-Length: {}\r\n\r\n", event.body.len() + 10).as_bytes(),
            );
            writer.write_all(&head)?;
            writer.write_all(&event.body)?;
            return writer.shutdown(Shutdown::Both);
        }
        _ => {}
    }
    if event.chunked {
        head.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        writer.write_all(&head)?;
        for chunk in event.body.chunks(64 * 1024) {
            writer.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
            writer.write_all(chunk)?;
            writer.write_all(b"\r\n")?;
        }
        writer.write_all(b"0\r\n\r\n")
    } else {
        head.extend_from_slice(format!("Content-Length: {}\r\n\r\n", event.body.len()).as_bytes());
        writer.write_all(&head)?;
        writer.write_all(&event.body)
    }
}

/// `POST /2020-01-01/extension/register`: 200 with an identifier for a named extension, 400
/// without a name, or the status set with [`FakeApi::set_register_status`].
fn answer_register(
    writer: &mut TcpStream,
    shared: &Arc<(Mutex<State>, Condvar)>,
    name: Option<&str>,
) -> std::io::Result<()> {
    let status = shared.0.lock().unwrap().register_status;
    if name.is_none_or(str::is_empty) || status != 200 {
        return write_status(writer, if status == 200 { 400 } else { status });
    }
    let body =
        r#"{"functionName":"test-function","functionVersion":"$LATEST","handler":"bootstrap"}"#;
    let answer = format!(
        "HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: {EXTENSION_IDENTIFIER}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    writer.write_all(answer.as_bytes())
}

/// `GET /2020-01-01/extension/event/next`: 403 without the identifier; otherwise blocks, as
/// Lambda does for an internal extension, until the fake is finished (then 500).
fn answer_extension_next(
    writer: &mut TcpStream,
    shared: &Arc<(Mutex<State>, Condvar)>,
    identifier: Option<&str>,
) -> std::io::Result<()> {
    if identifier != Some(EXTENSION_IDENTIFIER) {
        return write_status(writer, 403);
    }
    let (lock, condvar) = &**shared;
    let mut state = lock.lock().unwrap();
    while !state.finished {
        state = condvar.wait(state).unwrap();
    }
    drop(state);
    write_status(writer, 500)
}

pub fn write_status(writer: &mut TcpStream, status: u16) -> std::io::Result<()> {
    let body = if (200..300).contains(&status) {
        "{\"status\":\"OK\"}".to_owned()
    } else {
        format!("{{\"errorMessage\":\"fake status {status}\",\"errorType\":\"Fake.Status\"}}")
    };
    let answer = format!(
        "HTTP/1.1 {status} Fake\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    writer.write_all(answer.as_bytes())
}

/// Reads one HTTP/1.1 request; `None` at end of stream or on anything malformed.
pub fn read_request(
    reader: &mut BufReader<TcpStream>,
    connection: usize,
    keep: usize,
) -> Option<Recorded> {
    let line = read_line(reader)?;
    let mut parts = line.split(' ');
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let headers = read_fields(reader)?;
    let mut recorded = Recorded {
        method,
        path,
        headers,
        body: Vec::new(),
        body_len: 0,
        body_digest: Digest::new().finish(),
        trailers: Vec::new(),
        chunk_sizes: Vec::new(),
        connection,
    };
    if recorded
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        let mut body = BodySink::new(keep);
        loop {
            let size_line = read_line(reader)?;
            let size_hex = size_line.split(';').next()?.trim();
            let size = usize::from_str_radix(size_hex, 16).ok()?;
            if size == 0 {
                break;
            }
            body.read(reader, size)?;
            recorded.chunk_sizes.push(size);
            if !read_line(reader)?.is_empty() {
                return None; // chunk data must end with CRLF
            }
        }
        (recorded.body, recorded.body_len, recorded.body_digest) = body.finish();
        recorded.trailers = read_fields(reader)?;
    } else if let Some(length) = recorded.header("content-length") {
        let length: usize = length.trim().parse().ok()?;
        let mut body = BodySink::new(keep);
        body.read(reader, length)?;
        (recorded.body, recorded.body_len, recorded.body_digest) = body.finish();
    }
    Some(recorded)
}

/// FNV-1a, 64 bits: enough to tell two long bodies apart without keeping them.
pub struct Digest(u64);

impl Digest {
    pub fn new() -> Digest {
        Digest(0xcbf2_9ce4_8422_2325)
    }

    pub fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// The digest of `bytes`.
pub fn digest(bytes: &[u8]) -> u64 {
    let mut digest = Digest::new();
    digest.update(bytes);
    digest.finish()
}

/// A request body as it arrives: its first `keep` bytes, its length and its digest.
struct BodySink {
    kept: Vec<u8>,
    keep: usize,
    len: usize,
    digest: Digest,
}

impl BodySink {
    fn new(keep: usize) -> BodySink {
        BodySink {
            kept: Vec::new(),
            keep,
            len: 0,
            digest: Digest::new(),
        }
    }

    /// Reads exactly `size` bytes of body.
    fn read(&mut self, reader: &mut BufReader<TcpStream>, size: usize) -> Option<()> {
        let mut left = size;
        let mut scratch = vec![0; size.min(64 * 1024)];
        while left > 0 {
            let piece = &mut scratch[..left.min(64 * 1024)];
            reader.read_exact(piece).ok()?;
            self.digest.update(piece);
            let room = self.keep.saturating_sub(self.kept.len());
            self.kept.extend_from_slice(&piece[..piece.len().min(room)]);
            self.len += piece.len();
            left -= piece.len();
        }
        Some(())
    }

    fn finish(self) -> (Vec<u8>, usize, u64) {
        (self.kept, self.len, self.digest.finish())
    }
}

/// Header (or trailer) fields up to the empty line; names lower-cased.
fn read_fields(reader: &mut BufReader<TcpStream>) -> Option<Vec<(String, String)>> {
    let mut fields = Vec::new();
    loop {
        let line = read_line(reader)?;
        if line.is_empty() {
            return Some(fields);
        }
        let (name, value) = line.split_once(':')?;
        fields.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
}

/// One CRLF-terminated line without its CRLF; `None` at end of stream.
fn read_line(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut line = Vec::new();
    let read = reader.read_until(b'\n', &mut line).ok()?;
    if read == 0 || !line.ends_with(b"\r\n") {
        return None;
    }
    line.truncate(line.len() - 2);
    Some(String::from_utf8_lossy(&line).into_owned())
}

// ---------------------------------------------------------------------------------------
// Binaries

/// The cargo target directory this test was built into (…/target).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test binary>
    exe.parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

/// An example built by `cargo test` itself (debug profile, panic = unwind).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("profile dir")
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: cargo test builds examples first",
        path.display()
    );
    path
}

/// An example built with a cargo profile (e.g. `size`, which aborts on panic), built once per
/// test process.
pub fn example_in_profile(name: &str, profile: &str) -> PathBuf {
    static BUILD_LOCK: OnceLock<Mutex<()>> = OnceLock::new();
    let _serial = BUILD_LOCK
        .get_or_init(|| Mutex::new(()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let target = target_dir();
    let path = target.join(profile).join("examples").join(name);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--example",
            name,
            "--profile",
            profile,
            "--target-dir",
        ])
        .arg(&target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo build");
    assert!(
        output.status.success(),
        "cargo build --example {name} --profile {profile} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    path
}

/// A pipe of a child, read to its end by a thread of its own: the bytes so far, and whether
/// the pipe has closed (the child exited, or closed it). Waiters are woken on every read.
struct Pipe {
    state: Mutex<(Vec<u8>, bool)>,
    changed: Condvar,
}

impl Pipe {
    /// Starts the thread that reads `pipe` into a new `Pipe`.
    fn read(mut pipe: impl Read + Send + 'static) -> (Arc<Pipe>, thread::JoinHandle<()>) {
        let sink = Arc::new(Pipe {
            state: Mutex::new((Vec::new(), false)),
            changed: Condvar::new(),
        });
        let thread_sink = Arc::clone(&sink);
        let reader = thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            loop {
                let n = pipe.read(&mut buffer).unwrap_or(0);
                let mut state = thread_sink.state.lock().unwrap();
                if n == 0 {
                    state.1 = true;
                } else {
                    state.0.extend_from_slice(&buffer[..n]);
                }
                thread_sink.changed.notify_all();
                if n == 0 {
                    return;
                }
            }
        });
        (sink, reader)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.state.lock().unwrap().0).into_owned()
    }

    /// Waits until `done` holds over (bytes, closed), at most until `deadline`; false when the
    /// deadline passed first.
    fn wait_until(&self, deadline: Instant, done: impl Fn(&[u8], bool) -> bool) -> bool {
        let mut state = self.state.lock().unwrap();
        loop {
            if done(&state.0, state.1) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self.changed.wait_timeout(state, deadline - now).unwrap().0;
        }
    }
}

/// A running child process; killed when dropped. Its stdout and stderr are read to their end
/// by threads of their own, which [`Running::wait`] joins.
pub struct Running {
    child: Child,
    stderr: Arc<Pipe>,
    stdout: Arc<Pipe>,
    readers: Vec<thread::JoinHandle<()>>,
}

impl Running {
    /// Takes over a child spawned elsewhere with piped stdout and stderr: both are read to
    /// their end by threads of their own from now on.
    pub fn adopt(mut child: Child) -> Running {
        let (stdout, stdout_reader) = Pipe::read(child.stdout.take().expect("a piped stdout"));
        let (stderr, stderr_reader) = Pipe::read(child.stderr.take().expect("a piped stderr"));
        Running {
            child,
            stderr,
            stdout,
            readers: vec![stdout_reader, stderr_reader],
        }
    }

    /// True when the child closed both pipes (it exited) within `bound`, woken by the pipes
    /// themselves; [`Running::wait`] then returns at once.
    pub fn closed_within(&self, bound: Duration) -> bool {
        let deadline = Instant::now() + bound;
        [&self.stdout, &self.stderr]
            .iter()
            .all(|pipe| pipe.wait_until(deadline, |_, closed| closed))
    }

    /// Waits for the child to exit, with every byte it wrote read (panics after
    /// [`PATIENCE`]): both pipes close when it exits, then their readers are joined.
    pub fn wait(&mut self) -> ExitStatus {
        assert!(
            self.closed_within(PATIENCE),
            "the child did not exit (its stdout or stderr is still open) within {PATIENCE:?}; stderr: {}",
            self.stderr.text()
        );
        for reader in self.readers.drain(..) {
            reader.join().expect("a pipe reader panicked");
        }
        self.child.wait().expect("wait for the child")
    }

    /// True while the child has not exited.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the child's stderr contains `needle` (woken by every read of the pipe);
    /// panics after [`PATIENCE`], or as soon as stderr closes without it.
    pub fn wait_for_stderr(&self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        let found = |bytes: &[u8]| String::from_utf8_lossy(bytes).contains(needle);
        self.stderr
            .wait_until(deadline, |bytes, closed| found(bytes) || closed);
        let stderr = self.stderr();
        assert!(
            stderr.contains(needle),
            "stderr never contained {needle:?}: {stderr}"
        );
        stderr
    }

    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    pub fn stdout(&self) -> Vec<u8> {
        self.stdout.state.lock().unwrap().0.clone()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `program` with a clean environment holding only `envs` (and nothing else from the
/// test process), stdin closed, stdout and stderr collected.
pub fn spawn_with_env(
    program: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
    stdin: Option<Vec<u8>>,
) -> Running {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(envs.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // Not joined: it ends when the input is written or the child closes stdin.
        thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    Running::adopt(child)
}

/// Starts `program` as a Lambda would: `AWS_LAMBDA_RUNTIME_API` pointing at `api`, a few of
/// the usual variables, and `extra`.
pub fn spawn(program: &Path, api: &FakeApi, extra: &[(&str, &str)]) -> Running {
    let addr = api.addr();
    let mut envs = vec![("AWS_LAMBDA_RUNTIME_API", addr.as_str())];
    envs.extend_from_slice(&LAMBDA_VARS);
    envs.extend_from_slice(extra);
    spawn_with_env(program, &[], &envs, None)
}

/// Starts example `name` (debug build) against `api`.
pub fn spawn_example(name: &str, api: &FakeApi, extra: &[(&str, &str)]) -> Running {
    spawn(&example(name), api, extra)
}

/// Decodes standard base64 (with padding), independently of the runtime's encoder; `None`
/// for anything that is not valid base64.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if text.len() % 4 != 0 {
        return None;
    }
    let mut decoded = Vec::new();
    for quad in text.as_bytes().chunks(4) {
        let padding = quad.iter().rev().take_while(|&&c| c == b'=').count();
        let mut bits: u32 = 0;
        for &c in &quad[..4 - padding] {
            let value = ALPHABET.iter().position(|&a| a == c)? as u32;
            bits = (bits << 6) | value;
        }
        bits <<= 6 * padding as u32;
        let bytes = bits.to_be_bytes();
        decoded.extend_from_slice(&bytes[1..4 - padding]);
    }
    Some(decoded)
}

/// The peak resident memory (`VmHWM`) of a running process, in KiB, from `/proc`.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status"))
}
