//! The Runtime API's calls, one method each, over one ureq agent that keeps one connection
//! alive; and the rules around them, each stated once here: how an answer is judged, when a
//! call is tried again, and that an answer is read to its end.
//!
//! | call | path (under `http://$AWS_LAMBDA_RUNTIME_API/2018-06-01`) |
//! |---|---|
//! | [`Client::next`] | `GET /runtime/invocation/next` |
//! | [`Client::respond`] | `POST /runtime/invocation/{id}/response` |
//! | [`Client::fail`] | `POST /runtime/invocation/{id}/error` |
//! | [`Client::init_fail`] | `POST /runtime/init/error` |
//! | [`Client::open_stream`] | `POST /runtime/invocation/{id}/response`, streamed (`chunked.rs`) |

use std::io::{self, ErrorKind, Read};
use std::net::TcpStream;
use std::sync::Arc;
use std::thread::sleep;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use ureq::http::{Response, Uri};

use crate::chunked::{self, ChunkedWriter};
use crate::context::{Config, Context, Invocation};
use crate::error::{Error, RuntimeError};
use crate::inflight::Abandon;
use crate::protocol::{
    content_type, error_type, header, path, MAX_ANSWER_BYTES, MAX_EVENT_BYTES, MAX_HEADER_BYTES,
    MAX_RESPONSE_BYTES, MAX_XRAY_CAUSE_BYTES, RETRY_PAUSES, STREAMING, USER_AGENT, VERSION,
};
use crate::runtime_line::runtime_line;
use crate::transport::{loopback_or_literal, LoopbackConnector, ResolveOnce};

/// A client of one Runtime API endpoint: the building blocks of a loop. Cheap to clone (the
/// agent and the endpoint are shared); a clone shares the kept-alive connection, while
/// [`Client::new`] makes one with a connection of its own.
///
/// ```no_run
/// use std::sync::Arc;
/// use lambda_loop::runtime::Client;
///
/// // A loop of your own: the same three steps as the crate's, one call each.
/// let client = Client::new("127.0.0.1:9001")?;
/// let config = Arc::new(lambda_loop::Config::default());
/// loop {
///     let delivery = client.next(&config)?;
///     match delivery.event {
///         Ok(event) => client.respond(&delivery.invocation, &event)?,
///         Err(error) => client.fail(&delivery.invocation, &error)?,
///     }
/// }
/// # Ok::<(), lambda_loop::runtime::RuntimeError>(())
/// ```
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    endpoint: Arc<Endpoint>,
}

/// Where the Runtime API is, parsed once.
struct Endpoint {
    /// `http://host:port[/prefix]/2018-06-01`: every call's URL starts with it.
    base: Uri,
    /// The same as text, written once: every post's URL is this plus a path.
    base_text: String,
    /// The `next` URL: every invocation asks for it.
    next: Uri,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.endpoint.base)
            .finish()
    }
}

/// What one `next` answer delivered: whom to answer, the handler's context, and the event
/// body (or why it could not be read, which is then this invocation's error).
#[derive(Debug)]
#[non_exhaustive]
pub struct Delivery {
    /// Whom the answer goes to.
    pub invocation: Invocation,
    /// What the handler gets to know.
    pub context: Context,
    /// The event, or a `Runtime.InvalidEvent` error to post instead of calling the handler.
    pub event: Result<Vec<u8>, Error>,
}

impl Client {
    /// A client for `endpoint`, the value of `AWS_LAMBDA_RUNTIME_API`: `host:port` on Lambda,
    /// or `http://host:port/prefix` from some emulators (the prefix is kept).
    pub fn new(endpoint: &str) -> Result<Client, RuntimeError> {
        let (base, base_text) = base_of(endpoint, VERSION)?;
        let mut next = String::with_capacity(base_text.len() + path::NEXT.len());
        next.push_str(&base_text);
        next.push_str(path::NEXT);
        // Parsed from the String it is given: no copy.
        let next = Uri::try_from(next).map_err(|_| RuntimeError::BadEndpoint {
            value: endpoint.to_owned(),
            reason: "it does not make a valid URL",
        })?;
        Ok(Client {
            agent: loopback_agent(),
            endpoint: Arc::new(Endpoint {
                base_text,
                base,
                next,
            }),
        })
    }

    /// A client of the same endpoint with a connection of its own (for another loop thread).
    pub fn with_own_connection(&self) -> Client {
        Client {
            agent: loopback_agent(),
            endpoint: Arc::clone(&self.endpoint),
        }
    }

    /// `GET /runtime/invocation/next`: blocks (with no timeout) until Lambda has an event.
    pub fn next(&self, config: &Arc<Config>) -> Result<Delivery, RuntimeError> {
        self.next_into(config, Vec::new())
    }

    /// [`Client::next`], reading the event into `buffer` (emptied first): the loop hands back
    /// the previous event's buffer, so that a small event costs no allocation.
    pub(crate) fn next_into(
        &self,
        config: &Arc<Config>,
        mut buffer: Vec<u8>,
    ) -> Result<Delivery, RuntimeError> {
        // Written only when a failure is reported.
        let call = || format!("GET {}", path::NEXT);
        let answer = retry(
            || self.agent.get(self.endpoint.next.clone()).call(),
            unanswered,
        );
        let mut response = answer.map_err(|failure| {
            if unanswered(&failure) {
                RuntimeError::Unreachable {
                    call: call(),
                    detail: failure.to_string(),
                }
            } else {
                // An answer came but was not valid HTTP: its event can't be answered (there
                // is no request id to answer to) and asking again would skip it silently.
                RuntimeError::Protocol {
                    detail: format!("{}: {failure}", call()),
                }
            }
        })?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(RuntimeError::Status {
                call: call(),
                status,
            });
        }
        let headers = response.headers().iter();
        let context =
            Context::from_headers(headers.map(|(n, v)| (n.as_str(), v.as_bytes())), config)
                .map_err(|detail| RuntimeError::Protocol {
                    detail: format!("{} answered 200 but {detail}", call()),
                })?;
        let body = response.body_mut();
        // Sized from Content-Length up front: a 6 MB event is read without regrowing.
        let expected = body.content_length().unwrap_or(0).min(MAX_EVENT_BYTES);
        buffer.clear();
        buffer.reserve(expected as usize);
        let mut event = buffer;
        let event = body
            .with_config()
            .limit(MAX_EVENT_BYTES)
            .reader()
            .read_to_end(&mut event)
            .map(|_| event)
            .map_err(|error| {
                Error::new(
                    error_type::INVALID_EVENT,
                    format!("the event body could not be read: {error}"),
                )
            });
        Ok(Delivery {
            invocation: Invocation::of(&context),
            context,
            event,
        })
    }

    /// `POST /runtime/invocation/{id}/response` with the handler's response as the body. A
    /// response larger than [`MAX_RESPONSE_BYTES`] is not posted: the invocation gets a
    /// `Runtime.ResponseTooLarge` error instead (a too-large post would get 413, and the error
    /// after it 403, leaving the caller with nothing).
    pub fn respond(&self, invocation: &Invocation, response: &[u8]) -> Result<(), RuntimeError> {
        if response.len() > MAX_RESPONSE_BYTES {
            return self.fail(invocation, &too_large(response.len()));
        }
        // The URL is built once and moved into the request (ureq would copy a borrowed one);
        // only a retry after a refused connection builds it again.
        let mut url = Some(self.post_url(Some(invocation), path::RESPONSE));
        let answer = retry(
            || {
                let url = url
                    .take()
                    .unwrap_or_else(|| self.post_url(Some(invocation), path::RESPONSE))?;
                with_invocation_id(self.agent.post(url), invocation).send(response)
            },
            refused,
        );
        judge_post(InvocationPath(invocation, path::RESPONSE), answer)
    }

    /// `POST /runtime/invocation/{id}/error` with the error JSON.
    pub fn fail(&self, invocation: &Invocation, error: &Error) -> Result<(), RuntimeError> {
        let answer = self.post_error(path::ERROR, Some(invocation), error);
        judge_post(InvocationPath(invocation, path::ERROR), answer)
    }

    /// `POST /runtime/init/error`: initialisation failed, before the first `next`. Unlike
    /// the invocation posts, any failure here is returned: the process is about to exit and
    /// its last line should say whether Lambda got the report.
    pub fn init_fail(&self, error: &Error) -> Result<(), String> {
        self.post_before_exit(path::INIT_ERROR, error)
    }

    /// Posts `error` to `/runtime/init/error` and gives the reason the runtime stops, saying
    /// whether Lambda got the report: what every failed initialisation ends in.
    pub(crate) fn init_failed(&self, error: &Error) -> RuntimeError {
        RuntimeError::Init {
            error_type: error.error_type().to_owned(),
            message: error.message().to_owned(),
            unreported: self.init_fail(error).err(),
        }
    }

    /// `GET /runtime/restore/next` (SnapStart): Lambda takes the snapshot while this waits,
    /// and answers in the restored environment. `Err` says why it did not answer with a 2xx.
    pub fn restore_next(&self) -> Result<(), String> {
        let call = format!("GET {}", path::RESTORE_NEXT);
        let url = format!("{}{}", self.endpoint.base, path::RESTORE_NEXT);
        match retry(|| self.agent.get(&url).call(), unanswered) {
            Ok(mut response) => {
                drain(&mut response);
                match response.status().as_u16() {
                    200..=299 => Ok(()),
                    status => Err(format!("{call} answered {status}")),
                }
            }
            Err(failure) => Err(format!("{call} failed ({failure})")),
        }
    }

    /// `POST /runtime/restore/error` (SnapStart): an after-restore hook failed. The process
    /// exits next; `Err` says whether Lambda got the report.
    pub fn restore_fail(&self, error: &Error) -> Result<(), String> {
        self.post_before_exit(path::RESTORE_ERROR, error)
    }

    /// An error post after which the process exits: any failure is returned, so that the
    /// last line can say whether Lambda got the report.
    fn post_before_exit(&self, path: &str, error: &Error) -> Result<(), String> {
        let call = format!("POST {path}");
        match self.post_error(path, None, error) {
            Ok(mut response) if response.status().is_success() => {
                drain(&mut response);
                Ok(())
            }
            Ok(response) => Err(format!("{call} answered {}", response.status().as_u16())),
            Err(failure) => Err(format!("{call} failed ({failure})")),
        }
    }

    /// Opens a streamed `POST /runtime/invocation/{id}/response` on a connection of its own:
    /// the head goes out with the first chunk. Fails only when the Runtime API cannot be
    /// reached, so nothing was sent and the invocation can still get an error post.
    pub(crate) fn open_stream(
        &self,
        invocation: &Invocation,
        body_type: &str,
    ) -> Result<StreamPost, String> {
        let authority = self.endpoint.base.authority().map_or("", |a| a.as_str());
        let base_path = self.endpoint.base.path();
        let path = format!("{base_path}{}", invocation_path(invocation, path::RESPONSE));
        let socket = retry(
            || TcpStream::connect(authority),
            |e| e.kind() == ErrorKind::ConnectionRefused,
        )
        .and_then(|socket| {
            // Chunks are whole writes already: Nagle's delay would only hold back the
            // small last one until the previous chunk is acknowledged.
            socket.set_nodelay(true)?;
            Ok(socket)
        })
        .map_err(|error| error.to_string())?;
        let mut headers = vec![
            (header::CONTENT_TYPE, body_type),
            (header::RESPONSE_MODE, STREAMING),
        ];
        if let Some(id) = invocation.invocation_id() {
            headers.push((header::INVOCATION_ID, id));
        }
        let head = chunked::request_head(authority, &path, &headers);
        Ok(StreamPost {
            call: format!("POST {path}"),
            body: ChunkedWriter::new(socket, head),
        })
    }

    /// A post's URL: `{base}/runtime/invocation/{encoded id}{path}` for an invocation's
    /// answer, `{base}{path}` otherwise; written in one allocation of the exact size (every
    /// real id passes unencoded) and parsed in place, not copied by ureq.
    fn post_url(&self, invocation: Option<&Invocation>, path: &str) -> Result<Uri, ureq::Error> {
        let base = &self.endpoint.base_text;
        let id = invocation.map_or("", |invocation| invocation.request_id());
        let prefix = invocation.map_or("", |_| path::INVOCATION);
        let mut url = String::with_capacity(base.len() + prefix.len() + id.len() + path.len());
        url.push_str(base);
        url.push_str(prefix);
        url.extend(utf8_percent_encode(id, ID_SEGMENT));
        url.push_str(path);
        Uri::try_from(url).map_err(|invalid| ureq::Error::Http(invalid.into()))
    }

    /// An error post: to `path` under the invocation when there is one, else under the base.
    fn post_error(
        &self,
        path: &str,
        invocation: Option<&Invocation>,
        error: &Error,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        // Built once; again only for a retry after a refused connection.
        let mut first = Some(self.post_url(invocation, path));
        let body = error.to_json();
        let error_type = error.error_type_header();
        // Only an invocation's error has a trace for X-Ray to attach the cause to.
        let cause =
            invocation.and_then(|_| error.xray_cause(working_directory(), MAX_XRAY_CAUSE_BYTES));
        let send = || {
            let url = first
                .take()
                .unwrap_or_else(|| self.post_url(invocation, path))?;
            let mut request = self
                .agent
                .post(url)
                .header(header::ERROR_TYPE, &error_type)
                .header(header::CONTENT_TYPE, content_type::ERROR);
            if let Some(cause) = &cause {
                request = request.header(header::XRAY_ERROR_CAUSE, cause);
            }
            match invocation {
                Some(invocation) => with_invocation_id(request, invocation),
                None => request,
            }
            .send(&body[..])
        };
        retry(send, refused)
    }
}

/// The panic hook answers this slot's invocation through its client.
impl Abandon for Client {
    fn abandon(&self, invocation: &Invocation, error: &Error) -> bool {
        if let Err(failure) = self.fail(invocation, error) {
            runtime_line!(Error, "the panic could not be reported: {failure}");
        }
        true
    }
}

/// A streamed response post in progress: chunks, then the end (with trailers on failure).
pub(crate) struct StreamPost {
    call: String,
    body: ChunkedWriter<TcpStream>,
}

impl StreamPost {
    /// `POST <path>`, for messages.
    pub fn call(&self) -> &str {
        &self.call
    }

    /// Sends `data` as one chunk.
    pub fn chunk(&mut self, data: &[u8]) -> io::Result<()> {
        self.body.chunk(data)
    }

    /// Sends `last` and the end of the body (trailers for `error`), reads the answer, and
    /// judges it as every post's answer is judged. `Err(detail)` when the post broke part way:
    /// the invocation can then not be answered again.
    pub fn end(
        mut self,
        last: &[u8],
        error: Option<&Error>,
    ) -> Result<Result<(), RuntimeError>, String> {
        self.body
            .end(last, error)
            .and_then(|()| chunked::read_answer(self.body.sink()))
            .map(|status| judge(&self.call, status))
            .map_err(|failure| format!("{} failed part way ({failure})", self.call))
    }
}

/// The request id as one safe path segment: ASCII letters, digits, `-` and `_` pass (every
/// real id is a UUID); every other byte is percent-encoded, so an id such as `../../x` or
/// `a?b#c` can never change which path is posted to.
const ID_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');

/// `/runtime/invocation/{encoded id}{suffix}`.
/// Built in one allocation of the exact size (every real id passes unencoded), not grown
/// piece by piece.
fn invocation_path(invocation: &Invocation, suffix: &str) -> String {
    let id = invocation.request_id();
    let mut path = String::with_capacity(path::INVOCATION.len() + id.len() + suffix.len());
    path.push_str(path::INVOCATION);
    path.extend(utf8_percent_encode(id, ID_SEGMENT));
    path.push_str(suffix);
    path
}

/// `/runtime/invocation/{encoded id}{suffix}` for messages: written only when one is printed.
struct InvocationPath<'a>(&'a Invocation, &'static str);

impl std::fmt::Display for InvocationPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let InvocationPath(invocation, suffix) = self;
        let id = utf8_percent_encode(invocation.request_id(), ID_SEGMENT);
        write!(f, "{}{id}{suffix}", path::INVOCATION)
    }
}

/// The request id as it appears in the path (for the fuzz target).
#[cfg(fuzzing)]
pub(crate) fn encode_id(request_id: &str) -> String {
    utf8_percent_encode(request_id, ID_SEGMENT).to_string()
}

/// Echoes the delivery's invocation id on an answer, when `next` sent one.
fn with_invocation_id<B>(
    request: ureq::RequestBuilder<B>,
    invocation: &Invocation,
) -> ureq::RequestBuilder<B> {
    match invocation.invocation_id() {
        Some(id) => request.header(header::INVOCATION_ID, id),
        None => request,
    }
}

/// The process's working directory, for X-Ray causes: read once, on the first error.
fn working_directory() -> &'static str {
    static DIRECTORY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DIRECTORY.get_or_init(|| {
        std::env::current_dir().map_or_else(|_| String::new(), |dir| dir.display().to_string())
    })
}

fn too_large(bytes: usize) -> Error {
    Error::new(
        error_type::RESPONSE_TOO_LARGE,
        format!("the response is {bytes} bytes, more than the {MAX_RESPONSE_BYTES} bytes Lambda accepts for a buffered response"),
    )
}

/// An HTTP client for a Lambda API on loopback (the Runtime API here, the Extensions API in
/// `extension.rs`): one kept-alive connection over [`LoopbackConnector`], no proxy, no
/// redirects, statuses returned rather than raised, and our `User-Agent`.
pub(crate) fn loopback_agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        // Statuses are answers we act on, not transport errors.
        .http_status_as_error(false)
        // The APIs are on loopback: a proxy from HTTP_PROXY would break them.
        .proxy(None)
        .max_redirects(0)
        .user_agent(USER_AGENT)
        // One loop, one connection: everything else would be an idle socket.
        .max_idle_connections(1)
        .max_idle_connections_per_host(1)
        .max_response_header_size(MAX_HEADER_BYTES)
        .build();
    ureq::Agent::with_parts(config, LoopbackConnector, ResolveOnce::default())
}

/// `http://host:port[/prefix]/2018-06-01` from the value of `AWS_LAMBDA_RUNTIME_API` (the
/// client keeps the text it was parsed from too: [`base_of`]).
#[cfg(any(test, fuzzing))]
pub(crate) fn base_url(endpoint: &str) -> Result<Uri, RuntimeError> {
    base_url_of(endpoint, VERSION)
}

/// `http://host:port[/prefix]/{version}`: the root of one of the Lambda APIs (the Extensions
/// API sits beside the Runtime API, under another version).
pub(crate) fn base_url_of(endpoint: &str, version: &str) -> Result<Uri, RuntimeError> {
    base_of(endpoint, version).map(|(url, _)| url)
}

/// [`base_url_of`], with the URL also as the text it was parsed from (which is what its
/// `Display` would write).
fn base_of(endpoint: &str, version: &str) -> Result<(Uri, String), RuntimeError> {
    let bad = |reason| RuntimeError::BadEndpoint {
        value: endpoint.to_owned(),
        reason,
    };
    let rest = match endpoint.split_once("://") {
        None => endpoint,
        Some(("http", rest)) => rest,
        Some(_) => return Err(bad("only plain http:// is spoken on the Runtime API")),
    };
    let (authority, prefix) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let port = match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => port,
        _ => return Err(bad("it has no host:port")),
    };
    if port.is_empty() || port.parse::<u16>().is_err() {
        return Err(bad("the port is not a number from 0 to 65535"));
    }
    let printable = |c: char| c.is_ascii_graphic();
    if !authority.chars().all(printable) || !prefix.chars().all(printable) {
        return Err(bad(
            "it contains spaces or characters that cannot be in a URL",
        ));
    }
    if rest.contains(['?', '#']) {
        return Err(bad("a query or fragment cannot prefix the API paths"));
    }
    let base = format!(
        "http://{authority}{}/{version}",
        prefix.trim_end_matches('/')
    );
    // The checks above give clear reasons; the URL parser has the last word, because some
    // values pass them yet make no URL (`a:b:9001` has a host and a port, but two colons), and
    // it must read the authority we meant, with a host and a port.
    match base.parse::<Uri>() {
        Ok(url)
            if url.authority().is_some_and(|a| a.as_str() == authority)
                && url.host().is_some_and(|host| !host.is_empty())
                && url.port_u16().is_some() =>
        {
            // The Runtime API is on loopback: Lambda and the emulators give an IP address.
            // Other names would need the system's resolver (DNS), which the binary leaves out.
            if loopback_or_literal(authority).is_none() {
                return Err(bad("the host is neither an IP address nor localhost"));
            }
            Ok((url, base))
        }
        _ => Err(bad("it does not make a valid URL")),
    }
}

/// Runs `call` until it succeeds or fails in a way `again` does not accept, pausing
/// [`RETRY_PAUSES`] between tries. The one retry rule of the crate: a call is tried again only
/// when its failure proves the API never got it (for `next`: no answer at all, so asking again
/// loses nothing; for a post: the connection was refused, so nothing was sent). Any later
/// failure may have delivered a post, and posting twice would answer one invocation twice.
fn retry<T, E>(mut call: impl FnMut() -> Result<T, E>, again: impl Fn(&E) -> bool) -> Result<T, E> {
    let mut pauses = RETRY_PAUSES.iter();
    loop {
        match call() {
            Err(failure) if again(&failure) => match pauses.next() {
                Some(pause) => sleep(*pause),
                None => return Err(failure),
            },
            answer => return answer,
        }
    }
}

/// A call's failure that proves no answer came (refused, reset or closed before any answer):
/// asking again for `next` (or `restore/next`) can lose nothing.
fn unanswered(failure: &ureq::Error) -> bool {
    matches!(failure, ureq::Error::Io(_) | ureq::Error::ConnectionFailed)
}

/// A post's failure that proves nothing was sent.
fn refused(failure: &ureq::Error) -> bool {
    matches!(failure, ureq::Error::Io(error) if error.kind() == ErrorKind::ConnectionRefused)
}

/// Reads a (small) answer to its end, so that the connection can carry the next call.
pub(crate) fn drain(answer: &mut Response<ureq::Body>) {
    let mut body = answer
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .reader();
    let _ = io::copy(&mut body, &mut io::sink());
}

/// What a buffered post's answer means: a lost connection costs one line (the post may have
/// arrived: posting again could answer twice); otherwise the status is [`judge`]d.
fn judge_post(
    path: impl std::fmt::Display,
    answer: Result<Response<ureq::Body>, ureq::Error>,
) -> Result<(), RuntimeError> {
    match answer {
        Ok(mut response) => {
            drain(&mut response);
            // The call's name is written only if a message needs it, not on every post.
            judge(format_args!("POST {path}"), response.status().as_u16())
        }
        Err(error) => {
            runtime_line!(
                Error,
                "POST {path} failed ({error}); going on to the next event"
            );
            Ok(())
        }
    }
}

/// What the status of a post's answer means for the loop, buffered or streamed: 2xx is done;
/// 5xx means the environment is broken and the runtime must exit; anything else (410 after a
/// timeout, 413, 400, 403) is this invocation's problem only: one stderr line, then on to the
/// next event.
fn judge(call: impl std::fmt::Display, status: u16) -> Result<(), RuntimeError> {
    match status {
        200..=299 => Ok(()),
        500.. => Err(RuntimeError::Status {
            call: call.to_string(),
            status,
        }),
        410 => {
            runtime_line!(
                Warn,
                "{call} answered 410: the invocation had already timed out; going on"
            );
            Ok(())
        }
        _ => {
            runtime_line!(
                Error,
                "{call} answered {status}; the answer was not accepted; going on"
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    #[test]
    fn endpoints_of_every_shape() {
        let ok = |value: &str| base_url(value).unwrap().to_string();
        assert_eq!(ok("127.0.0.1:9001"), "http://127.0.0.1:9001/2018-06-01");
        assert_eq!(ok("localhost:9001"), "http://localhost:9001/2018-06-01");
        assert_eq!(
            ok("http://127.0.0.1:9000/.rt"),
            "http://127.0.0.1:9000/.rt/2018-06-01"
        );
        assert_eq!(
            ok("http://127.0.0.1:9000/.rt/"),
            "http://127.0.0.1:9000/.rt/2018-06-01"
        );
        assert_eq!(ok("[::1]:9001"), "http://[::1]:9001/2018-06-01");
        assert_eq!(ok("LocalHost:9001"), "http://LocalHost:9001/2018-06-01");
        for bad in [
            "",
            "9001",
            ":9001",
            "host:",
            "host:port",
            "host:70000",
            "https://h:1",
            "h:1 /x",
            "h:1/x?y",
            "ftp://h:1",
            // Found by the `endpoint` fuzz target: a host and a port, but no valid authority.
            "hosthttps:27.0.0.1:1",
            "a:b:9001",
            "u@:9001",
            // Found by the `endpoint` fuzz target: a `?` in the authority made the rest a query.
            "[:]:9?911:]:9911",
            "h?x:9001",
            "h#x:9001",
        ] {
            assert!(base_url(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn a_host_that_is_a_name_other_than_localhost_is_refused_with_the_reason() {
        for named in [
            "rie:8080",
            "runtime.internal:9001",
            "http://lambda-api:9001/.rt",
        ] {
            let message = base_url(named).unwrap_err().to_string();
            assert!(
                message.contains(named) && message.contains("neither an IP address nor localhost"),
                "{message}"
            );
        }
    }

    #[test]
    fn the_addresses_of_an_endpoint_are_its_ip_or_both_loopbacks_for_localhost() {
        let v4: SocketAddr = "127.0.0.1:9001".parse().unwrap();
        let v6: SocketAddr = "[::1]:9001".parse().unwrap();
        assert_eq!(loopback_or_literal("127.0.0.1:9001"), Some(vec![v4]));
        assert_eq!(loopback_or_literal("[::1]:9001"), Some(vec![v6]));
        assert_eq!(loopback_or_literal("localhost:9001"), Some(vec![v4, v6]));
        assert_eq!(loopback_or_literal("rie:9001"), None);
        assert_eq!(loopback_or_literal("localhost:port"), None);
    }

    #[test]
    fn the_authority_and_base_path_come_from_the_held_url() {
        let base = base_url("http://127.0.0.1:9000/.rt/").unwrap();
        assert_eq!(base.authority().unwrap().as_str(), "127.0.0.1:9000");
        assert_eq!(base.path(), "/.rt/2018-06-01");
        let base = base_url("[::1]:9001").unwrap();
        assert_eq!(base.authority().unwrap().as_str(), "[::1]:9001");
        assert_eq!(base.path(), "/2018-06-01");
    }

    fn invocation(id: &str) -> Invocation {
        Invocation::of(&Context::new(id, Arc::default()))
    }

    #[test]
    fn request_ids_can_never_change_the_path() {
        let path = |id: &str| invocation_path(&invocation(id), "/response");
        assert_eq!(
            path("8476a536-e9f4-11e8-9739-2dfe598c3fcd"),
            "/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/response"
        );
        assert_eq!(
            path("../../init/error"),
            "/runtime/invocation/%2E%2E%2F%2E%2E%2Finit%2Ferror/response"
        );
        assert_eq!(
            path("a?b#c d"),
            "/runtime/invocation/a%3Fb%23c%20d/response"
        );
        assert_eq!(path("é"), "/runtime/invocation/%C3%A9/response");
        let odd = "x/../..?#%\u{0}\r\n é";
        let segment = utf8_percent_encode(odd, ID_SEGMENT).to_string();
        assert!(segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_%".contains(&b)));
    }

    #[test]
    fn statuses_are_judged_once_for_every_post() {
        assert!(judge("POST /x", 202).is_ok());
        assert!(judge("POST /x", 410).is_ok());
        assert!(judge("POST /x", 413).is_ok());
        assert!(matches!(
            judge("POST /x", 500),
            Err(RuntimeError::Status { status: 500, .. })
        ));
    }

    #[test]
    fn retries_only_what_the_rule_accepts_and_only_three_times() {
        let mut calls = 0;
        let outcome: Result<(), &str> = retry(
            || {
                calls += 1;
                Err("refused")
            },
            |failure| *failure == "refused",
        );
        assert_eq!((outcome, calls), (Err("refused"), 4));
        let mut calls = 0;
        let outcome: Result<(), &str> = retry(
            || {
                calls += 1;
                Err("answered")
            },
            |failure| *failure == "refused",
        );
        assert_eq!((outcome, calls), (Err("answered"), 1));
    }
}
