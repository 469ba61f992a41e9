//! Where a Lambda API is: the value of `AWS_LAMBDA_RUNTIME_API` (`host:port` on Lambda, or
//! `http://host:port/prefix` from some emulators) checked and parsed once into the base URL
//! every call starts with. The Extensions API sits beside the Runtime API, under its own
//! version.

use ureq::http::Uri;

use crate::error::RuntimeError;
use crate::protocol::{path, VERSION};
use crate::transport::loopback_or_literal;

/// The Runtime API's address, parsed once.
pub(crate) struct Endpoint {
    /// `http://host:port[/prefix]/2018-06-01`: every call's URL starts with it.
    pub base: Uri,
    /// The same as text, written once: every post's URL is this plus a path.
    pub base_text: String,
    /// The `next` URL: every invocation asks for it.
    pub next: Uri,
}

impl Endpoint {
    /// The Runtime API at `value`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn of_runtime_api(value: &str) -> Result<Endpoint, RuntimeError> {
        let (base, base_text) = base_of(value, VERSION)?;
        let mut next = String::with_capacity(base_text.len() + path::NEXT.len());
        next.push_str(&base_text);
        next.push_str(path::NEXT);
        // Parsed from the String it is given: no copy.
        let next = Uri::try_from(next).map_err(|_| RuntimeError::BadEndpoint {
            value: value.to_owned(),
            reason: "it does not make a valid URL",
        })?;
        Ok(Endpoint {
            base,
            base_text,
            next,
        })
    }

    /// `host:port`.
    pub fn authority(&self) -> &str {
        self.base.authority().map_or("", |a| a.as_str())
    }
}

/// `http://host:port[/prefix]/2018-06-01` from the value of `AWS_LAMBDA_RUNTIME_API` (the
/// client keeps the text it was parsed from too: [`base_of`]).
#[cfg(any(test, fuzzing))]
pub(crate) fn base_url(endpoint: &str) -> Result<Uri, RuntimeError> {
    base_url_of(endpoint, VERSION)
}

/// `http://host:port[/prefix]/{version}`: the root of one of the Lambda APIs (the Extensions
/// API sits beside the Runtime API, under another version).
pub(crate) fn base_url_of(endpoint: &str, version: &str) -> Result<Uri, RuntimeError> {
    base_of(endpoint, version).map(|(url, _)| url)
}

/// [`base_url_of`], with the URL also as the text it was parsed from (which is what its
/// `Display` would write).
fn base_of(endpoint: &str, version: &str) -> Result<(Uri, String), RuntimeError> {
    let bad = |reason| RuntimeError::BadEndpoint {
        value: endpoint.to_owned(),
        reason,
    };
    let rest = match endpoint.split_once("://") {
        None => endpoint,
        Some(("http", rest)) => rest,
        Some(_) => return Err(bad("only plain http:// is spoken on the Runtime API")),
    };
    let (authority, prefix) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let port = match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => port,
        _ => return Err(bad("it has no host:port")),
    };
    if port.is_empty() || port.parse::<u16>().is_err() {
        return Err(bad("the port is not a number from 0 to 65535"));
    }
    let printable = |c: char| c.is_ascii_graphic();
    if !authority.chars().all(printable) || !prefix.chars().all(printable) {
        return Err(bad(
            "it contains spaces or characters that cannot be in a URL",
        ));
    }
    if rest.contains(['?', '#']) {
        return Err(bad("a query or fragment cannot prefix the API paths"));
    }
    let base = format!(
        "http://{authority}{}/{version}",
        prefix.trim_end_matches('/')
    );
    // The checks above give clear reasons; the URL parser has the last word, because some
    // values pass them yet make no URL (`a:b:9001` has a host and a port, but two colons), and
    // it must read the authority we meant, with a host and a port.
    match base.parse::<Uri>() {
        Ok(url)
            if url.authority().is_some_and(|a| a.as_str() == authority)
                && url.host().is_some_and(|host| !host.is_empty())
                && url.port_u16().is_some() =>
        {
            // The Runtime API is on loopback: Lambda and the emulators give an IP address.
            // Other names would need the system's resolver (DNS), which the binary leaves out.
            if loopback_or_literal(authority).is_none() {
                return Err(bad("the host is neither an IP address nor localhost"));
            }
            Ok((url, base))
        }
        _ => Err(bad("it does not make a valid URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    #[test]
    fn endpoints_of_every_shape() {
        let ok = |value: &str| base_url(value).unwrap().to_string();
        assert_eq!(ok("127.0.0.1:9001"), "http://127.0.0.1:9001/2018-06-01");
        assert_eq!(ok("localhost:9001"), "http://localhost:9001/2018-06-01");
        assert_eq!(
            ok("http://127.0.0.1:9000/.rt"),
            "http://127.0.0.1:9000/.rt/2018-06-01"
        );
        assert_eq!(
            ok("http://127.0.0.1:9000/.rt/"),
            "http://127.0.0.1:9000/.rt/2018-06-01"
        );
        assert_eq!(ok("[::1]:9001"), "http://[::1]:9001/2018-06-01");
        assert_eq!(ok("LocalHost:9001"), "http://LocalHost:9001/2018-06-01");
        for bad in [
            "",
            "9001",
            ":9001",
            "host:",
            "host:port",
            "host:70000",
            "https://h:1",
            "h:1 /x",
            "h:1/x?y",
            "ftp://h:1",
            // Found by the `endpoint` fuzz target: a host and a port, but no valid authority.
            "hosthttps:27.0.0.1:1",
            "a:b:9001",
            "u@:9001",
            // Found by the `endpoint` fuzz target: a `?` in the authority made the rest a query.
            "[:]:9?911:]:9911",
            "h?x:9001",
            "h#x:9001",
        ] {
            assert!(base_url(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn a_host_that_is_a_name_other_than_localhost_is_refused_with_the_reason() {
        for named in [
            "rie:8080",
            "runtime.internal:9001",
            "http://lambda-api:9001/.rt",
        ] {
            let message = base_url(named).unwrap_err().to_string();
            assert!(
                message.contains(named) && message.contains("neither an IP address nor localhost"),
                "{message}"
            );
        }
    }

    #[test]
    fn the_addresses_of_an_endpoint_are_its_ip_or_both_loopbacks_for_localhost() {
        let v4: SocketAddr = "127.0.0.1:9001".parse().unwrap();
        let v6: SocketAddr = "[::1]:9001".parse().unwrap();
        assert_eq!(loopback_or_literal("127.0.0.1:9001"), Some(vec![v4]));
        assert_eq!(loopback_or_literal("[::1]:9001"), Some(vec![v6]));
        assert_eq!(loopback_or_literal("localhost:9001"), Some(vec![v4, v6]));
        assert_eq!(loopback_or_literal("rie:9001"), None);
        assert_eq!(loopback_or_literal("localhost:port"), None);
    }

    #[test]
    fn the_authority_and_base_path_come_from_the_held_url() {
        let base = base_url("http://127.0.0.1:9000/.rt/").unwrap();
        assert_eq!(base.authority().unwrap().as_str(), "127.0.0.1:9000");
        assert_eq!(base.path(), "/.rt/2018-06-01");
        let base = base_url("[::1]:9001").unwrap();
        assert_eq!(base.authority().unwrap().as_str(), "[::1]:9001");
        assert_eq!(base.path(), "/2018-06-01");
    }
}
