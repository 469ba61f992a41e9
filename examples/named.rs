//! Several handlers in one binary; the function's Handler setting (`_HANDLER`) picks one.
//!
//! Deploy the same `bootstrap` as several functions, each with its own Handler: `upper`,
//! `reverse` or `greet`. Any other Handler fails the initialisation, with the list of names.
//!
//! Try it locally: `echo -n abc | _HANDLER=reverse cargo run --example named`.

use lambda_loop::{Context, Result};
use serde::{Deserialize, Serialize};

fn upper(event: &[u8], _ctx: Context) -> Result<Vec<u8>> {
    Ok(event.to_ascii_uppercase())
}

fn reverse(event: &[u8], _ctx: Context) -> Result<Vec<u8>> {
    Ok(event.iter().rev().copied().collect())
}

#[derive(Deserialize)]
struct Greeting {
    name: String,
}

#[derive(Serialize)]
struct Reply {
    message: String,
}

fn greet(greeting: Greeting, _ctx: Context) -> Result<Reply> {
    Ok(Reply {
        message: format!("Hello, {}!", greeting.name),
    })
}

fn main() {
    lambda_loop::run_init(lambda_loop::named(&[
        ("upper", upper),
        ("reverse", reverse),
        // A typed JSON handler: a closure that captures nothing is a plain function too.
        ("greet", |event, ctx| {
            lambda_loop::json(greet).handle(event, ctx)
        }),
    ]))
}
