//! A typed handler for Lambda Managed Instances: with `AWS_LAMBDA_MAX_CONCURRENCY=N`, N
//! threads serve N invocations at once, sharing this one `Fn + Sync` handler.
//!
//! The event is JSON: `{"sleepMs": 200}` waits that long first (as a call to a slow service
//! would), `{"panic": true}` panics (the slot reports it and keeps serving), `{}` replies at
//! once. The reply holds the request id, the trace id from the context, what
//! `_X_AMZN_TRACE_ID` holds (nothing when the slots are concurrent: they never set it), the
//! serving thread's name, and how many invocations the whole process has served so far.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lambda_loop::{Context, Result};

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Work {
    #[serde(default)]
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
    // State shared by every slot: an atomic here; a Mutex or a pool for richer state.
    let served = AtomicU64::new(0);
    lambda_loop::run_concurrent_json(move |work: Work, ctx: Context| -> Result<Done> {
        std::thread::sleep(Duration::from_millis(work.sleep_ms));
        if work.panic {
            panic!("the concurrent example was asked to panic");
        }
        Ok(Done {
            request_id: ctx.request_id,
            trace_id: ctx.xray_trace_id,
            trace_env: std::env::var("_X_AMZN_TRACE_ID").ok(),
            thread: std::thread::current().name().map(str::to_owned),
            served: served.fetch_add(1, Ordering::Relaxed) + 1,
        })
    })
}
