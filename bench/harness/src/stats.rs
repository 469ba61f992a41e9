//! The timing rounds: every function at every event size, interleaved, several rounds.

use crate::session::{self, BenchEvent, Ending, Plan};
use crate::{events, Function};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// Event sizes of the timing rows, with (warm-up, measured) invocations per run.
pub fn sizes(quick: bool) -> Vec<(usize, &'static str, u64, u64)> {
    if quick {
        vec![
            (64, "64 B", 20, 300),
            (1024, "1 KiB", 20, 300),
            (1 << 20, "1 MiB", 2, 10),
            (5 << 20, "5 MiB", 1, 4),
        ]
    } else {
        vec![
            (64, "64 B", 100, 2000),
            (1024, "1 KiB", 100, 2000),
            (1 << 20, "1 MiB", 5, 40),
            (5 << 20, "5 MiB", 2, 12),
        ]
    }
}

/// Figures of one run (one function, one size, one round).
#[derive(Clone, Copy)]
pub struct RunFigures {
    pub p50_us: f64,
    pub p99_us: f64,
    pub per_second: f64,
    pub cpu_us_per_invocation: Option<f64>,
    pub peak_rss_kib: Option<f64>,
    pub connections: usize,
    pub threads: Option<usize>,
}

/// All timing results: init samples per function, run figures per (function, size label).
#[derive(Default)]
pub struct Timings {
    pub init_ms: HashMap<String, Vec<f64>>,
    pub runs: HashMap<(String, &'static str), Vec<RunFigures>>,
}

/// The `q` quantile (0..=1) of sorted-in-place samples, nearest rank.
pub fn quantile(samples: &mut [f64], q: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
    samples[rank - 1]
}

pub fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

pub fn measure_timings(
    functions: &[Function],
    rounds: usize,
    quick: bool,
    scratch: &Path,
) -> Result<Timings, String> {
    let mut prepared: Vec<(usize, &'static str, u64, u64, BenchEvent)> = Vec::new();
    for (size, label, warmup, measured) in sizes(quick) {
        let event = events::json_event(size);
        if !events::round_trips_unchanged(&event) {
            return Err(format!(
                "the {label} event does not survive a serde_json round trip unchanged"
            ));
        }
        prepared.push((size, label, warmup, measured, BenchEvent::new(&event)));
    }
    let mut timings = Timings::default();
    for round in 0..rounds {
        eprintln!("harness: timing round {}/{rounds}", round + 1);
        for function in functions {
            for (_, label, warmup, measured, event) in prepared.iter() {
                let plan = Plan {
                    wrapper: &[],
                    bin: &function.bin,
                    warmup: *warmup,
                    measured: *measured,
                    ending: Ending::Fail,
                    timeout: Duration::from_secs(120),
                    stderr: scratch.join(format!("{}.stderr", function.name)),
                    cgroup: None,
                };
                let outcome = session::run(&plan, event)
                    .map_err(|e| format!("{} at {label}: {e}", function.name))?;
                let mut micros: Vec<f64> = outcome
                    .round_trips
                    .iter()
                    .map(|d| d.as_secs_f64() * 1e6)
                    .collect();
                let figures = RunFigures {
                    p50_us: quantile(&mut micros, 0.50),
                    p99_us: quantile(&mut micros, 0.99),
                    per_second: outcome.per_second,
                    cpu_us_per_invocation: outcome
                        .cpu_ns
                        .map(|ns| ns as f64 / 1e3 / *measured as f64),
                    peak_rss_kib: outcome.peak_rss_kib.map(|k| k as f64),
                    connections: outcome.connections,
                    threads: outcome.threads,
                };
                timings
                    .init_ms
                    .entry(function.name.clone())
                    .or_default()
                    .push(outcome.init.as_secs_f64() * 1e3);
                timings
                    .runs
                    .entry((function.name.clone(), *label))
                    .or_default()
                    .push(figures);
            }
        }
    }
    Ok(timings)
}
