//! One run of one bootstrap: spawn it, serve it events, time and verify every answer, end it.

use crate::api::{Call, FakeApi, PreparedEvent, Request};
use crate::probe;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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
    /// Measured invocations per second, whole cycles (event, response, 202, next).
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
pub fn run(plan: &Plan, event: &mut PreparedEvent) -> io::Result<Outcome> {
    let mut api = FakeApi::bind()?;
    let addr = api.addr();
    let deadline = Instant::now() + plan.timeout;
    let spawned_at = Instant::now();
    let mut child = spawn(plan, &addr)?;
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
    let result = serve(
        plan,
        event,
        &mut api,
        &mut child,
        (spawned_at, cpu_at_start),
        deadline,
    );
    let outcome = match result {
        Ok((outcome, last_next)) => {
            match plan.ending {
                Ending::Fail => api.fail(&last_next)?,
                Ending::Terminate => terminate(pid)?,
            }
            outcome
        }
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(&plan.stderr).unwrap_or_default();
            let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
            return Err(io::Error::other(format!(
                "{}: {e} (child stderr, last lines: {tail})",
                plan.bin.display()
            )));
        }
    };
    // The child should end by itself now; a stuck one is killed.
    let exit_by = Instant::now() + Duration::from_secs(120).min(plan.timeout);
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if Instant::now() > exit_by {
            child.kill()?;
            child.wait()?;
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(outcome)
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

fn terminate(pid: u32) -> io::Result<()> {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("kill -TERM {pid} failed")))
    }
}

fn serve(
    plan: &Plan,
    event: &mut PreparedEvent,
    api: &mut FakeApi,
    child: &mut Child,
    (spawned_at, cpu_at_start): (Instant, u64),
    deadline: Instant,
) -> io::Result<(Outcome, Request)> {
    let pid = child.id();
    let mut alive = || matches!(child.try_wait(), Ok(None));
    let mut request = api.read_request(deadline, &mut alive)?;
    let init = spawned_at.elapsed();
    let init_cpu_ns = probe::cpu_ns(pid).map(|ns| ns.saturating_sub(cpu_at_start));
    let total = plan.warmup + plan.measured;
    let mut round_trips = Vec::with_capacity(plan.measured as usize);
    let mut cpu_before = None;
    let mut loop_start = Instant::now();
    for n in 0..total {
        if request.call != Call::Next {
            return Err(io::Error::other(format!(
                "expected GET next, got {}",
                request.path
            )));
        }
        if n == plan.warmup {
            cpu_before = probe::cpu_ns(pid);
            loop_start = Instant::now();
        }
        let sent_at = Instant::now();
        let id = api.send_event(&request, event, n)?;
        let post = api.read_request(deadline, &mut alive)?;
        let round_trip = sent_at.elapsed();
        if post.call != Call::Response || !post.path.contains(&id) {
            let detail = String::from_utf8_lossy(&api.body[..api.body.len().min(300)]).into_owned();
            return Err(io::Error::other(format!(
                "invocation {n}: expected the response of {id}, got {} {detail}",
                post.path
            )));
        }
        if api.body != event.event() {
            return Err(io::Error::other(format!(
                "invocation {n}: response differs from the event ({} bytes vs {})",
                api.body.len(),
                event.event().len()
            )));
        }
        if n >= plan.warmup {
            round_trips.push(round_trip);
        }
        api.accept_post(&post)?;
        request = api.read_request(deadline, &mut alive)?;
    }
    if request.call != Call::Next {
        return Err(io::Error::other(format!(
            "expected GET next, got {}",
            request.path
        )));
    }
    let elapsed = loop_start.elapsed().as_secs_f64();
    let cpu_after = probe::cpu_ns(pid);
    let outcome = Outcome {
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
        connections: api.connections_accepted(),
    };
    Ok((outcome, request))
}
