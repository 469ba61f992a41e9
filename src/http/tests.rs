//! The mapping, field by field, on the sample events in `tests/events/` (no network).

use serde_json::{json, Value};

use super::*;

macro_rules! event {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/events/", $name))
    };
}

const PNG_START: &[u8] = &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff];

fn parse(event: &[u8]) -> Request<Body> {
    parse_event(event).unwrap_or_else(|error| panic!("{error}"))
}

fn ctx(request: &Request<Body>) -> &RequestContext {
    request.context().expect("a request context")
}

fn header_values(request: &Request<Body>, name: &str) -> Vec<String> {
    request
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn answer(request: &Request<Body>, response: Response<Body>) -> Value {
    let bytes = encode_response(ctx(request), response).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn unmarshal_message(event: &[u8]) -> String {
    let error = parse_event(event).unwrap_err();
    assert_eq!(error.error_type(), "Runtime.UnmarshalError");
    assert!(
        error.message().contains("expected an HTTP event"),
        "{}",
        error.message()
    );
    error.message().to_owned()
}

// ---------------------------------------------------------------------------------------
// HTTP API 2.0

#[test]
fn v2_get_every_field() {
    let request = parse(event!("apigw-v2-get.json"));
    assert_eq!(request.method(), Method::GET);
    assert_eq!(request.uri().path(), "/my/path");
    assert_eq!(
        request.uri().query(),
        Some("parameter1=value1&parameter1=value2&parameter2=value")
    );
    assert_eq!(request.query_all("parameter1"), ["value1", "value2"]);
    assert_eq!(request.query("parameter2").as_deref(), Some("value"));
    // cookies folded into one Cookie header
    assert_eq!(
        header_values(&request, "cookie"),
        ["cookie1=one; cookie2=two"]
    );
    // repeated headers arrive joined by API Gateway, and stay so
    assert_eq!(header_values(&request, "header2"), ["value1,value2"]);
    assert_eq!(request.body(), &Body::Empty);
    let context = ctx(&request);
    assert_eq!(context.source, Source::ApiGatewayV2);
    assert!(!context.multi_value_headers);
    assert_eq!(context.request_id.as_deref(), Some("id"));
    assert_eq!(context.stage.as_deref(), Some("$default"));
    assert_eq!(context.source_ip.as_deref(), Some("192.0.2.1"));
    assert_eq!(
        context.domain_name.as_deref(),
        Some("id.execute-api.us-east-1.amazonaws.com")
    );
    assert_eq!(context.path_without_stage, "/my/path");
    assert!(context.path_parameters.is_empty());
    let authorizer = context.authorizer.as_ref().unwrap();
    assert_eq!(authorizer["jwt"]["claims"]["sub"], "user-1");
    assert_eq!(context.raw["apiId"], "api-id");
}

#[test]
fn v2_binary_body_named_stage_path_parameters() {
    let request = parse(event!("apigw-v2-post-binary.json"));
    assert_eq!(request.method(), Method::POST);
    assert_eq!(request.uri().path(), "/beta/upload/42");
    assert_eq!(request.uri().query(), None);
    assert_eq!(request.body(), &Body::Binary(PNG_START.to_vec()));
    let context = ctx(&request);
    assert_eq!(context.stage.as_deref(), Some("beta"));
    assert_eq!(context.path_without_stage, "/upload/42");
    assert_eq!(request.path_param("id"), Some("42"));
    assert_eq!(request.path_param("other"), None);
    assert_eq!(request.stage_variable("table"), Some("uploads-beta"));
    assert_eq!(context.authorizer, None);
}

#[test]
fn v2_without_body_field() {
    let request = parse(event!("apigw-v2-empty-body.json"));
    assert_eq!(request.method(), Method::DELETE);
    assert_eq!(request.body(), &Body::Empty);
    assert_eq!(request.uri().to_string(), "/items/9");
    assert_eq!(request.path_param("id"), Some("9"));
}

#[test]
fn v2_response_shape_with_cookies() {
    let request = parse(event!("apigw-v2-get.json"));
    let response = Response::builder()
        .status(201)
        .header("content-type", "text/plain")
        .header("x-many", "a")
        .header("x-many", "b")
        .header("set-cookie", "a=1; Path=/")
        .header("set-cookie", "b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT")
        .body(Body::from("created"))
        .unwrap();
    assert_eq!(
        answer(&request, response),
        json!({
            "statusCode": 201,
            "headers": {"content-type": "text/plain", "x-many": "a, b"},
            "cookies": ["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT"],
            "body": "created",
            "isBase64Encoded": false,
        })
    );
}

// ---------------------------------------------------------------------------------------
// Function URLs

#[test]
fn function_url_post_every_field() {
    let request = parse(event!("function-url-post.json"));
    let context = ctx(&request);
    assert_eq!(context.source, Source::FunctionUrl);
    assert_eq!(request.method(), Method::POST);
    assert_eq!(request.uri().path(), "/my/path");
    assert_eq!(request.query_all("parameter1"), ["value1", "value2"]);
    assert_eq!(header_values(&request, "cookie"), ["cookie1; cookie2"]);
    assert_eq!(
        header_values(&request, "content-type"),
        ["application/json"]
    );
    let body: Value = request.body().json().unwrap();
    assert_eq!(body, json!({"example": "test"}));
    assert_eq!(
        context.request_id.as_deref(),
        Some("e1506fd5-9e7b-434f-bd42-4f8fa224b599")
    );
    assert_eq!(context.source_ip.as_deref(), Some("123.123.123.123"));
    assert_eq!(
        context.authorizer.as_ref().unwrap()["iam"]["userArn"],
        "arn:aws:iam::111122223333:user/example-user"
    );
    assert!(context.path_parameters.is_empty()); // null in the event
    assert!(context.stage_variables.is_empty());
}

#[test]
fn function_url_get_decodes_query_values() {
    let request = parse(event!("function-url-get.json"));
    assert_eq!(request.query("name").as_deref(), Some("Ada Lovelace"));
    assert_eq!(request.query_all("tag"), ["a", "b"]);
    let map = request.query_map();
    assert_eq!(map.len(), 2);
    assert_eq!(map["tag"], ["a", "b"]);
    assert_eq!(header_values(&request, "cookie"), ["session=abc"]);
    assert_eq!(ctx(&request).source_ip.as_deref(), Some("203.0.113.5"));
}

#[test]
fn function_url_binary_response_is_base64() {
    let request = parse(event!("function-url-post-binary.json"));
    assert_eq!(request.body().as_bytes(), PNG_START);
    let response = Response::builder()
        .header("content-type", "image/png")
        .body(Body::from(PNG_START))
        .unwrap();
    assert_eq!(
        answer(&request, response),
        json!({
            "statusCode": 200,
            "headers": {"content-type": "image/png"},
            "body": "iVBORw0KGgoA/w==",
            "isBase64Encoded": true,
        })
    );
}

// ---------------------------------------------------------------------------------------
// REST APIs (payload 1.0)

#[test]
fn rest_get_every_field() {
    let request = parse(event!("apigw-rest-get.json"));
    let context = ctx(&request);
    assert_eq!(context.source, Source::ApiGatewayV1);
    assert!(context.multi_value_headers);
    assert_eq!(request.method(), Method::GET);
    // the path as the client sent it: with the stage
    assert_eq!(request.uri().path(), "/prod/orders/7");
    assert_eq!(context.path_without_stage, "/orders/7");
    // multiValueQueryStringParameters, percent-encoded again; keys alphabetical
    assert_eq!(request.uri().query(), Some("q=a%20b%26c&tag=a&tag=b"));
    assert_eq!(request.query("q").as_deref(), Some("a b&c"));
    assert_eq!(request.query_all("tag"), ["a", "b"]);
    // multiValueHeaders: every value
    assert_eq!(header_values(&request, "x-multi"), ["first", "second"]);
    assert_eq!(
        header_values(&request, "cookie"),
        ["s_fid=7AAB6XMPLAFD9BBF-0643XMPL09956DE2; regStatus=pre-register"]
    );
    assert_eq!(request.body(), &Body::Empty);
    assert_eq!(request.path_param("id"), Some("7"));
    assert_eq!(request.stage_variable("table"), Some("orders-prod"));
    assert_eq!(
        context.request_id.as_deref(),
        Some("77375676-xmpl-4b79-853a-f982474efe18")
    );
    assert_eq!(context.stage.as_deref(), Some("prod"));
    assert_eq!(context.source_ip.as_deref(), Some("52.255.255.12"));
    assert_eq!(
        context.domain_name.as_deref(),
        Some("70ixmpl4fl.execute-api.us-east-2.amazonaws.com")
    );
    assert_eq!(
        context.authorizer.as_ref().unwrap()["claims"]["email"],
        "ada@example.com"
    );
    assert_eq!(context.raw["resourcePath"], "/orders/{id}");
}

#[test]
fn rest_binary_and_null_maps() {
    let request = parse(event!("apigw-rest-post-binary.json"));
    assert_eq!(request.body(), &Body::Binary(PNG_START.to_vec()));
    assert_eq!(request.uri().to_string(), "/prod/upload");
    let request = parse(event!("apigw-rest-empty-body.json"));
    assert_eq!(request.uri().to_string(), "/Prod/");
    assert_eq!(ctx(&request).path_without_stage, "/");
    assert!(request.headers().is_empty());
    assert_eq!(request.body(), &Body::Empty);
    assert_eq!(
        ctx(&request).domain_name.as_deref(),
        Some("1234567890.execute-api.us-east-1.amazonaws.com")
    );
}

#[test]
fn rest_response_uses_multi_value_headers() {
    let request = parse(event!("apigw-rest-get.json"));
    let response = Response::builder()
        .status(404)
        .header("set-cookie", "a=1")
        .header("set-cookie", "b=2")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"error":"no order 7"}"#))
        .unwrap();
    assert_eq!(
        answer(&request, response),
        json!({
            "statusCode": 404,
            "multiValueHeaders": {"set-cookie": ["a=1", "b=2"], "content-type": ["application/json"]},
            "body": r#"{"error":"no order 7"}"#,
            "isBase64Encoded": false,
        })
    );
}

#[test]
fn payload_1_0_without_multi_value_headers_answers_with_headers() {
    let event = br#"{"httpMethod": "GET", "path": "/", "headers": {"a": "1"},
        "requestContext": {"stage": "$default", "requestId": "r"}}"#;
    let request = parse(event);
    assert!(!ctx(&request).multi_value_headers);
    let response = Response::new(Body::Empty);
    assert_eq!(
        answer(&request, response),
        json!({"statusCode": 200, "headers": {}, "body": "", "isBase64Encoded": false})
    );
}

// ---------------------------------------------------------------------------------------
// ALB

#[test]
fn alb_single_value_every_field() {
    let request = parse(event!("alb-get.json"));
    let context = ctx(&request);
    assert_eq!(context.source, Source::Alb);
    assert!(!context.multi_value_headers);
    assert_eq!(request.method(), Method::GET);
    assert_eq!(request.uri().to_string(), "/lambda?query=1234ABCD");
    assert_eq!(header_values(&request, "x-imforwards"), ["20"]);
    assert_eq!(request.body(), &Body::Empty);
    assert_eq!(
        context.domain_name.as_deref(),
        Some("lambda-alb-123578498.us-east-2.elb.amazonaws.com")
    );
    assert_eq!(context.request_id, None);
    assert_eq!(
        context.raw["elb"]["targetGroupArn"],
        "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/lambda-279XGJDqGZ5rsrHC2Fjr/49e9d65c45c6791a"
    );
}

#[test]
fn alb_multi_value_keeps_encoding_and_repeats() {
    let request = parse(event!("alb-multi-value-get.json"));
    assert!(ctx(&request).multi_value_headers);
    // ALB does not decode query values: they go into the URI as sent
    assert_eq!(
        request.uri().query(),
        Some("myKey=val1&myKey=val2&name=Ada%20Lovelace")
    );
    assert_eq!(request.query("name").as_deref(), Some("Ada Lovelace"));
    assert_eq!(request.query_all("myKey"), ["val1", "val2"]);
    assert_eq!(header_values(&request, "cookie"), ["a=1", "b=2"]);
}

#[test]
fn alb_response_shapes() {
    let response = || {
        Response::builder()
            .status(404)
            .header("set-cookie", "a=1")
            .header("set-cookie", "b=2")
            .body(Body::from("gone"))
            .unwrap()
    };
    let single = parse(event!("alb-get.json"));
    assert_eq!(
        answer(&single, response()),
        json!({
            "statusCode": 404,
            "statusDescription": "404 Not Found",
            "headers": {"set-cookie": "a=1, b=2"},
            "body": "gone",
            "isBase64Encoded": false,
        })
    );
    let multi = parse(event!("alb-multi-value-get.json"));
    assert_eq!(
        answer(&multi, response()),
        json!({
            "statusCode": 404,
            "statusDescription": "404 Not Found",
            "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
            "body": "gone",
            "isBase64Encoded": false,
        })
    );
    let binary = parse(event!("alb-post-binary.json"));
    assert_eq!(binary.body().as_bytes(), PNG_START);
    assert_eq!(binary.uri().to_string(), "/upload");
}

// ---------------------------------------------------------------------------------------
// VPC Lattice v2

#[test]
fn lattice_every_field() {
    let request = parse(event!("lattice-v2-get.json"));
    let context = ctx(&request);
    assert_eq!(context.source, Source::VpcLatticeV2);
    assert_eq!(request.method(), Method::GET);
    assert_eq!(
        request.uri().to_string(),
        "/items?color=red&color=blue&size=m"
    );
    assert_eq!(request.query_all("color"), ["red", "blue"]);
    assert_eq!(header_values(&request, "x-multi"), ["one", "two"]);
    assert_eq!(context.authorizer.as_ref().unwrap()["type"], "AWS_IAM");
    assert_eq!(context.raw["region"], "us-east-2");
    assert_eq!(
        context.domain_name.as_deref(),
        Some("svc-0a40eebed65f8d69c.7d67968.vpc-lattice-svcs.us-east-2.on.aws")
    );
    let binary = parse(event!("lattice-v2-post.json"));
    assert_eq!(binary.body().as_bytes(), PNG_START);
    let response = Response::builder()
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        answer(&binary, response),
        json!({
            "statusCode": 200,
            "statusDescription": "200 OK",
            "headers": {"content-type": "application/json"},
            "body": "{}",
            "isBase64Encoded": false,
        })
    );
}

// ---------------------------------------------------------------------------------------
// The base64 rule

fn is_base64(headers: &[(&str, &str)], body: Body) -> bool {
    let request = parse(event!("function-url-post.json"));
    let mut response = Response::new(body);
    for (name, value) in headers {
        response.headers_mut().append(
            header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let out = answer(&request, response);
    out["isBase64Encoded"].as_bool().unwrap()
}

#[test]
fn base64_rule() {
    // no headers: text when UTF-8, base64 otherwise (bytes are never lost)
    assert!(!is_base64(&[], Body::from("plain")));
    assert!(!is_base64(&[], Body::Binary(b"utf-8 bytes".to_vec())));
    assert!(is_base64(&[], Body::Binary(vec![0xff, 0x00])));
    // textual types
    for textual in [
        "text/html; charset=utf-8",
        "application/json",
        "application/problem+json",
        "image/svg+xml",
        "application/x-www-form-urlencoded",
        "Application/JSON",
    ] {
        assert!(
            !is_base64(&[("content-type", textual)], Body::from("x")),
            "{textual}"
        );
    }
    // a textual type with bytes that are not UTF-8: base64, not mangled
    assert!(is_base64(
        &[("content-type", "text/plain")],
        Body::Binary(vec![0xe9])
    ));
    // binary types, whatever the variant
    for binary in ["image/png", "application/octet-stream", "application/pdf"] {
        assert!(
            is_base64(&[("content-type", binary)], Body::from("x")),
            "{binary}"
        );
    }
    // any content encoding
    assert!(is_base64(
        &[
            ("content-type", "application/json"),
            ("content-encoding", "gzip")
        ],
        Body::from("{}")
    ));
    // empty is empty text
    assert!(!is_base64(&[("content-type", "image/png")], Body::Empty));
}

#[test]
fn json_response_helper() {
    let request = parse(event!("apigw-v2-get.json"));
    let response = json_response(StatusCode::BAD_REQUEST, &json!({"error": "name"})).unwrap();
    assert_eq!(
        answer(&request, response),
        json!({
            "statusCode": 400,
            "headers": {"content-type": "application/json"},
            "body": r#"{"error":"name"}"#,
            "isBase64Encoded": false,
        })
    );
}

// ---------------------------------------------------------------------------------------
// Malformed events

#[test]
fn malformed_events_are_unmarshal_errors() {
    assert!(unmarshal_message(b"not json").contains("not JSON"));
    assert!(unmarshal_message(b"[1, 2]").contains("not a JSON object"));
    let message = unmarshal_message(br#"{"Records": [{"s3": {}}]}"#);
    assert!(message.contains("top-level keys: Records"), "{message}");
    // a WebSocket event: requestContext, but no httpMethod
    unmarshal_message(br#"{"requestContext": {"routeKey": "$connect", "eventType": "CONNECT"}}"#);
    // 2.0 without requestContext.http is neither HTTP API nor Lattice
    unmarshal_message(br#"{"version": "2.0", "rawPath": "/", "requestContext": {}}"#);
}

#[test]
fn malformed_fields_of_each_kind() {
    // v2 without a method
    let message =
        unmarshal_message(br#"{"version": "2.0", "rawPath": "/", "requestContext": {"http": {}}}"#);
    assert!(message.contains("requestContext.http.method"), "{message}");
    // v1 with a method that is not a token
    let message =
        unmarshal_message(br#"{"httpMethod": "GE T", "path": "/", "requestContext": {}}"#);
    assert!(message.contains("not an HTTP method"), "{message}");
    // ALB with a header value holding a newline
    let message = unmarshal_message(
        br#"{"httpMethod": "GET", "path": "/", "headers": {"x": "a\nb"}, "requestContext": {"elb": {}}}"#,
    );
    assert!(message.contains("header x"), "{message}");
    // Lattice with a body marked base64 that is not
    let message = unmarshal_message(
        br#"{"version": "2.0", "method": "POST", "path": "/", "body": "%%%", "isBase64Encoded": true,
            "requestContext": {"serviceArn": "arn"}}"#,
    );
    assert!(message.contains("not base64"), "{message}");
    // headers that are not strings
    let message = unmarshal_message(
        br#"{"httpMethod": "GET", "path": "/", "headers": {"x": 1}, "requestContext": {}}"#,
    );
    assert!(
        message.contains("headers holds something other than strings"),
        "{message}"
    );
    // a body that is not a string
    let message = unmarshal_message(
        br#"{"httpMethod": "GET", "path": "/", "body": {"a": 1}, "requestContext": {}}"#,
    );
    assert!(message.contains("body is not a string"), "{message}");
}

#[test]
fn uris_hold_what_the_client_sent() {
    // spaces and non-ASCII in a raw path are escaped; existing escapes kept
    let event = br#"{"version": "2.0", "rawPath": "/a b/caf\u00e9/%41", "rawQueryString": "x=1 2",
        "requestContext": {"http": {"method": "GET"}}}"#;
    let request = parse(event);
    assert_eq!(request.uri().path(), "/a%20b/caf%C3%A9/%41");
    assert_eq!(request.query("x").as_deref(), Some("1 2"));
    // a path without a leading slash gets one
    let event = br#"{"httpMethod": "GET", "path": "x", "requestContext": {"elb": {}}}"#;
    assert_eq!(parse(event).uri().path(), "/x");
}

// ---------------------------------------------------------------------------------------
// The adapters

fn test_context() -> crate::Context {
    crate::Context::new("test-request", std::sync::Arc::default())
}

/// Runs a buffered handler on `event`, as the loop would.
fn call<H>(handler: &mut H, event: &[u8]) -> crate::Result<Vec<u8>>
where
    H: crate::runtime::Handler<Answer = crate::runtime::Buffered>,
{
    handler.call(event, test_context(), ())
}

#[test]
fn handler_round_trip_for_every_sample() {
    let samples: [&[u8]; 14] = [
        event!("apigw-v2-get.json"),
        event!("apigw-v2-post-binary.json"),
        event!("apigw-v2-empty-body.json"),
        event!("function-url-post.json"),
        event!("function-url-get.json"),
        event!("function-url-post-binary.json"),
        event!("apigw-rest-get.json"),
        event!("apigw-rest-post-binary.json"),
        event!("apigw-rest-empty-body.json"),
        event!("alb-get.json"),
        event!("alb-multi-value-get.json"),
        event!("alb-post-binary.json"),
        event!("lattice-v2-get.json"),
        event!("lattice-v2-post.json"),
    ];
    let mut echo = handler(|request: Request<Body>, _ctx| {
        let content_type = request
            .headers()
            .get("content-type")
            .cloned()
            .unwrap_or(HeaderValue::from_static("text/plain"));
        let mut response = Response::new(request.into_body());
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
        Ok(response)
    });
    for sample in samples {
        let request = parse(sample);
        let out: Value = serde_json::from_slice(&call(&mut echo, sample).unwrap()).unwrap();
        assert_eq!(out["statusCode"], 200);
        let body = out["body"].as_str().unwrap();
        let bytes = if out["isBase64Encoded"] == true {
            body::base64_decode(body).unwrap()
        } else {
            body.as_bytes().to_vec()
        };
        assert_eq!(bytes, request.body().as_bytes());
    }
}

#[test]
fn handler_reports_unknown_events_and_handler_errors() {
    let mut ok = handler(|_request: Request<Body>, _ctx| Ok(Response::new("hi")));
    let error = call(&mut ok, b"{}").unwrap_err();
    assert_eq!(error.error_type(), "Runtime.UnmarshalError");
    let mut failing = handler(
        |_request: Request<Body>, _ctx| -> crate::Result<Response<Body>> {
            Err(crate::Error::new("Boom", "failed"))
        },
    );
    let error = call(&mut failing, event!("alb-get.json")).unwrap_err();
    assert_eq!(error.error_type(), "Boom");
}

#[test]
fn stream_body_and_prelude() {
    let response = Response::builder()
        .status(201)
        .header("content-type", "text/plain")
        .header("set-cookie", "a=1")
        .header("set-cookie", "b=2")
        .body(StreamBody::from("whole"))
        .unwrap();
    let (parts, body) = response.into_parts();
    let (status, headers, cookies) = response::prelude(&parts);
    assert_eq!(status, 201);
    assert_eq!(
        headers,
        [("content-type".to_owned(), "text/plain".to_owned())]
    );
    assert_eq!(cookies, ["a=1", "b=2"]);
    let mut out = Vec::new();
    body.write_to(&mut out).unwrap();
    assert_eq!(out, b"whole");
}

#[test]
fn percent_coding_keeps_what_it_cannot_decode_and_escapes_what_a_uri_cannot_hold() {
    use super::request::percent_decode;
    assert_eq!(percent_decode("a+b%20c%2Bd"), "a b c+d");
    assert_eq!(percent_decode("100%"), "100%");
    assert_eq!(percent_decode("%zz%4"), "%zz%4");
    assert_eq!(percent_decode("%C3%A9%FF"), "é\u{fffd}");
    let event = r#"{"version": "2.0", "rawPath": "/a b/é?x", "rawQueryString": "q=%41 b#c",
        "headers": {}, "requestContext": {"http": {"method": "GET"}}}"#;
    let request = super::parse_event(event.as_bytes()).unwrap();
    assert_eq!(request.uri().path(), "/a%20b/%C3%A9%3Fx");
    assert_eq!(request.uri().query(), Some("q=%41%20b%23c"));
    assert_eq!(request.query("q").as_deref(), Some("A b#c"));
}
