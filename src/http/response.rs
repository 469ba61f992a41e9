//! An `http::Response` as the JSON each source expects back. Pure: response in, bytes out.

use http::header::{HeaderMap, CONTENT_ENCODING, CONTENT_TYPE, SET_COOKIE};
use http::Response;
use serde_json::{Map, Value};

use super::body::{base64_encode, Body};
use super::context::{RequestContext, Source};
use crate::error::{Error, Result};
use crate::protocol::{content_type, error_type};

/// The answer to the event the request came from, in the shape its source expects:
///
/// | source | JSON |
/// |---|---|
/// | HTTP API 2.0, function URL | `statusCode`, `headers`, `cookies` (every `Set-Cookie`), `body`, `isBase64Encoded` |
/// | REST (1.0) | `statusCode`, `multiValueHeaders` (or `headers` when the event had no `multiValueHeaders`), `body`, `isBase64Encoded` |
/// | ALB | `statusCode`, `statusDescription`, `multiValueHeaders` or `headers` (whichever the event used), `body`, `isBase64Encoded` |
/// | VPC Lattice v2 | `statusCode`, `statusDescription`, `headers`, `body`, `isBase64Encoded` |
///
/// In a `headers` object, a header given more than once has its values joined with `, `
/// (so, except in 2.0's `cookies`, several `Set-Cookie` need `multiValueHeaders`). The body
/// is text or base64 by [the rule](super#base64-in-responses).
pub fn encode_response<B: Into<Body>>(
    context: &RequestContext,
    response: Response<B>,
) -> Result<Vec<u8>> {
    Shape::of(context).encode(response)
}

/// What the response's JSON depends on: the source, and whether its event had
/// `multiValueHeaders`. Small, so that an adapter keeps it instead of the whole context.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    source: Source,
    multi_value_headers: bool,
}

impl Shape {
    pub(crate) fn of(context: &RequestContext) -> Shape {
        Shape::new(context.source, context.multi_value_headers)
    }

    pub(crate) fn new(source: Source, multi_value_headers: bool) -> Shape {
        Shape {
            source,
            multi_value_headers,
        }
    }

    pub(crate) fn encode<B: Into<Body>>(self, response: Response<B>) -> Result<Vec<u8>> {
        encode(self, response)
    }
}

fn encode<B: Into<Body>>(context: Shape, response: Response<B>) -> Result<Vec<u8>> {
    let (parts, body) = response.into_parts();
    let body = body.into();
    let headers = &parts.headers;
    let mut out = Map::new();
    out.insert("statusCode".into(), parts.status.as_u16().into());
    if matches!(context.source, Source::Alb | Source::VpcLatticeV2) {
        let reason = parts.status.canonical_reason().unwrap_or("");
        let description = format!("{} {reason}", parts.status.as_u16());
        out.insert("statusDescription".into(), description.trim_end().into());
    }
    match context.source {
        Source::ApiGatewayV2 | Source::FunctionUrl => {
            out.insert("headers".into(), single_values(headers, false));
            let cookies = values(headers, SET_COOKIE.as_str());
            if !cookies.is_empty() {
                out.insert("cookies".into(), cookies.into());
            }
        }
        Source::ApiGatewayV1 | Source::Alb if context.multi_value_headers => {
            out.insert("multiValueHeaders".into(), multi_values(headers));
        }
        _ => {
            out.insert("headers".into(), single_values(headers, true));
        }
    }
    let (text, base64) = match body_as_text(headers, &body) {
        Some(text) => (text.to_owned(), false),
        None => (base64_encode(body.as_bytes()), true),
    };
    out.insert("body".into(), text.into());
    out.insert("isBase64Encoded".into(), base64.into());
    serde_json::to_vec(&Value::Object(out)).map_err(|error| {
        Error::new(
            error_type::MARSHAL,
            format!("the response could not be written as JSON: {error}"),
        )
    })
}

/// The body as text when it can travel as text: no `Content-Encoding`, a textual (or no)
/// `Content-Type`, and valid UTF-8. `None` means base64.
pub(crate) fn body_as_text<'a>(headers: &HeaderMap, body: &'a Body) -> Option<&'a str> {
    if body.is_empty() {
        return Some("");
    }
    if headers.contains_key(CONTENT_ENCODING) {
        return None;
    }
    if let Some(content_type) = headers.get(CONTENT_TYPE) {
        if !content_type.to_str().is_ok_and(is_textual) {
            return None;
        }
    }
    body.as_text()
}

/// Media types whose bodies are text: `text/*`, JSON, JavaScript, XML, YAML, form data, and
/// any `+json`, `+xml` or `+yaml` type (`application/problem+json`, `image/svg+xml`).
pub(crate) fn is_textual(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || matches!(
            essence.as_str(),
            content_type::JSON
                | "application/javascript"
                | "application/ecmascript"
                | "application/xml"
                | "application/yaml"
                | "application/x-yaml"
                | "application/x-www-form-urlencoded"
                | "application/graphql"
        )
        || [b"+json".as_slice(), b"+xml", b"+yaml"]
            .iter()
            .any(|suffix| essence.as_bytes().ends_with(suffix))
}

/// Every value of header `name`, as text (bytes that are not UTF-8 become U+FFFD).
fn values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect()
}

/// `{"name": "v1, v2"}`; `Set-Cookie` left out unless `with_cookies`.
fn single_values(headers: &HeaderMap, with_cookies: bool) -> Value {
    let mut out = Map::new();
    for name in headers.keys() {
        if name == SET_COOKIE && !with_cookies {
            continue;
        }
        out.insert(
            name.as_str().into(),
            values(headers, name.as_str()).join(", ").into(),
        );
    }
    Value::Object(out)
}

/// `{"name": ["v1", "v2"]}`.
fn multi_values(headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for name in headers.keys() {
        out.insert(name.as_str().into(), values(headers, name.as_str()).into());
    }
    Value::Object(out)
}

/// The prelude of a streamed HTTP response: status, headers (without `Set-Cookie`) and the
/// cookies.
pub(crate) fn prelude(parts: &http::response::Parts) -> (u16, Vec<(String, String)>, Vec<String>) {
    let mut headers = Vec::new();
    for (name, value) in &parts.headers {
        if name != SET_COOKIE {
            headers.push((
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ));
        }
    }
    (
        parts.status.as_u16(),
        headers,
        values(&parts.headers, SET_COOKIE.as_str()),
    )
}
