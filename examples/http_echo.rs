//! An HTTP function that answers with what it saw, as JSON:
//! `{"method", "path", "query": {name: [values]}, "headers": {name: [values]}, "body_base64"}`.
//!
//! Try it locally with a sample event:
//! `cargo run --features http --example http_echo -- tests/events/apigw-rest-get.json`.

use std::collections::BTreeMap;

use lambda_loop::http::{json_response, Body, Request, RequestExt, Response, StatusCode};
use lambda_loop::{Context, Result};

#[derive(serde::Serialize)]
struct Seen {
    method: String,
    path: String,
    query: BTreeMap<String, Vec<String>>,
    headers: BTreeMap<String, Vec<String>>,
    body_base64: String,
}

fn echo(request: Request<Body>, _ctx: Context) -> Result<Response<Body>> {
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in request.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers.entry(name.to_string()).or_default().push(value);
    }
    let seen = Seen {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        query: request.query_map(),
        headers,
        body_base64: base64(request.body().as_bytes()),
    };
    json_response(StatusCode::OK, &seen)
}

/// Standard base64 with padding (a few lines here rather than a dependency).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let bits = chunk.iter().enumerate().fold(0u32, |bits, (i, &byte)| {
            bits | u32::from(byte) << (16 - 8 * i)
        });
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(bits >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn main() {
    lambda_loop::run(lambda_loop::http::handler(echo))
}
