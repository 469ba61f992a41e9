//! The only `unsafe` in the crate: thin wrappers over libc calls that std does not offer.

use std::net::TcpStream;
use std::os::fd::AsRawFd;

/// True when the peer has neither closed the connection nor sent anything unasked: the
/// connection can carry another request. One non-blocking `recv(MSG_PEEK)`; std's `peek`
/// would need two `FIONBIO` toggles around it.
pub(crate) fn peer_is_quiet(stream: &TcpStream) -> bool {
    let mut byte = 0u8;
    loop {
        // SAFETY: the fd is owned by `stream`, which outlives the call; the buffer is one valid,
        // writable byte and its length is passed as 1; MSG_PEEK leaves the data in the socket.
        let received = unsafe {
            libc::recv(
                stream.as_raw_fd(),
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if received >= 0 {
            return false; // 0: closed by the peer; > 0: bytes nobody asked for
        }
        match std::io::Error::last_os_error().kind() {
            std::io::ErrorKind::WouldBlock => return true,
            std::io::ErrorKind::Interrupted => continue,
            _ => return false,
        }
    }
}
