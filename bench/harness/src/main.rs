//! The benchmark harness: spawns each bootstrap against the fake Runtime API of
//! `lambda_loop::testing` and measures it.
//!
//! `harness run --manifest FILE [--quick] [--rounds N] [--out FILE]` measures every function of
//! the manifest (written by run.sh) and prints one markdown table.
//! `harness serve --bin PATH [--wrap "TOOL ARGS"] [--invocations N] [--size BYTES] [--terminate]`
//! serves one child N invocations and ends it with a 500 (or SIGTERM at the next `next`) (for strace excerpts and by-hand checks),
//! and prints the round trip p50, the CPU per invocation and the peak RSS of the run.
//! `harness share --manifest FILE --setting 'LABEL=CGROUP' ...` measures cold start and the
//! 64 B round trip of every function in each setting's cgroup (run.sh --lambda-cpu).

mod counts;
mod events;
mod probe;
mod report;
mod session;
mod share;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;

/// One function under test, as run.sh describes it in the manifest.
#[derive(Clone)]
pub struct Function {
    /// Row name, e.g. `ll-json-release`.
    pub name: String,
    /// Family, e.g. `official`, `ll-echo`, `ll-json`, `raw`.
    pub family: String,
    pub profile: String,
    pub bin: PathBuf,
    /// Static figures measured by run.sh: x86_64 bytes, zip bytes, arm64 bytes, zip bytes,
    /// crates in the tree, clean release build seconds.
    pub statics: [Option<f64>; 6],
}

fn read_manifest(path: &str) -> Result<Vec<Function>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read manifest {path}: {e}"))?;
    let mut functions = Vec::new();
    for line in text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
    {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 10 {
            return Err(format!(
                "manifest line needs 10 tab-separated fields: {line:?}"
            ));
        }
        let number = |s: &str| s.parse::<f64>().ok();
        functions.push(Function {
            name: fields[0].to_owned(),
            family: fields[1].to_owned(),
            profile: fields[2].to_owned(),
            bin: PathBuf::from(fields[3]),
            statics: [
                number(fields[4]),
                number(fields[5]),
                number(fields[6]),
                number(fields[7]),
                number(fields[8]),
                number(fields[9]),
            ],
        });
    }
    Ok(functions)
}

fn flag_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("serve") => serve(&args[1..]),
        Some("share") => share::run(&args[1..]),
        _ => Err(
            "usage: harness run --manifest FILE [--quick] [--rounds N] [--out FILE] \
                  | harness serve --bin PATH [--wrap CMD] [--invocations N] [--size BYTES] [--terminate] \
                  | harness share --manifest FILE --setting LABEL=CGROUP... [--rounds N] [--invocations N] [--out FILE]"
                .to_owned(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("harness: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let manifest = flag_value(args, "--manifest").ok_or("--manifest FILE is required")?;
    let quick = args.iter().any(|arg| arg == "--quick");
    let functions = read_manifest(&manifest)?;
    let rounds: usize = match flag_value(args, "--rounds") {
        Some(n) => n.parse().map_err(|_| "--rounds takes a number")?,
        None if quick => 1,
        None => 5,
    };
    let scratch = std::env::temp_dir().join(format!("lambda-loop-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;

    let timings = stats::measure_timings(&functions, rounds, quick, &scratch)?;
    let counts = counts::measure_counts(&functions, quick, &scratch)?;
    let table = report::render(&functions, &timings, &counts, rounds, quick);
    print!("{table}");
    if let Some(out) = flag_value(args, "--out") {
        std::fs::write(&out, &table).map_err(|e| format!("cannot write {out}: {e}"))?;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

fn serve(args: &[String]) -> Result<(), String> {
    let bin = PathBuf::from(flag_value(args, "--bin").ok_or("--bin PATH is required")?);
    let wrapper: Vec<String> = flag_value(args, "--wrap")
        .map(|w| w.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let invocations: u64 = flag_value(args, "--invocations")
        .map_or(Ok(3), |n| n.parse())
        .map_err(|_| "bad --invocations")?;
    let size: usize = flag_value(args, "--size")
        .map_or(Ok(64), |n| n.parse())
        .map_err(|_| "bad --size")?;
    let event = session::BenchEvent::new(&events::json_event(size));
    let plan = session::Plan {
        wrapper: &wrapper,
        bin: &bin,
        warmup: 0,
        measured: invocations,
        // `--terminate`: SIGTERM at the last `next` instead of a 500 (as the init count does).
        ending: match args.iter().any(|a| a == "--terminate") {
            true => session::Ending::Terminate,
            false => session::Ending::Fail,
        },
        timeout: std::time::Duration::from_secs(300),
        stderr: std::env::temp_dir().join("lambda-loop-bench-serve.stderr"),
        cgroup: None,
    };
    let outcome = session::run(&plan, &event).map_err(|e| e.to_string())?;
    let mut micros: Vec<f64> = outcome
        .round_trips
        .iter()
        .map(|d| d.as_secs_f64() * 1e6)
        .collect();
    // The figures of a by-hand check: the round trip's p50 and the peak RSS (VmHWM) rows.
    let p50 = match micros.is_empty() {
        true => "-".to_owned(),
        false => format!("{:.1} µs", stats::quantile(&mut micros, 0.5)),
    };
    let peak = outcome
        .peak_rss_kib
        .map_or_else(|| "-".to_owned(), |kib| format!("{kib} KiB"));
    let init_cpu = outcome
        .init_cpu_ns
        .map_or_else(|| "-".to_owned(), |ns| format!("{:.2} ms", ns as f64 / 1e6));
    let cpu = match (outcome.cpu_ns, invocations) {
        (Some(ns), 1..) => format!("{:.1} µs", ns as f64 / 1e3 / invocations as f64),
        _ => "-".to_owned(),
    };
    eprintln!(
        "served {invocations} invocations of {size} B, all verified; init {:?} (CPU {init_cpu}), {} connection(s), round trip p50 {p50}, CPU per invocation {cpu}, peak RSS {peak}",
        outcome.init, outcome.connections
    );
    Ok(())
}
