//! Logging through the `log` facade, the way Lambda reads it.
//!
//! `AWS_LAMBDA_LOG_FORMAT=JSON` makes every record one JSON line on stdout (with the request id
//! of the invocation in flight); `AWS_LAMBDA_LOG_LEVEL` picks the level (default INFO).
//!
//! Try it locally: `echo Ada | AWS_LAMBDA_LOG_FORMAT=JSON cargo run --example logging`.

fn greet(event: &[u8], ctx: lambda_loop::Context) -> lambda_loop::Result<Vec<u8>> {
    let name = String::from_utf8_lossy(event);
    let name = name.trim();
    log::debug!("the event has {} bytes", event.len());
    log::info!("greeting {name}");
    if name.is_empty() {
        log::warn!(target: "audit", "an empty name in {}", ctx.request_id);
    }
    Ok(format!("Hello, {name}!").into_bytes())
}

fn main() {
    lambda_loop::logger::init();
    log::info!("initialising; no invocation is in flight yet");
    lambda_loop::run(greet)
}
