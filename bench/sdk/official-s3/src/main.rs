//! The official runtime's shape for an SDK function (as in its examples): `#[tokio::main]`,
//! the SDK's configuration and an S3 client built before `run`, then the same echo as
//! `official-echo`, so that the harness can check every answer.

use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk_config = aws_config::load_from_env().await;
    let client = aws_sdk_s3::Client::new(&sdk_config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let _client = client.clone(); // what a real handler would call
        async move { Ok::<_, Error>(event.payload) }
    }))
    .await
}
