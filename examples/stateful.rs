//! State built once, before the first event, and kept across invocations: here a counter
//! and the time the environment started. Real functions keep database clients, parsed
//! configuration or caches this way.

use std::time::SystemTime;

fn main() {
    let started = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let mut invocations: u64 = 0;
    lambda_loop::run(move |_event: &[u8], ctx: lambda_loop::Context| {
        invocations += 1;
        let reply = serde_json::json!({
            "invocation": invocations,
            "started": started,
            "requestId": ctx.request_id,
            "function": ctx.config.function_name,
        });
        Ok(reply.to_string().into_bytes())
    })
}
