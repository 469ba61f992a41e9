//! The durable examples, end to end on AWS's own emulator: `dex-local-runner` (PyPI
//! `aws-durable-execution-sdk-python-testing`) runs each execution and serves the durable API
//! the function checkpoints to; `cargo lambda watch --only-lambda-apis` turns the emulator's
//! Invoke calls into the Runtime API `next` of the example binaries, started as Lambda starts
//! them. Each test asserts the history the emulator recorded, operation by operation (types,
//! names, statuses, results, errors), not just the final result.
//!
//! Ignored by default: they need both tools. `.ci/run` installs them and runs
//! `cargo test --features durable --test durable_emulator -- --ignored`. Each test starts its
//! own emulator and Invoke endpoint on free ports of 127.0.0.1, and ends every process it
//! started when it ends.
//!
//! Timers run in real time, not under `--skip-time`: with it, dex-local-runner 1.4.0 at times
//! loses the wake-up of a retry or wait that fires while the invocation that set it ends (it
//! cancels the wake-up in flight after the operation completed, and nothing invokes the
//! function again: the execution stays RUNNING; 2 of 20 concurrent empty orders here). So a
//! test lasts as long as its timers: the order's 60 s wait, the default retry strategy's
//! jittered delays (5 + 10 + 20 + 40 + 60 s at most).

// Empty without the feature (not a [[test]] entry: packaging.rs builds a partial copy).
#![cfg(feature = "durable")]

mod support;

#[allow(dead_code)] // its `main` is the binary's; the test reads its types
#[path = "../examples/durable_tour.rs"]
mod durable_tour;

#[allow(dead_code)]
#[path = "../examples/durable_order.rs"]
mod durable_order;

#[allow(dead_code)]
#[path = "../examples/durable_fanout.rs"]
mod durable_fanout;

use std::collections::BTreeMap;
use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Serialize;
use serde_json::{json, Value};
use support::{spawn_with_env, target_dir, Running};

use durable_fanout::{Mailing, Report};
use durable_order::{Line, Order, Receipt};
use durable_tour::{Summary, Tour};

/// How long an execution, or a server's start, may take: generous, for a loaded 2-core box.
const BOUND: Duration = Duration::from_secs(300);

/// How often a poll of an external server looks again.
const POLL: Duration = Duration::from_millis(50);

/// The name the Invoke endpoint gives the function of the execution (cargo-lambda's default);
/// every other name is a binary of the front's project.
const MAIN: &str = "_";

/// The examples the tests run, built once per test process (`cargo test --test` does not
/// build examples), in the profile and with the features of the test itself.
fn built_example(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<bool>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(|| Mutex::new(false))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !*built {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let output = Command::new(cargo)
            .args(["build", "--quiet", "--features", "durable"])
            .args(["--example", "durable_tour", "--example", "durable_order"])
            .args(["--example", "durable_fanout", "--example", "hello_json"])
            .arg("--target-dir")
            .arg(target_dir())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run cargo build");
        assert!(
            output.status.success(),
            "cargo build of the examples failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        *built = true;
    }
    let path = target_dir().join("debug/examples").join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// A port of 127.0.0.1 that was free a moment ago and that no other test of this process was
/// given (an external program cannot be given port 0: the caller retries when another process
/// took it meanwhile).
fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("bind 127.0.0.1:0")
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// A server this test started, leading a process group of its own (`cargo` runs
/// `cargo-lambda`, pyenv's shim runs python): the whole group is killed on drop.
struct Server {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Server {
    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Starts `command` with its output in `log`, then waits until `ready` holds (an HTTP
    /// answer from it) while it runs. `Err` with its log when it ended first: its port may
    /// have been taken meanwhile (cargo-lambda then ends without saying so).
    fn start(
        name: &'static str,
        mut command: Command,
        log: PathBuf,
        ready: impl Fn() -> bool,
    ) -> Result<Server, String> {
        let file = fs::File::create(&log).expect("create a log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone the log file"))
            .stderr(file)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| panic!("start {name}: {error} (is it installed?)"));
        let mut server = Server { name, child, log };
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().expect("try_wait") {
                return Err(format!(
                    "{name} ended ({status}) before it was ready; its log:\n{}",
                    server.log()
                ));
            }
            if ready() {
                return Ok(server);
            }
            assert!(
                started.elapsed() < BOUND,
                "{name} was not ready within {BOUND:?}; its log:\n{}",
                server.log()
            );
            thread::sleep(POLL);
        }
    }

    /// Fails loudly when the server has ended.
    fn check_running(&mut self, logs: &dyn Fn() -> String) {
        if let Some(status) = self.child.try_wait().expect("try_wait") {
            panic!("{} ended ({status}); the logs:\n{}", self.name, logs());
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let group = -(self.child.id() as i32);
        // SAFETY: kill() takes no pointers; the group is the one this test started.
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// Starts a server on a free port, retrying with another port when it was taken meanwhile.
fn start_on_free_port(
    name: &'static str,
    log: PathBuf,
    command: impl Fn(u16) -> Command,
    ready: impl Fn(u16) -> bool,
) -> (Server, u16) {
    let mut failure = String::new();
    for _ in 0..5 {
        let port = free_port();
        match Server::start(name, command(port), log.clone(), || ready(port)) {
            Ok(server) => return (server, port),
            Err(log) => failure = log,
        }
    }
    panic!("{name} ended before it was ready on five ports in a row; the last time:\n{failure}");
}

/// The test's HTTP client: statuses are read, not errors; no proxy, only loopback.
fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// The status and body of `method url` (POST sends `{}`), if anything answered.
fn probe(method: &str, url: &str) -> Option<(u16, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let answer = match method {
        "POST" => agent.post(url).send("{}"),
        _ => agent.get(url).call(),
    };
    let mut answer = answer.ok()?;
    let body = answer.body_mut().read_to_string().ok()?;
    Some((answer.status().as_u16(), body))
}

/// One test's world: the emulator, the Invoke endpoint in front of the functions, and the
/// functions (example binaries, each as Lambda starts it).
struct Emulator {
    // Declared first, so dropped first: the functions end before the servers they talk to.
    functions: Vec<(String, Running)>,
    front: Server,
    runner: Server,
    emulator_url: String,
    http: ureq::Agent,
    /// The front's project and the servers' logs: removed when the test passes, kept when
    /// it fails.
    dir: PathBuf,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if !thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

impl Emulator {
    /// Starts everything for `test`: `functions` are (name, example) pairs, [`MAIN`] the
    /// one the executions run; the others are what chained invokes may call.
    fn start(test: &str, functions: &[(&str, &str)]) -> Emulator {
        let dir =
            std::env::temp_dir().join(format!("lambda-loop-dex-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let project = front_project(&dir, functions);

        let (front, invoke_port) = start_on_free_port(
            "cargo lambda watch",
            dir.join("watch.log"),
            |port| {
                let mut command = Command::new("cargo");
                command
                    .args([
                        "lambda",
                        "watch",
                        "--only-lambda-apis",
                        "-A",
                        "127.0.0.1",
                        "-P",
                    ])
                    .arg(port.to_string())
                    .current_dir(&project)
                    .env_remove("AWS_LAMBDA_RUNTIME_API");
                command
            },
            // An Invoke of a function it does not have: answered at once, and by cargo-lambda
            // (any other path may become an invocation of the default function).
            |port| {
                let url = format!("http://127.0.0.1:{port}/2015-03-31/functions/none/invocations");
                probe("POST", &url).is_some_and(|(status, body)| {
                    status == 404 && body.contains("Missing function")
                })
            },
        );

        // The chained invokes' targets: plain functions (no DurableConfig).
        let configs: BTreeMap<&str, Value> = functions
            .iter()
            .filter(|(name, _)| *name != MAIN)
            .map(|(name, _)| (*name, json!({})))
            .collect();
        let configs = serde_json::to_string(&configs).unwrap();
        let lambda_endpoint = format!("http://127.0.0.1:{invoke_port}");
        let (runner, emulator_port) = start_on_free_port(
            "dex-local-runner",
            dir.join("dex.log"),
            |port| {
                let mut command = Command::new("dex-local-runner");
                command
                    .args(["start-server", "--host", "127.0.0.1", "--port"])
                    .arg(port.to_string())
                    .args(["--lambda-endpoint", &lambda_endpoint])
                    .args(["--function-configs", &configs])
                    .current_dir(&dir)
                    // It signs its Invoke calls with boto3: dummy credentials, no profile.
                    .env("AWS_ACCESS_KEY_ID", "testing")
                    .env("AWS_SECRET_ACCESS_KEY", "testing")
                    .env("AWS_REGION", "us-east-1")
                    .env("AWS_EC2_METADATA_DISABLED", "true")
                    .env_remove("AWS_SESSION_TOKEN")
                    .env_remove("AWS_PROFILE");
                for proxy in [
                    "HTTP_PROXY",
                    "HTTPS_PROXY",
                    "ALL_PROXY",
                    "http_proxy",
                    "https_proxy",
                    "all_proxy",
                ] {
                    command.env_remove(proxy);
                }
                command
            },
            |port| {
                let url = format!("http://127.0.0.1:{port}/2025-12-01/durable-executions/none");
                probe("GET", &url).is_some_and(|(status, body)| {
                    status == 404 && body.contains("ResourceNotFoundException")
                })
            },
        );
        let emulator_url = format!("http://127.0.0.1:{emulator_port}");

        let functions = functions
            .iter()
            .map(|(name, example)| {
                let runtime_api = match *name {
                    MAIN => format!("http://127.0.0.1:{invoke_port}/.rt"),
                    name => format!("http://127.0.0.1:{invoke_port}/.rt/{name}"),
                };
                let envs = [
                    ("AWS_LAMBDA_RUNTIME_API", runtime_api.as_str()),
                    ("AWS_LAMBDA_FUNCTION_NAME", name),
                    ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
                    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
                    ("AWS_REGION", "us-east-1"),
                    ("AWS_ACCESS_KEY_ID", "testing"),
                    ("AWS_SECRET_ACCESS_KEY", "testing"),
                    ("AWS_ENDPOINT_URL_LAMBDA", emulator_url.as_str()),
                ];
                let running = spawn_with_env(&built_example(example), &[], &envs, None);
                (name.to_string(), running)
            })
            .collect();
        Emulator {
            functions,
            front,
            runner,
            emulator_url,
            http: http(),
            dir,
        }
    }

    /// The end of every log: the servers' and each function's stderr.
    fn logs(&self) -> String {
        let mut logs = format!(
            "(whole logs in {})\n--- dex-local-runner:\n{}\n--- cargo lambda watch:\n{}\n",
            self.dir.display(),
            tail(&self.runner.log()),
            tail(&self.front.log())
        );
        for (name, function) in &self.functions {
            logs += &format!(
                "--- function {name} (stderr):\n{}\n",
                tail(&function.stderr())
            );
        }
        logs
    }

    fn function(&self, name: &str) -> &Running {
        &self
            .functions
            .iter()
            .find(|(n, _)| n == name)
            .expect("a function of the test")
            .1
    }

    /// `method path` with `body` on the emulator: (status, answer as JSON, `null` if empty).
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let url = format!("{}{path}", self.emulator_url);
        let answer = match body {
            Some(body) => self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .send(body),
            None => self.http.get(&url).call(),
        };
        let mut answer =
            answer.unwrap_or_else(|error| panic!("{method} {path}: {error}\n{}", self.logs()));
        let status = answer.status().as_u16();
        let text = answer
            .body_mut()
            .read_to_string()
            .expect("an answer's body");
        let json = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"))
        };
        (status, json)
    }

    /// Starts an execution of [`MAIN`] with `input`; its ARN.
    fn start_execution(&self, name: &str, input: &impl Serialize) -> String {
        let request = json!({
            "AccountId": "123456789012",
            "FunctionName": MAIN,
            "FunctionQualifier": "$LATEST",
            "ExecutionName": name,
            "ExecutionTimeoutSeconds": 600,
            "ExecutionRetentionPeriodDays": 1,
            "Input": serde_json::to_string(input).unwrap(),
        });
        let (status, answer) = self.call(
            "POST",
            "/start-durable-execution",
            Some(&request.to_string()),
        );
        assert!(
            (200..300).contains(&status),
            "start-durable-execution: {status} {answer}"
        );
        answer["ExecutionArn"]
            .as_str()
            .expect("an ExecutionArn")
            .to_owned()
    }

    fn execution_path(arn: &str) -> String {
        format!(
            "/2025-12-01/durable-executions/{}",
            utf8_percent_encode(arn, NON_ALPHANUMERIC)
        )
    }

    /// GetDurableExecution: Status, Result, Error.
    fn describe(&self, arn: &str) -> Value {
        let (status, answer) = self.call("GET", &Self::execution_path(arn), None);
        assert_eq!(status, 200, "{answer}");
        answer
    }

    /// Every event of the execution's history, with its data, page after page.
    fn history(&self, arn: &str) -> Vec<Value> {
        let mut events = Vec::new();
        let mut marker = String::new();
        loop {
            let mut path = format!(
                "{}/history?IncludeExecutionData=true",
                Self::execution_path(arn)
            );
            if !marker.is_empty() {
                path += &format!("&Marker={}", utf8_percent_encode(&marker, NON_ALPHANUMERIC));
            }
            let (status, mut page) = self.call("GET", &path, None);
            assert_eq!(status, 200, "{page}");
            events.extend(
                page["Events"]
                    .as_array_mut()
                    .map(std::mem::take)
                    .unwrap_or_default(),
            );
            match page["NextMarker"].as_str() {
                Some(next) if !next.is_empty() => marker = next.to_owned(),
                _ => return events,
            }
        }
    }

    /// Polls the execution's history until `found` finds what it looks for, while every
    /// process keeps running; fails loudly, with every log, after [`BOUND`].
    fn wait_for<T>(&mut self, arn: &str, what: &str, found: impl Fn(&[Value]) -> Option<T>) -> T {
        let started = Instant::now();
        loop {
            if let Some(value) = found(&self.history(arn)) {
                return value;
            }
            let logs = self.logs();
            self.front.check_running(&|| logs.clone());
            self.runner.check_running(&|| logs.clone());
            for (name, function) in &mut self.functions {
                assert!(
                    function.is_running(),
                    "function {name} ended; the logs:\n{logs}"
                );
            }
            assert!(
                started.elapsed() < BOUND,
                "{what}: not within {BOUND:?}; the logs:\n{logs}"
            );
            thread::sleep(POLL);
        }
    }

    /// Waits for the execution to end; GetDurableExecution's answer.
    fn wait_until_done(&mut self, arn: &str) -> Value {
        self.wait_for(arn, "the execution's end", |events| {
            events
                .iter()
                .any(|event| {
                    event["EventType"].as_str().is_some_and(|kind| {
                        kind.starts_with("Execution") && kind != "ExecutionStarted"
                    })
                })
                .then_some(())
        });
        self.describe(arn)
    }

    /// Waits until the callbacks named `names` were started and the invocation that started
    /// them ended (so the callback's completion comes in between invocations, the same way
    /// on every run); their ids, which the function must also have written to stderr.
    fn wait_for_callbacks(&mut self, arn: &str, names: &[&str]) -> Vec<String> {
        let ids = self.wait_for(arn, "the callbacks' start", |events| {
            let ids: Vec<String> = names
                .iter()
                .filter_map(|name| {
                    events
                        .iter()
                        .find(|event| {
                            event["EventType"] == "CallbackStarted" && event["Name"] == *name
                        })
                        .map(|event| {
                            event["CallbackStartedDetails"]["CallbackId"]
                                .as_str()
                                .expect("a CallbackId")
                                .to_owned()
                        })
                })
                .collect();
            (ids.len() == names.len() && is_idle(events)).then_some(ids)
        });
        for id in &ids {
            self.function(MAIN).wait_for_stderr(id);
        }
        ids
    }

    /// Completes callback `id` through the callbacks API: `succeed` with the raw result, or
    /// `fail` with an error object.
    fn complete_callback(&self, id: &str, outcome: &str, body: &str) {
        let path = format!(
            "/2025-12-01/durable-execution-callbacks/{}/{outcome}",
            utf8_percent_encode(id, NON_ALPHANUMERIC)
        );
        let (status, answer) = self.call("POST", &path, Some(body));
        assert_eq!(status, 200, "{outcome} callback: {answer}\n{}", self.logs());
    }
}

/// The last lines of a log (the emulator logs every request, the polls included).
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// The Invoke endpoint's project: cargo-lambda serves the names of its binaries (and [`MAIN`]);
/// nothing in it is ever built, the functions are the examples.
fn front_project(dir: &Path, functions: &[(&str, &str)]) -> PathBuf {
    let project = dir.join("front");
    fs::create_dir_all(project.join("src/bin")).unwrap();
    fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"front\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    fs::write(project.join("src/main.rs"), "fn main() {}\n").unwrap();
    for (name, _) in functions.iter().filter(|(name, _)| *name != MAIN) {
        fs::write(
            project.join("src/bin").join(format!("{name}.rs")),
            "fn main() {}\n",
        )
        .unwrap();
    }
    project
}

// ---------------------------------------------------------------------------------------
// Reading a history

/// An event as one line: its type and what it recorded (a result, an error, a duration, a
/// chained invoke's target and input); ids and timestamps left out.
fn line(event: &Value) -> String {
    let kind = event["EventType"].as_str().unwrap_or("?");
    let details = event
        .as_object()
        .and_then(|fields| fields.iter().find(|(key, _)| key.ends_with("Details")))
        .map_or(&Value::Null, |(_, details)| details);
    let mut line = kind.to_owned();
    if let Some(function) = details["FunctionName"].as_str() {
        line += &format!(" {function}");
    }
    if let Some(input) = details["Input"]["Payload"].as_str() {
        line += &format!(" {input}");
    }
    if let (Some(seconds), "WaitStarted") = (details["Duration"].as_u64(), kind) {
        line += &format!(" {seconds} s");
    }
    if let Some(result) = details["Result"]["Payload"].as_str() {
        line += &format!(" = {result}");
    }
    let error = &details["Error"]["Payload"];
    if let Some(error_type) = error["ErrorType"].as_str() {
        line += &format!(
            " ! {error_type}: {}",
            error["ErrorMessage"].as_str().unwrap_or("")
        );
    }
    // A failed attempt's RetryDetails: a delay for a retry; 0 for the last failure (FAIL).
    let delay = details["RetryDetails"]["NextAttemptDelaySeconds"].as_u64();
    if let Some(delay) = delay.filter(|delay| *delay > 0) {
        line += &format!(" (retry in {delay} s)");
    }
    line
}

/// The history by operation: each operation's path (the names from the root, joined by
/// " / "; the execution's own events under "execution") with its events as [`line`]s, in
/// order. Operations of parallel threads interleave in the history; each one's own events
/// do not.
fn by_operation(events: &[Value]) -> BTreeMap<String, Vec<String>> {
    let names: BTreeMap<&str, (&str, Option<&str>)> = events
        .iter()
        .filter_map(|event| {
            Some((
                event["Id"].as_str()?,
                (
                    event["Name"].as_str().unwrap_or("?"),
                    event["ParentId"].as_str(),
                ),
            ))
        })
        .collect();
    let path = |id: &str| {
        let mut parts = Vec::new();
        let mut next = Some(id);
        while let Some(id) = next {
            let (name, parent) = names[id];
            parts.push(name);
            next = parent;
        }
        parts.reverse();
        parts.join(" / ")
    };
    let mut operations: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in events {
        let kind = event["EventType"].as_str().unwrap_or("?");
        let key = match event["Id"].as_str() {
            _ if kind.starts_with("Execution") => "execution".to_owned(),
            Some(id) => path(id),
            None => continue, // InvocationCompleted
        };
        operations.entry(key).or_default().push(line(event));
    }
    operations
}

/// The names of the root's operations, in the order they first appear: the root's code runs
/// in one thread, so this order is the code's.
fn root_order(events: &[Value]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for event in events {
        let is_operation = event["SubType"].is_string() && event["ParentId"].is_null();
        let name = event["Name"].as_str().unwrap_or("?").to_owned();
        if is_operation && !order.contains(&name) {
            order.push(name);
        }
    }
    order
}

/// True when the last invocation ended and no other began since: the execution waits.
fn is_idle(events: &[Value]) -> bool {
    events
        .last()
        .is_some_and(|event| event["EventType"] == "InvocationCompleted")
}

/// How many invocations the execution took.
fn invocations(events: &[Value]) -> usize {
    events
        .iter()
        .filter(|event| event["EventType"] == "InvocationCompleted")
        .count()
}

/// Builds the expected [`by_operation`] from (path, lines) pairs.
fn expected(operations: Vec<(&str, Vec<String>)>) -> BTreeMap<String, Vec<String>> {
    operations
        .into_iter()
        .map(|(path, lines)| (path.to_owned(), lines))
        .collect()
}

/// A step that succeeded on its first attempt with `result`.
fn step(result: &str) -> Vec<String> {
    vec!["StepStarted".into(), format!("StepSucceeded = {result}")]
}

/// A child context (also a map, a map item, a parallel branch) that succeeded with `result`.
fn context(result: &str) -> Vec<String> {
    vec![
        "ContextStarted".into(),
        format!("ContextSucceeded = {result}"),
    ]
}

fn lines(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|line| line.to_string()).collect()
}

fn assert_history(events: &[Value], want: &BTreeMap<String, Vec<String>>) {
    let got = by_operation(events);
    let all: Vec<String> = events
        .iter()
        .map(|event| format!("{} {}", event["Name"], line(event)))
        .collect();
    assert_eq!(
        &got,
        want,
        "the history, event by event:\n{}",
        all.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// The tests

fn ada_tour() -> Tour {
    Tour {
        name: "Ada".into(),
        greeter: "greeter".into(),
        numbers: vec![1, 2, 3],
    }
}

#[test]
#[ignore = "needs dex-local-runner (pip install aws-durable-execution-sdk-python-testing) and cargo-lambda; .ci/run runs it"]
fn the_tour_runs_every_operation_on_the_emulator() {
    let mut emulator =
        Emulator::start("tour", &[(MAIN, "durable_tour"), ("greeter", "hello_json")]);
    let arn = emulator.start_execution("tour-1", &ada_tour());

    // Both callbacks wait at once; the approval comes first, the ticket after it.
    let ids = emulator.wait_for_callbacks(&arn, &["ticket", "approval create callback id"]);
    assert_eq!(emulator.describe(&arn)["Status"], "RUNNING");
    emulator.complete_callback(&ids[1], "succeed", r#"{"by": "Grace"}"#);
    // The replay that follows gets past the approval and waits for the ticket.
    emulator.wait_for(&arn, "the approval's replay", |events| {
        let approved = events
            .iter()
            .any(|event| event["EventType"] == "ContextSucceeded" && event["Name"] == "approval");
        (approved && is_idle(events)).then_some(())
    });
    emulator.complete_callback(&ids[0], "succeed", r#""T-1""#);

    let execution = emulator.wait_until_done(&arn);
    assert_eq!(
        execution["Status"],
        "SUCCEEDED",
        "{execution}\n{}",
        emulator.logs()
    );
    let summary = Summary {
        flaky_attempt: 3,
        badge: "[A]".into(),
        approval: json!({"by": "Grace"}),
        ticket: json!("T-1"),
        greeting: json!({"message": "Hello, Ada!"}),
        squares: vec![1, 4, 9],
        branches: vec!["left".into(), "right".into()],
    };
    let result: Summary = serde_json::from_str(execution["Result"].as_str().unwrap()).unwrap();
    assert_eq!(result, summary);

    let events = emulator.history(&arn);
    assert_eq!(
        root_order(&events),
        [
            "flaky",
            "pause",
            "badge",
            "ticket",
            "hand out ticket",
            "approval",
            "greet",
            "square",
            "both"
        ]
    );
    let input = serde_json::to_string(&ada_tour()).unwrap();
    let squares = r#"{"items":[{"SUCCEEDED":1},{"SUCCEEDED":4},{"SUCCEEDED":9}],"completion_reason":"ALL_COMPLETED"}"#;
    let branches = r#"{"items":[{"SUCCEEDED":"left"},{"SUCCEEDED":"right"}],"completion_reason":"ALL_COMPLETED"}"#;
    let want = expected(vec![
        (
            "execution",
            vec![
                format!("ExecutionStarted {input}"),
                format!(
                    "ExecutionSucceeded = {}",
                    serde_json::to_string(&summary).unwrap()
                ),
            ],
        ),
        (
            "flaky",
            lines(&[
                "StepStarted",
                "StepFailed ! Flaky: attempt 1 failed (retry in 1 s)",
                "StepStarted",
                "StepFailed ! Flaky: attempt 2 failed (retry in 1 s)",
                "StepStarted",
                "StepSucceeded = 3",
            ]),
        ),
        ("pause", lines(&["WaitStarted 2 s", "WaitSucceeded"])),
        ("badge", context(r#""[A]""#)),
        ("badge / initial", step(r#""A""#)),
        ("badge / frame", step(r#""[A]""#)),
        (
            "ticket",
            lines(&["CallbackStarted", r#"CallbackSucceeded = "T-1""#]),
        ),
        ("hand out ticket", step("null")),
        // The callback records the raw text sent; the context, the value as the handler read it.
        ("approval", context(r#"{"by":"Grace"}"#)),
        (
            "approval / approval create callback id",
            lines(&["CallbackStarted", r#"CallbackSucceeded = {"by": "Grace"}"#]),
        ),
        ("approval / approval submitter", step("null")),
        (
            "greet",
            lines(&[
                r#"ChainedInvokeStarted greeter {"name":"Ada"}"#,
                r#"ChainedInvokeSucceeded = {"message":"Hello, Ada!"}"#,
            ]),
        ),
        ("square", context(squares)),
        ("square / map-item-0", context("1")),
        ("square / map-item-0 / multiply", step("1")),
        ("square / map-item-1", context("4")),
        ("square / map-item-1 / multiply", step("4")),
        ("square / map-item-2", context("9")),
        ("square / map-item-2 / multiply", step("9")),
        ("both", context(branches)),
        ("both / parallel-branch-0", context(r#""left""#)),
        ("both / parallel-branch-0 / left", step(r#""left""#)),
        ("both / parallel-branch-1", context(r#""right""#)),
        (
            "both / parallel-branch-1 / right pause",
            lines(&["WaitStarted 1 s", "WaitSucceeded"]),
        ),
        ("both / parallel-branch-1 / right", step(r#""right""#)),
    ]);
    assert_history(&events, &want);
    // Two retries, the wait, the callbacks (approval, then ticket), the chained invoke and
    // the parallel branch's wait each end an invocation; the last one answers the result.
    assert_eq!(invocations(&events), 8, "{}", emulator.logs());
}

#[test]
#[ignore = "needs dex-local-runner (pip install aws-durable-execution-sdk-python-testing) and cargo-lambda; .ci/run runs it"]
fn a_failed_callback_fails_the_tour_with_its_error() {
    let mut emulator = Emulator::start(
        "tour-fail",
        &[(MAIN, "durable_tour"), ("greeter", "hello_json")],
    );
    let arn = emulator.start_execution("tour-2", &ada_tour());
    let ids = emulator.wait_for_callbacks(&arn, &["ticket", "approval create callback id"]);
    emulator.complete_callback(
        &ids[1],
        "fail",
        r#"{"ErrorType": "Rejected", "ErrorMessage": "not today"}"#,
    );

    let execution = emulator.wait_until_done(&arn);
    assert_eq!(
        execution["Status"],
        "FAILED",
        "{execution}\n{}",
        emulator.logs()
    );
    assert_eq!(execution["Error"]["ErrorType"], "Rejected", "{execution}");
    assert_eq!(
        execution["Error"]["ErrorMessage"], "not today",
        "{execution}"
    );

    let events = emulator.history(&arn);
    assert_eq!(
        root_order(&events),
        [
            "flaky",
            "pause",
            "badge",
            "ticket",
            "hand out ticket",
            "approval"
        ]
    );
    let operations = by_operation(&events);
    let rejected = "! Rejected: not today";
    assert_eq!(
        operations["approval / approval create callback id"],
        lines(&["CallbackStarted", &format!("CallbackFailed {rejected}")])
    );
    assert_eq!(
        operations["approval"],
        lines(&["ContextStarted", &format!("ContextFailed {rejected}")])
    );
    assert_eq!(
        operations["execution"].last().unwrap(),
        &format!("ExecutionFailed {rejected}")
    );
    // The ticket never came: nothing after the failure ran.
    assert_eq!(operations["ticket"], lines(&["CallbackStarted"]));
    assert!(!operations.contains_key("greet"));
}

fn large_order() -> Order {
    Order {
        id: "o-1".into(),
        items: vec![Line {
            sku: "book".into(),
            quantity: 2,
            cents: 60_000,
        }],
    }
}

#[test]
#[ignore = "needs dex-local-runner (pip install aws-durable-execution-sdk-python-testing) and cargo-lambda; .ci/run runs it"]
fn the_order_example_ships_after_its_approval() {
    let mut emulator = Emulator::start("order", &[(MAIN, "durable_order")]);
    let arn = emulator.start_execution("order-1", &large_order());
    let ids = emulator.wait_for_callbacks(&arn, &["approval create callback id"]);
    emulator.complete_callback(&ids[0], "succeed", r#"{"approved": true, "by": "Ada"}"#);

    let execution = emulator.wait_until_done(&arn);
    assert_eq!(
        execution["Status"],
        "SUCCEEDED",
        "{execution}\n{}",
        emulator.logs()
    );
    let receipt = Receipt {
        order: "o-1".into(),
        total_cents: 120_000,
        status: "shipped".into(),
        tracking: Some("track-label-reservation-o-1-1-payment-o-1".into()),
    };
    let result: Receipt = serde_json::from_str(execution["Result"].as_str().unwrap()).unwrap();
    assert_eq!(result, receipt);

    let events = emulator.history(&arn);
    assert_eq!(
        root_order(&events),
        [
            "validate",
            "reserve stock",
            "approval",
            "charge",
            "before shipping",
            "ship"
        ]
    );
    let input = serde_json::to_string(&large_order()).unwrap();
    let want = expected(vec![
        (
            "execution",
            vec![
                format!("ExecutionStarted {input}"),
                format!(
                    "ExecutionSucceeded = {}",
                    serde_json::to_string(&receipt).unwrap()
                ),
            ],
        ),
        ("validate", step("120000")),
        ("reserve stock", step(r#""reservation-o-1-1""#)),
        ("approval", context(r#"{"approved":true,"by":"Ada"}"#)),
        (
            "approval / approval create callback id",
            lines(&[
                "CallbackStarted",
                r#"CallbackSucceeded = {"approved": true, "by": "Ada"}"#,
            ]),
        ),
        ("approval / approval submitter", step("null")),
        ("charge", step(r#""payment-o-1""#)),
        (
            "before shipping",
            lines(&["WaitStarted 60 s", "WaitSucceeded"]),
        ),
        (
            "ship",
            context(r#""track-label-reservation-o-1-1-payment-o-1""#),
        ),
        ("ship / label", step(r#""label-reservation-o-1-1""#)),
        (
            "ship / hand over",
            step(r#""track-label-reservation-o-1-1-payment-o-1""#),
        ),
    ]);
    assert_history(&events, &want);
    assert_eq!(invocations(&events), 3, "{}", emulator.logs());
}

#[test]
#[ignore = "needs dex-local-runner (pip install aws-durable-execution-sdk-python-testing) and cargo-lambda; .ci/run runs it"]
fn an_empty_order_fails_after_every_attempt_of_its_step() {
    let mut emulator = Emulator::start("order-fail", &[(MAIN, "durable_order")]);
    let empty = Order {
        id: "o-2".into(),
        items: vec![],
    };
    let arn = emulator.start_execution("order-2", &empty);
    let execution = emulator.wait_until_done(&arn);
    assert_eq!(
        execution["Status"],
        "FAILED",
        "{execution}\n{}",
        emulator.logs()
    );
    assert_eq!(execution["Error"]["ErrorType"], "EmptyOrder", "{execution}");

    let events = emulator.history(&arn);
    assert_eq!(root_order(&events), ["validate"]);
    let operations = by_operation(&events);
    let error = "! EmptyOrder: order o-2 has no items";
    // The default strategy: six attempts in all, each failure but the last retried (after a
    // random delay, full jitter), each attempt an invocation of its own.
    let validate = &operations["validate"];
    assert_eq!(validate.len(), 12, "{validate:#?}");
    for (attempt, pair) in validate.chunks(2).enumerate() {
        assert_eq!(pair[0], "StepStarted");
        let failed = format!("StepFailed {error}");
        if attempt < 5 {
            assert!(
                pair[1].starts_with(&format!("{failed} (retry in ")),
                "{pair:?}"
            );
        } else {
            assert_eq!(pair[1], failed);
        }
    }
    assert_eq!(
        operations["execution"].last().unwrap(),
        &format!("ExecutionFailed {error}")
    );
    assert_eq!(invocations(&events), 6, "{}", emulator.logs());
}

#[test]
#[ignore = "needs dex-local-runner (pip install aws-durable-execution-sdk-python-testing) and cargo-lambda; .ci/run runs it"]
fn the_fanout_example_maps_every_address() {
    let mut emulator = Emulator::start("fanout", &[(MAIN, "durable_fanout")]);
    let mailing = Mailing {
        addresses: ["ada@Example.COM", "nobody", "grace@navy.mil", "x@y.z"]
            .map(String::from)
            .to_vec(),
    };
    let arn = emulator.start_execution("fanout-1", &mailing);
    let execution = emulator.wait_until_done(&arn);
    assert_eq!(
        execution["Status"],
        "SUCCEEDED",
        "{execution}\n{}",
        emulator.logs()
    );
    let report = Report {
        valid: vec![
            "ada@example.com".into(),
            "grace@navy.mil".into(),
            "x@y.z".into(),
        ],
        invalid: vec![(1, "\"nobody\" is not an address".into())],
        accepted: true,
    };
    let result: Report = serde_json::from_str(execution["Result"].as_str().unwrap()).unwrap();
    assert_eq!(result, report);

    let events = emulator.history(&arn);
    let operations = by_operation(&events);
    for (index, address) in [(0, "ada@example.com"), (2, "grace@navy.mil"), (3, "x@y.z")] {
        let value = format!("{address:?}");
        assert_eq!(
            operations[&format!("check / map-item-{index}")],
            context(&value)
        );
        assert_eq!(
            operations[&format!("check / map-item-{index} / normalize")],
            step(&value)
        );
    }
    // The invalid one: six attempts (the default strategy), then the item fails and the map,
    // which tolerates a quarter of its items failing, completes.
    let error = r#"! InvalidAddress: "nobody" is not an address"#;
    let normalize = &operations["check / map-item-1 / normalize"];
    assert_eq!(normalize.len(), 12, "{normalize:#?}");
    assert_eq!(normalize.last().unwrap(), &format!("StepFailed {error}"));
    assert_eq!(
        operations["check / map-item-1"],
        lines(&["ContextStarted", &format!("ContextFailed {error}")])
    );
    let check = &operations["check"];
    assert_eq!(check[0], "ContextStarted");
    let recorded: Value = serde_json::from_str(
        check[1]
            .strip_prefix("ContextSucceeded = ")
            .expect("the map succeeded"),
    )
    .unwrap();
    assert_eq!(recorded["completion_reason"], "ALL_COMPLETED");
    assert_eq!(
        recorded["items"][1]["FAILED"]["ErrorType"], "InvalidAddress",
        "{recorded}"
    );
    assert_eq!(operations.len(), 1 + 1 + 4 * 2, "{operations:#?}");
}
