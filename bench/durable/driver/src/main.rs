//! The durable bench's driver: runs each function's durable workflow against the same fake
//! Runtime API and the same fake durable service (lambda_loop::durable::testing, plain HTTP on
//! 127.0.0.1), and prints one markdown table of their figures side by side with the ratios
//! to the first function and the goals of issue 20.
//!
//! Usage: durable-driver [--rounds N] [--steps K]
//!            --function NAME BINARY CRATES (the first is the baseline; repeat)
//!            [--calls NAME PROGRAM] (durable API calls only, e.g. the Python SDK's; repeat)
//!            [--floor LABEL BINARY] (bench/durable/floor, measured in the same rounds to its
//!            first `next`, as the functions are; a note after the table; repeat)
//! Run pinned to one CPU (`taskset -c 0`), as bench/durable-cost.sh does.

mod runtime_api;
mod session;

use std::time::Duration;

use session::{Outcome, Plan};

/// A function to measure, or a program whose calls to count (`crates` 0).
struct Function {
    name: String,
    binary: String,
    crates: u64,
}

/// Everything measured of one function.
struct Figures {
    bytes: u64,
    crates: u64,
    init_instructions: u64,
    init_wall: Duration,
    first_invocation_instructions: u64,
    first_invocation_wall: Duration,
    workflow_instructions: u64,
    step_instructions: f64,
    invocations: usize,
    checkpoints: usize,
    state_reads: usize,
    /// The fewest and the most calls (checkpoints + state reads) of a run.
    calls_range: (usize, usize),
    updates: String,
    batches: String,
    peak_rss_kib: u64,
}

fn main() {
    if let Err(error) = real_main() {
        eprintln!("durable-driver: {error}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<(), String> {
    let (mut rounds, mut steps) = (5usize, 40u64);
    let (mut functions, mut callers) = (Vec::new(), Vec::new());
    let mut floors = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--rounds" => rounds = value()?.parse().map_err(|_| "--rounds N")?,
            "--steps" => steps = value()?.parse().map_err(|_| "--steps K")?,
            "--floor" => floors.push(Function {
                name: value()?,
                binary: value()?,
                crates: 0,
            }),
            "--calls" => callers.push(Function {
                name: value()?,
                binary: value()?,
                crates: 0,
            }),
            "--function" => functions.push(Function {
                name: value()?,
                binary: value()?,
                crates: value()?.parse().map_err(|_| "CRATES is a number")?,
            }),
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    if functions.len() < 2 {
        return Err("give two functions at least (the baseline first)".into());
    }
    let (runs, floor_runs) = plain_rounds(&functions, &floors, rounds)?;
    let figures = functions
        .iter()
        .zip(&runs)
        .map(|(function, runs)| measure(function, runs, steps))
        .collect::<Result<Vec<_>, _>>()?;
    let floors = floors
        .iter()
        .zip(&floor_runs)
        .map(|(floor, runs)| measure_floor(floor, runs))
        .collect::<Result<Vec<_>, _>>()?;
    // The callers' runs, `rounds` each: their calls may batch differently from run to run.
    let calls = callers
        .iter()
        .map(|caller| {
            eprintln!("durable-driver: counting the calls of {}", caller.name);
            let runs = (0..rounds.max(1))
                .map(|_| {
                    let outcome = session::run(&Plan {
                        command: std::slice::from_ref(&caller.binary),
                        input: input(0),
                        invocations: None,
                    })?;
                    check(caller, &outcome)?;
                    Ok(outcome)
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok((caller.name.clone(), runs))
        })
        .collect::<Result<Vec<_>, String>>()?;
    print_table(&functions, &figures, &calls, steps)?;
    let base = &figures[0];
    for floor in &floors {
        println!(
            "- floor, {}: {} instructions to its first `next` ({:.2}x `{}`'s), {:.2} ms (median; {:.2}x), peak RSS {} KiB ({:.2}x)",
            floor.label,
            group(floor.instructions),
            floor.instructions as f64 / base.init_instructions as f64,
            functions[0].name,
            floor.wall.as_secs_f64() * 1e3,
            floor.wall.as_secs_f64() / base.init_wall.as_secs_f64(),
            group(floor.peak_rss_kib),
            floor.peak_rss_kib as f64 / base.peak_rss_kib as f64,
        );
    }
    Ok(())
}

/// What is measured of a floor, to its first `next`, as [`measure`] measures a function's
/// `init_*` figures.
struct FloorFigures {
    label: String,
    instructions: u64,
    /// The median of the rounds.
    wall: Duration,
    peak_rss_kib: u64,
}

fn measure_floor(floor: &Function, runs: &[Outcome]) -> Result<FloorFigures, String> {
    eprintln!(
        "durable-driver: counting the instructions of the floor {}",
        floor.name
    );
    let rss = runs.iter().filter_map(|run| run.peak_rss_kib).max();
    Ok(FloorFigures {
        label: floor.name.clone(),
        instructions: cachegrind(floor, Some(0), 0)?,
        wall: median(runs.iter().map(|run| run.init).collect()),
        peak_rss_kib: rss.ok_or(format!("no peak RSS of the floor {}", floor.name))?,
    })
}

/// The workflow's input: `extra` more steps before the wait.
fn input(extra: u64) -> serde_json::Value {
    serde_json::json!({ "extra": extra })
}

/// What every workflow must answer: 2, then 4, the map's 10 to 40, and 4 + 100.
fn expected_result() -> serde_json::Value {
    serde_json::json!({ "one": 2, "two": 4, "tens": [10, 20, 30, 40], "three": 104 })
}

/// Every function's plain runs (no valgrind), `rounds` each, interleaved: round by round,
/// each function once, so that a change in the machine's load falls on all of them alike;
/// and each floor's, to its first `next`, in the same rounds.
type Runs = Vec<Vec<Outcome>>;
fn plain_rounds(
    functions: &[Function],
    floors: &[Function],
    rounds: usize,
) -> Result<(Runs, Runs), String> {
    let mut runs: Runs = functions.iter().map(|_| Vec::new()).collect();
    let mut floor_runs: Runs = floors.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds.max(1) {
        for (floor, runs) in floors.iter().zip(&mut floor_runs) {
            runs.push(session::run(&Plan {
                command: std::slice::from_ref(&floor.binary),
                input: input(0),
                invocations: Some(0),
            })?);
        }
        eprintln!("durable-driver: round {}", round + 1);
        for (function, runs) in functions.iter().zip(&mut runs) {
            let outcome = session::run(&Plan {
                command: std::slice::from_ref(&function.binary),
                input: input(0),
                invocations: None,
            })?;
            check(function, &outcome)?;
            runs.push(outcome);
        }
    }
    Ok((runs, floor_runs))
}

fn measure(function: &Function, runs: &[Outcome], steps: u64) -> Result<Figures, String> {
    eprintln!(
        "durable-driver: counting the instructions of {}",
        function.name
    );
    let first = &runs[0];
    let instructions = |invocations: Option<usize>, extra: u64| -> Result<u64, String> {
        cachegrind(function, invocations, extra)
    };
    let init_instructions = instructions(Some(0), 0)?;
    let through_first = instructions(Some(1), 0)?;
    let through_first_with_steps = instructions(Some(1), steps)?;
    let workflow = instructions(None, 0)?;
    Ok(Figures {
        bytes: std::fs::metadata(&function.binary)
            .map_err(|e| format!("{}: {e}", function.binary))?
            .len(),
        crates: function.crates,
        init_instructions,
        init_wall: median(runs.iter().map(|run| run.init).collect()),
        first_invocation_instructions: through_first.saturating_sub(init_instructions),
        first_invocation_wall: median(runs.iter().map(|run| run.invocations[0]).collect()),
        workflow_instructions: workflow.saturating_sub(init_instructions),
        step_instructions: through_first_with_steps.saturating_sub(through_first) as f64
            / steps.max(1) as f64,
        invocations: first.statuses.len(),
        checkpoints: first.checkpoints,
        state_reads: first.state_reads,
        calls_range: (
            runs.iter().map(calls_of).min().unwrap_or(0),
            runs.iter().map(calls_of).max().unwrap_or(0),
        ),
        batches: first.batches.join(" "),
        updates: first
            .updates
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        peak_rss_kib: runs
            .iter()
            .filter_map(|run| run.peak_rss_kib)
            .max()
            .unwrap_or(0),
    })
}

fn calls_of(outcome: &Outcome) -> usize {
    outcome.checkpoints + outcome.state_reads
}

/// Every run must end with the workflow's result.
fn check(function: &Function, outcome: &Outcome) -> Result<(), String> {
    let result: serde_json::Value = outcome
        .result
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| format!("{}: the result is not JSON: {e}", function.name))?
        .unwrap_or_default();
    if result != expected_result() {
        return Err(format!(
            "{}: wrong result {result} ({outcome:?})",
            function.name
        ));
    }
    Ok(())
}

/// Instructions (valgrind's `I refs`) from exec until the function waits for the event after
/// `invocations` answered ones (or after the execution ended).
fn cachegrind(function: &Function, invocations: Option<usize>, extra: u64) -> Result<u64, String> {
    let log = std::env::temp_dir().join(format!("durable-driver-{}.log", std::process::id()));
    let command = [
        "valgrind".to_owned(),
        "--tool=cachegrind".to_owned(),
        "--cache-sim=no".to_owned(),
        "--cachegrind-out-file=/dev/null".to_owned(),
        format!("--log-file={}", log.display()),
        function.binary.clone(),
    ];
    let outcome = session::run(&Plan {
        command: &command,
        input: input(extra),
        invocations,
    })?;
    if invocations.is_none() {
        check(function, &outcome)?;
    }
    let text = std::fs::read_to_string(&log).map_err(|e| format!("valgrind log: {e}"))?;
    let _ = std::fs::remove_file(&log);
    let line = text
        .lines()
        .find(|line| line.contains("I refs:") || line.contains("I   refs:"))
        .ok_or("no `I refs` in valgrind's log")?;
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

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn print_table(
    functions: &[Function],
    figures: &[Figures],
    calls: &[(String, Vec<Outcome>)],
    steps: u64,
) -> Result<(), String> {
    let base = &figures[0];
    let mut header = "| figure |".to_owned();
    let mut rule = "|---|".to_owned();
    for function in functions {
        header.push_str(&format!(" `{}` |", function.name));
        rule.push_str("---:|");
    }
    for function in &functions[1..] {
        header.push_str(&format!(" `{}` / `{}` |", function.name, functions[0].name));
        rule.push_str("---:|");
    }
    header.push_str(" goal |");
    rule.push_str("---|");
    println!("{header}\n{rule}");
    let row =
        |label: &str, value: &dyn Fn(&Figures) -> f64, show: &dyn Fn(f64) -> String, goal: &str| {
            let mut line = format!("| {label} |");
            for figure in figures {
                line.push_str(&format!(" {} |", show(value(figure))));
            }
            for figure in &figures[1..] {
                line.push_str(&format!(" {:.2}x |", value(figure) / value(base)));
            }
            println!("{line} {goal} |");
        };
    let count = |v: f64| group(v.round() as u64);
    let ms = |v: f64| format!("{v:.2} ms");
    row("stripped bytes", &|f| f.bytes as f64, &count, "≤ 0.3x");
    row("crates in the tree", &|f| f.crates as f64, &count, "");
    row(
        "instructions exec → first `next`",
        &|f| f.init_instructions as f64,
        &count,
        "≤ 0.15x",
    );
    row(
        "wall exec → first `next` (median)",
        &|f| f.init_wall.as_secs_f64() * 1e3,
        &ms,
        "≤ 0.6x",
    );
    row(
        "instructions, first invocation",
        &|f| f.first_invocation_instructions as f64,
        &count,
        "",
    );
    row(
        "wall, first invocation (median)",
        &|f| f.first_invocation_wall.as_secs_f64() * 1e3,
        &ms,
        "",
    );
    row(
        "instructions, the whole execution (after init)",
        &|f| f.workflow_instructions as f64,
        &count,
        "",
    );
    row(
        &format!("instructions per step (over {steps} more)"),
        &|f| f.step_instructions,
        &count,
        "≤ 0.5x",
    );
    row("invocations", &|f| f.invocations as f64, &count, "");
    let calls_goal = match calls.first() {
        Some((name, runs)) => format!(
            "≤ `{name}`'s {}",
            runs.iter().map(calls_of).min().unwrap_or(0)
        ),
        None => "≤ Python's".to_owned(),
    };
    row(
        "durable API calls (checkpoints + state reads)",
        &|f| (f.checkpoints + f.state_reads) as f64,
        &count,
        &calls_goal,
    );
    row(
        "peak RSS (VmHWM, KiB)",
        &|f| f.peak_rss_kib as f64,
        &count,
        "≤ 0.5x",
    );
    println!();
    for (function, figure) in functions.iter().zip(figures) {
        println!(
            "- `{}`: {} checkpoints, {} state reads (from {} to {} calls over the rounds); updates: {}; calls: {}",
            function.name,
            figure.checkpoints,
            figure.state_reads,
            figure.calls_range.0,
            figure.calls_range.1,
            figure.updates,
            figure.batches
        );
    }
    for (name, runs) in calls {
        let outcome = &runs[0];
        let updates: Vec<String> = outcome
            .updates
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        println!(
            "- `{name}` (calls only): {} invocations, {} checkpoints, {} state reads (from {} to {} calls over the rounds); updates: {}; calls: {}",
            outcome.statuses.len(),
            outcome.checkpoints,
            outcome.state_reads,
            runs.iter().map(calls_of).min().unwrap_or(0),
            runs.iter().map(calls_of).max().unwrap_or(0),
            updates.join(", "),
            outcome.batches.join(" ")
        );
    }
    Ok(())
}

/// 1234567 → "1,234,567".
fn group(n: u64) -> String {
    let digits = n.to_string();
    let head = match digits.len() % 3 {
        0 => 3.min(digits.len()),
        rest => rest,
    };
    let mut out = digits[..head].to_owned();
    for chunk in digits.as_bytes()[head..].chunks(3) {
        out.push(',');
        out.push_str(std::str::from_utf8(chunk).expect("digits are ASCII"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::group;

    #[test]
    fn figures_are_grouped_by_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(671_001), "671,001");
        assert_eq!(group(44_340_904), "44,340,904");
    }
}
