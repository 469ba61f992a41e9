//! The only `unsafe` in the crate: thin wrappers over the libc calls std does not offer (a
//! one-syscall liveness probe for kept-alive connections, and SIGTERM for graceful shutdown).

use std::io;
use std::mem::MaybeUninit;
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

/// A set of signals holding only SIGTERM.
pub(crate) struct SigtermSet(libc::sigset_t);

/// Blocks SIGTERM on the calling thread, so that it stays pending until a thread takes it with
/// [`wait_for_sigterm`]. Threads spawned afterwards inherit the mask; threads that exist
/// already do not, and the kernel may deliver SIGTERM to one of them (which ends the process).
pub(crate) fn block_sigterm() -> io::Result<SigtermSet> {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `set` is valid for writes; sigemptyset initialises it before anything reads it.
    if unsafe { libc::sigemptyset(set.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: sigemptyset succeeded, so `set` is initialised.
    let mut set = unsafe { set.assume_init() };
    // SAFETY: `set` is an initialised sigset_t and SIGTERM a valid signal number.
    if unsafe { libc::sigaddset(&mut set, libc::SIGTERM) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `set` is initialised; a null old-mask pointer is allowed and means "don't
    // report the previous mask".
    let status = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if status != 0 {
        // pthread_sigmask returns the error number instead of setting errno.
        return Err(io::Error::from_raw_os_error(status));
    }
    Ok(SigtermSet(set))
}

/// Waits until SIGTERM is pending and takes it. Runs on an ordinary thread, so whatever follows
/// may lock, allocate and do I/O, which a signal handler may not.
pub(crate) fn wait_for_sigterm(set: &SigtermSet) -> io::Result<()> {
    loop {
        let mut signal: libc::c_int = 0;
        // SAFETY: `set.0` is an initialised sigset_t and `signal` is valid for writes.
        let status = unsafe { libc::sigwait(&set.0, &mut signal) };
        match status {
            0 if signal == libc::SIGTERM => return Ok(()),
            0 => continue,           // the set holds only SIGTERM; cannot happen
            libc::EINTR => continue, // some systems return it; nothing was taken
            error => return Err(io::Error::from_raw_os_error(error)),
        }
    }
}
