//! The walkthrough, `docs/how-it-works.md`, cannot drift from the code.
//!
//! The doc holds two kinds of checked blocks, each a fenced block right after a marker line:
//!
//! - `<!-- excerpt: src/serve.rs fn serve<H: Handler> -->`: a piece of source. The item is found
//!   by its declaration (`fn retry`, `const MAX_RESPONSE_BYTES`, `mod error_type`, `impl Client`,
//!   `struct Client`, `fn serve<H: Handler>` where a bare name is declared more than once, …, after any
//!   `pub`/`pub(crate)`; `//!` means the module docs), with the `///` docs, comments and
//!   attributes right above it, down to the closing line at its own indentation. The block
//!   must equal it byte for byte.
//! - `<!-- wire: next -->`: an exchange on the Runtime API as captured here, through a
//!   recording TCP relay between an example binary and the fake Runtime API of
//!   `lambda_loop::testing`: `> ` lines are what the runtime sent, `< ` lines what the fake
//!   answered, every byte shown (`\r`, `\n`, `\\`, `\xNN`). Only the port varies between
//!   runs; it is shown as Lambda's usual 9001. `<!-- wire: stderr-serve -->` blocks are the
//!   child's stderr.
//!
//! The transcripts come from the `fail` example, which the test builds first (a no-op when it is
//! fresh), so they are never taken from a binary older than the source. When the code changes
//! on purpose, refresh the doc with `WALKTHROUGH_BLESS=1 cargo test --test walkthrough` and read
//! the diff.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread;
use std::time::Instant;

use support::*;

const DOC: &str = "docs/how-it-works.md";
const BLESS_HINT: &str = "if the change is intended, refresh the doc with `WALKTHROUGH_BLESS=1 cargo test --test walkthrough` and review the diff";

/// The doc is rewritten by both tests when blessing: one at a time.
static DOC_LOCK: Mutex<()> = Mutex::new(());

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(DOC)
}

fn blessing() -> bool {
    std::env::var_os("WALKTHROUGH_BLESS").is_some_and(|value| value == "1")
}

// ---------------------------------------------------------------------------------------
// Marked blocks in the doc

/// A fenced block after `<!-- KIND: KEY -->`: its key and where its content is in the doc.
struct Marked {
    key: String,
    /// Byte range of the lines between the fences (each line with its `\n`).
    content: std::ops::Range<usize>,
    line: usize,
}

fn marked_blocks(doc: &str, kind: &str) -> Vec<Marked> {
    let opener = format!("<!-- {kind}: ");
    let mut blocks = Vec::new();
    let mut offset = 0;
    let lines: Vec<&str> = doc.split_inclusive('\n').collect();
    let mut starts = Vec::with_capacity(lines.len());
    for line in &lines {
        starts.push(offset);
        offset += line.len();
    }
    for (index, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim_end().strip_prefix(&opener) else {
            continue;
        };
        let key = rest
            .strip_suffix(" -->")
            .unwrap_or_else(|| panic!("{DOC}:{}: marker without ` -->`: {line}", index + 1))
            .to_owned();
        let fence = lines.get(index + 1).map(|l| l.trim_end());
        assert!(
            fence.is_some_and(|f| f.starts_with("```")),
            "{DOC}:{}: the marker for {kind} `{key}` must be followed at once by a ``` fence",
            index + 1
        );
        let close = (index + 2..lines.len())
            .find(|&i| lines[i].trim_end() == "```")
            .unwrap_or_else(|| panic!("{DOC}:{}: the block of `{key}` is never closed", index + 1));
        blocks.push(Marked {
            key,
            content: starts[index + 2]..starts[close],
            line: index + 1,
        });
    }
    blocks
}

/// Compares each marked block with `expected(key)`; when blessing, rewrites the doc instead.
fn check_blocks(kind: &str, expected: impl Fn(&str) -> Result<String, String>) -> usize {
    let _serial = DOC_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut doc = std::fs::read_to_string(doc_path())
        .unwrap_or_else(|error| panic!("cannot read {DOC}: {error}"));
    let blocks = marked_blocks(&doc, kind);
    let mut drifted = Vec::new();
    // Back to front, so that rewriting a block leaves the earlier ranges valid.
    for block in blocks.iter().rev() {
        let wanted = expected(&block.key)
            .unwrap_or_else(|why| panic!("{DOC}:{}: {kind} `{}`: {why}", block.line, block.key));
        let found = &doc[block.content.clone()];
        if found != wanted {
            drifted.push(format!(
                "{DOC}:{}: {kind} `{}` differs from what it shows: {}",
                block.line,
                block.key,
                first_difference(found, &wanted)
            ));
            if blessing() {
                doc.replace_range(block.content.clone(), &wanted);
            }
        }
    }
    if blessing() {
        if !drifted.is_empty() {
            std::fs::write(doc_path(), &doc)
                .unwrap_or_else(|error| panic!("cannot write {DOC}: {error}"));
            drifted.reverse();
            println!("refreshed:\n{}", drifted.join("\n"));
        }
    } else {
        drifted.reverse();
        assert!(drifted.is_empty(), "{}\n{BLESS_HINT}", drifted.join("\n"));
    }
    blocks.len()
}

fn first_difference(found: &str, wanted: &str) -> String {
    let mut found_lines = found.lines();
    let mut wanted_lines = wanted.lines();
    for number in 1.. {
        match (found_lines.next(), wanted_lines.next()) {
            (None, None) => return "only line endings differ".into(),
            (a, b) if a == b => continue,
            (a, b) => {
                return format!(
                    "line {number} of the block is {:?} in the doc but {:?} now",
                    a.unwrap_or("(end)"),
                    b.unwrap_or("(end)")
                )
            }
        }
    }
    unreachable!()
}

// ---------------------------------------------------------------------------------------
// Excerpts

/// Finds `selector` (`"src/retry.rs fn retry"`) in the source and returns it with its docs.
fn excerpt(key: &str) -> Result<String, String> {
    let (file, selector) = key
        .split_once(' ')
        .ok_or("the marker needs `FILE ITEM`, e.g. `src/retry.rs fn retry`")?;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file);
    let source =
        std::fs::read_to_string(&path).map_err(|error| format!("cannot read {file}: {error}"))?;
    extract_item(&source, selector).map_err(|why| format!("{why} in {file}"))
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The declaration `selector` (after any visibility) begins `line`, followed by a non-name
/// character: `fn serve` matches `pub(crate) fn serve<F>(`, not `fn server(`.
fn declares(line: &str, selector: &str) -> bool {
    let mut text = line.trim_start();
    for visibility in ["pub(crate) ", "pub(super) ", "pub "] {
        if let Some(rest) = text.strip_prefix(visibility) {
            text = rest;
            break;
        }
    }
    text.strip_prefix(selector).is_some_and(|rest| {
        !rest
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

fn extract_item(source: &str, selector: &str) -> Result<String, String> {
    let lines: Vec<&str> = source.split_inclusive('\n').collect();
    if selector == "//!" {
        let docs: String = lines
            .iter()
            .take_while(|line| line.starts_with("//!"))
            .copied()
            .collect();
        return if docs.is_empty() {
            Err("no module docs (`//!`)".into())
        } else {
            Ok(docs)
        };
    }
    let found: Vec<usize> = (0..lines.len())
        .filter(|&i| declares(lines[i], selector))
        .collect();
    let start = match found[..] {
        [start] => start,
        [] => return Err(format!("no item `{selector}` (was it renamed or removed?)")),
        _ => {
            return Err(format!(
                "`{selector}` is declared {} times: make the selector unique",
                found.len()
            ))
        }
    };
    let indent = indentation(lines[start]);
    // An item on one line (`const X: u8 = 1;`, `fn f() {}`) ends there.
    let end = if lines[start].trim_end().ends_with([';', '}']) {
        start
    } else {
        (start + 1..lines.len())
            .find(|&i| {
                let text = lines[i].trim();
                indentation(lines[i]) == indent
                    && (text.starts_with('}') || text == "];" || text == ");")
            })
            .ok_or_else(|| format!("`{selector}` has no closing line at its indentation"))?
    };
    // The docs, comments and attributes right above belong to the item.
    let mut first = start;
    while first > 0 {
        let above = lines[first - 1];
        let text = above.trim_start();
        let attached = indentation(above) == indent
            && (text.starts_with("///") || text.starts_with("//") || text.starts_with("#["));
        if !attached {
            break;
        }
        first -= 1;
    }
    Ok(lines[first..=end].concat())
}

#[test]
fn the_excerpts_in_the_walkthrough_are_the_current_source() {
    let checked = check_blocks("excerpt", excerpt);
    assert!(
        checked >= 6,
        "{DOC} has only {checked} excerpt markers: is the doc (or its marker syntax) broken?"
    );
}

#[test]
fn items_are_found_by_declaration_with_their_docs() {
    let source = "/// Doc.\n#[inline]\npub(crate) fn serve<F>(\n    x: F,\n) -> u8\nwhere\n    F: Fn(),\n{\n    if x {\n    }\n}\nfn server() {}\nconst N: [u8; 2] = [\n    1,\n];\n";
    assert_eq!(
        extract_item(source, "fn serve").unwrap(),
        "/// Doc.\n#[inline]\npub(crate) fn serve<F>(\n    x: F,\n) -> u8\nwhere\n    F: Fn(),\n{\n    if x {\n    }\n}\n"
    );
    assert_eq!(
        extract_item(source, "fn server").unwrap(),
        "fn server() {}\n"
    );
    assert_eq!(
        extract_item(source, "const N").unwrap(),
        "const N: [u8; 2] = [\n    1,\n];\n"
    );
    assert!(extract_item(source, "fn gone").is_err());
    assert!(extract_item("fn a() {}\nfn a() {}\n", "fn a").is_err());
}

// ---------------------------------------------------------------------------------------
// Wire transcripts

/// Which way bytes went through the relay.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Direction {
    /// From the runtime to the Runtime API.
    Sent,
    /// From the Runtime API to the runtime.
    Answered,
}

#[derive(Default)]
struct RelayLog {
    /// (connection, direction, bytes) in the order the relay read them.
    pieces: Vec<(usize, Direction, Vec<u8>)>,
    connections: usize,
    /// Directions of all connections still copying.
    open_directions: usize,
}

/// A TCP relay on 127.0.0.1 in front of the fake: it records every byte each way before
/// passing it on, so the transcript is exactly what crossed the socket.
struct Relay {
    addr: String,
    log: Arc<(Mutex<RelayLog>, Condvar)>,
}

impl Relay {
    fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap().to_string();
        let log: Arc<(Mutex<RelayLog>, Condvar)> = Arc::default();
        let accept_log = Arc::clone(&log);
        thread::spawn(move || {
            for runtime_side in listener.incoming() {
                let Ok(runtime_side) = runtime_side else {
                    continue;
                };
                let api_side = TcpStream::connect(&upstream).expect("connect to the fake");
                let connection = {
                    let mut log = accept_log.0.lock().unwrap();
                    log.connections += 1;
                    log.open_directions += 2;
                    log.connections - 1
                };
                for (from, to, direction) in [
                    (
                        runtime_side.try_clone().unwrap(),
                        api_side.try_clone().unwrap(),
                        Direction::Sent,
                    ),
                    (api_side, runtime_side, Direction::Answered),
                ] {
                    let log = Arc::clone(&accept_log);
                    thread::spawn(move || copy_recording(from, to, connection, direction, log));
                }
            }
        });
        Relay { addr, log }
    }

    /// Waits until every connection is closed both ways; then the transcript is complete.
    fn wait_until_closed(&self) {
        let deadline = Instant::now() + PATIENCE;
        let mut log = self.log.0.lock().unwrap();
        while log.open_directions > 0 {
            let now = Instant::now();
            assert!(now < deadline, "the relay's connections never closed");
            log = self.log.1.wait_timeout(log, deadline - now).unwrap().0;
        }
    }

    /// The messages of one connection: consecutive pieces in one direction joined.
    fn messages(&self, connection: usize) -> Vec<(Direction, Vec<u8>)> {
        let log = self.log.0.lock().unwrap();
        let mut messages: Vec<(Direction, Vec<u8>)> = Vec::new();
        for (_, direction, bytes) in log.pieces.iter().filter(|p| p.0 == connection) {
            match messages.last_mut() {
                Some((last, joined)) if last == direction => joined.extend_from_slice(bytes),
                _ => messages.push((*direction, bytes.clone())),
            }
        }
        messages
    }

    fn connections(&self) -> usize {
        self.log.0.lock().unwrap().connections
    }
}

fn copy_recording(
    mut from: TcpStream,
    mut to: TcpStream,
    connection: usize,
    direction: Direction,
    log: Arc<(Mutex<RelayLog>, Condvar)>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let amount = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(amount) => amount,
        };
        // Recorded before it is passed on: an answer is always logged after its request.
        log.0
            .lock()
            .unwrap()
            .pieces
            .push((connection, direction, buffer[..amount].to_vec()));
        if to.write_all(&buffer[..amount]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let mut state = log.0.lock().unwrap();
    state.open_directions -= 1;
    log.1.notify_all();
}

/// Bytes as text, one line per `\n`, each line after `prefix`: `\r`, `\n` and `\\` are
/// written as escapes, printable ASCII as itself, anything else as `\xNN`.
fn render(prefix: &str, bytes: &[u8]) -> String {
    let mut text = String::from(prefix);
    for (index, &byte) in bytes.iter().enumerate() {
        match byte {
            b'\r' => text.push_str("\\r"),
            b'\n' => {
                text.push_str("\\n\n");
                if index + 1 < bytes.len() {
                    text.push_str(prefix);
                }
            }
            b'\\' => text.push_str("\\\\"),
            0x20..=0x7e => text.push(byte as char),
            _ => text.push_str(&format!("\\x{byte:02x}")),
        }
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Shown as Lambda's own port, so that the doc does not change from run to run; and the
/// working directory in an X-Ray cause as Lambda's own (`/var/task`), so that it does not
/// change from checkout to checkout.
fn mask_port(text: &str, addr: &str) -> String {
    let cwd = std::env::current_dir().expect("the test's working directory");
    text.replace(addr, "127.0.0.1:9001").replace(
        &format!("\"working_directory\":\"{}\"", cwd.display()),
        "\"working_directory\":\"/var/task\"",
    )
}

/// A deadline fixed by the test (2030-01-01T00:00:00Z), so nothing in the transcript varies
/// but the port.
const DEADLINE_MS: &str = "1893456000000";
const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:walkthrough";
const TRACE_ID: &str = "Root=1-5bf3a1c5-8d3a3e2f6e1c2b8a9f0d4c7e;Parent=53995c3f42cd8ad8;Sampled=1";

fn event(request_id: &str, body: &str) -> Event {
    Event::new(request_id, body.as_bytes().to_vec())
        .header("Lambda-Runtime-Deadline-Ms", DEADLINE_MS)
        .header("Lambda-Runtime-Invoked-Function-Arn", ARN)
        .header("Lambda-Runtime-Trace-Id", TRACE_ID)
}

/// Runs the `fail` example (with `extra` env) through the relay until it exits; returns the
/// messages of its one connection, the relay's address (to mask), and the child's stderr.
fn capture(
    extra: &[(&str, &str)],
    script: impl FnOnce(&FakeApi),
) -> (Vec<(Direction, Vec<u8>)>, String, String) {
    let (mut connections, addr, stderr) = capture_connections(extra, script, 1);
    (connections.remove(0), addr, stderr)
}

/// What crossed one connection, in order.
type Messages = Vec<(Direction, Vec<u8>)>;

/// [`capture`] of a run that opens `expected` connections (SnapStart opens a second one after
/// `restore/next`): the messages of each.
fn capture_connections(
    extra: &[(&str, &str)],
    script: impl FnOnce(&FakeApi),
    expected: usize,
) -> (Vec<Messages>, String, String) {
    let api = FakeApi::start();
    script(&api);
    api.finish();
    let relay = Relay::start(api.addr());
    let mut envs = vec![
        ("AWS_LAMBDA_RUNTIME_API", relay.addr.as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", "walkthrough"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_REGION", "eu-west-1"),
        ("_HANDLER", "bootstrap"),
    ];
    envs.extend_from_slice(extra);
    let mut child = spawn_with_env(&fail_example(), &[], &envs, None);
    let status = child.wait();
    assert_eq!(status.code(), Some(1), "stderr: {}", child.stderr());
    relay.wait_until_closed();
    assert_eq!(
        relay.connections(),
        expected,
        "the runtime should use one kept-alive connection (a new one after restore/next)"
    );
    let stderr = child.stderr();
    let connections = (0..expected).map(|c| relay.messages(c)).collect();
    (connections, relay.addr.clone(), stderr)
}

/// The `fail` example of the current source: `cargo test --test walkthrough` alone does not
/// build examples, and a binary left from an older build would show an older wire.
fn fail_example() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let output = Command::new(cargo)
                .args(["build", "--quiet", "--example", "fail", "--target-dir"])
                .arg(target_dir())
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output()
                .expect("run cargo build");
            assert!(
                output.status.success(),
                "cargo build --example fail failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            example("fail")
        })
        .clone()
}

/// Every transcript the doc may show, by key.
fn transcripts() -> BTreeMap<String, String> {
    let (serve, serve_addr, serve_stderr) = capture(&[], |api| {
        api.push_event(event(
            "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
            r#"{"hello":"world"}"#,
        ));
        api.push_event(event("b1f7e4c2-3a4d-4e5f-8a6b-7c8d9e0f1a2b", "parse"));
        api.push_event(event("c2a8f5d3-4b5e-4f60-9b7c-8d9e0f1a2b3c", "oversize"));
        api.push_event(
            event("d3b906e4-5c6f-4071-ac8d-9e0f1a2b3c4d", r#"{"late":true}"#).answer_status(410),
        );
    });
    let exchange = |at: usize| {
        let (sent, request) = &serve[at];
        let (answered, answer) = &serve[at + 1];
        assert_eq!(
            (*sent, *answered),
            (Direction::Sent, Direction::Answered),
            "message {at}"
        );
        mask_port(
            &(render("> ", request) + &render("< ", answer)),
            &serve_addr,
        )
    };
    // next, response | next, error | next, error (too large) | next, response (410) | next (500)
    assert_eq!(
        serve.len(),
        18,
        "unexpected conversation: {:#?}",
        serve
            .iter()
            .map(|(d, b)| (d, String::from_utf8_lossy(b).into_owned()))
            .collect::<Vec<_>>()
    );
    for at in [4, 8, 12, 16] {
        assert_eq!(
            serve[at], serve[0],
            "every `next` request is the same bytes"
        );
    }
    let (init, init_addr, init_stderr) = capture(&[("FAIL_INIT", "1")], |_| {});
    assert_eq!(init.len(), 2, "one init/error post and its answer");
    let snap_start = ("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start");
    let (restored, restored_addr, _) = capture_connections(
        &[snap_start],
        |api| {
            api.push_event(
                event(
                    "e4c0a7f5-6d70-4182-bd9e-0f1a2b3c4d5e",
                    r#"{"restored":true}"#,
                )
                .header(
                    "Lambda-Runtime-Invocation-Id",
                    "7f3c2a1e-0b9d-4e8f-a6c5-d4e3f2a1b0c9",
                ),
            );
        },
        2,
    );
    assert_eq!(
        restored[0].len(),
        2,
        "restore/next and its answer, then the connection is dropped"
    );
    assert_eq!(restored[1].len(), 6, "next, response, next (500)");
    let (failed, failed_addr, _) =
        capture_connections(&[snap_start, ("FAIL_RESTORE", "1")], |_| {}, 2);
    assert_eq!(failed[1].len(), 2, "one restore/error post and its answer");
    let pair = |messages: &[(Direction, Vec<u8>)], at: usize, addr: &str| {
        mask_port(
            &(render("> ", &messages[at].1) + &render("< ", &messages[at + 1].1)),
            addr,
        )
    };
    BTreeMap::from([
        ("next".into(), exchange(0)),
        ("response".into(), exchange(2)),
        ("error".into(), exchange(6)),
        ("too-large".into(), exchange(10)),
        ("timed-out".into(), exchange(14)),
        ("next-500".into(), exchange(16)),
        (
            "init-error".into(),
            mask_port(
                &(render("> ", &init[0].1) + &render("< ", &init[1].1)),
                &init_addr,
            ),
        ),
        ("restore-next".into(), pair(&restored[0], 0, &restored_addr)),
        (
            "response-invocation-id".into(),
            pair(&restored[1], 2, &restored_addr),
        ),
        ("restore-error".into(), pair(&failed[1], 0, &failed_addr)),
        ("stderr-serve".into(), mask_port(&serve_stderr, &serve_addr)),
        ("stderr-init".into(), mask_port(&init_stderr, &init_addr)),
    ])
}

#[test]
fn the_wire_transcripts_in_the_walkthrough_are_what_the_runtime_sends() {
    let transcripts = transcripts();
    let checked = check_blocks("wire", |key| {
        transcripts
            .get(key)
            .cloned()
            .ok_or_else(|| format!("no such transcript; known: {:?}", transcripts.keys()))
    });
    let doc = std::fs::read_to_string(doc_path()).unwrap();
    for key in transcripts.keys() {
        assert!(
            doc.contains(&format!("<!-- wire: {key} -->")),
            "{DOC} does not show the `{key}` transcript"
        );
    }
    assert_eq!(checked, transcripts.len(), "each transcript is shown once");
}

#[test]
fn rendering_shows_every_byte() {
    assert_eq!(
        render("> ", b"GET / HTTP/1.1\r\nA: b\r\n\r\n{\"x\\\"\x01\xff}"),
        "> GET / HTTP/1.1\\r\\n\n> A: b\\r\\n\n> \\r\\n\n> {\"x\\\\\"\\x01\\xff}\n"
    );
}
