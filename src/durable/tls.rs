//! The rustls crypto provider of the durable client: ring's, cut down to what AWS's endpoints
//! negotiate, so that what no handshake with them uses is not in the binary.

use rustls::crypto::ring::{cipher_suite, kx_group};
use rustls::crypto::{CryptoProvider, KeyProvider, SecureRandom, WebPkiSupportedAlgorithms};
use rustls::pki_types::PrivateKeyDer;
use rustls::sign::SigningKey;
use rustls::SignatureScheme;
use std::sync::Arc;
use webpki::ring as algorithm;

/// ring's provider with only the suites, groups and signature algorithms below.
pub(crate) fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: CIPHER_SUITES.to_vec(),
        kx_groups: KEY_EXCHANGE_GROUPS.to_vec(),
        signature_verification_algorithms: SIGNATURE_ALGORITHMS,
        secure_random: &SystemRandom,
        key_provider: &NoClientKeys,
    }
}

/// TLS 1.3 and 1.2, AES-GCM only (128 and 256). TLS 1.2 stays: AWS moved its endpoints to
/// TLS 1.3 service by service and region by region, and TLS 1.2 is the version every one of
/// them speaks (the minimum AWS requires since 2024), so a client without it could meet an
/// endpoint it cannot talk to. ChaCha20-Poly1305 is left out: every AWS TLS policy offers
/// AES-GCM, the x86_64 and arm64 CPUs Lambda runs on have AES instructions, and ChaCha's
/// assembly is tens of KB.
pub(crate) static CIPHER_SUITES: &[rustls::SupportedCipherSuite] = &[
    cipher_suite::TLS13_AES_128_GCM_SHA256,
    cipher_suite::TLS13_AES_256_GCM_SHA384,
    cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
];

/// ECDHE over X25519, else P-384: no P-256. ring computes P-256 with a 151,552-byte table of
/// precomputed points (`ecp_nistz256_precomputed`, by `nm -S` of the unstripped bench
/// binary), which its key generation and its signature check both read: most of the 139 KB
/// this set saves over P-256 alone (https.rs has the figures). X25519 is the group AWS's
/// endpoints and their SDKs prefer; P-384 is there for a server without it (a FIPS endpoint:
/// FIPS 140 approves P-384, not X25519), reached by a HelloRetryRequest in TLS 1.3 (the first
/// key share is X25519's) and by the offered list in TLS 1.2. Its code is in the binary
/// anyway, to verify ECDSA P-384 certificates.
pub(crate) static KEY_EXCHANGE_GROUPS: &[&dyn rustls::crypto::SupportedKxGroup] =
    &[kx_group::X25519, kx_group::SECP384R1];

/// What Amazon's RSA chains are signed with and what their servers sign a handshake with:
/// RSA (PKCS#1 in certificates and TLS 1.2, PSS in TLS 1.3), plus ECDSA over P-384 (Amazon
/// Root CA 4). The regional API endpoints (`lambda.{region}.amazonaws.com`, their FIPS and
/// VPC-endpoint names) serve RSA chains to Amazon Root CA 1 and Starfield Services Root G2.
/// No ECDSA over P-256 (Amazon Root CA 3): it would bring back ring's P-256 table, and since
/// the client does not offer the scheme, a server with both kinds of certificate shows the
/// RSA one; a server with only a P-256 key fails the handshake, clearly (the tests show it).
/// No Ed25519: no Amazon CA issues it.
static SIGNATURE_ALGORITHMS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        algorithm::ECDSA_P384_SHA256,
        algorithm::ECDSA_P384_SHA384,
        algorithm::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        algorithm::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        algorithm::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        algorithm::RSA_PKCS1_2048_8192_SHA256,
        algorithm::RSA_PKCS1_2048_8192_SHA384,
        algorithm::RSA_PKCS1_2048_8192_SHA512,
        algorithm::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
        algorithm::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
        algorithm::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    ],
    mapping: &[
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            &[algorithm::ECDSA_P384_SHA384],
        ),
        (
            SignatureScheme::RSA_PSS_SHA512,
            &[algorithm::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA384,
            &[algorithm::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA256,
            &[algorithm::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA512,
            &[algorithm::RSA_PKCS1_2048_8192_SHA512],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA384,
            &[algorithm::RSA_PKCS1_2048_8192_SHA384],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA256,
            &[algorithm::RSA_PKCS1_2048_8192_SHA256],
        ),
    ],
};

/// ring's system random source (getrandom), as ring's own provider uses it.
#[derive(Debug)]
struct SystemRandom;

impl SecureRandom for SystemRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), rustls::crypto::GetRandomFailed> {
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), buf)
            .map_err(|_| rustls::crypto::GetRandomFailed)
    }
}

/// The client shows no certificate of its own, so it loads no private key: ring's key
/// loader would bring RSA and ECDSA signing, which the client never does.
#[derive(Debug)]
struct NoClientKeys;

impl KeyProvider for NoClientKeys {
    fn load_private_key(
        &self,
        _key: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, rustls::Error> {
        Err(rustls::Error::General(
            "the durable client loads no private keys".into(),
        ))
    }
}
