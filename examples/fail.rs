//! Failures on demand, to see (and test) how each one reaches Lambda.
//!
//! The event, as text, chooses:
//! - `parse`: `?` on a `ParseIntError` (errorType `core::num::error::ParseIntError`)
//! - `custom`: an error made with `Error::new` (errorType `CustomError`)
//! - `panic`: a panic (errorType `Runtime.Panic`; under `panic = "abort"` the process then ends)
//! - `oversize`: a response larger than Lambda accepts (errorType `Runtime.ResponseTooLarge`)
//! - `context`: replies with the invocation's context and `_X_AMZN_TRACE_ID` as JSON
//! - anything else: echoed back.
//!
//! With `FAIL_INIT=1` in the environment, initialisation fails (posted to `/runtime/init/error`);
//! with `FAIL_RESTORE=1` under SnapStart (`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`), the
//! after-restore hook fails (posted to `/runtime/restore/error`).

use lambda_loop::runtime::protocol::MAX_RESPONSE_BYTES;
use lambda_loop::{Context, Error, Result};

fn handle(event: &[u8], ctx: Context) -> Result<Vec<u8>> {
    match event {
        b"parse" => {
            let number: i32 = "forty-two".parse()?;
            Ok(number.to_string().into_bytes())
        }
        b"custom" => Err(Error::new("CustomError", "failed on purpose, as asked")),
        b"panic" => panic!("the fail example was asked to panic"),
        b"oversize" => Ok(vec![b'x'; MAX_RESPONSE_BYTES + 1]),
        b"context" => Ok(describe(&ctx).into_bytes()),
        other => Ok(other.to_vec()),
    }
}

fn describe(ctx: &Context) -> String {
    serde_json::json!({
        "requestId": ctx.request_id,
        "deadlineMs": ctx
            .deadline
            .and_then(|deadline| deadline.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |since| since.as_millis() as u64),
        "remainingMs": ctx.remaining_time().as_millis() as u64,
        "invokedFunctionArn": ctx.invoked_function_arn,
        "xrayTraceId": ctx.xray_trace_id,
        "clientContext": ctx.client_context,
        "identity": ctx.identity,
        "tenantId": ctx.tenant_id,
        "invocationId": ctx.invocation_id,
        "traceEnv": std::env::var("_X_AMZN_TRACE_ID").ok(),
        "functionName": ctx.config.function_name,
        "functionVersion": ctx.config.function_version,
        "memorySizeMb": ctx.config.memory_size_mb,
        "logGroupName": ctx.config.log_group_name,
        "logStreamName": ctx.config.log_stream_name,
        "region": ctx.config.region,
    })
    .to_string()
}

fn main() {
    lambda_loop::run_init(|_config| {
        if std::env::var_os("FAIL_INIT").is_some_and(|value| value == "1") {
            return Err(Error::new(
                "InitError",
                "FAIL_INIT=1 asked initialisation to fail",
            ));
        }
        if std::env::var_os("FAIL_RESTORE").is_some_and(|value| value == "1") {
            // Runs only under SnapStart (AWS_LAMBDA_INITIALIZATION_TYPE=snap-start).
            lambda_loop::runtime::after_restore(|| {
                Err(Error::new(
                    "RestoreError",
                    "FAIL_RESTORE=1 asked the after-restore hook to fail",
                ))
            });
        }
        Ok(handle)
    })
}
