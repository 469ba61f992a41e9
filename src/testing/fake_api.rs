//! The fake Lambda Runtime API: a server on 127.0.0.1 (port 0) that hands out queued events on
//! `next`, records every request it receives, checks the answers, and misbehaves on request.
//!
//! It speaks HTTP/1.1 over real sockets with keep-alive, one thread per connection. Standard
//! library only: build.sh compiles this file and `wire.rs` into its smoke test with `rustc`
//! alone (src/testing/smoke_api.rs).

use std::collections::{HashMap, VecDeque};
use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::wire::{read_request, write_status, Recorded};

/// How long a wait of the fake ([`FakeApi::wait_until`] and the waits built on it) lasts before
/// it fails the test: generous, because CI machines are slow and shared; it only turns a hang
/// into a clear failure.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The identifier the fake hands out to a registered extension.
pub const EXTENSION_IDENTIFIER: &str = "fake-extension-7c1f";
/// Path of the Extensions API's register call.
pub const REGISTER_PATH: &str = "/2020-01-01/extension/register";
/// Path of the Extensions API's event/next call.
pub const EVENT_NEXT_PATH: &str = "/2020-01-01/extension/event/next";

/// A call of the Runtime API where [`FakeApi::inject`] can place a [`Fault`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// `GET /runtime/invocation/next`.
    Next,
    /// `POST /runtime/invocation/{id}/response`.
    Response,
    /// `POST /runtime/invocation/{id}/error`.
    Error,
    /// `POST /runtime/init/error`.
    InitError,
}

/// What the fake does wrong, once, at a [`Step`]: the faults of the crate docs' fault table.
///
/// ```
/// use lambda_loop::runtime::RuntimeError;
/// use lambda_loop::testing::{serve_in_thread, Event, FakeApi, Fault, Step};
///
/// // A 5xx to an answer post means the environment is broken: the loop stops (an entry
/// // point then exits with one line), after the invocation was answered once.
/// let api = FakeApi::start();
/// api.inject(Step::Response, Fault::Status(500));
/// let served = serve_in_thread(&api, |event: &[u8], _ctx: lambda_loop::Context| Ok(event.to_vec()));
/// api.push_event(Event::new("doomed", "x"));
/// let failure = served.join();
/// assert!(matches!(failure, RuntimeError::Status { status: 500, .. }), "{failure}");
/// assert_eq!(api.answers().len(), 1);
/// ```
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

/// One event, handed out on a `GET .../invocation/next`, and how the fake treats its answer.
///
/// ```
/// use lambda_loop::runtime::RuntimeError;
/// use lambda_loop::testing::{serve_in_thread, Event, FakeApi};
///
/// let api = FakeApi::start();
/// let served = serve_in_thread(&api, |_event: &[u8], ctx: lambda_loop::Context| {
///     Ok(ctx.xray_trace_id.unwrap_or_default().into_bytes())
/// });
/// api.push_event(Event::new("traced", "{}").header("Lambda-Runtime-Trace-Id", "Root=1-a-b"));
/// // Without a request id there is no invocation to answer: the loop stops, answering nothing.
/// api.push_event(Event::new("", "{}").without_request_id());
/// let failure = served.join();
/// assert!(matches!(failure, RuntimeError::Protocol { .. }), "{failure}");
/// let answers = api.answers();
/// assert_eq!(answers.len(), 1);
/// assert_eq!(answers[0].body, b"Root=1-a-b");
/// ```
#[derive(Clone, Debug)]
pub struct Event {
    request_id: Option<String>,
    body: Arc<[u8]>,
    headers: Vec<(String, Vec<u8>)>,
    chunked: bool,
    drop_answer_connection: bool,
    answer_status: u16,
    close_after_answer: bool,
    short_body: bool,
}

impl Event {
    /// An event with request id `request_id`, a deadline 60 s ahead, and `body`.
    pub fn new(request_id: &str, body: impl Into<Vec<u8>>) -> Event {
        let deadline = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            + 60_000;
        Event {
            request_id: Some(request_id.to_owned()),
            body: body.into().into(),
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

    /// [`Event::new`] with a body shared with other events instead of copied: for many
    /// events of one large body.
    pub fn shared(request_id: &str, body: Arc<[u8]>) -> Event {
        Event {
            body,
            ..Event::new(request_id, Vec::new())
        }
    }

    /// The request id, if the event has one.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The body the runtime receives.
    pub fn body(&self) -> &[u8] {
        &self.body
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

    /// The `next` answer carries no request id header at all.
    pub fn without_request_id(mut self) -> Event {
        self.request_id = None;
        self
    }

    /// The body goes out with `Transfer-Encoding: chunked` instead of `Content-Length`.
    pub fn chunked(mut self) -> Event {
        self.chunked = true;
        self
    }

    /// The fake closes the connection, without answering, when the runtime posts this event's
    /// answer.
    pub fn drop_answer_connection(mut self) -> Event {
        self.drop_answer_connection = true;
        self
    }

    /// The `next` answer's body is shorter than its Content-Length, then the connection closes.
    pub fn short_body(mut self) -> Event {
        self.short_body = true;
        self
    }

    /// The fake closes the connection right after answering this event's post (as an idle
    /// connection is closed).
    pub fn close_after_answer(mut self) -> Event {
        self.close_after_answer = true;
        self
    }

    /// The status of the fake's answer to this event's post (default 202).
    pub fn answer_status(mut self, status: u16) -> Event {
        self.answer_status = status;
        self
    }
}

#[derive(Default)]
struct State {
    events: VecDeque<Event>,
    /// Events handed out, by request id, to find how to answer their posts.
    handed_out: HashMap<String, Event>,
    /// When the last byte of each handed-out event was written, by request id.
    written_at: HashMap<String, Instant>,
    requests: Vec<Recorded>,
    connections: usize,
    finished: bool,
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
    /// Status for `POST /2020-01-01/extension/register`.
    register_status: u16,
    /// Status for `GET /runtime/restore/next`.
    restore_next_status: u16,
    /// Close the connection right after answering `restore/next`, as a snapshot does.
    drop_after_restore: bool,
    /// Leave the `next` calls waiting when the fake is dropped, instead of answering 500.
    hold_next_on_drop: bool,
    /// Answers that broke a rule the fake checks on every answer (the invocation id echoed
    /// exactly when `next` sent one).
    violations: Vec<String>,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

/// The fake Runtime API. Dropping it answers every waiting `next` with 500 (so a runtime
/// exits), and fails the test if an answer broke the protocol (see [`FakeApi::take_violations`]).
///
/// Every request is recorded, in order, with the connection it came on:
///
/// ```
/// use lambda_loop::testing::{serve_in_thread, Event, FakeApi};
///
/// let api = FakeApi::start();
/// let served = serve_in_thread(&api, |event: &[u8], _ctx: lambda_loop::Context| Ok(event.to_vec()));
/// api.push_event(Event::new("one", "1"));
/// api.push_event(Event::new("two", "2"));
/// served.wait_for_answers(&api, 2);
/// served.finish(&api);
/// let calls: Vec<String> = api.requests().iter().map(|r| format!("{} {}", r.method, r.path)).collect();
/// assert_eq!(calls, [
///     "GET /2018-06-01/runtime/invocation/next",
///     "POST /2018-06-01/runtime/invocation/one/response",
///     "GET /2018-06-01/runtime/invocation/next",
///     "POST /2018-06-01/runtime/invocation/two/response",
///     "GET /2018-06-01/runtime/invocation/next",
/// ]);
/// assert_eq!(api.connections(), 1); // one kept-alive connection for all of it
/// ```
///
/// A function binary started as a child process is served the same way: give it
/// `AWS_LAMBDA_RUNTIME_API` = [`FakeApi::addr`].
pub struct FakeApi {
    addr: String,
    shared: Shared,
}

impl FakeApi {
    /// Starts the fake on 127.0.0.1 with a free port.
    pub fn start() -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("a bound address").to_string();
        let shared: Shared = Arc::new((
            Mutex::new(State {
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
                    let mut state = lock(&accept_shared);
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
        lock(&self.shared)
    }

    /// Queues an event for the next `next` call.
    pub fn push_event(&self, event: Event) {
        self.state().events.push_back(event);
        self.shared.1.notify_all();
    }

    /// From now on `next` is answered with 500 (the spec's "environment broken"), so a runtime
    /// exits (its loop returns the failure).
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
        let waiting = self.wait_for_state(PATIENCE, |state| state.waiting_next >= n);
        assert!(
            waiting.is_some(),
            "timed out waiting for {n} concurrent next calls; {} are waiting",
            self.waiting_next()
        );
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

    /// When dropped, leaves the waiting `next` calls unanswered instead of answering 500: for
    /// a runtime that must not stop while the test process lives, such as
    /// [`concurrent`](crate::concurrent) with several slots (a failed slot ends the process).
    pub fn hold_next_on_drop(&self) {
        self.state().hold_next_on_drop = true;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    /// Posts that answer invocations, in arrival order.
    pub fn answers(&self) -> Vec<Recorded> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.is_answer())
            .cloned()
            .collect()
    }

    /// How many TCP connections were accepted.
    pub fn connections(&self) -> usize {
        self.state().connections
    }

    /// When the last byte of the event with `request_id` went out, if it was handed out.
    pub fn event_written_at(&self, request_id: &str) -> Option<Instant> {
        self.state().written_at.get(request_id).copied()
    }

    /// The answers so far that broke a rule the fake checks on every answer: the
    /// `Lambda-Runtime-Invocation-Id` of `next` echoed unchanged, and none when `next` sent
    /// none. Taken: dropping the fake then no longer fails the test for them.
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut self.state().violations)
    }

    /// Waits until `predicate` holds over the recorded requests, at most `bound`: the
    /// requests then, or `None` when the time ran out. Woken by every request and by
    /// [`FakeApi::finish`].
    pub fn wait_until_within(
        &self,
        bound: Duration,
        predicate: impl Fn(&[Recorded]) -> bool,
    ) -> Option<Vec<Recorded>> {
        self.wait_for_state(bound, |state| predicate(&state.requests))
            .map(|state| state.requests.clone())
    }

    /// Waits until `predicate` holds over the recorded requests; panics after [`PATIENCE`],
    /// naming `what` and every request seen.
    pub fn wait_until(&self, what: &str, predicate: impl Fn(&[Recorded]) -> bool) -> Vec<Recorded> {
        self.wait_until_within(PATIENCE, predicate)
            .unwrap_or_else(|| {
                let seen: Vec<String> = self
                    .requests()
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect();
                panic!("timed out waiting for {what}; requests seen: {seen:#?}");
            })
    }

    /// Waits for at least `n` answer posts and returns all of them; panics after [`PATIENCE`].
    pub fn wait_for_answers(&self, n: usize) -> Vec<Recorded> {
        self.wait_until(&format!("{n} answer posts"), |requests| {
            requests.iter().filter(|r| r.is_answer()).count() >= n
        });
        self.answers()
    }

    /// Waits until `done` holds over the state, at most `bound`.
    fn wait_for_state(
        &self,
        bound: Duration,
        done: impl Fn(&State) -> bool,
    ) -> Option<MutexGuard<'_, State>> {
        let deadline = Instant::now() + bound;
        let mut state = self.state();
        loop {
            if done(&state) {
                return Some(state);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            state = self
                .shared
                .1
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// A handle that wakes every wait on this fake, for a wait whose condition also looks
    /// outside the fake (a runtime thread that stopped).
    pub(crate) fn waker(&self) -> Waker {
        Waker(Arc::clone(&self.shared))
    }
}

/// Wakes the waits of one [`FakeApi`] (see [`FakeApi::waker`]).
#[derive(Clone)]
pub(crate) struct Waker(Shared);

impl Waker {
    /// Wakes every wait, after the caller changed what they wait for.
    pub(crate) fn wake(&self) {
        let guard = lock(&self.0);
        self.0 .1.notify_all();
        drop(guard);
    }

    /// True when this wakes the waits of `api`.
    pub(crate) fn is_of(&self, api: &FakeApi) -> bool {
        Arc::ptr_eq(&self.0, &api.shared)
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        if !self.state().hold_next_on_drop {
            self.finish();
        }
        let violations = self.take_violations();
        if !violations.is_empty() && !thread::panicking() {
            panic!("the runtime broke the protocol: {violations:#?}");
        }
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    // A test that panicked while holding the lock must not hide its panic behind this one.
    shared
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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

/// The handed-out event that a post to `path` answers (by its request id as the path's
/// segment).
fn event_of<'a>(state: &'a State, request: &Recorded) -> Option<&'a Event> {
    let rest = request.path.split_once("/runtime/invocation/")?.1;
    let (id, _) = rest.split_once('/')?;
    state.handed_out.get(id)
}

fn serve_connection(stream: TcpStream, connection: usize, shared: Shared) {
    let Ok(reader_stream) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader_stream);
    let mut writer = stream;
    loop {
        let keep = lock(&shared).keep_body_bytes.unwrap_or(usize::MAX);
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
            let mut state = lock(&shared);
            let event = event_of(&state, &request).cloned();
            if let Some(violation) = event
                .as_ref()
                .and_then(|event| invocation_id_violation(&request, event))
            {
                state.violations.push(violation);
            }
            state.requests.push(request);
            shared.1.notify_all();
            let fault = step.and_then(|step| {
                let index = state.faults.iter().position(|(s, _)| *s == step)?;
                Some(state.faults.remove(index).1)
            });
            (event, fault)
        };
        if let Some(Fault::Stall(pause)) = fault {
            thread::sleep(pause);
        }
        let fault = fault.filter(|f| !matches!(f, Fault::Stall(_)));
        let written = match (step, fault) {
            _ if path.ends_with("/runtime/restore/next") => {
                let (status, drop_after) = {
                    let state = lock(&shared);
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
                let status = lock(&shared).init_error_status;
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
    shared: &Shared,
    fault: Option<Fault>,
) -> std::io::Result<()> {
    let mut state = lock(shared);
    state.waiting_next += 1;
    state.most_waiting_next = state.most_waiting_next.max(state.waiting_next);
    shared.1.notify_all();
    let event = loop {
        if let Some(event) = state.events.pop_front() {
            break event;
        }
        if state.finished {
            state.waiting_next -= 1;
            drop(state);
            return write_status(writer, 500);
        }
        state = shared
            .1
            .wait(state)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    };
    state.waiting_next -= 1;
    if let Some(id) = &event.request_id {
        state.handed_out.insert(id.clone(), event.clone());
    }
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
        writer.write_all(b"0\r\n\r\n")?;
    } else {
        head.extend_from_slice(format!("Content-Length: {}\r\n\r\n", event.body.len()).as_bytes());
        writer.write_all(&head)?;
        writer.write_all(&event.body)?;
    }
    if let Some(id) = event.request_id {
        lock(shared).written_at.insert(id, Instant::now());
    }
    Ok(())
}

/// `POST /2020-01-01/extension/register`: 200 with an identifier for a named extension, 400
/// without a name, or the status set with [`FakeApi::set_register_status`].
fn answer_register(
    writer: &mut TcpStream,
    shared: &Shared,
    name: Option<&str>,
) -> std::io::Result<()> {
    let status = lock(shared).register_status;
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
    shared: &Shared,
    identifier: Option<&str>,
) -> std::io::Result<()> {
    if identifier != Some(EXTENSION_IDENTIFIER) {
        return write_status(writer, 403);
    }
    let mut state = lock(shared);
    while !state.finished {
        state = shared
            .1
            .wait(state)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
    drop(state);
    write_status(writer, 500)
}
