//! The Runtime API's calls, one method each, over one ureq agent that keeps one connection
//! alive. The rules around them each have a file of their own: where the API is
//! (`endpoint.rs`), when a call is tried again (`retry.rs`), what an answer means and that it
//! is read to its end (`answer.rs`), the path of an invocation's answer (`invocation_path.rs`),
//! and the streamed post (`stream_post.rs`).
//!
//! | call | path (under `http://$AWS_LAMBDA_RUNTIME_API/2018-06-01`) |
//! |---|---|
//! | [`Client::next`] | `GET /runtime/invocation/next` |
//! | [`Client::respond`] | `POST /runtime/invocation/{id}/response` |
//! | [`Client::report_error`] | `POST /runtime/invocation/{id}/error` |
//! | [`Client::report_init_error`] | `POST /runtime/init/error` |
//! | [`Client::restore_next`] | `GET /runtime/restore/next` (SnapStart) |
//! | [`Client::report_restore_error`] | `POST /runtime/restore/error` (SnapStart) |
//! | [`Client::open_stream`] | `POST /runtime/invocation/{id}/response`, streamed |

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use ureq::http::{Response, Uri};

use crate::agent::loopback_agent;
use crate::answer::{drained_status, judge_post, require_success};
use crate::context::{AnswerAddress, Config, Context};
use crate::endpoint::Endpoint;
use crate::error::{Error, RuntimeError};
use crate::inflight::AnswerWithError;
use crate::invocation_path::{self, InvocationPath};
use crate::protocol::{
    content_type, error_type, header, path, MAX_EVENT_BYTES, MAX_RESPONSE_BYTES,
    MAX_XRAY_CAUSE_BYTES,
};
use crate::retry::{refused, retry, unanswered};
use crate::runtime_line::runtime_line;
use crate::stream_post::StreamPost;

/// A client of one Runtime API endpoint: the building blocks of a loop. Cheap to clone (the
/// agent and the endpoint are shared); a clone shares the kept-alive connection, while
/// [`Client::with_own_connection`] makes one with a connection of its own.
///
/// ```no_run
/// use std::sync::Arc;
/// use lambda_loop::runtime::Client;
///
/// // A loop of your own: the same three steps as the crate's, one call each.
/// let client = Client::new("127.0.0.1:9001")?;
/// let config = Arc::new(lambda_loop::Config::default());
/// loop {
///     let next = client.next(&config)?;
///     match next.event {
///         Ok(event) => client.respond(&next.answer_to, &event)?,
///         Err(error) => client.report_error(&next.answer_to, &error)?,
///     }
/// }
/// # Ok::<(), lambda_loop::runtime::RuntimeError>(())
/// ```
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    endpoint: Arc<Endpoint>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.endpoint.base)
            .finish()
    }
}

/// What one `next` answer delivered: where the answer goes, the handler's context, and the
/// event body (or why it could not be read, which is then this invocation's error).
#[derive(Debug)]
#[non_exhaustive]
pub struct NextEvent {
    /// Where the invocation's answer goes.
    pub answer_to: AnswerAddress,
    /// What the handler gets to know.
    pub context: Context,
    /// The event, or a `Runtime.InvalidEvent` error to post instead of calling the handler.
    pub event: Result<Vec<u8>, Error>,
}

impl Client {
    /// A client for `endpoint`, the value of `AWS_LAMBDA_RUNTIME_API`: `host:port` on Lambda,
    /// or `http://host:port/prefix` from some emulators (the prefix is kept).
    pub fn new(endpoint: &str) -> Result<Client, RuntimeError> {
        Ok(Client {
            agent: loopback_agent(),
            endpoint: Arc::new(Endpoint::of_runtime_api(endpoint)?),
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
    pub fn next(&self, config: &Arc<Config>) -> Result<NextEvent, RuntimeError> {
        self.next_into(config, Vec::new())
    }

    /// [`Client::next`], reading the event into `buffer` (emptied first): the loop hands back
    /// the previous event's buffer, so that a small event costs no allocation.
    pub(crate) fn next_into(
        &self,
        config: &Arc<Config>,
        mut buffer: Vec<u8>,
    ) -> Result<NextEvent, RuntimeError> {
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
        Ok(NextEvent {
            answer_to: AnswerAddress::of(&context),
            context,
            event,
        })
    }

    /// `POST /runtime/invocation/{id}/response` with the handler's response as the body. A
    /// response larger than [`MAX_RESPONSE_BYTES`] is not posted: the invocation gets a
    /// `Runtime.ResponseTooLarge` error instead (a too-large post would get 413, and the error
    /// after it 403, leaving the caller with nothing).
    pub fn respond(&self, answer_to: &AnswerAddress, response: &[u8]) -> Result<(), RuntimeError> {
        if let Err(too_large) = check_buffered_response_size(response.len()) {
            return self.report_error(answer_to, &too_large);
        }
        // The URL is built once and moved into the request (ureq would copy a borrowed one);
        // only a retry after a refused connection builds it again.
        let mut url = Some(self.post_url(Some(answer_to), path::RESPONSE));
        let answer = retry(
            || {
                let url = url
                    .take()
                    .unwrap_or_else(|| self.post_url(Some(answer_to), path::RESPONSE))?;
                with_invocation_id(self.agent.post(url), answer_to).send(response)
            },
            refused,
        );
        judge_post(
            &format_args!("POST {}", InvocationPath(answer_to, path::RESPONSE)),
            answer.map(drained_status),
        )
    }

    /// `POST /runtime/invocation/{id}/error` with the error JSON: the invocation's answer when
    /// the handler failed.
    pub fn report_error(
        &self,
        answer_to: &AnswerAddress,
        error: &Error,
    ) -> Result<(), RuntimeError> {
        let answer = self.post_error(path::ERROR, Some(answer_to), error);
        judge_post(
            &format_args!("POST {}", InvocationPath(answer_to, path::ERROR)),
            answer.map(drained_status),
        )
    }

    /// `POST /runtime/init/error`: initialisation failed, before the first `next`. Unlike
    /// the invocation posts, any failure here is returned: the process is about to exit and
    /// its last line should say whether Lambda got the report.
    pub fn report_init_error(&self, error: &Error) -> Result<(), RuntimeError> {
        self.post_before_exit(path::INIT_ERROR, error)
    }

    /// `GET /runtime/restore/next` (SnapStart): Lambda takes the snapshot while this waits,
    /// and answers in the restored environment. `Err` says why it did not answer with a 2xx.
    pub fn restore_next(&self) -> Result<(), RuntimeError> {
        let url = format!("{}{}", self.endpoint.base, path::RESTORE_NEXT);
        let answer = retry(|| self.agent.get(&url).call(), unanswered);
        require_success(&format_args!("GET {}", path::RESTORE_NEXT), answer).map(drop)
    }

    /// `POST /runtime/restore/error` (SnapStart): an after-restore hook failed. The process
    /// exits next; `Err` says why Lambda did not get the report.
    pub fn report_restore_error(&self, error: &Error) -> Result<(), RuntimeError> {
        self.post_before_exit(path::RESTORE_ERROR, error)
    }

    /// Opens a streamed `POST /runtime/invocation/{id}/response` on a connection of its own
    /// (see [`StreamPost`]); a [`ResponseStream`](crate::ResponseStream) does this for you.
    pub fn open_stream(
        &self,
        answer_to: &AnswerAddress,
        content_type: &str,
    ) -> Result<StreamPost, RuntimeError> {
        StreamPost::open(&self.endpoint, answer_to, content_type)
    }

    /// An error post after which the process exits: any failure is returned, so that the
    /// last line can say whether Lambda got the report.
    fn post_before_exit(&self, path: &str, error: &Error) -> Result<(), RuntimeError> {
        let answer = self.post_error(path, None, error);
        require_success(&format_args!("POST {path}"), answer).map(drop)
    }

    /// A post's URL: `{base}/runtime/invocation/{encoded id}{path}` for an invocation's
    /// answer, `{base}{path}` otherwise; written in one allocation of the exact size (every
    /// real id passes unencoded) and parsed in place, not copied by ureq.
    fn post_url(&self, answer_to: Option<&AnswerAddress>, path: &str) -> Result<Uri, ureq::Error> {
        let base = &self.endpoint.base_text;
        let url = match answer_to {
            Some(address) => {
                let mut url =
                    String::with_capacity(base.len() + invocation_path::len(address, path));
                url.push_str(base);
                invocation_path::push(&mut url, address, path);
                url
            }
            None => format!("{base}{path}"),
        };
        Uri::try_from(url).map_err(|invalid| ureq::Error::Http(invalid.into()))
    }

    /// An error post: to `path` under the invocation when there is one, else under the base.
    fn post_error(
        &self,
        path: &str,
        answer_to: Option<&AnswerAddress>,
        error: &Error,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        // Built once; again only for a retry after a refused connection.
        let mut first = Some(self.post_url(answer_to, path));
        let body = error.to_json();
        let error_type = error.error_type_header();
        // Only an invocation's error has a trace for X-Ray to attach the cause to.
        let cause =
            answer_to.and_then(|_| error.xray_cause(working_directory(), MAX_XRAY_CAUSE_BYTES));
        let send = || {
            let url = first
                .take()
                .unwrap_or_else(|| self.post_url(answer_to, path))?;
            let mut request = self
                .agent
                .post(url)
                .header(header::ERROR_TYPE, &error_type)
                .header(header::CONTENT_TYPE, content_type::ERROR);
            if let Some(cause) = &cause {
                request = request.header(header::XRAY_ERROR_CAUSE, cause);
            }
            match answer_to {
                Some(address) => with_invocation_id(request, address),
                None => request,
            }
            .send(&body[..])
        };
        retry(send, refused)
    }
}

/// The panic hook answers this slot's invocation through its client.
impl AnswerWithError for Client {
    fn answer_with_error(&self, answer_to: &AnswerAddress, error: &Error, _: Duration) -> bool {
        if let Err(failure) = self.report_error(answer_to, error) {
            runtime_line!(Error, "the panic could not be reported: {failure}");
        }
        true
    }
}

/// Echoes the delivery's invocation id on an answer, when `next` sent one.
fn with_invocation_id<B>(
    request: ureq::RequestBuilder<B>,
    answer_to: &AnswerAddress,
) -> ureq::RequestBuilder<B> {
    match answer_to.invocation_id() {
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

/// Lambda's limit for a buffered response, as the error a larger one gets: checked before
/// every post and by the local invoke, so a too-large response fails the same way everywhere.
pub(crate) fn check_buffered_response_size(bytes: usize) -> Result<(), Error> {
    if bytes <= MAX_RESPONSE_BYTES {
        return Ok(());
    }
    Err(Error::new(
        error_type::RESPONSE_TOO_LARGE,
        format!("the response is {bytes} bytes, more than the {MAX_RESPONSE_BYTES} bytes Lambda accepts for a buffered response"),
    ))
}
