//! An HTTP function: greets `?name=`, or answers 400 with a JSON error when it is missing.
//! The same binary serves a function URL, an HTTP API, a REST API, an ALB or VPC Lattice.
//!
//! Try it locally with a sample event:
//! `cargo run --features http --example http_hello -- tests/events/function-url-get.json`.

use lambda_loop::http::{json_response, Body, Request, RequestExt, Response, StatusCode};
use lambda_loop::{Context, Result};

fn hello(request: Request<Body>, _ctx: Context) -> Result<Response<Body>> {
    match request.query("name") {
        Some(name) => Ok(Response::builder()
            .header("content-type", "text/plain; charset=utf-8")
            .body(format!("Hello, {name}!").into())?),
        None => json_response(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"error": "the query parameter `name` is missing"}),
        ),
    }
}

fn main() {
    lambda_loop::run(lambda_loop::http::handler(hello))
}
