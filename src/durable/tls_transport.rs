//! TLS under ureq for the durable client: a connector that wraps the TCP transport ureq opened
//! in a rustls client connection, for `https` URLs only.
//!
//! ureq's own rustls connector is not used (its `rustls` features are off): it builds its
//! rustls configuration from any `TlsConfig` (webpki roots, the platform's verifier, client
//! certificates, no verification) and turns on rustls' logging. This one takes one ready
//! configuration, the durable client's.

use std::io::{Read, Write};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

/// Wraps the chained transport in TLS when the URL is `https`, with the configuration `make`
/// gives at the first such connection (so a client of a plain-HTTP endpoint never parses the
/// roots); hands it on as it is otherwise.
pub(crate) struct TlsConnector {
    make: Box<dyn Fn() -> ClientConfig + Send + Sync>,
    config: OnceLock<Arc<ClientConfig>>,
}

impl TlsConnector {
    pub(crate) fn new(make: impl Fn() -> ClientConfig + Send + Sync + 'static) -> TlsConnector {
        TlsConnector {
            make: Box::new(make),
            config: OnceLock::new(),
        }
    }
}

// By hand, short: a derived `Debug` would bring rustls' `Debug` of the whole configuration.
impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConnector")
    }
}

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        // The TCP connector comes first in the chain: no transport means none could be opened.
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details.uri.host().unwrap_or_default();
        // An IPv6 address comes bracketed in a URL, not in a certificate.
        let host = host
            .strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
            .unwrap_or(host);
        let name = ServerName::try_from(host)
            .map_err(|_| ureq::Error::BadUri(format!("{host} is not a TLS server name")))?
            .to_owned();
        let config = self.config.get_or_init(|| Arc::new((self.make)()));
        let mut connection =
            ClientConnection::new(Arc::clone(config), name).map_err(std::io::Error::other)?;
        let mut socket = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        // The handshake gets what the connect phase has left, counted from here.
        socket.set_timeout(details.timeout);
        connection.complete_io(&mut socket)?;
        Ok(Some(Either::B(TlsTransport {
            buffers: LazyBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
            stream: StreamOwned::new(connection, socket),
        })))
    }
}

/// A TLS connection as a ureq transport.
pub(crate) struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsTransport")
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}
