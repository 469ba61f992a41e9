//! The bench's durable workflow on the official Rust SDK, written as its README writes one:
//! steps `one` and `two`, a one-second wait `pause`, a map `items` over [1, 2, 3, 4] (each
//! item a step `times-ten` in its own child context), then a step `three` adding it all up (and, for the
//! per-step figure, `extra` more steps before the wait).
//! The same operations, names and result as `ll-durable`.

use std::time::Duration;

use aws_durable_execution_sdk as durable;

async fn workflow(
    event: serde_json::Value,
    ctx: durable::DurableContext,
) -> Result<serde_json::Value, durable::BoxError> {
    let one = ctx.step(|_| async { Ok(1u64 + 1) }).name("one").await?;
    let two = ctx
        .step(move |_| async move { Ok(one * 2) })
        .name("two")
        .await?;
    // The bench's per-step figure: `extra` more steps (0 in the workflow itself).
    for i in 0..event["extra"].as_u64().unwrap_or(0) {
        ctx.step(move |_| async move { Ok(i) })
            .name("extra")
            .await?;
    }
    ctx.wait(Duration::from_secs(1)).name("pause").await?;
    let items: Vec<u64> = vec![1, 2, 3, 4];
    let tens = ctx
        .map(items, |child, item, _index| async move {
            let ten = child
                .step(move |_| async move { Ok(item * 10) })
                .name("times-ten")
                .await?;
            Ok(ten)
        })
        .name("items")
        .await?;
    let sum: u64 = tens.iter().sum();
    let three = ctx
        .step(move |_| async move { Ok(two + sum) })
        .name("three")
        .await?;
    Ok(serde_json::json!({ "one": one, "two": two, "tens": tens, "three": three }))
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    durable::run(workflow).await
}
