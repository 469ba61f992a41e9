//! A streamed HTTP response for a function URL (invoke mode `RESPONSE_STREAM`): the head
//! goes first, then `?lines=N` lines (default 3), each flushed to the client as it is written.
//!
//! Try it locally (the output is the stream as Lambda gets it: the JSON prelude, 8 NUL bytes,
//! then the body):
//! `cargo run --features http --example http_stream -- tests/events/function-url-get.json`.

use lambda_loop::http::{Body, Request, RequestExt, Response, StreamBody};
use lambda_loop::{Context, Result};

fn ticks(request: Request<Body>, _ctx: Context) -> Result<Response<StreamBody>> {
    let lines: u32 = request.query("lines").as_deref().unwrap_or("3").parse()?;
    let body = StreamBody::new(move |out| {
        for line in 1..=lines {
            writeln!(out, "line {line} of {lines}")?;
            out.flush()?; // the client has this line now
        }
        Ok(())
    });
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/plain; charset=utf-8")
        .header("set-cookie", "streamed=yes; HttpOnly")
        .body(body)?)
}

fn main() {
    lambda_loop::run(lambda_loop::http::streaming(ticks))
}
