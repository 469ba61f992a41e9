//! A typed JSON handler: `{"name":"Ada"}` in, `{"message":"Hello, Ada!"}` out.
//!
//! Try it locally: `echo '{"name":"Ada"}' | cargo run --example hello_json`.

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Greeting {
    name: String,
}

#[derive(Serialize)]
struct Reply {
    message: String,
}

fn main() {
    lambda_loop::run(lambda_loop::json(|greeting: Greeting, _ctx| {
        Ok(Reply {
            message: format!("Hello, {}!", greeting.name),
        })
    }))
}
