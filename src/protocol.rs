//! The words of the Lambda Runtime API, each named once: paths, header names, content types,
//! the `Runtime.*` error types, the environment variables, and the limits. Pure constants: the
//! rest of the crate (and a custom loop of yours) spells every one of them through here.

use std::time::Duration;

/// The API version every Runtime API path starts with.
pub const VERSION: &str = "2018-06-01";

/// The value of [`header::RESPONSE_MODE`] that makes a response post streamed.
pub const STREAMING: &str = "streaming";

/// The Extensions API's version (it sits beside the Runtime API, on the same address).
pub const EXTENSIONS_VERSION: &str = "2020-01-01";

/// Paths under `http://$AWS_LAMBDA_RUNTIME_API/2018-06-01`.
pub mod path {
    /// `GET`: blocks until there is an event.
    pub const NEXT: &str = "/runtime/invocation/next";
    /// `POST /runtime/invocation/{id}` + this: the handler's response.
    pub const RESPONSE: &str = "/response";
    /// `POST /runtime/invocation/{id}` + this: the handler's error.
    pub const ERROR: &str = "/error";
    /// The part before the request id in the two paths above.
    pub const INVOCATION: &str = "/runtime/invocation/";
    /// `POST`: initialisation failed, before the first `next`.
    pub const INIT_ERROR: &str = "/runtime/init/error";
    /// `GET`, SnapStart only: Lambda takes the snapshot while it waits; it answers in the
    /// restored environment.
    pub const RESTORE_NEXT: &str = "/runtime/restore/next";
    /// `POST`, SnapStart only: an after-restore hook failed.
    pub const RESTORE_ERROR: &str = "/runtime/restore/error";
    /// Extensions API (under `/2020-01-01`), `POST`: register an extension.
    pub const EXTENSION_REGISTER: &str = "/extension/register";
    /// Extensions API (under `/2020-01-01`), `GET`: wait for the extension's next event.
    pub const EXTENSION_NEXT: &str = "/extension/event/next";
}

/// Header names, as the Runtime API spells them (HTTP header names are case-insensitive).
pub mod header {
    /// `next`: the id every answer is posted to.
    pub const REQUEST_ID: &str = "Lambda-Runtime-Aws-Request-Id";
    /// `next`: the deadline, milliseconds since the Unix epoch.
    pub const DEADLINE_MS: &str = "Lambda-Runtime-Deadline-Ms";
    /// `next`: the ARN the caller invoked.
    pub const FUNCTION_ARN: &str = "Lambda-Runtime-Invoked-Function-Arn";
    /// `next`: the X-Ray trace header.
    pub const TRACE_ID: &str = "Lambda-Runtime-Trace-Id";
    /// `next`: mobile-SDK client context (JSON).
    pub const CLIENT_CONTEXT: &str = "Lambda-Runtime-Client-Context";
    /// `next`: mobile-SDK Cognito identity (JSON).
    pub const COGNITO_IDENTITY: &str = "Lambda-Runtime-Cognito-Identity";
    /// `next`: the tenant id of a tenant-isolated function.
    pub const TENANT_ID: &str = "Lambda-Runtime-Aws-Tenant-Id";
    /// `next`: the id of this delivery of the event.
    pub const INVOCATION_ID: &str = "Lambda-Runtime-Invocation-Id";
    /// Error posts (header) and streamed responses (trailer): the `errorType`.
    pub const ERROR_TYPE: &str = "Lambda-Runtime-Function-Error-Type";
    /// Streamed responses (trailer): the error JSON, base64-encoded.
    pub const ERROR_BODY: &str = "Lambda-Runtime-Function-Error-Body";
    /// Streamed responses: [`STREAMING`](super::STREAMING).
    pub const RESPONSE_MODE: &str = "Lambda-Runtime-Function-Response-Mode";
    /// Every post with a body.
    pub const CONTENT_TYPE: &str = "Content-Type";
    /// Extensions API, `register`: the extension's name.
    pub const EXTENSION_NAME: &str = "Lambda-Extension-Name";
    /// Extensions API: the answer to `register`, and who is asking on every later call.
    pub const EXTENSION_IDENTIFIER: &str = "Lambda-Extension-Identifier";
    /// Error posts: the X-Ray cause JSON (left out when larger than
    /// [`MAX_XRAY_CAUSE_BYTES`](super::MAX_XRAY_CAUSE_BYTES)).
    pub const XRAY_ERROR_CAUSE: &str = "Lambda-Runtime-Function-XRay-Error-Cause";
}

/// Content types of the bodies the runtime posts.
pub mod content_type {
    /// Error bodies, per the Runtime API's OpenAPI file.
    pub const ERROR: &str = "application/vnd.aws.lambda.error+json";
    /// A streamed response that is not an HTTP response.
    pub const STREAM: &str = "application/octet-stream";
    /// A streamed response that starts with an HTTP prelude (function URLs).
    pub const HTTP_INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";
    /// JSON: the Extensions API's `register` body, and JSON bodies of HTTP responses.
    pub const JSON: &str = "application/json";
}

/// The `errorType`s the runtime itself reports (AWS's runtimes use the same names where they
/// have the same failure).
pub mod error_type {
    /// The handler panicked.
    pub const PANIC: &str = "Runtime.Panic";
    /// The response is larger than Lambda accepts.
    pub const RESPONSE_TOO_LARGE: &str = "Runtime.ResponseTooLarge";
    /// The event is not valid JSON for the typed handler.
    pub const UNMARSHAL: &str = "Runtime.UnmarshalError";
    /// The typed handler's reply could not be serialized.
    pub const MARSHAL: &str = "Runtime.MarshalError";
    /// The event body could not be read from the Runtime API.
    pub const INVALID_EVENT: &str = "Runtime.InvalidEvent";
    /// `_HANDLER` names none of the binary's handlers.
    pub const HANDLER_NOT_FOUND: &str = "Runtime.HandlerNotFound";
    /// The response stream could not be opened.
    pub const STREAM: &str = "Runtime.StreamError";
    /// SnapStart: a before-snapshot hook failed (reported as an init error).
    pub const BEFORE_SNAPSHOT: &str = "Runtime.BeforeSnapshotError";
    /// SnapStart: `restore/next` did not answer with a 2xx (reported as an init error).
    pub const RESTORE: &str = "Runtime.RestoreError";
    /// SnapStart: an after-restore hook failed (posted to `restore/error`).
    pub const AFTER_RESTORE: &str = "Runtime.AfterRestoreError";
    /// Another invocation of the same process panicked under `panic = "abort"`, and the
    /// process ended while this one was in flight.
    pub const ABORTED: &str = "Runtime.Aborted";
}

/// Environment variables the runtime reads or writes.
pub mod env {
    /// `Config::function_name`.
    pub const FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";
    /// `Config::function_version`.
    pub const FUNCTION_VERSION: &str = "AWS_LAMBDA_FUNCTION_VERSION";
    /// `Config::memory_size_mb`.
    pub const FUNCTION_MEMORY_SIZE: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
    /// `Config::log_group_name`.
    pub const LOG_GROUP_NAME: &str = "AWS_LAMBDA_LOG_GROUP_NAME";
    /// `Config::log_stream_name`.
    pub const LOG_STREAM_NAME: &str = "AWS_LAMBDA_LOG_STREAM_NAME";
    /// `Config::region`.
    pub const REGION: &str = "AWS_REGION";
    /// `Config::handler`: the function's Handler setting.
    pub const HANDLER: &str = "_HANDLER";
    /// `Text` or `JSON` (read by `logger::init`).
    pub const LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";
    /// The application log level of the JSON format (read by `logger::init`).
    pub const LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
    /// The Runtime API's address, `host:port`.
    pub const RUNTIME_API: &str = "AWS_LAMBDA_RUNTIME_API";
    /// Lambda Managed Instances: how many invocations one environment may serve at once.
    pub const MAX_CONCURRENCY: &str = "AWS_LAMBDA_MAX_CONCURRENCY";
    /// Written by the single loop for X-Ray SDKs: the invocation's trace id.
    pub const TRACE_ID: &str = "_X_AMZN_TRACE_ID";
    /// How the environment was initialised: `on-demand`, `provisioned-concurrency`,
    /// `snap-start`, `lambda-managed-instances`.
    pub const INITIALIZATION_TYPE: &str = "AWS_LAMBDA_INITIALIZATION_TYPE";
    /// The value of [`INITIALIZATION_TYPE`] under SnapStart.
    pub const SNAP_START: &str = "snap-start";
}

/// Lambda's limit for a buffered response body. A larger post would get 413, and the
/// invocation's later `/error` a 403: so the size is checked first and an error reported.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// Lambda's limit for a streamed response: 200 MiB.
pub const MAX_STREAM_BYTES: u64 = 200 * 1024 * 1024;

/// Largest event body read into memory. Lambda's own limit is 6 MB; the margin is for
/// emulators, the bound is so that a broken API cannot make the runtime allocate without limit.
pub const MAX_EVENT_BYTES: u64 = 64 * 1024 * 1024;

/// Largest X-Ray cause sent with an error post (AWS's Java, Ruby and .NET runtimes use the
/// same cap): a larger one is left out rather than risk the post.
pub const MAX_XRAY_CAUSE_BYTES: usize = 1024 * 1024;

/// Largest header section accepted in an answer: room for a client context or trace header
/// far beyond what Lambda sends.
pub const MAX_HEADER_BYTES: usize = 128 * 1024;

/// The Runtime API's answer to a post is a short JSON status: anything longer is not read.
pub const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// Pauses between tries when the Runtime API cannot be reached: a restarting emulator gets a
/// moment, a dead environment costs well under a second before the process exits.
pub const RETRY_PAUSES: [Duration; 3] = [
    Duration::from_millis(20),
    Duration::from_millis(60),
    Duration::from_millis(180),
];

/// Sent on every call, so the Runtime API (and AWS) can tell which runtime is talking.
pub const USER_AGENT: &str = concat!("lambda-loop/", env!("CARGO_PKG_VERSION"));
