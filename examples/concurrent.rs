//! A handler for Lambda Managed Instances: with `AWS_LAMBDA_MAX_CONCURRENCY=N`, N threads
//! serve N invocations at once, each running its own clone of this handler (the closure
//! borrows the counter they share).
//!
//! The event is JSON: `{"sleep_ms": 200}` waits that long first (as a call to a slow service
//! would; `sleepMs` works too), `"panic"` (the JSON string, or the bare word) or
//! `{"panic": true}` panics (under `panic = "unwind"` the slot reports it and keeps serving;
//! under `panic = "abort"` the panic hook answers every slot's invocation before the process
//! ends), `{}` replies at once. The reply holds the request id, the trace id from the context,
//! what `_X_AMZN_TRACE_ID` holds (nothing when the slots are concurrent: they never set it),
//! the serving thread's name, and how many invocations the whole process has served so far.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lambda_loop::{Context, Result};

#[derive(serde::Deserialize, Default)]
struct Work {
    #[serde(default, alias = "sleepMs")]
    sleep_ms: u64,
    #[serde(default)]
    panic: bool,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Done {
    request_id: String,
    trace_id: Option<String>,
    trace_env: Option<String>,
    thread: Option<String>,
    served: u64,
}

fn main() {
    let served = AtomicU64::new(0);
    lambda_loop::run(lambda_loop::concurrent(
        |event: &[u8], ctx: Context| -> Result<Vec<u8>> {
            let work: Work = match event.trim_ascii() {
                b"panic" | b"\"panic\"" => Work {
                    panic: true,
                    ..Work::default()
                },
                json => serde_json::from_slice(json)?,
            };
            if work.sleep_ms > 0 {
                eprintln!("{}: sleeping {} ms", ctx.request_id, work.sleep_ms);
                std::thread::sleep(Duration::from_millis(work.sleep_ms));
            }
            if work.panic {
                panic!("the concurrent example was asked to panic");
            }
            let done = Done {
                request_id: ctx.request_id,
                trace_id: ctx.xray_trace_id,
                trace_env: std::env::var("_X_AMZN_TRACE_ID").ok(),
                thread: std::thread::current().name().map(str::to_owned),
                served: served.fetch_add(1, Ordering::Relaxed) + 1,
            };
            Ok(serde_json::to_vec(&done)?)
        },
    ))
}
