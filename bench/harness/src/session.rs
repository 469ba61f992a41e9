//! One run of one bootstrap: spawn it against the fake Runtime API (lambda-loop's own,
//! `lambda_loop::testing`), serve it events, time and verify every answer, end it.
//!
//! The events of a phase are queued before it starts, so the fake answers each `next` at once
//! on the connection's own thread: a cycle has no hop to the harness in it, and every time is
//! taken by the fake as the bytes go out and come in.

use crate::probe;
use lambda_loop::testing::{Event, FakeApi, Recorded};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// How the child is ended once its invocations are done.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// `next` answered 500: the runtime exits by itself (its exit path runs).
    Fail,
    /// SIGTERM while it waits in `next`: nothing of the child runs after the request.
    Terminate,
}

/// What to run and how much.
pub struct Plan<'a> {
    /// A tool to run the bootstrap under (valgrind, strace), empty for none.
    pub wrapper: &'a [String],
    pub bin: &'a Path,
    pub warmup: u64,
    pub measured: u64,
    pub ending: Ending,
    /// Upper bound for the whole run: the harness never waits longer.
    pub timeout: Duration,
    /// Where the child's stderr goes.
    pub stderr: PathBuf,
    /// A cgroup for the child: it is spawned as a `sh` that waits on its stdin, moved into
    /// the cgroup (slow on cgroup v1, and not timed), then let go to exec the bootstrap, and
    /// the clock starts there. `None`: spawned at once, through the wrapper if there is one.
    pub cgroup: Option<&'a Path>,
}

/// What one run measured.
pub struct Outcome {
    /// Just before spawn (fork + exec) to the first `GET /next` fully read.
    pub init: Duration,
    /// Per measured invocation: event written → response body fully read.
    pub round_trips: Vec<Duration>,
    /// Measured invocations per second, whole cycles (next, event, response, 202).
    pub per_second: f64,
    /// CPU ns of the child over the measured invocations.
    pub cpu_ns: Option<u64>,
    /// CPU ns of the child from exec to its first `GET /next` (its init, and a wrapper's
    /// start when there is one: the pid is the same).
    pub init_cpu_ns: Option<u64>,
    pub peak_rss_kib: Option<u64>,
    pub threads: Option<usize>,
    pub connections: usize,
}

/// Every invocation's event: one body, shared by all of them.
pub struct BenchEvent {
    body: Arc<[u8]>,
}

impl BenchEvent {
    pub fn new(body: &[u8]) -> BenchEvent {
        BenchEvent { body: body.into() }
    }

    /// Invocation `n`'s event; a fixed-width id, so every `next` answer has the same size.
    fn invocation(&self, n: u64) -> Event {
        // The deadline is far in the future: no runtime should treat the event as expired.
        Event::shared(&id(n), Arc::clone(&self.body))
            .header("Lambda-Runtime-Deadline-Ms", "4102444800000")
            .header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench",
            )
            .header(
                "Lambda-Runtime-Trace-Id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            )
    }
}

fn id(n: u64) -> String {
    format!("bench-{n:030}")
}

/// The environment Lambda gives a bootstrap (the official runtime panics without some).
fn lambda_env(command: &mut Command, api: &str, bin: &Path) {
    let task_root = bin.parent().unwrap_or(Path::new("/tmp"));
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/27/[$LATEST]0123456789abcdef",
        )
        .env("AWS_LAMBDA_LOG_FORMAT", "Text")
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        // Lambda gives every function credentials in the environment; fake ones here, and no
        // instance metadata to look for them in (an SDK in the init must reach nothing).
        .env("AWS_ACCESS_KEY_ID", "AKIDBENCHFAKE")
        .env("AWS_SECRET_ACCESS_KEY", "bench-fake-secret")
        .env("AWS_SESSION_TOKEN", "bench-fake-token")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("_HANDLER", "bootstrap")
        .env("LAMBDA_TASK_ROOT", task_root)
        .env("LAMBDA_RUNTIME_DIR", task_root)
        .env("TZ", ":UTC")
        .env("LANG", "en_US.UTF-8")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin");
    // `NAME=VALUE ...`: what a function's configuration would add (e.g. SSL_CERT_FILE), to
    // measure what it changes.
    let extra = std::env::var("BENCH_CHILD_ENV").unwrap_or_default();
    for (name, value) in extra
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
    {
        command.env(name, value);
    }
}

fn spawn(plan: &Plan, api: &str) -> io::Result<Child> {
    let mut command = match plan.wrapper.split_first() {
        _ if plan.cgroup.is_some() => {
            let mut command = Command::new("sh");
            command
                .args(["-c", "read -r _ && exec \"$0\""])
                .arg(plan.bin);
            command
        }
        Some((tool, args)) => {
            let mut command = Command::new(tool);
            command.args(args).arg(plan.bin);
            command
        }
        None => Command::new(plan.bin),
    };
    lambda_env(&mut command, api, plan.bin);
    let stdin = match plan.cgroup {
        Some(_) => Stdio::piped(),
        None => Stdio::null(),
    };
    command
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::from(File::create(&plan.stderr)?))
        .spawn()
}

/// Runs the plan with `event` as every invocation's event.
pub fn run(plan: &Plan, event: &BenchEvent) -> io::Result<Outcome> {
    // Every answer is kept whole (read straight into its buffer), and compared after the run.
    let api = FakeApi::start();
    let deadline = Instant::now() + plan.timeout;
    let spawned_at = Instant::now();
    let mut child = spawn(plan, &api.addr())?;
    let pid = child.id();
    let (spawned_at, cpu_at_start) = match plan.cgroup {
        Some(cgroup) => match enter(cgroup, &mut child) {
            Ok(start) => start,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        },
        None => (spawned_at, 0),
    };
    let exited = AtomicBool::new(false);
    let (exit_status, exit) = mpsc::channel();
    thread::scope(|scope| {
        // The child's end wakes every wait of the fake (`finish` does), so a crash is seen at once.
        scope.spawn(|| {
            let status = child.wait();
            exited.store(true, Ordering::SeqCst);
            api.finish();
            let _ = exit_status.send(status);
        });
        let start = (spawned_at, cpu_at_start);
        let result = serve(plan, event, &api, pid, &exited, start, deadline);
        if result.is_ok() && !exited.load(Ordering::SeqCst) {
            match plan.ending {
                Ending::Fail => api.finish(),
                Ending::Terminate => signal(pid, "TERM")?,
            }
        } else if !exited.load(Ordering::SeqCst) {
            signal(pid, "KILL")?;
        }
        // The child should end by itself now; a stuck one is killed.
        let exit_by = Duration::from_secs(120).min(plan.timeout);
        if exit.recv_timeout(exit_by).is_err() {
            signal(pid, "KILL")?;
            let _ = exit.recv();
        }
        result.map_err(|e| {
            let stderr = std::fs::read_to_string(&plan.stderr).unwrap_or_default();
            let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
            io::Error::other(format!(
                "{}: {e} (child stderr, last lines: {tail})",
                plan.bin.display()
            ))
        })
    })
}

/// Moves the waiting child into `cgroup`, then lets it exec: the start of its init (the clock,
/// and its CPU so far, the shell's).
fn enter(cgroup: &Path, child: &mut Child) -> io::Result<(Instant, u64)> {
    std::fs::write(cgroup.join("cgroup.procs"), child.id().to_string())?;
    let cpu = probe::cpu_ns(child.id()).unwrap_or(0);
    let mut gate = child.stdin.take().expect("the child's stdin is piped");
    let started = Instant::now();
    gate.write_all(b"\n")?;
    Ok((started, cpu))
}

fn signal(pid: u32, name: &str) -> io::Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("kill -{name} {pid} failed")))
    }
}

fn is_next(request: &Recorded) -> bool {
    request.method == "GET" && request.path.ends_with("/runtime/invocation/next")
}

/// Waits until the child has answered `answers` events and waits in `next` for the one after,
/// until `deadline`; the requests then.
fn wait_for_cycles(
    api: &FakeApi,
    answers: u64,
    exited: &AtomicBool,
    deadline: Instant,
) -> io::Result<Vec<Recorded>> {
    let answers = answers as usize;
    let done = |requests: &[Recorded]| {
        requests.iter().filter(|r| r.is_answer()).count() >= answers
            && requests.iter().filter(|r| is_next(r)).count() > answers
    };
    let bound = deadline.saturating_duration_since(Instant::now());
    let requests = api
        .wait_until_within(bound, |requests| {
            exited.load(Ordering::SeqCst) || done(requests)
        })
        .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "no request before the deadline"))?;
    if !done(&requests) {
        let last: Vec<String> = requests
            .iter()
            .rev()
            .take(3)
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        return Err(io::Error::other(format!(
            "the child exited after {} requests (last: {last:?})",
            requests.len()
        )));
    }
    Ok(requests)
}

fn serve(
    plan: &Plan,
    event: &BenchEvent,
    api: &FakeApi,
    pid: u32,
    exited: &AtomicBool,
    (spawned_at, cpu_at_start): (Instant, u64),
    deadline: Instant,
) -> io::Result<Outcome> {
    let total = plan.warmup + plan.measured;
    // No event before the first `next`: the child waits in it then, so its CPU is the init's.
    wait_for_cycles(api, 0, exited, deadline)?;
    let init_cpu_ns = probe::cpu_ns(pid).map(|ns| ns.saturating_sub(cpu_at_start));
    for n in 0..plan.warmup {
        api.push_event(event.invocation(n));
    }
    wait_for_cycles(api, plan.warmup, exited, deadline)?;
    // The child waits in `next` now: nothing of it runs between here and the first event.
    let cpu_before = probe::cpu_ns(pid);
    for n in plan.warmup..total {
        api.push_event(event.invocation(n));
    }
    let requests = wait_for_cycles(api, total, exited, deadline)?;
    let cpu_after = probe::cpu_ns(pid);
    let nexts: Vec<&Recorded> = requests.iter().filter(|r| is_next(r)).collect();
    let answers: Vec<&Recorded> = requests.iter().filter(|r| r.is_answer()).collect();
    let init = nexts[0].received_at.duration_since(spawned_at);
    let mut round_trips = Vec::with_capacity(plan.measured as usize);
    for (n, answer) in (0..total).zip(&answers) {
        let id = id(n);
        if answer.answered() != Some((id.as_str(), "response")) {
            return Err(io::Error::other(format!(
                "invocation {n}: expected the response of {id}, got {} {}",
                answer.path,
                String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)])
            )));
        }
        if answer.body[..] != event.body[..] {
            return Err(io::Error::other(format!(
                "invocation {n}: response differs from the event ({} bytes vs {})",
                answer.body_len,
                event.body.len()
            )));
        }
        if n >= plan.warmup {
            let sent_at = api.event_written_at(&id).expect("a handed-out event");
            round_trips.push(answer.received_at.saturating_duration_since(sent_at));
        }
    }
    let elapsed = nexts[total as usize]
        .received_at
        .duration_since(nexts[plan.warmup as usize].received_at)
        .as_secs_f64();
    Ok(Outcome {
        init,
        per_second: if plan.measured > 0 {
            plan.measured as f64 / elapsed
        } else {
            0.0
        },
        round_trips,
        cpu_ns: cpu_before.zip(cpu_after).map(|(a, b)| b.saturating_sub(a)),
        init_cpu_ns,
        peak_rss_kib: probe::peak_rss_kib(pid),
        threads: probe::threads(pid),
        connections: api.connections(),
    })
}
