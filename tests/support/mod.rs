//! Test support: the crate's own fake Runtime API and in-process serving
//! (`lambda_loop::testing`, the module users get with the `testing` feature), and helpers to
//! run example binaries against it where the process is the point.
#![allow(dead_code)] // each test file uses a different part of the support code

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

pub use lambda_loop::testing::*;
use lambda_loop::Context;

/// A context as JSON, for handlers that answer with what they were told.
pub fn context_json(ctx: &Context) -> serde_json::Value {
    serde_json::json!({
        "requestId": ctx.request_id,
        "deadlineMs": ctx
            .deadline
            .and_then(|deadline| deadline.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|since| since.as_millis() as u64),
        "remainingMs": ctx.remaining_time().as_millis() as u64,
        "invokedFunctionArn": ctx.invoked_function_arn,
        "xrayTraceId": ctx.xray_trace_id,
        "clientContext": ctx.client_context,
        "identity": ctx.identity,
        "tenantId": ctx.tenant_id,
        "invocationId": ctx.invocation_id,
        "functionName": ctx.config.function_name,
        "functionVersion": ctx.config.function_version,
        "memorySizeMb": ctx.config.memory_size_mb,
        "logGroupName": ctx.config.log_group_name,
        "logStreamName": ctx.config.log_stream_name,
        "region": ctx.config.region,
        "handler": ctx.config.handler,
    })
}

// ---------------------------------------------------------------------------------------
// Binaries

/// The cargo target directory this test was built into (…/target).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test binary>
    exe.parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

/// An example built by `cargo test` itself (debug profile, panic = unwind).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("profile dir")
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: cargo test builds examples first",
        path.display()
    );
    path
}

/// An example built with a cargo profile (e.g. `size`, which aborts on panic), built once per
/// test process.
pub fn example_in_profile(name: &str, profile: &str) -> PathBuf {
    static BUILD_LOCK: OnceLock<Mutex<()>> = OnceLock::new();
    let _serial = BUILD_LOCK
        .get_or_init(|| Mutex::new(()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let target = target_dir();
    let path = target.join(profile).join("examples").join(name);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--example",
            name,
            "--profile",
            profile,
            "--target-dir",
        ])
        .arg(&target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo build");
    assert!(
        output.status.success(),
        "cargo build --example {name} --profile {profile} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    path
}

/// A pipe of a child, read to its end by a thread of its own: the bytes so far, and whether
/// the pipe has closed (the child exited, or closed it). Waiters are woken on every read.
struct Pipe {
    state: Mutex<(Vec<u8>, bool)>,
    changed: Condvar,
}

impl Pipe {
    /// Starts the thread that reads `pipe` into a new `Pipe`.
    fn read(mut pipe: impl Read + Send + 'static) -> (Arc<Pipe>, thread::JoinHandle<()>) {
        let sink = Arc::new(Pipe {
            state: Mutex::new((Vec::new(), false)),
            changed: Condvar::new(),
        });
        let thread_sink = Arc::clone(&sink);
        let reader = thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            loop {
                let n = pipe.read(&mut buffer).unwrap_or(0);
                let mut state = thread_sink.state.lock().unwrap();
                if n == 0 {
                    state.1 = true;
                } else {
                    state.0.extend_from_slice(&buffer[..n]);
                }
                thread_sink.changed.notify_all();
                if n == 0 {
                    return;
                }
            }
        });
        (sink, reader)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.state.lock().unwrap().0).into_owned()
    }

    /// Waits until `done` holds over (bytes, closed), at most until `deadline`; false when the
    /// deadline passed first.
    fn wait_until(&self, deadline: Instant, done: impl Fn(&[u8], bool) -> bool) -> bool {
        let mut state = self.state.lock().unwrap();
        loop {
            if done(&state.0, state.1) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self.changed.wait_timeout(state, deadline - now).unwrap().0;
        }
    }
}

/// A running child process; killed when dropped. Its stdout and stderr are read to their end
/// by threads of their own, which [`Running::wait`] joins.
pub struct Running {
    child: Child,
    stderr: Arc<Pipe>,
    stdout: Arc<Pipe>,
    readers: Vec<thread::JoinHandle<()>>,
}

impl Running {
    /// Takes over a child spawned elsewhere with piped stdout and stderr: both are read to
    /// their end by threads of their own from now on.
    pub fn adopt(mut child: Child) -> Running {
        let (stdout, stdout_reader) = Pipe::read(child.stdout.take().expect("a piped stdout"));
        let (stderr, stderr_reader) = Pipe::read(child.stderr.take().expect("a piped stderr"));
        Running {
            child,
            stderr,
            stdout,
            readers: vec![stdout_reader, stderr_reader],
        }
    }

    /// True when the child closed both pipes (it exited) within `bound`, woken by the pipes
    /// themselves; [`Running::wait`] then returns at once.
    pub fn closed_within(&self, bound: Duration) -> bool {
        let deadline = Instant::now() + bound;
        [&self.stdout, &self.stderr]
            .iter()
            .all(|pipe| pipe.wait_until(deadline, |_, closed| closed))
    }

    /// Waits for the child to exit, with every byte it wrote read (panics after
    /// [`PATIENCE`]): both pipes close when it exits, then their readers are joined.
    pub fn wait(&mut self) -> ExitStatus {
        assert!(
            self.closed_within(PATIENCE),
            "the child did not exit (its stdout or stderr is still open) within {PATIENCE:?}; stderr: {}",
            self.stderr.text()
        );
        for reader in self.readers.drain(..) {
            reader.join().expect("a pipe reader panicked");
        }
        self.child.wait().expect("wait for the child")
    }

    /// True while the child has not exited.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the child's stderr contains `needle` (woken by every read of the pipe);
    /// panics after [`PATIENCE`], or as soon as stderr closes without it.
    pub fn wait_for_stderr(&self, needle: &str) -> String {
        wait_for_text(&self.stderr, "stderr", needle)
    }

    /// [`Running::wait_for_stderr`] for stdout.
    pub fn wait_for_stdout(&self, needle: &str) -> String {
        wait_for_text(&self.stdout, "stdout", needle)
    }

    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    pub fn stdout(&self) -> Vec<u8> {
        self.stdout.state.lock().unwrap().0.clone()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `pipe` (named `name`) holds `needle`; panics after [`PATIENCE`], or as soon as
/// the pipe closes without it. The pipe's text then.
fn wait_for_text(pipe: &Pipe, name: &str, needle: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    let found = |bytes: &[u8]| String::from_utf8_lossy(bytes).contains(needle);
    pipe.wait_until(deadline, |bytes, closed| found(bytes) || closed);
    let text = pipe.text();
    assert!(
        text.contains(needle),
        "{name} never contained {needle:?}: {text}"
    );
    text
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `program` with a clean environment holding only `envs` (and nothing else from the
/// test process), stdin closed, stdout and stderr collected.
pub fn spawn_with_env(
    program: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
    stdin: Option<Vec<u8>>,
) -> Running {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(envs.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // Not joined: it ends when the input is written or the child closes stdin.
        thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    Running::adopt(child)
}

/// Starts `program` as a Lambda would: `AWS_LAMBDA_RUNTIME_API` pointing at `api`, a few of
/// the usual variables, and `extra`.
pub fn spawn(program: &Path, api: &FakeApi, extra: &[(&str, &str)]) -> Running {
    let addr = api.addr();
    let mut envs = vec![("AWS_LAMBDA_RUNTIME_API", addr.as_str())];
    envs.extend_from_slice(&LAMBDA_VARS);
    envs.extend_from_slice(extra);
    spawn_with_env(program, &[], &envs, None)
}

/// Starts example `name` (debug build) against `api`.
pub fn spawn_example(name: &str, api: &FakeApi, extra: &[(&str, &str)]) -> Running {
    spawn(&example(name), api, extra)
}

/// Decodes standard base64 (with padding), independently of the runtime's encoder; `None`
/// for anything that is not valid base64.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if text.len() % 4 != 0 {
        return None;
    }
    let mut decoded = Vec::new();
    for quad in text.as_bytes().chunks(4) {
        let padding = quad.iter().rev().take_while(|&&c| c == b'=').count();
        let mut bits: u32 = 0;
        for &c in &quad[..4 - padding] {
            let value = ALPHABET.iter().position(|&a| a == c)? as u32;
            bits = (bits << 6) | value;
        }
        bits <<= 6 * padding as u32;
        let bytes = bits.to_be_bytes();
        decoded.extend_from_slice(&bytes[1..4 - padding]);
    }
    Some(decoded)
}

/// The peak resident memory (`VmHWM`) of a running process, in KiB, from `/proc`.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status"))
}
