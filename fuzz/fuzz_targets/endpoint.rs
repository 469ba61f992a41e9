//! `base_url`: the value of `AWS_LAMBDA_RUNTIME_API` → the URL every call starts with.
//!
//! The input is read as UTF-8 (invalid sequences become U+FFFD), as an environment variable
//! would be.
//!
//! Checked: never panics; when accepted, the result is `http://…/2018-06-01` and parses as a
//! URL with scheme `http`, a host that is an IP address or `localhost` (no name is resolved), a
//! port, and a path that ends with `/2018-06-01` (so nothing of the value leaked into a query
//! or fragment), and the `next` URL made from it parses too.
#![no_main]

use libfuzzer_sys::fuzz_target;

use lambda_loop::fuzz_targets::base_url;

fuzz_target!(|data: &[u8]| {
    let endpoint = String::from_utf8_lossy(data);
    let Ok(base) = base_url(&endpoint) else {
        return;
    };
    assert!(base.starts_with("http://"), "{endpoint:?} -> {base:?}");
    assert!(base.ends_with("/2018-06-01"), "{endpoint:?} -> {base:?}");
    let uri: ureq::http::Uri = base
        .parse()
        .unwrap_or_else(|error| panic!("{endpoint:?} -> {base:?} is not a URL: {error}"));
    assert_eq!(uri.scheme_str(), Some("http"), "{endpoint:?}");
    assert!(
        uri.host().is_some_and(|h| !h.is_empty()),
        "{endpoint:?} -> {base:?}: no host"
    );
    let authority = uri.authority().map_or("", |a| a.as_str());
    assert!(
        uri.host().is_some_and(|h| h.eq_ignore_ascii_case("localhost"))
            || authority.parse::<std::net::SocketAddr>().is_ok(),
        "{endpoint:?} -> {base:?}: the host is a name"
    );
    assert!(
        uri.port_u16().is_some(),
        "{endpoint:?} -> {base:?}: no port"
    );
    assert!(
        uri.path().ends_with("/2018-06-01"),
        "{endpoint:?} -> {uri:?}"
    );
    assert!(uri.query().is_none(), "{endpoint:?} -> {uri:?}");
    let next = format!("{base}/runtime/invocation/next");
    assert!(
        next.parse::<ureq::http::Uri>().is_ok(),
        "{endpoint:?} -> {next:?}"
    );
});
