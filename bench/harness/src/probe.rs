//! Readings of a running child from /proc: CPU time and peak resident memory.

use std::fs;

/// Nanoseconds on CPU (user + system) of all of the process's threads alive now, from
/// `/proc/<pid>/task/*/schedstat` (first field: time spent running, in ns). Finer than the
/// clock-tick `utime`/`stime` of `/proc/<pid>/stat`; the harness reads it only while the
/// child is blocked waiting for the next event, so no thread is mid-slice.
pub fn cpu_ns(pid: u32) -> Option<u64> {
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0;
    for task in tasks.flatten() {
        let stat = fs::read_to_string(task.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// Peak resident set size in KiB: `VmHWM` of `/proc/<pid>/status`. Unlike `ru_maxrss`, it is
/// the child's own, not inherited from the process that spawned it.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Threads of the process right now.
pub fn threads(pid: u32) -> Option<usize> {
    Some(fs::read_dir(format!("/proc/{pid}/task")).ok()?.count())
}
