//! The fake service's HTTP face on 127.0.0.1: CheckpointDurableExecution and
//! GetDurableExecutionState over real sockets, one thread per connection, kept alive, with the
//! faults a test queues: a dropped connection, an error status, a malformed answer, a
//! refused token.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;

use percent_encoding::percent_decode_str;

use super::service::{Refusal, Service};

/// Which call a fault is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// CheckpointDurableExecution.
    Checkpoint,
    /// GetDurableExecutionState.
    State,
}

/// What goes wrong with one call, in the order queued ([`FakeDurableService::inject`](super::FakeDurableService::inject)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The call arrives and is applied, then the connection closes without an answer.
    DropAfterApply,
    /// The call is answered with this status (429 throttling, a 5xx) and not applied.
    Status(u16),
    /// The call is applied, and answered 200 with a body that is not JSON.
    Malformed,
    /// The call is refused as if its token were stale (400 "Invalid checkpoint token").
    StaleToken,
}

/// One call the fake service received.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordedCall {
    /// Which call.
    pub call: Call,
    /// The request's path and query, as sent.
    pub target: String,
    /// The request's body (empty for a state call).
    pub body: Vec<u8>,
    /// The request's headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The status answered; `None` when the connection was dropped.
    pub status: Option<u16>,
    /// The fault applied to it, if any.
    pub fault: Option<Fault>,
    /// When it was received in full.
    pub received: std::time::Instant,
}

impl RecordedCall {
    /// The body as JSON (`null` when it is not JSON).
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

pub(crate) struct Shared {
    pub state: Mutex<Inner>,
    pub changed: Condvar,
}

pub(crate) struct Inner {
    pub service: Service,
    pub faults: VecDeque<(Call, Fault)>,
    pub calls: Vec<RecordedCall>,
    /// Operations per state page (and in an event's first page).
    pub page_size: usize,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The listening side: accepts until dropped.
pub(crate) struct Server {
    pub addr: std::net::SocketAddr,
    stopping: Arc<AtomicBool>,
    accepter: Option<thread::JoinHandle<()>>,
}

impl Server {
    pub(crate) fn start(shared: Arc<Shared>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("a bound address");
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&stopping);
        let accepter = thread::Builder::new()
            .name("fake-durable-service".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let shared = Arc::clone(&shared);
                    let _ = thread::Builder::new()
                        .name("fake-durable-connection".into())
                        .spawn(move || serve_connection(stream, &shared));
                }
            })
            .expect("spawn the fake service");
        Server {
            addr,
            stopping,
            accepter: Some(accepter),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accepter) = self.accepter.take() {
            let _ = accepter.join();
        }
    }
}

/// A request as read off the socket.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn serve_connection(mut stream: TcpStream, shared: &Shared) {
    let mut buffer = Vec::new();
    while let Ok(Some(request)) = read_request(&mut stream, &mut buffer) {
        let (status, body, drop_connection) = answer(&request, shared);
        if drop_connection {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            if status == 200 { "OK" } else { "Error" },
            body.len()
        );
        // One write for head and body: two small writes would leave the body waiting ~40 ms
        // for the client's delayed ACK (Nagle), on every answer after the first.
        let mut answer = head.into_bytes();
        answer.extend_from_slice(&body);
        if stream.write_all(&answer).is_err() {
            return;
        }
    }
}

/// The next request on the connection; `None` when the peer closed it.
fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<Option<Request>> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        if let httparse::Status::Complete(head_len) = parsed
            .parse(buffer)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error.to_string()))?
        {
            let method = parsed.method.unwrap_or("").to_owned();
            let target = parsed.path.unwrap_or("").to_owned();
            let headers: Vec<(String, String)> = parsed
                .headers
                .iter()
                .map(|header| {
                    (
                        header.name.to_ascii_lowercase(),
                        String::from_utf8_lossy(header.value).into_owned(),
                    )
                })
                .collect();
            let length = headers
                .iter()
                .find(|(name, _)| name == "content-length")
                .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buffer.len() < head_len + length {
                let read = stream.read(&mut chunk)?;
                if read == 0 {
                    return Ok(None);
                }
                buffer.extend_from_slice(&chunk[..read]);
            }
            let body = buffer[head_len..head_len + length].to_vec();
            buffer.drain(..head_len + length);
            return Ok(Some(Request {
                method,
                target,
                headers,
                body,
            }));
        }
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

/// The status and body of the answer to `request`, and whether to drop the connection
/// instead of answering.
fn answer(request: &Request, shared: &Shared) -> (u16, Vec<u8>, bool) {
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    let route = path
        .strip_prefix("/2025-12-01/durable-executions/")
        .and_then(|rest| rest.rsplit_once('/'))
        .map(|(arn, call)| {
            (
                percent_decode_str(arn).decode_utf8_lossy().into_owned(),
                call,
            )
        });
    let (arn, call) = match route {
        Some((arn, "checkpoint")) if request.method == "POST" => (arn, Call::Checkpoint),
        Some((arn, "state")) if request.method == "GET" => (arn, Call::State),
        _ => {
            return (
                404,
                error_body("UnknownOperationException", &request.target),
                false,
            )
        }
    };
    let mut inner = shared.lock();
    let fault = match inner.faults.front() {
        Some((for_call, _)) if *for_call == call => {
            inner.faults.pop_front().map(|(_, fault)| fault)
        }
        _ => None,
    };
    let outcome: Result<Vec<u8>, Refusal> = match fault {
        Some(Fault::Status(status)) => Err((
            status,
            if status == 429 {
                "TooManyRequestsException"
            } else {
                "ServiceException"
            },
            "injected".to_owned(),
        )),
        Some(Fault::StaleToken) => Err((
            400,
            "InvalidParameterValueException",
            "Invalid checkpoint token".to_owned(),
        )),
        _ => match call {
            Call::Checkpoint => inner.service.checkpoint(&arn, &request.body),
            Call::State => {
                let parameter = |name: &str| {
                    query
                        .split('&')
                        .filter_map(|pair| pair.split_once('='))
                        .find(|(key, _)| *key == name)
                        .map(|(_, value)| {
                            percent_decode_str(value).decode_utf8_lossy().into_owned()
                        })
                        .unwrap_or_default()
                };
                let max_items = parameter("MaxItems")
                    .parse()
                    .unwrap_or(1000)
                    .min(inner.page_size);
                inner.service.state(
                    &arn,
                    &parameter("CheckpointToken"),
                    &parameter("Marker"),
                    max_items,
                )
            }
        },
    };
    let (status, body, drop_connection) = match (fault, outcome) {
        (Some(Fault::DropAfterApply), _) => (None, Vec::new(), true),
        (Some(Fault::Malformed), Ok(_)) => (Some(200), b"{\"CheckpointToken\": ".to_vec(), false),
        (_, Ok(body)) => (Some(200), body, false),
        (_, Err((status, error_type, message))) => {
            (Some(status), error_body(error_type, &message), false)
        }
    };
    inner.calls.push(RecordedCall {
        call,
        target: request.target.clone(),
        body: request.body.clone(),
        headers: request.headers.clone(),
        status,
        fault,
        received: std::time::Instant::now(),
    });
    shared.changed.notify_all();
    (status.unwrap_or(0), body, drop_connection)
}

fn error_body(error_type: &str, message: &str) -> Vec<u8> {
    serde_json::json!({"Type": error_type, "message": message})
        .to_string()
        .into_bytes()
}
