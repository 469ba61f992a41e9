//! The init of `examples/aws-sdk-s3` (a current-thread tokio runtime, the SDK's configuration
//! from the environment, an S3 client), then an echo handler, so that the harness can check
//! every answer byte for byte. What this row measures is the SDK's cost at cold start, on
//! lambda-loop; the S3 calls of a real handler are network time that no bench here measures.

fn main() {
    lambda_loop::run_init(|_config| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let sdk_config = runtime.block_on(aws_config::load_from_env());
        let client = aws_sdk_s3::Client::new(&sdk_config);
        Ok(move |event: &[u8], _ctx: lambda_loop::Context| {
            let _ = (&runtime, &client); // kept for the life of the process, as a real one would
            Ok(event.to_vec())
        })
    })
}
