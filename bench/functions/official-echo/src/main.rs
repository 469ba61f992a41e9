//! The official runtime's hello-world shape: echo the JSON event back.
//!
//! No tracing subscriber is installed (the README's example installs one): without it the
//! runtime's tracing calls are nearly free, which can only favour the official row.

use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
