//! HTTP functions: API Gateway, function URL, ALB and VPC Lattice events as
//! [`http::Request`], answered with an [`http::Response`].
//!
//! ```no_run
//! use lambda_loop::http::{json_response, Body, Request, RequestExt, Response, StatusCode};
//!
//! fn hello(request: Request<Body>, _ctx: lambda_loop::Context) -> lambda_loop::Result<Response<Body>> {
//!     match request.query("name") {
//!         Some(name) => Ok(Response::new(format!("Hello, {name}!").into())),
//!         None => json_response(StatusCode::BAD_REQUEST, &serde_json::json!({"error": "name is missing"})),
//!     }
//! }
//!
//! fn main() {
//!     lambda_loop::run(lambda_loop::http::handler(hello))
//! }
//! ```
//!
//! The shortest one, as in the README's quick start:
//!
//! ```no_run
//! use lambda_loop::http::{Body, Request, Response};
//!
//! fn main() {
//!     lambda_loop::run(lambda_loop::http::handler(|request: Request<Body>, _ctx| {
//!         Ok(Response::new(format!("Hello from {}", request.uri().path())))
//!     }))
//! }
//! ```
//!
//! The same handler serves every source: the event's shape says where it came from (no
//! setting to choose), and the response goes back in the shape that source expects.
//! [`handler`] makes the handler a runtime handler; [`streaming`] does the same for a
//! function URL that streams its response. [`parse_event`] and [`encode_response`] are the
//! two pure halves, for tests of your own that feed sample events to a handler.
//!
//! Anything that is not one of these shapes (an S3 event, a WebSocket event, a hand-made
//! test event) is answered with a `Runtime.UnmarshalError` that names the shapes expected.
//!
//! ## Sources
//!
//! | source | recognised by | [`Source`] |
//! |---|---|---|
//! | API Gateway REST API; HTTP API with payload 1.0 | `httpMethod`, `path`, a `requestContext` without `elb` | `ApiGatewayV1` |
//! | API Gateway HTTP API, payload 2.0 | `version: "2.0"`, `rawPath`, `requestContext.http` | `ApiGatewayV2` |
//! | Lambda function URL | the 2.0 shape, `requestContext.domainName` on `*.lambda-url.*` | `FunctionUrl` |
//! | ALB target group (multi-value headers on or off) | `httpMethod`, `path`, `requestContext.elb` | `Alb` |
//! | VPC Lattice, event structure v2 | `method`, `path`, `requestContext.serviceArn` | `VpcLatticeV2` |
//!
//! ## The request
//!
//! | request | REST (1.0) | HTTP API 2.0, function URL | ALB | VPC Lattice v2 |
//! |---|---|---|---|---|
//! | `method()` | `httpMethod` | `requestContext.http.method` | `httpMethod` | `method` |
//! | `uri().path()` | `requestContext.path` (stage included, as the client sent it), else `path` | `rawPath` | `path` | `path` |
//! | `uri().query()` | `multiValueQueryStringParameters` (else `queryStringParameters`), percent-encoded again | `rawQueryString`, as it is | `multiValueQueryStringParameters` or `queryStringParameters`, as sent (ALB does not decode them) | `queryStringParameters`, as sent |
//! | `headers()` | `multiValueHeaders` (else `headers`): every value | `headers` (repeated headers arrive joined with commas) and `cookies` folded into one `cookie: a=1; b=2` | `multiValueHeaders` when enabled, else `headers` | `headers` (lists of values) |
//! | `body()` | `body`, base64-decoded when `isBase64Encoded` | the same | the same | the same |
//!
//! The body is [`Body::Empty`] when it is missing, `null` or `""`; [`Body::Binary`] when it
//! was base64; [`Body::Text`] otherwise. Header names are lowercase (the `http` crate's
//! rule). Keys of JSON objects (headers, query parameters) come in alphabetical order; the
//! values of one key keep their order. Bytes a URI cannot hold (spaces, non-ASCII) are
//! percent-encoded into the URI; `%` escapes already there are kept.
//!
//! Query helpers ([`RequestExt::query`], [`query_all`](RequestExt::query_all),
//! [`query_map`](RequestExt::query_map)) read the URI's query and decode it (`%XX`, and
//! `+` as a space), so they give the same values whichever the source.
//!
//! ## The request context
//!
//! Every request parsed here has a [`RequestContext`] in its extensions
//! ([`RequestExt::context`]):
//!
//! | field | REST (1.0) | HTTP API 2.0, function URL | ALB | VPC Lattice v2 |
//! |---|---|---|---|---|
//! | `request_id` | `requestContext.requestId` | `requestContext.requestId` | — | — |
//! | `stage` | `requestContext.stage` | `requestContext.stage` | — | — |
//! | `source_ip` | `requestContext.identity.sourceIp` | `requestContext.http.sourceIp` | — (see `x-forwarded-for`) | — (see `x-forwarded-for`) |
//! | `domain_name` | `requestContext.domainName`, else `host` | `requestContext.domainName` | `host` header | `host` header |
//! | `path_without_stage` | `path` | `rawPath` without a leading `/{stage}` | `path` | `path` |
//! | `path_parameters` | `pathParameters` | `pathParameters` | — | — |
//! | `stage_variables` | `stageVariables` | `stageVariables` | — | — |
//! | `authorizer` | `requestContext.authorizer` | `requestContext.authorizer` (`jwt`, `iam`, `lambda`) | — | `requestContext.identity` |
//! | `raw` | the whole `requestContext`, as sent | the same | the same | the same |
//!
//! ## The response
//!
//! [`encode_response`] lists the JSON fields per source. In short: 2.0 answers carry every
//! `Set-Cookie` in `cookies`; REST and ALB answers use `multiValueHeaders` exactly when the
//! event did (REST events always have them, ALB's only with multi-value headers enabled on
//! the target group, and without them ALB keeps one value per header, so several cookies
//! need that setting); ALB and VPC Lattice answers also get a `statusDescription` such as
//! `"404 Not Found"`.
//!
//! ### Base64 in responses
//!
//! The body goes out as text (`isBase64Encoded: false`) when all of these hold, and as
//! base64 otherwise:
//! 1. there is no `Content-Encoding` header (a gzip or br body is bytes);
//! 2. there is no `Content-Type`, or it is textual: `text/*`, `application/json`,
//!    `application/javascript`, `application/xml`, `application/yaml`,
//!    `application/x-www-form-urlencoded`, `application/graphql`, or any `+json`, `+xml`,
//!    `+yaml` type;
//! 3. the bytes are valid UTF-8.
//!
//! An empty body is `""`, not base64. The [`Body`] variant does not matter: the bytes and
//! the headers decide, so a response never loses a byte. `lambda_http` has rules 1 and 2
//! (and the header `x-lambda-http-content-encoding: text` to force text), but not rule 3:
//! it converts a body with a textual type to text through its `charset`, replacing bytes
//! that do not decode; here such a body goes as base64 instead.
//!
//! A REST API returns a base64 body decoded only for the media types listed in the API's
//! `binaryMediaTypes`; otherwise the client gets the base64 text. HTTP APIs, function
//! URLs, ALB and VPC Lattice always decode it.
//!
//! ## Streaming (function URLs)
//!
//! With the function URL's invoke mode set to `RESPONSE_STREAM`,
//! `lambda_loop::run(lambda_loop::http::streaming(handler))` sends the response
//! head as the stream's prelude (`statusCode`, `headers`, `cookies`), then the body as the
//! handler writes it: see [`streaming`] and [`StreamBody`].

mod adapter;
mod body;
mod context;
mod request;
mod response;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use ::http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use serde_core::Serialize;

pub use adapter::{handler, streaming, StreamBody};
pub use body::Body;
pub use context::{RequestContext, Source};
pub use request::parse_event;
pub use response::encode_response;

use crate::error::{Error, Result};
use crate::protocol::{content_type, error_type};

/// A response with `value` as its JSON body and `content-type: application/json`.
///
/// ```
/// use lambda_loop::http::{json_response, StatusCode};
///
/// let response = json_response(StatusCode::CREATED, &serde_json::json!({"id": 7}))?;
/// assert_eq!(response.status(), 201);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// assert_eq!(response.body().as_bytes(), br#"{"id":7}"#);
/// # Ok::<(), lambda_loop::Error>(())
/// ```
///
/// A value that cannot be serialized is a `Runtime.MarshalError`.
pub fn json_response<T: Serialize + ?Sized>(
    status: StatusCode,
    value: &T,
) -> Result<Response<Body>> {
    let body = Body::from_json(value).map_err(|error| {
        Error::new(
            error_type::MARSHAL,
            format!("the response body could not be serialized as JSON: {error}"),
        )
    })?;
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type::JSON),
    );
    Ok(response)
}

/// Typed access to what a request parsed by [`parse_event`] carries: query and path
/// parameters by name, stage variables, and the [`RequestContext`].
///
/// ```
/// use lambda_loop::http::{parse_event, RequestExt};
///
/// let event = br#"{"version": "2.0", "rawPath": "/orders/7", "rawQueryString": "tag=a&tag=b%20c",
///     "headers": {}, "pathParameters": {"id": "7"},
///     "requestContext": {"http": {"method": "GET"}, "stage": "$default"}}"#;
/// let request = parse_event(event)?;
/// assert_eq!(request.path_param("id"), Some("7"));
/// assert_eq!(request.query("tag").as_deref(), Some("a"));
/// assert_eq!(request.query_all("tag"), ["a", "b c"]);
/// assert_eq!(request.query("missing"), None);
/// # Ok::<(), lambda_loop::Error>(())
/// ```
pub trait RequestExt {
    /// The source's request context (`None` only for a request not made by [`parse_event`]).
    fn context(&self) -> Option<&RequestContext>;
    /// The first value of query parameter `name`, decoded.
    fn query(&self, name: &str) -> Option<String>;
    /// Every value of query parameter `name`, decoded, in order.
    fn query_all(&self, name: &str) -> Vec<String>;
    /// All query parameters, decoded: name → values in order.
    fn query_map(&self) -> BTreeMap<String, Vec<String>>;
    /// Path parameter `name` of the route (`/orders/{id}` → `path_param("id")`).
    fn path_param(&self, name: &str) -> Option<&str>;
    /// Stage variable `name`.
    fn stage_variable(&self, name: &str) -> Option<&str>;
}

impl<B> RequestExt for Request<B> {
    fn context(&self) -> Option<&RequestContext> {
        self.extensions().get::<RequestContext>()
    }

    fn query(&self, name: &str) -> Option<String> {
        query_pairs(self.uri())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    fn query_all(&self, name: &str) -> Vec<String> {
        query_pairs(self.uri())
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value)
            .collect()
    }

    fn query_map(&self) -> BTreeMap<String, Vec<String>> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in query_pairs(self.uri()) {
            map.entry(key).or_default().push(value);
        }
        map
    }

    fn path_param(&self, name: &str) -> Option<&str> {
        let context = self.context()?;
        context.path_parameters.get(name).map(String::as_str)
    }

    fn stage_variable(&self, name: &str) -> Option<&str> {
        let context = self.context()?;
        context.stage_variables.get(name).map(String::as_str)
    }
}

/// The URI's query as decoded (name, value) pairs; `a` alone is `("a", "")`.
fn query_pairs(uri: &Uri) -> impl Iterator<Item = (String, String)> + '_ {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (request::percent_decode(key), request::percent_decode(value))
        })
}
