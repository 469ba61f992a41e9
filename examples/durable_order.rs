//! A durable order flow: validate, reserve stock (retried), ask a person for approval through
//! a callback and wait for the answer (up to a day, without running), charge at most once,
//! then ship in a child context after a pause. Each step runs once across all the invocations
//! the execution takes; a replay returns the recorded results.
//!
//! Deployed as a durable function (docs/durable.md), an approver completes the callback whose
//! id the function prints, e.g. `aws lambda send-durable-execution-callback-success
//! --callback-id ID --result true`. Tested by tests/durable_examples.rs.

use std::time::Duration;

use lambda_loop::durable::{
    self, CallbackOptions, DurableContext, Jitter, RetryStrategy, StepOptions,
};
use serde::{Deserialize, Serialize};

/// The execution's input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    /// The order's id.
    pub id: String,
    /// What was ordered.
    pub items: Vec<Line>,
}

/// One line of an order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Line {
    /// The article.
    pub sku: String,
    /// How many.
    pub quantity: u32,
    /// The price of one, in cents.
    pub cents: u64,
}

/// The execution's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// The order's id.
    pub order: String,
    /// What it costs in all.
    pub total_cents: u64,
    /// `shipped`, or why not.
    pub status: String,
    /// The tracking code, once shipped.
    pub tracking: Option<String>,
}

/// What the approver sends as the callback's result.
#[derive(Debug, Serialize, Deserialize)]
pub struct Approval {
    /// The decision.
    pub approved: bool,
    /// Who decided.
    pub by: String,
}

/// The durable handler.
pub fn order_flow(order: Order, ctx: &mut DurableContext) -> durable::Result<Receipt> {
    let total_cents: u64 = ctx.step("validate", |_| {
        if order.items.is_empty() {
            return Err(durable::Error::new(
                "EmptyOrder",
                format!("order {} has no items", order.id),
            ));
        }
        Ok(order
            .items
            .iter()
            .map(|line| line.cents * u64::from(line.quantity))
            .sum())
    })?;

    let reserve = StepOptions::new().retry(
        RetryStrategy::default()
            .max_attempts(4)
            .initial_delay(Duration::from_secs(2))
            .jitter(Jitter::Half),
    );
    let reservation: String = ctx.step_with("reserve stock", reserve, |step| {
        Ok(format!("reservation-{}-{}", order.id, step.attempt))
    })?;

    // Large orders wait for a person; the function does not run while it waits.
    if total_cents >= 100_000 {
        let options = CallbackOptions::new().timeout(Duration::from_secs(24 * 3600));
        let approval: Approval =
            ctx.wait_for_callback("approval", options, |callback_id, _step| {
                // Where a real flow would send the id to the approver (a queue, an email).
                eprintln!("order {} needs approval: callback {callback_id}", order.id);
                Ok(())
            })?;
        if !approval.approved {
            ctx.step("release stock", |_| Ok(reservation.clone()))?;
            return Ok(Receipt {
                order: order.id.clone(),
                total_cents,
                status: format!("rejected by {}", approval.by),
                tracking: None,
            });
        }
    }

    // Charging twice is worse than not charging: at most once per attempt, no retry.
    let charge = StepOptions::new()
        .at_most_once()
        .retry(RetryStrategy::none());
    let payment: String =
        ctx.step_with("charge", charge, |_| Ok(format!("payment-{}", order.id)))?;

    ctx.wait("before shipping", Duration::from_secs(60))?;
    let tracking: String = ctx.run_in_child_context("ship", |ship| {
        let label: String = ship.step("label", |_| Ok(format!("label-{reservation}")))?;
        ship.step("hand over", |_| Ok(format!("track-{label}-{payment}")))
    })?;
    Ok(Receipt {
        order: order.id,
        total_cents,
        status: "shipped".into(),
        tracking: Some(tracking),
    })
}

fn main() {
    lambda_loop::run(durable::handler(order_flow))
}
