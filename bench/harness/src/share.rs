//! Cold start at a CPU share: every function of the manifest run in each setting's cgroup
//! (bench/cpu-share.sh makes them, with and without a CPU quota), entered before its exec and
//! before the clock starts; settings and functions interleaved, several rounds.
//!
//! `harness share --manifest FILE --setting 'LABEL=CGROUP' [--setting ...]
//! [--rounds N] [--invocations N] [--out FILE]` prints one markdown table: per figure, one row
//! per setting, one column per function, with the ratio to the official row of the manifest.

use crate::session::{self, BenchEvent, Ending, Plan};
use crate::stats::{median, quantile};
use crate::{events, read_manifest, Function};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Duration;

/// One way of running the functions: a label for the table and the cgroup to run in.
struct Setting {
    label: String,
    cgroup: PathBuf,
}

/// What one run at one setting measured.
struct ShareFigures {
    init_ms: f64,
    init_cpu_ms: Option<f64>,
    first_us: f64,
    p50_us: f64,
    p99_us: f64,
    per_second: f64,
}

type Pick = fn(&ShareFigures) -> Option<f64>;

/// The rows of the table: label, decimals, the figure.
const ROWS: [(&str, usize, Pick); 7] = [
    // What the caller of a cold invocation waits for: a quota overrun in the init (the kernel
    // enforces it at its tick) is paid by the first invocation, so the init alone can mislead.
    ("cold invocation: spawn → first response, ms", 2, |f| {
        Some(f.init_ms + f.first_us / 1e3)
    }),
    ("init: spawn → first `next`, ms", 2, |f| Some(f.init_ms)),
    ("CPU of the init (exec → first `next`), ms", 2, |f| {
        f.init_cpu_ms
    }),
    ("first 64 B round trip after the init, µs", 1, |f| {
        Some(f.first_us)
    }),
    ("round trip p50, µs, 64 B", 1, |f| Some(f.p50_us)),
    ("round trip p99, µs, 64 B", 1, |f| Some(f.p99_us)),
    ("invocations/s, 64 B", 0, |f| Some(f.per_second)),
];

fn all_values(args: &[String], name: &str) -> Vec<String> {
    args.windows(2)
        .filter(|pair| pair[0] == name)
        .map(|pair| pair[1].clone())
        .collect()
}

fn parse_setting(text: &str) -> Result<Setting, String> {
    let (label, cgroup) = text
        .split_once('=')
        .ok_or_else(|| format!("--setting takes LABEL=CGROUP, not {text:?}"))?;
    Ok(Setting {
        label: label.to_owned(),
        cgroup: PathBuf::from(cgroup),
    })
}

pub fn run(args: &[String]) -> Result<(), String> {
    let manifest = crate::flag_value(args, "--manifest").ok_or("--manifest FILE is required")?;
    let functions = read_manifest(&manifest)?;
    let settings = all_values(args, "--setting")
        .iter()
        .map(|text| parse_setting(text))
        .collect::<Result<Vec<_>, _>>()?;
    if settings.is_empty() {
        return Err("at least one --setting LABEL=CGROUP is required".to_owned());
    }
    let number = |name: &str, default: u64| match crate::flag_value(args, name) {
        Some(n) => n.parse().map_err(|_| format!("{name} takes a number")),
        None => Ok(default),
    };
    let rounds = number("--rounds", 5)?.max(1);
    let invocations = number("--invocations", 300)?.max(1);
    let scratch = std::env::temp_dir().join(format!("lambda-loop-share-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let event = BenchEvent::new(&events::json_event(64));
    let mut runs: HashMap<(String, usize), Vec<ShareFigures>> = HashMap::new();
    for round in 0..rounds {
        eprintln!("harness: share round {}/{rounds}", round + 1);
        for (index, setting) in settings.iter().enumerate() {
            for function in &functions {
                let plan = Plan {
                    wrapper: &[],
                    bin: &function.bin,
                    warmup: 0,
                    measured: invocations,
                    ending: Ending::Fail,
                    timeout: Duration::from_secs(120),
                    stderr: scratch.join(format!("{}.share.stderr", function.name)),
                    cgroup: Some(&setting.cgroup),
                };
                let outcome = session::run(&plan, &event)
                    .map_err(|e| format!("{} at {}: {e}", function.name, setting.label))?;
                let mut micros: Vec<f64> = outcome
                    .round_trips
                    .iter()
                    .map(|d| d.as_secs_f64() * 1e6)
                    .collect();
                let first_us = micros[0];
                runs.entry((function.name.clone(), index))
                    .or_default()
                    .push(ShareFigures {
                        init_ms: outcome.init.as_secs_f64() * 1e3,
                        init_cpu_ms: outcome.init_cpu_ns.map(|ns| ns as f64 / 1e6),
                        first_us,
                        p50_us: quantile(&mut micros, 0.50),
                        p99_us: quantile(&mut micros, 0.99),
                        per_second: outcome.per_second,
                    });
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let table = render(&functions, &settings, &runs, rounds, invocations);
    print!("{table}");
    if let Some(out) = crate::flag_value(args, "--out") {
        std::fs::write(&out, &table).map_err(|e| format!("cannot write {out}: {e}"))?;
    }
    Ok(())
}

fn render(
    functions: &[Function],
    settings: &[Setting],
    runs: &HashMap<(String, usize), Vec<ShareFigures>>,
    rounds: u64,
    invocations: u64,
) -> String {
    // The official runtime's row: the plain one, else one of its variants (official-s3).
    let official = functions
        .iter()
        .find(|f| f.family == "official")
        .or_else(|| functions.iter().find(|f| f.family.starts_with("official")));
    let figure = |name: &str, setting: usize, pick: Pick| {
        let values: Vec<f64> = runs
            .get(&(name.to_owned(), setting))
            .map(|figures| figures.iter().filter_map(pick).collect())
            .unwrap_or_default();
        median(&values)
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Cells: median over {rounds} round(s) of one spawn and {invocations} invocations of the 64 B event each (ratio to `{}` at the same setting); every response verified byte for byte.\n",
        official.map_or("-", |f| f.name.as_str())
    );
    let _ = write!(out, "| figure | setting |");
    for function in functions {
        let _ = write!(out, " {} |", function.name);
    }
    let _ = write!(out, "\n|---|---|");
    for _ in functions {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    for (label, decimals, pick) in ROWS {
        for (index, setting) in settings.iter().enumerate() {
            let base = official.and_then(|f| figure(&f.name, index, pick));
            let _ = write!(out, "| {label} | {} |", setting.label);
            for function in functions {
                let cell = match (figure(&function.name, index, pick), base) {
                    (Some(value), Some(base)) if base > 0.0 => {
                        format!("{value:.decimals$} ({:.2}×)", value / base)
                    }
                    (Some(value), _) => format!("{value:.decimals$}"),
                    (None, _) => "–".to_owned(),
                };
                let _ = write!(out, " {cell} |");
            }
            out.push('\n');
        }
    }
    out
}
