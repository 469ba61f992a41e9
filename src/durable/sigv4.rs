//! AWS Signature Version 4 for the durable-execution API: the canonical request, the string
//! to sign, the signing key and the `Authorization` header, as pure functions of the request,
//! the credentials and the time (no I/O, no clock). Rules from AWS's SigV4 reference, checked
//! against AWS's own test suite and botocore's signer (tests in `sigv4_tests.rs`).

use percent_encoding::{percent_decode_str, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use ring::{digest, hmac};
use std::time::{SystemTime, UNIX_EPOCH};

/// The algorithm name that starts the string to sign and the `Authorization` header.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// SigV4 leaves only RFC 3986's unreserved characters as they are.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// In the path, `/` separates segments and stays.
const PATH_UNRESERVED: &AsciiSet = &UNRESERVED.remove(b'/');

/// The credentials a Lambda function gets in its environment (its execution role's).
pub(crate) struct Credentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`: set for a role's temporary credentials, as in Lambda.
    pub session_token: Option<String>,
}

impl Credentials {
    /// The credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN`, as `lookup` reads them (the environment in a function, a map in
    /// tests); `None` when the key id or the secret is missing or empty.
    pub(crate) fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Option<Credentials> {
        let non_empty = |name: &str| lookup(name).filter(|value| !value.is_empty());
        Some(Credentials {
            access_key_id: non_empty("AWS_ACCESS_KEY_ID")?,
            secret_access_key: non_empty("AWS_SECRET_ACCESS_KEY")?,
            session_token: non_empty("AWS_SESSION_TOKEN"),
        })
    }
}

/// One request, as it goes on the wire.
pub(crate) struct Request<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The `Host` header as the client sends it (with the port when it is not the default).
    pub host: &'a str,
    /// The path as sent, already percent-encoded (SigV4 for services other than S3 encodes
    /// it once more in the canonical request).
    pub path: &'a str,
    /// The query as sent, without `?`, `""` when none; its keys and values percent-encoded.
    pub query: &'a str,
    /// Other headers to sign, e.g. `content-type`.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub payload: &'a [u8],
}

/// A signed request: the headers to add, and the two intermediate texts the test suites check.
pub(crate) struct Signed {
    /// `authorization`, `x-amz-date` and, with a session token, `x-amz-security-token`.
    pub headers: Vec<(&'static str, String)>,
    /// The canonical request the signature covers.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
}

/// Returns the headers to add: ("authorization", ..), ("x-amz-date", ..), and
/// ("x-amz-security-token", ..) when a session token is set.
///
/// `host` is the `Host` header the client sends (with the port when it is not the scheme's
/// default: `127.0.0.1:9014`); `path` and `query` (without `?`, `""` when none) are as sent,
/// percent-encoded; `headers` are the others to sign (`content-type`); `time` is now, given
/// by the caller so that signing stays a pure function.
#[allow(clippy::too_many_arguments)] // the interface the durable client calls, one value each
pub(crate) fn sign(
    method: &str,
    host: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    payload: &[u8],
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Vec<(&'static str, String)> {
    let request = Request {
        method,
        host,
        path,
        query,
        headers,
        payload,
    };
    sign_request(&request, credentials, region, service, time, true).headers
}

/// Signs `request`; `normalize_path` removes `.`/`..` segments and empty segments, as every
/// service but S3 expects (S3's cases in AWS's test suite sign the path as it is).
pub(crate) fn sign_request(
    request: &Request,
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
    normalize_path: bool,
) -> Signed {
    let amz_date = amz_date(time);
    let date = &amz_date[..8];
    let mut headers: Vec<(&str, &str)> = request.headers.to_vec();
    headers.push(("host", request.host));
    headers.push(("x-amz-date", &amz_date));
    if let Some(token) = &credentials.session_token {
        headers.push(("x-amz-security-token", token));
    }
    let (canonical_headers, signed_headers) = canonical_headers(&headers);
    let canonical_request = [
        request.method,
        &canonical_uri(request.path, normalize_path),
        &canonical_query(request.query),
        &canonical_headers,
        &signed_headers,
        &sha256_hex(request.payload),
    ]
    .join("\n");
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = [
        ALGORITHM,
        &amz_date,
        &scope,
        &sha256_hex(canonical_request.as_bytes()),
    ]
    .join("\n");
    let key = signing_key(&credentials.secret_access_key, date, region, service);
    let signature = hex(hmac_sha256(key.as_ref(), string_to_sign.as_bytes()).as_ref());
    let authorization = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        credentials.access_key_id
    );
    let mut added = vec![
        ("authorization", authorization),
        ("x-amz-date", amz_date.clone()),
    ];
    if let Some(token) = &credentials.session_token {
        added.push(("x-amz-security-token", token.clone()));
    }
    Signed {
        headers: added,
        canonical_request,
        string_to_sign,
    }
}

/// The path, normalized when asked, each byte outside the unreserved set and `/` encoded:
/// an already-encoded `%2F` becomes `%252F`, as every service but S3 expects.
fn canonical_uri(path: &str, normalize: bool) -> String {
    let path = if path.is_empty() { "/" } else { path };
    if !normalize {
        return percent_encode(path.as_bytes(), PATH_UNRESERVED).to_string();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    let mut normalized = String::with_capacity(path.len());
    for segment in &segments {
        normalized.push('/');
        normalized.push_str(segment);
    }
    if segments.is_empty() || path.ends_with('/') {
        normalized.push('/');
    }
    percent_encode(normalized.as_bytes(), PATH_UNRESERVED).to_string()
}

/// The query's pairs, each key and value decoded and encoded again in SigV4's one form,
/// sorted by key, then value; a key without `=` gets an empty value.
fn canonical_query(query: &str) -> String {
    let encode = |text: &str| {
        let decoded: Vec<u8> = percent_decode_str(text).collect();
        percent_encode(&decoded, UNRESERVED).to_string()
    };
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (encode(key), encode(value))
        })
        .collect();
    sort_pairs(&mut pairs);
    let pairs: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    pairs.join("&")
}

/// Sorts a request's few pairs (its headers, its query's parameters: under ten) by insertion:
/// std's sort would bring several KB of code for lists that short.
fn sort_pairs(pairs: &mut [(String, String)]) {
    for end in 1..pairs.len() {
        let mut at = end;
        while at > 0 && pairs[at - 1] > pairs[at] {
            pairs.swap(at - 1, at);
            at -= 1;
        }
    }
}

/// The canonical header block (each line `name:value\n`) and the signed header list: names
/// lowercased and sorted, values trimmed with inner whitespace runs made one space, the
/// values of a repeated name joined by `,` in the order given.
fn canonical_headers(headers: &[(&str, &str)]) -> (String, String) {
    let mut lines: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        let value = value.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
        match lines.iter_mut().find(|(seen, _)| *seen == name) {
            Some((_, values)) => {
                values.push(',');
                values.push_str(&value);
            }
            None => lines.push((name, value)),
        }
    }
    // The names are unique by now, so sorting the pairs sorts by name.
    sort_pairs(&mut lines);
    let mut block = String::new();
    for (name, value) in &lines {
        block.push_str(name);
        block.push(':');
        block.push_str(value);
        block.push('\n');
    }
    let names: Vec<&str> = lines.iter().map(|(name, _)| name.as_str()).collect();
    (block, names.join(";"))
}

/// The key for one day, region and service, derived from the secret.
fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> hmac::Tag {
    let key = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let key = hmac_sha256(key.as_ref(), region.as_bytes());
    let key = hmac_sha256(key.as_ref(), service.as_bytes());
    hmac_sha256(key.as_ref(), b"aws4_request")
}

// SHA-256 and HMAC come from ring, the TLS provider (src/durable/https.rs): already in the
// binary, where a hand-written copy measured 6 KB more.
fn hmac_sha256(key: &[u8], message: &[u8]) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message)
}

/// The SHA-256 of `data` in lowercase hexadecimal.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

/// `time` as SigV4's `YYYYMMDDTHHMMSSZ`, UTC.
fn amz_date(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let second_of_day = seconds % 86_400;
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Lowercase hexadecimal, as SigV4 writes hashes and signatures.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 15)] as char);
    }
    text
}

#[cfg(test)]
#[path = "sigv4_tests.rs"]
mod tests;
