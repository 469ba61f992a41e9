//! lambda-loop raw-bytes echo: the response is the event's bytes, untouched.

fn main() {
    lambda_loop::run(|event: &[u8], _context| Ok(event.to_vec()))
}
