//! The same function as `examples/http_hello.rs`, as its own binary for the size rows.

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
