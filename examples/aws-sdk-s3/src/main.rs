//! A lambda-loop function that writes an S3 object and reads it back, with the official
//! `aws-sdk-s3`: the SDK is async, so the init builds one current-thread tokio runtime and the
//! SDK client, once, and each event runs its calls with `block_on`. No async Lambda runtime.
//!
//! Event: `{"key": "notes/1.txt", "body": "hello"}`; the bucket comes from `BUCKET`.
//! Response: `{"key": ..., "bytesWritten": N, "readBack": "hello", "eTag": ...}`.
//! `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`), read by the SDK itself, points it elsewhere
//! than AWS (the test uses a moto server on 127.0.0.1); then path-style addressing is used.

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use lambda_loop::{Context, Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Request {
    key: String,
    body: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    key: String,
    bytes_written: usize,
    read_back: String,
    e_tag: Option<String>,
}

/// What the init builds once and every invocation uses.
struct State {
    runtime: tokio::runtime::Runtime,
    client: Client,
    bucket: String,
}

fn init() -> Result<State> {
    let bucket = std::env::var("BUCKET")
        .map_err(|_| Error::new("ConfigError", "BUCKET is not set: the bucket to use"))?;
    // One thread, the one the loop runs on: block_on drives the SDK's futures to completion.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let sdk_config = runtime.block_on(aws_config::load_from_env());
    let custom_endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    let s3_config = aws_sdk_s3::config::Builder::from(&sdk_config)
        .force_path_style(custom_endpoint)
        .build();
    Ok(State {
        runtime,
        client: Client::from_conf(s3_config),
        bucket,
    })
}

async fn write_and_read(state: &State, request: Request) -> Result<Response> {
    let put = state
        .client
        .put_object()
        .bucket(&state.bucket)
        .key(&request.key)
        .body(ByteStream::from(request.body.clone().into_bytes()))
        .send()
        .await
        .map_err(|e| Error::new("S3PutError", DisplayErrorContext(e).to_string()))?;
    let got = state
        .client
        .get_object()
        .bucket(&state.bucket)
        .key(&request.key)
        .send()
        .await
        .map_err(|e| Error::new("S3GetError", DisplayErrorContext(e).to_string()))?;
    let bytes = got
        .body
        .collect()
        .await
        .map_err(|e| Error::new("S3ReadError", e.to_string()))?
        .into_bytes();
    Ok(Response {
        key: request.key,
        bytes_written: request.body.len(),
        read_back: String::from_utf8_lossy(&bytes).into_owned(),
        e_tag: put.e_tag,
    })
}

fn main() {
    lambda_loop::run_init(|_config| {
        let state = init()?;
        Ok(lambda_loop::json(move |request: Request, _ctx: Context| {
            state.runtime.block_on(write_and_read(&state, request))
        }))
    })
}
