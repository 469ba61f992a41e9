//! The HTTP client of the durable-execution API: HTTPS to `lambda.{region}.amazonaws.com`
//! through rustls, names resolved by the system (the runtime's own client, src/transport.rs,
//! has no resolver: it only ever dials the Runtime API's address), plain HTTP for a local
//! endpoint such as AWS's emulator.
//!
//! The TLS stack was chosen by the size of a stripped static musl binary: lambda-loop's echo
//! handler plus one HTTPS GET through ureq, `./build.sh --bin X --arch x86_64 --no-smoke`
//! (size profile), December 2026, ureq 3.5.2, rustls 0.23.46:
//!
//! | TLS stack (crypto provider, roots)              | x86_64 bytes | zip bytes | arm64 bytes |
//! |-------------------------------------------------|--------------|-----------|-------------|
//! | none (echo alone)                               |      651,624 |   325,591 |     605,432 |
//! | ring, webpki-roots (Mozilla's ~150 roots)       |    1,709,208 |   915,460 |   1,484,920 |
//! | **ring, Amazon's 5 roots (this file)**          |    1,648,408 |   872,748 |   1,427,832 |
//! | aws-lc-rs, Amazon's roots                       |    2,318,232 | 1,123,316 |             |
//! | rustls-graviola 0.4, Amazon's roots             |    2,485,584 | 1,005,439 |             |
//! | rustls-rustcrypto 0.0.2-alpha, Amazon's roots   |    1,581,360 |   761,011 |             |
//!
//! RustCrypto's provider is 67 KB smaller but calls itself "do not use in production" and
//! brings 68 more crates (among them a second rustls-webpki and rsa 0.9); aws-lc-rs and
//! graviola are larger. So: ring. Its C and assembly need a C compiler for the target, which
//! an x86_64 machine building for arm64 does not have by default: Debian's
//! `gcc-aarch64-linux-gnu`, given to cargo as `CC_aarch64_unknown_linux_musl` and
//! `AR_aarch64_unknown_linux_musl` (rust-lld still links; the binary stays static).
//!
//! The roots are Amazon Trust Services' (the CAs AWS's endpoints chain to) and no others: 4 KB
//! where webpki-roots costs 61 KB (57 KB on arm64). The agent talks only to AWS; a local
//! endpoint (AWS's emulator) is plain HTTP.
//!
//! Neither ring's whole provider nor ureq's rustls connector is used: `tls.rs` keeps the
//! suites, groups and signature algorithms AWS's endpoints negotiate (TLS 1.3 and 1.2,
//! AES-GCM, ECDHE over X25519 or P-384, RSA and ECDSA P-384 chains) and loads no client keys;
//! `tls_transport.rs` runs that one configuration under ureq (ureq's connector builds one from
//! any of its TLS options and turns on rustls' logging). The bench's durable function
//! (`ll-durable` of `bench/durable-cost.sh`, stripped, December 2026), step by step:
//!
//! | TLS under the durable client                          | x86_64 glibc | x86_64 musl |
//! |-------------------------------------------------------|--------------|-------------|
//! | ring's whole provider, ureq's connector               |    1,776,680 |   1,901,512 |
//! | no key loader, AES-GCM only, X25519 and P-256         |    1,658,816 |   1,786,824 |
//! | the same, P-256 only (`tls.rs`)                       |    1,618,992 |   1,741,768 |
//! | the same, `tls_transport.rs`'s connector               |    1,570,256 |   1,696,712 |
//! | **X25519 and P-384, no ECDSA P-256 (`tls.rs`)**       |    1,427,808 |   1,553,352 |
//!
//! The fourth row also has 27 KB (glibc) of cuts in the durable code itself; the connector
//! alone is 22 KB. P-256 alone was 40 KB less than with X25519 (its code and its 24 KB table),
//! but ring's P-256 stayed for ECDSA P-256 certificates, and with it a 151,552-byte table
//! of precomputed points: leaving P-256 out of both the groups and the signatures (tls.rs says
//! why AWS's endpoints need neither) takes 139 KB off. The musl column is its default
//! static-PIE link; `./build.sh` links static non-PIE, 1,475,480 bytes for the last row (the
//! bench's workspace profile: every crate at opt-level z).

use super::tls_transport::TlsConnector;
use rustls::pki_types::CertificateDer;
use std::sync::Arc;
use std::time::Duration;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{ConnectProxyConnector, Connector, TcpConnector};

/// Amazon Root CA 1 to 4 and Starfield Services Root G2 (DER, from Amazon Trust Services;
/// SHA-256 fingerprints checked by the tests).
const AMAZON_ROOTS: [&[u8]; 5] = [
    include_bytes!("roots/amazon-root-ca-1.der"),
    include_bytes!("roots/amazon-root-ca-2.der"),
    include_bytes!("roots/amazon-root-ca-3.der"),
    include_bytes!("roots/amazon-root-ca-4.der"),
    include_bytes!("roots/starfield-services-root-g2.der"),
];

/// The size of each connection's input and output buffer (see [`agent_trusting`]).
const BUFFER_SIZE: usize = 16 * 1024;

/// The agent for the durable-execution API: HTTPS (rustls, ring, Amazon's roots) or plain
/// HTTP, the system's name resolution, kept-alive connections, `timeout` for each whole call.
/// A 4xx or 5xx status is an answer (`Ok`), not an error: the API's error body says what
/// went wrong. Redirects are not followed.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    agent_trusting(&AMAZON_ROOTS, timeout)
}

/// [`agent`], trusting `roots` (DER certificates) instead of Amazon's.
fn agent_trusting(roots: &[&'static [u8]], timeout: Duration) -> ureq::Agent {
    let roots = roots.to_vec();
    let tls = TlsConnector::new(move || {
        let mut store = rustls::RootCertStore::empty();
        store.add_parsable_certificates(roots.iter().map(|der| CertificateDer::from(*der)));
        // The provider is given here, not taken from a process-wide default another crate
        // may have set.
        rustls::ClientConfig::builder_with_provider(Arc::new(super::tls::provider()))
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .expect("the provider's suites cover TLS 1.3 and 1.2")
            .with_root_certificates(store)
            .with_no_client_auth()
    });
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        // ureq zero-fills each connection's buffers before its first request: 128 KiB each by
        // default, which every new connection paid for in instructions and resident memory.
        // The API's requests and answers stream through them in chunks, and 16 KiB holds any
        // head it sends or gets (the longest, a request signed with a session token, is a few
        // KB) and a whole TLS record.
        .input_buffer_size(BUFFER_SIZE)
        .output_buffer_size(BUFFER_SIZE)
        .user_agent(concat!(
            "lambda-loop/",
            env!("CARGO_PKG_VERSION"),
            " durable"
        ))
        .build();
    // ureq's default chain without what it has no feature for here (SOCKS): an HTTP CONNECT
    // proxy when the environment names one, TCP, then TLS for `https`.
    let connector =
        ().chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(tls);
    ureq::Agent::with_parts(config, connector, DefaultResolver::default())
}

#[cfg(test)]
#[path = "https_tests.rs"]
mod tests;
