//! The socket under ureq: one `TcpStream` to the Runtime API, with the few syscalls a
//! request/answer exchange on loopback needs.
//!
//! ureq's own TCP transport is built for the open internet. Here the peer is the Runtime API
//! on the same host, so three things are done differently (each measured in `bench/`):
//! - **One write per request.** ureq hands over the request head and then the body; the head
//!   is held back and goes out with the body in one `writev` (or alone, just before waiting
//!   for the answer), instead of two writes.
//! - **One-syscall liveness probe.** Before a kept-alive connection is used again, ureq asks
//!   whether it is still open. We answer with one non-blocking `recv(MSG_PEEK)` instead of
//!   toggling `FIONBIO` around a read, and not at all right after an answer was read in full.
//! - **Buffers from `calloc`.** Zeroed buffers come from the allocator already zeroed (fresh
//!   pages), not from a byte loop, which at `opt-level = "z"` cost over a million
//!   instructions before the first request.
//!
//! No timeouts: `next` must block for as long as Lambda has no event.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::OnceLock;

use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

use crate::sys;

/// Bytes read from the socket at most per `read`. Large events (up to 6 MB) arrive in a few
/// reads; pages of the buffer that are never written are never touched, so small events do
/// not pay for the size in memory.
const INPUT_BUFFER_BYTES: usize = 256 * 1024;
/// Bytes of a request body ureq copies per `write`.
const OUTPUT_BUFFER_BYTES: usize = 256 * 1024;
/// Writes smaller than this (request heads, small bodies) are held back to be sent together
/// with what follows.
const HOLD_BACK_BYTES: usize = 16 * 1024;

/// Opens [`Connection`]s for the agent (the address comes from ureq's resolver).
#[derive(Debug)]
pub(crate) struct LoopbackConnector;

impl Connector for LoopbackConnector {
    type Out = Connection;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> Result<Option<Connection>, ureq::Error> {
        let stream = TcpStream::connect(&details.addrs[..])?;
        // Requests are complete messages: send them now, never wait to fill a segment.
        stream.set_nodelay(true)?;
        Ok(Some(Connection {
            stream,
            buffers: ConnectionBuffers::new(),
            held_back: Vec::new(),
            answer_just_read: false,
        }))
    }
}

/// Resolves the Runtime API's address once and remembers it. An agent of ours only ever talks
/// to its one endpoint, and ureq would otherwise format and resolve `host:port` on every
/// request. The host is an IP address (what Lambda and the emulators give) or `localhost`,
/// which the endpoint's parser checked: no name goes to the system's resolver, which would add
/// musl's DNS client and ureq's resolver thread to the binary (61 KB of the size build).
#[derive(Debug, Default)]
pub(crate) struct ResolveOnce {
    resolved: OnceLock<ResolvedSocketAddrs>,
}

/// The addresses of `host:port` when the host is an IP address or `localhost` (the IPv4
/// loopback first, then IPv6's); `None` for any other name.
pub(crate) fn loopback_or_literal(authority: &str) -> Option<Vec<SocketAddr>> {
    if let Ok(addr) = authority.parse::<SocketAddr>() {
        return Some(vec![addr]);
    }
    let (host, port) = authority.rsplit_once(':')?;
    let port = port.parse::<u16>().ok()?;
    host.eq_ignore_ascii_case("localhost").then(|| {
        vec![
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
        ]
    })
}

impl Resolver for ResolveOnce {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        if let Some(addrs) = self.resolved.get() {
            return Ok(addrs.clone());
        }
        let found = uri
            .authority()
            .and_then(|authority| loopback_or_literal(authority.as_str()))
            .ok_or(ureq::Error::HostNotFound)?;
        let addrs = self.resolved.get_or_init(|| {
            let mut addrs = self.empty();
            for addr in found {
                addrs.push(addr);
            }
            addrs
        });
        Ok(addrs.clone())
    }
}

/// One TCP connection with its buffers.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    buffers: ConnectionBuffers,
    /// Output not written yet: it goes out with the next write, or before the next read.
    held_back: Vec<u8>,
    /// Set when input arrived; lets the pool's check right after an answer skip the probe.
    answer_just_read: bool,
}

impl Connection {
    fn flush_held_back(&mut self) -> io::Result<()> {
        if !self.held_back.is_empty() {
            self.stream.write_all(&self.held_back)?;
            self.held_back.clear();
        }
        Ok(())
    }
}

impl Transport for Connection {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, _timeout: NextTimeout) -> Result<(), ureq::Error> {
        let output = &self.buffers.output[..amount];
        if !self.held_back.is_empty() {
            let mut both = [IoSlice::new(&self.held_back), IoSlice::new(output)];
            write_all_vectored(&mut self.stream, &mut both)?;
            self.held_back.clear();
        } else if amount < HOLD_BACK_BYTES {
            self.held_back.extend_from_slice(output);
        } else {
            self.stream.write_all(output)?;
        }
        Ok(())
    }

    fn await_input(&mut self, _timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.flush_held_back()?;
        let free = self.buffers.input_append_buf();
        let amount = loop {
            match self.stream.read(free) {
                // A signal (e.g. SIGCONT after Lambda thawed us) is no reason to give up.
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                result => break result?,
            }
        };
        self.buffers.input_appended(amount);
        self.answer_just_read = amount > 0;
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        // Right after an answer was read to its end the connection is known to be fine; the
        // probe is for a connection that sat idle in the pool.
        std::mem::take(&mut self.answer_just_read) || sys::peer_is_quiet(&self.stream)
    }
}

/// Every byte of every slice, in order, in as few `writev` calls as the kernel allows
/// (`Write::write_all_vectored` is not stable yet). The one vectored write-all of the crate:
/// the held-back request head here, and the chunks of a streamed response (`chunked.rs`).
pub(crate) fn write_all_vectored(
    sink: &mut impl Write,
    mut slices: &mut [IoSlice<'_>],
) -> io::Result<()> {
    while !slices.is_empty() {
        match sink.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => IoSlice::advance_slices(&mut slices, written),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// ureq's view of a connection's memory: unconsumed input is `input[start..end]`.
#[derive(Debug)]
struct ConnectionBuffers {
    input: Vec<u8>,
    start: usize,
    end: usize,
    output: Vec<u8>,
    /// Whether the last consume made progress (ureq reads more input when it did not).
    progress: bool,
}

impl ConnectionBuffers {
    fn new() -> ConnectionBuffers {
        ConnectionBuffers {
            // vec![0; n] is one zeroed allocation (calloc), not a fill loop.
            input: vec![0; INPUT_BUFFER_BYTES],
            start: 0,
            end: 0,
            output: vec![0; OUTPUT_BUFFER_BYTES],
            progress: false,
        }
    }

    /// Moves unconsumed input to the front, so the free space is all at the end.
    fn compact(&mut self) {
        if self.start > 0 {
            self.input.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }
}

impl Buffers for ConnectionBuffers {
    fn output(&mut self) -> &mut [u8] {
        &mut self.output
    }

    fn input(&self) -> &[u8] {
        &self.input[self.start..self.end]
    }

    fn input_append_buf(&mut self) -> &mut [u8] {
        self.compact();
        &mut self.input[self.end..]
    }

    fn input_appended(&mut self, amount: usize) {
        self.end += amount;
    }

    fn input_consume(&mut self, amount: usize) {
        self.progress = amount > 0;
        self.start += amount;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    fn tmp_and_output(&mut self) -> (&mut [u8], &mut [u8]) {
        self.compact();
        (&mut self.input[self.end..], &mut self.output)
    }

    fn can_use_input(&self) -> bool {
        self.start < self.end && self.progress
    }
}
