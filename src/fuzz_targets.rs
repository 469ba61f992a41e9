//! Entry points for the `cargo fuzz` targets in `fuzz/`: thin wrappers over the crate-private
//! parsers, compiled only under `--cfg fuzzing` (which cargo-fuzz sets), so normal builds keep
//! the public API unchanged.

use std::sync::{Arc, OnceLock};

use crate::runtime::RuntimeError;
use crate::{Config, Context};

/// [`Context::from_headers`] over `(name, value)` header lines, in order.
pub fn context_from_headers(headers: &[(&str, &[u8])]) -> Result<Context, String> {
    static CONFIG: OnceLock<Arc<Config>> = OnceLock::new();
    Context::from_headers(headers.iter().copied(), CONFIG.get_or_init(Arc::default))
}

/// The request id as the path segment the runtime posts to.
pub fn encode_id(request_id: &str) -> String {
    crate::invocation_path::encode_id(request_id)
}

/// The base URL made from an `AWS_LAMBDA_RUNTIME_API` value.
pub fn base_url(endpoint: &str) -> Result<String, RuntimeError> {
    crate::endpoint::base_url(endpoint).map(|url| url.to_string())
}

/// The `errorType` as it is sent in the `Lambda-Runtime-Function-Error-Type` header.
pub fn header_safe(error_type: &str) -> String {
    crate::Error::new(error_type, "").error_type_header()
}

/// The bytes a streamed response puts on the wire: `head`, then each of `chunks` as one
/// chunk (all but the last through `chunk`, the last through `end`), with the trailers of
/// `error`; written to a sink that accepts at most `max_write` bytes per write.
pub fn chunked_body(
    head: &[u8],
    chunks: &[&[u8]],
    error: Option<(&str, &str)>,
    max_write: usize,
) -> Vec<u8> {
    struct Trickle {
        written: Vec<u8>,
        max_write: usize,
    }
    impl std::io::Write for Trickle {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            let n = data.len().min(self.max_write);
            self.written.extend_from_slice(&data[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Trickle {
        written: Vec::new(),
        max_write: max_write.max(1),
    };
    let mut writer = crate::chunked::ChunkedWriter::new(sink, head.to_vec());
    let error = error.map(|(error_type, message)| crate::Error::new(error_type, message));
    let (last, rest): (&[u8], &[&[u8]]) = match chunks.split_last() {
        Some((last, rest)) => (last, rest),
        None => (b"", &[]),
    };
    for chunk in rest {
        writer.chunk(chunk).expect("a Vec sink never fails");
    }
    writer
        .end(last, error.as_ref())
        .expect("a Vec sink never fails");
    writer.sink().written.clone()
}

/// The base64 text of the error body trailer.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
