//! A tour of the durable operations in one flow: a flaky step that succeeds on its third
//! attempt, a wait, a child context, a callback made with `create_callback` and one with
//! `wait_for_callback` (both outstanding at once), a chained invoke of another function, a
//! `map` and a `parallel`. Each callback's id goes to stderr, where whoever completes it
//! (a person, a queue, a test) reads it.
//!
//! Run end to end on AWS's own emulator by tests/durable_emulator.rs.

use std::time::Duration;

use lambda_loop::durable::{
    self, BatchOptions, Branch, CallbackOptions, DurableContext, Jitter, RetryStrategy, StepOptions,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The execution's input.
#[derive(Debug, Serialize, Deserialize)]
pub struct Tour {
    /// Who is greeted.
    pub name: String,
    /// The function the chained invoke calls with `{"name": name}`.
    pub greeter: String,
    /// The numbers `map` squares.
    pub numbers: Vec<u64>,
}

/// The execution's result.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The attempt on which the flaky step succeeded.
    pub flaky_attempt: u32,
    /// What the child context made.
    pub badge: String,
    /// What the approver sent.
    pub approval: Value,
    /// What the ticket's callback was completed with.
    pub ticket: Value,
    /// The chained invoke's result.
    pub greeting: Value,
    /// The squares, in order.
    pub squares: Vec<u64>,
    /// The parallel branches' results, in order.
    pub branches: Vec<String>,
}

/// The durable handler.
pub fn tour(tour: Tour, ctx: &mut DurableContext) -> durable::Result<Summary> {
    // Fails twice, then succeeds: two retries, one second apart.
    let flaky = StepOptions::new().retry(
        RetryStrategy::default()
            .max_attempts(3)
            .initial_delay(Duration::from_secs(1))
            .backoff_rate(1.0)
            .jitter(Jitter::None),
    );
    let flaky_attempt: u32 = ctx.step_with("flaky", flaky, |step| {
        if step.attempt < 3 {
            return Err(durable::Error::new(
                "Flaky",
                format!("attempt {} failed", step.attempt),
            ));
        }
        Ok(step.attempt)
    })?;

    ctx.wait("pause", Duration::from_secs(2))?;

    let badge: String = ctx.run_in_child_context("badge", |badge| {
        let initial: String = badge.step("initial", |_| {
            Ok(tour.name.chars().next().unwrap_or('?').to_string())
        })?;
        badge.step("frame", |_| Ok(format!("[{initial}]")))
    })?;

    // The ticket's callback is made first and its id handed out in a step (once); its result
    // is read after the approval, so both wait at the same time.
    let ticket = ctx.create_callback::<Value>("ticket", CallbackOptions::new())?;
    ctx.step("hand out ticket", |_| {
        eprintln!("ticket callback: {}", ticket.id());
        Ok(())
    })?;
    let approval: Value = ctx.wait_for_callback(
        "approval",
        CallbackOptions::new().timeout(Duration::from_secs(3600)),
        |callback_id, _| {
            eprintln!("approval callback: {callback_id}");
            Ok(())
        },
    )?;
    let ticket = ticket.result()?;

    let greeting: Value = ctx.invoke("greet", &tour.greeter, &json!({"name": tour.name}))?;

    let squares = ctx
        .map(
            "square",
            &tour.numbers,
            BatchOptions::new().max_concurrency(2),
            |item, n, _| item.step("multiply", |_| Ok(n * n)),
        )?
        .into_values()?;

    let branches: Vec<Branch<'_, String>> = vec![
        Box::new(|branch| branch.step("left", |_| Ok("left".to_owned()))),
        Box::new(|branch| {
            branch.wait("right pause", Duration::from_secs(1))?;
            branch.step("right", |_| Ok("right".to_owned()))
        }),
    ];
    let branches = ctx
        .parallel("both", BatchOptions::new(), branches)?
        .into_values()?;

    Ok(Summary {
        flaky_attempt,
        badge,
        approval,
        ticket,
        greeting,
        squares,
        branches,
    })
}

fn main() {
    lambda_loop::run(durable::handler(tour))
}
