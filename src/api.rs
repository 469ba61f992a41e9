//! The only HTTP code: the four calls of the Lambda Runtime API, over one ureq agent that keeps
//! one connection alive.
//!
//! | call | path (under `http://$AWS_LAMBDA_RUNTIME_API/2018-06-01`) |
//! |---|---|
//! | [`Api::next`] | `GET /runtime/invocation/next` |
//! | [`Api::respond`] | `POST /runtime/invocation/{id}/response` |
//! | [`Api::fail`] | `POST /runtime/invocation/{id}/error` |
//! | [`Api::init_fail`] | `POST /runtime/init/error` |

use std::io::{ErrorKind, Read};
use std::thread::sleep;
use std::time::Duration;

use crate::context::{Config, Context};
use crate::error::{Error, RuntimeError};
use crate::logger::runtime_line;
use crate::transport::{LoopbackConnector, ResolveOnce};

/// The environment variable that holds the Runtime API's address (`host:port`).
pub(crate) const RUNTIME_API_VAR: &str = "AWS_LAMBDA_RUNTIME_API";
/// The API version every path starts with.
const VERSION: &str = "2018-06-01";
/// Sent on every call, so the Runtime API (and AWS) can tell which runtime is talking.
pub(crate) const USER_AGENT: &str = concat!("lambda-loop/", env!("CARGO_PKG_VERSION"));
/// Header that carries `errorType` on error posts.
const ERROR_TYPE_HEADER: &str = "Lambda-Runtime-Function-Error-Type";
/// Content type of error bodies, per the Runtime API's OpenAPI file.
const ERROR_CONTENT_TYPE: &str = "application/vnd.aws.lambda.error+json";
/// Largest event body read into memory. Lambda's own limit is 6 MB; the margin is for
/// emulators, the bound is so that a broken API cannot make us allocate without limit.
const MAX_EVENT_BYTES: u64 = 64 * 1024 * 1024;
/// Pauses between tries when the Runtime API cannot be reached: a restarting emulator gets a
/// moment, a dead environment costs well under a second before the process exits.
pub(crate) const RETRY_PAUSES: [Duration; 3] = [
    Duration::from_millis(20),
    Duration::from_millis(60),
    Duration::from_millis(180),
];

/// A client of one Runtime API endpoint. Cheap to clone (the agent is shared).
#[derive(Clone)]
pub(crate) struct Api {
    agent: ureq::Agent,
    /// `http://host:port[/prefix]/2018-06-01`, without a trailing slash.
    base: String,
    /// The `next` URL, parsed once: every invocation asks for it.
    next_url: ureq::http::Uri,
}

/// One event from `next`: its context and its body (or why the body could not be read, which
/// is then reported as this invocation's error).
pub(crate) struct Invocation {
    pub context: Context,
    pub event: Result<Vec<u8>, Error>,
}

impl Api {
    /// A client for `endpoint`, the value of `AWS_LAMBDA_RUNTIME_API`: `host:port` on Lambda,
    /// or `http://host:port/prefix` from some emulators (the prefix is kept).
    pub fn new(endpoint: &str) -> Result<Api, RuntimeError> {
        let agent = loopback_agent();
        let base = base_url(endpoint)?;
        let next_url = format!("{base}/runtime/invocation/next")
            .parse()
            .map_err(|_| RuntimeError::BadEndpoint {
                value: endpoint.to_owned(),
                reason: "it does not make a valid URL",
            })?;
        Ok(Api {
            agent,
            base,
            next_url,
        })
    }

    /// `GET /runtime/invocation/next`: blocks (with no timeout) until Lambda has an event.
    pub fn next(&self, config: &'static Config) -> Result<Invocation, RuntimeError> {
        let call = "GET /runtime/invocation/next";
        let mut response =
            with_retries(|| self.agent.get(self.next_url.clone()).call()).map_err(|failure| {
                match failure {
                    // An answer came but was not valid HTTP: its event can't be answered (there
                    // is no request id to answer to) and asking again would skip it silently.
                    ureq::Error::Io(_) | ureq::Error::ConnectionFailed => {
                        RuntimeError::Unreachable {
                            call: call.into(),
                            detail: failure.to_string(),
                        }
                    }
                    _ => RuntimeError::Protocol {
                        detail: format!("{call}: {failure}"),
                    },
                }
            })?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(RuntimeError::Status {
                call: call.into(),
                status,
            });
        }
        let headers = response.headers().iter();
        let context =
            Context::from_headers(headers.map(|(n, v)| (n.as_str(), v.as_bytes())), config)
                .map_err(|detail| RuntimeError::Protocol {
                    detail: format!("{call} answered 200 but {detail}"),
                })?;
        let body = response.body_mut();
        // Sized from Content-Length up front: a 6 MB event is read without regrowing.
        let expected = body.content_length().unwrap_or(0).min(MAX_EVENT_BYTES);
        let mut event = Vec::with_capacity(expected as usize);
        let event = body
            .with_config()
            .limit(MAX_EVENT_BYTES)
            .reader()
            .read_to_end(&mut event)
            .map(|_| event)
            .map_err(|error| {
                Error::new(
                    "Runtime.InvalidEvent",
                    format!("the event body could not be read: {error}"),
                )
            });
        Ok(Invocation { context, event })
    }

    /// `POST /runtime/invocation/{id}/response` with the handler's response as the body.
    pub fn respond(&self, request_id: &str, response: &[u8]) -> Result<(), RuntimeError> {
        let path = format!("/runtime/invocation/{}/response", encode_id(request_id));
        let url = format!("{}{path}", self.base);
        let answer = with_retries_before_sending(|| self.agent.post(&url).send(response));
        check_post(&path, answer)
    }

    /// `POST /runtime/invocation/{id}/error` with the error JSON.
    pub fn fail(&self, request_id: &str, error: &Error) -> Result<(), RuntimeError> {
        let path = format!("/runtime/invocation/{}/error", encode_id(request_id));
        self.post_error(&path, error)
    }

    /// `host:port` and the path every call starts with (`[/prefix]/2018-06-01`), for the
    /// streamed response post, which is written by hand rather than through ureq.
    pub fn authority_and_base_path(&self) -> (&str, &str) {
        let rest = self.base.strip_prefix("http://").unwrap_or(&self.base);
        rest.split_at(rest.find('/').unwrap_or(rest.len()))
    }

    /// `POST /runtime/init/error`: initialisation failed, before the first `next`. Unlike
    /// the invocation posts, any failure here is returned: the process is about to exit and
    /// its last line should say whether Lambda got the report.
    pub fn init_fail(&self, error: &Error) -> Result<(), String> {
        let path = "/runtime/init/error";
        match self.send_error(path, error) {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!(
                "POST {path} answered {}",
                response.status().as_u16()
            )),
            Err(failure) => Err(format!("POST {path} failed ({failure})")),
        }
    }

    fn post_error(&self, path: &str, error: &Error) -> Result<(), RuntimeError> {
        check_post(path, self.send_error(path, error))
    }

    fn send_error(
        &self,
        path: &str,
        error: &Error,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let url = format!("{}{path}", self.base);
        let body = error.to_json();
        with_retries_before_sending(|| {
            self.agent
                .post(&url)
                .header(ERROR_TYPE_HEADER, header_safe(error.error_type()))
                .header("Content-Type", ERROR_CONTENT_TYPE)
                .send(&body[..])
        })
    }
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
        // Room for a client context or trace header far beyond what Lambda sends.
        .max_response_header_size(128 * 1024)
        .build();
    ureq::Agent::with_parts(config, LoopbackConnector, ResolveOnce::default())
}

/// `http://host:port[/prefix]/2018-06-01` from the value of `AWS_LAMBDA_RUNTIME_API`.
pub(crate) fn base_url(endpoint: &str) -> Result<String, RuntimeError> {
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
        "http://{authority}{}/{VERSION}",
        prefix.trim_end_matches('/')
    );
    // The checks above give clear reasons; the URL parser has the last word, because some
    // values pass them yet make no URL (`a:b:9001` has a host and a port, but two colons), and
    // it must read the authority we meant, with a host and a port.
    match base.parse::<ureq::http::Uri>() {
        Ok(url)
            if url.authority().is_some_and(|a| a.as_str() == authority)
                && url.host().is_some_and(|host| !host.is_empty())
                && url.port_u16().is_some() =>
        {
            Ok(base)
        }
        _ => Err(bad("it does not make a valid URL")),
    }
}

/// The request id as one safe path segment: ASCII letters, digits, `-` and `_` pass (every
/// real id is a UUID); every other byte is percent-encoded, so an id such as `../../x` or
/// `a?b#c` can never change which path is posted to.
pub(crate) fn encode_id(request_id: &str) -> String {
    let mut encoded = String::with_capacity(request_id.len());
    for byte in request_id.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A header value can't hold control characters (a line break would end the header): those,
/// and non-ASCII characters, become `_`. The JSON body keeps the exact `errorType`.
pub(crate) fn header_safe(error_type: &str) -> String {
    error_type
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Runs `send` until it reaches the API, pausing between tries. Only for `next`, and only
/// while nothing was answered (connection refused, reset or closed): asking again for the
/// next event is then safe. Any other failure is returned at once.
fn with_retries<T>(mut send: impl FnMut() -> Result<T, ureq::Error>) -> Result<T, ureq::Error> {
    let mut pauses = RETRY_PAUSES.iter();
    loop {
        let answer = send();
        let unanswered = matches!(
            answer,
            Err(ureq::Error::Io(_) | ureq::Error::ConnectionFailed)
        );
        match pauses.next() {
            Some(pause) if unanswered => sleep(*pause),
            _ => return answer,
        }
    }
}

/// Runs a post, trying again only when the connection was refused: then nothing was sent, so
/// the API cannot have seen this answer. Any later failure may have delivered it, and posting
/// twice would answer one invocation twice.
fn with_retries_before_sending(
    mut send: impl FnMut() -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let mut pauses = RETRY_PAUSES.iter();
    loop {
        match send() {
            Err(ureq::Error::Io(error)) if error.kind() == ErrorKind::ConnectionRefused => {
                match pauses.next() {
                    Some(pause) => sleep(*pause),
                    None => return Err(ureq::Error::Io(error)),
                }
            }
            answer => return answer,
        }
    }
}

/// What a post's answer means for the loop: 2xx is done; 5xx means the environment is broken
/// and the runtime must exit; anything else (410 after a timeout, 413, 400, 403) or a lost
/// connection is this invocation's problem only: one stderr line, then on to the next event.
fn check_post(
    path: &str,
    answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(), RuntimeError> {
    let mut response = match answer {
        Ok(response) => response,
        Err(error) => {
            runtime_line!(
                Error,
                "POST {path} failed ({error}); going on to the next event"
            );
            return Ok(());
        }
    };
    // Read the (small) answer to the end so the connection can be used again.
    let mut answer = response.body_mut().with_config().limit(64 * 1024).reader();
    let _ = std::io::copy(&mut answer, &mut std::io::sink());
    match response.status().as_u16() {
        200..=299 => Ok(()),
        status @ 500.. => Err(RuntimeError::Status {
            call: format!("POST {path}"),
            status,
        }),
        410 => {
            runtime_line!(
                Warn,
                "POST {path} answered 410: the invocation had already timed out; going on"
            );
            Ok(())
        }
        status => {
            runtime_line!(
                Error,
                "POST {path} answered {status}; the answer was not accepted; going on"
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_of_every_shape() {
        let ok = |value: &str| base_url(value).unwrap();
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
    fn the_authority_and_base_path_come_from_the_endpoint() {
        let api = Api::new("http://127.0.0.1:9000/.rt/").unwrap();
        assert_eq!(
            api.authority_and_base_path(),
            ("127.0.0.1:9000", "/.rt/2018-06-01")
        );
        let api = Api::new("[::1]:9001").unwrap();
        assert_eq!(api.authority_and_base_path(), ("[::1]:9001", "/2018-06-01"));
    }

    #[test]
    fn request_ids_can_never_change_the_path() {
        assert_eq!(
            encode_id("8476a536-e9f4-11e8-9739-2dfe598c3fcd"),
            "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
        );
        assert_eq!(
            encode_id("../../init/error"),
            "%2E%2E%2F%2E%2E%2Finit%2Ferror"
        );
        assert_eq!(encode_id("a?b#c d"), "a%3Fb%23c%20d");
        assert_eq!(encode_id("é"), "%C3%A9");
        let odd = "x/../..?#%\u{0}\r\n é";
        assert!(encode_id(odd)
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_%".contains(&b)));
    }

    #[test]
    fn error_types_become_safe_header_values() {
        assert_eq!(
            header_safe("core::num::error::ParseIntError"),
            "core::num::error::ParseIntError"
        );
        assert_eq!(header_safe("Bad\r\nInjected: yes"), "Bad__Injected: yes");
        assert_eq!(header_safe("Fehlertyp-ü"), "Fehlertyp-_");
    }
}
