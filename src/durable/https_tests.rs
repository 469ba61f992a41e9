//! The agent against TLS and plain-HTTP servers on 127.0.0.1: a certificate from a test-only
//! CA (tests/fixtures/tls, made by its make.sh) is trusted when that CA is the agent's root
//! and refused by the production agent; names resolve (`localhost`); error statuses are
//! answers.

use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::thread::JoinHandle;

/// Bound on every wait of these tests: generous, so that a loaded machine does not fail them.
const PATIENCE: Duration = Duration::from_secs(30);

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// What a server saw of the one request it served.
#[derive(Debug)]
struct Seen {
    /// The request line, e.g. `GET /path HTTP/1.1`.
    request_line: String,
    /// The `Host` header.
    host: String,
    /// The name the client asked for in its TLS hello (SNI); `None` over plain HTTP.
    server_name: Option<String>,
    body: Vec<u8>,
    /// The cipher suite and key-exchange group of the handshake; `None` over plain HTTP.
    suite: Option<rustls::CipherSuite>,
    group: Option<rustls::NamedGroup>,
}

/// Reads one request (head and `Content-Length` body) and answers `answer` (a status line,
/// e.g. `200 OK`) with `body`, closing the connection.
fn exchange(
    stream: &mut (impl Read + Write),
    answer: &str,
    body: &str,
) -> std::io::Result<(String, String, Vec<u8>)> {
    let mut reader = BufReader::new(&mut *stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let (mut host, mut length) = (String::new(), 0);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        match name.to_ascii_lowercase().as_str() {
            "host" => host = value.trim().to_string(),
            "content-length" => length = value.trim().parse().unwrap_or(0),
            _ => {}
        }
    }
    let mut request_body = vec![0; length];
    reader.read_exact(&mut request_body)?;
    let response = format!(
        "HTTP/1.1 {answer}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()?;
    Ok((request_line.trim_end().to_string(), host, request_body))
}

fn accept(listener: &TcpListener) -> TcpStream {
    let (stream, _) = listener.accept().expect("a connection");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// A TLS server for one connection, with the test CA's RSA certificate (as AWS's endpoints
/// serve) for `localhost` and 127.0.0.1 and all of ring's suites and groups; its thread ends
/// with what it saw, or why the connection failed.
fn tls_server(answer: &'static str, body: &'static str) -> (u16, JoinHandle<Result<Seen, String>>) {
    let every_version = rustls::DEFAULT_VERSIONS;
    tls_server_with(
        "rsa-",
        rustls::crypto::ring::default_provider(),
        every_version,
        answer,
        body,
    )
}

/// [`tls_server`] with the chain of files `{chain}ca.der`, `{chain}server.der` and
/// `{chain}server-key.der` (see tests/fixtures/tls/make.sh), and only `provider`'s suites and
/// groups in `versions`.
fn tls_server_with(
    chain: &str,
    provider: rustls::crypto::CryptoProvider,
    versions: &[&'static rustls::SupportedProtocolVersion],
    answer: &'static str,
    body: &'static str,
) -> (u16, JoinHandle<Result<Seen, String>>) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().unwrap().port();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(fixture(&format!("{chain}server.der")))],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(fixture(&format!(
                "{chain}server-key.der"
            )))),
        )
        .expect("the test certificate and key");
    let server = std::thread::spawn(move || {
        let connection =
            rustls::ServerConnection::new(Arc::new(config)).map_err(|e| e.to_string())?;
        let mut stream = rustls::StreamOwned::new(connection, accept(&listener));
        let (request_line, host, body) =
            exchange(&mut stream, answer, body).map_err(|e| e.to_string())?;
        let server_name = stream.conn.server_name().map(str::to_string);
        Ok(Seen {
            request_line,
            host,
            server_name,
            body,
            suite: stream.conn.negotiated_cipher_suite().map(|s| s.suite()),
            group: stream
                .conn
                .negotiated_key_exchange_group()
                .map(|g| g.name()),
        })
    });
    (port, server)
}

/// A plain-HTTP server for one connection.
fn http_server(
    answer: &'static str,
    body: &'static str,
) -> (u16, JoinHandle<Result<Seen, String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let mut stream = accept(&listener);
        let (request_line, host, body) =
            exchange(&mut stream, answer, body).map_err(|e| e.to_string())?;
        Ok(Seen {
            request_line,
            host,
            server_name: None,
            body,
            suite: None,
            group: None,
        })
    });
    (port, server)
}

/// What the server saw, once it has answered.
fn seen(server: JoinHandle<Result<Seen, String>>) -> Seen {
    let outcome = server.join().expect("the server thread");
    outcome.unwrap_or_else(|error| panic!("the server's side failed: {error}"))
}

#[test]
fn https_to_a_name_under_an_extra_root() {
    let (port, server) = tls_server("200 OK", r#"{"Operations":[]}"#);
    let ca: &'static [u8] = Box::leak(fixture("rsa-ca.der").into_boxed_slice());
    let agent = agent_trusting(&[ca], PATIENCE);
    // `localhost`, not an address: the agent resolves names (to ::1 and 127.0.0.1 here; the
    // server is on the second).
    let mut answer = agent
        .get(&format!(
            "https://localhost:{port}/2025-12-01/durable-executions/arn%3Ax/state?MaxItems=1000"
        ))
        .call()
        .expect("a TLS answer");
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.body_mut().read_to_string().unwrap(),
        r#"{"Operations":[]}"#
    );
    let seen = seen(server);
    assert_eq!(
        seen.request_line,
        "GET /2025-12-01/durable-executions/arn%3Ax/state?MaxItems=1000 HTTP/1.1"
    );
    assert_eq!(seen.host, format!("localhost:{port}"));
    assert_eq!(seen.server_name.as_deref(), Some("localhost"));
}

#[test]
fn https_to_an_address_under_an_extra_root() {
    let (port, server) = tls_server("200 OK", "{}");
    let ca: &'static [u8] = Box::leak(fixture("rsa-ca.der").into_boxed_slice());
    let answer = agent_trusting(&[ca], PATIENCE)
        .post(&format!("https://127.0.0.1:{port}/checkpoint"))
        .send(&b"{\"CheckpointToken\":\"t\"}"[..])
        .expect("a TLS answer");
    assert_eq!(answer.status(), 200);
    let seen = seen(server);
    assert_eq!(seen.body, b"{\"CheckpointToken\":\"t\"}");
    // No SNI for an address (RFC 6066): the certificate's IP entry is what matched.
    assert_eq!(seen.server_name, None);
}

#[test]
fn the_production_agent_refuses_a_certificate_amazon_did_not_issue() {
    let (port, server) = tls_server("200 OK", "{}");
    let refused = agent(PATIENCE)
        .get(&format!("https://localhost:{port}/"))
        .call();
    // rustls' verdict comes through ureq as an I/O error that carries it.
    let verdict = match &refused {
        Err(ureq::Error::Io(error)) => error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    assert_eq!(
        verdict,
        Some(&rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer
        )),
        "{refused:?}"
    );
    let server_side = server.join().expect("the server thread");
    assert!(
        server_side.is_err(),
        "the handshake must fail on the server's side too: {server_side:?}"
    );
}

#[test]
fn plain_http_works_and_error_statuses_are_answers() {
    let body = r#"{"Type":"InvalidParameterValueException","message":"Invalid checkpoint token"}"#;
    let (port, server) = http_server("400 Bad Request", body);
    let mut answer = agent(PATIENCE)
        .post(&format!(
            "http://127.0.0.1:{port}/2025-12-01/durable-executions/a/checkpoint"
        ))
        .header("content-type", "application/json")
        .send(&b"{}"[..])
        .expect("an answer, not an error");
    assert_eq!(answer.status(), 400);
    assert_eq!(answer.body_mut().read_to_string().unwrap(), body);
    let seen = seen(server);
    assert_eq!(
        seen.request_line,
        "POST /2025-12-01/durable-executions/a/checkpoint HTTP/1.1"
    );
    assert_eq!(seen.host, format!("127.0.0.1:{port}"));
    assert_eq!(seen.body, b"{}");
}

#[test]
fn the_roots_are_amazon_trust_services_own() {
    // SHA-256 fingerprints as Amazon Trust Services publishes them.
    let fingerprints = [
        "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e", // Amazon Root CA 1
        "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4", // Amazon Root CA 2
        "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4", // Amazon Root CA 3
        "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092", // Amazon Root CA 4
        "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5", // Starfield Services G2
    ];
    for (der, fingerprint) in AMAZON_ROOTS.iter().zip(fingerprints) {
        assert_eq!(crate::durable::sigv4::sha256_hex(der), fingerprint);
    }
    let mut store = rustls::RootCertStore::empty();
    let (added, ignored) = store.add_parsable_certificates(
        AMAZON_ROOTS
            .iter()
            .map(|der| rustls::pki_types::CertificateDer::from(*der)),
    );
    assert_eq!(
        (added, ignored),
        (5, 0),
        "every root parses as a trust anchor"
    );
}

/// The chains (file prefixes of tests/fixtures/tls) a suite's handshake can use: TLS 1.3's
/// suites any key the client verifies, TLS 1.2's the key their name says.
fn chains_for(suite: rustls::SupportedCipherSuite) -> &'static [&'static str] {
    const ECDSA: &[&str] = &["p384-"];
    const RSA: &[&str] = &["rsa-"];
    const ANY: &[&str] = &["p384-", "rsa-"];
    match suite {
        rustls::SupportedCipherSuite::Tls13(_) => ANY,
        rustls::SupportedCipherSuite::Tls12(_)
            if format!("{:?}", suite.suite()).contains("ECDSA") =>
        {
            ECDSA
        }
        rustls::SupportedCipherSuite::Tls12(_) => RSA,
    }
}

#[test]
fn every_suite_and_group_the_client_offers_completes_a_handshake_on_each_key_it_verifies() {
    // A server that knows only one suite and one group, with an ECDSA P-384 (as Amazon Root
    // CA 4) or RSA (Root CA 1, the chains AWS's endpoints serve) chain: the handshake checks
    // the suite, the group (P-384 after a HelloRetryRequest in TLS 1.3: the client's first key
    // share is X25519's), and the signature algorithms of the chain and of the handshake
    // (RSA-PSS in TLS 1.3).
    let mut handshakes = 0;
    for &suite in crate::durable::tls::CIPHER_SUITES {
        for &group in crate::durable::tls::KEY_EXCHANGE_GROUPS {
            for chain in chains_for(suite) {
                let provider = rustls::crypto::CryptoProvider {
                    cipher_suites: vec![suite],
                    kx_groups: vec![group],
                    ..rustls::crypto::ring::default_provider()
                };
                let (port, server) =
                    tls_server_with(chain, provider, &[suite.version()], "200 OK", "{}");
                let ca: &'static [u8] =
                    Box::leak(fixture(&format!("{chain}ca.der")).into_boxed_slice());
                let answer = agent_trusting(&[ca], PATIENCE)
                    .get(&format!("https://localhost:{port}/"))
                    .call()
                    .unwrap_or_else(|error| {
                        panic!(
                            "{:?} with {:?} on chain {chain:?}: {error}",
                            suite.suite(),
                            group.name()
                        )
                    });
                assert_eq!(answer.status(), 200);
                let seen = seen(server);
                assert_eq!(seen.suite, Some(suite.suite()), "chain {chain:?}");
                assert_eq!(seen.group, Some(group.name()), "chain {chain:?}");
                handshakes += 1;
            }
        }
    }
    // Over 2 groups: 2 TLS 1.3 suites on 2 chains, 2 ECDSA suites on 1, 2 RSA suites on 1.
    assert_eq!(handshakes, 16);
}

/// The client's side of a refused handshake, and the server's error.
fn refused_handshake(
    chain: &str,
    provider: rustls::crypto::CryptoProvider,
) -> (
    Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    String,
) {
    let (port, server) = tls_server_with(chain, provider, rustls::DEFAULT_VERSIONS, "200 OK", "{}");
    let ca: &'static [u8] = Box::leak(fixture(&format!("{chain}ca.der")).into_boxed_slice());
    let refused = agent_trusting(&[ca], PATIENCE)
        .get(&format!("https://localhost:{port}/"))
        .call();
    let server_side = server.join().expect("the server thread");
    let server_error = match server_side {
        Ok(seen) => panic!("the server must refuse the handshake: {seen:?}"),
        Err(error) => error,
    };
    (refused, server_error)
}

#[test]
fn a_server_with_only_what_the_client_leaves_out_is_refused() {
    // ChaCha20-Poly1305 (with X25519), then P-256 (with AES-GCM): nothing in common.
    use rustls::crypto::ring::{cipher_suite, kx_group};
    let chacha = vec![
        cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
        cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    let aes_gcm = crate::durable::tls::CIPHER_SUITES.to_vec();
    let cases = [
        (chacha, kx_group::X25519, "NoCipherSuitesInCommon"),
        (aes_gcm, kx_group::SECP256R1, "NoKxGroupsInCommon"),
    ];
    for (cipher_suites, group, verdict) in cases {
        let provider = rustls::crypto::CryptoProvider {
            cipher_suites,
            kx_groups: vec![group],
            ..rustls::crypto::ring::default_provider()
        };
        let (refused, server_error) = refused_handshake("rsa-", provider);
        assert!(refused.is_err(), "{refused:?}");
        assert!(server_error.contains(verdict), "{verdict}: {server_error}");
    }
}

#[test]
fn an_ecdsa_p256_chain_is_refused() {
    // The client verifies no ECDSA P-256 signature (see tls.rs: ring's P-256 costs 139 KB and
    // no AWS endpoint the client talks to serves such a chain), so it does not offer that
    // scheme, and a server with only a P-256 key can sign nothing the client accepts.
    let (refused, server_error) = refused_handshake("", rustls::crypto::ring::default_provider());
    assert!(refused.is_err(), "{refused:?}");
    assert!(
        server_error.contains("NoSignatureSchemesInCommon"),
        "{server_error}"
    );
}

#[test]
fn a_request_and_an_answer_much_larger_than_the_buffers_stream_through_them() {
    // 64 buffers' worth each way, over TLS: a checkpoint's body and a state page can be MBs.
    let size = 64 * BUFFER_SIZE;
    let answer_body: &'static str = Box::leak("a".repeat(size).into_boxed_str());
    let request_body = vec![b'r'; size];
    let (port, server) = tls_server("200 OK", answer_body);
    let ca: &'static [u8] = Box::leak(fixture("rsa-ca.der").into_boxed_slice());
    let mut answer = agent_trusting(&[ca], PATIENCE)
        .post(&format!("https://localhost:{port}/checkpoint"))
        .send(&request_body[..])
        .expect("a TLS answer");
    assert_eq!(answer.status(), 200);
    let read = answer
        .body_mut()
        .with_config()
        .limit(u64::MAX)
        .read_to_string()
        .unwrap();
    assert!(read == answer_body, "{} bytes, not {size}", read.len());
    assert!(seen(server).body == request_body);
}
