//! One run of a function: spawned (perhaps under valgrind) with the environment Lambda gives,
//! served by the fake Runtime API with the invocations of one durable execution of the fake
//! durable service, until the execution ends or a given number of invocations were answered;
//! then, at its next `next`, its peak RSS is read and it gets SIGTERM.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lambda_loop::durable::testing::{Call, FakeDurableService};

use crate::runtime_api::RuntimeApi;

/// How long a function may take to make its next request (valgrind is slow).
const REQUEST_BOUND: Duration = Duration::from_secs(300);

/// What to run.
pub struct Plan<'a> {
    /// The program and its arguments: the function, or valgrind and then the function.
    pub command: &'a [String],
    /// The execution's input.
    pub input: serde_json::Value,
    /// Stop after this many invocations were answered (0: at the first `next`); `None`: when
    /// the execution has ended.
    pub invocations: Option<usize>,
}

/// What one run measured.
#[derive(Debug)]
pub struct Outcome {
    /// From just before the spawn to the first `next` read in full.
    pub init: Duration,
    /// Per invocation: from the event written to the `/response` post read in full.
    pub invocations: Vec<Duration>,
    /// Each invocation's `Status`: `PENDING`, `SUCCEEDED`, `FAILED`.
    pub statuses: Vec<String>,
    /// The execution's result (JSON text) when it succeeded.
    pub result: Option<String>,
    /// CheckpointDurableExecution calls received by the durable service.
    pub checkpoints: usize,
    /// GetDurableExecutionState calls received.
    pub state_reads: usize,
    /// The checkpointed updates by `Type Action` (e.g. `STEP START`).
    pub updates: BTreeMap<String, usize>,
    /// Per checkpoint call, in order, its updates (`STEP START`, ...), and `|` where an
    /// invocation ended.
    pub batches: Vec<String>,
    /// `VmHWM` of the process, in KiB, read while it waited for its next event.
    pub peak_rss_kib: Option<u64>,
}

/// Runs `plan`: one function process, one execution.
pub fn run(plan: &Plan) -> Result<Outcome, String> {
    let service = FakeDurableService::start();
    let api = RuntimeApi::start().map_err(|e| format!("runtime API: {e}"))?;
    let arn = service.start_execution("bench", &plan.input);
    let mut command = Command::new(&plan.command[0]);
    command
        .args(&plan.command[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    lambda_env(&mut command, &api.address, &service.url());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("spawn {:?}: {e}", plan.command))?;
    let mut init = None;
    let mut sent = started;
    let (mut invocations, mut statuses, mut result) = (Vec::new(), Vec::new(), None);
    let mut answered = Vec::new();
    let peak_rss_kib = loop {
        let mut request = match api.next_request(REQUEST_BOUND) {
            Ok(request) => request,
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(error);
            }
        };
        if request.is_next() {
            init.get_or_insert(request.received - started);
            let ended = statuses.last().is_some_and(|status| status != "PENDING");
            if ended || plan.invocations == Some(invocations.len()) {
                let peak_rss_kib = vm_hwm_kib(child.id());
                // SAFETY: kill(2) on the pid of our own child, which has not been waited for
                // yet, so the pid cannot have been reused.
                unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
                let _ = child.wait();
                break peak_rss_kib;
            }
            let event = service.invocation_event(&arn);
            let n = invocations.len() + 1;
            let headers = [
                "Content-Type: application/json".to_owned(),
                format!("Lambda-Runtime-Aws-Request-Id: bench-{n}"),
                "Lambda-Runtime-Deadline-Ms: 4102444800000".to_owned(),
                "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
                "Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".to_owned(),
            ];
            request
                .answer("200 OK", &headers, &event)
                .map_err(|e| format!("event: {e}"))?;
            sent = Instant::now();
        } else if request.method == "POST" && request.path.ends_with("/response") {
            invocations.push(request.received - sent);
            answered.push(request.received);
            request
                .answer("202 Accepted", &[], b"{\"status\":\"OK\"}")
                .map_err(|e| format!("202: {e}"))?;
            let answer: serde_json::Value = serde_json::from_slice(&request.body)
                .map_err(|e| format!("the answer is not JSON: {e}"))?;
            let status = answer["Status"].as_str().unwrap_or_default().to_owned();
            match status.as_str() {
                "PENDING" => {
                    if !service.advance(&arn) {
                        return Err("the execution waits for nothing the bench can fire".into());
                    }
                }
                "SUCCEEDED" => result = answer["Result"].as_str().map(str::to_owned),
                _ => return Err(format!("the execution did not succeed: {answer}")),
            }
            statuses.push(status);
        } else {
            let body = String::from_utf8_lossy(&request.body).into_owned();
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{} {}: {body}", request.method, request.path));
        }
    };
    let calls = service.calls();
    let mut updates = BTreeMap::new();
    let mut batches = Vec::new();
    let mut ends = answered.iter().peekable();
    for call in &calls {
        while ends.next_if(|&&end| end < call.received).is_some() {
            batches.push("|".to_owned());
        }
        let batch = call.body_json()["Updates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|update| {
                let kind = |key: &str| update[key].as_str().unwrap_or("?").to_owned();
                format!("{} {}", kind("Type"), kind("Action"))
            })
            .collect::<Vec<_>>();
        batches.push(format!("[{}]", batch.join(", ")));
        for update in call.body_json()["Updates"].as_array().into_iter().flatten() {
            let kind = format!(
                "{} {}",
                update["Type"].as_str().unwrap_or("?"),
                update["Action"].as_str().unwrap_or("?")
            );
            *updates.entry(kind).or_insert(0) += 1;
        }
    }
    Ok(Outcome {
        init: init.unwrap_or_default(),
        invocations,
        statuses,
        result,
        checkpoints: calls
            .iter()
            .filter(|call| call.call == Call::Checkpoint)
            .count(),
        state_reads: calls.iter().filter(|call| call.call == Call::State).count(),
        updates,
        batches,
        peak_rss_kib,
    })
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The environment Lambda gives a function (bench/harness's, with the durable endpoint):
/// fake credentials, so that both functions sign every durable call as they would on AWS.
fn lambda_env(command: &mut Command, api: &str, durable_endpoint: &str) {
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_ENDPOINT_URL_LAMBDA", durable_endpoint)
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]bench")
        .env("AWS_LAMBDA_LOG_FORMAT", "Text")
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDBENCHFAKE")
        .env("AWS_SECRET_ACCESS_KEY", "bench-fake-secret")
        .env("AWS_SESSION_TOKEN", "bench-fake-token")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("_HANDLER", "bootstrap")
        .env("TZ", ":UTC")
        .env("LANG", "en_US.UTF-8")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin");
}
