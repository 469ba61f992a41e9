//! An event from API Gateway, a function URL, an ALB or VPC Lattice, as an
//! `http::Request<Body>`. Pure: bytes in, request out.

use std::collections::BTreeMap;

use http::header::{HeaderName, HeaderValue, HOST};
use http::{Method, Request, Uri};
use percent_encoding::{
    percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS, NON_ALPHANUMERIC,
};
use serde_json::{Map, Value};

use super::body::{base64_decode, Body};
use super::context::{RequestContext, Source};
use super::response::Shape;
use crate::error::{Error, Result};
use crate::protocol::error_type;

/// What the message of a rejected event says was expected.
const EXPECTED: &str = "expected an HTTP event: API Gateway REST (httpMethod, path, \
     requestContext), HTTP API or function URL (version \"2.0\", rawPath, requestContext.http), \
     ALB (httpMethod, path, requestContext.elb) or VPC Lattice v2 (version \"2.0\", method, \
     path, requestContext.serviceArn)";

fn unmarshal(reason: impl std::fmt::Display) -> Error {
    Error::new(error_type::UNMARSHAL, format!("{reason}; {EXPECTED}"))
}

/// Turns an event into a request, with a [`RequestContext`] in its extensions.
///
/// Fails with `Runtime.UnmarshalError` when the event is not JSON, is not one of the known
/// shapes, or has a field the `http` crate cannot hold (a method, header or URI that is not
/// valid HTTP, a body marked base64 that is not).
pub fn parse_event(event: &[u8]) -> Result<Request<Body>> {
    parse(event).map(|(request, _shape)| request)
}

/// The request, and the shape its answer must have.
pub(crate) fn parse(event: &[u8]) -> Result<(Request<Body>, Shape)> {
    let value: Value = serde_json::from_slice(event)
        .map_err(|error| unmarshal(format_args!("the event is not JSON ({error})")))?;
    let Value::Object(event) = value else {
        return Err(unmarshal("the event is not a JSON object"));
    };
    let source = detect(&event).ok_or_else(|| {
        let mut keys: Vec<&str> = event.keys().map(String::as_str).take(12).collect();
        if event.len() > keys.len() {
            keys.push("…");
        }
        unmarshal(format_args!(
            "the event is no HTTP event (its top-level keys: {})",
            keys.join(", ")
        ))
    })?;
    let parts = match source {
        Source::ApiGatewayV2 | Source::FunctionUrl => v2(&event)?,
        Source::ApiGatewayV1 => v1(&event)?,
        Source::Alb => alb(&event)?,
        Source::VpcLatticeV2 => lattice(&event)?,
    };
    let shape = Shape::new(source, parts.multi_value_headers);
    Ok((build(source, &event, parts)?, shape))
}

/// Recognises the source from the event's shape alone (no setting says which it is).
fn detect(event: &Map<String, Value>) -> Option<Source> {
    let context = event.get("requestContext").and_then(Value::as_object)?;
    let version = event.get("version").and_then(Value::as_str);
    if version == Some("2.0")
        && event.contains_key("rawPath")
        && context.get("http").is_some_and(Value::is_object)
    {
        let domain = context.get("domainName").and_then(Value::as_str);
        return Some(match domain {
            Some(domain) if domain.contains(".lambda-url.") => Source::FunctionUrl,
            _ => Source::ApiGatewayV2,
        });
    }
    if context.contains_key("serviceArn") && event.contains_key("method") {
        return Some(Source::VpcLatticeV2);
    }
    if !event.contains_key("httpMethod") || !event.contains_key("path") {
        return None;
    }
    if context.contains_key("elb") {
        Some(Source::Alb)
    } else {
        Some(Source::ApiGatewayV1)
    }
}

/// What each source's reader extracts, before it becomes a `Request`.
struct Parts {
    method: String,
    /// The path as the client sent it.
    path: String,
    path_without_stage: String,
    /// The query string, percent-encoded, without `?`.
    query: String,
    headers: Vec<(String, String)>,
    multi_value_headers: bool,
    request_id: Option<String>,
    stage: Option<String>,
    source_ip: Option<String>,
    domain_name: Option<String>,
    authorizer: Option<Value>,
}

/// HTTP API payload 2.0 and function URLs.
fn v2(event: &Map<String, Value>) -> Result<Parts> {
    let context = object(event, "requestContext");
    let http = context.get("http").and_then(Value::as_object);
    let method = http.and_then(|http| text(http, "method"));
    let path = text(event, "rawPath").unwrap_or("/").to_owned();
    let stage = text(context, "stage").map(str::to_owned);
    let path_without_stage = strip_stage(&path, stage.as_deref());
    let mut headers = pairs(event.get("headers"), "headers")?;
    let cookies = pairs(event.get("cookies"), "cookies")?;
    if !cookies.is_empty() {
        let joined: Vec<String> = cookies.into_iter().map(|(_, cookie)| cookie).collect();
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case("cookie"));
        headers.push(("cookie".into(), joined.join("; ")));
    }
    Ok(Parts {
        method: required(method, "requestContext.http.method")?,
        path,
        path_without_stage,
        query: text(event, "rawQueryString").unwrap_or("").to_owned(),
        headers,
        multi_value_headers: false,
        request_id: text(context, "requestId").map(str::to_owned),
        stage,
        source_ip: http
            .and_then(|http| text(http, "sourceIp"))
            .map(str::to_owned),
        domain_name: text(context, "domainName").map(str::to_owned),
        authorizer: context.get("authorizer").filter(|v| !v.is_null()).cloned(),
    })
}

/// REST APIs (and HTTP APIs with payload 1.0).
fn v1(event: &Map<String, Value>) -> Result<Parts> {
    let context = object(event, "requestContext");
    let (headers, multi_value_headers) = headers_1_0(event)?;
    let query = match present(event, "multiValueQueryStringParameters") {
        Some(multi) => pairs(Some(multi), "multiValueQueryStringParameters")?,
        None => pairs(event.get("queryStringParameters"), "queryStringParameters")?,
    };
    let resource_path = text(event, "path").unwrap_or("/").to_owned();
    let identity = context.get("identity").and_then(Value::as_object);
    Ok(Parts {
        method: required(text(event, "httpMethod"), "httpMethod")?,
        // requestContext.path is what the client asked for, stage (or base path) included.
        path: text(context, "path").unwrap_or(&resource_path).to_owned(),
        path_without_stage: resource_path,
        query: encode_query(&query),
        headers,
        multi_value_headers,
        request_id: text(context, "requestId").map(str::to_owned),
        stage: text(context, "stage").map(str::to_owned),
        source_ip: identity
            .and_then(|identity| text(identity, "sourceIp"))
            .map(str::to_owned),
        domain_name: text(context, "domainName").map(str::to_owned),
        authorizer: context.get("authorizer").filter(|v| !v.is_null()).cloned(),
    })
}

/// ALB target groups. ALB passes query strings as the client sent them (still
/// percent-encoded), unlike API Gateway.
fn alb(event: &Map<String, Value>) -> Result<Parts> {
    let (headers, multi_value_headers) = headers_1_0(event)?;
    let query = match present(event, "multiValueQueryStringParameters") {
        Some(multi) => pairs(Some(multi), "multiValueQueryStringParameters")?,
        None => pairs(event.get("queryStringParameters"), "queryStringParameters")?,
    };
    let path = text(event, "path").unwrap_or("/").to_owned();
    Ok(Parts {
        method: required(text(event, "httpMethod"), "httpMethod")?,
        path_without_stage: path.clone(),
        path,
        query: join_query_as_sent(&query),
        headers,
        multi_value_headers,
        request_id: None,
        stage: None,
        source_ip: None,
        domain_name: None,
        authorizer: None,
    })
}

/// VPC Lattice, event structure v2: header and query values are lists.
fn lattice(event: &Map<String, Value>) -> Result<Parts> {
    let context = object(event, "requestContext");
    let query = pairs(event.get("queryStringParameters"), "queryStringParameters")?;
    let path = text(event, "path").unwrap_or("/").to_owned();
    Ok(Parts {
        method: required(text(event, "method"), "method")?,
        path_without_stage: path.clone(),
        path,
        query: join_query_as_sent(&query),
        headers: pairs(event.get("headers"), "headers")?,
        multi_value_headers: false,
        request_id: None,
        stage: None,
        source_ip: None,
        domain_name: None,
        authorizer: context.get("identity").filter(|v| !v.is_null()).cloned(),
    })
}

/// `multiValueHeaders` when the event has them (a superset of `headers`), else `headers`.
fn headers_1_0(event: &Map<String, Value>) -> Result<(Vec<(String, String)>, bool)> {
    match present(event, "multiValueHeaders") {
        Some(multi) => Ok((pairs(Some(multi), "multiValueHeaders")?, true)),
        None => Ok((pairs(event.get("headers"), "headers")?, false)),
    }
}

fn build(source: Source, event: &Map<String, Value>, parts: Parts) -> Result<Request<Body>> {
    let method = Method::from_bytes(parts.method.as_bytes())
        .map_err(|_| unmarshal(format_args!("{:?} is not an HTTP method", parts.method)))?;
    let mut target = escape_uri(&parts.path, false);
    if !target.starts_with('/') {
        target.insert(0, '/');
    }
    if !parts.query.is_empty() {
        target.push('?');
        target.push_str(&escape_uri(&parts.query, true));
    }
    let uri: Uri = target
        .parse()
        .map_err(|error| unmarshal(format_args!("the path and query are no URI ({error})")))?;

    let body = match present(event, "body") {
        None => Body::Empty,
        Some(Value::String(text)) if text.is_empty() => Body::Empty,
        Some(Value::String(text)) => {
            if event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
                Body::Binary(base64_decode(text).map_err(|error| {
                    unmarshal(format_args!(
                        "the body is marked isBase64Encoded but is not base64 ({error})"
                    ))
                })?)
            } else {
                Body::Text(text.clone())
            }
        }
        Some(_) => return Err(unmarshal("the body is not a string")),
    };

    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    for (name, value) in &parts.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| unmarshal(format_args!("{name:?} is not an HTTP header name")))?;
        let value = HeaderValue::from_bytes(value.as_bytes()).map_err(|_| {
            unmarshal(format_args!(
                "the value of header {name} is not a valid HTTP header value"
            ))
        })?;
        headers.append(header, value);
    }
    let domain_name = parts.domain_name.or_else(|| {
        headers
            .get(HOST)
            .and_then(|host| host.to_str().ok())
            .map(str::to_owned)
    });
    let context = event.get("requestContext").cloned().unwrap_or(Value::Null);
    request.extensions_mut().insert(RequestContext {
        source,
        multi_value_headers: parts.multi_value_headers,
        request_id: parts.request_id,
        stage: parts.stage,
        source_ip: parts.source_ip,
        domain_name,
        path_without_stage: parts.path_without_stage,
        path_parameters: string_map(event.get("pathParameters")),
        stage_variables: string_map(event.get("stageVariables")),
        authorizer: parts.authorizer,
        raw: context,
    });
    Ok(request)
}

// ---------------------------------------------------------------------------------------
// Reading JSON leniently: absent and null are the same; strings and lists of strings both
// give (name, value) pairs.

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

fn object<'a>(event: &'a Map<String, Value>, key: &str) -> &'a Map<String, Value> {
    event.get(key).and_then(Value::as_object).unwrap_or(&EMPTY)
}

fn text<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

/// The field when present and not null.
fn present<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|value| !value.is_null())
}

fn required(value: Option<&str>, field: &str) -> Result<String> {
    value
        .map(str::to_owned)
        .ok_or_else(|| unmarshal(format_args!("{field} is missing or not a string")))
}

/// `{"k": "v"}`, `{"k": ["v1", "v2"]}` or `["v1", "v2"]` (cookies) as pairs; null is none.
fn pairs(value: Option<&Value>, field: &str) -> Result<Vec<(String, String)>> {
    let not_strings = || unmarshal(format_args!("{field} holds something other than strings"));
    let mut out = Vec::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                out.push((
                    String::new(),
                    item.as_str().ok_or_else(not_strings)?.to_owned(),
                ));
            }
        }
        Some(Value::Object(map)) => {
            for (key, value) in map {
                match value {
                    Value::Null => {}
                    Value::String(text) => out.push((key.clone(), text.clone())),
                    Value::Array(items) => {
                        for item in items {
                            let text = item.as_str().ok_or_else(not_strings)?;
                            out.push((key.clone(), text.to_owned()));
                        }
                    }
                    _ => return Err(not_strings()),
                }
            }
        }
        Some(_) => return Err(not_strings()),
    }
    Ok(out)
}

/// A map of strings (path parameters, stage variables); anything else is left out.
fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    let Some(Value::Object(map)) = value else {
        return BTreeMap::new();
    };
    map.iter()
        .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
        .collect()
}

// ---------------------------------------------------------------------------------------
// URIs

/// `/{stage}/rest` → `/rest` for a named stage; the path itself otherwise.
fn strip_stage(path: &str, stage: Option<&str>) -> String {
    if let Some(stage) = stage.filter(|stage| !stage.is_empty() && *stage != "$default") {
        if let Some(rest) = path
            .strip_prefix('/')
            .and_then(|path| path.strip_prefix(stage))
        {
            if rest.is_empty() {
                return "/".into();
            }
            if rest.starts_with('/') {
                return rest.into();
            }
        }
    }
    path.into()
}

/// Bytes a query component keeps as they are: `A-Z a-z 0-9 - . _ ~` (RFC 3986's unreserved).
const QUERY_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Bytes a URI cannot hold as they are (controls, space, `"<>\^`{|}`, and `#`); `%` is not
/// among them, so escapes already there are kept. Non-ASCII bytes are always encoded.
const NOT_IN_URI_QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'#');

/// The same for a path, where `?` would start the query.
const NOT_IN_URI_PATH: &AsciiSet = &NOT_IN_URI_QUERY.add(b'?');

/// Decoded pairs as a query string: every byte but `A-Z a-z 0-9 - . _ ~` percent-encoded.
fn encode_query(pairs: &[(String, String)]) -> String {
    let mut query = String::new();
    for (key, value) in pairs {
        if !query.is_empty() {
            query.push('&');
        }
        query.extend(utf8_percent_encode(key, QUERY_COMPONENT));
        query.push('=');
        query.extend(utf8_percent_encode(value, QUERY_COMPONENT));
    }
    query
}

/// Pairs that are still percent-encoded (ALB, VPC Lattice) joined as they are.
fn join_query_as_sent(pairs: &[(String, String)]) -> String {
    let joined: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    joined.join("&")
}

/// Escapes the bytes a URI cannot hold (space, controls, non-ASCII, `"<>\^`{|}`, and `?` `#`
/// in a path, `#` in a query), keeping `%` escapes that are already there.
fn escape_uri(text: &str, query: bool) -> String {
    let set = if query {
        NOT_IN_URI_QUERY
    } else {
        NOT_IN_URI_PATH
    };
    utf8_percent_encode(text, set).to_string()
}

/// Percent-decodes a query component; `+` is a space (HTML forms send spaces that way).
/// Invalid escapes are kept as they are; bytes that are not UTF-8 become U+FFFD.
pub(crate) fn percent_decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}
