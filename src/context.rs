//! What a handler knows about its invocation ([`Context`], parsed from the headers of the `next`
//! answer), about its function ([`Config`], read from the environment once at start), and
//! where the runtime posts the invocation's answer ([`AnswerAddress`]).
//!
//! Everything here is pure parsing: no I/O, no environment writes, so it is tested (and
//! fuzzed) without a network.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::protocol::{env, header};

/// The function's configuration, read from the environment once when the runtime starts.
///
/// A variable that is not set (as in local invoke) leaves its field empty (or 0 for the memory
/// size); the runtime never fails because of them. For a handler's unit test,
/// `Config::default()` or [`Config::from_lookup`] builds one without the process environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: String,
    /// `AWS_LAMBDA_FUNCTION_VERSION`, e.g. `$LATEST` or `7`.
    pub function_version: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` in MB; 0 when unset or not a number.
    pub memory_size_mb: u32,
    /// `AWS_LAMBDA_LOG_GROUP_NAME`.
    pub log_group_name: String,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`.
    pub log_stream_name: String,
    /// `AWS_REGION`.
    pub region: String,
    /// `_HANDLER`: the function's Handler setting, free text.
    pub handler: String,
    /// `AWS_LAMBDA_MAX_CONCURRENCY`: how many invocations this environment may serve at once
    /// (Lambda Managed Instances); 1 when unset, and when the value is not a whole number of
    /// at least 1 (then [`Config::problems`] says so).
    pub max_concurrency: usize,
    /// `AWS_LAMBDA_INITIALIZATION_TYPE`: `on-demand`, `provisioned-concurrency`,
    /// `snap-start` (then the runtime runs the SnapStart restore phase before the first
    /// `next`), `lambda-managed-instances`; empty when unset.
    pub initialization_type: String,
    /// What was wrong with the environment (a value that could not be used, and what was used
    /// instead), one sentence each; the runtime prints them at start.
    pub problems: Vec<String>,
    /// True for [`Config::from_env`]: the process environment is the function's, so the single
    /// loop may write `_X_AMZN_TRACE_ID` into it. A configuration built by the caller (a test,
    /// a custom `main`) never has the environment written.
    pub(crate) from_env: bool,
}

impl Config {
    /// Reads the configuration through `var`, a lookup such as `|name| std::env::var(name).ok()`
    /// (taking the lookup as a parameter keeps tests away from the process environment). Each
    /// variable is asked for once.
    pub fn from_lookup(mut var: impl FnMut(&str) -> Option<String>) -> Config {
        let mut problems = Vec::new();
        let max_concurrency = match var(env::MAX_CONCURRENCY) {
            None => 1,
            Some(value) => match value.trim().parse::<usize>() {
                Ok(slots) if slots >= 1 => slots,
                _ => {
                    problems.push(format!(
                        "{}={value:?} is not a whole number of at least 1; serving one invocation at a time",
                        env::MAX_CONCURRENCY
                    ));
                    1
                }
            },
        };
        let mut text = |name: &str| var(name).unwrap_or_default();
        Config {
            function_name: text(env::FUNCTION_NAME),
            function_version: text(env::FUNCTION_VERSION),
            memory_size_mb: text(env::FUNCTION_MEMORY_SIZE).parse().unwrap_or(0),
            log_group_name: text(env::LOG_GROUP_NAME),
            log_stream_name: text(env::LOG_STREAM_NAME),
            region: text(env::REGION),
            handler: text(env::HANDLER),
            max_concurrency,
            initialization_type: text(env::INITIALIZATION_TYPE),
            problems,
            from_env: false,
        }
    }
}

/// One invocation, as the `next` answer described it. Handlers get it by value.
///
/// Optional headers that are absent are `None`. Header bytes that are not UTF-8 are kept with
/// U+FFFD in their place rather than rejected. For a handler's unit test, [`Context::new`]
/// builds one; set the fields the test needs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Context {
    /// `Lambda-Runtime-Aws-Request-Id`: the id this invocation is answered to.
    pub request_id: String,
    /// `Lambda-Runtime-Deadline-Ms`: when Lambda stops the invocation. `None` when the header
    /// is missing or not a whole number of milliseconds since the Unix epoch.
    pub deadline: Option<SystemTime>,
    /// `Lambda-Runtime-Invoked-Function-Arn`: the ARN the caller used (it may end in a version
    /// or an alias).
    pub invoked_function_arn: Option<String>,
    /// `Lambda-Runtime-Trace-Id`: the X-Ray trace header, also put into `_X_AMZN_TRACE_ID`
    /// for the invocation by the single loop.
    pub xray_trace_id: Option<String>,
    /// `Lambda-Runtime-Client-Context`: raw JSON (sometimes base64) from mobile-SDK callers.
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity`: raw JSON from mobile-SDK callers.
    pub identity: Option<String>,
    /// `Lambda-Runtime-Aws-Tenant-Id`, for tenant-isolated functions.
    pub tenant_id: Option<String>,
    /// `Lambda-Runtime-Invocation-Id`: the id of this delivery, where the API sends one.
    pub invocation_id: Option<String>,
    /// The function's configuration, read once at start; shared by every invocation.
    pub config: Arc<Config>,
}

impl Context {
    /// A context with this request id and configuration and nothing else: for a handler's unit
    /// test (set the other fields as the test needs), or a custom loop.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let mut ctx = lambda_loop::Context::new("req-1", Default::default());
    /// ctx.deadline = Some(SystemTime::now() + Duration::from_secs(3));
    /// assert!(ctx.remaining_time() > Duration::from_secs(2));
    /// ```
    pub fn new(request_id: impl Into<String>, config: Arc<Config>) -> Context {
        Context {
            request_id: request_id.into(),
            deadline: None,
            invoked_function_arn: None,
            xray_trace_id: None,
            client_context: None,
            identity: None,
            tenant_id: None,
            invocation_id: None,
            config,
        }
    }

    /// Builds the context from the `next` answer's header lines (name, value), in the order
    /// received. Fails when the request id is missing, empty, not UTF-8, or given more than
    /// once: then there is no one invocation to answer to. For the other headers, the first
    /// of duplicates wins.
    pub(crate) fn from_headers<'h>(
        headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
        config: &Arc<Config>,
    ) -> Result<Context, String> {
        // The first request id and how many there were (no list: one is the rule).
        let (mut request_id, mut request_ids) = (None, 0);
        let mut deadline = None;
        let [mut arn, mut trace_id, mut client_context, mut identity, mut tenant_id, mut invocation_id] =
            [None, None, None, None, None, None];
        for (name, value) in headers {
            let slot = match name {
                _ if name.eq_ignore_ascii_case(header::REQUEST_ID) => {
                    request_id = request_id.or(Some(value));
                    request_ids += 1;
                    continue;
                }
                _ if name.eq_ignore_ascii_case(header::DEADLINE_MS) => {
                    deadline = deadline.or(Some(value));
                    continue;
                }
                _ if name.eq_ignore_ascii_case(header::FUNCTION_ARN) => &mut arn,
                _ if name.eq_ignore_ascii_case(header::TRACE_ID) => &mut trace_id,
                _ if name.eq_ignore_ascii_case(header::CLIENT_CONTEXT) => &mut client_context,
                _ if name.eq_ignore_ascii_case(header::COGNITO_IDENTITY) => &mut identity,
                _ if name.eq_ignore_ascii_case(header::TENANT_ID) => &mut tenant_id,
                _ if name.eq_ignore_ascii_case(header::INVOCATION_ID) => &mut invocation_id,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(String::from_utf8_lossy(value).into_owned());
            }
        }
        let request_id = match (request_ids, request_id) {
            (0, _) | (_, None) => return Err("the request id header is missing".into()),
            (1, Some([])) => return Err("the request id header is empty".into()),
            // Answering to a lossy copy of the id would answer a different invocation.
            (1, Some(id)) => {
                String::from_utf8(id.to_vec()).map_err(|_| "the request id header is not UTF-8")?
            }
            (count, _) => return Err(format!("the request id header appears {count} times")),
        };
        Ok(Context {
            request_id,
            deadline: deadline
                .and_then(|ms| std::str::from_utf8(ms).ok())
                .and_then(|ms| ms.trim().parse().ok())
                .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms))),
            invoked_function_arn: arn,
            xray_trace_id: trace_id,
            client_context,
            identity,
            tenant_id,
            invocation_id,
            config: Arc::clone(config),
        })
    }

    /// A context for running a handler outside Lambda (local invoke): a fresh request id, a
    /// deadline `timeout` from now, no optional fields.
    pub(crate) fn local(config: Arc<Config>, timeout: Duration) -> Context {
        let now = SystemTime::now();
        let stamp = epoch_ms(now);
        let mut context = Context::new(format!("local-{}-{stamp}", std::process::id()), config);
        context.deadline = now.checked_add(timeout);
        context
    }

    /// Time left before the deadline; zero once it has passed or when the deadline is unknown
    /// or implausible (some emulators send a constant such as `600000`, which is 1970).
    pub fn remaining_time(&self) -> Duration {
        self.deadline
            .and_then(|deadline| deadline.duration_since(SystemTime::now()).ok())
            .unwrap_or(Duration::ZERO)
    }
}

/// `time` as milliseconds since the Unix epoch (0 before it): the unit of the deadline header,
/// of local request ids and of log timestamps.
pub(crate) fn epoch_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// Where an invocation's answer goes: the request id (the path of the posts) and the
/// delivery's invocation id (echoed on them), where `next` sent one. Cheap to clone (shared
/// text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerAddress {
    request_id: Arc<str>,
    invocation_id: Option<Arc<str>>,
}

impl AnswerAddress {
    /// Where the answer to the invocation a context describes goes.
    pub fn of(context: &Context) -> AnswerAddress {
        AnswerAddress {
            request_id: Arc::from(context.request_id.as_str()),
            invocation_id: context.invocation_id.as_deref().map(Arc::from),
        }
    }

    /// `Lambda-Runtime-Aws-Request-Id` of the invocation.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// `Lambda-Runtime-Invocation-Id` of the delivery, where `next` sent one.
    pub fn invocation_id(&self) -> Option<&str> {
        self.invocation_id.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(headers: &[(&str, &[u8])]) -> Result<Context, String> {
        Context::from_headers(headers.iter().copied(), &Arc::default())
    }

    fn now_ms() -> u64 {
        epoch_ms(SystemTime::now())
    }

    #[test]
    fn every_header_lands_in_its_field() {
        let far = (now_ms() + 60_000).to_string();
        let context = parse(&[
            (
                "lambda-runtime-aws-request-id",
                b"8476a536-e9f4-11e8-9739-2dfe598c3fcd",
            ),
            ("lambda-runtime-deadline-ms", far.as_bytes()),
            (
                "lambda-runtime-invoked-function-arn",
                b"arn:aws:lambda:us-east-2:123456789012:function:f:7",
            ),
            (
                "lambda-runtime-trace-id",
                b"Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1",
            ),
            ("lambda-runtime-client-context", b"eyJjdXN0b20iOnt9fQ=="),
            (
                "lambda-runtime-cognito-identity",
                b"{\"cognitoIdentityId\":\"x\"}",
            ),
            ("lambda-runtime-aws-tenant-id", b"tenant-7"),
            ("lambda-runtime-invocation-id", b"inv-1"),
        ])
        .unwrap();
        assert_eq!(context.request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
        assert!(context.remaining_time() > Duration::from_secs(50));
        assert_eq!(
            context.invoked_function_arn.as_deref(),
            Some("arn:aws:lambda:us-east-2:123456789012:function:f:7")
        );
        assert_eq!(
            context.xray_trace_id.as_deref(),
            Some("Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1")
        );
        assert_eq!(
            context.client_context.as_deref(),
            Some("eyJjdXN0b20iOnt9fQ==")
        );
        assert_eq!(
            context.identity.as_deref(),
            Some("{\"cognitoIdentityId\":\"x\"}")
        );
        assert_eq!(context.tenant_id.as_deref(), Some("tenant-7"));
        assert_eq!(context.invocation_id.as_deref(), Some("inv-1"));
    }

    #[test]
    fn absent_optional_headers_are_none_and_the_deadline_is_zero() {
        let context = parse(&[("Lambda-Runtime-Aws-Request-Id", b"id")]).unwrap();
        assert_eq!(context.deadline, None);
        assert_eq!(context.remaining_time(), Duration::ZERO);
        assert!(context.invoked_function_arn.is_none() && context.xray_trace_id.is_none());
        assert!(context.client_context.is_none() && context.identity.is_none());
        assert!(context.tenant_id.is_none() && context.invocation_id.is_none());
    }

    #[test]
    fn odd_deadlines_never_panic() {
        for deadline in [
            "600000",
            "-5",
            "soon",
            "",
            "99999999999999999999999",
            "18446744073709551615",
        ] {
            let context = parse(&[
                ("Lambda-Runtime-Aws-Request-Id", b"id"),
                ("Lambda-Runtime-Deadline-Ms", deadline.as_bytes()),
            ])
            .unwrap();
            let _ = context.remaining_time();
        }
        let implausible = parse(&[
            ("Lambda-Runtime-Aws-Request-Id", b"id"),
            ("Lambda-Runtime-Deadline-Ms", b"600000"),
        ])
        .unwrap();
        assert_eq!(implausible.remaining_time(), Duration::ZERO);
    }

    #[test]
    fn a_missing_empty_repeated_or_non_utf8_request_id_is_an_error() {
        assert!(parse(&[]).unwrap_err().contains("missing"));
        assert!(parse(&[("Lambda-Runtime-Aws-Request-Id", b"")])
            .unwrap_err()
            .contains("empty"));
        let twice = parse(&[
            ("lambda-runtime-aws-request-id", b"a"),
            ("Lambda-Runtime-Aws-Request-Id", b"a"),
        ]);
        assert!(twice.unwrap_err().contains("appears 2 times"));
        assert!(parse(&[("Lambda-Runtime-Aws-Request-Id", b"\xff")])
            .unwrap_err()
            .contains("not UTF-8"));
    }

    #[test]
    fn the_first_of_duplicate_optional_headers_wins() {
        let context = parse(&[
            ("Lambda-Runtime-Aws-Request-Id", b"id"),
            ("Lambda-Runtime-Trace-Id", b"Root=first"),
            ("Lambda-Runtime-Trace-Id", b"Root=second"),
            ("Lambda-Runtime-Deadline-Ms", b"5"),
            ("Lambda-Runtime-Deadline-Ms", b"6"),
        ])
        .unwrap();
        assert_eq!(context.xray_trace_id.as_deref(), Some("Root=first"));
        assert_eq!(
            context.deadline,
            UNIX_EPOCH.checked_add(Duration::from_millis(5))
        );
    }

    #[test]
    fn non_utf8_header_bytes_are_kept_lossily() {
        let context = parse(&[
            ("Lambda-Runtime-Aws-Request-Id", b"id"),
            ("Lambda-Runtime-Trace-Id", b"Root=\xff"),
        ])
        .unwrap();
        assert_eq!(context.xray_trace_id.as_deref(), Some("Root=\u{fffd}"));
    }

    #[test]
    fn config_reads_through_the_lookup() {
        let config = Config::from_lookup(|name| match name {
            "AWS_LAMBDA_FUNCTION_NAME" => Some("orders".into()),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" => Some("512".into()),
            "_HANDLER" => Some("bootstrap".into()),
            _ => None,
        });
        assert_eq!(config.function_name, "orders");
        assert_eq!(config.memory_size_mb, 512);
        assert_eq!(config.handler, "bootstrap");
        assert_eq!(config.region, "");
        assert_eq!(config.max_concurrency, 1);
        assert!(config.problems.is_empty());
    }

    #[test]
    fn max_concurrency_is_a_whole_number_of_at_least_one() {
        let parse = |value: &str| {
            let value = value.to_owned();
            Config::from_lookup(move |name| (name == env::MAX_CONCURRENCY).then(|| value.clone()))
        };
        assert_eq!(parse("1").max_concurrency, 1);
        assert_eq!(parse("4").max_concurrency, 4);
        assert_eq!(parse(" 16\n").max_concurrency, 16);
        for bad in ["0", "", "-2", "four", "2.5", "99999999999999999999999"] {
            let config = parse(bad);
            assert_eq!(config.max_concurrency, 1, "{bad:?}");
            assert_eq!(config.problems.len(), 1, "{bad:?}");
            assert!(config.problems[0].contains("AWS_LAMBDA_MAX_CONCURRENCY"));
        }
    }

    #[test]
    fn the_invocation_keeps_both_ids() {
        let context = parse(&[
            ("Lambda-Runtime-Aws-Request-Id", b"req"),
            ("Lambda-Runtime-Invocation-Id", b"inv-9"),
        ])
        .unwrap();
        let invocation = AnswerAddress::of(&context);
        assert_eq!(invocation.request_id(), "req");
        assert_eq!(invocation.invocation_id(), Some("inv-9"));
    }
}
