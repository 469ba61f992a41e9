//! The body of an HTTP request or response: nothing, text, or bytes.

use std::fmt;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_core::de::DeserializeOwned;
use serde_core::Serialize;

/// The body of a [`Request`](super::Request) or [`Response`](super::Response).
///
/// A request's body is [`Body::Text`] when the source sent it as plain text, [`Body::Binary`]
/// when it came base64-encoded (`isBase64Encoded: true`), and [`Body::Empty`] when there was
/// none (a missing, `null` or `""` body). Whatever the variant, [`as_bytes`](Body::as_bytes)
/// is the body the client sent.
///
/// For a response, the variant does not choose the encoding: the headers and bytes do (see
/// [the base64 rule](super#base64-in-responses)). Build one from a `&str`, `String`,
/// `Vec<u8>`, `&[u8]` or `()` with `.into()`, or from a serde value with
/// [`Body::from_json`].
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// A body that is UTF-8 text.
    Text(String),
    /// A body of arbitrary bytes.
    Binary(Vec<u8>),
}

impl Body {
    /// The bytes of the body (empty for [`Body::Empty`]).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Empty => &[],
            Body::Text(text) => text.as_bytes(),
            Body::Binary(bytes) => bytes,
        }
    }

    /// The body's bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Body::Empty => Vec::new(),
            Body::Text(text) => text.into_bytes(),
            Body::Binary(bytes) => bytes,
        }
    }

    /// The body as text, if it is valid UTF-8 (also a [`Body::Binary`] one); `Some("")` for
    /// [`Body::Empty`].
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Body::Text(text) => Some(text),
            other => std::str::from_utf8(other.as_bytes()).ok(),
        }
    }

    /// The number of bytes in the body.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True when the body has no bytes.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// The body parsed as JSON into `T`. With `?` in a handler a failure becomes the
    /// invocation's error (`errorType` `serde_json::error::Error`); match on it instead to
    /// answer the client with a 400.
    ///
    /// ```
    /// use lambda_loop::http::Body;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Order { id: u64 }
    ///
    /// let order: Order = Body::from(r#"{"id": 7}"#).json()?;
    /// assert_eq!(order.id, 7);
    /// assert!(Body::Empty.json::<Order>().is_err());
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(self.as_bytes())
    }

    /// A text body holding `value` as JSON. Pair it with a `content-type: application/json`
    /// header, or use [`json_response`](super::json_response), which does both.
    pub fn from_json<T: Serialize + ?Sized>(value: &T) -> Result<Body, serde_json::Error> {
        serde_json::to_string(value).map(Body::Text)
    }
}

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl From<()> for Body {
    fn from((): ()) -> Self {
        Body::Empty
    }
}

impl From<&str> for Body {
    fn from(text: &str) -> Self {
        Body::Text(text.to_owned())
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::Text(text)
    }
}

impl From<&[u8]> for Body {
    fn from(bytes: &[u8]) -> Self {
        Body::Binary(bytes.to_vec())
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body::Binary(bytes)
    }
}

impl fmt::Debug for Body {
    // The length only: a body is payload, and payloads are never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Body::Empty"),
            Body::Text(text) => write!(f, "Body::Text({} bytes)", text.len()),
            Body::Binary(bytes) => write!(f, "Body::Binary({} bytes)", bytes.len()),
        }
    }
}

/// Standard base64 (RFC 4648): written with padding, read with or without it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

pub(crate) fn base64_decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    BASE64.decode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_of_each_variant() {
        assert_eq!(Body::Empty.as_bytes(), b"");
        assert_eq!(Body::from("hé").as_bytes(), "hé".as_bytes());
        assert_eq!(Body::from(vec![0, 255]).as_bytes(), &[0, 255]);
        assert_eq!(Body::from(()), Body::Empty);
        assert!(Body::Empty.is_empty());
        assert_eq!(Body::from(&b"abc"[..]).len(), 3);
    }

    #[test]
    fn text_of_binary_is_checked() {
        assert_eq!(Body::Binary(b"ok".to_vec()).as_text(), Some("ok"));
        assert_eq!(Body::Binary(vec![0xff]).as_text(), None);
        assert_eq!(Body::Empty.as_text(), Some(""));
    }

    #[test]
    fn debug_never_shows_the_payload() {
        let shown = format!("{:?}", Body::from("secret token"));
        assert_eq!(shown, "Body::Text(12 bytes)");
    }

    #[test]
    fn json_both_ways() {
        let body = Body::from_json(&serde_json::json!({"a": [1, 2]})).unwrap();
        assert_eq!(body, Body::Text(r#"{"a":[1,2]}"#.into()));
        let back: serde_json::Value = body.json().unwrap();
        assert_eq!(back["a"][1], 2);
    }

    #[test]
    fn base64_round_trip_and_lenient_padding() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64_decode(&base64_encode(&all)).unwrap(), all);
        assert_eq!(base64_encode(b"hi"), "aGk=");
        assert_eq!(base64_decode("aGk").unwrap(), b"hi");
        assert!(base64_decode("not base64!").is_err());
    }
}
