//! The fake Runtime API: a std `TcpListener` on 127.0.0.1:0 serving one bootstrap.
//!
//! One thread, `poll(2)` over the listener and every open connection: a client that opens a
//! new connection is served at once (and counted), and a round trip has no thread hop in it.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

/// How long poll waits before the harness checks the child and the deadline.
const POLL_WAIT_MS: i32 = 50;
const READ_CHUNK: usize = 64 * 1024;
/// A fixed-width request id, so that one prepared event answer can be patched in place.
const ID_WIDTH: usize = 36;

/// What the child asked for.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Call {
    Next,
    Response,
    Error,
    Other,
}

/// One HTTP request from the child; its body is in [`FakeApi::body`].
pub struct Request {
    pub call: Call,
    pub path: String,
    pub connection: usize,
}

struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    open: bool,
}

/// The server side of one child's run.
pub struct FakeApi {
    listener: TcpListener,
    connections: Vec<Connection>,
    /// The last request's body, reused between requests.
    pub body: Vec<u8>,
}

/// An event answer prepared once per event; only the request id changes between uses.
pub struct PreparedEvent {
    bytes: Vec<u8>,
    id_at: usize,
    /// The event body, what a correct echo answers with.
    pub body_range: std::ops::Range<usize>,
}

impl PreparedEvent {
    pub fn new(event: &[u8]) -> Self {
        let placeholder = "0".repeat(ID_WIDTH);
        // The deadline is far in the future: no runtime should treat the event as expired.
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
             Lambda-Runtime-Aws-Request-Id: {placeholder}\r\n\
             Lambda-Runtime-Deadline-Ms: 4102444800000\r\n\
             Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
             Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1\r\n\
             Content-Length: {}\r\n\r\n",
            event.len()
        );
        let id_at = head.find(&placeholder).expect("placeholder is in the head");
        let mut bytes = head.into_bytes();
        let body_start = bytes.len();
        bytes.extend_from_slice(event);
        let body_range = body_start..bytes.len();
        Self {
            bytes,
            id_at,
            body_range,
        }
    }

    pub fn event(&self) -> &[u8] {
        &self.bytes[self.body_range.clone()]
    }

    /// Sets the request id for invocation `n`; returns it as it appears in paths.
    fn set_id(&mut self, n: u64) -> &str {
        let id = format!("bench-{n:030}");
        debug_assert_eq!(id.len(), ID_WIDTH);
        self.bytes[self.id_at..self.id_at + ID_WIDTH].copy_from_slice(id.as_bytes());
        std::str::from_utf8(&self.bytes[self.id_at..self.id_at + ID_WIDTH]).expect("ASCII id")
    }
}

impl FakeApi {
    pub fn bind() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        Ok(Self {
            listener,
            connections: Vec::new(),
            body: Vec::new(),
        })
    }

    pub fn addr(&self) -> String {
        self.listener.local_addr().expect("bound").to_string()
    }

    /// TCP connections accepted so far.
    pub fn connections_accepted(&self) -> usize {
        self.connections.len()
    }

    /// Waits for the child's next request, until `deadline`; `alive` says whether the child
    /// still runs (checked only while every connection is silent).
    pub fn read_request(
        &mut self,
        deadline: Instant,
        alive: &mut dyn FnMut() -> bool,
    ) -> io::Result<Request> {
        let mut fds: Vec<libc::pollfd> = Vec::new();
        let mut owners: Vec<usize> = Vec::new();
        loop {
            // A request whose head is already here goes first.
            let ready = (0..self.connections.len()).find(|&i| {
                let conn = &self.connections[i];
                conn.open && find_head_end(&conn.buf[conn.start..conn.end]).is_some()
            });
            if let Some(index) = ready {
                return self.parse_request(index);
            }
            fds.clear();
            owners.clear();
            fds.push(pollfd(self.listener.as_raw_fd()));
            for (i, conn) in self.connections.iter().enumerate().filter(|(_, c)| c.open) {
                fds.push(pollfd(conn.stream.as_raw_fd()));
                owners.push(i);
            }
            if sys_poll(&mut fds, POLL_WAIT_MS)? == 0 {
                if Instant::now() > deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no request before the deadline",
                    ));
                }
                if !alive() {
                    return Err(io::Error::other("the child exited"));
                }
                continue;
            }
            if fds[0].revents != 0 {
                self.accept_pending()?;
            }
            for (fd, &index) in fds[1..].iter().zip(&owners) {
                if fd.revents != 0 {
                    fill_once(&mut self.connections[index])?;
                }
            }
        }
    }

    fn accept_pending(&mut self) -> io::Result<()> {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false)?;
                    stream.set_nodelay(true)?;
                    self.connections.push(Connection {
                        stream,
                        buf: vec![0; READ_CHUNK],
                        start: 0,
                        end: 0,
                        open: true,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Parses the request whose head is buffered on connection `index` and reads its body.
    fn parse_request(&mut self, index: usize) -> io::Result<Request> {
        let conn = &mut self.connections[index];
        let head_len = find_head_end(&conn.buf[conn.start..conn.end]).expect("head is buffered");
        let head =
            String::from_utf8_lossy(&conn.buf[conn.start..conn.start + head_len]).into_owned();
        conn.start += head_len + 4;
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut content_length = 0usize;
        let mut chunked = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value
                    .parse()
                    .map_err(|_| io::Error::other(format!("bad Content-Length {value:?}")))?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
        self.body.clear();
        if chunked {
            read_chunked(conn, &mut self.body)?;
        } else {
            read_exact_body(conn, content_length, &mut self.body)?;
        }
        let call = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            Call::Next
        } else if method == "POST" && path.ends_with("/response") {
            Call::Response
        } else if method == "POST" && path.ends_with("/error") {
            Call::Error
        } else {
            Call::Other
        };
        Ok(Request {
            call,
            path,
            connection: index,
        })
    }

    /// Answers a `next` with the prepared event as invocation `n`; returns the request id.
    pub fn send_event(
        &mut self,
        request: &Request,
        event: &mut PreparedEvent,
        n: u64,
    ) -> io::Result<String> {
        let id = event.set_id(n).to_owned();
        self.connections[request.connection]
            .stream
            .write_all(&event.bytes)?;
        Ok(id)
    }

    /// Answers a post with 202, as the real API does.
    pub fn accept_post(&mut self, request: &Request) -> io::Result<()> {
        const ACCEPTED: &[u8] =
            b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n";
        self.connections[request.connection]
            .stream
            .write_all(ACCEPTED)
    }

    /// Answers with 500: the environment is broken, the runtime should exit.
    pub fn fail(&mut self, request: &Request) -> io::Result<()> {
        const BROKEN: &[u8] = b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        self.connections[request.connection]
            .stream
            .write_all(BROKEN)
    }
}

fn read_exact_body(conn: &mut Connection, len: usize, body: &mut Vec<u8>) -> io::Result<()> {
    let target = body.len() + len;
    let buffered = (conn.end - conn.start).min(len);
    body.reserve(len);
    body.extend_from_slice(&conn.buf[conn.start..conn.start + buffered]);
    conn.start += buffered;
    if conn.start == conn.end {
        conn.start = 0;
        conn.end = 0;
    }
    // read_to_end fills the spare capacity without zeroing it first, unlike resize + read.
    while body.len() < target {
        let want = (target - body.len()) as u64;
        match (&mut conn.stream).take(want).read_to_end(body) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "body cut short",
                ))
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Pulls at least one more byte into the connection buffer.
fn fill(conn: &mut Connection) -> io::Result<()> {
    if conn.start > 0 {
        conn.buf.copy_within(conn.start..conn.end, 0);
        conn.end -= conn.start;
        conn.start = 0;
    }
    loop {
        match conn.stream.read(&mut conn.buf[conn.end..]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "chunked body cut short",
                ))
            }
            Ok(n) => {
                conn.end += n;
                return Ok(());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
}

fn read_line(conn: &mut Connection) -> io::Result<String> {
    loop {
        if let Some(pos) = conn.buf[conn.start..conn.end]
            .windows(2)
            .position(|w| w == b"\r\n")
        {
            let line =
                String::from_utf8_lossy(&conn.buf[conn.start..conn.start + pos]).into_owned();
            conn.start += pos + 2;
            return Ok(line);
        }
        fill(conn)?;
    }
}

fn read_chunked(conn: &mut Connection, body: &mut Vec<u8>) -> io::Result<()> {
    loop {
        let size_line = read_line(conn)?;
        let size_hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| io::Error::other(format!("bad chunk size {size_hex:?}")))?;
        if size == 0 {
            // Trailers, then the empty line.
            while !read_line(conn)?.is_empty() {}
            return Ok(());
        }
        read_exact_body(conn, size, body)?;
        if !read_line(conn)?.is_empty() {
            return Err(io::Error::other("chunk not followed by CRLF"));
        }
    }
}

fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|window| window == b"\r\n\r\n")
}

/// Reads whatever has arrived on a connection that poll reported ready; EOF or an error closes it.
fn fill_once(conn: &mut Connection) -> io::Result<()> {
    if conn.start > 0 {
        conn.buf.copy_within(conn.start..conn.end, 0);
        conn.end -= conn.start;
        conn.start = 0;
    }
    if conn.end == conn.buf.len() {
        return Err(io::Error::other("request head larger than 64 KiB"));
    }
    match conn.stream.read(&mut conn.buf[conn.end..]) {
        Ok(0) => conn.open = false,
        Ok(n) => conn.end += n,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
        Err(_) => conn.open = false,
    }
    Ok(())
}

fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

fn sys_poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: `fds` is a valid, exclusively borrowed slice of initialized pollfd structs and
    // its length is passed with it; poll writes only their `revents` fields.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if ready < 0 {
        let error = io::Error::last_os_error();
        return if error.kind() == io::ErrorKind::Interrupted {
            Ok(0)
        } else {
            Err(error)
        };
    }
    Ok(ready as usize)
}
