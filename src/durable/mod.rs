//! Durable functions (feature `durable`): a handler that checkpoints each step, waits for
//! timers, retries and callbacks without running, and is replayed to where it was when the
//! service invokes it again. Plain blocking code: an operation either returns its value or an
//! [`Error`] that `?` carries up, and a suspension ends the invocation `PENDING`.
//!
//! ```no_run
//! use std::time::Duration;
//! use lambda_loop::durable::{CallbackOptions, RetryStrategy, StepOptions};
//!
//! #[derive(serde::Deserialize)]
//! struct Order { id: u64, amount: u64 }
//!
//! fn main() {
//!     lambda_loop::run(lambda_loop::durable::handler(|order: Order, ctx| {
//!         let reserved: bool = ctx.step("reserve", |_| Ok(order.amount < 1000))?;
//!         if !reserved {
//!             return Ok(format!("order {} refused", order.id));
//!         }
//!         let approved: bool = ctx.wait_for_callback(
//!             "approval",
//!             CallbackOptions::new().timeout(Duration::from_secs(3600)),
//!             |callback_id, _step| {
//!                 // Hand the id to whoever approves: they answer through
//!                 // SendDurableExecutionCallbackSuccess with `true` or `false`.
//!                 println!("approve order {} with callback {callback_id}", order.id);
//!                 Ok(())
//!             },
//!         )?;
//!         ctx.wait("settle", Duration::from_secs(5))?;
//!         let options = StepOptions::new().retry(RetryStrategy::default().max_attempts(3)).at_most_once();
//!         ctx.step_with("charge", options, |_| Ok(format!("order {} charged: {approved}", order.id)))
//!     }))
//! }
//! ```
//!
//! docs/durable.md explains replay, the determinism rules, the limits and how to deploy.
//!
//! ## The files
//! `wire.rs` holds the API's types, `replay.rs` the replay rules (operation ids, matching a
//! record, what each operation does with its record), `session.rs` the invocation's shared
//! state and group-committed checkpoints, `client.rs` the calls (retries, signing through
//! `sigv4.rs`, over the agent of `https.rs`: TLS through `tls_transport.rs` with the crypto of
//! `tls.rs`), `context.rs` and `batch.rs` the operations, `adapter.rs` the handler.

mod adapter;
mod batch;
mod blake2b;
mod client;
mod context;
mod error;
mod https;
mod options;
mod random;
mod replay;
mod session;
#[cfg(feature = "durable-testing")]
pub mod testing;
// The signer's intermediate texts (canonical request, string to sign) are read by its tests only.
#[allow(dead_code)]
pub(crate) mod sigv4;
mod tls;
mod tls_transport;
mod wire;

pub use adapter::{handler, DurableHandler};
pub use batch::{BatchItem, BatchResult, Branch};
pub use client::Settings;
pub use context::{Callback, DurableContext, StepContext, WaitDecision};
pub use error::{Error, Result};
pub use options::{
    BatchOptions, CallbackOptions, Completion, CompletionReason, Jitter, RetryStrategy,
    StepOptions, StepSemantics,
};
pub use wire::{
    CallbackDetails, ChainedInvokeDetails, ContextDetails, ErrorObject, ExecutionDetails,
    Operation, OperationStatus, OperationType, StepDetails, WaitDetails,
};

/// docs/durable.md's examples compile (and run) as doc tests, so the guide cannot drift from
/// the API.
#[cfg(all(doctest, feature = "durable-testing"))]
#[doc = include_str!("../../docs/durable.md")]
pub struct DurableGuideDoctests;
