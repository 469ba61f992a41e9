//! docs/local.md's first transcript is what the examples print: every `$ ` command of its
//! first console block (the debug build's local invokes) runs here, and its output must equal
//! the lines the document shows under it (the thread id of a panic message aside, which
//! changes from run to run). A panic location or an error message that drifts fails here, and
//! so does a panic location of examples/fail.rs quoted anywhere in README.md or docs/.

mod support;

use std::path::Path;
use std::process::Command;

/// The first ```console block of docs/local.md, as (command, expected output lines).
fn first_transcript() -> Vec<(String, Vec<String>)> {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/local.md"))
        .expect("read docs/local.md");
    let block = doc
        .split("```console\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("docs/local.md has a console block");
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    for line in block.lines() {
        match line.strip_prefix("$ ") {
            Some(command) => steps.push((command.to_owned(), Vec::new())),
            None => steps
                .last_mut()
                .expect("the block starts with a command")
                .1
                .push(line.to_owned()),
        }
    }
    steps
}

/// `thread 'main' (12345) panicked` with the id left out.
fn without_thread_id(line: &str) -> String {
    match line.split_once("thread 'main' (") {
        Some((before, rest)) => match rest.split_once(") ") {
            Some((_, after)) => format!("{before}thread 'main' (…) {after}"),
            None => line.to_owned(),
        },
        None => line.to_owned(),
    }
}

#[test]
fn the_local_invoke_transcript_of_docs_local_md_is_what_the_examples_print() {
    let steps = first_transcript();
    assert!(
        steps.len() >= 6,
        "the transcript has only {} commands",
        steps.len()
    );
    let target = support::target_dir();
    let scratch = target.join("local-transcript");
    std::fs::create_dir_all(&scratch).unwrap();
    for (command, expected) in steps {
        // `cargo build --examples` is what `cargo test` did already for this run.
        if command.starts_with("cargo ") {
            continue;
        }
        // The documented paths, in this run's target dir and a scratch dir of its own.
        // /tmp/ first: the target dir itself may be under /tmp (a clone there).
        let runnable = command
            .replace("/tmp/", &format!("{}/", scratch.display()))
            .replace("target/debug/", &format!("{}/debug/", target.display()));
        let output = Command::new("bash")
            .args(["-c", &format!("exec 2>&1; {runnable}")])
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .env_remove("RUST_BACKTRACE")
            .current_dir(&scratch)
            .output()
            .expect("run bash");
        let printed: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(without_thread_id)
            .collect();
        let expected: Vec<String> = expected
            .iter()
            .map(|line| without_thread_id(line))
            .collect();
        assert_eq!(printed, expected, "docs/local.md: `$ {command}`");
    }
}

#[test]
fn every_panic_location_the_docs_quote_is_where_the_fail_example_panics() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut doc = std::fs::read_to_string(repo.join("README.md")).unwrap();
    for entry in std::fs::read_dir(repo.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "md") {
            doc += &std::fs::read_to_string(path).unwrap();
        }
    }
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fail.rs"))
            .unwrap();
    let (line, text) = source
        .lines()
        .enumerate()
        .find(|(_, text)| text.contains("panic!("))
        .expect("examples/fail.rs panics somewhere");
    let location = format!(
        "examples/fail.rs:{}:{}",
        line + 1,
        text.find("panic!(").unwrap() + 1
    );
    let quoted: Vec<&str> = doc
        .match_indices("examples/fail.rs:")
        .map(|(at, _)| {
            let rest = &doc[at..];
            let end = rest
                .char_indices()
                .skip("examples/fail.rs:".len())
                .find(|(_, c)| !(c.is_ascii_digit() || *c == ':'))
                .map_or(rest.len(), |(end, _)| end);
            rest[..end].trim_end_matches(':')
        })
        .collect();
    assert!(!quoted.is_empty(), "the docs quote no panic location");
    for quote in quoted {
        assert_eq!(quote, location, "a document quotes a stale panic location");
    }
}

#[test]
fn with_rust_backtrace_a_debug_builds_error_carries_named_frames_with_their_file_and_line() {
    let output = Command::new(support::example("fail"))
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("RUST_BACKTRACE", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"parse")?;
            child.wait_with_output()
        })
        .expect("run the fail example");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error: serde_json::Value =
        serde_json::from_str(stderr.trim()).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let frames: Vec<&str> = error["stackTrace"]
        .as_array()
        .expect("a stackTrace array")
        .iter()
        .map(|frame| frame.as_str().unwrap())
        .collect();
    // Each named frame, then its location (`at file:line:column`).
    assert!(
        frames.iter().any(|frame| frame.contains("fail::")),
        "{frames:?}"
    );
    assert!(
        frames
            .iter()
            .any(|frame| frame.trim_start().starts_with("at ")
                && frame.contains("examples/fail.rs:")),
        "{frames:?}"
    );
}
