//! The two calls of the Lambda Extensions API that graceful shutdown needs: `register` the
//! runtime process as an *internal* extension, then keep one `event/next` call waiting.
//!
//! | call | path (under `http://$AWS_LAMBDA_RUNTIME_API/2020-01-01`) |
//! |---|---|
//! | [`Extension::register`] | `POST /extension/register` |
//! | [`Extension::next_event`] | `GET /extension/event/next` |
//!
//! Registering any extension is what makes Lambda send SIGTERM to the runtime before it ends
//! the environment. Lambda also waits for every registered extension's first `event/next`
//! before it considers initialisation done, and an internal extension cannot subscribe to any
//! event (SHUTDOWN is for external extensions), so the call registers for none and
//! `event/next` simply waits for the life of the environment.
//!
//! This is a second client next to the Runtime API's `Client` on purpose: it has its own connection (one
//! call of it is always pending) and is linked only into binaries that call
//! [`on_shutdown`](crate::runtime::on_shutdown).

use crate::agent::loopback_agent;
use crate::answer::require_success;
use crate::endpoint::base_url_of;
use crate::error::RuntimeError;
use crate::protocol::header::{self, EXTENSION_IDENTIFIER as IDENTIFIER_HEADER};
use crate::protocol::{content_type, path, EXTENSIONS_VERSION as VERSION};

/// The name this runtime registers under.
pub(crate) const EXTENSION_NAME: &str = "lambda-loop";

/// A registered internal extension.
pub(crate) struct Extension {
    agent: ureq::Agent,
    /// `http://host:port[/prefix]/2020-01-01`.
    base: String,
    identifier: String,
}

impl Extension {
    /// `POST /extension/register` with no events; `endpoint` is the value of
    /// `AWS_LAMBDA_RUNTIME_API`. Must happen during initialisation, before the runtime's first
    /// `next`: Lambda refuses registrations after that.
    pub fn register(endpoint: &str) -> Result<Extension, RuntimeError> {
        let base = base_url_of(endpoint, VERSION)?.to_string();
        let agent = loopback_agent();
        let call = format!("POST /{VERSION}{}", path::EXTENSION_REGISTER);
        let answer = agent
            .post(format!("{base}{}", path::EXTENSION_REGISTER))
            .header(header::EXTENSION_NAME, EXTENSION_NAME)
            .header(header::CONTENT_TYPE, content_type::JSON)
            .send(&br#"{"events":[]}"#[..]);
        let answer = require_success(&call, answer)?;
        match answer
            .headers()
            .get(IDENTIFIER_HEADER)
            .and_then(|value| value.to_str().ok())
        {
            Some(identifier) if !identifier.is_empty() => Ok(Extension {
                agent,
                base,
                identifier: identifier.to_owned(),
            }),
            _ => Err(RuntimeError::Protocol {
                detail: format!("{call} answered without a {IDENTIFIER_HEADER} header"),
            }),
        }
    }

    /// `GET /extension/event/next`: blocks, with no timeout, until Lambda has an event for
    /// this extension (for an internal extension with no events: as long as the environment
    /// lives). `Ok` means "ask again".
    pub fn next_event(&self) -> Result<(), RuntimeError> {
        let call = format!("GET /{VERSION}{}", path::EXTENSION_NEXT);
        let answer = self
            .agent
            .get(format!("{}{}", self.base, path::EXTENSION_NEXT))
            .header(IDENTIFIER_HEADER, &self.identifier)
            .call();
        require_success(&call, answer).map(drop)
    }
}
