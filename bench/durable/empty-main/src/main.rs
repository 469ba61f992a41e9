//! The floor of bench/durable-cost.sh: what any Rust program built the same way (profile, libc,
//! link) costs before it does anything. It writes one line first thing (the driver's
//! `--floor-start` times the spawn to it), waits for its standard input to close, so that its
//! peak RSS can be read while it runs, and exits.

use std::io::{Read, Write};

fn main() {
    let _ = std::io::stdout().write_all(b"\n");
    let _ = std::io::stdin().read(&mut [0u8; 1]);
}
