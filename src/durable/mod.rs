//! Durable functions (feature `durable`): the SigV4 signer and HTTPS agent the durable-execution client uses.

// Only tests call these until the durable client (branch `durable`) lands on top of them.
#[allow(dead_code)]
pub(crate) mod https;
#[allow(dead_code)]
pub(crate) mod sigv4;
