//! The bench's durable workflow on lambda-loop: steps `one` and `two`, a one-second wait
//! `pause`, a map `items` over [1, 2, 3, 4] (each item a step `times-ten` in its own child
//! context), then a step `three` adding it all up (and, for the
//! per-step figure, `extra` more steps before the wait). The same operations, names and result as
//! `official-durable`.

use std::time::Duration;

use lambda_loop::durable::{self, BatchOptions, DurableContext};

fn workflow(
    event: serde_json::Value,
    ctx: &mut DurableContext,
) -> durable::Result<serde_json::Value> {
    let one: u64 = ctx.step("one", |_| Ok(1 + 1))?;
    let two: u64 = ctx.step("two", |_| Ok(one * 2))?;
    // The bench's per-step figure: `extra` more steps (0 in the workflow itself).
    for i in 0..event["extra"].as_u64().unwrap_or(0) {
        let _: u64 = ctx.step("extra", |_| Ok(i))?;
    }
    ctx.wait("pause", Duration::from_secs(1))?;
    let items: Vec<u64> = vec![1, 2, 3, 4];
    let tens = ctx
        .map(
            "items",
            &items,
            BatchOptions::new(),
            |child, item, _index| child.step("times-ten", |_| Ok(item * 10)),
        )?
        .into_values()?;
    let sum: u64 = tens.iter().sum();
    let three: u64 = ctx.step("three", |_| Ok(two + sum))?;
    Ok(serde_json::json!({ "one": one, "two": two, "tens": tens, "three": three }))
}

fn main() {
    lambda_loop::run(durable::handler(workflow))
}
