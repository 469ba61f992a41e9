//! The durable-execution API client: CheckpointDurableExecution and GetDurableExecutionState,
//! one method each, signed with SigV4 when credentials are set, each call retried on its own
//! rules. A call that got no answer (the connection dropped, or the answer was cut or
//! malformed), a 429 and a 5xx are sent again, the same body with the same `ClientToken`,
//! after a growing, jittered pause: the service answers a repeated `ClientToken` from its
//! cache, so a checkpoint that did arrive is never applied twice. Any other status is the
//! call's error.

use std::io::Read;
use std::time::{Duration, SystemTime};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;

use super::https;
use super::random;
use super::sigv4::{self, Credentials};
use super::wire::{ApiErrorBody, CheckpointAnswer, CheckpointRequest, OperationUpdate, StatePage};
use crate::error::Error;
use crate::protocol::{content_type, env};

/// The API version in every path.
const VERSION: &str = "2025-12-01";
/// The signing name of the service.
const SERVICE: &str = "lambda";
/// Operations asked for per GetDurableExecutionState page.
const MAX_ITEMS: &str = "1000";
/// The error type of a call that got no usable answer, however often it was sent.
pub(crate) const UNAVAILABLE: &str = "DurableApiUnavailable";
/// Bytes of an answer read at most.
const MAX_ANSWER_BYTES: u64 = 64 * 1024 * 1024;

/// Characters left as they are in a path segment or a query value: the unreserved ones.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where the durable-execution API is and how it is called: read from the function's
/// environment by [`Settings::from_env`] (what [`handler`](super::handler) does on its first
/// invocation), or given by a test or a custom `main`.
pub struct Settings {
    endpoint: String,
    region: String,
    credentials: Option<Credentials>,
    attempts: u32,
    first_delay: Duration,
    max_delay: Duration,
    timeout: Duration,
    group_commit_window: Duration,
}

impl Settings {
    /// The settings from the process environment.
    pub fn from_env() -> Settings {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// The settings from `lookup` (e.g. a map in a test):
    /// - the endpoint: `AWS_ENDPOINT_URL_LAMBDA`, else `AWS_ENDPOINT_URL`, else
    ///   `https://lambda.{AWS_REGION}.amazonaws.com` (an override may be plain `http://`);
    /// - the credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`
    ///   (Lambda sets them; without them calls go unsigned, which only a local endpoint
    ///   accepts);
    /// - each call sent up to 6 times, the pauses growing from 100 ms up to 5 s.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Settings {
        let non_empty = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let region = non_empty(env::REGION)
            .or_else(|| non_empty("AWS_DEFAULT_REGION"))
            .unwrap_or_default();
        let endpoint = non_empty("AWS_ENDPOINT_URL_LAMBDA")
            .or_else(|| non_empty("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| format!("https://lambda.{region}.amazonaws.com"));
        Settings {
            endpoint: endpoint.trim().trim_end_matches('/').to_owned(),
            region,
            credentials: Credentials::from_lookup(&|name: &str| lookup(name)),
            attempts: 6,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            group_commit_window: Duration::from_millis(1),
        }
    }

    /// The endpoint, e.g. `http://127.0.0.1:9014` (a fake or local service).
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Settings {
        self.endpoint = endpoint.into().trim_end_matches('/').to_owned();
        self
    }

    /// How often a call is sent at most (at least once), and the first pause between two
    /// sendings (it doubles each time, up to 5 s, with jitter).
    pub fn with_call_retries(mut self, attempts: u32, first_delay: Duration) -> Settings {
        self.attempts = attempts.max(1);
        self.first_delay = first_delay;
        self
    }

    /// How long one sending of a call may take, connection included (30 s unless set).
    pub fn with_timeout(mut self, timeout: Duration) -> Settings {
        self.timeout = timeout;
        self
    }

    /// How long a checkpoint call waits at most for the other threads of a running `map` or
    /// `parallel` to add their updates to it, from when it is due or since the last of them
    /// did (1 ms unless set, as AWS's Python SDK waits). It waits only while some of them are
    /// running; a call with no other thread running, as in sequential code, never waits.
    pub fn with_group_commit_window(mut self, window: Duration) -> Settings {
        self.group_commit_window = window;
        self
    }

    /// The endpoint calls go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl std::fmt::Debug for Settings {
    /// The endpoint, the region and whether calls are signed; never the credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("signed", &self.credentials.is_some())
            .field("attempts", &self.attempts)
            .field("first_delay", &self.first_delay)
            .field("timeout", &self.timeout)
            .field("group_commit_window", &self.group_commit_window)
            .finish()
    }
}

/// The client of one function: one agent (HTTPS or plain HTTP, kept-alive connections) for
/// every invocation.
pub(crate) struct Client {
    agent: ureq::Agent,
    settings: Settings,
    /// The `Host` the agent sends, which the signature covers.
    host: String,
    /// The endpoint's path, if any, before `/2025-12-01`.
    prefix: String,
}

/// One request of the client, as it goes out.
struct Call<'a> {
    /// What the call is, for its error messages.
    name: &'static str,
    method: &'static str,
    path: String,
    query: String,
    body: Option<&'a [u8]>,
}

impl Client {
    pub(crate) fn new(settings: Settings) -> Client {
        let after_scheme = settings
            .endpoint
            .split_once("://")
            .map_or(settings.endpoint.as_str(), |(_, rest)| rest);
        let (host, prefix) = match after_scheme.find('/') {
            Some(slash) => (&after_scheme[..slash], &after_scheme[slash..]),
            None => (after_scheme, ""),
        };
        Client {
            agent: https::agent(settings.timeout),
            host: host.to_owned(),
            prefix: prefix.to_owned(),
            settings,
        }
    }

    /// How long a checkpoint call waits for the other threads of a batch.
    pub(crate) fn group_commit_window(&self) -> Duration {
        self.settings.group_commit_window
    }

    /// CheckpointDurableExecution: sends `updates` with `token`; the answer holds the token for
    /// the next call and the operations the updates changed.
    pub(crate) fn checkpoint(
        &self,
        arn: &str,
        token: &str,
        updates: Vec<OperationUpdate>,
    ) -> Result<CheckpointAnswer, Error> {
        let request = CheckpointRequest {
            checkpoint_token: token.to_owned(),
            // One per call, kept through its retries: the service's way to tell a repeat.
            client_token: random::uuid(),
            updates,
        };
        let body = serde_json::to_vec(&request).map_err(|error| {
            Error::new(
                UNAVAILABLE,
                format!("the checkpoint could not be encoded: {error}"),
            )
        })?;
        self.send(Call {
            name: "CheckpointDurableExecution",
            method: "POST",
            path: format!("{}/checkpoint", self.execution_path(arn)),
            query: String::new(),
            body: Some(&body),
        })
    }

    /// GetDurableExecutionState: the page of operations after `marker`.
    pub(crate) fn state_page(
        &self,
        arn: &str,
        token: &str,
        marker: &str,
    ) -> Result<StatePage, Error> {
        let query = format!(
            "CheckpointToken={}&Marker={}&MaxItems={MAX_ITEMS}",
            encode(token),
            encode(marker)
        );
        self.send(Call {
            name: "GetDurableExecutionState",
            method: "GET",
            path: format!("{}/state", self.execution_path(arn)),
            query,
            body: None,
        })
    }

    /// `/{prefix}/2025-12-01/durable-executions/{arn as one segment}`.
    fn execution_path(&self, arn: &str) -> String {
        format!(
            "{}/{VERSION}/durable-executions/{}",
            self.prefix,
            encode(arn)
        )
    }

    /// Sends `call` until it gets an answer that is not worth retrying, at most `attempts`
    /// times. Only parsing the answer as `T` is generic: sending is `send_once`'s, once in the
    /// binary for every answer type.
    fn send<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        let mut last_problem = String::new();
        for attempt in 1..=self.settings.attempts {
            if attempt > 1 {
                std::thread::sleep(self.pause_before(attempt));
            }
            let answer = self.send_once(&call).and_then(|body| {
                serde_json::from_slice(&body).map_err(|error| {
                    Failure::Retry(format!("the answer is not the expected JSON: {error}"))
                })
            });
            match answer {
                Ok(answer) => return Ok(answer),
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::Retry(problem)) => last_problem = problem,
            }
        }
        Err(self.gave_up(&call, &last_problem))
    }

    /// The error of a call that got no usable answer in all its attempts.
    fn gave_up(&self, call: &Call, last_problem: &str) -> Error {
        Error::new(
            UNAVAILABLE,
            format!(
                "{} got no usable answer from {} in {} attempts; the last: {last_problem}",
                call.name, self.settings.endpoint, self.settings.attempts
            ),
        )
    }

    /// Full jitter over a doubling pause: a random time up to
    /// `min(first_delay * 2^(attempt-2), max_delay)`, never under a tenth of it.
    fn pause_before(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(2).min(20);
        let ceiling = self
            .settings
            .first_delay
            .saturating_mul(1 << doublings)
            .min(self.settings.max_delay);
        ceiling.mul_f64(0.1 + 0.9 * random::fraction())
    }

    /// Sends `call` once: the body of its 200 answer, or why there is none.
    fn send_once(&self, call: &Call) -> Result<Vec<u8>, Failure> {
        let mut url = format!(
            "{}{}",
            self.settings.endpoint,
            &call.path[self.prefix.len()..]
        );
        let full_path = &call.path;
        if !call.query.is_empty() {
            url.push('?');
            url.push_str(&call.query);
        }
        let payload = call.body.unwrap_or(b"");
        let content_type: &[(&str, &str)] = match call.body {
            Some(_) => &[("content-type", content_type::JSON)],
            None => &[],
        };
        // The one place requests are signed: every call, when there are credentials.
        let signature = match &self.settings.credentials {
            Some(credentials) => sigv4::sign(
                call.method,
                &self.host,
                full_path,
                &call.query,
                content_type,
                payload,
                credentials,
                &self.settings.region,
                SERVICE,
                SystemTime::now(),
            ),
            None => Vec::new(),
        };
        let answer = match call.body {
            Some(body) => {
                let mut request = self.agent.post(&url);
                for (name, value) in content_type.iter().copied() {
                    request = request.header(name, value);
                }
                for (name, value) in &signature {
                    request = request.header(*name, value);
                }
                request.send(body)
            }
            None => {
                let mut request = self.agent.get(&url);
                for (name, value) in &signature {
                    request = request.header(*name, value);
                }
                request.call()
            }
        };
        let mut answer = answer.map_err(|error| Failure::Retry(format!("no answer: {error}")))?;
        let status = answer.status().as_u16();
        let error_type_header = answer
            .headers()
            .get("x-amzn-errortype")
            .and_then(|value| value.to_str().ok())
            .map(|value| value.split(':').next().unwrap_or(value).to_owned());
        let mut body = Vec::new();
        answer
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .reader()
            .read_to_end(&mut body)
            .map_err(|error| Failure::Retry(format!("the answer was cut: {error}")))?;
        if status == 200 {
            return Ok(body);
        }
        let detail: ApiErrorBody = serde_json::from_slice(&body).unwrap_or_default();
        let error_type = detail
            .error_type
            .or(error_type_header)
            .unwrap_or_else(|| format!("HTTP{status}"));
        let message = detail.message.unwrap_or_default();
        if status == 429 || status >= 500 {
            return Err(Failure::Retry(format!("{status} {error_type}: {message}")));
        }
        Err(Failure::Final(Error::new(
            error_type,
            format!("{} answered {status}: {message}", call.name),
        )))
    }
}

/// Why one sending of a call did not give its answer.
enum Failure {
    /// Worth sending again.
    Retry(String),
    /// The call's answer, an error.
    Final(Error),
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn the_endpoint_is_the_lambda_override_then_the_general_one_then_the_regions() {
        let region = [("AWS_REGION", "eu-west-1")];
        assert_eq!(
            settings(&region).endpoint(),
            "https://lambda.eu-west-1.amazonaws.com"
        );
        let general = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1/"),
        ];
        assert_eq!(settings(&general).endpoint(), "http://127.0.0.1:1");
        let both = [
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:2"),
        ];
        assert_eq!(settings(&both).endpoint(), "http://127.0.0.1:2");
    }

    #[test]
    fn calls_are_sent_six_times_at_most_pausing_from_100_ms_to_5_s() {
        let defaults = settings(&[]);
        assert_eq!(defaults.attempts, 6);
        assert_eq!(defaults.first_delay, Duration::from_millis(100));
        assert_eq!(defaults.max_delay, Duration::from_secs(5));
        assert_eq!(defaults.timeout, Duration::from_secs(30));
        assert_eq!(defaults.group_commit_window, Duration::from_millis(1));
        assert!(defaults.credentials.is_none());
        let signed = settings(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ]);
        assert!(signed.credentials.is_some());
        let shown = format!("{signed:?}");
        assert!(
            shown.contains("signed: true") && !shown.contains("secret"),
            "{shown}"
        );
    }

    #[test]
    fn the_arn_is_one_path_segment() {
        let client = Client::new(settings(&[]).with_endpoint("http://127.0.0.1:9/prefix"));
        assert_eq!(client.host, "127.0.0.1:9");
        assert_eq!(
            client.execution_path("arn:aws:lambda:eu-west-1:1:function:f/durable-execution/x/y"),
            "/prefix/2025-12-01/durable-executions/arn%3Aaws%3Alambda%3Aeu-west-1%3A1%3Afunction%3Af%2Fdurable-execution%2Fx%2Fy"
        );
    }

    #[test]
    fn pauses_grow_to_the_cap_with_jitter() {
        let client = Client::new(settings(&[]).with_call_retries(10, Duration::from_millis(100)));
        for _ in 0..50 {
            let second = client.pause_before(2);
            assert!(second >= Duration::from_millis(10) && second <= Duration::from_millis(100));
            let late = client.pause_before(10);
            assert!(late <= Duration::from_secs(5) && late >= Duration::from_millis(500));
        }
    }
}
