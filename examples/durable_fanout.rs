//! A durable fan-out: check every address of a list at once with `map` (each item a child
//! context on a thread of its own, its steps checkpointed through the one shared client), and
//! accept the batch when at most a quarter of them fail. Tested by tests/durable_examples.rs.

use lambda_loop::durable::{self, BatchOptions, Completion, CompletionReason, DurableContext};
use serde::{Deserialize, Serialize};

/// The execution's input.
#[derive(Debug, Serialize, Deserialize)]
pub struct Mailing {
    /// The addresses to check.
    pub addresses: Vec<String>,
}

/// The execution's result.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The valid addresses, normalized, in order.
    pub valid: Vec<String>,
    /// The invalid ones: their index and why.
    pub invalid: Vec<(usize, String)>,
    /// True when every address was checked (not more than a quarter failed).
    pub accepted: bool,
}

/// The durable handler.
pub fn fanout(mailing: Mailing, ctx: &mut DurableContext) -> durable::Result<Report> {
    let options = BatchOptions::new()
        .max_concurrency(8)
        .completion(Completion::all().tolerated_failure_percentage(25.0));
    let checked = ctx.map(
        "check",
        &mailing.addresses,
        options,
        |item, address, _index| {
            item.step("normalize", |_| match address.split_once('@') {
                Some((user, domain)) if !user.is_empty() && domain.contains('.') => {
                    Ok(format!("{user}@{}", domain.to_ascii_lowercase()))
                }
                _ => Err(durable::Error::new(
                    "InvalidAddress",
                    format!("{address:?} is not an address"),
                )),
            })
        },
    )?;
    Ok(Report {
        valid: checked.values().into_iter().cloned().collect(),
        invalid: checked
            .errors()
            .into_iter()
            .map(|(index, error)| (index, error.error_message.clone()))
            .collect(),
        accepted: checked.completion_reason == CompletionReason::AllCompleted,
    })
}

fn main() {
    lambda_loop::run(durable::handler(fanout))
}
