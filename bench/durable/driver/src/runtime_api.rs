//! A fake Lambda Runtime API on 127.0.0.1: every connection on a thread of its own, each
//! request (method, path, body) handed to the one thread that runs the session, which answers
//! it. Both functions make one request at a time, on whatever connections they keep.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Instant;

/// One request a function made, with the way to answer it.
pub struct Request {
    /// `GET`, `POST`.
    pub method: String,
    /// The path, e.g. `/2018-06-01/runtime/invocation/next`.
    pub path: String,
    /// The body (the handler's answer for a `/response` post).
    pub body: Vec<u8>,
    /// When the request had been read in full.
    pub received: Instant,
    answer: TcpStream,
}

impl Request {
    /// True for `GET .../invocation/next`.
    pub fn is_next(&self) -> bool {
        self.method == "GET" && self.path.ends_with("/invocation/next")
    }

    /// Answers with `status`, `headers` (each a full `Name: value` line) and `body`.
    pub fn answer(&mut self, status: &str, headers: &[String], body: &[u8]) -> io::Result<()> {
        let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
        for header in headers {
            head.push_str(header);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        self.answer.write_all(&bytes)
    }
}

/// The listening API: its address and the requests as they arrive.
pub struct RuntimeApi {
    /// `127.0.0.1:port`, what `AWS_LAMBDA_RUNTIME_API` holds.
    pub address: String,
    requests: Receiver<Request>,
}

impl RuntimeApi {
    /// Listens on a port of its own.
    pub fn start() -> io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let (sender, requests) = mpsc::channel();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sender = sender.clone();
                thread::spawn(move || serve(stream, sender));
            }
        });
        Ok(RuntimeApi { address, requests })
    }

    /// The next request, waiting at most `bound` (the function is stuck or dead after that).
    pub fn next_request(&self, bound: std::time::Duration) -> Result<Request, String> {
        self.requests
            .recv_timeout(bound)
            .map_err(|_| format!("no request from the function within {bound:?}"))
    }
}

/// Reads the requests of one connection until it closes.
fn serve(stream: TcpStream, sender: Sender<Request>) {
    let Ok(answer) = stream.try_clone() else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream);
    while let Ok(Some(mut request)) = read_request(&mut reader, &answer) {
        request.received = Instant::now();
        if sender.send(request).is_err() {
            return;
        }
    }
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    answer: &TcpStream,
) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let (mut length, mut chunked) = (0usize, false);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value
                    .parse()
                    .map_err(|_| io::Error::other("bad Content-Length"))?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| io::Error::other("bad chunk size"))?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some(Request {
        method,
        path,
        body,
        received: Instant::now(),
        answer: answer.try_clone()?,
    }))
}
