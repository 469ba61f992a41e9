//! Typed handlers: JSON in, JSON out, through serde.

use std::any::type_name;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::Context;
use crate::error::{Error, Result};

/// Turns a typed handler into a raw one: the event is parsed as `T`, the reply serialized
/// from `U`.
///
/// An event that is not valid JSON for `T` becomes the invocation's error, with `errorType`
/// `Runtime.UnmarshalError` and serde's explanation in the message; the loop goes on. A reply
/// that cannot be serialized is a `Runtime.MarshalError`. (These are the names AWS's own
/// runtimes use for the same failures.)
///
/// Use it with [`run_init`](crate::run_init) when a typed handler needs initialisation;
/// [`run_json`](crate::run_json) is `run(json(handler))`.
pub fn json<T, U, F>(mut handler: F) -> impl FnMut(&[u8], Context) -> Result<Vec<u8>>
where
    T: DeserializeOwned,
    U: Serialize,
    F: FnMut(T, Context) -> Result<U>,
{
    move |event, context| serialize_reply(&handler(parse_event(event)?, context)?)
}

/// The event as `T`, or a `Runtime.UnmarshalError`.
pub(crate) fn parse_event<T: DeserializeOwned>(event: &[u8]) -> Result<T> {
    serde_json::from_slice(event).map_err(|error| {
        Error::new(
            "Runtime.UnmarshalError",
            format!(
                "the event is not valid JSON for {}: {error}",
                type_name::<T>()
            ),
        )
    })
}

/// The reply as JSON bytes, or a `Runtime.MarshalError`.
pub(crate) fn serialize_reply<U: Serialize>(reply: &U) -> Result<Vec<u8>> {
    serde_json::to_vec(reply).map_err(|error| {
        Error::new(
            "Runtime.MarshalError",
            format!("the reply could not be serialized as JSON: {error}"),
        )
    })
}

/// Serves a typed JSON handler: [`run`](crate::run)`(`[`json`]`(handler))`.
pub fn run_json<T, U, F>(handler: F) -> !
where
    T: DeserializeOwned,
    U: Serialize,
    F: FnMut(T, Context) -> Result<U>,
{
    crate::run(json(handler))
}
