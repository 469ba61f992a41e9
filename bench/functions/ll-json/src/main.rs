//! lambda-loop JSON echo: the same work as the official runtime's hello world, which
//! deserializes the event into `serde_json::Value` and serializes it back.

fn main() {
    lambda_loop::run(lambda_loop::json(|event: serde_json::Value, _context| Ok(event)))
}
