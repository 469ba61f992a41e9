//! Deterministic counts: instructions (valgrind) and syscalls (strace) per function.
//!
//! - init instructions: the child runs under `valgrind --tool=cachegrind --cache-sim=no`; at
//!   its first `GET /next` the harness sends SIGTERM, so the count is every user-space
//!   instruction from the first one after `execve` until the child sat blocked waiting for the
//!   answer (a fatal default-action signal runs no more user code; valgrind's own are not
//!   counted).
//! - per invocation: the same with N and M invocations of the 64 B event;
//!   (I(N) − I(M)) / (N − M), so start-up and the end cancel out.
//! - the same at 1 MiB, with 6 and 2 invocations: a deterministic view of the large-event
//!   rows, whose wall-clock figures suffer most from a busy machine.
//! - syscalls per invocation: `strace -f -c` (all threads) with N and M invocations, each run
//!   ended by a 500 on `next`; (S(N) − S(M)) / (N − M).

use crate::session::{self, BenchEvent, Ending, Plan};
use crate::{events, Function};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// Counts of one function.
#[derive(Default, Clone, Copy)]
pub struct Counts {
    pub init_instructions: Option<f64>,
    pub instructions_per_invocation: Option<f64>,
    pub instructions_per_mib_invocation: Option<f64>,
    pub syscalls_per_invocation: Option<f64>,
}

fn run_under(
    wrapper: &[String],
    function: &Function,
    invocations: u64,
    size: usize,
    ending: Ending,
    scratch: &Path,
) -> Result<(), String> {
    let event = BenchEvent::new(&events::json_event(size));
    let plan = Plan {
        wrapper,
        bin: &function.bin,
        warmup: 0,
        measured: invocations,
        ending,
        timeout: Duration::from_secs(300),
        stderr: scratch.join(format!("{}.count.stderr", function.name)),
        cgroup: None,
    };
    session::run(&plan, &event)
        .map(|_| ())
        .map_err(|e| format!("{} under {}: {e}", function.name, wrapper[0]))
}

fn instructions(
    function: &Function,
    invocations: u64,
    size: usize,
    scratch: &Path,
) -> Result<f64, String> {
    let log = scratch.join(format!("{}.{invocations}.{size}.cachegrind", function.name));
    let wrapper: Vec<String> = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--log-file={}", log.display())])
    .collect();
    run_under(
        &wrapper,
        function,
        invocations,
        size,
        Ending::Terminate,
        scratch,
    )?;
    let text = std::fs::read_to_string(&log)
        .map_err(|e| format!("no valgrind log {}: {e}", log.display()))?;
    let line = text
        .lines()
        .find(|line| line.contains("I   refs:") || line.contains("I refs:"))
        .ok_or_else(|| format!("no `I refs` in {}", log.display()))?;
    let digits: String = line
        .split(':')
        .nth(1)
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .map_err(|_| format!("bad `I refs` line {line:?}"))
}

fn syscalls(function: &Function, invocations: u64, scratch: &Path) -> Result<f64, String> {
    let summary = scratch.join(format!("{}.{invocations}.strace", function.name));
    let wrapper: Vec<String> = [
        "strace".to_owned(),
        "-f".to_owned(),
        "-c".to_owned(),
        "-o".to_owned(),
        summary.display().to_string(),
    ]
    .to_vec();
    run_under(&wrapper, function, invocations, 64, Ending::Fail, scratch)?;
    let text = std::fs::read_to_string(&summary)
        .map_err(|e| format!("no strace summary {}: {e}", summary.display()))?;
    let total = text
        .lines()
        .find(|line| line.trim_end().ends_with(" total"))
        .ok_or_else(|| format!("no total in {}", summary.display()))?;
    let tokens: Vec<&str> = total.split_whitespace().collect();
    tokens
        .get(3)
        .and_then(|calls| calls.parse().ok())
        .ok_or_else(|| format!("bad strace total {total:?}"))
}

pub fn measure_counts(
    functions: &[Function],
    quick: bool,
    scratch: &Path,
) -> Result<HashMap<String, Counts>, String> {
    let (many, few) = if quick { (30, 10) } else { (200, 100) };
    let mut all = HashMap::new();
    for function in functions {
        eprintln!("harness: counting {} (valgrind, strace)", function.name);
        let init = instructions(function, 0, 64, scratch)?;
        let per_invocation = (instructions(function, many, 64, scratch)?
            - instructions(function, few, 64, scratch)?)
            / (many - few) as f64;
        let mib = 1 << 20;
        let per_mib_invocation = (instructions(function, 6, mib, scratch)?
            - instructions(function, 2, mib, scratch)?)
            / 4.0;
        let syscalls_per_invocation = (syscalls(function, many, scratch)?
            - syscalls(function, few, scratch)?)
            / (many - few) as f64;
        all.insert(
            function.name.clone(),
            Counts {
                init_instructions: Some(init),
                instructions_per_invocation: Some(per_invocation),
                instructions_per_mib_invocation: Some(per_mib_invocation),
                syscalls_per_invocation: Some(syscalls_per_invocation),
            },
        );
    }
    Ok(all)
}
