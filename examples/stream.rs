//! A streaming handler: the response reaches the caller while it is being written.
//!
//! The event, as text, chooses what to stream:
//! - `lines N`: N lines, each flushed as soon as it is written (one chunk per line)
//! - `mib N`: N MiB of a repeating byte pattern (byte `i` is `i % 251`), written 1,004 bytes
//!   at a time without flushing: the runtime sends 64 KiB chunks and memory stays flat
//! - `http`: an HTTP response for a function URL: status 201, headers, a cookie, then a body
//! - `fail-before`: an error before any byte (an ordinary `/error` post)
//! - `fail-after`: a line, then an error (reported in the stream's trailers)
//! - `panic-after`: a line, then a panic (trailers too, under either panic strategy)
//! - anything else: echoed back in one write.
//!
//! Try it locally: `echo 'lines 3' | cargo run --example stream`.

use std::io::Write;

use lambda_loop::{Context, Error, ResponseStream, Result};

fn handle(event: &[u8], _ctx: Context, out: &mut ResponseStream) -> Result<()> {
    let text = String::from_utf8_lossy(event);
    let mut words = text.split_whitespace();
    match (words.next(), words.next()) {
        (Some("lines"), Some(count)) => {
            let count: u32 = count.parse()?;
            for line in 1..=count {
                writeln!(out, "line {line} of {count}")?;
                out.flush()?; // the caller has this line now
            }
        }
        (Some("mib"), Some(count)) => {
            let mut left: u64 = count.parse::<u64>()? * 1024 * 1024;
            // 1,004 = 4 × 251, so repeating this piece keeps byte i at i % 251.
            let piece: Vec<u8> = (0..1004).map(|i| (i % 251) as u8).collect();
            while left > 0 {
                let n = piece.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                out.write_all(&piece[..n])?;
                left -= n as u64;
            }
        }
        (Some("http"), None) => {
            out.start_http_response(
                201,
                &[("content-type", "text/plain"), ("x-stream", "yes")],
                &["session=abc; HttpOnly"],
            )?;
            out.write_all(b"hello over HTTP\n")?;
        }
        (Some("fail-before"), None) => {
            return Err(Error::new("NotStarted", "failed before the first byte"));
        }
        (Some("fail-after"), None) => {
            writeln!(out, "the first line")?;
            out.flush()?;
            return Err(Error::new("StreamBroke", "failed after the first line"));
        }
        (Some("panic-after"), None) => {
            writeln!(out, "the first line")?;
            out.flush()?;
            panic!("the stream example was asked to panic mid-stream");
        }
        _ => out.write_all(event)?,
    }
    Ok(())
}

fn main() {
    lambda_loop::run(lambda_loop::streaming(handle))
}
