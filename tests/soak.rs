//! Soak: a real binary serves many invocations (64 B to 1 MB, some errors, some panics)
//! while its memory and file descriptors are watched. Ignored by default; `.ci/run` runs a
//! bounded number, and by hand:
//!
//! ```text
//! SOAK_INVOCATIONS=1000000 cargo test --test soak -- --ignored --nocapture
//! ```
//!
//! It checks every answer, that peak RSS after warm-up grows by less than 1 %, and that the
//! number of open file descriptors never changes.

mod support;
use std::io::{BufReader, Write};
use std::net::TcpListener;
use support::*;

const DEFAULT_INVOCATIONS: u64 = 200_000;

/// The event for invocation `n`, and what its answer must be: (path suffix, body check).
fn event_for(n: u64) -> Vec<u8> {
    match n % 100 {
        7 => b"custom".to_vec(),
        42 => b"panic".to_vec(),
        99 => vec![b'm'; 1024 * 1024],
        13 | 57 => vec![b'k'; 64 * 1024],
        _ => {
            let size = [64, 256, 1024, 4096][(n % 4) as usize];
            (0..size)
                .map(|i| b'a' + ((n + i as u64) % 26) as u8)
                .collect()
        }
    }
}

fn status_field(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc fd")
        .count()
}

#[test]
#[ignore = "long: run with --ignored (SOAK_INVOCATIONS sets the size)"]
fn soak() {
    let total: u64 = std::env::var("SOAK_INVOCATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_INVOCATIONS);
    // Warm-up: long enough for the allocator to have seen every payload size many times
    // (its one-off bumps of a few pages are not leaks).
    let warm_up = (total / 10).max(5_000);
    assert!(
        total > warm_up,
        "SOAK_INVOCATIONS must be more than the {warm_up} warm-up invocations"
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut child = spawn_with_env(
        &example("fail"),
        &[],
        &[("AWS_LAMBDA_RUNTIME_API", &addr)],
        None,
    );
    let pid = child.pid();

    // A single-purpose fake: events are generated, answers checked, nothing is kept.
    let (stream, _) = listener.accept().unwrap();
    stream.set_nodelay(true).unwrap(); // the head and the body are two writes
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut n: u64 = 0;
    let mut expected: Option<(u64, Vec<u8>)> = None;
    let (mut warm_hwm, mut warm_fds) = (0, 0);
    let (mut errors, mut panics, mut bytes) = (0u64, 0u64, 0u64);
    loop {
        let request =
            read_request(&mut reader, 0, usize::MAX).expect("the runtime closed its connection");
        if request.method == "GET" {
            if let Some((id, _)) = &expected {
                panic!("next asked before invocation {id} was answered");
            }
            if n == warm_up {
                (warm_hwm, warm_fds) = (status_field(pid, "VmHWM:"), open_fds(pid));
            }
            if n == total {
                write_status(&mut writer, 500).unwrap();
                break;
            }
            n += 1;
            let event = event_for(n);
            let head = format!("HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: id-{n}\r\nLambda-Runtime-Deadline-Ms: 99999999999999\r\nContent-Length: {}\r\n\r\n", event.len());
            writer.write_all(head.as_bytes()).unwrap();
            writer.write_all(&event).unwrap();
            expected = Some((n, event));
            continue;
        }
        let (id, event) = expected
            .take()
            .expect("a post with no invocation in flight");
        let body = request.body.as_slice();
        match event.as_slice() {
            b"custom" => {
                assert_eq!(
                    request.path,
                    format!("/2018-06-01/runtime/invocation/id-{id}/error")
                );
                assert_eq!(
                    request.header("lambda-runtime-function-error-type"),
                    Some("CustomError")
                );
                errors += 1;
            }
            b"panic" => {
                assert_eq!(
                    request.path,
                    format!("/2018-06-01/runtime/invocation/id-{id}/error")
                );
                assert_eq!(
                    request.header("lambda-runtime-function-error-type"),
                    Some("Runtime.Panic")
                );
                panics += 1;
            }
            _ => {
                assert_eq!(
                    request.path,
                    format!("/2018-06-01/runtime/invocation/id-{id}/response")
                );
                assert!(
                    body == event.as_slice(),
                    "invocation {id}: the echo differs"
                );
                bytes += body.len() as u64;
            }
        }
        write_status(&mut writer, 202).unwrap();
    }
    let (end_hwm, end_rss, end_fds) = (
        status_field(pid, "VmHWM:"),
        status_field(pid, "VmRSS:"),
        open_fds(pid),
    );
    assert_eq!(child.wait().code(), Some(1));

    println!(
        "soak: {total} invocations ({errors} errors, {panics} panics, {} MiB echoed) on one connection; \
         peak RSS after warm-up {warm_hwm} KiB, at the end {end_hwm} KiB (RSS {end_rss} KiB); open fds {warm_fds} -> {end_fds}",
        bytes / (1024 * 1024)
    );
    assert!(
        end_hwm * 100 < warm_hwm * 101,
        "peak RSS grew by 1 % or more: {warm_hwm} -> {end_hwm} KiB"
    );
    assert_eq!(warm_fds, end_fds, "file descriptors leaked");
}
