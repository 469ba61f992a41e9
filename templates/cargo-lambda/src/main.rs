{%- if kind == "raw" -%}
//! A lambda-loop function: the event's bytes in, the response's bytes out.
use lambda_loop::{Context, Result};

fn handler(event: &[u8], ctx: Context) -> Result<Vec<u8>> {
    eprintln!("request {}: {} bytes", ctx.request_id, event.len());
    Ok(event.to_vec())
}

fn main() {
    lambda_loop::run(handler)
}
{%- elsif kind == "json" -%}
//! A lambda-loop function: a JSON event in, a JSON response out, through serde.
use lambda_loop::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Request {
    name: String,
}

#[derive(Serialize)]
struct Response {
    message: String,
}

fn handler(request: Request, ctx: Context) -> Result<Response> {
    eprintln!("request {}", ctx.request_id);
    Ok(Response {
        message: format!("Hello, {}!", request.name),
    })
}

fn main() {
    lambda_loop::run(lambda_loop::json(handler))
}
{%- else -%}
//! A lambda-loop HTTP function (function URL, API Gateway, ALB): `http::Request` in,
//! `http::Response` out. `lambda_loop::http` is behind lambda-loop's `http` feature, which the
//! template turned on in Cargo.toml.
use lambda_loop::http::Body;
use lambda_loop::{Context, Result};

fn handler(request: http::Request<Body>, _ctx: Context) -> Result<http::Response<Body>> {
    let body = format!("Hello from {}", request.uri().path());
    Ok(http::Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body(Body::from(body))?)
}

fn main() {
    lambda_loop::run(lambda_loop::http::handler(handler))
}
{%- endif %}
