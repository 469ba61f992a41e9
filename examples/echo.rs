//! The smallest function: the response is the event, byte for byte.
//!
//! Try it locally: `echo hello | cargo run --example echo`.

fn echo(event: &[u8], _ctx: lambda_loop::Context) -> lambda_loop::Result<Vec<u8>> {
    Ok(event.to_vec())
}

fn main() {
    lambda_loop::run(echo)
}
