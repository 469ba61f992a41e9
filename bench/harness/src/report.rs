//! The markdown report: one table of absolute figures with ratios, then the targets.

use crate::counts::Counts;
use crate::stats::{median, sizes, RunFigures, Timings};
use crate::Function;
use std::collections::HashMap;
use std::fmt::Write;

/// The baseline row for speed figures and the one for size figures: `official-release` and
/// `official-size`, or the rows named by `BENCH_SPEED_BASELINE` and `BENCH_SIZE_BASELINE`
/// (bench/sdk-cost.sh compares against its own official row).
fn baseline(variable: &str, default: &'static str) -> &'static str {
    match std::env::var(variable) {
        Ok(name) if !name.is_empty() => Box::leak(name.into_boxed_str()),
        _ => default,
    }
}
fn speed_baseline() -> &'static str {
    baseline("BENCH_SPEED_BASELINE", "official-release")
}
fn size_baseline() -> &'static str {
    baseline("BENCH_SIZE_BASELINE", "official-size")
}
const FLOOR: &str = "raw-release";

type Getter<'a> = Box<dyn Fn(&Function) -> Option<f64> + 'a>;
/// Picks one figure out of a function's counts.
type CountPick = fn(&Counts) -> Option<f64>;
/// Picks one figure out of one run's figures.
type RunPick = fn(&RunFigures) -> Option<f64>;
/// A target: its text, the figure row it reads (label prefix), the largest ratio allowed to
/// the official row, the largest ratio allowed to the floor, the largest absolute value.
type Check = (
    &'static str,
    &'static str,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

struct Row<'a> {
    label: String,
    baseline: &'static str,
    decimals: usize,
    value: Getter<'a>,
}

fn format_number(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    // Thousands separators for the integer part keep byte and instruction counts readable.
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

fn run_median(
    timings: &Timings,
    name: &str,
    size: &'static str,
    pick: fn(&RunFigures) -> Option<f64>,
) -> Option<f64> {
    let runs = timings.runs.get(&(name.to_owned(), size))?;
    let values: Vec<f64> = runs.iter().filter_map(pick).collect();
    median(&values)
}

pub fn render(
    functions: &[Function],
    timings: &Timings,
    counts: &HashMap<String, Counts>,
    rounds: usize,
    quick: bool,
) -> String {
    let by_name: HashMap<&str, &Function> =
        functions.iter().map(|f| (f.name.as_str(), f)).collect();
    let mut rows: Vec<Row> = Vec::new();
    let statics = [
        ("stripped bytes, x86_64", 0),
        ("zip bytes, x86_64", 1),
        ("stripped bytes, arm64", 2),
        ("zip bytes, arm64", 3),
        ("crates in the dependency tree", 4),
        ("clean release build, s (CARGO_BUILD_JOBS=2)", 5),
    ];
    for (label, index) in statics {
        rows.push(Row {
            label: label.to_owned(),
            baseline: size_baseline(),
            decimals: if index == 5 { 1 } else { 0 },
            value: Box::new(move |f: &Function| f.statics[index]),
        });
    }
    rows.push(Row {
        label: "init: spawn → first `next`, ms (median)".to_owned(),
        baseline: speed_baseline(),
        decimals: 3,
        value: Box::new(|f: &Function| timings.init_ms.get(&f.name).and_then(|v| median(v))),
    });
    let count_rows: [(&str, CountPick, usize); 4] = [
        (
            "instructions exec → first `next`",
            |c| c.init_instructions,
            0,
        ),
        (
            "instructions per 64 B invocation",
            |c| c.instructions_per_invocation,
            0,
        ),
        (
            "instructions per 1 MiB invocation",
            |c| c.instructions_per_mib_invocation,
            0,
        ),
        (
            "syscalls per 64 B invocation",
            |c| c.syscalls_per_invocation,
            2,
        ),
    ];
    for (label, pick, decimals) in count_rows {
        rows.push(Row {
            label: label.to_owned(),
            baseline: speed_baseline(),
            decimals,
            value: Box::new(move |f: &Function| counts.get(&f.name).and_then(pick)),
        });
    }
    for (_, size, _, _) in sizes(quick) {
        let per_size: [(String, RunPick, usize); 4] = [
            (format!("round trip p50, µs, {size}"), |r| Some(r.p50_us), 1),
            (format!("round trip p99, µs, {size}"), |r| Some(r.p99_us), 1),
            (format!("invocations/s, {size}"), |r| Some(r.per_second), 0),
            (
                format!("CPU µs per invocation (user+sys), {size}"),
                |r| r.cpu_us_per_invocation,
                1,
            ),
        ];
        for (label, pick, decimals) in per_size {
            rows.push(Row {
                label,
                baseline: speed_baseline(),
                decimals,
                value: Box::new(move |f: &Function| run_median(timings, &f.name, size, pick)),
            });
        }
    }
    let size_labels: Vec<&'static str> = sizes(quick).iter().map(|s| s.1).collect();
    let (smallest, largest) = (size_labels[0], size_labels[size_labels.len() - 1]);
    rows.push(Row {
        label: format!("peak RSS (VmHWM), KiB, {smallest}"),
        baseline: speed_baseline(),
        decimals: 0,
        value: Box::new(move |f: &Function| {
            run_median(timings, &f.name, smallest, |r| r.peak_rss_kib)
        }),
    });
    rows.push(Row {
        label: format!("peak RSS (VmHWM), KiB, {largest}"),
        baseline: speed_baseline(),
        decimals: 0,
        value: Box::new(move |f: &Function| {
            run_median(timings, &f.name, largest, |r| r.peak_rss_kib)
        }),
    });
    rows.push(Row {
        label: "threads".to_owned(),
        baseline: speed_baseline(),
        decimals: 0,
        value: Box::new(move |f: &Function| {
            run_median(timings, &f.name, smallest, |r| r.threads.map(|t| t as f64))
        }),
    });
    let size_labels_for_max = size_labels.clone();
    rows.push(Row {
        label: "TCP connections per run (most in any run)".to_owned(),
        baseline: speed_baseline(),
        decimals: 0,
        value: Box::new(move |f: &Function| {
            size_labels_for_max
                .iter()
                .filter_map(|size| timings.runs.get(&(f.name.clone(), *size)))
                .flatten()
                .map(|r| r.connections as f64)
                .reduce(f64::max)
        }),
    });

    let mut out = String::new();
    let _ = writeln!(
        out,
        "Cells: absolute figure (ratio to the baseline). Baselines: `{}` for the first six \
         rows (sizes, crates, build), `{}` for the others. {rounds} round(s){}; timing \
         figures are medians over rounds; every response verified byte for byte.\n",
        size_baseline(),
        speed_baseline(),
        if quick { ", --quick" } else { "" }
    );
    let _ = write!(out, "| figure |");
    for f in functions {
        let _ = write!(out, " {} |", f.name);
    }
    let _ = write!(out, "\n|---|");
    for _ in functions {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    for row in &rows {
        let base = by_name.get(row.baseline).and_then(|f| (row.value)(f));
        let _ = write!(out, "| {} |", row.label);
        for f in functions {
            let cell = match ((row.value)(f), base) {
                (Some(v), Some(b)) if b != 0.0 => {
                    format!("{} ({:.2}×)", format_number(v, row.decimals), v / b)
                }
                (Some(v), _) => format_number(v, row.decimals),
                (None, _) => "–".to_owned(),
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out.push_str(&before_after(functions, &rows, &by_name));
    out.push_str(&targets(functions, &rows, &by_name));
    out
}

/// The deterministic figures (and peak RSS) that must not grow from a baseline revision to
/// now: a row that must not exceed its `@REV` twin by more than this ratio.
const NO_GROWTH: f64 = 1.01;

/// `run.sh --baseline REV`: every row `NAME@REV` against `NAME`, measured in the same run.
fn before_after(
    functions: &[Function],
    rows: &[Row],
    by_name: &HashMap<&str, &Function>,
) -> String {
    let pairs: Vec<(&Function, &Function, &str)> = functions
        .iter()
        .filter_map(|before| {
            let (name, rev) = before.name.split_once('@')?;
            Some((*by_name.get(name)?, before, rev))
        })
        .collect();
    if pairs.is_empty() {
        return String::new();
    }
    let figures = [
        "stripped bytes, x86_64",
        "stripped bytes, arm64",
        "zip bytes, x86_64",
        "instructions exec",
        "instructions per 64 B",
        "instructions per 1 MiB",
        "syscalls per 64 B",
        "peak RSS (VmHWM), KiB, 64 B",
        "peak RSS (VmHWM), KiB, 5 MiB",
    ];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nBefore → after: each row `NAME@REV` (lambda-loop at commit REV, built and measured in \
         this run) against `NAME` (the current tree): before → after (after / before); ✅ grows \
         by at most {:.0}%, ❌ grows more.\n",
        (NO_GROWTH - 1.0) * 100.0
    );
    let _ = write!(out, "| figure |");
    for (after, _, rev) in &pairs {
        let _ = write!(out, " {} vs @{rev} |", after.name);
    }
    let _ = write!(out, "\n|---|");
    for _ in &pairs {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    for prefix in figures {
        let Some(row) = rows.iter().find(|r| r.label.starts_with(prefix)) else {
            continue;
        };
        let _ = write!(out, "| {} |", row.label);
        for (after, before, _) in &pairs {
            let cell = match ((row.value)(before), (row.value)(after)) {
                (Some(b), Some(a)) if b != 0.0 => format!(
                    "{} {} → {} ({:.3}×)",
                    if a <= b * NO_GROWTH { "✅" } else { "❌" },
                    format_number(b, row.decimals),
                    format_number(a, row.decimals),
                    a / b
                ),
                _ => "–".to_owned(),
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out
}

/// The targets, checked for every lambda-loop row against the official row of the
/// same profile and the raw floor.
fn targets(functions: &[Function], rows: &[Row], by_name: &HashMap<&str, &Function>) -> String {
    let find = |prefix: &str| rows.iter().find(|r| r.label.starts_with(prefix));
    let value = |prefix: &str, f: &Function| find(prefix).and_then(|r| (r.value)(f));
    // (target, figure row prefix, max ratio to official, max ratio to the floor, absolute max)
    let checks: [Check; 14] = [
        (
            "stripped size ≤ 0.5 × official",
            "stripped bytes, x86_64",
            Some(0.5),
            None,
            None,
        ),
        (
            "stripped size ≤ 0.70 × official",
            "stripped bytes, x86_64",
            Some(0.70),
            None,
            None,
        ),
        (
            "instructions exec → next ≤ 0.5 × official, ≤ 2 × floor",
            "instructions exec",
            Some(0.5),
            Some(2.0),
            None,
        ),
        (
            "instructions per 64 B invocation ≤ 0.5 × official, ≤ 2 × floor",
            "instructions per 64 B",
            Some(0.5),
            Some(2.0),
            None,
        ),
        (
            "syscalls per invocation ≤ 6",
            "syscalls per 64 B",
            None,
            None,
            Some(6.0),
        ),
        (
            "64 B round-trip p50 ≤ 0.5 × official",
            "round trip p50, µs, 64 B",
            Some(0.5),
            None,
            None,
        ),
        (
            "1 KiB round-trip p50 ≤ 0.5 × official",
            "round trip p50, µs, 1 KiB",
            Some(0.5),
            None,
            None,
        ),
        (
            "1 MiB round-trip p50 ≤ 1.0 × official, ≤ 1.1 × floor",
            "round trip p50, µs, 1 MiB",
            Some(1.0),
            Some(1.1),
            None,
        ),
        (
            "5 MiB round-trip p50 ≤ 1.0 × official, ≤ 1.1 × floor",
            "round trip p50, µs, 5 MiB",
            Some(1.0),
            Some(1.1),
            None,
        ),
        (
            "(same, by instructions) 1 MiB ≤ 1.0 × official, ≤ 1.1 × floor",
            "instructions per 1 MiB",
            Some(1.0),
            Some(1.1),
            None,
        ),
        (
            "peak RSS at 64 B ≤ 0.5 × official",
            "peak RSS (VmHWM), KiB, 64 B",
            Some(0.5),
            None,
            None,
        ),
        (
            "peak RSS at 5 MiB ≤ 1.0 × official",
            "peak RSS (VmHWM), KiB, 5 MiB",
            Some(1.0),
            None,
            None,
        ),
        (
            "crates in the tree ≤ 0.25 × official",
            "crates in the dependency tree",
            Some(0.25),
            None,
            None,
        ),
        (
            "clean release build ≤ 0.33 × official",
            "clean release build",
            Some(0.33),
            None,
            None,
        ),
    ];
    let lambda_loop: Vec<&Function> = functions
        .iter()
        .filter(|f| f.family.starts_with("ll-") && !f.name.contains('@'))
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nTargets of the issue, each lambda-loop row against the official row of the same profile \
         (`official-release` or `official-size`) and the floor `{FLOOR}`: ✅ met, ❌ not met \
         (ratio to official / to floor).\n"
    );
    let _ = write!(out, "| target |");
    for f in &lambda_loop {
        let _ = write!(out, " {} |", f.name);
    }
    let _ = write!(out, "\n|---|");
    for _ in &lambda_loop {
        let _ = write!(out, ":---:|");
    }
    out.push('\n');
    let connections_row = "TCP connections per run";
    for (target, prefix, max_official, max_floor, max_absolute) in
        checks.iter().map(|c| (c.0, c.1, c.2, c.3, c.4)).chain([(
            "TCP connections per run = 1",
            connections_row,
            None,
            None,
            Some(1.0),
        )])
    {
        let _ = write!(out, "| {target} |");
        for f in &lambda_loop {
            let official_name = if f.profile == "release" {
                "official-release"
            } else {
                "official-size"
            };
            let Some(v) = value(prefix, f) else {
                let _ = write!(out, " – |");
                continue;
            };
            let official = by_name.get(official_name).and_then(|o| value(prefix, o));
            let floor = by_name.get(FLOOR).and_then(|o| value(prefix, o));
            let mut met = true;
            let mut detail = Vec::new();
            if let (Some(limit), Some(o)) = (max_official, official) {
                met &= v <= limit * o;
                detail.push(format!("{:.2}×", v / o));
            }
            if let (Some(limit), Some(fl)) = (max_floor, floor) {
                met &= v <= limit * fl;
                detail.push(format!("{:.2}× floor", v / fl));
            }
            if let Some(limit) = max_absolute {
                met &= v <= limit;
                detail.push(format_number(v, 1));
            }
            let _ = write!(
                out,
                " {} {} |",
                if met { "✅" } else { "❌" },
                detail.join(", ")
            );
        }
        out.push('\n');
    }
    out
}
