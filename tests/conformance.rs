//! Conformance: the example zips that `build.sh` makes, run by `@vercel/fun`, a local Lambda
//! environment from npm that starts `bootstrap` the way Lambda does (fresh environment, its
//! own Runtime API on a loopback port, SIGSTOP/SIGCONT between invocations, several processes
//! for concurrent invocations).
//!
//! Each test runs one case of `tests/conformance/run.mjs` and asserts on the JSON it writes.
//! That script's header lists what fun does differently from Lambda (read from fun's source):
//! a deadline fixed in the past, no trace id header, responses decoded as UTF-8 (lossy for
//! other bytes), a 6 MiB response limit instead of 6,291,556 bytes, no timeouts, an unchecked
//! request id, a writable task root, `Handled` for an error post (Lambda says `Unhandled`),
//! `Unhandled` with fun's own message when a process exits, dead pooled processes reused.
//!
//! Needs `node` (20 or newer) and `npm`, so every test here is `#[ignore]`d by a plain
//! `cargo test`; CI (`.ci/run`) runs them with `cargo test --test conformance -- --ignored`.
//! Run that way, a test never passes without running: a missing tool fails it, naming the
//! tool. `npm ci` runs once when `tests/conformance/node_modules` is missing (the only network
//! use; fun itself needs none). Also needs bash and `ps`, which fun uses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The examples the cases run, each zipped alone by `build.sh`.
const EXAMPLES: [&str; 4] = ["echo", "hello_json", "stateful", "fail"];
/// The binaries put behind the launcher in the launcher zip.
const LAUNCHED: [&str; 2] = ["echo", "hello_json"];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where zips, results and fun's cache go: cargo's scratch directory for integration tests.
fn work_root() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance")
}

fn conformance_dir() -> PathBuf {
    repo().join("tests/conformance")
}

/// What the cases need: the zip of each example, by the name run.mjs knows it by.
struct Prepared {
    zips: Vec<(String, PathBuf)>,
}

/// What this machine lacks for the suite (a tool, naming it), if anything.
fn skip_reason() -> Option<String> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Some("the zips are x86_64 Linux binaries and fun runs them natively".into());
    }
    let node = match Command::new("node").arg("--version").output() {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        }
        _ => return Some("`node` is not on PATH".into()),
    };
    let major = node
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    if major.is_none_or(|major| major < 20) {
        return Some(format!("@vercel/fun needs node 20 or newer, found {node}"));
    }
    match Command::new("npm").arg("--version").output() {
        Ok(output) if output.status.success() => None,
        _ => Some("`npm` is not on PATH".into()),
    }
}

fn describe(output: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn run(command: &mut Command, what: &str) -> Result<Output, String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("{what}: cannot start: {error}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!("{what} failed\n{}", describe(&output)))
    }
}

/// `npm ci` (once, when node_modules is missing), then the zips from `build.sh`.
fn prepare() -> Result<Prepared, String> {
    for tool in ["bash", "ps"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|output| output.status.success());
        if !found {
            return Err(format!("@vercel/fun needs `{tool}` on PATH (its bootstrap is a bash script; it stops processes with `ps`)"));
        }
    }
    let conformance = conformance_dir();
    if !conformance.join("node_modules/@vercel/fun").is_dir() {
        run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&conformance),
            "npm ci in tests/conformance (needs the npm registry once, or an npm cache)",
        )?;
    }

    // `--profile size` (build.sh's default, what gets deployed) is named because the panic
    // case depends on it: panic = "abort".
    let out = work_root().join("lambda");
    let build = |extra: &[&str], names: &[&str], what: &str| {
        let mut command = Command::new("./build.sh");
        command
            .current_dir(repo())
            .args(["--arch", "x86_64", "--profile", "size", "--out"]);
        command.arg(&out).args(extra);
        for name in names {
            command.args(["--example", name]);
        }
        run(&mut command, what)
    };
    build(&[], &EXAMPLES, "./build.sh (the example zips)")?;
    build(
        &["--launcher"],
        &LAUNCHED,
        "./build.sh --launcher (the launcher zip)",
    )?;

    let zips: Vec<(String, PathBuf)> = EXAMPLES
        .iter()
        .chain(&["launcher"])
        .map(|name| {
            (
                name.to_string(),
                out.join(name).join("x86_64/bootstrap.zip"),
            )
        })
        .collect();
    for (name, zip) in &zips {
        if !zip.is_file() {
            return Err(format!(
                "build.sh succeeded but the {name} zip is not at {}",
                zip.display()
            ));
        }
    }
    Ok(Prepared { zips })
}

/// The shared preparation; fails the test, naming what is missing, when the suite cannot run
/// on this machine.
fn prepared() -> &'static Prepared {
    static PREPARED: OnceLock<Result<Prepared, String>> = OnceLock::new();
    let prepared = PREPARED.get_or_init(|| match skip_reason() {
        Some(reason) => Err(reason),
        None => prepare(),
    });
    match prepared {
        Ok(prepared) => prepared,
        Err(message) => panic!("conformance (@vercel/fun) cannot run: {message}"),
    }
}

/// Runs one case of run.mjs and fails with its message and the processes' output.
fn check(case: &str) {
    let prepared = prepared();
    let work = work_root().join("cases").join(case);
    std::fs::create_dir_all(&work)
        .unwrap_or_else(|error| panic!("cannot create {}: {error}", work.display()));
    let result_file = work.join("result.json");
    let _ = std::fs::remove_file(&result_file);

    let mut node = Command::new("node");
    node.current_dir(conformance_dir())
        .arg("run.mjs")
        .args(["--case", case, "--out"])
        .arg(&result_file)
        // fun copies its runtime files into $XDG_CACHE_HOME: one per case, inside target/, so
        // that parallel cases never rewrite a bootstrap that another one is executing.
        .env("XDG_CACHE_HOME", work.join("cache"))
        .stdin(Stdio::null());
    for (name, zip) in &prepared.zips {
        node.arg("--zip").arg(format!("{name}={}", zip.display()));
    }
    let output = node
        .output()
        .unwrap_or_else(|error| panic!("cannot start node: {error}"));

    let text = std::fs::read_to_string(&result_file).unwrap_or_else(|error| {
        panic!(
            "run.mjs wrote no result to {} ({error})\n{}",
            result_file.display(),
            describe(&output)
        )
    });
    let report: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("run.mjs wrote bad JSON ({error}):\n{text}"));
    let entry = report["cases"]
        .as_array()
        .and_then(|cases| cases.iter().find(|entry| entry["name"] == case))
        .unwrap_or_else(|| panic!("run.mjs reported no case {case}:\n{text}"));
    assert!(
        entry["ok"] == true,
        "case {case} failed under @vercel/fun {}: {}\n{}",
        report["fun"],
        entry["message"].as_str().unwrap_or("(no message)"),
        describe(&output)
    );
    assert!(
        output.status.success(),
        "run.mjs reported {case} ok but exited with a failure\n{}",
        describe(&output)
    );
    assert!(
        entry.get("leftoverProcessesKilled").is_none(),
        "case {case} passed but left processes running that run.mjs had to kill: {}",
        entry["leftoverProcessesKilled"]
    );
}

#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn echo_returns_json_events_unchanged() {
    check("echo_json");
}

#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn echo_returns_control_bytes_and_multibyte_utf8_unchanged() {
    check("echo_utf8_and_control_bytes");
}

/// fun decodes the response as UTF-8 (Lambda's Invoke returns a blob, and refuses non-JSON
/// events): the caller sees U+FFFD where the event had invalid bytes.
#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn echo_of_non_utf8_bytes_comes_back_utf8_decoded_by_fun() {
    check("echo_non_utf8_is_lossy_in_fun");
}

/// The bytes on the wire, read below fun's UTF-8 decoding: the runtime itself is binary-safe.
#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn echo_posts_non_utf8_bytes_unchanged() {
    check("echo_non_utf8_raw_wire_bytes");
}

#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn hello_json_replies_typed_json() {
    check("hello_json");
}

#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn a_bad_typed_event_is_a_handled_error_and_the_process_serves_on() {
    check("hello_json_bad_event_is_handled");
}

#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn a_question_mark_error_is_handled_with_its_type_name() {
    check("fail_parse_is_handled");
}

#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn a_custom_error_is_handled() {
    check("fail_custom_is_handled");
}

/// build.sh's default `size` profile aborts on panic: the error is reported first, then the
/// process ends (fun would hand the dead process the next invocation; Lambda starts anew).
#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn a_panic_is_a_handled_error_and_then_the_abort_build_ends() {
    check("fail_panic_is_handled_then_the_process_ends");
}

#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn an_init_failure_is_unhandled_with_our_error_json() {
    check("fail_init_is_unhandled");
}

#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn the_launcher_runs_the_binary_named_by_the_handler() {
    check("launcher_picks_the_binary_by_handler");
}

#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn the_launcher_reports_a_bad_handler_as_an_init_error() {
    check("launcher_bad_handler_is_an_init_error");
}

/// One process, frozen (SIGSTOP, state T in /proc) while blocked in `next` and thawed
/// (SIGCONT) 100 times: its replies count 1..100.
#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn one_process_serves_100_invocations_frozen_and_thawed_between_them() {
    check("stateful_100_invocations_one_frozen_process");
}

#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn concurrent_invocations_run_in_separate_processes() {
    check("concurrent_invocations_use_several_processes");
}

/// Over Lambda's 6,291,556 bytes the runtime posts `Runtime.ResponseTooLarge` instead, and
/// serves on. (Between fun's 6 MiB and Lambda's limit fun answers 413 and then breaks: see
/// run.mjs.)
#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn oversized_responses_become_errors_and_the_process_serves_on() {
    check("response_size_limits");
}

/// What the runtime parses from fun's `next` (a deadline in 1970, a constant ARN, no trace id)
/// and from its environment.
#[test]
#[ignore = "needs node 20+ and npm (@vercel/fun); CI runs: cargo test --test conformance -- --ignored"]
fn the_context_under_fun_has_its_past_deadline_and_no_trace_id() {
    check("context_under_fun");
}
