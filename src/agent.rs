//! The HTTP client of the Lambda APIs on loopback (the Runtime API, and the Extensions API of
//! `extension.rs`): one ureq agent over the crate's own socket (`transport.rs`).

use crate::protocol::{MAX_HEADER_BYTES, USER_AGENT};
use crate::transport::{LoopbackConnector, ResolveOnce};

/// An HTTP client for a Lambda API on loopback: one kept-alive connection over
/// [`LoopbackConnector`], no proxy, no redirects, statuses returned rather than raised, and our
/// `User-Agent`.
pub(crate) fn loopback_agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        // Statuses are answers we act on, not transport errors.
        .http_status_as_error(false)
        // The APIs are on loopback: a proxy from HTTP_PROXY would break them.
        .proxy(None)
        .max_redirects(0)
        .user_agent(USER_AGENT)
        // One loop, one connection: everything else would be an idle socket.
        .max_idle_connections(1)
        .max_idle_connections_per_host(1)
        .max_response_header_size(MAX_HEADER_BYTES)
        .build();
    ureq::Agent::with_parts(config, LoopbackConnector, ResolveOnce::default())
}
