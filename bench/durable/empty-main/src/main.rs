//! The floor of bench/durable-cost.sh: what any Rust program built the same way (profile, libc,
//! link) costs before it does anything. It waits for its standard input to close, so that its
//! peak RSS can be read while it runs, and exits.

use std::io::Read;

fn main() {
    let _ = std::io::stdin().read(&mut [0u8; 1]);
}
