//! The floor of bench/durable-cost.sh: the least any function built the same way (profile,
//! libc, link) does before its first event, whatever runtime it uses: std alone connects to
//! the Runtime API and sends `GET /next`. The driver measures it as it measures the functions
//! to their first `next` (instructions, wall time, peak RSS), then ends it with SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;

fn main() {
    let Ok(address) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        eprintln!("floor: AWS_LAMBDA_RUNTIME_API is not set");
        std::process::exit(1);
    };
    let mut api = TcpStream::connect(&address).unwrap_or_else(|error| {
        eprintln!("floor: connect to {address}: {error}");
        std::process::exit(1)
    });
    let request =
        format!("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {address}\r\n\r\n");
    if api.write_all(request.as_bytes()).is_ok() {
        // The event never comes: the driver ends the process once it has read the request.
        let _ = api.read(&mut [0u8; 1]);
    }
}
