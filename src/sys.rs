//! The only `unsafe` code: thin wrappers around the libc calls that graceful shutdown needs.

use std::io;
use std::mem::MaybeUninit;

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
